//! `mcp-probe validate TOOLS.json`: the pipeline on a saved tool list.

use super::interrupt::Interrupt;
use super::plugins::bad_input;
use super::{exit, BadInput, OutputFormat};
use anyhow::Result;
use clap::Args;
use mcp_probe::model::{Finding, Severity, Tool};
use mcp_probe::plugins::{DiscoveryContext, Pipeline, PipelineConfig};
use serde_json::{Map, Value};
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

fn read_json(path: &Path, what: &str) -> Result<Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("cannot read {what} {}: {e}", path.display())))?;
    let value = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str::<Value>(&text).map_err(|e| e.message().replace('\n', " "))
    } else {
        serde_json::from_str::<Value>(&text).map_err(|e| e.to_string())
    };
    value.map_err(|e| BadInput(format!("{what} {} is not valid: {e}", path.display())).into())
}

/// The tools in a tools/list result, a bare array or a discover report, with the context
/// the report records (or `file`).
pub fn read_tools(path: &Path) -> Result<(Vec<Tool>, DiscoveryContext)> {
    let doc = read_json(path, "tool list")?;
    let mut ctx = DiscoveryContext {
        source: path.display().to_string(),
        discovery_method: "file".into(),
        server_info: None,
    };
    let entries = match doc {
        Value::Array(entries) => entries,
        Value::Object(mut obj) => {
            if let Some(Value::String(method)) = obj.get("discovery_method") {
                ctx.discovery_method = method.clone();
            }
            ctx.server_info = obj.remove("server_info").filter(|v| !v.is_null());
            match obj.remove("tools") {
                Some(Value::Array(entries)) => entries,
                _ => Err(BadInput(format!(
                    "{}: expected {{\"tools\":[...]}}, a JSON array of tools, or a discover report",
                    path.display()
                )))?,
            }
        }
        _ => Err(BadInput(format!(
            "{}: expected {{\"tools\":[...]}}, a JSON array of tools, or a discover report",
            path.display()
        )))?,
    };
    let mut tools = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        tools.push(Tool::from_json(entry).ok_or_else(|| {
            BadInput(format!(
                "{}: tool #{index} is not a JSON object",
                path.display()
            ))
        })?);
    }
    Ok((tools, ctx))
}

/// The pins of a lock file: `{"pins": {name: sha256}}` (or the bare map).
pub fn read_pins(path: &Path) -> Result<Map<String, Value>> {
    let doc = read_json(path, "lock file")?;
    let pins = match doc {
        Value::Object(mut obj) if obj.contains_key("pins") => obj.remove("pins"),
        other => Some(other),
    };
    match pins {
        Some(Value::Object(pins)) if pins.values().all(Value::is_string) => Ok(pins),
        _ => Err(BadInput(format!(
            "lock file {}: expected {{\"pins\": {{\"tool\": \"sha256\"}}}}",
            path.display()
        ))
        .into()),
    }
}

/// The pipeline the flags ask for: `--pipeline`/`--plugin`, with `--policy` and the pins of
/// `--lock` handed to the validators. Shared by `validate` and `discover`.
pub fn load_pipeline(
    stages: &PipelineArgs,
    policy: Option<&Path>,
    lock: Option<&Path>,
) -> Result<Pipeline> {
    let policy_path = policy;
    let mut policy = match policy {
        Some(path) => match read_json(path, "policy")? {
            Value::Object(map) => map,
            _ => Err(BadInput(format!(
                "policy {}: expected a JSON object",
                path.display()
            )))?,
        },
        None => Map::new(),
    };
    if let Some(lock) = lock {
        policy.insert("pins".into(), Value::Object(read_pins(lock)?));
    }
    let mut pipeline = stages.load()?;
    if !policy.is_empty() {
        pipeline = pipeline.with_policy(Value::Object(policy));
    }
    pipeline.check_builtin_policies().map_err(|e| {
        let whose = match (policy_path, lock) {
            (Some(path), _) => format!("policy {}", path.display()),
            (None, Some(lock)) => format!("lock file {}", lock.display()),
            (None, None) => "the pipeline's validator config".into(),
        };
        BadInput(format!("{whose}: {e}"))
    })?;
    Ok(pipeline)
}

pub fn run(args: ValidateArgs) -> Result<u8> {
    let interrupt = Interrupt::watch()?;
    let (tools, ctx) = interrupt.or(read_tools(&args.tools))?;
    let pipeline = interrupt.or(load_pipeline(
        &args.pipeline,
        args.policy.as_deref(),
        args.lock.as_deref(),
    ))?;
    let processed = interrupt.or(pipeline.process(tools, &ctx).map_err(Into::into))?;
    let has_error = processed
        .findings
        .iter()
        .any(|f| f.severity == Severity::Error);
    let format = args.output.unwrap_or(match OutputFormat::resolve(None) {
        OutputFormat::Table => ValidateFormat::Table,
        _ => ValidateFormat::Json,
    });
    match format {
        ValidateFormat::Json => println!("{}", serde_json::to_string(&processed)?),
        ValidateFormat::Yaml => print!("{}", super::to_yaml(&processed)?),
        ValidateFormat::Table => print_table(processed.tools.len(), &processed.findings),
        ValidateFormat::Sarif => {
            let text = std::fs::read_to_string(&args.tools).unwrap_or_default();
            let subject = mcp_probe::sarif::Subject {
                target: String::new(),
                findings: processed.findings,
            };
            let artifact = args.tools.display().to_string();
            println!("{}", mcp_probe::sarif::log(&artifact, &text, &[subject]));
        }
    }
    Ok(if has_error { exit::FINDINGS } else { exit::OK })
}

fn print_table(tool_count: usize, findings: &[Finding]) {
    if !findings.is_empty() {
        println!(
            "{:<8} {:<28} {:<24} {:<12} MESSAGE",
            "SEVERITY", "RULE", "TOOL", "SOURCE"
        );
    }
    for f in findings {
        println!(
            "{:<8} {:<28} {:<24} {:<12} {}",
            f.severity.as_str(),
            f.rule,
            f.tool.as_deref().unwrap_or("-"),
            f.source,
            f.message.replace('\n', " ")
        );
    }
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    println!(
        "{tool_count} tools; {} errors, {} warnings, {} info",
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    );
}
