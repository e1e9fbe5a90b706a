//! The normalizer leaves a tool's JSON members as the server wrote them.

use mcp_probe_plugin_core::{normalize, NormalizeConfig, Tool};

fn rewrite() -> NormalizeConfig {
    NormalizeConfig {
        rewrite: true,
        ..NormalizeConfig::default()
    }
}

#[test]
fn as_sent_the_whole_tool_passes_byte_for_byte() {
    let sent = r#"{"name":" t ","description":" d\n","inputSchema":{"z": 1, "a": [ 2, 1.0, 1e3 ]},"_meta":{"\u00e9":-0.0},"x-vendor":[ ]}"#;
    let tool: Tool = serde_json::from_str(sent).unwrap();
    let out = normalize(vec![tool.clone()], &NormalizeConfig::default());
    assert_eq!(out.tools, [tool]);
    assert!(out.findings.is_empty());
}

#[test]
fn json_members_pass_through_byte_for_byte() {
    let sent = r#"{"name":" t ","description":"d","inputSchema":{"z": 1, "a": [ 2, 1.0, 1e3 ]},"_meta":{"\u00e9":-0.0},"x-vendor":[ ]}"#;
    let tool: Tool = serde_json::from_str(sent).unwrap();
    let out = normalize(vec![tool], &rewrite());
    assert_eq!(
        out.tools[0].to_json_text(),
        r#"{"name":"t","description":"d","inputSchema":{"z": 1, "a": [ 2, 1.0, 1e3 ]},"_meta":{"\u00e9":-0.0},"x-vendor":[ ]}"#
    );
    let rules: Vec<&str> = out.findings.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["whitespace-trimmed"]);
}

#[test]
fn a_dropped_tool_names_its_name_as_sent() {
    let tool: Tool = serde_json::from_str(r#"{"name":[1, 2],"description":"d"}"#).unwrap();
    let out = normalize(vec![tool], &rewrite());
    assert!(out.tools.is_empty());
    assert_eq!(
        out.findings[0].message,
        "tool #0 dropped: its name is not a string ([1, 2])"
    );
}
