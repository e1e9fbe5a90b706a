//! Server-side printing (`as=Table`), which `kubectl get` asks for.
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::server::{json_response, Query, Resp};
use crate::store::Kind;
use crate::Ctx;

fn column(name: &str, kind: &str, format: &str) -> Value {
    json!({"name": name, "type": kind, "format": format, "description": "", "priority": 0})
}

fn columns(kind: Kind) -> Vec<Value> {
    match kind {
        Kind::Pod => vec![
            column("Name", "string", "name"),
            column("Ready", "string", ""),
            column("Status", "string", ""),
            column("Restarts", "string", ""),
            column("Age", "string", ""),
        ],
        Kind::Secret => vec![
            column("Name", "string", "name"),
            column("Type", "string", ""),
            column("Data", "integer", ""),
            column("Age", "string", ""),
        ],
        Kind::Service => vec![
            column("Name", "string", "name"),
            column("Type", "string", ""),
            column("Cluster-IP", "string", ""),
            column("Port(s)", "string", ""),
            column("Age", "string", ""),
        ],
    }
}

fn age(obj: &Value) -> String {
    let created = obj["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let Some(created) = created else {
        return "<unknown>".into();
    };
    let secs = jiff::Timestamp::now()
        .duration_since(created)
        .as_secs()
        .max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

/// The STATUS column as kubectl's pod printer computes it.
pub fn pod_status_column(pod: &Value) -> String {
    let mut reason = pod["status"]["reason"]
        .as_str()
        .or(pod["status"]["phase"].as_str())
        .unwrap_or("Pending")
        .to_owned();
    for cs in pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let state = &cs["state"];
        if let Some(r) = state["waiting"]["reason"].as_str() {
            reason = r.to_owned();
        } else if let Some(r) = state["terminated"]["reason"].as_str() {
            reason = r.to_owned();
        }
    }
    if pod["metadata"]["deletionTimestamp"].is_string() {
        reason = "Terminating".into();
    }
    reason
}

fn cells(kind: Kind, obj: &Value) -> Vec<Value> {
    let name = obj["metadata"]["name"].clone();
    match kind {
        Kind::Pod => {
            let statuses = obj["status"]["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let total = obj["spec"]["containers"].as_array().map_or(0, Vec::len);
            let ready = statuses.iter().filter(|c| c["ready"] == true).count();
            let restarts: u64 = statuses
                .iter()
                .filter_map(|c| c["restartCount"].as_u64())
                .sum();
            vec![
                name,
                json!(format!("{ready}/{total}")),
                json!(pod_status_column(obj)),
                json!(restarts),
                json!(age(obj)),
            ]
        }
        Kind::Secret => vec![
            name,
            obj["type"].clone(),
            json!(obj["data"].as_object().map_or(0, |d| d.len())),
            json!(age(obj)),
        ],
        Kind::Service => {
            let ports: Vec<String> = obj["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
                .collect();
            vec![
                name,
                obj["spec"]["type"].clone(),
                obj["spec"]["clusterIP"].clone(),
                json!(if ports.is_empty() {
                    "<none>".into()
                } else {
                    ports.join(",")
                }),
                json!(age(obj)),
            ]
        }
    }
}

fn table(kind: Kind, objs: &[Value], rv: u64) -> Value {
    let rows: Vec<Value> = objs
        .iter()
        .map(|o| json!({
            "cells": cells(kind, o),
            "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]},
        }))
        .collect();
    json!({
        "kind": "Table", "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": columns(kind), "rows": rows,
    })
}

pub fn list(
    ctx: &Ctx,
    kind: Kind,
    namespace: Option<&str>,
    query: &Query,
) -> Result<Resp, ApiError> {
    let (items, rv) = super::watch::selected(ctx, kind, namespace, query)?;
    Ok(json_response(200, &table(kind, &items, rv)))
}

pub fn single(kind: Kind, obj: &Value) -> Resp {
    let rv = obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    json_response(200, &table(kind, std::slice::from_ref(obj), rv))
}
