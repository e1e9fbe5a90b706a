//! mcp-probe's pure data types, at the bottom of everything (as kube-core is for kube-rs): no
//! I/O, no WebAssembly bindings. The host, the plugins' shared logic and every guest plugin use
//! these same types, so that the form `mcp-probe lock` hashes and the form the validator hashes
//! are one function of one type.
//!
//! - [`Tool`]: one MCP `Tool`. Its open-ended members (`inputSchema`, `_meta`, ... and members
//!   MCP does not define) stay the JSON text the server sent ([`RawValue`]): nothing is parsed
//!   until a check needs it, and reports print them as received.
//! - [`Finding`] and [`Severity`]: what a check says about a tool or a list.
//! - [`hidden`]: the characters that control a terminal or hide text (the `hidden-characters`
//!   rule, and what the host escapes before a terminal shows server text).
//! - [`canonical`]: the canonical JSON of a tool and its SHA-256, the pins of lock files.
//! - [`replace_lone_surrogates`]: JSON text with lone UTF-16 surrogate escapes made readable.
//! - [`wit_conversions!`]: the one conversion each way between these types and the WIT
//!   records of `wit/plugin.wit`, expanded in each crate that has generated bindings.
//!
//! [`RawValue`]: serde_json::value::RawValue

pub mod canonical;
mod depth;
mod finding;
pub mod hidden;
mod members;
mod surrogates;
mod tool;
mod wit;

pub use depth::{is_too_deep, MAX_JSON_DEPTH};
pub use finding::{Finding, Severity};
pub use members::Members;
pub use surrogates::replace_lone_surrogates;
pub use tool::{json_string, json_text, Json, Member, TextParts, Tool, ToolTextError};
