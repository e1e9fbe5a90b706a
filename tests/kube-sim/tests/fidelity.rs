//! Secrets, secret env, digest image ids, TCP readiness, per-kind name rules, scheduling by
//! nodeSelector, invalid image names and throttling, as a real API server and kubelet behave.
mod common;

use common::*;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use kube::api::{DeleteParams, ListParams, LogParams, PostParams};
use kube::Api;
use serde_json::json;
use std::time::Duration;

fn secret(name: &str, data: serde_json::Value) -> Secret {
    serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data})).unwrap()
}

fn env_pod(name: &str, secret: &str, key: &str, optional: bool) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "c", "image": "ok:1",
            "command": ["sh", "-c", "echo \"token=$TOKEN\"; exec sleep 300"],
            "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef":
                {"name": secret, "key": key, "optional": optional}}}]
        }]}
    }))
    .unwrap()
}

#[tokio::test]
async fn secrets_store_string_data_as_data_and_feed_secret_key_refs() {
    let sim = start().await;
    let secrets: Api<Secret> = Api::default_namespaced(client(&sim));
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let made = secrets
        .create(
            &PostParams::default(),
            &secret("s1", json!({"TOKEN": "t0p"})),
        )
        .await
        .unwrap();
    assert!(made.string_data.is_none(), "stringData is write-only");
    assert_eq!(made.data.unwrap()["TOKEN"].0, b"t0p");
    assert_eq!(made.type_.as_deref(), Some("Opaque"));
    let listed = secrets.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    create(&pods, &env_pod("reader", "s1", "TOKEN", false)).await;
    wait_for(&pods, "reader", "Running", is_running()).await;
    let mut log = String::new();
    for _ in 0..100 {
        log = pods.logs("reader", &LogParams::default()).await.unwrap();
        if !log.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(log.trim(), "token=t0p");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_missing_secret_or_key_holds_the_container_with_the_kubelets_message() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let secrets: Api<Secret> = Api::default_namespaced(client(&sim));
    create(&pods, &env_pod("no-secret", "absent", "TOKEN", false)).await;
    let p = wait_for(
        &pods,
        "no-secret",
        "CreateContainerConfigError",
        |p: Option<&Pod>| waiting_reason(p).as_deref() == Some("CreateContainerConfigError"),
    )
    .await;
    let state = &p.status.unwrap().container_statuses.unwrap()[0];
    let waiting = state.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(
        waiting.message.as_deref(),
        Some("secret \"absent\" not found")
    );
    secrets
        .create(&PostParams::default(), &secret("other", json!({"A": "1"})))
        .await
        .unwrap();
    create(&pods, &env_pod("no-key", "other", "TOKEN", false)).await;
    let p = wait_for(
        &pods,
        "no-key",
        "CreateContainerConfigError",
        |p: Option<&Pod>| waiting_reason(p).as_deref() == Some("CreateContainerConfigError"),
    )
    .await;
    let state = &p.status.unwrap().container_statuses.unwrap()[0];
    let message = state
        .state
        .as_ref()
        .unwrap()
        .waiting
        .as_ref()
        .unwrap()
        .message
        .clone();
    assert_eq!(
        message.as_deref(),
        Some("couldn't find key TOKEN in Secret default/other")
    );
    // optional: the container starts without the variable.
    create(&pods, &env_pod("optional", "absent", "TOKEN", true)).await;
    wait_for(&pods, "optional", "Running", is_running()).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn a_secret_owned_by_a_pod_goes_with_it() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let secrets: Api<Secret> = Api::default_namespaced(client(&sim));
    let owner = create(&pods, &pod("owner", "sleeper:1")).await;
    let mut s = secret("owned", json!({"K": "v"}));
    s.metadata.owner_references = Some(vec![serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod", "name": "owner", "uid": owner.metadata.uid.unwrap()
    }))
    .unwrap()]);
    secrets.create(&PostParams::default(), &s).await.unwrap();
    let gone = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    pods.delete("owner", &gone).await.unwrap();
    for _ in 0..100 {
        if secrets.get_opt("owned").await.unwrap().is_none() {
            sim.shutdown().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the owned secret outlived its pod");
}

#[tokio::test]
async fn container_statuses_carry_a_digest_image_id() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("digest", "sleeper:1")).await;
    let p = wait_for(&pods, "digest", "Running", is_running()).await;
    let id = p.status.unwrap().container_statuses.unwrap()[0]
        .image_id
        .clone();
    let (repo, digest) = id.split_once("@sha256:").expect("repo@sha256:hex");
    assert_eq!(repo, "docker.io/library/sleeper");
    assert_eq!(digest.len(), 64);
    assert!(digest.bytes().all(|b| b.is_ascii_hexdigit()));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_tcp_readiness_probe_gates_ready() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    // Listens only after a second: Running at once, Ready only then.
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": "late"},
        "spec": {"containers": [{
            "name": "c", "image": "tcp-echo:1",
            "command": ["sh", "-c", format!("sleep 1; exec {} $(KUBE_SIM_PORT_8080)", env!("CARGO_BIN_EXE_sim-tcp-echo"))],
            "ports": [{"containerPort": 8080}],
            "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}
        }]}
    }))
    .unwrap();
    create(&pods, &p).await;
    let running = wait_for(&pods, "late", "Running", is_running()).await;
    assert!(
        !running.status.unwrap().container_statuses.unwrap()[0].ready,
        "not ready before it listens"
    );
    let ready = wait_for(&pods, "late", "Ready", |p: Option<&Pod>| {
        p.and_then(|p| p.status.as_ref())
            .and_then(|s| s.container_statuses.as_ref())
            .is_some_and(|c| c[0].ready)
    })
    .await;
    let conditions = ready.status.unwrap().conditions.unwrap();
    assert!(conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True"));
    sim.shutdown().await;
}

#[tokio::test]
async fn service_names_are_dns_1035_labels() {
    let sim = start().await;
    let services: Api<Service> = Api::default_namespaced(client(&sim));
    for (name, ok) in [("svc-1", true), ("1svc", false), ("a.b", false)] {
        let svc: Service = serde_json::from_value(json!({"metadata": {"name": name},
            "spec": {"ports": [{"port": 80}]}}))
        .unwrap();
        let made = services.create(&PostParams::default(), &svc).await;
        assert_eq!(made.is_ok(), ok, "{name}: {made:?}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn a_pod_no_node_fits_stays_pending_unschedulable() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let mut p = pod("picky", "sleeper:1");
    p.spec.as_mut().unwrap().node_selector = Some([("gpu".to_owned(), "true".to_owned())].into());
    create(&pods, &p).await;
    let p = wait_for(&pods, "picky", "Unschedulable", |p: Option<&Pod>| {
        p.and_then(|p| p.status.as_ref())
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| {
                c.iter()
                    .any(|c| c.reason.as_deref() == Some("Unschedulable"))
            })
    })
    .await;
    let status = p.status.unwrap();
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    assert!(status.container_statuses.is_none());
    let mut fits = pod("fits", "sleeper:1");
    fits.spec.as_mut().unwrap().node_selector =
        Some([("kubernetes.io/os".to_owned(), "linux".to_owned())].into());
    create(&pods, &fits).await;
    wait_for(&pods, "fits", "Running", is_running()).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn an_uppercase_repository_is_an_invalid_image_name() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("upper", "registry.example:5000/Team/x:1")).await;
    let p = wait_for(&pods, "upper", "InvalidImageName", |p: Option<&Pod>| {
        waiting_reason(p).as_deref() == Some("InvalidImageName")
    })
    .await;
    let c = &p.status.unwrap().container_statuses.unwrap()[0];
    let message = c
        .state
        .as_ref()
        .unwrap()
        .waiting
        .as_ref()
        .unwrap()
        .message
        .clone()
        .unwrap();
    assert!(
        message.contains("repository name (Team/x) must be lowercase"),
        "{message}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn throttled_requests_get_429_with_retry_after() {
    let sim = start().await;
    // kube-rs's own retry layer would wait out the 429 itself: off, to see the answer.
    let mut config = kube::Config::new(sim.url().parse().unwrap());
    config.default_retry = false;
    let pods: Api<Pod> = Api::namespaced(kube::Client::try_from(config).unwrap(), "default");
    sim.faults()
        .throttle(kube_sim::Matcher::new("create", "pods"), 1, 3);
    let err = pods
        .create(&PostParams::default(), &pod("t", "sleeper:1"))
        .await
        .unwrap_err();
    let kube::Error::Api(status) = err else {
        panic!("{err}")
    };
    assert_eq!(
        (status.code, status.reason.as_str()),
        (429, "TooManyRequests")
    );
    assert_eq!(status.details.unwrap().retry_after_seconds, 3);
    create(&pods, &pod("t", "sleeper:1")).await;
    sim.shutdown().await;
}
