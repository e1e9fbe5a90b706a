//! The Kubernetes target against the simulator, as ratios and differences against baselines
//! measured in the same run:
//!
//! 1. An instantly ready pod running our example server: the median wall time of
//!    `mcp-probe discover --image` as a whole process, minus the server's own time to answer
//!    (a raw-pipe client spawning it, initialize, tools/list, exit). Target <= 30 ms.
//! 2. An image that cannot be pulled: the time to mcp-probe's error. Target <= 2 s.
//!
//! Run: `cargo bench -p mcp-probe --bench kubernetes`.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 21;
const PULL_RUNS: usize = 5;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let probe = PathBuf::from(env!("CARGO_BIN_EXE_mcp-probe"));
    let example = example_server(&root, &probe);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut images = kube_sim::ImageTable::default();
    images.insert(
        "example:1",
        kube_sim::Image {
            command: vec![example.display().to_string()],
            ..kube_sim::Image::default()
        },
    );
    let config = kube_sim::Config {
        images,
        ..kube_sim::Config::default()
    };
    let sim = runtime
        .block_on(kube_sim::Simulator::start(config))
        .unwrap();
    let kubeconfig = sim.kubeconfig_path().to_path_buf();
    let cache = tempfile::tempdir().unwrap();
    let image = |name: &str| {
        let mut command = Command::new(&probe);
        command
            .args([
                "discover",
                "-o",
                "json",
                "--transport",
                "stdio",
                "--image",
                name,
            ])
            .env("KUBECONFIG", &kubeconfig)
            .env("MCP_PROBE_CACHE_DIR", cache.path())
            .env_remove("KUBERNETES_SERVICE_HOST")
            .stdin(Stdio::null());
        command
    };
    println!(
        "mcp-probe Kubernetes benchmark ({}), against kube-sim",
        probe.display()
    );
    // Warm the page cache and the plugin cache.
    raw_pipe(&example);
    timed(image("example:1"), true);
    let (mut raw, mut ours) = (vec![], vec![]);
    for _ in 0..RUNS {
        raw.push(raw_pipe(&example));
        ours.push(timed(image("example:1"), true));
    }
    let (raw, ours) = (median(raw), median(ours));
    let overhead = ours.saturating_sub(raw);
    println!("\ninstantly ready pod, example server over attach, 5 tools (median of {RUNS}):");
    println!(
        "  the server's own time (raw pipe: spawn, initialize, list, exit) {}",
        ms(raw)
    );
    println!(
        "  mcp-probe discover --image (whole process)                     {}",
        ms(ours)
    );
    println!(
        "  overhead                                                       {} (target <= 30 ms: {})",
        ms(overhead),
        verdict(overhead <= Duration::from_millis(30))
    );
    let pulls: Vec<Duration> = (0..PULL_RUNS)
        .map(|_| timed(image("no-such:1"), false))
        .collect();
    let pull = median(pulls);
    println!("\nan image that cannot be pulled (median of {PULL_RUNS}):");
    println!(
        "  time to the error                                              {} (target <= 2 s: {}; the old probe: 91 s)",
        ms(pull),
        verdict(pull <= Duration::from_secs(2))
    );
    runtime.block_on(sim.shutdown());
}

fn example_server(root: &Path, probe: &Path) -> PathBuf {
    let bin = probe.with_file_name("mcp-example-server");
    let status = Command::new(env!("CARGO"))
        .args(["build", "-q", "--release", "-p", "mcp-example-server"])
        .current_dir(root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building mcp-example-server failed");
    bin
}

fn timed(mut command: Command, must_succeed: bool) -> Duration {
    let start = Instant::now();
    let output = command.output().expect("mcp-probe runs");
    let elapsed = start.elapsed();
    assert_eq!(
        output.status.success(),
        must_succeed,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    elapsed
}

/// The least a client can do with the server: spawn, initialize, one tools/list, exit.
fn raw_pipe(server: &Path) -> Duration {
    let start = Instant::now();
    let mut child = Command::new(server)
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
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    wait_for_reply(&mut stdout, 2);
    drop(stdin);
    child.wait().expect("server exits");
    start.elapsed()
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
