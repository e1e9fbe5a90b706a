//! `mcp-probe scan CATALOG`: discovery over a catalog of servers, a JSON line per target as it
//! finishes (or a table at the end), a progress bar on a terminal, Ctrl-C without leftovers.

use super::discover::{init_tracing, interrupt_signal};
use super::kube_args::PodArgs;
use super::session_args::SessionArgs;
use super::validate::ProbePipelineArgs;
use super::{exit, fail, write_stdout};
use indicatif::{ProgressBar, ProgressStyle};
use mcp_probe::atomic_file::AtomicFile;
use mcp_probe::discover::DiscoverOptions;
use mcp_probe::scan::shard::line_outcome;
use mcp_probe::scan::{merge, scan, Catalog, ScanOptions, Shard, TargetResult};
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
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
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
    #[command(flatten)]
    pub session: SessionArgs,
    #[command(flatten)]
    pub pod: PodArgs,
    #[command(flatten)]
    pub pipeline: ProbePipelineArgs,
    /// Debug logs on stderr.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
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

/// Where the output goes: stdout, or a temporary file renamed into place at the end.
enum Sink {
    Stdout,
    File(AtomicFile),
}

impl Sink {
    fn open(path: Option<&Path>) -> std::io::Result<Sink> {
        match path {
            Some(path) => AtomicFile::create(path, ".mcp-probe-scan-").map(Sink::File),
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
    init_tracing(args.verbose);
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
    let pipeline = args.pipeline.load()?;
    let options = ScanOptions {
        jobs: args.jobs as usize,
        image_jobs: args.image_jobs as usize,
        shard,
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
    let mut sink = Sink::open(args.output_file.as_deref())
        .map_err(|e| (exit::FAILURE, format!("cannot write the output: {e}")))?;
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
    let mut results: Vec<TargetResult> = Vec::new();
    let mut write_error = None;
    let finished = runtime
        .block_on(async {
            let interrupt = interrupt_signal()?;
            Ok::<_, std::io::Error>(
                scan(&catalog, &options, &pipeline, interrupt, |result| {
                    progress.inc(1);
                    progress.set_message(format!("{} {}", result.name, result.outcome.as_str()));
                    if args.output == ScanFormat::Jsonl && write_error.is_none() {
                        let mut line = serde_json::to_string(&result).expect("a result serializes");
                        line.push('\n');
                        write_error = sink.write(&line).err();
                    }
                    results.push(result);
                })
                .await,
            )
        })
        .map_err(|e| (exit::FAILURE, format!("cannot watch for Ctrl-C: {e}")))?;
    progress.finish_and_clear();
    if let Some(err) = write_error {
        return Err((exit::FAILURE, format!("cannot write the output: {err}")));
    }
    if args.output != ScanFormat::Jsonl && finished {
        results.sort_by_key(|r| r.index);
        let text = match args.output {
            ScanFormat::Table => table(&results),
            _ => sarif(catalog_path, &results),
        };
        sink.write(&text)
            .map_err(|e| (exit::FAILURE, format!("cannot write the output: {e}")))?;
    }
    sink.finish()
        .map_err(|e| (exit::FAILURE, format!("cannot write the output: {e}")))?;
    if !finished {
        return Err((exit::INTERRUPTED, "interrupted".into()));
    }
    Ok(ExitCode::from(exit_code(&results)))
}

/// `scan merge`: the shards' lines in catalog order, exit code as for one scan.
fn merge_shards(shards: &[PathBuf], output: Option<&Path>) -> Result<ExitCode, (u8, String)> {
    let mut texts = Vec::new();
    for path in shards {
        let text = std::fs::read_to_string(path)
            .map_err(|e| (exit::USAGE, format!("cannot read {}: {e}", path.display())))?;
        texts.push((path.display().to_string(), text));
    }
    let merged = merge(&texts).map_err(|e| (exit::FAILURE, e.to_string()))?;
    let mut text = String::new();
    for line in &merged {
        text.push_str(&line.text);
        text.push('\n');
    }
    let written = match output {
        Some(path) => mcp_probe::atomic_file::write(path, ".mcp-probe-merge-", &[text.as_bytes()]),
        None => write_stdout(&text),
    };
    written.map_err(|e| (exit::FAILURE, format!("cannot write the output: {e}")))?;
    let outcomes: Vec<(bool, bool)> = merged.iter().map(|l| line_outcome(&l.value)).collect();
    Ok(ExitCode::from(if outcomes.iter().any(|(ok, _)| !ok) {
        exit::FAILURE
    } else if outcomes.iter().any(|(_, finding)| *finding) {
        exit::FINDINGS
    } else {
        exit::OK
    }))
}

/// 1 when a target failed, else 3 when a report has an error-severity finding, else 0.
fn exit_code(results: &[TargetResult]) -> u8 {
    if results.iter().any(|r| !r.outcome.is_success()) {
        exit::FAILURE
    } else if results.iter().any(|r| {
        r.report
            .as_ref()
            .is_some_and(|rep| rep.has_error_findings())
    }) {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

/// A bar on stderr when it is a terminal; hidden otherwise (CI logs stay clean).
fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// The SARIF log of a scan: findings per target, and each failure as an error finding.
fn sarif(catalog: &Path, results: &[TargetResult]) -> String {
    use mcp_probe::model::{Finding, Severity};
    let subjects: Vec<mcp_probe::sarif::Subject> = results
        .iter()
        .map(|r| {
            let mut findings = r
                .report
                .as_ref()
                .map(|rep| rep.findings.clone())
                .unwrap_or_default();
            if !r.outcome.is_success() {
                findings.push(Finding {
                    tool: None,
                    rule: format!("scan-{}", r.outcome.as_str().replace('_', "-")),
                    severity: Severity::Error,
                    message: r.error.clone().unwrap_or_default(),
                    source: "host".into(),
                });
            }
            mcp_probe::sarif::Subject {
                target: r.name.clone(),
                findings,
            }
        })
        .collect();
    let text = std::fs::read_to_string(catalog).unwrap_or_default();
    let artifact = catalog.display().to_string();
    let mut out = mcp_probe::sarif::log(&artifact, &text, &subjects).to_string();
    out.push('\n');
    out
}

/// One row per target, in catalog order.
fn table(results: &[TargetResult]) -> String {
    let width = results
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!(
        "{:width$}  {:19}  {:>5}  {:>6}  {:>8}  error\n",
        "name", "outcome", "tools", "errors", "ms"
    );
    for r in results {
        let tools = r.report.as_ref().map_or(0, |rep| rep.tools.len());
        let errors = r.report.as_ref().map_or(0, |rep| {
            rep.findings
                .iter()
                .filter(|f| f.severity == mcp_probe::model::Severity::Error)
                .count()
        });
        let error: String = r.error.as_deref().unwrap_or("").chars().take(100).collect();
        out.push_str(&format!(
            "{:width$}  {:19}  {tools:>5}  {errors:>6}  {:>8}  {error}\n",
            r.name,
            r.outcome.as_str(),
            r.duration_ms
        ));
    }
    out
}
