//! A list whose `resultType` is not `complete` (2026-07-28) is never a success: over stdio and
//! HTTP, in both eras, for tools, prompts, resources and templates, the run exits 1 with one
//! line naming the list and the `resultType` as sent, and the parse fallback does not turn the
//! transcript into a report.

use crate::support::{self, example_server_bin, Server};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::process::Command;

/// What servers send that does not say "complete" (the spec's only complete value is
/// `"complete"`, or no `resultType` at all).
const NOT_COMPLETE: [&str; 7] = [
    r#""input_required""#,
    "123",
    "{}",
    r#""""#,
    r#""COMPLETE""#,
    r#"["complete"]"#,
    "false",
];

async fn discover(args: &[String]) -> Output {
    let mut command = Command::new(support::probe_bin());
    command.args(["discover", "-o", "json"]).args(args);
    support::run(command).await
}

/// `discover -- example-server ARGS` (stdio); asserts that the server is gone afterwards.
async fn over_stdio(server_args: &[&str]) -> Output {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    // A harmless extra argument that finds the server among the processes afterwards.
    let marker = format!(
        "marker/{}-{}=1",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    );
    let mut args = vec!["--".to_owned(), example_server_bin().display().to_string()];
    args.extend(server_args.iter().map(|a| a.to_string()));
    args.extend(["--result-type".to_owned(), marker.clone()]);
    let out = discover(&args).await;
    assert_eq!(processes_with(&marker), 0, "the server outlived mcp-probe");
    out
}

/// Live processes (not zombies) whose command line holds `marker`.
fn processes_with(marker: &str) -> usize {
    let procs = std::fs::read_dir("/proc").into_iter().flatten().flatten();
    procs
        .filter(|entry| {
            let dir = entry.path();
            let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
            let zombie = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z');
            !zombie && String::from_utf8_lossy(&cmdline).contains(marker)
        })
        .count()
}

/// The example server over Streamable HTTP with ARGS, and `discover --url` against it.
async fn over_http(server_args: &[&str]) -> Output {
    let mut command = Command::new(example_server_bin());
    command.args(["--http", "127.0.0.1:0"]).args(server_args);
    let (_server, ready) = Server::start(command, |l| l.starts_with("listening on ")).await;
    let endpoint = ready.trim_start_matches("listening on ").to_owned();
    discover(&["--url".to_owned(), endpoint]).await
}

/// Exit 1, nothing on stdout, and one `mcp-probe: error:` line naming `method` and `sent`.
fn assert_refused(out: &Output, method: &str, sent: &str, case: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
    assert!(out.stdout.is_empty(), "{case}: a report was printed");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{case}: one line: {stderr}");
    let line = lines[0];
    assert!(line.starts_with("mcp-probe: error: "), "{case}: {line}");
    assert!(
        line.contains(&format!("{method}: ")) && line.contains(&format!("resultType {sent}")),
        "{case}: names {method} and resultType {sent}: {line}"
    );
    // The parse fallback did not run (it would have recovered the tools and exited 0).
    assert!(!line.contains("recovered"), "{case}: {line}");
}

#[tokio::test]
async fn tools_list_not_complete_fails_over_stdio_in_both_eras() {
    for sent in NOT_COMPLETE {
        for era in ["modern", "legacy"] {
            let flag = format!("tools/list={sent}");
            let out = over_stdio(&["--era", era, "--result-type", &flag]).await;
            assert_refused(&out, "tools/list", sent, &format!("stdio {era} {sent}"));
        }
    }
}

#[tokio::test]
async fn tools_list_not_complete_fails_over_http_in_both_eras() {
    for sent in NOT_COMPLETE {
        for era in ["modern", "legacy"] {
            let flag = format!("tools/list={sent}");
            let out = over_http(&["--era", era, "--result-type", &flag]).await;
            assert_refused(&out, "tools/list", sent, &format!("http {era} {sent}"));
        }
    }
}

/// The optional lists fail the run too: a report without them would look whole.
#[tokio::test]
async fn optional_lists_not_complete_fail_the_run_over_stdio_and_http() {
    let lists = ["prompts/list", "resources/list", "resources/templates/list"];
    for (i, method) in lists.into_iter().enumerate() {
        for (j, sent) in NOT_COMPLETE.iter().enumerate() {
            let flag = format!("{method}={sent}");
            let args = ["--prompts", "--resources", "--result-type", &flag];
            // Every value on one transport or the other, each list on both.
            let out = match (i + j) % 2 {
                0 => over_stdio(&args).await,
                _ => over_http(&args).await,
            };
            assert_refused(&out, method, sent, &format!("{method} {sent}"));
        }
    }
}

/// A paged list fails on its page, after the other lists' pages passed.
#[tokio::test]
async fn a_paged_list_not_complete_fails_too() {
    let out = over_stdio(&[
        "--tools",
        "9",
        "--page-size",
        "2",
        "--prompts",
        "5",
        "--result-type",
        r#"prompts/list="input_required""#,
    ])
    .await;
    assert_refused(&out, "prompts/list", r#""input_required""#, "paged prompts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("only tool calls, prompts/get and resources/read"),
        "{stderr}"
    );
}

/// What the spec calls complete passes: `"complete"`, and none at all (or `null`, which
/// lenient readers take for none).
#[tokio::test]
async fn complete_absent_and_null_result_types_pass() {
    for (era, sent) in [
        ("modern", r#""complete""#),
        ("legacy", r#""complete""#),
        ("modern", "null"),
        ("legacy", "null"),
    ] {
        let flag = format!("tools/list={sent}");
        let out = over_stdio(&["--era", era, "--prompts", "--result-type", &flag]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{era} {sent}: {stderr}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["tools"].as_array().map(Vec::len), Some(5));
        assert_eq!(report["prompts"].as_array().map(Vec::len), Some(2));
    }
    // The legacy era sends no resultType at all.
    let out = over_http(&["--era", "legacy"]).await;
    assert_eq!(out.status.code(), Some(0));
}

/// A huge or multi-line `resultType` is quoted as one line of at most 200 characters.
#[tokio::test]
async fn a_huge_result_type_is_quoted_within_bounds_on_one_line() {
    let huge = format!(r#""{}""#, "x".repeat(100_000));
    let nested = format!(
        r#"{{"a": "line one\nline two\u001b[2J", "b": [{}]}}"#,
        "1,".repeat(5000) + "1"
    );
    for sent in [huge, nested] {
        let flag = format!("tools/list={sent}");
        let out = over_stdio(&["--result-type", &flag]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!stderr.contains('\u{1b}'), "{stderr}");
        let quoted = stderr
            .split("sent resultType ")
            .nth(1)
            .and_then(|rest| rest.split("…").next())
            .unwrap_or_default();
        assert_eq!(quoted.chars().count(), 200, "{stderr}");
        assert!(stderr.len() < 600, "{} bytes: {stderr}", stderr.len());
    }
}
