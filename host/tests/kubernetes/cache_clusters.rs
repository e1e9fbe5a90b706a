//! One `--cache-dir` for two clusters: the same catalog scanned against simulator A and then
//! B is probed in each (B is never answered from A's entry), each answers from its own entry
//! afterwards, and another namespace is another entry.

use crate::cluster::*;
use crate::support;
use kube_sim::SimHandle;
use serde_json::Value;
use std::path::Path;

/// `scan CATALOG --cache-dir DIR ARGS` against `sim`: (tool count, cached) of the one line.
async fn scan_in(sim: &SimHandle, catalog: &Path, cache: &Path, args: &[&str]) -> (usize, bool) {
    let mut command = tokio::process::Command::new(support::probe_bin());
    command
        .arg("scan")
        .arg(catalog)
        .arg("--cache-dir")
        .arg(cache)
        .args(["--timeout", "15"])
        .args(args)
        .env("KUBECONFIG", sim.kubeconfig_path())
        .env_remove("KUBERNETES_SERVICE_HOST");
    let out = support::run(command).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tools = line["report"]["tools"].as_array().unwrap().len();
    (tools, line["cached"].as_bool().unwrap_or(false))
}

#[tokio::test]
async fn one_cache_dir_never_answers_one_cluster_from_anothers_entry() {
    let server = support::example_server_bin().display().to_string();
    // The same image name, another server in each cluster: 2 tools in A, 7 in B.
    let a = sim(vec![("example:1", image(&[&server, "--tools", "2"]))]).await;
    let b = sim(vec![("example:1", image(&[&server, "--tools", "7"]))]).await;
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.json");
    let target = serde_json::json!({"name": "srv", "image": "example:1", "transport": "stdio"});
    std::fs::write(
        &catalog,
        serde_json::json!({"targets": [target]}).to_string(),
    )
    .unwrap();
    let cache = dir.path().join("cache");
    let pods = |sim: &SimHandle| sim.created_counts().pods;

    assert_eq!(scan_in(&a, &catalog, &cache, &[]).await, (2, false));
    assert_eq!(
        scan_in(&b, &catalog, &cache, &[]).await,
        (7, false),
        "B probed"
    );
    assert_eq!((pods(&a), pods(&b)), (1, 1));
    assert_eq!(scan_in(&a, &catalog, &cache, &[]).await, (2, true));
    assert_eq!(scan_in(&b, &catalog, &cache, &[]).await, (7, true));
    assert_eq!((pods(&a), pods(&b)), (1, 1), "both answered from the cache");
    // The namespace is part of the key: -n, and the kubeconfig's own namespace (default).
    assert_eq!(
        scan_in(&a, &catalog, &cache, &["-n", "team"]).await,
        (2, false)
    );
    assert_eq!(
        scan_in(&a, &catalog, &cache, &["-n", "default"]).await,
        (2, true)
    );
    assert_eq!(pods(&a), 2);
    let entries = std::fs::read_dir(&cache).unwrap().count();
    assert_eq!(entries, 3, "an entry per cluster and namespace");
    assert_empty(&a).await;
    assert_empty(&b).await;
}
