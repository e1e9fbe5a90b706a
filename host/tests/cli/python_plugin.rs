//! The Python example validator (examples/python-validator, built by componentize-py) run by
//! the real CLI: `mcp-probe validate TOOLS.json --plugin python-validator.wasm`.
//!
//! tests/run-all.sh builds the component into tests/.deps/ first; it embeds a Python
//! interpreter (~18 MB), so it is not committed.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn component() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/.deps/python-validator.wasm");
    if path.exists() {
        return Some(path);
    }
    let why = format!(
        "{} is missing: run examples/python-validator/build.sh",
        path.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("{why}");
    }
    eprintln!("SKIP python_plugin: {why}");
    None
}

/// Every finding object anywhere in the output, whatever the report's exact shape.
fn findings(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Object(map) if map.contains_key("rule") && map.contains_key("severity") => {
            out.push(value.clone())
        }
        Value::Object(map) => map.values().for_each(|v| findings(v, out)),
        Value::Array(items) => items.iter().for_each(|v| findings(v, out)),
        _ => {}
    }
}

fn validate(name: &str, tools: Value, plugin: &Path) -> (i32, Vec<Value>) {
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("python-plugin-{name}.json"));
    std::fs::write(&file, tools.to_string()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-probe"))
        .args([
            "validate",
            file.to_str().unwrap(),
            "--plugin",
            plugin.to_str().unwrap(),
        ])
        .args(["-o", "json"])
        .output()
        .expect("mcp-probe runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let mut found = Vec::new();
    findings(&report, &mut found);
    (output.status.code().unwrap_or(-1), found)
}

fn tool(name: &str, annotations: Value) -> Value {
    json!({
        "name": name, "description": "Works on rows of the orders table",
        "inputSchema": {"type": "object", "properties": {"id": {"type": "string"}}},
        "annotations": annotations
    })
}

#[test]
fn python_validator_reports_an_error_and_the_cli_exits_3() {
    let Some(plugin) = component() else { return };
    let tools = json!({"tools": [
        tool("delete_order", json!({"readOnlyHint": true})),
        tool("get_order", json!({"readOnlyHint": true})),
    ]});
    let (code, found) = validate("error", tools, &plugin);
    let hit = found
        .iter()
        .find(|f| f["rule"] == "py-readonly-contradiction")
        .unwrap_or_else(|| panic!("no finding from the Python plugin in {found:?}"));
    assert_eq!(hit["tool"], "delete_order");
    assert_eq!(hit["severity"], "error");
    assert!(found
        .iter()
        .all(|f| f["tool"] != "get_order" || !f["rule"].as_str().unwrap().starts_with("py-")));
    assert_eq!(code, 3, "an error-severity finding makes validate exit 3");
}

#[test]
fn python_validator_warning_alone_exits_0() {
    let Some(plugin) = component() else { return };
    let tools = json!([tool("removeUser", json!({"readOnlyHint": false}))]);
    let (code, found) = validate("warning", tools, &plugin);
    let hit = found
        .iter()
        .find(|f| f["rule"] == "py-destructive-hint-missing")
        .unwrap_or_else(|| panic!("no finding from the Python plugin in {found:?}"));
    assert_eq!(hit["severity"], "warning");
    assert_eq!(code, 0, "warnings only: findings {found:?}");
}
