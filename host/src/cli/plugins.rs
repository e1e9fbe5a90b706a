//! `mcp-probe plugins list` and `mcp-probe plugins check FILE.wasm`.

use super::{exit, BadInput, OutputFormat};
use anyhow::Result;
use clap::{Args, Subcommand};
use mcp_probe::plugins::{self, builtin, PipelineConfig, PluginError};
use mcp_probe::terminal::safe;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(subcommand)]
    pub command: PluginsCommand,
}

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List the built-in plugins and the stages of a pipeline file.
    List {
        /// Pipeline configuration whose stages to list.
        #[arg(long, value_name = "FILE")]
        pipeline: Option<PathBuf>,
        #[arg(short, long, value_enum)]
        output: Option<OutputFormat>,
    },
    /// Say which world a component targets and whether this host would run it.
    Check {
        #[arg(value_name = "FILE.wasm")]
        file: PathBuf,
        #[arg(short, long, value_enum)]
        output: Option<OutputFormat>,
    },
}

pub fn run(args: PluginsArgs) -> Result<u8> {
    match args.command {
        PluginsCommand::List { pipeline, output } => list(pipeline, output),
        PluginsCommand::Check { file, output } => check(file, output),
    }
}

/// One row of `plugins list`: inspected, not compiled, so listing stays fast.
fn describe(origin: &str, role: &str) -> Result<Value> {
    let (name, bytes) = plugins::pipeline::plugin_bytes(origin).map_err(bad_input)?;
    let info = plugins::plugin::check(&name, &bytes).map_err(bad_input)?;
    Ok(json!({
        "name": name,
        "origin": origin,
        "role": role,
        "world": info.world.wit_name(),
        "wit_version": info.wit_version,
        "size": bytes.len(),
        "sha256": plugins::cache::sha256_hex(&bytes),
    }))
}

/// Plugin errors about what the operator supplied exit 2; run-time failures exit 1.
pub fn bad_input(e: PluginError) -> anyhow::Error {
    if e.is_bad_input() {
        BadInput(e.to_string()).into()
    } else {
        e.into()
    }
}

fn list(pipeline: Option<PathBuf>, output: Option<OutputFormat>) -> Result<u8> {
    let mut rows = Vec::new();
    for b in builtin::ALL {
        rows.push(describe(
            &format!("{}{}", builtin::PREFIX, b.name),
            "built-in",
        )?);
    }
    if let Some(path) = pipeline {
        let config = PipelineConfig::load(&path).map_err(bad_input)?;
        for (index, stage) in config.stages.iter().enumerate() {
            let mut row = describe(&stage.plugin, &format!("stage {}", index + 1))?;
            row["on_error"] = json!(match stage.on_error {
                plugins::OnError::Skip => "skip",
                plugins::OnError::Fail => "fail",
            });
            rows.push(row);
        }
    }
    let document = json!({ "plugins": rows });
    let text = match OutputFormat::resolve(output) {
        OutputFormat::Json => format!("{document}\n"),
        OutputFormat::Yaml => super::to_yaml(&document)?,
        OutputFormat::Table => {
            let mut out = format!(
                "{:<22} {:<10} {:<18} {:<7} {:>9}  SHA256\n",
                "NAME", "ROLE", "WORLD", "WIT", "SIZE"
            );
            // A plugin's file name and what it declares reach the terminal escaped.
            let cell = |r: &Value, key: &str| safe(r[key].as_str().unwrap_or("")).into_owned();
            for r in &rows {
                out.push_str(&format!(
                    "{:<22} {:<10} {:<18} {:<7} {:>9}  {}\n",
                    cell(r, "name"),
                    cell(r, "role"),
                    cell(r, "world"),
                    cell(r, "wit_version"),
                    r["size"],
                    cell(r, "sha256"),
                ));
            }
            out
        }
    };
    super::write_stdout(&text)?;
    Ok(exit::OK)
}

/// Exit 0 when the host would run it, 1 when refused, 2 when the file cannot be read.
fn check(file: PathBuf, output: Option<OutputFormat>) -> Result<u8> {
    let bytes = mcp_probe::input_file::read(&file, mcp_probe::input_file::Kind::Plugin)
        .map_err(|e| BadInput(format!("cannot read {}: {e}", file.display())))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.display().to_string());
    // Inspection refuses wrong files clearly; loading also type-checks the exports.
    let loaded = plugins::LoadedPlugin::load(
        &name,
        &bytes,
        plugins::Limits::default(),
        plugins::ArtifactCache::open_default().as_ref(),
    )?;
    let info = loaded.info();
    let report = json!({
        "file": file.display().to_string(),
        "ok": true,
        "world": info.world.wit_name(),
        "wit_version": info.wit_version,
        "host_wit_version": plugins::inspect::WIT_VERSION,
        "imports": info.imports,
        "exports": info.exports,
        "forbidden_imports": [],
        "size": bytes.len(),
        "sha256": loaded.sha256(),
    });
    let text = match OutputFormat::resolve(output) {
        OutputFormat::Json => format!("{report}\n"),
        OutputFormat::Yaml => super::to_yaml(&report)?,
        OutputFormat::Table => format!(
            "{}: ok\n  world:       {}\n  WIT version: {} (host supports {})\n  imports:     {}\n  exports:     {}\n  sha256:      {}\n",
            safe(&file.display().to_string()),
            info.world.wit_name(),
            safe(&info.wit_version),
            plugins::inspect::WIT_VERSION,
            safe(&info.imports.join(", ")),
            safe(&info.exports.join(", ")),
            loaded.sha256()
        ),
    };
    super::write_stdout(&text)?;
    Ok(exit::OK)
}
