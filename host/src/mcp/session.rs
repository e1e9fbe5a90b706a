//! One MCP client session over a [`Transport`]: requests and their replies, answering what the
//! server asks, and the transcript of everything the server said. How a session opens (the
//! era, the handshake) is in handshake.rs; the lists in discovery.rs.

use super::answers::answer_server_request;
use super::capabilities::{ClientCapabilities, SUPPORTED_PROTOCOL_VERSIONS};
use super::era::{self, Era, ProtocolEra, Versions};
use super::jsonrpc::{self, Incoming, RpcError};
use crate::model::Transcript;
use crate::transport::MAX_JSON_DEPTH;
use crate::transport::{Inbound, Transport, TransportError};
use serde_json::value::RawValue;
use serde_json::Value;
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
    /// Which era to speak (`--protocol-era`).
    pub era: ProtocolEra,
    /// The version offered in each era (`--protocol-version`).
    pub versions: Versions,
    /// With `ProtocolEra::Auto`: how long `server/discover` goes unanswered before
    /// `initialize` follows it on the same stream.
    pub probe_grace: Duration,
    /// The most result bytes all pages of all lists of one discovery may take together
    /// (`--max-discovery-bytes`): what bounds the memory a server can make a discovery use.
    pub max_discovery_bytes: u64,
}

/// The default of [`SessionOptions::max_discovery_bytes`]: 64 MiB of list replies is far past
/// any real server (100 000 tools are about 20 MB) and costs a few hundred MB at most.
pub const DEFAULT_MAX_DISCOVERY_BYTES: u64 = 64 << 20;

/// How long a server that ignores `server/discover` costs before `initialize` is sent.
pub const DEFAULT_PROBE_GRACE: Duration = Duration::from_millis(300);

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            capabilities: ClientCapabilities::default(),
            request_timeout: Duration::from_secs(30),
            page_cap: 1000,
            era: ProtocolEra::Auto,
            versions: Versions::default(),
            probe_grace: DEFAULT_PROBE_GRACE,
            max_discovery_bytes: DEFAULT_MAX_DISCOVERY_BYTES,
        }
    }
}

/// What the server said about itself: its `initialize` reply, or its DiscoverResult.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerHello {
    pub era: Era,
    /// The server answered both `server/discover` and `initialize` on this connection.
    pub dual_era: bool,
    /// How the era was decided, e.g. "server/discover answered".
    pub era_decided_by: String,
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
    /// Closed before the era was known: the server may have exited on `server/discover` (the
    /// Rust SDK does), and is started again in the legacy era.
    #[error(
        "{method}: the server closed the connection before the protocol era was known ({reason})"
    )]
    ExitedOnProbe { method: String, reason: String },
    #[error("{method}: no reply within {after:?}{}", dropped_hint(*.dropped_lines))]
    Timeout {
        method: String,
        after: Duration,
        /// Over-long lines dropped so far: the reply may have been one of them.
        dropped_lines: usize,
    },
    #[error("{method}: the server replied with {error}")]
    Rpc { method: String, error: RpcError },
    #[error("the server chose MCP protocol version `{}`, which mcp-probe does not speak (it speaks {})", crate::excerpt::one_line(got), SUPPORTED_PROTOCOL_VERSIONS.join(", "))]
    UnsupportedVersion { got: String },
    /// A modern server that speaks none of our versions (its `-32022` or DiscoverResult);
    /// `why` says what it refused and what it lists.
    #[error("{method}: {why}")]
    NoMutualVersion { method: String, why: String },
    #[error("{method}: {detail}")]
    InvalidReply { method: String, detail: String },
    #[error(
        "{method}: the server sent the cursor {} twice (a cursor loop)",
        crate::excerpt::one_line(cursor)
    )]
    CursorLoop { method: String, cursor: String },
    #[error("{method}: more than {cap} pages (the page cap)")]
    PageCap { method: String, cap: usize },
    /// A list result whose `resultType` is not `complete` (2026-07-28): `input_required` is
    /// allowed only on calls, and any other value says the list is not (known to be) whole.
    /// `sent` is the value as JSON text, cut to a bound.
    #[error("{method}: {}", not_complete_why(.sent))]
    NotComplete { method: String, sent: String },
    /// The lists of one discovery took more bytes than `--max-discovery-bytes`.
    #[error(
        "{method}: the lists passed the discovery budget of {} (--max-discovery-bytes {budget}); \
         raise --max-discovery-bytes to read more",
        human_bytes(*.budget)
    )]
    DiscoveryBudget { method: String, budget: u64 },
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

/// A result read into a `Value`: for small replies only (a 100 000-tool list is read from its
/// text by discovery). The text was validated and its depth checked, so this fails only for a
/// number serde_json cannot hold.
pub(super) fn result_value(method: &str, result: &RawValue) -> Result<Value, SessionError> {
    serde_json::from_str(result.get()).map_err(|err| SessionError::InvalidReply {
        method: method.into(),
        // serde's message quotes what it could not read.
        detail: format!(
            "the result cannot be read: {}",
            crate::excerpt::one_line(&err.to_string())
        ),
    })
}

/// How long the `resultType` quoted in an error may be, in characters.
pub const MAX_QUOTED_RESULT_TYPE: usize = 200;

/// The `resultType` a result carries as it is quoted in [`SessionError::NotComplete`]: its
/// JSON text (control characters escaped, so one line), at most [`MAX_QUOTED_RESULT_TYPE`]
/// characters.
pub fn quoted_result_type(sent: &Value) -> String {
    let text = sent.to_string();
    match text.char_indices().nth(MAX_QUOTED_RESULT_TYPE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

pub(super) fn not_complete_why(sent: &str) -> String {
    match sent {
        "\"input_required\"" => format!(
            "the server asked for input (resultType {sent}), which only tool calls, prompts/get \
             and resources/read may: the result is not complete"
        ),
        _ => format!(
            "the server sent resultType {sent}, where only \"complete\" (or none) says the \
             result is complete"
        ),
    }
}

/// `bytes` for people: whole MiB as such, anything else in bytes.
fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b => format!("{b} bytes"),
    }
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
                | SessionError::NotComplete { .. }
                | SessionError::DiscoveryBudget { .. }
                | SessionError::UnsupportedVersion { .. }
                | SessionError::NoMutualVersion { .. }
                | SessionError::Unreadable { .. }
        )
    }

    /// True when an optional list's failure fails the whole discovery: a list the server
    /// declared not complete, or the byte budget spent. Either would otherwise leave a report
    /// that looks whole.
    pub fn ends_discovery(&self) -> bool {
        matches!(
            self,
            SessionError::NotComplete { .. } | SessionError::DiscoveryBudget { .. }
        )
    }

    /// True when the failure says "nothing that speaks MCP is here" rather than "an MCP server
    /// misbehaved": the cue to try the next URL endpoint.
    pub fn is_transport_level(&self) -> bool {
        matches!(
            self,
            SessionError::Transport { .. }
                | SessionError::Closed { .. }
                | SessionError::ExitedOnProbe { .. }
        ) || matches!(self, SessionError::InvalidReply { method, .. }
            if method == "initialize" || method == "server/discover")
    }
}

/// Why waiting for a reply stopped; the timeout gets its context from the caller.
pub(super) enum ReplyError {
    Timeout,
    Session(SessionError),
}

impl ReplyError {
    pub(super) fn in_context(
        self,
        method: &str,
        after: Duration,
        dropped_lines: usize,
    ) -> SessionError {
        match self {
            ReplyError::Timeout => SessionError::Timeout {
                method: method.into(),
                after,
                dropped_lines,
            },
            ReplyError::Session(err) => err,
        }
    }
}

/// An MCP client session. Create it, call [`Session::discover`] (or the steps one by one), then
/// [`Session::close`]; the transcript is there whether or not it succeeded.
pub struct Session {
    pub(super) transport: Box<dyn Transport>,
    pub(super) options: SessionOptions,
    next_id: u64,
    transcript: super::transcript::Recorder,
    /// Set once the session opened (kept when a later step fails).
    pub(super) hello: Option<ServerHello>,
    /// In the modern era: the `_meta` every request carries.
    pub(super) modern_meta: Option<Value>,
    /// Cache hints per method, as lists and `server/discover` sent them.
    pub(super) cache_hints: std::collections::BTreeMap<String, crate::model::CacheHint>,
    /// The method whose reply is awaited, for timeout messages.
    in_flight: Option<String>,
    /// Over-long lines the transport dropped ([`Inbound::DroppedLine`]).
    dropped_lines: usize,
    /// How busy the server is, where its runtime can tell (the era probe's grace).
    pub(super) activity: Option<crate::model::ServerActivity>,
    /// Result bytes of every list page so far, against `max_discovery_bytes`.
    pub(super) list_bytes: u64,
}

impl Session {
    /// Lets the era probe see how busy the server is (see [`crate::model::ServerActivity`]).
    pub fn set_activity(&mut self, activity: Option<crate::model::ServerActivity>) {
        self.activity = activity;
    }

    pub fn new(transport: Box<dyn Transport>, options: SessionOptions) -> Self {
        Session {
            transport,
            options,
            next_id: 1,
            transcript: super::transcript::Recorder::default(),
            hello: None,
            activity: None,
            modern_meta: None,
            cache_hints: Default::default(),
            in_flight: None,
            dropped_lines: 0,
            list_bytes: 0,
        }
    }

    /// Cache hints per method (`tools/list`, …), where the server sent any.
    pub fn cache_hints(&self) -> &std::collections::BTreeMap<String, crate::model::CacheHint> {
        &self.cache_hints
    }

    /// Which transport the session speaks over.
    pub fn transport_kind(&self) -> crate::transport::TransportKind {
        self.transport.kind()
    }

    /// What was left out of the transcript, when a server said more than it keeps.
    pub fn transcript_dropped(&self) -> Option<String> {
        self.transcript.dropped()
    }

    /// What the server said about itself, once the session opened.
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

    /// Ends the session politely (stdin EOF, HTTP DELETE).
    pub async fn close(&mut self) -> Result<(), TransportError> {
        self.transport.close().await
    }

    /// Sends a request and waits for its reply, answering and recording whatever comes first;
    /// the result is the text the server sent.
    pub async fn request(
        &mut self,
        method: &str,
        params: Option<Value>,
    ) -> Result<Box<RawValue>, SessionError> {
        let id = self.send_request(method, params).await?;
        let after = self.options.request_timeout;
        let deadline = Instant::now() + after;
        let outcome = self.await_first(&[id], method, deadline).await;
        outcome
            .map(|(_, reply)| reply)
            .map_err(|err| err.in_context(method, after, self.dropped_lines))?
    }

    /// [`Session::request`] for a small reply read whole (`initialize`, `server/discover`).
    pub async fn request_value(
        &mut self,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, SessionError> {
        let result = self.request(method, params).await?;
        result_value(method, &result)
    }

    /// Sends a request (with the modern `_meta` once the session speaks that era) and returns
    /// its id; [`Session::await_first`] waits for the reply.
    pub(super) async fn send_request(
        &mut self,
        method: &str,
        params: Option<Value>,
    ) -> Result<u64, SessionError> {
        let id = self.next_id;
        self.next_id += 1;
        let params = match &self.modern_meta {
            Some(meta) => Some(era::with_meta(params, meta)),
            None => params,
        };
        self.send(method, jsonrpc::request(id, method, params))
            .await?;
        Ok(id)
    }

    /// Waits until one of the requests `ids` is answered, answering and recording whatever
    /// comes first; returns which one and its reply. An error with a null id (the server could
    /// not read a request) counts as the reply to the first of `ids`.
    pub(super) async fn await_first(
        &mut self,
        ids: &[u64],
        method: &str,
        deadline: Instant,
    ) -> Result<(u64, Result<Box<RawValue>, SessionError>), ReplyError> {
        self.in_flight = Some(method.to_owned());
        let outcome = self.await_any(ids, method, deadline).await;
        self.in_flight = None;
        outcome
    }

    async fn await_any(
        &mut self,
        ids: &[u64],
        method: &str,
        deadline: Instant,
    ) -> Result<(u64, Result<Box<RawValue>, SessionError>), ReplyError> {
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
            let message = match inbound {
                Inbound::Closed { reason } => {
                    return Err(ReplyError::Session(SessionError::Closed {
                        method: method.into(),
                        reason,
                    }))
                }
                Inbound::Noise(text) => {
                    self.record_noise(&text);
                    continue;
                }
                Inbound::DroppedLine {
                    bytes, ref head, ..
                } => {
                    self.record_noise(&inbound.describe().unwrap_or_default());
                    self.dropped_lines += 1;
                    // The awaited reply itself was too long: no other will come.
                    if ids.iter().any(|&id| is_reply_to(head, id)) {
                        return Err(ReplyError::Session(SessionError::Unreadable {
                            method: method.into(),
                            why: format!(
                                "the reply came in a line over the --max-line-bytes bound (line of \
                                 {bytes} bytes dropped); raise --max-line-bytes"
                            ),
                        }));
                    }
                    continue;
                }
                Inbound::TooDeep { .. } => {
                    self.record_noise(&inbound.describe().unwrap_or_default());
                    return Err(ReplyError::Session(SessionError::Unreadable {
                        method: method.into(),
                        why: format!(
                            "the server sent a JSON message nested deeper than {MAX_JSON_DEPTH} \
                             levels, which is not read"
                        ),
                    }));
                }
                Inbound::Message(json) => {
                    tracing::debug!(target: "mcp_probe::transcript", "<- {}", json.get());
                    self.record_stdout(json.get());
                    self.transcript.message(json.get());
                    json
                }
            };
            let mut outcome = None;
            for message in jsonrpc::classify(&message) {
                let ours =
                    |got: &Value| ids.iter().copied().find(|&id| jsonrpc::id_matches(got, id));
                match message {
                    Incoming::Response { id: got, result } if ours(&got).is_some() => {
                        outcome = outcome.or(ours(&got).map(|id| (id, Ok(result))));
                    }
                    // A null id means the server could not read a pending request.
                    Incoming::ErrorReply { id: got, error }
                        if got.is_null() || ours(&got).is_some() =>
                    {
                        let id = ours(&got).unwrap_or(ids[0]);
                        let error = SessionError::Rpc {
                            method: method.into(),
                            error,
                        };
                        outcome = outcome.or(Some((id, Err(error))));
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
                return Ok(outcome);
            }
        }
    }

    pub(super) async fn send(&mut self, during: &str, message: Value) -> Result<(), SessionError> {
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

    /// What is no message, for the log and the transcript.
    fn record_noise(&mut self, text: &str) {
        tracing::debug!(target: "mcp_probe::transcript", "<- (not JSON-RPC) {text}");
        self.record_stdout(text);
    }

    fn record_stdout(&mut self, text: &str) {
        self.transcript.line(text);
    }
}
