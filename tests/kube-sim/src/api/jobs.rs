//! /apis/batch/v1/namespaces/NS/jobs: create (defaults, generated selector, validation and
//! `fieldValidation`), get, list and watch (label and field selectors, Tables), `/status`,
//! PATCH (metadata, and the mutable `spec.suspend` and `spec.parallelism`) and delete with the
//! propagation policies: a batch/v1 Job's pods are orphaned unless the request says otherwise,
//! with the API server's warning, as on a real cluster.
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use k8s_openapi::api::batch::v1::Job;
use serde_json::{json, Value};

use super::field_validation::{with_warnings, FieldValidation};
use super::{prepare_metadata, DeleteOptions};
use crate::error::ApiError;
use crate::server::{object_response, read_json, Query, Resp, Target};
use crate::store::{Key, Kind};
use crate::Ctx;

/// The warning a real API server sends when a Job is deleted without a propagation policy.
pub const ORPHAN_WARNING: &str = "child pods are preserved by default when jobs are deleted; set \
     propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this \
     warning";

const DECODE_CONTEXT: &str = "Job in version \"v1\" cannot be handled as a Job";

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
            super::get_collection(ctx, Kind::Job, ns.as_deref(), &q, verb, wants_table)
        }
        (&Method::POST, None, None) => {
            let ns = ns.ok_or_else(ApiError::method_not_allowed)?;
            create(ctx, &ns, &q, read_json(req).await?)
        }
        (_, Some(name), sub) => {
            let ns = ns.ok_or_else(ApiError::no_such_resource)?;
            let key = Key::new(Kind::Job, &ns, name);
            let job = ctx
                .store
                .get(&key)
                .ok_or_else(|| ApiError::not_found(Kind::Job, name))?;
            match (&method, sub) {
                (&Method::GET, None) if wants_table => Ok(super::table::single(Kind::Job, &job)),
                (&Method::GET, None | Some("status")) => Ok(object_response(StatusCode::OK, &job)),
                (&Method::PATCH, None) => super::patch::handle(ctx, req, &key).await,
                (&Method::DELETE, None) => {
                    let body = read_json(req).await?;
                    delete(
                        ctx,
                        &key,
                        job,
                        DeleteOptions::with_default(&q, &body, "Orphan")?,
                    )
                    .await
                }
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn create(ctx: &Arc<Ctx>, ns: &str, q: &Query, mut body: Value) -> Result<Resp, ApiError> {
    let validation = FieldValidation::from_query(q)?;
    let name = prepare_metadata(Kind::Job, ns, &mut body)?;
    let mut job: Job = serde_json::from_value(body.clone())
        .map_err(|e| ApiError::bad_request(format!("{DECODE_CONTEXT}: {e}")))?;
    let known = serde_json::to_value(&job).map_err(|e| ApiError::internal(e.to_string()))?;
    let warnings = validation.check(DECODE_CONTEXT, &body, &known)?;
    let uid = uuid::Uuid::new_v4().to_string();
    crate::jobs::spec::prepare(&name, &uid, &mut job)?;
    job.metadata.generation = Some(1);
    job.status = None;
    let mut value = serde_json::to_value(&job).map_err(|e| ApiError::internal(e.to_string()))?;
    value["status"] = json!({});
    let key = Key::new(Kind::Job, ns, &name);
    let stored = ctx.store.create_with_uid(key.clone(), value, uid.clone())?;
    crate::jobs::JobController::start(ctx, key, uid);
    Ok(with_warnings(
        object_response(StatusCode::CREATED, &stored),
        &warnings,
    ))
}

/// Deletes a Job: Orphan keeps its pods (without the reference to it), Background removes it
/// and lets the garbage collector take its pods, Foreground marks it, deletes its pods and
/// removes it once they are gone.
async fn delete(
    ctx: &Arc<Ctx>,
    key: &Key,
    job: Value,
    opts: DeleteOptions,
) -> Result<Resp, ApiError> {
    let warnings = match opts.defaulted {
        true => vec![ORPHAN_WARNING.to_owned()],
        false => Vec::new(),
    };
    let marked = match opts.propagation.as_str() {
        "Foreground" => crate::gc::delete_in_foreground(ctx, key, &job, None),
        _ => None,
    };
    let resp = match marked {
        Some(marked) => object_response(StatusCode::OK, &marked),
        None => super::delete_object(ctx, key, &job, opts).await?,
    };
    Ok(with_warnings(resp, &warnings))
}
