//! `kube-sim --port P [--images images.toml] [--rules rules.toml]`
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use kube_sim::{Config, ImageTable, Rules, Simulator};

/// A Kubernetes API simulator that runs pods as local processes.
#[derive(Parser)]
#[command(name = "kube-sim", version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Image table (TOML): image reference → local command. Without it every image is unknown.
    #[arg(long)]
    images: Option<PathBuf>,
    /// Rules (TOML): `[[deny]]` entries with verb/resource/namespace answered with 403, and
    /// faults from the start: `[[fail]]` (500s; `times`), `[[delay]]` (`ms`), `[[outage]]`
    /// (the API goes down `after_ms` after the first matching request).
    #[arg(long)]
    rules: Option<PathBuf>,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let images = match &args.images {
        Some(p) => ImageTable::load(p)?,
        None => ImageTable::default(),
    };
    let rules = match &args.rules {
        Some(p) => Rules::load(p)?,
        None => Rules::default(),
    };
    let started = std::time::Instant::now();
    let sim = Simulator::start(Config {
        port: args.port,
        images,
        rules,
        ..Config::default()
    })
    .await?;
    println!(
        "kube-sim listening on {} (started in {:.1} ms)",
        sim.url(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    println!("kubeconfig: {}", sim.kubeconfig_path().display());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("signal handler")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    sim.shutdown().await;
    Ok(())
}

fn main() {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kube-sim: error: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(args)) {
        eprintln!("kube-sim: error: {e:#}");
        std::process::exit(1);
    }
}
