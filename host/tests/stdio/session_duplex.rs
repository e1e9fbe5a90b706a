//! The session and the stdio transport over an in-memory pipe (`tokio::io::duplex`), with the
//! test playing the server line by line.

use mcp_probe::mcp::{ClientCapabilities, Era, ProtocolEra, Session, SessionError, SessionOptions};
use mcp_probe::transport::stdio::StdioTransport;
use mcp_probe::transport::{Inbound, Transport, TransportError};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, ReadHalf, WriteHalf};

/// The server's end of the pipe.
struct FakeServer {
    lines: BufReader<ReadHalf<DuplexStream>>,
    out: WriteHalf<DuplexStream>,
}

impl FakeServer {
    async fn read(&mut self) -> Value {
        let mut line = String::new();
        self.lines.read_line(&mut line).await.unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("client sent {line:?}: {e}"))
    }

    /// True when the client sends nothing more within a short while.
    async fn quiet(&mut self) -> bool {
        let mut line = String::new();
        tokio::time::timeout(Duration::from_millis(100), self.lines.read_line(&mut line))
            .await
            .is_err()
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.out.write_all(bytes).await.unwrap();
    }

    async fn send(&mut self, value: Value) {
        self.write(format!("{value}\n").as_bytes()).await;
    }

    async fn reply(&mut self, request: &Value, result: Value) {
        self.send(json!({"jsonrpc": "2.0", "id": request["id"], "result": result}))
            .await;
    }

    /// Reads initialize and initialized, answering with `capabilities`.
    async fn handshake(&mut self, capabilities: Value) -> Value {
        let init = self.read().await;
        self.reply(
            &init,
            json!({"protocolVersion": "2025-06-18", "capabilities": capabilities,
            "serverInfo": {"name": "fake", "version": "9"}}),
        )
        .await;
        assert_eq!(self.read().await["method"], "notifications/initialized");
        init
    }
}

/// Records what the session asks of its transport besides send/recv.
#[derive(Default)]
struct Calls {
    protocol_version: Option<String>,
    closed: bool,
}

struct Recording<T> {
    inner: T,
    calls: Arc<Mutex<Calls>>,
}

#[async_trait::async_trait]
impl<T: Transport> Transport for Recording<T> {
    async fn send(&mut self, message: Value) -> Result<(), TransportError> {
        self.inner.send(message).await
    }
    async fn recv(&mut self) -> Result<Inbound, TransportError> {
        self.inner.recv().await
    }
    fn set_protocol_version(&mut self, version: &str) {
        self.calls.lock().unwrap().protocol_version = Some(version.to_owned());
    }
    async fn close(&mut self) -> Result<(), TransportError> {
        self.calls.lock().unwrap().closed = true;
        self.inner.close().await
    }
    fn kind(&self) -> mcp_probe::transport::TransportKind {
        self.inner.kind()
    }
}

fn pipe(options: SessionOptions) -> (Session, FakeServer, Arc<Mutex<Calls>>) {
    let (client, server) = tokio::io::duplex(1 << 20);
    let (client_read, client_write) = tokio::io::split(client);
    let (server_read, server_write) = tokio::io::split(server);
    let calls = Arc::new(Mutex::new(Calls::default()));
    let transport = Recording {
        inner: StdioTransport::new(client_read, client_write, 4096),
        calls: Arc::clone(&calls),
    };
    let session = Session::new(Box::new(transport), options);
    let server = FakeServer {
        lines: BufReader::new(server_read),
        out: server_write,
    };
    (session, server, calls)
}

/// The initialize era alone (`--protocol-era legacy`): most tests here script that era.
fn legacy() -> SessionOptions {
    SessionOptions {
        era: ProtocolEra::Legacy,
        ..SessionOptions::default()
    }
}

/// The `_meta` every modern request carries.
fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities":
            {"roots": {"listChanged": false}, "sampling": {}, "elicitation": {}},
        "io.modelcontextprotocol/clientInfo": {"name": "mcp-probe", "version": env!("CARGO_PKG_VERSION")},
    })
}

#[tokio::test]
async fn auto_probes_then_falls_back_to_the_handshake_at_once_on_an_error() {
    let (mut session, mut server, _) = pipe(SessionOptions::default());
    let script = tokio::spawn(async move {
        let probe = server.read().await;
        assert_eq!(probe["method"], "server/discover");
        assert_eq!(probe["params"], json!({"_meta": modern_meta()}));
        server
            .send(json!({"jsonrpc": "2.0", "id": probe["id"], "error": {"code": -32602, "message": "Invalid params"}}))
            .await;
        let init = server.handshake(json!({"tools": {}})).await;
        assert!(init["params"].get("_meta").is_none(), "{init}");
        let list = server.read().await;
        assert!(
            list.get("params").is_none(),
            "legacy lists carry no _meta: {list}"
        );
        server.reply(&list, json!({"tools": [{"name": "a"}]})).await;
        server
    });
    let started = std::time::Instant::now();
    let discovery = session.discover().await.unwrap();
    script.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "waited the grace: {:?}",
        started.elapsed()
    );
    assert_eq!(discovery.hello.era, Era::Legacy);
    assert_eq!(
        discovery.hello.era_decided_by,
        "server/discover answered JSON-RPC error -32602: Invalid params"
    );
}

#[tokio::test]
async fn a_modern_session_sends_meta_on_every_request_and_no_handshake() {
    let (mut session, mut server, calls) = pipe(SessionOptions::default());
    let script = tokio::spawn(async move {
        let probe = server.read().await;
        assert_eq!(probe["method"], "server/discover");
        server
            .reply(
                &probe,
                json!({"resultType": "complete", "supportedVersions": ["2026-07-28"],
                    "capabilities": {"tools": {}, "prompts": {}},
                    "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "m", "version": "2"}},
                    "instructions": "be kind", "ttlMs": 10, "cacheScope": "public"}),
            )
            .await;
        let first = server.read().await;
        assert_eq!(first["method"], "tools/list");
        assert_eq!(first["params"], json!({"_meta": modern_meta()}));
        server
            .reply(&first, json!({"resultType": "complete", "tools": [{"name": "a"}], "nextCursor": "c1", "ttlMs": 70}))
            .await;
        let second = server.read().await;
        assert_eq!(
            second["params"],
            json!({"cursor": "c1", "_meta": modern_meta()})
        );
        server
            .reply(
                &second,
                json!({"tools": [{"name": "b"}], "ttlMs": 20, "cacheScope": "private"}),
            )
            .await;
        let prompts = server.read().await;
        assert_eq!(prompts["method"], "prompts/list");
        server
            .reply(&prompts, json!({"resultType": "complete", "prompts": []}))
            .await;
        assert!(
            server.quiet().await,
            "nothing after the lists (no ping, no setLevel)"
        );
        server
    });
    let discovery = session.discover().await.unwrap();
    script.await.unwrap();
    assert_eq!(discovery.hello.era, Era::Modern);
    assert_eq!(discovery.hello.protocol_version, "2026-07-28");
    assert_eq!(
        discovery.hello.server_info,
        Some(json!({"name": "m", "version": "2"}))
    );
    assert_eq!(discovery.hello.instructions.as_deref(), Some("be kind"));
    let names: Vec<_> = discovery.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let hint = &discovery.cache_hints["tools/list"];
    assert_eq!(
        (hint.ttl_ms, hint.cache_scope.as_deref()),
        (Some(20), Some("private"))
    );
    assert_eq!(discovery.prompts, Some(vec![]));
    // The legacy handshake's version header is never set in the modern era.
    assert_eq!(calls.lock().unwrap().protocol_version, None);
}

#[tokio::test]
async fn a_close_before_the_era_is_known_says_so() {
    let (mut session, mut server, _) = pipe(SessionOptions::default());
    let script = tokio::spawn(async move {
        server.read().await;
        drop(server);
    });
    let err = session.discover().await.unwrap_err();
    script.await.unwrap();
    assert!(
        matches!(err, SessionError::ExitedOnProbe { ref method, .. } if method == "server/discover"),
        "{err}"
    );
    assert!(session.hello().is_none());
}

#[tokio::test]
async fn handshake_order_then_every_page() {
    let (mut session, mut server, calls) = pipe(legacy());
    let script = tokio::spawn(async move {
        let init = server.read().await;
        assert_eq!(init["method"], "initialize");
        assert_eq!(init["params"]["protocolVersion"], "2025-11-25");
        assert_eq!(
            init["params"]["clientInfo"],
            json!({"name": "mcp-probe", "version": env!("CARGO_PKG_VERSION")})
        );
        assert_eq!(
            init["params"]["capabilities"],
            json!({"roots": {"listChanged": false}, "sampling": {}, "elicitation": {}})
        );
        assert!(
            server.quiet().await,
            "the client sent something before the initialize reply"
        );
        server
            .reply(
                &init,
                json!({"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
            "serverInfo": {"name": "fake", "version": "9"}}),
            )
            .await;
        assert_eq!(server.read().await["method"], "notifications/initialized");
        let first = server.read().await;
        assert_eq!(first["method"], "tools/list");
        assert!(first.get("params").is_none());
        server
            .reply(
                &first,
                json!({"tools": [{"name": "a"}], "nextCursor": "c1"}),
            )
            .await;
        let second = server.read().await;
        assert_eq!(second["params"], json!({"cursor": "c1"}));
        server
            .reply(&second, json!({"tools": [{"name": "b"}, 5]}))
            .await;
        server
    });
    let discovery = session.discover().await.unwrap();
    script.await.unwrap();
    let names: Vec<_> = discovery.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(discovery.malformed_tools, 1);
    assert_eq!(discovery.hello.protocol_version, "2025-06-18");
    assert_eq!(
        discovery.hello.server_info,
        Some(json!({"name": "fake", "version": "9"}))
    );
    assert!(discovery.prompts.is_none());
    assert_eq!(
        calls.lock().unwrap().protocol_version.as_deref(),
        Some("2025-06-18")
    );
    session.close().await.unwrap();
    assert!(calls.lock().unwrap().closed);
}

#[tokio::test]
async fn server_requests_are_answered_while_waiting() {
    let (mut session, mut server, _) = pipe(legacy());
    let script = tokio::spawn(async move {
        server.handshake(json!({"tools": {}})).await;
        let list = server.read().await;
        let asks = [
            ("ping", json!({"result": {}})),
            ("roots/list", json!({"result": {"roots": []}})),
            (
                "elicitation/create",
                json!({"result": {"action": "decline"}}),
            ),
        ];
        for (i, (method, expected)) in asks.iter().enumerate() {
            server
                .send(json!({"jsonrpc": "2.0", "id": format!("s{i}"), "method": method}))
                .await;
            let answer = server.read().await;
            assert_eq!(answer["id"], format!("s{i}"));
            assert_eq!(
                answer.get("result"),
                expected.get("result"),
                "{method}: {answer}"
            );
        }
        for (method, code) in [("sampling/createMessage", -1), ("x/unknown", -32601)] {
            server
                .send(json!({"jsonrpc": "2.0", "id": 77, "method": method}))
                .await;
            let answer = server.read().await;
            assert_eq!(answer["error"]["code"], code, "{method}: {answer}");
        }
        // A batch: a notification and the reply together.
        let batch = json!([{"jsonrpc": "2.0", "method": "notifications/progress"},
            {"jsonrpc": "2.0", "id": list["id"], "result": {"tools": []}}]);
        server.send(batch).await;
        server
    });
    let discovery = session.discover().await.unwrap();
    script.await.unwrap();
    assert!(discovery.tools_supported);
    assert!(discovery.tools.is_empty());
}

#[tokio::test]
async fn error_reply_with_null_id_fails_the_pending_request() {
    let (mut session, mut server, _) = pipe(SessionOptions {
        capabilities: ClientCapabilities::NONE,
        ..legacy()
    });
    let script = tokio::spawn(async move {
        let init = server.read().await;
        assert_eq!(init["params"]["capabilities"], json!({}));
        server.send(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "Parse error"}})).await;
        server
    });
    let err = session.discover().await.unwrap_err();
    let _server = script.await.unwrap();
    assert!(
        matches!(&err, SessionError::Rpc { method, error } if method == "initialize" && error.code == -32700),
        "{err}"
    );
    assert!(!err.is_transport_level());
}

#[tokio::test]
async fn closed_pipe_is_a_transport_level_failure_and_keeps_the_transcript() {
    let (mut session, mut server, _) = pipe(legacy());
    let script = tokio::spawn(async move {
        server.read().await;
        server.write(b"Traceback: boom\n{\"partial\": tru").await;
        drop(server);
    });
    let err = session.discover().await.unwrap_err();
    script.await.unwrap();
    assert!(matches!(err, SessionError::Closed { .. }), "{err}");
    assert!(err.is_transport_level());
    let transcript = session.take_transcript();
    assert_eq!(transcript.stdout, "Traceback: boom\n{\"partial\": tru\n");
    assert!(transcript.parsed_messages.is_empty());
}

#[tokio::test]
async fn per_request_timeout_names_the_method() {
    let (mut session, mut server, _) = pipe(SessionOptions {
        request_timeout: Duration::from_millis(50),
        ..legacy()
    });
    let script = tokio::spawn(async move {
        server.handshake(json!({"tools": {}})).await;
        server.read().await; // tools/list, never answered
        server
    });
    let err = session.discover().await.unwrap_err();
    let _server = script.await.unwrap();
    assert!(
        matches!(&err, SessionError::Timeout { method, .. } if method == "tools/list"),
        "{err}"
    );
    assert!(session.hello().is_some());
}

#[tokio::test]
async fn transport_drops_overlong_lines_and_decodes_bad_utf8() {
    let (client, mut server) = tokio::io::duplex(1 << 16);
    let (read, write) = tokio::io::split(client);
    let mut transport = StdioTransport::new(read, write, 100);
    let writer = tokio::spawn(async move {
        let long = format!("{{\"x\": \"{}\"}}\n", "y".repeat(100_000));
        server.write_all(long.as_bytes()).await.unwrap();
        server
            .write_all(b"{\"id\": 1, \"result\": \"caf\xe9\"}\r\n\n7\n")
            .await
            .unwrap();
        server.write_all(b"{\"last\": true}").await.unwrap();
    });
    match transport.recv().await.unwrap() {
        Inbound::DroppedLine { bytes, bound, head } => {
            assert_eq!((bytes, bound), (100_010, 100));
            assert!(head.len() < 500, "the over-long line was kept whole");
            assert!(head.starts_with("{\"x\": \"yyy"), "{head}");
        }
        other => panic!("expected a dropped line, got {other:?}"),
    }
    match transport.recv().await.unwrap() {
        Inbound::Message(json) => {
            assert_eq!(json.get(), "{\"id\": 1, \"result\": \"caf\u{fffd}\"}")
        }
        other => panic!("expected a message, got {other:?}"),
    }
    assert_eq!(transport.recv().await.unwrap(), Inbound::Noise("7".into()));
    writer.await.unwrap();
    assert!(
        matches!(transport.recv().await.unwrap(), Inbound::Message(json) if json.get() == r#"{"last": true}"#)
    );
    assert!(matches!(
        transport.recv().await.unwrap(),
        Inbound::Closed { .. }
    ));
    assert!(matches!(
        transport.recv().await.unwrap(),
        Inbound::Closed { .. }
    ));
}

#[tokio::test]
async fn a_cancelled_recv_loses_nothing() {
    let (client, mut server) = tokio::io::duplex(1 << 16);
    let (read, write) = tokio::io::split(client);
    let mut transport = StdioTransport::new(read, write, 1 << 20);
    server.write_all(b"{\"half\": ").await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(20), transport.recv()).await;
    assert!(early.is_err(), "no complete line yet");
    server.write_all(b"\"done\"}\n").await.unwrap();
    let got = transport.recv().await.unwrap();
    assert!(matches!(got, Inbound::Message(json) if json.get() == r#"{"half": "done"}"#));
}
