//! From the central directory to a checked plan: every member named, sanitised, typed
//! and filtered, every archive-level attack (overlapping entries, duplicate names, names
//! that climb out, members written through a symlink member) refused before anything is
//! written. The plan is plain data, so it can be tested, listed and fuzzed on its own.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use memmap2::Mmap;
use zip::result::ZipError;
use zip::ZipArchive;

use super::fsops;
use super::meta::{self, Kind};
use super::names;
use crate::error::{Error, Result};

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

/// The zip reader every worker clones: a cursor over the shared map.
pub type Reader<'a> = ZipArchive<Cursor<&'a [u8]>>;

impl Archive {
    /// Opens and maps `path`.
    pub fn open(path: &Path) -> Result<Archive> {
        let file = std::fs::File::open(path).map_err(|source| Error::OpenArchive {
            path: path.to_owned(),
            source,
        })?;
        let len = file
            .metadata()
            .map_err(|source| Error::OpenArchive {
                path: path.to_owned(),
                source,
            })?
            .len();
        // An empty file cannot be mapped; it is simply not a zip.
        let data = if len == 0 {
            Data::Empty
        } else {
            // SAFETY: the map is read-only. If another process truncates the archive while
            // we read it we may get SIGBUS, the same risk every mmap-based reader takes;
            // punzip never writes to the archive.
            Data::Mapped(
                unsafe { Mmap::map(&file) }.map_err(|source| Error::OpenArchive {
                    path: path.to_owned(),
                    source,
                })?,
            )
        };
        Ok(Archive {
            path: path.to_owned(),
            data,
        })
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
        ZipArchive::new(Cursor::new(self.bytes())).map_err(|e| match e {
            // Info-ZIP's status 9 is for "no end-of-central-directory found"; an EOCD that
            // was found but points nowhere sensible is a severe format error (3).
            ZipError::InvalidArchive(r)
                if r.contains("signature") || r.contains("Could not find EOCD") =>
            {
                Error::NotZip {
                    path: self.path.clone(),
                    reason: r.into_owned(),
                }
            }
            ZipError::Io(e) if self.bytes().len() < 22 => Error::NotZip {
                path: self.path.clone(),
                reason: format!("too short ({e})"),
            },
            other => Error::BadArchive {
                path: self.path.clone(),
                reason: other.to_string(),
            },
        })
    }
}

/// One member to act on.
#[derive(Clone, Debug)]
pub struct Member {
    /// Index in the zip reader.
    pub index: usize,
    /// The name as stored (decoded from UTF-8 or CP437), for messages.
    pub name: String,
    /// The safe relative path, as components.
    pub parts: Vec<String>,
    pub kind: Kind,
    /// Declared uncompressed size.
    pub size: u64,
    /// Declared compressed size.
    pub compressed: u64,
    /// Permission bits to apply.
    pub mode: u32,
    /// Modification time, Unix seconds.
    pub mtime: Option<i64>,
    pub encrypted: bool,
    /// Compression method.
    pub method: zip::CompressionMethod,
    /// Declared CRC-32 of the uncompressed data.
    pub crc: u32,
    /// Offset of the member's compressed data in the archive.
    pub data_start: u64,
    /// Date and time as stored, for listings.
    pub dos_time: Option<zip::DateTime>,
}

impl Member {
    /// The relative path of the member under DEST.
    pub fn rel_path(&self) -> PathBuf {
        names::to_path(&self.parts)
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
}

/// The checked plan: members in central directory order, plus the members refused while
/// planning (each an error naming it).
pub struct Plan {
    pub members: Vec<Member>,
    pub refused: Vec<Error>,
    /// Names that differ only in case (a warning: they collide on case-insensitive disks).
    pub case_warnings: Vec<String>,
    /// Members skipped on purpose (device and FIFO entries), with the reason.
    pub skipped: Vec<(String, &'static str)>,
    /// Whether the central directory has duplicate names.
    pub has_duplicates: bool,
    /// The archive comment.
    pub comment: Vec<u8>,
    /// The number of members that passed the include/exclude patterns.
    pub matched: usize,
}

fn globset(patterns: &[String]) -> std::result::Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| format!("bad pattern {p:?}: {e}"))?);
    }
    b.build().map_err(|e| e.to_string())
}

/// Compiles include/exclude patterns, reporting a bad one.
pub fn compile(filter: &Filter) -> std::result::Result<(GlobSet, GlobSet), String> {
    Ok((globset(&filter.include)?, globset(&filter.exclude)?))
}

/// The names of every entry of the raw central directory, read record by record from its
/// start for as long as there are records, whatever the end record declares.
fn central_names(bytes: &[u8], cd_start: u64, offset: u64) -> Vec<Vec<u8>> {
    let scan = |start: u64| -> Vec<Vec<u8>> {
        let mut names = Vec::new();
        let Ok(mut pos) = usize::try_from(start) else {
            return names;
        };
        // Stops at the first thing that is not a whole central directory record.
        while bytes.get(pos..pos.saturating_add(4)) == Some(&[0x50, 0x4b, 0x01, 0x02][..]) {
            let Some(h) = bytes.get(pos..pos.saturating_add(46)) else {
                break;
            };
            let u16_at = |i: usize| usize::from(u16::from_le_bytes([h[i], h[i + 1]]));
            let (n, e, c) = (u16_at(28), u16_at(30), u16_at(32));
            let Some(name) = bytes.get(pos + 46..pos + 46 + n) else {
                break;
            };
            names.push(name.to_vec());
            pos += 46 + n + e + c;
        }
        names
    };
    let names = scan(cd_start);
    if names.is_empty() {
        scan(cd_start.saturating_add(offset))
    } else {
        names
    }
}

/// A record's signature, fixed length, and where its file-name length sits.
type RecordShape = ([u8; 4], usize, usize);
/// A local file header.
const LOCAL: RecordShape = ([0x50, 0x4b, 0x03, 0x04], 30, 26);
/// A central directory record.
const CENTRAL: RecordShape = ([0x50, 0x4b, 0x01, 0x02], 46, 28);

/// The raw file name of the record of the given shape at `at`, if there is a whole one.
/// (The zip crate's name may come from a Unicode-path extra field instead.)
fn record_name(bytes: &[u8], at: u64, (sig, fixed, len_at): RecordShape) -> Option<&[u8]> {
    let at = usize::try_from(at).ok()?;
    let h = bytes.get(at..at.checked_add(fixed)?)?;
    if h[..4] != sig {
        return None;
    }
    let n = usize::from(u16::from_le_bytes([h[len_at], h[len_at + 1]]));
    bytes.get(at + fixed..at + fixed + n)
}

/// Every name used more than once, with the positions (1-based) of its entries. The zip
/// crate keeps only one entry per name.
fn duplicate_names(names: &[Vec<u8>]) -> Vec<(Vec<u8>, usize, usize)> {
    let mut first: HashMap<&[u8], usize> = HashMap::new();
    let mut dups = Vec::new();
    for (i, n) in names.iter().enumerate() {
        if let Some(&f) = first.get(n.as_slice()) {
            dups.push((n.clone(), f + 1, i + 1));
        } else {
            first.insert(n, i);
        }
    }
    dups
}

/// Builds the plan for `reader` (the archive's bytes are needed for the raw checks).
pub fn build(
    archive: &Archive,
    reader: &mut Reader<'_>,
    filter: &Filter,
    umask: u32,
) -> Result<Plan> {
    let (include, exclude) = compile(filter).map_err(|reason| Error::BadArchive {
        path: archive.path.clone(),
        reason,
    })?;
    let mut plan = Plan {
        members: Vec::new(),
        refused: Vec::new(),
        case_warnings: Vec::new(),
        skipped: Vec::new(),
        has_duplicates: reader.has_duplicate_names(),
        comment: reader.comment().to_vec(),
        matched: 0,
    };
    let cd_start = reader.central_directory_start();
    let raw_names = central_names(archive.bytes(), cd_start, reader.offset());
    // An end record that declares fewer entries than the central directory holds (for
    // instance a second end record hidden in the archive comment) gives the archive two
    // readings: other tools would extract entries this one does not see. Refuse it.
    let distinct: HashSet<&[u8]> = raw_names.iter().map(Vec::as_slice).collect();
    if distinct.len() > reader.len() {
        return Err(Error::BadArchive {
            path: archive.path.clone(),
            reason: format!(
                "the central directory holds {} entries, the end record declares {}: \
                 some entries would be hidden (ambiguous archive)",
                raw_names.len(),
                reader.len()
            ),
        });
    }
    let mut dup_names = HashSet::new();
    if plan.has_duplicates {
        for (name, first, second) in duplicate_names(&raw_names) {
            let member = String::from_utf8_lossy(&name).into_owned();
            plan.refused.push(Error::Duplicate {
                member,
                first,
                second,
            });
            dup_names.insert(name);
        }
    }

    // Byte ranges [local header, end of data) of every entry, for the overlap check.
    let mut ranges: Vec<(u64, u64, usize)> = Vec::with_capacity(reader.len());
    for index in 0..reader.len() {
        let fallback_name = reader
            .name_for_index(index)
            .and_then(|n| n.ok())
            .map(|n| n.into_owned())
            .unwrap_or_else(|| format!("#{index}"));
        let entry = match reader.by_index_raw(index) {
            Ok(e) => e,
            Err(e) => {
                let name = fallback_name;
                plan.refused.push(Error::Corrupt {
                    member: name,
                    reason: format!("cannot read local header: {e}"),
                });
                continue;
            }
        };
        let name_raw = entry.name_raw().to_vec();
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| String::from_utf8_lossy(&name_raw).into_owned());
        let data_start = entry.data_start().unwrap_or(entry.header_start());
        let end = data_start.checked_add(entry.compressed_size());
        match end {
            Some(end) => ranges.push((entry.header_start(), end, index)),
            None => {
                return Err(Error::Overlap {
                    path: archive.path.clone(),
                    detail: format!("{name}: data end overflows"),
                })
            }
        }
        if dup_names.contains(&name_raw) {
            continue;
        }
        // The local header must name the same member as the central directory: an archive
        // that reads one way front to back and another way from its index is ambiguous
        // (scanners and extractors would disagree on what it holds). Other local fields
        // (flags, sizes behind a data descriptor) legitimately differ and are not used.
        let local = record_name(archive.bytes(), entry.header_start(), LOCAL);
        let central = record_name(archive.bytes(), entry.central_header_start(), CENTRAL);
        if let (Some(local), Some(central)) = (local, central) {
            if local != central {
                plan.refused.push(Error::Corrupt {
                    member: name,
                    reason: format!(
                        "local header names it {:?}: local and central headers disagree",
                        String::from_utf8_lossy(local)
                    ),
                });
                continue;
            }
        }
        let unix_mode = entry.unix_mode();
        let kind = meta::kind(entry.is_dir(), unix_mode);
        let mut parts = match names::sanitize(&name) {
            Ok(p) if p.last().is_some_and(|n| fsops::is_temp_name(n)) => {
                plan.refused.push(Error::Refused {
                    member: name,
                    reason: "the name is reserved for punzip's temporary files".into(),
                });
                continue;
            }
            Ok(p) => p,
            Err(reason) => {
                plan.refused.push(Error::Refused {
                    member: name,
                    reason,
                });
                continue;
            }
        };
        let key = parts.join("/");
        if !include.is_empty() && !include.is_match(&key) && !include.is_match(&name) {
            continue;
        }
        if exclude.is_match(&key) || exclude.is_match(&name) {
            continue;
        }
        plan.matched += 1;
        if let Kind::Special(what) = kind {
            plan.skipped.push((name, what));
            continue;
        }
        if filter.junk_paths {
            if kind == Kind::Dir {
                continue;
            }
            parts = vec![parts.pop().expect("sanitized names are not empty")];
        }
        plan.members.push(Member {
            index,
            name,
            parts,
            kind,
            size: entry.size(),
            compressed: entry.compressed_size(),
            mode: meta::mode(kind, unix_mode, entry.external_attributes(), umask),
            mtime: meta::mtime(&entry),
            encrypted: entry.encrypted(),
            method: entry.compression(),
            crc: entry.crc32(),
            data_start,
            dos_time: entry.last_modified(),
        });
    }

    // Zip bombs by overlap (CVE-2019-13232): no byte may belong to two entries, and no
    // entry may reach into the central directory.
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        if w[0].1 > w[1].0 {
            let a = reader.name_for_index(w[0].2).and_then(|n| n.ok());
            let b = reader.name_for_index(w[1].2).and_then(|n| n.ok());
            return Err(Error::Overlap {
                path: archive.path.clone(),
                detail: format!(
                    "{} overlaps {}",
                    a.as_deref().unwrap_or("?"),
                    b.as_deref().unwrap_or("?")
                ),
            });
        }
    }
    if let Some(&(_, end, i)) = ranges.iter().find(|r| r.1 > cd_start) {
        let a = reader.name_for_index(i).and_then(|n| n.ok());
        return Err(Error::Overlap {
            path: archive.path.clone(),
            detail: format!(
                "{} reaches into the central directory ({end} > {cd_start})",
                a.as_deref().unwrap_or("?")
            ),
        });
    }

    refuse_collisions(&mut plan);
    Ok(plan)
}

/// Members that would be written through a symlink member, or that land on the same path
/// as another member after sanitising, are refused; names equal but for case are warned of.
fn refuse_collisions(plan: &mut Plan) {
    let links: HashSet<Vec<String>> = plan
        .members
        .iter()
        .filter(|m| m.kind == Kind::Symlink)
        .map(|m| m.parts.clone())
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut lower: HashMap<String, String> = HashMap::new();
    let mut keep = Vec::with_capacity(plan.members.len());
    for m in std::mem::take(&mut plan.members) {
        let key = m.parts.join("/");
        let through = (1..m.parts.len())
            .find(|&n| links.contains(&m.parts[..n]))
            .map(|n| m.parts[..n].join("/"));
        if let Some(link) = through {
            plan.refused.push(Error::Refused {
                member: m.name,
                reason: format!("would be written through the symlink member {link}"),
            });
            continue;
        }
        if let Some(&other) = seen.get(&key) {
            let other: &Member = &keep[other];
            // Two directory entries for the same path are harmless.
            if !(m.kind == Kind::Dir && other.kind == Kind::Dir) {
                plan.refused.push(Error::Refused {
                    member: m.name,
                    reason: format!("lands on the same path as {}", other.name),
                });
            }
            continue;
        }
        let low = key.to_lowercase();
        if let Some(prev) = lower.get(&low) {
            plan.case_warnings
                .push(format!("{}: differs only in case from {prev}", m.name));
        } else {
            lower.insert(low, m.name.clone());
        }
        seen.insert(key, keep.len());
        keep.push(m);
    }
    plan.members = keep;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    fn sample() -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
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
        build(&archive, &mut reader, &Filter::default(), 0o022)
    }

    #[test]
    fn a_valid_archive_plans_every_member() {
        let plan = plan_of(sample()).unwrap();
        let names: Vec<_> = plan.members.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["d/", "d/a.txt", "b.bin", "l"]);
        assert!(plan.refused.is_empty());
        assert_eq!(plan.declared_size(), 300 + 12);
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
