//! Server-side printing (`as=Table`), which `kubectl get` asks for.
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::server::{json_response, Query, Resp};
use crate::store::Kind;
use crate::Ctx;

fn column(name: &str, kind: &str, format: &str) -> Value {
    json!({"name": name, "type": kind, "format": format, "description": "", "priority": 0})
}

/// A column `kubectl get -o wide` shows (priority 1).
fn wide_column(name: &str) -> Value {
    json!({"name": name, "type": "string", "format": "", "description": "", "priority": 1})
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
        Kind::Job => vec![
            column("Name", "string", "name"),
            column("Status", "string", ""),
            column("Completions", "string", ""),
            column("Duration", "string", ""),
            column("Age", "string", ""),
            wide_column("Containers"),
            wide_column("Images"),
            wide_column("Selector"),
        ],
    }
}

/// duration.HumanDuration, which kubectl's printers use for ages and durations.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let s = secs.max(0);
    let (minutes, hours) = (s / 60, s / 3600);
    match () {
        _ if s < 120 => format!("{s}s"),
        _ if minutes < 10 && s % 60 == 0 => format!("{minutes}m"),
        _ if minutes < 10 => format!("{minutes}m{}s", s % 60),
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 && minutes % 60 == 0 => format!("{hours}h"),
        _ if hours < 8 => format!("{hours}h{}m", minutes % 60),
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 192 && hours % 24 == 0 => format!("{}d", hours / 24),
        _ if hours < 192 => format!("{}d{}h", hours / 24, hours % 24),
        _ if hours < 24 * 365 * 2 => format!("{}d", hours / 24),
        _ if hours < 24 * 365 * 8 && (hours / 24) % 365 == 0 => format!("{}y", hours / 24 / 365),
        _ if hours < 24 * 365 * 8 => format!("{}y{}d", hours / 24 / 365, (hours / 24) % 365),
        _ => format!("{}y", hours / 24 / 365),
    }
}

fn timestamp(v: &Value) -> Option<jiff::Timestamp> {
    v.as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok())
}

fn has_condition(job: &Value, kind: &str) -> bool {
    job["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == kind && c["status"] == "True")
}

/// printJob's STATUS, COMPLETIONS and DURATION.
fn job_cells(job: &Value) -> [String; 3] {
    // A true condition names the status itself; Terminating ranks between the terminal ones
    // and the others.
    let status = ["Complete", "Failed"]
        .into_iter()
        .find(|c| has_condition(job, c))
        .or(job["metadata"]["deletionTimestamp"]
            .is_string()
            .then_some("Terminating"))
        .or_else(|| {
            ["Suspended", "FailureTarget", "SuccessCriteriaMet"]
                .into_iter()
                .find(|c| has_condition(job, c))
        })
        .unwrap_or("Running");
    let succeeded = job["status"]["succeeded"].as_i64().unwrap_or(0);
    let completions = match job["spec"]["completions"].as_i64() {
        Some(c) => format!("{succeeded}/{c}"),
        None => match job["spec"]["parallelism"].as_i64().unwrap_or(0) {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        },
    };
    let start = timestamp(&job["status"]["startTime"]);
    let end = timestamp(&job["status"]["completionTime"]).unwrap_or_else(jiff::Timestamp::now);
    let duration = start.map_or(String::new(), |s| {
        human_duration(end.duration_since(s).as_secs())
    });
    [status.to_owned(), completions, duration]
}

/// metav1.FormatLabelSelector.
fn format_selector(selector: &Value) -> String {
    let mut parts: Vec<String> = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    for e in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            _ => format!("!{key}"),
        });
    }
    match parts.is_empty() {
        true => "<none>".into(),
        false => parts.join(","),
    }
}

fn age(obj: &Value) -> String {
    match timestamp(&obj["metadata"]["creationTimestamp"]) {
        Some(created) => human_duration(jiff::Timestamp::now().duration_since(created).as_secs()),
        None => "<unknown>".into(),
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
        Kind::Job => {
            let [status, completions, duration] = job_cells(obj);
            let containers = obj["spec"]["template"]["spec"]["containers"]
                .as_array()
                .map_or(&[][..], Vec::as_slice);
            let joined = |field: &str| {
                containers
                    .iter()
                    .filter_map(|c| c[field].as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            vec![
                name,
                json!(status),
                json!(completions),
                json!(duration),
                json!(age(obj)),
                json!(joined("name")),
                json!(joined("image")),
                json!(format_selector(&obj["spec"]["selector"])),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_kubectl_prints_them() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (120, "2m"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600, "3h"),
            (3 * 3600 + 120, "3h2m"),
            (9 * 3600, "9h"),
            (50 * 3600, "2d2h"),
            (10 * 86400, "10d"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn job_rows_follow_print_job() {
        let job = json!({
            "spec": {"completions": 3, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "u"}}},
            "status": {"succeeded": 2, "startTime": "2026-01-01T00:00:00Z",
                       "completionTime": "2026-01-01T00:01:05Z",
                       "conditions": [{"type": "SuccessCriteriaMet", "status": "True"},
                                      {"type": "Complete", "status": "True"}]},
        });
        assert_eq!(job_cells(&job), ["Complete", "2/3", "65s"]);
        assert_eq!(
            format_selector(&job["spec"]["selector"]),
            "batch.kubernetes.io/controller-uid=u"
        );
        let running = json!({"spec": {"parallelism": 2}, "status": {}});
        assert_eq!(job_cells(&running), ["Running", "0/1 of 2", ""]);
    }
}
