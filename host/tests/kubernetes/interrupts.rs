//! Ctrl-C and SIGTERM at any phase delete what was created and exit 130; a SIGKILLed run's
//! leftovers are removed by `mcp-probe gc`.

use crate::cluster::*;
use std::process::Stdio;
use std::time::Duration;

/// Starts `discover`, waits until the simulator holds a pod, then sends `signal`.
async fn interrupted(
    signal: i32,
    image_name: &str,
    settle: Duration,
) -> (Option<i32>, String, kube_sim::SimHandle) {
    let server = crate::support::example_server_bin().display().to_string();
    let mut slow = image(&["true"]);
    slow.start_delay_ms = 60_000;
    let sim = sim(vec![
        ("slow-start:1", slow),
        ("hang:1", shell_image(&format!("sleep 30; exec {server}"))),
    ])
    .await;
    let mut command = probe_command(
        &sim,
        &[
            "discover",
            "--image",
            image_name,
            "--transport",
            "stdio",
            "--secret-env",
            "K=interrupt-secret-4711",
        ],
    );
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if objects(&sim).await.0 > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(objects(&sim).await.0, 1, "the pod exists before the signal");
    tokio::time::sleep(settle).await;
    let pid = child.id().unwrap() as i32;
    unsafe { libc::kill(pid, signal) };
    let out = tokio::time::timeout(Duration::from_secs(10), child.wait_with_output())
        .await
        .expect("exits soon after the signal")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stderr.contains("interrupt-secret-4711") && !stdout.contains("interrupt-secret-4711"),
        "the --secret-env value leaked"
    );
    (out.status.code(), stderr, sim)
}

#[tokio::test]
async fn ctrl_c_while_waiting_for_the_pod_cleans_up_and_exits_130() {
    let (code, stderr, sim) = interrupted(libc::SIGINT, "slow-start:1", Duration::ZERO).await;
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert_empty(&sim).await;
}

#[tokio::test]
async fn sigterm_during_the_session_cleans_up_and_exits_130() {
    let (code, stderr, sim) =
        interrupted(libc::SIGTERM, "hang:1", Duration::from_millis(500)).await;
    assert_eq!(code, Some(130), "{stderr}");
    assert_empty(&sim).await;
}

#[tokio::test]
async fn gc_removes_what_a_killed_run_left() {
    let (code, _, sim) = interrupted(libc::SIGKILL, "hang:1", Duration::from_millis(300)).await;
    assert_eq!(code, None, "killed");
    assert_eq!(
        objects(&sim).await,
        (1, 0, 1),
        "a SIGKILLed run leaves its pod and secret"
    );
    let dry = probe(&sim, &["gc", "--older-than", "0", "--dry-run"]).await;
    assert!(dry.status.success());
    let listed = String::from_utf8_lossy(&dry.stdout);
    assert_eq!(
        listed
            .lines()
            .filter(|l| l.starts_with("would delete"))
            .count(),
        2,
        "{listed}"
    );
    assert_eq!(objects(&sim).await, (1, 0, 1), "dry run removes nothing");
    // Any duration grammar a flag takes: here minutes and seconds.
    let young = probe(&sim, &["gc", "--older-than", "9m60s"]).await;
    assert!(young.status.success());
    assert_eq!(
        objects(&sim).await,
        (1, 0, 1),
        "younger than the bound: kept"
    );
    let gc = probe(&sim, &["gc", "-A", "--older-than", "0"]).await;
    assert!(
        gc.status.success(),
        "{}",
        String::from_utf8_lossy(&gc.stderr)
    );
    assert_empty(&sim).await;
}
