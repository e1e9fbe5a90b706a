//! `mcp-probe lock TOOLS.json [-o FILE]`: pins each tool's definition by hash.
//!
//! The tools pass through the pipeline's normalizers first, because validators compare pins
//! against normalized tools; the hash is plugins/core's, the one the validator uses.

use super::validate::{read_tools, PipelineArgs};
use super::{exit, BadInput};
use anyhow::Result;
use clap::Args;
use mcp_probe_plugin_core::pin::tool_hash;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

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
    let (tools, ctx) = read_tools(&args.tools)?;
    let pipeline = args.pipeline.load()?;
    let normalized = pipeline.normalize(tools, &ctx)?;
    let mut pins = Map::new();
    for tool in &normalized.tools {
        pins.insert(tool.name.clone(), Value::String(tool_hash(&tool.to_json())));
    }
    let count = pins.len();
    let doc = json!({ "version": 1, "pins": pins });
    let text = serde_json::to_string_pretty(&doc)? + "\n";
    write_atomically(&args.output, text.as_bytes())
        .map_err(|e| BadInput(format!("cannot write {}: {e}", args.output.display())))?;
    eprintln!("pinned {count} tools in {}", args.output.display());
    Ok(exit::OK)
}

/// Temp file in the same directory + rename: readers see the old file or the new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".mcp-probe-lock-")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
