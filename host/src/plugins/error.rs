//! The one error type of the plugin host. Every variant that concerns a plugin names it.

use std::path::PathBuf;

/// Why a plugin could not be loaded or a call to it failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The call ran past its epoch deadline (an endless loop, or just too slow).
    #[error("plugin {plugin}: timed out after {timeout_ms} ms (raise the stage's `timeout-ms` in the --pipeline file)")]
    Timeout { plugin: String, timeout_ms: u64 },
    /// Memory, tables, instances or the wasm stack hit their bound.
    #[error("plugin {plugin}: resource limit exceeded: {message}")]
    ResourceLimit { plugin: String, message: String },
    /// The guest trapped (`unreachable`, out-of-bounds access, division by zero, ...).
    #[error("plugin {plugin}: trapped: {message}")]
    Trap { plugin: String, message: String },
    /// The guest returned something the host cannot use (e.g. invalid JSON text in a field).
    #[error("plugin {plugin}: malformed result: {message}")]
    Malformed { plugin: String, message: String },
    /// The component targets no world (or another version of the contract) this host knows.
    #[error("plugin {plugin}: incompatible: {message}")]
    Incompatible { plugin: String, message: String },
    /// The file is not a WebAssembly component (not wasm at all, or a bare core module).
    #[error("plugin {plugin}: not a WebAssembly component: {message}")]
    NotAComponent { plugin: String, message: String },
    /// The component imports something other than the host's `log` interface.
    #[error(
        "plugin {plugin}: forbidden import(s) {}; a plugin may import only {}/log@{}",
        imports.join(", "),
        crate::plugins::inspect::WIT_PACKAGE,
        crate::plugins::inspect::supported_range()
    )]
    ForbiddenImport {
        plugin: String,
        imports: Vec<String>,
    },
    /// The plugin ran and returned its own `err(...)`.
    #[error("plugin {plugin} reported an error: {message}")]
    Reported { plugin: String, message: String },
    /// Compiling or instantiating the component failed for another reason.
    #[error("plugin {plugin}: {message}")]
    Failed { plugin: String, message: String },
    /// `builtin:NAME` names no plugin the host ships.
    #[error("plugin {plugin}: no such built-in plugin (there are normalize, validate and parse)")]
    NoSuchBuiltin { plugin: String },
    /// The plugin file could not be read.
    #[error("plugin {plugin}: cannot read {}: {source}", path.display())]
    Unreadable {
        plugin: String,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The pipeline file (or a stage in it) is invalid.
    #[error("pipeline {}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    /// A termination signal stopped the pipeline (see `engine::interrupt_calls`).
    #[error("interrupted")]
    Interrupted,
}

impl PluginError {
    /// The plugin this error is about, if it is about one.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            PluginError::Timeout { plugin, .. }
            | PluginError::ResourceLimit { plugin, .. }
            | PluginError::Trap { plugin, .. }
            | PluginError::Malformed { plugin, .. }
            | PluginError::Incompatible { plugin, .. }
            | PluginError::NotAComponent { plugin, .. }
            | PluginError::ForbiddenImport { plugin, .. }
            | PluginError::Reported { plugin, .. }
            | PluginError::Failed { plugin, .. }
            | PluginError::NoSuchBuiltin { plugin }
            | PluginError::Unreadable { plugin, .. } => Some(plugin),
            PluginError::Config { .. } | PluginError::Interrupted => None,
        }
    }

    /// True when the error is about what the operator supplied (a file, a pipeline) rather
    /// than about a plugin misbehaving at run time; the CLI exits 2 for these.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            PluginError::Incompatible { .. }
                | PluginError::NotAComponent { .. }
                | PluginError::ForbiddenImport { .. }
                | PluginError::NoSuchBuiltin { .. }
                | PluginError::Unreadable { .. }
                | PluginError::Config { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_import_names_the_contract_version() {
        let err = PluginError::ForbiddenImport {
            plugin: "p".into(),
            imports: vec!["wasi:sockets/tcp@0.2.0".into()],
        };
        assert_eq!(
            err.to_string(),
            "plugin p: forbidden import(s) wasi:sockets/tcp@0.2.0; a plugin may import only \
             mcp-probe:plugin/log@0.1.x"
        );
    }
}
