//! `discover_over`: the library entry for a transport opened elsewhere (e.g. a Kubernetes attach
//! stream) gives the same report and the same failures as `discover`.

use mcp_probe::discover::{discover_over, DiscoverError, DiscoverOptions};
use mcp_probe::mcp::SessionOptions;
use mcp_probe::plugins::Pipeline;
use mcp_probe::target::Target;
use mcp_probe::transport::stdio::StdioTransport;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn options(timeout: Duration) -> DiscoverOptions {
    DiscoverOptions {
        target: Target::Url {
            url: "unused".into(),
            headers: vec![],
        },
        session: SessionOptions::default(),
        timeout,
        max_line_bytes: 1 << 20,
    }
}

/// An in-memory server; `answer_tools` false makes it hang on tools/list after noise.
fn server(
    answer_tools: bool,
) -> StdioTransport<impl tokio::io::AsyncRead, impl tokio::io::AsyncWrite> {
    let (client, server) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        let (read, mut out) = tokio::io::split(server);
        let mut lines = BufReader::new(read).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let msg: Value = serde_json::from_str(&line).unwrap();
            let result = match msg["method"].as_str() {
                Some("initialize") => json!({"protocolVersion": "2025-11-25",
                    "capabilities": {"tools": {}}, "serverInfo": {"name": "attached"}}),
                Some("tools/list") if answer_tools => json!({"tools": [{"name": "t"}]}),
                Some("tools/list") => {
                    out.write_all(b"tool t: does things\n").await.unwrap();
                    continue;
                }
                _ => continue,
            };
            let reply = json!({"jsonrpc": "2.0", "id": msg["id"], "result": result});
            out.write_all(format!("{reply}\n").as_bytes())
                .await
                .unwrap();
        }
    });
    let (read, write) = tokio::io::split(client);
    StdioTransport::new(read, write, 1 << 20)
}

#[tokio::test]
async fn reports_like_discover() {
    let pipeline = Pipeline::builtin().unwrap();
    let report = discover_over(
        Box::new(server(true)),
        "kubernetes_mcp_stdio",
        "image:tag".into(),
        &options(Duration::from_secs(10)),
        &pipeline,
        std::future::pending(),
    )
    .await
    .unwrap();
    assert_eq!(report.discovery_method, "kubernetes_mcp_stdio");
    assert_eq!(report.tools.len(), 1);
    assert_eq!(report.server_info, Some(json!({"name": "attached"})));
    assert!(report.timestamp > 1.7e9);
}

#[tokio::test]
async fn the_deadline_gives_a_clear_failure() {
    let pipeline = Pipeline::builtin().unwrap();
    let err = discover_over(
        Box::new(server(false)),
        "kubernetes_mcp_stdio",
        "image:tag".into(),
        &options(Duration::from_millis(300)),
        &pipeline,
        std::future::pending(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DiscoverError::Failed { .. }));
    assert_eq!(
        err.to_string(),
        "discovery timed out after 300ms (--timeout) waiting for the reply to tools/list"
    );
}

#[tokio::test]
async fn an_interrupt_stops_it() {
    let pipeline = Pipeline::builtin().unwrap();
    let err = discover_over(
        Box::new(server(false)),
        "kubernetes_mcp_stdio",
        "image:tag".into(),
        &options(Duration::from_secs(30)),
        &pipeline,
        tokio::time::sleep(Duration::from_millis(100)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, DiscoverError::Interrupted));
}
