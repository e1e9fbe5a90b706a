//! The pipeline of plugin stages. The seam the session side calls; it knows nothing of MCP
//! transports: it takes tools (or a transcript) and gives tools and findings.
//!
//! PLACEHOLDER until the wasmtime host lands: passes tools through unchanged.

use crate::model::{Finding, Tool, Transcript};
use serde_json::Value;

/// Where the tool list came from (becomes the WIT `context`).
#[derive(Debug, Clone, Default)]
pub struct DiscoveryContext {
    /// What the operator named: image, URL or command line.
    pub source: String,
    /// `local_mcp_stdio`, `url_streamable_http`, `url_sse`, `file`, ...
    pub discovery_method: String,
    pub server_info: Option<Value>,
}

/// The tools after every normalizer and validator stage, with all their findings.
#[derive(Debug, Clone, Default)]
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

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("plugin {plugin}: {message}")]
    Failed { plugin: String, message: String },
}

/// An ordered list of stages.
#[derive(Debug, Default)]
pub struct Pipeline {}

impl Pipeline {
    /// The default pipeline: the built-in normalize, validate and parse plugins.
    pub fn builtin() -> Result<Self, PluginError> {
        Ok(Pipeline {})
    }

    /// Runs the normalizer and validator stages in order.
    pub fn process(
        &self,
        tools: Vec<Tool>,
        _ctx: &DiscoveryContext,
    ) -> Result<Processed, PluginError> {
        Ok(Processed {
            tools,
            findings: Vec::new(),
        })
    }

    /// Asks each parser stage in order for a tool list; the first `Some` wins.
    pub fn recover(&self, _transcript: &Transcript) -> Result<Option<Recovered>, PluginError> {
        Ok(None)
    }
}
