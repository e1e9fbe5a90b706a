//! mcp-example-server: a small MCP server for demos, tests and benchmarks.
//!
//! stdio (newline-delimited JSON-RPC) by default; `--http ADDR` serves Streamable HTTP on
//! POST /mcp instead (JSON replies, `Mcp-Session-Id`, DELETE ends a session).
//! It speaks the `initialize` era (2024-11-05 to 2025-11-25) and the stateless revision
//! 2026-07-28; `--era` restricts it to one of them.

mod catalog;
mod http;
mod modern;
mod protocol;

use clap::Parser;
use protocol::{Era, Offer};
use serde_json::{json, Value};
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "mcp-example-server", version, about)]
struct Args {
    /// How many tools to offer: a realistic set first, then generated `lookup_record_NNN` tools.
    #[arg(long, default_value_t = 5)]
    tools: usize,
    /// Items per list page (tools, prompts, resources); 0 serves everything in one page.
    #[arg(long, default_value_t = 0)]
    page_size: usize,
    /// stdio only: print log lines on stdout around every message, as careless servers do.
    #[arg(long)]
    noise: bool,
    /// Offer prompts too; with N, that many (the realistic two first, then generated ones).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "2")]
    prompts: Option<usize>,
    /// Offer resources and resource templates too; with N, that many resources (the realistic
    /// one first, then generated ones).
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1")]
    resources: Option<usize>,
    /// Hostile: every list page has a next cursor, a new one each time (after the last page
    /// the list starts over), so a list never ends.
    #[arg(long)]
    endless_pages: bool,
    /// Hostile: every list page carries a `padding` member of this many bytes (with
    /// `--endless-pages`: endless pages of a chosen size, cheap to make and to read).
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    page_padding: usize,
    /// Hostile: `METHOD=JSON` puts that JSON value as `resultType` into every result of the
    /// list METHOD (e.g. `tools/list="input_required"`), in both eras. Repeatable.
    #[arg(long, value_name = "METHOD=JSON", value_parser = parse_result_type)]
    result_type: Vec<(String, Value)>,
    /// Serve Streamable HTTP on this address (port 0 picks a free one) instead of stdio.
    /// The address actually bound is printed on stderr as `listening on http://ADDR/mcp`.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// Protocol eras to speak: `both` decides per request (modern `_meta` present or not).
    #[arg(long, value_enum, default_value_t = Era::Both)]
    era: Era,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let offer = Offer {
        tools: catalog::tools(args.tools),
        page_size: args.page_size,
        prompts: args.prompts.map(catalog::prompts),
        resources: args.resources.map(catalog::resources),
        era: args.era,
        endless_pages: args.endless_pages,
        page_padding: args.page_padding,
        result_types: args.result_type,
    };
    let outcome = match args.http {
        Some(addr) => http::serve(addr, offer),
        None => serve_stdio(&offer, args.noise),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mcp-example-server: error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `METHOD=JSON`, for `--result-type`.
fn parse_result_type(arg: &str) -> Result<(String, Value), String> {
    let (method, json) = arg
        .split_once('=')
        .ok_or_else(|| format!("expected METHOD=JSON, got {arg:?}"))?;
    let value = serde_json::from_str(json).map_err(|e| format!("{json:?} is not JSON: {e}"))?;
    Ok((method.to_owned(), value))
}

/// Reads one JSON-RPC message (or batch) per line until stdin closes.
fn serve_stdio(offer: &Offer, noise: bool) -> std::io::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    if noise {
        writeln!(
            stdout,
            "mcp-example-server {} starting (stdio)",
            env!("CARGO_PKG_VERSION")
        )?;
        stdout.flush()?;
    }
    // Lines are split on bytes so that invalid UTF-8 gets a parse error, not a crash.
    for line in stdin.split(b'\n') {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let reply = match serde_json::from_slice::<Value>(&line) {
            Ok(Value::Array(batch)) => {
                let replies: Vec<Value> = batch
                    .iter()
                    .filter_map(|m| protocol::handle(offer, m))
                    .collect();
                (!replies.is_empty()).then_some(Value::Array(replies))
            }
            Ok(message) => protocol::handle(offer, &message),
            Err(error) => Some(json!({
                "jsonrpc": "2.0", "id": null,
                "error": {"code": -32700, "message": format!("Parse error: {error}")}
            })),
        };
        if noise {
            let method = serde_json::from_slice::<Value>(&line)
                .ok()
                .and_then(|m| m.get("method").and_then(Value::as_str).map(str::to_owned));
            writeln!(
                stdout,
                "[info] handling {}",
                method.as_deref().unwrap_or("a message")
            )?;
        }
        if let Some(reply) = reply {
            writeln!(stdout, "{reply}")?;
        }
        if noise {
            writeln!(stdout, "[debug] done")?;
        }
        stdout.flush()?;
    }
    Ok(())
}
