//! The guest's text-level normalize (`normalize_text`) must agree with the `Value` path.

use mcp_probe_plugin_core::{normalize, normalize_text, NormalizeConfig, Tool, ToolText};
use serde_json::{json, Value};

fn both_paths(values: Value, config: &NormalizeConfig) {
    let tools: Vec<Tool> = values
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .filter_map(Tool::from_json)
        .collect();
    let texts: Vec<ToolText> = tools.iter().cloned().map(ToolText::from).collect();
    let by_value = normalize(tools, config);
    let by_text = normalize_text(texts, config);
    assert_eq!(by_text.findings, by_value.findings);
    let back: Vec<Tool> = by_text
        .tools
        .into_iter()
        .map(|t| t.into_tool().unwrap())
        .collect();
    assert_eq!(back, by_value.tools);
}

#[test]
fn text_path_agrees_with_value_path() {
    let config = NormalizeConfig::default();
    both_paths(
        json!([
            {"name": "  echo\n", "title": " Echo ", "description": "\tSays it back ",
             "annotations": {"readOnlyHint": true}, "_meta": {"k": 1}, "icons": [{"src": "i"}],
             "outputSchema": {"type": "object"}, "x-vendor": {"deep": [1, 2]}},
            {"name": "clean", "description": "fine", "inputSchema": {"type": "object",
             "properties": {"a": {"type": "string"}}}},
            {"name": "   "},
            {"name": 42, "description": "number name"},
            {"description": "no name at all"},
            {"name": "t", "title": "  ", "description": ""},
            {"name": "u", "description": null, "inputSchema": null},
        ]),
        &config,
    );
    let custom = NormalizeConfig {
        default_description: "TBD".into(),
    };
    both_paths(
        json!([{"name": "x"}, {"name": "y", "description": " "}]),
        &custom,
    );
}

#[test]
fn text_path_keeps_json_members_byte_for_byte() {
    let text = ToolText {
        name: "t".into(),
        description: Some("d".into()),
        input_schema: Some(r#"{"z": 1, "a": [ 2 ]}"#.into()),
        ..ToolText::default()
    };
    let out = normalize_text(vec![text.clone()], &NormalizeConfig::default());
    assert_eq!(out.tools, vec![text]);
    assert!(out.findings.is_empty());
}

#[test]
fn text_path_never_reads_the_json_members() {
    // The host hands plugins valid JSON text and checks what they return; the normalizer
    // leaves the members alone, so even text it could not parse passes through unchanged.
    let text = ToolText {
        name: " t ".into(),
        description: Some("d".into()),
        meta: Some("{} trailing".into()),
        ..ToolText::default()
    };
    let out = normalize_text(vec![text.clone()], &NormalizeConfig::default());
    assert_eq!(out.tools[0].meta, text.meta);
    assert_eq!(out.tools[0].name, "t");
}
