//! The command line as users run it: `plugins`, `scan`, `validate`, `lock`, the example server,
//! the plugin sandbox and the built-in plugins on hostile input, a plugin written in Python.

#[path = "../components/mod.rs"]
mod components;
#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod as_sent;
mod bad_input;
mod builtin_deep_input;
mod cli_logging;
mod cli_plugins;
mod cli_schema;
mod duplicates;
mod example_server;
mod fresh_lock;
mod hostile_files;
mod list_result_type;
mod plugin_sandbox;
mod python_plugin;
mod scan;
mod scan_lists;
mod terminal_safety;
