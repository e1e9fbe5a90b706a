//! `mcp-probe gc`: removes what killed runs left — every Pod, Service and Secret labelled
//! `app.kubernetes.io/managed-by=mcp-probe` whose creation-time annotation (else its
//! `creationTimestamp`) is older than a bound; with a run id, only that run's objects (what a
//! cleanup warning names).

use super::cleanup::{delete, ObjectKind};
use super::names::{CREATED_AT_ANNOTATION, MANAGED_BY, RUN_ID_LABEL};
use super::{Cluster, KubeError};
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use kube::api::ListParams;
use kube::{Api, Resource, ResourceExt};
use std::time::Duration;

/// Which objects `gc` looks at.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// `None`: every namespace (`-A`).
    pub namespace: Option<String>,
    pub older_than: Duration,
    pub dry_run: bool,
    pub retries: u32,
    /// Only the objects labelled with this `mcp-probe.dev/run-id`.
    pub run_id: Option<String>,
}

/// One object found, and what happened to it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Collected {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub age_secs: u64,
    /// `deleted`, `would delete` (dry run), or the error.
    pub outcome: String,
}

/// Finds and (unless dry-running) deletes the probe objects older than the bound.
pub async fn collect(cluster: &Cluster, options: &GcOptions) -> Result<Vec<Collected>, KubeError> {
    let mut selector = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
    if let Some(run_id) = &options.run_id {
        if !is_label_value(run_id) {
            return Err(KubeError::BadInput(format!(
                "--run-id {run_id:?} is not a run id (letters, digits, '-', '_', '.'; at most 63)"
            )));
        }
        selector = format!("{selector},{RUN_ID_LABEL}={run_id}");
    }
    let params = ListParams::default().labels(&selector);
    let now = jiff::Timestamp::now();
    let mut found = Vec::new();
    let ns = options.namespace.as_deref();
    let scope = ns.unwrap_or("all namespaces");
    for (kind, metas) in [
        (
            ObjectKind::Service,
            list::<Service>(cluster, ns, &params).await,
        ),
        (ObjectKind::Pod, list::<Pod>(cluster, ns, &params).await),
        (
            ObjectKind::Secret,
            list::<Secret>(cluster, ns, &params).await,
        ),
    ] {
        let resource = format!("{}s", kind.as_str());
        let metas = metas.map_err(|err| KubeError::api(err, "list", &resource, scope))?;
        for (namespace, name, created) in metas {
            let age = created
                .and_then(|t| now.since(t).ok())
                .map_or(0, |span| span.get_seconds().max(0) as u64);
            if Duration::from_secs(age) < options.older_than {
                continue;
            }
            found.push(Collected {
                kind: kind.as_str(),
                namespace,
                name,
                age_secs: age,
                outcome: String::new(),
            });
        }
        if options.dry_run {
            continue;
        }
        for item in found.iter_mut().filter(|c| c.kind == kind.as_str()) {
            let deleted = delete(
                &cluster.client,
                &item.namespace,
                options.retries,
                kind,
                &item.name,
            )
            .await;
            item.outcome = match deleted {
                Ok(()) => "deleted".into(),
                Err(err) => format!("not deleted: {err}"),
            };
        }
    }
    if options.dry_run {
        for item in &mut found {
            item.outcome = "would delete".into();
        }
    }
    Ok(found)
}

type Meta = (String, String, Option<jiff::Timestamp>);

async fn list<K>(
    cluster: &Cluster,
    namespace: Option<&str>,
    params: &ListParams,
) -> Result<Vec<Meta>, kube::Error>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(cluster.client.clone(), ns),
        None => Api::all(cluster.client.clone()),
    };
    let list = api.list(params).await?;
    Ok(list
        .items
        .iter()
        .map(|item| {
            let created = item
                .annotations()
                .get(CREATED_AT_ANNOTATION)
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                .or_else(|| item.meta().creation_timestamp.as_ref().map(|t| t.0));
            (
                item.namespace().unwrap_or_default(),
                item.name_any(),
                created,
            )
        })
        .collect())
}

/// A label value Kubernetes accepts (so that it cannot widen the selector).
fn is_label_value(text: &str) -> bool {
    let bytes = text.as_bytes();
    !text.is_empty()
        && text.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_run_id_must_be_a_label_value() {
        for ok in ["abc123def456", "a", "a-b.c_d"] {
            assert!(super::is_label_value(ok), "{ok}");
        }
        for bad in ["", "a,b=c", "-a", "a-", "x y", &"a".repeat(64), "é"] {
            assert!(!super::is_label_value(bad), "{bad}");
        }
    }
}
