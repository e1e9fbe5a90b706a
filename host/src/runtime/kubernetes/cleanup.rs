//! Removing what a probe created: every object is recorded here before it is requested, so
//! that a failure, a timeout, an interrupt or a panic at any step still deletes it. The async
//! [`Created::remove_all`] is the normal path; `Drop` is the backstop, deleting on a fresh
//! runtime in a thread of its own when the future that owned the objects was cancelled.
//!
//! A cleanup never decides how a probe ended: the deletes run at once (each with its retries)
//! until the whole-discovery deadline plus [`CLEANUP_GRACE`], and what is still there then is a
//! warning naming each object and the `mcp-probe gc` command that removes it.

use super::retry::with_retries;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use kube::api::{DeleteParams, PropagationPolicy};
use kube::{Api, Client, Config};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How long after the whole-discovery deadline (`--timeout`) the deletes may still run.
pub const CLEANUP_GRACE: Duration = Duration::from_secs(2);

/// The cleanup warnings of one probe (each also logged as it happens), for its report.
pub type CleanupLog = Arc<Mutex<Vec<String>>>;

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

/// Where a probe's objects live and how long removing them may take.
pub struct Scope {
    pub client: Client,
    pub config: Config,
    pub namespace: String,
    pub retries: u32,
    /// The `mcp-probe.dev/run-id` label of every object of this run (for `gc --run-id`).
    pub run_id: String,
    /// When the deletes give up: the whole-discovery deadline plus [`CLEANUP_GRACE`].
    pub by: Instant,
    pub log: CleanupLog,
}

/// The objects one probe created (or may have: a create whose answer was lost counts).
pub struct Created {
    scope: Scope,
    objects: Vec<(ObjectKind, String)>,
}

/// One object a cleanup could not delete, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    pub kind: ObjectKind,
    pub name: String,
    pub why: String,
}

impl Created {
    pub fn new(scope: Scope) -> Created {
        Created {
            scope,
            objects: Vec::new(),
        }
    }

    /// When the deletes give up.
    pub fn by(&self) -> Instant {
        self.scope.by
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

    /// Deletes everything recorded, all at once (pods with grace period 0), until the scope's
    /// deadline. Returns the warning naming what is left (also logged), if anything is.
    pub async fn remove_all(&mut self) -> Option<String> {
        let objects = std::mem::take(&mut self.objects);
        let s = &self.scope;
        let left = delete_all(&s.client, &s.namespace, s.retries, &objects, s.by).await;
        self.warn(&left)
    }

    fn warn(&self, left: &[Left]) -> Option<String> {
        let warning = warning(&self.scope.namespace, &self.scope.run_id, left)?;
        tracing::warn!("{warning}");
        self.scope
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(warning.clone());
        Some(warning)
    }
}

/// `cleanup left pod ns/name (why), …; `mcp-probe gc -n ns --run-id ID` removes it`.
pub fn warning(namespace: &str, run_id: &str, left: &[Left]) -> Option<String> {
    if left.is_empty() {
        return None;
    }
    let objects: Vec<String> = left
        .iter()
        .map(|l| format!("{} {namespace}/{} ({})", l.kind.as_str(), l.name, l.why))
        .collect();
    let them = if left.len() == 1 { "it" } else { "them" };
    Some(format!(
        "cleanup left {}; `mcp-probe gc -n {namespace} --run-id {run_id}` removes {them}",
        objects.join(", ")
    ))
}

impl Drop for Created {
    fn drop(&mut self) {
        if self.objects.is_empty() {
            return;
        }
        let objects = std::mem::take(&mut self.objects);
        let s = &self.scope;
        let (config, namespace, retries) = (s.config.clone(), s.namespace.clone(), s.retries);
        // Past the deadline (a panic late in a run) the deletes still get the grace.
        let bound =
            s.by.saturating_duration_since(Instant::now())
                .max(CLEANUP_GRACE);
        // The owning runtime may be shutting down: a fresh one in its own thread can still
        // reach the API. Joined, so the process does not exit before the deletes are sent.
        let joined = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let client = Client::try_from(config).ok()?;
                let by = Instant::now() + bound;
                Some(delete_all(&client, &namespace, retries, &objects, by).await)
            })
        })
        .join();
        match joined {
            Ok(Some(left)) => {
                self.warn(&left);
            }
            _ => tracing::warn!(
                "cleanup in the backstop did not finish; `mcp-probe gc -n {} --run-id {}` removes what is left",
                self.scope.namespace,
                self.scope.run_id
            ),
        }
    }
}

/// Deletes every object concurrently (a delete that hangs does not keep the others from being
/// sent), each until `by`; returns what is left.
async fn delete_all(
    client: &Client,
    namespace: &str,
    retries: u32,
    objects: &[(ObjectKind, String)],
    by: Instant,
) -> Vec<Left> {
    let deletes = objects.iter().map(|(kind, name)| async move {
        let deleted = tokio::time::timeout_at(by, delete(client, namespace, retries, *kind, name));
        let why = match deleted.await {
            Ok(Ok(())) => return None,
            Ok(Err(err)) => describe(&err),
            Err(_) => format!(
                "the delete got no answer within --timeout + {}s",
                CLEANUP_GRACE.as_secs()
            ),
        };
        Some(Left {
            kind: *kind,
            name: name.clone(),
            why,
        })
    });
    futures_util::future::join_all(deletes)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// An API failure in one line: the status the API answered, else the error and its causes
/// (`client error (Connect)` alone would not say that the connection was refused).
pub fn describe(err: &kube::Error) -> String {
    if let kube::Error::Api(status) = err {
        return format!(
            "the API answered {} {}: {}",
            status.code, status.reason, status.message
        );
    }
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text = format!("{text}: {part}");
        }
        source = cause.source();
    }
    text
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_names_each_object_and_the_gc_command() {
        let left = |kind, why: &str| Left {
            kind,
            name: "mcp-probe-x-1".into(),
            why: why.into(),
        };
        assert_eq!(warning("team", "r1", &[]), None);
        assert_eq!(
            warning("team", "r1", &[left(ObjectKind::Pod, "500")]).unwrap(),
            "cleanup left pod team/mcp-probe-x-1 (500); \
             `mcp-probe gc -n team --run-id r1` removes it"
        );
        let two = [left(ObjectKind::Pod, "a"), left(ObjectKind::Secret, "b")];
        let text = warning("team", "r1", &two).unwrap();
        assert!(
            text.contains("pod team/mcp-probe-x-1 (a), secret team/mcp-probe-x-1 (b)")
                && text.ends_with("removes them"),
            "{text}"
        );
    }

    #[test]
    fn an_api_status_is_quoted_and_other_errors_carry_their_causes() {
        let status = kube::Error::Api(Box::new(kube::core::Status {
            code: 500,
            reason: "InternalError".into(),
            message: "boom".into(),
            ..kube::core::Status::default()
        }));
        assert_eq!(
            describe(&status),
            "the API answered 500 InternalError: boom"
        );
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let outer = kube::Error::ReadEvents(io);
        assert!(describe(&outer).contains("refused"), "{}", describe(&outer));
    }
}
