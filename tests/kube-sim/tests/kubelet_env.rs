//! The container environment as the kubelet builds it: plain values with `$(VAR)` expansion,
//! the downward API (`fieldRef`), `secretKeyRef`, `envFrom` with prefixes, and the
//! CreateContainerConfigError messages for missing Secrets, keys and ConfigMaps.
mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{LogParams, PostParams};
use kube::Api;
use serde_json::{json, Value};

/// A pod whose container prints its initial environment (as the kernel got it, dotted names
/// included), then sleeps; `$$$$` is `$$` once the kubelet has expanded it.
fn env_pod(name: &str, env: Value, env_from: Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": name, "labels": {"app": name}, "annotations": {"note": "n1"}},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "main", "image": "ok:1",
            "command": ["sh", "-c", "tr \"\\0\" \"\\n\" < /proc/$$$$/environ | sort; echo END; exec sleep 300"],
            "env": env, "envFrom": env_from,
        }]}
    }))
    .unwrap()
}

async fn secret(api: &Api<Secret>, name: &str, data: Value) {
    let s: Secret =
        serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data})).unwrap();
    api.create(&PostParams::default(), &s).await.unwrap();
}

/// The variables the container printed.
async fn printed_env(pods: &Api<Pod>, name: &str) -> Vec<String> {
    wait_for(pods, name, "Running", is_running()).await;
    for _ in 0..200 {
        let logs = pods.logs(name, &LogParams::default()).await.unwrap();
        if logs.contains("END\n") {
            return logs.lines().map(str::to_owned).collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{name} printed no environment");
}

async fn config_error(pods: &Api<Pod>, name: &str) -> String {
    let p = wait_for(
        pods,
        name,
        "CreateContainerConfigError",
        |p: Option<&Pod>| waiting_reason(p).as_deref() == Some("CreateContainerConfigError"),
    )
    .await;
    let cs = &p.status.unwrap().container_statuses.unwrap()[0];
    let waiting = cs.state.as_ref().unwrap().waiting.as_ref().unwrap();
    waiting.message.clone().unwrap_or_default()
}

#[tokio::test]
async fn values_field_refs_and_secrets_reach_the_process() {
    let sim = start().await;
    let c = client(&sim);
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let secrets: Api<Secret> = Api::default_namespaced(c);
    secret(
        &secrets,
        "creds",
        json!({"TOKEN": "t0k", "USER": "u1", "1bad": "x", "dotted.key": "d"}),
    )
    .await;
    let env = json!([
        {"name": "PLAIN", "value": "plain"},
        {"name": "EMPTY", "value": ""},
        {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "TOKEN"}}},
        {"name": "BEARER", "value": "Bearer $(TOKEN) $(MISSING) $$(TOKEN)"},
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "UID", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "NOTE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.annotations['note']"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        // env overrides what envFrom set.
        {"name": "S_USER", "value": "override"},
    ]);
    let from = json!([
        {"secretRef": {"name": "creds"}},
        {"secretRef": {"name": "creds"}, "prefix": "S_"},
    ]);
    let made = pods
        .create(&PostParams::default(), &env_pod("envy", env, from))
        .await
        .unwrap();
    let printed = printed_env(&pods, "envy").await;
    let uid = made.metadata.uid.unwrap();
    for want in [
        "PLAIN=plain".to_owned(),
        "EMPTY=".into(),
        "TOKEN=t0k".into(),
        "BEARER=Bearer t0k $(MISSING) $(TOKEN)".into(),
        "POD=envy".into(),
        "NS=default".into(),
        format!("UID={uid}"),
        "APP=envy".into(),
        "NOTE=n1".into(),
        "NODE=kube-sim".into(),
        "SA=default".into(),
        "IP=127.0.0.1".into(),
        "S_TOKEN=t0k".into(),
        "S_USER=override".into(),
        "S_dotted.key=d".into(),
        "S_1bad=x".into(),
        "USER=u1".into(),
    ] {
        assert!(printed.contains(&want), "{want} missing from {printed:?}");
    }
    // A key that is no valid variable name is skipped, as the kubelet skips it.
    assert!(
        !printed.iter().any(|l| l.starts_with("1bad=")),
        "{printed:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_sources_hold_the_container_with_the_kubelets_messages() {
    let sim = start().await;
    let c = client(&sim);
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let secrets: Api<Secret> = Api::default_namespaced(c);
    let key_ref = |what: &str, name: &str, key: &str, optional: bool| json!([{"name": "V", "valueFrom": {what: {"name": name, "key": key, "optional": optional}}}]);
    secret(&secrets, "have", json!({"A": "1"})).await;
    let cases = [
        (
            "from-missing",
            json!([]),
            json!([{"secretRef": {"name": "gone"}}]),
            "secret \"gone\" not found",
        ),
        (
            "cm-missing",
            key_ref("configMapKeyRef", "cm", "K", false),
            json!([]),
            "configmap \"cm\" not found",
        ),
        (
            "key-missing",
            key_ref("secretKeyRef", "have", "B", false),
            json!([]),
            "couldn't find key B in Secret default/have",
        ),
    ];
    for (name, env, from, _) in &cases {
        pods.create(
            &PostParams::default(),
            &env_pod(name, env.clone(), from.clone()),
        )
        .await
        .unwrap();
    }
    for (name, _, _, message) in &cases {
        assert_eq!(config_error(&pods, name).await, *message, "{name}");
    }
    // Optional sources that are missing leave the variables unset.
    let env = json!([
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "have", "key": "A"}}},
        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "have", "key": "B", "optional": true}}},
        {"name": "C", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "C", "optional": true}}},
        {"name": "D", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "D", "optional": true}}},
    ]);
    let from = json!([
        {"secretRef": {"name": "gone", "optional": true}},
        {"configMapRef": {"name": "cm", "optional": true}},
    ]);
    pods.create(&PostParams::default(), &env_pod("optional", env, from))
        .await
        .unwrap();
    let printed = printed_env(&pods, "optional").await;
    assert!(printed.contains(&"A=1".to_owned()), "{printed:?}");
    for unset in ["B=", "C=", "D="] {
        assert!(!printed.iter().any(|l| l.starts_with(unset)), "{printed:?}");
    }
    // The held container starts once its Secret appears (the kubelet retries).
    secret(&secrets, "gone", json!({"X": "late"})).await;
    let printed = printed_env(&pods, "from-missing").await;
    assert!(printed.contains(&"X=late".to_owned()), "{printed:?}");
    sim.shutdown().await;
}
