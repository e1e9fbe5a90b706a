//! Reshapes tools into the output shape of MCP-Platform's Kubernetes probe
//! (`mcp_platform/tools/kubernetes_probe.py`), so that its consumers keep working:
//!
//! ```text
//! {"name": name or "unknown", "description": description or "No description available",
//!  "category": "mcp", "parameters": inputSchema or {},
//!  "mcp_info": {"input_schema": inputSchema or {}, "output_schema": outputSchema or {}}}
//! ```
//!
//! `name` and `description` are the tool's own fields; `category`, `parameters` and `mcp_info`
//! travel in `extra`, so they appear as top-level members of each tool in the report. By
//! default the MCP fields (`inputSchema`, `title`, `annotations`, ...) stay too, a superset
//! that both kinds of consumer read; `{"exact": true}` removes them for the exact old shape.

use crate::normalize::DEFAULT_DESCRIPTION;
use crate::{Finding, Severity, Tool};
use mcp_probe_types::{json_string, json_text};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::{to_raw_value, RawValue};

/// The stage's `config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompatConfig {
    /// Keep only the MCP-Platform members (drop title, annotations, _meta, icons, schemas and
    /// any other member).
    pub exact: bool,
}

impl CompatConfig {
    pub fn from_json_text(text: Option<&str>) -> Result<Self, String> {
        match text.map(str::trim) {
            None | Some("") => Ok(Self::default()),
            Some(text) => serde_json::from_str(text).map_err(|e| format!("compat config: {e}")),
        }
    }
}

/// Each tool in MCP-Platform's shape; one info finding per unnamed tool renamed `unknown`.
pub fn reshape(tools: Vec<Tool>, config: &CompatConfig) -> (Vec<Tool>, Vec<Finding>) {
    let mut findings = Vec::new();
    let reshaped = tools
        .into_iter()
        .map(|mut tool| {
            if tool.name.is_empty() {
                tool.name = "unknown".into();
                findings.push(Finding::new(
                    Some("unknown"),
                    "compat-unnamed",
                    Severity::Info,
                    "a tool without a name is called \"unknown\", as MCP-Platform did",
                ));
            }
            if tool.description.as_deref().is_none_or(str::is_empty) {
                tool.description = Some(DEFAULT_DESCRIPTION.into());
            }
            let empty = || json_text(&json!({}));
            let input = tool.input_schema.clone().unwrap_or_else(empty);
            let output = tool.output_schema.clone().unwrap_or_else(empty);
            if config.exact {
                tool = Tool {
                    name: tool.name,
                    description: tool.description,
                    ..Tool::default()
                };
            }
            let info = McpInfo {
                input_schema: &input,
                output_schema: &output,
            };
            let info = to_raw_value(&info).expect("JSON text always serializes");
            tool.extra.insert("category", json_string("mcp"));
            tool.extra.insert("parameters", input);
            tool.extra.insert("mcp_info", info);
            tool
        })
        .collect();
    (reshaped, findings)
}

/// MCP-Platform's `mcp_info` member, its schemas as the server sent them.
#[derive(serde::Serialize)]
struct McpInfo<'a> {
    input_schema: &'a RawValue,
    output_schema: &'a RawValue,
}
