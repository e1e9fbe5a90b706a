//! How local servers are started and ended at scale: by `posix_spawn` (vfork + exec, no copy
//! of a parent that grows with the scan), and killed with everything they started when
//! mcp-probe itself is SIGKILLed (the watchdog, which replaced PR_SET_PDEATHSIG).

use crate::support;
use crate::support::{alive, assert_exit};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A catalog of local targets `t0`, `t1`, ... running `commands`.
fn catalog(dir: &Path, commands: &[Vec<String>]) -> std::path::PathBuf {
    let targets: Vec<_> = commands
        .iter()
        .enumerate()
        .map(|(i, command)| serde_json::json!({"name": format!("t{i}"), "command": command}))
        .collect();
    support::write_catalog(dir, &targets)
}

/// Every process the scan and its servers created is a `clone` with CLONE_VM|CLONE_VFORK
/// (what glibc's posix_spawn makes) or a thread: no fork of mcp-probe.
#[test]
fn local_servers_are_spawned_by_posix_spawn_not_fork() {
    let Some(strace) = support::require_program("strace") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = support::example_server_bin().display().to_string();
    let catalog = catalog(dir.path(), &vec![vec![server]; 3]);
    let log = dir.path().join("strace.log");
    let out = Command::new(strace)
        .args(["-f", "-qq", "-e", "trace=clone,clone3,fork,vfork", "-o"])
        .arg(&log)
        .arg(support::probe_bin())
        .args(["scan", "--no-cache", "-j", "3"])
        .arg(&catalog)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let text = std::fs::read_to_string(&log).unwrap();
    let processes: Vec<&str> = text
        .lines()
        .filter(|l| {
            ["clone(", "clone3(", "fork(", "vfork("]
                .iter()
                .any(|call| l.contains(call))
        })
        .filter(|l| !l.contains("CLONE_THREAD"))
        .collect();
    // Three servers and the watchdog.
    assert!(processes.len() >= 4, "{text}");
    for line in &processes {
        assert!(line.contains("CLONE_VM|CLONE_VFORK"), "a fork: {line}");
    }
}

/// A SIGKILLed scan (no cleanup of ours runs) leaves none of its servers, nor what they
/// started, not even a grandchild that left the server's group and session with `setsid`.
#[test]
fn a_sigkilled_scan_leaves_no_server_running() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // Each server records itself and a detached grandchild, then never answers.
    let script = format!(
        "echo $$ >> {p}; setsid sh -c 'echo $$ >> {p}; exec sleep 300' </dev/null >/dev/null 2>&1 & exec sleep 300",
        p = pids.display()
    );
    let command = vec!["sh".to_owned(), "-c".to_owned(), script];
    let catalog = catalog(dir.path(), &vec![command; 3]);
    let mut scan = Command::new(support::probe_bin())
        .args(["scan", "--no-cache", "-j", "3", "--timeout", "120"])
        .arg(&catalog)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let started = loop {
        let found: Vec<i32> = std::fs::read_to_string(&pids)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if found.len() >= 6 {
            break found;
        }
        assert!(
            Instant::now() < deadline,
            "the servers never started: {found:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    scan.kill().unwrap(); // SIGKILL
    scan.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while started.iter().any(|&pid| alive(pid)) {
        let left: Vec<_> = started.iter().filter(|&&pid| alive(pid)).collect();
        assert!(
            Instant::now() < deadline,
            "outlived a SIGKILLed scan: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
