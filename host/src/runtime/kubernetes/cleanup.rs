//! Removing what a probe created: every object is recorded here before it is requested, so
//! that a failure, a timeout, an interrupt or a panic at any step still deletes it. The async
//! [`Created::remove_all`] is the normal path; `Drop` is the backstop, deleting on a fresh
//! runtime in a thread of its own when the future that owned the objects was cancelled.

use super::retry::with_retries;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use kube::api::{DeleteParams, PropagationPolicy};
use kube::{Api, Client, Config};
use std::time::Duration;

/// How long the whole cleanup may take before what is left is reported.
const CLEANUP_BOUND: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    Service,
    Pod,
    Secret,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Service => "service",
            ObjectKind::Pod => "pod",
            ObjectKind::Secret => "secret",
        }
    }
}

/// The objects one probe created (or may have: a create whose answer was lost counts).
pub struct Created {
    client: Client,
    config: Config,
    namespace: String,
    retries: u32,
    objects: Vec<(ObjectKind, String)>,
}

impl Created {
    pub fn new(client: Client, config: Config, namespace: String, retries: u32) -> Created {
        Created {
            client,
            config,
            namespace,
            retries,
            objects: Vec::new(),
        }
    }

    /// Records an object about to be created.
    pub fn record(&mut self, kind: ObjectKind, name: &str) {
        if !self.objects.iter().any(|(k, n)| *k == kind && n == name) {
            self.objects.push((kind, name.to_owned()));
        }
    }

    /// Forgets an object that was never created (its create failed for good).
    pub fn forget(&mut self, kind: ObjectKind, name: &str) {
        self.objects.retain(|(k, n)| !(*k == kind && n == name));
    }

    /// Deletes everything recorded (Services first, the Secret last: nothing then points at a
    /// missing object), pods with grace period 0. Returns what could not be deleted.
    pub async fn remove_all(&mut self) -> Vec<String> {
        let objects = std::mem::take(&mut self.objects);
        let bounded = tokio::time::timeout(
            CLEANUP_BOUND,
            delete_all(&self.client, &self.namespace, self.retries, &objects),
        )
        .await;
        match bounded {
            Ok(left) => left,
            Err(_) => objects
                .iter()
                .map(|(kind, name)| {
                    format!(
                        "{} {}/{name}: not deleted within {CLEANUP_BOUND:?}",
                        kind.as_str(),
                        self.namespace
                    )
                })
                .collect(),
        }
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        if self.objects.is_empty() {
            return;
        }
        let objects = std::mem::take(&mut self.objects);
        let (config, namespace, retries) =
            (self.config.clone(), self.namespace.clone(), self.retries);
        // The owning runtime may be shutting down: a fresh one in its own thread can still
        // reach the API. Joined, so the process does not exit before the deletes are sent.
        let joined = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let client = Client::try_from(config).ok()?;
                let left = tokio::time::timeout(
                    CLEANUP_BOUND,
                    delete_all(&client, &namespace, retries, &objects),
                )
                .await
                .ok()?;
                for line in &left {
                    tracing::warn!("cleanup: {line}");
                }
                Some(())
            })
        })
        .join();
        if !matches!(joined, Ok(Some(()))) {
            tracing::warn!(
                "cleanup in the backstop did not finish; `mcp-probe gc` removes the rest"
            );
        }
    }
}

async fn delete_all(
    client: &Client,
    namespace: &str,
    retries: u32,
    objects: &[(ObjectKind, String)],
) -> Vec<String> {
    let mut ordered = objects.to_vec();
    ordered.sort_by_key(|(kind, _)| match kind {
        ObjectKind::Service => 0,
        ObjectKind::Pod => 1,
        ObjectKind::Secret => 2,
    });
    let mut left = Vec::new();
    for (kind, name) in &ordered {
        if let Err(err) = delete(client, namespace, retries, *kind, name).await {
            left.push(format!("{} {namespace}/{name}: {err}", kind.as_str()));
        }
    }
    left
}

/// Deletes one object now (grace period 0, dependents in the background); gone already is fine.
pub async fn delete(
    client: &Client,
    namespace: &str,
    retries: u32,
    kind: ObjectKind,
    name: &str,
) -> Result<(), kube::Error> {
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        propagation_policy: Some(PropagationPolicy::Background),
        ..DeleteParams::default()
    };
    let what = format!("delete {} {namespace}/{name}", kind.as_str());
    let result = with_retries(retries, &what, || async {
        match kind {
            ObjectKind::Pod => Api::<Pod>::namespaced(client.clone(), namespace)
                .delete(name, &params)
                .await
                .map(drop),
            ObjectKind::Service => Api::<Service>::namespaced(client.clone(), namespace)
                .delete(name, &params)
                .await
                .map(drop),
            ObjectKind::Secret => Api::<Secret>::namespaced(client.clone(), namespace)
                .delete(name, &params)
                .await
                .map(drop),
        }
    })
    .await;
    match result {
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        other => other,
    }
}
