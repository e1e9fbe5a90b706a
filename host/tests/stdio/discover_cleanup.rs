//! Nothing is left behind: no server process (nor what it started), no half-written output
//! file, on success, failure, timeout and Ctrl-C; bad input exits 2.

use crate::support;
use crate::support::{alive, assert_exit};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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

fn probe() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-probe"));
    cmd.arg("discover");
    cmd
}

/// The pids the fixture wrote (itself, then any grandchild).
fn pids(file: &Path) -> Vec<i32> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Waits for the fixture to have written `count` pids.
fn wait_for_pids(file: &Path, count: usize) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = pids(file);
        if found.len() >= count {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "the fixture never wrote {count} pids"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn timeout_kills_the_server_and_its_grandchild() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let out = probe()
        .args(["--timeout", "4", "--", "python3", &fixture(), "grandchild"])
        .arg(&pid_file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = pids(&pid_file);
    assert_eq!(found.len(), 2, "server and grandchild pids: {found:?}");
    for pid in found {
        assert!(!alive(pid), "pid {pid} survived");
    }
}

#[test]
fn a_server_that_ignores_sigterm_is_killed_anyway() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let out = probe()
        .args(["--timeout", "3", "--", "python3", &fixture(), "ignore-term"])
        .arg(&pid_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let found = pids(&pid_file);
    assert_eq!(found.len(), 1);
    assert!(!alive(found[0]), "the server survived");
}

#[test]
fn ctrl_c_cleans_up_and_exits_130() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let output_file = dir.path().join("report.json");
    let child = probe()
        .args(["--output-file"])
        .arg(&output_file)
        .args(["--", "python3", &fixture(), "grandchild"])
        .arg(&pid_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let found = wait_for_pids(&pid_file, 2);
    // SAFETY: kill with a valid pid and signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "mcp-probe: error: interrupted\n"
    );
    assert!(out.stdout.is_empty());
    for pid in found {
        assert!(!alive(pid), "pid {pid} survived Ctrl-C");
    }
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("pids")],
        "files left: {left:?}"
    );
}

#[test]
fn output_file_is_written_whole_or_not_at_all() {
    if !have_python() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let output_file = dir.path().join("report.json");
    let out = probe()
        .arg("--output-file")
        .arg(&output_file)
        .args(["--", "python3", &fixture(), "good"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "the report goes to the file only");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&output_file).unwrap()).unwrap();
    assert_eq!(report["tools"].as_array().unwrap().len(), 3);

    // A failing run leaves the previous report alone and no temporary file behind.
    let out = probe()
        .arg("--output-file")
        .arg(&output_file)
        .args(["--", "python3", &fixture(), "exit-early"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("report.json")]);
    let again: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&output_file).unwrap()).unwrap();
    assert_eq!(again, report);
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let out = probe()
        .args(["--", "/nonexistent/mcp-server"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("mcp-probe: error: cannot start `/nonexistent/mcp-server`"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    for args in [
        &["--capabilities", "roots,telepathy", "--", "true"][..],
        &["--timeout", "-1", "--", "true"][..],
        &["--url", "http://x", "--", "true"][..],
        &["-e", "NOEQUALS", "--", "true"][..],
        &[][..],
    ] {
        let out = probe().args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "args {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_killed_probe_takes_its_server_along() {
    if !have_python() || !cfg!(target_os = "linux") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pids");
    let mut child = probe()
        .args(["--", "python3", &fixture(), "ignore-term"])
        .arg(&pid_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = wait_for_pids(&pid_file, 1)[0];
    child.kill().unwrap(); // SIGKILL: no cleanup code of ours runs
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(server) {
        assert!(
            Instant::now() < deadline,
            "server {server} outlived a SIGKILLed probe"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A grandchild that calls `setsid` leaves the server's process group; it is killed anyway
/// (found by the marker in its inherited environment), after success and after failure.
#[test]
fn a_grandchild_that_left_the_group_with_setsid_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    for (i, then) in ["exec sleep 30", "exit 3"].iter().enumerate() {
        let file = dir.path().join(format!("stray-{i}"));
        // The detached sleeper writes its pid, then the server goes on (hangs or exits).
        let script = format!(
            "setsid sh -c 'echo $$ > {}; exec sleep 300' </dev/null >/dev/null 2>&1 & sleep 0.3; {then}",
            file.display()
        );
        let out = probe()
            .args(["--timeout", "1", "--", "sh", "-c", &script])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_exit(&out, 1);
        let stray = wait_for_pids(&file, 1)[0];
        assert!(
            !alive(stray),
            "the setsid grandchild {stray} survived ({then})"
        );
    }
}

/// With stdout closed (`>&-`) the report cannot reach anyone: exit 1, not 0 — for every
/// command that prints a document.
#[test]
fn a_closed_stdout_is_a_failure() {
    let server = support::example_server_bin().display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let tools = dir.path().join("tools.json");
    std::fs::write(
        &tools,
        r#"{"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}"#,
    )
    .unwrap();
    let tools = tools.display().to_string();
    let commands: [&[&str]; 5] = [
        &["discover", "-o", "json", "--", &server],
        &["validate", "-o", "json", &tools],
        &["plugins", "list", "-o", "json"],
        &["plugins", "check", "plugins/dist/validate.wasm"],
        &["schema", "result"],
    ];
    for args in commands {
        let out = Command::new("sh")
            .args(["-c", "exec \"$@\" >&-", "sh"])
            .arg(env!("CARGO_BIN_EXE_mcp-probe"))
            .args(args)
            .current_dir(support::repo_root())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("stdout is closed"), "{args:?}: {stderr}");
    }
}

/// A malformed `-H` is bad input whose message never quotes the value.
#[test]
fn a_malformed_header_is_refused_without_quoting_it() {
    for header in [
        "Authorization Bearer tok-secret-123",
        "X-Key: tok-secret-123\u{7}",
    ] {
        let out = probe()
            .args(["--url", "http://127.0.0.1:9/", "-H", header])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(!stderr.contains("tok-secret"), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    }
}

/// The live (not zombie) processes whose process group is `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the parenthesised name: state, ppid, pgrp.
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            found.push(pid);
        }
    }
    found
}

/// Runs `discover --timeout 2` of a server that ignores SIGTERM (its pid, the group id, in
/// `pid_file`); returns the exit code, the time from the discovery's start to the exit, the
/// group's pid and stderr.
fn stubborn_run(script: &str, pid_file: &Path) -> (Option<i32>, Duration, i32, String) {
    let script = format!("echo $$ > {}; trap '' TERM; {script}", pid_file.display());
    let out = probe()
        .args([
            "-v",
            "-o",
            "json",
            "--timeout",
            "2",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let exited = std::time::SystemTime::now();
    let took = support::since_discovery_start(&String::from_utf8_lossy(&out.stderr), exited);
    let pgid = wait_for_pids(pid_file, 1)[0];
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), took, pgid, stderr)
}

/// The kill grace counts inside `--timeout`: a server that traps SIGTERM, whether it hangs,
/// answers and stays, or hides in a child that traps it too, is gone with its whole group by
/// the deadline (2.0–2.4 s after the discovery's start for `--timeout 2`).
#[test]
fn a_server_that_traps_sigterm_is_killed_by_the_deadline() {
    let server = crate::support::example_server_bin().display().to_string();
    let cases = [
        // Never answers: the session runs to the deadline, then SIGTERM and at once SIGKILL.
        ("hangs", "exec sleep 300".to_owned(), 1),
        // Answers at once, then stays past its stdin's end, ignoring SIGTERM: the grace is
        // what is left of the deadline.
        ("answers", format!("{server}; sleep 300"), 0),
        // A child that ignores SIGTERM too, and a shell that waits for it.
        ("child", "sleep 300 & wait".to_owned(), 1),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, script, code) in cases {
        let pid_file = dir.path().join(name);
        let (exit, took, pgid, stderr) = stubborn_run(&script, &pid_file);
        let last = stderr.lines().last().unwrap_or_default();
        assert_eq!(exit, Some(code), "{name}: {last}");
        assert!(
            took >= Duration::from_secs(2) && took < Duration::from_millis(2_400),
            "{name}: --timeout 2 took {took:?}"
        );
        assert_eq!(group_members(pgid), Vec::<i32>::new(), "{name}: group left");
        assert!(!alive(pgid), "{name}: the server survived");
    }
}

/// A server that exits on SIGTERM is not held to the deadline: the run ends when it does.
#[test]
fn a_server_that_exits_on_sigterm_is_not_waited_for() {
    let server = crate::support::example_server_bin().display().to_string();
    let started = Instant::now();
    let out = probe()
        .args(["-o", "json", "--timeout", "30", "--", &server])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
