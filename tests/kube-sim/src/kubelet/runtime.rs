//! Run-time state of pods and containers, shared by the kubelet, attach, logs and port-forward.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use k8s_openapi::api::core::v1::Pod;
use tokio::process::ChildStdin;
use tokio::sync::{broadcast, watch};

use super::logs::LogBuffer;
use crate::store::Key;

/// Output of a container as attach sessions see it.
#[derive(Clone, Debug)]
pub enum Output {
    Data(u8, Bytes),
    /// The process exited and its output is drained.
    Exited,
}

#[derive(Clone, Debug)]
pub struct Terminated {
    pub exit_code: i32,
    pub signal: Option<i32>,
    pub reason: String,
    pub message: Option<String>,
    pub started_at: String,
    pub finished_at: String,
    pub container_id: String,
}

#[derive(Clone, Debug)]
pub enum ContainerState {
    Waiting {
        reason: String,
        message: Option<String>,
    },
    Running {
        started_at: String,
        container_id: String,
    },
    Terminated(Terminated),
}

pub struct ContainerRuntime {
    pub name: String,
    pub image: String,
    pub stdin_enabled: bool,
    pub stdin_once: bool,
    pub stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    /// With stdinOnce, only the first attach gets stdin.
    pub stdin_claimed: AtomicBool,
    pub output: broadcast::Sender<Output>,
    pub logs: Mutex<Arc<LogBuffer>>,
    pub previous_logs: Mutex<Option<Arc<LogBuffer>>>,
    pub state: Mutex<ContainerState>,
    pub last_state: Mutex<Option<Terminated>>,
    pub restart_count: AtomicU32,
    pub pgid: Mutex<Option<i32>>,
    /// The digest-style image id, known once the image is "pulled".
    pub image_id: Mutex<String>,
    /// Set once the readiness probe (if the container has one) passed since the last start.
    pub probe_passed: AtomicBool,
}

impl ContainerRuntime {
    pub fn new(name: String, image: String, stdin_enabled: bool, stdin_once: bool) -> Self {
        ContainerRuntime {
            name,
            image,
            stdin_enabled,
            stdin_once,
            stdin: tokio::sync::Mutex::new(None),
            stdin_claimed: AtomicBool::new(false),
            output: broadcast::channel(4096).0,
            logs: Mutex::new(Arc::new(LogBuffer::default())),
            previous_logs: Mutex::new(None),
            image_id: Mutex::new(String::new()),
            probe_passed: AtomicBool::new(false),
            state: Mutex::new(ContainerState::Waiting {
                reason: "ContainerCreating".into(),
                message: None,
            }),
            last_state: Mutex::new(None),
            restart_count: AtomicU32::new(0),
            pgid: Mutex::new(None),
        }
    }

    pub fn state(&self) -> ContainerState {
        lock(&self.state).clone()
    }
    pub fn set_state(&self, s: ContainerState) {
        *lock(&self.state) = s;
    }
    pub fn is_running(&self) -> bool {
        matches!(self.state(), ContainerState::Running { .. })
    }
    pub fn current_logs(&self) -> Arc<LogBuffer> {
        lock(&self.logs).clone()
    }
    /// Sends `sig` to the container's process group.
    pub fn signal(&self, sig: i32) -> bool {
        match *lock(&self.pgid) {
            Some(pgid) => {
                // SAFETY: kill(2) with a negative pid signals a process group; no memory is touched.
                unsafe { libc::kill(-pgid, sig) };
                true
            }
            None => false,
        }
    }
}

pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct PodRuntime {
    pub key: Key,
    pub uid: String,
    pub spec: Pod,
    pub containers: Vec<Arc<ContainerRuntime>>,
    /// containerPort → local port the process is told to listen on.
    pub ports: HashMap<u16, u16>,
    pub start_time: Mutex<Option<String>>,
    pub deadline_exceeded: AtomicBool,
    pub deleting: AtomicBool,
    /// Condition type → (status, lastTransitionTime), so transition times only move on change.
    pub conditions: Mutex<HashMap<&'static str, (bool, String)>>,
    pub stop: watch::Sender<bool>,
}

impl PodRuntime {
    pub fn container(&self, name: Option<&str>) -> Option<&Arc<ContainerRuntime>> {
        match name {
            Some(n) if !n.is_empty() => self.containers.iter().find(|c| c.name == n),
            _ => self.containers.first(),
        }
    }
    pub fn is_stopping(&self) -> bool {
        *self.stop.borrow()
    }
    pub async fn stopped(&self) {
        let mut rx = self.stop.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }
    pub fn has_live_process(&self) -> bool {
        self.containers.iter().any(|c| lock(&c.pgid).is_some())
    }
    pub fn signal_all(&self, sig: i32) {
        for c in &self.containers {
            c.signal(sig);
        }
    }
    /// Waits until no container process is alive and none is still reported running.
    pub async fn processes_gone(&self) {
        while self.has_live_process() || self.containers.iter().any(|c| c.is_running()) {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    pub fn restart_policy(&self) -> &str {
        self.spec
            .spec
            .as_ref()
            .and_then(|s| s.restart_policy.as_deref())
            .unwrap_or("Always")
    }
    pub fn is_deleting(&self) -> bool {
        self.deleting.load(Ordering::SeqCst)
    }
}
