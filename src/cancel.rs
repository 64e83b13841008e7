//! Ctrl-C, SIGTERM and SIGHUP. A signal raises a flag; the workers and every phase's loop
//! (planning, directory creation, walking, list reading) see it, stop, remove their own
//! temporary files, and the binary ends as the tool documents: punzip exits 80, as
//! Info-ZIP does; phash dies by the signal itself, as md5sum does, so that a shell sees
//! it (`for f in ...; do phash "$f"; done` stops at Ctrl-C, and SIGTERM is 143, not the
//! 130 of Ctrl-C). Nothing is deleted from inside the signal handler.
//!
//! A signal that was ignored when the process started stays ignored: a run under `nohup`
//! must survive the terminal closing, and a background job of a script must survive the
//! Ctrl-C meant for the foreground one.
//!
//! A flag alone is not enough: a thread blocked in `read` (`sleep 100 | phash`, a FIFO
//! named as a list, a zip parser deep in a huge central directory) never looks at it, and
//! the read is not even interrupted. So a watchdog thread takes the signal: if the process
//! has not ended [`GRACE`] after it, the watchdog ends it. Work that writes checks the flag
//! far more often than that (per chunk, per member), so the watchdog only ever ends a
//! process that is stuck waiting.
//!
//! The signals are blocked in every thread and the watchdog watches a `signalfd`: it
//! raises the flag while the signal is still pending and only then takes it, so that at
//! every moment one of the two shows (see [`cut_short`]). With a handler, the thread that
//! took the signal could be descheduled between taking it and raising the flag, and a
//! stream cut by Ctrl-C was hashed (1 run in 25 of a test, on a loaded machine). The
//! handler stays installed for a thread that does not block them, and as the whole
//! mechanism where no `signalfd` or thread can be had; without a thread, an alarm it arms
//! ends a run stuck waiting ([`on_alarm`]).

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static EXIT_STATUS: AtomicI32 = AtomicI32::new(130);
/// Die by the signal rather than exit with [`EXIT_STATUS`].
static RERAISE: AtomicBool = AtomicBool::new(false);
/// The first signal that arrived (0: none).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The signals [`install`] took on, as bits `1 << signal` (one ignored at start is not
/// among them, even if it arrives pending through a mask the process inherited).
static CAUGHT: AtomicI32 = AtomicI32::new(0);
/// The writing end of the watchdog's pipe (-1 unless [`install`] made one: only where
/// no `signalfd` could be had, so that the handler wakes the watchdog).
static WAKE: AtomicI32 = AtomicI32::new(-1);
/// Whether [`install`] has run.
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// No watchdog could be started (a process limit on threads): the handler arms an alarm
/// that ends the process instead ([`on_alarm`]).
static NO_WATCHDOG: AtomicBool = AtomicBool::new(false);
/// What the watchdog says on stderr before it ends the process.
static MESSAGE: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
/// What the watchdog writes on standard output before it ends the process, if anything.
type LastWords = Box<dyn Fn() -> Vec<u8> + Send + Sync>;
static LAST_WORDS: std::sync::OnceLock<LastWords> = std::sync::OnceLock::new();

/// The signals that interrupt a run.
const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

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

/// Whether an interrupt has arrived: [`interrupted`], or (for the moment before the
/// watchdog sees it) one of them pending, which it records. Also what a run asks last,
/// before it ends as if none came: the watchdog raises the flag before it takes
/// the signal, so one of the two always shows once it is sent. For a read that
/// has just met the end of a pipe or FIFO: Ctrl-C reaches the whole pipeline, the writer
/// dies of it, and the reader sees the end at about the moment its own signal comes, so
/// that end is a cut, not the stream's end (`producer | phash > SUMS` and Ctrl-C saved the
/// digest of the part read, in 5 runs of 40, and `phash -c` checked a name cut short).
/// What makes it dependable is [`stream_cut`]'s wait.
pub fn cut_short() -> bool {
    if interrupted() {
        return true;
    }
    // Seen pending, it is the interrupt from now on for every thread (the watchdog may
    // not have run yet, and the process must not end as if it never came).
    pending().is_some_and(|sig| {
        record(sig);
        true
    })
}

/// One of the signals [`install`] took on ([`CAUGHT`]) that is pending, if any.
fn pending() -> Option<libc::c_int> {
    let caught = CAUGHT.load(Ordering::SeqCst);
    // SAFETY: sigpending fills a zeroed, then emptied, set; sigismember only reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        if libc::sigpending(&mut set) != 0 {
            return None;
        }
        SIGNALS
            .into_iter()
            .find(|&s| caught & (1 << s) != 0 && libc::sigismember(&set, s) == 1)
    }
}

/// How long the end of a pipe is given for an interrupt to follow it (see
/// [`stream_cut`]).
const END_GRACE: Duration = Duration::from_millis(5);

/// Whether a stream that has just ended was cut by an interrupt ([`cut_short`]); a `pipe`
/// (or FIFO, or socket: [`crate::stdio::is_pipe`]) is first given a moment for the signal
/// to follow its end ([`END_GRACE`]): a writer that Ctrl-C reached first can close it
/// before the signal reaches this process. Without the wait, 1 run in 40 of
/// `(echo partial; sleep 30) | phash -a sha256` and Ctrl-C still saved a digest, and 4 in
/// 40 of `phash -c` checked a list's last name cut short.
pub fn stream_cut(pipe: bool) -> bool {
    if cut_short() || !pipe {
        return cut_short();
    }
    std::thread::sleep(END_GRACE);
    cut_short()
}

/// Sets the status the process exits with when interrupted (punzip 80, as Info-ZIP).
/// Call before [`install`].
pub fn set_exit_status(code: i32) {
    EXIT_STATUS.store(code, Ordering::Relaxed);
}

/// Makes an interrupted process die by the signal that interrupted it (see [`end`]), as
/// md5sum does, instead of exiting with a status. Call before [`install`].
pub fn die_by_signal() {
    RERAISE.store(true, Ordering::Relaxed);
}

/// Sets the line the watchdog writes on stderr when it ends a process stuck waiting
/// (the tool's own "interrupted"), which would otherwise end without a word.
pub fn set_message(line: &'static str) {
    let _ = MESSAGE.set(line);
}

/// Sets what the watchdog writes on standard output when it ends a process stuck waiting:
/// `punzip --json`'s closing lines, so that a script still finds the totals last (a run
/// stuck reading its archive from a pipe ended with nothing on stdout).
pub fn set_last_words(words: impl Fn() -> Vec<u8> + Send + Sync + 'static) {
    let _ = LAST_WORDS.set(Box::new(words));
}

/// The interrupt exit status set by [`set_exit_status`] (130 unless set).
pub fn exit_status() -> i32 {
    EXIT_STATUS.load(Ordering::Relaxed)
}

/// Ends the interrupted process: by the signal itself after [`die_by_signal`], else with
/// the status of [`set_exit_status`]. Call once everything is cleaned up and flushed.
pub fn end() -> ! {
    reraise();
    std::process::exit(exit_status())
}

/// After [`die_by_signal`], dies by the signal that interrupted the process: its default
/// action, unblocked for this thread, then the signal itself (no handler of ours runs
/// again). Returns where that does not apply. Async-signal-safe ([`on_alarm`] calls it).
fn reraise() {
    let sig = SIGNAL.load(Ordering::SeqCst);
    if RERAISE.load(Ordering::SeqCst) && sig != 0 {
        let only = set_of(&[sig]);
        // SAFETY: signal, sigprocmask on a live set and raise are async-signal-safe.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &only, std::ptr::null_mut());
            libc::raise(sig);
        }
    }
}

/// Records `sig` as the interrupt, unless one is already recorded (then `false`): the
/// signal first, then the flag, so that [`end`] always finds the signal. Async-signal-safe.
fn record(sig: libc::c_int) -> bool {
    // A second signal while the workers are still cleaning up is ignored on purpose:
    // leaving temporary files behind is worse than waiting for the chunk in flight; the
    // watchdog bounds the wait.
    if SIGNAL
        .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return false;
    }
    INTERRUPTED.store(true, Ordering::SeqCst);
    true
}

/// Runs in signal context: only atomics and `write(2)`, which are async-signal-safe.
extern "C" fn on_signal(sig: libc::c_int) {
    if !record(sig) {
        return;
    }
    let fd = WAKE.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: one byte from a live local to the pipe made in `install`.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    } else if NO_WATCHDOG.load(Ordering::SeqCst) {
        // SAFETY: alarm(2) is async-signal-safe.
        unsafe { libc::alarm(GRACE.as_secs().max(1) as libc::c_uint + 1) };
    }
}

/// The watchdog's work where no thread could be started, in signal context: the alarm
/// [`on_signal`] armed went off, so the process is stuck waiting (a read of a pipe or a
/// FIFO, restarted after the signal): it says so and ends as [`end`] would, with only
/// async-signal-safe calls. (It waited forever: `prlimit --nproc=1`, then `phash FIFO`
/// and Ctrl-C.)
extern "C" fn on_alarm(_: libc::c_int) {
    if let Some(line) = MESSAGE.get() {
        // SAFETY: write(2) of a live static string, then of one byte.
        unsafe {
            libc::write(2, line.as_ptr().cast(), line.len());
            libc::write(2, b"\n".as_ptr().cast(), 1);
        }
    }
    reraise();
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(EXIT_STATUS.load(Ordering::SeqCst)) }
}

/// Writes `bytes` to descriptor `fd` only if it takes them now, whole (at most PIPE_BUF
/// bytes: atomic on a pipe with room); else nothing. The watchdog's way to speak without
/// ever waiting.
fn write_if_ready(fd: libc::c_int, bytes: &[u8]) {
    let mut ready = libc::pollfd {
        fd,
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: poll on one live struct with no wait; then a write of a live buffer; the
    // result is not needed.
    unsafe {
        if !bytes.is_empty()
            && bytes.len() <= libc::PIPE_BUF
            && libc::poll(&mut ready, 1, 0) == 1
            && ready.revents & libc::POLLOUT != 0
        {
            libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        }
    }
}

/// The set of `signals`.
fn set_of(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the zeroed set; sigaddset adds valid signal numbers.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &sig in signals {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// Waits until an interrupt arrives, by the `signalfd` or the handler's pipe (whichever
/// [`install`] made; `-1`: not made). A signal seen pending on the `signalfd` is recorded
/// before it is taken.
fn wait_for_interrupt(signal_fd: libc::c_int, wake: libc::c_int) {
    loop {
        let mut fds = [wake, signal_fd].map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        });
        // SAFETY: two live pollfds (poll skips one whose descriptor is negative); no
        // timeout.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } <= 0 {
            continue;
        }
        if fds[0].revents != 0 {
            return;
        }
        if fds[1].revents == 0 {
            continue;
        }
        // Which one is pending (still: this thread has not taken it).
        let Some(sig) = pending() else { continue };
        record(sig);
        // Then that one signal taken off the pending set, without waiting (a read of the
        // signalfd would take the lowest-numbered one, and wait if none were left).
        let only = set_of(&[sig]);
        let now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a live set of one blocked signal and a zero timeout; no siginfo wanted.
        unsafe { libc::sigtimedwait(&only, std::ptr::null_mut(), &now) };
        return;
    }
}

/// Installs the handler for SIGINT, SIGTERM and SIGHUP (each unless it is ignored), and
/// the watchdog thread, which takes them (they are blocked in this thread and in every
/// thread it starts from now on; see the module's header).
///
/// And SIGXFSZ is ignored: a write past `ulimit -f` then fails with EFBIG, reported like a
/// full disk, with the temporary file removed (by default the signal killed the process
/// mid-write, silently).
pub fn install() {
    // SAFETY: SIG_IGN for a signal whose default action is to end the process; nothing
    // else in the process handles it.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    // Which to take on: those not ignored when the process started.
    let caught: Vec<libc::c_int> = SIGNALS
        .into_iter()
        .filter(|&sig| {
            // SAFETY: sigaction only reads the disposition into a zeroed struct.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(sig, std::ptr::null(), &mut old) == 0
                    && old.sa_sigaction != libc::SIG_IGN
            }
        })
        .collect();
    CAUGHT.store(
        caught.iter().fold(0, |bits, &sig| bits | (1 << sig)),
        Ordering::SeqCst,
    );
    let caught_set = set_of(&caught);
    // Blocked before anything else, so that one arriving while this is set up waits,
    // pending, for the watchdog (a handler then could not yet wake it).
    // SAFETY: a live set, blocked in this thread (the threads it starts inherit the
    // mask); the old mask is not needed.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &caught_set, std::ptr::null_mut()) };
    // SAFETY: a live set; the descriptor is owned by the watchdog from here on.
    let signal_fd = unsafe { libc::signalfd(-1, &caught_set, libc::SFD_CLOEXEC) };
    // The handler's pipe to the watchdog, only where there is no signalfd: two
    // descriptors fewer under a low `ulimit -n` otherwise.
    let (read_end, write_end) = if signal_fd >= 0 {
        (-1, -1)
    } else {
        let mut fds = [-1; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            fds = [-1; 2];
        }
        (fds[0], fds[1])
    };
    let watchdog = (signal_fd >= 0 || read_end >= 0).then(|| {
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                wait_for_interrupt(signal_fd, read_end);
                std::thread::sleep(GRACE);
                // Straight to the descriptor, and only if it can take the line now: the
                // thread that is stuck may be stuck writing to stderr, holding the lock of
                // Rust's, on a pipe nobody reads (`2>&1 | less`, a stalled log collector),
                // and SIGTERM then ended nothing.
                if let Some(line) = MESSAGE.get() {
                    write_if_ready(2, format!("{line}\n").as_bytes());
                }
                if let Some(words) = LAST_WORDS.get() {
                    // Straight to the descriptor: the thread that is stuck may hold the lock
                    // of Rust's stdout (nothing of it is written then: it is stuck reading).
                    // Only if it can take them now, whole: a run stuck writing to a pipe that
                    // nobody reads must still end on time.
                    write_if_ready(1, &words());
                }
                // Not `end`'s exit: its flush of Rust's stdout could wait on that same pipe.
                reraise();
                // SAFETY: _exit ends the process at once; nothing is left to flush.
                unsafe { libc::_exit(exit_status()) }
            })
            .is_ok()
    }) == Some(true);
    let watched = watchdog && signal_fd >= 0;
    if watchdog {
        WAKE.store(write_end, Ordering::SeqCst);
    } else {
        // No thread can be started (a process limit), or nothing to watch: the handlers
        // take the signals, so that an interrupt still cleans up and ends as documented,
        // and an alarm they arm ends a process stuck waiting.
        NO_WATCHDOG.store(true, Ordering::SeqCst);
        // SAFETY: the descriptors (those made) were made above and nothing else uses
        // them; signal(2) installs a handler that only makes async-signal-safe calls.
        unsafe {
            for fd in [signal_fd, read_end, write_end] {
                if fd >= 0 {
                    libc::close(fd);
                }
            }
            libc::signal(
                libc::SIGALRM,
                on_alarm as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
    for &sig in &caught {
        // SAFETY: sigaction with a zeroed (then filled) struct and the handler above; the
        // old disposition is not needed.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            act.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
    if !watched {
        // Nothing watches the signalfd: the handler is what takes them, so they are let
        // through (one that came while this was set up runs it now).
        // SAFETY: unblocks a live set in this thread.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &caught_set, std::ptr::null_mut()) };
    }
}
