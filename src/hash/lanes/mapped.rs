//! Big files hashed straight out of the page cache, through a memory map, instead of
//! copied into the lane buffers by `read`.
//!
//! Why: for a big file in the page cache, `read` is the kernel copying every byte into our
//! buffer, and that copy cost more than the hashing itself (44% of all samples against 33%
//! in the AVX-512 kernel, for 16 x 64 MiB on tmpfs). Mapping the file and asking the
//! kernel to map a chunk's pages (`MADV_POPULATE_READ`, on the read-ahead thread when
//! there is one, as `read` was) costs about a third of the copy, and the hashing thread
//! then reads the page cache itself.
//!
//! What keeps it safe: a file that shrinks while mapped would raise SIGBUS at the first
//! page past its new end. The mapping is registered with [`crate::sigbus`], whose handler
//! maps a zero page there instead and counts the fault; a source whose guard tripped never
//! gives a digest, but [`shrank`] (reported as the file's size change, see
//! `md5::unchanged`). `MADV_POPULATE_READ` past the end fails with EFAULT, which is
//! reported the same way before any zero is hashed. Where a file cannot be mapped (a
//! file system without `mmap`, every guard slot taken, a kernel without populate), it is
//! read as before.

use std::io;
use std::os::fd::RawFd;

use crate::sigbus::Guard;

/// A file mapped read-only for its first `len` bytes, guarded against SIGBUS.
pub(super) struct Mapped {
    // Declared first, so it is dropped (unregistered) before the map is unmapped.
    guard: Guard,
    map: memmap2::Mmap,
}

impl Mapped {
    /// Maps the first `len` bytes of the open file `fd`, or `None` if it cannot be mapped
    /// and guarded (then the file is read instead).
    pub(super) fn new(fd: RawFd, len: u64) -> Option<Mapped> {
        let len = usize::try_from(len).ok().filter(|&l| l > 0)?;
        // SAFETY: a shared read-only map of a file that another process may change or
        // truncate: changes are caught by the size-and-mtime check after hashing, and a
        // truncation's SIGBUS by the guard registered below, before any byte is read.
        let map = unsafe { memmap2::MmapOptions::new().len(len).map(fd) }.ok()?;
        let guard = Guard::try_new(&map)?;
        Some(Mapped { guard, map })
    }

    /// The mapped bytes.
    pub(super) fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Maps the pages of `bytes()[at..at + len]` in now (reading them from the disk if
    /// they are not cached), so that hashing them does not fault. Err if part of the
    /// range is past the file's end: it shrank.
    pub(super) fn populate(&self, at: usize, len: usize) -> io::Result<()> {
        let page = page_size();
        let start = (self.map.as_ptr() as usize + at) & !(page - 1);
        let end = self.map.as_ptr() as usize + at + len;
        // SAFETY: the range lies within our live mapping; the advice only maps pages.
        let r = unsafe { libc::madvise(start as *mut libc::c_void, end - start, POPULATE_READ) };
        if r == 0 {
            return Ok(());
        }
        match io::Error::last_os_error().raw_os_error() {
            Some(libc::EFAULT) => Err(shrank()),
            // EINVAL: a kernel before 5.14; ENOMEM and others: the hashing faults instead.
            _ => Ok(()),
        }
    }

    /// Whether a page was found missing (the file shrank) since the map was made.
    pub(super) fn tripped(&self) -> bool {
        self.guard.tripped()
    }
}

/// `MADV_POPULATE_READ` (Linux 5.14), not in every libc crate version.
const POPULATE_READ: libc::c_int = 22;

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).unwrap_or(4096).max(4096)
}

/// The error of a mapped source that turned out shorter than its size said: the
/// caller's `fstat` afterwards says by how much.
#[derive(Debug, thiserror::Error)]
#[error("the file shrank while it was read")]
pub struct Shrank;

/// An [`io::Error`] carrying [`Shrank`].
pub(super) fn shrank() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, Shrank)
}

/// Whether `e` says a mapped source shrank (see [`shrank`]).
pub fn is_shrank(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Shrank>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_mapped_file_reads_as_its_bytes_and_a_truncated_one_says_it_shrank() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..1u32 << 20).map(|i| (i % 251) as u8).collect();
        f.write_all(&data).unwrap();
        let m = Mapped::new(f.as_raw_fd(), data.len() as u64).unwrap();
        m.populate(0, data.len()).unwrap();
        assert_eq!(m.bytes(), &data[..]);
        assert!(!m.tripped());

        f.set_len(4096).unwrap();
        match m.populate(8192, 4096) {
            Err(e) => assert!(is_shrank(&e), "{e}"),
            Ok(()) => eprintln!("skipped: this kernel has no MADV_POPULATE_READ (5.14)"),
        }
        let tail: u64 = std::hint::black_box(&m.bytes()[8192..12288])
            .iter()
            .map(|&b| b as u64)
            .sum();
        assert_eq!(tail, 0, "a page past the end reads as zeros");
        assert!(m.tripped(), "and trips the guard");
    }

    #[test]
    fn an_empty_file_is_not_mapped() {
        let f = tempfile::tempfile().unwrap();
        assert!(Mapped::new(f.as_raw_fd(), 0).is_none());
    }
}
