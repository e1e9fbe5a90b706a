//! A local server: the command runs as a child in its own process group, so that everything it
//! starts (`npx` → `node`, `uv` → `python`) is killed with it.
//!
//! Cleanup happens on every path: [`LocalServer::shutdown`] is the polite async way (SIGTERM to
//! the group, a grace period that ends by the discovery's deadline, then SIGKILL, then reap);
//! `Drop` is the backstop for early returns,
//! panics and cancelled futures (SIGKILL to the group and a blocking reap of the child).
//!
//! On Linux mcp-probe makes itself a child subreaper, so that what the server started is
//! re-parented to us when the server dies and can be reaped too, not only signalled.

use super::process_tree::{self, MARKER_VAR};
use super::{tail, Connection, RuntimeError, Started, Stopped, Tail};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// How long a server gets after SIGTERM before SIGKILL, cut to what is left of the deadline.
const TERM_GRACE: Duration = Duration::from_secs(2);
/// The least it gets: at (or past) the deadline, a moment to exit on SIGTERM.
const TERM_GRACE_FLOOR: Duration = Duration::from_millis(50);

/// The grace after SIGTERM: [`TERM_GRACE`], but the run still ends by `deadline` (give or take
/// [`TERM_GRACE_FLOOR`]).
fn term_grace(deadline: tokio::time::Instant) -> Duration {
    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
    left.min(TERM_GRACE).max(TERM_GRACE_FLOOR)
}

/// How long to wait for the last stderr bytes once the group is gone.
const STDERR_DRAIN: Duration = Duration::from_millis(500);

/// The command to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCommand {
    pub program: String,
    pub args: Vec<String>,
    /// Added to (and overriding) the inherited environment.
    pub env: Vec<(String, String)>,
}

/// A running local server; dropping it kills its process group.
pub struct LocalServer {
    child: Option<Child>,
    /// The child's pid, which is also its process group id.
    pgid: libc::pid_t,
    /// In the environment of everything the server starts (see process_tree.rs).
    marker: String,
    stderr: Arc<Mutex<Tail>>,
    stderr_reader: Option<JoinHandle<()>>,
}

impl LocalServer {
    /// Starts the command with piped stdin/stdout (the connection) and stderr (captured).
    pub fn start(cmd: &LocalCommand) -> Result<Started, RuntimeError> {
        become_subreaper();
        // No `pre_exec` here: it would make std fork the whole process instead of
        // `posix_spawn`; the watchdog does what PR_SET_PDEATHSIG did (see watchdog.rs).
        super::watchdog::ensure();
        let marker = process_tree::new_marker();
        let mut command = Command::new(&cmd.program);
        command
            .args(&cmd.args)
            .env(MARKER_VAR, &marker)
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group: Ctrl-C in the terminal reaches us, not it, and killpg reaches all.
            .process_group(0);
        let mut child = command.spawn().map_err(|source| RuntimeError::Spawn {
            program: cmd.program.clone(),
            source,
        })?;
        let pgid = child.id().expect("a just-spawned child has a pid") as libc::pid_t;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr_pipe = child.stderr.take().expect("stderr is piped");
        let stderr = Arc::new(Mutex::new(Tail::default()));
        // A local command is given no secrets (its `--env` is plain).
        let stderr_reader = tail::drain_into(stderr_pipe, Arc::clone(&stderr), Arc::default());
        tracing::debug!(
            "started `{}` as pid {pgid} (own process group)",
            cmd.program
        );
        let server = LocalServer {
            child: Some(child),
            pgid,
            marker,
            stderr,
            stderr_reader: Some(stderr_reader),
        };
        Ok(Started {
            connection: Connection::Stdio {
                reader: Box::new(stdout),
                writer: Box::new(stdin),
            },
            server: Box::new(server),
        })
    }

    /// The end of what the server wrote to stderr so far.
    fn stderr_tail(&self) -> String {
        self.stderr.lock().expect("stderr tail lock").text()
    }
}

#[async_trait::async_trait]
impl super::Server for LocalServer {
    fn activity(&self) -> Option<crate::model::ServerActivity> {
        let pgid = self.pgid;
        Some(std::sync::Arc::new(move || {
            process_tree::group_cpu_ticks(pgid)
        }))
    }

    /// Stops the server and everything it started, reaps it, and returns its stderr tail
    /// (complete, as the pipe is drained once the group is gone) and how it ended.
    async fn shutdown(mut self: Box<Self>, deadline: tokio::time::Instant) -> Stopped {
        let mut status = None;
        // The child stays in `self` until reaped, so a cancelled shutdown still ends in Drop.
        if let Some(child) = self.child.as_mut() {
            // Found while the tree is intact: what left the group is signalled with it.
            let strays = process_tree::strays(self.pgid, &self.marker);
            signal_group(self.pgid, libc::SIGTERM);
            process_tree::signal_all(&strays, libc::SIGTERM);
            status = match tokio::time::timeout(term_grace(deadline), child.wait()).await {
                Ok(waited) => waited.ok(),
                Err(_) => {
                    tracing::debug!("pid {} ignored SIGTERM; sending SIGKILL", self.pgid);
                    signal_group(self.pgid, libc::SIGKILL);
                    child.wait().await.ok()
                }
            };
            // Whatever else is left in the group (a grandchild that ignored SIGTERM), and
            // whatever left it, found now too in case it was started meanwhile.
            signal_group(self.pgid, libc::SIGKILL);
            let mut strays = strays;
            strays.extend(process_tree::strays(self.pgid, &self.marker));
            process_tree::signal_all(&strays, libc::SIGKILL);
            self.child = None;
            let pgid = self.pgid;
            let reaping = tokio::task::spawn_blocking(move || {
                reap_group(pgid);
                reap_stray(&strays);
            });
            if tokio::time::timeout(TERM_GRACE, reaping).await.is_err() {
                tracing::debug!("processes of group {pgid} still not reaped");
            }
        }
        if let Some(reader) = self.stderr_reader.take() {
            if tokio::time::timeout(STDERR_DRAIN, reader).await.is_err() {
                tracing::debug!(
                    "stderr of pid {} still open after its group was killed",
                    self.pgid
                );
            }
        }
        let exited_on_its_own = status.filter(|s| {
            use std::os::unix::process::ExitStatusExt;
            !matches!(s.signal(), Some(libc::SIGTERM | libc::SIGKILL))
        });
        Stopped {
            exit: exited_on_its_own.map(|s| format!("the server exited ({s})")),
            log_tail: self.stderr_tail(),
            ..Stopped::default()
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            let strays = process_tree::strays(self.pgid, &self.marker);
            signal_group(self.pgid, libc::SIGKILL);
            process_tree::signal_all(&strays, libc::SIGKILL);
            // Reap now rather than leave a zombie: SIGKILL cannot be ignored, so this returns
            // as soon as the kernel has torn the process down.
            let mut status = 0;
            // SAFETY: waitpid on our own child's pid with a valid status pointer.
            unsafe { libc::waitpid(self.pgid, &mut status, 0) };
            // tokio's orphan reaper may try again and get ECHILD, which it tolerates.
            drop(child);
            reap_group(self.pgid);
            reap_stray(&strays);
        }
        if let Some(reader) = self.stderr_reader.take() {
            reader.abort();
        }
    }
}

/// Makes orphans of our descendants our children (Linux), so that they can be reaped.
fn become_subreaper() {
    #[cfg(target_os = "linux")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: prctl(PR_SET_CHILD_SUBREAPER, 1) only sets a flag on this process.
        ONCE.call_once(|| unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong, 0, 0, 0);
        });
    }
}

/// Reaps every child of ours in the (killed) group until none is left. Blocking: call it only
/// after SIGKILL went to the group.
fn reap_group(pgid: libc::pid_t) {
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a valid status pointer.
        let rc = unsafe { libc::waitpid(-pgid, &mut status, 0) };
        if rc > 0 {
            continue;
        }
        if rc < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
            continue;
        }
        return; // ECHILD: nothing of that group is left to reap.
    }
}

/// Reaps killed strays that became our children, waiting briefly for the kernel to end them.
fn reap_stray(pids: &[libc::pid_t]) {
    for _ in 0..50 {
        process_tree::reap(pids);
        if pids
            .iter()
            .all(|&p| !std::path::Path::new(&format!("/proc/{p}")).exists())
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `signal` to every process in the group; a group that is already gone is fine.
fn signal_group(pgid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: killpg has no memory-safety preconditions.
    let rc = unsafe { libc::killpg(pgid, signal) };
    if rc != 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::ESRCH) {
            tracing::debug!("killpg({pgid}, {signal}) failed: {err}");
        }
    }
}
