//! The official Kubernetes Python client (`pip install kubernetes`): create, get, watch, delete.
mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;

const SCRIPT: &str = r#"
import json, sys
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
out = {}
pod = client.V1Pod(
    metadata=client.V1ObjectMeta(name="py-pod", labels={"app": "py"}),
    spec=client.V1PodSpec(restart_policy="Never", containers=[
        client.V1Container(name="main", image="sleeper:1")]))
created = v1.create_namespaced_pod("default", pod)
out["created_phase"] = created.status.phase
out["get_name"] = v1.read_namespaced_pod("py-pod", "default").metadata.name
w = watch.Watch()
for ev in w.stream(v1.list_namespaced_pod, "default", label_selector="app=py", timeout_seconds=20):
    if ev["object"].status.phase == "Running":
        out["watched_running"] = True
        out["ready"] = ev["object"].status.container_statuses[0].ready
        w.stop()
try:
    v1.create_namespaced_pod("default", pod)
except ApiException as e:
    out["conflict"] = [e.status, json.loads(e.body)["reason"]]
v1.delete_namespaced_pod("py-pod", "default", grace_period_seconds=0)
try:
    v1.read_namespaced_pod("py-pod", "default")
except ApiException as e:
    out["after_delete"] = e.status
print(json.dumps(out))
"#;

fn python() -> PathBuf {
    std::env::var_os("KUBE_SIM_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.deps/venv/bin/python")
        })
}

#[tokio::test]
async fn python_client_create_get_watch_delete() {
    let py = python();
    let has_client = std::process::Command::new(&py)
        .args(["-c", "import kubernetes"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_client {
        return skip_or_fail(&format!(
            "the kubernetes Python client is not importable by {} (run tests/kube-sim/scripts/install-deps.sh)",
            py.display()
        ));
    }
    let sim = start().await;
    let child = tokio::process::Command::new(&py)
        .args(["-c", SCRIPT])
        .arg(sim.kubeconfig_path())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .expect("python in time")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed: {stderr}");
    let got: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(
        got,
        serde_json::json!({
            "created_phase": "Pending", "get_name": "py-pod", "watched_running": true, "ready": true,
            "conflict": [409, "AlreadyExists"], "after_delete": 404,
        })
    );
    sim.shutdown().await;
}
