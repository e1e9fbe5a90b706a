//! Byte transports that carry JSON-RPC messages: stdio (any AsyncRead + AsyncWrite) and HTTP
//! (Streamable HTTP and the legacy HTTP+SSE transport). The session knows nothing of which one
//! it talks through.

pub mod stdio;

use serde_json::value::RawValue;
use serde_json::Value;

pub mod http;
pub(crate) mod http_body;
mod http_inbox;
mod http_reply_stream;
pub(crate) mod secrets;
pub mod sse;
mod sse_parse;

/// How deep a message may nest: what serde_json reads into a `Value` (the types crate's byte
/// check, shared with the tool files `validate` reads).
pub use mcp_probe_types::{is_too_deep, MAX_JSON_DEPTH};

/// How much of an unread message or line is kept to say what it was.
const HEAD_CHARS: usize = 120;

/// What stands for `text`, a message nested too deeply to read.
pub(crate) fn too_deep(text: &str) -> Inbound {
    Inbound::TooDeep {
        bytes: text.len() as u64,
        head: text.chars().take(HEAD_CHARS).collect(),
    }
}

/// One thing the server said.
#[derive(Debug, Clone)]
pub enum Inbound {
    /// One message (a line, an HTTP body or an SSE event, or one element of a batch body) as
    /// the JSON text the server sent, validated: an object, or (on stdio) an array. It is never
    /// held as a whole `Value`: a 100 000-tool reply would take many times its text.
    Message(Box<RawValue>),
    /// Output that is not JSON (log noise on stdout, invalid UTF-8), lossily decoded; kept
    /// for the transcript, never fatal.
    Noise(String),
    /// A line over the `--max-line-bytes` bound, dropped unread: its size and how it began
    /// (the session counts these, and fails when the awaited reply was one).
    DroppedLine {
        bytes: u64,
        bound: usize,
        head: String,
    },
    /// A message nested deeper than [`MAX_JSON_DEPTH`], not read: its size and how it began
    /// (the session fails at once: the reply may be in it, and waiting for another is vain).
    TooDeep { bytes: u64, head: String },
    /// The server closed its side (EOF on stdout, the event stream ended). `reason` says why.
    Closed { reason: String },
}

impl Inbound {
    /// One message from JSON text the transport has read as such. A lone surrogate escape
    /// (`"\ud800"`, which JavaScript and Python clients accept) becomes `\ufffd` here, once,
    /// so that no later parser refuses the message or a name in it and the host can flag it.
    pub(crate) fn message(json: &RawValue) -> Inbound {
        match mcp_probe_types::replace_lone_surrogates(json.get()) {
            None => Inbound::Message(json.to_owned()),
            Some(repaired) => Inbound::Message(
                RawValue::from_string(repaired).expect("repairing escapes keeps JSON valid"),
            ),
        }
    }
}

impl Inbound {
    /// The line the transcript keeps for what is no message: the noise itself, or what a
    /// dropped or unread message was.
    pub fn describe(&self) -> Option<String> {
        match self {
            Inbound::Noise(text) => Some(text.clone()),
            Inbound::DroppedLine { bytes, bound, head } => Some(format!(
                "[line of {bytes} bytes dropped: longer than the {bound} byte bound; it began: {head}]"
            )),
            Inbound::TooDeep { bytes, head } => Some(format!(
                "[a JSON message nested deeper than {MAX_JSON_DEPTH} levels ({bytes} bytes); it began: {head}]"
            )),
            Inbound::Message(_) | Inbound::Closed { .. } => None,
        }
    }
}

/// Messages are equal when their texts are (`RawValue` has no `PartialEq` of its own).
impl PartialEq for Inbound {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Inbound::Message(a), Inbound::Message(b)) => a.get() == b.get(),
            (Inbound::Noise(a), Inbound::Noise(b)) => a == b,
            (
                Inbound::DroppedLine { bytes, bound, head },
                Inbound::DroppedLine {
                    bytes: b,
                    bound: d,
                    head: h,
                },
            ) => (bytes, bound, head) == (b, d, h),
            (Inbound::TooDeep { bytes, head }, Inbound::TooDeep { bytes: b, head: h }) => {
                (bytes, head) == (b, h)
            }
            (Inbound::Closed { reason: a }, Inbound::Closed { reason: b }) => a == b,
            _ => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP error: {0}")]
    Http(String),
    /// The URL answered, but not as an MCP endpoint of the kind tried: 404 or 405 to the first
    /// request (also 400 to the legacy SSE `GET`), or a first reply that is neither JSON nor an
    /// event stream (a web page, an empty body). Another endpoint may work.
    #[error("{url} is not an MCP endpoint: {detail}")]
    WrongEndpoint {
        url: String,
        status: u16,
        detail: String,
    },
    #[error("{0}")]
    Protocol(String),
    /// HTTP 400 without a JSON-RPC error in the body: to the era probe, the answer of a
    /// legacy server (streamable-http.mdx, "Backward Compatibility").
    #[error("{0}")]
    BadRequest(String),
}

/// A message-level, bidirectional channel to one MCP server.
#[async_trait::async_trait]
pub trait Transport: Send {
    /// Sends one JSON-RPC message (request, notification or response).
    async fn send(&mut self, message: Value) -> Result<(), TransportError>;
    /// Waits for the next thing the server says. After `Inbound::Closed` it keeps returning
    /// `Closed`.
    async fn recv(&mut self) -> Result<Inbound, TransportError>;
    /// Called once the handshake settled on a protocol version (HTTP sends it as the
    /// `MCP-Protocol-Version` header from then on).
    fn set_protocol_version(&mut self, _version: &str) {}
    /// Ends the session politely (stdin EOF; HTTP DELETE of the session).
    async fn close(&mut self) -> Result<(), TransportError>;
    /// Which transport this is.
    fn kind(&self) -> TransportKind;
}

/// The transports there are, as the session tells them apart (the legacy SSE transport has
/// no `server/discover`; a stdio server that exits on the era probe is started again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    Stdio,
    StreamableHttp,
    Sse,
}

impl TransportKind {
    /// The short name in logs and reports: `stdio`, `streamable_http`, `sse`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Stdio => "stdio",
            TransportKind::StreamableHttp => "streamable_http",
            TransportKind::Sse => "sse",
        }
    }
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
