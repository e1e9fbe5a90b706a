// What every guest crate shares: the types crate's one conversion each way between its types
// and the WIT records (expanded here, against this crate's generated bindings), reading the
// host's text without parsing it again, and logging through the host. Shared with `include!`
// (each crate has its own generated bindings, so this cannot be a library crate); the paths
// below are the same in every world, all of which use `types` and `log`.

use mcp_probe::plugin::log::{log, Level};
use mcp_probe::plugin::types as wit;
use mcp_probe_plugin_core as core_logic;

core_logic::wit_conversions!(wit);

#[allow(dead_code)]
fn log_info(message: &str) {
    log(Level::Info, message);
}

#[allow(dead_code)]
fn log_warn(message: &str) {
    log(Level::Warn, message);
}

/// The tools the host handed over: valid JSON text by the WIT contract, taken as it is.
#[allow(dead_code)]
fn tools_from_wit(tools: Vec<wit::Tool>) -> Result<Vec<core_logic::Tool>, String> {
    tools
        .into_iter()
        .map(|t| core_logic::Tool::from_host_text_parts(tool_text_parts(t)).map_err(|e| e.to_string()))
        .collect()
}
