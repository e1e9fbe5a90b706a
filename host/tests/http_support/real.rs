//! Real MCP servers (installed by tests/install-deps.sh) run as child processes, and a minimal
//! hand-written MCP exchange to list their tools through the HTTP transports, trying endpoints
//! the way `discover --url` does. The session module is tested on its own.

use mcp_probe::runtime::url::{endpoints_to_try, open, EndpointKind, HttpOptions};
use mcp_probe::transport::{Inbound, Transport, TransportError};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; killed and reaped when dropped, so a failing test leaves nothing behind.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServerProcess {
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// tests/.deps/<relative>, where install-deps.sh puts what it installs.
pub fn deps_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/.deps")
        .join(relative)
}

/// Whether `path` exists; if not, prints why the test is skipped, or fails in CI (where
/// install-deps.sh ran, so nothing may be missing).
pub fn installed(path: &Path, what: &str) -> bool {
    if path.exists() {
        return true;
    }
    let reason = format!(
        "{what} is not installed at {} (run tests/install-deps.sh)",
        path.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{reason}");
    }
    eprintln!("SKIP: {reason}");
    false
}

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Starts `command` (already given its port) and waits until `port` accepts connections.
pub async fn start(mut command: Command, port: u16, name: &str) -> ServerProcess {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
    let mut server = ServerProcess { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("{name} exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "{name} did not listen within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

/// Waits for the response to `id`, declining any request the server makes meanwhile.
async fn response(transport: &mut dyn Transport, id: i64) -> Value {
    loop {
        let inbound = transport.recv().await.unwrap();
        let value = match &inbound {
            Inbound::Message(json) => serde_json::from_str::<Value>(json.get()).unwrap(),
            _ => Value::Null,
        };
        match inbound {
            Inbound::Message(_) if value["id"] == id && value.get("method").is_none() => {
                assert!(value.get("error").is_none(), "error reply: {value}");
                return value["result"].clone();
            }
            Inbound::Message(_) => {
                if let (Some(_), Some(request_id)) = (value.get("method"), value.get("id")) {
                    let decline = json!({"jsonrpc": "2.0", "id": request_id,
                        "error": {"code": -32601, "message": "not supported"}});
                    transport.send(decline).await.unwrap();
                }
            }
            Inbound::Noise(_) | Inbound::DroppedLine { .. } | Inbound::TooDeep { .. } => {}
            Inbound::Closed { reason } => panic!("closed before response {id}: {reason}"),
        }
    }
}

/// initialize → notifications/initialized → every page of tools/list; returns the server's
/// name and the tool names.
pub async fn list_tools(
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

/// What answered, and what it offered.
#[derive(Debug)]
pub struct Found {
    pub kind: EndpointKind,
    pub url: String,
    pub server_name: String,
    pub tools: Vec<String>,
}

pub fn test_options() -> HttpOptions {
    HttpOptions {
        headers: vec![("X-Probe".into(), "test".into())],
        request_timeout: Duration::from_secs(10),
    }
}

/// Tries the endpoints for `url` in order, moving on only past wrong endpoints, as
/// `discover --url` does; closes the session that answered.
pub async fn discover(url: &str, capabilities: &Value) -> Found {
    let mut passed_over = Vec::new();
    for endpoint in endpoints_to_try(url).unwrap() {
        let attempt = async {
            let mut transport = open(&endpoint, &test_options()).await?;
            let listed = list_tools(transport.as_mut(), capabilities).await?;
            transport.close().await?;
            Ok::<_, TransportError>(listed)
        };
        match tokio::time::timeout(Duration::from_secs(60), attempt).await {
            Ok(Ok((server_name, tools))) => {
                return Found {
                    kind: endpoint.kind,
                    url: endpoint.url,
                    server_name,
                    tools,
                }
            }
            Ok(Err(e @ TransportError::WrongEndpoint { .. })) => passed_over.push(e.to_string()),
            Ok(Err(e)) => panic!("{}: {e}", endpoint.url),
            Err(_) => panic!("{}: no result within 60 s", endpoint.url),
        }
    }
    panic!("no endpoint answered: {passed_over:?}");
}
