//! The pure logic of mcp-probe's built-in plugins, free of any WebAssembly binding so that it
//! compiles natively too: the host links it for `mcp-probe lock` (the same canonical hash as the
//! validator) and for the WASM-versus-native benchmark.
//!
//! Data model: [`Tool`] holds an MCP `Tool` with its open-ended members as `serde_json::Value`
//! (the WIT record carries them as JSON text; the guest crates convert). [`Finding`] mirrors the
//! WIT `finding` record.

pub mod compat;
pub mod needles;
pub mod normalize;
pub mod parse;
pub mod pin;
pub mod policy;
mod scan;
mod tool;
pub mod validate;
pub mod wire;

pub use normalize::{normalize, normalize_text, NormalizeConfig, Normalized, NormalizedText};
pub use parse::{parse, ParseConfig, Parsed, Transcript};
pub use policy::{Policy, PolicyError};
pub use tool::{Finding, Severity, Tool};
pub use validate::{validate, validate_text};
pub use wire::ToolText;
