//! A Kubernetes API simulator for tests: core/v1 pods, services and namespaces over plain HTTP,
//! watch, attach and port-forward over websockets, and a fake kubelet that runs every container
//! as a local process chosen by an image table.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kube_sim::SimError> {
//! let sim = kube_sim::Simulator::start(kube_sim::Config::default()).await?;
//! println!("{} {}", sim.url(), sim.kubeconfig_path().display());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
pub mod api;
pub mod attach;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod gc;
pub mod images;
pub mod jobs;
pub mod kubelet;
pub mod logs_api;
pub mod names;
pub mod openapi;
pub mod portforward;
pub mod reference;
pub mod selectors;
pub mod server;
pub mod sha256;
pub mod store;
pub mod ws;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use error::{ApiError, SimError};
pub use faults::{Faults, Matcher, Rules};
pub use images::{Image, ImageTable};
pub use store::ObjectCounts;

/// Shared state of one simulator.
pub struct Ctx {
    pub store: store::Store,
    pub faults: Arc<Faults>,
    pub kubelet: kubelet::Kubelet,
    pub jobs: jobs::JobController,
    pub images: ImageTable,
    pub api_port: u16,
    pub bookmark_interval: Duration,
    pub pull_backoff: Duration,
    pub pull_retry: Duration,
}

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// 0 picks a free port.
    pub port: u16,
    pub images: ImageTable,
    pub rules: Rules,
    /// How often watches with allowWatchBookmarks get a BOOKMARK.
    pub bookmark_interval: Duration,
    /// Time between ErrImagePull and ImagePullBackOff.
    pub pull_backoff: Duration,
    /// First wait in ImagePullBackOff before the next pull attempt (another ErrImagePull); it
    /// doubles up to five minutes, as the kubelet's back-off does (10 s by default).
    pub pull_retry: Duration,
    /// Events kept for watches resuming from a resourceVersion; older ones get 410 Expired.
    pub watch_history: usize,
    /// The job controller's first wait before it replaces a failed pod; it doubles with each
    /// failure since the Job's last success, up to ten minutes (10 s by default, as
    /// DefaultJobPodFailureBackOff).
    pub job_pod_backoff: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 0,
            images: ImageTable::default(),
            rules: Rules::default(),
            bookmark_interval: Duration::from_secs(5),
            pull_backoff: Duration::from_millis(500),
            pull_retry: Duration::from_secs(10),
            watch_history: store::DEFAULT_HISTORY,
            job_pod_backoff: Duration::from_secs(10),
        }
    }
}

pub struct Simulator;

impl Simulator {
    /// Binds 127.0.0.1:`port`, writes a kubeconfig and serves until the handle is shut down.
    pub async fn start(config: Config) -> Result<SimHandle, SimError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
            .await
            .map_err(|source| SimError::Bind {
                port: config.port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            port: config.port,
            source,
        })?;
        let dir = tempfile::Builder::new()
            .prefix("kube-sim-")
            .tempdir()
            .map_err(SimError::Kubeconfig)?;
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, kubeconfig_text(addr)).map_err(SimError::Kubeconfig)?;
        let ctx = Arc::new(Ctx {
            store: store::Store::with_history(config.watch_history),
            faults: Arc::new(Faults::with_rules(config.rules)),
            kubelet: kubelet::Kubelet::default(),
            jobs: jobs::JobController::new(config.job_pod_backoff),
            images: config.images,
            api_port: addr.port(),
            bookmark_interval: config.bookmark_interval,
            pull_backoff: config.pull_backoff,
            pull_retry: config.pull_retry,
        });
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let server = tokio::spawn(server::serve(listener, ctx.clone(), stop_rx));
        Ok(SimHandle {
            ctx,
            addr,
            kubeconfig,
            _dir: dir,
            stop,
            server: Some(server),
        })
    }
}

fn kubeconfig_text(addr: SocketAddr) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-sim\n  cluster:\n    server: http://{addr}\n\
         contexts:\n- name: kube-sim\n  context:\n    cluster: kube-sim\n    user: kube-sim\n    namespace: default\n\
         current-context: kube-sim\nusers:\n- name: kube-sim\n  user: {{}}\npreferences: {{}}\n"
    )
}

/// A running simulator. Dropping it kills every pod process and removes the kubeconfig.
pub struct SimHandle {
    ctx: Arc<Ctx>,
    addr: SocketAddr,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
    stop: tokio::sync::watch::Sender<bool>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl SimHandle {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// A kubeconfig (plain http, no credentials) for kubectl, the Python client and kube-rs.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }
    pub fn faults(&self) -> &Faults {
        &self.ctx.faults
    }
    /// The local port serving a ClusterIP Service's first port (its selected running pod).
    pub fn resolve_service(&self, namespace: &str, name: &str) -> Option<u16> {
        api::services::resolve(&self.ctx, namespace, name, None)
    }
    /// The local port serving a given Service port.
    pub fn resolve_service_port(&self, namespace: &str, name: &str, port: u16) -> Option<u16> {
        api::services::resolve(&self.ctx, namespace, name, Some(port))
    }
    /// How many pods, services and secrets exist now, across namespaces (a pod in graceful
    /// deletion still counts until it is removed).
    pub fn object_counts(&self) -> ObjectCounts {
        self.ctx.store.counts()
    }
    /// How many pods, services and secrets were ever created (deleted ones too).
    pub fn created_counts(&self) -> ObjectCounts {
        self.ctx.store.created()
    }
    /// How many pod processes are alive now.
    pub fn live_processes(&self) -> usize {
        self.ctx
            .kubelet
            .all()
            .iter()
            .map(|p| p.containers.iter().filter(|c| c.is_running()).count())
            .sum()
    }
    /// Process group ids of the pod processes alive now.
    pub fn live_pgids(&self) -> Vec<i32> {
        self.ctx
            .kubelet
            .all()
            .iter()
            .flat_map(|p| {
                p.containers
                    .iter()
                    .filter_map(|c| *kubelet::runtime::lock(&c.pgid))
                    .collect::<Vec<_>>()
            })
            .collect()
    }
    /// Stops serving and kills every pod's process group.
    pub async fn shutdown(mut self) {
        self.stop_now();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        for rt in self.ctx.kubelet.all() {
            let _ = tokio::time::timeout(Duration::from_secs(2), rt.processes_gone()).await;
        }
    }
    fn stop_now(&self) {
        let _ = self.stop.send(true);
        // The job controller first, so it replaces none of the pods killed next.
        self.ctx.jobs.stop();
        self.ctx.kubelet.kill_all();
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}

pub(crate) fn rfc3339(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(crate) fn now_rfc3339() -> String {
    rfc3339(jiff::Timestamp::now())
}

pub(crate) fn now_rfc3339_nanos() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        .to_string()
}
