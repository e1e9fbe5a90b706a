//! What the operator named: a local command, a running server's URL, or a container image.

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
    /// A container image, run as a Pod in Kubernetes.
    Image(ImageTarget),
}

/// An image and what its container gets.
#[derive(Clone, PartialEq, Eq)]
pub struct ImageTarget {
    pub image: String,
    /// The container's args (the image's entrypoint is kept).
    pub args: Vec<String>,
    /// Plain environment, visible in the Pod spec.
    pub env: Vec<(String, String)>,
    /// Secret environment: goes into a Secret owned by the pod, read through `secretKeyRef`.
    pub secret_env: Vec<(String, String)>,
}

impl std::fmt::Debug for ImageTarget {
    // Secret values are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret_keys: Vec<&str> = self.secret_env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("ImageTarget")
            .field("image", &self.image)
            .field("args", &self.args)
            .field("env", &self.env)
            .field("secret_env", &secret_keys)
            .finish()
    }
}

impl Target {
    /// How the target reads in reports and the pipeline context: the command line, the URL
    /// (credentials hidden) or the image.
    pub fn describe(&self) -> String {
        match self {
            Target::Command { program, args, .. } => std::iter::once(program.as_str())
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
            Target::Url { url, .. } => crate::runtime::url::redact_url(url),
            Target::Image(image) => image.image.clone(),
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

    #[test]
    fn secret_env_values_stay_out_of_debug_output() {
        let target = ImageTarget {
            image: "srv:1".into(),
            args: vec![],
            env: vec![],
            secret_env: vec![("API_KEY".into(), "hunter2".into())],
        };
        let shown = format!("{target:?}");
        assert!(
            shown.contains("API_KEY") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
