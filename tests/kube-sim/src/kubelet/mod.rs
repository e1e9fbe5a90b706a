//! The fake kubelet: runs each container as a local process and walks the pod through the
//! status transitions a real node reports.
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

use k8s_openapi::api::core::v1::{Container, Pod};
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
        .map(|(c, crt)| tokio::spawn(run_container(ctx.clone(), rt.clone(), c.clone(), crt)))
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

async fn wait_or_stop(rt: &PodRuntime, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = rt.stopped() => false,
    }
}

async fn run_container(
    ctx: Arc<Ctx>,
    rt: Arc<PodRuntime>,
    spec: Container,
    c: Arc<ContainerRuntime>,
) {
    let image_ref = spec.image.clone().unwrap_or_default();
    if let Some(why) = crate::images::invalid_reference(&image_ref) {
        c.set_state(ContainerState::Waiting {
            reason: "InvalidImageName".into(),
            message: Some(format!(
                "Failed to apply default image tag \"{image_ref}\": couldn't parse image reference \"{image_ref}\": invalid reference format{why}"
            )),
        });
        publish(&ctx, &rt);
        rt.stopped().await;
        return;
    }
    let Some(image) = ctx.images.resolve(&image_ref).cloned() else {
        return pull::never_pulled(&ctx, &rt, &c, &image_ref).await;
    };
    *runtime::lock(&c.image_id) = crate::images::image_id(&image_ref, &image);
    if !wait_or_stop(&rt, Duration::from_millis(image.start_delay_ms)).await {
        return;
    }
    // generateContainerConfig: the environment (its Secrets), then runAsNonRoot. A failure
    // holds the container in CreateContainerConfigError, retried like the kubelet's sync
    // loop until it passes (a Secret appears) or the pod goes.
    let env = loop {
        let config = env::environment(&ctx, &rt, &image, &spec)
            .and_then(|env| security::verify_run_as_non_root(&rt, &spec, &image).map(|()| env));
        match config {
            Ok(env) => break env,
            Err(message) => {
                c.set_state(ContainerState::Waiting {
                    reason: "CreateContainerConfigError".into(),
                    message: Some(message),
                });
                publish(&ctx, &rt);
                if !wait_or_stop(&rt, Duration::from_secs(1)).await {
                    return;
                }
            }
        }
    };
    let argv = process::argv(&image, &spec, &env);
    let mut backoff = Duration::from_secs(10);
    loop {
        if rt.is_stopping() {
            return;
        }
        let terminated = run_once(&ctx, &rt, &c, &argv, &env, spec.working_dir.as_deref()).await;
        let code = terminated.exit_code;
        c.set_state(ContainerState::Terminated(terminated.clone()));
        publish(&ctx, &rt);
        let _ = c.output.send(Output::Exited);
        let restart = match rt.restart_policy() {
            "Never" => false,
            "OnFailure" => code != 0,
            _ => true,
        };
        if !restart || rt.is_stopping() {
            return;
        }
        // CrashLoopBackOff: the kubelet waits 10 s, doubling up to five minutes.
        *lock(&c.last_state) = Some(terminated);
        c.restart_count.fetch_add(1, Ordering::SeqCst);
        let msg = format!(
            "back-off {}s restarting failed container={} pod={}_{}({})",
            backoff.as_secs(),
            c.name,
            rt.key.name,
            rt.key.namespace,
            rt.uid
        );
        c.set_state(ContainerState::Waiting {
            reason: "CrashLoopBackOff".into(),
            message: Some(msg),
        });
        publish(&ctx, &rt);
        if !wait_or_stop(&rt, backoff).await {
            return;
        }
        backoff = (backoff * 2).min(Duration::from_secs(300));
        let old = std::mem::replace(&mut *lock(&c.logs), Arc::new(logs::LogBuffer::default()));
        *lock(&c.previous_logs) = Some(old);
    }
}

/// Runs the process once and reports how it ended.
async fn run_once(
    ctx: &Ctx,
    rt: &PodRuntime,
    c: &Arc<ContainerRuntime>,
    argv: &[String],
    env: &HashMap<String, String>,
    workdir: Option<&str>,
) -> Terminated {
    let container_id = format!("kube-sim://{}", uuid::Uuid::new_v4().simple());
    let started_at = crate::now_rfc3339();
    let (mut child, pumps) = match process::spawn(c, argv, env, workdir) {
        Ok(x) => x,
        Err(e) => {
            c.current_logs().close();
            return Terminated {
                exit_code: 128,
                signal: None,
                reason: "StartError".into(),
                message: Some(format!(
                    "failed to start container process: exec: \"{}\": {e}",
                    argv[0]
                )),
                started_at: started_at.clone(),
                finished_at: started_at,
                container_id,
            };
        }
    };
    c.probe_passed.store(false, Ordering::SeqCst);
    c.set_state(ContainerState::Running {
        started_at: started_at.clone(),
        container_id: container_id.clone(),
    });
    publish(ctx, rt);
    // The readiness prober runs for as long as the process does.
    let prober = async {
        match probe::readiness(rt, &c.name) {
            Some(readiness) => probe::run(readiness, c, env, || publish(ctx, rt)).await,
            None => std::future::pending::<()>().await,
        }
    };
    let status = tokio::select! {
        status = child.wait() => status,
        () = prober => unreachable!("the prober never ends"),
    };
    // PID 1 of a container exiting ends the whole container: its process group goes with it.
    c.signal(libc::SIGKILL);
    *lock(&c.pgid) = None;
    *c.stdin.lock().await = None;
    for p in pumps {
        let _ = tokio::time::timeout(Duration::from_secs(2), p).await;
    }
    c.current_logs().close();
    use std::os::unix::process::ExitStatusExt;
    // Runtimes report death by signal N as exit code 128 + N.
    let exit_code = match status {
        Ok(s) => s.code().or(s.signal().map(|sig| 128 + sig)).unwrap_or(1),
        Err(_) => 1,
    };
    Terminated {
        exit_code,
        signal: None,
        reason: if exit_code == 0 {
            "Completed".into()
        } else {
            "Error".into()
        },
        message: logs::termination_message(
            termination_policy(rt, &c.name).as_deref(),
            exit_code,
            &c.current_logs(),
        ),
        started_at,
        finished_at: crate::now_rfc3339(),
        container_id,
    }
}

fn termination_policy(rt: &PodRuntime, name: &str) -> Option<String> {
    let spec = rt.spec.spec.as_ref()?;
    let c = spec.containers.iter().find(|c| c.name == name)?;
    c.termination_message_policy.clone()
}
