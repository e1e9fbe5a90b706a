//! Where the server runs and how it is torn down: local child process, a URL (nothing to start), Kubernetes (later).

pub mod local;
pub mod url;

/// Starting a server failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
}

impl RuntimeError {
    /// True when the operator named something that does not exist (bad input, not a failure
    /// of the server).
    pub fn is_bad_input(&self) -> bool {
        match self {
            RuntimeError::Spawn { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
            ),
        }
    }
}
