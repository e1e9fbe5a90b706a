//! One MCP client session over a [`Transport`]: the handshake, paginated lists, answering what
//! the server asks, and the transcript of everything the server said.
//!
//! Order matters: `initialize` goes out alone and nothing else is sent before its reply (answers
//! to the server's own requests aside, so that a server never waits on us); then
//! `notifications/initialized`; then the lists the server's capabilities offer.

use super::answers::answer_server_request;
use super::capabilities::{
    ClientCapabilities, LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS,
};
use super::jsonrpc::{self, Incoming, RpcError};
use crate::model::Transcript;
use crate::transport::stdio::DROPPED_LINE_PREFIX;
use crate::transport::{Inbound, Transport, TransportError};
use crate::transport::{MAX_JSON_DEPTH, TOO_DEEP_PREFIX};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::time::Instant;

/// How the session behaves.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// What `initialize` declares.
    pub capabilities: ClientCapabilities,
    /// How long one request may wait for its reply.
    pub request_timeout: Duration,
    /// The most pages one list method may take.
    pub page_cap: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            capabilities: ClientCapabilities::default(),
            request_timeout: Duration::from_secs(30),
            page_cap: 1000,
        }
    }
}

/// What the server said about itself in its `initialize` reply.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerHello {
    pub protocol_version: String,
    /// `serverInfo` as sent (`name`, `version`, and whatever else).
    pub server_info: Option<Value>,
    /// The server's `capabilities`: an object, or `Null` when it sent none (a broken server,
    /// whose tools are then looked for anyway).
    pub capabilities: Value,
    pub instructions: Option<String>,
}

impl ServerHello {
    /// True when the server's capabilities contain `name` (e.g. `tools`).
    pub fn offers(&self, name: &str) -> bool {
        self.capabilities
            .get(name)
            .is_some_and(|v| !v.is_null() && v != &Value::Bool(false))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("{method}: {source}")]
    Transport {
        method: String,
        source: TransportError,
    },
    #[error("{method}: the server closed the connection before replying ({reason})")]
    Closed { method: String, reason: String },
    #[error("{method}: no reply within {after:?}{}", dropped_hint(*.dropped_lines))]
    Timeout {
        method: String,
        after: Duration,
        /// Over-long lines dropped so far: the reply may have been one of them.
        dropped_lines: usize,
    },
    #[error("{method}: the server replied with {error}")]
    Rpc { method: String, error: RpcError },
    #[error("the server chose MCP protocol version `{got}`, which mcp-probe does not speak (it speaks {})", SUPPORTED_PROTOCOL_VERSIONS.join(", "))]
    UnsupportedVersion { got: String },
    #[error("{method}: {detail}")]
    InvalidReply { method: String, detail: String },
    #[error("{method}: the server sent the cursor {cursor} twice (a cursor loop)")]
    CursorLoop { method: String, cursor: String },
    #[error("{method}: more than {cap} pages (the page cap)")]
    PageCap { method: String, cap: usize },
    /// The reply came, but cannot be read (too long for the line bound, nested too deeply).
    #[error("{method}: {why}")]
    Unreadable { method: String, why: String },
}

/// True when the head of a dropped line is a response to request `id` (`"id": id` followed by
/// something that ends the number, and a result or an error).
fn is_reply_to(dropped: &str, id: u64) -> bool {
    let id = id.to_string();
    let mut rest = dropped;
    while let Some(at) = rest.find("\"id\"") {
        rest = &rest[at + 4..];
        let value = rest.trim_start().strip_prefix(':').map(str::trim_start);
        if let Some(value) = value.and_then(|v| v.strip_prefix(id.as_str())) {
            if !value.starts_with(|c: char| c.is_ascii_digit())
                && (dropped.contains("\"result\"") || dropped.contains("\"error\""))
            {
                return true;
            }
        }
    }
    false
}

/// Says that the awaited reply may have been dropped for its length.
pub fn dropped_hint(dropped_lines: usize) -> String {
    match dropped_lines {
        0 => String::new(),
        n => format!(
            " ({n} over-long stdout lines were dropped; a larger --max-line-bytes may help)"
        ),
    }
}

impl SessionError {
    /// True when the server answered clearly and wrongly (an error reply, a cursor loop, more
    /// pages than allowed, an unsupported version): its output holds nothing a fallback parser
    /// should second-guess, so the failure is reported as it is.
    pub fn is_definite_answer(&self) -> bool {
        matches!(
            self,
            SessionError::Rpc { .. }
                | SessionError::CursorLoop { .. }
                | SessionError::PageCap { .. }
                | SessionError::UnsupportedVersion { .. }
                | SessionError::Unreadable { .. }
        )
    }

    /// True when the failure says "nothing that speaks MCP is here" rather than "an MCP server
    /// misbehaved": the cue to try the next URL endpoint.
    pub fn is_transport_level(&self) -> bool {
        matches!(
            self,
            SessionError::Transport { .. } | SessionError::Closed { .. }
        ) || matches!(self, SessionError::InvalidReply { method, .. } if method == "initialize")
    }
}

/// Why waiting for a reply stopped; the timeout gets its context in [`Session::request`].
enum ReplyError {
    Timeout,
    Session(SessionError),
}

/// An MCP client session. Create it, call [`Session::discover`] (or the steps one by one), then
/// [`Session::close`]; the transcript is there whether or not it succeeded.
pub struct Session {
    transport: Box<dyn Transport>,
    pub(super) options: SessionOptions,
    next_id: u64,
    transcript: super::transcript::Recorder,
    /// Set once `initialize` succeeded (kept when a later step fails).
    hello: Option<ServerHello>,
    /// The method whose reply is awaited, for timeout messages.
    in_flight: Option<String>,
    /// Over-long lines the transport dropped (noise marked with DROPPED_LINE_PREFIX).
    dropped_lines: usize,
}

impl Session {
    pub fn new(transport: Box<dyn Transport>, options: SessionOptions) -> Self {
        Session {
            transport,
            options,
            next_id: 1,
            transcript: super::transcript::Recorder::default(),
            hello: None,
            in_flight: None,
            dropped_lines: 0,
        }
    }

    /// The transport's short name (`stdio`, `streamable_http`, `sse`).
    pub fn transport_kind(&self) -> &'static str {
        self.transport.kind()
    }

    /// What was left out of the transcript, when a server said more than it keeps.
    pub fn transcript_dropped(&self) -> Option<String> {
        self.transcript.dropped()
    }

    /// The server's `initialize` reply, once the handshake succeeded.
    pub fn hello(&self) -> Option<&ServerHello> {
        self.hello.as_ref()
    }

    /// How many over-long lines the transport dropped so far.
    pub fn dropped_lines(&self) -> usize {
        self.dropped_lines
    }

    /// The method whose reply the session is waiting for (when a deadline cut it short).
    pub fn in_flight(&self) -> Option<&str> {
        self.in_flight.as_deref()
    }

    /// What the server said, bounded (see transcript.rs). `error` and `stderr_tail` are left
    /// for the caller.
    pub fn take_transcript(&mut self) -> Transcript {
        self.transcript.take()
    }

    /// `initialize`, its checks, then `notifications/initialized`.
    pub async fn initialize(&mut self) -> Result<ServerHello, SessionError> {
        let method = "initialize";
        let params = json!({
            "protocolVersion": LATEST_PROTOCOL_VERSION,
            "capabilities": self.options.capabilities.to_json(),
            "clientInfo": {"name": "mcp-probe", "version": env!("CARGO_PKG_VERSION")},
        });
        let result = self.request(method, Some(params)).await?;
        let invalid = |detail: &str| SessionError::InvalidReply {
            method: method.into(),
            detail: detail.into(),
        };
        if !result.is_object() {
            return Err(invalid("the reply's result is not an object"));
        }
        let protocol_version = match result.get("protocolVersion") {
            Some(Value::String(v)) => v.clone(),
            _ => return Err(invalid("the reply has no protocolVersion")),
        };
        if !SUPPORTED_PROTOCOL_VERSIONS.contains(&protocol_version.as_str()) {
            return Err(SessionError::UnsupportedVersion {
                got: protocol_version,
            });
        }
        self.transport.set_protocol_version(&protocol_version);
        let capabilities = match result.get("capabilities") {
            Some(caps @ Value::Object(_)) => caps.clone(),
            _ => Value::Null,
        };
        let hello = ServerHello {
            protocol_version,
            server_info: result.get("serverInfo").filter(|v| !v.is_null()).cloned(),
            capabilities,
            instructions: result
                .get("instructions")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        self.hello = Some(hello.clone());
        let initialized = jsonrpc::notification("notifications/initialized");
        self.send("notifications/initialized", initialized).await?;
        Ok(hello)
    }

    /// Ends the session politely (stdin EOF, HTTP DELETE).
    pub async fn close(&mut self) -> Result<(), TransportError> {
        self.transport.close().await
    }

    /// Sends a request and waits for its reply, answering and recording whatever comes first.
    pub async fn request(
        &mut self,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, SessionError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(method, jsonrpc::request(id, method, params))
            .await?;
        let after = self.options.request_timeout;
        let deadline = Instant::now() + after;
        self.in_flight = Some(method.to_owned());
        let outcome = self.await_reply(id, method, deadline).await;
        self.in_flight = None;
        outcome.map_err(|err| match err {
            ReplyError::Timeout => SessionError::Timeout {
                method: method.into(),
                after,
                dropped_lines: self.dropped_lines,
            },
            ReplyError::Session(err) => err,
        })
    }

    async fn await_reply(
        &mut self,
        id: u64,
        method: &str,
        deadline: Instant,
    ) -> Result<Value, ReplyError> {
        loop {
            let inbound = match tokio::time::timeout_at(deadline, self.transport.recv()).await {
                Err(_) => return Err(ReplyError::Timeout),
                Ok(received) => received.map_err(|source| {
                    ReplyError::Session(SessionError::Transport {
                        method: method.into(),
                        source,
                    })
                })?,
            };
            let value = match inbound {
                Inbound::Closed { reason } => {
                    return Err(ReplyError::Session(SessionError::Closed {
                        method: method.into(),
                        reason,
                    }))
                }
                Inbound::Noise(text) => {
                    tracing::debug!(target: "mcp_probe::transcript", "<- (not JSON-RPC) {text}");
                    self.record_stdout(&text);
                    if text.starts_with(DROPPED_LINE_PREFIX) {
                        self.dropped_lines += 1;
                        // The awaited reply itself was too long: no other will come.
                        if is_reply_to(&text, id) {
                            return Err(ReplyError::Session(SessionError::Unreadable {
                                method: method.into(),
                                why: format!(
                                    "the reply came in a line over the --max-line-bytes bound ({}); \
                                     raise --max-line-bytes",
                                    text.split(':').next().unwrap_or_default().trim_start_matches('[')
                                ),
                            }));
                        }
                    }
                    if text.starts_with(TOO_DEEP_PREFIX) {
                        return Err(ReplyError::Session(SessionError::Unreadable {
                            method: method.into(),
                            why: format!(
                                "the server sent a JSON message nested deeper than {MAX_JSON_DEPTH} \
                                 levels, which is not read"
                            ),
                        }));
                    }
                    continue;
                }
                Inbound::Message { value, raw } => {
                    tracing::debug!(target: "mcp_probe::transcript", "<- {raw}");
                    self.record_stdout(&raw);
                    self.transcript.message(&value);
                    value
                }
            };
            let mut outcome = None;
            for message in jsonrpc::classify(value) {
                match message {
                    Incoming::Response { id: got, result } if jsonrpc::id_matches(&got, id) => {
                        outcome = Some(Ok(result));
                    }
                    // A null id means the server could not read our (only) pending request.
                    Incoming::ErrorReply { id: got, error }
                        if got.is_null() || jsonrpc::id_matches(&got, id) =>
                    {
                        outcome = Some(Err(SessionError::Rpc {
                            method: method.into(),
                            error,
                        }));
                    }
                    Incoming::Request {
                        id, method: asked, ..
                    } => {
                        let answer = answer_server_request(id, &asked);
                        self.send(method, answer)
                            .await
                            .map_err(ReplyError::Session)?;
                    }
                    Incoming::Notification { .. } | Incoming::Response { .. } => {}
                    Incoming::ErrorReply { .. } | Incoming::Other(_) => {}
                }
            }
            if let Some(outcome) = outcome {
                return outcome.map_err(ReplyError::Session);
            }
        }
    }

    async fn send(&mut self, during: &str, message: Value) -> Result<(), SessionError> {
        tracing::debug!(target: "mcp_probe::transcript", "-> {message}");
        self.transport
            .send(message)
            .await
            .map_err(|source| match source {
                // The server is gone: say so, as when its output ends.
                TransportError::Io(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    SessionError::Closed {
                        method: during.into(),
                        reason: "the server stopped reading its input".into(),
                    }
                }
                source => SessionError::Transport {
                    method: during.into(),
                    source,
                },
            })
    }

    fn record_stdout(&mut self, text: &str) {
        self.transcript.line(text);
    }
}
