//! Files the walk opens for the workers: the walk's one look at a small file is an `open`
//! and an `fstat` of the descriptor, which it hands over with the file, instead of a
//! `stat` by name followed, much later, by the worker's `open` by name.
//!
//! Why it exists: every lookup of a name costs a walk of the kernel's dentry hash chain,
//! and the walk runs thousands of files ahead of the workers, so the worker's lookup of a
//! name the walk looked up long before finds it cold again. On the VMs of this project's
//! machine kind the dentry hash table is small (`dhash_entries=131072` on the kernel's
//! command line, for 600,000 dentries), and a cold lookup costs about a microsecond: on a
//! copy of /usr/share (43,000 files) `__d_lookup_rcu` was 14% of phash's samples, most of
//! it the walk's `statat` and the worker's `open` of the same last component. md5sum pays
//! one cold lookup per file; phash paid two. Opened by the walk, a file is looked up once:
//! on that copy, 7-8% less CPU in all.
//! - But the `open` moves work from the workers to the walk, whose thread then takes
//!   longer to reach the big files near the end of the tree (a 76 MB file hashed as one
//!   stream, about 90 ms, is started when the walk meets it). When the walk has a core of
//!   its own (fewer workers than cores: `-j1` on two cores) that costs nothing, and `-j1`
//!   took 0.302 s instead of 0.360 s; when the workers fill every core (`-j2` on two),
//!   the walk shares them, and the run took 0.269 s instead of 0.249 s despite the CPU
//!   saved (medians of 9 alternating runs). So the walk opens files only when it has a
//!   spare core ([`wanted`]).
//!
//! Why it is shaped so:
//! - Descriptors are bounded: at most [`Budget`]'s limit are held between the walk and the
//!   workers. The walk waits for a free one ([`Budget::acquire`]); a worker frees it when
//!   it takes the file ([`HeldFd::take`]), before hashing (its own open files are bounded
//!   by its run, see [`crate::fdtable`]). The walk holds at most one open run of files
//!   itself (256), far below the limit, so waiting cannot deadlock; and the walk still
//!   runs thousands of files ahead, so big files (scheduled long-first) are met early.
//! - Anything unusual goes the old way, with the same errors and messages: a file that
//!   cannot be opened (unreadable, gone, swapped for a link: the worker's `open` by name
//!   says why), a file bigger than a lane chunk (streamed files are gathered across the
//!   walk, and held long), `-L`, `--shard` (most files belong to other shards), a limit
//!   too low to be worth it.
//! - The checks are unchanged: the `fstat` of the held descriptor is the "before" of
//!   [`super::version`], and the worker's `fstat` after the last read must agree with it.
//!   A file renamed or removed after the walk opened it is hashed as it was opened, as
//!   md5sum hashes the file it opened.

use std::fs::File;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

/// `0`: the walk opens nothing; `1`: it opens files whatever the cores (for measurements,
/// and for tests of both ways on any machine).
pub const ENV: &str = "PHASH_WALK_OPENS";

/// Whether the walk should open files for the workers: when it has a core of its own
/// (`spare_core`: fewer workers than cores), unless [`ENV`] says otherwise.
pub fn wanted(spare_core: bool) -> bool {
    match std::env::var_os(ENV) {
        Some(v) if v == "0" => false,
        Some(v) if v == "1" => true,
        _ => spare_core,
    }
}

/// The most descriptors held between the walk and the workers.
pub const MOST: usize = 4096;
/// Below this many, holding is not worth it (and the walk's own open run must fit).
const LEAST: usize = 1024;
/// Descriptors left free beyond every count: the output, a list, a read-ahead thread's.
const SLACK: usize = 256;

/// Descriptors this process has open now (its `/proc/self/fd`); where that cannot be
/// read, as many as the limit allows, so that nothing is held.
fn open_now() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(usize::MAX / 2, |d| d.count())
}

/// How many descriptors the walk may hold for the workers, and how many it does.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    closed: AtomicBool,
    held: AtomicUsize,
    lock: Mutex<()>,
    freed: Condvar,
}

impl Budget {
    /// A budget for a run, or `None` when the descriptor limit leaves too few beside the
    /// workers' `others`, the descriptors already open (inherited from the shell: 300 of
    /// them made the walk's 4,096 overrun a limit of 4,500, and files failed with "Too many
    /// open files"), and [`SLACK`].
    pub fn for_run(others: usize) -> Option<Arc<Budget>> {
        let soft = crate::fdtable::soft_limit() as usize;
        let limit = soft.saturating_sub(others + open_now() + SLACK).min(MOST);
        (limit >= LEAST).then(|| Arc::new(Budget::with_limit(limit)))
    }

    fn with_limit(limit: usize) -> Budget {
        Budget {
            limit,
            closed: AtomicBool::new(false),
            held: AtomicUsize::new(0),
            lock: Mutex::new(()),
            freed: Condvar::new(),
        }
    }

    /// Waits until a descriptor may be held, and counts it; false when the run is told to
    /// stop (`stop`, or an interrupt) first, or holding was given up ([`Budget::close`]).
    pub fn acquire(&self, stop: &AtomicBool) -> bool {
        loop {
            if self.closed.load(Ordering::Acquire) {
                return false;
            }
            let held = self.held.load(Ordering::Acquire);
            if held < self.limit {
                if self
                    .held
                    .compare_exchange(held, held + 1, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return true;
                }
                continue;
            }
            if stop.load(Ordering::Relaxed) || crate::cancel::interrupted() {
                return false;
            }
            let guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            // Re-checked under the lock that `release` takes to notify; the timeout only
            // bounds how late a stop is seen.
            if self.held.load(Ordering::Acquire) >= self.limit {
                let _ = self
                    .freed
                    .wait_timeout(guard, Duration::from_millis(20))
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
    }

    /// The walk's `open` found no free descriptor (the count in [`Budget::for_run`] was too
    /// hopeful): nothing more is held this run; [`Budget::acquire`] says no at once. (A
    /// smaller limit to wait under could deadlock: the walk's own open run counts.)
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }

    /// Gives a place back: its descriptor was taken by a worker or closed unused, or the
    /// walk could not open the file it was acquired for.
    pub(super) fn release(&self) {
        if self.held.fetch_sub(1, Ordering::AcqRel) == self.limit {
            // The walk may be waiting for exactly this one.
            let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
            self.freed.notify_one();
        }
    }

    /// Descriptors held now.
    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

/// A descriptor the walk opened for a worker, counted in its [`Budget`] until a worker
/// takes it (through a shared reference: units are shared with the sink) or it is dropped
/// unused (a run stopped early).
#[derive(Debug)]
pub struct HeldFd {
    fd: AtomicI32,
    budget: Arc<Budget>,
}

impl HeldFd {
    /// Wraps `fd`, already counted by [`Budget::acquire`].
    pub fn new(fd: OwnedFd, budget: Arc<Budget>) -> HeldFd {
        HeldFd {
            fd: AtomicI32::new(fd.into_raw_fd()),
            budget,
        }
    }

    /// The file, once: later calls (and a unit's second look) get `None`.
    pub fn take(&self) -> Option<File> {
        let fd = self.fd.swap(-1, Ordering::AcqRel);
        if fd < 0 {
            return None;
        }
        self.budget.release();
        // SAFETY: `fd` came from an `OwnedFd` in `new`, and the swap gives it out once.
        Some(unsafe { File::from_raw_fd(fd) })
    }
}

impl Drop for HeldFd {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// Takes the `i`-th held file of a run, if the walk opened it.
pub fn take(held: &[Option<HeldFd>], i: usize) -> Option<File> {
    held.get(i)?.as_ref()?.take()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some_fd() -> OwnedFd {
        File::open("/dev/null").unwrap().into()
    }

    #[test]
    fn a_held_file_is_taken_once_and_frees_its_place_when_taken_or_dropped() {
        let budget = Arc::new(Budget::with_limit(2));
        let stop = AtomicBool::new(false);
        assert!(budget.acquire(&stop));
        let a = HeldFd::new(some_fd(), budget.clone());
        assert!(budget.acquire(&stop));
        let b = HeldFd::new(some_fd(), budget.clone());
        assert_eq!(budget.held(), 2);
        assert!(a.take().is_some());
        assert!(a.take().is_none());
        assert_eq!(budget.held(), 1);
        drop(b);
        assert_eq!(budget.held(), 0);
        drop(a);
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn the_walk_waits_for_a_free_place_and_gives_up_when_told_to_stop() {
        let budget = Arc::new(Budget::with_limit(1));
        let stop = AtomicBool::new(false);
        assert!(budget.acquire(&stop));
        let first = HeldFd::new(some_fd(), budget.clone());
        std::thread::scope(|s| {
            let waiter = s.spawn(|| budget.acquire(&stop));
            std::thread::sleep(Duration::from_millis(30));
            assert!(!waiter.is_finished(), "acquired past the limit");
            drop(first.take());
            assert!(waiter.join().unwrap());
        });
        let stop = AtomicBool::new(true);
        assert!(!budget.acquire(&stop), "full, and told to stop");
        // Given up after "Too many open files": no more, even with room.
        let budget = Budget::with_limit(8);
        let go = AtomicBool::new(false);
        assert!(budget.acquire(&go));
        budget.release();
        budget.close();
        assert!(!budget.acquire(&go), "closed");
        assert_eq!(budget.held(), 0);
    }
}
