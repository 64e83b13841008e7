//! Growing the process's descriptor table once, at start-up, instead of while the workers
//! run.
//!
//! Why it exists: the kernel keeps a process's open files in a table that starts with 64
//! slots and doubles when a descriptor above it is needed. In a process with more than
//! one thread, each doubling waits for an RCU grace period (`expand_files` calls
//! `synchronize_rcu`), and every thread that opens a file meanwhile waits too. phash keeps
//! a run of files open per worker (up to [`crate::hash`]'s run size), so its table grows
//! 64 -> 128 -> 256 -> 512 -> 1024 in its first milliseconds. On the 2-core VM this was
//! found on, `perf sched` showed both workers and the walk asleep in `expand_files` for
//! 20-40 ms at the start of a /usr/share run: a core idle for a tenth of the run.
//! Done while the process has a single thread, the same growth costs no grace period; the
//! table never shrinks, so the workers find it big enough.
//!
//! And the limit: a worker that opens a run of 256 files at once needs that many
//! descriptors, and the usual soft limit (`ulimit -n`: 1,024) is too few for `-j 4`. So
//! [`reserve`] raises the soft limit toward the hard one, as far as the run needs (Go's
//! runtime does the same at start-up), and [`per_worker`] tells the run planners how many
//! files a worker may hold open when the hard limit is lower still: runs get shorter and
//! the run still works (with `ulimit -n 100`, phash used to fail on most files with "Too
//! many open files").
//!
//! punzip does the same for its workers' directory handles (32 cached per worker, see
//! `unzip::extract::dirs`): its table grew 64 -> 128 while two workers ran, and growing it
//! at start-up made `punzip -j2` on a JDK's `src.zip` 5% faster (medians of 21 alternating
//! runs, 0.254 -> 0.242 s, Intel Xeon, tmpfs).

/// The most descriptors [`reserve`] makes room for: a table of 65,536 slots takes about
/// 520 KiB of kernel memory.
pub const MOST: usize = 1 << 16;

/// Grows the descriptor table to hold at least `wanted` descriptors (at most the soft
/// `RLIMIT_NOFILE`, and at most [`MOST`]), by duplicating a descriptor to the highest
/// number needed and closing it. Call it before starting any thread (afterwards it still
/// works, but pays the grace period once). Best effort: any failure leaves the table as it
/// was.
pub fn reserve(wanted: usize) {
    let Some(mut lim) = limits() else {
        return;
    };
    let wanted = (wanted as u64).min(MOST as u64);
    if lim.rlim_cur < wanted && lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: wanted.min(lim.rlim_max),
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; lowering nothing, raising within the hard
        // limit, which any process may do.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
        }
    }
    let top = wanted.min(lim.rlim_cur);
    if top <= 64 {
        // The table starts with 64 slots.
        return;
    }
    let Ok(probe) = std::fs::File::open("/") else {
        return;
    };
    use std::os::fd::AsRawFd;
    // The lowest free descriptor at or above `top - 1`: the table grows to hold it.
    // SAFETY: `probe` is open; the new descriptor is closed below and never used.
    let high = unsafe { libc::fcntl(probe.as_raw_fd(), libc::F_DUPFD_CLOEXEC, (top - 1) as i32) };
    if high >= 0 {
        // SAFETY: `high` was just returned by fcntl and is owned by nobody else.
        unsafe { libc::close(high) };
    }
}

/// Descriptors kept aside from the workers' budget: the standard ones, the output, the
/// walk's directories, a list being read, the signal handler's.
const KEPT: u64 = 128;

/// How many files each of `jobs` workers may hold open at once under the soft limit (at
/// least 1; unlimited counts as [`MOST`]).
pub fn per_worker(jobs: std::num::NonZeroUsize) -> usize {
    let soft = limits().map_or(1024, |l| l.rlim_cur).min(MOST as u64);
    let each = soft.saturating_sub(KEPT) / jobs.get() as u64;
    (each as usize).max(1)
}

/// The soft `RLIMIT_NOFILE` (unlimited, or unknown, counts as [`MOST`]).
pub fn soft_limit() -> u64 {
    limits().map_or(MOST as u64, |l| l.rlim_cur.min(MOST as u64))
}

/// Descriptors a run needs whatever its workers: the standard three, the archive or the
/// walk's directory, the watchdog's pipe (see [`jobs_within`]).
const BASE_NEED: u64 = 4;
/// Descriptors each worker needs at the least: a member's or a file's, its directory's,
/// a read-ahead's, one to spare (see [`jobs_within`]).
const WORKER_NEED: u64 = 4;

/// `jobs`, or fewer when the hard `RLIMIT_NOFILE` cannot hold that many workers' least
/// needs ([`BASE_NEED`] + [`WORKER_NEED`] each; never fewer than 1). Under `ulimit -n 10`
/// both tools at `-j2` failed partway with "Too many open files" where one worker does
/// the whole run (punzip on a JDK's src.zip needs 8 descriptors at `-j1`, 12 at `-j2`;
/// phash 8 and 9); below 8 nothing can help, and the first open that fails says so.
pub fn jobs_within(jobs: std::num::NonZeroUsize) -> std::num::NonZeroUsize {
    let hard = limits().map_or(u64::MAX, |l| l.rlim_max);
    let most = hard.saturating_sub(BASE_NEED) / WORKER_NEED;
    let most = std::num::NonZeroUsize::new(most.min(usize::MAX as u64) as usize)
        .unwrap_or(std::num::NonZeroUsize::MIN);
    jobs.min(most)
}

/// The soft and hard `RLIMIT_NOFILE`.
fn limits() -> Option<libc::rlimit> {
    let mut lim = std::mem::MaybeUninit::<libc::rlimit>::uninit();
    // SAFETY: getrlimit writes the struct before returning 0.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, lim.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: getrlimit returned 0, so it filled `lim`.
    Some(unsafe { lim.assume_init() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of this process's descriptor table, as the kernel reports it.
    fn table_size() -> Option<usize> {
        // "FDSize" in the process's status is the table's size.
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("FDSize:"))
            .and_then(|v| v.trim().parse().ok())
    }

    #[test]
    fn the_table_grows_to_the_wanted_size_and_no_descriptor_is_left_open() {
        let Some(before) = table_size() else {
            eprintln!("SKIP: no /proc/self/status here");
            return;
        };
        // The probe is a descriptor of "/": count those (other tests open files of their
        // own meanwhile, so the whole table's count says nothing).
        let roots = || {
            std::fs::read_dir("/proc/self/fd")
                .unwrap()
                .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|target| target == std::path::Path::new("/"))
                .count()
        };
        let open_before = roots();
        let mut lim = std::mem::MaybeUninit::<libc::rlimit>::uninit();
        // SAFETY: getrlimit writes the struct before returning 0.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, lim.as_mut_ptr()) },
            0
        );
        // SAFETY: getrlimit returned 0.
        let soft = unsafe { lim.assume_init() }.rlim_cur as usize;
        let want = (before * 4).min(soft);
        reserve(before * 4);
        let after = table_size().unwrap();
        assert!(after >= want, "{before} -> {after}, wanted {want}");
        let open_after = roots();
        assert_eq!(open_before, open_after, "the probe descriptors are closed");
    }
}
