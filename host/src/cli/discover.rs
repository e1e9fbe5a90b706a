//! `mcp-probe discover`: arguments, output, exit codes, Ctrl-C.

use super::exit;
use super::validate::{load_pipeline, PipelineArgs};
use super::OutputFormat;
use mcp_probe::discover::{discover, DiscoverError, DiscoverOptions};
use mcp_probe::mcp::{ClientCapabilities, SessionOptions};
use mcp_probe::plugins::Pipeline;
use mcp_probe::report::Report;
use mcp_probe::target::Target;
use mcp_probe::transport::stdio::DEFAULT_MAX_LINE_BYTES;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// List the tools (and prompts and resources) an MCP server offers.
#[derive(Debug, clap::Args)]
#[command(arg_required_else_help = true)]
pub struct DiscoverArgs {
    /// A running server's URL (without an MCP path, /mcp, the base URL and /sse are tried).
    #[arg(long, conflicts_with = "command", required_unless_present = "command")]
    pub url: Option<String>,
    /// The command that starts a stdio server (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
    /// json (default when stdout is not a terminal) or table.
    #[arg(short = 'o', long = "output", value_enum)]
    pub output: Option<OutputFormat>,
    /// Bounds the whole discovery, in seconds.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_secs)]
    pub timeout: Duration,
    /// Bounds each JSON-RPC request, in seconds (never more than --timeout).
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs)]
    pub request_timeout: Duration,
    /// Client capabilities to declare: a comma list of roots,sampling,elicitation, or `none`.
    #[arg(
        long,
        value_name = "LIST",
        default_value = "roots,sampling,elicitation"
    )]
    pub capabilities: ClientCapabilities,
    /// The most pages one list method may take.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub page_cap: u64,
    /// The longest stdout line read as a message; longer lines are dropped as noise.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_LINE_BYTES as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_line_bytes: u64,
    /// Extra environment for the command, K=V (repeatable).
    #[arg(short = 'e', long = "env", value_name = "K=V", value_parser = parse_env, conflicts_with = "url")]
    pub env: Vec<(String, String)>,
    /// Extra HTTP header for a URL target, "Name: value" (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER", value_parser = parse_header, conflicts_with = "command")]
    pub headers: Vec<(String, String)>,
    #[command(flatten)]
    pub stages: PipelineArgs,
    /// Validator policy (JSON, or TOML when the name ends in .toml).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Pin file written by `mcp-probe lock`; its pins join the policy under `pins`.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Transcript and debug logs on stderr.
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
}

fn parse_secs(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0 * 365.0) {
        return Err(format!("`{text}` must be a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("`{text}` is not K=V")),
    }
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("`{text}` is not \"Name: value\"")),
    }
}

/// Prints the one-line error and gives the exit code.
fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    let line = message.to_string().replace(['\n', '\r'], " ");
    eprintln!("mcp-probe: error: {line}");
    ExitCode::from(code)
}

/// The pipeline the flags ask for; a bad file or flag is exit 2, anything else exit 1.
fn build_pipeline(args: &DiscoverArgs) -> Result<Pipeline, (u8, String)> {
    load_pipeline(&args.stages, args.policy.as_deref(), args.lock.as_deref()).map_err(|err| {
        let code = if err.downcast_ref::<super::BadInput>().is_some() {
            exit::USAGE
        } else {
            exit::FAILURE
        };
        (code, format!("{err:#}"))
    })
}

fn init_tracing(verbose: u8) {
    if verbose == 0 {
        return;
    }
    let level = if verbose == 1 { "debug" } else { "trace" };
    let filter = tracing_subscriber::EnvFilter::new(format!("mcp_probe={level}"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true)
        .try_init();
}

pub fn run(args: DiscoverArgs) -> ExitCode {
    init_tracing(args.verbose);
    let target = match (&args.url, args.command.split_first()) {
        (Some(url), _) => Target::Url {
            url: url.clone(),
            headers: args.headers.clone(),
        },
        (None, Some((program, rest))) => Target::Command {
            program: program.clone(),
            args: rest.to_vec(),
            env: args.env.clone(),
        },
        (None, None) => return fail(exit::USAGE, "give --url URL or -- CMD [ARGS...]"),
    };
    let pipeline = match build_pipeline(&args) {
        Ok(pipeline) => pipeline,
        Err((code, message)) => return fail(code, message),
    };
    let options = DiscoverOptions {
        target,
        session: SessionOptions {
            capabilities: args.capabilities,
            request_timeout: args.request_timeout.min(args.timeout),
            page_cap: args.page_cap as usize,
        },
        timeout: args.timeout,
        max_line_bytes: usize::try_from(args.max_line_bytes).unwrap_or(usize::MAX),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            return fail(
                exit::FAILURE,
                format!("cannot start the async runtime: {err}"),
            )
        }
    };
    let outcome = runtime.block_on(async {
        // Registered before anything starts, so an early Ctrl-C still goes through cleanup.
        let interrupt = interrupt_signal()?;
        Ok::<_, std::io::Error>(discover(&options, &pipeline, interrupt).await)
    });
    let report = match outcome {
        Err(err) => return fail(exit::FAILURE, format!("cannot watch for Ctrl-C: {err}")),
        Ok(Err(DiscoverError::Interrupted)) => return fail(exit::INTERRUPTED, "interrupted"),
        Ok(Err(err)) if err.is_bad_input() => return fail(exit::USAGE, err),
        Ok(Err(err)) => return fail(exit::FAILURE, err),
        Ok(Ok(report)) => report,
    };
    let format = args.output.unwrap_or(
        if args.output_file.is_none() && std::io::stdout().is_terminal() {
            OutputFormat::Table
        } else {
            OutputFormat::Json
        },
    );
    let text = match format {
        OutputFormat::Json => report.to_json_string(),
        OutputFormat::Table => report.to_table(),
    };
    let written = match &args.output_file {
        Some(path) => mcp_probe::atomic_file::write(path, ".mcp-probe-report-", &[text.as_bytes()]),
        None => std::io::stdout().lock().write_all(text.as_bytes()),
    };
    if let Err(err) = written {
        let target = args.output_file.as_deref().unwrap_or(Path::new("stdout"));
        return fail(
            exit::FAILURE,
            format!("cannot write {}: {err}", target.display()),
        );
    }
    exit_code(&report)
}

fn exit_code(report: &Report) -> ExitCode {
    ExitCode::from(if report.has_error_findings() {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

/// Completes on SIGINT (Ctrl-C), SIGTERM or SIGHUP.
fn interrupt_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => {}
        }
    })
}
