//! Ctrl-C in the phases that do no I/O worth cleaning up: the synchronous commands (`validate`,
//! `lock`) and `discover` once its server is gone (the pipeline, formatting, writing). SIGINT's
//! default action kills the process on the spot, which could leave a temporary file behind
//! (the output being written, or a compiled-artifact cache entry). Instead the signal (or
//! SIGTERM, SIGHUP) sets a flag and stops every plugin call at once (a call may be bounded by a
//! long timeout); the command looks at the flag between steps and exits 130 without writing.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The command was interrupted: exit 130.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// Whether a termination signal has arrived since [`Interrupt::watch`].
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    pub fn watch() -> std::io::Result<Interrupt> {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            signal_hook::flag::register(signal, Arc::clone(&flag))?;
        }
        // Plugin calls are stopped from a thread of its own: what a signal handler may do is
        // too little for that.
        let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
        std::thread::Builder::new()
            .name("mcp-probe-signals".into())
            .spawn(move || {
                if signals.forever().next().is_some() {
                    mcp_probe::plugins::engine::interrupt_calls();
                }
            })?;
        Ok(Interrupt(flag))
    }

    /// `Err(Interrupted)` once a signal has arrived.
    pub fn check(&self) -> Result<(), Interrupted> {
        match self.0.load(Ordering::SeqCst) {
            true => Err(Interrupted),
            false => Ok(()),
        }
    }

    /// `result`, unless a signal arrived meanwhile: then the interrupt is what happened (a
    /// plugin call cut short by it may have failed for that very reason).
    pub fn or<T>(&self, result: anyhow::Result<T>) -> anyhow::Result<T> {
        self.check()?;
        result
    }
}
