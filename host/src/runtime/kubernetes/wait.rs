//! Waiting for the pod with a watch (never by polling): what each status says
//! ([`observe`], pure) and the watch loop that stops at the first answer — running (stdio),
//! ready (HTTP), or a failure the API has already stated (a pull error, a terminated
//! container, an unschedulable pod), so a bad image fails within moments of the API saying so.

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use kube::runtime::watcher;
use kube::Api;
use std::collections::BTreeMap;
use tokio::time::Instant;

/// Waiting reasons that will not resolve by themselves within a probe.
pub const FATAL_WAITING: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
    "CrashLoopBackOff",
];

/// Where a pod is on its way to serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodView {
    /// Not placed on a node yet.
    Scheduling,
    /// Placed; the image is being pulled or the container created.
    Pulling,
    /// The container runs, but is not ready yet (HTTP pods wait for the TCP probe).
    Starting,
    /// Running (and ready, when readiness was asked for).
    Serving {
        image_id: Option<String>,
    },
    Failed(PodFailure),
}

/// Why a pod will not serve, as the API said it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodFailure {
    /// `ErrImagePull`, `Unschedulable`, `Terminated`, `DeadlineExceeded`, ….
    pub reason: String,
    pub message: String,
    pub exit_code: Option<i32>,
}

impl PodView {
    /// The phase a timeout in this state is reported in.
    pub fn phase(&self) -> &'static str {
        match self {
            PodView::Scheduling => "scheduling",
            PodView::Pulling => "pulling",
            PodView::Starting | PodView::Serving { .. } | PodView::Failed(_) => "starting",
        }
    }
}

/// What `pod`'s status says, for a probe that needs it running (`need_ready`: and ready).
pub fn observe(pod: &Pod, need_ready: bool) -> PodView {
    let Some(status) = pod.status.as_ref() else {
        return PodView::Scheduling;
    };
    let container = status
        .container_statuses
        .as_ref()
        .and_then(|list| list.first());
    if let Some(failure) = container.and_then(container_failure) {
        return PodView::Failed(failure);
    }
    if let Some(phase @ ("Failed" | "Succeeded")) = status.phase.as_deref() {
        return PodView::Failed(PodFailure {
            reason: status.reason.clone().unwrap_or_else(|| phase.to_owned()),
            message: status
                .message
                .clone()
                .unwrap_or_else(|| format!("the pod is {phase}")),
            exit_code: None,
        });
    }
    let conditions = status.conditions.as_deref().unwrap_or_default();
    let scheduled = conditions.iter().find(|c| c.type_ == "PodScheduled");
    match scheduled {
        Some(c) if c.status == "False" && c.reason.as_deref() == Some("Unschedulable") => {
            return PodView::Failed(PodFailure {
                reason: "Unschedulable".into(),
                message: c.message.clone().unwrap_or_default(),
                exit_code: None,
            });
        }
        Some(c) if c.status == "True" => {}
        _ if status.phase.as_deref() == Some("Running") => {}
        _ => return PodView::Scheduling,
    }
    let Some(container) = container else {
        return PodView::Pulling;
    };
    let running = container
        .state
        .as_ref()
        .is_some_and(|s| s.running.is_some());
    if !running {
        return PodView::Pulling;
    }
    if need_ready && !container.ready {
        return PodView::Starting;
    }
    PodView::Serving {
        image_id: Some(container.image_id.clone()).filter(|id| !id.is_empty()),
    }
}

fn container_failure(c: &ContainerStatus) -> Option<PodFailure> {
    let state = c.state.as_ref()?;
    if let Some(waiting) = &state.waiting {
        let reason = waiting.reason.as_deref().unwrap_or_default();
        if FATAL_WAITING.contains(&reason) {
            return Some(PodFailure {
                reason: reason.to_owned(),
                message: waiting.message.clone().unwrap_or_default(),
                exit_code: None,
            });
        }
    }
    let terminated = state.terminated.as_ref()?;
    Some(PodFailure {
        reason: "Terminated".into(),
        message: terminated_text(
            terminated.reason.as_deref(),
            terminated.exit_code,
            terminated.message.as_deref(),
        ),
        exit_code: Some(terminated.exit_code),
    })
}

/// `Error (exit code 1): last words` — how a terminated container reads in messages.
pub fn terminated_text(reason: Option<&str>, exit_code: i32, message: Option<&str>) -> String {
    let mut text = format!("{} (exit code {exit_code})", reason.unwrap_or("terminated"));
    if let Some(message) = message.map(str::trim).filter(|m| !m.is_empty()) {
        let line = message.lines().last().unwrap_or_default();
        text = format!("{text}: {}", crate::excerpt::one_line(line));
    }
    text
}

/// How the wait ended.
pub enum Waited {
    Serving {
        image_id: Option<String>,
    },
    Failed(PodFailure),
    /// The pod disappeared (deleted by someone else).
    Deleted,
    /// The watch itself failed for good (e.g. 403 on watch).
    WatchFailed(kube::Error),
}

/// Watches the pod until it serves or fails, recording when each phase was first seen
/// (milliseconds since `since`) in `phases`. The caller bounds it by time and interrupts.
pub async fn until_serving(
    pods: &Api<Pod>,
    name: &str,
    need_ready: bool,
    since: Instant,
    phases: &mut BTreeMap<String, u64>,
    last_view: &mut PodView,
) -> Waited {
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = std::pin::pin!(watcher(pods.clone(), config));
    while let Some(event) = events.next().await {
        let pod = match event {
            Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => pod,
            Ok(watcher::Event::Delete(_)) => return Waited::Deleted,
            Ok(watcher::Event::Init | watcher::Event::InitDone) => continue,
            Err(err) => match err {
                watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e)
                    if !super::retry::is_retryable(&e) =>
                {
                    return Waited::WatchFailed(e);
                }
                other => {
                    // A dropped or expired watch: the watcher lists again and resumes.
                    tracing::debug!("watch of pod {name}: {other}; resuming");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let view = observe(&pod, need_ready);
        let elapsed = since.elapsed().as_millis() as u64;
        let phase = match &view {
            PodView::Scheduling => "scheduling",
            PodView::Pulling => "pulling",
            _ => "starting",
        };
        phases.entry(phase.to_owned()).or_insert(elapsed);
        *last_view = view.clone();
        match view {
            PodView::Serving { image_id } => return Waited::Serving { image_id },
            PodView::Failed(failure) => return Waited::Failed(failure),
            _ => {}
        }
    }
    Waited::Deleted
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "status": status})).unwrap()
    }

    fn scheduled() -> serde_json::Value {
        json!([{"type": "PodScheduled", "status": "True"}])
    }

    #[test]
    fn every_fatal_waiting_reason_fails_at_once() {
        for reason in FATAL_WAITING {
            let p = pod(json!({"phase": "Pending", "conditions": scheduled(),
                "containerStatuses": [{"name": "server", "image": "i", "imageID": "", "ready": false,
                    "restartCount": 0, "state": {"waiting": {"reason": reason, "message": "m"}}}]}));
            let PodView::Failed(f) = observe(&p, false) else {
                panic!("{reason} did not fail");
            };
            assert_eq!(f.reason, *reason);
            assert_eq!(f.message, "m");
        }
    }

    #[test]
    fn creating_is_pulling_and_running_is_serving() {
        let waiting = pod(json!({"phase": "Pending", "conditions": scheduled(),
            "containerStatuses": [{"name": "server", "image": "i", "imageID": "", "ready": false,
                "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}));
        assert_eq!(observe(&waiting, false), PodView::Pulling);
        let running = pod(json!({"phase": "Running", "conditions": scheduled(),
            "containerStatuses": [{"name": "server", "image": "i", "imageID": "docker.io/x@sha256:ab",
                "ready": false, "restartCount": 0, "state": {"running": {}}}]}));
        assert_eq!(
            observe(&running, false),
            PodView::Serving {
                image_id: Some("docker.io/x@sha256:ab".into())
            }
        );
        assert_eq!(observe(&running, true), PodView::Starting);
    }

    #[test]
    fn unscheduled_terminated_and_deadline_fail() {
        let unschedulable = pod(
            json!({"phase": "Pending", "conditions": [{"type": "PodScheduled",
            "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available"}]}),
        );
        let PodView::Failed(f) = observe(&unschedulable, false) else {
            panic!()
        };
        assert_eq!(
            (f.reason.as_str(), f.message.as_str()),
            ("Unschedulable", "0/3 nodes are available")
        );
        let terminated = pod(json!({"phase": "Failed", "conditions": scheduled(),
            "containerStatuses": [{"name": "server", "image": "i", "imageID": "", "ready": false,
                "restartCount": 0, "state": {"terminated": {"exitCode": 2, "reason": "Error",
                "message": "boom\nlast words"}}}]}));
        let PodView::Failed(f) = observe(&terminated, false) else {
            panic!()
        };
        assert_eq!(f.exit_code, Some(2));
        assert_eq!(f.message, "Error (exit code 2): last words");
        let deadline = pod(json!({"phase": "Failed", "reason": "DeadlineExceeded",
            "message": "Pod was active on the node longer than the specified deadline"}));
        let PodView::Failed(f) = observe(&deadline, false) else {
            panic!()
        };
        assert_eq!(f.reason, "DeadlineExceeded");
        assert_eq!(observe(&pod(json!({})), false), PodView::Scheduling);
    }
}
