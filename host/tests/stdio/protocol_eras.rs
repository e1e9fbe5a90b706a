//! Both eras of MCP: scripted servers (tests/fixtures/era_server.py) of the 2026-07-28 era and
//! of the `initialize` era, each awkward in its own way, end in the right era within their
//! bound, and a modern session sends what that era requires and nothing it removed.

use crate::support;

use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;
use std::time::{Duration, Instant};

fn fixture() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/era_server.py");
    path.to_string_lossy().into_owned()
}

/// What the server received, one method (and for HTTP its headers) per line.
struct Log(tempfile::NamedTempFile);

impl Log {
    fn new() -> Log {
        Log(tempfile::NamedTempFile::new().unwrap())
    }
    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.0.path())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

/// `mcp-probe discover FLAGS -- python3 era_server.py MODE`, with the log; and the wall time.
fn probe(mode: &str, flags: &[&str], log: &Log) -> (Output, Duration) {
    let started = Instant::now();
    let out = std::process::Command::new(support::probe_bin())
        .arg("discover")
        .args(flags)
        .args(["--", "python3", &fixture(), mode])
        .env("ERA_LOG", log.0.path())
        .output()
        .expect("run mcp-probe");
    (out, started.elapsed())
}

fn report(out: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

fn failure(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "one error line: {stderr}");
    stderr
}

fn have_python() -> bool {
    support::require_program("python3").is_some()
}

#[test]
fn a_modern_only_server_is_spoken_to_in_its_era() {
    if !have_python() {
        return;
    }
    let log = Log::new();
    let (out, _) = probe("modern", &[], &log);
    let report = report(&out);
    assert_eq!(report["protocol_era"], "modern");
    assert_eq!(report["protocol_version"], "2026-07-28");
    // A slow start (python under load) may let initialize follow the unanswered probe; the
    // server refuses it (-32022) and its answer to the probe decides all the same.
    let by = report["era_decided_by"].as_str().unwrap();
    let followed = by.contains("the initialize that followed it was not accepted");
    assert!(by == "server/discover answered" || followed, "{by}");
    assert_eq!(report["server_info"]["name"], "era-modern");
    assert_eq!(support::tool_names(&report), ["alpha", "beta"]);
    // Over two pages: the shortest TTL, the narrowest scope.
    assert_eq!(
        report["cache_hints"]["tools/list"],
        serde_json::json!({"ttl_ms": 1000, "cache_scope": "private"})
    );
    assert_eq!(report["cache_hints"]["server/discover"]["ttl_ms"], 5000);
    // The modern era has no handshake, no initialized notification, no ping or setLevel.
    let mut expected = vec!["server/discover", "tools/list", "tools/list"];
    if followed {
        expected.insert(1, "initialize");
    }
    assert_eq!(log.lines(), expected);
}

#[test]
fn era_flags_force_or_refuse_an_era() {
    if !have_python() {
        return;
    }
    let log = Log::new();
    let (out, _) = probe("modern", &["--protocol-era", "modern"], &log);
    let report = report(&out);
    assert_eq!(report["era_decided_by"], "--protocol-era modern");
    // Legacy against a modern-only server: its -32022 refusal, said once.
    let (out, _) = probe("modern", &["--protocol-era", "legacy"], &Log::new());
    let err = failure(&out);
    assert!(
        err.contains("initialize: the server replied with JSON-RPC error -32022"),
        "{err}"
    );
    // A modern server that the legacy era cannot reach, and a version of the wrong era: bad
    // input before anything starts.
    let (out, _) = probe(
        "legacy--32601",
        &[
            "--protocol-era",
            "modern",
            "--protocol-version",
            "2025-06-18",
        ],
        &Log::new(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not of the modern (2026-07-28) era"),
        "{stderr}"
    );
    let (out, _) = probe("modern", &["--protocol-version", "1999-01-01"], &Log::new());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_server_that_fixes_its_era_at_the_first_request_ends_modern() {
    if !have_python() {
        return;
    }
    let log = Log::new();
    let (out, _) = probe("fixes-era", &[], &log);
    let report = report(&out);
    assert_eq!(report["protocol_era"], "modern");
    assert_eq!(support::tool_names(&report), ["alpha", "beta"]);
}

#[test]
fn legacy_servers_end_legacy_whatever_they_answer_the_probe() {
    if !have_python() {
        return;
    }
    for (mode, said) in [
        (
            "legacy--32601",
            "server/discover answered JSON-RPC error -32601",
        ),
        (
            "legacy--32602",
            "server/discover answered JSON-RPC error -32602",
        ),
        (
            "legacy--32600",
            "server/discover answered JSON-RPC error -32600",
        ),
    ] {
        let log = Log::new();
        let (out, took) = probe(mode, &[], &log);
        let report = report(&out);
        assert_eq!(report["protocol_era"], "legacy", "{mode}");
        assert_eq!(report["protocol_version"], "2025-11-25", "{mode}");
        let by = report["era_decided_by"].as_str().unwrap();
        assert!(by.starts_with(said), "{mode}: {by}");
        assert_eq!(support::tool_names(&report), ["alpha", "beta"], "{mode}");
        assert!(report.get("cache_hints").is_none(), "{mode}");
        // An error answer decides at once: initialize follows without waiting the grace.
        assert_eq!(
            log.lines(),
            [
                "server/discover",
                "initialize",
                "notifications/initialized",
                "tools/list"
            ],
            "{mode}"
        );
        assert!(took < Duration::from_secs(20), "{mode}: {took:?}");
    }
}

#[test]
fn a_silent_legacy_server_costs_only_the_grace() {
    if !have_python() {
        return;
    }
    let log = Log::new();
    let (out, _) = probe("legacy-silent", &[], &log);
    let report = report(&out);
    assert_eq!(report["protocol_era"], "legacy");
    assert_eq!(
        report["era_decided_by"],
        "no reply to server/discover within 300 ms; initialize answered"
    );
    assert_eq!(support::tool_names(&report), ["alpha", "beta"]);
    // Far below the 30 s request timeout a plain timeout-then-fallback would cost.
    let duration = report["duration_ms"].as_u64().unwrap();
    assert!(duration < 10_000, "took {duration} ms");
}

#[test]
fn a_legacy_server_that_exits_on_the_probe_is_started_again() {
    if !have_python() {
        return;
    }
    let log = Log::new();
    let (out, _) = probe("legacy-exit", &[], &log);
    let report = report(&out);
    assert_eq!(report["protocol_era"], "legacy");
    let by = report["era_decided_by"].as_str().unwrap();
    assert!(
        by.starts_with("server/discover: the server closed the connection")
            || by.contains("closed the connection on"),
        "{by}"
    );
    assert!(by.ends_with("started again in the legacy era"), "{by}");
    assert_eq!(support::tool_names(&report), ["alpha", "beta"]);
    // The first process saw only the probe; the second, the legacy session from the start.
    assert_eq!(
        log.lines(),
        [
            "server/discover",
            "initialize",
            "notifications/initialized",
            "tools/list"
        ]
    );
}

#[test]
fn version_refusals_are_followed_or_reported() {
    if !have_python() {
        return;
    }
    let log = Log::new();
    let (out, _) = probe("only-legacy-versions", &[], &log);
    let report = report(&out);
    assert_eq!(report["protocol_era"], "legacy");
    assert_eq!(report["protocol_version"], "2025-06-18");
    let (out, _) = probe("no-mutual", &[], &Log::new());
    let err = failure(&out);
    assert!(
        err.contains(
            "server/discover: the server refused MCP 2026-07-28 (-32022) and lists 2099-01-01; \
             mcp-probe speaks 2026-07-28, "
        ) && err.contains(", none of them listed"),
        "{err}"
    );
    // A legacy version in common, which the era asked for rules out: said as such, not as
    // "none of which mcp-probe speaks".
    let (out, _) = probe(
        "only-legacy-versions",
        &["--protocol-era", "modern"],
        &Log::new(),
    );
    let err = failure(&out);
    assert!(
        err.contains(
            "server/discover: the server refused MCP 2026-07-28 (-32022) and lists 2025-06-18; \
             of those mcp-probe speaks only 2025-06-18, a legacy version, which --protocol-era \
             modern rules out"
        ),
        "{err}"
    );
}

#[test]
fn input_required_on_a_list_is_an_error() {
    if !have_python() {
        return;
    }
    let (out, _) = probe("input-required", &[], &Log::new());
    let err = failure(&out);
    assert!(
        err.contains(r#"tools/list: the server asked for input (resultType "input_required")"#),
        "{err}"
    );
}

async fn http_server(mode: &str, log: &Log) -> (support::Server, String) {
    let mut command = tokio::process::Command::new("python3");
    command.args([fixture().as_str(), "http", mode]);
    command.env("ERA_LOG", log.0.path());
    let (server, line) = support::Server::start(command, |l| l.starts_with("listening on")).await;
    let port = line.trim_start_matches("listening on ").trim().to_owned();
    (server, format!("http://127.0.0.1:{port}/mcp"))
}

async fn probe_url(url: &str, flags: &[&str]) -> Output {
    tokio::process::Command::new(support::probe_bin())
        .arg("discover")
        .args(flags)
        .args(["--url", url])
        .output()
        .await
        .expect("run mcp-probe")
}

#[tokio::test]
async fn modern_http_mirrors_headers_keeps_no_session_and_drops_invalid_header_tools() {
    if !have_python() {
        return;
    }
    let log = Log::new();
    let (_server, url) = http_server("modern", &log).await;
    let out = probe_url(&url, &[]).await;
    let report = report(&out);
    assert_eq!(report["protocol_era"], "modern");
    assert_eq!(report["discovery_method"], "url_streamable_http");
    // gamma's x-mcp-header sits on a `number`: left out, with a finding naming it.
    assert_eq!(support::tool_names(&report), ["alpha", "beta"]);
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "x-mcp-header-invalid")
        .expect("a finding for gamma");
    assert_eq!(finding["tool"], "gamma");
    assert!(finding["message"].as_str().unwrap().contains("`number`"));
    // Every POST carried MCP-Protocol-Version and Mcp-Method; no session id, GET or DELETE.
    assert_eq!(
        log.lines(),
        [
            "server/discover pv=2026-07-28 mm=server/discover sid=None",
            "tools/list pv=2026-07-28 mm=tools/list sid=None",
            "tools/list pv=2026-07-28 mm=tools/list sid=None",
        ]
    );
}

#[tokio::test]
async fn legacy_http_servers_refusing_the_probe_with_400_end_legacy() {
    if !have_python() {
        return;
    }
    for (mode, said) in [
        (
            "legacy-400-jsonrpc",
            "server/discover answered JSON-RPC error -32000",
        ),
        ("legacy-400-empty", "server/discover answered"),
    ] {
        let log = Log::new();
        let (_server, url) = http_server(mode, &log).await;
        let out = probe_url(&url, &[]).await;
        let report = report(&out);
        assert_eq!(report["protocol_era"], "legacy", "{mode}");
        assert_eq!(report["discovery_method"], "url_streamable_http", "{mode}");
        let by = report["era_decided_by"].as_str().unwrap();
        assert!(by.starts_with(said), "{mode}: {by}");
        assert_eq!(support::tool_names(&report), ["alpha", "beta"], "{mode}");
        let lines = log.lines();
        assert!(
            lines[0].starts_with("server/discover pv=2026-07-28"),
            "{mode}: {lines:?}"
        );
        assert!(
            lines[1].starts_with("initialize pv=None"),
            "{mode}: {lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("tools/list") && l.ends_with("sid=s1")),
            "{mode}: {lines:?}"
        );
    }
}

/// `discover` of a server that starts 1.5 s late: long past the probe grace.
fn probe_slow_start(mode: &str, log: &Log) -> Output {
    let script = format!("sleep 1.5; exec python3 {} {mode}", fixture());
    std::process::Command::new(support::probe_bin())
        .args(["discover", "--", "sh", "-c", &script])
        .env("ERA_LOG", log.0.path())
        .output()
        .expect("run mcp-probe")
}

/// `discover` of a server that is busy for 1.5 s before it reads anything (node loading its
/// modules): long past the probe grace, but visibly starting.
fn probe_busy_start(mode: &str, log: &Log) -> Output {
    let spin = "import time\nt = time.time()\nwhile time.time() - t < 1.5: pass";
    let script = format!("python3 -c '{spin}'; exec python3 {} {mode}", fixture());
    std::process::Command::new(support::probe_bin())
        .args(["discover", "--", "sh", "-c", &script])
        .env("ERA_LOG", log.0.path())
        .output()
        .expect("run mcp-probe")
}

/// A dual-era server busy starting gets no `initialize` while it uses CPU: it answers the
/// probe alone and is spoken to in the modern era, started once; a legacy one busy alike
/// still ends legacy once it is idle and silent.
#[test]
fn a_server_busy_starting_is_left_to_answer_the_probe() {
    if !have_python() {
        return;
    }
    let log = Log::new();
    let modern = report(&probe_busy_start("probe-phase", &log));
    assert_eq!(
        modern["protocol_era"], "modern",
        "{}",
        modern["era_decided_by"]
    );
    assert!(modern.get("eras_spoken").is_none(), "{modern}");
    assert_eq!(support::tool_names(&modern), ["alpha", "beta"]);
    assert_eq!(log.lines(), ["server/discover", "tools/list", "tools/list"]);
    let log = Log::new();
    let legacy = report(&probe_busy_start("legacy-silent", &log));
    assert_eq!(legacy["protocol_era"], "legacy");
    assert_eq!(log.lines()[..2], ["server/discover", "initialize"]);
}

/// A server that starts slowly (npx fetching a package) reads the probe and the `initialize`
/// that followed it together: its answers, not their timing, decide the era.
#[test]
fn slow_starting_servers_are_not_misjudged() {
    if !have_python() {
        return;
    }
    for (mode, era) in [
        ("fixes-era", "modern"),
        // Took the initialize that followed too: goes on in legacy, on the one connection.
        ("probe-phase", "legacy"),
        // Ignores the initialize that followed: waited for 2 s, not a request timeout.
        ("modern-mute", "modern"),
        ("modern", "modern"),
        ("legacy--32601", "legacy"),
        ("legacy-silent", "legacy"),
    ] {
        let log = Log::new();
        let out = probe_slow_start(mode, &log);
        let report = report(&out);
        assert_eq!(report["protocol_era"], era, "{mode}");
        assert_eq!(support::tool_names(&report), ["alpha", "beta"], "{mode}");
        let ms = report["duration_ms"].as_u64().unwrap();
        assert!(
            ms < 10_000,
            "{mode}: {ms} ms, as if a request timeout had passed"
        );
        let lines = log.lines();
        assert_eq!(
            lines[..2],
            ["server/discover", "initialize"],
            "{mode}: {lines:?}"
        );
        if era == "modern" {
            let by = report["era_decided_by"].as_str().unwrap();
            assert!(by.contains("followed it"), "{mode}: {by}");
            assert!(
                !lines.contains(&"notifications/initialized".to_owned()),
                "{mode}"
            );
        }
    }
}

/// A server whose era is fixed by the first request after the probe (the TypeScript SDK v2):
/// when it was slow and took the `initialize` that followed the probe, its connection went
/// legacy. It is a dual-era server: the session goes on in the legacy era on that one
/// connection, the server is started once, and the report says both eras are spoken.
#[test]
fn a_dual_era_server_the_following_initialize_made_legacy_is_started_once() {
    if !have_python() {
        return;
    }
    let log = Log::new();
    let out = probe_slow_start("probe-phase", &log);
    let report = report(&out);
    assert_eq!(report["protocol_era"], "legacy");
    assert_eq!(
        report["eras_spoken"],
        serde_json::json!(["modern", "legacy"])
    );
    let by = report["era_decided_by"].as_str().unwrap();
    assert!(
        by.contains("and so did the initialize that followed it"),
        "{by}"
    );
    assert!(
        by.ends_with("this connection is in the legacy era since that initialize"),
        "{by}"
    );
    assert_eq!(support::tool_names(&report), ["alpha", "beta"]);
    // One process: the probe, the initialize that followed, then the legacy era alone.
    assert_eq!(
        log.lines(),
        [
            "server/discover",
            "initialize",
            "notifications/initialized",
            "tools/list"
        ]
    );
}

/// A modern error is the server's answer, not a cue to fall back: reported by its name.
#[test]
fn a_modern_error_to_the_probe_is_reported_without_falling_back() {
    if !have_python() {
        return;
    }
    let (out, _) = probe("needs-sampling", &["--capabilities", "none"], &Log::new());
    let err = failure(&out);
    assert!(
        err.contains("server/discover: the server replied with JSON-RPC error -32021"),
        "{err}"
    );
    assert!(err.contains("MissingRequiredClientCapability"), "{err}");
    // Even when initialize followed a slow probe, the answer to the probe decides.
    assert!(!err.contains("initialize:"), "{err}");
}
