//! JSON-RPC 2.0 framing for the session: building messages and sorting what arrives.
//!
//! Messages stay `serde_json::Value` rather than a strict typed model (such as rmcp's): servers
//! send ids as numbers or strings, omit `jsonrpc`, add members, and mix log objects into the
//! stream. A strict deserializer rejects the whole message (or the whole session) over such
//! details; classifying a `Value` lets the client keep going and keep everything it saw.

use serde_json::{json, Map, Value};

/// The JSON-RPC "method not found" error code.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// What MCP servers use when a user rejects a request (sampling).
pub const USER_REJECTED: i64 = -1;

/// One JSON-RPC message, sorted by kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A successful reply.
    Response { id: Value, result: Value },
    /// An error reply (`id` may be null when the server could not read our request).
    ErrorReply { id: Value, error: RpcError },
    /// A request from the server that expects an answer.
    Request {
        id: Value,
        method: String,
        params: Option<Value>,
    },
    /// A notification from the server (logging, progress, list_changed, ...).
    Notification {
        method: String,
        params: Option<Value>,
    },
    /// JSON that is not a JSON-RPC message (kept for the transcript, otherwise ignored).
    Other(Value),
}

/// The `error` member of an error reply.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JSON-RPC error {}: {}", self.code, self.message)?;
        match super::era::modern_error_name(self.code) {
            Some(name) => write!(f, " ({name})"),
            None => Ok(()),
        }
    }
}

/// Sorts one parsed value; a batch (array) gives one entry per element.
pub fn classify(value: Value) -> Vec<Incoming> {
    match value {
        Value::Array(items) => items.into_iter().map(classify_one).collect(),
        other => vec![classify_one(other)],
    }
}

fn classify_one(value: Value) -> Incoming {
    let Value::Object(mut obj) = value else {
        return Incoming::Other(value);
    };
    let method = match obj.get("method") {
        Some(Value::String(m)) => Some(m.clone()),
        _ => None,
    };
    let id = obj.get("id").filter(|id| is_valid_id(id)).cloned();
    match (method, id) {
        (Some(method), Some(id)) => Incoming::Request {
            id,
            method,
            params: obj.remove("params"),
        },
        (Some(method), None) if !obj.contains_key("id") => Incoming::Notification {
            method,
            params: obj.remove("params"),
        },
        (None, id) if obj.contains_key("error") => {
            let error = rpc_error(obj.remove("error").unwrap_or(Value::Null));
            Incoming::ErrorReply {
                id: id.unwrap_or(Value::Null),
                error,
            }
        }
        (None, Some(id)) if obj.contains_key("result") => Incoming::Response {
            id,
            result: obj.remove("result").unwrap_or(Value::Null),
        },
        _ => Incoming::Other(Value::Object(obj)),
    }
}

fn is_valid_id(id: &Value) -> bool {
    matches!(id, Value::Number(_) | Value::String(_))
}

/// Reads an `error` member leniently: a missing code or message still gives an error.
fn rpc_error(error: Value) -> RpcError {
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    let message = match error.get("message") {
        Some(Value::String(m)) => m.clone(),
        Some(other) => other.to_string(),
        None if error.is_string() => error.as_str().unwrap_or_default().to_owned(),
        None => "(no message)".to_owned(),
    };
    RpcError {
        code,
        message,
        data: error.get("data").cloned(),
    }
}

/// True when a reply's id answers our request `ours` (some servers echo `1` as `"1"`).
pub fn id_matches(reply: &Value, ours: u64) -> bool {
    match reply {
        Value::Number(n) => n.as_u64() == Some(ours),
        Value::String(s) => s.parse::<u64>().ok() == Some(ours),
        _ => false,
    }
}

/// A request with our numeric id.
pub fn request(id: u64, method: &str, params: Option<Value>) -> Value {
    let mut obj = Map::new();
    obj.insert("jsonrpc".into(), json!("2.0"));
    obj.insert("id".into(), json!(id));
    obj.insert("method".into(), json!(method));
    if let Some(params) = params {
        obj.insert("params".into(), params);
    }
    Value::Object(obj)
}

/// A notification (no id, no reply expected).
pub fn notification(method: &str) -> Value {
    json!({"jsonrpc": "2.0", "method": method})
}

/// A successful answer to a server's request.
pub fn response(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// An error answer to a server's request.
pub fn error_response(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_each_kind() {
        let got = classify(json!([
            {"jsonrpc": "2.0", "id": 1, "result": {"tools": []}},
            {"jsonrpc": "2.0", "id": "x", "error": {"code": -32601, "message": "nope"}},
            {"jsonrpc": "2.0", "id": 7, "method": "ping"},
            {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info"}},
            {"level": "info", "msg": "a log object"},
            3
        ]));
        assert_eq!(got.len(), 6);
        assert!(matches!(&got[0], Incoming::Response { id, .. } if id == &json!(1)));
        assert!(
            matches!(&got[1], Incoming::ErrorReply { error, .. } if error.code == -32601 && error.message == "nope")
        );
        assert!(matches!(&got[2], Incoming::Request { method, .. } if method == "ping"));
        assert!(
            matches!(&got[3], Incoming::Notification { method, .. } if method == "notifications/message")
        );
        assert!(matches!(&got[4], Incoming::Other(_)));
        assert!(matches!(&got[5], Incoming::Other(_)));
    }

    #[test]
    fn error_reply_without_id_or_code_is_still_an_error() {
        let got = classify(json!({"jsonrpc": "2.0", "id": null, "error": {"message": "bad"}}));
        assert!(
            matches!(&got[0], Incoming::ErrorReply { id: Value::Null, error } if error.code == 0 && error.message == "bad")
        );
    }

    #[test]
    fn ids_match_as_number_or_numeric_string() {
        assert!(id_matches(&json!(3), 3));
        assert!(id_matches(&json!("3"), 3));
        assert!(!id_matches(&json!(4), 3));
        assert!(!id_matches(&Value::Null, 3));
    }

    #[test]
    fn request_omits_absent_params() {
        assert_eq!(
            request(2, "tools/list", None),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        );
    }
}
