//! The global `-v`, `-q` and `--log-format` flags: the tracing subscriber on stderr and the
//! shape of the one final error line (see `fail()`).

use clap::{ArgAction, Args, ValueEnum};
use mcp_probe::terminal;
use std::io::IsTerminal;
use std::sync::OnceLock;
use tracing::field::Field;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{debug_fn, Writer};
use tracing_subscriber::fmt::FormatFields;

/// How stderr is written: log lines and the final error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Lines for people (`mcp-probe: error: …`).
    #[default]
    Text,
    /// One JSON object per line, the final error included (`level`, `message`, `exit_code`).
    Json,
}

/// Accepted by every command, before or after its name.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Logs on stderr: -v debug (the session's transcript), -vv trace.
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only the final error on stderr: no warnings, notes or progress bar.
    #[arg(short = 'q', long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// text, or json: one JSON object per line on stderr, the final error too.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t,
        global = true
    )]
    pub log_format: LogFormat,
}

/// Set once by [`settle`]; before that (a usage error) text and not quiet.
static SETTINGS: OnceLock<(LogFormat, bool)> = OnceLock::new();

/// Installs the subscriber the flags ask for: mcp-probe's warnings (a cleanup that left
/// something, an unusable cache, a plugin's warning) by default, nothing with `-q`, debug
/// with `-v`, trace with `-vv`. RUST_LOG is not read: the HTTP libraries' own trace logs
/// would print request headers (credentials).
pub fn init(args: &LogArgs) {
    settle(args.log_format, args.quiet);
    if args.quiet {
        return;
    }
    let level = match args.verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::new(format!("mcp_probe={level}"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    let _ = match args.log_format {
        LogFormat::Text => builder
            .fmt_fields(escaped_fields())
            .with_ansi(use_ansi())
            .try_init(),
        // `message` at the top level, as in the final error line.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_ansi(false)
            .try_init(),
    };
}

/// The text format's fields (`message` bare, others `name=value`), each value escaped for the
/// terminal: a log line quoting a server (its stderr at -v, a plugin's warning) stays one line
/// with no control sequence in it.
fn escaped_fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    debug_fn(
        |writer: &mut Writer<'_>, field: &Field, value: &dyn std::fmt::Debug| {
            let text = format!("{value:?}");
            match field.name() {
                "message" => write!(writer, "{}", terminal::safe(&text)),
                name => write!(writer, "{name}={}", terminal::safe(&text)),
            }
        },
    )
    .delimited(" ")
}

/// Colour only for a person: stderr is a terminal and NO_COLOR (https://no-color.org) unset.
fn use_ansi() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

/// Fixes the format and `-q` for the rest of the run (the first call wins).
pub fn settle(format: LogFormat, quiet: bool) {
    let _ = SETTINGS.set((format, quiet));
}

pub fn format() -> LogFormat {
    SETTINGS.get().map_or(LogFormat::Text, |s| s.0)
}

/// `-q`: informational notes on stderr (and the progress bar) are left out.
pub fn quiet() -> bool {
    SETTINGS.get().is_some_and(|s| s.1)
}

/// The final error as one line on stderr, in the chosen format: text escaped for the terminal
/// (it may quote a server's stderr or error message), JSON as it is (data).
pub fn print_error(exit_code: u8, message: &str) {
    match format() {
        LogFormat::Text => eprintln!("mcp-probe: error: {}", terminal::one_line(message)),
        LogFormat::Json => eprintln!(
            "{}",
            serde_json::json!({
                "level": "ERROR",
                "message": message.replace(['\n', '\r'], " "),
                "exit_code": exit_code
            })
        ),
    }
}

/// Whether the raw arguments ask for JSON logs, for a usage error clap found before the flags
/// were parsed.
pub fn json_requested(args: &[std::ffi::OsString]) -> bool {
    let ours = &args[..args.iter().position(|a| a == "--").unwrap_or(args.len())];
    ours.iter().any(|arg| arg == "--log-format=json")
        || ours
            .windows(2)
            .any(|w| w[0] == "--log-format" && w[1] == "json")
}
