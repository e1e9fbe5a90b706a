//! `mcp-probe lock TOOLS.json [-o FILE]`: pins each tool's definition by hash.
//!
//! The tools pass through the pipeline's normalizers first, because validators compare pins
//! against normalized tools; the hash is plugins/core's, the one the validator uses.

use super::interrupt::Interrupt;
use super::validate::{read_tools, PipelineArgs};
use super::{exit, BadInput};
use anyhow::Result;
use clap::Args;
use mcp_probe::plugins::inputs;
use mcp_probe::{atomic_file, lockfile};
use std::path::PathBuf;

pub const DEFAULT_LOCK_FILE: &str = "mcp-probe.lock.json";

#[derive(Debug, Args)]
pub struct LockArgs {
    /// A saved tools/list result ({"tools":[...]}), a bare array, or a discover report.
    #[arg(value_name = "TOOLS.json")]
    pub tools: PathBuf,
    /// Where to write the pins.
    #[arg(short = 'o', long = "output", value_name = "LOCKFILE", default_value = DEFAULT_LOCK_FILE)]
    pub output: PathBuf,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

pub fn run(args: LockArgs) -> Result<u8> {
    let interrupt = Interrupt::watch()?;
    // The file's text is not needed past reading it.
    let inputs::ToolsFile { tools, context, .. } = interrupt.or(read_tools(&args.tools))?;
    let pipeline = interrupt.or(args.pipeline.load())?;
    let sent = tools.clone();
    let normalized = interrupt.or(pipeline.normalize(tools, &context).map_err(Into::into))?;
    // Pins, and definition hashes (without the name) so that a scan baseline tells renames.
    let mut doc = lockfile::document(&normalized.tools).map_err(|e| BadInput(e.to_string()))?;
    // Which text the hashes are of: the default normalizer passes tools as sent.
    let covers = match normalized.tools == sent {
        true => lockfile::COVERS_AS_SENT,
        false => lockfile::COVERS_NORMALIZED,
    };
    doc["covers"] = covers.into();
    // Every tool listed is pinned, a name listed twice under each of its definitions.
    let count = normalized.tools.len();
    let text = lockfile::text(&doc);
    // The last moment to give up without writing; a signal during the write waits for it.
    interrupt.check()?;
    atomic_file::write_output(&args.output, ".mcp-probe-lock-", text.as_bytes())
        .map_err(|e| BadInput(e.line("-o")))?;
    if !super::logging::quiet() {
        eprintln!(
            "pinned {count} tools in {}",
            mcp_probe::terminal::safe(&args.output.display().to_string())
        );
    }
    Ok(exit::OK)
}
