//! What a file was before we read it: the one `stat` a digest is checked against.
//!
//! Why it exists: a digest stands only if the file after the last read is the file that
//! was there before the first (same device and inode, size, modification time and
//! status-change time; see [`super::md5::unchanged`]). The status-change time is the one
//! a writer cannot put back: a file rewritten in place during the read with its old
//! modification time restored (`rsync --inplace -t`, `touch -r`) kept its size and
//! mtime, and phash printed the digest of a mix of old and new bytes. That "before" can come from two places, and this type is
//! what both give:
//! - inside a walked tree, the walk's own `statat` of the directory entry (it needs the
//!   size anyway, to group small files), so a worker does not `fstat` the file again
//!   before reading it: one system call less per file (issue 9). The opened file's
//!   identity is checked against it after the read, on the `fstat` that checks for
//!   changes, before any result is used;
//! - for a name from the command line or a checksum list, an `fstat` of the opened file.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustix::fs::FileType;

/// A file's identity, type, size and modification time at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// Device of the file.
    pub dev: u64,
    /// Inode of the file.
    pub ino: u64,
    /// Size in bytes.
    pub len: u64,
    /// Modification time: seconds since the epoch.
    pub mtime: i64,
    /// Modification time: nanoseconds within the second.
    pub mtime_nsec: i64,
    /// Status-change time (seconds, nanoseconds): moves with every write and every change
    /// of the modification time, and cannot be set back.
    pub ctime: (i64, i64),
    /// Type and permission bits, as `st_mode`.
    pub mode: u32,
}

impl Version {
    /// What `stat` said (the walk's `statat`).
    pub fn from_stat(st: &rustix::fs::Stat) -> Self {
        // The field types differ between C libraries and targets.
        #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
        Version {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            len: st.st_size as u64,
            mtime: st.st_mtime as i64,
            mtime_nsec: st.st_mtime_nsec as i64,
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
            mode: st.st_mode as u32,
        }
    }

    /// The file's type.
    pub fn file_type(&self) -> FileType {
        FileType::from_raw_mode(self.mode as _)
    }

    /// The modification time, when it can be represented.
    pub fn modified(&self) -> Option<SystemTime> {
        let nsec = Duration::from_nanos(u64::try_from(self.mtime_nsec).ok()?);
        if self.mtime >= 0 {
            UNIX_EPOCH.checked_add(Duration::from_secs(self.mtime as u64) + nsec)
        } else {
            UNIX_EPOCH
                .checked_sub(Duration::from_secs(self.mtime.unsigned_abs()))?
                .checked_add(nsec)
        }
    }

    /// Whether `self` and `other` are the same file: same device, inode and type. (The
    /// type too, because a file system reuses a freed inode number at once: a file
    /// removed and a directory made in its place can have the same one.)
    pub fn same_file(&self, other: &Version) -> bool {
        (self.dev, self.ino) == (other.dev, other.ino) && self.file_type() == other.file_type()
    }

    /// Whether `other` is the same file, unchanged: same identity, size and times.
    pub fn same_version(&self, other: &Version) -> bool {
        self.same_file(other)
            && self.len == other.len
            && (self.mtime, self.mtime_nsec) == (other.mtime, other.mtime_nsec)
            && self.ctime == other.ctime
    }
}

impl From<&Metadata> for Version {
    fn from(m: &Metadata) -> Self {
        Version {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            ctime: (m.ctime(), m.ctime_nsec()),
            mode: m.mode(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_and_an_fstat_of_one_file_give_the_same_version() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"12345").unwrap();
        let file = std::fs::File::open(&p).unwrap();
        let by_fd = Version::from(&file.metadata().unwrap());
        let st = rustix::fs::statat(
            rustix::fs::CWD,
            p.as_path(),
            rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
        )
        .unwrap();
        let by_name = Version::from_stat(&st);
        assert_eq!(by_fd, by_name);
        assert_eq!(by_fd.len, 5);
        assert_eq!(by_fd.file_type(), FileType::RegularFile);
        assert_eq!(
            by_fd.modified().unwrap(),
            file.metadata().unwrap().modified().unwrap()
        );
    }

    #[test]
    fn a_rewrite_of_the_same_size_is_another_version_of_the_same_file() {
        let a = Version {
            dev: 1,
            ino: 2,
            len: 3,
            mtime: 4,
            mtime_nsec: 5,
            ctime: (4, 5),
            mode: 0o100644,
        };
        let rewritten = Version { mtime_nsec: 6, ..a };
        // Rewritten with its modification time put back: only the status-change time
        // tells.
        let restored = Version { ctime: (7, 0), ..a };
        assert!(a.same_file(&restored) && !a.same_version(&restored));
        assert!(a.same_file(&rewritten) && !a.same_version(&rewritten));
        let other = Version { ino: 9, ..a };
        assert!(!a.same_file(&other) && !a.same_version(&other));
        let reused = Version {
            mode: 0o040755,
            ..a
        };
        assert!(
            !a.same_file(&reused),
            "a directory is never the file it replaced"
        );
        assert!(a.same_version(&a));
    }

    #[test]
    fn times_before_the_epoch_are_kept() {
        let v = Version {
            dev: 0,
            ino: 0,
            len: 0,
            mtime: -2,
            mtime_nsec: 500_000_000,
            ctime: (0, 0),
            mode: 0o100644,
        };
        assert_eq!(
            v.modified(),
            UNIX_EPOCH.checked_sub(Duration::from_millis(1500))
        );
    }
}
