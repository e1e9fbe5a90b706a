//! A running probe pod: what the session holds open, and the shutdown that reads the pod's
//! end state and log tail, then deletes everything the probe created (bounded by the deadline
//! plus the cleanup grace).

use super::cleanup::{describe, Created, CLEANUP_GRACE};
use super::{connect, manifest, start::ms, wait};
use crate::report::KubernetesInfo;
use crate::runtime::{LogKind, Stopped};
use crate::transport::secrets::Secrets;
use k8s_openapi::api::core::v1::Pod;
use kube::api::LogParams;
use kube::Api;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What keeps the session's way to the pod open.
pub(super) enum Link {
    Attach(connect::Attached),
    Forward(connect::Forward),
    /// A Service: the API keeps it; nothing to hold here.
    Service,
}

/// A running probe pod; shutdown reads its state and log tail, then deletes everything.
pub struct KubeServer {
    pub(super) pods: Api<Pod>,
    pub(super) name: String,
    pub(super) link: Option<Link>,
    pub(super) info: KubernetesInfo,
    pub(super) created: Option<Created>,
    /// The pod's secret env, taken out of its log, stderr and end state.
    pub(super) secrets: Arc<Secrets>,
}

/// How much of the pod's log is read at the end.
const LOG_TAIL_LINES: i64 = 100;
/// How long reading the pod's state and log may take at shutdown (at most half of what is
/// left for the cleanup: the deletes matter more).
const READ_BOUND: Duration = Duration::from_secs(3);

#[async_trait::async_trait]
impl crate::runtime::Server for KubeServer {
    /// Done by `deadline` + [`CLEANUP_GRACE`]: what the deletes could not remove by then is a
    /// warning in `leftovers`, never the probe's result.
    async fn shutdown(mut self: Box<Self>, deadline: Instant) -> Stopped {
        let began = Instant::now();
        let by = self
            .created
            .as_ref()
            .map_or(deadline + CLEANUP_GRACE, Created::by);
        let mut stderr_tail = String::new();
        match self.link.take() {
            Some(Link::Attach(attached)) => {
                // The pod is deleted next; what stderr said so far is in the tail already.
                attached.process.abort();
                attached.stderr_reader.abort();
                stderr_tail = attached.stderr.lock().expect("tail lock").text();
            }
            Some(Link::Forward(forward)) => drop(forward),
            Some(Link::Service) | None => {}
        }
        let read_for = READ_BOUND.min(by.saturating_duration_since(began) / 2);
        let (exit, log_tail) = tokio::time::timeout(read_for, self.last_words())
            .await
            .unwrap_or((None, String::new()));
        // Attached stderr is stderr; the pod's log interleaves stdout with it.
        let (log_tail, log_kind) = if stderr_tail.trim().is_empty() {
            (log_tail, LogKind::PodLog)
        } else {
            (stderr_tail, LogKind::Stderr)
        };
        let scrub = |text: &str| self.secrets.scrub(text).into_owned();
        let (exit, log_tail) = (exit.as_deref().map(scrub), scrub(&log_tail));
        let leftovers = match self.created.as_mut() {
            Some(created) => created.remove_all().await.into_iter().collect(),
            None => Vec::new(),
        };
        self.info.phase_ms.insert("cleanup".into(), ms(began));
        Stopped {
            exit,
            log_tail,
            log_kind,
            kubernetes: Some(self.info.clone()),
            leftovers,
        }
    }
}

impl KubeServer {
    /// The container's end state (when it ended) and the tail of its log; when the API
    /// cannot be reached, that (it is then why the session broke).
    async fn last_words(&self) -> (Option<String>, String) {
        let exit = match self.pods.get_opt(&self.name).await {
            Ok(None) => Some(format!(
                "the pod {} was deleted during the probe",
                self.name
            )),
            Ok(Some(pod)) if pod.metadata.deletion_timestamp.is_some() => Some(format!(
                "the pod {} was deleted during the probe{}",
                self.name,
                terminated_state(&pod)
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            )),
            Ok(Some(pod)) => terminated_state(&pod),
            Err(err @ kube::Error::Api(_)) => {
                tracing::debug!("cannot read pod {}: {err}", self.name);
                None
            }
            Err(err) => {
                let exit = format!(
                    "the API server stopped answering (reading pod {}: {})",
                    self.name,
                    describe(&err)
                );
                return (Some(exit), String::new());
            }
        };
        let params = LogParams {
            container: Some(manifest::CONTAINER.into()),
            tail_lines: Some(LOG_TAIL_LINES),
            limit_bytes: Some(crate::runtime::tail::TAIL_BYTES as i64),
            ..LogParams::default()
        };
        let log = self
            .pods
            .logs(&self.name, &params)
            .await
            .unwrap_or_default();
        (exit, log)
    }
}

fn terminated_state(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?.container_statuses.as_ref()?.first()?;
    let terminated = status.state.as_ref()?.terminated.as_ref()?;
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    Some(format!(
        "the container of pod {namespace}/{name} terminated: {}",
        wait::terminated_text(
            terminated.reason.as_deref(),
            terminated.exit_code,
            terminated.message.as_deref()
        )
    ))
}
