//! The HTTP server: connection handling, routing, authorization and fault hooks.
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

use crate::api;
use crate::error::ApiError;
use crate::faults::{until, Decision, RequestInfo};
use crate::Ctx;

pub type Body = UnsyncBoxBody<Bytes, Infallible>;
pub type Resp = Response<Body>;
pub type Query = HashMap<String, String>;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

pub fn json_response(code: u16, value: &Value) -> Resp {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(full(serde_json::to_vec(value).unwrap_or_default()))
        .unwrap_or_else(|_| Response::new(full("")))
}

pub fn error_response(err: ApiError) -> Resp {
    json_response(err.code, &err.status())
}

/// Accepts connections until `shutdown` fires. While the outage switch is on, nothing listens
/// and every connection is cut; when it is off again the same address is bound anew.
pub async fn serve(
    listener: TcpListener,
    ctx: Arc<Ctx>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    let mut outage = ctx.faults.outage();
    let mut listener = Some(listener);
    loop {
        let Some(open) = &listener else {
            tokio::select! {
                () = until(&mut outage, false) => listener = rebind(addr).await,
                _ = shutdown.changed() => return,
            }
            continue;
        };
        let (stream, _) = tokio::select! {
            accepted = open.accept() => match accepted {
                Ok(conn) => conn,
                Err(_) => continue,
            },
            () = until(&mut outage, true) => {
                listener = None;
                continue;
            }
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let ctx = ctx.clone();
        let mut conn_shutdown = shutdown.clone();
        let mut conn_outage = ctx.faults.outage();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let ctx = ctx.clone();
                async move { Ok::<_, Infallible>(handle(ctx, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades();
            tokio::select! {
                _ = conn => {}
                _ = conn_shutdown.changed() => {}
                () = until(&mut conn_outage, true) => {}
            }
        });
    }
}

/// Binds `addr` again after an outage (the old socket may linger a moment).
async fn rebind(addr: std::net::SocketAddr) -> Option<TcpListener> {
    for _ in 0..100 {
        if let Ok(listener) = TcpListener::bind(addr).await {
            return Some(listener);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

/// Runs an upgraded stream's session (attach, port-forward) until it ends or the API goes
/// down: then it is dropped, cutting the socket without a close frame.
pub async fn unless_down(ctx: &Ctx, session: impl std::future::Future<Output = ()>) {
    let mut outage = ctx.faults.outage();
    tokio::select! {
        () = session => {}
        () = until(&mut outage, true) => {}
    }
}

pub fn parse_query(req: &Request<Incoming>) -> Query {
    req.uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// The body as JSON. Other encodings a real server also takes (protobuf, which kubectl's typed
/// commands such as `create secret` send, CBOR, YAML) are answered 415, as a server answers a
/// media type it does not serve.
pub async fn read_json(req: Request<Incoming>) -> Result<Value, ApiError> {
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|c| c.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if !media.is_empty() && media != "*/*" && !media.ends_with("json") {
        return Err(ApiError::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types \
                 include: application/json (got {media:?})"
            ),
        ));
    }
    let bytes = req
        .into_body()
        .collect()
        .await
        .map_err(|e| ApiError::bad_request(format!("cannot read body: {e}")))?
        .to_bytes();
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!(
            "the body of the request was in an unknown format: {e}"
        ))
    })
}

/// A parsed `/api/v1/...` or `/apis/GROUP/VERSION/...` resource path.
pub struct Target {
    /// The API group: "" for core, `batch`.
    pub group: &'static str,
    pub namespace: Option<String>,
    pub resource: String,
    pub name: Option<String>,
    pub subresource: Option<String>,
}

/// The group versions served, by path prefix.
const GROUP_PREFIXES: &[(&str, &str)] = &[("/api/v1/", ""), ("/apis/batch/v1/", "batch")];

fn parse_target(path: &str) -> Option<Target> {
    let (rest, group) = GROUP_PREFIXES
        .iter()
        .find_map(|(prefix, group)| path.strip_prefix(prefix).map(|rest| (rest, *group)))?;
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let owned = |s: &&str| s.to_string();
    match segs.as_slice() {
        // Namespaces themselves are core; under a group, `namespaces/NS` alone is no resource.
        ["namespaces", ns] if group.is_empty() => Some(Target {
            group,
            namespace: None,
            resource: "namespaces".into(),
            name: Some(ns.to_string()),
            subresource: None,
        }),
        ["namespaces", ns, res, tail @ ..] if tail.len() <= 2 => Some(Target {
            group,
            namespace: Some(ns.to_string()),
            resource: res.to_string(),
            name: tail.first().map(owned),
            subresource: tail.get(1).map(owned),
        }),
        [res, tail @ ..] if tail.len() <= 2 => Some(Target {
            group,
            namespace: None,
            resource: res.to_string(),
            name: tail.first().map(owned),
            subresource: tail.get(1).map(owned),
        }),
        _ => None,
    }
}

/// The verb authorization sees, from the method as the API server derives it: a websocket
/// upgrade (attach, port-forward) is a GET, so `get`.
fn verb_of(method: &Method, target: &Target, query: &Query) -> &'static str {
    let watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    match *method {
        Method::GET if target.name.is_none() && watch => "watch",
        Method::GET if target.name.is_none() => "list",
        Method::GET => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if target.name.is_none() => "deletecollection",
        Method::DELETE => "delete",
        _ => "unknown",
    }
}

async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Resp {
    let path = req.uri().path().to_owned();
    if let Some(resp) = crate::discovery::route(&path) {
        return resp;
    }
    let Some(target) = parse_target(&path) else {
        return error_response(ApiError::no_such_resource());
    };
    let query = parse_query(&req);
    let upgrade = req.headers().get(hyper::header::UPGRADE).is_some();
    let resource = match &target.subresource {
        Some(sub) => format!("{}/{sub}", target.resource),
        None => target.resource.clone(),
    };
    let info = RequestInfo {
        verb: verb_of(req.method(), &target, &query).to_owned(),
        resource,
        namespace: target.namespace.clone().unwrap_or_default(),
        name: target.name.clone().unwrap_or_default(),
    };
    match ctx.faults.check(&info).await {
        Decision::Proceed => {}
        Decision::Forbidden => {
            return error_response(ApiError::forbidden(
                &info.verb,
                target.group,
                &info.resource,
                &info.namespace,
                &info.name,
            ))
        }
        Decision::Fail => {
            return error_response(ApiError::internal("injected fault: internal error"))
        }
        Decision::Throttle(secs) => return error_response(ApiError::too_many_requests(secs)),
    }
    // Compound authorization (AuthorizePodWebsocketUpgradeCreatePermission, on by default from
    // 1.35): an upgrade must also be allowed to `create` the subresource.
    let create = RequestInfo {
        verb: "create".into(),
        ..info.clone()
    };
    if upgrade && ctx.faults.denies(&create) {
        return error_response(ApiError::forbidden(
            &create.verb,
            target.group,
            &create.resource,
            &create.namespace,
            &create.name,
        ));
    }
    let result = match (target.group, target.resource.as_str()) {
        ("batch", "jobs") => api::jobs::handle(&ctx, req, target, query, &info.verb).await,
        ("batch", _) => Err(ApiError::no_such_resource()),
        (_, "pods") => api::pods::handle(&ctx, req, target, query, &info.verb).await,
        (_, "services") => api::services::handle(&ctx, req, target, query, &info.verb).await,
        (_, "secrets") => api::secrets::handle(&ctx, req, target, query, &info.verb).await,
        (_, "namespaces") => api::namespaces::handle(req.method(), &target),
        _ => Err(ApiError::no_such_resource()),
    };
    result.unwrap_or_else(error_response)
}

/// 201/200 answer with an object.
pub fn object_response(code: StatusCode, obj: &Value) -> Resp {
    json_response(code.as_u16(), obj)
}
