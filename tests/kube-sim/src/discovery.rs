//! Discovery documents kubectl and client libraries read before anything else: the core
//! group (`/api`, `/api/v1`) and the named groups (`/apis`; `batch/v1` for Jobs), and the
//! OpenAPI v3 index kubectl reads to learn that the server validates fields itself.
use serde_json::json;

use crate::server::{json_response, Resp};

fn resource(
    name: &str,
    kind: &str,
    namespaced: bool,
    verbs: &[&str],
    short: &[&str],
) -> serde_json::Value {
    json!({
        "name": name, "singularName": if name.contains('/') { "" } else { kind_lower(kind) },
        "namespaced": namespaced, "kind": kind, "verbs": verbs, "shortNames": short,
    })
}

fn kind_lower(kind: &str) -> &'static str {
    match kind {
        "Pod" => "pod",
        "Service" => "service",
        "Secret" => "secret",
        "Namespace" => "namespace",
        "Job" => "job",
        _ => "",
    }
}

const CRUD: &[&str] = &["create", "delete", "get", "list", "patch", "watch"];

/// Answers discovery paths; `None` for everything else.
pub fn route(path: &str) -> Option<Resp> {
    let body = match path.trim_end_matches('/') {
        "/version" => json!({
            "major": "1", "minor": "33", "gitVersion": "v1.33.0-kube-sim",
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24", "compiler": "gc",
            "platform": "linux/amd64",
        }),
        "/api" => json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
        }),
        "/apis" => json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [batch_group()]}),
        "/apis/batch" => {
            let mut group = batch_group();
            group["kind"] = json!("APIGroup");
            group["apiVersion"] = json!("v1");
            group
        }
        "/apis/batch/v1" => json!({
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "batch/v1",
            "resources": [
                resource("jobs", "Job", true, CRUD, &[]),
                resource("jobs/status", "Job", true, &["get"], &[]),
            ],
        }),
        "/api/v1" => json!({
            "kind": "APIResourceList", "groupVersion": "v1",
            "resources": [
                resource("pods", "Pod", true, &["create", "delete", "get", "list", "patch", "watch"], &["po"]),
                resource("pods/attach", "PodAttachOptions", true, &["create", "get"], &[]),
                resource("pods/log", "Pod", true, &["get"], &[]),
                resource("pods/portforward", "PodPortForwardOptions", true, &["create", "get"], &[]),
                resource("pods/status", "Pod", true, &["get", "patch", "update"], &[]),
                resource("services", "Service", true, CRUD, &["svc"]),
                resource("secrets", "Secret", true, &["create", "delete", "get", "list", "patch", "update", "watch"], &[]),
                resource("namespaces", "Namespace", false, &["get"], &["ns"]),
            ],
        }),
        "/healthz" | "/livez" | "/readyz" => {
            return hyper::Response::builder()
                .header("content-type", "text/plain")
                .body(crate::server::full("ok"))
                .ok()
        }
        other => return crate::openapi::route(other),
    };
    Some(json_response(200, &body))
}

/// The `batch` group with its one version, as `/apis` lists it.
fn batch_group() -> serde_json::Value {
    let version = json!({"groupVersion": "batch/v1", "version": "v1"});
    json!({"name": "batch", "versions": [version], "preferredVersion": version})
}
