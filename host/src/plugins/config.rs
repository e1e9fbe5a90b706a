//! The pipeline file: stages in order, each a plugin with its limits and config.
//!
//! ```toml
//! [[stage]]
//! plugin = "builtin:normalize"        # or a path, relative to this file
//! world = "normalizer"                # optional: refuse the file if it targets another world
//! on-error = "skip"                   # or "fail" (default)
//! timeout-ms = 500                    # default 1000
//! memory-mib = 32                     # default 64
//! config = { drop-prefix = "x_" }     # JSON given to the plugin (validators: the policy)
//! ```
//! The same document as JSON: `{"stage": [{"plugin": "builtin:normalize", ...}]}`.

use super::engine::{Limits, DEFAULT_MEMORY_MIB, MAX_MEMORY_MIB};
use super::inspect::World;
use super::PluginError;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What to do when a stage's plugin fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// The whole run fails with the plugin's error.
    #[default]
    Fail,
    /// The stage is skipped; a `plugin-skipped` warning finding records why.
    Skip,
}

/// One stage as written in the file.
#[derive(Debug, Clone, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StageSpec {
    /// `builtin:NAME` or a path to a component.
    #[schemars(regex(pattern = r"\S"))]
    pub plugin: String,
    /// The world the plugin must target (`normalizer`, `validator`, `parser`).
    #[serde(default)]
    #[schemars(extend("enum" = ["normalizer", "validator", "parser", null]))]
    pub world: Option<String>,
    #[serde(default)]
    pub on_error: OnError,
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_MEMORY_MIB))]
    pub memory_mib: Option<u64>,
    /// Passed to the plugin as `context.config` (and, for validators, as the policy).
    #[serde(default)]
    pub config: Option<Value>,
}

/// A pipeline file as [`PipelineConfig::load`] reads it; public for its JSON Schema
/// (`mcp-probe schema pipeline`).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = stages_alias)]
pub struct PipelineFile {
    #[serde(default, alias = "stages")]
    #[schemars(length(min = 1))]
    stage: Vec<StageSpec>,
}

/// What the derive leaves out: the alias `stages`, and that one of the two is required (an
/// empty file has no stages and is refused).
fn stages_alias(schema: &mut schemars::Schema) {
    if let Some(serde_json::Value::Object(properties)) = schema.get_mut("properties") {
        if let Some(stage) = properties.get("stage").cloned() {
            properties.insert("stages".into(), stage);
        }
    }
    schema.insert(
        "oneOf".into(),
        serde_json::json!([{"required": ["stage"]}, {"required": ["stages"]}]),
    );
}

/// The stages to load, with relative plugin paths already resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineConfig {
    pub stages: Vec<StageSpec>,
    /// The file it came from; `None` for the default pipeline.
    pub source: Option<PathBuf>,
}

impl Default for PipelineConfig {
    /// Built-in normalize → built-in validate; built-in parse as the fallback parser.
    fn default() -> Self {
        let stage = |name: &str, world: &str| StageSpec {
            plugin: format!("builtin:{name}"),
            world: Some(world.into()),
            on_error: OnError::Fail,
            timeout_ms: None,
            memory_mib: None,
            config: None,
        };
        PipelineConfig {
            stages: vec![
                stage("normalize", "normalizer"),
                stage("validate", "validator"),
                stage("parse", "parser"),
            ],
            source: None,
        }
    }
}

impl StageSpec {
    /// A stage for a component file with default settings (what `--plugin PATH` adds).
    pub fn for_path(path: impl AsRef<Path>) -> StageSpec {
        StageSpec {
            plugin: path.as_ref().display().to_string(),
            world: None,
            on_error: OnError::Fail,
            timeout_ms: None,
            memory_mib: None,
            config: None,
        }
    }

    /// The limits this stage asks for, or the defaults.
    pub fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        if let Some(ms) = self.timeout_ms {
            limits.timeout = Duration::from_millis(ms);
        }
        let mib = self.memory_mib.unwrap_or(DEFAULT_MEMORY_MIB);
        limits.memory_bytes = (mib << 20) as usize;
        limits.memory_from_input = self.memory_mib.is_none();
        limits
    }

    /// The world named by `world`, if any.
    pub fn expected_world(&self) -> Option<World> {
        self.world.as_deref().and_then(World::parse)
    }

    fn check(&self, path: &Path, index: usize) -> Result<(), PluginError> {
        let bad = |message: String| PluginError::Config {
            path: path.to_path_buf(),
            message: format!("stage {}: {message}", index + 1),
        };
        if let Some(world) = &self.world {
            if World::parse(world).is_none() {
                return Err(bad(format!(
                    "unknown world {world:?} (expected normalizer, validator or parser)"
                )));
            }
        }
        match self.memory_mib {
            Some(0) => return Err(bad("memory-mib must be at least 1".into())),
            Some(mib) if mib > MAX_MEMORY_MIB => {
                return Err(bad(format!("memory-mib must be at most {MAX_MEMORY_MIB}")))
            }
            _ => {}
        }
        if self.timeout_ms == Some(0) {
            return Err(bad("timeout-ms must be at least 1".into()));
        }
        if self.plugin.trim().is_empty() {
            return Err(bad("plugin is empty".into()));
        }
        Ok(())
    }
}

impl PipelineConfig {
    /// Reads a pipeline file: TOML, or JSON when the name ends in `.json`.
    pub fn load(path: &Path) -> Result<PipelineConfig, PluginError> {
        let bad = |message: String| PluginError::Config {
            path: path.to_path_buf(),
            message,
        };
        let text = crate::input_file::read_to_string(path, crate::input_file::Kind::Config)
            .map_err(|e| bad(e.to_string()))?;
        let file: PipelineFile = if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?
        } else {
            toml::from_str(&text).map_err(|e| bad(one_line_toml_error(&text, &e)))?
        };
        if file.stage.is_empty() {
            return Err(bad("no stages (add at least one [[stage]])".into()));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let mut stages = file.stage;
        for (index, stage) in stages.iter_mut().enumerate() {
            stage.check(path, index)?;
            if !stage.plugin.starts_with(super::builtin::PREFIX) {
                stage.plugin = base.join(&stage.plugin).display().to_string();
            }
        }
        Ok(PipelineConfig {
            stages,
            source: Some(path.to_path_buf()),
        })
    }

    /// Appends a stage for the component at `path` (world detected when loaded).
    pub fn push_plugin(&mut self, path: impl AsRef<Path>) {
        self.stages.push(StageSpec::for_path(path));
    }
}

/// toml's errors span several lines with a source excerpt; we report one line.
fn one_line_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim().replace('\n', " ");
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn toml_stages_resolve_relative_paths() {
        let (dir, path) = write(
            "p.toml",
            "[[stage]]\nplugin = \"builtin:normalize\"\n[[stage]]\nplugin = \"x/mine.wasm\"\n\
             on-error = \"skip\"\ntimeout-ms = 50\nmemory-mib = 8\nconfig = { a = 1 }\n",
        );
        let cfg = PipelineConfig::load(&path).unwrap();
        assert_eq!(cfg.stages[0].plugin, "builtin:normalize");
        assert_eq!(
            cfg.stages[1].plugin,
            dir.path().join("x/mine.wasm").display().to_string()
        );
        assert_eq!(cfg.stages[1].on_error, OnError::Skip);
        assert_eq!(cfg.stages[1].limits().memory_bytes, 8 << 20);
        assert_eq!(cfg.stages[1].config, Some(serde_json::json!({"a": 1})));
    }

    #[test]
    fn json_works_too() {
        let (_dir, path) = write(
            "p.json",
            r#"{"stage":[{"plugin":"builtin:validate","world":"validator"}]}"#,
        );
        let cfg = PipelineConfig::load(&path).unwrap();
        assert_eq!(cfg.stages[0].expected_world(), Some(World::Validator));
    }

    #[test]
    fn unknown_keys_are_one_line_errors() {
        let (_dir, path) = write("p.toml", "[[stage]]\nplugin = \"a.wasm\"\ntimeout = 5\n");
        let err = PipelineConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("unknown field `timeout`"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        let (_dir, path) = write("p.json", r#"{"stage":[{"plugin":"a","bogus":1}]}"#);
        let err = PipelineConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("unknown field `bogus`"), "{err}");
    }

    #[test]
    fn bad_values_are_refused() {
        for body in [
            "[[stage]]\nplugin = \"a\"\nworld = \"nope\"\n",
            "[[stage]]\nplugin = \"a\"\nmemory-mib = 0\n",
            "[[stage]]\nplugin = \"a\"\non-error = \"maybe\"\n",
            "",
        ] {
            let (_dir, path) = write("p.toml", body);
            assert!(PipelineConfig::load(&path).is_err(), "{body}");
        }
    }
}
