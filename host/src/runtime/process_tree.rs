//! Finding every process a local server started, including those that left its process group
//! (`setsid`, a double fork): by parentage while the tree is intact, and by a marker variable
//! in the environment each descendant inherits (the way Jenkins' process-tree killer finds a
//! build's strays once their parents are gone).

use std::collections::{HashMap, HashSet};

/// The environment variable that marks a server's processes.
pub const MARKER_VAR: &str = "MCP_PROBE_SERVER_ID";

/// The start every marker of this process shares (`PID.RANDOM-`): what the watchdog finds
/// once this process is gone (see watchdog.rs).
pub fn run_marker_prefix() -> &'static str {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PREFIX.get_or_init(|| {
        let random = crate::runtime::kubernetes::names::random_suffix(8);
        format!("{}.{random}-", std::process::id())
    })
}

/// A marker value unique to one server of this process.
pub fn new_marker() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}{}",
        run_marker_prefix(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every live process whose marker starts with `prefix`, with the process group it leads
/// (its pid when it leads one, else `None`: a group it merely joined is not ours to kill).
pub fn carrying_prefix(prefix: &str) -> Vec<(libc::pid_t, Option<libc::pid_t>)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let needle = format!("{MARKER_VAR}={prefix}");
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if environ_has(pid, |var| var.starts_with(needle.as_bytes())) {
            let leads = group_of(pid) == Some(pid);
            found.push((pid, leads.then_some(pid)));
        }
    }
    found
}

/// The process group from /proc/PID/stat.
fn group_of(pid: libc::pid_t) -> Option<libc::pid_t> {
    stat_field(pid, 2)
}

/// Every live process that descends from `root` or carries `marker`, except `root` itself.
pub fn strays(root: libc::pid_t, marker: &str) -> Vec<libc::pid_t> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let needle = format!("{MARKER_VAR}={marker}");
    let mut children: HashMap<libc::pid_t, Vec<libc::pid_t>> = HashMap::new();
    let mut found = HashSet::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if let Some(ppid) = parent_of(pid) {
            children.entry(ppid).or_default().push(pid);
        }
        if pid != root && carries(pid, &needle) {
            found.insert(pid);
        }
    }
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            if found.insert(child) {
                queue.push(child);
            }
        }
    }
    found.remove(&root);
    found.into_iter().collect()
}

/// The CPU time (user + system, with that of reaped children) of every process in the
/// process group `pgid`, in clock ticks; `None` when /proc cannot be read.
pub fn group_cpu_ticks(pgid: libc::pid_t) -> Option<u64> {
    let entries = std::fs::read_dir("/proc").ok()?;
    let mut ticks = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the parenthesised command: state ppid pgrp … utime(11) stime cutime cstime.
        let Some(rest) = stat.rfind(')').map(|at| &stat[at + 2..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<libc::pid_t>().ok()) != Some(pgid) {
            continue;
        }
        let cpu = fields.get(11..15).into_iter().flatten();
        ticks += cpu.filter_map(|f| f.parse::<u64>().ok()).sum::<u64>();
    }
    Some(ticks)
}

/// The parent pid from /proc/PID/stat.
fn parent_of(pid: libc::pid_t) -> Option<libc::pid_t> {
    stat_field(pid, 1)
}

/// Field `n` of /proc/PID/stat counted after the parenthesised command name (0: state,
/// 1: ppid, 2: pgrp), which may itself hold spaces and parentheses.
fn stat_field(pid: libc::pid_t, n: usize) -> Option<libc::pid_t> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(n)?.parse().ok()
}

fn carries(pid: libc::pid_t, needle: &str) -> bool {
    environ_has(pid, |var| var == needle.as_bytes())
}

/// Whether a variable of PID's environment (`NAME=value` bytes) satisfies `test`.
fn environ_has(pid: libc::pid_t, test: impl Fn(&[u8]) -> bool) -> bool {
    std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|env| env.split(|b| *b == 0).any(test))
}

/// Sends `signal` to each pid; one already gone is fine.
pub fn signal_all(pids: &[libc::pid_t], signal: libc::c_int) {
    for &pid in pids {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(pid, signal) };
    }
}

/// Reaps those of `pids` that became our children (we are their subreaper); never blocks.
pub fn reap(pids: &[libc::pid_t]) {
    for &pid in pids {
        let mut status = 0;
        // SAFETY: waitpid with a valid status pointer; WNOHANG never blocks.
        unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_marked_process_that_left_the_tree() {
        let marker = new_marker();
        // The shell starts a detached sleeper in a new session, then exits: the sleeper is no
        // longer its descendant by parentage, only by the marker.
        let status = std::process::Command::new("sh")
            .args(["-c", "setsid sleep 30 >/dev/null 2>&1 < /dev/null &"])
            .env(MARKER_VAR, &marker)
            .status()
            .unwrap();
        assert!(status.success());
        let mut found = Vec::new();
        for _ in 0..100 {
            found = strays(-1, &marker);
            if !found.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(found.len(), 1, "{found:?}");
        signal_all(&found, libc::SIGKILL);
        std::thread::sleep(std::time::Duration::from_millis(50));
        reap(&found);
        assert!(strays(-1, &marker).is_empty());
    }
}
