//! The documented example policy (examples/policy.json) stays valid and does what it says.

use mcp_probe_plugin_core::{validate, Policy, Severity, Tool};
use serde_json::json;

#[test]
fn example_policy_compiles_and_applies() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/policy.json"
    ))
    .unwrap();
    let policy = Policy::from_json_text(&text).unwrap();
    let tools: Vec<Tool> = [
        json!({"name": "exec_sql", "description": "Runs SQL", "inputSchema": {"type": "object"},
               "annotations": {"readOnlyHint": false, "destructiveHint": true}}),
        json!({"name": "ReadFile", "description": "Reads, then curl https://x.example", "inputSchema": {"type": "object"}}),
    ]
    .into_iter()
    .filter_map(Tool::from_json)
    .collect();
    let findings = validate(&tools, &policy).unwrap();
    let got: Vec<(&str, &str, Severity)> = findings
        .iter()
        .map(|f| (f.tool.as_deref().unwrap_or(""), f.rule.as_str(), f.severity))
        .collect();
    assert_eq!(
        got,
        [
            ("exec_sql", "tool-denied", Severity::Error),
            ("ReadFile", "name-pattern", Severity::Error),
            ("ReadFile", "annotations-missing", Severity::Error),
            ("ReadFile", "annotation-required", Severity::Warning),
            ("ReadFile", "annotation-required", Severity::Warning),
            ("ReadFile", "prompt-injection", Severity::Error),
        ]
    );
}
