//! `mcp-probe validate TOOLS.json`: the pipeline on a saved tool list.

use super::interrupt::Interrupt;
use super::plugins::bad_input;
use super::{exit, BadInput, OutputFormat};
use anyhow::Result;
use clap::Args;
use mcp_probe::model::{Finding, Severity};
use mcp_probe::plugins::{inputs, Pipeline, PipelineConfig};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A saved tools/list result ({"tools":[...]}), a bare array, or a discover report.
    #[arg(value_name = "TOOLS.json")]
    pub tools: PathBuf,
    /// Validator policy (JSON, or TOML when the name ends in .toml).
    #[arg(long, value_name = "P")]
    pub policy: Option<PathBuf>,
    /// Pin file written by `mcp-probe lock`; its pins join the policy under `pins`.
    #[arg(long, value_name = "L")]
    pub lock: Option<PathBuf>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// json (default when stdout is not a terminal), yaml, table, or sarif (SARIF 2.1.0 for
    /// code scanning; locations point at the lines naming each tool).
    #[arg(short, long, value_enum)]
    pub output: Option<ValidateFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ValidateFormat {
    Json,
    Yaml,
    Table,
    Sarif,
}

/// The stages and the validator's policy and pins, as `discover` and `scan` take them.
#[derive(Debug, Args)]
pub struct ProbePipelineArgs {
    #[command(flatten)]
    pub stages: PipelineArgs,
    /// Validator policy (JSON, or TOML when the name ends in .toml).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Pin file written by `mcp-probe lock`; its pins join the policy under `pins`.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
}

impl ProbePipelineArgs {
    /// The pipeline these flags ask for; a bad file or flag is exit 2, anything else exit 1.
    pub fn load(&self) -> std::result::Result<Pipeline, (u8, String)> {
        load_pipeline(&self.stages, self.policy.as_deref(), self.lock.as_deref()).map_err(|err| {
            let code = match err.downcast_ref::<BadInput>() {
                Some(_) => exit::USAGE,
                None => exit::FAILURE,
            };
            (code, format!("{err:#}"))
        })
    }
}

/// `--pipeline FILE` and `--plugin PATH...`, shared with `lock`.
#[derive(Debug, Args)]
pub struct PipelineArgs {
    /// Pipeline configuration (stages in order).
    #[arg(long, value_name = "FILE")]
    pub pipeline: Option<PathBuf>,
    /// Append a plugin stage (world detected), repeatable.
    #[arg(long = "plugin", value_name = "PATH")]
    pub plugins: Vec<PathBuf>,
}

impl PipelineArgs {
    pub fn load(&self) -> Result<Pipeline> {
        let mut config = match &self.pipeline {
            Some(path) => PipelineConfig::load(path).map_err(bad_input)?,
            None => PipelineConfig::default(),
        };
        for path in &self.plugins {
            config.push_plugin(path);
        }
        Pipeline::from_config(&config).map_err(bad_input)
    }
}

/// A saved tool list, as `validate` and `lock` read it.
pub fn read_tools(path: &Path) -> Result<inputs::ToolsFile> {
    inputs::read_tools(path).map_err(|e| BadInput(e.to_string()).into())
}

/// The pipeline the flags ask for: `--pipeline`/`--plugin`, with `--policy` and the pins of
/// `--lock` handed to the validators. Shared by `validate`, `discover` and `scan`.
pub fn load_pipeline(
    stages: &PipelineArgs,
    policy: Option<&Path>,
    lock: Option<&Path>,
) -> Result<Pipeline> {
    inputs::with_policy(stages.load()?, policy, lock).map_err(|e| BadInput(e.to_string()).into())
}

pub fn run(args: ValidateArgs) -> Result<u8> {
    let interrupt = Interrupt::watch()?;
    let format = args.output.unwrap_or(match OutputFormat::resolve(None) {
        OutputFormat::Table => ValidateFormat::Table,
        _ => ValidateFormat::Json,
    });
    let inputs::ToolsFile {
        tools,
        context,
        text,
    } = interrupt.or(read_tools(&args.tools))?;
    // Only SARIF points at lines of the file; other formats do not hold its text (the size of
    // the list) through the pipeline.
    let sarif_text = (format == ValidateFormat::Sarif).then_some(text);
    let pipeline = interrupt.or(load_pipeline(
        &args.pipeline,
        args.policy.as_deref(),
        args.lock.as_deref(),
    ))?;
    let processed = interrupt.or(pipeline.process(tools, &context).map_err(Into::into))?;
    let has_error = processed
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error);
    let text = match format {
        ValidateFormat::Json => serde_json::to_string(&processed)? + "\n",
        ValidateFormat::Yaml => super::to_yaml(&processed)?,
        ValidateFormat::Table => table(processed.tools.len(), &processed.findings),
        ValidateFormat::Sarif => {
            let subject = mcp_probe::sarif::Subject {
                target: String::new(),
                findings: processed.findings,
            };
            let artifact = args.tools.display().to_string();
            let text = sarif_text.unwrap_or_default();
            format!("{}\n", mcp_probe::sarif::log(&artifact, &text, &[subject]))
        }
    };
    super::write_stdout(&text)?;
    Ok(if has_error { exit::FINDINGS } else { exit::OK })
}

/// The findings, drawn as `discover` draws them, and a count of each severity.
fn table(tool_count: usize, findings: &[Finding]) -> String {
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    format!(
        "{}{tool_count} tools; {} errors, {} warnings, {} info\n",
        mcp_probe::report::finding_lines(findings),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    )
}
