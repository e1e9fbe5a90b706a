//! A cleanup that fails never decides a probe: a delete that answers 500 or hangs, and an API
//! server that dies mid-session, leave the session's result (exit code, report, real cause)
//! standing, a warning naming what is left and the `gc` command, and a run bounded by the
//! deadline plus the 2 s cleanup grace; `gc` then removes what was left.

use crate::cluster::*;
use kube_sim::{Matcher, SimHandle};
use serde_json::Value;
use std::process::Output;
use std::time::{Duration, Instant};

/// The run's wall time past `--timeout` that a hanging delete may add: the 2 s grace, and
/// the process' own start and exit.
const GRACE_BOUND: Duration = Duration::from_millis(2_600);

async fn timed(sim: &SimHandle, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = probe(sim, args).await;
    (out, started.elapsed())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The cleanup warning lines on stderr.
fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("cleanup left"))
        .collect()
}

/// The `mcp-probe gc …` command a warning names, as arguments.
fn gc_command(warning: &str) -> Vec<String> {
    let start = warning
        .find("`mcp-probe gc ")
        .expect("the warning names gc")
        + 1;
    let end = start + warning[start..].find('`').unwrap();
    let words: Vec<String> = warning[start..end]
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(words[..2], ["mcp-probe", "gc"], "{warning}");
    assert!(words.iter().any(|w| w == "--run-id"), "{warning}");
    words[1..].to_vec()
}

/// Runs the gc command a warning names (faults cleared first) and checks nothing is left.
async fn gc_removes_what_was_left(sim: &SimHandle, warning: &str) {
    sim.faults().clear();
    let before = objects(sim).await;
    let args = gc_command(warning);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = probe(sim, &args).await;
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let deleted = listed.lines().filter(|l| l.starts_with("deleted ")).count();
    assert_eq!(deleted, before.0 + before.1 + before.2, "{listed}");
    assert_empty(sim).await;
}

fn report_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("the report is on stdout")
}

fn cleanup_warnings(report: &Value) -> Vec<String> {
    report["cleanup_warnings"]
        .as_array()
        .map(|a| a.iter().map(|w| w.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

/// A successful stdio probe whose cleanup meets the faults `arm` sets: exit 0 with the report
/// (5 tools), one warning on stderr and in the report naming every `left` object kind.
async fn succeeds_despite(
    arm: impl Fn(&SimHandle),
    extra: &[&str],
    left: &[&str],
    expect_objects: (usize, usize, usize),
) -> (Duration, String, SimHandle) {
    let sim = sim(example_images()).await;
    arm(&sim);
    let mut args = vec![
        "discover",
        "-o",
        "json",
        "--image",
        "example:1",
        "--transport",
        "stdio",
        "--timeout",
        "3",
    ];
    args.extend_from_slice(extra);
    let (out, took) = timed(&sim, &args).await;
    let stderr = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the session succeeded: {stderr}"
    );
    let report = report_of(&out);
    assert_eq!(tool_names(&report).len(), 5, "the tools are kept");
    let lines = warnings(&stderr);
    assert_eq!(lines.len(), 1, "one warning: {stderr}");
    assert!(
        !stderr.contains("mcp-probe: error"),
        "no error line: {stderr}"
    );
    let in_report = cleanup_warnings(&report);
    assert_eq!(in_report.len(), 1, "{report}");
    assert!(lines[0].contains(&in_report[0]), "{stderr}");
    let pod = report["pod_name"].as_str().unwrap();
    for kind in left {
        let named = format!("{kind} default/{pod} (");
        assert!(in_report[0].contains(&named), "{named}: {}", in_report[0]);
    }
    assert_eq!(
        objects(&sim).await,
        expect_objects,
        "what the warning names"
    );
    (took, in_report[0].clone(), sim)
}

#[tokio::test]
async fn a_pod_delete_answering_500_leaves_a_warning_not_a_failure() {
    let arm = |sim: &SimHandle| sim.faults().fail(Matcher::new("delete", "pods"), None);
    let (took, warning, sim) = succeeds_despite(arm, &[], &["pod"], (1, 0, 0)).await;
    assert!(
        warning.contains("500") && warning.contains("injected fault"),
        "the API's answer is named: {warning}"
    );
    assert!(
        took < Duration::from_secs(3),
        "500s are not waited on: {took:?}"
    );
    gc_removes_what_was_left(&sim, &warning).await;
}

#[tokio::test]
async fn every_delete_failing_names_the_pod_and_its_secret() {
    let arm = |sim: &SimHandle| {
        sim.faults().fail(
            Matcher {
                verb: Some("delete".into()),
                ..Matcher::default()
            },
            None,
        )
    };
    let secret = ["--secret-env", "API_KEY=cleanup-secret-0815"];
    let (_, warning, sim) = succeeds_despite(arm, &secret, &["pod", "secret"], (1, 0, 1)).await;
    assert!(warning.ends_with("removes them"), "{warning}");
    assert!(!warning.contains("cleanup-secret-0815"));
    gc_removes_what_was_left(&sim, &warning).await;
}

#[tokio::test]
async fn a_secret_delete_failing_alone_names_only_the_secret() {
    let arm = |sim: &SimHandle| {
        sim.faults()
            .fail(Matcher::new("delete", "secrets"), Some(10))
    };
    let secret = ["--secret-env", "API_KEY=cleanup-secret-0816"];
    // The Secret is owned by the pod: the garbage collector removes it with the pod, so
    // nothing is left in the end, and gc finds nothing to do.
    let (_, warning, sim) = succeeds_despite(arm, &secret, &["secret"], (0, 0, 0)).await;
    assert!(
        !warning.contains("left pod"),
        "the pod was deleted: {warning}"
    );
    gc_removes_what_was_left(&sim, &warning).await;
}

#[tokio::test]
async fn a_pod_delete_that_hangs_is_given_up_at_the_deadline_plus_the_grace() {
    let arm = |sim: &SimHandle| {
        sim.faults()
            .delay(Matcher::new("delete", "pods"), Duration::from_secs(30))
    };
    let (took, warning, sim) = succeeds_despite(arm, &[], &["pod"], (1, 0, 0)).await;
    assert!(
        warning.contains("no answer within --timeout + 2s"),
        "{warning}"
    );
    assert!(
        took < Duration::from_secs(3) + GRACE_BOUND,
        "--timeout 3 took {took:?}"
    );
    gc_removes_what_was_left(&sim, &warning).await;
}

/// One hanging delete does not keep the others from being sent.
#[tokio::test]
async fn a_hanging_pod_delete_does_not_keep_the_secret() {
    let arm = |sim: &SimHandle| {
        sim.faults()
            .delay(Matcher::new("delete", "pods"), Duration::from_secs(30))
    };
    let secret = ["--secret-env", "API_KEY=cleanup-secret-0817"];
    let (_, warning, sim) = succeeds_despite(arm, &secret, &["pod"], (1, 0, 0)).await;
    assert!(!warning.contains("secret default/"), "{warning}");
    gc_removes_what_was_left(&sim, &warning).await;
}

/// The API dies after the tools came in (right after the pod's log was read): the report
/// stands, the cleanup is a warning.
#[tokio::test]
async fn the_api_dying_after_the_session_keeps_the_report() {
    let sim = sim(example_images()).await;
    sim.faults()
        .api_down_after(Matcher::new("get", "pods/log"), Duration::ZERO);
    // The delete is held a moment, so that the outage surely lands before it is answered.
    sim.faults()
        .delay(Matcher::new("delete", "pods"), Duration::from_millis(300));
    let args = [
        "discover",
        "-o",
        "json",
        "--image",
        "example:1",
        "--transport",
        "stdio",
    ];
    let (out, took) = timed(&sim, &args).await;
    let stderr = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(tool_names(&report_of(&out)).len(), 5);
    let lines = warnings(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("cleanup left pod default/"), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(sim.faults().is_api_down());
    gc_removes_what_was_left(&sim, lines[0]).await;
}

/// The API dies mid-session: the error line is the session's, with why (the API stopped
/// answering), never `cleanup failed`; the warning names the pod; exit 1 within bounds.
#[tokio::test]
async fn the_api_dying_mid_session_is_the_error_and_the_cleanup_a_warning() {
    let server = crate::support::example_server_bin().display().to_string();
    for (transport, after) in [("stdio", "pods/attach"), ("http", "pods/portforward")] {
        // Slow to answer, so the outage lands mid-session.
        let script = match transport {
            "stdio" => format!("sleep 1; exec {server}"),
            _ => format!("exec {server} --http 127.0.0.1:$KUBE_SIM_PORT_8000"),
        };
        let sim = sim(vec![("slow:1", shell_image(&script))]).await;
        sim.faults()
            .api_down_after(Matcher::new("get", after), Duration::from_millis(300));
        if transport == "http" {
            // The HTTP server answers at once: slow its first reply down through the forward.
            sim.faults().delay(
                Matcher::new("get", "pods/portforward"),
                Duration::from_millis(600),
            );
        }
        // One era: the auto probe would take the cut for a server that exits on the probe,
        // and start it again (then the create is what fails).
        let args = [
            "discover",
            "-o",
            "json",
            "--image",
            "slow:1",
            "--transport",
            transport,
            "--timeout",
            "10",
            "--protocol-era",
            "modern",
        ];
        let (out, took) = timed(&sim, &args).await;
        let stderr = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{transport}: {stderr}");
        assert!(out.stdout.is_empty(), "no report");
        let last = stderr.trim_end().lines().last().unwrap_or_default();
        assert!(last.starts_with("mcp-probe: error: "), "{stderr}");
        assert!(
            !last.contains("cleanup"),
            "the cleanup is not the error: {last}"
        );
        // Refused, or a pooled connection found closed: either way the API is named.
        assert!(
            last.contains("the API server stopped answering (reading pod mcp-probe-slow-"),
            "{transport}: the real cause: {last}"
        );
        let lines = warnings(&stderr);
        assert_eq!(lines.len(), 1, "{stderr}");
        assert!(
            lines[0].contains("cleanup left pod default/mcp-probe-slow-"),
            "{stderr}"
        );
        assert_eq!(
            stderr.trim_end().lines().count(),
            2,
            "warning + error: {stderr}"
        );
        assert!(took < Duration::from_secs(6), "{transport} took {took:?}");
        gc_removes_what_was_left(&sim, lines[0]).await;
    }
}

/// A failed start whose deletes fail too: the start's error, plus the warning. (A server that
/// exits at once may still take the attach first: its end then looks like an exit on the era
/// probe, and it is started once more in the legacy era, in a second pod of the same run; each
/// pod left is warned of, and the run's one gc command removes both.)
#[tokio::test]
async fn a_failed_start_whose_cleanup_fails_keeps_its_error() {
    let sim = sim(vec![(
        "crash:1",
        shell_image("echo cannot open config >&2; exit 3"),
    )])
    .await;
    sim.faults().fail(Matcher::new("delete", "pods"), None);
    let args = [
        "discover",
        "-o",
        "json",
        "--image",
        "crash:1",
        "--transport",
        "stdio",
    ];
    let (out, _) = timed(&sim, &args).await;
    let stderr = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let last = stderr.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.contains("exit code 3") && !last.contains("cleanup"),
        "{last}"
    );
    let lines = warnings(&stderr);
    assert!(matches!(lines.len(), 1 | 2), "{stderr}");
    assert_eq!(
        objects(&sim).await.0,
        lines.len(),
        "a pod per warning: {stderr}"
    );
    gc_removes_what_was_left(&sim, lines[0]).await;
}

/// A server that traps SIGTERM and never answers: `--timeout 2` ends the run by 2.4 s after
/// the discovery's start, and no pod process is left.
#[tokio::test]
async fn an_image_that_ignores_sigterm_ends_by_the_deadline() {
    let sim = sim(vec![(
        "stubborn:1",
        shell_image("trap '' TERM; exec sleep 300"),
    )])
    .await;
    let args = [
        "discover",
        "-v",
        "-o",
        "json",
        "--image",
        "stubborn:1",
        "--transport",
        "stdio",
        "--timeout",
        "2",
    ];
    let out = probe(&sim, &args).await;
    let exited = std::time::SystemTime::now();
    let stderr = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        stderr.lines().last().unwrap()
    );
    let took = crate::support::since_discovery_start(&stderr, exited);
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_millis(2_400),
        "--timeout 2 took {took:?}"
    );
    assert_empty(&sim).await;
}

/// A scan where one target's cleanup fails (its namespace's deletes answer 500): both
/// targets keep their tools and outcome `ok`, the faulty one a cleanup warning.
#[tokio::test]
async fn a_scan_target_whose_cleanup_fails_keeps_its_tools() {
    let sim = sim(example_images()).await;
    sim.faults().fail(
        Matcher {
            verb: Some("delete".into()),
            namespace: Some("faulty".into()),
            ..Matcher::default()
        },
        None,
    );
    let targets = serde_json::json!({"targets": [
        {"name": "good", "image": "example:1", "transport": "stdio"},
        {"name": "bad", "image": "example:1", "transport": "stdio", "namespace": "faulty"},
    ]});
    let file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::fs::write(file.path(), targets.to_string()).unwrap();
    let path = file.path().display().to_string();
    let (out, _) = timed(&sim, &["scan", &path, "--no-cache", "--timeout", "10"]).await;
    let stderr = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let results: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(results.len(), 2);
    for result in &results {
        let name = result["name"].as_str().unwrap();
        assert_eq!(result["outcome"], "ok", "{result}");
        assert_eq!(tool_names(&result["report"]).len(), 5, "{name}");
        let left = cleanup_warnings(&result["report"]);
        match name {
            "bad" => assert!(
                left.len() == 1 && left[0].contains("cleanup left pod faulty/"),
                "{left:?}"
            ),
            _ => assert!(left.is_empty(), "{left:?}"),
        }
    }
    let lines = warnings(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("gc -n faulty --run-id"), "{}", lines[0]);
    assert_eq!(objects(&sim).await, (1, 0, 0));
    gc_removes_what_was_left(&sim, lines[0]).await;
}

/// The Service of an HTTP probe reached through it: its delete hanging is named, and bounded.
#[tokio::test]
async fn a_service_delete_that_hangs_is_named_and_bounded() {
    let sim = std::sync::Arc::new(sim(example_images()).await);
    sim.faults()
        .delay(Matcher::new("delete", "services"), Duration::from_secs(30));
    let (report, took) = crate::servers::through_a_service_with_timeout(
        sim.clone(),
        "example-http:1",
        &[],
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(report.tools.len(), 5);
    let k8s = report.kubernetes.as_ref().unwrap();
    assert_eq!(k8s.cleanup_warnings.len(), 1, "{:?}", k8s.cleanup_warnings);
    let warning = &k8s.cleanup_warnings[0];
    let service = format!("service default/{} (", k8s.pod_name);
    assert!(warning.contains(&service), "{warning}");
    assert!(!warning.contains("pod default/"), "the pod went: {warning}");
    assert!(took < Duration::from_secs(3) + GRACE_BOUND, "took {took:?}");
    // Owned by the pod, the Service went with it (as the cluster's garbage collector does).
    assert_empty(&sim).await;
    gc_removes_what_was_left(&sim, warning).await;
}
