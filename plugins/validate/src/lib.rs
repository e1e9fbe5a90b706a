//! The default validator plugin: a thin wrapper around `mcp_probe_plugin_core::validate`.

wit_bindgen::generate!({ world: "validator-plugin", path: "../../wit" });

include!("../../guest-shared/convert.rs");

use exports::mcp_probe::plugin::validator::Guest;

struct Validate;

impl Guest for Validate {
    fn validate(
        tools: Vec<wit::Tool>,
        policy: String,
        _ctx: wit::Context,
    ) -> Result<Vec<wit::Finding>, String> {
        let policy = core_logic::Policy::from_json_text(&policy).map_err(|e| e.to_string())?;
        // A member is parsed only as far as a rule needs it.
        let tools = tools_from_wit(tools)?;
        let findings = core_logic::validate(&tools, &policy)?;
        log_info(&format!(
            "validate: {} finding(s) on {} tool(s)",
            findings.len(),
            tools.len()
        ));
        Ok(findings.into_iter().map(finding_to_wit).collect())
    }
}

export!(Validate);
