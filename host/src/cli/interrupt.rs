//! Ctrl-C for the synchronous commands (`validate`, `lock`). SIGINT's default action kills the
//! process on the spot, which could leave a temporary file behind (the output being written, or
//! a compiled-artifact cache entry). Instead the signal (or SIGTERM, SIGHUP) sets a flag; the
//! command looks at it between steps and exits 130 without writing its output.

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
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
