//! The legacy HTTP+SSE transport (2024-11-05) against a scripted local server.

use crate::http_support;

use http_support::*;
use mcp_probe::runtime::url::{endpoints_to_try, open, Endpoint, EndpointKind, HttpOptions};
use mcp_probe::transport::{Inbound, TransportError};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

fn opts() -> HttpOptions {
    HttpOptions {
        headers: vec![("Authorization".into(), "Bearer t0ken".into())],
        request_timeout: Duration::from_secs(5),
    }
}

fn sse(url: String) -> Endpoint {
    Endpoint {
        url,
        kind: EndpointKind::Sse,
    }
}

/// A legacy server: GET /sse opens the stream and names `endpoint`; each POST there is
/// answered on the stream (after a log notification), with 202 on the POST itself.
async fn legacy_server(
    endpoint: &'static str,
) -> (String, Log, Arc<Mutex<Option<UnboundedSender<String>>>>) {
    let stream: Arc<Mutex<Option<UnboundedSender<String>>>> = Arc::default();
    let held = stream.clone();
    let (base, log) = serve(move |seen| match (seen.method.as_str(), seen.target.as_str()) {
        ("GET", "/sse") => {
            let (tx, response) = sse_channel();
            tx.send(": hello\n\n".into()).unwrap();
            tx.send(format!("event: endpoint\ndata: {endpoint}\n\n")).unwrap();
            *held.lock().unwrap() = Some(tx);
            response
        }
        ("POST", target) if target.starts_with("/messages") => {
            let message = seen.json();
            if let Some(tx) = held.lock().unwrap().as_ref() {
                if message.get("id").is_some() && message.get("method").is_some() {
                    let note = json!({"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "hi"}});
                    let reply = json!({"jsonrpc": "2.0", "id": message["id"], "result": {"echo": message["method"]}});
                    let _ = tx.send(event(&note));
                    let _ = tx.send("data: not json at all\n\n".into());
                    let _ = tx.send(event(&reply));
                }
            }
            status(202, "Accepted")
        }
        _ => status(404, "Not Found"),
    })
    .await;
    (base, log, stream)
}

#[tokio::test]
async fn legacy_sse_posts_to_the_endpoint_and_reads_replies_from_the_stream() {
    let (base, log, stream) = legacy_server("/messages?sessionId=abc").await;
    let mut transport = open(&sse(format!("{base}/sse")), &opts()).await.unwrap();
    assert_eq!(transport.kind().as_str(), "sse");
    transport
        .send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}))
        .await
        .unwrap();
    let note = next_message(transport.as_mut()).await;
    assert_eq!(note["method"], "notifications/message");
    assert_eq!(
        next(transport.as_mut()).await,
        Inbound::Noise("not json at all".into())
    );
    let reply = next_message(transport.as_mut()).await;
    assert_eq!(reply["result"]["echo"], "initialize");
    transport
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await
        .unwrap();
    transport.close().await.unwrap();

    let log = log.lock().unwrap().clone();
    let shape: Vec<(&str, &str)> = log
        .iter()
        .map(|s| (s.method.as_str(), s.target.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("GET", "/sse"),
            ("POST", "/messages?sessionId=abc"),
            ("POST", "/messages?sessionId=abc")
        ]
    );
    assert_eq!(log[0].header("accept"), Some("text/event-stream"));
    assert_eq!(log[1].header("content-type"), Some("application/json"));
    assert!(log
        .iter()
        .all(|s| s.header("authorization") == Some("Bearer t0ken")));
    // Closing dropped the stream: the server's sender sees it within a moment.
    let tx = stream.lock().unwrap().take().unwrap();
    tokio::time::timeout(Duration::from_secs(5), tx.closed())
        .await
        .expect("the event stream was not closed");
}

#[tokio::test]
async fn a_bare_url_falls_through_to_legacy_sse() {
    let (base, _log, _stream) = legacy_server("/messages?sessionId=xyz").await;
    let mut chosen = None;
    let mut errors = Vec::new();
    for endpoint in endpoints_to_try(&base).unwrap() {
        let attempt = async {
            let mut transport = open(&endpoint, &opts()).await?;
            transport
                .send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize"}))
                .await?;
            Ok::<_, TransportError>(transport)
        };
        match attempt.await {
            Ok(mut transport) => {
                // The notification comes first on this server.
                next_message(transport.as_mut()).await;
                next(transport.as_mut()).await;
                let reply: Value = next_message(transport.as_mut()).await;
                assert_eq!(reply["id"], 1);
                chosen = Some(endpoint);
                break;
            }
            Err(e) => errors.push(e),
        }
    }
    assert_eq!(chosen, Some(sse(format!("{base}/sse"))));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, TransportError::WrongEndpoint { status: 404, .. })),
        "{errors:?}"
    );
}

#[tokio::test]
async fn an_endpoint_on_another_origin_is_reached_on_the_stream_origin() {
    // The server advertises an internal address; headers must not go there.
    let (base, log, _stream) =
        legacy_server("http://internal.invalid:9/messages?sessionId=q").await;
    let mut transport = open(&sse(format!("{base}/sse")), &opts()).await.unwrap();
    transport
        .send(json!({"jsonrpc": "2.0", "id": 5, "method": "ping"}))
        .await
        .unwrap();
    next_message(transport.as_mut()).await;
    next(transport.as_mut()).await;
    assert_eq!(next_message(transport.as_mut()).await["id"], 5);
    let log = log.lock().unwrap();
    assert_eq!(log[1].target, "/messages?sessionId=q");
}

#[tokio::test]
async fn a_stream_without_endpoint_fails_within_the_request_timeout() {
    let (base, _log) = serve(|_| {
        let (tx, response) = sse_channel();
        tx.send(": nothing to see\n\n".into()).unwrap();
        // Keep the stream open without ever naming an endpoint.
        std::mem::forget(tx);
        response
    })
    .await;
    let opts = HttpOptions {
        request_timeout: Duration::from_millis(300),
        ..opts()
    };
    let err = open(&sse(format!("{base}/sse")), &opts)
        .await
        .err()
        .expect("must fail");
    assert!(err.to_string().contains("no `endpoint` event"), "{err}");
}

#[tokio::test]
async fn the_end_of_the_stream_is_reported_as_closed() {
    let (base, _log) = serve(|_| sse_reply(vec!["event: endpoint\ndata: /m\n\n".into()])).await;
    let mut transport = open(&sse(format!("{base}/sse")), &opts()).await.unwrap();
    let Inbound::Closed { reason } = next(transport.as_mut()).await else {
        panic!("expected Closed")
    };
    assert!(reason.contains("ended"), "{reason}");
}
