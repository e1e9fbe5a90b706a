//! /api/v1/namespaces/NS/secrets: stored with `stringData` merged into `data` (base64), as the
//! real API server does; read by the fake kubelet for `secretKeyRef` and `envFrom`.
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

pub async fn handle(
    ctx: &Arc<Ctx>,
    req: Request<Incoming>,
    t: Target,
    q: Query,
    verb: &str,
) -> Result<Resp, ApiError> {
    let ns = t.namespace.clone();
    let wants_table = req
        .headers()
        .get(hyper::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("as=Table"));
    match (
        req.method().clone(),
        t.name.as_deref(),
        t.subresource.as_deref(),
    ) {
        (Method::GET, None, None) if verb == "watch" => {
            super::watch::watch(ctx, Kind::Secret, ns.as_deref(), &q)
        }
        (Method::GET, None, None) if wants_table => {
            super::table::list(ctx, Kind::Secret, ns.as_deref(), &q)
        }
        (Method::GET, None, None) => super::watch::list(ctx, Kind::Secret, ns.as_deref(), &q),
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
                Method::DELETE => {
                    let opts = DeleteOptions::from(&q, &read_json(req).await?)?;
                    let removed = crate::gc::delete(ctx, &key, opts.grace)?;
                    Ok(object_response(StatusCode::OK, &removed))
                }
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn create(ctx: &Ctx, ns: &str, mut body: Value) -> Result<Resp, ApiError> {
    let name = prepare_metadata(Kind::Secret, ns, &mut body)?;
    let mut secret: Secret = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "Secret in version \"v1\" cannot be handled as a Secret: {e}"
        ))
    })?;
    let mut causes = Vec::new();
    // stringData is write-only: merged into data (it wins on a clash), never stored itself.
    let string_data = secret.string_data.take().unwrap_or_default();
    let data = secret.data.get_or_insert_with(Default::default);
    for (key, value) in string_data {
        data.insert(key, ByteString(value.into_bytes()));
    }
    for key in data.keys() {
        let valid = !key.is_empty()
            && key.len() <= 253
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
        if !valid {
            causes.push((
                format!("data[{key}]"),
                format!(
                    "Invalid value: \"{key}\": a valid config key must consist of alphanumeric \
                     characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or \
                     'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
                ),
            ));
        }
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(Kind::Secret, &name, causes));
    }
    secret.type_.get_or_insert_with(|| "Opaque".into());
    let value = serde_json::to_value(&secret).map_err(|e| ApiError::internal(e.to_string()))?;
    let stored = ctx.store.create(Key::new(Kind::Secret, ns, &name), value)?;
    Ok(object_response(StatusCode::CREATED, &stored))
}

/// The decoded value of `key` in Secret `ns/name`: `Err` with the kubelet's message when the
/// Secret or the key is missing.
pub fn value_of(ctx: &Ctx, ns: &str, name: &str, key: &str) -> Result<String, String> {
    let secret = all_values(ctx, ns, name)?;
    secret
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .ok_or_else(|| format!("couldn't find key {key} in Secret {ns}/{name}"))
}

/// Every key of Secret `ns/name`, decoded.
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
