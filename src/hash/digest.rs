//! Digesting one file with any of phash's algorithms: the worker state the engine hands
//! every item to, in hash mode and in check mode alike.
//!
//! Why it is shaped so:
//! - MD5 keeps its multi-buffer lane engine: a run of files goes to [`md5::Worker`] whole,
//!   which hashes the run in SIMD lanes. Every other algorithm hashes one file at a time
//!   on its worker through [`Algorithm::hasher`]; the parallelism is across files, through
//!   the same pool, order and streaming path as MD5 (one code path, `-j1` or `-jN`).
//! - The same safety as MD5's path, checked the same way: files inside a tree are opened
//!   `O_NOFOLLOW` and must be the file the walk saw (device, inode); directories and special
//!   files are refused before a read; a file is read in [`CHUNK`]-byte pieces through one
//!   buffer per worker (memory does not grow with file size) and at most the size `fstat`
//!   gave; a file that changed size, or whose `fstat` differs after the last read, is an
//!   error, never a digest. These are MD5's own checks ([`md5::prepare`],
//!   [`md5::unchanged`]), shared, so the two paths cannot drift.
//! - `--json` wants each file's modification time: taken from the `fstat` that was checked
//!   (or, for MD5, whose lane engine keeps its own, from a `stat` after hashing), and only
//!   when asked for, so plain runs make no extra system call.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::algorithm::{hex, Algorithm, Hasher};
use super::held::{self, HeldFd};
use super::md5::{self, prepare, read_err, unchanged, Worker as Md5Worker, CHUNK};
use super::pagebuf::PageBuf;
use super::version::Version;
use super::walk::Seen;
use super::HashError;

/// A file's digest, as the output needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDigest {
    /// Lowercase hex of the digest.
    pub hex: String,
    /// Bytes hashed.
    pub len: u64,
    /// Modification time of a regular file, when asked for ([`Worker::new`]).
    pub mtime: Option<SystemTime>,
}

/// What one pool worker owns: MD5's lane engine and a read buffer for the other
/// algorithms, each made on first use (a `-a sha256` run never allocates lanes).
#[derive(Default)]
pub struct Worker {
    md5: Option<md5::Worker>,
    buf: PageBuf,
    mtime: bool,
}

impl Worker {
    /// A worker; `mtime`: fill [`FileDigest::mtime`] (for `--json`).
    pub fn new(mtime: bool) -> Worker {
        Worker {
            mtime,
            ..Worker::default()
        }
    }

    fn md5(&mut self) -> &mut md5::Worker {
        self.md5.get_or_insert_with(md5::Worker::default)
    }

    /// Hashes a run of regular files found inside a walked tree: one result per file, in
    /// order; one file's failure leaves the others' results untouched.
    /// `held[i]` is `files[i]`'s descriptor when the walk opened it (see
    /// [`super::held`]).
    pub fn digest_walked_run(
        &mut self,
        algorithm: Algorithm,
        files: &[(PathBuf, Seen)],
        held: &[Option<HeldFd>],
    ) -> Vec<Result<FileDigest, HashError>> {
        let first: Vec<_> = if algorithm == Algorithm::Md5 {
            let got = self.md5().digest_walked_run(files, held);
            files
                .iter()
                .zip(got)
                // The walk's time: the digest stands only if the file still has it.
                .map(|((_, seen), r)| r.map(|d| self.md5_digest(d, || seen.version.modified())))
                .collect()
        } else {
            files
                .iter()
                .enumerate()
                .map(|(i, (path, seen))| {
                    let (file, before) = Md5Worker::open_walked(path, seen, held::take(held, i))?;
                    self.digest_opened(algorithm, &file, path, &before)
                })
                .collect()
        };
        first
            .into_iter()
            .zip(files)
            .map(|(r, (path, seen))| settle(r, || self.again_walked(algorithm, path, seen)))
            .collect()
    }

    /// A walked file read once more (see [`settle`]): opened as the walk's files are, from
    /// its own `fstat` now, and still the file the walk saw.
    fn again_walked(
        &mut self,
        algorithm: Algorithm,
        path: &Path,
        seen: &Seen,
    ) -> Result<FileDigest, HashError> {
        let (file, _) = Md5Worker::open_walked(path, seen, None)?;
        let before = Version::from(&file.metadata().map_err(|e| read_err(path, e))?);
        if !before.same_file(&seen.version) {
            return Err(HashError::Replaced { path: path.into() });
        }
        if algorithm == Algorithm::Md5 {
            let d = self.md5().digest_opened(&file, path, &before)?;
            return Ok(self.md5_digest(d, || before.modified()));
        }
        self.digest_opened(algorithm, &file, path, &before)
    }

    /// Hashes the files named in a checksum list, each with its line's algorithm (links
    /// followed). The MD5 ones go through the lane engine together. A FIFO or device is
    /// read to its end as a named operand is (see [`Worker::digest_named`]), as `md5sum -c`
    /// reads it: a disk image written to a stick is checked with `/dev/sdb` in the list,
    /// and phash's own list of `/dev/null` was reported FAILED. One result per entry, in
    /// order.
    pub fn digest_listed(
        &mut self,
        files: &[(&Path, Algorithm)],
    ) -> Vec<Result<FileDigest, HashError>> {
        let md5_paths: Vec<&Path> = files
            .iter()
            .filter(|(_, a)| *a == Algorithm::Md5)
            .map(|(p, _)| *p)
            .collect();
        let mut md5_got = if md5_paths.is_empty() {
            Vec::new()
        } else {
            self.md5().digest_files(&md5_paths)
        }
        .into_iter();
        let first: Vec<_> = files
            .iter()
            .map(|&(path, algorithm)| {
                let md5 = (algorithm == Algorithm::Md5)
                    .then(|| md5_got.next().expect("one MD5 result per MD5 entry"));
                self.listed(path, algorithm, md5)
            })
            .collect();
        first
            .into_iter()
            .zip(files)
            .map(|(r, &(path, algorithm))| settle(r, || self.listed(path, algorithm, None)))
            .collect()
    }

    /// One listed file's result: MD5's from the lane engine when `md5` holds it, else read
    /// here; a FIFO or device read as a named operand is.
    fn listed(
        &mut self,
        path: &Path,
        algorithm: Algorithm,
        md5: Option<Result<md5::Digested, HashError>>,
    ) -> Result<FileDigest, HashError> {
        let got = match (algorithm, md5) {
            (_, Some(got)) => self.md5_result(path, got),
            (Algorithm::Md5, None) => {
                let got = self.md5().digest_file(path);
                self.md5_result(path, got)
            }
            _ => Md5Worker::open_listed(path)
                .and_then(|(file, before)| self.digest_opened(algorithm, &file, path, &before)),
        };
        match got {
            Err(HashError::Special { .. }) => self.digest_named(algorithm, path),
            other => other,
        }
    }

    /// Hashes an operand named on the command line as md5sum reads it: followed if a link,
    /// read to its end whatever it is. Only regular files get the changed-while-read checks.
    pub fn digest_named(
        &mut self,
        algorithm: Algorithm,
        path: &Path,
    ) -> Result<FileDigest, HashError> {
        let first = self.digest_named_once(algorithm, path);
        settle(first, || self.digest_named_once(algorithm, path))
    }

    fn digest_named_once(
        &mut self,
        algorithm: Algorithm,
        path: &Path,
    ) -> Result<FileDigest, HashError> {
        if algorithm == Algorithm::Md5 {
            let got = self.md5().digest_named(path);
            return self.md5_result(path, got);
        }
        let file = md5::open(path, libc::O_NOCTTY)?;
        let before = file.metadata().map_err(|e| read_err(path, e))?;
        let ft = before.file_type();
        if ft.is_file() || ft.is_dir() {
            return self.digest_opened(algorithm, &file, path, &Version::from(&before));
        }
        let mut h = algorithm.hasher();
        let len =
            read_into(&mut *h, &mut &file, self.buffer(), None).map_err(|e| read_err(path, e))?;
        md5::ended(path, file.as_fd())?;
        Ok(FileDigest {
            hex: h.finish_hex(),
            len,
            mtime: None,
        })
    }

    /// Hashes standard input (`-`).
    pub fn digest_stdin(&mut self, algorithm: Algorithm) -> Result<FileDigest, HashError> {
        let dash = Path::new("-");
        if algorithm == Algorithm::Md5 {
            let got = self.md5().digest_stdin();
            return got.map(|d| FileDigest {
                hex: hex(&d.digest),
                len: d.len,
                mtime: None,
            });
        }
        let mut h = algorithm.hasher();
        let len = read_into(&mut *h, &mut crate::stdio::stdin(), self.buffer(), None)
            .map_err(|e| read_err(dash, e))?;
        md5::ended(dash, std::io::stdin().as_fd())?;
        Ok(FileDigest {
            hex: h.finish_hex(),
            len,
            mtime: None,
        })
    }

    fn buffer(&mut self) -> &mut [u8] {
        if self.buf.is_empty() {
            self.buf = PageBuf::zeroed(CHUNK);
        }
        &mut self.buf
    }

    /// An MD5 result as a [`FileDigest`]; its time from a `stat` after hashing, if wanted
    /// (the lane engine keeps its `fstat` to itself).
    fn md5_result(
        &self,
        path: &Path,
        got: Result<md5::Digested, HashError>,
    ) -> Result<FileDigest, HashError> {
        got.map(|d| {
            self.md5_digest(d, || {
                std::fs::metadata(path)
                    .ok()
                    .filter(|m| m.is_file())
                    .and_then(|m| m.modified().ok())
            })
        })
    }

    /// `d` as a [`FileDigest`], with the time `mtime` gives when times are wanted.
    fn md5_digest(
        &self,
        d: md5::Digested,
        mtime: impl FnOnce() -> Option<SystemTime>,
    ) -> FileDigest {
        FileDigest {
            hex: hex(&d.digest),
            len: d.len,
            mtime: if self.mtime { mtime() } else { None },
        }
    }

    /// The one place a non-MD5 file's bytes are digested: `file` is open, `before` its
    /// `fstat`. Refuses directories and special files, reads at most the size `before`
    /// gave, and compares with a second `fstat` afterwards.
    fn digest_opened(
        &mut self,
        algorithm: Algorithm,
        file: &File,
        path: &Path,
        before: &Version,
    ) -> Result<FileDigest, HashError> {
        let limit = prepare(file, path, before)?;
        let mut h = algorithm.hasher();
        let got = read_into(&mut *h, &mut &*file, self.buffer(), limit);
        let len = unchanged(file, path, before, got)?;
        Ok(FileDigest {
            hex: h.finish_hex(),
            len,
            mtime: if self.mtime { before.modified() } else { None },
        })
    }
}

/// A result whose file's status changed while it was read, its size and modification
/// time kept ([`HashError::StatusChanged`]: a `chmod`, a new hard link, an extended
/// attribute; or a rewrite in place with its time put back): `again` reads it once more,
/// from a new `fstat`, and the digest of a read the file sat still through stands. phash
/// failed intact files that were linked or `chmod`ed as it read them (md5sum checks
/// nothing). A second change is said as [`HashError::Modified`]. The second read is
/// judged from its own `fstat`, as a named operand's is: a rewrite within one tick of a
/// file system's coarse timestamps goes unseen there as it would for a named operand.
fn settle(
    first: Result<FileDigest, HashError>,
    again: impl FnOnce() -> Result<FileDigest, HashError>,
) -> Result<FileDigest, HashError> {
    match first {
        Err(HashError::StatusChanged { .. }) => again().map_err(|e| match e {
            HashError::StatusChanged { path } => HashError::Modified { path },
            e => e,
        }),
        r => r,
    }
}

/// Feeds `hasher` everything `r` yields, at most `limit` bytes, chunk by chunk, checking
/// for an interrupt between chunks. Returns the bytes hashed.
fn read_into(
    hasher: &mut dyn Hasher,
    r: &mut impl Read,
    buf: &mut [u8],
    limit: Option<u64>,
) -> io::Result<u64> {
    let mut len = 0u64;
    loop {
        if crate::pool::halted() {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let want = match limit {
            Some(l) => usize::try_from((l - len).min(buf.len() as u64)).expect("fits a buffer"),
            None => buf.len(),
        };
        if want == 0 {
            return Ok(len);
        }
        match r.read(&mut buf[..want]) {
            Ok(0) => return Ok(len),
            Ok(n) => {
                hasher.update(&buf[..n]);
                len += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest as _;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, bytes).unwrap();
        (dir, p)
    }

    /// A `chmod`, a new hard link or a rewrite with the old time put back between the
    /// walk's `stat` and the read: only the status-change time moved. The file is read
    /// once more and its digest, that of what it holds now, stands (every path: walked,
    /// listed, MD5's lanes and the other algorithms). Intact files were failed as
    /// "changed while being read", where md5sum says OK.
    #[test]
    fn a_status_change_during_the_read_is_read_again_not_failed() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, p) = file_with(&[5u8; 300_000]);
        for algorithm in [Algorithm::Md5, Algorithm::Sha256] {
            let changes: [&dyn Fn(); 3] = [
                &|| std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap(),
                &|| {
                    let _ = std::fs::remove_file(dir.path().join("link"));
                    std::fs::hard_link(&p, dir.path().join("link")).unwrap();
                },
                &|| {
                    let old = std::fs::metadata(&p).unwrap().modified().unwrap();
                    std::fs::write(&p, [6u8; 300_000]).unwrap();
                    let f = std::fs::File::options().write(true).open(&p).unwrap();
                    f.set_modified(old).unwrap();
                },
            ];
            for change in changes {
                let seen = Seen::of(&p);
                // The clock must move past the walk's status-change time.
                std::thread::sleep(std::time::Duration::from_millis(10));
                change();
                let now = std::fs::read(&p).unwrap();
                let want = match algorithm {
                    Algorithm::Md5 => hex(&md5::digest_bytes(&now)),
                    _ => hex(&sha2::Sha256::digest(&now)),
                };
                let got =
                    Worker::new(false).digest_walked_run(algorithm, &[(p.clone(), seen)], &[]);
                assert_eq!(got[0].as_ref().unwrap().hex, want, "{algorithm:?}");
            }
        }
    }

    #[test]
    fn a_file_of_several_chunks_gets_the_sha2_crate_digest_and_its_mtime() {
        let data: Vec<u8> = (0..(2 * CHUNK + 5)).map(|i| (i % 253) as u8).collect();
        let (_dir, p) = file_with(&data);
        let got = Worker::new(true)
            .digest_listed(&[(&p, Algorithm::Sha512)])
            .pop()
            .unwrap()
            .unwrap();
        assert_eq!(
            got.hex,
            super::super::algorithm::hex(&sha2::Sha512::digest(&data))
        );
        assert_eq!(got.len, data.len() as u64);
        assert_eq!(got.mtime, std::fs::metadata(&p).unwrap().modified().ok());
    }

    #[test]
    fn a_file_that_grew_after_fstat_is_an_error_not_a_digest() {
        use std::io::Write;
        let (_dir, p) = file_with(&[1u8; 4096]);
        let (file, before) = Md5Worker::open_listed(&p).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"more")
            .unwrap();
        let got = Worker::default().digest_opened(Algorithm::Blake3, &file, &p, &before);
        assert!(
            matches!(
                got,
                Err(HashError::SizeChanged {
                    before: 4096,
                    after: 4100,
                    ..
                })
            ),
            "{got:?}"
        );
    }

    #[test]
    fn md5_and_others_mix_in_one_listed_run_in_order() {
        let (_dir, p) = file_with(b"abc");
        let missing = p.with_file_name("missing");
        let got = Worker::default().digest_listed(&[
            (&p, Algorithm::Sha1),
            (&p, Algorithm::Md5),
            (&missing, Algorithm::Md5),
            (&p, Algorithm::Blake3),
        ]);
        let hexes: Vec<String> = got
            .into_iter()
            .map(|r| r.map_or_else(|e| format!("error {e}"), |d| d.hex))
            .collect();
        assert_eq!(hexes[0], "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hexes[1], "900150983cd24fb0d6963f7d28e17f72");
        assert!(hexes[2].starts_with("error"), "{}", hexes[2]);
        assert_eq!(
            hexes[3],
            "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85"
        );
    }

    #[test]
    fn a_fifo_in_a_list_is_read_to_its_end_as_md5sum_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: c is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        for (algorithm, want) in [
            (Algorithm::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            (
                Algorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
        ] {
            let p2 = p.clone();
            // Opening blocks until the digest opens the FIFO to read it. The digest's first
            // open (non-blocking, to see what the name is) may be the one this meets, and
            // close before the write: then the write fails with EPIPE, and is made again
            // for the open that reads.
            let writer = std::thread::spawn(move || {
                for _ in 0..100 {
                    match std::fs::write(&p2, b"abc") {
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => continue,
                        r => return r.unwrap(),
                    }
                }
                panic!("every write met a closed FIFO");
            });
            let got = Worker::default().digest_listed(&[(&p, algorithm)]);
            writer.join().unwrap();
            assert_eq!(got[0].as_ref().unwrap().hex, want, "{algorithm:?}");
        }
    }
}
