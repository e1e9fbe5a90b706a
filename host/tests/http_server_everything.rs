//! The HTTP transports against the real `@modelcontextprotocol/server-everything` (installed by
//! tests/install-deps.sh) in its `streamableHttp` and `sse` modes, reached through the same
//! endpoint auto-detection `discover --url` uses. The MCP exchange here is a minimal hand-written
//! one: the session module is tested on its own.

use mcp_probe::runtime::url::{endpoints_to_try, open, EndpointKind, HttpOptions};
use mcp_probe::transport::{Inbound, Transport, TransportError};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The running server; killed and reaped when dropped, so a failing test leaves nothing behind.
struct NodeServer {
    child: Child,
    port: u16,
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's entry point, or why the test cannot run. In CI a missing server is a failure.
fn server_script() -> Option<PathBuf> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/.deps/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let node_ok = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let missing = if !node_ok {
        "node is not installed"
    } else if !script.exists() {
        "server-everything is not installed (run tests/install-deps.sh)"
    } else {
        return Some(script);
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{missing}");
    }
    eprintln!("SKIP: {missing}");
    None
}

async fn start(script: &PathBuf, mode: &str) -> NodeServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("node")
        .arg(script)
        .arg(mode)
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts");
    let mut server = NodeServer { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("server-everything {mode} exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "server-everything {mode} did not listen within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

/// Waits for the response to `id`, declining any request the server makes meanwhile.
async fn response(transport: &mut dyn Transport, id: i64) -> Value {
    loop {
        match transport.recv().await.unwrap() {
            Inbound::Message { value, .. }
                if value["id"] == id && value.get("method").is_none() =>
            {
                assert!(value.get("error").is_none(), "error reply: {value}");
                return value["result"].clone();
            }
            Inbound::Message { value, .. } => {
                if let (Some(_), Some(request_id)) = (value.get("method"), value.get("id")) {
                    let decline = json!({"jsonrpc": "2.0", "id": request_id,
                        "error": {"code": -32601, "message": "not supported"}});
                    transport.send(decline).await.unwrap();
                }
            }
            Inbound::Noise(_) => {}
            Inbound::Closed { reason } => panic!("closed before response {id}: {reason}"),
        }
    }
}

/// initialize → notifications/initialized → every page of tools/list; returns the server's
/// name and the tool names.
async fn list_tools(
    transport: &mut dyn Transport,
    capabilities: &Value,
) -> Result<(String, Vec<String>), TransportError> {
    transport
        .send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": capabilities,
            "clientInfo": {"name": "mcp-probe-test", "version": "0"}}}),
        )
        .await?;
    let init = response(transport, 1).await;
    transport.set_protocol_version(init["protocolVersion"].as_str().unwrap());
    transport
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await?;
    let mut tools = Vec::new();
    let mut cursor = Value::Null;
    for id in 2..50 {
        let params = if cursor.is_null() {
            json!({})
        } else {
            json!({"cursor": cursor})
        };
        transport
            .send(json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": params}))
            .await?;
        let page = response(transport, id).await;
        for tool in page["tools"].as_array().unwrap() {
            tools.push(tool["name"].as_str().unwrap().to_owned());
        }
        cursor = page.get("nextCursor").cloned().unwrap_or(Value::Null);
        if cursor.is_null() {
            break;
        }
    }
    let name = init["serverInfo"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((name, tools))
}

/// Tries the endpoints for the bare base URL in order, as `discover --url` does.
async fn discover(base: &str, capabilities: &Value) -> (EndpointKind, String, String, Vec<String>) {
    let opts = HttpOptions {
        headers: vec![("X-Probe".into(), "test".into())],
        request_timeout: Duration::from_secs(10),
    };
    let mut failures = Vec::new();
    for endpoint in endpoints_to_try(base).unwrap() {
        let mut transport = match open(&endpoint, &opts).await {
            Ok(transport) => transport,
            Err(e) => {
                failures.push(e.to_string());
                continue;
            }
        };
        match list_tools(transport.as_mut(), capabilities).await {
            Ok((name, tools)) => {
                transport.close().await.unwrap();
                return (endpoint.kind, endpoint.url, name, tools);
            }
            Err(TransportError::WrongEndpoint { .. }) => failures.push(endpoint.url),
            Err(e) => panic!("{}: {e}", endpoint.url),
        }
    }
    panic!("no endpoint answered: {failures:?}");
}

/// Discovers the server in `mode` twice, declaring no capabilities and then all three a
/// lister declares; returns the tool counts.
async fn check_mode(mode: &str, kind: EndpointKind, path: &str) -> Option<(usize, usize)> {
    let script = server_script()?;
    let server = start(&script, mode).await;
    let base = format!("http://127.0.0.1:{}", server.port);
    let mut counts = Vec::new();
    let all = json!({"roots": {}, "sampling": {}, "elicitation": {}});
    for capabilities in [json!({}), all] {
        let found = tokio::time::timeout(Duration::from_secs(60), discover(&base, &capabilities))
            .await
            .expect("discovery finished within 60 s");
        let (found_kind, url, name, tools) = found;
        eprintln!(
            "{mode} {capabilities}: {name} at {url} lists {} tools",
            tools.len()
        );
        assert_eq!(found_kind, kind);
        assert_eq!(url, format!("{base}{path}"));
        assert!(name.contains("everything"), "server name {name:?}");
        assert!(tools.iter().any(|t| t == "echo"), "tools: {tools:?}");
        counts.push(tools.len());
    }
    drop(server);
    Some((counts[0], counts[1]))
}

#[tokio::test]
async fn server_everything_streamable_http() {
    if let Some((plain, declared)) =
        check_mode("streamableHttp", EndpointKind::StreamableHttp, "/mcp").await
    {
        // The server shows more tools to a client that declares roots, sampling, elicitation.
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
