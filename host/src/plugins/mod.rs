//! Plugin host: the wasmtime engine, the pipeline of stages, the embedded built-in plugins.

pub mod pipeline;

pub use pipeline::{DiscoveryContext, Pipeline, PluginError, Processed, Recovered};
