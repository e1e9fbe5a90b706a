//! mcp-probe against MCP servers no one here wrote, checked against the MCP Inspector CLI.
//!
//! Inspector declares only the `roots` capability, and server-everything shows 14 tools to such
//! a client (13 with none, 16 with roots + sampling + elicitation): comparisons run mcp-probe
//! with `--capabilities roots`, and separate tests check the other capability sets.

use crate::support;

use serde_json::Value;
use support::*;
use tokio::process::Command;

/// The server-everything command line for a transport mode (`stdio`, `sse`, `streamableHttp`).
fn everything(mode: &str) -> Option<Vec<String>> {
    let node = node()?;
    let script = mcp_package_file("server-everything", "dist/index.js")?;
    Some(vec![
        node.display().to_string(),
        script.display().to_string(),
        mode.to_owned(),
    ])
}

/// Starts server-everything in an HTTP mode on a free port; returns it and its base URL.
/// Another test may take the port between our probe for it and the server's bind: retry.
async fn everything_http(mode: &str) -> Option<(Server, String)> {
    let argv = everything(mode)?;
    let mut failures = vec![];
    for _ in 0..3 {
        let port = free_port();
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]).env("PORT", port.to_string());
        let needle = format!("port {port}");
        match Server::try_start(command, |line| line.contains(&needle)).await {
            Ok((server, _)) => return Some((server, format!("http://127.0.0.1:{port}"))),
            Err(failure) => failures.push(failure),
        }
    }
    panic!("server-everything {mode} did not start: {failures:#?}");
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// These servers know only the `initialize` era: mcp-probe's default (`--protocol-era auto`)
/// must fall back to it on the server's answer to `server/discover`, `decided_by`'s start.
fn assert_legacy_fallback(report: &Value, decided_by: &str) {
    assert_eq!(report["protocol_era"], "legacy");
    assert_eq!(report["protocol_version"], "2025-11-25");
    let by = report["era_decided_by"].as_str().unwrap_or_default();
    assert!(by.starts_with(decided_by), "era_decided_by: {by}");
}

/// How a legacy-only server answers `server/discover` on stdio.
const NOT_FOUND: &str = "server/discover answered JSON-RPC error -32601";

#[tokio::test]
async fn everything_stdio_matches_inspector() {
    let argv = require!(everything("stdio"));
    let reference = require!(inspector(&strs(&argv), "tools/list").await);
    let mut args = vec!["--capabilities", "roots", "--"];
    args.extend(strs(&argv));
    let report = discover(&args).await;
    assert_eq!(report["discovery_method"], "local_mcp_stdio");
    assert_legacy_fallback(&report, NOT_FOUND);
    assert_eq!(report["tools"].as_array().unwrap().len(), 14);
    assert_same_items(&report["tools"], &reference, "tools");
    // Prompts and resources are listed too, and match the reference's.
    let prompts = require!(inspector(&strs(&argv), "prompts/list").await);
    assert_same_items(&report["prompts"], &prompts, "prompts");
    let resources = require!(inspector(&strs(&argv), "resources/list").await);
    assert_same_items(&report["resources"], &resources, "resources");
    let templates = require!(inspector(&strs(&argv), "resources/templates/list").await);
    assert_same_items(
        &report["resource_templates"],
        &templates,
        "resourceTemplates",
    );
}

/// What server-everything lists depends on the declared capabilities; the report says which.
#[tokio::test]
async fn everything_stdio_capability_sets() {
    let argv = require!(everything("stdio"));
    let run_with = |caps: Option<&'static str>| {
        let argv = argv.clone();
        async move {
            let mut args: Vec<&str> = caps.map(|c| vec!["--capabilities", c]).unwrap_or_default();
            args.push("--");
            args.extend(strs(&argv));
            discover(&args).await
        }
    };
    let default = run_with(None).await;
    let none = run_with(Some("none")).await;
    let roots = run_with(Some("roots")).await;
    let (all, no, some) = (tool_names(&default), tool_names(&none), tool_names(&roots));
    assert_eq!((all.len(), no.len(), some.len()), (16, 13, 14));
    assert!(no.iter().all(|n| some.contains(n)) && some.iter().all(|n| all.contains(n)));
    assert!(all.iter().any(|n| n == "trigger-sampling-request"));
    assert!(all.iter().any(|n| n == "trigger-elicitation-request"));
    assert!(some.iter().any(|n| n == "get-roots-list"));

    let declared = |r: &Value| {
        let mut keys: Vec<String> = r["capabilities"]["client"]
            .as_object()
            .expect("the report records the declared client capabilities")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(declared(&default), ["elicitation", "roots", "sampling"]);
    assert_eq!(declared(&none), Vec::<String>::new());
    assert_eq!(declared(&roots), ["roots"]);
    assert_eq!(default["server_info"]["name"], "mcp-servers/everything");
}

#[tokio::test]
async fn everything_streamable_http_matches_inspector() {
    let (_server, base) = require!(everything_http("streamableHttp").await);
    let endpoint = format!("{base}/mcp");
    let reference = require!(inspector(&[&endpoint, "--transport", "http"], "tools/list").await);
    // Given the bare base URL, mcp-probe must find /mcp itself.
    let report = discover(&["--capabilities", "roots", "--url", &base]).await;
    assert_eq!(report["discovery_method"], "url_streamable_http");
    assert_eq!(report["endpoint"], endpoint.as_str());
    // Over HTTP it refuses a request before `initialize` as a session error (HTTP 400).
    let not_initialized = "server/discover answered JSON-RPC error -32000";
    assert_legacy_fallback(&report, not_initialized);
    assert_same_items(&report["tools"], &reference, "tools");
    let full = discover(&["--url", &endpoint]).await;
    assert_legacy_fallback(&full, not_initialized);
    assert_eq!(tool_names(&full).len(), 16);
}

#[tokio::test]
async fn everything_sse_matches_inspector() {
    let (_server, base) = require!(everything_http("sse").await);
    let endpoint = format!("{base}/sse");
    let reference = require!(inspector(&[&endpoint, "--transport", "sse"], "tools/list").await);
    // Given the bare base URL, mcp-probe falls back to the legacy transport on /sse.
    let report = discover(&["--capabilities", "roots", "--url", &base]).await;
    assert_eq!(report["discovery_method"], "url_sse");
    assert_legacy_fallback(&report, "the legacy HTTP+SSE transport has no modern era");
    assert_same_items(&report["tools"], &reference, "tools");
    let none = discover(&["--capabilities", "none", "--url", &endpoint]).await;
    assert_eq!(tool_names(&none).len(), 13);
}

#[tokio::test]
async fn memory_server_matches_inspector() {
    let node = require!(node());
    let script = require!(mcp_package_file("server-memory", "dist/index.js"));
    let store = std::env::temp_dir().join(format!("mcp-probe-memory-{}.jsonl", std::process::id()));
    let env = format!("MEMORY_FILE_PATH={}", store.display());
    let (node, script) = (node.display().to_string(), script.display().to_string());
    let reference = require!(inspector(&["-e", &env, &node, &script], "tools/list").await);
    let report = discover(&["--capabilities", "roots", "-e", &env, "--", &node, &script]).await;
    let _ = std::fs::remove_file(&store);
    assert_legacy_fallback(&report, NOT_FOUND);
    assert!(tool_names(&report).iter().any(|n| n == "create_entities"));
    assert_same_items(&report["tools"], &reference, "tools");
}

#[tokio::test]
async fn python_time_server_matches_inspector() {
    let server = require!(venv_bin("mcp-server-time")).display().to_string();
    // A fixed zone: the tool descriptions mention the local one.
    let argv = [server.as_str(), "--local-timezone", "UTC"];
    let reference = require!(inspector(&argv, "tools/list").await);
    let mut args = vec!["--capabilities", "roots", "--"];
    args.extend(argv);
    let report = discover(&args).await;
    assert_eq!(tool_names(&report), ["get_current_time", "convert_time"]);
    assert_same_items(&report["tools"], &reference, "tools");
}

/// A Python SDK server with 120 tools in pages of 50: every page is read.
#[tokio::test]
async fn python_sdk_server_with_three_pages() {
    let python = require!(venv_bin("python")).display().to_string();
    let fixture = repo_root()
        .join("tests/fixtures/fastmcp_120.py")
        .display()
        .to_string();
    let reference = require!(inspector(&[&python, &fixture], "tools/list").await);
    let report = discover(&["--capabilities", "roots", "--", &python, &fixture]).await;
    let names = tool_names(&report);
    assert_eq!(names.len(), 120);
    assert_eq!(
        (names[0].as_str(), names[119].as_str()),
        ("tool_000", "tool_119")
    );
    assert_same_items(&report["tools"], &reference, "tools");
}
