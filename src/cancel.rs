//! Ctrl-C, SIGTERM and SIGHUP. A signal raises a flag; the workers and every phase's loop
//! (planning, directory creation, walking, list reading) see it, stop, remove their own
//! temporary files, and the binary exits with its documented interrupt status. Nothing is
//! deleted from inside the signal handler.
//!
//! A flag alone is not enough: a thread blocked in `read` (`sleep 100 | phash`, a FIFO
//! named as a list, a zip parser deep in a huge central directory) never looks at it, and
//! the signal handler is installed with `SA_RESTART`, so the read is not even interrupted.
//! So the handler (which runs on its own thread, not in signal context) also starts a
//! watchdog: if the process has not exited [`GRACE`] after the signal, it exits with the
//! tool's interrupt status. Work that writes checks the flag far more often than that (per
//! chunk, per member), so the watchdog only ever ends a process that is stuck waiting.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static EXIT_STATUS: AtomicI32 = AtomicI32::new(130);

/// How long a process may take to wind down after a signal before the watchdog ends it.
pub const GRACE: Duration = Duration::from_millis(1500);

/// The flag the workers watch. Raised by SIGINT/SIGTERM/SIGHUP once [`install`] has run.
pub fn flag() -> &'static AtomicBool {
    &INTERRUPTED
}

/// Whether an interrupt has arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// Sets the status the process exits with when interrupted (punzip 80, as Info-ZIP; phash
/// 130, as md5sum killed by SIGINT is reported by a shell). Call before [`install`].
pub fn set_exit_status(code: i32) {
    EXIT_STATUS.store(code, Ordering::Relaxed);
}

/// The interrupt exit status set by [`set_exit_status`] (130 unless set).
pub fn exit_status() -> i32 {
    EXIT_STATUS.load(Ordering::Relaxed)
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP. A second signal while the workers
/// are still cleaning up is ignored on purpose: leaving temporary files behind is worse
/// than waiting for the chunk in flight; the watchdog bounds the wait.
///
/// And SIGXFSZ is ignored: a write past `ulimit -f` then fails with EFBIG, reported like a
/// full disk, with the temporary file removed (by default the signal killed the process
/// mid-write, silently).
pub fn install() {
    // SAFETY: SIG_IGN for a signal whose default action is to end the process; nothing
    // else in the process handles it.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    // Errors only when a handler is already installed, which is fine.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::Relaxed) {
            return;
        }
        // ctrlc calls this on its own thread: sleeping here delays nothing else.
        std::thread::sleep(GRACE);
        std::process::exit(exit_status());
    });
}
