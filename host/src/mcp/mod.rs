//! The MCP client session: JSON-RPC framing and ids, the handshake, pagination, the transcript.
