//! `mcp-probe gc`: remove what killed runs left in the cluster.

use super::kube_args::ClusterArgs;
use super::{exit, BadInput};
use anyhow::Result;
use mcp_probe::runtime::kubernetes::gc::{collect, GcOptions};
use mcp_probe::runtime::kubernetes::{Cluster, KubeError};
use mcp_probe::runtime::ErrorKind;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct GcArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Every namespace, not only the current one.
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// Only objects at least this old: seconds, or with a unit (30s, 10m, 2h). Default 10m,
    /// or 0 with --run-id.
    #[arg(long, value_name = "AGE", value_parser = super::duration::non_negative)]
    pub older_than: Option<Duration>,
    /// Only the objects of this run (the id a cleanup warning names), of any age.
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// List what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// More tries for retryable API failures.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub retries: u32,
}

/// What `gc` leaves alone without --run-id: objects younger than this may be a running probe's.
const DEFAULT_AGE: Duration = Duration::from_secs(600);

pub fn run(args: GcArgs) -> Result<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let found = runtime.block_on(async {
        let cluster = Cluster::connect(&args.cluster.options()).await?;
        let options = GcOptions {
            namespace: (!args.all_namespaces).then(|| cluster.namespace.clone()),
            older_than: args.older_than.unwrap_or(match args.run_id {
                Some(_) => Duration::ZERO,
                None => DEFAULT_AGE,
            }),
            dry_run: args.dry_run,
            retries: args.retries,
            run_id: args.run_id.clone(),
        };
        collect(&cluster, &options).await
    });
    let found = found.map_err(|err: KubeError| match err.kind() {
        ErrorKind::BadInput => anyhow::Error::new(BadInput(err.to_string())),
        _ => anyhow::Error::new(err),
    })?;
    let mut failed = 0;
    let mut text = String::new();
    for item in &found {
        text.push_str(&format!(
            "{} {} {}/{} (age {}s)\n",
            item.outcome, item.kind, item.namespace, item.name, item.age_secs
        ));
        failed += usize::from(item.outcome.starts_with("not deleted"));
    }
    if !text.is_empty() {
        super::write_stdout(&text)?;
    }
    if found.is_empty() && !super::logging::quiet() {
        eprintln!("mcp-probe: nothing to collect");
    }
    Ok(if failed > 0 { exit::FAILURE } else { exit::OK })
}
