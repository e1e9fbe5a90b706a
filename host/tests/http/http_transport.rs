//! The Streamable HTTP transport against a scripted local server.

use crate::http_support;

use http_support::*;
use mcp_probe::runtime::url::{endpoints_to_try, open, Endpoint, EndpointKind, HttpOptions};
use mcp_probe::transport::{Inbound, TransportError};
use serde_json::{json, Value};
use std::time::Duration;

fn opts() -> HttpOptions {
    HttpOptions {
        headers: vec![("X-Team".into(), "platform".into())],
        request_timeout: Duration::from_secs(5),
    }
}

fn streamable(url: String) -> Endpoint {
    Endpoint {
        url,
        kind: EndpointKind::StreamableHttp,
    }
}

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"}}})
}

fn result_for(request: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
}

#[tokio::test]
async fn json_replies_session_id_protocol_version_and_delete() {
    let (base, log) = serve(
        |seen| match (seen.method.as_str(), seen.rpc_method().as_deref()) {
            ("POST", Some("initialize")) => with_header(
                json_reply(&result_for(
                    &seen.json(),
                    json!({"protocolVersion": "2025-11-25"}),
                )),
                "mcp-session-id",
                "session-42",
            ),
            ("POST", Some("tools/list")) => {
                // A batch array holding the one response.
                json_reply(&json!([result_for(&seen.json(), json!({"tools": []}))]))
            }
            ("POST", _) => status(202, ""),
            ("DELETE", _) => status(200, ""),
            _ => status(405, ""),
        },
    )
    .await;
    let mut transport = open(&streamable(format!("{base}/mcp")), &opts())
        .await
        .unwrap();
    assert_eq!(transport.kind().as_str(), "streamable_http");

    transport.send(initialize()).await.unwrap();
    let reply = next_message(transport.as_mut()).await;
    assert_eq!(reply["result"]["protocolVersion"], "2025-11-25");
    transport.set_protocol_version("2025-11-25");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    transport.send(initialized).await.unwrap();
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    transport.send(list).await.unwrap();
    let reply = next_message(transport.as_mut()).await;
    assert_eq!(reply["id"], 2);
    assert_eq!(reply["result"]["tools"], json!([]));
    transport.close().await.unwrap();
    assert!(matches!(
        transport.recv().await.unwrap(),
        Inbound::Closed { .. }
    ));

    let log = log.lock().unwrap().clone();
    let shape: Vec<_> = log
        .iter()
        .map(|s| (s.method.as_str(), s.target.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("POST", "/mcp"),
            ("POST", "/mcp"),
            ("POST", "/mcp"),
            ("DELETE", "/mcp")
        ]
    );
    let init = &log[0];
    assert_eq!(
        init.header("accept"),
        Some("application/json, text/event-stream")
    );
    assert_eq!(init.header("content-type"), Some("application/json"));
    assert_eq!(init.header("mcp-session-id"), None);
    assert_eq!(init.header("mcp-protocol-version"), None);
    for later in &log[1..] {
        assert_eq!(
            later.header("mcp-session-id"),
            Some("session-42"),
            "{later:?}"
        );
        assert_eq!(
            later.header("mcp-protocol-version"),
            Some("2025-11-25"),
            "{later:?}"
        );
    }
    assert!(log.iter().all(|s| s.header("x-team") == Some("platform")));
}

#[tokio::test]
async fn event_stream_reply_carries_server_requests_notifications_and_noise() {
    let (base, log) = serve(|seen| match seen.rpc_method().as_deref() {
        Some("tools/list") => {
            let response = result_for(&seen.json(), json!({"tools": [{"name": "echo"}]}));
            let text = response.to_string();
            let (head, tail) = text.split_at(text.find("\"result\"").unwrap());
            sse_reply(vec![
                ": a comment\r\n\r\n".into(),
                event(&json!({"jsonrpc": "2.0", "method": "notifications/message",
                    "params": {"level": "info", "data": "listing"}})),
                format!(
                    "id: 1\ndata: {}\n\n",
                    json!({"jsonrpc": "2.0", "id": "s1", "method": "ping"})
                ),
                "data: plain log line\n\n".into(),
                // The response split across two chunks and two data lines.
                format!("event: message\r\ndata: {head}\r\n"),
                format!("data: {tail}\r\n\r\n"),
            ])
        }
        _ => status(202, ""),
    })
    .await;
    let mut transport = open(&streamable(format!("{base}/mcp")), &opts())
        .await
        .unwrap();
    transport
        .send(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}))
        .await
        .unwrap();
    let note = next_message(transport.as_mut()).await;
    assert_eq!(note["method"], "notifications/message");
    let ping = next_message(transport.as_mut()).await;
    assert_eq!(ping["method"], "ping");
    transport
        .send(json!({"jsonrpc": "2.0", "id": "s1", "result": {}}))
        .await
        .unwrap();
    assert_eq!(
        next(transport.as_mut()).await,
        Inbound::Noise("plain log line".into())
    );
    let reply = next_message(transport.as_mut()).await;
    // The two data lines join with a newline, which JSON treats as whitespace.
    assert_eq!(reply["id"], 7);
    assert_eq!(reply["result"]["tools"][0]["name"], "echo");
    let log = log.lock().unwrap();
    assert_eq!(log[1].json()["id"], "s1", "the ping answer was posted");
}

#[tokio::test]
async fn a_dropped_stream_is_resumed_with_last_event_id_after_retry() {
    let (base, log) = serve(
        |seen| match (seen.method.as_str(), seen.rpc_method().as_deref()) {
            ("POST", Some("initialize")) => with_header(
                sse_reply(vec!["id: ev-1\nretry: 300\ndata: \n\n".into()]),
                "mcp-session-id",
                "s",
            ),
            ("GET", _) => sse_reply(vec![format!(
                "id: ev-2\ndata: {}\n\n",
                json!({"jsonrpc": "2.0", "id": 1, "result": {"protocolVersion": "2025-11-25"}})
            )]),
            _ => status(405, ""),
        },
    )
    .await;
    let mut transport = open(&streamable(format!("{base}/mcp")), &opts())
        .await
        .unwrap();
    transport.send(initialize()).await.unwrap();
    let reply = next_message(transport.as_mut()).await;
    assert_eq!(reply["id"], 1);
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "{log:?}");
    let resume = &log[1];
    assert_eq!(resume.method, "GET");
    assert_eq!(resume.header("last-event-id"), Some("ev-1"));
    assert_eq!(resume.header("mcp-session-id"), Some("s"));
    assert_eq!(resume.header("accept"), Some("text/event-stream"));
    assert!(
        resume.at - log[0].at >= Duration::from_millis(300),
        "retry not honoured"
    );
}

#[tokio::test]
async fn a_stream_ending_early_without_an_event_id_closes_with_a_reason() {
    let (base, _log) = serve(|_| sse_reply(vec!["data: half a reply".into()])).await;
    let mut transport = open(&streamable(format!("{base}/mcp")), &opts())
        .await
        .unwrap();
    transport.send(initialize()).await.unwrap();
    assert_eq!(
        next(transport.as_mut()).await,
        Inbound::Noise("data: half a reply".into())
    );
    let Inbound::Closed { reason } = next(transport.as_mut()).await else {
        panic!("expected Closed")
    };
    assert!(
        reason.contains("request 1") && reason.contains("no event id"),
        "{reason}"
    );
    // Closed is sticky.
    assert!(matches!(
        transport.recv().await.unwrap(),
        Inbound::Closed { .. }
    ));
}

#[tokio::test]
async fn not_found_on_mcp_makes_the_caller_try_the_base_url() {
    let (base, log) = serve(|seen| match seen.target.as_str() {
        "/" => json_reply(&result_for(
            &seen.json(),
            json!({"protocolVersion": "2025-03-26"}),
        )),
        _ => status(404, "Cannot POST /mcp"),
    })
    .await;
    let mut answered = None;
    let mut errors = Vec::new();
    for endpoint in endpoints_to_try(&base).unwrap() {
        let mut transport = match open(&endpoint, &opts()).await {
            Ok(transport) => transport,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        match transport.send(initialize()).await {
            Ok(()) => {
                let reply = next_message(transport.as_mut()).await;
                assert_eq!(reply["result"]["protocolVersion"], "2025-03-26");
                answered = Some(endpoint);
                break;
            }
            Err(e) => errors.push(e),
        }
    }
    assert_eq!(answered, Some(streamable(format!("{base}/"))));
    assert_eq!(errors.len(), 1);
    let TransportError::WrongEndpoint {
        status,
        url,
        detail,
    } = &errors[0]
    else {
        panic!("{:?}", errors[0])
    };
    assert_eq!(
        (*status, url.as_str()),
        (404, format!("{base}/mcp").as_str())
    );
    assert!(detail.contains("Cannot POST /mcp"), "{detail}");
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_web_page_is_a_wrong_endpoint_but_later_errors_are_http_errors() {
    let (base, _log) = serve(|seen| match seen.target.as_str() {
        "/empty" => status(200, ""),
        "/page" => with_header(
            status(200, "<html>hello</html>"),
            "content-type",
            "text/html",
        ),
        _ => match seen.rpc_method().as_deref() {
            Some("initialize") => json_reply(&result_for(&seen.json(), json!({}))),
            _ => status(500, "internal\n  trouble"),
        },
    })
    .await;
    let mut page = open(&streamable(format!("{base}/page")), &opts())
        .await
        .unwrap();
    let err = page.send(initialize()).await.unwrap_err();
    assert!(
        matches!(&err, TransportError::WrongEndpoint { status: 200, detail, .. } if detail.contains("text/html")),
        "{err}"
    );
    let mut empty = open(&streamable(format!("{base}/empty")), &opts())
        .await
        .unwrap();
    let err = empty.send(initialize()).await.unwrap_err();
    assert!(err.to_string().contains("(empty body)"), "{err}");

    let mut transport = open(&streamable(format!("{base}/mcp")), &opts())
        .await
        .unwrap();
    transport.send(initialize()).await.unwrap();
    next_message(transport.as_mut()).await;
    let err = transport
        .send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await
        .unwrap_err();
    let TransportError::Http(message) = &err else {
        panic!("{err:?}")
    };
    assert!(message.starts_with("HTTP 500"), "{message}");
    assert!(message.contains("internal trouble"), "{message}");
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_http_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://user:s3cret@127.0.0.1:{port}/mcp");
    let mut transport = open(&streamable(url), &opts()).await.unwrap();
    let err = transport.send(initialize()).await.unwrap_err();
    assert!(
        matches!(&err, TransportError::Http(m) if m.contains("cannot connect")),
        "{err}"
    );
    assert!(
        !err.to_string().contains("s3cret"),
        "credentials shown: {err}"
    );
}

#[tokio::test]
async fn close_ignores_405_and_reports_other_delete_failures() {
    for (code, ok) in [(405, true), (404, true), (500, false)] {
        let (base, _log) = serve(move |seen| match seen.method.as_str() {
            "DELETE" => status(code, "no"),
            _ => with_header(
                json_reply(&result_for(&seen.json(), json!({}))),
                "mcp-session-id",
                "s",
            ),
        })
        .await;
        let mut transport = open(&streamable(format!("{base}/mcp")), &opts())
            .await
            .unwrap();
        transport.send(initialize()).await.unwrap();
        next_message(transport.as_mut()).await;
        assert_eq!(
            transport.close().await.is_ok(),
            ok,
            "DELETE answered {code}"
        );
    }
}

#[tokio::test]
async fn a_server_that_never_answers_fails_within_the_request_timeout() {
    // Accepts connections and reads nothing, answers nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let opts = HttpOptions {
        request_timeout: Duration::from_millis(300),
        ..opts()
    };
    let endpoint = streamable(format!("http://127.0.0.1:{port}/mcp"));
    let mut transport = open(&endpoint, &opts).await.unwrap();
    let started = std::time::Instant::now();
    let err = transport.send(initialize()).await.unwrap_err();
    assert!(err.to_string().contains("no reply within"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_stream_answering_a_notification_is_read_to_its_end() {
    let (base, _log) = serve(|_| {
        sse_reply(vec![
            event(&json!({"jsonrpc": "2.0", "id": "r1", "method": "roots/list"})),
            event(&json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})),
        ])
    })
    .await;
    let mut transport = open(&streamable(format!("{base}/mcp")), &opts())
        .await
        .unwrap();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    transport.send(initialized).await.unwrap();
    assert_eq!(
        next_message(transport.as_mut()).await["method"],
        "roots/list"
    );
    let second = next_message(transport.as_mut()).await;
    assert_eq!(second["method"], "notifications/tools/list_changed");
}
