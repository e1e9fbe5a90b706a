//! Command-line parsing and dispatch. Errors are reported here, once, as one line.

mod discover;
mod duration;
mod gc;
mod interrupt;
mod kube_args;
mod lock;
mod logging;
mod plugins;
mod scan;
mod schema;
mod session_args;
mod validate;

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::process::ExitCode;

/// Exit codes shared by every command.
pub mod exit {
    pub const OK: u8 = 0;
    /// The probe failed (server unreachable, protocol error, timeout, plugin failure).
    pub const FAILURE: u8 = 1;
    /// Bad input: arguments, files, policies.
    pub const USAGE: u8 = 2;
    /// An error-severity finding exists.
    pub const FINDINGS: u8 = 3;
    /// `scan --baseline`: a tool changed since the baseline (drift at error severity).
    pub const DRIFT: u8 = 4;
    /// Interrupted (Ctrl-C), after cleanup.
    pub const INTERRUPTED: u8 = 130;
}

#[derive(Debug, Parser)]
#[command(
    name = "mcp-probe",
    version,
    about = "Find out what an MCP server offers before anyone deploys it"
)]
pub struct Cli {
    #[command(flatten)]
    pub logging: logging::LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the tools (and prompts and resources) an MCP server offers.
    Discover(Box<discover::DiscoverArgs>),
    /// Run the plugin pipeline on a saved tool list (exit 3 on an error finding).
    Validate(validate::ValidateArgs),
    /// Write a pin file: tool name -> sha256 of its canonical definition.
    Lock(lock::LockArgs),
    /// Inspect plugins.
    Plugins(plugins::PluginsArgs),
    /// Probe every server of a catalog (YAML or JSON), a JSON line per target.
    Scan(Box<scan::ScanArgs>),
    /// Print the JSON Schema of a document mcp-probe writes or reads.
    Schema(schema::SchemaArgs),
    /// Remove the Pods, Services and Secrets that killed runs left in the cluster.
    Gc(gc::GcArgs),
    /// Print a shell completion script: `mcp-probe completions bash > /etc/bash_completion.d/mcp-probe`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `-o json|yaml|table`; default json when stdout is not a terminal, else table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    /// The JSON document as YAML.
    Yaml,
    Table,
}

impl OutputFormat {
    pub fn resolve(chosen: Option<OutputFormat>) -> OutputFormat {
        chosen.unwrap_or(if std::io::stdout().is_terminal() {
            OutputFormat::Table
        } else {
            OutputFormat::Json
        })
    }
}

/// `value` as YAML, for `-o yaml` (the same document `-o json` prints).
pub fn to_yaml(value: &impl serde::Serialize) -> anyhow::Result<String> {
    serde_saphyr::to_string(value).map_err(|e| anyhow::anyhow!("cannot write YAML: {e}"))
}

/// An error about what the operator supplied: exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(err) if is_usage_error(&err) => return usage_error(&err, &args),
        // Help and versions on stdout (exit 0), and the help a bare command shows, as clap has
        // them.
        Err(err) => err.exit(),
    };
    logging::init(&cli.logging);
    let result = match cli.command {
        // discover reports its own errors: it also has to clean up and map interrupts.
        Command::Discover(args) => return discover::run(*args),
        Command::Scan(args) => return scan::run(*args),
        Command::Gc(args) => gc::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Lock(args) => lock::run(args),
        Command::Plugins(args) => plugins::run(args),
        Command::Schema(args) => schema::run(args),
        Command::Completions { shell } => completions(shell),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            let code = if error.downcast_ref::<BadInput>().is_some() {
                exit::USAGE
            } else if error.downcast_ref::<interrupt::Interrupted>().is_some() {
                exit::INTERRUPTED
            } else {
                exit::FAILURE
            };
            fail(code, format!("{error:#}"))
        }
    }
}

/// A mistake in the arguments, not a help text clap shows instead.
fn is_usage_error(err: &clap::Error) -> bool {
    use clap::error::ErrorKind;
    err.use_stderr() && err.kind() != ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
}

/// A usage error as the one error line (text, or JSON as `--log-format json` asks): clap's
/// message and its tips, without the usage text. Exit 2.
fn usage_error(err: &clap::Error, args: &[std::ffi::OsString]) -> ExitCode {
    if logging::json_requested(args) {
        logging::settle(logging::LogFormat::Json, false);
    }
    fail(exit::USAGE, usage_message(&err.render().to_string()))
}

/// `error: MESSAGE` (perhaps over several lines), then `tip: …` paragraphs, then usage:
/// the message and the tips on one line.
fn usage_message(rendered: &str) -> String {
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut paragraphs = rendered.split("\n\n");
    let error = words(paragraphs.next().unwrap_or_default());
    let mut message = error.trim_start_matches("error: ").to_owned();
    for tip in paragraphs.filter_map(|p| p.trim().strip_prefix("tip: ")) {
        message.push_str(&format!(" (tip: {})", words(tip)));
    }
    message
}

/// The completion script for `shell`, generated from the same definitions clap parses with.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    use clap::CommandFactory;
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "mcp-probe", &mut script);
    write_stdout(String::from_utf8_lossy(&script).as_bytes())?;
    Ok(exit::OK)
}

/// Set when the process started with fd 1 closed.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs before Rust's runtime starts (which quietly reopens a closed fd 1 on /dev/null, so
/// `mcp-probe … >&-` would exit 0 with the report lost): notes whether stdout was closed.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static NOTE_CLOSED_STDOUT: extern "C" fn() = {
    extern "C" fn note() {
        // SAFETY: F_GETFD only queries the descriptor table.
        if unsafe { libc::fcntl(1, libc::F_GETFD) } == -1 {
            STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    note
};

/// Writes the whole of `text` to stdout. Rust's stdout swallows writes to a closed descriptor
/// (`>&-`); a report nobody receives is a failure, so that is checked first.
pub fn write_stdout(text: impl AsRef<[u8]>) -> std::io::Result<()> {
    use std::io::Write;
    if STDOUT_CLOSED.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(std::io::Error::other("stdout is closed"));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_ref())?;
    out.flush()
}

/// The one place errors are reported: one line on stderr (text or JSON), and the exit code.
pub fn fail(code: u8, message: impl std::fmt::Display) -> ExitCode {
    logging::print_error(code, &message.to_string());
    ExitCode::from(code)
}
