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

/// How the noise standing for a message too deeply nested to read begins (the session fails
/// at once on it: the reply may be in it, and waiting for another would be in vain).
pub const TOO_DEEP_PREFIX: &str = "[a JSON message nested deeper than ";

/// How deep a message may nest: what serde_json reads into a `Value` (the types crate's byte
/// check, shared with the tool files `validate` reads).
pub use mcp_probe_types::{is_too_deep, MAX_JSON_DEPTH};

/// The noise standing for `text`, a message nested too deeply to read.
pub(crate) fn too_deep(text: &str) -> Inbound {
    let head: String = text.chars().take(120).collect();
    Inbound::Noise(format!(
        "{TOO_DEEP_PREFIX}{MAX_JSON_DEPTH} levels ({} bytes); it began: {head}]",
        text.len()
    ))
}

/// One thing the server said.
#[derive(Debug, Clone)]
pub enum Inbound {
    /// One message (a line, an HTTP body or an SSE event, or one element of a batch body) as
    /// the JSON text the server sent, validated: an object, or (on stdio) an array. It is never
    /// held as a whole `Value`: a 100 000-tool reply would take many times its text.
    Message(Box<RawValue>),
    /// Output that is not JSON (log noise on stdout, an over-long line, invalid UTF-8),
    /// lossily decoded; kept for the transcript, never fatal.
    Noise(String),
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

/// Messages are equal when their texts are (`RawValue` has no `PartialEq` of its own).
impl PartialEq for Inbound {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Inbound::Message(a), Inbound::Message(b)) => a.get() == b.get(),
            (Inbound::Noise(a), Inbound::Noise(b)) => a == b,
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
    /// A short name for reports: `stdio`, `streamable_http`, `sse`.
    fn kind(&self) -> &'static str;
}
