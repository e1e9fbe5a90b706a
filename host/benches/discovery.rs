//! Discovery wall time, as ratios against baselines measured in the same run:
//!
//! 1. server-everything over stdio: mcp-probe vs the MCP Inspector CLI (target <= 0.6x), with
//!    the raw-pipe floor (spawn, initialize, tools/list, exit by hand) for context.
//! 2. mcp-probe's own overhead on our example server: its wall time minus a raw-pipe client's
//!    doing the same exchange with the same server (target <= 10 ms).
//!
//! Run: `cargo bench -p mcp-probe --bench discovery` (needs `bash tests/install-deps.sh`).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const INSPECTOR_RUNS: usize = 5;
const EXAMPLE_RUNS: usize = 31;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let probe = PathBuf::from(env!("CARGO_BIN_EXE_mcp-probe"));
    let deps = root.join("tests/.deps");
    let node = deps.join("node_modules/.bin/node");
    let everything =
        deps.join("node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let inspector = deps.join("node_modules/.bin/mcp-inspector");

    println!("mcp-probe discovery benchmark ({})", probe.display());
    let example = example_server(&root, &probe);
    example_overhead(&probe, &example);
    if [&node, &everything, &inspector].iter().all(|p| p.exists()) {
        versus_inspector(&probe, &node, &everything, &inspector);
    } else {
        println!("\nskipped mcp-probe vs Inspector: run `bash tests/install-deps.sh` first");
    }
}

/// The release example server next to mcp-probe, built if missing.
fn example_server(root: &Path, probe: &Path) -> PathBuf {
    let bin = probe.with_file_name("mcp-example-server");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-q", "--release", "-p", "mcp-example-server"])
            .current_dir(root)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building mcp-example-server failed");
    }
    bin
}

fn example_overhead(probe: &Path, example: &Path) {
    let server = [example.to_str().unwrap()];
    // Warm the page cache for both binaries before timing anything.
    raw_pipe(&server, false);
    probe_discover(probe, &server, None);
    let (mut raw, mut init, mut ours) = (vec![], vec![], vec![]);
    for _ in 0..EXAMPLE_RUNS {
        let (wall, to_init) = raw_pipe(&server, false);
        raw.push(wall);
        init.push(to_init);
        ours.push(probe_discover(probe, &server, None));
    }
    let (raw, init, ours) = (median(raw), median(init), median(ours));
    let overhead = ours.saturating_sub(raw);
    println!("\nexample server over stdio, 5 tools (median of {EXAMPLE_RUNS}):");
    println!("  server answers initialize (from spawn)      {}", ms(init));
    println!("  raw pipe: spawn, initialize, list, exit     {}", ms(raw));
    println!("  mcp-probe discover -o json                  {}", ms(ours));
    println!(
        "  mcp-probe overhead                          {} (target <= 10 ms: {})",
        ms(overhead),
        verdict(overhead <= Duration::from_millis(10))
    );
}

fn versus_inspector(probe: &Path, node: &Path, everything: &Path, inspector: &Path) {
    let server = [
        node.to_str().unwrap(),
        everything.to_str().unwrap(),
        "stdio",
    ];
    // Inspector declares only `roots`; mcp-probe is told to do the same, so both list 14 tools.
    let caps = Some("roots");
    let path = format!(
        "{}:{}",
        node.parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    let inspector_run = || {
        let start = Instant::now();
        let output = Command::new(inspector)
            .arg("--cli")
            .args(server)
            .args(["--method", "tools/list"])
            .env("PATH", &path)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .expect("Inspector runs");
        assert!(output.status.success(), "Inspector failed");
        start.elapsed()
    };
    inspector_run(); // warm-up
    probe_discover(probe, &server, caps);
    let (mut floor, mut theirs, mut ours) = (vec![], vec![], vec![]);
    for _ in 0..INSPECTOR_RUNS {
        floor.push(raw_pipe(&server, true).0);
        theirs.push(inspector_run());
        ours.push(probe_discover(probe, &server, caps));
    }
    let (floor, theirs, ours) = (median(floor), median(theirs), median(ours));
    let ratio = ours.as_secs_f64() / theirs.as_secs_f64();
    println!("\nserver-everything over stdio, 14 tools (median of {INSPECTOR_RUNS}):");
    println!(
        "  raw pipe floor (spawn, initialize, list, exit)  {}",
        ms(floor)
    );
    println!(
        "  MCP Inspector CLI --method tools/list           {}",
        ms(theirs)
    );
    println!(
        "  mcp-probe discover --capabilities roots         {}",
        ms(ours)
    );
    println!(
        "  ratio mcp-probe / Inspector                     {ratio:.2}x (target <= 0.6x: {})",
        verdict(ratio <= 0.6)
    );
}

/// One `mcp-probe discover -o json -- SERVER` run; panics unless it succeeds.
fn probe_discover(probe: &Path, server: &[&str], capabilities: Option<&str>) -> Duration {
    let mut command = Command::new(probe);
    command.args(["discover", "-o", "json"]);
    if let Some(caps) = capabilities {
        command.args(["--capabilities", caps]);
    }
    let start = Instant::now();
    let output = command
        .arg("--")
        .args(server)
        .stdin(Stdio::null())
        .output()
        .expect("mcp-probe runs");
    let elapsed = start.elapsed();
    assert!(
        output.status.success(),
        "mcp-probe failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

/// The least a client can do: spawn, initialize, initialized, one tools/list, close stdin,
/// wait for the exit. Returns the wall time and the time until the initialize reply.
fn raw_pipe(server: &[&str], kill: bool) -> (Duration, Duration) {
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

fn wait_for_reply(stdout: &mut impl BufRead, id: u64) {
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

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:8.1} ms", d.as_secs_f64() * 1000.0)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "MISSED"
    }
}
