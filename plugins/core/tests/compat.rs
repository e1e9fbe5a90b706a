use mcp_probe_plugin_core::compat::{reshape, CompatConfig};
use mcp_probe_plugin_core::Tool;
use serde_json::json;

#[test]
fn adds_mcp_platform_members_and_keeps_mcp_fields() {
    let tool = Tool::from_json(json!({
        "name": "search", "title": "Search", "description": "Finds things",
        "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}},
        "annotations": {"readOnlyHint": true}
    }))
    .unwrap();
    let (tools, findings) = reshape(vec![tool], &CompatConfig::default());
    assert!(findings.is_empty());
    let schema = json!({"type": "object", "properties": {"q": {"type": "string"}}});
    assert_eq!(
        tools[0].to_json(),
        json!({
            "name": "search", "title": "Search", "description": "Finds things",
            "inputSchema": schema, "annotations": {"readOnlyHint": true},
            "category": "mcp", "parameters": schema,
            "mcp_info": {"input_schema": schema, "output_schema": {}}
        })
    );
}

#[test]
fn exact_mode_gives_the_old_shape_with_its_defaults() {
    let tool =
        Tool::from_json(json!({"name": "", "outputSchema": {"type": "object"}, "icons": []}))
            .unwrap();
    let config = CompatConfig::from_json_text(Some(r#"{"exact": true}"#)).unwrap();
    let (tools, findings) = reshape(vec![tool], &config);
    assert_eq!(
        tools[0].to_json(),
        json!({
            "name": "unknown", "description": "No description available", "category": "mcp",
            "parameters": {}, "mcp_info": {"input_schema": {}, "output_schema": {"type": "object"}}
        })
    );
    assert_eq!(findings[0].rule, "compat-unnamed");
}
