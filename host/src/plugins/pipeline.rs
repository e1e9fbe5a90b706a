//! The pipeline of plugin stages. The seam the session side calls; it knows nothing of MCP
//! transports: it takes tools (or a transcript) and gives tools and findings.

use super::bindings as wit;
use super::builtin;
use super::cache::ArtifactCache;
use super::config::{OnError, PipelineConfig, StageSpec};
use super::convert;
use super::engine;
use super::inspect::World;
use super::plugin::LoadedPlugin;
use super::schema;
use super::unicode;
pub use super::PluginError;
use crate::model::{Finding, Severity, Tool, Transcript};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the tool list came from (becomes the WIT `context`).
#[derive(Debug, Clone, Default)]
pub struct DiscoveryContext {
    /// What the operator named: image, URL or command line.
    pub source: String,
    /// `local_mcp_stdio`, `url_streamable_http`, `url_sse`, `file`, ...
    pub discovery_method: String,
    pub server_info: Option<Value>,
}

/// The tools after every normalizer and validator stage, with all their findings: what
/// `validate` prints (`mcp-probe schema validation`).
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct Processed {
    pub tools: Vec<Tool>,
    pub findings: Vec<Finding>,
}

/// A tool list a parser plugin found in the transcript of a failed session.
#[derive(Debug, Clone)]
pub struct Recovered {
    /// The name of the plugin that recovered it.
    pub plugin: String,
    pub tools: Vec<Tool>,
}

/// A loaded plugin in its place in the pipeline.
#[derive(Debug, Clone)]
pub struct Stage {
    pub plugin: Arc<LoadedPlugin>,
    pub on_error: OnError,
    pub config: Option<Value>,
    /// `builtin:NAME` or the component's path.
    pub origin: String,
}

/// An ordered list of stages. Normalizers and validators run in file order in
/// [`Pipeline::process`]; parsers only in [`Pipeline::recover`].
#[derive(Debug, Default)]
pub struct Pipeline {
    stages: Vec<Stage>,
    policy: Option<Value>,
}

/// Reads a plugin's bytes: embedded for `builtin:NAME`, else from the file.
pub fn plugin_bytes(spec: &str) -> Result<(String, std::borrow::Cow<'static, [u8]>), PluginError> {
    if spec.starts_with(builtin::PREFIX) {
        let found = builtin::find(spec).ok_or_else(|| PluginError::NoSuchBuiltin {
            plugin: spec.to_string(),
        })?;
        if found.bytes.is_empty() {
            return Err(PluginError::Failed {
                plugin: spec.to_string(),
                message: "this build of mcp-probe was made without the built-in plugin's \
                          component (plugins/dist was missing)"
                    .into(),
            });
        }
        return Ok((spec.to_string(), found.bytes.into()));
    }
    let path = PathBuf::from(spec);
    let name = plugin_name(&path);
    let bytes =
        crate::input_file::read(&path, crate::input_file::Kind::Plugin).map_err(|source| {
            PluginError::Unreadable {
                plugin: name.clone(),
                path: path.clone(),
                source,
            }
        })?;
    Ok((name, bytes.into()))
}

/// A file plugin's name in reports: its file name.
fn plugin_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

impl Pipeline {
    /// The default pipeline: the built-in normalize, validate and parse plugins.
    pub fn builtin() -> Result<Self, PluginError> {
        Self::from_config(&PipelineConfig::default())
    }

    /// Loads every stage of `config`, using the default compiled-artifact cache.
    pub fn from_config(config: &PipelineConfig) -> Result<Self, PluginError> {
        Self::from_config_with_cache(config, ArtifactCache::open_default().as_ref())
    }

    /// Loads every stage of `config`; `cache: None` compiles everything in memory.
    /// A pipeline without a parser stage gets the built-in parser as its fallback.
    pub fn from_config_with_cache(
        config: &PipelineConfig,
        cache: Option<&ArtifactCache>,
    ) -> Result<Self, PluginError> {
        let mut stages = Vec::with_capacity(config.stages.len() + 1);
        for spec in &config.stages {
            stages.push(load_stage(spec, cache)?);
        }
        if !stages.iter().any(|s| s.plugin.world() == World::Parser) {
            let mut parse = StageSpec::for_path("builtin:parse");
            parse.plugin = "builtin:parse".into();
            stages.push(load_stage(&parse, cache)?);
        }
        Ok(Pipeline {
            stages,
            policy: None,
        })
    }

    /// Sets the policy every validator gets (merged over each stage's own `config`).
    pub fn with_policy(mut self, policy: Value) -> Self {
        self.policy = Some(policy);
        self
    }

    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    fn context(ctx: &DiscoveryContext, stage: &Stage) -> wit::Context {
        wit_context(ctx, stage.config.as_ref())
    }

    /// What decides this pipeline's output, as a sha256 (hex): each stage's component,
    /// placement, limits and config, and the policy. A scan's cached results are only reused
    /// under the same identity, so a changed policy or plugin never replays old findings.
    pub fn identity(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for stage in &self.stages {
            let limits = stage.plugin.limits();
            let config = stage.config.as_ref().map(Value::to_string);
            let line = format!(
                "{}|{:?}|{:?}|{:?}|{}\n",
                stage.plugin.sha256(),
                stage.plugin.world(),
                stage.on_error,
                limits,
                config.unwrap_or_default()
            );
            hash.update(line.as_bytes());
        }
        if let Some(policy) = &self.policy {
            hash.update(b"policy|");
            hash.update(policy.to_string().as_bytes());
        }
        hex::encode(hash.finalize())
    }

    /// Checks, before any tools arrive, the policy each stage of the built-in validator will
    /// get (its own reader, natively): a bad policy is the operator's input, not a plugin
    /// failure. Other validators read their policies themselves.
    pub fn check_builtin_policies(&self) -> Result<(), String> {
        let builtin = format!("{}validate", builtin::PREFIX);
        for stage in self.stages.iter().filter(|s| s.origin == builtin) {
            mcp_probe_plugin_core::Policy::from_json_text(&self.policy_for(stage))
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The severities of the host's own rules (a scan baseline's): the `rules` of the policy the
    /// built-in validator gets (its stage config overlaid with the pipeline's policy), else of
    /// the pipeline's policy alone. One policy file thus sets both, and stays valid for both.
    pub fn host_policy(&self) -> Result<mcp_probe_plugin_core::Policy, String> {
        let builtin = format!("{}validate", builtin::PREFIX);
        let policy = match self.stages.iter().find(|s| s.origin == builtin) {
            Some(stage) => serde_json::from_str(&self.policy_for(stage)).ok(),
            None => self.policy.clone(),
        };
        let rules = policy
            .as_ref()
            .and_then(|p| p.get("rules"))
            .cloned()
            .unwrap_or_else(|| Value::Object(Default::default()));
        let only_rules = serde_json::json!({ "rules": rules }).to_string();
        mcp_probe_plugin_core::Policy::from_json_text(&only_rules).map_err(|e| e.to_string())
    }

    /// The policy text for a validator stage: its `config`, overlaid key by key with the
    /// pipeline's policy; `{}` (the plugin's built-in default) when neither exists.
    fn policy_for(&self, stage: &Stage) -> String {
        let mut policy = match &stage.config {
            Some(Value::Object(map)) => map.clone(),
            _ => serde_json::Map::new(),
        };
        if let Some(Value::Object(overlay)) = &self.policy {
            for (key, value) in overlay {
                policy.insert(key.clone(), value.clone());
            }
        }
        Value::Object(policy).to_string()
    }

    /// Runs the normalizer and validator stages in order, then the host's checks
    /// (text that was not valid Unicode, schemas).
    /// The tools cross into WIT form once, pass through every stage so, and come back once.
    pub fn process(
        &self,
        tools: Vec<Tool>,
        ctx: &DiscoveryContext,
    ) -> Result<Processed, PluginError> {
        let mut processed = self.run_plugins(tools, ctx)?;
        processed
            .findings
            .extend(unicode::check_tools(&processed.tools));
        processed
            .findings
            .extend(schema::check_tools(&processed.tools));
        if engine::interrupted() {
            return Err(PluginError::Interrupted);
        }
        Ok(processed)
    }

    /// [`Self::process`] without the host's schema check: only the plugins' work.
    pub fn run_plugins(
        &self,
        tools: Vec<Tool>,
        ctx: &DiscoveryContext,
    ) -> Result<Processed, PluginError> {
        self.run_stages(tools, ctx, false)
    }

    /// Runs only the normalizer stages (what `lock` pins: the tools validators will see).
    pub fn normalize(
        &self,
        tools: Vec<Tool>,
        ctx: &DiscoveryContext,
    ) -> Result<Processed, PluginError> {
        self.run_stages(tools, ctx, true)
    }

    fn run_stages(
        &self,
        tools: Vec<Tool>,
        ctx: &DiscoveryContext,
        normalizers_only: bool,
    ) -> Result<Processed, PluginError> {
        let mut findings = Vec::new();
        // The tools' text moves into the records (no copy is kept: what comes back unchanged
        // is known valid by comparison with these).
        let sent: Vec<wit::Tool> = tools.into_iter().map(convert::tool_to_wit).collect();
        // The latest normalizer's output; `None` while no normalizer has run (or all were
        // skipped): then the input tools need no conversion back.
        let mut normalized: Option<Vec<wit::Tool>> = None;
        for stage in &self.stages {
            if engine::interrupted() {
                return Err(PluginError::Interrupted);
            }
            let wit_ctx = Self::context(ctx, stage);
            let current = normalized.as_deref().unwrap_or(&sent);
            let result =
                match stage.plugin.world() {
                    World::Normalizer => stage.plugin.normalize_wit(current, &wit_ctx).map(
                        |(tools, stage_findings)| {
                            normalized = Some(tools);
                            stage_findings
                        },
                    ),
                    World::Validator if !normalizers_only => {
                        stage
                            .plugin
                            .validate_wit(current, &self.policy_for(stage), &wit_ctx)
                    }
                    World::Validator | World::Parser => continue,
                };
            match result {
                Ok(stage_findings) => findings.extend(stage_findings),
                // An interrupt is never a stage failure to skip.
                Err(PluginError::Interrupted) => return Err(PluginError::Interrupted),
                Err(e) => findings.push(skip_or_fail(stage, e)?),
            }
        }
        let tools = if let Some(normalized) = normalized {
            // Every normalizer's output was checked as it came back, so this cannot fail.
            convert::tools_back_from_wit(normalized, &sent)
        } else {
            convert::tools_from_sent(sent)
        }
        .map_err(|message| PluginError::Malformed {
            plugin: "pipeline".into(),
            message,
        })?;
        Ok(Processed { tools, findings })
    }

    /// Asks each parser stage in order for a tool list; the first `Some` wins.
    pub fn recover(&self, transcript: &Transcript) -> Result<Option<Recovered>, PluginError> {
        for stage in self
            .stages
            .iter()
            .filter(|s| s.plugin.world() == World::Parser)
        {
            let config = stage.config.as_ref().map(Value::to_string);
            match stage.plugin.parse(transcript, config.as_deref()) {
                Ok(Some(tools)) => {
                    return Ok(Some(Recovered {
                        plugin: stage.plugin.name().to_string(),
                        tools,
                    }))
                }
                Ok(None) => {}
                Err(PluginError::Interrupted) => return Err(PluginError::Interrupted),
                Err(e) => {
                    let skipped = skip_or_fail(stage, e)?;
                    tracing::warn!("{}", skipped.message);
                }
            }
        }
        Ok(None)
    }
}

/// The WIT `context` for a call, with a stage's `config`.
pub fn wit_context(ctx: &DiscoveryContext, config: Option<&Value>) -> wit::Context {
    wit::Context {
        source: ctx.source.clone(),
        discovery_method: ctx.discovery_method.clone(),
        server_info: ctx.server_info.as_ref().map(Value::to_string),
        config: config.map(Value::to_string),
    }
}

/// `Err` for an `on-error = "fail"` stage; for `skip`, the warning that records the skip.
fn skip_or_fail(stage: &Stage, error: PluginError) -> Result<Finding, PluginError> {
    match stage.on_error {
        OnError::Fail => Err(error),
        OnError::Skip => Ok(Finding {
            tool: None,
            rule: "plugin-skipped".into(),
            severity: Severity::Warning,
            message: format!("stage skipped (on-error = \"skip\"): {error}"),
            source: schema::SOURCE.into(),
        }),
    }
}

/// Loads the plugin of one stage and checks its `world` expectation.
pub fn load_stage(spec: &StageSpec, cache: Option<&ArtifactCache>) -> Result<Stage, PluginError> {
    let (name, bytes) = plugin_bytes(&spec.plugin)?;
    let plugin = LoadedPlugin::load(&name, &bytes, spec.limits(), cache)?;
    if let Some(expected) = spec.expected_world() {
        if plugin.world() != expected {
            return Err(PluginError::Incompatible {
                plugin: name,
                message: format!(
                    "the pipeline expects {expected} but it targets {}",
                    plugin.world()
                ),
            });
        }
    }
    Ok(Stage {
        plugin: Arc::new(plugin),
        on_error: spec.on_error,
        config: spec.config.clone(),
        origin: spec.plugin.clone(),
    })
}
