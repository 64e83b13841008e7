//! Typed errors for punzip. Every variant names the archive, the member or the file it is
//! about, and maps to one [`ExitStatus`], Info-ZIP's number where the situation is the
//! same, so scripts written for `unzip` keep working.
//!
//! Names that reach a terminal go through [`Shown`]: archive member names are chosen by
//! whoever made the archive, and an escape sequence in one must not recolour the terminal.

use std::borrow::Cow;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// punzip's exit statuses, Info-ZIP's numbers (see README). Ordered by severity as
/// Info-ZIP ranks them, which is not their numbers' order (see [`ExitStatus::severity`]):
/// the worst of several is the greatest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// Everything went fine (also: the output was closed early, as by `| head`).
    Ok = 0,
    /// Warnings: some members were skipped or refused, the rest was extracted.
    Warning = 1,
    /// An error: a format error in a member (bad CRC, truncated data), or DEST could not
    /// be used at all (Info-ZIP exits 2 when it cannot create the extraction directory).
    Error = 2,
    /// A severe format error: the archive cannot be read at all.
    Severe = 3,
    /// Out of resources (file descriptors, memory): Info-ZIP's "unable to allocate".
    NoResources = 4,
    /// The archive was not found, is a directory, or is not a zip file.
    NotFound = 9,
    /// Invalid command line.
    Usage = 10,
    /// No member matched the include/exclude patterns.
    NoMatch = 11,
    /// Overlapping members: a zip bomb (as patched Info-ZIP reports it).
    Bomb = 12,
    /// The disk (or a size limit) filled up, or the declared output does not fit.
    DiskFull = 50,
    /// Interrupted by SIGINT or SIGTERM.
    Interrupted = 80,
    /// A compression or encryption method punzip cannot read.
    Unsupported = 81,
    /// A wrong or missing password.
    BadPassword = 82,
}

impl ExitStatus {
    /// The number the process exits with.
    pub const fn code(self) -> i32 {
        self as i32
    }

    /// The worst of several statuses ([`ExitStatus::Ok`] for none).
    pub fn worst(all: impl IntoIterator<Item = ExitStatus>) -> ExitStatus {
        all.into_iter().max().unwrap_or(ExitStatus::Ok)
    }

    /// How bad a status is, as Info-ZIP ranks them when one run has several: a pattern
    /// that matched nothing (11), a wrong password (82) and an unsupported method (81) are
    /// said only when nothing worse than a warning happened (`unzip` sets them only while
    /// its status is at most 1), so a bad CRC beside a pattern that matched nothing exits
    /// 2, not 11: a script that takes 11 for "a name was missing" would have accepted the
    /// corrupt member. A run stopped as a whole (a full disk, an interrupt) is the worst.
    pub const fn severity(self) -> u8 {
        match self {
            ExitStatus::Ok => 0,
            ExitStatus::Warning => 1,
            ExitStatus::Unsupported => 2,
            ExitStatus::BadPassword => 3,
            ExitStatus::NoMatch => 4,
            ExitStatus::Error => 5,
            ExitStatus::Severe => 6,
            ExitStatus::NoResources => 7,
            ExitStatus::NotFound => 8,
            ExitStatus::Usage => 9,
            ExitStatus::Bomb => 10,
            ExitStatus::DiskFull => 11,
            ExitStatus::Interrupted => 12,
        }
    }
}

impl PartialOrd for ExitStatus {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ExitStatus {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.severity().cmp(&other.severity())
    }
}

/// The numbers of [`ExitStatus`], for code that works with plain integers.
pub mod exit {
    use super::ExitStatus;
    pub const OK: i32 = ExitStatus::Ok.code();
    pub const WARN: i32 = ExitStatus::Warning.code();
    pub const FORMAT: i32 = ExitStatus::Error.code();
    pub const SEVERE: i32 = ExitStatus::Severe.code();
    pub const NO_RESOURCES: i32 = ExitStatus::NoResources.code();
    pub const NOT_FOUND: i32 = ExitStatus::NotFound.code();
    pub const USAGE: i32 = ExitStatus::Usage.code();
    pub const NO_MATCH: i32 = ExitStatus::NoMatch.code();
    pub const BOMB: i32 = ExitStatus::Bomb.code();
    pub const DISK_FULL: i32 = ExitStatus::DiskFull.code();
    pub const INTERRUPTED: i32 = ExitStatus::Interrupted.code();
    pub const UNSUPPORTED: i32 = ExitStatus::Unsupported.code();
    pub const BAD_PASSWORD: i32 = ExitStatus::BadPassword.code();
}

/// A name (a member name, a path, or a text quoting one) made safe to print: control
/// characters (an escape sequence that rewrites the terminal, a NUL, a newline that
/// forges a second message line) and the marks that reorder text ([`misleading`]) are
/// shown escaped, everything else as is. A member name
/// kept as bytes (see `crate::unzip::names::from_bytes`) is shown as a path of those
/// bytes is ([`ShownPath`]).
#[derive(Clone, Copy, Debug)]
pub struct Shown<'a>(&'a str);

/// A path made safe to print: as [`Shown`], with each byte that is not UTF-8 as `\xNN`.
#[derive(Clone, Copy, Debug)]
pub struct ShownPath<'a>(&'a Path);

impl<'a> Shown<'a> {
    /// Wraps `text` for printing.
    pub fn new(text: &'a str) -> Shown<'a> {
        Shown(text)
    }

    /// Wraps `path` for printing.
    pub fn path(path: &'a Path) -> ShownPath<'a> {
        ShownPath(path)
    }
}

/// Whether `c` is shown escaped ([`Shown`]): a control character; a mark that reorders
/// the text around it on a terminal (the bidirectional overrides, embeddings, isolates
/// and marks), so that `\u{202e}gnp.exe` is not shown as `exe.png`; or a line or
/// paragraph separator, which ends a line.
pub fn misleading(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                | '\u{2028}' | '\u{2029}'
        )
}

/// Writes `text` escaped as [`Shown`] says; `carried`: whether the characters that carry
/// a name's bytes are shown as those bytes (not in a path, whose bytes are its own).
fn write_escaped(f: &mut fmt::Formatter<'_>, text: &str, carried: bool) -> fmt::Result {
    use fmt::Write;
    if carried && crate::unzip::names::carries_bytes(text) {
        use std::os::unix::ffi::OsStrExt;
        return write_bytes(f, crate::unzip::names::on_disk(text).as_bytes());
    }
    if !text.chars().any(misleading) {
        return f.write_str(text);
    }
    for c in text.chars() {
        match misleading(c) {
            true => write!(f, "{}", c.escape_default())?,
            false => f.write_char(c)?,
        }
    }
    Ok(())
}

/// Writes bytes as a path's are shown: what is UTF-8 as [`Shown`] text, each other byte
/// as `\xNN` (as GNU's quoting shows them in a UTF-8 locale).
fn write_bytes(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for chunk in bytes.utf8_chunks() {
        write_escaped(f, chunk.valid(), false)?;
        for b in chunk.invalid() {
            write!(f, "\\x{b:02x}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, true)
    }
}

impl fmt::Display for ShownPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::os::unix::ffi::OsStrExt;
        write_bytes(f, self.0.as_os_str().as_bytes())
    }
}

/// [`Shown`] as a string, for callers that want one.
pub fn shown(text: &str) -> Cow<'_, str> {
    if text.chars().any(misleading) || crate::unzip::names::carries_bytes(text) {
        Shown(text).to_string().into()
    } else {
        text.into()
    }
}

/// The [`Error::ArchiveWarning`] of an archive with no members (unzip: "zipfile is
/// empty", and no "No errors detected" after `-t`).
pub const EMPTY_ARCHIVE: &str = "the archive is empty: it has no members";

/// The [`Error::Io`] operation of setting a created directory's mode and times at the end
/// of a run: a warning (what is inside is there).
pub const SET_DIR_META: &str = "cannot set the directory's mode and time";
/// [`SET_DIR_META`] when only the mode was refused: still a warning, as unzip's failed
/// `chmod` of a directory is (only a file's `fchmod` error leaves its status alone).
pub const SET_DIR_MODE: &str = "cannot set the directory's mode";
/// [`SET_DIR_META`] when only the time was refused: a warning.
pub const SET_DIR_TIME: &str = "cannot set the directory's time";
/// The [`Error::Io`] operation of setting an extracted file's mode and time, when the file
/// system refuses them: a warning, reported beside the member that was extracted (its
/// content is verified and in place), as unzip does.
pub const SET_FILE_META: &str = "extracted, but cannot set its mode and time";
/// [`SET_FILE_META`] when only the mode was refused (FAT refuses any mode it cannot show;
/// FAT and exFAT through FUSE have no `chmod`): a note, exit 0, as unzip's `fchmod`
/// error is (every extraction onto a USB stick exited 1).
pub const SET_FILE_MODE: &str = "extracted, but cannot set its mode";
/// [`SET_FILE_META`] when only the time was refused: a warning, as unzip's is.
pub const SET_FILE_TIME: &str = "extracted, but cannot set its time";

/// One thing that went wrong, with enough context to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot open archive: {}", Shown::path(.path), crate::hash::reason(.source))]
    OpenArchive { path: PathBuf, source: io::Error },
    /// The archive operand is a directory.
    #[error("{}: is a directory, not a zip archive (give the .zip file; DEST goes after it or after -d)", Shown::path(.path))]
    ArchiveIsDir { path: PathBuf },
    /// No end-of-central-directory record: not a zip file, or a truncated one. `reason`
    /// is the parser's word, kept for debugging.
    #[error("{}: not a zip archive: no end-of-central-directory record found (not a zip file, truncated, or one part of a split archive)", Shown::path(.path))]
    NotZip { path: PathBuf, reason: String },
    #[error("{}: bad archive: {}", Shown::path(.path), Shown::new(.reason))]
    BadArchive { path: PathBuf, reason: String },
    /// Something odd about the archive as a whole that unzip also warns of with exit 1
    /// (no members at all; bytes in front of it): it is read anyway.
    #[error("{}: warning: {}", Shown::path(.path), Shown::new(.what))]
    ArchiveWarning { path: PathBuf, what: String },
    #[error("{}: invalid zip file with overlapped components (possible zip bomb): {}", Shown::path(.path), Shown::new(.detail))]
    Overlap { path: PathBuf, detail: String },
    #[error("{}: refused: {}", Shown::new(.member), Shown::new(.reason))]
    Refused { member: String, reason: String },
    /// Something odd about a member's name that unzip also warns of with exit 1 (headers
    /// that name it differently): it is extracted anyway, under the name said.
    #[error("{}: warning: {}", Shown::new(.member), Shown::new(.what))]
    NameWarning { member: String, what: String },
    #[error("{}: duplicate member name (central directory entries {first} and {second})", Shown::new(.member))]
    Duplicate {
        member: String,
        first: usize,
        second: usize,
    },
    #[error("{}: {}", Shown::new(.member), Shown::new(.reason))]
    Corrupt { member: String, reason: String },
    /// The data's CRC-32 (`got`, when the reader says) is not the declared one (`want`);
    /// both are shown as unzip shows them.
    #[error("{}: bad CRC-32 {}(should be {want:08x})", Shown::new(.member), got.map_or(String::new(), |g| format!("{g:08x} ")))]
    BadCrc {
        member: String,
        got: Option<u32>,
        want: u32,
    },
    #[error("{}: unsupported: {}", Shown::new(.member), Shown::new(.reason))]
    Unsupported { member: String, reason: String },
    #[error("{}: incorrect password", Shown::new(.member))]
    BadPassword { member: String },
    /// An encrypted member whose password check passed but whose data then failed its
    /// CRC or would not decompress: ZipCrypto's one-byte check lets 1 wrong password in
    /// 256 through, so this is far more often a wrong password than damage.
    #[error("{}: incorrect password or corrupt data", Shown::new(.member))]
    BadPasswordOrData { member: String },
    // Said by phash --members too, which has no -P.
    #[error("{}: password required (set PUNZIP_PASSWORD; punzip also takes -P)", Shown::new(.member))]
    NeedPassword { member: String },
    #[error("{}: already exists (use -o to overwrite or -n to skip)", Shown::path(.path))]
    Exists { member: String, path: PathBuf },
    #[error("{}: {op}: {}", Shown::path(.path), crate::hash::reason(.source))]
    Io {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
    /// DEST cannot be used at all: nothing was extracted.
    #[error("{}: cannot extract here: {}", Shown::path(.path), Shown::new(.reason))]
    Dest {
        path: PathBuf,
        reason: String,
        /// The underlying error, when there is one (it decides disk full, out of
        /// descriptors).
        #[source]
        source: Option<io::Error>,
    },
    #[error("{}: size limit of {limit} bytes reached", Shown::new(.member))]
    SizeLimit { member: String, limit: u64 },
    #[error(
        "{}: declares {declared} bytes of output, more than the --max-size limit of {limit}", Shown::path(.path)
    )]
    TooLarge {
        path: PathBuf,
        declared: u64,
        limit: u64,
    },
    #[error("{}: not enough free space: need {need} bytes, {free} available (use --no-space-check to extract anyway)", Shown::path(.path))]
    NoSpace { path: PathBuf, need: u64, free: u64 },
    /// An include or exclude pattern that is not a valid glob.
    #[error("bad pattern {}: {}", Shown::new(.pattern), Shown::new(.reason))]
    BadPattern { pattern: String, reason: String },
    /// No member matches any pattern: each is named.
    #[error("{}", no_match(.patterns))]
    NoMatch {
        patterns: Vec<crate::unzip::patterns::Unmatched>,
    },
    /// One pattern matched nothing, others did (unzip's "caution: filename not matched").
    #[error("caution: filename not matched: {pattern}")]
    NotMatched {
        pattern: crate::unzip::patterns::Unmatched,
    },
    #[error("interrupted")]
    Interrupted,
    /// A member abandoned mid-way because an earlier fatal error (a full disk) stopped
    /// the run. Not reported on its own: the fatal error is.
    #[error("{}: abandoned after an earlier fatal error", Shown::new(.member))]
    Abandoned { member: String },
}

impl Error {
    /// The exit status this error calls for: the one place errors become statuses.
    pub fn status(&self) -> ExitStatus {
        match self {
            Error::OpenArchive { source, .. } if is_out_of_resources(source) => {
                ExitStatus::NoResources
            }
            Error::OpenArchive { .. } | Error::ArchiveIsDir { .. } | Error::NotZip { .. } => {
                ExitStatus::NotFound
            }
            Error::BadArchive { .. } => ExitStatus::Severe,
            Error::Overlap { .. } => ExitStatus::Bomb,
            Error::Refused { .. }
            | Error::NameWarning { .. }
            | Error::Exists { .. }
            | Error::ArchiveWarning { .. } => ExitStatus::Warning,
            Error::Duplicate { .. } | Error::Corrupt { .. } | Error::BadCrc { .. } => {
                ExitStatus::Error
            }
            Error::Unsupported { .. } => ExitStatus::Unsupported,
            Error::BadPassword { .. }
            | Error::BadPasswordOrData { .. }
            | Error::NeedPassword { .. } => ExitStatus::BadPassword,
            Error::Io { source, .. } if is_disk_full(source) => ExitStatus::DiskFull,
            Error::Io { source, .. } if is_out_of_resources(source) => ExitStatus::NoResources,
            _ if self.is_unset_mode_only() => ExitStatus::Ok,
            _ if self.is_unset_meta() => ExitStatus::Warning,
            // A member that could not be written is not extracted: not a warning.
            Error::Io { .. } => ExitStatus::Error,
            Error::Dest {
                source: Some(source),
                ..
            } if is_disk_full(source) => ExitStatus::DiskFull,
            Error::Dest {
                source: Some(source),
                ..
            } if is_out_of_resources(source) => ExitStatus::NoResources,
            Error::Dest { .. } => ExitStatus::Error,
            Error::SizeLimit { .. } | Error::TooLarge { .. } | Error::NoSpace { .. } => {
                ExitStatus::DiskFull
            }
            Error::BadPattern { .. } => ExitStatus::Usage,
            Error::NoMatch { .. } | Error::NotMatched { .. } => ExitStatus::NoMatch,
            Error::Interrupted => ExitStatus::Interrupted,
            Error::Abandoned { .. } => ExitStatus::Warning,
        }
    }

    /// The number of [`Error::status`].
    pub fn exit_code(&self) -> i32 {
        self.status().code()
    }

    /// The member a planning refusal names (a refused name, a duplicate, a corrupt or
    /// unsupported entry): what `--shard` divides them by, and what `--json` lists.
    pub fn refused_member(&self) -> Option<&str> {
        match self {
            Error::Refused { member, .. }
            | Error::Duplicate { member, .. }
            | Error::Corrupt { member, .. }
            | Error::Unsupported { member, .. } => Some(member),
            _ => None,
        }
    }

    /// The member any failure names, if it names one.
    pub fn member(&self) -> Option<&str> {
        match self {
            Error::BadCrc { member, .. }
            | Error::BadPassword { member }
            | Error::BadPasswordOrData { member }
            | Error::NeedPassword { member }
            | Error::SizeLimit { member, .. }
            | Error::NameWarning { member, .. }
            | Error::Abandoned { member } => Some(member),
            _ => self.refused_member(),
        }
    }

    /// The file, directory or archive a failure names, if it names one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Exists { path, .. }
            | Error::Io { path, .. }
            | Error::Dest { path, .. }
            | Error::NoSpace { path, .. }
            | Error::OpenArchive { path, .. }
            | Error::ArchiveIsDir { path }
            | Error::NotZip { path, .. }
            | Error::BadArchive { path, .. }
            | Error::ArchiveWarning { path, .. }
            | Error::Overlap { path, .. }
            | Error::TooLarge { path, .. } => Some(path),
            _ => None,
        }
    }

    /// Whether this error should stop the whole run (the other workers stop taking work).
    /// A file or directory extracted, whose mode or time could not be set: a warning.
    pub fn is_unset_meta(&self) -> bool {
        matches!(self, Error::Io { op, .. }
            if [
                SET_DIR_META,
                SET_DIR_MODE,
                SET_DIR_TIME,
                SET_FILE_META,
                SET_FILE_MODE,
                SET_FILE_TIME,
            ]
            .contains(op))
    }

    /// A file extracted whose mode alone the file system refused: a note (exit 0).
    pub fn is_unset_mode_only(&self) -> bool {
        matches!(self, Error::Io { op, .. } if *op == SET_FILE_MODE)
    }

    pub fn is_fatal(&self) -> bool {
        let read_only = matches!(self, Error::Io { source, .. }
            if source.raw_os_error() == Some(libc::EROFS));
        read_only
            || matches!(
                self.status(),
                ExitStatus::DiskFull | ExitStatus::Interrupted | ExitStatus::NoResources
            )
    }

    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> Error {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }
}

/// ENOSPC or EDQUOT: the disk or the quota is full.
/// The message of [`Error::NoMatch`]: each pattern named, as unzip names them.
fn no_match(patterns: &[crate::unzip::patterns::Unmatched]) -> String {
    match patterns {
        [] => "no member matches the given patterns".into(),
        [one] => format!("caution: filename not matched: {one}"),
        many => {
            let all: Vec<String> = many.iter().map(|p| p.to_string()).collect();
            format!("no member matches any of the patterns: {}", all.join(", "))
        }
    }
}

/// ENOSPC, EDQUOT, or EFBIG (a write past `ulimit -f`: SIGXFSZ is ignored, see
/// [`crate::cancel::install`]): no more room, as Info-ZIP's "write error (disk full?)".
pub fn is_disk_full(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull
        || e.kind() == io::ErrorKind::QuotaExceeded
        || e.kind() == io::ErrorKind::FileTooLarge
        || matches!(
            e.raw_os_error(),
            Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG)
        )
}

/// EMFILE, ENFILE or ENOMEM: the process or the system ran out of descriptors or memory;
/// every further member would fail the same way.
pub fn is_out_of_resources(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::OutOfMemory
        || matches!(
            e.raw_os_error(),
            Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOMEM)
        )
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
            got: Some(0x7015c8a9),
            want: 0xb0182487,
        };
        assert_eq!(
            e.to_string(),
            "a\\u{1b}[2Jb\\nc\\u{0}: bad CRC-32 7015c8a9 (should be b0182487)"
        );
        let plain = Error::BadCrc {
            member: "dir/ünïcode.txt".into(),
            got: None,
            want: 0x0000_00ff,
        };
        assert_eq!(
            plain.to_string(),
            "dir/ünïcode.txt: bad CRC-32 (should be 000000ff)"
        );
    }

    #[test]
    fn shown_escapes_names_and_paths_and_leaves_plain_text_alone() {
        assert_eq!(
            Shown::new("\u{202e}gnp.exe \u{2067}x\u{2069} caf\u{e9}").to_string(),
            "\\u{202e}gnp.exe \\u{2067}x\\u{2069} caf\u{e9}"
        );
        assert_eq!(shown("a\u{200f}b"), "a\\u{200f}b");
        assert_eq!(
            Shown::new("a\u{1b}[31mb\nc").to_string(),
            "a\\u{1b}[31mb\\nc"
        );
        assert_eq!(Shown::new("ünï/ok.txt").to_string(), "ünï/ok.txt");
        let p = Path::new("dir/\u{7}bell");
        assert_eq!(Shown::path(p).to_string(), "dir/\\u{7}bell");
        assert_eq!(shown("x\ty"), "x\\ty");
        // Bytes that are not UTF-8, in a path and in a member name kept as bytes.
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"d/\x95\x5c\xff.txt"));
        assert_eq!(Shown::path(p).to_string(), "d/\\x95\\\\xff.txt");
        let name = crate::unzip::names::from_bytes(b"\x95\x5c\x1b.txt");
        assert_eq!(shown(&name), "\\x95\\\\u{1b}.txt");
        // A character that carries a byte is only that in a member name, not in a path.
        assert_eq!(Shown::path(Path::new("\u{ef95}")).to_string(), "\u{ef95}");
    }

    #[test]
    fn the_free_space_refusal_names_the_option_that_overrides_it() {
        let e = Error::NoSpace {
            path: "out".into(),
            need: 10,
            free: 1,
        };
        let text = e.to_string();
        assert!(text.contains("--no-space-check"), "{text}");
        assert!(!text.contains("--max-size"), "{text}");
    }

    #[test]
    fn total_failures_are_not_the_warning_status() {
        let dest = Error::Dest {
            path: "out".into(),
            reason: "it exists and is not a directory".into(),
            source: None,
        };
        assert_eq!(dest.status(), ExitStatus::Error);
        let emfile = Error::io(
            "out/a",
            "cannot create",
            io::Error::from_raw_os_error(libc::EMFILE),
        );
        assert_eq!(emfile.status(), ExitStatus::NoResources);
        assert!(emfile.is_fatal());
        let enospc = Error::Dest {
            path: "out".into(),
            reason: "full".into(),
            source: Some(io::Error::from_raw_os_error(libc::ENOSPC)),
        };
        assert_eq!(enospc.status(), ExitStatus::DiskFull);
    }

    #[test]
    fn exit_statuses_are_info_zips_numbers_and_the_worst_is_ranked_as_unzip_ranks_it() {
        let table = [
            (ExitStatus::Ok, 0),
            (ExitStatus::Warning, 1),
            (ExitStatus::Error, 2),
            (ExitStatus::Severe, 3),
            (ExitStatus::NoResources, 4),
            (ExitStatus::NotFound, 9),
            (ExitStatus::Usage, 10),
            (ExitStatus::NoMatch, 11),
            (ExitStatus::Bomb, 12),
            (ExitStatus::DiskFull, 50),
            (ExitStatus::Interrupted, 80),
            (ExitStatus::Unsupported, 81),
            (ExitStatus::BadPassword, 82),
        ];
        for (status, code) in table {
            assert_eq!(status.code(), code);
        }
        let worst = |s: &[ExitStatus]| ExitStatus::worst(s.iter().copied());
        use ExitStatus::*;
        assert_eq!(worst(&[Warning, DiskFull, Error]), DiskFull);
        assert_eq!(worst(&[]), Ok);
        // Measured with Info-ZIP unzip 6.0: a bad CRC and a pattern that matched nothing
        // exit 2; a wrong password and a pattern that matched nothing exit 11.
        assert_eq!(worst(&[NoMatch, Error]), Error);
        assert_eq!(worst(&[BadPassword, NoMatch]), NoMatch);
        assert_eq!(worst(&[Unsupported, NoMatch, Warning]), NoMatch);
        assert_eq!(worst(&[Unsupported, Error]), Error);
        assert_eq!(worst(&[Unsupported, Interrupted]), Interrupted);
    }
}
