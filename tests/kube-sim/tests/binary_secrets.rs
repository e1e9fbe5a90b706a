//! The `kube-sim` binary prints nothing of the Secrets it serves: created, read by a pod's
//! environment, refused, its output (stdout and stderr) never holds a value.
mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, PostParams};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_kube-sim");
const VALUE: &str = "v4lue-never-logged";

struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn secret_values_never_reach_the_simulators_output() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("images.toml");
    std::fs::write(
        &images,
        "[images.\"app:1\"]\ncommand = [\"sleep\", \"300\"]\n",
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--images", images.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = child.stderr.take().unwrap();
    let mut child = Guard(child);
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first.split_whitespace().nth(3).unwrap().to_owned();
    let mut config = kube::Config::new(url.parse().unwrap());
    config.default_namespace = "default".into();
    let c = kube::Client::try_from(config).unwrap();
    let secrets: Api<Secret> = Api::default_namespaced(c.clone());
    let pods: Api<Pod> = Api::default_namespaced(c.clone());

    let s: Secret = serde_json::from_value(
        json!({"metadata": {"name": "s"}, "stringData": {"TOKEN": VALUE, "bad key": VALUE}}),
    )
    .unwrap();
    assert!(
        secrets.create(&PostParams::default(), &s).await.is_err(),
        "a bad key"
    );
    let s: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"TOKEN": VALUE}}))
            .unwrap();
    secrets.create(&PostParams::default(), &s).await.unwrap();
    let raw = json!({"metadata": {"name": "raw"}, "data": {"TOKEN": VALUE}});
    let req = hyper::Request::post("/api/v1/namespaces/default/secrets")
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(&raw).unwrap())
        .unwrap();
    assert!(c.request::<Secret>(req).await.is_err(), "not base64");
    for (name, key) in [("reader", "TOKEN"), ("missing", "OTHER")] {
        let p: Pod = serde_json::from_value(json!({
            "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "app:1", "env": [{"name": "T",
                "valueFrom": {"secretKeyRef": {"name": "s", "key": key}}}]}]}
        }))
        .unwrap();
        pods.create(&PostParams::default(), &p).await.unwrap();
    }
    common::wait_for(&pods, "reader", "Running", common::is_running()).await;
    common::wait_for(
        &pods,
        "missing",
        "CreateContainerConfigError",
        |p: Option<&Pod>| {
            common::waiting_reason(p).as_deref() == Some("CreateContainerConfigError")
        },
    )
    .await;

    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    assert!(child.0.wait().unwrap().success());
    let mut out = first;
    stdout.read_to_string(&mut out).unwrap();
    stderr.read_to_string(&mut out).unwrap();
    assert!(out.contains("kube-sim listening on"), "{out}");
    assert!(!out.contains(VALUE), "{out}");
}
