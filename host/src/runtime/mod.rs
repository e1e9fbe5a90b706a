//! Where the server runs and how it is torn down: a local child process, a URL (nothing to
//! start), or a Pod in Kubernetes. Every runtime has one shape: [`Started`] gives the session a
//! [`Connection`] and keeps a [`Server`] whose [`Server::shutdown`] stops what was started and
//! returns what it left behind ([`Stopped`]: exit state, stderr or log tail).

pub mod cause;
pub mod kubernetes;
pub mod local;
mod process_tree;
mod tail;
pub mod url;
pub mod watchdog;

pub use tail::Tail;

use crate::report::KubernetesInfo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

/// How the session reaches a started server.
pub enum Connection {
    /// A byte stream: the server's stdout to read, its stdin to write.
    Stdio {
        reader: Box<dyn AsyncRead + Unpin + Send>,
        writer: Box<dyn AsyncWrite + Unpin + Send>,
    },
    /// A base URL, which then goes through the endpoint search (`/mcp`, the URL, `/sse`).
    Http {
        base_url: String,
        headers: Vec<(String, String)>,
    },
}

/// A started server: how to talk to it, and the handle that tears it down.
pub struct Started {
    pub connection: Connection,
    pub server: Box<dyn Server>,
}

/// What a server left when it was stopped.
#[derive(Debug, Default, Clone)]
pub struct Stopped {
    /// How it ended when it ended by itself, e.g. `the server exited (exit status: 1)` or
    /// `the container of pod ns/name terminated: Error (exit code 1)`.
    pub exit: Option<String>,
    /// The end of its stderr (local) or of its pod's log (Kubernetes).
    pub log_tail: String,
    /// Which of the two `log_tail` is.
    pub log_kind: LogKind,
    /// Where it ran, for Kubernetes targets.
    pub kubernetes: Option<KubernetesInfo>,
    /// What could not be removed: one warning each (already logged), naming the objects and
    /// the `mcp-probe gc` command that removes them; empty when all is gone.
    pub leftovers: Vec<String>,
}

/// What a [`Stopped::log_tail`] holds, as messages name it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// The server's stderr alone (a local command, an attached container).
    #[default]
    Stderr,
    /// A pod's log: its stdout and stderr interleaved.
    PodLog,
}

impl LogKind {
    pub fn label(self) -> &'static str {
        match self {
            LogKind::Stderr => "server stderr",
            LogKind::PodLog => "pod log",
        }
    }
}

/// The handle of a started server. Dropping it without `shutdown` still removes what was
/// started (a blocking backstop for panics and cancelled futures).
#[async_trait::async_trait]
pub trait Server: Send {
    /// Stops the server and everything it started, and says what it left. `deadline` is the
    /// whole discovery's: a local server is killed by then, a pod's deletes get a short grace
    /// past it.
    async fn shutdown(self: Box<Self>, deadline: Instant) -> Stopped;

    /// How busy the server's processes have been, where this runtime can see them.
    fn activity(&self) -> Option<crate::model::ServerActivity> {
        None
    }
}

/// A URL target: nothing was started, nothing to stop.
pub struct NothingStarted;

#[async_trait::async_trait]
impl Server for NothingStarted {
    async fn shutdown(self: Box<Self>, _deadline: Instant) -> Stopped {
        Stopped::default()
    }
}

/// What the operator got wrong (exit 2) versus what failed (exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadInput,
    Failure,
    Interrupted,
}

/// Starting a server failed.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Kubernetes(#[from] kubernetes::KubeError),
}

impl RuntimeError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            RuntimeError::Spawn { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                    ErrorKind::BadInput
                }
                _ => ErrorKind::Failure,
            },
            RuntimeError::Kubernetes(err) => err.kind(),
        }
    }
}
