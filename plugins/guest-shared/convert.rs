// Conversions between the WIT records (JSON text fields) and mcp-probe-plugin-core's types,
// plus logging through the host. Shared by every guest crate with `include!` (each crate has
// its own generated bindings, so this cannot be a library crate); the paths below are the
// same in every world because all of them use the `types` and `log` interfaces.

use mcp_probe::plugin::log::{log, Level};
use mcp_probe::plugin::types as wit;
use mcp_probe_plugin_core as core_logic;
use serde_json::Value;

#[allow(dead_code)]
fn log_info(message: &str) {
    log(Level::Info, message);
}

#[allow(dead_code)]
fn log_warn(message: &str) {
    log(Level::Warn, message);
}

fn json_field(tool: &str, field: &str, text: Option<String>) -> Result<Option<Value>, String> {
    match text {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("tool {tool:?}: {field} is not valid JSON: {e}")),
    }
}

#[allow(dead_code)]
fn tool_from_wit(tool: wit::Tool) -> Result<core_logic::Tool, String> {
    let name = tool.name;
    let extra = match json_field(&name, "extra", tool.extra)? {
        None => serde_json::Map::new(),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(format!("tool {name:?}: extra is not a JSON object")),
    };
    Ok(core_logic::Tool {
        input_schema: json_field(&name, "input-schema", tool.input_schema)?,
        output_schema: json_field(&name, "output-schema", tool.output_schema)?,
        annotations: json_field(&name, "annotations", tool.annotations)?,
        meta: json_field(&name, "meta", tool.meta)?,
        icons: json_field(&name, "icons", tool.icons)?,
        title: tool.title,
        description: tool.description,
        extra,
        name,
    })
}

#[allow(dead_code)]
fn tools_from_wit(tools: Vec<wit::Tool>) -> Result<Vec<core_logic::Tool>, String> {
    tools.into_iter().map(tool_from_wit).collect()
}

#[allow(dead_code)]
fn tool_to_wit(tool: core_logic::Tool) -> wit::Tool {
    let text = |value: Option<Value>| value.map(|v| v.to_string());
    wit::Tool {
        name: tool.name,
        title: tool.title,
        description: tool.description,
        input_schema: text(tool.input_schema),
        output_schema: text(tool.output_schema),
        annotations: text(tool.annotations),
        meta: text(tool.meta),
        icons: text(tool.icons),
        extra: (!tool.extra.is_empty()).then(|| Value::Object(tool.extra).to_string()),
    }
}

#[allow(dead_code)]
fn finding_to_wit(finding: core_logic::Finding) -> wit::Finding {
    wit::Finding {
        tool: finding.tool,
        rule: finding.rule,
        severity: match finding.severity {
            core_logic::Severity::Info => wit::Severity::Info,
            core_logic::Severity::Warning => wit::Severity::Warning,
            core_logic::Severity::Error => wit::Severity::Error,
        },
        message: finding.message,
    }
}
