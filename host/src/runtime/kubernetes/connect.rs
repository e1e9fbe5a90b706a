//! Reaching the server in a running pod: attach to its stdio, or forward a local port to its
//! HTTP port through the API (one port-forward stream per accepted connection), so the HTTP
//! session and the endpoint search run over `http://127.0.0.1:PORT` as for any URL.

use super::manifest::CONTAINER;
use super::retry::backoff;
use crate::runtime::{tail, Tail};
use crate::transport::secrets::Secrets;
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
pub type Stdio = (
    EndsWithAttach<ReadHalf<SimplexStream>>,
    WriteHalf<SimplexStream>,
);

/// The attach's stdout, ending when the attach does. kube-rs does not close its stdout pipe
/// when the websocket dies without a close frame (its message loop returns early), so a
/// dropped attach would otherwise leave the session waiting for bytes that never come.
pub struct EndsWithAttach<R> {
    inner: R,
    ended: tokio::sync::oneshot::Receiver<()>,
    done: bool,
}

impl<R: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for EndsWithAttach<R> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::future::Future;
        use std::task::Poll;
        let this = &mut *self;
        let before = buf.filled().len();
        match std::pin::Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => return Poll::Ready(result),
            Poll::Pending if this.done => {}
            Poll::Pending => match std::pin::Pin::new(&mut this.ended).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(_) => this.done = true,
            },
        }
        // The attach ended and nothing more is buffered: end of file.
        debug_assert_eq!(buf.filled().len(), before);
        Poll::Ready(Ok(()))
    }
}

/// Attaches to the container's stdin, stdout and stderr (kept apart). The API refuses an
/// attach while the container is not running yet: that is retried, as are transient errors.
/// Stderr is logged with `secrets` (the pod's secret env) taken out.
pub(crate) async fn attach(
    pods: &Api<Pod>,
    name: &str,
    retries: u32,
    secrets: Arc<Secrets>,
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
            Err(err) if attempt < retries && attach_retryable(&err) && !ended(pods, name).await => {
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
    let (ended_tx, ended) = tokio::sync::oneshot::channel();
    let status = process.take_status().expect("the status is taken once");
    tokio::spawn(async move {
        // Resolves with the final status, or with None when the message loop died.
        let status = status.await;
        tracing::debug!("attach ended: {status:?}");
        drop(ended_tx);
    });
    let stdout = EndsWithAttach {
        inner: stdout,
        ended,
        done: false,
    };
    let stderr_stream = process.stderr().expect("attached with stderr");
    let stderr = Arc::new(Mutex::new(Tail::default()));
    let stderr_reader = tail::drain_into(stderr_stream, Arc::clone(&stderr), secrets);
    let attached = Attached {
        process,
        stderr,
        stderr_reader,
    };
    Ok((attached, (stdout, stdin)))
}

/// True when the pod has ended (or is gone): another attach cannot succeed.
async fn ended(pods: &Api<Pod>, name: &str) -> bool {
    match pods.get_opt(name).await {
        Ok(Some(pod)) => matches!(
            super::wait::observe(&pod, false),
            super::wait::PodView::Failed(_)
        ),
        Ok(None) => true,
        Err(_) => false,
    }
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
