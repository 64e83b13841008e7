//! Surviving a mapped file that shrinks under us. punzip maps its archive, and phash maps
//! the big files it hashes (no copy out of the page cache); if another process truncates
//! such a file mid-run, touching a page past the new end raises SIGBUS, which would kill
//! the process on the spot (no message, a temporary file left behind).
//!
//! A [`Guard`] registers the mapping. The SIGBUS handler, for a fault inside a registered
//! mapping, maps an anonymous zero page over the faulting page (so the read that faulted
//! completes, reading zeros) and counts the fault. Whoever read through the mapping checks
//! the count before using what it read: punzip before a member takes its final name (the
//! archive is then reported as damaged, exit 3), phash before a digest stands (the file is
//! then reported as changed while read). A fault anywhere else is not ours: the handler
//! puts back the handler it replaced (Rust's own, or the default action) and returns, so
//! the fault repeats and is handled as it would have been.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

/// Mappings guarded at once: punzip's archive, and each file phash's lanes have in flight
/// (up to 48 per worker, twice that while reading ahead). The handler scans them all.
const SLOTS: usize = 512;

struct Slot {
    claimed: AtomicBool,
    start: AtomicUsize,
    /// Zero while the slot is not registered (set last, cleared first).
    len: AtomicUsize,
    faults: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    claimed: AtomicBool::new(false),
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    faults: AtomicUsize::new(0),
};

static SLOTS_: [Slot; SLOTS] = [EMPTY; SLOTS];
static PAGE: AtomicUsize = AtomicUsize::new(4096);
static INSTALL: Once = Once::new();
/// The SIGBUS action before ours.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

/// A registered mapping; unregistered on drop.
pub struct Guard {
    slot: Option<&'static Slot>,
}

impl Guard {
    /// Registers `bytes` (a memory map, or any buffer: a buffer simply never faults).
    /// With every slot taken (many runs at once in one process), the run is unguarded.
    pub fn new(bytes: &[u8]) -> Guard {
        Guard::try_new(bytes).unwrap_or(Guard { slot: None })
    }

    /// Registers `bytes` if a slot is free; `None` if not (then the caller should not
    /// read the file through a mapping).
    pub fn try_new(bytes: &[u8]) -> Option<Guard> {
        INSTALL.call_once(install);
        let slot = SLOTS_.iter().find(|s| {
            s.claimed
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        });
        let s = slot?;
        s.faults.store(0, Ordering::Relaxed);
        s.start.store(bytes.as_ptr() as usize, Ordering::Release);
        s.len.store(bytes.len(), Ordering::Release);
        Some(Guard { slot: Some(s) })
    }

    /// Whether any page of the archive was found missing so far.
    pub fn tripped(&self) -> bool {
        self.slot
            .is_some_and(|s| s.faults.load(Ordering::Acquire) > 0)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(s) = self.slot {
            s.len.store(0, Ordering::Release);
            s.claimed.store(false, Ordering::Release);
        }
    }
}

fn install() {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 {
        PAGE.store(page as usize, Ordering::Relaxed);
    }
    // SAFETY: a zeroed sigaction is valid; the handler has the SA_SIGINFO signature.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        let h: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = handler;
        sa.sa_sigaction = h as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut sa.sa_mask);
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old) == 0 {
            let _ = PREVIOUS.set(old);
        }
        libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut());
    }
}

extern "C" fn handler(_sig: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE.load(Ordering::Relaxed);
    for s in &SLOTS_ {
        let len = s.len.load(Ordering::Acquire);
        let start = s.start.load(Ordering::Acquire);
        if len == 0 || addr < start || addr - start >= len {
            continue;
        }
        let at = addr & !(page - 1);
        // SAFETY: the page lies in a live read-only mapping registered by a Guard; a
        // private anonymous page over it reads as zeros. mmap is a plain system call.
        let p = unsafe {
            libc::mmap(
                at as *mut libc::c_void,
                page,
                libc::PROT_READ,
                libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p != libc::MAP_FAILED {
            s.faults.fetch_add(1, Ordering::AcqRel);
            return;
        }
    }
    // Not ours: let the fault happen again under the previous action.
    // SAFETY: sigaction and signal are async-signal-safe; `prev` was read by sigaction.
    unsafe {
        match PREVIOUS.get() {
            Some(prev) => {
                libc::sigaction(libc::SIGBUS, prev, std::ptr::null_mut());
            }
            None => {
                libc::signal(libc::SIGBUS, libc::SIG_DFL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_a_truncated_map_gives_zeros_and_trips_the_guard() {
        let mut f = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut f, &vec![7u8; 64 * 1024]).unwrap();
        // SAFETY: test-only map of our own temp file.
        let map = unsafe { memmap2::Mmap::map(&f) }.unwrap();
        let g = Guard::new(&map);
        assert!(!g.tripped());
        f.set_len(4096).unwrap();
        let tail = std::hint::black_box(&map[60 * 1024..])
            .iter()
            .map(|&b| b as u64)
            .sum::<u64>();
        assert_eq!(tail, 0);
        assert!(g.tripped());
        assert_eq!(map[0], 7);
    }
}
