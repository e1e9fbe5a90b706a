//! JSON-RPC 2.0 framing for the session: building messages and sorting what arrives.
//!
//! Incoming messages are sorted from their text through a borrowing [`Envelope`] rather than
//! a strict typed model (such as rmcp's): servers send ids as numbers or strings, omit
//! `jsonrpc`, add members, repeat members, and mix log objects into the stream. A strict
//! deserializer rejects the whole message (or the whole session) over such details; reading
//! only the members that sort a message lets the client keep going and keep everything it
//! saw. Nothing here builds a `Value` of a whole message: a result stays the text it came as.

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use std::borrow::Cow;

/// The JSON-RPC "method not found" error code.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// What MCP servers use when a user rejects a request (sampling).
pub const USER_REJECTED: i64 = -1;

/// One JSON-RPC message, sorted by kind.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A successful reply; `result` as the text the server sent (a 100 000-tool list is read
    /// from it by discovery, never held as a `Value`).
    Response { id: Value, result: Box<RawValue> },
    /// An error reply (`id` may be null when the server could not read our request).
    ErrorReply { id: Value, error: RpcError },
    /// A request from the server that expects an answer.
    Request {
        id: Value,
        method: String,
        params: Option<Box<RawValue>>,
    },
    /// A notification from the server (logging, progress, list_changed, ...).
    Notification {
        method: String,
        params: Option<Box<RawValue>>,
    },
    /// JSON that is not a JSON-RPC message (kept for the transcript, otherwise ignored).
    Other(Box<RawValue>),
}

/// The members of one message that sort it, borrowed from its text. A member present with any
/// value, `null` included, is `Some` (a `"result": null` is a result); of a repeated member
/// the last counts, as in a parsed `Value`; other members are skipped unread.
#[derive(Debug, Default)]
pub(crate) struct Envelope<'a> {
    pub jsonrpc: Option<&'a RawValue>,
    pub id: Option<&'a RawValue>,
    pub method: Option<&'a RawValue>,
    pub params: Option<&'a RawValue>,
    pub result: Option<&'a RawValue>,
    pub error: Option<&'a RawValue>,
}

impl<'a> Envelope<'a> {
    /// The envelope of one message; `None` when it is not a JSON object.
    pub(crate) fn of(message: &'a RawValue) -> Option<Envelope<'a>> {
        serde_json::from_str(message.get()).ok()
    }

    /// `method` when it is a string (a number or an object there is no method).
    pub(crate) fn method_name(&self) -> Option<String> {
        self.method
            .and_then(|m| serde_json::from_str::<String>(m.get()).ok())
    }

    /// The id, when it is one a reply can carry: a number or a string.
    pub(crate) fn valid_id(&self) -> Option<Value> {
        self.id
            .filter(|id| {
                id.get()
                    .starts_with(|c: char| c == '"' || c == '-' || c.is_ascii_digit())
            })
            .and_then(|id| serde_json::from_str(id.get()).ok())
    }
}

impl<'de> Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;

        impl<'de> Visitor<'de> for Members {
            type Value = Envelope<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON-RPC message (an object)")
            }

            fn visit_map<A: MapAccess<'de>>(
                self,
                mut members: A,
            ) -> Result<Envelope<'de>, A::Error> {
                let mut envelope = Envelope::default();
                while let Some(name) = members.next_key::<Cow<'de, str>>()? {
                    let slot = match name.as_ref() {
                        "jsonrpc" => &mut envelope.jsonrpc,
                        "id" => &mut envelope.id,
                        "method" => &mut envelope.method,
                        "params" => &mut envelope.params,
                        "result" => &mut envelope.result,
                        "error" => &mut envelope.error,
                        _ => {
                            members.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = Some(members.next_value::<&'de RawValue>()?);
                }
                Ok(envelope)
            }
        }

        deserializer.deserialize_map(Members)
    }
}

/// A small piece of a message (an id, an error) as a `Value`; the text was validated, so
/// this fails only for a number serde_json cannot hold, read as null.
pub(crate) fn value_of(json: &RawValue) -> Value {
    serde_json::from_str(json.get()).unwrap_or(Value::Null)
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
        // The server's message, cut to one short line: it may be megabytes.
        let message = crate::excerpt::one_line(&self.message);
        write!(f, "JSON-RPC error {}: {message}", self.code)?;
        match super::era::modern_error_name(self.code) {
            Some(name) => write!(f, " ({name})"),
            None => Ok(()),
        }
    }
}

/// Sorts one message; a batch (array) gives one entry per element.
pub fn classify(message: &RawValue) -> Vec<Incoming> {
    if !message.get().starts_with('[') {
        return vec![classify_one(message)];
    }
    match serde_json::from_str::<Vec<&RawValue>>(message.get()) {
        Ok(items) => items.into_iter().map(classify_one).collect(),
        Err(_) => vec![Incoming::Other(message.to_owned())],
    }
}

fn classify_one(message: &RawValue) -> Incoming {
    let Some(envelope) = Envelope::of(message) else {
        return Incoming::Other(message.to_owned());
    };
    let params = || envelope.params.map(ToOwned::to_owned);
    match (envelope.method_name(), envelope.valid_id()) {
        (Some(method), Some(id)) => Incoming::Request {
            id,
            method,
            params: params(),
        },
        (Some(method), None) if envelope.id.is_none() => Incoming::Notification {
            method,
            params: params(),
        },
        (None, id) if envelope.error.is_some() => Incoming::ErrorReply {
            id: id.unwrap_or(Value::Null),
            error: rpc_error(envelope.error.map_or(Value::Null, value_of)),
        },
        (None, Some(id)) => match envelope.result {
            Some(result) => Incoming::Response {
                id,
                result: result.to_owned(),
            },
            None => Incoming::Other(message.to_owned()),
        },
        _ => Incoming::Other(message.to_owned()),
    }
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

/// True when a reply's id answers our request `ours`. JSON-RPC ids match by type and value:
/// our ids are numbers, so `"3"` (or `3.0`) answers nothing we sent.
pub fn id_matches(reply: &Value, ours: u64) -> bool {
    matches!(reply, Value::Number(n) if n.as_u64() == Some(ours))
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

    fn sorted(text: &str) -> Vec<Incoming> {
        classify(&RawValue::from_string(text.to_owned()).unwrap())
    }

    #[test]
    fn sorts_each_kind() {
        let got = sorted(
            r#"[
            {"jsonrpc": "2.0", "id": 1, "result": {"tools": []}},
            {"jsonrpc": "2.0", "id": "x", "error": {"code": -32601, "message": "nope"}},
            {"jsonrpc": "2.0", "id": 7, "method": "ping"},
            {"jsonrpc": "2.0", "method": "notifications/message", "params": {"level": "info"}},
            {"level": "info", "msg": "a log object"},
            3
        ]"#,
        );
        assert_eq!(got.len(), 6);
        assert!(
            matches!(&got[0], Incoming::Response { id, result } if id == &json!(1) && result.get() == r#"{"tools": []}"#)
        );
        assert!(
            matches!(&got[1], Incoming::ErrorReply { id, error } if id == "x" && error.code == -32601 && error.message == "nope")
        );
        assert!(
            matches!(&got[2], Incoming::Request { method, id, .. } if method == "ping" && id == 7)
        );
        assert!(
            matches!(&got[3], Incoming::Notification { method, params: Some(p) } if method == "notifications/message" && p.get() == r#"{"level": "info"}"#)
        );
        assert!(matches!(&got[4], Incoming::Other(text) if text.get().contains("a log object")));
        assert!(matches!(&got[5], Incoming::Other(text) if text.get() == "3"));
    }

    #[test]
    fn a_null_result_is_a_result_and_a_missing_one_is_not() {
        let got = sorted(r#"{"jsonrpc": "2.0", "id": 4, "result": null}"#);
        assert!(
            matches!(&got[0], Incoming::Response { id, result } if id == 4 && result.get() == "null")
        );
        assert!(matches!(&sorted(r#"{"id": 4}"#)[0], Incoming::Other(_)));
        // A null error is still an error reply, as `contains_key("error")` said.
        let got = sorted(r#"{"id": 4, "error": null}"#);
        assert!(
            matches!(&got[0], Incoming::ErrorReply { error, .. } if error.message == "(no message)")
        );
    }

    #[test]
    fn ids_are_numbers_or_strings_and_jsonrpc_may_be_missing() {
        let got = sorted(r#"{"id": "12", "result": {}}"#);
        assert!(
            matches!(&got[0], Incoming::Response { id, .. } if id == "12" && !id_matches(id, 12))
        );
        let got = sorted(r#"{"id": -3, "result": 1, "x-extra": [1, 2]}"#);
        assert!(matches!(&got[0], Incoming::Response { id, .. } if id == -3));
        // An id that is no number or string makes no response ...
        assert!(matches!(
            &sorted(r#"{"id": {"a": 1}, "result": {}}"#)[0],
            Incoming::Other(_)
        ));
        assert!(matches!(
            &sorted(r#"{"id": null, "result": {}}"#)[0],
            Incoming::Other(_)
        ));
        // ... and with a method, no notification either (an id was there).
        assert!(matches!(
            &sorted(r#"{"id": null, "method": "ping"}"#)[0],
            Incoming::Other(_)
        ));
    }

    #[test]
    fn a_method_that_is_no_string_is_no_method() {
        let got = sorted(r#"{"id": 2, "method": 5, "result": {"ok": true}}"#);
        assert!(matches!(&got[0], Incoming::Response { id, .. } if id == 2));
        let got = sorted(r#"{"method": {"name": "x"}}"#);
        assert!(matches!(&got[0], Incoming::Other(_)));
        let got = sorted(r#"{"method": "notifications/\u0070rogress"}"#);
        assert!(
            matches!(&got[0], Incoming::Notification { method, params: None } if method == "notifications/progress")
        );
    }

    #[test]
    fn a_repeated_member_counts_once_the_last_time() {
        let got = sorted(r#"{"id": 1, "result": {"a": 1}, "result": {"b": 2}, "id": 9}"#);
        assert!(
            matches!(&got[0], Incoming::Response { id, result } if id == 9 && result.get() == r#"{"b": 2}"#)
        );
        let got = sorted(r#"{"\u0069d": 3, "result": []}"#);
        assert!(matches!(&got[0], Incoming::Response { id, .. } if id == 3));
    }

    #[test]
    fn non_object_messages_and_batch_elements_are_other() {
        assert!(matches!(&sorted(r#"[]"#)[..], []));
        let got = sorted(r#"[1, "two", null, [3], {"id": 1, "result": 0}]"#);
        assert_eq!(got.len(), 5);
        assert!(got[..4].iter().all(|m| matches!(m, Incoming::Other(_))));
        assert!(matches!(&got[4], Incoming::Response { .. }));
        assert!(matches!(&sorted(r#""text""#)[0], Incoming::Other(_)));
    }

    #[test]
    fn error_reply_without_id_or_code_is_still_an_error() {
        let got = sorted(r#"{"jsonrpc": "2.0", "id": null, "error": {"message": "bad"}}"#);
        assert!(
            matches!(&got[0], Incoming::ErrorReply { id: Value::Null, error } if error.code == 0 && error.message == "bad")
        );
        let got = sorted(r#"{"error": "just text", "id": 5}"#);
        assert!(
            matches!(&got[0], Incoming::ErrorReply { id, error } if id == 5 && error.message == "just text")
        );
    }

    #[test]
    fn ids_match_by_type_and_value() {
        assert!(id_matches(&json!(3), 3));
        assert!(!id_matches(&json!("3"), 3));
        assert!(!id_matches(&json!(3.0), 3));
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
