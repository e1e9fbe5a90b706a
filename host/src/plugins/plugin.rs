//! One loaded plugin: inspected, compiled (or taken from the cache) and pre-instantiated once;
//! each call then gets a fresh, bounded store.

use super::bindings::{self as wit, normalizer, parser, validator};
use super::cache::{sha256_hex, ArtifactCache, CacheOutcome};
use super::convert;
use super::engine::{classify, HostState, Limits, PluginEngine};
use super::inspect::{inspect, ComponentInfo, Refusal, World};
use super::PluginError;
use crate::model::{Finding, Tool, Transcript};
use std::sync::Arc;
use wasmtime::component::Component;
use wasmtime::Store;

enum Pre {
    Normalizer(normalizer::NormalizerPluginPre<HostState>),
    Validator(validator::ValidatorPluginPre<HostState>),
    Parser(parser::ParserPluginPre<HostState>),
}

/// A plugin ready to be called.
pub struct LoadedPlugin {
    name: Arc<str>,
    info: ComponentInfo,
    sha256: String,
    limits: Limits,
    cache: CacheOutcome,
    pre: Pre,
    engine: &'static PluginEngine,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("world", &self.info.world)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// The longest plugin-reported message kept: errors are one line on a terminal, and a
/// hostile plugin may return megabytes.
const MAX_REPORTED_CHARS: usize = 500;

fn bounded_message(message: &str) -> String {
    let one_line = message.replace(['\n', '\r'], " ");
    match one_line.char_indices().nth(MAX_REPORTED_CHARS) {
        Some((cut, _)) => format!("{}... ({} bytes in all)", &one_line[..cut], message.len()),
        None => one_line,
    }
}

/// Inspects `bytes` and turns a refusal into the error naming `plugin`.
pub fn check(plugin: &str, bytes: &[u8]) -> Result<ComponentInfo, PluginError> {
    inspect(bytes).map_err(|refusal| {
        let plugin = plugin.to_string();
        match refusal {
            Refusal::NotAComponent(message) => PluginError::NotAComponent { plugin, message },
            Refusal::ForbiddenImports(imports) => PluginError::ForbiddenImport { plugin, imports },
            Refusal::Incompatible(message) => PluginError::Incompatible { plugin, message },
        }
    })
}

impl LoadedPlugin {
    /// Inspects, compiles (through `cache` when given) and pre-instantiates a component.
    pub fn load(
        name: &str,
        bytes: &[u8],
        limits: Limits,
        cache: Option<&ArtifactCache>,
    ) -> Result<LoadedPlugin, PluginError> {
        let info = check(name, bytes)?;
        let engine = PluginEngine::shared()?;
        let failed = |e: wasmtime::Error| PluginError::Failed {
            plugin: name.to_string(),
            message: format!("{e:#}"),
        };
        let sha256 = sha256_hex(bytes);
        let (component, cache_outcome) = match cache {
            Some(cache) => cache
                .load_or_compile(engine.engine(), bytes, &sha256)
                .map_err(failed)?,
            None => (
                Component::new(engine.engine(), bytes).map_err(failed)?,
                CacheOutcome::Uncached,
            ),
        };
        let instance_pre = engine
            .linker()
            .instantiate_pre(&component)
            .map_err(failed)?;
        // The typed pre-instances check the export's signature against our bindings.
        let incompatible = |e: wasmtime::Error| PluginError::Incompatible {
            plugin: name.to_string(),
            message: format!(
                "its {} export does not match the contract: {e:#}",
                info.world
            ),
        };
        let pre = match info.world {
            World::Normalizer => Pre::Normalizer(
                normalizer::NormalizerPluginPre::new(instance_pre).map_err(incompatible)?,
            ),
            World::Validator => Pre::Validator(
                validator::ValidatorPluginPre::new(instance_pre).map_err(incompatible)?,
            ),
            World::Parser => {
                Pre::Parser(parser::ParserPluginPre::new(instance_pre).map_err(incompatible)?)
            }
        };
        Ok(LoadedPlugin {
            name: name.into(),
            info,
            sha256,
            limits,
            cache: cache_outcome,
            pre,
            engine,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn world(&self) -> World {
        self.info.world
    }
    pub fn info(&self) -> &ComponentInfo {
        &self.info
    }
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
    pub fn limits(&self) -> Limits {
        self.limits
    }
    /// Whether this load came from the compiled-artifact cache.
    pub fn cache_outcome(&self) -> CacheOutcome {
        self.cache
    }

    fn wrong_world(&self, wanted: World) -> PluginError {
        PluginError::Incompatible {
            plugin: self.name.to_string(),
            message: format!("targets {}, not {wanted}", self.info.world),
        }
    }

    /// Runs `f` in a fresh bounded store; maps traps, timeouts, limits and the plugin's own
    /// `err(...)` to typed errors.
    fn call<R>(
        &self,
        input_bytes: usize,
        f: impl FnOnce(&mut Store<HostState>) -> wasmtime::Result<Result<R, String>>,
    ) -> Result<R, PluginError> {
        let limits = self.limits.for_input(input_bytes);
        let mut store = self.engine.store(&self.name, &limits);
        match f(&mut store) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(PluginError::Reported {
                plugin: self.name.to_string(),
                message: bounded_message(&message),
            }),
            Err(e) => Err(classify(&self.name, &limits, store.data().limit_hit(), e)),
        }
    }

    fn malformed(&self, message: String) -> PluginError {
        PluginError::Malformed {
            plugin: self.name.to_string(),
            message,
        }
    }

    /// Calls a normalizer: the new tool list and what it changed.
    pub fn normalize(
        &self,
        tools: &[Tool],
        ctx: &wit::Context,
    ) -> Result<(Vec<Tool>, Vec<Finding>), PluginError> {
        let input: Vec<wit::Tool> = tools.iter().cloned().map(convert::tool_to_wit).collect();
        let (tools, findings) = self.normalize_wit(&input, ctx)?;
        let tools = convert::tools_from_wit(tools).map_err(|m| self.malformed(m))?;
        Ok((tools, findings))
    }

    /// [`Self::normalize`] on WIT records, for a pipeline that converts once for all stages.
    /// The returned records' JSON text is checked (a `Malformed` error names this plugin).
    pub fn normalize_wit(
        &self,
        input: &[wit::Tool],
        ctx: &wit::Context,
    ) -> Result<(Vec<wit::Tool>, Vec<Finding>), PluginError> {
        let Pre::Normalizer(pre) = &self.pre else {
            return Err(self.wrong_world(World::Normalizer));
        };
        let out = self.call(wit_bytes(input), |store| {
            let plugin = pre.instantiate(&mut *store)?;
            plugin
                .mcp_probe_plugin_normalizer()
                .call_normalize(&mut *store, input, ctx)
        })?;
        let mut pairing = convert::Pairing::default();
        for tool in &out.tools {
            let given = pairing.pair(input, tool).map(|i| &input[i]);
            convert::check_wit_tool(tool, given).map_err(|m| self.malformed(m))?;
        }
        let findings = out
            .findings
            .into_iter()
            .map(|f| convert::finding_from_wit(f, &self.name))
            .collect();
        Ok((out.tools, findings))
    }

    /// Calls a validator with `policy` (JSON text).
    pub fn validate(
        &self,
        tools: &[Tool],
        policy: &str,
        ctx: &wit::Context,
    ) -> Result<Vec<Finding>, PluginError> {
        let input: Vec<wit::Tool> = tools.iter().cloned().map(convert::tool_to_wit).collect();
        self.validate_wit(&input, policy, ctx)
    }

    /// [`Self::validate`] on WIT records.
    pub fn validate_wit(
        &self,
        input: &[wit::Tool],
        policy: &str,
        ctx: &wit::Context,
    ) -> Result<Vec<Finding>, PluginError> {
        let Pre::Validator(pre) = &self.pre else {
            return Err(self.wrong_world(World::Validator));
        };
        let out = self.call(wit_bytes(input) + policy.len(), |store| {
            let plugin = pre.instantiate(&mut *store)?;
            plugin
                .mcp_probe_plugin_validator()
                .call_validate(&mut *store, input, policy, ctx)
        })?;
        Ok(out
            .into_iter()
            .map(|f| convert::finding_from_wit(f, &self.name))
            .collect())
    }

    /// Calls a parser: `None` when it found nothing recognizable.
    pub fn parse(
        &self,
        transcript: &Transcript,
        config: Option<&str>,
    ) -> Result<Option<Vec<Tool>>, PluginError> {
        let Pre::Parser(pre) = &self.pre else {
            return Err(self.wrong_world(World::Parser));
        };
        let input = wit::Transcript {
            stdout: transcript.stdout.clone(),
            stderr_tail: transcript.stderr_tail.clone(),
            parsed_messages: transcript
                .parsed_messages
                .iter()
                .map(|m| m.to_string())
                .collect(),
            error: transcript.error.clone(),
        };
        let config = config.map(str::to_string);
        let bytes = input.stdout.len()
            + input.stderr_tail.len()
            + input.parsed_messages.iter().map(String::len).sum::<usize>();
        let out = self.call(bytes, |store| {
            let plugin = pre.instantiate(&mut *store)?;
            plugin
                .mcp_probe_plugin_parser()
                .call_parse(&mut *store, &input, config.as_deref())
        })?;
        out.map(convert::tools_from_wit)
            .transpose()
            .map_err(|m| self.malformed(m))
    }
}

/// The bytes of text in WIT tool records (what a call lowers into the guest).
fn wit_bytes(tools: &[wit::Tool]) -> usize {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    tools
        .iter()
        .map(|t| {
            t.name.len()
                + opt(&t.title)
                + opt(&t.description)
                + opt(&t.input_schema)
                + opt(&t.output_schema)
                + opt(&t.annotations)
                + opt(&t.meta)
                + opt(&t.icons)
                + opt(&t.extra)
                + 64
        })
        .sum()
}
