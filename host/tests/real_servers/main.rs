//! Real MCP servers from npm and PyPI, over stdio and HTTP, against the MCP Inspector's view.

#[path = "../http_support/mod.rs"]
mod http_support;
#[macro_use]
#[path = "../support/mod.rs"]
mod support;

mod discover_server_everything;
mod http_python_sdk;
mod http_server_everything;
mod real_servers;
mod real_servers_modern;
