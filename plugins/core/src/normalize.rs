//! The default normalizer: tidies each tool without losing any field, and says what it did.

use crate::{Finding, Severity, Tool};
use mcp_probe_types::json_text;
use serde::Deserialize;
use serde_json::json;

pub const DEFAULT_DESCRIPTION: &str = "No description available";

/// The stage's `config` from the pipeline file. Unknown keys are refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormalizeConfig {
    /// Rewrite text (trim, fill, remove empty titles, drop unnamed entries). Off by default:
    /// a report shows the tools as the server sent them, and the validator judges that.
    pub rewrite: bool,
    /// With `rewrite`: filled in where a tool has no (or an empty) description.
    pub default_description: String,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig {
            rewrite: false,
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

/// By default every tool passes as the server sent it; an entry without a (string) name is
/// kept too, so every rule still sees it, with a `tool-without-name` finding.
///
/// With `rewrite`: trims name, title and description; fills a missing or empty description
/// and a missing `inputSchema` (`{"type":"object"}`); drops tools without a name. Every other
/// field is kept, and the JSON members pass through byte for byte, unread (the host hands
/// plugins valid JSON text and checks the text they hand back).
pub fn normalize(tools: Vec<Tool>, config: &NormalizeConfig) -> Normalized {
    if !config.rewrite {
        return as_sent(tools);
    }
    let mut out = Normalized::default();
    for (index, mut tool) in tools.into_iter().enumerate() {
        let Tool {
            name,
            title,
            description,
            extra,
            ..
        } = &mut tool;
        let fields = StringFields {
            name,
            title,
            description,
        };
        // Only a dropped tool needs `extra` read: the message says what its name was.
        let not_a_string = || extra.get("name").map(|other| other.get().to_owned());
        if !tidy(index, fields, not_a_string, config, &mut out.findings) {
            continue;
        }
        if tool.input_schema.is_none() {
            tool.input_schema = Some(json_text(&json!({"type": "object"})));
            out.findings.push(schema_filled(&tool.name));
        }
        out.tools.push(tool);
    }
    out
}

/// The tools unchanged; a finding for each entry without a usable name.
fn as_sent(tools: Vec<Tool>) -> Normalized {
    let findings = tools
        .iter()
        .enumerate()
        .filter(|(_, tool)| tool.name.trim().is_empty())
        .map(|(index, tool)| {
            let why = match tool.extra.get("name") {
                Some(other) => format!("its name is not a string ({})", other.get()),
                None if tool.name.is_empty() => "it has no name".to_owned(),
                None => format!("its name is only whitespace ({:?})", tool.name),
            };
            let message = format!("tool #{index}: {why}; kept as sent");
            Finding::new(None, "tool-without-name", Severity::Warning, message)
        })
        .collect();
    Normalized { tools, findings }
}

struct StringFields<'a> {
    name: &'a mut String,
    title: &'a mut Option<String>,
    description: &'a mut Option<String>,
}

/// The string-field part of normalizing one tool; `false` when the tool is dropped.
/// `name_not_a_string` gives the JSON of a non-string `name` kept in `extra`, if any.
fn tidy(
    index: usize,
    fields: StringFields,
    name_not_a_string: impl FnOnce() -> Option<String>,
    config: &NormalizeConfig,
    findings: &mut Vec<Finding>,
) -> bool {
    let StringFields {
        name: tool_name,
        title,
        description,
    } = fields;
    let trimmed_name = tool_name.trim();
    if trimmed_name.is_empty() {
        let message = match name_not_a_string() {
            Some(other) => format!("tool #{index} dropped: its name is not a string ({other})"),
            None => format!("tool #{index} dropped: it has no name"),
        };
        findings.push(Finding::new(
            None,
            "tool-without-name",
            Severity::Warning,
            message,
        ));
        return false;
    }
    if trimmed_name.len() != tool_name.len() {
        *tool_name = trimmed_name.to_owned();
        findings.push(trimmed(tool_name, "name"));
    }
    let name = tool_name.as_str();
    if let Some(t) = title {
        if t.trim().is_empty() {
            *title = None;
            findings.push(Finding::new(
                Some(name),
                "title-removed",
                Severity::Info,
                "removed an empty title",
            ));
        } else if t.trim().len() != t.len() {
            *t = t.trim().to_owned();
            findings.push(trimmed(name, "title"));
        }
    }
    match description {
        Some(d) if !d.trim().is_empty() => {
            if d.trim().len() != d.len() {
                *d = d.trim().to_owned();
                findings.push(trimmed(name, "description"));
            }
        }
        _ => {
            *description = Some(config.default_description.clone());
            findings.push(Finding::new(
                Some(name),
                "description-filled",
                Severity::Info,
                format!("no description: set to {:?}", config.default_description),
            ));
        }
    }
    true
}

fn schema_filled(tool: &str) -> Finding {
    Finding::new(
        Some(tool),
        "input-schema-filled",
        Severity::Info,
        "no inputSchema: set to {\"type\":\"object\"}",
    )
}

fn trimmed(tool: &str, field: &str) -> Finding {
    Finding::new(
        Some(tool),
        "whitespace-trimmed",
        Severity::Info,
        format!("trimmed whitespace around the {field}"),
    )
}
