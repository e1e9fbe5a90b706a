//! What the API server and kubelet add to a pod a client creates: spec defaults and admission
//! (service account token, tolerations, priority), the QoS class, and the waiting messages of
//! pulls that fail and containers that crash.
mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use kube_sim::Config;
use serde_json::{json, Value};

async fn created(api: &Api<Pod>, body: Value) -> Value {
    let p: Pod = serde_json::from_value(body).unwrap();
    let made = api.create(&PostParams::default(), &p).await.unwrap();
    serde_json::to_value(made).unwrap()
}

#[tokio::test]
async fn a_new_pod_gets_the_servers_defaults() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let p = created(
        &pods,
        json!({"metadata": {"name": "d"}, "spec": {"containers": [
            {"name": "a", "image": "sleeper", "ports": [{"containerPort": 80}],
             "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
             "readinessProbe": {"httpGet": {"port": 80}}},
            {"name": "b", "image": "sleeper:1"},
        ]}}),
    )
    .await;
    let spec = &p["spec"];
    for (field, want) in [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("schedulerName", json!("default-scheduler")),
        ("serviceAccountName", json!("default")),
        ("serviceAccount", json!("default")),
        ("securityContext", json!({})),
        ("enableServiceLinks", json!(true)),
        ("priority", json!(0)),
        ("preemptionPolicy", json!("PreemptLowerPriority")),
    ] {
        assert_eq!(spec[field], want, "{field}");
    }
    let tolerations = spec["tolerations"].as_array().unwrap();
    assert_eq!(tolerations.len(), 2);
    assert_eq!(
        tolerations[0],
        json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists",
               "effect": "NoExecute", "tolerationSeconds": 300})
    );
    let volume = spec["volumes"][0]["name"].as_str().unwrap();
    assert!(
        volume.starts_with("kube-api-access-") && volume.len() == 21,
        "{volume}"
    );
    let (a, b) = (&spec["containers"][0], &spec["containers"][1]);
    assert_eq!(a["imagePullPolicy"], "Always", "no tag is :latest");
    assert_eq!(b["imagePullPolicy"], "IfNotPresent");
    assert_eq!(a["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(a["terminationMessagePolicy"], "File");
    assert_eq!(a["resources"], json!({}));
    assert_eq!(a["ports"][0]["protocol"], "TCP");
    assert_eq!(a["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    assert_eq!(
        a["readinessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
               "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(
        b["volumeMounts"],
        json!([{"name": volume, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "readOnly": true}])
    );
    assert_eq!(
        p["status"],
        json!({"phase": "Pending", "qosClass": "BestEffort"})
    );

    // Without automounting there is no token volume.
    let p = created(
        &pods,
        json!({"metadata": {"name": "no-token"}, "spec": {"automountServiceAccountToken": false,
            "containers": [{"name": "a", "image": "sleeper:1"}]}}),
    )
    .await;
    assert!(p["spec"]["volumes"].is_null(), "{}", p["spec"]);
    assert!(p["spec"]["containers"][0]["volumeMounts"].is_null());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_qos_class_follows_requests_and_limits() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let cases = [
        (
            "guaranteed",
            json!({"limits": {"cpu": "500m", "memory": "64Mi"}}),
            "Guaranteed",
        ),
        (
            "burstable",
            json!({"requests": {"memory": "64Mi"}}),
            "Burstable",
        ),
        ("besteffort", json!({}), "BestEffort"),
    ];
    for (name, resources, class) in &cases {
        let p = created(
            &pods,
            json!({"metadata": {"name": name}, "spec": {"containers": [
                {"name": "a", "image": "sleeper:1", "resources": resources}]}}),
        )
        .await;
        assert_eq!(p["status"]["qosClass"], *class, "{name}");
    }
    // Requests default to the limits.
    let g = pods.get("guaranteed").await.unwrap();
    let requests = g.spec.unwrap().containers[0]
        .resources
        .clone()
        .unwrap()
        .requests
        .unwrap();
    assert_eq!(requests["cpu"].0, "500m");
    // The kubelet keeps the class in every status it writes.
    for (name, _, class) in &cases {
        let p = wait_for(&pods, name, "Running", is_running()).await;
        assert_eq!(p.status.unwrap().qos_class.as_deref(), Some(*class));
    }
    sim.shutdown().await;
}

fn waiting(p: &Pod) -> (String, String) {
    let cs = &p
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    let w = cs.state.as_ref().unwrap().waiting.clone().unwrap();
    (w.reason.unwrap_or_default(), w.message.unwrap_or_default())
}

#[tokio::test]
async fn pull_failures_and_crashes_read_like_the_kubelets() {
    let sim = start_with(Config {
        images: images(),
        pull_backoff: Duration::from_millis(100),
        pull_retry: Duration::from_millis(300),
        ..Config::default()
    })
    .await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("nope", "nope:404")).await;
    let p = wait_for(&pods, "nope", "ErrImagePull", |p: Option<&Pod>| {
        waiting_reason(p).as_deref() == Some("ErrImagePull")
    })
    .await;
    assert_eq!(
        waiting(&p).1,
        "rpc error: code = NotFound desc = failed to pull and unpack image \
         \"docker.io/library/nope:404\": failed to resolve reference \
         \"docker.io/library/nope:404\": docker.io/library/nope:404: not found"
    );
    let p = wait_for(&pods, "nope", "ImagePullBackOff", |p: Option<&Pod>| {
        waiting_reason(p).as_deref() == Some("ImagePullBackOff")
    })
    .await;
    assert_eq!(waiting(&p).1, "Back-off pulling image \"nope:404\"");
    // The kubelet tries again after its back-off: ErrImagePull once more.
    wait_for(&pods, "nope", "a second ErrImagePull", |p: Option<&Pod>| {
        waiting_reason(p).as_deref() == Some("ErrImagePull")
    })
    .await;

    let mut crashy = pod("crashy", "fail:1");
    crashy.spec.as_mut().unwrap().restart_policy = Some("OnFailure".into());
    let made = create(&pods, &crashy).await;
    let p = wait_for(&pods, "crashy", "CrashLoopBackOff", |p: Option<&Pod>| {
        waiting_reason(p).as_deref() == Some("CrashLoopBackOff")
    })
    .await;
    assert_eq!(
        waiting(&p).1,
        format!(
            "back-off 10s restarting failed container=main pod=crashy_default({})",
            made.metadata.uid.unwrap()
        )
    );
    // While it waits, the status still names the container that ran and its image.
    let cs = &p.status.unwrap().container_statuses.unwrap()[0];
    assert!(cs.container_id.as_deref().is_some_and(|id| !id.is_empty()));
    assert!(cs.image_id.starts_with("docker.io/library/fail@sha256:"));
    sim.shutdown().await;
}
