//! A Kubernetes API simulator for tests: core/v1 pods, services, secrets and namespaces and
//! batch/v1 Jobs over plain HTTP, watch, attach and port-forward over websockets, a job
//! controller, and a fake kubelet that runs every container as a local process chosen by an
//! image table.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kube_sim::SimError> {
//! let sim = kube_sim::Simulator::start(kube_sim::Config::default()).await?;
//! println!("{} {}", sim.url(), sim.kubeconfig_path().display());
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Jobs
//!
//! `/apis/batch/v1/namespaces/NS/jobs` serves create (POST), list and watch (label and field
//! selectors: `metadata.name`, `metadata.namespace`, `status.successful`; Tables for
//! `kubectl get jobs`), get, `/status` get, PATCH (metadata, `spec.parallelism`,
//! `spec.suspend`) and delete (`propagationPolicy` Background or Foreground deletes the
//! Job's pods, Orphan keeps them; without a policy a batch/v1 Job orphans its pods, with the
//! API server's `Warning` header, as on a real cluster; `kubectl delete` sends Background).
//! Discovery (`/apis`, `/apis/batch`, `/apis/batch/v1`) lists `jobs`, and `/openapi/v3`
//! lists `batch/v1` with the `fieldValidation` parameter, so `kubectl apply -f job.yaml`
//! works with validation on: kubectl then sends `fieldValidation=Strict` and the server
//! refuses unknown fields (400 `strict decoding error: unknown field "spec.x"`); the default,
//! Warn, answers them in `Warning` headers. (Core kinds are not in that index: a Pod manifest
//! still needs `--validate=false`.)
//!
//! A new Job gets the API server's defaults (`parallelism` 1, `completions` 1 when neither is
//! set, `backoffLimit` 6, `completionMode` NonIndexed, `suspend` false,
//! `podReplacementPolicy` TerminatingOrFailed, `manualSelector` false, the template's pod
//! defaults), the generated selector on `batch.kubernetes.io/controller-uid` and the labels
//! `batch.kubernetes.io/job-name`, `job-name`, `batch.kubernetes.io/controller-uid`,
//! `controller-uid` on its template (and on the Job when it has no labels), and is validated
//! with the API server's 422 messages: `template.spec.restartPolicy` Never or OnFailure,
//! `completions` required for Indexed (when `parallelism` is set), `completionMode`
//! NonIndexed or Indexed, non-negative counts, `NAME-(completions-1)` a DNS label.
//!
//! The job controller ([`jobs::controller`]) keeps up to `parallelism` pods running for the
//! completions not yet succeeded. An Indexed Job's pod for index I is `NAME-I-xxxxx`, with
//! the label and annotation `batch.kubernetes.io/job-completion-index: "I"`, hostname
//! `NAME-I` (its `HOSTNAME`) and `JOB_COMPLETION_INDEX` in every container (from the
//! annotation through the downward API, as the real controller sets it); a NonIndexed Job's
//! are `NAME-xxxxx`. Every pod has a controller reference to the Job. A pod that exits 0
//! completes its index; a failed pod (or one deleted before it ended) counts in `failed` and
//! is replaced after the pod-failure back-off ([`Config::job_pod_backoff`], 10 s doubling to
//! 10 min) while `failed` is at most `backoffLimit`; past it the Job fails. Status:
//! `active`, `ready`, `terminating`, `succeeded`, `failed`, `completedIndexes` (`0-3,5`,
//! two neighbours written `0,1`), `startTime`, `completionTime`, `uncountedTerminatedPods:
//! {}`, and conditions as Kubernetes 1.31+ sets them: SuccessCriteriaMet then Complete
//! (reason CompletionsReached), or FailureTarget then Failed (BackoffLimitExceeded, or
//! DeadlineExceeded past `activeDeadlineSeconds`, the active pods deleted), the terminal one
//! once no pod is left running or terminating. `suspend: true` deletes the active pods and
//! sets Suspended; resuming restarts the deadline clock. Finished pods are kept, with their
//! whole logs (up to [`kubelet::logs::MAX_BYTES`], 256 MiB, per container), until the Job is
//! deleted. Note that `kubectl logs -l SELECTOR` prints the last 10 lines of each pod unless
//! given `--tail=-1`, as against a real cluster.
//!
//! Not simulated: `ttlSecondsAfterFinished` (stored, no TTL controller), `podFailurePolicy`,
//! `successPolicy`, `backoffLimitPerIndex`/`maxFailedIndexes`, `managedBy`, elastic
//! `completions` changes, PUT of a Job or its status, the `batch.kubernetes.io/job-tracking`
//! pod finalizer (its effect, each pod's end counted once, is kept by the controller), Job
//! events, CronJobs.
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
