//! Text with lone UTF-16 surrogate escapes (`"\ud800"`), which JavaScript's `JSON.parse` and
//! Python's `json.loads` accept and serde_json refuses: a tool named so is listed, judged by
//! every rule and pinned, and such text anywhere else neither hides a tool nor stops the run.

use crate::support::{stdout_json, Workdir};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn tools_server() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tools_server.py")
        .display()
        .to_string()
}

/// `tools.json` with `tools` as its raw text (escapes as written here, which Python reads and
/// the server writes back as sent: `json.dumps` escapes a lone surrogate the same way).
fn serve(dir: &Workdir, tools: &str) -> String {
    dir.write("tools.json", tools).display().to_string()
}

fn discover(dir: &Workdir, tools: &str, extra: &[&str]) -> Output {
    let file = serve(dir, tools);
    let server = tools_server();
    let mut args = vec!["discover", "-o", "json"];
    args.extend_from_slice(extra);
    args.extend(["--", "python3", &server, &file]);
    dir.run(&args)
}

fn names(report: &Value) -> Vec<String> {
    report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// `(rule, tool, severity)` of every finding.
fn findings(report: &Value) -> Vec<(String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or("").to_owned();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (text(&f["rule"]), text(&f["tool"]), text(&f["severity"])))
        .collect()
}

fn has(found: &[(String, String, String)], rule: &str, tool: &str, severity: &str) -> bool {
    found
        .iter()
        .any(|(r, t, s)| r == rule && t == tool && s == severity)
}

const DENY_EXEC: &str = r#"{"deny": ["exec*", "shell"]}"#;

#[test]
fn a_name_with_a_lone_surrogate_is_listed_denied_and_flagged() {
    // High at the end, low alone, a reversed pair, a high before a non-surrogate escape; one
    // server lists them all (and a clean tool), so one run judges each.
    let cases = [
        (r#"exec_shell\ud800"#, "exec_shell\u{fffd}"),
        (r#"exec_\udc00shell"#, "exec_\u{fffd}shell"),
        (r#"exec\udc00\ud800"#, "exec\u{fffd}\u{fffd}"),
        (r#"exec\ud800\u0041"#, "exec\u{fffd}A"),
        (r#"shell\uDBFF"#, "shell\u{fffd}"),
    ];
    let entries: Vec<String> = cases
        .iter()
        .map(|(sent, _)| format!(r#"{{"name":"{sent}","description":"d"}}"#))
        .chain([r#"{"name":"ok","description":"d"}"#.to_owned()])
        .collect();
    let dir = Workdir::new();
    let policy = dir.write("policy.json", DENY_EXEC).display().to_string();
    let out = discover(
        &dir,
        &format!("[{}]", entries.join(",")),
        &["--policy", &policy],
    );
    assert_eq!(out.status.code(), Some(3), "an error finding");
    let report = stdout_json(&out);
    let shown: Vec<&str> = cases
        .iter()
        .map(|(_, shown)| *shown)
        .chain(["ok"])
        .collect();
    assert_eq!(names(&report), shown);
    let found = findings(&report);
    assert!(
        !found.iter().any(|(r, ..)| r == "tool-without-name"),
        "{found:?}"
    );
    for (sent, shown) in cases {
        assert!(
            has(&found, "invalid-unicode", shown, "error"),
            "{sent}: {found:?}"
        );
        // Every rule applies to the name as shown: `exec*` denies it.
        assert_eq!(
            has(&found, "tool-denied", shown, "error"),
            shown.starts_with("exec"),
            "{sent}: {found:?}"
        );
    }
    assert!(
        !found
            .iter()
            .any(|(r, t, _)| t == "ok" && r == "invalid-unicode"),
        "{found:?}"
    );
}

#[test]
fn lone_surrogates_elsewhere_are_probed_and_flagged_not_fatal() {
    // (field, tool named after it): each tool has a lone surrogate in one field only.
    let cases = [
        (
            "description",
            r#"{"name":"description","description":"reads \ud800 files"}"#,
        ),
        (
            "title",
            r#"{"name":"title","title":"T\udfff","description":"d"}"#,
        ),
        (
            "inputSchema",
            r#"{"name":"inputSchema","description":"d","inputSchema":{"type":"object","properties":{"p\ud800":{"type":"string","description":"\udc00"}}}}"#,
        ),
        (
            "annotations",
            r#"{"name":"annotations","description":"d","annotations":{"title":"\ud83d","readOnlyHint":true}}"#,
        ),
        (
            "x-vendor",
            r#"{"name":"x-vendor","description":"d","x-vendor":["\ud800"]}"#,
        ),
    ];
    let entries: Vec<&str> = cases.iter().map(|(_, tool)| *tool).collect();
    let dir = Workdir::new();
    let out = discover(&dir, &format!("[{}]", entries.join(",")), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report = stdout_json(&out);
    let fields: Vec<&str> = cases.iter().map(|(field, _)| *field).collect();
    assert_eq!(names(&report), fields);
    for field in fields {
        let finding = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == "invalid-unicode" && f["tool"] == field)
            .unwrap_or_else(|| panic!("{field}: no invalid-unicode finding: {report}"));
        assert_eq!(finding["severity"], "warning", "{field}");
        let message = finding["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("U+FFFD in {field}:")),
            "{message}"
        );
    }
    let description = &report["tools"][0]["description"];
    assert_eq!(description, "reads \u{fffd} files", "shown as U+FFFD");
}

#[test]
fn a_lone_surrogate_in_the_server_info_does_not_stop_the_run() {
    // The tools server names itself; a tool list file cannot reach that, so the validate path
    // stands in: a report whose serverInfo holds a lone surrogate is read and judged.
    let dir = Workdir::new();
    let file = dir.write(
        "report.json",
        r#"{"server_info":{"name":"srv\ud800","version":"1"},"tools":[{"name":"exec\udc00","description":"d"}]}"#,
    );
    let policy = dir.write("policy.json", DENY_EXEC);
    let out = dir.run(&[
        "validate",
        file.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "-o",
        "json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    let found = findings(&stdout_json(&out));
    assert!(
        has(&found, "invalid-unicode", "exec\u{fffd}", "error"),
        "{found:?}"
    );
}

#[test]
fn validate_lock_and_pins_see_the_tool_a_lone_surrogate_names() {
    let dir = Workdir::new();
    let tools = r#"{"tools":[{"name":"exec_shell\ud800","description":"d","annotations":{"readOnlyHint":true}},{"name":"ok","description":"d\udc00"}]}"#;
    let file = dir.write("tools.json", tools).display().to_string();
    let policy = dir.write("policy.json", DENY_EXEC).display().to_string();
    let out = dir.run(&["validate", &file, "--policy", &policy, "-o", "json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = findings(&stdout_json(&out));
    assert!(
        has(&found, "invalid-unicode", "exec_shell\u{fffd}", "error"),
        "{found:?}"
    );
    assert!(has(&found, "invalid-unicode", "ok", "warning"), "{found:?}");

    let (pins, lock) = dir.lock(&file, &[]);
    let pinned: Vec<&String> = pins["pins"].as_object().unwrap().keys().collect();
    assert_eq!(pinned, ["exec_shell\u{fffd}", "ok"]);

    // The same tools against their own lock: no pin finding; a changed one is caught.
    let out = dir.run(&["validate", &file, "--lock", &lock, "-o", "json"]);
    let found = findings(&stdout_json(&out));
    assert!(
        !found.iter().any(|(r, ..)| r.starts_with("pin")),
        "{found:?}"
    );
    let changed = tools.replace(r#""d","annotations""#, r#""EVIL","annotations""#);
    let file = dir.write("changed.json", changed).display().to_string();
    let out = dir.run(&["validate", &file, "--lock", &lock, "-o", "json"]);
    let found = findings(&stdout_json(&out));
    assert!(
        found
            .iter()
            .any(|(r, t, s)| r.starts_with("pin") && t == "exec_shell\u{fffd}" && s == "error"),
        "{found:?}"
    );
}
