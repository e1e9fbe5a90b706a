//! `mcp-probe scan CATALOG`: discovery over a catalog of servers, a JSON line per target as it
//! finishes (or a table at the end), a progress bar on a terminal, Ctrl-C without leftovers.

use super::discover::interrupt_signal;
use super::kube_args::PodArgs;
use super::session_args::SessionArgs;
use super::validate::ProbePipelineArgs;
use super::{exit, fail, write_stdout};
use indicatif::{ProgressBar, ProgressStyle};
use mcp_probe::atomic_file::{Output, OutputError};
use mcp_probe::discover::DiscoverOptions;
use mcp_probe::scan::render;
use mcp_probe::scan::{
    merge, scan, Baseline, CacheMode, Catalog, Keep, ResultCache, ScanOptions, Shard, Tally,
    Verdict,
};
use mcp_probe::target::Target;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    /// A JSON line per target as it finishes: index, name, outcome, error, log tail, report.
    Jsonl,
    /// A summary table once every target finished.
    Table,
    /// SARIF 2.1.0 once every target finished: the findings, and each failed target as a
    /// `scan-<outcome>` error, located at the catalog entry.
    Sarif,
}

/// Probe every server of a catalog.
/// How long a cached answer stays fresh without `--cache-ttl`.
const DEFAULT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

#[derive(Debug, clap::Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Exit: 0 every target answered and no error-severity finding; 1 a target \
                  failed; 4 drift: a --baseline finding at error severity (after the policy); \
                  3 another error-severity finding; 2 bad input; 130 interrupted. When several \
                  apply: 1, then 4, then 3. `scan merge` exits as one scan would have."
)]
pub struct ScanArgs {
    #[command(subcommand)]
    pub command: Option<ScanCommand>,
    /// The catalog, YAML or JSON: `targets: [{name, image | url | command, ...}]`.
    #[arg(required = true)]
    pub catalog: Option<PathBuf>,
    /// Only shard K of N (every N-th target from the K-th, K from 0). Default in an Indexed
    /// Job: K from JOB_COMPLETION_INDEX, N from MCP_PROBE_SHARDS.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// Targets probed at once.
    #[arg(short = 'j', long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub jobs: u64,
    /// Image targets probed at once (each creates a pod), within -j.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub image_jobs: u64,
    #[arg(short = 'o', long = "output", value_enum, default_value = "jsonl")]
    pub output: ScanFormat,
    /// Write the output to FILE (atomically: complete lines only, also when interrupted).
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// An earlier scan's JSON Lines (a merged one too; targets matched by name) or a lock
    /// directory (see --write-locks): each target's tools added, removed, changed or renamed
    /// since then become `baseline-*` findings, their severities set by the policy's `rules`.
    #[arg(long, value_name = "PREVIOUS.jsonl|DIR")]
    pub baseline: Option<PathBuf>,
    /// Once the scan finished, write each answering target's lock file (pins and definition
    /// hashes of its normalized tools) to DIR/<name>.lock.json: a baseline for the next scan.
    #[arg(long, value_name = "DIR")]
    pub write_locks: Option<PathBuf>,
    /// The result cache: answers are reused while fresh (no pod, no process). Default:
    /// `scan/` under MCP_PROBE_CACHE_DIR, $XDG_CACHE_HOME/mcp-probe or ~/.cache/mcp-probe.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// How long a cached answer stays fresh, e.g. 24h, 30m, 90s. Without it 24h, shortened
    /// by a server's `ttlMs`; given, it wins over the server's hint.
    #[arg(long, value_name = "DURATION", value_parser = super::duration::non_negative)]
    pub cache_ttl: Option<std::time::Duration>,
    /// Neither read nor write the result cache.
    #[arg(long, conflicts_with_all = ["refresh", "cache_dir"])]
    pub no_cache: bool,
    /// Probe every target again, and store the answers.
    #[arg(long)]
    pub refresh: bool,
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub pod: PodArgs,
    #[command(flatten)]
    pub pipeline: ProbePipelineArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum ScanCommand {
    /// Join shard outputs (JSON Lines) into one result in catalog order; a missing or
    /// duplicated target is an error.
    Merge {
        #[arg(required = true, value_name = "SHARD.jsonl")]
        shards: Vec<PathBuf>,
        /// Write the result to FILE (atomically) instead of stdout.
        #[arg(long, value_name = "FILE")]
        output_file: Option<PathBuf>,
    },
}

/// Where the output goes: stdout, or the `--output-file` (a regular file is a temporary file
/// renamed into place at the end).
enum Sink {
    Stdout,
    File(Output),
}

impl Sink {
    fn open(path: Option<&Path>) -> Result<Sink, OutputError> {
        match path {
            Some(path) => Output::open(path, ".mcp-probe-scan-").map(Sink::File),
            None => Ok(Sink::Stdout),
        }
    }

    /// Writes whole lines only: each in one call, so an interrupt never cuts one.
    fn write(&mut self, text: &str) -> std::io::Result<()> {
        match self {
            Sink::Stdout => write_stdout(text),
            Sink::File(file) => file.write_all(text.as_bytes()),
        }
    }

    fn finish(self) -> std::io::Result<()> {
        match self {
            Sink::Stdout => Ok(()),
            Sink::File(file) => file.commit(),
        }
    }
}

pub fn run(args: ScanArgs) -> ExitCode {
    let outcome = match &args.command {
        Some(ScanCommand::Merge {
            shards,
            output_file,
        }) => merge_shards(shards, output_file.as_deref()),
        None => scan_catalog(&args),
    };
    match outcome {
        Ok(code) => code,
        Err((code, message)) => fail(code, message),
    }
}

fn scan_catalog(args: &ScanArgs) -> Result<ExitCode, (u8, String)> {
    let usage = |m: String| (exit::USAGE, m);
    if !args.pod.secret_env.is_empty() {
        return Err(usage(
            "--secret-env goes in the catalog, per image target (`secret_env`)".into(),
        ));
    }
    let catalog_path = args.catalog.as_deref().expect("clap requires the catalog");
    let catalog = Catalog::read(catalog_path).map_err(|e| usage(e.to_string()))?;
    let shard = match args.shard {
        Some(shard) => Some(shard),
        None => Shard::from_env(|k| std::env::var(k).ok()).map_err(usage)?,
    };
    let session = args.session.options().map_err(usage)?;
    let baseline = match &args.baseline {
        Some(path) => Some(Baseline::read(path).map_err(|e| usage(e.to_string()))?),
        None => None,
    };
    if let Some(dir) = args
        .write_locks
        .as_deref()
        .filter(|d| d.exists() && !d.is_dir())
    {
        return Err(usage(format!(
            "--write-locks {}: not a directory",
            dir.display()
        )));
    }
    // Every lock file this run may write, checked before any server starts; each is written
    // as its target's result arrives and all are put in place at the end.
    let mut locks = match &args.write_locks {
        Some(dir) => {
            let names = catalog.targets.iter().map(|t| t.name.as_str());
            let locks = mcp_probe::lockfile::StagedLocks::new(dir, names);
            Some(locks.map_err(|e| lock_dir_error(dir, e))?)
        }
        None => None,
    };
    let pipeline = args.pipeline.load()?;
    let host_policy = pipeline.host_policy().map_err(usage)?;
    let options = ScanOptions {
        jobs: args.jobs as usize,
        image_jobs: args.image_jobs as usize,
        shard,
        cache: result_cache(args)?,
        base: DiscoverOptions {
            // Replaced by each entry's.
            target: Target::Url {
                url: String::new(),
                headers: Vec::new(),
            },
            session,
            timeout: args.session.timeout,
            max_line_bytes: args.session.max_line_bytes(),
            kubernetes: args.pod.options(),
        },
    };
    let mut sink = Sink::open(args.output_file.as_deref()).map_err(output_error)?;
    let mine = (0..catalog.targets.len()).filter(|i| shard.is_none_or(|s| s.takes(*i)));
    let progress = progress_bar(mine.count() as u64);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            (
                exit::FAILURE,
                format!("cannot start the async runtime: {e}"),
            )
        })?;
    // Stops plugin calls at once on a signal (see interrupt.rs); the async handler below stops
    // the targets and their servers.
    let _late = super::interrupt::Interrupt::watch()
        .map_err(|e| (exit::FAILURE, format!("cannot watch for Ctrl-C: {e}")))?;
    let mut tally = Tally::new(match args.output {
        ScanFormat::Jsonl => Keep::Nothing,
        ScanFormat::Table => Keep::Drift,
        ScanFormat::Sarif => Keep::AllFindings,
    });
    let mut write_error = None;
    let mut lock_error = None;
    let finished = runtime
        .block_on(async {
            let interrupt = interrupt_signal()?;
            Ok::<_, std::io::Error>(
                scan(&catalog, &options, &pipeline, interrupt, |mut result| {
                    if let Some(baseline) = &baseline {
                        baseline.apply(&mut result, &host_policy);
                    }
                    progress.inc(1);
                    progress.set_message(format!(
                        "{} {}",
                        mcp_probe::terminal::safe(&result.name),
                        result.outcome.as_str()
                    ));
                    if args.output == ScanFormat::Jsonl && write_error.is_none() {
                        let mut line = serde_json::to_string(&result).expect("a result serializes");
                        line.push('\n');
                        write_error = sink.write(&line).err();
                    }
                    if let (Some(locks), None) = (locks.as_mut(), &lock_error) {
                        if let Some(report) = &result.report {
                            lock_error = locks.add(&result.name, &report.tools).err();
                        }
                    }
                    tally.add(&result);
                })
                .await,
            )
        })
        .map_err(|e| (exit::FAILURE, format!("cannot watch for Ctrl-C: {e}")))?;
    progress.finish_and_clear();
    if let Some(err) = write_error {
        return Err(write_failed(err));
    }
    if let (Some(dir), Some(err)) = (&args.write_locks, lock_error) {
        return Err(lock_dir_error(dir, err));
    }
    let worst = tally.worst();
    if args.output != ScanFormat::Jsonl && finished {
        let summaries = tally.into_summaries();
        let text = match args.output {
            ScanFormat::Table => render::table(&summaries),
            _ => render::sarif(catalog_path, summaries),
        };
        sink.write(&text).map_err(write_failed)?;
    }
    sink.finish().map_err(write_failed)?;
    if !finished {
        return Err((exit::INTERRUPTED, "interrupted".into()));
    }
    if let Some(cache) = &options.cache {
        cache.prune();
    }
    if let (Some(dir), Some(locks)) = (&args.write_locks, locks) {
        locks.commit().map_err(|e| lock_dir_error(dir, e))?;
    }
    Ok(ExitCode::from(exit_code(worst)))
}

/// The result cache the flags ask for. A default directory that cannot be used only costs the
/// reuse (a warning); one named with --cache-dir is bad input.
fn result_cache(args: &ScanArgs) -> Result<Option<ResultCache>, (u8, String)> {
    if args.no_cache {
        return Ok(None);
    }
    let mode = match args.refresh {
        true => CacheMode::WriteOnly,
        false => CacheMode::ReadWrite,
    };
    let (dir, named) = match &args.cache_dir {
        Some(dir) => (dir.clone(), true),
        None => match ResultCache::default_dir() {
            Some(dir) => (dir, false),
            None => return Ok(None),
        },
    };
    let ttl = args.cache_ttl.unwrap_or(DEFAULT_CACHE_TTL);
    let opened = ResultCache::open(&dir, ttl, mode);
    match opened.map(|cache| cache.with_explicit_ttl(args.cache_ttl.is_some())) {
        Ok(cache) => Ok(Some(cache)),
        Err(e) if named => Err((exit::USAGE, format!("--cache-dir {}: {e}", dir.display()))),
        Err(e) => {
            tracing::warn!("scan cache {} unusable: {e}", dir.display());
            Ok(None)
        }
    }
}

/// Exit 2 for input at fault, else 1.
fn usage_or_failure(bad_input: bool) -> u8 {
    match bad_input {
        true => exit::USAGE,
        false => exit::FAILURE,
    }
}

/// The output (a file or stdout) could not be written.
fn write_failed(err: std::io::Error) -> (u8, String) {
    (exit::FAILURE, format!("cannot write the output: {err}"))
}

fn lock_dir_error(dir: &Path, err: mcp_probe::lockfile::LockDirError) -> (u8, String) {
    let code = usage_or_failure(err.is_bad_input());
    (
        code,
        format!("cannot write lock files to {}: {err}", dir.display()),
    )
}

/// An `--output-file` that cannot be written: bad input when the path cannot take one.
fn output_error(err: OutputError) -> (u8, String) {
    let code = usage_or_failure(err.is_bad_input());
    (code, err.line("--output-file"))
}

/// `scan merge`: the shards' lines in catalog order, exit code as for one scan. Streamed: the
/// shards are read twice (checked, then copied in order), never held whole.
fn merge_shards(shards: &[PathBuf], output: Option<&Path>) -> Result<ExitCode, (u8, String)> {
    use mcp_probe::input_file::{open, Kind};
    use mcp_probe::scan::shard::ShardInput;
    let mut inputs = Vec::new();
    for path in shards {
        let (file, _) = open(path, Kind::Shard)
            .map_err(|e| (exit::USAGE, format!("cannot read {}: {e}", path.display())))?;
        inputs.push(ShardInput {
            name: path.display().to_string(),
            reader: file,
        });
    }
    // Buffered, and flushed before the output is put in place.
    let mut merge_to = |out: &mut dyn std::io::Write| {
        let mut buffered = std::io::BufWriter::new(out);
        let verdict = merge(&mut inputs, &mut buffered)
            .map_err(|e| (usage_or_failure(e.is_bad_input()), e.to_string()))?;
        std::io::Write::flush(&mut buffered).map_err(write_failed)?;
        Ok::<_, (u8, String)>(verdict)
    };
    let verdict = match output {
        Some(path) => {
            let mut file = Output::open(path, ".mcp-probe-merge-").map_err(output_error)?;
            let verdict = merge_to(&mut file)?;
            file.commit().map_err(write_failed)?;
            verdict
        }
        None => merge_to(&mut StdoutLines)?,
    };
    Ok(ExitCode::from(exit_code(verdict)))
}

/// Stdout as a `Write`, through [`write_stdout`] (which refuses a closed stdout).
struct StdoutLines;

impl std::io::Write for StdoutLines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        write_stdout(bytes).map(|()| bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The worst verdict decides: 1 a target failed, else 4 drift at error severity, else 3
/// another error-severity finding, else 0.
fn exit_code(worst: Verdict) -> u8 {
    match worst {
        Verdict::Failed => exit::FAILURE,
        Verdict::Drift => exit::DRIFT,
        Verdict::Findings => exit::FINDINGS,
        Verdict::Clean => exit::OK,
    }
}

/// A bar on stderr when it is a terminal; hidden otherwise (CI logs stay clean) and with -q.
fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() || super::logging::quiet() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    // The rate and ETA come from indicatif's moving estimate, right at any catalog size.
    let style = ProgressStyle::with_template(
        "{bar:30} {human_pos}/{human_len} {per_sec:.dim} eta {eta} ({elapsed}) {wide_msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
