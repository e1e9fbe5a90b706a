//! What era detection costs: the added wall time of `--protocol-era auto` over `--protocol-era
//! legacy` against legacy servers over stdio, both measured in this run, interleaved.
//!
//! 1. A legacy server that answers `server/discover` with an error (our example server with
//!    `--era legacy`, and the Python fixture answering -32601): target median <= 20 ms added.
//! 2. A legacy server that stays silent on the probe (the Python fixture): target <= 1 s added.
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
    println!("median of {RUNS} runs each, auto and legacy interleaved\n");
    let cases: Vec<(&str, Vec<&str>, Duration)> = vec![
        (
            "example server --era legacy (answers -32601)",
            vec![&example, "--era", "legacy"],
            Duration::from_millis(20),
        ),
        (
            "python legacy server answering -32601",
            vec!["python3", &fixture, "legacy--32601"],
            Duration::from_millis(20),
        ),
        (
            "python legacy server silent on the probe",
            vec!["python3", &fixture, "legacy-silent"],
            Duration::from_secs(1),
        ),
    ];
    for (name, server, target) in cases {
        let (mut legacy, mut auto) = (Vec::new(), Vec::new());
        for _ in 0..RUNS {
            legacy.push(run(&probe, &["--protocol-era", "legacy"], &server));
            auto.push(run(&probe, &[], &server));
        }
        let (legacy, auto) = (median(legacy), median(auto));
        let added = auto.saturating_sub(legacy);
        println!("{name}:");
        println!("  --protocol-era legacy   {}", ms(legacy));
        println!("  --protocol-era auto     {}", ms(auto));
        println!(
            "  added by auto           {}  ({:.2}x legacy; target <= {} ms: {})\n",
            ms(added),
            auto.as_secs_f64() / legacy.as_secs_f64(),
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
