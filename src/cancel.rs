//! Ctrl-C and SIGTERM. A signal only raises a flag; the workers see it between chunks,
//! stop, and remove their own temporary files, and the binary exits with its documented
//! interrupt status afterwards. Nothing is deleted from inside the signal handler.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The flag the workers watch. Raised by SIGINT/SIGTERM once [`install`] has run.
pub fn flag() -> &'static AtomicBool {
    &INTERRUPTED
}

/// Whether an interrupt has arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Installs the handler for SIGINT and SIGTERM. A second signal while the workers are
/// still cleaning up is ignored on purpose: leaving temporary files behind is worse than
/// waiting for the chunk in flight.
pub fn install() {
    // Errors only when a handler is already installed, which is fine.
    let _ = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::Relaxed));
}
