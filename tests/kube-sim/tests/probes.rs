//! Readiness probes as the kubelet runs them: a container is Running before it is Ready, gets
//! Ready once its probe passes (tcpSocket, httpGet, exec), honours initialDelaySeconds, and goes
//! unready again after failureThreshold failures in a row.
mod common;

use std::time::{Duration, Instant};

use common::*;
use k8s_openapi::api::core::v1::Pod;
use kube::api::LogParams;
use kube::Api;
use serde_json::{json, Value};

const ECHO: &str = env!("CARGO_BIN_EXE_sim-tcp-echo");

/// A pod running `script` (with the local port of its container port 8080 in `$PORT`) under
/// the given readiness probe.
fn probed(name: &str, script: &str, probe: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "main", "image": "ok:1",
            "command": ["sh", "-c", script],
            "env": [{"name": "PORT", "value": "$(KUBE_SIM_PORT_8080)"},
                    {"name": "MARK", "value": format!("{}/kube-sim-probe-{name}-{}", std::env::temp_dir().display(), std::process::id())}],
            "ports": [{"containerPort": 8080, "name": "http"}],
            "readinessProbe": probe,
        }]}
    }))
    .unwrap()
}

fn ready(p: Option<&Pod>) -> bool {
    let status = p.and_then(|p| p.status.as_ref());
    let container = status
        .and_then(|s| s.container_statuses.as_ref())
        .is_some_and(|c| c[0].ready);
    let condition = status
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    assert_eq!(container, condition, "container and pod readiness agree");
    container
}

/// Waits for Running, checks it is not Ready yet, then waits for Ready; returns how long
/// Ready took after Running.
async fn running_then_ready(pods: &Api<Pod>, name: &str) -> Duration {
    let running = wait_for(pods, name, "Running", is_running()).await;
    let began = Instant::now();
    assert!(!ready(Some(&running)), "{name} is not Ready on start");
    let conditions = running.status.unwrap().conditions.unwrap();
    for kind in ["Ready", "ContainersReady"] {
        let c = conditions.iter().find(|c| c.type_ == kind).unwrap();
        assert_eq!(
            (c.reason.as_deref(), c.message.as_deref()),
            (
                Some("ContainersNotReady"),
                Some("containers with unready status: [main]")
            ),
            "{kind}"
        );
    }
    wait_for(pods, name, "Ready", ready).await;
    began.elapsed()
}

#[tokio::test]
async fn tcp_http_and_exec_probes_gate_ready() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let period = json!(1);
    let cases = [
        (
            "tcp",
            format!("sleep 1; exec {ECHO} $PORT"),
            json!({"tcpSocket": {"port": "http"}, "periodSeconds": period}),
        ),
        (
            "http",
            format!("sleep 1; exec {ECHO} $PORT http 204"),
            json!({"httpGet": {"port": 8080, "path": "/healthz",
                               "httpHeaders": [{"name": "X-Probe", "value": "yes"}]},
                   "periodSeconds": period}),
        ),
        (
            "exec",
            "sleep 1; touch \"$MARK\"; exec sleep 300".to_owned(),
            json!({"exec": {"command": ["test", "-f", "$(MARK)"]}, "periodSeconds": period}),
        ),
    ];
    for (name, script, probe) in &cases {
        let _ = std::fs::remove_file(format!(
            "{}/kube-sim-probe-{name}-{}",
            std::env::temp_dir().display(),
            std::process::id()
        ));
        create(&pods, &probed(name, script, probe.clone())).await;
    }
    // Watched side by side: each is seen Running (and not Ready) long before it gets Ready.
    futures_util::future::join_all(
        cases
            .iter()
            .map(|(name, ..)| running_then_ready(&pods, name)),
    )
    .await;
    // The HTTP prober sent what the kubelet's sends.
    let logs = pods.logs("http", &LogParams::default()).await.unwrap();
    assert!(logs.contains("GET /healthz HTTP/1.1\r\n"), "{logs:?}");
    assert!(logs.contains("User-Agent: kube-probe/1.33\r\n"), "{logs:?}");
    assert!(logs.contains("X-Probe: yes\r\n"), "{logs:?}");
    for (name, ..) in &cases {
        let _ = std::fs::remove_file(format!(
            "{}/kube-sim-probe-{name}-{}",
            std::env::temp_dir().display(),
            std::process::id()
        ));
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn an_http_error_status_never_gets_ready() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let probe = json!({"httpGet": {"port": 8080}, "periodSeconds": 1});
    create(
        &pods,
        &probed("sick", &format!("exec {ECHO} $PORT http 503"), probe),
    )
    .await;
    wait_for(&pods, "sick", "Running", is_running()).await;
    // Probed at least twice (at once, then after a period), failing each time.
    let mut logs = String::new();
    for _ in 0..100 {
        logs = pods.logs("sick", &LogParams::default()).await.unwrap();
        if logs.matches("GET / HTTP/1.1").count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(logs.matches("GET / HTTP/1.1").count() >= 2, "{logs:?}");
    assert!(!ready(pods.get("sick").await.ok().as_ref()));
    sim.shutdown().await;
}

#[tokio::test]
async fn initial_delay_and_failure_threshold_are_honoured() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let delayed =
        json!({"tcpSocket": {"port": 8080}, "initialDelaySeconds": 2, "periodSeconds": 1});
    create(
        &pods,
        &probed("delayed", &format!("exec {ECHO} $PORT"), delayed),
    )
    .await;
    // Listens for two seconds, then stops listening but keeps running.
    let flaky = json!({"tcpSocket": {"port": 8080}, "periodSeconds": 1, "failureThreshold": 2});
    let script = format!("{ECHO} $PORT & pid=$!; sleep 2; kill $pid; exec sleep 300");
    create(&pods, &probed("flaky", &script, flaky)).await;

    let took = running_then_ready(&pods, "delayed").await;
    assert!(
        took >= Duration::from_millis(1500),
        "Ready after {took:?}, before its initial delay"
    );
    wait_for(&pods, "flaky", "Ready", ready).await;
    let began = Instant::now();
    let unready = wait_for(&pods, "flaky", "not Ready", |p: Option<&Pod>| {
        phase(p).as_deref() == Some("Running") && !ready(p)
    })
    .await;
    assert!(
        began.elapsed() >= Duration::from_millis(500),
        "two failures take a while"
    );
    let conditions = unready.status.unwrap().conditions.unwrap();
    let ready_condition = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(
        ready_condition.reason.as_deref(),
        Some("ContainersNotReady")
    );
    sim.shutdown().await;
}
