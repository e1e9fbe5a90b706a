//! The `mcp-probe` binary: parse arguments and dispatch; the work is in the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
