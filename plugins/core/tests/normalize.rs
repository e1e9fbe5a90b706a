use mcp_probe_plugin_core::{normalize, NormalizeConfig, Severity, Tool};
use serde_json::{json, Value};

fn tools(values: Value) -> Vec<Tool> {
    values
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .filter_map(Tool::from_json)
        .collect()
}

fn rewrite() -> NormalizeConfig {
    NormalizeConfig {
        rewrite: true,
        ..NormalizeConfig::default()
    }
}

fn rules(findings: &[mcp_probe_plugin_core::Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn trims_fills_and_keeps_every_field() {
    let input = tools(json!([{
        "name": "  echo\n", "title": " Echo ", "description": "\tSays it back ",
        "annotations": {"readOnlyHint": true}, "_meta": {"k": 1}, "icons": [{"src": "i"}],
        "outputSchema": {"type": "object"}, "x-vendor": {"deep": [1, 2]}
    }]));
    let out = normalize(input, &rewrite());
    assert_eq!(
        out.tools[0].to_json(),
        json!({
            "name": "echo", "title": "Echo", "description": "Says it back",
            "inputSchema": {"type": "object"},
            "annotations": {"readOnlyHint": true}, "_meta": {"k": 1}, "icons": [{"src": "i"}],
            "outputSchema": {"type": "object"}, "x-vendor": {"deep": [1, 2]}
        })
    );
    assert_eq!(
        rules(&out.findings),
        [
            "whitespace-trimmed",
            "whitespace-trimmed",
            "whitespace-trimmed",
            "input-schema-filled"
        ]
    );
    assert!(out
        .findings
        .iter()
        .all(|f| f.severity == Severity::Info && f.tool.as_deref() == Some("echo")));
}

#[test]
fn fills_missing_and_empty_descriptions() {
    let input = tools(json!([
        {"name": "a", "inputSchema": {"type": "object"}},
        {"name": "b", "description": "   ", "inputSchema": {"type": "object"}}
    ]));
    let out = normalize(input, &rewrite());
    for tool in &out.tools {
        assert_eq!(
            tool.description.as_deref(),
            Some("No description available")
        );
    }
    assert_eq!(
        rules(&out.findings),
        ["description-filled", "description-filled"]
    );
}

#[test]
fn drops_unnamed_entries_and_says_so() {
    let input = tools(json!([
        {"description": "no name"}, {"name": "  "}, {"name": 42}, {"name": "ok", "description": "d", "inputSchema": {"type": "object"}}
    ]));
    let out = normalize(input, &rewrite());
    assert_eq!(out.tools.len(), 1);
    assert_eq!(out.tools[0].name, "ok");
    assert_eq!(rules(&out.findings), ["tool-without-name"; 3]);
    assert!(
        out.findings[2].message.contains("not a string (42)"),
        "{}",
        out.findings[2].message
    );
    assert!(out
        .findings
        .iter()
        .all(|f| f.severity == Severity::Warning && f.tool.is_none()));
}

#[test]
fn clean_tools_pass_unchanged_without_findings() {
    let input = tools(
        json!([{"name": "a", "description": "d", "inputSchema": {"type": "object", "properties": {}}}]),
    );
    let out = normalize(input.clone(), &NormalizeConfig::default());
    assert_eq!(out.tools, input);
    assert!(out.findings.is_empty());
}

#[test]
fn rewriting_removes_an_empty_title_and_config_sets_the_default_description() {
    let config =
        NormalizeConfig::from_json_text(Some(r#"{"rewrite": true, "default_description": "TBD"}"#))
            .unwrap();
    let out = normalize(tools(json!([{"name": "a", "title": " "}])), &config);
    assert_eq!(out.tools[0].title, None);
    assert_eq!(out.tools[0].description.as_deref(), Some("TBD"));
    assert!(NormalizeConfig::from_json_text(Some(r#"{"defualt": 1}"#)).is_err());
}

#[test]
fn by_default_every_tool_passes_as_sent() {
    let sent = json!([
        {"name": "  echo\n", "title": " ", "description": "\tSays it back "},
        {"name": "bare"},
        {"description": "no name"}, {"name": "  "}, {"name": 42}
    ]);
    let input = tools(sent.clone());
    let out = normalize(input.clone(), &NormalizeConfig::default());
    assert_eq!(out.tools, input, "unchanged, none dropped");
    assert_eq!(rules(&out.findings), ["tool-without-name"; 3]);
    let messages: Vec<&str> = out.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "tool #2: it has no name; kept as sent",
            "tool #3: its name is only whitespace (\"  \"); kept as sent",
            "tool #4: its name is not a string (42); kept as sent"
        ]
    );
}
