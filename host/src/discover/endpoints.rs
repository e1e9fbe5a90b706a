//! URL targets: try each candidate endpoint (/mcp, the base URL, /sse) until one answers the
//! handshake as MCP. An endpoint that is not MCP (HTTP 404/405, connection refused, a reply that
//! is not JSON-RPC) moves on to the next; an MCP server that misbehaves ends the search, because
//! the next path would not be a better answer.

use super::{run_bounded, Attempt, DiscoverError, DiscoverOptions, Interrupt, Stop};
use crate::mcp::Session;
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
        let url = endpoint.url.clone();
        let shown = crate::runtime::url::redact_url(&url);
        let opened = tokio::select! {
            opened = tokio::time::timeout_at(deadline, open(endpoint)) => opened,
            () = interrupt.as_mut() => return Err(DiscoverError::Interrupted),
        };
        let transport = match opened {
            Ok(Ok(transport)) => transport,
            Ok(Err(err)) => {
                tracing::debug!("{url}: {err}");
                misses.push(format!("{shown}: {err}"));
                continue;
            }
            Err(_) => {
                misses.push(format!("{shown}: no connection before the deadline"));
                break;
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
            if hello.is_none() && err.is_transport_level() {
                tracing::debug!("{url} did not answer as MCP: {err}");
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
            source: target_url.to_owned(),
            server_exit: None,
        });
    }
    Err(DiscoverError::Failed {
        message: unreachable(target_url, &misses),
    })
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

    /// Runs the loop where each endpoint behaves as `plan` says: "refused", "broken" or "mcp".
    async fn run(plan: &[&'static str]) -> Result<Attempt, DiscoverError> {
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
        let open = move |ep: Endpoint| {
            let what = behaviour[&ep.url];
            async move {
                match what {
                    "refused" => Err(TransportError::Http("connection refused".into())),
                    "broken" => Ok(fake_server(true)),
                    _ => Ok(fake_server(false)),
                }
            }
        };
        let options = options();
        let mut never = std::pin::pin!(std::future::pending::<()>());
        let bounds = Bounds {
            options: &options,
            deadline: Instant::now() + options.timeout,
            interrupt: never.as_mut(),
        };
        try_endpoints("http://h", endpoints, open, bounds).await
    }

    #[tokio::test]
    async fn moves_past_endpoints_that_are_not_mcp() {
        let attempt = run(&["refused", "broken", "mcp"]).await.unwrap();
        assert_eq!(attempt.method, "url_sse");
        assert_eq!(attempt.endpoint.as_deref(), Some("http://h/sse"));
        let discovery = attempt.result.ok().expect("the third endpoint answers");
        assert_eq!(discovery.tools[0].name, "t");
    }

    #[tokio::test]
    async fn stops_at_the_first_that_answers() {
        let attempt = run(&["mcp", "refused", "refused"]).await.unwrap();
        assert_eq!(attempt.method, "url_streamable_http");
        assert_eq!(attempt.endpoint.as_deref(), Some("http://h/mcp"));
        assert!(attempt.result.is_ok());
    }

    #[tokio::test]
    async fn names_every_endpoint_when_none_answers() {
        let message = match run(&["refused", "refused", "broken"]).await {
            Ok(Attempt {
                result: Err(Stop::Unreachable(message)),
                ..
            }) => message,
            Ok(_) => panic!("expected an unreachable attempt"),
            Err(err) => panic!("{err}"),
        };
        assert!(
            message.starts_with("no MCP server answered at http://h/ ("),
            "{message}"
        );
        for url in ["http://h/mcp: ", "http://h/: ", "http://h/sse: "] {
            assert!(message.contains(url), "{url} missing in {message}");
        }
        let err = run(&["refused"]).await.err().expect("nothing answered");
        assert!(
            err.to_string()
                .contains("http://h/mcp: HTTP error: connection refused"),
            "{err}"
        );
    }
}
