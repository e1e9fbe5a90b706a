//! Hostile servers: floods, deep JSON, over-long replies. Memory stays bounded, deadlines hold,
//! and each failure is one clear line, at once.

use crate::support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Peak RSS in KiB of a finished child, from wait4's rusage.
fn run_measured(mut command: Command) -> (std::process::Output, u64) {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    // Read the pipes on threads so the child never blocks on them.
    let out = std::thread::spawn(move || child.wait_with_output().unwrap());
    let mut peak = 0u64;
    while !out.is_finished() {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
            if let Some(hwm) = status.lines().find(|l| l.starts_with("VmHWM:")) {
                let kib: u64 = hwm
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or(0);
                peak = peak.max(kib);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (out.join().unwrap(), peak)
}

#[test]
fn a_notification_flood_twice_the_timeout_stays_bounded_and_ends_on_time() {
    let python = require!(support::require_program("python3"));
    let flood = r#"
import sys, json
note = json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                   "params": {"level": "info", "data": "x" * 200}}) + "\n"
chunk = note * 200 + "log line that is not json\n" * 50
while True:
    sys.stdout.write(chunk)
"#;
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-probe"));
    command
        .args(["discover", "-o", "json", "--timeout", "3", "--"])
        .arg(&python)
        .args(["-c", flood]);
    let started = Instant::now();
    let (out, peak_kib) = run_measured(command);
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "flood: {took:?}, peak RSS {} MiB: {stderr}",
        peak_kib / 1024
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("timed out after 3s") && stderr.contains("initialize"),
        "{stderr}"
    );
    assert!(
        stderr.contains("dropped"),
        "the error says the transcript was cut: {stderr}"
    );
    assert!(
        took < Duration::from_millis(3500),
        "the deadline ends the run within 0.5 s: {took:?}"
    );
    assert!(peak_kib < 200 * 1024, "peak RSS {} MiB", peak_kib / 1024);
}

/// A server answering `initialize` with its own script's reply (one line of JSON).
fn answering(reply: &str) -> Command {
    let script = format!(
        "import sys, json\nfor line in sys.stdin:\n    msg = json.loads(line)\n    if 'id' in msg:\n        r = {reply}\n        sys.stdout.write(json.dumps({{'jsonrpc': '2.0', 'id': msg['id'], 'result': r}}) + '\\n')\n        sys.stdout.flush()\n"
    );
    let python = support::require_program("python3").expect("python3");
    let mut command = Command::new(env!("CARGO_BIN_EXE_mcp-probe"));
    command
        .args(["discover", "-o", "json", "--"])
        .arg(python)
        .args(["-c", &script]);
    command
}

#[test]
fn a_reply_nested_too_deeply_fails_at_once_naming_the_depth() {
    require!(support::require_program("python3"));
    let deep = "(lambda f: f(f, 300))(lambda f, n: {'a': f(f, n - 1)} if n else {})";
    let started = Instant::now();
    let out = answering(deep).stdin(Stdio::null()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nested deeper than 128 levels"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "never waits: {:?}",
        started.elapsed()
    );
}

#[test]
fn an_awaited_reply_over_the_line_bound_fails_at_once_with_the_hint() {
    let server = support::example_server_bin();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-probe"))
        .args(["discover", "-o", "json", "--max-line-bytes", "100000", "--"])
        .arg(server)
        .args(["--tools", "2000"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("tools/list") && stderr.contains("raise --max-line-bytes"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "never waits: {:?}",
        started.elapsed()
    );
}

/// A valid 50 MB tool list passes the default pipeline: plugin memory bounds grow with the
/// input (the normalizer's old fixed 64 MiB was smaller than the input itself).
#[test]
fn default_plugin_limits_fit_a_50_mb_tool_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tools.json");
    let description = "d".repeat(2000);
    let tools: Vec<serde_json::Value> = (0..25_000)
        .map(|i| {
            serde_json::json!({"name": format!("tool_{i}"), "description": description,
                "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": true}})
        })
        .collect();
    let text = serde_json::to_string(&serde_json::json!({ "tools": tools })).unwrap();
    assert!(text.len() > 50_000_000, "{}", text.len());
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-probe"))
        .args(["validate", "-o", "json"])
        .arg(&path)
        .env("MCP_PROBE_CACHE_DIR", dir.path().join("cache"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(matches!(out.status.code(), Some(0 | 3)), "{stderr}");
    assert!(!stderr.contains("memory limit"), "{stderr}");
}
