//! Shared helpers: a simulator with a test image table, a kube-rs client, pod builders.
#![allow(dead_code)]

pub mod kubectl;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use kube_sim::{Config, Image, ImageTable, SimHandle, Simulator};
use serde_json::json;

fn image(command: &[&str]) -> Image {
    Image {
        command: command.iter().map(|s| s.to_string()).collect(),
        ..Image::default()
    }
}

/// Images the tests use: an echo (cat), a sleeper, a root image, a TCP echo server, a failing
/// command and a slow starter.
pub fn images() -> ImageTable {
    let mut t = ImageTable::default();
    t.insert("echo:1", image(&["cat"]));
    t.insert("sleeper:1", image(&["sleep", "300"]));
    t.insert(
        "root:1",
        Image {
            runs_as_root: true,
            ..image(&["sleep", "300"])
        },
    );
    t.insert(
        "tcp-echo:1",
        image(&[env!("CARGO_BIN_EXE_sim-tcp-echo"), "$(KUBE_SIM_PORT_8080)"]),
    );
    t.insert(
        "fail:1",
        image(&["sh", "-c", "echo out; echo err >&2; exit 3"]),
    );
    t.insert("ok:1", image(&["sh", "-c", "echo done"]));
    t.insert(
        "env:1",
        image(&["sh", "-c", "echo \"$GREETING $HOSTNAME\"; exec sleep 300"]),
    );
    t.insert(
        "slow:1",
        Image {
            start_delay_ms: 300,
            ..image(&["cat"])
        },
    );
    t.insert(
        "trap:1",
        image(&[
            "sh",
            "-c",
            "trap 'echo got-term; exit 0' TERM; while true; do sleep 0.05; done",
        ]),
    );
    t
}

pub async fn start() -> SimHandle {
    start_with(Config {
        images: images(),
        ..Config::default()
    })
    .await
}

pub async fn start_with(config: Config) -> SimHandle {
    Simulator::start(config).await.expect("simulator starts")
}

pub fn client(sim: &SimHandle) -> kube::Client {
    let mut config = kube::Config::new(sim.url().parse().expect("url"));
    config.default_namespace = "default".into();
    kube::Client::try_from(config).expect("kube client")
}

pub fn pod(name: &str, image: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name, "suite": "kube-sim"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": image, "stdin": true, "stdinOnce": true,
                            "ports": [{"containerPort": 8080, "name": "http"}]}],
        },
    }))
    .expect("pod")
}

pub async fn create(api: &Api<Pod>, pod: &Pod) -> Pod {
    api.create(&PostParams::default(), pod)
        .await
        .expect("create pod")
}

/// Waits (bounded) until the pod satisfies `cond`, through kube-rs's own watch machinery.
pub async fn wait_for(
    api: &Api<Pod>,
    name: &str,
    what: &str,
    cond: impl kube::runtime::wait::Condition<Pod>,
) -> Pod {
    let fut = kube::runtime::wait::await_condition(api.clone(), name, cond);
    match tokio::time::timeout(std::time::Duration::from_secs(20), fut).await {
        Ok(Ok(Some(pod))) => pod,
        Ok(Ok(None)) => panic!("pod {name} was deleted while waiting for {what}"),
        Ok(Err(e)) => panic!("waiting for {what} on {name}: {e}"),
        Err(_) => {
            let now = api.get_opt(name).await.ok().flatten();
            panic!(
                "timed out waiting for {what} on {name}; pod status now: {:?}",
                now.and_then(|p| p.status)
            )
        }
    }
}

pub fn phase(p: Option<&Pod>) -> Option<String> {
    p.and_then(|p| p.status.as_ref())
        .and_then(|s| s.phase.clone())
}

pub fn is_running() -> impl kube::runtime::wait::Condition<Pod> {
    |p: Option<&Pod>| phase(p).as_deref() == Some("Running")
}

pub fn waiting_reason(p: Option<&Pod>) -> Option<String> {
    p?.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .first()?
        .state
        .as_ref()?
        .waiting
        .as_ref()?
        .reason
        .clone()
}

/// The API's answer in a failed request (a 4xx/5xx `Status`).
pub fn api_err(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other}"),
    }
}

/// Whether an external client is required (CI installs everything, so nothing may skip there).
pub fn skip_or_fail(reason: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("required in CI: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
}

/// Waits (bounded) until the pod with this uid is gone.
pub async fn wait_deleted(api: &Api<Pod>, name: &str, uid: &str) {
    let fut = kube::runtime::wait::await_condition(
        api.clone(),
        name,
        kube::runtime::conditions::is_deleted(uid),
    );
    match tokio::time::timeout(std::time::Duration::from_secs(20), fut).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => panic!("waiting for deletion of {name}: {e}"),
        Err(_) => panic!("timed out waiting for deletion of {name}"),
    }
}

/// A system tool that no package registry here can provide: skipped with a printed reason,
/// in CI too (issue 4: "skip these only with a printed reason when the client is missing").
pub fn skip_system_tool(reason: &str) {
    eprintln!("SKIPPED: {reason}");
}
