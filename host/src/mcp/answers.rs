//! What the client answers when the server asks it something. A discovery client has no user,
//! no model and no roots to share, so it answers what it can and declines the rest; either way
//! it answers at once, so that a server never waits on it.

use super::jsonrpc::{self, METHOD_NOT_FOUND, USER_REJECTED};
use serde_json::{json, Value};

/// The reply to the server's request `method` with id `id`.
pub fn answer_server_request(id: Value, method: &str) -> Value {
    match method {
        "ping" => jsonrpc::response(id, json!({})),
        "roots/list" => jsonrpc::response(id, json!({"roots": []})),
        // The elicitation result has a "decline" action of its own.
        "elicitation/create" => jsonrpc::response(id, json!({"action": "decline"})),
        // Sampling has no decline result; MCP servers read code -1 as "the user rejected it".
        "sampling/createMessage" => jsonrpc::error_response(
            id,
            USER_REJECTED,
            "mcp-probe only lists what a server offers; it declines sampling",
        ),
        _ => jsonrpc::error_response(id, METHOD_NOT_FOUND, "Method not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_keep_the_id_and_decline_what_needs_a_user() {
        assert_eq!(
            answer_server_request(json!("a"), "ping"),
            json!({"jsonrpc": "2.0", "id": "a", "result": {}})
        );
        assert_eq!(
            answer_server_request(json!(1), "elicitation/create")["result"],
            json!({"action": "decline"})
        );
        assert_eq!(
            answer_server_request(json!(2), "sampling/createMessage")["error"]["code"],
            json!(-1)
        );
        assert_eq!(
            answer_server_request(json!(3), "tasks/get")["error"]["code"],
            json!(-32601)
        );
    }
}
