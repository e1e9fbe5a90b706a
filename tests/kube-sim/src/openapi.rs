//! The OpenAPI v3 documents kubectl reads before `apply` or `create` with validation on (its
//! default): the index at `/openapi/v3` and, for `batch/v1`, a document whose PATCH operation on
//! Jobs takes the `fieldValidation` query parameter. From that kubectl concludes the server
//! checks fields itself and sends `fieldValidation=Strict` instead of validating against a
//! schema it would otherwise download. Only that operation is described: the simulator has no
//! schemas to serve, so core kinds (whose group version the index leaves out) still need
//! `--validate=false`, as before.
use serde_json::{json, Value};

use crate::server::{json_response, Resp};

/// The `batch/v1` document: the Job PATCH operation and its `fieldValidation` parameter.
fn batch_v1() -> Value {
    let field_validation = json!({
        "name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true},
        "description": "fieldValidation instructs the server on how to handle objects in the \
                        request containing unknown or duplicate fields. Valid values are: Ignore, \
                        Warn (the default) and Strict.",
    });
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0-kube-sim"},
        "paths": {
            "/apis/batch/v1/namespaces/{namespace}/jobs/{name}": {
                "patch": {
                    "description": "partially update the specified Job",
                    "operationId": "patchBatchV1NamespacedJob",
                    "parameters": [field_validation],
                    "responses": {"200": {"description": "OK"}},
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": {"group": "batch", "version": "v1", "kind": "Job"},
                },
            },
        },
    })
}

/// Answers `/openapi/v3` and the documents it lists; `None` for other paths.
/// Every request that is not discovery passes through here, so the document is built only for
/// the paths that serve it.
pub fn route(path: &str) -> Option<Resp> {
    let body = match path {
        "/openapi/v3" => {
            // Clients cache a document by the hash in its URL, so the hash follows the content.
            let text = serde_json::to_vec(&batch_v1()).unwrap_or_default();
            let hash = crate::sha256::hex(&text).to_uppercase();
            json!({"paths": {"apis/batch/v1": {
                "serverRelativeURL": format!("/openapi/v3/apis/batch/v1?hash={hash}"),
            }}})
        }
        "/openapi/v3/apis/batch/v1" => batch_v1(),
        _ => return None,
    };
    Some(json_response(200, &body))
}
