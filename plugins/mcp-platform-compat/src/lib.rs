//! Example normalizer: reshapes tools into MCP-Platform's probe output shape (see
//! `mcp_probe_plugin_core::compat` for the mapping).

wit_bindgen::generate!({ world: "normalizer-plugin", path: "../../wit" });

include!("../../guest-shared/convert.rs");

use exports::mcp_probe::plugin::normalizer::{Guest, Normalized};

struct Compat;

impl Guest for Compat {
    fn normalize(tools: Vec<wit::Tool>, ctx: wit::Context) -> Result<Normalized, String> {
        let config = core_logic::compat::CompatConfig::from_json_text(ctx.config.as_deref())?;
        let (tools, findings) = core_logic::compat::reshape(tools_from_wit(tools)?, &config);
        log_info(&format!(
            "mcp-platform-compat: reshaped {} tool(s)",
            tools.len()
        ));
        Ok(Normalized {
            tools: tools.into_iter().map(tool_to_wit).collect(),
            findings: findings.into_iter().map(finding_to_wit).collect(),
        })
    }
}

export!(Compat);
