//! Streamable HTTP: POST /mcp with one JSON-RPC message, a JSON reply; `initialize` opens a
//! session (`Mcp-Session-Id`) that every later request must carry; DELETE /mcp ends it.

use crate::protocol::{self, Offer};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const SESSION_HEADER: &str = "mcp-session-id";

struct State {
    offer: Offer,
    sessions: Mutex<HashSet<String>>,
    ids: RandomState,
}

pub fn serve(addr: SocketAddr, offer: Offer) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        eprintln!("listening on http://{}/mcp", listener.local_addr()?);
        let state = Arc::new(State {
            offer,
            sessions: Mutex::default(),
            ids: RandomState::new(),
        });
        loop {
            let (stream, _) = listener.accept().await?;
            let state = state.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| respond(state.clone(), req));
                // A client that drops its connection mid-request is not our problem.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

type Reply = Response<Full<Bytes>>;

async fn respond(state: Arc<State>, request: Request<Incoming>) -> Result<Reply, hyper::Error> {
    if request.uri().path() != "/mcp" {
        return Ok(plain(
            StatusCode::NOT_FOUND,
            "not found; the MCP endpoint is /mcp",
        ));
    }
    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match *request.method() {
        Method::POST => {
            let body = request.into_body().collect().await?.to_bytes();
            Ok(post(&state, session, &body))
        }
        Method::DELETE => Ok(match session {
            None => plain(StatusCode::BAD_REQUEST, "missing Mcp-Session-Id"),
            Some(id) if state.sessions.lock().unwrap().remove(&id) => {
                eprintln!("session {id} deleted");
                plain(StatusCode::OK, "")
            }
            Some(_) => plain(StatusCode::NOT_FOUND, "unknown session"),
        }),
        _ => {
            let mut reply = plain(StatusCode::METHOD_NOT_ALLOWED, "use POST or DELETE");
            reply
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("POST, DELETE"));
            Ok(reply)
        }
    }
}

fn post(state: &State, session: Option<String>, body: &[u8]) -> Reply {
    let message: Value = match serde_json::from_slice(body) {
        Ok(message) => message,
        Err(error) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                -32700,
                &format!("Parse error: {error}"),
            )
        }
    };
    let is_initialize = message.get("method").and_then(Value::as_str) == Some("initialize");
    let new_session = if is_initialize {
        let id = format!("{:016x}", state.ids.hash_one(std::time::SystemTime::now()));
        state.sessions.lock().unwrap().insert(id.clone());
        // Logged so that tests can see what a client declares (and that it closes sessions).
        let params = message.get("params");
        let client = params
            .and_then(|p| p["clientInfo"]["name"].as_str())
            .unwrap_or("?");
        let capabilities = params.map_or(Value::Null, |p| p["capabilities"].clone());
        eprintln!("session {id} opened by {client} declaring {capabilities}");
        Some(id)
    } else {
        match session {
            None => return rpc_error(StatusCode::BAD_REQUEST, -32000, "Bad Request: no session"),
            Some(id) if !state.sessions.lock().unwrap().contains(&id) => {
                return rpc_error(StatusCode::NOT_FOUND, -32001, "Session not found")
            }
            Some(_) => None,
        }
    };
    let Some(reply) = protocol::handle(&state.offer, &message) else {
        return plain(StatusCode::ACCEPTED, ""); // a notification or a reply
    };
    let mut response = json_reply(StatusCode::OK, &reply);
    if let Some(id) = new_session {
        let value = HeaderValue::from_str(&id).expect("hex is a valid header value");
        response.headers_mut().insert(SESSION_HEADER, value);
    }
    response
}

fn rpc_error(status: StatusCode, code: i64, message: &str) -> Reply {
    let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    json_reply(status, &body)
}

fn json_reply(status: StatusCode, body: &Value) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from(body.to_string())));
    *reply.status_mut() = status;
    reply
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    reply
}

fn plain(status: StatusCode, text: &'static str) -> Reply {
    let mut reply = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *reply.status_mut() = status;
    reply
}
