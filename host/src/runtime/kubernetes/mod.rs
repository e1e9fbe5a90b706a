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
pub mod rbac;
pub mod retry;
mod server;
mod start;
pub mod wait;

pub use cluster::{Cluster, ClusterOptions};
pub use error::KubeError;
pub use manifest::PodTransport;
pub use server::KubeServer;
pub use start::start;

use crate::target::ImageTarget;
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
pub struct ServiceAddress(pub Arc<ResolveService>);

/// (namespace, service, port) → where it answers.
pub type ResolveService = dyn Fn(&str, &str, u16) -> Option<SocketAddr> + Send + Sync;

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
    /// `nodeSelector`: which nodes may run the probe pod.
    pub node_selector: Vec<(String, String)>,
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
            node_selector: Vec::new(),
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

impl KubernetesOptions {
    /// The transports a probe tries, in order (`auto`: stdio, then HTTP).
    pub fn transports(&self) -> Vec<PodTransport> {
        let http = PodTransport::Http { port: self.port };
        match self.transport {
            TransportChoice::Stdio => vec![PodTransport::Stdio],
            TransportChoice::Http => vec![http],
            TransportChoice::Auto => vec![PodTransport::Stdio, http],
        }
    }
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
    /// Where the cleanup warnings of this run are kept (for its report).
    pub cleanup_log: &'a cleanup::CleanupLog,
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

pub(crate) fn pod_plan<'a>(
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

pub(crate) fn now_rfc3339() -> String {
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
