//! `fieldValidation` (`Ignore`, `Warn` (the default), `Strict`): what the API server does with
//! fields of a request body that its schema does not know. A field is unknown when decoding
//! the body into the kind's type and encoding it again loses it.
use serde_json::Value;

use crate::error::ApiError;
use crate::server::{Query, Resp};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValidation {
    /// Unknown fields are dropped silently.
    Ignore,
    /// Unknown fields are dropped, each reported in a `Warning` header.
    Warn,
    /// A body with an unknown field is refused (400).
    Strict,
}

impl FieldValidation {
    pub fn from_query(query: &Query) -> Result<Self, ApiError> {
        match query.get("fieldValidation").map(String::as_str) {
            None | Some("") | Some("Warn") => Ok(FieldValidation::Warn),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation: Unsupported value: {}: supported values: \"\", \"Ignore\", \
                 \"Strict\", \"Warn\"",
                Value::String(other.to_owned())
            ))),
        }
    }

    /// Checks `body` against `known` (the body decoded and encoded again): an error under
    /// Strict, else the warnings to send. `what` is the decoding context of the message
    /// (`Job in version "v1" cannot be handled as a Job`).
    pub fn check(self, what: &str, body: &Value, known: &Value) -> Result<Vec<String>, ApiError> {
        let mut unknown = Vec::new();
        unknown_fields(body, known, "", &mut unknown);
        let messages: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field {}", Value::String(f.clone())))
            .collect();
        match self {
            FieldValidation::Strict if !messages.is_empty() => Err(ApiError::bad_request(format!(
                "{what}: strict decoding error: {}",
                messages.join(", ")
            ))),
            FieldValidation::Warn => Ok(messages),
            _ => Ok(Vec::new()),
        }
    }
}

/// Paths (`spec.template.spec.containers[0].foo`) present in `body` but not in `known`. A null
/// is skipped: decoding turns a known field's null into its absence.
fn unknown_fields(body: &Value, known: &Value, path: &str, out: &mut Vec<String>) {
    match (body, known) {
        (Value::Object(fields), Value::Object(kept)) => {
            for (name, value) in fields {
                let at = match path {
                    "" => name.clone(),
                    _ => format!("{path}.{name}"),
                };
                match kept.get(name) {
                    Some(k) => unknown_fields(value, k, &at, out),
                    None if !value.is_null() => out.push(at),
                    None => {}
                }
            }
        }
        (Value::Array(items), Value::Array(kept)) => {
            for (i, (item, k)) in items.iter().zip(kept).enumerate() {
                unknown_fields(item, k, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Adds each warning as the API server does: `Warning: 299 - "TEXT"`.
pub fn with_warnings(mut resp: Resp, warnings: &[String]) -> Resp {
    for w in warnings {
        let value = format!("299 - {}", Value::String(w.clone()));
        if let Ok(v) = hyper::header::HeaderValue::from_str(&value) {
            resp.headers_mut().append("warning", v);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_fields_are_named_by_path() {
        let body = json!({"spec": {"a": 1, "typo": 2, "list": [{"x": 1, "y": 2}], "gone": null}});
        let known = json!({"spec": {"a": 1, "list": [{"x": 1}]}});
        let mut out = Vec::new();
        unknown_fields(&body, &known, "", &mut out);
        assert_eq!(out, ["spec.list[0].y", "spec.typo"]);
        let err = FieldValidation::Strict
            .check("X", &body, &known)
            .unwrap_err();
        assert_eq!(
            err.message,
            "X: strict decoding error: unknown field \"spec.list[0].y\", unknown field \"spec.typo\""
        );
        assert_eq!(
            FieldValidation::Warn
                .check("X", &body, &known)
                .unwrap()
                .len(),
            2
        );
        assert!(FieldValidation::Ignore
            .check("X", &body, &known)
            .unwrap()
            .is_empty());
    }
}
