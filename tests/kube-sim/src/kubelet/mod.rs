//! The fake kubelet: runs each container as a local process and walks the pod through the
//! status transitions a real node reports.
mod container;
mod delete;
pub mod env;
pub mod logs;
pub mod probe;
pub mod process;
mod pull;
pub mod runtime;
pub mod security;
pub mod status;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};

use crate::store::Key;
use crate::Ctx;
pub use delete::delete_pod;
use runtime::lock;
pub use runtime::{ContainerRuntime, ContainerState, Output, PodRuntime, Terminated};

/// Node name every pod is bound to.
pub const NODE_NAME: &str = "kube-sim";

#[derive(Default)]
pub struct Kubelet {
    pods: Mutex<HashMap<String, Arc<PodRuntime>>>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(0, |a| a.port())
}

impl Kubelet {
    pub fn runtime(&self, uid: &str) -> Option<Arc<PodRuntime>> {
        lock(&self.pods).get(uid).cloned()
    }

    pub fn runtime_of(&self, pod: &Value) -> Option<Arc<PodRuntime>> {
        self.runtime(pod["metadata"]["uid"].as_str()?)
    }

    pub fn all(&self) -> Vec<Arc<PodRuntime>> {
        lock(&self.pods).values().cloned().collect()
    }

    /// Takes a freshly created pod and runs it.
    pub fn start(ctx: &Arc<Ctx>, key: Key, pod: Pod) {
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let mut ports = HashMap::new();
        for p in spec
            .containers
            .iter()
            .flat_map(|c| c.ports.iter().flatten())
        {
            ports
                .entry(p.container_port as u16)
                .or_insert_with(free_port);
        }
        let containers = spec
            .containers
            .iter()
            .map(|c| {
                Arc::new(ContainerRuntime::new(
                    c.name.clone(),
                    c.image.clone().unwrap_or_default(),
                    c.stdin.unwrap_or(false),
                    c.stdin_once.unwrap_or(false),
                ))
            })
            .collect();
        let rt = Arc::new(PodRuntime {
            key,
            uid: uid.clone(),
            spec: pod,
            containers,
            ports,
            start_time: Mutex::new(None),
            deadline_exceeded: Default::default(),
            deleting: Default::default(),
            conditions: Default::default(),
            stop: tokio::sync::watch::channel(false).0,
        });
        lock(&ctx.kubelet.pods).insert(uid, rt.clone());
        tokio::spawn(run_pod(ctx.clone(), rt));
    }

    /// Kills every process (simulator shutdown).
    pub fn kill_all(&self) {
        for rt in self.all() {
            let _ = rt.stop.send(true);
            rt.signal_all(libc::SIGKILL);
        }
    }
}

/// Writes the run-time state into the stored pod (if it is still the same pod).
pub fn publish(ctx: &Ctx, rt: &PodRuntime) {
    let status = status::pod_status(rt, false);
    ctx.store.update(&rt.key, |pod| {
        if pod["metadata"]["uid"] == json!(rt.uid) {
            pod["status"] = status;
        }
    });
}

/// The one node's labels, which a pod's `nodeSelector` must match to be scheduled.
const NODE_LABELS: &[(&str, &str)] = &[
    ("kubernetes.io/hostname", NODE_NAME),
    ("kubernetes.io/os", "linux"),
    ("kubernetes.io/arch", "amd64"),
];

async fn run_pod(ctx: Arc<Ctx>, rt: Arc<PodRuntime>) {
    let selector = rt
        .spec
        .spec
        .as_ref()
        .and_then(|s| s.node_selector.clone())
        .unwrap_or_default();
    let fits = selector
        .iter()
        .all(|(k, v)| NODE_LABELS.iter().any(|(nk, nv)| nk == k && nv == v));
    if !fits {
        // The scheduler leaves it Pending, saying why, until it is deleted.
        let status = json!({"phase": "Pending", "qosClass": status::qos_class(&rt), "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "lastTransitionTime": crate::now_rfc3339(), "lastProbeTime": null,
            "message": "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. \
                        preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
        }]});
        ctx.store.update(&rt.key, |pod| {
            if pod["metadata"]["uid"] == json!(rt.uid) {
                pod["status"] = status;
            }
        });
        rt.stopped().await;
        return;
    }
    // The scheduler binds the pod first, then the kubelet reports it.
    let scheduled = status::pod_status(&rt, true);
    ctx.store.update(&rt.key, |pod| {
        if pod["metadata"]["uid"] == json!(rt.uid) {
            pod["spec"]["nodeName"] = json!(NODE_NAME);
            pod["status"] = scheduled;
        }
    });
    *lock(&rt.start_time) = Some(crate::now_rfc3339());
    publish(&ctx, &rt);
    let spec = rt.spec.spec.clone().unwrap_or_default();
    let workers = spec
        .containers
        .iter()
        .zip(rt.containers.clone())
        .map(|(c, crt)| {
            tokio::spawn(container::run_container(
                ctx.clone(),
                rt.clone(),
                c.clone(),
                crt,
            ))
        })
        .collect::<Vec<_>>();
    if let Some(deadline) = spec.active_deadline_seconds {
        let rt2 = rt.clone();
        let ctx2 = ctx.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(deadline.max(0) as u64)) => {}
                _ = rt2.stopped() => return,
            }
            let terminal = ctx2.store.get(&rt2.key).is_some_and(|p| {
                matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
            });
            if !terminal {
                // The flag first: every status published from here on is Failed/DeadlineExceeded.
                rt2.deadline_exceeded.store(true, Ordering::SeqCst);
                let _ = rt2.stop.send(true);
                rt2.signal_all(libc::SIGKILL);
                let _ = tokio::time::timeout(Duration::from_secs(5), rt2.processes_gone()).await;
                publish(&ctx2, &rt2);
            }
        });
    }
    for w in workers {
        let _ = w.await;
    }
    publish(&ctx, &rt);
}
