//! The MCP client session: JSON-RPC framing and ids, the handshake, pagination, the transcript.
//!
//! Public surface: [`Session`] (over any [`crate::transport::Transport`]), its options and
//! results, and the client capabilities it declares.

pub mod answers;
pub mod capabilities;
pub mod discovery;
pub mod jsonrpc;
pub mod session;
pub mod transcript;

pub use capabilities::{ClientCapabilities, LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS};
pub use discovery::Discovery;
pub use session::{ServerHello, Session, SessionError, SessionOptions};
