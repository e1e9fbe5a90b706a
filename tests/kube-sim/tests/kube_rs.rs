//! kube-rs 5.0 drives the simulator: create, watch (await_condition), attach, port-forward,
//! logs, delete, and the failure transitions its waiting code has to see.
mod common;

use std::time::Duration;

use common::*;
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, DeleteParams, LogParams, WatchEvent, WatchParams};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn attach_echo_round_trip_then_delete() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let created = create(&pods, &pod("echo", "echo:1")).await;
    assert_eq!(phase(Some(&created)).as_deref(), Some("Pending"));
    let running = wait_for(&pods, "echo", "Running", is_running()).await;
    let cs = &running
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    assert!(
        cs.ready && cs.state.as_ref().unwrap().running.is_some(),
        "{cs:?}"
    );

    let mut attached = pods
        .attach(
            "echo",
            &AttachParams::default()
                .stdin(true)
                .stdout(true)
                .stderr(true),
        )
        .await
        .expect("attach");
    let mut stdin = attached.stdin().unwrap();
    let mut stdout = attached.stdout().unwrap();
    let mut stderr = attached.stderr().unwrap();
    let status = attached.take_status().unwrap();
    let err_task = tokio::spawn(async move {
        let mut s = String::new();
        stderr.read_to_string(&mut s).await.map(|_| s)
    });
    stdin.write_all(b"hello over attach\n").await.unwrap();
    stdin.shutdown().await.unwrap();
    let mut out = String::new();
    stdout.read_to_string(&mut out).await.unwrap();
    assert_eq!(out, "hello over attach\n");
    let status = tokio::time::timeout(Duration::from_secs(10), status)
        .await
        .expect("status in time")
        .expect("a status");
    assert_eq!(status.status.as_deref(), Some("Success"));
    attached.join().await.expect("clean end");
    assert_eq!(err_task.await.unwrap().unwrap(), "");

    // stdinOnce: the EOF made cat exit 0, so the pod completes.
    let done = wait_for(&pods, "echo", "Succeeded", |p: Option<&Pod>| {
        phase(p).as_deref() == Some("Succeeded")
    })
    .await;
    let term = done.status.unwrap().container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!(term.exit_code, 0);
    assert_eq!(term.reason.as_deref(), Some("Completed"));
    assert_eq!(
        pods.logs("echo", &LogParams::default()).await.unwrap(),
        "hello over attach\n"
    );

    pods.delete("echo", &DeleteParams::default())
        .await
        .expect("delete");
    wait_deleted(&pods, "echo", &done.metadata.uid.unwrap()).await;
    assert!(pods.get_opt("echo").await.unwrap().is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn port_forward_reaches_the_pod_process() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("tcp", "tcp-echo:1")).await;
    wait_for(&pods, "tcp", "Running", is_running()).await;
    // The process needs a moment to listen after it starts; retry the connection briefly.
    let mut reply = Vec::new();
    for _ in 0..50 {
        let mut pf = pods.portforward("tcp", &[8080]).await.expect("portforward");
        let mut stream = pf.take_stream(8080).unwrap();
        let err = pf.take_error(8080).unwrap();
        stream.write_all(b"ping through the tunnel").await.unwrap();
        let mut buf = vec![0u8; 64];
        let got = tokio::select! {
            n = stream.read(&mut buf) => n.unwrap_or(0),
            e = err => { eprintln!("port-forward error: {e:?}"); 0 }
        };
        drop(stream);
        let _ = pf.join().await;
        if got > 0 {
            reply = buf[..got].to_vec();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(reply, b"ping through the tunnel");
    sim.shutdown().await;
}

#[tokio::test]
async fn port_forward_to_a_closed_port_reports_on_the_error_channel() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("sl", "sleeper:1")).await;
    wait_for(&pods, "sl", "Running", is_running()).await;
    let mut pf = pods.portforward("sl", &[8080]).await.expect("portforward");
    let err = tokio::time::timeout(Duration::from_secs(5), pf.take_error(8080).unwrap())
        .await
        .unwrap();
    assert!(err.unwrap().contains("error forwarding port 8080"));
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_image_goes_err_image_pull_then_back_off() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("nope", "nope:404")).await;
    wait_for(&pods, "nope", "ErrImagePull", |p: Option<&Pod>| {
        waiting_reason(p).as_deref() == Some("ErrImagePull")
    })
    .await;
    let p = wait_for(&pods, "nope", "ImagePullBackOff", |p: Option<&Pod>| {
        waiting_reason(p).as_deref() == Some("ImagePullBackOff")
    })
    .await;
    assert_eq!(phase(Some(&p)).as_deref(), Some("Pending"));
    let err = pods
        .attach("nope", &AttachParams::default())
        .await
        .err()
        .expect("attach refused");
    assert!(err.to_string().contains("waiting to start"), "{err}");
    sim.shutdown().await;
}

#[tokio::test]
async fn root_image_with_run_as_non_root_is_a_config_error() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let mut p = pod("rooty", "root:1");
    p.spec.as_mut().unwrap().security_context =
        Some(k8s_openapi::api::core::v1::PodSecurityContext {
            run_as_non_root: Some(true),
            ..Default::default()
        });
    create(&pods, &p).await;
    let got = wait_for(
        &pods,
        "rooty",
        "CreateContainerConfigError",
        |p: Option<&Pod>| waiting_reason(p).as_deref() == Some("CreateContainerConfigError"),
    )
    .await;
    assert_eq!(phase(Some(&got)).as_deref(), Some("Pending"));
    // A numeric non-root user makes the same image start.
    let mut ok = pod("rooty-ok", "root:1");
    ok.spec.as_mut().unwrap().security_context =
        Some(k8s_openapi::api::core::v1::PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(65532),
            ..Default::default()
        });
    create(&pods, &ok).await;
    wait_for(&pods, "rooty-ok", "Running", is_running()).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn failing_process_ends_failed_with_its_exit_code_and_logs() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("fails", "fail:1")).await;
    let p = wait_for(&pods, "fails", "Failed", |p: Option<&Pod>| {
        phase(p).as_deref() == Some("Failed")
    })
    .await;
    let term = p.status.unwrap().container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .terminated
        .unwrap();
    assert_eq!((term.exit_code, term.reason.as_deref()), (3, Some("Error")));
    let logs = pods.logs("fails", &LogParams::default()).await.unwrap();
    assert!(logs.contains("out\n") && logs.contains("err\n"), "{logs:?}");
    let tail = pods
        .logs(
            "fails",
            &LogParams {
                tail_lines: Some(1),
                timestamps: true,
                ..LogParams::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(tail.lines().count(), 1, "{tail:?}");
    let (stamp, line) = tail.trim_end().split_once(' ').unwrap();
    assert!(stamp.parse::<jiff::Timestamp>().is_ok(), "{stamp}");
    assert!(["out", "err"].contains(&line));
    sim.shutdown().await;
}

#[tokio::test]
async fn container_creating_precedes_running_for_a_slow_image() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let mut watch = pods
        .watch(&WatchParams::default().fields("metadata.name=slow"), "0")
        .await
        .unwrap()
        .boxed();
    create(&pods, &pod("slow", "slow:1")).await;
    let mut reasons = Vec::new();
    while let Some(ev) = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .unwrap()
    {
        if let WatchEvent::Added(p) | WatchEvent::Modified(p) = ev.unwrap() {
            let label = waiting_reason(Some(&p))
                .or_else(|| phase(Some(&p)))
                .unwrap_or_default();
            if reasons.last() != Some(&label) {
                reasons.push(label.clone());
            }
            if label == "Running" {
                break;
            }
        }
    }
    assert_eq!(reasons, ["Pending", "ContainerCreating", "Running"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn pod_env_and_args_reach_the_process() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let mut p = pod("envy", "env:1");
    p.spec.as_mut().unwrap().containers[0].env = Some(vec![k8s_openapi::api::core::v1::EnvVar {
        name: "GREETING".into(),
        value: Some("hi".into()),
        ..Default::default()
    }]);
    create(&pods, &p).await;
    wait_for(&pods, "envy", "Running", is_running()).await;
    let mut logs = String::new();
    for _ in 0..100 {
        logs = pods.logs("envy", &LogParams::default()).await.unwrap();
        if !logs.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(logs, "hi envy\n");
    // Container command/args override the image's entrypoint.
    let mut q = pod("override", "env:1");
    q.spec.as_mut().unwrap().containers[0].command = Some(vec!["sh".into(), "-c".into()]);
    q.spec.as_mut().unwrap().containers[0].args = Some(vec!["echo overridden".into()]);
    create(&pods, &q).await;
    wait_for(&pods, "override", "Succeeded", |p: Option<&Pod>| {
        phase(p).as_deref() == Some("Succeeded")
    })
    .await;
    assert_eq!(
        pods.logs("override", &LogParams::default()).await.unwrap(),
        "overridden\n"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn graceful_delete_sends_sigterm_then_removes() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("trap", "trap:1")).await;
    let running = wait_for(&pods, "trap", "Running", is_running()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let answer = pods.delete("trap", &DeleteParams::default()).await.unwrap();
    let marked = answer.left().expect("graceful delete answers the pod");
    assert!(marked.metadata.deletion_timestamp.is_some());
    let uid = running.metadata.uid.unwrap();
    wait_deleted(&pods, "trap", &uid).await;
    assert_eq!(sim.live_processes(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn active_deadline_fails_the_pod_without_deleting_it() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let mut p = pod("deadline", "sleeper:1");
    p.spec.as_mut().unwrap().active_deadline_seconds = Some(1);
    create(&pods, &p).await;
    wait_for(&pods, "deadline", "Running", is_running()).await;
    let failed = wait_for(&pods, "deadline", "Failed", |p: Option<&Pod>| {
        phase(p).as_deref() == Some("Failed")
    })
    .await;
    assert_eq!(
        failed.status.unwrap().reason.as_deref(),
        Some("DeadlineExceeded")
    );
    assert_eq!(sim.live_processes(), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn restart_policy_always_goes_crash_loop_back_off() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    let mut p = pod("crashy", "fail:1");
    p.spec.as_mut().unwrap().restart_policy = Some("Always".into());
    create(&pods, &p).await;
    let got = wait_for(&pods, "crashy", "CrashLoopBackOff", |p: Option<&Pod>| {
        waiting_reason(p).as_deref() == Some("CrashLoopBackOff")
    })
    .await;
    let cs = got
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0]
        .clone();
    assert_eq!(cs.restart_count, 1);
    assert_eq!(cs.last_state.unwrap().terminated.unwrap().exit_code, 3);
    assert_eq!(phase(Some(&got)).as_deref(), Some("Running"));
    sim.shutdown().await;
}

#[tokio::test]
async fn follow_logs_stream_until_the_container_ends() {
    let sim = start().await;
    let pods: Api<Pod> = Api::default_namespaced(client(&sim));
    create(&pods, &pod("follow", "echo:1")).await;
    wait_for(&pods, "follow", "Running", is_running()).await;
    let lp = LogParams {
        follow: true,
        ..LogParams::default()
    };
    let mut lines = pods.log_stream("follow", &lp).await.unwrap();
    let mut at = pods
        .attach(
            "follow",
            &AttachParams::default()
                .stdin(true)
                .stdout(true)
                .stderr(false),
        )
        .await
        .unwrap();
    let mut stdin = at.stdin().unwrap();
    let mut stdout = at.stdout().unwrap();
    stdin.write_all(b"one\ntwo\n").await.unwrap();
    stdin.shutdown().await.unwrap();
    let mut sink = Vec::new();
    stdout.read_to_end(&mut sink).await.unwrap();
    let mut followed = Vec::new();
    tokio::time::timeout(
        Duration::from_secs(10),
        futures_util::AsyncReadExt::read_to_end(&mut lines, &mut followed),
    )
    .await
    .expect("follow ends with the container")
    .unwrap();
    assert_eq!(followed, b"one\ntwo\n");
    sim.shutdown().await;
}
