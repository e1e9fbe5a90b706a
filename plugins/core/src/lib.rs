//! The pure logic of mcp-probe's built-in plugins, free of any WebAssembly binding so that it
//! compiles natively too: the host links it for the WASM-versus-native benchmark and the
//! policy file's schema.
//!
//! Data model: the types crate's ([`mcp_probe_types`]) [`Tool`], whose open-ended members are
//! the JSON text the server sent (what the WIT record carries too), and [`Finding`]. The pins
//! (`pin`) are that crate's canonical hash, the one `mcp-probe lock` writes.

pub mod compat;
pub mod needles;
pub mod normalize;
pub mod parse;
pub mod policy;
mod scan;
pub mod validate;

pub use mcp_probe_types::canonical as pin;
pub use mcp_probe_types::{wit_conversions, Finding, Json, Member, Severity, TextParts, Tool};
pub use normalize::{normalize, NormalizeConfig, Normalized};
pub use parse::{parse, ParseConfig, Parsed, Transcript};
pub use policy::{Policy, PolicyError};
pub use validate::validate;
