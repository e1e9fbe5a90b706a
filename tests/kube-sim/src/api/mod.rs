//! core/v1 resource handlers.
pub mod namespaces;
pub mod patch;
pub mod pods;
pub mod secrets;
pub mod services;
pub mod table;
pub mod watch;

use serde_json::Value;

use crate::error::ApiError;
use crate::selectors::{dns1035_label_error, dns1123_subdomain_error};
use crate::server::Query;
use crate::store::Kind;

/// Fills in `metadata.name` from `generateName` and checks the name and namespace.
pub fn prepare_metadata(kind: Kind, namespace: &str, obj: &mut Value) -> Result<String, ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be an object",
        ));
    }
    if let Some(ns) = obj["metadata"]["namespace"].as_str() {
        if ns != namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    let mut name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() {
        if let Some(prefix) = obj["metadata"]["generateName"].as_str() {
            let suffix: String = uuid::Uuid::new_v4()
                .simple()
                .to_string()
                .chars()
                .take(5)
                .collect();
            name = format!("{}{suffix}", &prefix[..prefix.len().min(58)]);
            obj["metadata"]["name"] = Value::String(name.clone());
        }
    }
    if name.is_empty() {
        return Err(ApiError::invalid(
            kind,
            "",
            vec![(
                "metadata.name".into(),
                "Required value: name or generateName is required".into(),
            )],
        ));
    }
    // Each kind's names are validated as the real API server validates them.
    let invalid = match kind {
        Kind::Pod | Kind::Secret => dns1123_subdomain_error(&name),
        Kind::Service => dns1035_label_error(&name),
    };
    if let Some(msg) = invalid {
        return Err(ApiError::invalid(
            kind,
            &name,
            vec![(
                "metadata.name".into(),
                format!("Invalid value: \"{name}\": {msg}"),
            )],
        ));
    }
    Ok(name)
}

/// `gracePeriodSeconds` and `propagationPolicy` from the query or a DeleteOptions body.
pub struct DeleteOptions {
    pub grace: Option<i64>,
    pub propagation: String,
}

impl DeleteOptions {
    pub fn from(query: &Query, body: &Value) -> Result<Self, ApiError> {
        let grace = match query.get("gracePeriodSeconds") {
            Some(g) => Some(
                g.parse()
                    .map_err(|_| ApiError::bad_request("invalid gracePeriodSeconds"))?,
            ),
            None => body["gracePeriodSeconds"].as_i64(),
        };
        let propagation = query
            .get("propagationPolicy")
            .cloned()
            .or_else(|| body["propagationPolicy"].as_str().map(str::to_owned))
            .or_else(|| {
                body["orphanDependents"]
                    .as_bool()
                    .filter(|o| *o)
                    .map(|_| "Orphan".into())
            })
            .unwrap_or_else(|| "Background".into());
        if !matches!(propagation.as_str(), "Background" | "Foreground" | "Orphan") {
            return Err(ApiError::bad_request(format!(
                "unsupported propagationPolicy {propagation:?}"
            )));
        }
        Ok(DeleteOptions { grace, propagation })
    }
}
