//! The default normalizer: tidies each tool without losing any field, and says what it did.

use crate::{Finding, Severity, Tool};
use serde::Deserialize;
use serde_json::json;

pub const DEFAULT_DESCRIPTION: &str = "No description available";

/// The stage's `config` from the pipeline file. Unknown keys are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormalizeConfig {
    /// Filled in where a tool has no (or an empty) description.
    pub default_description: String,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig {
            default_description: DEFAULT_DESCRIPTION.to_owned(),
        }
    }
}

impl NormalizeConfig {
    /// Reads the config JSON text; absent, empty or `{}` means the defaults.
    pub fn from_json_text(text: Option<&str>) -> Result<Self, String> {
        match text.map(str::trim) {
            None | Some("") => Ok(Self::default()),
            Some(text) => serde_json::from_str(text).map_err(|e| format!("normalize config: {e}")),
        }
    }
}

/// The normalized list and one finding per change or drop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Normalized {
    pub tools: Vec<Tool>,
    pub findings: Vec<Finding>,
}

/// Trims name, title and description; fills a missing or empty description and a missing
/// `inputSchema` (`{"type":"object"}`); drops tools without a name. Every other field is kept.
pub fn normalize(tools: Vec<Tool>, config: &NormalizeConfig) -> Normalized {
    let mut out = Normalized::default();
    for (index, mut tool) in tools.into_iter().enumerate() {
        let trimmed_name = tool.name.trim();
        if trimmed_name.is_empty() {
            let message = match tool.extra.get("name") {
                Some(other) => format!("tool #{index} dropped: its name is not a string ({other})"),
                None => format!("tool #{index} dropped: it has no name"),
            };
            out.findings.push(Finding::new(
                None,
                "tool-without-name",
                Severity::Warning,
                message,
            ));
            continue;
        }
        if trimmed_name.len() != tool.name.len() {
            tool.name = trimmed_name.to_owned();
            out.findings.push(trimmed(&tool.name, "name"));
        }
        let name = tool.name.clone();
        if let Some(title) = &tool.title {
            if title.trim().is_empty() {
                tool.title = None;
                out.findings.push(Finding::new(
                    Some(&name),
                    "title-removed",
                    Severity::Info,
                    "removed an empty title",
                ));
            } else if title.trim().len() != title.len() {
                tool.title = Some(title.trim().to_owned());
                out.findings.push(trimmed(&name, "title"));
            }
        }
        match &tool.description {
            Some(d) if !d.trim().is_empty() => {
                if d.trim().len() != d.len() {
                    tool.description = Some(d.trim().to_owned());
                    out.findings.push(trimmed(&name, "description"));
                }
            }
            _ => {
                tool.description = Some(config.default_description.clone());
                out.findings.push(Finding::new(
                    Some(&name),
                    "description-filled",
                    Severity::Info,
                    format!("no description: set to {:?}", config.default_description),
                ));
            }
        }
        if tool.input_schema.is_none() {
            tool.input_schema = Some(json!({"type": "object"}));
            out.findings.push(Finding::new(
                Some(&name),
                "input-schema-filled",
                Severity::Info,
                "no inputSchema: set to {\"type\":\"object\"}",
            ));
        }
        out.tools.push(tool);
    }
    out
}

fn trimmed(tool: &str, field: &str) -> Finding {
    Finding::new(
        Some(tool),
        "whitespace-trimmed",
        Severity::Info,
        format!("trimmed whitespace around the {field}"),
    )
}
