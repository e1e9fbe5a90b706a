//! `state.terminated.message` as the kubelet fills it: with terminationMessagePolicy
//! FallbackToLogsOnError, a failed container's last 80 log lines (at most 2048 bytes); nothing
//! for the default policy or a clean exit; and the Ready condition of a pod that finished
//! (PodCompleted only when it succeeded).
mod common;

use common::*;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;

fn script_pod(name: &str, script: &str, policy: Option<&str>) -> Pod {
    let mut p = pod(name, "ok:1");
    let c = &mut p.spec.as_mut().unwrap().containers[0];
    c.command = Some(vec!["sh".into(), "-c".into(), script.into()]);
    c.termination_message_policy = policy.map(str::to_owned);
    p
}

async fn terminated_message(pods: &Api<Pod>, name: &str) -> Option<String> {
    let p = wait_for(pods, name, "terminated", |p: Option<&Pod>| {
        matches!(phase(p).as_deref(), Some("Succeeded" | "Failed"))
    })
    .await;
    let cs = &p.status.unwrap().container_statuses.unwrap()[0];
    cs.state
        .as_ref()
        .unwrap()
        .terminated
        .as_ref()
        .unwrap()
        .message
        .clone()
}

#[tokio::test]
async fn failed_containers_report_their_last_log_lines() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let fallback = Some("FallbackToLogsOnError");
    let cases = [
        (
            "short",
            "echo starting; echo 'boom: no config' >&2; exit 2",
            fallback,
        ),
        (
            "many",
            "for i in $(seq 1 100); do echo line-$i; done; exit 1",
            fallback,
        ),
        (
            "wide",
            "for i in $(seq 1 30); do printf '%0100d\\n' $i; done; exit 1",
            fallback,
        ),
        ("clean", "echo fine", fallback),
        ("file", "echo boom; exit 2", None),
    ];
    for (name, script, policy) in cases {
        create(&pods, &script_pod(name, script, policy)).await;
    }
    let short = terminated_message(&pods, "short").await.unwrap();
    assert!(
        short.contains("starting\n") && short.contains("boom: no config\n"),
        "{short:?}"
    );
    let many = terminated_message(&pods, "many").await.unwrap();
    assert_eq!(many.lines().count(), 80);
    assert!(
        many.starts_with("line-21\n") && many.ends_with("line-100\n"),
        "{many:?}"
    );
    let wide = terminated_message(&pods, "wide").await.unwrap();
    assert_eq!(wide.len(), 2048);
    assert!(wide.ends_with(&format!("{:0100}\n", 30)));
    assert_eq!(terminated_message(&pods, "clean").await, None);
    assert_eq!(terminated_message(&pods, "file").await, None);
    sim.shutdown().await;
}

#[tokio::test]
async fn finished_pods_say_why_they_are_not_ready() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("done", "ok:1")).await;
    create(&pods, &pod("failed", "fail:1")).await;
    for (name, phase_now, reason, message) in [
        ("done", "Succeeded", "PodCompleted", None),
        (
            "failed",
            "Failed",
            "ContainersNotReady",
            Some("containers with unready status: [main]"),
        ),
    ] {
        let p = wait_for(&pods, name, phase_now, |p: Option<&Pod>| {
            phase(p).as_deref() == Some(phase_now)
        })
        .await;
        let conditions = p.status.unwrap().conditions.unwrap();
        let ready = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(ready.status, "False");
        assert_eq!(
            (ready.reason.as_deref(), ready.message.as_deref()),
            (Some(reason), message),
            "{name}"
        );
    }
    sim.shutdown().await;
}
