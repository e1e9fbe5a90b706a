//! `mcp-probe discover`: arguments, output, exit codes, Ctrl-C.

use super::kube_args::PodArgs;
use super::session_args::SessionArgs;
use super::validate::ProbePipelineArgs;
use super::{exit, fail};
use mcp_probe::atomic_file::{Destination, OutputError};
use mcp_probe::discover::{discover, DiscoverError, DiscoverOptions};
use mcp_probe::report::Report;
use mcp_probe::runtime::kubernetes;
use mcp_probe::runtime::ErrorKind;
use mcp_probe::target::{ImageTarget, Target};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// List the tools (and prompts and resources) an MCP server offers.
#[derive(Debug, clap::Args)]
#[command(arg_required_else_help = true)]
pub struct DiscoverArgs {
    /// A running server's URL (without an MCP path, /mcp, the base URL and /sse are tried).
    #[arg(long, conflicts_with_all = ["command", "image"], required_unless_present_any = ["command", "image"])]
    pub url: Option<String>,
    /// A container image to run as a Pod in Kubernetes (its args after `--`).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// The command that starts a stdio server, or with --image the server's args (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
    /// json (default when stdout is not a terminal), yaml, or table.
    #[arg(short = 'o', long = "output", value_enum)]
    pub output: Option<ReportFormat>,
    /// With --image: print the manifests that would be created (yaml unless -o json) and
    /// touch nothing.
    #[arg(long, requires = "image")]
    pub dry_run: bool,
    #[command(flatten)]
    pub pod: PodArgs,
    #[command(flatten)]
    pub session: SessionArgs,
    /// Extra environment for the command, K=V (repeatable).
    #[arg(short = 'e', long = "env", value_name = "K=V", value_parser = super::session_args::parse_env, conflicts_with = "url")]
    pub env: Vec<(String, String)>,
    /// Extra HTTP header for a URL target, "Name: value" (repeatable).
    #[arg(short = 'H', long = "header", value_name = "HEADER", conflicts_with_all = ["command", "image"])]
    pub headers: Vec<String>,
    #[command(flatten)]
    pub pipeline: ProbePipelineArgs,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

/// How the report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Json,
    Yaml,
    Table,
}

/// Headers are checked after clap (whose usage error would quote the value, a credential) and
/// before anything starts: names, control characters, the headers mcp-probe sets itself.
fn parse_headers(raw: &[String]) -> Result<Vec<(String, String)>, String> {
    raw.iter()
        .map(|h| mcp_probe::runtime::url::parse_header(h).map_err(|e| format!("-H: {e}")))
        .collect()
}

pub fn run(args: DiscoverArgs) -> ExitCode {
    if !args.pod.secret_env.is_empty() && args.image.is_none() {
        return fail(exit::USAGE, "--secret-env applies to --image targets");
    }
    let session = match args.session.options() {
        Ok(session) => session,
        Err(message) => return fail(exit::USAGE, message),
    };
    let headers = match parse_headers(&args.headers) {
        Ok(headers) => headers,
        Err(message) => return fail(exit::USAGE, message),
    };
    let target = match (&args.url, &args.image, args.command.split_first()) {
        (Some(url), _, _) => Target::Url {
            url: url.clone(),
            headers,
        },
        (None, Some(image), _) => Target::Image(ImageTarget {
            image: image.clone(),
            args: args.command.clone(),
            env: args.env.clone(),
            secret_env: args.pod.secret_env.clone(),
        }),
        (None, None, Some((program, rest))) => Target::Command {
            program: program.clone(),
            args: rest.to_vec(),
            env: args.env.clone(),
        },
        (None, None, None) => {
            return fail(
                exit::USAGE,
                "give --url URL, --image IMAGE or -- CMD [ARGS...]",
            )
        }
    };
    if args.dry_run {
        return dry_run(&args, &target);
    }
    // A path that cannot take the report is bad input before any server starts.
    if let Some(Err(err)) = args.output_file.as_deref().map(Destination::of) {
        let code = match err.is_bad_input() {
            true => exit::USAGE,
            false => exit::FAILURE,
        };
        return fail(code, err.line("--output-file"));
    }
    let pipeline = match args.pipeline.load() {
        Ok(pipeline) => pipeline,
        Err((code, message)) => return fail(code, message),
    };
    let options = DiscoverOptions {
        target,
        session,
        timeout: args.session.timeout,
        max_line_bytes: args.session.max_line_bytes(),
        kubernetes: args.pod.options(),
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
    // A signal after the tools arrived (formatting, writing) must stop the run too: this flag
    // sees every one, also those the async handler below has already consumed.
    let late_signal = match super::interrupt::Interrupt::watch() {
        Ok(flag) => flag,
        Err(err) => return fail(exit::FAILURE, format!("cannot watch for Ctrl-C: {err}")),
    };
    let outcome = runtime.block_on(async {
        // Registered before anything starts, so an early Ctrl-C still goes through cleanup.
        let interrupt = interrupt_signal()?;
        Ok::<_, std::io::Error>(discover(&options, &pipeline, interrupt).await)
    });
    let report = match outcome {
        Err(err) => return fail(exit::FAILURE, format!("cannot watch for Ctrl-C: {err}")),
        Ok(Err(err)) => return fail(exit_for(&err), err),
        Ok(Ok(report)) => report,
    };
    if late_signal.check().is_err() {
        return fail(exit::INTERRUPTED, "interrupted");
    }
    let format = args.output.unwrap_or(
        if args.output_file.is_none() && std::io::stdout().is_terminal() {
            ReportFormat::Table
        } else {
            ReportFormat::Json
        },
    );
    let text = match format {
        ReportFormat::Json => report.to_json_string(),
        ReportFormat::Yaml => match serde_saphyr::to_string(&report) {
            Ok(text) => text,
            Err(err) => return fail(exit::FAILURE, format!("cannot write YAML: {err}")),
        },
        ReportFormat::Table => report.to_table(),
    };
    if late_signal.check().is_err() {
        return fail(exit::INTERRUPTED, "interrupted");
    }
    let written = match &args.output_file {
        Some(path) => {
            mcp_probe::atomic_file::write_output(path, ".mcp-probe-report-", text.as_bytes())
        }
        None => super::write_stdout(&text).map_err(|source| OutputError::Io {
            path: "stdout".into(),
            source,
        }),
    };
    if let Err(err) = written {
        let code = match err.is_bad_input() {
            true => exit::USAGE,
            false => exit::FAILURE,
        };
        return fail(code, err.line("--output-file"));
    }
    exit_code(&report)
}

fn exit_for(err: &DiscoverError) -> u8 {
    match err.kind() {
        ErrorKind::BadInput => exit::USAGE,
        ErrorKind::Failure => exit::FAILURE,
        ErrorKind::Interrupted => exit::INTERRUPTED,
    }
}

/// `--dry-run`: the manifests a probe would create, printed; nothing is sent to the cluster.
fn dry_run(args: &DiscoverArgs, target: &Target) -> ExitCode {
    let Target::Image(image) = target else {
        return fail(exit::USAGE, "--dry-run applies to --image targets");
    };
    if let Err(err) = kubernetes::check_target(image) {
        return fail(exit::USAGE, err);
    }
    let options = args.pod.options();
    let namespace = options
        .cluster
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let transports = options.transports();
    let with_service = options.reach == kubernetes::Reach::Service
        || (options.reach == kubernetes::Reach::Auto
            && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some());
    let mut documents = Vec::new();
    for transport in transports {
        documents.extend(kubernetes::manifests(
            image,
            transport,
            &options,
            &namespace,
            args.session.timeout,
            with_service,
        ));
    }
    let text = match args.output {
        Some(ReportFormat::Json) => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": documents});
            format!("{}\n", serde_json::to_string_pretty(&list).expect("json"))
        }
        _ => match serde_saphyr::to_string_multiple(&documents) {
            Ok(text) => text,
            Err(err) => return fail(exit::FAILURE, format!("cannot write YAML: {err}")),
        },
    };
    if let Err(err) = super::write_stdout(&text) {
        return fail(exit::FAILURE, format!("cannot write stdout: {err}"));
    }
    ExitCode::from(exit::OK)
}

fn exit_code(report: &Report) -> ExitCode {
    ExitCode::from(if report.has_error_findings() {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

/// Completes on SIGINT (Ctrl-C), SIGTERM or SIGHUP.
pub(super) fn interrupt_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send> {
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
