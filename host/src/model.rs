//! The tool model and findings: plain data, no I/O. Everything else builds on these.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One MCP `Tool`, every field of it; members MCP does not define are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Tool {
    /// Empty when the server sent none; the normalizer drops such entries and says so.
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(
        rename = "inputSchema",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub input_schema: Option<Value>,
    #[serde(
        rename = "outputSchema",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub output_schema: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Tool {
    /// Reads one entry of a `tools/list` result leniently: servers send odd things, and a
    /// field of the wrong type is kept in `extra` rather than failing the whole list.
    /// Returns `None` for entries that are not JSON objects.
    pub fn from_json(value: Value) -> Option<Tool> {
        // One lenient reader for host and plugins: plugins/core's, whose fields are ours.
        mcp_probe_plugin_core::Tool::from_json(value).map(Tool::from)
    }

    /// The tool as MCP JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a Tool always serializes")
    }
}

/// plugins/core's tool has the same fields (it lacks only the serde shape): moving them over
/// is free, in both directions.
impl From<mcp_probe_plugin_core::Tool> for Tool {
    fn from(t: mcp_probe_plugin_core::Tool) -> Tool {
        Tool {
            name: t.name,
            title: t.title,
            description: t.description,
            input_schema: t.input_schema,
            output_schema: t.output_schema,
            annotations: t.annotations,
            meta: t.meta,
            icons: t.icons,
            extra: t.extra,
        }
    }
}

impl From<Tool> for mcp_probe_plugin_core::Tool {
    fn from(t: Tool) -> mcp_probe_plugin_core::Tool {
        mcp_probe_plugin_core::Tool {
            name: t.name,
            title: t.title,
            description: t.description,
            input_schema: t.input_schema,
            output_schema: t.output_schema,
            annotations: t.annotations,
            meta: t.meta,
            icons: t.icons,
            extra: t.extra,
        }
    }
}

/// How bad a finding is: plugins/core's type, so that host and plugins share one.
pub use mcp_probe_plugin_core::Severity;

/// Something a pipeline stage (or the host's own schema check) reports about a tool or the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    /// The tool's name; `None` for findings about the list as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// A stable rule id, e.g. `description-required`.
    pub rule: String,
    pub severity: Severity,
    pub message: String,
    /// Who reported it: a plugin's name, or `host`.
    pub source: String,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn from_json_keeps_every_field_and_unknown_members() {
        let raw = json!({
            "name": "echo", "title": "Echo", "description": "d",
            "inputSchema": {"type": "object"}, "outputSchema": {"type": "object"},
            "annotations": {"readOnlyHint": true}, "_meta": {"k": 1},
            "icons": [{"src": "x"}], "x-vendor": 7
        });
        let tool = Tool::from_json(raw.clone()).unwrap();
        assert_eq!(tool.name, "echo");
        assert_eq!(tool.extra.get("x-vendor"), Some(&json!(7)));
        assert_eq!(tool.to_json(), raw);
    }

    #[test]
    fn from_json_is_lenient_about_types() {
        let tool = Tool::from_json(json!({"name": 5, "description": null})).unwrap();
        assert_eq!(tool.name, "");
        assert_eq!(tool.description, None);
        assert_eq!(tool.extra.get("name"), Some(&json!(5)));
        assert!(Tool::from_json(json!("not an object")).is_none());
    }
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
