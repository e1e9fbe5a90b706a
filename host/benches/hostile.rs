//! Hostile and huge servers, measured against baselines from the same run:
//!
//! 1. 100 000 small tools from one server (an 18.7 MB reply), end to end: mcp-probe's wall
//!    time and peak RSS, against the reply's size and a raw-pipe client's time reading the
//!    same reply (targets: peak RSS <= 10x the reply, time <= 1 s).
//! 2. A notification flood that outlasts `--timeout 2` (it never stops): peak RSS, and how far
//!    past the deadline the run ends (target: within 0.5 s).
//! 3. 10^6 prompts, and 10^6 resources, in pages of 10 000: peak RSS against the replies'
//!    size (target <= 10x) and wall time against a raw pipe reading the same pages in the
//!    same run (target <= 2x).
//!
//! Run: `cargo bench -p mcp-probe --bench hostile` (the flood needs python3).

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{example_server, verdict};

const TOOLS: usize = 100_000;
const RUNS: usize = 3;
/// Entries of the prompts and the resources cases, and their page size.
const ENTRIES: usize = 1_000_000;
const ENTRY_PAGE: usize = 10_000;

fn main() {
    let (root, probe) = support::root_and_probe();
    let example = example_server(&root, &probe);
    let cache = tempfile::tempdir().unwrap();
    println!("mcp-probe hostile-server benchmark ({})", probe.display());

    let (raw_time, reply_bytes) = raw_pipe(&example);
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let mut command = Command::new(&probe);
        command
            .args([
                "discover",
                "-o",
                "json",
                "--max-line-bytes",
                "67108864",
                "--",
            ])
            .arg(&example)
            .args(["--tools", &TOOLS.to_string()])
            .env("MCP_PROBE_CACHE_DIR", cache.path());
        runs.push(measured(command, true));
    }
    runs.sort();
    let (time, peak) = runs[RUNS / 2];
    println!(
        "\n{TOOLS} small tools in one reply of {:.1} MB (median of {RUNS}):",
        mb(reply_bytes as u64)
    );
    println!(
        "  raw pipe reading the same reply      {:8.0} ms",
        ms(raw_time)
    );
    println!(
        "  mcp-probe discover, end to end       {:8.0} ms ({:.1}x the raw pipe; target <= 1000 ms: {})",
        ms(time),
        time.as_secs_f64() / raw_time.as_secs_f64(),
        verdict(time <= Duration::from_secs(1))
    );
    println!(
        "  mcp-probe peak RSS                   {:8.0} MB ({:.1}x the reply; target <= 10x: {})",
        mb(peak),
        peak as f64 / reply_bytes as f64,
        verdict(peak as f64 <= 10.0 * reply_bytes as f64)
    );

    for (flag, lists) in [
        ("--prompts", &["tools/list", "prompts/list"][..]),
        (
            "--resources",
            &["tools/list", "resources/list", "resources/templates/list"][..],
        ),
    ] {
        big_list_case(&probe, &example, cache.path(), flag, lists);
    }

    let flood = r#"
import sys, json
note = json.dumps({"jsonrpc": "2.0", "method": "notifications/message",
                   "params": {"level": "info", "data": "x" * 200}}) + "\n"
chunk = note * 200 + "log line that is not json\n" * 50
while True:
    sys.stdout.write(chunk)
"#;
    let mut command = Command::new(&probe);
    command
        .args([
            "discover",
            "-o",
            "json",
            "--timeout",
            "2",
            "--",
            "python3",
            "-c",
            flood,
        ])
        .env("MCP_PROBE_CACHE_DIR", cache.path());
    let (time, peak) = measured(command, false);
    let over = time.saturating_sub(Duration::from_secs(2));
    println!("\nnotification flood outlasting --timeout 2:");
    println!("  peak RSS                             {:8.0} MB", mb(peak));
    println!(
        "  ended after the deadline by          {:8.0} ms (target <= 500 ms: {})",
        ms(over),
        verdict(over <= Duration::from_millis(500))
    );
}

/// One server offering `ENTRIES` of a list (`flag`, e.g. `--prompts`), read by mcp-probe
/// and by a raw pipe asking for every page of `lists`: median wall times and peak RSS.
fn big_list_case(probe: &Path, example: &Path, cache: &Path, flag: &str, lists: &[&str]) {
    let server = [
        flag.to_owned(),
        ENTRIES.to_string(),
        "--page-size".to_owned(),
        ENTRY_PAGE.to_string(),
    ];
    let mut raw = Vec::new();
    let mut runs = Vec::new();
    let mut reply_bytes = 0;
    for _ in 0..RUNS {
        let (time, bytes) = raw_pipe_pages(example, &server, lists);
        raw.push(time);
        reply_bytes = bytes;
        let mut command = Command::new(probe);
        command
            .args(["discover", "-o", "json", "--"])
            .arg(example)
            .args(&server)
            .env("MCP_PROBE_CACHE_DIR", cache);
        runs.push(measured(command, true));
    }
    let raw_time = support::median(raw);
    runs.sort();
    let (time, peak) = runs[RUNS / 2];
    let what = flag.trim_start_matches("--");
    println!(
        "\n{ENTRIES} {what} in pages of {ENTRY_PAGE}, {:.1} MB of replies (median of {RUNS}):",
        mb(reply_bytes as u64)
    );
    println!(
        "  raw pipe reading the same pages      {:8.0} ms",
        ms(raw_time)
    );
    let ratio = time.as_secs_f64() / raw_time.as_secs_f64();
    println!(
        "  mcp-probe discover, end to end       {:8.0} ms ({ratio:.1}x the raw pipe; target <= 2x: {})",
        ms(time),
        verdict(ratio <= 2.0)
    );
    println!(
        "  mcp-probe peak RSS                   {:8.0} MB ({:.1}x the replies; target <= 10x: {})",
        mb(peak),
        peak as f64 / reply_bytes as f64,
        verdict(peak as f64 <= 10.0 * reply_bytes as f64)
    );
}

/// A raw client: initialize, then every page of each of `lists`; its time and the replies'
/// size.
fn raw_pipe_pages(server: &Path, args: &[String], lists: &[&str]) -> (Duration, usize) {
    let start = Instant::now();
    let mut child = Command::new(server)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-11-25","capabilities":{{}},"clientInfo":{{"name":"raw","version":"0"}}}}}}"#).unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .unwrap();
    let mut bytes = 0;
    for method in lists {
        let mut cursor = serde_json::Value::Null;
        loop {
            let params = serde_json::json!({ "cursor": cursor });
            let request =
                serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": params});
            writeln!(stdin, "{request}").unwrap();
            line.clear();
            stdout.read_line(&mut line).unwrap();
            bytes += line.len();
            // Only the cursor is read: the least a client must take from a page.
            cursor = next_cursor(&line);
            if cursor.is_null() {
                break;
            }
        }
    }
    drop(stdin);
    child.wait().unwrap();
    (start.elapsed(), bytes)
}

/// The `nextCursor` of a reply line (the example server writes its members sorted, so the
/// cursor comes before the list).
fn next_cursor(line: &str) -> serde_json::Value {
    let Some(at) = line.find("\"nextCursor\":") else {
        return serde_json::Value::Null;
    };
    let rest = &line[at + "\"nextCursor\":".len()..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    serde_json::from_str(&rest[..end]).unwrap_or(serde_json::Value::Null)
}

/// Wall time and peak RSS (bytes, from /proc/PID/status VmHWM) of a run.
fn measured(mut command: Command, must_succeed: bool) -> (Duration, u64) {
    let run = support::measure(&mut command, Duration::from_millis(5));
    assert_eq!(
        run.code == Some(0),
        must_succeed,
        "{:?}: {}",
        run.code,
        run.stderr
    );
    (run.wall, run.peak)
}

/// A raw client: initialize, tools/list, read the reply line; its time and the reply's size.
fn raw_pipe(server: &Path) -> (Duration, usize) {
    let start = Instant::now();
    let mut child = Command::new(server)
        .args(["--tools", &TOOLS.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-11-25","capabilities":{{}},"clientInfo":{{"name":"raw","version":"0"}}}}}}"#).unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","method":"notifications/initialized"}}"#
    )
    .unwrap();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":2,"method":"tools/list"}}"#).unwrap();
    line.clear();
    stdout.read_line(&mut line).unwrap();
    drop(stdin);
    child.wait().unwrap();
    (start.elapsed(), line.len())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}
