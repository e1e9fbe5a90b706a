//! A scripted HTTP server on 127.0.0.1:0 for the HTTP transport tests: it records every request
//! and answers with whatever the test's script returns.
#![allow(dead_code)]

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use mcp_probe::transport::{Inbound, Transport};
use serde_json::Value;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub mod real;

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: HeaderMap,
    pub body: String,
    pub at: Instant,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The JSON-RPC method of the posted message, if any.
    pub fn rpc_method(&self) -> Option<String> {
        self.json()
            .get("method")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

pub type Log = Arc<Mutex<Vec<Seen>>>;

/// Serves `script` on a free local port; returns the base URL (`http://127.0.0.1:PORT`) and
/// the request log. The server lives until the test's runtime ends.
pub async fn serve<F>(script: F) -> (String, Log)
where
    F: Fn(&Seen) -> Response + Send + Sync + 'static,
{
    let log: Log = Arc::default();
    let script = Arc::new(script);
    let recorded = log.clone();
    let router = axum::Router::new().fallback(move |request: Request| {
        let script = script.clone();
        let recorded = recorded.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
            let seen = Seen {
                method: parts.method.to_string(),
                target: parts.uri.to_string(),
                headers: parts.headers,
                body: String::from_utf8_lossy(&body).into_owned(),
                at: Instant::now(),
            };
            recorded.lock().unwrap().push(seen.clone());
            script(&seen)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), log)
}

/// A small Streamable HTTP MCP server with JSON replies, for scripts to build on: initialize
/// (as `server`), `tools` for tools/list, method-not-found for other requests, 202 for
/// notifications, 200 for DELETE, 405 for other HTTP methods.
pub fn streamable_mcp(seen: &Seen, server: &str, tools: Value) -> Response {
    let message = seen.json();
    let result = match (seen.method.as_str(), seen.rpc_method().as_deref()) {
        ("POST", Some("initialize")) => serde_json::json!({"protocolVersion": "2025-11-25",
            "capabilities": {"tools": {}}, "serverInfo": {"name": server, "version": "1"}}),
        ("POST", Some("tools/list")) => serde_json::json!({ "tools": tools }),
        ("POST", _) if message.get("method").is_some() && message.get("id").is_some() => {
            return json_reply(&serde_json::json!({"jsonrpc": "2.0", "id": message["id"],
                "error": {"code": -32601, "message": "method not found"}}))
        }
        ("POST", _) => return status(202, ""),
        ("DELETE", _) => return status(200, ""),
        _ => return status(405, "Method Not Allowed"),
    };
    json_reply(&serde_json::json!({"jsonrpc": "2.0", "id": message["id"], "result": result}))
}

pub fn status(code: u16, body: &str) -> Response {
    let mut response = Response::new(Body::from(body.to_owned()));
    *response.status_mut() = StatusCode::from_u16(code).unwrap();
    response
}

pub fn with_header(mut response: Response, name: &'static str, value: &str) -> Response {
    response
        .headers_mut()
        .insert(name, HeaderValue::from_str(value).unwrap());
    response
}

pub fn json_reply(value: &Value) -> Response {
    with_header(
        status(200, &value.to_string()),
        "content-type",
        "application/json",
    )
}

/// An event stream made of these chunks, then its end.
pub fn sse_reply(chunks: Vec<String>) -> Response {
    let stream = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, Infallible>));
    sse_body(Body::from_stream(stream))
}

/// An event stream fed through the returned sender; it ends when the sender is dropped.
pub fn sse_channel() -> (mpsc::UnboundedSender<String>, Response) {
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, Infallible>(Bytes::from(chunk)), rx))
    });
    (tx, sse_body(Body::from_stream(stream)))
}

fn sse_body(body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/event-stream"),
    );
    response
}

/// `data:` event carrying this message.
pub fn event(value: &Value) -> String {
    format!("event: message\ndata: {value}\n\n")
}

/// The next inbound item, failing the test after 10 s.
pub async fn next(transport: &mut dyn Transport) -> Inbound {
    tokio::time::timeout(Duration::from_secs(10), transport.recv())
        .await
        .expect("nothing arrived within 10 s")
        .expect("recv failed")
}

/// The next message, skipping nothing: panics on noise or closure.
pub async fn next_message(transport: &mut dyn Transport) -> Value {
    match next(transport).await {
        Inbound::Message(json) => serde_json::from_str(json.get()).expect("a message is JSON"),
        other => panic!("expected a message, got {other:?}"),
    }
}
