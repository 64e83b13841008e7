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
    #[error("{path}: invalid zip file with overlapped components (possible zip bomb): {}", shown(.detail))]
    Overlap { path: PathBuf, detail: String },
    #[error("{}: refused: {}", shown(.member), shown(.reason))]
    Refused { member: String, reason: String },
    #[error("{}: duplicate member name (central directory entries {first} and {second})", shown(.member))]
    Duplicate {
        member: String,
        first: usize,
        second: usize,
    },
    #[error("{}: {reason}", shown(.member))]
    Corrupt { member: String, reason: String },
    #[error("{}: bad CRC-32", shown(.member))]
    BadCrc { member: String },
    #[error("{}: unsupported: {reason}", shown(.member))]
    Unsupported { member: String, reason: String },
    #[error("{}: incorrect password", shown(.member))]
    BadPassword { member: String },
    /// An encrypted member whose password check passed but whose data then failed its
    /// CRC or would not decompress: ZipCrypto's one-byte check lets 1 wrong password in
    /// 256 through, so this is far more often a wrong password than damage.
    #[error("{}: incorrect password or corrupt data", shown(.member))]
    BadPasswordOrData { member: String },
    #[error("{}: password required (use -P or PUNZIP_PASSWORD)", shown(.member))]
    NeedPassword { member: String },
    #[error("{}: already exists (use -o to overwrite or -n to skip)", shown(&.path.to_string_lossy()))]
    Exists { path: PathBuf },
    #[error("{}: {op}: {source}", shown(&.path.to_string_lossy()))]
    Io {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
    #[error("{}: size limit of {limit} bytes reached", shown(.member))]
    SizeLimit { member: String, limit: u64 },
    #[error(
        "{path}: declares {declared} bytes of output, more than the --max-size limit of {limit}"
    )]
    TooLarge {
        path: PathBuf,
        declared: u64,
        limit: u64,
    },
    #[error("{path}: not enough free space: need {need} bytes, {free} available (use --max-size to override)")]
    NoSpace { path: PathBuf, need: u64, free: u64 },
    #[error("no member matches the given patterns")]
    NoMatch,
    #[error("interrupted")]
    Interrupted,
    /// A member abandoned mid-way because an earlier fatal error (a full disk) stopped
    /// the run. Not reported on its own: the fatal error is.
    #[error("{}: abandoned after an earlier fatal error", shown(.member))]
    Abandoned { member: String },
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
            Error::BadPassword { .. }
            | Error::BadPasswordOrData { .. }
            | Error::NeedPassword { .. } => exit::BAD_PASSWORD,
            Error::Io { source, .. } if is_disk_full(source) => exit::DISK_FULL,
            Error::Io { .. } => exit::WARN,
            Error::SizeLimit { .. } | Error::TooLarge { .. } | Error::NoSpace { .. } => {
                exit::DISK_FULL
            }
            Error::NoMatch => exit::NO_MATCH,
            Error::Interrupted => exit::INTERRUPTED,
            Error::Abandoned { .. } => exit::WARN,
        }
    }

    /// Whether this error should stop the whole run (the other workers stop taking work).
    pub fn is_fatal(&self) -> bool {
        matches!(self.exit_code(), exit::DISK_FULL | exit::INTERRUPTED)
    }

    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> Error {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }
}

/// A member name (or a text quoting one) made safe to print: archive names are chosen by
/// whoever made the archive, so control characters (an escape sequence that rewrites the
/// terminal, a NUL, a newline that forges a second message line) are shown escaped.
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect::<String>()
            .into()
    } else {
        text.into()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_with_control_characters_are_printed_escaped() {
        let e = Error::BadCrc {
            member: "a\u{1b}[2Jb\nc\0".into(),
        };
        assert_eq!(e.to_string(), "a\\u{1b}[2Jb\\nc\\u{0}: bad CRC-32");
        let plain = Error::BadCrc {
            member: "dir/ünïcode.txt".into(),
        };
        assert_eq!(plain.to_string(), "dir/ünïcode.txt: bad CRC-32");
    }
}
