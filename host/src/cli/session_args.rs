//! The flags that shape one MCP session, shared by `discover` and `scan`.

use super::duration;
use mcp_probe::mcp::session::DEFAULT_MAX_DISCOVERY_BYTES;
use mcp_probe::mcp::{ClientCapabilities, ProtocolEra, SessionOptions, Versions};
use mcp_probe::transport::stdio::DEFAULT_MAX_LINE_BYTES;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct SessionArgs {
    /// Bounds the whole discovery (seconds, or e.g. 90s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "60", value_parser = duration::positive)]
    pub timeout: Duration,
    /// Bounds each JSON-RPC request (never more than --timeout).
    #[arg(long, value_name = "DURATION", default_value = "30", value_parser = duration::positive)]
    pub request_timeout: Duration,
    /// Client capabilities to declare: a comma list of roots,sampling,elicitation, or `none`.
    #[arg(
        long,
        value_name = "LIST",
        default_value = "roots,sampling,elicitation"
    )]
    pub capabilities: ClientCapabilities,
    /// Which era of MCP to speak: auto (server/discover first, falling back to initialize as
    /// the spec's backward-compatibility rules say), modern (2026-07-28) or legacy (initialize).
    #[arg(long, value_name = "ERA", default_value = "auto")]
    pub protocol_era: ProtocolEra,
    /// The protocol version to offer (a 2026-07-28-era version in `_meta`, or one that
    /// initialize offers); default: the newest of each era.
    #[arg(long, value_name = "V")]
    pub protocol_version: Option<String>,
    /// The most pages one list method may take.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub page_cap: u64,
    /// The longest stdout line read as a message; longer lines are dropped as noise.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_LINE_BYTES as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_line_bytes: u64,
    /// The most bytes all pages of all lists (tools, prompts, resources, templates) of one
    /// discovery may take; a list past it fails the run (default 64 MiB).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_DISCOVERY_BYTES, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_discovery_bytes: u64,
}

impl SessionArgs {
    /// The session options these flags ask for; a version of the wrong era is bad input.
    pub fn options(&self) -> Result<SessionOptions, String> {
        let versions = Versions::choose(self.protocol_era, self.protocol_version.as_deref())?;
        Ok(SessionOptions {
            capabilities: self.capabilities,
            request_timeout: self.request_timeout.min(self.timeout),
            page_cap: self.page_cap as usize,
            era: self.protocol_era,
            versions,
            max_discovery_bytes: self.max_discovery_bytes,
            ..SessionOptions::default()
        })
    }

    pub fn max_line_bytes(&self) -> usize {
        usize::try_from(self.max_line_bytes).unwrap_or(usize::MAX)
    }
}

/// A `K=V` flag value (`-e`, `--secret-env`, `--node-selector`).
pub fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not K=V")),
    }
}
