//! Secrets watched, denied by rules and counted, next to the other kinds: what a client that
//! cleans up after itself relies on.
mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use kube::api::WatchParams;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent};
use kube_sim::{Config, Matcher, ObjectCounts, Rules};
use serde_json::json;

fn api_err(e: kube::Error) -> kube::core::Status {
    match e {
        kube::Error::Api(s) => *s,
        other => panic!("expected an API error, got {other}"),
    }
}

fn secret(name: &str, body: serde_json::Value) -> Secret {
    let mut v = body;
    v["metadata"]["name"] = json!(name);
    serde_json::from_value(v).unwrap()
}

fn data(s: &Secret) -> BTreeMap<String, String> {
    s.data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
        .collect()
}

#[tokio::test]
async fn watch_sees_secrets_come_change_and_go() {
    let sim = start().await;
    let secrets: Api<Secret> = Api::default_namespaced(client(&sim));
    let mut events = secrets
        .watch(&WatchParams::default().labels("w=1"), "0")
        .await
        .unwrap()
        .boxed();
    let s = secret(
        "w",
        json!({"metadata": {"labels": {"w": "1"}}, "stringData": {"A": "1"}}),
    );
    secrets.create(&PostParams::default(), &s).await.unwrap();
    secrets
        .patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"A": "2"}})),
        )
        .await
        .unwrap();
    secrets.delete("w", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let ev = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("an event in time")
            .expect("the stream goes on")
            .unwrap();
        seen.push(match ev {
            WatchEvent::Added(s) => format!("ADDED {}", data(&s)["A"]),
            WatchEvent::Modified(s) => format!("MODIFIED {}", data(&s)["A"]),
            WatchEvent::Deleted(s) => format!("DELETED {}", data(&s)["A"]),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(seen, ["ADDED 1", "MODIFIED 2", "DELETED 2"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn deny_rules_apply_to_secrets() {
    let rules = Rules {
        deny: vec![Matcher::new("create", "secrets")],
        ..Rules::default()
    };
    let sim = start_with(Config {
        images: images(),
        rules,
        ..Config::default()
    })
    .await;
    let secrets: Api<Secret> = Api::default_namespaced(client(&sim));
    let e = api_err(
        secrets
            .create(&PostParams::default(), &secret("x", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((e.code, e.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        e.message,
        "secrets is forbidden: User \"system:serviceaccount:kube-sim:tester\" cannot create \
         resource \"secrets\" in API group \"\" in the namespace \"default\""
    );
    assert!(
        secrets.list(&ListParams::default()).await.is_ok(),
        "only create is denied"
    );
    sim.faults().deny(Matcher::new("get", "secrets"));
    let e = api_err(secrets.get("x").await.unwrap_err());
    assert_eq!(e.code, 403);
    sim.shutdown().await;
}

#[tokio::test]
async fn object_counts_cover_every_namespace_and_kind() {
    let sim = start().await;
    let c = client(&sim);
    assert_eq!(sim.object_counts(), ObjectCounts::default());
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let other_pods: Api<Pod> = Api::namespaced(c.clone(), "other");
    let svcs: Api<Service> = Api::namespaced(c.clone(), "other");
    let secrets: Api<Secret> = Api::namespaced(c.clone(), "third");
    create(&pods, &pod("a", "sleeper:1")).await;
    create(&other_pods, &pod("b", "sleeper:1")).await;
    let svc: Service = serde_json::from_value(
        json!({"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}}),
    )
    .unwrap();
    svcs.create(&PostParams::default(), &svc).await.unwrap();
    secrets
        .create(&PostParams::default(), &secret("s", json!({})))
        .await
        .unwrap();
    let counts = sim.object_counts();
    assert_eq!(
        counts,
        ObjectCounts {
            pods: 2,
            services: 1,
            secrets: 1,
            jobs: 0,
        }
    );
    assert_eq!(counts.total(), 4);
    let now = DeleteParams::default().grace_period(0);
    pods.delete("a", &now).await.unwrap();
    other_pods.delete("b", &now).await.unwrap();
    svcs.delete("svc", &now).await.unwrap();
    secrets.delete("s", &now).await.unwrap();
    assert_eq!(sim.object_counts().total(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn secrets_are_discovered_and_printed_as_tables_without_values() {
    let sim = start().await;
    let c = client(&sim);
    let core = c.list_core_api_resources("v1").await.unwrap();
    let found = core
        .resources
        .iter()
        .find(|r| r.name == "secrets")
        .expect("secrets in /api/v1");
    assert_eq!(
        (
            found.kind.as_str(),
            found.singular_name.as_str(),
            found.namespaced
        ),
        ("Secret", "secret", true)
    );
    for verb in [
        "create", "delete", "get", "list", "patch", "update", "watch",
    ] {
        assert!(found.verbs.iter().any(|v| v == verb), "{verb}");
    }
    let secrets: Api<Secret> = Api::default_namespaced(c.clone());
    let s = secret(
        "printed",
        json!({"stringData": {"A": "hush-1", "B": "hush-2"}}),
    );
    secrets.create(&PostParams::default(), &s).await.unwrap();
    let req = hyper::Request::get("/api/v1/namespaces/default/secrets")
        .header("Accept", "application/json;as=Table;v=1;g=meta.k8s.io")
        .body(Vec::new())
        .unwrap();
    let table: serde_json::Value = c.request(req).await.unwrap();
    let columns: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["Name", "Type", "Data", "Age"]);
    let cells = &table["rows"][0]["cells"];
    assert_eq!(
        (&cells[0], &cells[1], &cells[2]),
        (&json!("printed"), &json!("Opaque"), &json!(2))
    );
    let text = table.to_string();
    // Neither the values nor their base64 appear in a table.
    for hidden in ["hush-1", "aHVzaC0x", "hush-2", "aHVzaC0y"] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }
    sim.shutdown().await;
}
