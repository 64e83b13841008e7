//! Typed errors for punzip. Every variant names the archive, the member or the file it is
//! about, and maps to one of Info-ZIP's exit statuses where the situation is the same, so
//! scripts written for `unzip` keep working.

use std::io;
use std::path::PathBuf;

/// Info-ZIP compatible exit statuses (see README).
pub mod exit {
    /// Everything went fine.
    pub const OK: i32 = 0;
    /// Warnings: some members were skipped or refused, the rest was extracted.
    pub const WARN: i32 = 1;
    /// A format error in the archive or in a member (bad CRC, truncated data...).
    pub const FORMAT: i32 = 2;
    /// A severe format error: the archive cannot be read at all.
    pub const SEVERE: i32 = 3;
    /// Invalid command-line options.
    pub const USAGE: i32 = 10;
    /// The archive was not found or is not a zip file.
    pub const NOT_FOUND: i32 = 9;
    /// No member matched the include/exclude patterns.
    pub const NO_MATCH: i32 = 11;
    /// Overlapping members: a zip bomb (as patched Info-ZIP reports it).
    pub const BOMB: i32 = 12;
    /// The disk (or a size limit) filled up.
    pub const DISK_FULL: i32 = 50;
    /// Interrupted by SIGINT or SIGTERM.
    pub const INTERRUPTED: i32 = 80;
    /// A compression or encryption method punzip cannot read.
    pub const UNSUPPORTED: i32 = 81;
    /// A wrong or missing password.
    pub const BAD_PASSWORD: i32 = 82;
}

/// One thing that went wrong, with enough context to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot open archive: {source}")]
    OpenArchive { path: PathBuf, source: io::Error },
    #[error("{path}: not a zip archive: {reason}")]
    NotZip { path: PathBuf, reason: String },
    #[error("{path}: bad archive: {reason}")]
    BadArchive { path: PathBuf, reason: String },
    #[error("{path}: invalid zip file with overlapped components (possible zip bomb): {detail}")]
    Overlap { path: PathBuf, detail: String },
    #[error("{member}: refused: {reason}")]
    Refused { member: String, reason: String },
    #[error("{member}: duplicate member name (central directory entries {first} and {second})")]
    Duplicate {
        member: String,
        first: usize,
        second: usize,
    },
    #[error("{member}: {reason}")]
    Corrupt { member: String, reason: String },
    #[error("{member}: bad CRC-32")]
    BadCrc { member: String },
    #[error("{member}: unsupported: {reason}")]
    Unsupported { member: String, reason: String },
    #[error("{member}: incorrect password")]
    BadPassword { member: String },
    #[error("{member}: password required (use -P or PUNZIP_PASSWORD)")]
    NeedPassword { member: String },
    #[error("{path}: already exists (use -o to overwrite or -n to skip)")]
    Exists { path: PathBuf },
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
    #[error("size limit of {limit} bytes reached at {member}")]
    SizeLimit { member: String, limit: u64 },
    #[error("{path}: not enough free space: need {need} bytes, {free} available (use --max-size to override)")]
    NoSpace { path: PathBuf, need: u64, free: u64 },
    #[error("no member matches the given patterns")]
    NoMatch,
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// The Info-ZIP exit status for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::OpenArchive { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                exit::NOT_FOUND
            }
            Error::OpenArchive { .. } | Error::NotZip { .. } => exit::NOT_FOUND,
            Error::BadArchive { .. } => exit::SEVERE,
            Error::Overlap { .. } => exit::BOMB,
            Error::Refused { .. } | Error::Exists { .. } => exit::WARN,
            Error::Duplicate { .. } | Error::Corrupt { .. } | Error::BadCrc { .. } => exit::FORMAT,
            Error::Unsupported { .. } => exit::UNSUPPORTED,
            Error::BadPassword { .. } | Error::NeedPassword { .. } => exit::BAD_PASSWORD,
            Error::Io { source, .. } if is_disk_full(source) => exit::DISK_FULL,
            Error::Io { .. } => exit::WARN,
            Error::SizeLimit { .. } | Error::NoSpace { .. } => exit::DISK_FULL,
            Error::NoMatch => exit::NO_MATCH,
            Error::Interrupted => exit::INTERRUPTED,
        }
    }

    /// Whether this error should stop the whole run (the other workers stop taking work).
    pub fn is_fatal(&self) -> bool {
        matches!(self.exit_code(), exit::DISK_FULL | exit::INTERRUPTED)
    }

    // Used by the punzip extractor (branch main); remove this allow once that is merged.
    #[allow(dead_code)]
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> Error {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }
}

/// ENOSPC or EDQUOT: the disk or the quota is full.
pub fn is_disk_full(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull
        || e.kind() == io::ErrorKind::QuotaExceeded
        || matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

/// The worst exit status of a set: the highest, as Info-ZIP's statuses grow with severity.
pub fn worst(codes: impl IntoIterator<Item = i32>) -> i32 {
    codes.into_iter().max().unwrap_or(exit::OK)
}

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
