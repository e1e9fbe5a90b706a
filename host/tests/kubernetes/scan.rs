//! `scan` over image targets through the simulator: each image gets its outcome, no more pods
//! run at once than `--image-jobs` lets, and nothing is left in the cluster, also after Ctrl-C.

use crate::cluster::*;
use crate::support;
use serde_json::Value;
use std::time::{Duration, Instant};

fn catalog(targets: Value) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::fs::write(
        file.path(),
        serde_json::json!({"targets": targets}).to_string(),
    )
    .unwrap();
    file
}

/// The JSON lines of a scan, in catalog order.
fn lines(stdout: &[u8]) -> Vec<Value> {
    let mut lines: Vec<Value> = String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines.sort_by_key(|l| l["index"].as_u64().unwrap());
    lines
}

fn text(value: &Value) -> String {
    value.as_str().unwrap().to_owned()
}

fn outcomes(stdout: &[u8]) -> Vec<(String, String)> {
    let lines = lines(stdout);
    lines
        .iter()
        .map(|l| (text(&l["name"]), text(&l["outcome"])))
        .collect()
}

#[tokio::test]
async fn images_and_local_servers_in_one_catalog() {
    let mut images = example_images();
    images.push((
        "crash:1",
        shell_image("echo cannot open config >&2; exit 3"),
    ));
    images.push(("silent:1", image(&["sleep", "6543.5"])));
    let sim = sim(images).await;
    let example = support::example_server_bin().display().to_string();
    let mut targets = Vec::new();
    for i in 0..6 {
        targets.push(
            serde_json::json!({"name": format!("example-{i}"), "image": "example:1",
            "args": ["--tools", (i + 1).to_string()], "transport": "stdio"}),
        );
    }
    targets.push(serde_json::json!({"name": "no-such", "image": "ghcr.io/org/no-such:1"}));
    targets.push(serde_json::json!({"name": "crash", "image": "crash:1", "transport": "stdio"}));
    targets.push(serde_json::json!({"name": "silent", "image": "silent:1", "transport": "stdio"}));
    targets.push(serde_json::json!({"name": "local", "command": [&example]}));
    let file = catalog(Value::Array(targets));
    let path = file.path().display().to_string();
    let out = probe(
        &sim,
        &[
            "scan",
            &path,
            "--no-cache",
            "-j",
            "4",
            "--image-jobs",
            "2",
            "--timeout",
            "5",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let got = outcomes(&out.stdout);
    let mut expected: Vec<(String, String)> = (0..6)
        .map(|i| (format!("example-{i}"), "ok".to_owned()))
        .collect();
    for (name, outcome) in [
        ("no-such", "image_error"),
        ("crash", "start_failed"),
        ("silent", "timeout"),
        ("local", "ok"),
    ] {
        expected.push((name.into(), outcome.into()));
    }
    assert_eq!(got, expected, "{stderr}");
    assert_empty(&sim).await;
}

#[tokio::test]
async fn an_interrupted_image_scan_leaves_no_pod() {
    let sim = sim(vec![("silent:1", image(&["sleep", "7654.5"]))]).await;
    let targets: Vec<Value> = (0..6)
        .map(|i| serde_json::json!({"name": format!("s{i}"), "image": "silent:1", "transport": "stdio"}))
        .collect();
    let file = catalog(Value::Array(targets));
    let path = file.path().display().to_string();
    let mut command = probe_command(&sim, &["scan", &path, "-j", "3", "--timeout", "60"]);
    command.kill_on_drop(true);
    let child = command.spawn().unwrap();
    let pid = child.id().unwrap() as libc::pid_t;
    let waited = Instant::now();
    while objects(&sim).await.0 < 3 && waited.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(objects(&sim).await.0, 3, "three pods at once (-j 3)");
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the scan ends after Ctrl-C")
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (_, outcome) in outcomes(&out.stdout) {
        assert_eq!(outcome, "interrupted");
    }
    assert_empty(&sim).await;
}

/// Each line's `(name, outcome, cached)`, in catalog order.
fn cached_flags(stdout: &[u8]) -> Vec<(String, String, bool)> {
    let lines = lines(stdout);
    lines
        .iter()
        .map(|l| {
            let cached = l["cached"].as_bool().unwrap_or(false);
            (text(&l["name"]), text(&l["outcome"]), cached)
        })
        .collect()
}

#[tokio::test]
async fn a_second_scan_answers_from_the_cache_without_creating_a_pod() {
    let sim = sim(example_images()).await;
    let secret = "cache-secret-value-4b1d";
    let mut targets: Vec<Value> = (0..3)
        .map(|i| {
            serde_json::json!({"name": format!("example-{i}"), "image": "example:1",
            "args": ["--tools", (i + 1).to_string()], "transport": "stdio"})
        })
        .collect();
    targets.push(
        serde_json::json!({"name": "with-secret", "image": "example:1",
        "transport": "stdio", "secret_env": {"API_TOKEN": secret}}),
    );
    targets.push(serde_json::json!({"name": "no-such", "image": "ghcr.io/org/no-such:1"}));
    let file = catalog(Value::Array(targets));
    let path = file.path().display().to_string();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().join("results").display().to_string();
    let scan = |extra: &'static [&'static str]| {
        let mut args = vec!["scan", &path, "-j", "4", "--timeout", "10"];
        args.extend(["--cache-dir", &cache_dir]);
        args.extend(extra);
        let sim = &sim;
        async move {
            let before = sim.created_counts().pods;
            let out = probe(sim, &args).await;
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(1), "no-such fails: {stderr}");
            (
                cached_flags(&out.stdout),
                sim.created_counts().pods - before,
            )
        }
    };
    let answered = ["example-0", "example-1", "example-2", "with-secret"];
    let (first, pods) = scan(&[]).await;
    assert_eq!(pods, 5, "{first:?}");
    assert!(first.iter().all(|(_, _, cached)| !cached), "{first:?}");

    let (second, pods) = scan(&[]).await;
    assert_eq!(
        pods, 1,
        "only the failed target is probed again: {second:?}"
    );
    for (name, outcome, cached) in &second {
        let answered = answered.contains(&name.as_str());
        assert_eq!((outcome == "ok", *cached), (answered, answered), "{name}");
    }
    let entries: Vec<_> = std::fs::read_dir(&cache_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 4, "an entry per answer: {entries:?}");
    for entry in &entries {
        let text = std::fs::read_to_string(entry).unwrap();
        assert!(!text.contains(secret), "a secret in {}", entry.display());
    }

    // A corrupt entry is a miss, probed again and rewritten whole.
    std::fs::write(&entries[0], b"{\"format\": 1, \"key\"").unwrap();
    let (_, pods) = scan(&[]).await;
    assert_eq!(pods, 2, "the corrupt entry's target and the failed one");
    let rewritten: Value = serde_json::from_slice(&std::fs::read(&entries[0]).unwrap()).unwrap();
    assert_eq!(rewritten["result"]["outcome"], "ok");

    let (refreshed, pods) = scan(&["--refresh"]).await;
    assert_eq!(pods, 5, "--refresh probes everything");
    assert!(refreshed.iter().all(|(_, _, cached)| !cached));
    let (_, pods) = scan(&["--cache-ttl", "0"]).await;
    assert_eq!(pods, 5, "nothing is fresh under --cache-ttl 0");
    let (_, pods) = scan(&["--cache-ttl", "1h"]).await;
    assert_eq!(
        pods, 1,
        "entries written a moment ago are fresh for an hour"
    );
    assert_empty(&sim).await;
}

#[tokio::test]
async fn targets_sharing_one_connection_keep_their_own_namespaces() {
    let sim = sim(example_images()).await;
    let targets: Vec<Value> = ["team-a", "team-b", "team-a"]
        .iter()
        .enumerate()
        .map(|(i, ns)| {
            serde_json::json!({"name": format!("t{i}"), "image": "example:1",
            "transport": "stdio", "namespace": ns})
        })
        .collect();
    let file = catalog(Value::Array(targets));
    let path = file.path().display().to_string();
    let out = probe(&sim, &["scan", &path, "--no-cache", "-n", "default"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let namespaces: Vec<String> = lines(&out.stdout)
        .iter()
        .map(|l| text(&l["report"]["namespace"]))
        .collect();
    assert_eq!(namespaces, ["team-a", "team-b", "team-a"]);
    assert_eq!(sim.created_counts().pods, 3);
    assert_empty(&sim).await;
}
