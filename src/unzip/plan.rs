//! From the central directory to a checked plan: every member named, sanitised, typed
//! and filtered, every archive-level attack (overlapping entries, duplicate names, names
//! that climb out, members written through a symlink member) refused before anything is
//! written. The plan is plain data, so it can be tested, listed and fuzzed on its own.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::central::{self, DirError};
use super::fsops;
use super::meta::{self, Kind};
use super::names;
use super::patterns::Patterns;
use super::split;
use crate::cancel;
use crate::error::{Error, Result};

pub use super::window::Reader;

mod collisions;
mod dictionary;
mod local;

use collisions::refuse_collisions;
use dictionary::{declared_dictionary, legacy_size, DICT_FLOOR, LEGACY_ALONE, LEGACY_MOST};
use local::{local_headers, other_local_name, refuse_overlaps, Local};

/// Fewer entries than this are not worth another planning thread (an entry costs about
/// a microsecond).
const PLAN_PER_THREAD: usize = 2048;

/// How often the planning loops look at the interrupt flag.
const CHECK_EVERY: usize = 4096;

/// An archive file mapped into memory. Workers share the map and each parse handle
/// (a cheap clone of the central directory index) reads it through its own cursor.
pub struct Archive {
    pub path: PathBuf,
    data: Data,
}

/// Where an archive's bytes live: a file mapping, or memory handed over by the caller
/// (the fuzz target and tests, which have bytes and no file).
enum Data {
    Empty,
    Mapped(Mmap),
    Owned(Vec<u8>),
}

impl Archive {
    /// Opens and maps `path`; a stream (a FIFO, `<(curl ...)`) is spooled first (see
    /// [`super::spool`]).
    pub fn open(path: &Path) -> Result<Archive> {
        let file = std::fs::File::open(path).map_err(|source| Error::OpenArchive {
            path: path.to_owned(),
            source,
        })?;
        super::spool::open_input(path, file)
    }

    /// Maps an open file (an unnamed spool, standard input); `label` names it in
    /// messages.
    pub fn from_file(label: impl Into<PathBuf>, file: &std::fs::File) -> Result<Archive> {
        let path = label.into();
        let fail = |source| Error::OpenArchive {
            path: path.clone(),
            source,
        };
        let len = file.metadata().map_err(fail)?.len();
        // An empty file cannot be mapped; it is simply not a zip.
        let data = if len == 0 {
            Data::Empty
        } else {
            // SAFETY: the map is read-only. If another process truncates the archive while
            // we read it, touching a lost page raises SIGBUS: the readers that touch the
            // map run under `crate::sigbus::Guard`, which turns it into an error.
            Data::Mapped(unsafe { Mmap::map(file) }.map_err(fail)?)
        };
        Ok(Archive { path, data })
    }

    /// An archive held in memory; `label` names it in messages.
    pub fn from_bytes(label: impl Into<PathBuf>, bytes: Vec<u8>) -> Archive {
        Archive {
            path: label.into(),
            data: Data::Owned(bytes),
        }
    }

    /// The archive's bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Empty => &[],
            Data::Mapped(m) => m,
            Data::Owned(v) => v,
        }
    }

    /// Parses the central directory once.
    pub fn reader(&self) -> Result<Reader<'_>> {
        let dir = central::read(self.bytes()).map_err(|e| match e {
            // Info-ZIP's status 9 is for "no end-of-central-directory found"; an end record
            // that was found but points nowhere sensible is a severe format error (3).
            DirError::NotZip(reason) => Error::NotZip {
                path: self.path.clone(),
                reason,
            },
            DirError::Bad(reason) => Error::BadArchive {
                path: self.path.clone(),
                reason,
            },
            DirError::Interrupted => Error::Interrupted,
        })?;
        Ok(Reader::new(self.bytes(), dir))
    }
}

/// One member to act on.
#[derive(Clone, Debug)]
pub struct Member {
    /// Index in the zip reader.
    pub index: usize,
    /// The name as stored (decoded from UTF-8 or CP437), for messages.
    pub name: String,
    /// Whether only the last component of the name is kept (`-j`).
    pub junk_paths: bool,
    pub kind: Kind,
    /// Declared uncompressed size.
    pub size: u64,
    /// Declared compressed size.
    pub compressed: u64,
    /// Permission bits to apply.
    pub mode: u32,
    /// Modification time.
    pub mtime: Option<meta::Mtime>,
    pub encrypted: bool,
    /// A PPMd member whose declared model is over 64 MiB: its decoder allocates all of it
    /// up front, so such members are decoded one at a time ([`one_big_model`]). 64
    /// members of 57 bytes declaring 256 MiB each took 2 GB in `punzip -j16 -t`. So is a
    /// PKZIP 1 member over [`dictionary::LEGACY_ALONE`], whose decoder holds all of it.
    pub big_model: bool,
    /// Compression method.
    pub method: zip::CompressionMethod,
    /// Declared CRC-32 of the uncompressed data.
    pub crc: u32,
    /// Offset of the member's compressed data in the archive.
    pub data_start: u64,
    /// Date and time as stored, for listings.
    pub dos_time: Option<zip::DateTime>,
}

/// Held while a [`Member::big_model`] member is decoded: one such model in memory at a
/// time, whatever the number of workers.
pub fn one_big_model(m: &Member) -> Option<std::sync::MutexGuard<'static, ()>> {
    static BIG_MODELS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    m.big_model.then(|| {
        BIG_MODELS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    })
}

impl Member {
    /// The safe relative path, as components. Computed when asked, not stored: a
    /// component list per member is most of what a plan of a million members would cost.
    pub fn parts(&self) -> Vec<String> {
        let mut parts = Vec::with_capacity(16);
        self.parts_into(&mut parts);
        parts.into_iter().map(str::to_string).collect()
    }

    /// [`Member::parts`] into `parts` (cleared first), borrowed from the name.
    pub fn parts_into<'a>(&'a self, parts: &mut Vec<&'a str>) {
        names::sanitize_into(&self.name, parts).expect("planned names are sanitised");
        if self.junk_paths {
            parts.drain(..parts.len() - 1);
        }
    }

    /// The relative path as one string, components joined by `/` (the key collisions
    /// are found by): borrowed from the name when the name is already that string, as
    /// nearly every name is.
    pub fn key(&self) -> Cow<'_, str> {
        let name = self.name.strip_suffix('/').unwrap_or(&self.name);
        if names::is_plain(name) {
            return Cow::Borrowed(match self.junk_paths {
                true => name.rsplit('/').next().unwrap_or(name),
                false => name,
            });
        }
        let mut parts = Vec::with_capacity(16);
        self.parts_into(&mut parts);
        Cow::Owned(parts.join("/"))
    }

    /// The relative path of the member under DEST.
    pub fn rel_path(&self) -> PathBuf {
        names::to_path(&self.parts())
    }
}

#[cfg(test)]
impl Member {
    /// A stored regular file called `name`, every other field plain: for unit tests.
    pub(crate) fn named(name: &str) -> Member {
        Member {
            index: 0,
            name: name.into(),
            junk_paths: false,
            kind: Kind::File,
            size: 0,
            compressed: 0,
            mode: 0o644,
            mtime: None,
            encrypted: false,
            big_model: false,
            method: zip::CompressionMethod::Stored,
            crc: 0,
            data_start: 0,
            dos_time: None,
        }
    }
}

impl Plan {
    /// The total declared size of the regular files, saturating: a hostile archive can
    /// declare sizes whose sum does not fit in 64 bits.
    pub fn declared_size(&self) -> u64 {
        self.members
            .iter()
            .filter(|m| m.kind == Kind::File)
            .fold(0u64, |sum, m| sum.saturating_add(m.size))
    }
}

/// What to take from the archive.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only members matching one of these (all when empty).
    pub include: Vec<String>,
    /// Never members matching one of these.
    pub exclude: Vec<String>,
    /// Drop directory names: every file lands directly in DEST; directories are skipped.
    pub junk_paths: bool,
    /// Only this shard's files and links (`--shard`; see [`crate::shard`]).
    pub shard: Option<crate::shard::Shard>,
}

/// The checked plan: members in central directory order, plus the members refused while
/// planning (each an error naming it).
#[derive(Default)]
pub struct Plan {
    pub members: Vec<Member>,
    pub refused: Vec<Error>,
    /// Names that differ only in case (they collide on case-insensitive disks): printed
    /// unless quiet, not counted (unzip does not warn of them).
    pub case_warnings: Vec<String>,
    /// The members (archive indices) whose names differ only in case from an earlier
    /// member's. Where names fold (a FAT or exFAT disk, macOS), they land on one file:
    /// extraction writes them after the others, one at a time in archive order, so which
    /// one stays is the one unzip and `-j1` keep (the last with -o, the first with -n),
    /// not whichever worker finished last.
    pub case_twins: std::collections::BTreeSet<usize>,
    /// Other things worth saying about the archive, printed unless quiet and not
    /// counted (unzip says nothing of them, or exits 0): an entry count that wrapped, an
    /// exclude pattern that matched nothing, a Unicode Path field that renames a member.
    /// (A local header that names a member otherwise is a counted warning in `refused`,
    /// as unzip counts it: [`Error::NameWarning`].) The plan stands; the user is told.
    pub notes: Vec<String>,
    /// Whether the central directory has duplicate names.
    pub has_duplicates: bool,
    /// The archive comment.
    pub comment: Vec<u8>,
    /// The number of members that passed the include/exclude patterns.
    pub matched: usize,
    /// The include patterns (operands and `-i`) that matched no member, in the order
    /// given: each is an error (exit 11, as unzip's "filename not matched").
    pub unmatched: Vec<super::patterns::Unmatched>,
    /// The shard this plan is (`--shard`): its files and links, and every directory.
    pub shard: Option<crate::shard::Shard>,
    /// With `--shard`, what was done to directories their owner could not write into (a
    /// note, said when extracting: a test or `-p` sets no mode).
    pub shard_note: Option<String>,
}

/// What unzip warns of about the archive as a whole, with exit 1 ("zipfile is empty",
/// "extra bytes at beginning or within zipfile"): an archive with no members may be the
/// wrong file or a failed download, and bytes in front of the archive proper (a
/// self-extractor stub, a .jmod header) mean offsets were shifted to read it.
fn archive_warnings(archive: &Archive, reader: &Reader<'_>, refused: &mut Vec<Error>) {
    let mut warn = |what: String| {
        refused.push(Error::ArchiveWarning {
            path: archive.path.clone(),
            what,
        })
    };
    if reader.is_empty() {
        warn(crate::error::EMPTY_ARCHIVE.into());
    }
    let dir = reader.directory();
    let (have, declared) = (dir.comment.len(), dir.comment_declared);
    if have < declared {
        // unzip: "caution: zipfile comment truncated", exit 1. The end of a download?
        warn(format!(
            "the archive comment is cut short: {have} of its {declared} bytes are there \
             (was the file cut off?)"
        ));
    }
    let shift = dir.shift;
    if shift > 0 {
        let bytes = if shift == 1 { "byte" } else { "bytes" };
        warn(format!(
            "{shift} extra {bytes} before the archive proper (a self-extractor stub or a \
             header); read anyway, every offset shifted by {shift}"
        ));
    }
}

/// Compiles the include and exclude patterns (see [`super::patterns`]), reporting a bad
/// one.
pub fn compile(filter: &Filter) -> Result<(Patterns, Patterns)> {
    let bad = |(pattern, reason)| Error::BadPattern { pattern, reason };
    Ok((
        Patterns::new(&filter.include).map_err(bad)?,
        Patterns::new(&filter.exclude).map_err(bad)?,
    ))
}

/// Every name used more than once: a `Duplicate` refusal for each later entry (positions
/// 1-based), and the set of such names, whose entries are all refused. Found by sorting
/// hashes (8 bytes an entry) rather than in a map of every name (a listing of a million
/// entries would spend most of its memory on that map).
///
/// A directory entry repeated (`META-INF/` twice, as some jar tools write) says nothing
/// new and is no conflict: its later entries are returned in the second set, to be
/// passed over as unzip, bsdtar and 7-Zip pass them (a valid jar failed -t with exit 2).
fn duplicates<'a>(
    reader: &Reader<'a>,
    refused: &mut HashMap<u32, Error>,
) -> Result<(HashSet<&'a [u8]>, HashSet<u32>)> {
    interrupt_point(0)?;
    let name = |i: u32| {
        reader
            .entry(i as usize)
            .map(|e| e.name_raw)
            .unwrap_or_default()
    };
    let parsed = (0..reader.len() as u32).filter(|&i| reader.entry(i as usize).is_ok());
    let mut dups = HashSet::new();
    let mut repeated_dirs = HashSet::new();
    for (later, first) in collisions::later_equals(parsed, name) {
        let e = reader.entry(later as usize).expect("parsed above");
        if e.name_raw.ends_with(b"/") {
            repeated_dirs.insert(later);
            continue;
        }
        refused.insert(
            later,
            Error::Duplicate {
                member: e.raw_name(),
                first: first as usize + 1,
                second: later as usize + 1,
            },
        );
        dups.insert(e.name_raw);
    }
    interrupt_point(0)?;
    Ok((dups, repeated_dirs))
}

/// Returns `Error::Interrupted` now and then, once Ctrl-C has arrived.
fn interrupt_point(i: usize) -> Result<()> {
    if i.is_multiple_of(CHECK_EVERY) && cancel::interrupted() {
        return Err(Error::Interrupted);
    }
    Ok(())
}

/// Whether a Unicode Path field renames the member rather than spelling the same name
/// in Unicode: it moves it to another depth, or neither name's ASCII characters appear,
/// in order, in the other (a legit `caf?.txt` or `cafe.txt` for `café.txt` passes).
fn renames(raw: &str, unicode: &str) -> bool {
    fn ascii_within(small: &str, big: &str) -> bool {
        let mut big = big.chars().filter(char::is_ascii);
        small
            .chars()
            .filter(char::is_ascii)
            .all(|c| big.any(|b| b.eq_ignore_ascii_case(&c)))
    }
    let depth = |s: &str| s.split(['/', '\\']).count();
    raw != unicode
        && (depth(raw) != depth(unicode)
            || (!ascii_within(raw, unicode) && !ascii_within(unicode, raw)))
}

/// Builds the plan for `reader` (the archive's bytes are needed for the raw checks).
/// `jobs` threads read the local headers (see [`split`]); the plan is the same for any
/// number.
pub fn build(
    archive: &Archive,
    reader: &mut Reader<'_>,
    filter: &Filter,
    umask: u32,
    jobs: NonZeroUsize,
) -> Result<Plan> {
    let mut members = Vec::new();
    members.reserve_exact(reader.len());
    let mut plan = walk(archive, reader, filter, umask, jobs, &mut |m| {
        members.push(m)
    })?;
    // unzip warns (exit 1) and extracts them as punzip does, `\` as `/`: said, not counted.
    if let Some(m) = members.iter().find(|m| m.name.contains('\\')) {
        plan.notes.push(format!(
            "{}: names use backslashes as path separators (as Windows writers do): read as /",
            crate::error::shown(&m.name)
        ));
    }
    plan.members = members;
    refuse_collisions(&mut plan, jobs)?;
    Ok(plan)
}

/// Everything [`build`] refuses and warns of, for a listing that has already shown the
/// members: the plan comes back with no members, and costs a few bytes per entry (its
/// index) instead of a [`Member`] each, so `-l` of a million entries stays small.
pub fn check(
    archive: &Archive,
    reader: &Reader<'_>,
    filter: &Filter,
    umask: u32,
    jobs: NonZeroUsize,
) -> Result<Plan> {
    let mut kept: Vec<u32> = Vec::new();
    let mut plan = walk(archive, reader, filter, umask, jobs, &mut |m| {
        kept.push(m.index as u32)
    })?;
    let view = collisions::Entries {
        reader,
        indices: &kept,
        junk_paths: filter.junk_paths,
    };
    let found = collisions::find(&view, jobs)?;
    plan.refused.extend(found.refused);
    plan.case_warnings.extend(found.case_warnings);
    Ok(plan)
}

/// The per-entry half of planning: every check that needs one entry at a time (and the
/// duplicate and overlap checks), handing each member that passes to `keep`.
fn walk(
    archive: &Archive,
    reader: &Reader<'_>,
    filter: &Filter,
    umask: u32,
    jobs: NonZeroUsize,
    keep: &mut dyn FnMut(Member),
) -> Result<Plan> {
    let (mut include, mut exclude) = compile(filter)?;
    let bytes = archive.bytes();
    let dir = reader.directory();
    let mut plan = Plan {
        members: Vec::new(),
        refused: Vec::new(),
        case_warnings: Vec::new(),
        case_twins: Default::default(),
        notes: Vec::new(),
        has_duplicates: false,
        comment: bytes.get(dir.comment.clone()).unwrap_or_default().to_vec(),
        matched: 0,
        unmatched: Vec::new(),
        shard: None,
        shard_note: None,
    };
    if dir.wrapped {
        plan.notes.push(format!(
            "the end record declares {} entries but the central directory holds {}: \
             the 16-bit entry count wrapped (no zip64 record); reading all {}",
            dir.declared_count,
            reader.len(),
            reader.len()
        ));
    }
    archive_warnings(archive, reader, &mut plan.refused);
    // Each later entry of a duplicated name, and why it is refused: said only if the
    // patterns select it (as every refusal), so that `punzip A.zip other.txt` beside a
    // duplicated `a.txt` extracts other.txt and exits 0, as unzip does.
    let mut dup_refusals = HashMap::new();
    let (dup_names, repeated_dirs) = duplicates(reader, &mut dup_refusals)?;
    plan.has_duplicates = !dup_names.is_empty();

    let local = local_headers(bytes, reader, jobs)?;
    refuse_overlaps(archive, reader, &local)?;
    for (index, &local) in local.iter().enumerate() {
        interrupt_point(index)?;
        let entry = match reader.entry(index) {
            Ok(e) => e,
            Err(reason) => {
                plan.refused.push(Error::Corrupt {
                    member: reader.name_of_broken(index),
                    reason,
                });
                continue;
            }
        };
        let name = entry.name();
        if repeated_dirs.contains(&(index as u32)) {
            continue;
        }
        let unix_mode = entry.unix_mode();
        let kind = entry.kind();
        // A directory entry for DEST itself (`./`, first in every zip bsdtar and macOS's
        // `tar -a` make): nothing to do, as unzip and 7-Zip do nothing. It was refused as
        // an empty name, exit 1, on every such archive. One that holds data is still
        // refused.
        // Whether the entry holds data: a directory may not (see below).
        let holds_data = entry.holds_data();
        if kind == Kind::Dir && !holds_data && names::is_dest_itself(&name) {
            continue;
        }
        let mut parts = Vec::with_capacity(16);
        let refusal = match names::sanitize_into(&name, &mut parts) {
            Ok(()) if parts.last().is_some_and(|n| fsops::is_temp_name(n)) => {
                Some("the name is reserved for punzip's temporary files".to_string())
            }
            Ok(()) => None,
            Err(reason) => Some(reason),
        };
        // Members left out by the patterns are not looked at further, as unzip does: a
        // `../evil` beside the one file asked for made `punzip A.zip good.txt` exit 1.
        // A refused name has no cleaned path; its patterns see the name as stored.
        if !include.is_empty() || !exclude.is_empty() {
            let key = refusal.is_none().then(|| parts.join("/"));
            let dir = kind == Kind::Dir;
            let included = include.is_empty() || include.matches(&name, key.as_deref(), dir);
            // Every exclude is tried, included or not, to tell which matched nothing.
            let excluded = exclude.matches(&name, key.as_deref(), dir);
            if !included || excluded {
                continue;
            }
        }
        if dup_names.contains(entry.name_raw) {
            // Selected, then refused (each later entry says so): the patterns did match
            // it. A pattern that matched only duplicated names said "filename not
            // matched", exit 11, and the duplicate went unsaid.
            plan.matched += 1;
            if let Some(e) = dup_refusals.remove(&(index as u32)) {
                plan.refused.push(e);
            }
            continue;
        }
        if let Some(reason) = refusal {
            // Selected, then refused: the patterns did match it.
            plan.matched += 1;
            plan.refused.push(Error::Refused {
                member: if name.is_empty() {
                    format!("central directory entry {}", index + 1)
                } else {
                    name
                },
                reason,
            });
            continue;
        }
        // A directory has no data: extracted as one, these bytes were dropped with exit 0,
        // and never tested (-t passed a bad CRC that unzip -t reports). Only a name ending
        // in a separator gets here ([`Entry::kind`] makes a file of the others). Nor can
        // a directory hide compressed bytes behind a size of 0 ([`Entry::holds_data`]).
        if kind == Kind::Dir && holds_data {
            plan.matched += 1;
            plan.refused.push(Error::Corrupt {
                member: name,
                reason: format!(
                    "marked as a directory, but holds {} bytes of data ({} compressed)",
                    entry.size, entry.compressed
                ),
            });
            continue;
        }
        // Something may be wrong with the local header: `Look` says find out what.
        let data_start = match local.data_start(bytes, &entry) {
            Ok(d) => d,
            Err(e) => {
                plan.refused.push(Error::Corrupt {
                    member: name,
                    reason: format!("cannot read local header: {e}"),
                });
                continue;
            }
        };
        if let Local::Look = local {
            let disagreement = other_local_name(bytes, &entry).or_else(|| {
                entry
                    .local_disagreement(bytes)
                    .map(|d| format!("local and central headers disagree: {d}"))
            });
            if let Some(reason) = disagreement {
                plan.refused.push(Error::Corrupt {
                    member: name,
                    reason,
                });
                continue;
            }
            // Accepted by the local Unicode Path field: said, and counted (exit 1), as
            // unzip says and counts it ("mismatching local filename").
            if let Some(local) = entry.local_name(bytes).filter(|l| *l != entry.name_raw) {
                plan.refused.push(Error::NameWarning {
                    member: name.clone(),
                    what: format!(
                        "the local header names it {:?}, its Unicode Path field {:?}: \
                         extracted as the Unicode Path field says",
                        String::from_utf8_lossy(local),
                        name
                    ),
                });
            }
        }
        if let Some(unicode) = entry.unicode_path {
            let raw = entry.raw_name();
            // Said, not counted: unzip takes the field's name without a word, exit 0.
            if renames(&raw, unicode) {
                plan.notes.push(format!(
                    "{}: the Unicode Path field names it {}: using that name",
                    crate::error::shown(&raw),
                    crate::error::shown(unicode)
                ));
            }
        }
        plan.matched += 1;
        if entry.method == 99 {
            // Still 99: no AES field said what is inside, so no password could open it
            // (it was "incorrect password or corrupt data", exit 82). Listed as it is.
            plan.refused.push(Error::Corrupt {
                member: name,
                reason: "AES-encrypted (method 99) without its AES extra field (0x9901)".into(),
            });
            continue;
        }
        let legacy = legacy_size(entry.method, entry.size, entry.compressed);
        if let Some(n) = legacy.filter(|&n| kind == Kind::File && n > LEGACY_MOST) {
            plan.refused.push(Error::Unsupported {
                member: name,
                reason: format!(
                    "a PKZIP 1 member (method {}) of {n} bytes: its decoder holds the whole \
                     member in memory, so members over {LEGACY_MOST} bytes are refused",
                    entry.method
                ),
            });
            continue;
        }
        let mut big_model = legacy.is_some_and(|n| n > LEGACY_ALONE);
        if kind == Kind::File && !entry.encrypted() {
            let data = central_slice(bytes, data_start, entry.compressed.min(64));
            if let Some(dict) = declared_dictionary(entry.method, data) {
                let limit = entry.size.max(DICT_FLOOR);
                // PPMd's model is at most 256 MiB, and 7-Zip's -mx=8 and -mx=9 ask for
                // 128 and 256 MiB for files of a few MB: not refused, but decoded one
                // at a time (see `Member::big_model`).
                if entry.method == dictionary::PPMD {
                    big_model = dict > DICT_FLOOR;
                } else if dict > limit {
                    plan.refused.push(Error::Unsupported {
                        member: name,
                        reason: format!(
                            "declares a {dict}-byte compression dictionary for {} bytes of \
                             data (more than {limit}); refused to bound memory",
                            entry.size
                        ),
                    });
                    continue;
                }
            }
        }
        if filter.junk_paths && kind == Kind::Dir {
            continue;
        }
        drop(parts);
        let dos_time = zip::DateTime::try_from_msdos(entry.dos_date, entry.dos_time).ok();
        keep(Member {
            index,
            name,
            junk_paths: filter.junk_paths,
            kind,
            size: entry.size,
            compressed: entry.compressed,
            mode: meta::mode(kind, unix_mode, entry.external, umask),
            // As unzip sets it: the local header's Unix time field (the central one
            // gave other times, by years in some jars, where the local header had
            // none), then the NTFS field, then the DOS time. Listings show the central
            // record's, as unzip -l does.
            mtime: local
                .mtime(bytes, &entry)
                .map(meta::Mtime::from)
                .or(entry.ntfs_mtime)
                .or_else(|| {
                    meta::dos_mtime(dos_time, entry.dos_date, entry.dos_time).map(From::from)
                }),
            encrypted: entry.encrypted(),
            big_model,
            #[allow(deprecated)]
            method: zip::CompressionMethod::from_u16(entry.method),
            crc: entry.crc,
            data_start,
            dos_time,
        });
    }
    plan.unmatched = include.unmatched(&filter.include);
    for p in exclude.unmatched(&filter.exclude) {
        plan.notes
            .push(format!("excluded filename not matched: {p}"));
    }
    Ok(plan)
}

/// Up to `len` bytes of the archive from `at` (fewer at its end).
fn central_slice(bytes: &[u8], at: u64, len: u64) -> &[u8] {
    let at = usize::try_from(at).unwrap_or(usize::MAX).min(bytes.len());
    let end = at.saturating_add(len as usize).min(bytes.len());
    &bytes[at..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    fn sample() -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        w.add_directory("d/", opts).unwrap();
        w.start_file("d/a.txt", opts).unwrap();
        w.write_all(&b"hello ".repeat(50)).unwrap();
        w.start_file(
            "b.bin",
            opts.compression_method(zip::CompressionMethod::Stored),
        )
        .unwrap();
        w.write_all(b"stored bytes").unwrap();
        w.add_symlink("l", "d/a.txt", opts).unwrap();
        w.finish().unwrap().into_inner()
    }

    fn plan_of(bytes: Vec<u8>) -> Result<Plan> {
        let archive = Archive::from_bytes("t.zip", bytes);
        let mut reader = archive.reader()?;
        build(
            &archive,
            &mut reader,
            &Filter::default(),
            0o022,
            NonZeroUsize::MIN,
        )
    }

    #[test]
    fn a_valid_archive_plans_every_member() {
        let plan = plan_of(sample()).unwrap();
        let names: Vec<_> = plan.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["d/", "d/a.txt", "b.bin", "l"]);
        assert!(plan.refused.is_empty());
        assert_eq!(plan.declared_size(), 300 + 12);
    }

    #[test]
    fn members_read_through_the_one_entry_view_even_behind_a_stub() {
        // A self-extractor stub in front shifts every offset; zip64 extra fields replace
        // the 32-bit sizes. The zip crate, shown one member at a time, must read each.
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().large_file(true);
        for (name, body) in [("a.txt", &b"alpha "[..]), ("b/c.txt", &b"gamma"[..])] {
            w.start_file(name, opts).unwrap();
            w.write_all(&body.repeat(100)).unwrap();
        }
        let zip = w.finish().unwrap().into_inner();
        let mut bytes = b"#!/bin/sh\nexit 0\n".repeat(7);
        bytes.extend_from_slice(&zip);
        let archive = Archive::from_bytes("sfx.zip", bytes);
        let mut reader = archive.reader().unwrap();
        assert!(reader.directory().shift > 0);
        let plan = build(
            &archive,
            &mut reader,
            &Filter::default(),
            0o022,
            NonZeroUsize::MIN,
        )
        .unwrap();
        // Only the warning that the stub is there (exit 1, as unzip's).
        assert!(
            matches!(&plan.refused[..], [Error::ArchiveWarning { what, .. }]
                if what.starts_with("119 extra bytes")),
            "{:?}",
            plan.refused
        );
        for (m, body) in plan.members.iter().zip([&b"alpha "[..], b"gamma"]) {
            let mut out = Vec::new();
            let mut f = reader
                .by_index_with_options(m.index, zip::ZipReadOptions::new())
                .unwrap();
            std::io::Read::read_to_end(&mut f, &mut out).unwrap();
            assert_eq!(out, body.repeat(100), "{}", m.name);
        }
    }

    #[test]
    fn the_listing_checks_refuse_and_warn_exactly_as_planning_does() {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for name in ["a.txt", "../up", "same", "./same", "CASE", "case"] {
            w.start_file(name, opts).unwrap();
            w.write_all(name.as_bytes()).unwrap();
        }
        w.add_symlink("link", "elsewhere", opts).unwrap();
        w.start_file("link/through", opts).unwrap();
        w.add_directory("d/", opts).unwrap();
        w.add_directory("./d/", opts).unwrap();
        let archive = Archive::from_bytes("t.zip", w.finish().unwrap().into_inner());
        for filter in [
            Filter::default(),
            Filter {
                junk_paths: true,
                ..Filter::default()
            },
        ] {
            let mut reader = archive.reader().unwrap();
            let planned = build(&archive, &mut reader, &filter, 0o022, NonZeroUsize::MIN).unwrap();
            let checked = check(&archive, &reader, &filter, 0o022, NonZeroUsize::MIN).unwrap();
            let text = |p: &Plan| p.refused.iter().map(|e| e.to_string()).collect::<Vec<_>>();
            assert_eq!(text(&checked), text(&planned));
            assert_eq!(checked.case_warnings, planned.case_warnings);
            assert_eq!(checked.matched, planned.matched);
            assert!(planned.refused.len() >= 2, "{:?}", text(&planned));
            assert!(checked.members.is_empty());
        }
    }

    /// Where `needle` occurs last in `hay` (a member's name is in its local header and
    /// again, later, in the central directory).
    fn last_at(hay: &[u8], needle: &[u8]) -> usize {
        hay.windows(needle.len())
            .rposition(|w| w == needle)
            .expect("present")
    }

    /// Planning reads the local headers on several threads: the plan, its refusals and
    /// its warnings must be exactly those of one thread, faults in every run included.
    #[test]
    fn planning_on_several_threads_gives_the_one_thread_plan() {
        const N: usize = 3 * PLAN_PER_THREAD + 11;
        let name = |i: usize| format!("d{:02}/f{i:05}.txt", i % 40);
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for i in 0..N {
            w.start_file(name(i), opts).unwrap();
            w.write_all(format!("{i}").as_bytes()).unwrap();
        }
        w.add_symlink("link", "d00", opts).unwrap();
        w.start_file("D01/case.txt", opts).unwrap();
        w.start_file("d01/CASE.txt", opts).unwrap();
        let mut bytes = w.finish().unwrap().into_inner();
        let local_of = |bytes: &[u8], i: usize| {
            let at = bytes
                .windows(name(i).len())
                .position(|w| w == name(i).as_bytes())
                .unwrap();
            at - 30
        };
        // In the later runs: a local header that names another member, one that is not
        // a local header, and a name used twice (central and local both renamed).
        let differs = local_of(&bytes, 2 * PLAN_PER_THREAD + 5);
        bytes[differs + 30 + 1] = b'X';
        let broken = local_of(&bytes, 3 * PLAN_PER_THREAD + 1);
        bytes[broken] = b'Q';
        let (twin, first) = (PLAN_PER_THREAD + 40, 0);
        let (from, to) = (name(twin), name(first));
        let local = local_of(&bytes, twin) + 30;
        bytes[local..local + to.len()].copy_from_slice(to.as_bytes());
        let central = last_at(&bytes, from.as_bytes());
        bytes[central..central + to.len()].copy_from_slice(to.as_bytes());

        let archive = Archive::from_bytes("t.zip", bytes);
        let plan_with = |jobs: usize| {
            let mut reader = archive.reader().unwrap();
            let jobs = NonZeroUsize::new(jobs).unwrap();
            build(&archive, &mut reader, &Filter::default(), 0o022, jobs).unwrap()
        };
        let seen = |p: &Plan| {
            let members: Vec<_> = p.members.iter().map(|m| (m.index, m.data_start)).collect();
            let refused: Vec<_> = p.refused.iter().map(|e| e.to_string()).collect();
            (members, refused, p.notes.clone(), p.case_warnings.clone())
        };
        let one = seen(&plan_with(1));
        let text = one.1.join("\n");
        assert!(
            text.contains("local and central headers disagree"),
            "{text}"
        );
        assert!(text.contains("cannot read local header"), "{text}");
        assert!(text.contains("duplicate member name"), "{text}");
        assert_eq!(one.1.len(), 3, "{text}");
        assert_eq!(one.0.len(), N + 3 - 4, "{text}");
        assert_eq!(one.3.len(), 1, "{:?}", one.3);
        for jobs in [2, 3, 8] {
            assert_eq!(seen(&plan_with(jobs)), one, "{jobs} threads");
        }
        for jobs in [1, 2] {
            let reader = archive.reader().unwrap();
            let jobs = NonZeroUsize::new(jobs).unwrap();
            let checked = check(&archive, &reader, &Filter::default(), 0o022, jobs).unwrap();
            let refused: Vec<_> = checked.refused.iter().map(|e| e.to_string()).collect();
            assert_eq!(refused, one.1, "listing checks, {jobs} threads");
        }
    }

    /// A member's key is its sanitised components joined by `/`, whether it is borrowed
    /// from the name (plain names) or built.
    #[test]
    fn a_members_key_is_its_joined_components() {
        let member = |name: &str, junk_paths| Member {
            junk_paths,
            ..Member::named(name)
        };
        for name in [
            "a",
            "a/b/c.txt",
            "dir/",
            "./a//b/",
            "a/../b",
            "x\\y/z",
            "a/./b",
            "é/ü",
        ] {
            for junk in [false, true] {
                let m = member(name, junk);
                assert_eq!(m.key(), m.parts().join("/"), "{name:?}, junk {junk}");
            }
        }
    }

    #[test]
    fn a_unicode_path_renames_only_when_no_ascii_spelling_matches() {
        assert!(!renames("cafe.txt", "café.txt"));
        assert!(!renames("caf?.txt", "café.txt"));
        assert!(!renames("README.TXT", "readme.txt"));
        assert!(renames("readme.txt", "evil.sh"));
        assert!(renames("a.txt", "b/a.txt"), "moved into a directory");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// A smoke version of the fuzz target that runs with `cargo test`: whatever bytes
        /// of a valid archive are overwritten, planning returns, it never panics.
        #[test]
        fn planning_never_panics_on_a_mutated_archive(
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let mut bytes = sample();
            for (at, value) in edits {
                let i = at.index(bytes.len());
                bytes[i] = value;
            }
            if truncate {
                bytes.truncate(cut.index(bytes.len()));
            }
            let _ = plan_of(bytes);
        }
    }
}
