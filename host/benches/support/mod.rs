//! What the benchmarks share: our example server, the raw-pipe baseline, a realistic tool, a
//! child's wall time and peak RSS, medians, figures.
#![allow(dead_code)] // each bench uses a subset

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The repository's root and the mcp-probe binary under measurement.
pub fn root_and_probe() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    (
        root.to_path_buf(),
        PathBuf::from(env!("CARGO_BIN_EXE_mcp-probe")),
    )
}

/// The release example server next to mcp-probe, built (or found up to date) first.
pub fn example_server(root: &Path, probe: &Path) -> PathBuf {
    let bin = probe.with_file_name("mcp-example-server");
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "--release", "-p", "mcp-example-server"])
        .current_dir(root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building mcp-example-server failed");
    bin
}

/// The least a client can do: spawn, initialize, initialized, one tools/list, close stdin,
/// wait for the exit. Returns the wall time and the time until the initialize reply.
pub fn raw_pipe(server: &[&str], kill: bool) -> (Duration, Duration) {
    let start = Instant::now();
    let mut child = Command::new(server[0])
        .args(&server[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut send = |message: Value| writeln!(stdin, "{message}").expect("server reads");
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw-pipe", "version": "0"}}}),
    );
    wait_for_reply(&mut stdout, 1);
    let to_init = start.elapsed();
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    wait_for_reply(&mut stdout, 2);
    drop(stdin);
    if kill {
        // Node servers may linger after stdin closes; mcp-probe also ends its child itself.
        let _ = child.kill();
    }
    child.wait().expect("server exits");
    (start.elapsed(), to_init)
}

pub fn wait_for_reply(stdout: &mut impl BufRead, id: u64) {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stdout.read_line(&mut line).expect("server writes") > 0,
            "server closed stdout"
        );
        if let Ok(message) = serde_json::from_str::<Value>(&line) {
            if message["id"] == id && message.get("method").is_none() {
                return;
            }
        }
    }
}

/// Tool `i` of a realistic list, as a server sends it in tools/list: a title, a padded
/// description, a four-property input schema, annotations and `_meta`.
pub fn realistic_tool(i: usize) -> Value {
    json!({
        "name": format!("orders_tool_{i}"),
        "title": format!("Orders tool {i}"),
        "description": format!("  Looks up orders for customer accounts, filtered by status and date range; returns at most `limit` rows (call {i}).  "),
        "inputSchema": {
            "type": "object",
            "properties": {
                "customer_id": {"type": "string", "description": "The customer's id"},
                "status": {"type": "string", "enum": ["open", "shipped", "cancelled"]},
                "since": {"type": "string", "format": "date-time"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
            },
            "required": ["customer_id"]
        },
        "annotations": {"readOnlyHint": !i.is_multiple_of(3), "destructiveHint": false, "title": "Orders"},
        "_meta": {"team": "commerce"}
    })
}

/// The highest VmHWM (KiB) of `pid` in /proc/PID/status, read every `every` until `exited` (a
/// zombie has none; its last reading stays). The process's own peak: `wait4`'s `ru_maxrss`
/// would start from the RSS of this process when it forks.
pub fn peak_rss_kib(pid: u32, exited: &AtomicBool, every: Duration) -> u64 {
    let mut peak = 0;
    while !exited.load(Ordering::SeqCst) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:")) {
            let kib = line.split_whitespace().nth(1).and_then(|n| n.parse().ok());
            peak = peak.max(kib.unwrap_or(0));
        }
        std::thread::sleep(every);
    }
    peak
}

/// A finished run of a child process.
pub struct Measured {
    pub wall: Duration,
    /// Peak RSS in bytes ([`peak_rss_kib`]).
    pub peak: u64,
    /// The exit code (None when a signal ended it).
    pub code: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs `command` (stdin null, stdout and stderr read to the end) to its exit: its wall time
/// from spawn to exit, and its peak RSS polled every `every`.
pub fn measure(command: &mut Command, every: Duration) -> Measured {
    let start = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{command:?} does not start: {e}"));
    let exited = Arc::new(AtomicBool::new(false));
    let peak = std::thread::spawn({
        let (pid, exited) = (child.id(), exited.clone());
        move || peak_rss_kib(pid, &exited, every)
    });
    let mut stdout = child.stdout.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).map(|_| bytes)
    });
    let mut stderr = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stderr.read_to_end(&mut bytes).map(|_| bytes)
    });
    let status = child.wait().expect("the child is reaped");
    let wall = start.elapsed();
    exited.store(true, Ordering::SeqCst);
    Measured {
        wall,
        peak: peak.join().unwrap() * 1024,
        code: status.code(),
        stdout: out.join().unwrap().expect("stdout is read"),
        stderr: String::from_utf8_lossy(&err.join().unwrap().expect("stderr is read")).into_owned(),
    }
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

pub fn ms(d: Duration) -> String {
    format!("{:8.1} ms", d.as_secs_f64() * 1000.0)
}

pub fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}

/// kube-sim serving `images`, each name's pods running `command` (instantly ready).
pub fn simulator(
    runtime: &tokio::runtime::Runtime,
    images: impl IntoIterator<Item = (String, Vec<String>)>,
) -> kube_sim::SimHandle {
    let mut table = kube_sim::ImageTable::default();
    for (name, command) in images {
        let image = kube_sim::Image {
            command,
            ..kube_sim::Image::default()
        };
        table.insert(&name, image);
    }
    let config = kube_sim::Config {
        images: table,
        ..kube_sim::Config::default()
    };
    runtime
        .block_on(kube_sim::Simulator::start(config))
        .expect("the simulator starts")
}
