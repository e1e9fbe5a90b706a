//! PATCH for metadata (labels, annotations, ownerReferences), status, Secret data and a Job's
//! `spec.parallelism` and `spec.suspend`: JSON
//! merge patch, and strategic merge patch treated the same way (identical for the maps it is
//! used on here).
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::Value;

use crate::error::ApiError;
use crate::server::{object_response, read_json, Resp};
use crate::store::{Key, Kind};
use crate::Ctx;

/// RFC 7386: objects merge recursively, `null` deletes, everything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

pub async fn handle(ctx: &Ctx, req: Request<Incoming>, key: &Key) -> Result<Resp, ApiError> {
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !content_type.starts_with("application/merge-patch+json")
        && !content_type.starts_with("application/strategic-merge-patch+json")
    {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (got {content_type:?})"),
        ));
    }
    let patch = read_json(req).await?;
    let current = ctx
        .store
        .get(key)
        .ok_or_else(|| ApiError::not_found(key.kind, &key.name))?;
    // A resourceVersion in the patch is a precondition, as on the real server.
    let rv = patch["metadata"]["resourceVersion"].as_str();
    if rv.is_some_and(|rv| Some(rv) != current["metadata"]["resourceVersion"].as_str()) {
        return Err(ApiError::conflict(key.kind, &key.name));
    }
    let mut patched = current.clone();
    merge(&mut patched, &patch);
    let immutable = |v: &Value| {
        let mut spec = v["spec"].clone();
        if let (Kind::Job, Some(s)) = (key.kind, spec.as_object_mut()) {
            for field in crate::jobs::spec::MUTABLE_FIELDS {
                s.remove(*field);
            }
        }
        (
            spec,
            v["metadata"]["name"].clone(),
            v["metadata"]["uid"].clone(),
        )
    };
    if immutable(&patched) != immutable(&current) {
        return Err(ApiError::invalid(
            key.kind,
            &key.name,
            vec![(
                "spec".into(),
                "Forbidden: the simulator only patches metadata and status".into(),
            )],
        ));
    }
    if key.kind == Kind::Secret {
        patched = super::secrets::patched(&current, patched)?;
    }
    if key.kind == Kind::Job {
        crate::jobs::spec::check_patch(&key.name, &patched)?;
    }
    let updated = ctx
        .store
        .update(key, |o| *o = patched.clone())
        .ok_or_else(|| ApiError::not_found(key.kind, &key.name))?;
    Ok(object_response(StatusCode::OK, &updated))
}
