//! /api/v1/namespaces/NS/pods and its subresources.
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use k8s_openapi::api::core::v1::{Pod, PodSpec};
use serde_json::{json, Value};

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
    let method = req.method().clone();
    let wants_table = super::wants_table(&req);
    match (&method, t.name.as_deref(), t.subresource.as_deref()) {
        (&Method::GET, None, None) => {
            super::get_collection(ctx, Kind::Pod, ns.as_deref(), &q, verb, wants_table)
        }
        (&Method::POST, None, None) => {
            let ns = ns.ok_or_else(ApiError::method_not_allowed)?;
            create(ctx, &ns, read_json(req).await?)
        }
        (_, Some(name), sub) => {
            let ns = ns.ok_or_else(ApiError::no_such_resource)?;
            let key = Key::new(Kind::Pod, &ns, name);
            match (&method, sub) {
                (&Method::GET, None | Some("status")) => {
                    let pod = get(ctx, &key)?;
                    if wants_table && sub.is_none() {
                        return Ok(super::table::single(Kind::Pod, &pod));
                    }
                    Ok(object_response(StatusCode::OK, &pod))
                }
                (&Method::PATCH, None | Some("status")) => {
                    super::patch::handle(ctx, req, &key).await
                }
                (&Method::PUT, Some("status")) => update_status(ctx, &key, read_json(req).await?),
                (&Method::DELETE, None) => {
                    let body = read_json(req).await?;
                    delete(ctx, &key, DeleteOptions::from(&q, &body)?).await
                }
                (&Method::GET, Some("log")) => crate::logs_api::handle(ctx, &key, &q).await,
                (&Method::GET | &Method::POST, Some("attach")) => {
                    crate::attach::handle(ctx, req, &key, &q).await
                }
                (&Method::GET | &Method::POST, Some("portforward")) => {
                    crate::portforward::handle(ctx, req, &key, &q).await
                }
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

pub fn get(ctx: &Ctx, key: &Key) -> Result<Value, ApiError> {
    ctx.store
        .get(key)
        .ok_or_else(|| ApiError::not_found(Kind::Pod, &key.name))
}

/// ValidatePodSpec for what the simulator runs, each failing rule a `(field, message)` cause,
/// fields under `path` (`spec` for a Pod, `spec.template.spec` for a Job's template).
pub fn spec_causes(spec: &PodSpec, path: &str) -> Vec<(String, String)> {
    let mut causes = Vec::new();
    if spec.containers.is_empty() {
        causes.push((format!("{path}.containers"), "Required value".into()));
    }
    for (i, c) in spec.containers.iter().enumerate() {
        for msg in crate::names::dns1123_label(&c.name) {
            causes.push((
                format!("{path}.containers[{i}].name"),
                format!("Invalid value: {}: {msg}", Value::String(c.name.clone())),
            ));
        }
        if c.image.as_deref().unwrap_or_default().trim().is_empty() {
            causes.push((
                format!("{path}.containers[{i}].image"),
                "Required value".into(),
            ));
        }
    }
    // validateRestartPolicy (unset is defaulted to Always before this runs on a real server).
    if let Some(policy) = spec
        .restart_policy
        .as_deref()
        .filter(|p| !matches!(*p, "Always" | "OnFailure" | "Never"))
    {
        causes.push((
            format!("{path}.restartPolicy"),
            format!(
                "Unsupported value: {}: supported values: \"Always\", \"OnFailure\", \"Never\"",
                Value::String(policy.to_owned())
            ),
        ));
    }
    causes
}

fn validate(name: &str, pod: &Pod) -> Result<(), ApiError> {
    let spec = pod.spec.clone().unwrap_or_default();
    let causes = spec_causes(&spec, "spec");
    match causes.is_empty() {
        true => Ok(()),
        false => Err(ApiError::invalid(Kind::Pod, name, causes)),
    }
}

fn create(ctx: &Arc<Ctx>, ns: &str, body: Value) -> Result<Resp, ApiError> {
    let stored = create_pod(ctx, ns, body)?;
    Ok(object_response(StatusCode::CREATED, &stored))
}

/// Creates a pod as a POST does (name generation, validation, defaults and admission) and
/// hands it to the kubelet; controllers create theirs through this too.
pub fn create_pod(ctx: &Arc<Ctx>, ns: &str, mut body: Value) -> Result<Value, ApiError> {
    let name = prepare_metadata(Kind::Pod, ns, &mut body)?;
    let mut pod: Pod = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "Pod in version \"v1\" cannot be handled as a Pod: {e}"
        ))
    })?;
    validate(&name, &pod)?;
    // Defaults and admission the API server applies.
    let spec = pod.spec.get_or_insert_with(Default::default);
    super::pod_defaults::apply(spec);
    let qos = super::pod_defaults::qos_class(spec);
    pod.status = None;
    let mut value = serde_json::to_value(&pod).map_err(|e| ApiError::internal(e.to_string()))?;
    value["status"] = json!({"phase": "Pending", "qosClass": qos});
    let key = Key::new(Kind::Pod, ns, &name);
    let stored = ctx.store.create(key.clone(), value)?;
    let typed: Pod =
        serde_json::from_value(stored.clone()).map_err(|e| ApiError::internal(e.to_string()))?;
    crate::kubelet::Kubelet::start(ctx, key, typed);
    Ok(stored)
}

fn update_status(ctx: &Ctx, key: &Key, body: Value) -> Result<Resp, ApiError> {
    let current = get(ctx, key)?;
    let want_rv = body["metadata"]["resourceVersion"].as_str();
    if want_rv.is_some_and(|rv| Some(rv) != current["metadata"]["resourceVersion"].as_str()) {
        return Err(ApiError::conflict(Kind::Pod, &key.name));
    }
    let updated = ctx
        .store
        .update(key, |p| p["status"] = body["status"].clone())
        .ok_or_else(|| ApiError::not_found(Kind::Pod, &key.name))?;
    Ok(object_response(StatusCode::OK, &updated))
}

pub async fn delete(ctx: &Arc<Ctx>, key: &Key, opts: DeleteOptions) -> Result<Resp, ApiError> {
    let pod = get(ctx, key)?;
    match opts.propagation.as_str() {
        "Orphan" => crate::gc::orphan(ctx, &pod),
        "Foreground" => {
            if let Some(marked) = crate::gc::delete_in_foreground(ctx, key, &pod, opts.grace) {
                return Ok(object_response(StatusCode::OK, &marked));
            }
        }
        _ => {}
    }
    let obj = crate::kubelet::delete_pod(ctx, key, opts.grace)?;
    Ok(object_response(StatusCode::OK, &obj))
}
