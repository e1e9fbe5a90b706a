//! `mcp-probe validate` on 10 000 realistic tools (the tool of `support::realistic_tool`, as in
//! the plugins bench), saved as a tools/list result `{"tools":[...]}`, as a whole process with
//! the default pipeline and policy and a warm plugin cache (`MCP_PROBE_CACHE_DIR`, filled by a
//! first run, printed too). Its median wall time (target <= 150 ms) and peak RSS (VmHWM of
//! /proc/PID/status, polled every 1 ms; target <= 60 MB) over 9 runs, against the old probe
//! measured in the same run, alternately: PyPI `mcp-platform` 1.3.1's
//! `BaseProbe._normalize_mcp_tools` on the same file, parse (`json.load`) + normalize (called
//! unbound: it never uses `self`) + dump (`json.dumps` to stdout), as a whole process (Python
//! startup and the import of `mcp_platform.tools.base_probe` included, as mcp-probe's start is)
//! and in-process (`time.perf_counter` around parse + normalize + dump).
//!
//! Both outputs are checked: mcp-probe's 10 000 tools, its exit code 3 exactly when a finding
//! is an error (else 0), and the baseline's 10 000 normalized tools. The baseline's venv is
//! made once under the target directory (`bench-venv/` beside the mcp-probe binary) with
//! `pip install mcp-platform==1.3.1 cachetools click`; if that fails the bench panics with
//! pip's output.
//!
//! Run: `cargo bench -p mcp-probe --bench validate` (needs python3 and PyPI the first time).

mod support;

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::{measure, median, verdict, Measured};

const TOOLS: usize = 10_000;
const RUNS: usize = 9;
const POLL: Duration = Duration::from_millis(1);
const BASELINE: &str = "mcp-platform==1.3.1";

/// Parse + normalize + dump with the old probe's normalize; prints on stderr the seconds of
/// the import and of parse + normalize + dump.
const SCRIPT: &str = r#"
import json, sys, time
t0 = time.perf_counter()
from mcp_platform.tools.base_probe import BaseProbe
t1 = time.perf_counter()
with open(sys.argv[1]) as f:
    result = json.load(f)
tools = BaseProbe._normalize_mcp_tools(None, result["tools"])
sys.stdout.write(json.dumps({"tools": tools}))
sys.stdout.flush()
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, file=sys.stderr)
"#;

fn main() {
    let (_root, probe) = support::root_and_probe();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tools.json");
    let tools: Vec<Value> = (0..TOOLS).map(support::realistic_tool).collect();
    let text = serde_json::to_vec(&json!({ "tools": tools })).unwrap();
    std::fs::write(&file, &text).unwrap();
    let script = dir.path().join("normalize.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let cache = dir.path().join("cache");
    let python = baseline_venv(&probe);
    println!("mcp-probe validate benchmark ({})", probe.display());

    let validate = || {
        let mut command = Command::new(&probe);
        command
            .arg("validate")
            .arg(&file)
            .env("MCP_PROBE_CACHE_DIR", &cache);
        checked_validate(measure(&mut command, POLL))
    };
    let normalize = || {
        let mut command = Command::new(&python);
        command.arg(&script).arg(&file);
        checked_normalize(measure(&mut command, POLL))
    };

    // First runs, not counted: mcp-probe compiles its plugins into the empty cache, Python
    // reads its modules from disk.
    let (cold, summary) = validate();
    normalize();
    let (mut probe_runs, mut py_runs, mut py_inner, mut py_import) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        probe_runs.push(validate().0);
        let (run, import, inner) = normalize();
        py_runs.push(run);
        py_import.push(import);
        py_inner.push(inner);
    }
    let time = median(probe_runs.iter().map(|r| r.wall).collect());
    let peak = median_u64(probe_runs.iter().map(|r| r.peak).collect());
    let py_time = median(py_runs.iter().map(|r| r.wall).collect());
    let py_peak = median_u64(py_runs.iter().map(|r| r.peak).collect());
    let (py_inner, py_import) = (median(py_inner), median(py_import));

    println!(
        "\n{TOOLS} tools in a saved tools/list result of {:.1} MB (median of {RUNS}, alternating):",
        mb(text.len() as u64)
    );
    println!(
        "  mcp-probe validate, whole process     {:7.1} ms  peak {:6.1} MB  (exit {}: {summary})",
        ms(time),
        mb(peak),
        probe_runs[0].code.unwrap()
    );
    println!(
        "    its first run (plugins compiled)    {:7.1} ms  peak {:6.1} MB",
        ms(cold.wall),
        mb(cold.peak)
    );
    println!(
        "  mcp-platform normalize, whole process {:7.1} ms  peak {:6.1} MB",
        ms(py_time),
        mb(py_peak)
    );
    println!(
        "    in-process parse + normalize + dump {:7.1} ms  (its import before it: {:.1} ms)",
        ms(py_inner),
        ms(py_import)
    );
    println!(
        "  mcp-probe / baseline: time {:.2}x the whole process, {:.2}x in-process; peak {:.2}x",
        time.as_secs_f64() / py_time.as_secs_f64(),
        time.as_secs_f64() / py_inner.as_secs_f64(),
        peak as f64 / py_peak as f64
    );
    println!(
        "  mcp-probe validate target <= 150 ms: {}; target <= 60 MB: {}",
        verdict(time <= Duration::from_millis(150)),
        verdict(peak <= 60_000_000)
    );
}

/// The run, checked: 10 000 tools out, exit 3 exactly when a finding is an error, else 0.
/// With the findings counted by severity.
fn checked_validate(run: Measured) -> (Measured, String) {
    let report: Value = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "mcp-probe validate printed no JSON ({e}), exit {:?}: {}",
            run.code, run.stderr
        )
    });
    let tools = report["tools"].as_array().map_or(0, Vec::len);
    assert_eq!(tools, TOOLS, "mcp-probe validate's tools");
    let findings = report["findings"].as_array().expect("findings");
    let count = |s: &str| findings.iter().filter(|f| f["severity"] == s).count();
    let errors = count("error");
    let expected = if errors > 0 { 3 } else { 0 };
    assert_eq!(run.code, Some(expected), "exit code: {}", run.stderr);
    let summary = format!(
        "{errors} errors, {} warnings, {} info",
        count("warning"),
        count("info")
    );
    (run, summary)
}

/// The run, checked (exit 0, 10 000 normalized tools), and the import and parse + normalize
/// + dump times it printed.
fn checked_normalize(run: Measured) -> (Measured, Duration, Duration) {
    assert_eq!(run.code, Some(0), "the baseline failed: {}", run.stderr);
    let result: Value = serde_json::from_slice(&run.stdout).expect("the baseline prints JSON");
    let tools = result["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), TOOLS, "the baseline's tools");
    assert_eq!(tools[0]["category"], "mcp", "normalized: {}", tools[0]);
    let seconds: Vec<f64> = run
        .stderr
        .split_whitespace()
        .map(|s| {
            s.parse()
                .unwrap_or_else(|_| panic!("timing: {}", run.stderr))
        })
        .collect();
    assert_eq!(seconds.len(), 2, "timing: {}", run.stderr);
    let (import, inner) = (seconds[0], seconds[1]);
    (
        run,
        Duration::from_secs_f64(import),
        Duration::from_secs_f64(inner),
    )
}

/// The venv's python with the old probe installed, made once beside `probe` (in the target
/// directory); `.complete` marks a finished install.
fn baseline_venv(probe: &Path) -> PathBuf {
    let venv = probe
        .parent()
        .unwrap()
        .join("bench-venv")
        .join(BASELINE.replace("==", "-"));
    let python = venv.join("bin").join("python");
    let complete = venv.join(".complete");
    if complete.exists() {
        return python;
    }
    let _ = std::fs::remove_dir_all(&venv);
    println!("making the baseline's venv: {}", venv.display());
    let run = |command: &mut Command, what: &str| {
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("{what}: {command:?} does not start: {e}"));
        assert!(
            output.status.success(),
            "{what} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    // The package forgets the last two of its dependencies.
    run(
        Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            BASELINE,
            "cachetools",
            "click",
        ]),
        "pip install",
    );
    run(
        Command::new(&python).args(["-c", "from mcp_platform.tools.base_probe import BaseProbe"]),
        "importing the old probe",
    );
    std::fs::write(&complete, "").unwrap();
    python
}

fn median_u64(mut samples: Vec<u64>) -> u64 {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}
