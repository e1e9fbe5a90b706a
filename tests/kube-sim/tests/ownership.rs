//! Services, ownerReferences garbage collection and the deletion propagation policies.
mod common;

use std::time::Duration;

use common::*;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, DeleteParams, PostParams, PropagationPolicy};
use serde_json::json;

fn owned_service(name: &str, owner: &Pod) -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": name, "ownerReferences": [{
            "apiVersion": "v1", "kind": "Pod", "name": owner.metadata.name, "uid": owner.metadata.uid,
        }]},
        "spec": {"selector": {"app": owner.metadata.name}, "ports": [{"port": 80, "targetPort": "http"}]},
    }))
    .unwrap()
}

#[tokio::test]
async fn owned_services_are_garbage_collected_with_their_pod_unless_orphaned() {
    let sim = start().await;
    let c = client(&sim);
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let svcs: Api<Service> = Api::default_namespaced(c.clone());
    let owner = create(&pods, &pod("owner", "tcp-echo:1")).await;
    let svc = svcs
        .create(&PostParams::default(), &owned_service("owned", &owner))
        .await
        .unwrap();
    assert!(svc.spec.unwrap().cluster_ip.unwrap().starts_with("10.96."));
    wait_for(&pods, "owner", "Running", is_running()).await;
    let local = sim
        .resolve_service("default", "owned")
        .expect("service resolves to the pod");
    assert_ne!(
        local, 8080,
        "container port 8080 is mapped to a private local port"
    );

    pods.delete("owner", &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    let gone = async {
        while svcs.get_opt("owned").await.unwrap().is_some() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), gone)
        .await
        .expect("service collected");

    let keeper = create(&pods, &pod("keeper", "sleeper:1")).await;
    svcs.create(&PostParams::default(), &owned_service("kept", &keeper))
        .await
        .unwrap();
    let orphan = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Orphan),
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    pods.delete("keeper", &orphan).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let kept = svcs.get("kept").await.expect("orphaned service stays");
    assert!(kept
        .metadata
        .owner_references
        .unwrap_or_default()
        .is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn foreground_deletion_removes_dependents_first() {
    let sim = start().await;
    let c = client(&sim);
    let pods: Api<Pod> = Api::default_namespaced(c.clone());
    let svcs: Api<Service> = Api::default_namespaced(c.clone());
    let owner = create(&pods, &pod("fg", "sleeper:1")).await;
    svcs.create(&PostParams::default(), &owned_service("fg-svc", &owner))
        .await
        .unwrap();
    let dp = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Foreground),
        ..Default::default()
    };
    pods.delete("fg", &dp).await.unwrap();
    wait_deleted(&pods, "fg", owner.metadata.uid.as_deref().unwrap()).await;
    assert!(svcs.get_opt("fg-svc").await.unwrap().is_none());
    sim.shutdown().await;
}
