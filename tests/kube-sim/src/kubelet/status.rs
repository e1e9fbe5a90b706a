//! Builds `PodStatus` from the run-time state, the way the kubelet computes phase and conditions.
use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use super::runtime::{lock, ContainerState, PodRuntime, Terminated};

fn terminated_json(t: &Terminated) -> Value {
    let mut v = json!({
        "exitCode": t.exit_code, "reason": t.reason, "startedAt": t.started_at,
        "finishedAt": t.finished_at, "containerID": t.container_id,
    });
    if let Some(sig) = t.signal {
        v["signal"] = json!(sig);
    }
    if let Some(m) = &t.message {
        v["message"] = json!(m);
    }
    v
}

fn state_json(s: &ContainerState) -> Value {
    match s {
        ContainerState::Waiting { reason, message } => {
            let mut w = json!({"reason": reason});
            if let Some(m) = message {
                w["message"] = json!(m);
            }
            json!({"waiting": w})
        }
        ContainerState::Running { started_at, .. } => json!({"running": {"startedAt": started_at}}),
        ContainerState::Terminated(t) => json!({"terminated": terminated_json(t)}),
    }
}

/// Phase per the kubelet's rules (getPhase): Pending until a container runs, Running while one
/// runs or restarts, then Succeeded/Failed once all have terminated for good.
fn phase(rt: &PodRuntime, states: &[ContainerState]) -> &'static str {
    if rt.deadline_exceeded.load(Ordering::SeqCst) {
        return "Failed";
    }
    let running = states
        .iter()
        .filter(|s| matches!(s, ContainerState::Running { .. }))
        .count();
    let terminated: Vec<&Terminated> = states
        .iter()
        .filter_map(|s| {
            if let ContainerState::Terminated(t) = s {
                Some(t)
            } else {
                None
            }
        })
        .collect();
    let restarted = rt
        .containers
        .iter()
        .any(|c| c.restart_count.load(Ordering::SeqCst) > 0);
    let waiting = states.len() - running - terminated.len();
    if running > 0 || (restarted && !rt.is_deleting()) && waiting > 0 {
        return "Running";
    }
    if waiting > 0 {
        return "Pending";
    }
    let all_ok = terminated.iter().all(|t| t.exit_code == 0);
    let policy = if rt.is_deleting() {
        "Never"
    } else {
        rt.restart_policy()
    };
    // A container that will be restarted keeps the pod Running, whatever its exit code.
    match (policy, all_ok) {
        ("Always", _) | ("OnFailure", false) => "Running",
        (_, true) => "Succeeded",
        _ => "Failed",
    }
}

fn condition(rt: &PodRuntime, kind: &'static str, status: bool, reason: Option<&str>) -> Value {
    let mut conds = lock(&rt.conditions);
    let entry = conds
        .entry(kind)
        .or_insert_with(|| (status, crate::now_rfc3339()));
    if entry.0 != status {
        *entry = (status, crate::now_rfc3339());
    }
    let mut c = json!({
        "type": kind, "status": if status { "True" } else { "False" },
        "lastProbeTime": null, "lastTransitionTime": entry.1,
    });
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    c
}

/// The QoS class the API server gave the pod at creation (the kubelet keeps it).
pub fn qos_class(rt: &PodRuntime) -> String {
    rt.spec
        .status
        .as_ref()
        .and_then(|s| s.qos_class.clone())
        .unwrap_or_else(|| "BestEffort".into())
}

/// The pod's status now. `scheduled_only`: the kubelet has not picked the pod up yet.
pub fn pod_status(rt: &PodRuntime, scheduled_only: bool) -> Value {
    let scheduled = condition(rt, "PodScheduled", true, None);
    if scheduled_only {
        return json!({"phase": "Pending", "conditions": [scheduled], "qosClass": qos_class(rt)});
    }
    let states: Vec<ContainerState> = rt.containers.iter().map(|c| c.state()).collect();
    let phase = phase(rt, &states);
    let all_running = states
        .iter()
        .all(|s| matches!(s, ContainerState::Running { .. }));
    let probes_passed = rt.containers.iter().all(|c| super::probe::passes(rt, c));
    let ready = all_running && phase == "Running" && probes_passed;
    // generateContainersReadyCondition: only a Succeeded pod is PodCompleted.
    let not_ready_reason = if phase == "Succeeded" {
        "PodCompleted"
    } else {
        "ContainersNotReady"
    };
    let sandbox = !matches!(phase, "Succeeded" | "Failed") || !rt.has_live_process();
    let statuses: Vec<Value> = rt
        .containers
        .iter()
        .zip(&states)
        .map(|(c, s)| {
            let mut v = json!({
                "name": c.name, "image": c.image, "imageID": "",
                "ready": matches!(s, ContainerState::Running { .. })
                    && phase == "Running"
                    && super::probe::passes(rt, c),
                "started": matches!(s, ContainerState::Running { .. }),
                "restartCount": c.restart_count.load(Ordering::SeqCst),
                "state": state_json(s),
                "lastState": lock(&c.last_state).as_ref().map_or(json!({}), |t| json!({"terminated": terminated_json(t)})),
            });
            // Once a container exists, the runtime names its image: the normalized reference and
            // the repository digest. Before that (creating, config errors) only the spec's.
            let container_id = match s {
                ContainerState::Running { container_id, .. } => Some(container_id.clone()),
                ContainerState::Terminated(t) => Some(t.container_id.clone()),
                ContainerState::Waiting { .. } => {
                    lock(&c.last_state).as_ref().map(|t| t.container_id.clone())
                }
            };
            if let Some(id) = container_id {
                v["containerID"] = json!(id);
                v["image"] = json!(crate::reference::status_image(&c.image));
                v["imageID"] = json!(lock(&c.image_id).clone());
            }
            v
        })
        .collect();
    let unready: Vec<&str> = statuses
        .iter()
        .filter(|s| s["ready"] != true)
        .filter_map(|s| s["name"].as_str())
        .collect();
    let readiness = |kind| {
        let mut c = condition(rt, kind, ready, (!ready).then_some(not_ready_reason));
        if !ready && not_ready_reason == "ContainersNotReady" {
            c["message"] = json!(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            ));
        }
        c
    };
    let mut status = json!({
        "phase": phase,
        "conditions": [
            condition(rt, "PodReadyToStartContainers", sandbox, None),
            condition(rt, "Initialized", true, None),
            readiness("Ready"),
            readiness("ContainersReady"),
            scheduled,
        ],
        "hostIP": "127.0.0.1",
        "hostIPs": [{"ip": "127.0.0.1"}],
        "podIP": "127.0.0.1",
        "podIPs": [{"ip": "127.0.0.1"}],
        "startTime": lock(&rt.start_time).clone(),
        "containerStatuses": statuses,
        "qosClass": qos_class(rt),
    });
    if rt.deadline_exceeded.load(Ordering::SeqCst) {
        status["reason"] = json!("DeadlineExceeded");
        status["message"] = json!("Pod was active on the node longer than the specified deadline");
    }
    status
}
