//! Streamable HTTP: POST /mcp with one JSON-RPC message, a JSON reply.
//! Legacy era: `initialize` opens a session (`Mcp-Session-Id`) that every later request must
//! carry; DELETE /mcp ends it. Modern era (2026-07-28): no sessions; every request mirrors its
//! version, method and name into headers, which must match the body.

use crate::modern;
use crate::protocol::{self, Offer, RpcError, METHOD_NOT_FOUND};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const SESSION_HEADER: &str = "mcp-session-id";
const PROTOCOL_VERSION_HEADER: &str = "MCP-Protocol-Version";
const METHOD_HEADER: &str = "Mcp-Method";
const NAME_HEADER: &str = "Mcp-Name";

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
    let session = session_id(request.headers());
    match *request.method() {
        Method::POST => {
            let (head, body) = request.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok(post(&state, &head.headers, &body))
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

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn post(state: &State, headers: &HeaderMap, body: &[u8]) -> Reply {
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
    if state.offer.era.answers_modern(&message) {
        modern_post(state, headers, &message)
    } else {
        legacy_post(state, session_id(headers), &message)
    }
}

/// A modern request: stateless, so no session is looked up, minted or echoed. Refusals
/// before the method runs are 400s and an unknown method is a 404, both with a JSON-RPC body
/// so that a dual-era client can tell this server from one that only speaks legacy.
fn modern_post(state: &State, headers: &HeaderMap, message: &Value) -> Reply {
    let (Some(id), Some(method)) = (
        message.get("id"),
        message.get("method").and_then(Value::as_str),
    ) else {
        // This revision defines no client notifications over HTTP, nor headers for them.
        return plain(StatusCode::ACCEPTED, "");
    };
    let params = &message["params"];
    let admitted = modern::admit(method, params)
        .and_then(|version| check_mirrored_headers(headers, method, params, version));
    if let Err(error) = admitted {
        let body = json!({"jsonrpc": "2.0", "id": id, "error": error.to_json()});
        return json_reply(StatusCode::BAD_REQUEST, &body);
    }
    let reply = protocol::handle(&state.offer, message).expect("a request gets a reply");
    let status = if reply["error"]["code"] == METHOD_NOT_FOUND {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    json_reply(status, &reply)
}

/// The headers a modern request mirrors from its body must be present and equal to it.
fn check_mirrored_headers(
    headers: &HeaderMap,
    method: &str,
    params: &Value,
    version: &str,
) -> Result<(), RpcError> {
    expect_header(headers, PROTOCOL_VERSION_HEADER, version)?;
    expect_header(headers, METHOD_HEADER, method)?;
    let name_field = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return Ok(()),
    };
    expect_header(
        headers,
        NAME_HEADER,
        params[name_field].as_str().unwrap_or_default(),
    )
}

fn expect_header(headers: &HeaderMap, name: &str, body_value: &str) -> Result<(), RpcError> {
    let mismatch = |why: String| {
        RpcError::new(
            modern::HEADER_MISMATCH,
            format!("Header mismatch: {name} {why}"),
        )
    };
    let raw = headers
        .get(name)
        .ok_or_else(|| mismatch("header is missing".into()))?;
    let text = raw
        .to_str()
        .map_err(|_| mismatch("header is not visible ASCII".into()))?;
    // Only Mcp-Name may carry a name that is not header-safe, base64-encoded.
    let value = match text
        .strip_prefix("=?base64?")
        .and_then(|t| t.strip_suffix("?="))
    {
        Some(encoded) if name == NAME_HEADER => decode_base64(encoded)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| mismatch("header is not valid base64 UTF-8".into()))?,
        _ => text.to_owned(),
    };
    if value != body_value {
        return Err(mismatch(format!(
            "header value '{value}' does not match body value '{body_value}'"
        )));
    }
    Ok(())
}

/// Standard-alphabet base64, padding optional; `None` on any other character.
fn decode_base64(encoded: &str) -> Option<Vec<u8>> {
    let (mut bytes, mut bits, mut pending) = (Vec::new(), 0u32, 0u32);
    for c in encoded.trim_end_matches('=').bytes() {
        let sextet = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(sextet);
        pending += 6;
        if pending >= 8 {
            pending -= 8;
            bytes.push((bits >> pending) as u8);
            bits &= (1 << pending) - 1;
        }
    }
    Some(bytes)
}

/// Today's behaviour, unchanged: sessions opened by `initialize`.
fn legacy_post(state: &State, session: Option<String>, message: &Value) -> Reply {
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
    let Some(reply) = protocol::handle(&state.offer, message) else {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;
    use crate::protocol::Era;

    fn state(era: Era) -> State {
        State {
            offer: Offer {
                tools: catalog::tools(3),
                era,
                ..Offer::default()
            },
            sessions: Mutex::default(),
            ids: RandomState::new(),
        }
    }

    fn modern_body(method: &str, mut params: Value) -> Value {
        params["_meta"] = json!({
            modern::PROTOCOL_VERSION_KEY: "2026-07-28",
            modern::CLIENT_CAPABILITIES_KEY: {}
        });
        json!({"jsonrpc": "2.0", "id": 3, "method": method, "params": params})
    }

    /// The headers a conforming modern client sends for `body`.
    fn mirrored(body: &Value) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let version = body["params"]["_meta"][modern::PROTOCOL_VERSION_KEY].as_str();
        headers.insert(
            PROTOCOL_VERSION_HEADER,
            HeaderValue::from_str(version.unwrap_or("2026-07-28")).unwrap(),
        );
        let method = body["method"].as_str().unwrap();
        headers.insert(METHOD_HEADER, HeaderValue::from_str(method).unwrap());
        if let Some(name) = body["params"]["name"].as_str() {
            headers.insert(NAME_HEADER, HeaderValue::from_str(name).unwrap());
        }
        headers
    }

    fn send(state: &State, headers: &HeaderMap, body: &Value) -> (StatusCode, HeaderMap, Value) {
        let reply = post(state, headers, body.to_string().as_bytes());
        let (head, body) = reply.into_parts();
        let bytes = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(body.collect())
            .unwrap()
            .to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (head.status, head.headers, json)
    }

    #[test]
    fn modern_requests_need_no_session_and_get_none() {
        let state = state(Era::Both);
        for body in [
            modern_body("server/discover", json!({})),
            modern_body("tools/list", json!({})),
            modern_body(
                "tools/call",
                json!({"name": "echo", "arguments": {"message": "hi"}}),
            ),
        ] {
            let (status, headers, reply) = send(&state, &mirrored(&body), &body);
            assert_eq!(status, StatusCode::OK, "{reply}");
            assert_eq!(reply["result"]["resultType"], "complete");
            assert!(headers.get(SESSION_HEADER).is_none());
        }
        assert!(state.sessions.lock().unwrap().is_empty());
    }

    #[test]
    fn missing_or_mismatched_headers_are_400_header_mismatch() {
        let state = state(Era::Both);
        let call = modern_body("tools/call", json!({"name": "echo", "arguments": {}}));
        let cases: [(&str, Option<&str>); 4] = [
            (METHOD_HEADER, None),
            (PROTOCOL_VERSION_HEADER, Some("2025-11-25")),
            (NAME_HEADER, None),
            (NAME_HEADER, Some("get_weather")),
        ];
        for (header, value) in cases {
            let mut headers = mirrored(&call);
            match value {
                Some(value) => headers.insert(header, HeaderValue::from_str(value).unwrap()),
                None => headers.remove(header),
            };
            let (status, _, reply) = send(&state, &headers, &call);
            assert_eq!(status, StatusCode::BAD_REQUEST, "{header}: {value:?}");
            assert_eq!(reply["error"]["code"], modern::HEADER_MISMATCH);
            assert_eq!(reply["id"], 3);
            assert!(reply["error"]["message"].as_str().unwrap().contains(header));
        }
        // A name that is not header-safe comes base64-encoded, and matches once decoded.
        let mut headers = mirrored(&call);
        headers.insert(NAME_HEADER, HeaderValue::from_static("=?base64?ZWNobw==?="));
        assert_eq!(send(&state, &headers, &call).0, StatusCode::OK);
    }

    #[test]
    fn refusals_before_the_method_are_400_and_unknown_methods_404() {
        let state = state(Era::Both);
        let unknown = modern_body("ping", json!({}));
        let (status, _, reply) = send(&state, &mirrored(&unknown), &unknown);
        assert_eq!(
            (status, &reply["error"]["code"]),
            (StatusCode::NOT_FOUND, &json!(-32601))
        );

        let mut old = modern_body("tools/list", json!({}));
        old["params"]["_meta"][modern::PROTOCOL_VERSION_KEY] = json!("1999-01-01");
        let (status, _, reply) = send(&state, &mirrored(&old), &old);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(reply["error"]["code"], modern::UNSUPPORTED_PROTOCOL_VERSION);
        assert_eq!(reply["error"]["data"]["requested"], "1999-01-01");

        let mut bare = modern_body("tools/list", json!({}));
        bare["params"]["_meta"] = json!({modern::PROTOCOL_VERSION_KEY: "2026-07-28"});
        let (status, _, reply) = send(&state, &mirrored(&bare), &bare);
        assert_eq!(
            (status, &reply["error"]["code"]),
            (StatusCode::BAD_REQUEST, &json!(-32602))
        );
    }

    #[test]
    fn legacy_requests_keep_their_sessions_in_the_both_era() {
        let state = state(Era::Both);
        let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
        let (status, _, reply) = send(&state, &HeaderMap::new(), &list);
        assert_eq!(
            (status, &reply["error"]["code"]),
            (StatusCode::BAD_REQUEST, &json!(-32000))
        );
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                          "params": {"protocolVersion": "2025-06-18"}});
        let (status, headers, _) = send(&state, &HeaderMap::new(), &init);
        assert_eq!(status, StatusCode::OK);
        let session = headers.get(SESSION_HEADER).unwrap().clone();
        let mut with_session = HeaderMap::new();
        with_session.insert(SESSION_HEADER, session);
        let (status, _, reply) = send(&state, &with_session, &list);
        assert_eq!(status, StatusCode::OK);
        assert!(reply["result"].get("resultType").is_none());
    }

    #[test]
    fn each_single_era_refuses_the_other() {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                          "params": {"protocolVersion": "2025-06-18"}});
        let (status, headers, reply) = send(&state(Era::Modern), &HeaderMap::new(), &init);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(reply["error"]["code"], modern::UNSUPPORTED_PROTOCOL_VERSION);
        assert!(headers.get(SESSION_HEADER).is_none());
        // A legacy-only server treats modern `_meta` as noise: no session, so refused as today.
        let discover = modern_body("server/discover", json!({}));
        let (status, _, reply) = send(&state(Era::Legacy), &mirrored(&discover), &discover);
        assert_eq!(
            (status, &reply["error"]["code"]),
            (StatusCode::BAD_REQUEST, &json!(-32000))
        );
    }

    #[test]
    fn base64_decodes_the_spec_examples() {
        let decode = |s| String::from_utf8(decode_base64(s).unwrap()).unwrap();
        assert_eq!(decode("SGVsbG8sIOS4lueVjA=="), "Hello, 世界");
        assert_eq!(decode("IHBhZGRlZCA="), " padded ");
        assert_eq!(decode("PT9iYXNlNjQ/bGl0ZXJhbD89"), "=?base64?literal?=");
        assert!(decode_base64("not base64!").is_none());
    }
}
