//! Which cluster, as whom, in which namespace: in-cluster configuration first (unless a
//! kubeconfig or context is named), else the kubeconfig (`--kubeconfig`, `KUBECONFIG`,
//! `~/.kube/config`) and its context (`--context`, else the current one).

use super::KubeError;
use crate::input_file::{self, Kind};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Where the cluster configuration comes from.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// `-n`: else the context's namespace (in-cluster: the pod's own), else `default`.
    pub namespace: Option<String>,
    /// Shared by every clone of these options: a scan's targets connect once between them.
    pub connection: SharedConnection,
}

/// The configuration read and the API client built once for every probe that shares it (a
/// scan's image targets): building a client loads the whole system trust store, which cost
/// each target of a `-j 32` scan more CPU than its probe.
#[derive(Clone, Default)]
pub struct SharedConnection(Arc<OnceCell<Connected>>);

impl std::fmt::Debug for SharedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0.initialized() {
            true => "SharedConnection(connected)",
            false => "SharedConnection(not yet)",
        })
    }
}

struct Connected {
    client: Client,
    config: Config,
    in_cluster: bool,
}

/// A connected client and where it points.
#[derive(Clone)]
pub struct Cluster {
    pub client: Client,
    /// Kept to build a fresh client on another runtime (the cleanup backstop in `Drop`).
    pub config: Config,
    pub namespace: String,
    /// True when mcp-probe runs inside the cluster (HTTP pods are then reached by a Service).
    pub in_cluster: bool,
}

impl Cluster {
    /// The cluster `options` name, through their shared connection (made on first use; a
    /// failure is not kept, so each caller reports it). The namespace is each caller's own:
    /// every API call names it, none relies on the client's default.
    pub async fn connect(options: &ClusterOptions) -> Result<Cluster, KubeError> {
        let connected = options
            .connection
            .0
            .get_or_try_init(|| connect(options))
            .await?;
        let mut config = connected.config.clone();
        if let Some(ns) = &options.namespace {
            config.default_namespace = ns.clone();
        }
        if config.default_namespace.is_empty() {
            config.default_namespace = "default".into();
        }
        Ok(Cluster {
            client: connected.client.clone(),
            namespace: config.default_namespace.clone(),
            config,
            in_cluster: connected.in_cluster,
        })
    }
}

async fn connect(options: &ClusterOptions) -> Result<Connected, KubeError> {
    let (mut config, in_cluster) = load(options).await?;
    // mcp-probe decides what is retried (see retry.rs); kube's own layer would retry
    // underneath it and multiply the waits.
    config.default_retry = false;
    let client = Client::try_from(config.clone())
        .map_err(|e| KubeError::Config(format!("cannot build the API client: {e}")))?;
    Ok(Connected {
        client,
        config,
        in_cluster,
    })
}

async fn load(options: &ClusterOptions) -> Result<(Config, bool), KubeError> {
    let named = options.kubeconfig.is_some() || options.context.is_some();
    let in_cluster_env = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    if !named && in_cluster_env {
        match Config::incluster() {
            Ok(config) => return Ok((config, true)),
            Err(err) => tracing::debug!("in-cluster configuration unusable: {err}"),
        }
    }
    let kube_options = KubeConfigOptions {
        context: options.context.clone(),
        ..KubeConfigOptions::default()
    };
    let kubeconfig = match &options.kubeconfig {
        Some(path) => read_kubeconfig(path)?,
        None => match kubeconfig_from_env()? {
            Some(config) => config,
            None => {
                let path = default_path();
                match path.as_ref().filter(|p| p.exists()) {
                    Some(path) => read_kubeconfig(path)?,
                    None => return Err(KubeError::NoConfig(nowhere(in_cluster_env, path))),
                }
            }
        },
    };
    check_named_files(&kubeconfig)?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &kube_options)
        .await
        .map_err(|e| KubeError::Config(format!("kubeconfig: {e}")))?;
    Ok((config, false))
}

/// kube-rs reads a kubeconfig (and the files it names) to the end: each is first checked to
/// be a regular file within the limit of a config file, so that `/dev/zero` or a FIFO is
/// refused at once. A missing file is left to kube-rs to report.
fn check_file(path: &Path) -> Result<(), std::io::Error> {
    match input_file::check(path, Kind::Config) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, KubeError> {
    let bad = |e: &dyn std::fmt::Display| KubeError::Config(format!("{}: {e}", path.display()));
    check_file(path).map_err(|e| bad(&e))?;
    Kubeconfig::read_from(path).map_err(|e| bad(&e))
}

/// `KUBECONFIG`'s files, merged as kube-rs merges them, each checked first.
fn kubeconfig_from_env() -> Result<Option<Kubeconfig>, KubeError> {
    if let Some(paths) = std::env::var_os("KUBECONFIG") {
        for path in std::env::split_paths(&paths).filter(|p| !p.as_os_str().is_empty()) {
            check_file(&path)
                .map_err(|e| KubeError::Config(format!("KUBECONFIG: {}: {e}", path.display())))?;
        }
    }
    Kubeconfig::from_env().map_err(|e| KubeError::Config(format!("KUBECONFIG: {e}")))
}

/// The certificate, key and token files a kubeconfig names, checked as the kubeconfig is.
fn check_named_files(config: &Kubeconfig) -> Result<(), KubeError> {
    let authorities = config
        .clusters
        .iter()
        .filter_map(|named| named.cluster.as_ref()?.certificate_authority.as_deref());
    let credentials = config
        .auth_infos
        .iter()
        .filter_map(|named| named.auth_info.as_ref())
        .flat_map(|auth| {
            [
                auth.client_certificate.as_deref(),
                auth.client_key.as_deref(),
                auth.token_file.as_deref(),
            ]
        })
        .flatten();
    for file in authorities.chain(credentials) {
        check_file(Path::new(file))
            .map_err(|e| KubeError::Config(format!("kubeconfig: cannot read {file}: {e}")))?;
    }
    Ok(())
}

fn default_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".kube").join("config"))
}

/// Where we looked, for the one-line error.
fn nowhere(in_cluster_env: bool, path: Option<PathBuf>) -> String {
    let in_cluster = if in_cluster_env {
        "in-cluster configuration unusable"
    } else {
        "not in a cluster (KUBERNETES_SERVICE_HOST unset)"
    };
    let home = path.map_or("~/.kube/config".into(), |p| p.display().to_string());
    format!("{in_cluster}, KUBECONFIG unset, {home} not found; pass --kubeconfig or --context")
}
