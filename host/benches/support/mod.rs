//! What the benchmarks share: our example server, the raw-pipe baseline, medians, figures.
#![allow(dead_code)] // each bench uses a subset

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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
