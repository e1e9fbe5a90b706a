//! Command-line parsing and dispatch. Errors are reported here, once, as one line.

mod discover;

use clap::{Parser, Subcommand};
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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the tools (and prompts and resources) an MCP server offers.
    Discover(discover::DiscoverArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Discover(args) => discover::run(args),
    }
}
