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

impl Target {
    /// How the target reads in reports and the pipeline context: the command line or the URL.
    pub fn describe(&self) -> String {
        match self {
            Target::Command { program, args, .. } => std::iter::once(program.as_str())
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            Target::Url { url, .. } => url.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_joins_the_command_line() {
        let target = Target::Command {
            program: "npx".into(),
            args: vec!["-y".into(), "server".into()],
            env: vec![("K".into(), "secret".into())],
        };
        assert_eq!(target.describe(), "npx -y server");
    }
}
