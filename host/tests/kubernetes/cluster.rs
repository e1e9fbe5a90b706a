//! Starting a simulator with an image table, running mcp-probe against it, and checking that
//! it is left empty.
#![allow(dead_code)]

use crate::support;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use kube::api::ListParams;
use kube::Api;
use kube_sim::{Config, Image, ImageTable, SimHandle, Simulator};
use std::process::Output;
use std::time::Duration;
use tokio::process::Command;

pub fn image(command: &[&str]) -> Image {
    Image {
        command: command.iter().map(|s| s.to_string()).collect(),
        ..Image::default()
    }
}

/// A shell-wrapped image, for servers that take their port from an environment variable
/// (every pod of the simulator shares the host's network, so it hands each declared port a
/// private local one as `KUBE_SIM_PORT_<port>`).
/// The container's args follow the script as `"$@"`.
pub fn shell_image(script: &str) -> Image {
    image(&["sh", "-c", script, "sh"])
}

/// The example server as `example:1` (stdio) and `example-http:1` (HTTP on the pod's 8000).
pub fn example_images() -> Vec<(&'static str, Image)> {
    let server = support::example_server_bin().display().to_string();
    vec![
        ("example:1", image(&[&server])),
        (
            "example-http:1",
            shell_image(&format!(
                "exec {server} --http 127.0.0.1:$KUBE_SIM_PORT_8000 \"$@\""
            )),
        ),
    ]
}

pub async fn sim(images: Vec<(&str, Image)>) -> SimHandle {
    sim_with(images, Config::default()).await
}

pub async fn sim_with(images: Vec<(&str, Image)>, mut config: Config) -> SimHandle {
    let mut table = ImageTable::default();
    for (name, image) in images {
        table.insert(name, image);
    }
    config.images = table;
    Simulator::start(config)
        .await
        .expect("the simulator starts")
}

/// `mcp-probe ARGS` with the simulator's kubeconfig.
pub fn probe_command(sim: &SimHandle, args: &[&str]) -> Command {
    let mut command = Command::new(support::probe_bin());
    command
        .args(args)
        .env("KUBECONFIG", sim.kubeconfig_path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("MCP_PROBE_CACHE_DIR", cache_dir());
    command
}

fn cache_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join("mcp-probe-kube-tests-cache");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub async fn probe(sim: &SimHandle, args: &[&str]) -> Output {
    support::run(probe_command(sim, args)).await
}

/// `discover -o json --image …`, asserting exit 0; returns the report.
pub async fn discover_ok(sim: &SimHandle, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["discover", "-o", "json"];
    all.extend_from_slice(args);
    let out = probe(sim, &all).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{args:?} failed ({}): {stderr}",
        out.status
    );
    serde_json::from_slice(&out.stdout).expect("the report is JSON")
}

/// `discover --image …` that must fail: returns (exit code, the one stderr line).
pub async fn discover_err(sim: &SimHandle, args: &[&str]) -> (i32, String) {
    let mut all = vec!["discover", "-o", "json"];
    all.extend_from_slice(args);
    let out = probe(sim, &all).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.is_empty(), "no report on failure: {stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

pub fn client(sim: &SimHandle) -> kube::Client {
    let config = kube::Config::new(sim.url().parse().unwrap());
    kube::Client::try_from(config).unwrap()
}

/// What the simulator holds, in every namespace: (pods, services, secrets).
pub async fn objects(sim: &SimHandle) -> (usize, usize, usize) {
    let c = client(sim);
    let lp = ListParams::default();
    let pods = Api::<Pod>::all(c.clone())
        .list(&lp)
        .await
        .unwrap()
        .items
        .len();
    let services = Api::<Service>::all(c.clone())
        .list(&lp)
        .await
        .unwrap()
        .items
        .len();
    let secrets = Api::<Secret>::all(c).list(&lp).await.unwrap().items.len();
    (pods, services, secrets)
}

/// Nothing left: no object and no pod process.
pub async fn assert_empty(sim: &SimHandle) {
    assert_eq!(
        objects(sim).await,
        (0, 0, 0),
        "objects left in the simulator"
    );
    for _ in 0..100 {
        if sim.live_processes() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{} pod processes still alive", sim.live_processes());
}

pub fn tool_names(report: &serde_json::Value) -> Vec<String> {
    support::tool_names(report)
}
