//! The tool model and findings: plain data, no I/O. Everything else builds on these.
//!
//! `Tool`, `Finding` and `Severity` are the types crate's (plugins/types), shared with the
//! plugins: a tool's JSON members are the text the server sent, from the transport to the
//! report.

pub use mcp_probe_types::{canonical, Finding, Json, Member, Members, Severity, Tool};
use serde::{Deserialize, Serialize};

/// How busy a started server has been: the CPU time its processes used so far, in clock
/// ticks, where the runtime can see it (a local process group; not a pod). The era probe
/// waits longer for a server that is still busy starting (node loading its modules) before
/// it sends `initialize`, so a dual-era server is not handed one it would answer too.
pub type ServerActivity = std::sync::Arc<dyn Fn() -> Option<u64> + Send + Sync>;

/// One entry of a prompts, resources or resource-templates list, kept as the JSON text the
/// server sent, as a tool's members are: a list of 10^6 small entries costs about its text,
/// where a `Value` per entry cost some 30 times that.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ListEntry(pub Json);

impl PartialEq for ListEntry {
    /// Equal when the text is.
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl schemars::JsonSchema for ListEntry {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ListEntry".into()
    }
    /// Any JSON value, as the server sent it.
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <serde_json::Value as schemars::JsonSchema>::json_schema(generator)
    }
}

/// What a failed session leaves for the fallback parser plugins (and `-v`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// Everything the server wrote to stdout (or the HTTP bodies), lossily decoded as UTF-8.
    pub stdout: String,
    /// The last part of stderr.
    pub stderr_tail: String,
    /// Each JSON message the session read (within the transcript's bounds), in order, as the
    /// text the server sent: the parser plugins take text, and a `Value` would take several
    /// times the text.
    pub parsed_messages: Vec<String>,
    /// Where and why the session stopped.
    pub error: String,
    /// Output or messages were left out (the transcript's bounds): what a parser would find
    /// in it may be only part of what the server sent.
    #[serde(default)]
    pub truncated: bool,
}

/// A list's cache hints (revision 2026-07-28: `ttlMs`, `cacheScope`), as the server sent them;
/// over several pages, the shortest TTL and the narrowest scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CacheHint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_ms: Option<u64>,
    /// `public` or `private`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_scope: Option<String>,
}
