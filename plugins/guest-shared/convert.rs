// Moves between the WIT records and mcp-probe-plugin-core's types (the JSON text parsing is
// `core::wire`, tested natively), plus logging through the host. Shared by every guest crate
// with `include!` (each crate has its own generated bindings, so this cannot be a library
// crate); the paths below are the same in every world, all of which use `types` and `log`.

use mcp_probe::plugin::log::{log, Level};
use mcp_probe::plugin::types as wit;
use mcp_probe_plugin_core as core_logic;

#[allow(dead_code)]
fn log_info(message: &str) {
    log(Level::Info, message);
}

#[allow(dead_code)]
fn log_warn(message: &str) {
    log(Level::Warn, message);
}

#[allow(dead_code)]
fn text_from_wit(t: wit::Tool) -> core_logic::ToolText {
    core_logic::ToolText {
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

#[allow(dead_code)]
fn tools_from_wit(tools: Vec<wit::Tool>) -> Result<Vec<core_logic::Tool>, String> {
    tools
        .into_iter()
        .map(|t| text_from_wit(t).into_tool())
        .collect()
}

#[allow(dead_code)]
fn tool_to_wit(tool: core_logic::Tool) -> wit::Tool {
    text_to_wit(core_logic::ToolText::from(tool))
}

#[allow(dead_code)]
fn text_to_wit(t: core_logic::ToolText) -> wit::Tool {
    wit::Tool {
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
