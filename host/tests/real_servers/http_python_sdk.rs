//! The HTTP transports against a server built with the official Python SDK (PyPI `mcp`,
//! tests/fixtures/py_http_server.py) in each way it serves HTTP: SSE replies, JSON replies,
//! stateless, and the legacy SSE transport.

use crate::http_support;

use http_support::real::{deps_path, discover, free_port, installed, start};
use mcp_probe::runtime::url::EndpointKind;
use serde_json::json;
use std::path::Path;
use std::process::Command;

async fn check(mode: &str, url_path: &str, kind: EndpointKind, answered_path: &str) {
    let python = deps_path("venv/bin/python");
    if !installed(&python, "the Python MCP SDK (venv)") {
        return;
    }
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/py_http_server.py");
    let port = free_port();
    let mut command = Command::new(&python);
    command.arg(&fixture).arg(mode).arg(port.to_string());
    let server = start(command, port, &format!("the Python SDK server ({mode})")).await;
    let base = server.base_url();
    let found = discover(&format!("{base}{url_path}"), &json!({})).await;
    eprintln!("{mode}: {found:?}");
    assert_eq!(found.kind, kind);
    assert_eq!(found.url, format!("{base}{answered_path}"));
    assert_eq!(found.server_name, "py-http-fixture");
    let mut tools = found.tools.clone();
    tools.sort();
    assert_eq!(tools, ["add", "echo"]);
}

#[tokio::test]
async fn streamable_http_with_event_stream_replies() {
    check("streamable-http", "", EndpointKind::StreamableHttp, "/mcp").await;
}

#[tokio::test]
async fn streamable_http_with_json_replies() {
    check(
        "streamable-http-json",
        "/mcp",
        EndpointKind::StreamableHttp,
        "/mcp",
    )
    .await;
}

#[tokio::test]
async fn stateless_streamable_http() {
    check(
        "streamable-http-stateless",
        "/",
        EndpointKind::StreamableHttp,
        "/mcp",
    )
    .await;
}

#[tokio::test]
async fn legacy_sse() {
    check("sse", "/sse", EndpointKind::Sse, "/sse").await;
}
