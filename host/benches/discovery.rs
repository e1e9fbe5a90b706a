//! Discovery wall time, as ratios against baselines measured in the same run:
//!
//! 1. server-everything over stdio: mcp-probe vs the MCP Inspector CLI (target <= 0.6x), with
//!    the raw-pipe floor (spawn, initialize, tools/list, exit by hand) for context.
//! 2. mcp-probe's own overhead on our example server: its wall time minus a raw-pipe client's
//!    doing the same exchange with the same server (target <= 10 ms).
//!
//! Run: `cargo bench -p mcp-probe --bench discovery` (needs `bash tests/install-deps.sh`).

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{example_server, median, ms, raw_pipe, verdict};

const INSPECTOR_RUNS: usize = 5;
const EXAMPLE_RUNS: usize = 31;

fn main() {
    let (root, probe) = support::root_and_probe();
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
