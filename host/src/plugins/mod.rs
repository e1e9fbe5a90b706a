//! Plugin host: the wasmtime engine, the pipeline of stages, the embedded built-in plugins.
//!
//! Flow: [`config`] names the stages → [`inspect`] refuses wrong files before compiling →
//! [`cache`] compiles or reuses the artifact → [`plugin`] pre-instantiates it once and runs
//! each call in a fresh store bounded by [`engine`] → [`pipeline`] chains the stages and adds
//! the host's own [`schema`] and
//! [`unicode`] checks.

pub mod bindings;
pub mod builtin;
pub mod cache;
pub mod config;
pub mod convert;
pub mod engine;
mod error;
pub mod inputs;
pub mod inspect;
pub mod pipeline;
pub mod plugin;
pub mod schema;
pub mod unicode;

pub use cache::{ArtifactCache, CacheOutcome};
pub use config::{OnError, PipelineConfig, StageSpec};
pub use engine::Limits;
pub use error::PluginError;
pub use inspect::{ComponentInfo, World};
pub use pipeline::{DiscoveryContext, Pipeline, Processed, Recovered, Stage};
pub use plugin::LoadedPlugin;
