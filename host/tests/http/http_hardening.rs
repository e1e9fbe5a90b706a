//! Hardening of the HTTP path against hostile scripted servers on 127.0.0.1:
//! - redirects are followed only within the origin named, keeping the method, body and headers;
//!   a cross-origin redirect is an error naming both URLs, and the other origin sees nothing;
//! - the endpoint search stops at once on a refused connection, a timeout, a 401 or a 500, and
//!   moves on only past endpoints that say they are not MCP endpoints.
//!
//! The credentials matrix (every output stream of many runs grepped for the secrets) is in
//! `http_hardening_secrets.rs`; the library's own logs at TRACE in `http_hardening_logs.rs`.

use crate::http_support;

use http_support::*;
use mcp_probe::runtime::url::{open, Endpoint, EndpointKind, HttpOptions};
use mcp_probe::transport::{Inbound, TransportError};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::Command;
use tokio::sync::mpsc::UnboundedSender;

const KEY: &str = "key-SECRET-4242";

fn opts() -> HttpOptions {
    HttpOptions {
        headers: vec![("X-Api-Key".into(), KEY.into())],
        request_timeout: Duration::from_secs(5),
    }
}

fn endpoint(url: String, kind: EndpointKind) -> Endpoint {
    Endpoint { url, kind }
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}})
}

/// What a small Streamable HTTP MCP server with one tool answers (JSON replies).
fn mcp_reply(seen: &Seen) -> axum::response::Response {
    let tools = json!([{"name": "echo", "inputSchema": {"type": "object"}}]);
    streamable_mcp(seen, "scripted", tools)
}

fn redirect(code: u16, location: &str) -> axum::response::Response {
    with_header(status(code, "moved"), "location", location)
}

fn shape(log: &Log) -> Vec<(String, String)> {
    log.lock()
        .unwrap()
        .iter()
        .map(|s| (s.method.clone(), s.target.clone()))
        .collect()
}

/// A port nothing listens on (it was free a moment ago).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// Item 2: headers stay at the origin named.

#[tokio::test]
async fn a_cross_origin_redirect_is_an_error_and_the_other_origin_sees_nothing() {
    let (elsewhere, elsewhere_log) = serve(mcp_reply).await;
    let target = format!("{elsewhere}/mcp");
    for code in [301, 302, 303, 307, 308] {
        let to = target.clone();
        let (base, log) = serve(move |_| redirect(code, &to)).await;
        let url = format!("{base}/mcp");
        let mut transport = open(
            &endpoint(url.clone(), EndpointKind::StreamableHttp),
            &opts(),
        )
        .await
        .unwrap();
        let err = transport.send(initialize()).await.unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, TransportError::Http(_)), "{code}: {err:?}");
        assert!(
            message.contains(&format!(
                "HTTP {code} from POST {url} redirects to {target}"
            )) && message.contains("another origin"),
            "{code}: {message}"
        );
        assert_eq!(shape(&log), [("POST".into(), "/mcp".into())], "{code}");
    }
    // The same port on another host name, and another scheme, are other origins too.
    let (base, log) = serve(|seen| {
        let port = seen.header("host").unwrap().rsplit(':').next().unwrap();
        match seen.target.as_str() {
            "/a" => redirect(307, &format!("http://localhost:{port}/mcp")),
            _ => redirect(308, &format!("https://127.0.0.1:{port}/mcp")),
        }
    })
    .await;
    for path in ["/a", "/b"] {
        let url = format!("{base}{path}");
        let mut transport = open(&endpoint(url, EndpointKind::StreamableHttp), &opts())
            .await
            .unwrap();
        let err = transport.send(initialize()).await.unwrap_err();
        assert!(err.to_string().contains("another origin"), "{err}");
    }
    assert_eq!(log.lock().unwrap().len(), 2, "{:?}", shape(&log));
    // The legacy transport's GET, and its POSTs.
    let to = format!("{elsewhere}/sse");
    let (base, _log) = serve(move |_| redirect(302, &to)).await;
    let err = open(&endpoint(format!("{base}/sse"), EndpointKind::Sse), &opts())
        .await
        .err()
        .expect("the redirect is refused");
    assert!(err.to_string().contains("another origin"), "{err}");
    assert!(
        elsewhere_log.lock().unwrap().is_empty(),
        "the other origin was contacted: {:?}",
        shape(&elsewhere_log)
    );
}

#[tokio::test]
async fn same_origin_redirects_keep_the_method_body_and_headers() {
    for code in [301, 302, 307, 308] {
        let (base, log) = serve(move |seen| match seen.target.as_str() {
            "/mcp" => redirect(code, "/moved/mcp"),
            // An absolute Location on the same origin.
            "/moved/mcp" => {
                let host = seen.header("host").unwrap();
                redirect(code, &format!("http://{host}/final"))
            }
            _ => mcp_reply(seen),
        })
        .await;
        let url = format!("http://user:pass-SECRET@{}/mcp", &base[7..]);
        let mut transport = open(&endpoint(url, EndpointKind::StreamableHttp), &opts())
            .await
            .unwrap();
        transport.send(initialize()).await.unwrap();
        let reply = next_message(transport.as_mut()).await;
        assert_eq!(reply["result"]["serverInfo"]["name"], "scripted", "{code}");
        let log = log.lock().unwrap().clone();
        let hops: Vec<_> = log
            .iter()
            .map(|s| (s.method.as_str(), s.target.as_str()))
            .collect();
        assert_eq!(
            hops,
            [("POST", "/mcp"), ("POST", "/moved/mcp"), ("POST", "/final")],
            "{code}"
        );
        for hop in &log {
            assert_eq!(hop.json(), log[0].json(), "{code}: the body changed");
            assert_eq!(hop.rpc_method().as_deref(), Some("initialize"));
            assert_eq!(hop.header("x-api-key"), Some(KEY), "{code}");
            assert_eq!(
                hop.header("accept"),
                Some("application/json, text/event-stream")
            );
            // The URL's credentials go along within the origin (Basic user:pass-SECRET).
            assert_eq!(
                hop.header("authorization"),
                Some("Basic dXNlcjpwYXNzLVNFQ1JFVA=="),
                "{code}"
            );
        }
    }
}

#[tokio::test]
async fn a_303_never_turns_the_post_into_a_get() {
    let (base, log) = serve(|seen| match seen.target.as_str() {
        "/mcp" => redirect(303, "/result"),
        _ => mcp_reply(seen),
    })
    .await;
    let url = format!("{base}/mcp");
    let mut transport = open(
        &endpoint(url.clone(), EndpointKind::StreamableHttp),
        &opts(),
    )
    .await
    .unwrap();
    let err = transport.send(initialize()).await.unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "HTTP 303 from POST {url} redirects to {base}/result"
        )) && err.contains("would lose the message"),
        "{err}"
    );
    assert_eq!(shape(&log), [("POST".into(), "/mcp".into())]);
}

#[tokio::test]
async fn redirect_loops_and_redirects_without_a_location_are_errors() {
    let (base, log) = serve(|seen| match seen.target.as_str() {
        "/a" => redirect(307, "/b"),
        "/b" => redirect(307, "/a"),
        _ => status(302, "no location"),
    })
    .await;
    let mut transport = open(
        &endpoint(format!("{base}/a"), EndpointKind::StreamableHttp),
        &opts(),
    )
    .await
    .unwrap();
    let err = transport.send(initialize()).await.unwrap_err().to_string();
    assert!(err.contains("more than 5 redirects"), "{err}");
    assert_eq!(log.lock().unwrap().len(), 6);
    let mut transport = open(
        &endpoint(format!("{base}/c"), EndpointKind::StreamableHttp),
        &opts(),
    )
    .await
    .unwrap();
    let err = transport.send(initialize()).await.unwrap_err().to_string();
    assert!(err.contains("without a usable Location"), "{err}");
}

/// A legacy SSE server: GET /events opens the stream, which names `/messages?s=1`; GET /sse
/// redirects there. A POST to /messages is answered on the stream, or redirected to `post_to`.
async fn legacy_server(post_to: Option<String>) -> (String, Log) {
    let stream: Arc<Mutex<Option<UnboundedSender<String>>>> = Arc::default();
    serve(
        move |seen| match (seen.method.as_str(), seen.target.as_str()) {
            ("GET", "/sse") => redirect(302, "/events"),
            ("GET", "/events") => {
                let (tx, response) = sse_channel();
                tx.send("event: endpoint\ndata: /messages?s=1\n\n".into())
                    .unwrap();
                *stream.lock().unwrap() = Some(tx);
                response
            }
            ("POST", "/messages?s=1") => {
                if let Some(to) = &post_to {
                    return redirect(307, to);
                }
                let message = seen.json();
                if message.get("method").is_some() && message.get("id").is_some() {
                    let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": {}});
                    if let Some(tx) = stream.lock().unwrap().as_ref() {
                        let _ = tx.send(event(&reply));
                    }
                }
                status(202, "Accepted")
            }
            _ => status(404, "Not Found"),
        },
    )
    .await
}

#[tokio::test]
async fn legacy_sse_follows_same_origin_redirects_and_refuses_others() {
    let (base, log) = legacy_server(None).await;
    let url = format!("http://me:pw-SECRET@{}/sse", &base[7..]);
    let mut transport = open(&endpoint(url, EndpointKind::Sse), &opts())
        .await
        .unwrap();
    transport.send(initialize()).await.unwrap();
    assert_eq!(next_message(transport.as_mut()).await["id"], 1);
    let log = log.lock().unwrap().clone();
    let hops: Vec<_> = log
        .iter()
        .map(|s| (s.method.as_str(), s.target.as_str()))
        .collect();
    assert_eq!(
        hops,
        [
            ("GET", "/sse"),
            ("GET", "/events"),
            ("POST", "/messages?s=1")
        ]
    );
    for hop in &log {
        assert_eq!(hop.header("x-api-key"), Some(KEY));
        // Basic me:pw-SECRET, on the stream and on the POSTs to its endpoint.
        assert_eq!(hop.header("authorization"), Some("Basic bWU6cHctU0VDUkVU"));
    }

    let (elsewhere, elsewhere_log) = serve(mcp_reply).await;
    let (base, _log) = legacy_server(Some(format!("{elsewhere}/messages"))).await;
    let mut transport = open(&endpoint(format!("{base}/sse"), EndpointKind::Sse), &opts())
        .await
        .unwrap();
    let err = transport.send(initialize()).await.unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "HTTP 307 from POST {base}/messages?s=1 redirects to {elsewhere}/messages"
        )),
        "{err}"
    );
    assert!(elsewhere_log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_session_delete_is_not_sent_to_another_origin() {
    let (elsewhere, elsewhere_log) = serve(mcp_reply).await;
    let to = format!("{elsewhere}/mcp");
    let (base, _log) = serve(move |seen| match seen.method.as_str() {
        "DELETE" => redirect(308, &to),
        _ => with_header(mcp_reply(seen), "mcp-session-id", "s-1"),
    })
    .await;
    let mut transport = open(
        &endpoint(format!("{base}/mcp"), EndpointKind::StreamableHttp),
        &opts(),
    )
    .await
    .unwrap();
    transport.send(initialize()).await.unwrap();
    next_message(transport.as_mut()).await;
    let err = transport.close().await.unwrap_err().to_string();
    assert!(err.contains("HTTP 308 from DELETE"), "{err}");
    assert!(elsewhere_log.lock().unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Item 7: which failures stop the endpoint search, measured through the binary.

struct Run {
    code: Option<i32>,
    stderr: String,
    report: Value,
    took: Duration,
}

async fn discover(args: &[&str]) -> Run {
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-probe"));
    command
        .args(["discover", "-o", "json"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("mcp-probe finished within 60 s")
        .expect("mcp-probe runs");
    Run {
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        report: serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        took: started.elapsed(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_stops_the_search_at_once() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let run = discover(&["--url", &url, "--timeout", "30"]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.took < Duration::from_secs(5), "took {:?}", run.took);
    let line = run.stderr.trim();
    assert!(
        line.starts_with("mcp-probe: error: server/discover: HTTP error: POST ")
            && line.contains(&format!("{url}/mcp: cannot connect"))
            && line.contains("Connection refused"),
        "{line}"
    );
    // Only /mcp was tried: the base URL and /sse are not mentioned.
    assert!(!line.contains("/sse") && !line.contains("no MCP server answered"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_costs_one_request_timeout() {
    // Accepts connections, reads nothing, answers nothing; counts the connections.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(Mutex::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            *counter.lock().unwrap() += 1;
            held.push(socket);
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    let run = discover(&["--url", &url, "--request-timeout", "2", "--timeout", "30"]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("POST {url}/mcp: no reply within 2s")),
        "{}",
        run.stderr
    );
    // One request timeout, not one per endpoint (6 s) nor the whole --timeout (30 s).
    assert!(
        run.took >= Duration::from_millis(1900) && run.took < Duration::from_millis(4500),
        "took {:?}",
        run.took
    );
    assert_eq!(*accepted.lock().unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_statuses_stop_the_search_with_the_start_of_the_body() {
    for (code, body, says) in [
        (
            500,
            "database is down\n  at query (db.js:1)",
            "HTTP 500 Internal Server Error from POST",
        ),
        (401, "missing token", "HTTP 401 Unauthorized from POST"),
        (503, "", "HTTP 503 Service Unavailable from POST"),
    ] {
        let (base, log) = serve(move |_| status(code, body)).await;
        let run = discover(&["--url", &base]).await;
        assert_eq!(run.code, Some(1), "{code}: {}", run.stderr);
        let line = run.stderr.trim();
        assert!(
            line.contains(&format!("{says} {base}/mcp: ")),
            "{code}: {line}"
        );
        let first_line = body.lines().next().unwrap_or("(empty body)");
        let first_line = if first_line.is_empty() {
            "(empty body)"
        } else {
            first_line
        };
        assert!(line.contains(first_line), "{code}: {line}");
        assert_eq!(shape(&log), [("POST".into(), "/mcp".into())], "{code}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_endpoints_that_say_they_are_not_mcp_are_passed_over() {
    // /mcp: 404; the base URL: a JSON API that is not JSON-RPC; /sse: a legacy MCP server.
    let stream: Arc<Mutex<Option<UnboundedSender<String>>>> = Arc::default();
    let (base, log) = serve(
        move |seen| match (seen.method.as_str(), seen.target.as_str()) {
            ("POST", "/mcp") => status(404, "Cannot POST /mcp"),
            ("POST", "/") => json_reply(&json!({"status": "ok", "version": 3})),
            ("GET", "/sse") => {
                let (tx, response) = sse_channel();
                tx.send("event: endpoint\ndata: /messages\n\n".into())
                    .unwrap();
                *stream.lock().unwrap() = Some(tx);
                response
            }
            ("POST", "/messages") => {
                let reply = mcp_reply(seen);
                let stream = stream.lock().unwrap();
                if let (Some(tx), 200) = (stream.as_ref(), reply.status().as_u16()) {
                    let message = seen.json();
                    let result = match message["method"].as_str() {
                        Some("initialize") => json!({"protocolVersion": "2024-11-05",
                        "capabilities": {"tools": {}}, "serverInfo": {"name": "legacy"}}),
                        _ => {
                            json!({"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]})
                        }
                    };
                    let _ = tx.send(event(
                        &json!({"jsonrpc": "2.0", "id": message["id"], "result": result}),
                    ));
                }
                status(202, "Accepted")
            }
            _ => status(404, ""),
        },
    )
    .await;
    let run = discover(&["--url", &base, "--timeout", "30"]).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.report["endpoint"], format!("{base}/sse"));
    assert_eq!(run.report["discovery_method"], "url_sse");
    assert_eq!(run.report["tools"][0]["name"], "echo");
    // No wait for a reply the JSON API would never send.
    assert!(run.took < Duration::from_secs(5), "took {:?}", run.took);
    let tried: Vec<_> = shape(&log).into_iter().take(3).collect();
    assert_eq!(
        tried,
        [
            ("POST".into(), "/mcp".into()),
            ("POST".into(), "/".into()),
            ("GET".into(), "/sse".into())
        ]
    );

    // Nothing answers: every endpoint is named with what it said.
    let (base, _log) = serve(|_| status(404, "nope")).await;
    let run = discover(&["--url", &base]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let line = run.stderr.trim();
    assert!(
        line.starts_with(&format!(
            "mcp-probe: error: no MCP server answered at {base}/ ("
        )),
        "{line}"
    );
    for path in ["/mcp", "/", "/sse"] {
        assert!(line.contains(&format!("{base}{path}: ")), "{path}: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_origin_redirect_stops_the_probe_naming_both_urls() {
    let (elsewhere, elsewhere_log) = serve(mcp_reply).await;
    let to = format!("{elsewhere}/mcp");
    let (base, log) = serve(move |_| redirect(302, &to)).await;
    let run = discover(&["--url", &base, "-H", &format!("X-Api-Key: {KEY}")]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "HTTP 302 from POST {base}/mcp redirects to {elsewhere}/mcp, another origin"
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(KEY));
    assert_eq!(shape(&log), [("POST".into(), "/mcp".into())]);
    assert!(elsewhere_log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_json_reply_without_json_rpc_is_a_wrong_endpoint_only_before_an_answer() {
    let (base, _log) = serve(|seen| match seen.rpc_method().as_deref() {
        Some("initialize") => mcp_reply(seen),
        _ => json_reply(&json!({"status": "ok"})),
    })
    .await;
    let url = format!("{base}/mcp");
    let mut first = open(
        &endpoint(url.clone(), EndpointKind::StreamableHttp),
        &opts(),
    )
    .await
    .unwrap();
    let err = first
        .send(json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, TransportError::WrongEndpoint { status: 200, detail, .. }
            if detail.contains("JSON that is not JSON-RPC")),
        "{err}"
    );
    // Once the endpoint answered as MCP, the same reply is kept (for the transcript).
    let mut transport = open(&endpoint(url, EndpointKind::StreamableHttp), &opts())
        .await
        .unwrap();
    transport.send(initialize()).await.unwrap();
    next_message(transport.as_mut()).await;
    transport
        .send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await
        .unwrap();
    assert!(matches!(
        next(transport.as_mut()).await,
        Inbound::Message(json) if json.get() == r#"{"status":"ok"}"#
    ));
}
