//! What the operator named: a local command, a running server's URL, or (later) an image.

/// The thing to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A local command speaking MCP over stdio: program, args, extra environment.
    Command {
        program: String,
        args: Vec<String>,
        env: Vec<(String, String)>,
    },
    /// A running server.
    Url {
        url: String,
        headers: Vec<(String, String)>,
    },
}
