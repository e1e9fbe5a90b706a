//! Reaching the server in a running pod: attach to its stdio, or forward a local port to its
//! HTTP port through the API (one port-forward stream per accepted connection), so the HTTP
//! session and the endpoint search run over `http://127.0.0.1:PORT` as for any URL.

use super::manifest::CONTAINER;
use super::retry::backoff;
use crate::runtime::{tail, Tail};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{AttachParams, AttachedProcess};
use kube::Api;
use std::sync::{Arc, Mutex};
use tokio::io::{ReadHalf, SimplexStream, WriteHalf};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// An attached container, less the stdout and stdin the session took: stderr is drained
/// into a tail as it comes.
pub struct Attached {
    pub process: AttachedProcess,
    pub stderr: Arc<Mutex<Tail>>,
    pub stderr_reader: JoinHandle<()>,
}

/// The container's stdout (to read) and stdin (to write).
pub type Stdio = (ReadHalf<SimplexStream>, WriteHalf<SimplexStream>);

/// Attaches to the container's stdin, stdout and stderr (kept apart). The API refuses an
/// attach while the container is not running yet: that is retried, as are transient errors.
pub async fn attach(
    pods: &Api<Pod>,
    name: &str,
    retries: u32,
) -> Result<(Attached, Stdio), kube::Error> {
    let params = AttachParams::default()
        .container(CONTAINER)
        .stdin(true)
        .stdout(true)
        .stderr(true);
    let mut attempt = 0;
    let mut process = loop {
        match pods.attach(name, &params).await {
            Ok(process) => break process,
            Err(err) if attempt < retries && attach_retryable(&err) => {
                attempt += 1;
                let wait = backoff(attempt, &err);
                tracing::debug!("attach to {name} refused ({err}); again in {wait:?}");
                tokio::time::sleep(wait).await;
            }
            Err(err) => return Err(err),
        }
    };
    let stdin = process.stdin().expect("attached with stdin");
    let stdout = process.stdout().expect("attached with stdout");
    let stderr_stream = process.stderr().expect("attached with stderr");
    let stderr = Arc::new(Mutex::new(Tail::default()));
    let stderr_reader = tail::drain_into(stderr_stream, Arc::clone(&stderr));
    let attached = Attached {
        process,
        stderr,
        stderr_reader,
    };
    Ok((attached, (stdout, stdin)))
}

/// Before the container runs the API answers 400 or 500 ("container not found", "pod is not
/// running"); both are worth another try, as are connection errors.
fn attach_retryable(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(status) => status.code == 400 || super::retry::is_retryable(err),
        kube::Error::UpgradeConnection(_) => true,
        other => super::retry::is_retryable(other),
    }
}

/// A local port forwarded to the pod's port; dropping it stops forwarding.
pub struct Forward {
    pub local_port: u16,
    task: JoinHandle<()>,
}

impl Drop for Forward {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens on 127.0.0.1 (a free port) and forwards each connection to `port` in the pod.
pub async fn forward(pods: Api<Pod>, name: String, port: u16) -> std::io::Result<Forward> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let local_port = listener.local_addr()?.port();
    let task = tokio::spawn(async move {
        // Dropped with the accept loop: aborting it ends every connection too.
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                break;
            };
            let (pods, name) = (pods.clone(), name.clone());
            connections.spawn(async move {
                let mut forwarder = match pods.portforward(&name, &[port]).await {
                    Ok(f) => f,
                    Err(err) => {
                        tracing::debug!("port-forward to {name}:{port}: {err}");
                        return;
                    }
                };
                let Some(mut upstream) = forwarder.take_stream(port) else {
                    return;
                };
                if let Err(err) = tokio::io::copy_bidirectional(&mut socket, &mut upstream).await {
                    tracing::debug!("port-forward to {name}:{port} ended: {err}");
                }
                drop(upstream);
                forwarder.abort();
            });
            // Reap finished connections as we go.
            while connections.try_join_next().is_some() {}
        }
    });
    Ok(Forward { local_port, task })
}
