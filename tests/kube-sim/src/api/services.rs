//! /api/v1/namespaces/NS/services: recorded, given a ClusterIP, resolvable to a pod's local port.
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{json, Value};

use super::{prepare_metadata, DeleteOptions};
use crate::error::ApiError;
use crate::selectors::LabelSelector;
use crate::server::{object_response, read_json, Query, Resp, Target};
use crate::store::{Key, Kind};
use crate::Ctx;

static NEXT_IP: AtomicU32 = AtomicU32::new(10);

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
            super::get_collection(ctx, Kind::Service, ns.as_deref(), &q, verb, wants_table)
        }
        (Method::POST, None, None) => {
            let ns = ns.ok_or_else(ApiError::method_not_allowed)?;
            create(ctx, &ns, read_json(req).await?)
        }
        (method, Some(name), None) => {
            let ns = ns.ok_or_else(ApiError::no_such_resource)?;
            let key = Key::new(Kind::Service, &ns, name);
            let svc = ctx
                .store
                .get(&key)
                .ok_or_else(|| ApiError::not_found(Kind::Service, name))?;
            match method {
                Method::GET if wants_table => Ok(super::table::single(Kind::Service, &svc)),
                Method::GET => Ok(object_response(StatusCode::OK, &svc)),
                Method::PATCH => super::patch::handle(ctx, req, &key).await,
                Method::DELETE => {
                    let opts = DeleteOptions::from(&q, &read_json(req).await?)?;
                    super::delete_object(ctx, &key, &svc, opts).await
                }
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn create(ctx: &Ctx, ns: &str, mut body: Value) -> Result<Resp, ApiError> {
    let name = prepare_metadata(Kind::Service, ns, &mut body)?;
    let mut svc: Service = serde_json::from_value(body).map_err(|e| {
        ApiError::bad_request(format!(
            "Service in version \"v1\" cannot be handled as a Service: {e}"
        ))
    })?;
    let spec = svc.spec.get_or_insert_with(Default::default);
    let kind = spec.type_.get_or_insert_with(|| "ClusterIP".into()).clone();
    if kind != "ExternalName" && spec.cluster_ip.as_deref() != Some("None") {
        let n = NEXT_IP.fetch_add(1, Ordering::SeqCst);
        let ip = format!("10.96.{}.{}", (n >> 8) & 0xff, n & 0xff);
        spec.cluster_ip = Some(ip.clone());
        spec.cluster_ips = Some(vec![ip]);
    }
    spec.session_affinity.get_or_insert_with(|| "None".into());
    let mut causes = Vec::new();
    for (i, p) in spec.ports.iter_mut().flatten().enumerate() {
        p.protocol.get_or_insert_with(|| "TCP".into());
        p.target_port.get_or_insert(IntOrString::Int(p.port));
        if !(1..=65535).contains(&p.port) {
            causes.push((
                format!("spec.ports[{i}].port"),
                format!(
                    "Invalid value: {}: must be between 1 and 65535, inclusive",
                    p.port
                ),
            ));
        }
    }
    if !causes.is_empty() {
        return Err(ApiError::invalid(Kind::Service, &name, causes));
    }
    let mut value = serde_json::to_value(&svc).map_err(|e| ApiError::internal(e.to_string()))?;
    value["status"] = json!({"loadBalancer": {}});
    let stored = ctx
        .store
        .create(Key::new(Kind::Service, ns, &name), value)?;
    Ok(object_response(StatusCode::CREATED, &stored))
}

/// The local port behind a Service port: the first running pod its selector picks, and the
/// service's targetPort (a number or a named container port) mapped to the process's port.
pub fn resolve(ctx: &Ctx, ns: &str, name: &str, port: Option<u16>) -> Option<u16> {
    let svc = ctx.store.get(&Key::new(Kind::Service, ns, name))?;
    let selector = LabelSelector::from_map(svc["spec"]["selector"].as_object()?);
    let ports = svc["spec"]["ports"].as_array()?;
    let svc_port = match port {
        Some(p) => ports
            .iter()
            .find(|sp| sp["port"].as_u64() == Some(u64::from(p)))?,
        None => ports.first()?,
    };
    let (pods, _) = ctx.store.list(Kind::Pod, Some(ns));
    let pod = pods.into_iter().find(|p| {
        selector.matches(p)
            && p["status"]["phase"] == "Running"
            && p["metadata"]["deletionTimestamp"].is_null()
    })?;
    let target = &svc_port["targetPort"];
    let container_port = match target {
        Value::Number(n) => n.as_u64()? as u16,
        Value::String(named) => pod["spec"]["containers"]
            .as_array()?
            .iter()
            .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
            .find(|p| p["name"].as_str() == Some(named))?["containerPort"]
            .as_u64()? as u16,
        _ => svc_port["port"].as_u64()? as u16,
    };
    let rt = ctx.kubelet.runtime_of(&pod)?;
    Some(
        rt.ports
            .get(&container_port)
            .copied()
            .unwrap_or(container_port),
    )
}
