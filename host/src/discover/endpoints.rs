//! URL targets: try each candidate endpoint (/mcp, the base URL, /sse) until one answers the
//! handshake as MCP. Only an endpoint that says it is not one moves the search on
//! ([`TransportError::WrongEndpoint`]: HTTP 404/405, 400 to the legacy GET, a first reply that
//! is not JSON-RPC or an event stream). Anything else ends the search at once with its error: a
//! refused connection or a timeout (no other path on that host would do better), 401/403, 500
//! and other error statuses, a redirect to another origin, an MCP server that misbehaves.

use super::{run_bounded, Attempt, DiscoverError, DiscoverOptions, FailureKind, Interrupt, Stop};
use crate::mcp::{Session, SessionError};
use crate::runtime::url::{Endpoint, EndpointKind};
use crate::transport::{Transport, TransportError};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How long closing (HTTP DELETE of the session) may take: a dead server must not hold us.
const CLOSE_BOUND: Duration = Duration::from_secs(2);

/// The limits every attempt runs under.
pub(super) struct Bounds<'a> {
    pub options: &'a DiscoverOptions,
    pub deadline: Instant,
    pub interrupt: Interrupt<'a>,
}

/// Tries `endpoints` in order with `open` (the URL runtime's `open`, or a fake in tests).
pub(super) async fn try_endpoints<F, Fut>(
    target_url: &str,
    endpoints: Vec<Endpoint>,
    mut open: F,
    bounds: Bounds<'_>,
) -> Result<Attempt, DiscoverError>
where
    F: FnMut(Endpoint) -> Fut,
    Fut: Future<Output = Result<Box<dyn Transport>, TransportError>>,
{
    let Bounds {
        options,
        deadline,
        mut interrupt,
    } = bounds;
    let mut misses = Vec::new();
    let count = endpoints.len();
    for (index, endpoint) in endpoints.into_iter().enumerate() {
        let last = index + 1 == count;
        let method = match endpoint.kind {
            EndpointKind::StreamableHttp => "url_streamable_http",
            EndpointKind::Sse => "url_sse",
        };
        let shown = crate::runtime::url::redact_url(&endpoint.url);
        tracing::debug!("trying {shown} ({method})");
        let opened = tokio::select! {
            opened = tokio::time::timeout_at(deadline, open(endpoint)) => opened,
            () = interrupt.as_mut() => return Err(DiscoverError::Interrupted),
        };
        let transport = match opened {
            Ok(Ok(transport)) => transport,
            Ok(Err(err @ TransportError::WrongEndpoint { .. })) => {
                tracing::debug!("{shown}: {err}");
                misses.push(format!("{shown}: {err}"));
                continue;
            }
            Ok(Err(err)) => {
                return Err(DiscoverError::Failed {
                    message: err.to_string(),
                    kind: FailureKind::NotServing,
                    log_tail: String::new(),
                })
            }
            Err(_) => {
                return Err(DiscoverError::Failed {
                    message: format!(
                        "discovery timed out after {:?} (--timeout) connecting to {shown}",
                        options.timeout
                    ),
                    kind: FailureKind::Timeout,
                    log_tail: String::new(),
                })
            }
        };
        let mut session = Session::new(transport, options.session.clone());
        let mut result = run_bounded(
            &mut session,
            (deadline, options.timeout),
            interrupt.as_mut(),
        )
        .await;
        let _ = tokio::time::timeout(CLOSE_BOUND, session.close()).await;
        let hello = session.hello().cloned();
        if let Err(Stop::Session(err)) = &result {
            if hello.is_none() && is_wrong_endpoint(err) {
                tracing::debug!("passed over: {err}");
                misses.push(format!("{shown}: {err}"));
                if !last {
                    continue;
                }
                result = Err(Stop::Unreachable(unreachable(target_url, &misses)));
            }
        }
        return Ok(Attempt {
            result,
            transcript: session.take_transcript(),
            hello,
            method,
            endpoint: Some(shown),
            source: crate::runtime::url::redact_url(target_url),
            server_exit: None,
            log_kind: crate::runtime::LogKind::default(),
        });
    }
    Err(DiscoverError::Failed {
        message: unreachable(target_url, &misses),
        kind: FailureKind::NotServing,
        log_tail: String::new(),
    })
}

/// The one failure that moves the search on: the endpoint said it is not one.
fn is_wrong_endpoint(err: &SessionError) -> bool {
    matches!(
        err,
        SessionError::Transport {
            source: TransportError::WrongEndpoint { .. },
            ..
        }
    )
}

fn unreachable(target_url: &str, misses: &[String]) -> String {
    format!(
        "no MCP server answered at {} ({})",
        crate::runtime::url::redact_url(target_url),
        misses.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mcp::SessionOptions;
    use crate::target::Target;
    use crate::transport::stdio::StdioTransport;
    use crate::transport::Inbound;
    use serde_json::{json, Value};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// A transport to an in-memory server that answers `initialize` and `tools/list` with one
    /// tool, or (when `broken`) replies to everything with a line that is not JSON-RPC.
    fn fake_server(broken: bool) -> Box<dyn Transport> {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (read, write) = tokio::io::split(client);
        tokio::spawn(async move {
            let (server_read, mut out) = tokio::io::split(server);
            let mut lines = BufReader::new(server_read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if broken {
                    let _ = out.write_all(b"<html>404</html>\n").await;
                    return; // then EOF: the session sees the connection close
                }
                let msg: Value = serde_json::from_str(&line).unwrap();
                let result = match msg["method"].as_str() {
                    Some("initialize") => json!({"protocolVersion": "2025-11-25",
                        "capabilities": {"tools": {}}, "serverInfo": {"name": "fake"}}),
                    Some("tools/list") => json!({"tools": [{"name": "t"}]}),
                    _ => continue,
                };
                let reply = json!({"jsonrpc": "2.0", "id": msg["id"], "result": result});
                let _ = out.write_all(format!("{reply}\n").as_bytes()).await;
            }
        });
        Box::new(StdioTransport::new(read, write, 1 << 20))
    }

    /// A transport whose every send fails like this.
    struct Failing(fn() -> TransportError);

    #[async_trait::async_trait]
    impl Transport for Failing {
        async fn send(&mut self, _: Value) -> Result<(), TransportError> {
            Err((self.0)())
        }
        async fn recv(&mut self) -> Result<Inbound, TransportError> {
            std::future::pending().await
        }
        async fn close(&mut self) -> Result<(), TransportError> {
            Ok(())
        }
        fn kind(&self) -> crate::transport::TransportKind {
            crate::transport::TransportKind::StreamableHttp
        }
    }

    fn not_found() -> TransportError {
        TransportError::WrongEndpoint {
            url: "http://h/x".into(),
            status: 404,
            detail: "HTTP 404".into(),
        }
    }

    fn options() -> DiscoverOptions {
        DiscoverOptions {
            target: Target::Url {
                url: "http://h".into(),
                headers: vec![],
            },
            session: SessionOptions::default(),
            timeout: Duration::from_secs(10),
            max_line_bytes: 1 << 20,
            kubernetes: Default::default(),
        }
    }

    fn endpoint(path: &str, kind: EndpointKind) -> Endpoint {
        Endpoint {
            url: format!("http://h{path}"),
            kind,
        }
    }

    /// Runs the loop where each endpoint behaves as `plan` says: `mcp` answers, `broken`
    /// answers with noise and hangs up, `wrong` (on the first send) and `wrong-open` say they
    /// are not MCP endpoints, `refused` (on the first send) and `refused-open` cannot connect,
    /// `silent` gets no reply in time. Returns the result and the endpoints opened.
    async fn run(plan: &[&'static str]) -> (Result<Attempt, DiscoverError>, Vec<String>) {
        let kinds = [
            EndpointKind::StreamableHttp,
            EndpointKind::StreamableHttp,
            EndpointKind::Sse,
        ];
        let paths = ["/mcp", "", "/sse"];
        let endpoints = (0..plan.len())
            .map(|i| endpoint(paths[i], kinds[i]))
            .collect();
        let behaviour: std::collections::HashMap<String, &str> = (0..plan.len())
            .map(|i| (format!("http://h{}", paths[i]), plan[i]))
            .collect();
        let opened = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = opened.clone();
        let open = move |ep: Endpoint| {
            let what = behaviour[&ep.url];
            seen.lock().unwrap().push(ep.url);
            async move {
                let transport: Box<dyn Transport> = match what {
                    "wrong-open" => return Err(not_found()),
                    "refused-open" => {
                        return Err(TransportError::Http(
                            "GET http://h/sse: cannot connect".into(),
                        ))
                    }
                    "wrong" => Box::new(Failing(not_found)),
                    "refused" => Box::new(Failing(|| {
                        TransportError::Http("POST http://h/mcp: cannot connect".into())
                    })),
                    "silent" => Box::new(Failing(|| {
                        TransportError::Http("POST http://h/mcp: no reply within 1s".into())
                    })),
                    "broken" => fake_server(true),
                    _ => fake_server(false),
                };
                Ok(transport)
            }
        };
        let options = options();
        let mut never = std::pin::pin!(std::future::pending::<()>());
        let bounds = Bounds {
            options: &options,
            deadline: Instant::now() + options.timeout,
            interrupt: never.as_mut(),
        };
        let result = try_endpoints("http://h", endpoints, open, bounds).await;
        let opened = opened.lock().unwrap().clone();
        (result, opened)
    }

    fn failure(result: Result<Attempt, DiscoverError>) -> String {
        match result {
            Ok(Attempt {
                result: Err(Stop::Session(err)),
                ..
            }) => err.to_string(),
            Ok(Attempt {
                result: Err(Stop::Unreachable(message)),
                ..
            }) => message,
            Ok(_) => panic!("expected a failed attempt"),
            Err(err) => err.to_string(),
        }
    }

    #[tokio::test]
    async fn moves_past_endpoints_that_are_not_mcp() {
        let (result, opened) = run(&["wrong", "wrong", "mcp"]).await;
        let attempt = result.unwrap();
        assert_eq!(attempt.method, "url_sse");
        assert_eq!(attempt.endpoint.as_deref(), Some("http://h/sse"));
        let discovery = attempt.result.ok().expect("the third endpoint answers");
        assert_eq!(discovery.tools[0].name, "t");
        assert_eq!(opened.len(), 3);
    }

    #[tokio::test]
    async fn stops_at_the_first_that_answers() {
        let (result, opened) = run(&["mcp", "refused", "refused"]).await;
        let attempt = result.unwrap();
        assert_eq!(attempt.method, "url_streamable_http");
        assert_eq!(attempt.endpoint.as_deref(), Some("http://h/mcp"));
        assert!(attempt.result.is_ok());
        assert_eq!(opened, ["http://h/mcp"]);
    }

    #[tokio::test]
    async fn refused_and_timed_out_connections_stop_the_search() {
        for (plan, said) in [
            (
                &["refused", "mcp", "mcp"][..],
                "POST http://h/mcp: cannot connect",
            ),
            (&["silent", "mcp", "mcp"][..], "no reply within 1s"),
            (
                &["wrong", "wrong", "refused-open"][..],
                "GET http://h/sse: cannot connect",
            ),
        ] {
            let (result, opened) = run(plan).await;
            let message = failure(result);
            assert!(message.contains(said), "{plan:?}: {message}");
            assert!(!message.contains("no MCP server answered"), "{message}");
            let stopped_at = plan.iter().position(|p| *p != "wrong").unwrap();
            assert_eq!(opened.len(), stopped_at + 1, "{plan:?}: {opened:?}");
        }
    }

    #[tokio::test]
    async fn a_misbehaving_server_stops_the_search() {
        let (result, opened) = run(&["broken", "mcp", "mcp"]).await;
        let attempt = result.unwrap();
        assert_eq!(attempt.endpoint.as_deref(), Some("http://h/mcp"));
        // The fake rides on the stdio transport, where a close before the era is known says
        // so (a stdio server would be started again).
        assert!(matches!(
            attempt.result,
            Err(Stop::Session(
                SessionError::Closed { .. } | SessionError::ExitedOnProbe { .. }
            ))
        ));
        assert_eq!(opened, ["http://h/mcp"]);
    }

    #[tokio::test]
    async fn names_every_endpoint_when_none_answers() {
        let (result, _) = run(&["wrong", "wrong", "wrong-open"]).await;
        let message = failure(result);
        assert!(
            message.starts_with("no MCP server answered at http://h/ ("),
            "{message}"
        );
        for url in ["http://h/mcp: ", "http://h/: ", "http://h/sse: "] {
            assert!(message.contains(url), "{url} missing in {message}");
        }
        let (result, _) = run(&["wrong-open"]).await;
        let message = failure(result);
        assert!(
            message.contains("http://h/mcp: http://h/x is not an MCP endpoint: HTTP 404"),
            "{message}"
        );
    }
}
