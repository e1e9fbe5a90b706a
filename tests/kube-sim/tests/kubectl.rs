//! kubectl (a real, independent client) against the simulator: get, create, wait, attach, logs,
//! delete and error reporting.
mod common;

use common::kubectl::*;
use common::*;

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: kecho
  labels: {app: kecho}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: echo:1
    stdin: true
    stdinOnce: true
";

#[tokio::test]
async fn kubectl_create_get_attach_logs_delete() {
    if kubectl_missing() {
        return skip_system_tool("kubectl is not installed (no registry here ships a kubectl that attaches over websockets, so CI cannot install it)");
    }
    let sim = start().await;
    let kc = sim.kubeconfig_path().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("pod.yaml");
    std::fs::write(&manifest, POD).unwrap();

    let out = kubectl(
        &kc,
        &[
            "create",
            "-f",
            manifest.to_str().unwrap(),
            "--validate=false",
        ],
        None,
    )
    .await;
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "pod/kecho created"),
        "{}",
        out.stderr
    );

    let out = kubectl(
        &kc,
        &[
            "wait",
            "--for=condition=Ready",
            "pod/kecho",
            "--timeout=20s",
        ],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let out = kubectl(&kc, &["label", "pod", "kecho", "probe=yes"], None).await;
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "pod/kecho labeled"),
        "{}",
        out.stderr
    );
    let out = kubectl(&kc, &["get", "pods", "-l", "probe=yes", "-o", "name"], None).await;
    assert_eq!(out.stdout.trim(), "pod/kecho");

    let out = kubectl(&kc, &["get", "pods"], None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let row: Vec<&str> = out
        .stdout
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        &row[..4],
        ["kecho", "1/1", "Running", "0"],
        "{}",
        out.stdout
    );

    let out = kubectl(
        &kc,
        &[
            "get",
            "pod",
            "kecho",
            "-o",
            "jsonpath={.status.containerStatuses[0].ready}",
        ],
        None,
    )
    .await;
    assert_eq!(out.stdout, "true");

    let out = kubectl(
        &kc,
        &["attach", "-i", "kecho", "-c", "main"],
        Some(b"hello kubectl\n"),
    )
    .await;
    assert_eq!(out.code, 0, "attach failed: {}", out.stderr);
    assert_eq!(out.stdout, "hello kubectl\n");

    let out = kubectl(
        &kc,
        &[
            "wait",
            "--for=jsonpath={.status.phase}=Succeeded",
            "pod/kecho",
            "--timeout=20s",
        ],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);

    let out = kubectl(&kc, &["logs", "kecho"], None).await;
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "hello kubectl\n"),
        "{}",
        out.stderr
    );

    let out = kubectl(&kc, &["delete", "pod", "kecho"], None).await;
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "pod \"kecho\" deleted"),
        "{}",
        out.stderr
    );

    let out = kubectl(&kc, &["get", "pod", "kecho"], None).await;
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        "Error from server (NotFound): pods \"kecho\" not found"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn kubectl_reports_invalid_and_forbidden() {
    if kubectl_missing() {
        return skip_system_tool("kubectl is not installed (no registry here ships a kubectl that attaches over websockets, so CI cannot install it)");
    }
    let rules: kube_sim::Rules =
        toml::from_str("[[deny]]\nverb = \"list\"\nresource = \"services\"\n").unwrap();
    let sim = start_with(kube_sim::Config {
        images: images(),
        rules,
        ..Default::default()
    })
    .await;
    let kc = sim.kubeconfig_path().to_owned();
    let out = kubectl(
        &kc,
        &["run", "Bad_Name", "--image=echo:1", "--restart=Never"],
        None,
    )
    .await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("is invalid") && out.stderr.contains("RFC 1123"),
        "{}",
        out.stderr
    );
    let out = kubectl(&kc, &["get", "services"], None).await;
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("Forbidden")
            && out.stderr.contains("cannot list resource \"services\""),
        "{}",
        out.stderr
    );
    let out = kubectl(
        &kc,
        &["run", "good", "--image=nope:1", "--restart=Never"],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = kubectl(
        &kc,
        &[
            "wait",
            "--for=jsonpath={.status.containerStatuses[0].state.waiting.reason}=ImagePullBackOff",
            "pod/good",
            "--timeout=20s",
        ],
        None,
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = kubectl(&kc, &["get", "pod", "good"], None).await;
    assert!(out.stdout.contains("ImagePullBackOff"), "{}", out.stdout);
    sim.shutdown().await;
}
