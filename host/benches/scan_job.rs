//! The distributed path: one catalog of local targets (each runs the example server as a
//! command, so no pod per target is needed) scanned twice, as figures and a ratio measured in
//! the same run:
//!
//! 1. unsharded: one `mcp-probe scan CATALOG -j 8 -o jsonl --no-cache --output-file F`;
//! 2. as an Indexed Job on the simulator (kube-sim): `completions` scanner pods, `parallelism`
//!    at a time, each the real `mcp-probe scan CATALOG -j 8 -o jsonl --no-cache` with its shard
//!    from `JOB_COMPLETION_INDEX` and `MCP_PROBE_SHARDS`, as `examples/scan-job.yaml` runs it;
//!    its pods' logs (all of them, stdout and stderr as a cluster keeps them) fetched as shard
//!    files and joined with `mcp-probe scan merge`.
//!
//! The merge must equal the unsharded run line for line (the same targets in catalog order,
//! each line equal but for the `duration_ms` of the line and its report), and every line must
//! be `ok`, else the bench panics. Printed: both wall times and their ratio, each completion's
//! run time (from its container's start and finish), the scanner pods' peak RSS, the log
//! fetch and the merge (time, peak RSS).
//!
//! `MCP_PROBE_BENCH_JOB=TARGETS,COMPLETIONS,PARALLELISM` (default `100000,20,2`: the issue's
//! figures on a 2-core machine; the two scans take about ten minutes each there).
//!
//! Run: `cargo bench -p mcp-probe --bench scan_job`.

mod support;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::example_server;

const SCANNER_IMAGE: &str = "mcp-probe-scanner:bench";
const JOB: &str = "mcp-probe-scan";
const JOBS_PER_SCANNER: &str = "8";

fn main() {
    let (targets, completions, parallelism) = sizes();
    let (root, probe) = support::root_and_probe();
    let example = example_server(&root, &probe);
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog.json");
    write_catalog(&catalog, &example, targets);
    let plugin_cache = dir.path().join("plugin-cache");
    println!(
        "mcp-probe scan, distributed ({}): {targets} local targets, an Indexed Job of \
         {completions} completions, {parallelism} at a time, -j {JOBS_PER_SCANNER} each",
        probe.display()
    );

    let unsharded = dir.path().join("unsharded.jsonl");
    let single = support::measure(
        Command::new(&probe)
            .arg("scan")
            .arg(&catalog)
            .args([
                "-j",
                JOBS_PER_SCANNER,
                "-o",
                "jsonl",
                "--no-cache",
                "--output-file",
            ])
            .arg(&unsharded)
            .env("MCP_PROBE_CACHE_DIR", &plugin_cache),
        Duration::from_millis(20),
    );
    assert_eq!(single.code, Some(0), "{}", single.stderr);
    println!(
        "  unsharded scan          {:8.1} s  {:6.2} ms/target  peak RSS {:6.1} MB",
        single.wall.as_secs_f64(),
        per_target_ms(single.wall, targets),
        single.peak as f64 / 1e6
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let scanner = vec![probe.display().to_string()];
    let sim = support::simulator(&runtime, [(SCANNER_IMAGE.to_string(), scanner)]);
    let mut config = kube::Config::new(sim.url().parse().unwrap());
    config.default_namespace = "default".into();
    let client = {
        let _in_runtime = runtime.enter();
        kube::Client::try_from(config).unwrap()
    };
    let job = JobRun {
        jobs: Api::default_namespaced(client.clone()),
        pods: Api::default_namespaced(client),
    };
    let watcher = PeakWatcher::start(&probe);
    let started = Instant::now();
    runtime.block_on(job.create(&catalog, &plugin_cache, completions, parallelism));
    runtime.block_on(job.wait_complete(Duration::from_secs(4 * 3600)));
    let job_wall = started.elapsed();
    let scanner_peak_mb = watcher.stop() as f64 / 1e6;

    let fetch_start = Instant::now();
    let (shards, runs) = runtime.block_on(job.fetch_logs(dir.path(), completions));
    let fetch = fetch_start.elapsed();
    println!(
        "  Indexed Job             {:8.1} s  {:6.2} ms/target  ({:.2}x the unsharded scan)",
        job_wall.as_secs_f64(),
        per_target_ms(job_wall, targets),
        job_wall.as_secs_f64() / single.wall.as_secs_f64()
    );
    println!(
        "    a completion ran      {:8} s median, {} s slowest, {} s fastest ({} targets each)",
        runs[runs.len() / 2],
        runs[runs.len() - 1],
        runs[0],
        targets.div_ceil(completions)
    );
    println!("    scanner peak RSS      {scanner_peak_mb:8.1} MB (the largest of its pods)");
    println!(
        "    logs fetched          {:8.2} s  ({:.1} MB)",
        fetch.as_secs_f64(),
        shards
            .iter()
            .map(|s| s.metadata().unwrap().len())
            .sum::<u64>() as f64
            / 1e6
    );

    let merged = dir.path().join("merged.jsonl");
    let merge = support::measure(
        Command::new(&probe)
            .args(["scan", "merge"])
            .args(&shards)
            .arg("--output-file")
            .arg(&merged),
        Duration::from_millis(5),
    );
    assert_eq!(merge.code, Some(0), "{}", merge.stderr);
    println!(
        "  scan merge              {:8.2} s  peak RSS {:6.1} MB",
        merge.wall.as_secs_f64(),
        merge.peak as f64 / 1e6
    );
    let equal = same_results(&merged, &unsharded, targets);
    println!("  merge equals the unsharded run: {equal} lines, every one `ok`");
    runtime.block_on(job.delete());
    runtime.block_on(sim.shutdown());
}

fn sizes() -> (usize, usize, usize) {
    let spec = std::env::var("MCP_PROBE_BENCH_JOB").unwrap_or_else(|_| "100000,20,2".into());
    let numbers: Vec<usize> = spec
        .split(',')
        .map(|n| n.trim().parse().expect("MCP_PROBE_BENCH_JOB: numbers"))
        .collect();
    match numbers[..] {
        [t, c, p] if t > 0 && c > 0 && p > 0 => (t, c, p),
        _ => panic!("MCP_PROBE_BENCH_JOB: TARGETS,COMPLETIONS,PARALLELISM, each above 0"),
    }
}

fn per_target_ms(wall: Duration, targets: usize) -> f64 {
    wall.as_secs_f64() * 1000.0 / targets as f64
}

fn write_catalog(path: &Path, example: &Path, n: usize) {
    let targets: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("local-{i:06}"), "command": [example]}))
        .collect();
    std::fs::write(path, json!({ "targets": targets }).to_string()).unwrap();
}

struct JobRun {
    jobs: Api<Job>,
    pods: Api<Pod>,
}

impl JobRun {
    /// The Job of `examples/scan-job.yaml`, its catalog a path (the fake kubelet runs the
    /// scanner on this machine) instead of a ConfigMap.
    async fn create(&self, catalog: &Path, cache: &Path, completions: usize, parallelism: usize) {
        let job: Job = serde_json::from_value(json!({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": JOB},
            "spec": {
                "completionMode": "Indexed", "completions": completions,
                "parallelism": parallelism, "backoffLimit": 0,
                "template": {"spec": {"restartPolicy": "Never", "containers": [{
                    "name": "mcp-probe", "image": SCANNER_IMAGE,
                    "args": ["scan", catalog, "-j", JOBS_PER_SCANNER, "-o", "jsonl", "--no-cache"],
                    "env": [
                        {"name": "MCP_PROBE_SHARDS", "value": completions.to_string()},
                        {"name": "MCP_PROBE_CACHE_DIR", "value": cache},
                    ],
                }]}},
            },
        }))
        .unwrap();
        self.jobs
            .create(&PostParams::default(), &job)
            .await
            .unwrap();
    }

    /// Waits for the Complete condition; a Failed one, or `limit`, panics.
    async fn wait_complete(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let job = self.jobs.get(JOB).await.unwrap();
            let conditions = job.status.and_then(|s| s.conditions).unwrap_or_default();
            let holds = |kind: &str| {
                conditions
                    .iter()
                    .any(|c| c.type_ == kind && c.status == "True")
            };
            if holds("Complete") {
                return;
            }
            assert!(!holds("Failed"), "the Job failed: {conditions:?}");
            assert!(
                Instant::now() < deadline,
                "the Job did not finish in {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Each completion's whole log as `shard-I.jsonl` (in index order) and the seconds each
    /// completion's container ran, sorted.
    async fn fetch_logs(&self, dir: &Path, completions: usize) -> (Vec<PathBuf>, Vec<i64>) {
        let selector = format!("batch.kubernetes.io/job-name={JOB}");
        let pods = self
            .pods
            .list(&ListParams::default().labels(&selector))
            .await
            .unwrap();
        assert_eq!(pods.items.len(), completions, "one pod per completion");
        let mut shards = vec![PathBuf::new(); completions];
        let mut runs = Vec::new();
        for pod in pods.items {
            let annotations = pod.metadata.annotations.clone().unwrap_or_default();
            let index: usize = annotations["batch.kubernetes.io/job-completion-index"]
                .parse()
                .unwrap();
            let name = pod.metadata.name.clone().unwrap();
            let log = self.pods.logs(&name, &LogParams::default()).await.unwrap();
            let path = dir.join(format!("shard-{index:02}.jsonl"));
            std::fs::write(&path, log).unwrap();
            shards[index] = path;
            let state = pod.status.unwrap().container_statuses.unwrap()[0]
                .state
                .clone()
                .unwrap();
            let done = state.terminated.expect("the scanner finished");
            assert_eq!(done.exit_code, 0, "completion {index} exited {done:?}");
            let (start, end) = (done.started_at.unwrap().0, done.finished_at.unwrap().0);
            runs.push(start.duration_until(end).as_secs());
        }
        runs.sort();
        (shards, runs)
    }

    async fn delete(&self) {
        let background = DeleteParams::background();
        self.jobs.delete(JOB, &background).await.unwrap();
    }
}

/// Whether `merged` holds the lines of `unsharded` sorted by catalog index (a scan writes its
/// lines as targets finish), each equal but for the times taken (`duration_ms` of the line and
/// of its report; `timestamp` if a report has one); panics where not. Returns the line count.
fn same_results(merged: &Path, unsharded: &Path, targets: usize) -> usize {
    let open = |path: &Path| BufReader::new(std::fs::File::open(path).unwrap()).lines();
    let mut sorted: Vec<Option<String>> = vec![None; targets];
    for line in open(unsharded) {
        let line = line.unwrap();
        let index = serde_json::from_str::<Value>(&line).unwrap()["index"]
            .as_u64()
            .unwrap() as usize;
        assert!(sorted[index].replace(line).is_none(), "index {index} twice");
    }
    let mut count = 0;
    for (line, expected) in open(merged).zip(&sorted) {
        let expected = expected
            .as_deref()
            .expect("every index in the unsharded run");
        let (a, b) = (without_times(&line.unwrap()), without_times(expected));
        assert_eq!(a["outcome"], "ok", "{a}");
        assert!(a == b, "line {count} differs: {a} vs {b}");
        count += 1;
    }
    assert_eq!(count, targets, "one merged line per target");
    count
}

fn without_times(line: &str) -> Value {
    let mut value: Value = serde_json::from_str(line).unwrap();
    let line = value.as_object_mut().unwrap();
    line.remove("duration_ms");
    if let Some(report) = line.get_mut("report").and_then(Value::as_object_mut) {
        report.remove("duration_ms");
        report.remove("timestamp");
    }
    value
}

/// The highest VmHWM among running `PROBE scan …` processes other than this bench's own
/// children (the scanner pods), polled every 100 ms until stopped.
struct PeakWatcher {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<u64>,
}

impl PeakWatcher {
    fn start(probe: &Path) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let probe = probe.to_path_buf();
        let thread = std::thread::spawn({
            let stop = stop.clone();
            move || {
                let mut peak = 0;
                while !stop.load(Ordering::SeqCst) {
                    peak = peak.max(scanner_peak(&probe));
                    std::thread::sleep(Duration::from_millis(100));
                }
                peak
            }
        });
        PeakWatcher { stop, thread }
    }

    /// The peak in bytes.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap() * 1024
    }
}

/// The largest VmHWM (KiB) of a process whose command line is `PROBE scan …` right now.
fn scanner_peak(probe: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let wanted = format!("{}\0scan\0", probe.display());
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c.starts_with(wanted.as_bytes()))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("status")).ok())
        .filter_map(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .max()
        .unwrap_or(0)
}
