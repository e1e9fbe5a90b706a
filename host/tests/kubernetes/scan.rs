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

fn outcomes(stdout: &[u8]) -> Vec<(String, String)> {
    let mut lines: Vec<Value> = String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    lines.sort_by_key(|l| l["index"].as_u64().unwrap());
    lines
        .iter()
        .map(|l| {
            (
                l["name"].as_str().unwrap().to_owned(),
                l["outcome"].as_str().unwrap().to_owned(),
            )
        })
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
