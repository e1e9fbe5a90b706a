//! The Kubernetes runtime: an image runs as a hardened Pod, reached through attach (stdio) or
//! a port-forward / Service (HTTP), and everything created is deleted on every path.
//!
//! Pure parts at the bottom ([`names`], [`manifest`], [`wait::observe`], [`retry`]), the API
//! calls above them ([`cluster`], [`connect`], [`cleanup`], [`gc`]), and [`start`] on top.

pub mod cleanup;
pub mod cluster;
pub mod connect;
mod error;
pub mod gc;
pub mod manifest;
pub mod names;
pub mod retry;
pub mod wait;

pub use cluster::{Cluster, ClusterOptions};
pub use error::KubeError;
pub use manifest::PodTransport;

use crate::report::KubernetesInfo;
use crate::runtime::{Connection, Started, Stopped};
use crate::target::ImageTarget;
use cleanup::{Created, ObjectKind};
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use kube::api::{LogParams, Patch, PatchParams, PostParams};
use kube::Api;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Which transport to speak to the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TransportChoice {
    /// stdio, then HTTP when stdio gets no MCP answer.
    #[default]
    Auto,
    Stdio,
    Http,
}

/// How an HTTP pod is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    /// A Service from inside the cluster, the API's port-forward from outside.
    #[default]
    Auto,
    PortForward,
    Service,
}

/// Where a Service answers, when cluster DNS is not the way (tests against a simulator).
#[derive(Clone)]
pub struct ServiceAddress(pub Arc<dyn Fn(&str, &str, u16) -> Option<SocketAddr> + Send + Sync>);

impl std::fmt::Debug for ServiceAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceAddress(..)")
    }
}

/// The probe Pod's settings; the defaults are the secure ones (see manifest.rs).
#[derive(Debug, Clone)]
pub struct PodSettings {
    /// `runAsUser`/`runAsGroup`/`fsGroup` (numeric, so `runAsNonRoot` can be verified).
    pub run_as_user: i64,
    /// Opt-out: no `runAsNonRoot`, no user set (images that must run as root).
    pub allow_root: bool,
    /// Opt-out: a writable root filesystem.
    pub writable_root_fs: bool,
    /// The size limit of the emptyDir at /tmp.
    pub tmp_size: String,
    pub requests: Vec<(String, String)>,
    pub limits: Vec<(String, String)>,
    pub image_pull_secrets: Vec<String>,
    pub service_account: Option<String>,
}

impl Default for PodSettings {
    fn default() -> Self {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        PodSettings {
            run_as_user: 65532,
            allow_root: false,
            writable_root_fs: false,
            tmp_size: "64Mi".into(),
            requests: vec![pair("cpu", "100m"), pair("memory", "64Mi")],
            limits: vec![
                pair("cpu", "1"),
                pair("memory", "256Mi"),
                pair("ephemeral-storage", "256Mi"),
            ],
            image_pull_secrets: Vec::new(),
            service_account: None,
        }
    }
}

/// Everything about running an image target.
#[derive(Debug, Clone)]
pub struct KubernetesOptions {
    pub cluster: ClusterOptions,
    pub transport: TransportChoice,
    /// The HTTP port the server listens on in the pod.
    pub port: u16,
    pub pod: PodSettings,
    /// More tries for retryable API failures.
    pub retries: u32,
    pub reach: Reach,
    /// With `--transport auto`: how long stdio may stay silent before HTTP is tried.
    pub stdio_grace: Duration,
    pub service_address: Option<ServiceAddress>,
}

impl Default for KubernetesOptions {
    fn default() -> Self {
        KubernetesOptions {
            cluster: ClusterOptions::default(),
            transport: TransportChoice::Auto,
            port: 8000,
            pod: PodSettings::default(),
            retries: 2,
            reach: Reach::Auto,
            stdio_grace: Duration::from_secs(15),
            service_address: None,
        }
    }
}

/// The bounds one start runs under.
pub struct StartBounds<'a> {
    pub deadline: Instant,
    pub timeout: Duration,
    pub cancel: &'a CancellationToken,
    /// Identifies every object of this run (label `mcp-probe.dev/run-id`).
    pub run_id: &'a str,
}

/// The manifests a probe of `target` creates, in creation order (for `--dry-run`): the
/// Secret (values redacted), the Pod, and for HTTP inside a cluster the Service.
pub fn manifests(
    target: &ImageTarget,
    transport: PodTransport,
    options: &KubernetesOptions,
    namespace: &str,
    timeout: Duration,
    with_service: bool,
) -> Vec<serde_json::Value> {
    let name = names::object_name(&target.image, &names::random_suffix(names::SUFFIX_LEN));
    let run_id = names::random_suffix(12);
    let created_at = now_rfc3339();
    let plan = pod_plan(
        target,
        transport,
        options,
        &name,
        &run_id,
        &created_at,
        timeout,
    );
    let mut out = Vec::new();
    let with_ns = |value: serde_json::Value, kind: &str| {
        let mut value = value;
        value["apiVersion"] = "v1".into();
        value["kind"] = kind.into();
        value["metadata"]["namespace"] = namespace.into();
        value
    };
    if !target.secret_env.is_empty() {
        let secret = manifest::secret(&name, &run_id, &created_at, target, true);
        out.push(with_ns(to_json(&secret), "Secret"));
    }
    out.push(with_ns(to_json(&manifest::pod(&plan)), "Pod"));
    if let (PodTransport::Http { port }, true) = (transport, with_service) {
        let service = manifest::service(&name, &run_id, &created_at, &target.image, port);
        out.push(with_ns(to_json(&service), "Service"));
    }
    out
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("k8s-openapi objects serialize")
}

fn pod_plan<'a>(
    target: &'a ImageTarget,
    transport: PodTransport,
    options: &'a KubernetesOptions,
    name: &'a str,
    run_id: &'a str,
    created_at: &'a str,
    timeout: Duration,
) -> manifest::PodPlan<'a> {
    manifest::PodPlan {
        name,
        run_id,
        target,
        transport,
        settings: &options.pod,
        // The API ends the pod a little after the probe would have given up, even if the
        // probe was killed and never deleted it.
        deadline_secs: timeout.as_secs_f64().ceil() as i64 + 10,
        secret_name: (!target.secret_env.is_empty()).then_some(name),
        created_at,
    }
}

fn now_rfc3339() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Checks what the API server would refuse, before anything is created.
pub fn check_target(target: &ImageTarget) -> Result<(), KubeError> {
    if target.image.trim().is_empty() || target.image.chars().any(char::is_whitespace) {
        return Err(KubeError::BadInput(format!(
            "invalid image reference {:?}",
            target.image
        )));
    }
    for (key, _) in &target.secret_env {
        let valid = !key.is_empty()
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
        if !valid {
            return Err(KubeError::BadInput(format!(
                "--secret-env {key:?}: a Secret key may only contain letters, digits, '-', '_' and '.'"
            )));
        }
    }
    Ok(())
}

/// Creates the Pod (and its Secret), waits for it to serve, and connects: attach for stdio, a
/// port-forward or a Service for HTTP. On any failure everything created is deleted before
/// the error is returned.
pub async fn start(
    cluster: &Cluster,
    target: &ImageTarget,
    transport: PodTransport,
    options: &KubernetesOptions,
    bounds: StartBounds<'_>,
) -> Result<Started, KubeError> {
    let began = Instant::now();
    let mut created = Created::new(
        cluster.client.clone(),
        cluster.config.clone(),
        cluster.namespace.clone(),
        options.retries,
    );
    let work = start_in(
        cluster,
        target,
        transport,
        options,
        &bounds,
        &mut created,
        began,
    );
    let outcome = tokio::select! {
        outcome = tokio::time::timeout_at(bounds.deadline, work) => outcome,
        () = bounds.cancel.cancelled() => Ok(Err(KubeError::Interrupted)),
    };
    let error = match outcome {
        Ok(Ok((mut server, connection))) => {
            server.created = Some(created);
            return Ok(Started {
                connection,
                server: Box::new(server),
            });
        }
        Ok(Err(error)) => error,
        Err(_) => KubeError::Timeout {
            phase: "starting the pod".into(),
            after: bounds.timeout,
        },
    };
    let left = created.remove_all().await;
    if !left.is_empty() {
        tracing::warn!("cleanup after a failed start left: {}", left.join("; "));
    }
    Err(error)
}

fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

async fn start_in(
    cluster: &Cluster,
    target: &ImageTarget,
    transport: PodTransport,
    options: &KubernetesOptions,
    bounds: &StartBounds<'_>,
    created: &mut Created,
    began: Instant,
) -> Result<(KubeServer, Connection), KubeError> {
    let ns = &cluster.namespace;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), ns);
    let created_at = now_rfc3339();
    let mut phases = BTreeMap::new();
    // A name clash (409) is retried under a new name.
    let mut clashes = 0;
    let (name, pod) = loop {
        let name = names::object_name(&target.image, &names::random_suffix(names::SUFFIX_LEN));
        if !target.secret_env.is_empty() {
            let secret = manifest::secret(&name, bounds.run_id, &created_at, target, false);
            let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), ns);
            created.record(ObjectKind::Secret, &name);
            let post = PostParams::default();
            let made = retry::with_retries(options.retries, "create secret", || {
                secrets.create(&post, &secret)
            })
            .await;
            match made {
                Ok(_) => {}
                Err(err) if is_clash(&err) && clashes < 3 => {
                    created.forget(ObjectKind::Secret, &name);
                    clashes += 1;
                    continue;
                }
                Err(err) => {
                    created.forget(ObjectKind::Secret, &name);
                    return Err(KubeError::api(err, "create", "secrets", ns));
                }
            }
        }
        let plan = pod_plan(
            target,
            transport,
            options,
            &name,
            bounds.run_id,
            &created_at,
            bounds.timeout,
        );
        let manifest = manifest::pod(&plan);
        created.record(ObjectKind::Pod, &name);
        let post = PostParams::default();
        let made = retry::with_retries(options.retries, "create pod", || {
            pods.create(&post, &manifest)
        })
        .await;
        match made {
            Ok(pod) => break (name, pod),
            Err(err) if is_clash(&err) && clashes < 3 => {
                created.forget(ObjectKind::Pod, &name);
                clashes += 1;
            }
            Err(err) => {
                created.forget(ObjectKind::Pod, &name);
                return Err(KubeError::api(err, "create", "pods", ns));
            }
        }
    };
    phases.insert("create".into(), ms(began));
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    if !target.secret_env.is_empty() && !uid.is_empty() {
        // Now that the pod exists, it owns its Secret: the garbage collector removes the
        // Secret with the pod even if this process dies before deleting it.
        let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), ns);
        let owner =
            serde_json::json!({"metadata": {"ownerReferences": [manifest::owned_by(&name, &uid)]}});
        let (params, patch) = (PatchParams::default(), Patch::Merge(&owner));
        retry::with_retries(options.retries, "own secret", || {
            secrets.patch(&name, &params, &patch)
        })
        .await
        .map_err(|err| KubeError::api(err, "patch", "secrets", ns))?;
    }
    let need_ready = matches!(transport, PodTransport::Http { .. });
    let wait_began = Instant::now();
    let mut last_view = wait::PodView::Scheduling;
    let waited = tokio::time::timeout_at(
        bounds.deadline,
        wait::until_serving(
            &pods,
            &name,
            need_ready,
            wait_began,
            &mut phases,
            &mut last_view,
        ),
    )
    .await;
    let image_id = match waited {
        Err(_) => {
            return Err(KubeError::Timeout {
                phase: format!("{} (pod {ns}/{name})", last_view.phase()),
                after: bounds.timeout,
            })
        }
        Ok(wait::Waited::Serving { image_id }) => image_id,
        Ok(wait::Waited::Failed(failure)) => {
            return Err(KubeError::from_failure(&target.image, ns, &name, failure))
        }
        Ok(wait::Waited::Deleted) => {
            return Err(KubeError::PodGone {
                pod: format!("{ns}/{name}"),
                when: "while waiting for it to start".into(),
            })
        }
        Ok(wait::Waited::WatchFailed(err)) => return Err(KubeError::api(err, "watch", "pods", ns)),
    };
    let phases = phase_durations(&phases, ms(wait_began));
    let mut info = KubernetesInfo {
        source_image: target.image.clone(),
        namespace: ns.clone(),
        pod_name: name.clone(),
        image_id,
        phase_ms: phases,
        ..KubernetesInfo::default()
    };
    let connect_began = Instant::now();
    let (link, connection) = match transport {
        PodTransport::Stdio => {
            info.transport = "stdio".into();
            let attached = connect::attach(&pods, &name, options.retries.max(5)).await;
            let (attached, (stdout, stdin)) = match attached {
                Ok(attached) => attached,
                Err(err) => {
                    // The container may have ended between running and the attach.
                    if let Ok(Some(pod)) = pods.get_opt(&name).await {
                        if let wait::PodView::Failed(failure) = wait::observe(&pod, false) {
                            return Err(KubeError::from_failure(&target.image, ns, &name, failure));
                        }
                    }
                    return Err(KubeError::api(err, "create", "pods/attach", ns));
                }
            };
            let connection = Connection::Stdio {
                reader: Box::new(stdout),
                writer: Box::new(stdin),
            };
            (Link::Attach(attached), connection)
        }
        PodTransport::Http { port } => {
            info.transport = "http".into();
            info.port = Some(port);
            let use_service = match options.reach {
                Reach::Auto => cluster.in_cluster,
                Reach::Service => true,
                Reach::PortForward => false,
            };
            if use_service {
                let url = service(
                    cluster,
                    target,
                    options,
                    &name,
                    &uid,
                    port,
                    created,
                    &created_at,
                    bounds.run_id,
                )
                .await?;
                info.service_name = Some(name.clone());
                info.reached_by = Some("service".into());
                (Link::Service, http(url))
            } else {
                let forward = connect::forward(pods.clone(), name.clone(), port)
                    .await
                    .map_err(|e| {
                        KubeError::Local(format!("cannot listen for the port-forward: {e}"))
                    })?;
                info.reached_by = Some("port-forward".into());
                let url = format!("http://127.0.0.1:{}", forward.local_port);
                (Link::Forward(forward), http(url))
            }
        }
    };
    info.phase_ms.insert("connect".into(), ms(connect_began));
    let server = KubeServer {
        pods,
        name,
        link: Some(link),
        info,
        created: None,
    };
    Ok((server, connection))
}

fn http(base_url: String) -> Connection {
    Connection::Http {
        base_url,
        headers: Vec::new(),
    }
}

/// Turns the offsets at which each wait phase was first seen into how long each lasted
/// (`create` is kept as it is).
fn phase_durations(seen: &BTreeMap<String, u64>, serving_at: u64) -> BTreeMap<String, u64> {
    let mut marks: Vec<(&str, u64)> = ["scheduling", "pulling", "starting"]
        .iter()
        .filter_map(|p| seen.get(*p).map(|t| (*p, *t)))
        .collect();
    marks.sort_by_key(|(_, t)| *t);
    let mut out = BTreeMap::new();
    for (i, (phase, at)) in marks.iter().enumerate() {
        let end = marks.get(i + 1).map_or(serving_at, |(_, t)| *t);
        out.insert((*phase).to_owned(), end.saturating_sub(*at));
    }
    if let Some(create) = seen.get("create") {
        out.insert("create".into(), *create);
    }
    out
}

fn is_clash(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 409)
}

/// Creates the Service in front of the pod (owned by it) and gives the URL to reach it.
#[allow(clippy::too_many_arguments)]
async fn service(
    cluster: &Cluster,
    target: &ImageTarget,
    options: &KubernetesOptions,
    name: &str,
    pod_uid: &str,
    port: u16,
    created: &mut Created,
    created_at: &str,
    run_id: &str,
) -> Result<String, KubeError> {
    let ns = &cluster.namespace;
    let services: Api<Service> = Api::namespaced(cluster.client.clone(), ns);
    let mut svc = manifest::service(name, run_id, created_at, &target.image, port);
    if !pod_uid.is_empty() {
        svc.metadata.owner_references = Some(vec![manifest::owned_by(name, pod_uid)]);
    }
    created.record(ObjectKind::Service, name);
    let post = PostParams::default();
    retry::with_retries(options.retries, "create service", || {
        services.create(&post, &svc)
    })
    .await
    .map_err(|err| KubeError::api(err, "create", "services", ns))?;
    match &options.service_address {
        Some(resolve) => {
            // The endpoints of a fresh Service may lag a moment behind the ready pod.
            for _ in 0..50 {
                if let Some(addr) = (resolve.0)(ns, name, port) {
                    return Ok(format!("http://{addr}"));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(KubeError::Local(format!(
                "service {ns}/{name} has no endpoint"
            )))
        }
        None => Ok(format!("http://{name}.{ns}.svc:{port}")),
    }
}

/// What keeps the session's way to the pod open.
enum Link {
    Attach(connect::Attached),
    Forward(connect::Forward),
    /// A Service: the API keeps it; nothing to hold here.
    Service,
}

/// A running probe pod; shutdown reads its state and log tail, then deletes everything.
pub struct KubeServer {
    pods: Api<Pod>,
    name: String,
    link: Option<Link>,
    info: KubernetesInfo,
    created: Option<Created>,
}

/// How much of the pod's log is read at the end.
const LOG_TAIL_LINES: i64 = 100;
/// How long reading the pod's state and log may take at shutdown.
const READ_BOUND: Duration = Duration::from_secs(3);

#[async_trait::async_trait]
impl crate::runtime::Server for KubeServer {
    async fn shutdown(mut self: Box<Self>) -> Stopped {
        let began = Instant::now();
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
        let (exit, log_tail) = tokio::time::timeout(READ_BOUND, self.last_words())
            .await
            .unwrap_or((None, String::new()));
        let log_tail = if stderr_tail.trim().is_empty() {
            log_tail
        } else {
            stderr_tail
        };
        let leftovers = match self.created.as_mut() {
            Some(created) => created.remove_all().await,
            None => Vec::new(),
        };
        self.info.phase_ms.insert("cleanup".into(), ms(began));
        Stopped {
            exit,
            log_tail,
            kubernetes: Some(self.info.clone()),
            leftovers,
        }
    }
}

impl KubeServer {
    /// The container's end state (when it ended) and the tail of its log.
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
            Err(err) => {
                tracing::debug!("cannot read pod {}: {err}", self.name);
                None
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
    Some(format!(
        "container terminated: {}",
        wait::terminated_text(
            terminated.reason.as_deref(),
            terminated.exit_code,
            terminated.message.as_deref()
        )
    ))
}
