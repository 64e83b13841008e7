//! Digesting files: open each safely, read it in fixed-size chunks through the worker's
//! own buffers, and refuse to return a digest for a file that changed underneath us.
//!
//! Why it is shaped so:
//! - Memory does not grow with file size: each worker owns one lane engine
//!   ([`super::lanes::Lanes`], a [`CHUNK`]-byte buffer per lane, and a second set when it
//!   reads ahead), reused for every file. A memory map would save the copy out of the page
//!   cache, but measured slower here (256 MiB on tmpfs: 30 ms to map and fault in, 15 ms
//!   to `read`), costs extra syscalls per small file and turns a truncated file into
//!   SIGBUS; plain reads are faster and safer.
//! - On a cold cache, a run's files are announced to the kernel all at once
//!   (`announce_if_cold`), so the disk has many reads in flight, not one per worker.
//! - Files are opened with `O_NONBLOCK | O_NOCTTY`, so a FIFO that replaces a file between
//!   walk and open cannot hang the run. What the file was before the first read (a
//!   [`Version`]) is the walk's own `stat` for a file inside a tree (no second `stat`: five
//!   system calls per small file, not six) and an `fstat` for a named or listed one, which
//!   refuses special files before any read.
//! - After the last read, one `fstat`: a file that is not the one the walk saw (another
//!   inode, or another type) is [`HashError::Replaced`], whatever the read gave; the bytes
//!   read are compared with the size before, and size and modification time with the ones
//!   now. A file that grows, shrinks or is rewritten while we read it (or, inside a tree,
//!   since the walk saw it) is reported as an error, never given a wrong digest.
//! - Bytes are digested by the lane engine: a run of files goes through
//!   [`Worker::digest_walked_run`] / [`Worker::digest_files`], which open and check every
//!   file as the single-file calls do, hash all of them at once in SIMD lanes, then check
//!   each again. One file or many, the checks before and after are the same two functions
//!   (`prepare`, `finish`); a file that fails is left out of the batch, alone.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::held::{self, HeldFd};
use super::lanes::{Lanes, Source};
use super::version::Version;
use super::walk::Seen;
use super::HashError;

/// Bytes read per `read` call; one buffer of this size per worker.
pub const CHUNK: usize = 256 * 1024;

/// A digest and the number of bytes it covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digested {
    /// The MD5 digest.
    pub digest: [u8; 16],
    /// Bytes hashed.
    pub len: u64,
}

/// What a worker owns: its lane engine (the read buffers) and a results vector, both
/// reused for every file.
#[derive(Default)]
pub struct Worker {
    lanes: Lanes,
    got: Vec<io::Result<Digested>>,
}

/// Hashes everything `r` yields with the md-5 crate, chunk by chunk, checking for an
/// interrupt between chunks: the reference the lane engine is tested against, and a plain
/// digest for callers that have a reader and no [`Worker`].
pub fn digest_reader(r: &mut impl Read, buf: &mut [u8]) -> io::Result<Digested> {
    let mut md5 = Md5::new();
    let mut len = 0u64;
    loop {
        if crate::pool::halted() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = match r.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        md5.update(&buf[..n]);
        len += n as u64;
    }
    Ok(Digested {
        digest: md5.finalize().into(),
        len,
    })
}

/// Opens `path` for reading with extra `open(2)` flags.
pub(super) fn open(path: &Path, flags: libc::c_int) -> Result<File, HashError> {
    OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map_err(|source| HashError::Open {
            path: path.into(),
            source,
        })
}

/// A read error, or [`HashError::Interrupted`] when the read was stopped by a signal.
pub(super) fn read_err(path: &Path, source: io::Error) -> HashError {
    if source.kind() == io::ErrorKind::Interrupted {
        HashError::Interrupted { path: path.into() }
    } else {
        HashError::Read {
            path: path.into(),
            source,
        }
    }
}

/// Whether the file lives on a file system whose sizes are made up (procfs, sysfs and
/// their kin). Asked only after a short read, so normal files pay nothing.
fn on_pseudo_fs(file: &File) -> bool {
    // Magic numbers from linux/magic.h.
    const PSEUDO: [i64; 8] = [
        0x9fa0,     // procfs
        0x62656572, // sysfs
        0x64626720, // debugfs
        0x74726163, // tracefs
        0x73636673, // securityfs
        0x27e0eb,   // cgroup
        0x63677270, // cgroup2
        0x62656570, // configfs
    ];
    let mut sfs = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: the descriptor is open and `sfs` is written by the call before being read.
    if unsafe { libc::fstatfs(file.as_raw_fd(), sfs.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstatfs succeeded, so it filled `sfs`.
    // The field's type differs between C libraries and targets.
    #[allow(clippy::unnecessary_cast)]
    let f_type = unsafe { sfs.assume_init() }.f_type as i64;
    PSEUDO.contains(&f_type)
}

/// A file opened, and what it was before its first read (see [`Version`]).
pub(super) type Opened = (File, Version);

impl Worker {
    /// Opens the regular file at `path` found inside a walked tree (no symbolic link as
    /// last component unless following). What the walk saw of it (`seen`) stands for its
    /// `fstat`: the read is bounded by the walk's size, and [`finish`] checks the opened
    /// file is the one the walk saw (same device and inode). A path that led elsewhere by
    /// the time it was opened, because a directory on it was swapped for a link, is
    /// refused with [`HashError::Replaced`], its bytes never used.
    /// `held`: the file, when the walk opened it (see [`super::held`]): its `fstat` is
    /// `seen`.
    pub(super) fn open_walked(
        path: &Path,
        seen: &Seen,
        held: Option<File>,
    ) -> Result<Opened, HashError> {
        if let Some(file) = held {
            return Ok((file, seen.version));
        }
        let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
        if seen.nofollow {
            flags |= libc::O_NOFOLLOW;
        }
        match open(path, flags) {
            Ok(file) => Ok((file, seen.version)),
            // The walk saw a regular file; a link there now was put there since (ELOOP
            // is O_NOFOLLOW's answer, "Too many levels of symbolic links").
            Err(HashError::Open { source, .. })
                if seen.nofollow && source.raw_os_error() == Some(libc::ELOOP) =>
            {
                Err(HashError::Replaced { path: path.into() })
            }
            Err(e) => Err(e),
        }
    }

    /// Opens a file named in a checksum list (links followed) and `fstat`s it.
    pub(super) fn open_listed(path: &Path) -> Result<Opened, HashError> {
        let file = open(path, libc::O_NONBLOCK | libc::O_NOCTTY)?;
        let before = file.metadata().map_err(|e| read_err(path, e))?;
        Ok((file, Version::from(&before)))
    }

    /// Hashes a regular file found inside a walked tree (see [`Worker::digest_walked_run`]).
    pub fn digest_walked(&mut self, path: &Path, seen: &Seen) -> Result<Digested, HashError> {
        let (file, before) = Worker::open_walked(path, seen, None)?;
        self.digest_opened(&file, path, &before)
    }

    /// Hashes a run of files found inside a walked tree, all at once in the lane engine:
    /// each is opened and checked as [`Worker::digest_walked`] does, and checked again
    /// after its last read. One result per file, in order; one file's failure leaves the
    /// others' results untouched.
    /// `held[i]` is `files[i]`'s descriptor when the walk opened it (see [`super::held`]).
    pub fn digest_walked_run(
        &mut self,
        files: &[(PathBuf, Seen)],
        held: &[Option<HeldFd>],
    ) -> Vec<Result<Digested, HashError>> {
        let opened = files
            .iter()
            .enumerate()
            .map(|(i, (p, seen))| Worker::open_walked(p, seen, held::take(held, i)))
            .collect();
        self.digest_batch(files.iter().map(|(p, _)| p.as_path()), opened)
    }

    /// Hashes the regular file at `path` (a name from a checksum list). Special files are
    /// refused ([`HashError::Special`]) without reading; a directory gives EISDIR, as
    /// md5sum says.
    pub fn digest_file(&mut self, path: &Path) -> Result<Digested, HashError> {
        let (file, before) = Worker::open_listed(path)?;
        self.digest_opened(&file, path, &before)
    }

    /// [`Worker::digest_file`] for several files at once, in the lane engine: one result
    /// per path, in order, each as `digest_file` would give it.
    pub fn digest_files(&mut self, paths: &[&Path]) -> Vec<Result<Digested, HashError>> {
        let opened = paths.iter().map(|p| Worker::open_listed(p)).collect();
        self.digest_batch(paths.iter().copied(), opened)
    }

    /// Hashes an operand named on the command line, as md5sum reads it: followed if it is
    /// a link, and read to its end whatever it is (a FIFO, `/dev/stdin`, a character
    /// device). Only regular files get the changed-while-read checks: nothing else has a
    /// size to check against.
    pub fn digest_named(&mut self, path: &Path) -> Result<Digested, HashError> {
        let file = open(path, libc::O_NOCTTY)?;
        let before = file.metadata().map_err(|e| read_err(path, e))?;
        let ft = before.file_type();
        if ft.is_file() || ft.is_dir() {
            return self.digest_opened(&file, path, &Version::from(&before));
        }
        let got = self
            .lanes
            .digest_one(&mut Source::new(&file, None))
            .map_err(|e| read_err(path, e))?;
        ended(path, file.as_fd())?;
        Ok(got)
    }

    /// The one place a single file's bytes are digested: `file` is open, `before` is what
    /// it was before the first read. Refuses directories and special files, reads at most
    /// the size `before` gave, and compares with an `fstat` afterwards.
    pub(super) fn digest_opened(
        &mut self,
        file: &File,
        path: &Path,
        before: &Version,
    ) -> Result<Digested, HashError> {
        let limit = prepare(file, path, before)?;
        let got = self.lanes.digest_one(&mut Source::file(file, limit));
        finish(file, path, before, got)
    }

    /// The batch form of [`Worker::digest_opened`]: files that opened are checked, hashed
    /// together by [`Lanes::digest_all`], and checked again; `opened[i]` belongs to the
    /// i-th of `paths`.
    fn digest_batch<'p>(
        &mut self,
        paths: impl Iterator<Item = &'p Path>,
        opened: Vec<Result<Opened, HashError>>,
    ) -> Vec<Result<Digested, HashError>> {
        let mut results: Vec<Option<Result<Digested, HashError>>> =
            Vec::with_capacity(opened.len());
        let mut sources = Vec::with_capacity(opened.len());
        // (index in the run, path, version before) of each file in `sources`.
        let mut ready = Vec::with_capacity(opened.len());
        for (i, (path, o)) in paths.zip(opened).enumerate() {
            let prepared = o.and_then(|(file, before)| {
                let limit = prepare(&file, path, &before)?;
                Ok((file, before, limit))
            });
            match prepared {
                Ok((file, before, limit)) => {
                    sources.push(Source::file(file, limit));
                    ready.push((i, path, before));
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        announce_if_cold(&sources);
        self.lanes.digest_all(&mut sources, &mut self.got);
        for ((source, (i, path, before)), got) in sources.iter().zip(ready).zip(self.got.drain(..))
        {
            results[i] = Some(finish(source.get_ref(), path, &before, got));
        }
        results
            .into_iter()
            .map(|r| r.expect("every file of the run has a result"))
            .collect()
    }

    /// Hashes standard input (`-`).
    pub fn digest_stdin(&mut self) -> Result<Digested, HashError> {
        // `Stdin` (not its lock) so a helper thread may read it (see `Lanes::stream`).
        let got = self
            .lanes
            .digest_one(&mut Source::new(crate::stdio::stdin(), None))
            .map_err(|source| {
                if source.kind() == io::ErrorKind::Interrupted {
                    HashError::Interrupted { path: "-".into() }
                } else {
                    HashError::Read {
                        path: "-".into(),
                        source,
                    }
                }
            })?;
        ended(Path::new("-"), std::io::stdin().as_fd())?;
        Ok(got)
    }
}

/// After a stream (standard input, a FIFO, a device), descriptor `fd`, was read to its
/// end: the end of a pipe met as an interrupt comes is where the dying writer stopped, so
/// the digest is of a part: the file is interrupted, not hashed
/// ([`crate::cancel::stream_cut`]).
pub(super) fn ended(path: &Path, fd: std::os::fd::BorrowedFd<'_>) -> Result<(), HashError> {
    if crate::cancel::stream_cut(crate::stdio::is_pipe(fd)) {
        return Err(HashError::Interrupted { path: path.into() });
    }
    Ok(())
}

/// Bytes of each file announced to the kernel by [`announce_if_cold`].
const ANNOUNCED: u64 = 2 << 20;

/// On a cold page cache a run's files are read one after the other, each read waiting for
/// the disk: one read in flight per worker. So if the first byte of the run's first file
/// is not cached (a `preadv2` with `RWF_NOWAIT` answers EAGAIN instead of waiting), every
/// file of the run is announced with `POSIX_FADV_WILLNEED` (its first [`ANNOUNCED`]
/// bytes), and the disk gets them all at once. On a warm cache this costs one system call
/// per run; on a file system that cannot say, nothing is announced.
fn announce_if_cold(sources: &[Source<File>]) {
    if sources.len() < 2 {
        return;
    }
    let Some(first) = sources.iter().find(|s| s.limit().is_some_and(|l| l > 0)) else {
        return;
    };
    if !is_cold(first.get_ref()) {
        return;
    }
    for s in sources {
        if let Some(len) = s.limit().filter(|&l| l > 0) {
            // SAFETY: the descriptor is open for the duration of the call. Advice only.
            unsafe {
                libc::posix_fadvise(
                    s.get_ref().as_raw_fd(),
                    0,
                    len.min(ANNOUNCED) as libc::off_t,
                    libc::POSIX_FADV_WILLNEED,
                )
            };
        }
    }
}

/// Whether reading the first byte of `file` would wait for the disk.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn is_cold(file: &File) -> bool {
    let mut byte = [0u8; 1];
    let iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: `iov` describes `byte`, which outlives the call; the descriptor is open.
    let n = unsafe { libc::preadv2(file.as_raw_fd(), &iov, 1, 0, libc::RWF_NOWAIT) };
    n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn is_cold(_: &File) -> bool {
    false
}

/// Before the first read of an open file (`before`: what it was): refuses directories and
/// special files, asks for read-ahead on big ones, and says how many bytes to read (`None`:
/// to the end, for a size of 0 that may be a pseudo-file's).
pub(super) fn prepare(
    file: &File,
    path: &Path,
    before: &Version,
) -> Result<Option<u64>, HashError> {
    let ft = before.file_type();
    if ft == rustix::fs::FileType::Directory {
        return Err(read_err(path, io::Error::from_raw_os_error(libc::EISDIR)));
    }
    if let Some(kind) = super::walk::special(ft) {
        return Err(HashError::Special {
            path: path.into(),
            kind,
        });
    }
    if before.len >= 1 << 20 {
        // Large files: tell the kernel to read ahead aggressively. Not worth a syscall
        // for small ones.
        // SAFETY: the descriptor is open for the duration of the call.
        unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_SEQUENTIAL) };
    }
    // Size 0 may be a pseudo-file (procfs) with content: read it to the end.
    Ok((before.len > 0).then_some(before.len))
}

/// After the last read: the digest stands only if the file did not change since `before`.
fn finish(
    file: &File,
    path: &Path,
    before: &Version,
    got: io::Result<Digested>,
) -> Result<Digested, HashError> {
    match got {
        Ok(d) => unchanged(file, path, before, Ok(d.len)).map(|_| d),
        Err(e) => {
            Err(unchanged(file, path, before, Err(e)).expect_err("a read error is never a digest"))
        }
    }
}

/// After the last read (`got`: the bytes read, or the read's error), with an `fstat`:
/// - [`HashError::Replaced`] if the open file is not the one `before` describes (a walked
///   path that led elsewhere by the time it was opened), whatever the read did;
/// - else the read's error, if any;
/// - else an error unless the file is as `before` found it (the size read, then the
///   size and modification time now).
///
/// Returns the bytes read.
pub(super) fn unchanged(
    file: &File,
    path: &Path,
    before: &Version,
    got: io::Result<u64>,
) -> Result<u64, HashError> {
    let after = Version::from(&file.metadata().map_err(|e| read_err(path, e))?);
    if !before.same_file(&after) {
        return Err(HashError::Replaced { path: path.into() });
    }
    let got = match got {
        // Read through a map, it turned out shorter than `before` said (see
        // `lanes::mapped`): as a short `read` would have told.
        Err(e) if super::lanes::is_shrank(&e) => {
            if after.len != before.len {
                return Err(HashError::SizeChanged {
                    path: path.into(),
                    before: before.len,
                    after: after.len,
                });
            }
            if !before.same_version(&after) {
                return Err(HashError::Modified { path: path.into() });
            }
            // Same size and time: a page that could not be read (a disk's I/O error
            // also raises SIGBUS through a map).
            return Err(read_err(path, io::Error::from_raw_os_error(libc::EIO)));
        }
        got => got.map_err(|e| read_err(path, e))?,
    };
    // Pseudo-files report a size that is not their content's: procfs says 0, sysfs
    // says 4096 (a page) and has less. Their size cannot be checked, only that the
    // file did not change otherwise. Anywhere else a short read means the file shrank.
    let pseudo = (before.len == 0 && after.len == 0) || (got < before.len && on_pseudo_fs(file));
    // The size now, as the file says; where it says the old size, what the read found.
    // (Cut to 1 MiB while 190 MB had been read, it was "from 800 MB to 190 MB".)
    let now = if after.len != before.len {
        after.len
    } else {
        got
    };
    if !pseudo && now != before.len {
        return Err(HashError::SizeChanged {
            path: path.into(),
            before: before.len,
            after: now,
        });
    }
    if !before.same_version(&after) {
        let times = (before.mtime, before.mtime_nsec) == (after.mtime, after.mtime_nsec);
        return Err(match times && before.len == after.len {
            true => HashError::StatusChanged { path: path.into() },
            false => HashError::Modified { path: path.into() },
        });
    }
    Ok(got)
}

/// Opens nothing, hashes bytes: the digest of an in-memory slice (for tests and callers
/// that already hold the data).
pub fn digest_bytes(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_digest_equals_one_shot_digest() {
        let data: Vec<u8> = (0..(3 * CHUNK + 17))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let mut buf = vec![0; 4096];
        let got = digest_reader(&mut data.as_slice(), &mut buf).unwrap();
        assert_eq!(got.digest, digest_bytes(&data));
        assert_eq!(got.len, data.len() as u64);
    }

    #[test]
    fn known_vectors() {
        assert_eq!(
            super::super::algorithm::hex(&digest_bytes(b"")),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            super::super::algorithm::hex(&digest_bytes(b"hi")),
            "49f68a5c8493ec2c0bf489821c21fc3b"
        );
    }

    /// `dir/f` holding `bytes`, with an old modification time, so that a rewrite shows even
    /// on a coarse clock.
    fn old_file(dir: &Path, bytes: Vec<u8>) -> PathBuf {
        let p = dir.join("f");
        std::fs::write(&p, bytes).unwrap();
        let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(old)
            .unwrap();
        p
    }

    /// A file on a normal file system, opened, its size and time fixed by `fstat`, then
    /// changed by `change` before a byte is read: the digest must be refused, every time.
    fn changed_after_fstat(change: impl Fn(&Path)) -> Result<Digested, HashError> {
        let dir = tempfile::tempdir().unwrap();
        let p = old_file(dir.path(), vec![7u8; 1 << 20]);
        let file = File::open(&p).unwrap();
        let before = Version::from(&file.metadata().unwrap());
        change(&p);
        Worker::default().digest_opened(&file, &p, &before)
    }

    #[test]
    fn a_file_growing_while_read_is_an_error_never_a_wrong_digest() {
        use std::io::Write;
        let grown = changed_after_fstat(|p| {
            let mut f = OpenOptions::new().append(true).open(p).unwrap();
            f.write_all(&[7u8; 512]).unwrap();
        });
        assert!(
            matches!(
                grown,
                Err(HashError::SizeChanged {
                    before: 1048576,
                    after: 1049088,
                    ..
                })
            ),
            "{grown:?}"
        );
    }

    #[test]
    fn a_file_shrinking_or_rewritten_while_read_is_an_error() {
        let shrunk = changed_after_fstat(|p| {
            OpenOptions::new()
                .write(true)
                .open(p)
                .unwrap()
                .set_len(1000)
                .unwrap()
        });
        assert!(
            matches!(
                shrunk,
                Err(HashError::SizeChanged {
                    before: 1048576,
                    after: 1000,
                    ..
                })
            ),
            "a short read on a normal file system is not a pseudo-file: {shrunk:?}"
        );
        let rewritten = changed_after_fstat(|p| std::fs::write(p, vec![8u8; 1 << 20]).unwrap());
        assert!(
            matches!(rewritten, Err(HashError::Modified { .. })),
            "{rewritten:?}"
        );
        // Rewritten in place with its old modification time put back (`rsync --inplace
        // -t`, `touch -r`): same size, same mtime; the status-change time tells. (The
        // digest of a mix of old and new bytes was printed.)
        let restored = changed_after_fstat(|p| {
            let old = std::fs::metadata(p).unwrap().modified().unwrap();
            // The clock must move past the fstat's status-change time.
            std::thread::sleep(std::time::Duration::from_millis(20));
            std::fs::write(p, vec![8u8; 1 << 20]).unwrap();
            File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(old)
                .unwrap();
            assert_eq!(std::fs::metadata(p).unwrap().modified().unwrap(), old);
        });
        // Only the status-change time tells: the caller reads it once more
        // (`digest::settle`).
        assert!(
            matches!(restored, Err(HashError::StatusChanged { .. })),
            "{restored:?}"
        );
    }

    /// A file big enough to be read ahead on a helper thread (see `lanes::AHEAD`),
    /// truncated after its `fstat`: an error naming it, never a digest.
    #[test]
    fn a_big_file_truncated_while_read_ahead_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        let size = super::super::lanes::AHEAD + (3 << 20);
        std::fs::write(&p, vec![5u8; size as usize]).unwrap();
        let file = File::open(&p).unwrap();
        let before = Version::from(&file.metadata().unwrap());
        OpenOptions::new()
            .write(true)
            .open(&p)
            .unwrap()
            .set_len(5 << 20)
            .unwrap();
        let got = Worker::default().digest_opened(&file, &p, &before);
        match got {
            Err(e @ HashError::SizeChanged { after, .. }) => {
                assert_eq!(after, 5 << 20);
                assert!(e.to_string().contains("big"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    /// Big files hashed together go through maps (`lanes::mapped`): one truncated after
    /// the walk saw it is the same size change, naming it, as a short read gives; its
    /// neighbours' digests stand.
    #[test]
    fn a_mapped_file_truncated_among_others_is_a_size_change_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<(PathBuf, Seen)> = (0..3)
            .map(|i| {
                let p = dir.path().join(format!("big{i}"));
                std::fs::write(&p, vec![i as u8; 3 << 20]).unwrap();
                let seen = Seen::of(&p);
                (p, seen)
            })
            .collect();
        OpenOptions::new()
            .write(true)
            .open(&files[1].0)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        let got = Worker::default().digest_walked_run(&files, &[]);
        match &got[1] {
            Err(e @ HashError::SizeChanged { before, after, .. }) => {
                assert_eq!((*before, *after), (3 << 20, 1 << 20));
                assert!(e.to_string().contains("big1"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        for i in [0, 2] {
            let d = got[i].as_ref().unwrap();
            assert_eq!(d.digest, digest_bytes(&vec![i as u8; 3 << 20]));
        }
    }

    #[test]
    fn a_walked_file_is_read_with_the_walks_stat_and_checked_once_after() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"walked").unwrap();
        let seen = Seen::of(&p);
        let got = Worker::default().digest_walked(&p, &seen).unwrap();
        assert_eq!((got.digest, got.len), (digest_bytes(b"walked"), 6));
        // The same bytes in a run of the lane engine.
        let run = Worker::default().digest_walked_run(&[(p.clone(), seen)], &[]);
        assert_eq!(run[0].as_ref().unwrap(), &got);
    }

    #[test]
    fn a_walked_path_that_leads_to_another_file_or_a_directory_is_replaced_never_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"seen by the walk").unwrap();
        let seen = Seen::of(&p);
        // Another file renamed over it (same size: only the identity tells).
        let other = dir.path().join("other");
        std::fs::write(&other, b"not the walk's!!").unwrap();
        std::fs::rename(&other, &p).unwrap();
        for got in [
            Worker::default().digest_walked(&p, &seen),
            Worker::default()
                .digest_walked_run(&[(p.clone(), seen)], &[])
                .remove(0),
        ] {
            assert!(matches!(got, Err(HashError::Replaced { .. })), "{got:?}");
        }
        // A directory in its place: reading it fails (EISDIR), and the error says why.
        std::fs::remove_file(&p).unwrap();
        std::fs::create_dir(&p).unwrap();
        let got = Worker::default().digest_walked(&p, &seen);
        assert!(matches!(got, Err(HashError::Replaced { .. })), "{got:?}");
    }

    #[test]
    fn a_walked_file_changed_after_the_walk_saw_it_is_an_error_never_a_digest() {
        let dir = tempfile::tempdir().unwrap();
        let p = old_file(dir.path(), vec![1u8; 1000]);
        let seen = Seen::of(&p);
        // Rewritten in place, same size: only the time tells.
        std::fs::write(&p, vec![2u8; 1000]).unwrap();
        let got = Worker::default().digest_walked(&p, &seen);
        assert!(matches!(got, Err(HashError::Modified { .. })), "{got:?}");
        // Grown: the walk's size bounds the read, the size after tells.
        let seen = Seen::of(&p);
        std::fs::write(&p, vec![3u8; 2000]).unwrap();
        let got = Worker::default().digest_walked(&p, &seen);
        assert!(
            matches!(
                got,
                Err(HashError::SizeChanged {
                    before: 1000,
                    after: 2000,
                    ..
                })
            ),
            "{got:?}"
        );
    }

    #[test]
    fn a_walked_file_swapped_for_a_link_is_called_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = old_file(dir.path(), vec![1u8; 10]);
        let seen = Seen::of(&p);
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", &p).unwrap();
        let got = Worker::default().digest_walked(&p, &seen);
        // Not "Too many levels of symbolic links", O_NOFOLLOW's ELOOP.
        assert!(matches!(got, Err(HashError::Replaced { .. })), "{got:?}");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: c is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = Worker::default().digest_file(&p).unwrap_err();
        assert!(matches!(err, HashError::Special { .. }), "{err}");
    }
}
