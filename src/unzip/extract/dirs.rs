//! The one cache of directory handles below DEST, used by the serial phases (creating
//! directories, scanning for conflicts, setting directory modes) and by every worker.
//!
//! A handle is opened component by component from the nearest cached ancestor with
//! `O_NOFOLLOW | O_DIRECTORY` (see [`fsops::open_dir_at`]), so a symlink anywhere on the
//! way is refused, never followed. The cache is bounded: however deep the archive's tree,
//! a cache holds at most [`DirCache::CAP`] handles plus the two of the walk in progress,
//! so a 2,000-level archive cannot exhaust file descriptors; under a low `ulimit -n` the
//! workers' caches are smaller ([`DirCache::worker_cap`]). Members come in sorted or
//! archive order, so the parent of the next directory is almost always cached, and
//! usually the last one looked up: the handles are kept in a short list searched from its
//! most recent end (hashing every member's parent path cost more than the lookups).

use std::io;
use std::os::fd::OwnedFd;

use rustix::fs::{self as rfs, Mode};

use crate::unzip::fsops;

/// Open directory handles by relative path, bounded.
pub struct DirCache<'r> {
    root: &'r OwnedFd,
    /// At most `cap`, the most recent last.
    open: Vec<(Vec<String>, OwnedFd)>,
    cap: usize,
}

impl<'r> DirCache<'r> {
    /// Handles one cache keeps: enough for the directories near the current one, few
    /// enough that a worker per core stays far below the usual descriptor limit.
    pub const CAP: usize = 32;

    /// Descriptors a worker holds besides its cache: the two of a walk in progress, the
    /// member's file, and a spare.
    const WORKER_OTHERS: u64 = 4;
    /// Descriptors kept for the rest of the process: the standard ones, the archive,
    /// DEST, the interrupt handler's, a spooled standard input, the serial phases' walks.
    const PROCESS: u64 = 16;

    pub fn new(root: &'r OwnedFd) -> DirCache<'r> {
        DirCache::with_cap(root, DirCache::CAP)
    }

    /// A cache of at most `cap` handles (at least one).
    pub fn with_cap(root: &'r OwnedFd, cap: usize) -> DirCache<'r> {
        DirCache {
            root,
            open: Vec::new(),
            cap: cap.clamp(1, DirCache::CAP),
        }
    }

    /// The cache of one of `jobs` threads working at once (the workers, or the runs that
    /// make the directories), sized by [`DirCache::worker_cap`] under this process's soft
    /// descriptor limit.
    pub fn for_worker(root: &'r OwnedFd, jobs: usize) -> DirCache<'r> {
        let limit = crate::fdtable::soft_limit();
        DirCache::with_cap(root, DirCache::worker_cap(limit, jobs))
    }

    /// The capacity for each of `jobs` workers' caches under a soft descriptor limit of
    /// `limit`: [`DirCache::CAP`] unless the limit is too low for all of them at once
    /// (`ulimit -n 24`, two workers: one each). Shedding on `EMFILE` (see
    /// [`DirCache::shed_all_but`]) frees only a worker's own handles, so the caches must
    /// leave room for each other from the start.
    pub fn worker_cap(limit: u64, jobs: usize) -> usize {
        let each = limit.saturating_sub(Self::PROCESS) / jobs.max(1) as u64;
        (each.saturating_sub(Self::WORKER_OTHERS) as usize).clamp(1, DirCache::CAP)
    }

    /// Where `parts`' handle is in the list, if cached.
    fn find(&self, parts: &[String]) -> Option<usize> {
        self.open.iter().rposition(|(p, _)| p.as_slice() == parts)
    }

    /// The handle of directory `parts` (DEST itself when empty).
    pub fn open(&mut self, parts: &[String]) -> io::Result<&OwnedFd> {
        if parts.is_empty() {
            return Ok(self.root);
        }
        let i = match self.find(parts) {
            Some(i) => i,
            None => {
                let fd = self.with_room(|c| c.walk(parts))?;
                self.insert(parts, fd)
            }
        };
        Ok(&self.open[i].1)
    }

    /// Creates directory `parts` (mode `mode`, under the umask) in its existing parent if it
    /// is missing, and opens it. Returns whether this call created it.
    pub fn create(&mut self, parts: &[String], mode: u32) -> io::Result<bool> {
        let (last, parent) = parts.split_last().expect("a directory below DEST");
        let parent_fd = self.open(parent)?;
        let created = match rfs::mkdirat(
            parent_fd,
            &*crate::unzip::names::on_disk(last),
            Mode::from_raw_mode(mode),
        ) {
            Ok(()) => true,
            Err(rustix::io::Errno::EXIST) => false,
            Err(e) => return Err(e.into()),
        };
        let fd = self.with_room(|c| c.walk(parts))?;
        self.insert(parts, fd);
        Ok(created)
    }

    /// Closes every cached handle but `parts`' (if cached), for a caller that ran out of
    /// file descriptors; returns whether any was closed (whether trying again may help).
    pub fn shed_all_but(&mut self, parts: &[String]) -> bool {
        let before = self.open.len();
        self.open.retain(|(p, _)| p.as_slice() == parts);
        self.open.len() < before
    }

    /// Runs `open`, and once more with the cache emptied if it failed for want of file
    /// descriptors: the cached handles are only a convenience, and under a low
    /// `ulimit -n` they may be what stands in the way (punzip -j2 under `ulimit -n 32`
    /// failed on a 600-level archive until it shed them).
    fn with_room<T>(&mut self, open: impl Fn(&Self) -> io::Result<T>) -> io::Result<T> {
        match open(self) {
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) && !self.open.is_empty() => {
                self.open.clear();
                open(self)
            }
            r => r,
        }
    }

    /// Opens `parts` from its deepest cached ancestor, holding only the handle of the
    /// component being walked.
    fn walk(&self, parts: &[String]) -> io::Result<OwnedFd> {
        let (from, cached) = (1..parts.len())
            .rev()
            .find_map(|k| self.find(&parts[..k]).map(|i| (k, Some(&self.open[i].1))))
            .unwrap_or((0, None));
        let mut cur: Option<OwnedFd> = None;
        for name in &parts[from..] {
            let next = match (&cur, cached) {
                (Some(fd), _) => fsops::open_dir_at(fd, name)?,
                (None, Some(parent)) => fsops::open_dir_at(parent, name)?,
                (None, None) => fsops::open_dir_at(self.root, name)?,
            };
            cur = Some(next);
        }
        Ok(cur.expect("parts is not empty"))
    }

    /// Caches `fd` as `parts`' handle (replacing an older one); returns its place.
    fn insert(&mut self, parts: &[String], fd: OwnedFd) -> usize {
        if let Some(i) = self.find(parts) {
            self.open.remove(i);
        }
        if self.open.len() >= self.cap {
            // Keep the new handle's ancestors' chances simple: start afresh. Sorted and
            // archive order make the next lookups reopen at most one path.
            self.open.clear();
        }
        self.open.push((parts.to_vec(), fd));
        self.open.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> Vec<String> {
        s.split('/').map(String::from).collect()
    }

    fn open_fds() -> usize {
        std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
    }

    #[test]
    fn a_deep_tree_is_created_and_reopened_with_a_bounded_number_of_handles() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fsops::open_root(tmp.path()).unwrap();
        let mut cache = DirCache::new(&root);
        let before = open_fds();
        let deep: Vec<String> = (0..300).map(|_| "d".to_string()).collect();
        for depth in 1..=deep.len() {
            assert!(cache.create(&deep[..depth], 0o755).unwrap());
        }
        assert!(cache.open.len() <= DirCache::CAP);
        let mut small = DirCache::with_cap(&root, 2);
        for depth in 1..=10 {
            small.open(&deep[..depth]).unwrap();
            assert!(
                small.open.len() <= 2,
                "{} handles at depth {depth}",
                small.open.len()
            );
        }
        // Other tests run in parallel threads of this process: a generous bound.
        assert!(open_fds() < before + 100, "{} handles", open_fds() - before);
        let mut fresh = DirCache::new(&root);
        fresh.open(&deep).unwrap();
        assert_eq!(fresh.open.len(), 1, "only the wanted handle is kept");
        assert!(tmp.path().join(deep.join("/")).is_dir());
    }

    #[test]
    fn worker_caches_shrink_to_leave_every_worker_room_under_a_low_limit() {
        assert_eq!(DirCache::worker_cap(1024, 2), DirCache::CAP);
        assert_eq!(DirCache::worker_cap(64, 2), 20);
        assert_eq!(DirCache::worker_cap(24, 2), 1, "never below one");
        assert_eq!(DirCache::worker_cap(10, 8), 1);
        assert_eq!(DirCache::worker_cap(u64::MAX, 0), DirCache::CAP);
        for (limit, jobs) in [(64u64, 2usize), (100, 3), (256, 8)] {
            let cap = DirCache::worker_cap(limit, jobs) as u64;
            assert!(
                DirCache::PROCESS + jobs as u64 * (cap + DirCache::WORKER_OTHERS) <= limit,
                "{jobs} workers of {cap} handles fit in {limit}"
            );
        }
    }

    #[test]
    fn an_existing_directory_is_opened_not_created_and_a_symlink_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("a/b")).unwrap();
        std::os::unix::fs::symlink("/", tmp.path().join("a/l")).unwrap();
        let root = fsops::open_root(tmp.path()).unwrap();
        let mut cache = DirCache::new(&root);
        assert!(!cache.create(&parts("a"), 0o755).unwrap());
        assert!(!cache.create(&parts("a/b"), 0o755).unwrap());
        assert!(cache.create(&parts("a/b/c"), 0o755).unwrap());
        assert!(cache.open(&parts("a/l/tmp")).is_err());
        assert!(cache.create(&parts("a/l"), 0o755).is_err());
    }
}
