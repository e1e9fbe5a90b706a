//! Namespaces: every valid namespace name exists and is Active.
use hyper::Method;
use serde_json::json;

use crate::error::ApiError;
use crate::names::dns1123_label;
use crate::server::{json_response, Resp, Target};

pub fn handle(method: &Method, target: &Target) -> Result<Resp, ApiError> {
    if method != Method::GET {
        return Err(ApiError::method_not_allowed());
    }
    let Some(name) = &target.name else {
        let items: Vec<_> = ["default", "kube-system"]
            .iter()
            .map(|n| namespace(n))
            .collect();
        return Ok(json_response(
            200,
            &json!({
                "kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items,
            }),
        ));
    };
    if !dns1123_label(name).is_empty() {
        return Err(ApiError::namespace_not_found(name));
    }
    Ok(json_response(200, &namespace(name)))
}

fn namespace(name: &str) -> serde_json::Value {
    json!({
        "kind": "Namespace", "apiVersion": "v1",
        "metadata": {
            "name": name, "uid": format!("00000000-0000-4000-8000-{:012x}", name.len()),
            "resourceVersion": "1", "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"kubernetes.io/metadata.name": name},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    })
}
