//! kubectl's secret commands against the simulator: a generated manifest created, the
//! server-side table of `get secrets`, jsonpath on data, a refused name, delete.
mod common;

use common::kubectl::*;
use common::*;

#[tokio::test]
async fn kubectl_create_get_and_delete_secrets() {
    if kubectl_missing() {
        return skip_system_tool(MISSING);
    }
    let sim = start().await;
    let kc = sim.kubeconfig_path().to_owned();
    // kubectl's typed `create secret` speaks protobuf, which the simulator answers 415; its
    // manifest, created through the JSON path, is the same object.
    let args = [
        "create",
        "secret",
        "generic",
        "ks",
        "--from-literal=TOKEN=abc",
        "--from-literal=USER=me",
    ];
    let out = kubectl(&kc, &args, None).await;
    assert!(
        out.code != 0
            && out
                .stderr
                .contains("accepted media types include: application/json"),
        "{}",
        out.stderr
    );
    let dry: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--dry-run=client", "-o", "json"])
        .collect();
    let manifest = kubectl(&kc, &dry, None).await;
    assert_eq!(manifest.code, 0, "{}", manifest.stderr);
    let create = ["create", "-f", "-", "--validate=false"];
    let out = kubectl(&kc, &create, Some(manifest.stdout.as_bytes())).await;
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "secret/ks created"),
        "{}",
        out.stderr
    );
    let out = kubectl(&kc, &["get", "secrets"], None).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["NAME", "TYPE", "DATA", "AGE"], "{}", out.stdout);
    assert_eq!(&lines[1][..3], ["ks", "Opaque", "2"], "{}", out.stdout);
    let out = kubectl(
        &kc,
        &["get", "secret", "ks", "-o", "jsonpath={.data.TOKEN}"],
        None,
    )
    .await;
    assert_eq!(out.stdout, "YWJj", "{}", out.stderr);

    let bad = manifest.stdout.replace("\"ks\"", "\"Bad_Name\"");
    let out = kubectl(&kc, &create, Some(bad.as_bytes())).await;
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains(
            "Secret \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a \
             lowercase RFC 1123 subdomain"
        ),
        "{}",
        out.stderr
    );
    let out = kubectl(&kc, &["delete", "secret", "ks"], None).await;
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "secret \"ks\" deleted"),
        "{}",
        out.stderr
    );
    let out = kubectl(&kc, &["get", "secret", "ks"], None).await;
    assert!(
        out.stderr.contains("secrets \"ks\" not found"),
        "{}",
        out.stderr
    );
    assert_eq!(sim.object_counts().secrets, 0);
    sim.shutdown().await;
}
