//! The flags of image targets (`discover --image`, `gc`): cluster, namespace, pod settings.

use mcp_probe::runtime::kubernetes::{
    ClusterOptions, KubernetesOptions, PodSettings, Reach, TransportChoice,
};
use std::path::PathBuf;
use std::time::Duration;

/// Which cluster and namespace.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArgs {
    /// The kubeconfig file (default: in-cluster configuration, else $KUBECONFIG, else
    /// ~/.kube/config).
    #[arg(long, value_name = "FILE", global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: the current one).
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,
    /// The namespace (default: the context's, else `default`).
    #[arg(short = 'n', long, value_name = "NS", global = true)]
    pub namespace: Option<String>,
}

impl ClusterArgs {
    pub fn options(&self) -> ClusterOptions {
        ClusterOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            namespace: self.namespace.clone(),
            ..ClusterOptions::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TransportArg {
    Auto,
    Stdio,
    Http,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReachArg {
    Auto,
    PortForward,
    Service,
}

/// How the image runs.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Image targets (Kubernetes)")]
pub struct PodArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// stdio (attach), http (port-forward or Service), or auto: stdio, then HTTP when stdio
    /// gets no MCP answer.
    #[arg(long, value_enum, default_value = "auto")]
    pub transport: TransportArg,
    /// The port an HTTP server listens on in the pod.
    #[arg(long, value_name = "PORT", default_value_t = 8000, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// How an HTTP pod is reached: auto (a Service inside a cluster, the API's port-forward
    /// outside), port-forward, or service.
    #[arg(long, value_enum, default_value = "auto")]
    pub reach: ReachArg,
    /// With --transport auto: how long stdio may stay silent before HTTP is tried.
    #[arg(long, value_name = "DURATION", default_value = "15", value_parser = super::duration::positive)]
    pub stdio_grace: Duration,
    /// Environment from a Secret owned by the pod (never in the Pod spec), K=V (repeatable).
    #[arg(long = "secret-env", value_name = "K=V", value_parser = super::session_args::parse_env)]
    pub secret_env: Vec<(String, String)>,
    /// The numeric user (and group) the container runs as.
    #[arg(long, value_name = "UID", default_value_t = 65532)]
    pub run_as_user: i64,
    /// Opt-out: let the image run as its own user, root included (no runAsNonRoot).
    #[arg(long)]
    pub allow_root: bool,
    /// Opt-out: a writable root filesystem (default read-only, with /tmp writable).
    #[arg(long)]
    pub writable_root_fs: bool,
    /// The size limit of the writable /tmp (also HOME).
    #[arg(long, value_name = "QUANTITY", default_value = "64Mi")]
    pub tmp_size: String,
    /// Resource requests, e.g. cpu=100m,memory=64Mi (`none` for none).
    #[arg(long, value_name = "LIST", default_value = "cpu=100m,memory=64Mi", value_parser = parse_resources)]
    pub requests: Resources,
    /// Resource limits, e.g. cpu=1,memory=256Mi,ephemeral-storage=256Mi (`none` for none).
    #[arg(long, value_name = "LIST", default_value = "cpu=1,memory=256Mi,ephemeral-storage=256Mi", value_parser = parse_resources)]
    pub limits: Resources,
    /// An image pull secret for a private registry (repeatable).
    #[arg(long = "image-pull-secret", value_name = "NAME")]
    pub image_pull_secrets: Vec<String>,
    /// The pod's service account (its token is still not mounted).
    #[arg(long, value_name = "NAME")]
    pub service_account: Option<String>,
    /// A node label the probe pod's node must have, K=V (repeatable).
    #[arg(long = "node-selector", value_name = "K=V", value_parser = super::session_args::parse_env)]
    pub node_selector: Vec<(String, String)>,
    /// More tries for retryable API failures (connection errors, 5xx, 429, name clashes).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub retries: u32,
}

/// `K=QUANTITY,…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources(pub Vec<(String, String)>);

fn parse_resources(text: &str) -> Result<Resources, String> {
    if text == "none" || text.is_empty() {
        return Ok(Resources(Vec::new()));
    }
    text.split(',')
        .map(|item| match item.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => {
                Ok((k.trim().to_owned(), v.trim().to_owned()))
            }
            _ => Err(format!("`{item}` is not RESOURCE=QUANTITY")),
        })
        .collect::<Result<_, _>>()
        .map(Resources)
}

impl PodArgs {
    pub fn options(&self) -> KubernetesOptions {
        KubernetesOptions {
            cluster: self.cluster.options(),
            transport: match self.transport {
                TransportArg::Auto => TransportChoice::Auto,
                TransportArg::Stdio => TransportChoice::Stdio,
                TransportArg::Http => TransportChoice::Http,
            },
            port: self.port,
            pod: PodSettings {
                run_as_user: self.run_as_user,
                allow_root: self.allow_root,
                writable_root_fs: self.writable_root_fs,
                tmp_size: self.tmp_size.clone(),
                requests: self.requests.0.clone(),
                limits: self.limits.0.clone(),
                image_pull_secrets: self.image_pull_secrets.clone(),
                service_account: self.service_account.clone(),
                node_selector: self.node_selector.clone(),
            },
            retries: self.retries,
            reach: match self.reach {
                ReachArg::Auto => Reach::Auto,
                ReachArg::PortForward => Reach::PortForward,
                ReachArg::Service => Reach::Service,
            },
            stdio_grace: self.stdio_grace,
            service_address: None,
        }
    }
}
