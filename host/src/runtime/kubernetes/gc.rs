//! `mcp-probe gc`: removes what killed runs left — every Pod, Service and Secret labelled
//! `app.kubernetes.io/managed-by=mcp-probe` whose creation-time annotation (else its
//! `creationTimestamp`) is older than a bound.

use super::cleanup::{delete, ObjectKind};
use super::names::{CREATED_AT_ANNOTATION, MANAGED_BY};
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
    let selector = format!("{}={}", MANAGED_BY.0, MANAGED_BY.1);
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
