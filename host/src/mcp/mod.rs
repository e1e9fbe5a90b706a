//! The MCP client session: JSON-RPC framing and ids, the handshake, pagination, the transcript.
//!
//! Public surface: [`Session`] (over any [`crate::transport::Transport`]), its options and
//! results, and the client capabilities it declares.

pub mod capabilities;
pub mod jsonrpc;
pub mod session;

pub use capabilities::{ClientCapabilities, LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS};
pub use session::{Discovery, ServerHello, Session, SessionError, SessionOptions};
