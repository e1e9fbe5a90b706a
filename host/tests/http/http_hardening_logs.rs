//! Credentials stay out of the logs of every library on the HTTP path, not only mcp-probe's:
//! a subscriber at TRACE for every target (reqwest's `log` records included, through the
//! `tracing-log` bridge) records a session with redirects, a legacy SSE session, an echoing
//! 401, a cross-origin redirect and a refused connection, and the record is searched for the
//! secrets. One test in its own binary, because it installs the global subscriber.

use crate::http_support;

use http_support::*;
use mcp_probe::mcp::{Session, SessionOptions};
use mcp_probe::runtime::url::{open, Endpoint, EndpointKind, HttpOptions};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

const PASSWORD: &str = "pw-SECRET-1111";
const API_KEY: &str = "key-SECRET-2222";
/// Base64 of `user:pw-SECRET-1111`, what goes out as `Authorization: Basic …`.
const BASIC: &str = "dXNlcjpwdy1TRUNSRVQtMTExMQ==";

#[derive(Clone, Default)]
struct Record(Arc<Mutex<Vec<u8>>>);

impl Write for Record {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn echoed(seen: &Seen) -> String {
    format!(
        "key={} auth={}",
        seen.header("x-api-key").unwrap_or("-"),
        seen.header("authorization").unwrap_or("-")
    )
}

/// A Streamable HTTP server behind a same-origin redirect, echoing credentials in its tools.
fn streamable(seen: &Seen) -> axum::response::Response {
    let message = seen.json();
    let result = match (seen.target.as_str(), seen.rpc_method().as_deref()) {
        ("/mcp", _) => return with_header(status(308, ""), "location", "/real"),
        (_, Some("initialize")) => json!({"protocolVersion": "2025-11-25",
            "capabilities": {"tools": {}}, "serverInfo": {"name": "logged"}}),
        (_, Some("tools/list")) => {
            json!({"tools": [{"name": "t", "description": echoed(seen)}]})
        }
        _ if seen.method == "DELETE" => return status(200, ""),
        _ => return status(202, ""),
    };
    with_header(
        json_reply(&json!({"jsonrpc": "2.0", "id": message["id"], "result": result})),
        "mcp-session-id",
        "s-1",
    )
}

fn legacy() -> impl Fn(&Seen) -> axum::response::Response {
    let stream: Arc<Mutex<Option<UnboundedSender<String>>>> = Arc::default();
    move |seen: &Seen| match (seen.method.as_str(), seen.target.as_str()) {
        ("GET", "/sse") => {
            let (tx, response) = sse_channel();
            // An endpoint on another origin, as servers behind proxies send.
            tx.send("event: endpoint\ndata: http://internal:9/messages\n\n".into())
                .unwrap();
            *stream.lock().unwrap() = Some(tx);
            response
        }
        ("POST", "/messages") => {
            let message = seen.json();
            let result = match message["method"].as_str() {
                Some("initialize") => json!({"protocolVersion": "2024-11-05",
                    "capabilities": {"tools": {}}, "serverInfo": {"name": "legacy"}}),
                Some(_) => json!({"tools": [{"name": "t", "description": echoed(seen)}]}),
                None => return status(202, ""),
            };
            if let Some(tx) = stream.lock().unwrap().as_ref() {
                let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": result});
                let _ = tx.send(event(&reply));
                let _ = tx.send(format!("data: noise {}\n\n", echoed(seen)));
            }
            status(202, "Accepted")
        }
        _ => status(404, ""),
    }
}

async fn discover(url: String, kind: EndpointKind) -> String {
    let opts = HttpOptions {
        headers: vec![("X-Api-Key".into(), API_KEY.into())],
        request_timeout: Duration::from_secs(5),
    };
    let endpoint = Endpoint { url, kind };
    let transport = match open(&endpoint, &opts).await {
        Ok(transport) => transport,
        Err(err) => {
            tracing::error!("open failed: {err}");
            return err.to_string();
        }
    };
    let mut session = Session::new(transport, SessionOptions::default());
    let outcome = match session.discover_tools().await {
        Ok(discovery) => format!("{:?}", discovery.tools),
        Err(err) => {
            tracing::error!("session failed: {err}");
            err.to_string()
        }
    };
    let _ = session.close().await;
    tracing::info!(transcript = ?session.take_transcript(), "done");
    outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logs_of_every_library_hold_no_credential() {
    let record = Record::default();
    let writer = record.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .expect("the only subscriber in this binary");

    let (base, _) = serve(streamable).await;
    let userinfo = |base: &str| format!("http://user:{PASSWORD}@{}", &base[7..]);
    let tools = discover(
        format!("{}/mcp", userinfo(&base)),
        EndpointKind::StreamableHttp,
    )
    .await;
    assert!(tools.contains("key=*** auth=Basic ***"), "{tools}");

    let (base, _) = serve(legacy()).await;
    let tools = discover(format!("{}/sse", userinfo(&base)), EndpointKind::Sse).await;
    assert!(tools.contains("key=*** auth=Basic ***"), "{tools}");

    let (base, _) = serve(|seen| status(401, &format!("denied {}", echoed(seen)))).await;
    let failed = discover(
        format!("{}/mcp", userinfo(&base)),
        EndpointKind::StreamableHttp,
    )
    .await;
    assert!(
        failed.contains("HTTP 401") && failed.contains("***"),
        "{failed}"
    );

    let (elsewhere, _) = serve(|_| status(200, "")).await;
    let to = format!("{elsewhere}/mcp");
    let (base, _) = serve(move |_| with_header(status(302, ""), "location", &to)).await;
    let failed = discover(
        format!("{}/mcp", userinfo(&base)),
        EndpointKind::StreamableHttp,
    )
    .await;
    assert!(failed.contains("another origin"), "{failed}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let failed = discover(
        format!("http://user:{PASSWORD}@127.0.0.1:{port}/sse"),
        EndpointKind::Sse,
    )
    .await;
    assert!(failed.contains("cannot connect"), "{failed}");

    let logged = String::from_utf8_lossy(&record.0.lock().unwrap()).into_owned();
    // The libraries did log, down to the connection level.
    for target in ["reqwest::", "hyper_util::", "mcp_probe::"] {
        assert!(logged.contains(target), "nothing from {target}:\n{logged}");
    }
    for secret in [PASSWORD, API_KEY, BASIC, "SECRET"] {
        assert!(!logged.contains(secret), "{secret} logged:\n{logged}");
    }
}
