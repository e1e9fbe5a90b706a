//! /api/v1/namespaces/NS/secrets: stored with `stringData` merged into `data` (base64), as the
//! real API server does, on create, PUT and PATCH; read by the fake kubelet for `secretKeyRef`
//! and `envFrom`. Values never reach a log or an error message.
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use serde_json::Value;

use super::{prepare_metadata, DeleteOptions};
use crate::error::ApiError;
use crate::server::{object_response, read_json, Query, Resp, Target};
use crate::store::{Key, Kind};
use crate::Ctx;

/// The most a Secret's `data` may hold, in bytes (MaxSecretSize).
pub const MAX_SIZE: usize = 1024 * 1024;

pub async fn handle(
    ctx: &Arc<Ctx>,
    req: Request<Incoming>,
    t: Target,
    q: Query,
    verb: &str,
) -> Result<Resp, ApiError> {
    let ns = t.namespace.clone();
    let wants_table = super::wants_table(&req);
    match (
        req.method().clone(),
        t.name.as_deref(),
        t.subresource.as_deref(),
    ) {
        (Method::GET, None, None) => {
            super::get_collection(ctx, Kind::Secret, ns.as_deref(), &q, verb, wants_table)
        }
        (Method::POST, None, None) => {
            let ns = ns.ok_or_else(ApiError::method_not_allowed)?;
            create(ctx, &ns, read_json(req).await?)
        }
        (method, Some(name), None) => {
            let ns = ns.ok_or_else(ApiError::no_such_resource)?;
            let key = Key::new(Kind::Secret, &ns, name);
            let secret = ctx
                .store
                .get(&key)
                .ok_or_else(|| ApiError::not_found(Kind::Secret, name))?;
            match method {
                Method::GET if wants_table => Ok(super::table::single(Kind::Secret, &secret)),
                Method::GET => Ok(object_response(StatusCode::OK, &secret)),
                Method::PATCH => super::patch::handle(ctx, req, &key).await,
                Method::PUT => replace(ctx, &key, &secret, read_json(req).await?),
                Method::DELETE => {
                    let opts = DeleteOptions::from(&q, &read_json(req).await?)?;
                    super::delete_object(ctx, &key, &secret, opts).await
                }
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn parse(body: Value) -> Result<Secret, ApiError> {
    let bad = |why: String| {
        ApiError::bad_request(format!(
            "Secret in version \"v1\" cannot be handled as a Secret: {why}"
        ))
    };
    // Checked here, as Go's decoder reports it, so an error names where the bad byte is and
    // never the value (someone's secret, written into `data` unencoded).
    for value in body["data"]
        .as_object()
        .into_iter()
        .flat_map(|d| d.values())
    {
        if let Some(at) = value.as_str().and_then(base64_error_at) {
            return Err(bad(format!("illegal base64 data at input byte {at}")));
        }
    }
    serde_json::from_value(body).map_err(|e| {
        let e = e.to_string();
        bad(match e.starts_with("Invalid") {
            true => "illegal base64 data at input byte 0".to_owned(),
            false => e,
        })
    })
}

/// Where standard, padded base64 goes wrong (CorruptInputError's offset), if it does.
fn base64_error_at(s: &str) -> Option<usize> {
    let symbol = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let bytes = s.as_bytes();
    let body = s.trim_end_matches('=').len();
    if let Some(at) = bytes[..body].iter().position(|b| !symbol(*b)) {
        return Some(at);
    }
    let padding = bytes.len() - body;
    match (bytes.len() % 4, padding) {
        (0, 0..=2) => None,
        _ => Some(bytes.len() / 4 * 4),
    }
}

fn to_value(secret: &Secret) -> Result<Value, ApiError> {
    serde_json::to_value(secret).map_err(|e| ApiError::internal(e.to_string()))
}

/// What the API server does to every Secret it stores: `stringData` merged into `data` (it
/// wins on a clash) and dropped, `type` defaulted, keys and total size validated.
fn normalize(name: &str, secret: &mut Secret) -> Result<(), ApiError> {
    let string_data = secret.string_data.take().unwrap_or_default();
    let data = secret.data.get_or_insert_with(Default::default);
    for (key, value) in string_data {
        data.insert(key, ByteString(value.into_bytes()));
    }
    secret.type_.get_or_insert_with(|| "Opaque".into());
    let mut causes = Vec::new();
    let mut size = 0;
    for (key, value) in data.iter() {
        size += key.len() + value.0.len();
        for msg in config_key_errors(key) {
            let quoted = Value::String(key.clone());
            causes.push((
                format!("data[{key}]"),
                format!("Invalid value: {quoted}: {msg}"),
            ));
        }
    }
    if size > MAX_SIZE {
        causes.push((
            "data".into(),
            format!("Too long: may not be more than {MAX_SIZE} bytes"),
        ));
    }
    match causes.is_empty() {
        true => Ok(()),
        false => Err(ApiError::invalid(Kind::Secret, name, causes)),
    }
}

/// IsConfigMapKey, with its messages.
fn config_key_errors(key: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if key.len() > 253 {
        errs.push("must be no more than 253 characters".to_owned());
    }
    if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    {
        errs.push(
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. \
             'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is \
             '[-._a-zA-Z0-9]+')"
                .into(),
        );
    }
    match key {
        "." => errs.push("must not be '.'".into()),
        ".." => errs.push("must not be '..'".into()),
        k if k.starts_with("..") => errs.push("must not start with '..'".into()),
        _ => {}
    }
    errs
}

/// ValidateSecretUpdate: `type` never changes; an `immutable` Secret keeps its data and flag.
fn check_update(name: &str, old: &Secret, new: &Secret) -> Result<(), ApiError> {
    let mut causes = Vec::new();
    if new.type_ != old.type_ {
        let quoted = Value::String(new.type_.clone().unwrap_or_default());
        causes.push((
            "type".into(),
            format!("Invalid value: {quoted}: field is immutable"),
        ));
    }
    if old.immutable == Some(true) {
        if new.immutable != Some(true) {
            causes.push((
                "immutable".into(),
                "Forbidden: field is immutable when `immutable` is set".into(),
            ));
        }
        if new.data != old.data {
            causes.push((
                "data".into(),
                "Forbidden: field is immutable when `immutable` is set".into(),
            ));
        }
    }
    match causes.is_empty() {
        true => Ok(()),
        false => Err(ApiError::invalid(Kind::Secret, name, causes)),
    }
}

fn create(ctx: &Ctx, ns: &str, mut body: Value) -> Result<Resp, ApiError> {
    let name = prepare_metadata(Kind::Secret, ns, &mut body)?;
    let mut secret = parse(body)?;
    normalize(&name, &mut secret)?;
    let stored = ctx
        .store
        .create(Key::new(Kind::Secret, ns, &name), to_value(&secret)?)?;
    Ok(object_response(StatusCode::CREATED, &stored))
}

/// PUT: the whole object replaced (server-set metadata kept), after the same normalization and
/// the update rules; a stale `resourceVersion` is a 409 Conflict.
fn replace(ctx: &Ctx, key: &Key, current: &Value, body: Value) -> Result<Resp, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be an object",
        ));
    }
    let named = body["metadata"]["name"].as_str().unwrap_or_default();
    if named != key.name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({named}) does not match the name on the URL ({})",
            key.name
        )));
    }
    let rv = body["metadata"]["resourceVersion"].as_str();
    if rv.is_some_and(|rv| Some(rv) != current["metadata"]["resourceVersion"].as_str()) {
        return Err(ApiError::conflict(Kind::Secret, &key.name));
    }
    let mut new = parse(body)?;
    let old = parse(current.clone())?;
    normalize(&key.name, &mut new)?;
    check_update(&key.name, &old, &new)?;
    let mut value = to_value(&new)?;
    for field in ["uid", "creationTimestamp", "namespace"] {
        value["metadata"][field] = current["metadata"][field].clone();
    }
    let updated = ctx
        .store
        .update(key, |o| *o = value)
        .ok_or_else(|| ApiError::not_found(Kind::Secret, &key.name))?;
    Ok(object_response(StatusCode::OK, &updated))
}

/// A PATCH result made into what the server stores: `stringData` folded into `data`, then the
/// update rules against the stored Secret.
pub fn patched(current: &Value, patched: Value) -> Result<Value, ApiError> {
    let name = current["metadata"]["name"].as_str().unwrap_or_default();
    let mut new = parse(patched)?;
    normalize(name, &mut new)?;
    check_update(name, &parse(current.clone())?, &new)?;
    to_value(&new)
}

/// Every key of Secret `ns/name`, decoded (the kubelet's secret manager reads the same).
pub fn all_values(ctx: &Ctx, ns: &str, name: &str) -> Result<Vec<(String, String)>, String> {
    let stored = ctx
        .store
        .get(&Key::new(Kind::Secret, ns, name))
        .ok_or_else(|| format!("secret \"{name}\" not found"))?;
    let secret: Secret = serde_json::from_value(stored).map_err(|e| e.to_string())?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
        .collect())
}
