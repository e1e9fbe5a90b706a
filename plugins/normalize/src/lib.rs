//! The default normalizer plugin: a thin wrapper around `mcp_probe_plugin_core::normalize`.

wit_bindgen::generate!({ world: "normalizer-plugin", path: "../../wit" });

include!("../../guest-shared/convert.rs");

use exports::mcp_probe::plugin::normalizer::{Guest, Normalized};

struct Normalize;

impl Guest for Normalize {
    fn normalize(tools: Vec<wit::Tool>, ctx: wit::Context) -> Result<Normalized, String> {
        let config = core_logic::NormalizeConfig::from_json_text(ctx.config.as_deref())?;
        // The JSON members pass through unread (the host checks what comes back).
        let out = core_logic::normalize(tools_from_wit(tools)?, &config);
        if !out.findings.is_empty() {
            log_info(&format!(
                "normalize: {} change(s) to {} tool(s)",
                out.findings.len(),
                out.tools.len()
            ));
        }
        Ok(Normalized {
            tools: out.tools.into_iter().map(tool_to_wit).collect(),
            findings: out.findings.into_iter().map(finding_to_wit).collect(),
        })
    }
}

export!(Normalize);
