//! The MCP client session: JSON-RPC framing and ids, the era and the handshake, pagination,
//! the transcript.
//!
//! Public surface: [`Session`] (over any [`crate::transport::Transport`]), its options and
//! results, and the client capabilities it declares.

pub mod answers;
pub mod capabilities;
pub mod discovery;
pub mod era;
mod handshake;
pub mod jsonrpc;
pub mod session;
pub mod tool_headers;
pub mod transcript;

pub use capabilities::{
    ClientCapabilities, LATEST_PROTOCOL_VERSION, MODERN_PROTOCOL_VERSIONS,
    SUPPORTED_PROTOCOL_VERSIONS,
};
pub use discovery::Discovery;
pub use era::{Era, ProtocolEra, Versions};
pub use session::{ServerHello, Session, SessionError, SessionOptions};
