//! The result document of `discover`, as JSON or as a table. Its fields are documented for
//! users in README.md, "Discover what a server offers" (the image fields in "Probing an image
//! in Kubernetes (`--image`)").

use crate::model::{Finding, ListEntry, Severity, Tool};
use crate::terminal::{one_line, safe};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What `discover` prints: one JSON document (`mcp-probe schema result`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub tools: Vec<Tool>,
    /// Present only when the server offers prompts (and listing them worked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Vec<ListEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<ListEntry>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_templates: Option<Vec<ListEntry>>,
    pub server_info: Option<Value>,
    /// `None` only when the session never opened and a parser recovered the tools.
    pub protocol_version: Option<String>,
    /// `modern` (2026-07-28: per-request `_meta`, `server/discover`) or `legacy` (`initialize`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_era: Option<String>,
    /// How the era was decided, e.g. "server/discover answered" or "--protocol-era legacy".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub era_decided_by: Option<String>,
    /// `["modern", "legacy"]` when the server answered both `server/discover` and
    /// `initialize` on one connection (a dual-era server); empty when only one era was seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eras_spoken: Vec<String>,
    /// The cache hints (`ttlMs`, `cacheScope`) per method, where the server sent any.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub cache_hints: std::collections::BTreeMap<String, crate::model::CacheHint>,
    pub capabilities: Capabilities,
    /// `local_mcp_stdio`, `url_streamable_http` or `url_sse`.
    pub discovery_method: String,
    /// For URL targets: the endpoint that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub tools_supported: bool,
    /// The parser plugin that found the tools in a failed session's output.
    pub recovered_by: Option<String>,
    pub findings: Vec<Finding>,
    /// When discovery started, unix seconds.
    pub timestamp: f64,
    pub duration_ms: u64,
    /// For image targets: where the server ran (the keys MCP-Platform's consumers read sit at
    /// the top level of the document).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesInfo>,
}

/// Where an image target ran, and how long each phase took.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KubernetesInfo {
    pub source_image: String,
    pub namespace: String,
    pub pod_name: String,
    /// The Service in front of the pod (HTTP from inside the cluster only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// The container port of an HTTP server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The digest the container status reported (`repo@sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// `stdio` or `http`: the transport the reported session ran over.
    pub transport: String,
    /// With `--transport auto`, why stdio gave up before HTTP was tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// How the HTTP server was reached: `port-forward` or `service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached_by: Option<String>,
    /// Milliseconds per phase: create, scheduling, pulling, starting, connect, cleanup.
    pub phase_ms: std::collections::BTreeMap<String, u64>,
    /// What the cleanup could not delete (by `--timeout` + 2 s), each warning naming the
    /// objects and the `mcp-probe gc` command that removes them. Empty: nothing is left.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cleanup_warnings: Vec<String>,
}

/// Both sides' capabilities: what the server announced, what the client declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Capabilities {
    pub server: Value,
    pub client: Value,
}

impl Report {
    /// True when a finding of error severity exists (exit code 3).
    pub fn has_error_findings(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The report as pretty JSON, newline-terminated.
    pub fn to_json_string(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a report always serializes");
        text.push('\n');
        text
    }

    /// A human-readable summary: server, tools (name and first line of description), findings.
    /// Every text the server sent is escaped for the terminal ([`crate::terminal`]).
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let info = self.server_info.as_ref();
        let field = |key: &str| info.and_then(|i| i.get(key)).and_then(Value::as_str);
        out.push_str(&format!(
            "server:    {} {}\nprotocol:  {}{}\nmethod:    {}{}\n",
            safe(field("name").unwrap_or("(unknown)")),
            safe(field("version").unwrap_or("")),
            safe(self.protocol_version.as_deref().unwrap_or("(none)")),
            self.protocol_era
                .as_deref()
                .map(|era| match self.eras_spoken.len() > 1 {
                    true => format!(" ({} era; the server speaks both)", safe(era)),
                    false => format!(" ({} era)", safe(era)),
                })
                .unwrap_or_default(),
            safe(&self.discovery_method),
            self.endpoint
                .as_deref()
                .map(|e| format!(" ({})", safe(e)))
                .unwrap_or_default(),
        ));
        if let Some(plugin) = &self.recovered_by {
            out.push_str(&format!("recovered: by plugin {}\n", safe(plugin)));
        }
        if !self.tools_supported {
            out.push_str("tools:     not supported by this server\n");
        } else {
            out.push_str(&format!("tools:     {}\n", self.tools.len()));
        }
        let names: Vec<_> = self.tools.iter().map(|t| safe(&t.name)).collect();
        let width = names.iter().map(|n| n.chars().count()).max();
        for (tool, name) in self.tools.iter().zip(&names) {
            let description = tool.description.as_deref().unwrap_or("");
            let first_line = description.lines().next().unwrap_or("");
            out.push_str(&format!(
                "  {:width$}  {}\n",
                name,
                safe(&shorten(first_line, 100)),
                width = width.unwrap_or(0)
            ));
        }
        for (label, items) in [
            ("prompts", &self.prompts),
            ("resources", &self.resources),
            ("templates", &self.resource_templates),
        ] {
            if let Some(items) = items {
                out.push_str(&format!(
                    "{label}:{:pad$}{}\n",
                    "",
                    items.len(),
                    pad = 10 - label.len()
                ));
            }
        }
        if !self.findings.is_empty() {
            out.push_str(&format!("findings:  {}\n", self.findings.len()));
            out.push_str(&finding_lines(&self.findings));
        }
        if let Some(k) = &self.kubernetes {
            out.push_str(&format!(
                "pod:       {}/{} ({}, {})\n",
                safe(&k.namespace),
                safe(&k.pod_name),
                safe(&k.source_image),
                safe(k.image_id.as_deref().unwrap_or("no image id"))
            ));
        }
        out.push_str(&format!("duration:  {} ms\n", self.duration_ms));
        out
    }
}

/// Findings as the tables of `discover`, `validate` and `scan` draw them: one indented line
/// each, `severity  tool: rule: message`, escaped for the terminal.
pub fn finding_lines<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> String {
    let mut out = String::new();
    for f in findings {
        let tool = f.tool.as_deref().map(|t| format!("{}: ", safe(t)));
        out.push_str(&format!(
            "  {:7}  {}{}: {}\n",
            f.severity.as_str(),
            tool.unwrap_or_default(),
            safe(&f.rule),
            one_line(&f.message)
        ));
    }
    out
}

/// At most `max` characters, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Report {
        Report {
            tools: vec![
                Tool::from_json(json!({"name": "echo", "description": "Echoes\nmore"})).unwrap(),
            ],
            prompts: None,
            resources: Some(vec![ListEntry(mcp_probe_types::json_text(
                &json!({"uri": "file:///a"}),
            ))]),
            resource_templates: None,
            server_info: Some(json!({"name": "srv", "version": "1.0"})),
            protocol_version: Some("2025-11-25".into()),
            protocol_era: Some("legacy".into()),
            era_decided_by: Some("server/discover answered -32601".into()),
            eras_spoken: Vec::new(),
            cache_hints: Default::default(),
            capabilities: Capabilities {
                server: json!({"tools": {}}),
                client: json!({}),
            },
            discovery_method: "local_mcp_stdio".into(),
            endpoint: None,
            tools_supported: true,
            recovered_by: None,
            findings: vec![Finding {
                tool: Some("echo".into()),
                rule: "r".into(),
                severity: Severity::Error,
                message: "m".into(),
                source: "host".into(),
            }],
            timestamp: 1.5,
            duration_ms: 7,
            kubernetes: None,
        }
    }

    #[test]
    fn json_omits_lists_the_server_does_not_offer() {
        let value: Value = serde_json::from_str(&sample().to_json_string()).unwrap();
        assert!(value.get("prompts").is_none());
        assert!(value.get("endpoint").is_none());
        assert_eq!(value["resources"], json!([{"uri": "file:///a"}]));
        assert_eq!(value["recovered_by"], Value::Null);
        assert_eq!(value["tools"][0]["name"], "echo");
        assert!(sample().has_error_findings());
    }

    #[test]
    fn table_shows_tools_and_findings() {
        let table = sample().to_table();
        assert!(table.contains("server:    srv 1.0"), "{table}");
        assert!(table.contains("  echo  Echoes\n"), "{table}");
        assert!(table.contains("error    echo: r: m"), "{table}");
        assert!(table.contains("resources: 1"), "{table}");
    }

    #[test]
    fn table_escapes_what_the_server_sent() {
        let mut report = sample();
        report.tools = vec![Tool::from_json(
            json!({"name": "a\n  forged", "description": "\u{1b}[2J\u{202e}x\ny"}),
        )
        .unwrap()];
        report.server_info = Some(json!({"name": "s\u{9b}1m", "version": "\u{7}"}));
        report.findings[0].message = "m\r\nn\u{1b}]0;t".into();
        let table = report.to_table();
        assert!(
            table.contains("  a\\n  forged  \\x1b[2J\\u{202e}x\n"),
            "{table}"
        );
        assert!(table.contains("server:    s\\u{9b}1m \\x07\n"), "{table}");
        assert!(
            table.contains("error    echo: r: m  n\\x1b]0;t\n"),
            "{table}"
        );
        assert!(!table.contains(['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\r']));
    }
}
