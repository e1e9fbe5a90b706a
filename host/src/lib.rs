//! mcp-probe: find out what an MCP server offers before anyone deploys it.
//!
//! The data flows one way, and the modules follow it:
//! [`target`] → [`runtime`] (local | url | kubernetes) → [`transport`] (stdio | http)
//! → [`mcp`] session → [`plugins`] pipeline → [`report`].
//!
//! [`model`] sits at the bottom: plain data types, no I/O; every other module may use it.

pub mod atomic_file;
pub mod cache_dir;
pub mod discover;
pub mod excerpt;
pub mod input_file;
pub mod lockfile;
pub mod mcp;
pub mod model;
pub mod plugins;
pub mod report;
pub mod runtime;
pub mod sarif;
pub mod scan;
pub mod target;
pub mod terminal;
pub mod transport;
