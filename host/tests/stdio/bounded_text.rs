//! Server text quoted in the error line is cut to one short line, however much the server
//! sends (tests/fixtures/loud_server.py); replies match requests by id type and value; the
//! `-32022` refusals say what happened without contradicting themselves.

use crate::support;
use std::path::PathBuf;

/// Our words plus a few quoted pieces of at most 200 characters each.
const LINE_BOUND: usize = 1200;

fn fixture() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/loud_server.py");
    path.to_string_lossy().into_owned()
}

/// `discover FLAGS -- python3 loud_server.py MODE`, which must fail: (exit code, the line).
fn fails(mode: &str, flags: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(support::probe_bin())
        .args(["discover", "-o", "json", "--timeout", "60"])
        .args(flags)
        .args(["--", "python3", &fixture(), mode])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.stdout.is_empty(), "{mode}: no report");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{mode}: one line, {} bytes",
        stderr.len()
    );
    let line = stderr.trim_end().to_owned();
    assert!(line.starts_with("mcp-probe: error: "), "{mode}: {line}");
    (out.status.code().unwrap_or(-1), line)
}

fn have_python() -> bool {
    support::require_program("python3").is_some()
}

#[test]
fn long_server_text_is_cut_to_one_short_line() {
    if !have_python() {
        return;
    }
    let cases = [
        ("huge-error", "JSON-RPC error -32000: xxxxxxxx"),
        ("many-lines-error", "JSON-RPC error -32000: line line line"),
        ("many-versions", "lists 1999-000000, 1999-000001"),
        ("many-versions-result", "lists MCP 1999-000000, 1999-000001"),
        ("huge-version", "protocol version `vvvvvvvv"),
        ("huge-cursor", "the server sent the cursor"),
        ("huge-stderr", "server stderr: eeeeeeee"),
    ];
    for (mode, shown) in cases {
        let (code, line) = fails(mode, &[]);
        assert_eq!(code, 1, "{mode}: {line}");
        assert!(
            line.len() <= LINE_BOUND,
            "{mode}: a {} byte line",
            line.len()
        );
        assert!(line.contains(shown), "{mode}: {line}");
        assert!(line.contains('…'), "{mode}: the cut is marked: {line}");
    }
    // The long lists say how long they were.
    let (_, line) = fails("many-versions", &[]);
    assert!(line.contains("(600000 in all)"), "{line}");
}

#[test]
fn a_reply_id_of_another_type_answers_nothing() {
    if !have_python() {
        return;
    }
    // `"3"` and `3.0` are not the request `3`: initialize is never answered.
    for mode in ["string-ids", "float-ids"] {
        let (code, line) = fails(mode, &["--request-timeout", "2"]);
        assert_eq!(code, 1, "{mode}: {line}");
        assert!(
            line.contains("initialize: no reply within 2s"),
            "{mode}: {line}"
        );
    }
}

#[test]
fn a_server_refusing_a_version_it_lists_is_told_as_such() {
    if !have_python() {
        return;
    }
    let (code, line) = fails("refuses-listed", &[]);
    assert_eq!(code, 1, "{line}");
    assert!(
        line.contains(
            "server/discover: the server refused MCP 2026-07-28 (-32022), yet lists it among \
             those it supports (2026-07-28)"
        ),
        "{line}"
    );
    assert!(!line.contains("none of which"), "{line}");
}
