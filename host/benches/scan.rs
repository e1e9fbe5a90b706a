//! `mcp-probe scan` over a catalog of 200 image targets against the simulator (kube-sim), each
//! an instantly ready pod running our example server over attach, as figures and ratios
//! against baselines measured in the same run:
//!
//! 1. Throughput and memory at `-j 32 --image-jobs 32`: the real `mcp-probe scan CATALOG -o
//!    jsonl` process, its wall time as probes per second (target >= 50/s) and its own peak RSS
//!    (VmHWM of /proc/PID/status, polled every 5 ms: the scan process alone, not the simulator
//!    or the pod processes, which are this bench's children; target <= 150 MB). Its CPU time
//!    (from `wait4`) is printed too, as a share of one core: the scan runs on one thread.
//! 2. The same catalog at `-j 1 --image-jobs 1`, and the ratio of the two throughputs.
//! 3. A cached rerun: a scan with `--cache-dir D` fills the result cache, a second one with the
//!    same `D` must answer every target from it (`"cached": true` on each line); its targets
//!    per second (target >= 2000/s) and its ratio over the uncached `-j 32` run of 1.
//!
//! 4. A local-target series (before the rest): catalogs of 1 000, 10 000 and 100 000 targets
//!    that each run the example server as a local command, `-j 8 -o jsonl --no-cache`: time
//!    per target at each size against the 1 000-target run (target at 100 000: within 1.25x)
//!    and the scan's peak RSS (target at 100 000: <= 100 MB). `MCP_PROBE_BENCH_LOCAL=1000,10000`
//!    picks other sizes.
//!
//! Every line of every scan must be outcome `ok`, one per target, else the bench panics.
//! The uncached runs pass `--no-cache` when the binary has it (the cache is on by default).
//!
//! Run: `cargo bench -p mcp-probe --bench scan`.

mod support;

use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{example_server, verdict};

const TARGETS: usize = 200;
const WARMUP_TARGETS: usize = 8;

fn main() {
    let (root, probe) = support::root_and_probe();
    let example = example_server(&root, &probe);
    local_series(&probe, &example);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // An image per target, all running the example server: 200 distinct references.
    let command = vec![example.display().to_string()];
    let images = (0..TARGETS).map(|i| (image_name(i), command.clone()));
    let sim = support::simulator(&runtime, images);
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.json");
    write_catalog(&catalog, TARGETS);
    let warmup = dir.path().join("warmup.json");
    write_catalog(&warmup, WARMUP_TARGETS);
    let plugin_cache = dir.path().join("plugin-cache");
    let scanner = Scanner {
        probe: probe.clone(),
        kubeconfig: sim.kubeconfig_path().to_path_buf(),
        plugin_cache,
        no_cache: has_flag(&probe, "--no-cache"),
    };
    println!(
        "mcp-probe scan benchmark ({}), {TARGETS} image targets against kube-sim",
        probe.display()
    );
    // Warm the page cache and the compiled-plugin cache.
    scanner.run(&warmup, 8, WARMUP_TARGETS);

    let wide = scanner.run(&catalog, 32, TARGETS);
    let narrow = scanner.run(&catalog, 1, TARGETS);
    let (wide_rate, narrow_rate) = (wide.rate(TARGETS), narrow.rate(TARGETS));
    println!("\nuncached, {TARGETS} instantly ready pods, example server over attach:");
    println!(
        "  -j 32 --image-jobs 32   {:8.2} s  {:8.1} probes/s (target >= 50: {})",
        wide.wall.as_secs_f64(),
        wide_rate,
        verdict(wide_rate >= 50.0)
    );
    println!(
        "                          peak RSS of mcp-probe {:6.1} MB (target <= 150 MB: {})",
        wide.peak_mb,
        verdict(wide.peak_mb <= 150.0)
    );
    println!("                          {}", wide.cpu());
    println!(
        "  -j 1 --image-jobs 1     {:8.2} s  {:8.1} probes/s, peak RSS {:.1} MB",
        narrow.wall.as_secs_f64(),
        narrow_rate,
        narrow.peak_mb
    );
    println!("                          {}", narrow.cpu());
    println!("  throughput j32 / j1     {:8.2}x", wide_rate / narrow_rate);

    let results = dir.path().join("results-cache");
    let cache_dir = results.display().to_string();
    let cache_flags = ["--cache-dir", cache_dir.as_str()];
    let fill = scanner.run_cached(&catalog, &cache_flags, false);
    let rerun = scanner.run_cached(&catalog, &cache_flags, true);
    let rerun_rate = rerun.rate(TARGETS);
    println!("\ncached rerun (--cache-dir, -j 32 --image-jobs 32):");
    println!(
        "  first run (fills)       {:8.2} s  {:8.1} probes/s",
        fill.wall.as_secs_f64(),
        fill.rate(TARGETS)
    );
    println!(
        "  second run (all cached) {:8.3} s  {:8.1} targets/s (target >= 2000: {}), peak RSS {:.1} MB",
        rerun.wall.as_secs_f64(),
        rerun_rate,
        verdict(rerun_rate >= 2000.0),
        rerun.peak_mb
    );
    println!("                          {}", rerun.cpu());
    println!("  cached / uncached j32   {:8.1}x", rerun_rate / wide_rate);
    runtime.block_on(sim.shutdown());
}

/// The local-target series (4. above).
fn local_series(probe: &Path, example: &Path) {
    let sizes: Vec<usize> = std::env::var("MCP_PROBE_BENCH_LOCAL")
        .unwrap_or_else(|_| "1000,10000,100000".into())
        .split(',')
        .map(|n| n.trim().parse().expect("MCP_PROBE_BENCH_LOCAL: sizes"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    println!("local targets (the example server as a command), -j 8 -o jsonl --no-cache:");
    let mut base: Option<f64> = None;
    for n in sizes {
        let catalog = dir.path().join(format!("local-{n}.json"));
        let targets: Vec<Value> = (0..n)
            .map(|i| serde_json::json!({"name": format!("local-{i:06}"), "command": [example]}))
            .collect();
        std::fs::write(
            &catalog,
            serde_json::json!({ "targets": targets }).to_string(),
        )
        .unwrap();
        let output = dir.path().join(format!("local-{n}.jsonl"));
        let run = support::measure(
            Command::new(probe)
                .arg("scan")
                .arg(&catalog)
                .args(["-j", "8", "-o", "jsonl", "--no-cache", "--output-file"])
                .arg(&output)
                .env("MCP_PROBE_CACHE_DIR", dir.path().join("plugin-cache")),
            Duration::from_millis(20),
        );
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        check_local_output(&output, n);
        let per_target = run.wall.as_secs_f64() * 1000.0 / n as f64;
        let peak_mb = run.peak as f64 / 1e6;
        let ratio = per_target / *base.get_or_insert(per_target);
        let targets = match n {
            100_000 => format!(
                " (targets: ratio <= 1.25 {}, RSS <= 100 MB {})",
                verdict(ratio <= 1.25),
                verdict(peak_mb <= 100.0)
            ),
            _ => String::new(),
        };
        println!(
            "  {n:>7} targets {:8.1} s  {per_target:6.2} ms/target  {ratio:5.2}x of the first  peak RSS {peak_mb:6.1} MB{targets}",
            run.wall.as_secs_f64()
        );
        std::fs::remove_file(&output).ok();
    }
}

/// Every line of a local series' output is an `ok` result, one per target.
fn check_local_output(output: &Path, targets: usize) {
    use std::io::BufRead;
    let file = std::io::BufReader::new(std::fs::File::open(output).unwrap());
    let mut count = 0;
    for line in file.lines() {
        let line: Value = serde_json::from_str(&line.unwrap()).unwrap();
        assert_eq!(line["outcome"], "ok", "{line}");
        count += 1;
    }
    assert_eq!(count, targets, "one line per target");
}

fn image_name(i: usize) -> String {
    format!("example-{i:03}:1")
}

/// `n` targets, each its own image with its own tool count (5 to 14 tools).
fn write_catalog(path: &Path, n: usize) {
    let targets: Vec<Value> = (0..n)
        .map(|i| {
            serde_json::json!({"name": format!("example-{i:03}"), "image": image_name(i),
                "args": ["--tools", (5 + i % 10).to_string()], "transport": "stdio"})
        })
        .collect();
    std::fs::write(path, serde_json::json!({"targets": targets}).to_string()).unwrap();
}

/// Whether `mcp-probe scan --help` lists `flag`.
fn has_flag(probe: &Path, flag: &str) -> bool {
    let out = Command::new(probe)
        .args(["scan", "--help"])
        .output()
        .expect("mcp-probe runs");
    String::from_utf8_lossy(&out.stdout)
        .split(|c: char| c.is_whitespace() || c == ',')
        .any(|word| word == flag)
}

struct Scanner {
    probe: std::path::PathBuf,
    kubeconfig: std::path::PathBuf,
    plugin_cache: std::path::PathBuf,
    no_cache: bool,
}

struct Run {
    wall: Duration,
    /// User + system CPU time of mcp-probe, of this process (the simulator) and of the pod
    /// processes (the example servers) during the run.
    cpu: Duration,
    sim_cpu: Duration,
    servers_cpu: Duration,
    peak_mb: f64,
    lines: Vec<Value>,
}

impl Run {
    fn rate(&self, targets: usize) -> f64 {
        targets as f64 / self.wall.as_secs_f64()
    }

    /// The CPU times, mcp-probe's also as a share of one core over the wall time.
    fn cpu(&self) -> String {
        let share = self.cpu.as_secs_f64() / self.wall.as_secs_f64() * 100.0;
        format!(
            "CPU: mcp-probe {:.2} s ({share:.0} % of one core), kube-sim {:.2} s, servers {:.2} s",
            self.cpu.as_secs_f64(),
            self.sim_cpu.as_secs_f64(),
            self.servers_cpu.as_secs_f64()
        )
    }
}

impl Scanner {
    /// An uncached scan at `-j jobs --image-jobs jobs`; every target must be `ok`.
    fn run(&self, catalog: &Path, jobs: usize, targets: usize) -> Run {
        let flags: &[&str] = if self.no_cache { &["--no-cache"] } else { &[] };
        let run = self.scan(catalog, jobs, flags);
        check_lines(&run.lines, targets);
        run
    }

    /// A scan at `-j 32 --image-jobs 32` with the result cache flags; with `all_cached`, each
    /// line must say `"cached": true`.
    fn run_cached(&self, catalog: &Path, flags: &[&str], all_cached: bool) -> Run {
        let run = self.scan(catalog, 32, flags);
        check_lines(&run.lines, TARGETS);
        if all_cached {
            let missed: Vec<&Value> = run
                .lines
                .iter()
                .filter(|l| l["cached"] != Value::Bool(true))
                .collect();
            assert!(
                missed.is_empty(),
                "{} of {TARGETS} lines of the rerun are not \"cached\": true, e.g. {}",
                missed.len(),
                missed[0]
            );
        }
        run
    }

    /// The whole `mcp-probe scan` process: its wall time, its own peak RSS and its lines.
    #[allow(clippy::zombie_processes)] // reaped by wait4, for its rusage
    fn scan(&self, catalog: &Path, jobs: usize, flags: &[&str]) -> Run {
        let jobs = jobs.to_string();
        let (self_before, children_before) =
            (cpu_of(libc::RUSAGE_SELF), cpu_of(libc::RUSAGE_CHILDREN));
        let start = Instant::now();
        let mut child = Command::new(&self.probe)
            .arg("scan")
            .arg(catalog)
            .args(["-j", &jobs, "--image-jobs", &jobs, "-o", "jsonl"])
            .args(flags)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("MCP_PROBE_CACHE_DIR", &self.plugin_cache)
            .env_remove("KUBERNETES_SERVICE_HOST")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mcp-probe runs");
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut text = String::new();
            stdout.read_to_string(&mut text).unwrap();
            text
        });
        let err = std::thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).unwrap();
            text
        });
        let pid = child.id() as libc::pid_t;
        let exited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let peak = std::thread::spawn({
            let exited = exited.clone();
            move || support::peak_rss_kib(pid as u32, &exited, Duration::from_millis(5))
        });
        // wait4 on this pid: the CPU time of mcp-probe itself (it starts no process for image
        // targets). Not its ru_maxrss: that starts from this process's RSS when it forks.
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        let wall = start.elapsed();
        assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
        exited.store(true, std::sync::atomic::Ordering::SeqCst);
        let peak_kib = peak.join().unwrap();
        let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
        let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
        assert_eq!(
            code,
            Some(0),
            "mcp-probe scan -j {jobs} {flags:?} failed: {stderr}"
        );
        let lines = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        let cpu = cpu_time(&usage);
        let children = cpu_of(libc::RUSAGE_CHILDREN).saturating_sub(children_before);
        Run {
            wall,
            cpu,
            sim_cpu: cpu_of(libc::RUSAGE_SELF).saturating_sub(self_before),
            servers_cpu: children.saturating_sub(cpu),
            peak_mb: peak_kib as f64 * 1024.0 / 1e6,
            lines,
        }
    }
}

fn cpu_time(usage: &libc::rusage) -> Duration {
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// User + system time of this process (`RUSAGE_SELF`) or its reaped children.
fn cpu_of(who: libc::c_int) -> Duration {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(who, &mut usage) }, 0);
    cpu_time(&usage)
}

/// One line per target, each outcome `ok`.
fn check_lines(lines: &[Value], targets: usize) {
    assert_eq!(lines.len(), targets, "a line per target");
    let not_ok: Vec<&Value> = lines.iter().filter(|l| l["outcome"] != "ok").collect();
    assert!(
        not_ok.is_empty(),
        "{} targets not ok, e.g. {}",
        not_ok.len(),
        not_ok.first().map(|l| l.to_string()).unwrap_or_default()
    );
}
