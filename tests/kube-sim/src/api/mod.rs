//! core/v1 resource handlers.
pub mod field_validation;
pub mod jobs;
pub mod namespaces;
pub mod patch;
pub mod pod_defaults;
pub mod pods;
pub mod secrets;
pub mod services;
pub mod table;
pub mod watch;

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::Value;

use crate::error::ApiError;
use crate::names;
use crate::server::{object_response, Query, Resp};
use crate::store::{Key, Kind};
use crate::Ctx;

/// Whether the client asked for a Table (`kubectl get` sends `Accept: ...;as=Table;...`).
pub fn wants_table(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(hyper::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"))
}

/// GET on a collection: a watch (`verb` is `watch`), a Table, or a list.
pub fn get_collection(
    ctx: &Arc<Ctx>,
    kind: Kind,
    namespace: Option<&str>,
    query: &Query,
    verb: &str,
    table: bool,
) -> Result<Resp, ApiError> {
    match (verb, table) {
        ("watch", _) => watch::watch(ctx, kind, namespace, query),
        (_, true) => table::list(ctx, kind, namespace, query),
        _ => watch::list(ctx, kind, namespace, query),
    }
}

/// DELETE of an object that has no termination of its own (a Secret, a Service): its
/// dependents orphaned, deleted first, or left to the garbage collector, as `opts` says.
pub async fn delete_object(
    ctx: &Arc<Ctx>,
    key: &Key,
    object: &Value,
    opts: DeleteOptions,
) -> Result<Resp, ApiError> {
    match opts.propagation.as_str() {
        "Orphan" => crate::gc::orphan(ctx, object),
        "Foreground" => crate::gc::delete_dependents_first(ctx, object).await,
        _ => {}
    }
    let removed = crate::gc::delete(ctx, key, opts.grace)?;
    Ok(object_response(StatusCode::OK, &removed))
}

/// Fills in `metadata.name` from `generateName` and checks the name and namespace, as the API
/// server's ValidateObjectMeta does (every failing rule is one cause).
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
    // Every valid namespace exists; an invalid name cannot, so the lifecycle check finds none.
    if !names::dns1123_label(namespace).is_empty() {
        return Err(ApiError::namespace_not_found(namespace));
    }
    let generate_name = obj["metadata"]["generateName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() && !generate_name.is_empty() {
        name = names::generate(&generate_name);
        obj["metadata"]["name"] = Value::String(name.clone());
    }
    let quoted = |s: &str| Value::String(s.to_owned()).to_string();
    let mut causes = Vec::new();
    if !generate_name.is_empty() {
        for msg in names::name_errors(kind, &generate_name, true) {
            causes.push((
                "metadata.generateName".to_owned(),
                format!("Invalid value: {}: {msg}", quoted(&generate_name)),
            ));
        }
    }
    if name.is_empty() {
        causes.push((
            "metadata.name".into(),
            "Required value: name or generateName is required".into(),
        ));
    } else {
        for msg in names::name_errors(kind, &name, false) {
            causes.push((
                "metadata.name".into(),
                format!("Invalid value: {}: {msg}", quoted(&name)),
            ));
        }
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(kind, &name, causes));
    }
    Ok(name)
}

/// `gracePeriodSeconds` and `propagationPolicy` from the query or a DeleteOptions body.
pub struct DeleteOptions {
    pub grace: Option<i64>,
    pub propagation: String,
    /// The request named no policy: `propagation` is the resource's default.
    pub defaulted: bool,
}

impl DeleteOptions {
    /// The options of a request, `Background` when it names no policy.
    pub fn from(query: &Query, body: &Value) -> Result<Self, ApiError> {
        Self::with_default(query, body, "Background")
    }

    /// The options of a request, `default` when it names no policy (a batch/v1 Job's is
    /// `Orphan`, kept for compatibility).
    pub fn with_default(query: &Query, body: &Value, default: &str) -> Result<Self, ApiError> {
        let grace = match query.get("gracePeriodSeconds") {
            Some(g) => Some(
                g.parse()
                    .map_err(|_| ApiError::bad_request("invalid gracePeriodSeconds"))?,
            ),
            None => body["gracePeriodSeconds"].as_i64(),
        };
        let given = query
            .get("propagationPolicy")
            .cloned()
            .or_else(|| body["propagationPolicy"].as_str().map(str::to_owned))
            .or_else(|| {
                query
                    .get("orphanDependents")
                    .map(|o| o == "true")
                    .or_else(|| body["orphanDependents"].as_bool())
                    .map(|o| if o { "Orphan" } else { "Background" }.into())
            });
        let defaulted = given.is_none();
        let propagation = given.unwrap_or_else(|| default.into());
        if !matches!(propagation.as_str(), "Background" | "Foreground" | "Orphan") {
            return Err(ApiError::bad_request(format!(
                "unsupported propagationPolicy {propagation:?}"
            )));
        }
        Ok(DeleteOptions {
            grace,
            propagation,
            defaulted,
        })
    }
}
