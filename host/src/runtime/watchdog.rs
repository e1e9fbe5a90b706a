//! What kills the local servers when mcp-probe itself is SIGKILLed (no cleanup of ours runs).
//!
//! `PR_SET_PDEATHSIG` would do it, but only from a `pre_exec` closure, which makes the standard
//! library fork the whole process for every server instead of `posix_spawn` (vfork + exec):
//! a scan of 16 000 targets spent most of its time copying its own page tables. Instead one
//! watchdog process per run (`mcp-probe` itself, started once with [`WATCHDOG_ARG`]) waits
//! for the end of a pipe only mcp-probe holds; when mcp-probe exits or dies, the pipe ends and
//! the watchdog kills every process carrying this run's marker (see process_tree.rs), and
//! the process groups they lead (a server's own). Better than PDEATHSIG, which reached only
//! the server, not what it started.

use super::process_tree;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// The hidden first argument that makes `mcp-probe` a watchdog: `mcp-probe ARG MARKER-PREFIX`.
pub const WATCHDOG_ARG: &str = "__mcp-probe-watchdog";

/// Whether this executable answers [`WATCHDOG_ARG`] (the `mcp-probe` binary says so at start;
/// a library user's program does not, and gets no watchdog).
static ENABLED: OnceLock<()> = OnceLock::new();
/// The watchdog, started with the first server; its stdin is the pipe whose end it waits for.
static WATCHDOG: Mutex<Option<Child>> = Mutex::new(None);

/// Declares that this executable runs [`serve`] when given [`WATCHDOG_ARG`].
pub fn enable() {
    let _ = ENABLED.set(());
}

/// Starts the watchdog once, before the first server. A watchdog that cannot start costs only
/// the SIGKILL case (a warning).
pub fn ensure() {
    if ENABLED.get().is_none() {
        return;
    }
    let mut watchdog = WATCHDOG.lock().expect("watchdog lock");
    if watchdog.is_some() {
        return;
    }
    let started = std::env::current_exe().and_then(|exe| {
        Command::new(exe)
            .arg(WATCHDOG_ARG)
            .arg(process_tree::run_marker_prefix())
            .env_clear()
            // Our end of the pipe is close-on-exec: no server inherits it, so only our own
            // end (exit or death) ends the watchdog's stdin.
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group: Ctrl-C in the terminal, or a kill of our group, spares it.
            .process_group(0)
            .spawn()
    });
    match started {
        Ok(child) => *watchdog = Some(child),
        Err(e) => tracing::warn!(
            "cannot start the watchdog ({e}): a SIGKILLed mcp-probe would leave its local servers running"
        ),
    }
}

/// The watchdog's life: wait for stdin to end, then kill what carries `prefix`. Signals that
/// would end it early (Ctrl-C, SIGTERM, SIGHUP of a closing terminal) are ignored: it ends by
/// itself once its work is done.
pub fn serve(prefix: &str) -> std::process::ExitCode {
    // A prefix it was not given would match every run's servers.
    if !prefix.ends_with('-') || prefix.len() < 3 {
        return std::process::ExitCode::from(2);
    }
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
        // SAFETY: setting a signal's disposition to ignore has no preconditions.
        unsafe { libc::signal(signal, libc::SIG_IGN) };
    }
    let mut sink = [0u8; 64];
    let mut stdin = std::io::stdin().lock();
    while !matches!(stdin.read(&mut sink), Ok(0) | Err(_)) {}
    // Several rounds: a server may fork while its siblings are being killed.
    for _ in 0..5 {
        let marked = process_tree::carrying_prefix(prefix);
        if marked.is_empty() {
            break;
        }
        for (pid, group) in marked {
            // SAFETY: kill and killpg have no memory-safety preconditions.
            unsafe {
                if let Some(pgid) = group {
                    libc::killpg(pgid, libc::SIGKILL);
                }
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::process::ExitCode::SUCCESS
}
