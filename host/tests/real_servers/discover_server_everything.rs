//! `discover` against the reference server no one here wrote, `@modelcontextprotocol/
//! server-everything` over stdio: its tool list depends on the declared client capabilities.
//! Installed by tests/install-deps.sh under tests/.deps (or MCP_PROBE_TEST_DEPS).

use crate::support;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn server_everything() -> Option<PathBuf> {
    // One skip rule for every test (support): a reason locally, a failure under CI=true.
    support::node()?;
    support::mcp_package_file("server-everything", "dist/index.js")
}

fn discover(script: &PathBuf, capabilities: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-probe"))
        .args(["discover", "--capabilities", capabilities, "--"])
        .arg(support::node().expect("checked"))
        .arg(script)
        .arg("stdio")
        .output()
        .expect("run mcp-probe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    serde_json::from_slice(&out.stdout).expect("one JSON report")
}

#[test]
fn declared_capabilities_decide_the_tool_surface() {
    let Some(script) = server_everything() else {
        return;
    };
    for (capabilities, expected) in [
        ("roots,sampling,elicitation", 16),
        ("roots", 14),
        ("none", 13),
    ] {
        let report = discover(&script, capabilities);
        let tools = report["tools"].as_array().unwrap();
        assert_eq!(tools.len(), expected, "with --capabilities {capabilities}");
        assert_eq!(report["server_info"]["name"], "mcp-servers/everything");
        assert_eq!(report["protocol_version"], "2025-11-25");
        assert!(tools
            .iter()
            .any(|t| t["name"] == "echo" && t["inputSchema"].is_object()));
        // It offers prompts and resources too; they are listed, templates included.
        assert!(!report["prompts"].as_array().unwrap().is_empty());
        assert!(!report["resources"].as_array().unwrap().is_empty());
        assert!(!report["resource_templates"].as_array().unwrap().is_empty());
        assert_eq!(report["findings"], serde_json::json!([]));
    }
}
