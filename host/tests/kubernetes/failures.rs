//! Failures end fast, say what the API said in one line, exit with the right code, and leave
//! nothing behind.

use crate::cluster::*;
use kube_sim::{Config, Matcher};
use std::time::{Duration, Instant};

#[tokio::test]
async fn an_image_that_cannot_be_pulled_fails_within_two_seconds() {
    let sim = sim(example_images()).await;
    let started = Instant::now();
    let (code, line) = discover_err(&sim, &["--image", "ghcr.io/org/no-such:1"]).await;
    let took = started.elapsed();
    assert_eq!(
        code, 2,
        "the operator named an image that does not exist: {line}"
    );
    assert!(
        line.contains("ghcr.io/org/no-such:1") && line.contains("ErrImagePull"),
        "{line}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_server_that_exits_at_once_is_a_failure_naming_its_state() {
    let sim = sim(vec![("done:1", image(&["true"]))]).await;
    let (code, line) = discover_err(&sim, &["--image", "done:1", "--transport", "stdio"]).await;
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("Completed (exit code 0)"), "{line}");
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_crashing_server_fails_with_its_exit_code_and_last_words() {
    let sim = sim(vec![(
        "crash:1",
        shell_image("echo cannot open config >&2; exit 3"),
    )])
    .await;
    let started = Instant::now();
    let (code, line) = discover_err(&sim, &["--image", "crash:1", "--transport", "stdio"]).await;
    assert_eq!(code, 1, "{line}");
    // Whether the API said it first (pod status) or the session saw it (attach closed), the
    // line names the exit code and the pod.
    assert!(
        line.contains("exit code 3") && line.contains("mcp-probe-crash-"),
        "{line}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_session_failure_carries_the_pod_log_and_state() {
    // Answers nothing, prints a reason on stderr (before the attach: only the log has it),
    // exits 4 when stdin closes.
    let sim = sim(vec![(
        "garbage:1",
        shell_image("echo 'fatal: bad token' >&2; cat >/dev/null; exit 4"),
    )])
    .await;
    let (code, line) = discover_err(
        &sim,
        &[
            "--image",
            "garbage:1",
            "--transport",
            "stdio",
            "--request-timeout",
            "1",
            "--timeout",
            "10",
        ],
    )
    .await;
    assert_eq!(code, 1, "{line}");
    assert!(
        line.contains("fatal: bad token"),
        "the log tail is in the error: {line}"
    );
    assert_empty(&sim).await;
}

#[tokio::test]
async fn forbidden_create_names_verb_resource_namespace_and_the_rbac_example() {
    let sim = sim(example_images()).await;
    sim.faults().deny(Matcher::new("create", "pods"));
    let (code, line) = discover_err(&sim, &["--image", "example:1", "-n", "team-a"]).await;
    assert_eq!(code, 2, "{line}");
    for needle in ["create", "pods", "team-a", "examples/rbac.yaml"] {
        assert!(line.contains(needle), "{needle}: {line}");
    }
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_500_on_create_is_retried_and_a_403_is_not() {
    let sim = sim(example_images()).await;
    sim.faults().fail(Matcher::new("create", "pods"), Some(2));
    let report = discover_ok(&sim, &["--image", "example:1", "--transport", "stdio"]).await;
    assert_eq!(tool_names(&report).len(), 5);
    sim.faults().clear();
    sim.faults().fail(Matcher::new("create", "pods"), Some(5));
    let (code, line) = discover_err(&sim, &["--image", "example:1", "--retries", "1"]).await;
    assert_eq!(code, 1, "retries used up: {line}");
    assert_empty(&sim).await;
}

#[tokio::test]
async fn an_attach_dropped_mid_session_fails_and_cleans_up() {
    let sim = sim(example_images()).await;
    sim.faults().drop_attach_after_bytes(Some(300));
    let started = Instant::now();
    let (code, line) = discover_err(
        &sim,
        &[
            "--image",
            "example:1",
            "--transport",
            "stdio",
            "--",
            "--tools",
            "200",
        ],
    )
    .await;
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("closed"), "{line}");
    // kube-rs leaves its stdout pipe open when the socket dies: the probe must not wait on it.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_pod_deleted_during_the_session_is_reported() {
    let server = crate::support::example_server_bin().display().to_string();
    // Slow to answer, so the deletion lands mid-session.
    let script = format!("sleep 1; exec {server}");
    let sim = sim(vec![("slow:1", shell_image(&script))]).await;
    sim.faults()
        .delete_pod_during_attach(Some(Duration::from_millis(200)));
    let (code, line) = discover_err(
        &sim,
        &[
            "--image",
            "slow:1",
            "--transport",
            "stdio",
            "--timeout",
            "20",
        ],
    )
    .await;
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("deleted"), "{line}");
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_timeout_names_its_phase_and_cleans_up() {
    let mut slow = image(&["true"]);
    slow.start_delay_ms = 60_000;
    let sim = sim(vec![("slow-start:1", slow)]).await;
    let started = Instant::now();
    let (code, line) = discover_err(&sim, &["--image", "slow-start:1", "--timeout", "1"]).await;
    assert_eq!(code, 1, "{line}");
    assert!(
        line.contains("timed out after 1s") && line.contains("pulling"),
        "{line}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_empty(&sim).await;
}

#[tokio::test]
async fn no_cluster_configuration_is_bad_input_saying_where_it_looked() {
    let home = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(crate::support::probe_bin());
    command
        .args(["discover", "--image", "x:1"])
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env("HOME", home.path());
    let out = crate::support::run(command).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no cluster configuration") && stderr.contains("KUBECONFIG"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1);
}

#[tokio::test]
async fn dry_run_prints_the_manifests_and_touches_nothing() {
    let sim = sim_with(example_images(), Config::default()).await;
    let out = probe(
        &sim,
        &[
            "discover",
            "--image",
            "Example.Test:5000/A_b:1",
            "--dry-run",
            "--secret-env",
            "TOKEN=s3cr3t",
            "-e",
            "PLAIN=1",
        ],
    )
    .await;
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("s3cr3t"), "{text}");
    for needle in [
        "kind: Secret",
        "kind: Pod",
        "secretKeyRef",
        "readOnlyRootFilesystem: true",
        "runAsNonRoot: true",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert_empty(&sim).await;
}

#[tokio::test]
async fn an_unschedulable_pod_fails_within_two_seconds() {
    let sim = sim(example_images()).await;
    let started = Instant::now();
    let (code, line) = discover_err(
        &sim,
        &["--image", "example:1", "--node-selector", "gpu=true"],
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(code, 1, "{line}");
    assert!(
        line.contains("Unschedulable") && line.contains("0/1 nodes are available"),
        "{line}"
    );
    assert_empty(&sim).await;
}

#[tokio::test]
async fn an_invalid_image_name_fails_within_two_seconds_as_bad_input() {
    let sim = sim(example_images()).await;
    let started = Instant::now();
    let (code, line) =
        discover_err(&sim, &["--image", "registry.example:5000/Team/Server:1"]).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(code, 2, "{line}");
    assert!(
        line.contains("InvalidImageName") && line.contains("must be lowercase"),
        "{line}"
    );
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_429_is_retried_after_the_servers_retry_after() {
    let sim = sim(example_images()).await;
    sim.faults().throttle(Matcher::new("create", "pods"), 1, 1);
    let started = Instant::now();
    let report = discover_ok(&sim, &["--image", "example:1", "--transport", "stdio"]).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited the retryAfterSeconds"
    );
    assert_eq!(tool_names(&report).len(), 5);
    assert_empty(&sim).await;
}

#[tokio::test]
async fn a_v4_only_attach_works() {
    let sim = sim(example_images()).await;
    sim.faults().attach_v4_only(true);
    let report = discover_ok(
        &sim,
        &[
            "--image",
            "example:1",
            "--transport",
            "stdio",
            "--",
            "--tools",
            "40",
        ],
    )
    .await;
    assert_eq!(tool_names(&report).len(), 40);
    assert_empty(&sim).await;
}
