//! The HTTP transports against the real `@modelcontextprotocol/server-everything` (from npm) in
//! its `streamableHttp` and `sse` modes, reached through endpoint auto-detection on the bare
//! base URL, as `discover --url` does.

use crate::http_support;

use http_support::real::{
    deps_path, discover, free_port, installed, list_tools, start, test_options,
};
use mcp_probe::runtime::url::{open, Endpoint, EndpointKind};
use mcp_probe::transport::TransportError;
use serde_json::json;
use std::process::Command;

/// Discovers the server in `mode` twice, declaring no capabilities and then the three a lister
/// declares; returns the two tool counts, or None when the server is not installed.
async fn check_mode(mode: &str, kind: EndpointKind, path: &str) -> Option<(usize, usize)> {
    let script = deps_path("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    if !installed(&script, "server-everything") {
        return None;
    }
    let port = free_port();
    let mut command = Command::new("node");
    command.arg(&script).arg(mode).env("PORT", port.to_string());
    let server = start(command, port, &format!("server-everything {mode}")).await;
    let base = server.base_url();

    let mut counts = Vec::new();
    let all = json!({"roots": {}, "sampling": {}, "elicitation": {}});
    for capabilities in [json!({}), all] {
        let found = discover(&base, &capabilities).await;
        eprintln!("{mode} {capabilities}: {found:?}");
        assert_eq!(found.kind, kind);
        assert_eq!(found.url, format!("{base}{path}"));
        assert!(found.server_name.contains("everything"), "{found:?}");
        assert!(found.tools.iter().any(|t| t == "echo"), "{found:?}");
        counts.push(found.tools.len());
    }

    // The other transport on the endpoint that answered is a wrong endpoint (a Streamable HTTP
    // server answers a GET without a session with 400), so a caller trying both kinds on one
    // URL moves on.
    let other = match kind {
        EndpointKind::StreamableHttp => EndpointKind::Sse,
        EndpointKind::Sse => EndpointKind::StreamableHttp,
    };
    let endpoint = Endpoint {
        url: format!("{base}{path}"),
        kind: other,
    };
    let refused = match open(&endpoint, &test_options()).await {
        Err(e) => e,
        Ok(mut transport) => list_tools(transport.as_mut(), &json!({}))
            .await
            .expect_err("the other transport must fail"),
    };
    assert!(
        matches!(refused, TransportError::WrongEndpoint { .. }),
        "{mode} as {other:?}: {refused}"
    );
    drop(server);
    Some((counts[0], counts[1]))
}

#[tokio::test]
async fn server_everything_streamable_http() {
    if let Some((plain, declared)) =
        check_mode("streamableHttp", EndpointKind::StreamableHttp, "/mcp").await
    {
        // It shows more tools to a client that declares roots, sampling and elicitation.
        assert!(
            declared > plain,
            "{declared} tools with capabilities, {plain} without"
        );
    }
}

#[tokio::test]
async fn server_everything_legacy_sse() {
    if let Some((plain, declared)) = check_mode("sse", EndpointKind::Sse, "/sse").await {
        assert!(
            declared > plain,
            "{declared} tools with capabilities, {plain} without"
        );
    }
}
