//! Host bindings for the three worlds of `wit/plugin.wit`, generated once per world.
//!
//! The normalizer world owns the generated `types` and `log` interfaces; the other two worlds
//! reuse them through `with`, so a `Tool` or a `Finding` is one Rust type whatever the world.

pub mod normalizer {
    wasmtime::component::bindgen!({
        world: "normalizer-plugin",
        path: "../wit",
    });
}

pub mod validator {
    wasmtime::component::bindgen!({
        world: "validator-plugin",
        path: "../wit",
        with: {
            "mcp-probe:plugin/types": super::normalizer::mcp_probe::plugin::types,
            "mcp-probe:plugin/log": super::normalizer::mcp_probe::plugin::log,
        },
    });
}

pub mod parser {
    wasmtime::component::bindgen!({
        world: "parser-plugin",
        path: "../wit",
        with: {
            "mcp-probe:plugin/types": super::normalizer::mcp_probe::plugin::types,
            "mcp-probe:plugin/log": super::normalizer::mcp_probe::plugin::log,
        },
    });
}

pub use normalizer::mcp_probe::plugin::log;
pub use normalizer::mcp_probe::plugin::types::{Context, Finding, Severity, Tool};
pub use parser::exports::mcp_probe::plugin::parser::Transcript;
