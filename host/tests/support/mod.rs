//! Helpers shared by the integration tests that run real MCP servers and clients.
//!
//! Real dependencies live under tests/.deps (installed by tests/install-deps.sh). A missing one
//! makes a test print why it skips; under CI (`CI=true`) it fails instead, since CI installs all.
#![allow(dead_code)] // each test crate uses a different subset

use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Bounds every external process a test runs; generous because CI has two busy cores.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(120);

/// Evaluates to the value of an `Option`, or returns from the test (having printed why).
#[macro_export]
macro_rules! require {
    ($dep:expr) => {
        match $dep {
            Some(value) => value,
            None => return,
        }
    };
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Where tests/install-deps.sh put the servers and clients (`MCP_PROBE_TEST_DEPS` overrides).
pub fn deps_dir() -> PathBuf {
    std::env::var_os("MCP_PROBE_TEST_DEPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("tests/.deps"))
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `Some(path)` if it exists; otherwise prints a skip reason (or panics under CI).
pub fn require_path(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let reason = format!(
        "{what} not found at {}; run `bash tests/install-deps.sh`",
        path.display()
    );
    if in_ci() {
        panic!("CI=true and a test dependency is missing: {reason}");
    }
    eprintln!("SKIPPED: {reason}");
    None
}

/// A program on PATH (e.g. `python3`), by the same rule: a skip with a reason, a failure in CI.
pub fn require_program(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    match found {
        Some(path) => Some(path),
        None => require_path(PathBuf::from(name), &format!("`{name}` on PATH")),
    }
}

/// Node 22 from the npm package `node@22` (Inspector 2.x and conformance need it).
pub fn node() -> Option<PathBuf> {
    require_path(
        deps_dir().join("node_modules/.bin/node"),
        "Node 22 (npm node@22)",
    )
}

/// A file inside an installed npm package, e.g. `("server-everything", "dist/index.js")`.
pub fn mcp_package_file(package: &str, file: &str) -> Option<PathBuf> {
    npm_package_file(&format!("@modelcontextprotocol/{package}"), file)
}

/// A file inside any installed npm package, e.g. `("@takescake/1password-mcp", "bin/...")`.
pub fn npm_package_file(package: &str, file: &str) -> Option<PathBuf> {
    let path = deps_dir().join("node_modules").join(package).join(file);
    require_path(path, &format!("npm {package}"))
}

/// An executable of the Python venv (PyPI packages).
pub fn venv_bin(name: &str) -> Option<PathBuf> {
    require_path(
        deps_dir().join("venv/bin").join(name),
        &format!("venv {name}"),
    )
}

pub fn probe_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mcp-probe"))
}

/// Our example server, built next to mcp-probe (`cargo test --workspace` builds it; when
/// testing this package alone it is built here).
pub fn example_server_bin() -> PathBuf {
    // Built (or found up to date) once per test binary: a stale binary from an older checkout
    // must never be what the tests run.
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let bin = probe_bin().with_file_name("mcp-example-server");
            let mut cargo = std::process::Command::new(env!("CARGO"));
            cargo.args(["build", "-q", "-p", "mcp-example-server"]);
            if bin.parent().is_some_and(|dir| dir.ends_with("release")) {
                cargo.arg("--release");
            }
            let status = cargo.current_dir(repo_root()).status().expect("cargo runs");
            assert!(status.success(), "building mcp-example-server failed");
            bin
        })
        .clone()
}

/// Runs a command to completion within `PROCESS_TIMEOUT`; the child is killed if it overruns.
pub async fn run(mut command: Command) -> Output {
    let description = format!("{:?}", command.as_std());
    command.stdin(Stdio::null()).kill_on_drop(true);
    match tokio::time::timeout(PROCESS_TIMEOUT, command.output()).await {
        Ok(output) => output.unwrap_or_else(|e| panic!("cannot run {description}: {e}")),
        Err(_) => panic!("{description} did not finish within {PROCESS_TIMEOUT:?}"),
    }
}

/// `mcp-probe discover -o json ARGS`, asserting success; returns the report.
pub async fn discover(args: &[&str]) -> Value {
    let mut command = Command::new(probe_bin());
    command.args(["discover", "-o", "json"]).args(args);
    let output = run(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "mcp-probe discover {args:?} failed ({}): {stderr}",
        output.status
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("discover printed no JSON report ({e}); stderr: {stderr}"))
}

/// The MCP Inspector CLI (the reference client) run with `ARGS --method METHOD`; returns its
/// JSON output, e.g. `{"tools": [...]}`. It declares only the `roots` capability. Run this
/// way (ad hoc) it speaks the legacy era (`initialize`); see `inspector_era` for the others.
pub async fn inspector(args: &[&str], method: &str) -> Option<Value> {
    inspector_run(args, method).await
}

/// `inspector`, with `--protocol-era ERA` (`legacy`, `auto`: `server/discover` first and a
/// fallback to `initialize`, or `modern`: 2026-07-28 only, failing on a legacy-only server).
pub async fn inspector_era(args: &[&str], method: &str, era: &str) -> Option<Value> {
    let mut with_era = vec!["--protocol-era", era];
    with_era.extend_from_slice(args);
    inspector_run(&with_era, method).await
}

async fn inspector_run(args: &[&str], method: &str) -> Option<Value> {
    let node = node()?;
    let inspector = require_path(
        deps_dir().join("node_modules/.bin/mcp-inspector"),
        "MCP Inspector (npm @modelcontextprotocol/inspector)",
    )?;
    let path = std::env::var("PATH").unwrap_or_default();
    // Inspector keeps state under ~/.mcp-inspector; a scratch HOME leaves the real one alone.
    let home = tempfile::tempdir().expect("a temporary directory");
    let mut command = Command::new(inspector);
    command
        .arg("--cli")
        .args(args)
        .args(["--method", method])
        .env("HOME", home.path())
        // Its `#!/usr/bin/env node` must find Node 22.
        .env(
            "PATH",
            format!("{}:{path}", node.parent().unwrap().display()),
        );
    let output = run(command).await;
    assert!(
        output.status.success(),
        "Inspector {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(serde_json::from_slice(&output.stdout).expect("Inspector prints JSON"))
}

fn names(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|t| t["name"].as_str().unwrap_or("<no name>"))
        .collect()
}

/// JSON equality, with numbers equal by value: the reference client is JavaScript, which has
/// one number type and prints a server's `10.0` as `10`, while our report keeps `10.0`.
pub fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || (x.is_f64() || y.is_f64()) && x.as_f64() == y.as_f64()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// Asserts `ours` (a list from our report) equals the reference's list `reference[key]`,
/// names first (readable diff), then every definition in full (`same_json`). When the
/// reference stopped before the last page (it still has a `nextCursor`), only its pages are
/// compared.
pub fn assert_same_items(ours: &Value, reference: &Value, key: &str) {
    let ours = ours
        .as_array()
        .unwrap_or_else(|| panic!("our {key} is not a list: {ours}"));
    let theirs = reference[key]
        .as_array()
        .unwrap_or_else(|| panic!("reference has no {key} list: {reference}"));
    let ours = if reference.get("nextCursor").is_some_and(|c| !c.is_null()) {
        assert!(
            ours.len() >= theirs.len(),
            "we found fewer {key} than one reference page"
        );
        &ours[..theirs.len()]
    } else {
        &ours[..]
    };
    assert_eq!(
        names(ours),
        names(theirs),
        "{key} names differ from the reference client's"
    );
    for (mine, reference) in ours.iter().zip(theirs) {
        if !same_json(mine, reference) {
            assert_eq!(mine, reference, "definition of {} differs", mine["name"]);
        }
    }
}

/// Tool names of a report.
pub fn tool_names(report: &Value) -> Vec<String> {
    report["tools"]
        .as_array()
        .expect("report has a tools list")
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process that is killed when the test ends, pass or fail; its stderr is collected.
pub struct Server {
    _child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `command` and waits until `ready` accepts one of its stderr lines (returning it).
    pub async fn start(command: Command, ready: impl Fn(&str) -> bool) -> (Server, String) {
        Self::try_start(command, ready)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like `start`, but a server that exits or never gets ready is an `Err` (with its stderr).
    pub async fn try_start(
        mut command: Command,
        ready: impl Fn(&str) -> bool,
    ) -> Result<(Server, String), String> {
        let description = format!("{:?}", command.as_std());
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {description}: {e}"))?;
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let wait_ready = async {
            while let Some(line) = lines.next_line().await.unwrap_or(None) {
                stderr.lock().unwrap().push(line.clone());
                if ready(&line) {
                    return Some(line);
                }
            }
            None
        };
        let ready_line = match tokio::time::timeout(Duration::from_secs(30), wait_ready).await {
            Ok(Some(line)) => line,
            _ => {
                let log = stderr.lock().unwrap().clone();
                return Err(format!("{description} never became ready; stderr: {log:?}"));
            }
        };
        let collected = stderr.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                collected.lock().unwrap().push(line);
            }
        });
        Ok((
            Server {
                _child: child,
                stderr,
            },
            ready_line,
        ))
    }

    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// The stderr lines once `done` accepts them (it is read in the background, so a line
    /// can lag behind the request that caused it), or after 10 s, whatever they are then.
    pub async fn stderr_when(&self, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let lines = self.stderr();
            if done(&lines) || tokio::time::Instant::now() >= deadline {
                return lines;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Asserts a command's exit code, quoting its stderr when it differs.
pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

/// `DIR/catalog.json` holding `targets`.
pub fn write_catalog(dir: &Path, targets: &[Value]) -> PathBuf {
    let path = dir.join("catalog.json");
    std::fs::write(&path, serde_json::json!({ "targets": targets }).to_string()).unwrap();
    path
}

/// A command's stdout as JSON; a panic quoting both streams when it is not.
pub fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// A scratch directory that the built mcp-probe runs in, with a plugin cache of its own.
pub struct Workdir {
    dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `mcp-probe lock TOOLS -o <dir>/tools.lock.json EXTRA`, which must succeed; the lock
    /// document it wrote and its path.
    pub fn lock(&self, tools: &str, extra: &[&str]) -> (Value, String) {
        let lock = self.path("tools.lock.json").display().to_string();
        let mut args = vec!["lock", tools, "-o", &lock];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "lock {tools}: {stderr}");
        let doc = serde_json::from_slice(&std::fs::read(&lock).unwrap()).unwrap();
        (doc, lock)
    }

    /// `mcp-probe ARGS` in the directory, to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_mcp-probe"))
            .args(args)
            .env("MCP_PROBE_CACHE_DIR", self.path("cache"))
            .current_dir(self.dir.path())
            .output()
            .expect("mcp-probe runs")
    }
}

/// Runs `command` (stdin null) with its stderr on a new terminal (a pty); its exit status and
/// everything it printed there.
pub fn stderr_on_a_terminal(
    mut command: std::process::Command,
) -> (std::process::ExitStatus, Vec<u8>) {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors, which are owned below and nowhere else.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both are open descriptors nothing else owns.
    let (mut master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            OwnedFd::from_raw_fd(slave),
        )
    };
    command.stdin(Stdio::null()).stderr(Stdio::from(slave));
    let mut child = command.spawn().expect("the command runs");
    drop(command); // our copy of the terminal's slave side: reads end when the child's closes
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut chunk = [0u8; 8192];
        // EIO once every slave descriptor is closed.
        while let Ok(n @ 1..) = master.read(&mut chunk) {
            seen.extend_from_slice(&chunk[..n]);
        }
        seen
    });
    let status = child.wait().unwrap();
    (status, reader.join().unwrap())
}

/// Runs a (std) command to its end with stdin null and the pipes read: its output and its
/// peak RSS in bytes (VmHWM of /proc/PID/status, read every 20 ms: the process alone, not
/// the servers it starts, which a wait4 rusage would count too).
pub fn run_measured(mut command: std::process::Command) -> (Output, u64) {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let status = format!("/proc/{}/status", child.id());
    // Read the pipes on a thread so the child never blocks on them.
    let out = std::thread::spawn(move || child.wait_with_output().expect("the child is reaped"));
    let mut peak_kib = 0u64;
    while !out.is_finished() {
        let hwm = std::fs::read_to_string(&status).ok().and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        });
        peak_kib = peak_kib.max(hwm.unwrap_or(0));
        std::thread::sleep(Duration::from_millis(20));
    }
    (out.join().unwrap(), peak_kib * 1024)
}

/// How long after the discovery's start (its `-v` line `discovery starts`, where the
/// `--timeout` deadline starts) the process `exited`: the run's time against `--timeout`,
/// without the fixed cost of loading the plugins before it.
pub fn since_discovery_start(stderr: &str, exited: std::time::SystemTime) -> std::time::Duration {
    let line = stderr
        .lines()
        .find(|l| l.contains("discovery starts"))
        .unwrap_or_else(|| panic!("no `discovery starts` line (run with -v): {stderr}"));
    let stamp: jiff::Timestamp = line
        .split_whitespace()
        .next()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no timestamp: {line}"));
    let started = std::time::SystemTime::from(stamp);
    exited
        .duration_since(started)
        .expect("the exit follows the start")
}
