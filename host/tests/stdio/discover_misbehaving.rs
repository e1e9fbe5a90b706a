//! `mcp-probe discover -- python3 misbehaving_server.py MODE`: every bad behaviour of a stdio
//! server ends in a clear one-line error within its timeout, or in the correct result.

use crate::support;

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn fixture() -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/misbehaving_server.py");
    path.to_string_lossy().into_owned()
}

/// python3 runs the misbehaving fixture (one skip rule for every test: see support).
fn have_python() -> bool {
    support::require_program("python3").is_some()
}

/// Runs discover against one mode with extra flags; returns the output and the wall time.
fn probe(mode: &str, flags: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-probe"))
        .arg("discover")
        .args(flags)
        .args(["--", "python3", &fixture(), mode])
        .output()
        .expect("run mcp-probe");
    (out, started.elapsed())
}

fn report(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

/// Asserts exit code 1, nothing on stdout, and exactly one error line containing `needle`.
fn assert_one_line_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(stderr.starts_with("mcp-probe: error: "), "stderr: {stderr}");
    assert!(stderr.contains(needle), "expected {needle:?} in: {stderr}");
}

/// The findings the host itself reported (the built-in validator adds its own about each tool).
fn host_findings(report: &Value) -> Vec<Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["source"] == "host")
        .cloned()
        .collect()
}

fn tool_names(report: &Value) -> Vec<String> {
    report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn well_behaved_server_gets_initialize_alone_and_lists_tools() {
    if !have_python() {
        return;
    }
    let (out, _) = probe("good", &[]);
    let report = report(&out);
    assert_eq!(tool_names(&report), ["tool_000", "tool_001", "tool_002"]);
    assert_eq!(report["protocol_version"], "2025-11-25");
    assert_eq!(report["server_info"]["name"], "misbehaving");
    assert_eq!(report["discovery_method"], "local_mcp_stdio");
    assert_eq!(report["tools_supported"], true);
    assert_eq!(report["recovered_by"], Value::Null);
    assert_eq!(
        report["capabilities"]["client"],
        serde_json::json!({"roots": {"listChanged": false}, "sampling": {}, "elicitation": {}})
    );
    assert_eq!(
        report["capabilities"]["server"]["tools"]["listChanged"],
        true
    );
    assert!(report["timestamp"].as_f64().unwrap() > 1.7e9);
    assert!(report.get("prompts").is_none());
}

#[test]
fn follows_every_page() {
    if !have_python() {
        return;
    }
    let report = report(&probe("paged", &[]).0);
    let names = tool_names(&report);
    assert_eq!(names.len(), 120);
    assert_eq!(names[119], "tool_119");
}

#[test]
fn page_cap_is_a_clear_error() {
    if !have_python() {
        return;
    }
    assert_one_line_error(&probe("paged", &["--page-cap", "2"]).0, "more than 2 pages");
}

#[test]
fn noise_notifications_and_stale_replies_are_tolerated() {
    if !have_python() {
        return;
    }
    let report = report(&probe("noise", &[]).0);
    assert_eq!(tool_names(&report).len(), 3);
}

#[test]
fn over_long_lines_are_dropped_and_the_session_goes_on() {
    if !have_python() {
        return;
    }
    // The fixture prints a 3 MB line: under the default bound it is a (non-RPC) message,
    // over a 1 MB bound it is dropped as noise; either way the tools arrive.
    for flags in [&[][..], &["--max-line-bytes", "1000000"][..]] {
        let report = report(&probe("overlong", flags).0);
        assert_eq!(tool_names(&report).len(), 3, "flags {flags:?}");
    }
}

#[test]
fn a_reply_over_the_line_bound_fails_at_once_naming_the_flag() {
    if !have_python() {
        return;
    }
    // The awaited reply itself was the over-long line: no waiting for the request timeout.
    let flags = ["--max-line-bytes", "1000000", "--request-timeout", "30"];
    let started = std::time::Instant::now();
    let out = probe("overlong-reply", &flags).0;
    assert_one_line_error(
        &out,
        "tools/list: the reply came in a line over the --max-line-bytes bound (line of 2018851 bytes dropped); raise --max-line-bytes",
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // Under the default bound the same reply is read.
    assert_eq!(
        tool_names(&report(&probe("overlong-reply", &[]).0)).len(),
        200
    );
}

#[test]
fn invalid_utf8_is_decoded_lossily() {
    if !have_python() {
        return;
    }
    let report = report(&probe("bad-utf8", &[]).0);
    assert_eq!(report["tools"][0]["description"], "caf\u{fffd} au lait");
}

#[test]
fn early_exit_names_the_step_and_the_servers_last_words() {
    if !have_python() {
        return;
    }
    let out = probe("exit-early", &[]).0;
    assert_one_line_error(&out, "initialize: the server closed the connection");
    assert_one_line_error(
        &out,
        "the server exited (exit status: 1); server stderr: fatal: missing API_TOKEN",
    );
    let out = probe("exit-after-init", &[]).0;
    assert_one_line_error(&out, "tools/list: the server closed");
    assert_one_line_error(
        &out,
        "exit status: 3); server stderr: crashed while listing",
    );
}

#[test]
fn a_hang_ends_at_the_request_timeout() {
    if !have_python() {
        return;
    }
    let (out, took) = probe("hang", &["--request-timeout", "0.5"]);
    assert_one_line_error(&out, "initialize: no reply within 500ms");
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

#[test]
fn a_hang_ends_at_the_whole_timeout() {
    if !have_python() {
        return;
    }
    let (out, took) = probe("hang-tools", &["--timeout", "3", "--request-timeout", "30"]);
    assert_one_line_error(
        &out,
        "timed out after 3s (--timeout) waiting for the reply to tools/list",
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

#[test]
fn json_rpc_errors_carry_code_and_message() {
    if !have_python() {
        return;
    }
    assert_one_line_error(
        &probe("rpc-error", &[]).0,
        "initialize: the server replied with JSON-RPC error -32603: database unavailable",
    );
    assert_one_line_error(
        &probe("tools-error", &[]).0,
        "tools/list: the server replied with JSON-RPC error -32000: tools are disabled",
    );
}

#[test]
fn older_protocol_versions_are_accepted_unknown_ones_refused() {
    if !have_python() {
        return;
    }
    for version in ["2025-06-18", "2025-03-26", "2024-11-05"] {
        let report = report(&probe(&format!("version={version}"), &[]).0);
        assert_eq!(report["protocol_version"], version);
    }
    assert_one_line_error(
        &probe("version=1999-01-01", &[]).0,
        "protocol version `1999-01-01`",
    );
}

#[test]
fn cursor_loops_are_caught() {
    if !have_python() {
        return;
    }
    assert_one_line_error(&probe("cursor-loop", &[]).0, "cursor loop");
}

#[test]
fn server_requests_are_answered_or_declined() {
    if !have_python() {
        return;
    }
    // The fixture only lists its tools when ping, roots/list, sampling, elicitation and an
    // unknown method all got the right answers.
    let report = report(&probe("server-requests", &[]).0);
    assert_eq!(tool_names(&report).len(), 3);
}

#[test]
fn no_tools_capability_is_not_an_error() {
    if !have_python() {
        return;
    }
    let report = report(&probe("no-tools-capability", &[]).0);
    assert_eq!(report["tools_supported"], false);
    assert_eq!(report["tools"], serde_json::json!([]));
}

#[test]
fn a_server_without_a_capabilities_object_is_asked_for_tools_anyway() {
    if !have_python() {
        return;
    }
    let report = report(&probe("no-capabilities-object", &[]).0);
    assert_eq!(report["tools_supported"], true);
    assert_eq!(tool_names(&report).len(), 3);
    assert_eq!(report["capabilities"]["server"], Value::Null);
}

#[test]
fn zero_tools_is_success() {
    if !have_python() {
        return;
    }
    let report = report(&probe("zero-tools", &[]).0);
    assert_eq!(report["tools_supported"], true);
    assert_eq!(report["tools"], serde_json::json!([]));
}

#[test]
fn optional_lists_are_listed_and_their_failures_recorded() {
    if !have_python() {
        return;
    }
    let report = report(&probe("optional-lists", &[]).0);
    assert_eq!(
        report["prompts"],
        serde_json::json!([{"name": "p1"}, {"name": "p2"}])
    );
    assert_eq!(report["resources"][0]["uri"], "file:///r");
    assert!(report.get("resource_templates").is_none());
    let findings = host_findings(&report);
    let finding = &findings[0];
    assert_eq!(finding["rule"], "optional-list-failed");
    assert_eq!(finding["severity"], "warning");
    assert!(finding["message"]
        .as_str()
        .unwrap()
        .contains("resources/templates/list"));
}

#[test]
fn a_hang_in_an_optional_list_keeps_the_tools() {
    if !have_python() {
        return;
    }
    // Per-request timeout: prompts/list fails, the resources lists are not even tried.
    let first = report(&probe("hang-prompts", &["--request-timeout", "2"]).0);
    assert_eq!(tool_names(&first).len(), 3);
    assert!(first.get("prompts").is_none());
    let findings = host_findings(&first);
    assert_eq!(findings.len(), 1, "{first}");
    assert_eq!(findings[0]["message"], "prompts/list: no reply within 2s");
    // Whole-discovery timeout: the tools are kept too.
    let flags = ["--timeout", "3", "--request-timeout", "30"];
    let (out, took) = probe("hang-prompts", &flags);
    let whole = report(&out);
    assert_eq!(tool_names(&whole).len(), 3);
    assert_eq!(
        host_findings(&whole)[0]["message"],
        "prompts/list: no reply within 3s"
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");
}

#[test]
fn env_reaches_the_command_and_capabilities_can_be_chosen() {
    if !have_python() {
        return;
    }
    let flags = [
        "-e",
        "PROBE_TOOL_NOTE=hello=world",
        "--capabilities",
        "none",
    ];
    let report = report(&probe("env", &flags).0);
    assert_eq!(report["tools"][0]["description"], "from env: hello=world");
    assert_eq!(report["capabilities"]["client"], serde_json::json!({}));
}

#[test]
fn table_output_lists_tool_names() {
    if !have_python() {
        return;
    }
    let out = probe("good", &["-o", "table"]).0;
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("server:    misbehaving 0.0.1"), "{text}");
    assert!(text.contains("tool_002  Tool number 2"), "{text}");
}

#[test]
fn verbose_logs_the_transcript_on_stderr() {
    if !have_python() {
        return;
    }
    let (out, _) = probe("noise", &["-v"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"-> {"id":1,"jsonrpc":"2.0","method":"initialize""#),
        "{stderr}"
    );
    assert!(
        stderr.contains("<- (not JSON-RPC) Starting server..."),
        "{stderr}"
    );
    assert!(
        stderr.contains(r#"<- {"jsonrpc": "2.0", "id": 2, "result": {"tools""#),
        "{stderr}"
    );
    // The report on stdout is untouched by the logs.
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tool_names(&report).len(), 3);
}

#[test]
fn the_fallback_parser_recovers_tools_the_session_could_not_read() {
    if !have_python() {
        return;
    }
    let (out, _) = probe("pretty-printed", &["--request-timeout", "5"]);
    let report = report(&out);
    assert_eq!(tool_names(&report), ["tool_000", "tool_001", "tool_002"]);
    assert_eq!(report["recovered_by"], "builtin:parse");
    assert_eq!(report["discovery_method"], "local_mcp_stdio");
}

#[test]
fn a_definite_protocol_failure_is_not_second_guessed_by_the_parser() {
    if !have_python() {
        return;
    }
    // The pages were on stdout, but a cursor loop is the server's clear failure.
    let (out, _) = probe("cursor-loop", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn an_error_finding_of_the_default_policy_exits_3_with_the_report() {
    if !have_python() {
        return;
    }
    let (out, _) = probe("poisoned", &[]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).expect("the report is still printed");
    let errors: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(!errors.is_empty(), "{report}");
    assert!(errors.iter().all(|f| f["tool"] == "tool_001"), "{report}");
}
