//! What era detection costs: the added wall time of `--protocol-era auto` over `--protocol-era
//! legacy` against legacy servers over stdio, both measured in this run, interleaved.
//!
//! 1. A legacy server that answers `server/discover` with an error (our example server with
//!    `--era legacy`, and the Python fixture answering -32601): target median <= 20 ms added.
//! 2. A legacy server that stays silent on the probe (the Python fixture): target <= 1 s added.
//! 3. A dual-era server slow to start (busy 1 s before it reads anything, as node loading its
//!    modules is; the Python fixture fixing its era at the first request after the probe, as
//!    the TypeScript SDK v2 does): `auto` against `--protocol-era modern`, target <= 50 ms
//!    added (it used to be started a second time: +0.7-1.5 s).
//!
//! Run: `cargo bench -p mcp-probe --bench eras` (case 2 and the Python case need python3).

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{example_server, median, ms, verdict};

const RUNS: usize = 21;

fn main() {
    let (root, probe) = support::root_and_probe();
    let example = example_server(&root, &probe).display().to_string();
    let fixture = root.join("host/tests/fixtures/era_server.py");
    let fixture = fixture.display().to_string();
    println!("mcp-probe era-detection benchmark ({})", probe.display());
    println!("auto and the forced era interleaved\n");
    let busy_start = format!(
        "python3 -c 'import time\nt = time.time()\nwhile time.time() - t < 1: pass'; exec python3 {fixture} probe-phase"
    );
    // (name, server, the era auto is compared with, runs, target)
    let cases: Vec<(&str, Vec<&str>, &str, usize, Duration)> = vec![
        (
            "example server --era legacy (answers -32601)",
            vec![&example, "--era", "legacy"],
            "legacy",
            RUNS,
            Duration::from_millis(20),
        ),
        (
            "python legacy server answering -32601",
            vec!["python3", &fixture, "legacy--32601"],
            "legacy",
            RUNS,
            Duration::from_millis(20),
        ),
        (
            "python legacy server silent on the probe",
            vec!["python3", &fixture, "legacy-silent"],
            "legacy",
            RUNS,
            Duration::from_secs(1),
        ),
        (
            "dual-era server busy 1 s at start (fixes its era after the probe)",
            vec!["sh", "-c", &busy_start],
            "modern",
            7,
            Duration::from_millis(50),
        ),
    ];
    for (name, server, era, runs, target) in cases {
        let (mut forced, mut auto) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            forced.push(run(&probe, &["--protocol-era", era], &server));
            auto.push(run(&probe, &[], &server));
        }
        let (forced, auto) = (median(forced), median(auto));
        let added = auto.saturating_sub(forced);
        println!("{name} (median of {runs}):");
        println!("  --protocol-era {era:<7}  {}", ms(forced));
        println!("  --protocol-era auto     {}", ms(auto));
        println!(
            "  added by auto           {}  ({:.2}x {era}; target <= {} ms: {})\n",
            ms(added),
            auto.as_secs_f64() / forced.as_secs_f64(),
            target.as_millis(),
            verdict(added <= target)
        );
    }
}

/// One `mcp-probe discover` of `server`, timed; it must succeed.
fn run(probe: &Path, flags: &[&str], server: &[&str]) -> Duration {
    let started = Instant::now();
    let status = Command::new(probe)
        .args(["discover", "-o", "json"])
        .args(flags)
        .arg("--")
        .args(server)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("mcp-probe runs");
    assert!(status.success(), "mcp-probe {flags:?} -- {server:?} failed");
    started.elapsed()
}
