//! The Kubernetes target against the simulator, as ratios and differences against baselines
//! measured in the same run:
//!
//! 1. An instantly ready pod running our example server: the median wall time of
//!    `mcp-probe discover --image` as a whole process, minus the server's own time to answer
//!    (a raw-pipe client spawning it, initialize, tools/list, exit). Target <= 30 ms.
//! 2. An image that cannot be pulled: the time to mcp-probe's error. Target <= 2 s.
//!
//! Run: `cargo bench -p mcp-probe --bench kubernetes`.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{example_server, median, ms, raw_pipe, verdict};

const RUNS: usize = 21;
const PULL_RUNS: usize = 5;

fn main() {
    let (root, probe) = support::root_and_probe();
    let example = example_server(&root, &probe);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let command = vec![example.display().to_string()];
    let sim = support::simulator(&runtime, [("example:1".to_owned(), command)]);
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
    raw_pipe(&[example.to_str().unwrap()], false);
    timed(image("example:1"), true);
    let (mut raw, mut ours) = (vec![], vec![]);
    for _ in 0..RUNS {
        raw.push(raw_pipe(&[example.to_str().unwrap()], false).0);
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
