//! Our own reader of the central directory, straight over the mapped archive. The zip
//! crate's index keeps a large record per entry (names, extra fields, options), about a
//! kilobyte each, so a million-entry archive cost a gigabyte before anything was written.
//! Here the directory is one offset per entry; an [`Entry`] is parsed on demand and
//! borrows its name and extra fields from the map. The zip crate is still the decoder for
//! the members the fast path does not take (see [`super::window`]).
//!
//! It also lets planning see what the zip crate hides: a 16-bit entry count that wrapped
//! (old writers of more than 65,535 entries), the host that made the archive (whether its
//! external attributes hold Unix permissions), and a Unicode Path field that renames the
//! member.

use std::ops::Range;

use crate::cancel;
use crate::unzip::meta::{self, Kind, Mtime};
use crate::unzip::names;

const END: [u8; 4] = *b"PK\x05\x06";
const END64: [u8; 4] = *b"PK\x06\x06";
const LOCATOR: [u8; 4] = *b"PK\x06\x07";
const CENTRAL: [u8; 4] = *b"PK\x01\x02";
const LOCAL: [u8; 4] = *b"PK\x03\x04";

/// How often the scans look at the interrupt flag.
const CHECK_EVERY: usize = 4096;

/// Why the central directory cannot be read.
#[derive(Debug)]
pub enum DirError {
    /// No end record: not a zip archive at all.
    NotZip(String),
    /// An end record, but the directory it describes is broken or ambiguous.
    Bad(String),
    /// Ctrl-C arrived while scanning.
    Interrupted,
}

/// The central directory: where it is and where each of its records starts.
#[derive(Debug)]
pub struct Directory {
    /// Where the first central record really is in the bytes.
    pub start: u64,
    /// Bytes in front of the archive proper (a self-extractor stub): the real offset of
    /// anything is its declared offset plus this.
    pub shift: u64,
    /// The offset of every central record, in order.
    pub records: Vec<u64>,
    /// The entry count the end record declares.
    pub declared_count: u64,
    /// The end record declared a 16-bit count that wrapped (more than 65,535 entries, no
    /// zip64 record), and the records exactly fill the declared directory: trusted.
    pub wrapped: bool,
    /// Whether a zip64 end record was used.
    pub zip64: bool,
    /// The archive comment.
    pub comment: Range<usize>,
    /// The comment's length as the end record declares it (more than `comment` holds
    /// when the file was cut short in it).
    pub comment_declared: usize,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// `len` bytes at `at`, if the archive has them.
fn slice(bytes: &[u8], at: u64, len: u64) -> Option<&[u8]> {
    let at = usize::try_from(at).ok()?;
    let len = usize::try_from(len).ok()?;
    bytes.get(at..at.checked_add(len)?)
}

fn has_sig(bytes: &[u8], at: u64, sig: [u8; 4]) -> bool {
    slice(bytes, at, 4) == Some(&sig[..])
}

/// The last end record whose comment fits in the file, else the last end record at all
/// (a truncated comment is cut short, as other readers do).
fn find_end(bytes: &[u8]) -> Option<usize> {
    let last = bytes.len().checked_sub(22)?;
    let first = last.saturating_sub(usize::from(u16::MAX));
    let mut candidates = (first..=last).rev().filter(|&p| bytes[p..p + 4] == END);
    let fallback = candidates.clone().next();
    candidates
        .find(|&p| p + 22 + usize::from(u16_at(bytes, p + 20)) <= bytes.len())
        .or(fallback)
}

/// An earlier end record whose comment holds the one at `eocd` and, like it, ends exactly
/// where the file does: two archives in one, each complete. Python's zipfile refuses
/// such a file and unzip warns; punzip read the inner one and extracted what it named.
fn end_around(bytes: &[u8], eocd: usize) -> Option<usize> {
    let first = eocd.saturating_sub(usize::from(u16::MAX) + 22);
    let exact = |p: usize| p + 22 + usize::from(u16_at(bytes, p + 20)) == bytes.len();
    if !exact(eocd) {
        return None;
    }
    (first..eocd)
        .rev()
        .find(|&p| bytes[p..p + 4] == END && exact(p))
}

/// Where the central directory is, from the end records alone: all that walking it
/// needs, before a single record is read (a listing starts printing from here).
#[derive(Debug, Clone)]
pub struct Layout {
    /// Where the first central record really is in the bytes.
    pub start: u64,
    /// Bytes in front of the archive proper (see [`Directory::shift`]).
    pub shift: u64,
    /// Where the directory must end (the zip64 end record, else the end record).
    pub end: u64,
    /// The directory's declared size in bytes.
    pub size: u64,
    /// The entry count the end record declares.
    pub declared_count: u64,
    /// Whether a zip64 end record was used.
    pub zip64: bool,
    /// The archive comment.
    pub comment: Range<usize>,
    /// The comment's declared length.
    pub comment_declared: usize,
}

/// Finds the end record and the start of the central directory of `bytes`.
pub fn locate(bytes: &[u8]) -> Result<Layout, DirError> {
    if bytes.len() < 22 {
        return Err(DirError::NotZip(format!(
            "too short ({} bytes) to hold an end-of-central-directory record",
            bytes.len()
        )));
    }
    let eocd = find_end(bytes).ok_or_else(|| {
        DirError::NotZip("Could not find EOCD (end-of-central-directory signature)".into())
    })?;
    if let Some(outer) = end_around(bytes, eocd) {
        return Err(DirError::Bad(format!(
            "two end records, the one at {eocd} inside the comment of the one at {outer}: \
             readers that take the first would see another archive (ambiguous archive)"
        )));
    }
    let comment_len = usize::from(u16_at(bytes, eocd + 20));
    let comment = eocd + 22..(eocd + 22 + comment_len).min(bytes.len());
    let disk = u16_at(bytes, eocd + 4);
    let mut count = u64::from(u16_at(bytes, eocd + 10));
    let mut size = u64::from(u32_at(bytes, eocd + 12));
    let mut offset = u64::from(u32_at(bytes, eocd + 16));
    let mut end = eocd as u64;
    let mut zip64 = false;
    // The zip64 end record, if a locator points at one. A locator-looking run of bytes
    // with no zip64 record behind it (member names can hold any bytes) is not one: the
    // plain end record is used then, unless it says its real values are in zip64 fields.
    let zip64_end = || -> Option<u64> {
        let declared = u64_at(bytes, eocd - 20 + 8);
        // A stub in front moves the zip64 end record too; it normally sits right before
        // its locator.
        if has_sig(bytes, declared, END64) && slice(bytes, declared, 56).is_some() {
            Some(declared)
        } else if eocd >= 76 && has_sig(bytes, (eocd - 76) as u64, END64) {
            Some((eocd - 76) as u64)
        } else {
            None
        }
    };
    let needs_zip64 = count == 0xffff || size == 0xffff_ffff || offset == 0xffff_ffff;
    let located = (eocd >= 20 && bytes[eocd - 20..eocd - 16] == LOCATOR)
        .then(zip64_end)
        .flatten();
    if let Some(at) = located {
        let r = slice(bytes, at, 56)
            .ok_or_else(|| DirError::Bad("the zip64 end record is truncated".into()))?;
        // Disk numbers and the entries on this disk, as the plain end record's are checked
        // (unzip refuses these with its split-archive status, 51).
        let disks = u32_at(bytes, eocd - 20 + 16);
        if disks > 1 || u32_at(r, 16) != 0 || u32_at(r, 20) != 0 {
            return Err(DirError::Bad(
                "multi-disk (split) archives are not supported: join the parts first (zip -s 0 split.zip --out whole.zip)".into(),
            ));
        }
        if u64_at(r, 24) != u64_at(r, 32) {
            return Err(DirError::Bad(format!(
                "the zip64 end record declares {} entries on this disk and {} in all \
                 (ambiguous archive)",
                u64_at(r, 24),
                u64_at(r, 32)
            )));
        }
        count = u64_at(r, 32);
        size = u64_at(r, 40);
        offset = u64_at(r, 48);
        end = at;
        zip64 = true;
    } else if needs_zip64 && eocd >= 20 && bytes[eocd - 20..eocd - 16] == LOCATOR {
        return Err(DirError::Bad("the zip64 end record is missing".into()));
    } else if disk != 0 {
        return Err(DirError::Bad(
            "multi-disk (split) archives are not supported: join the parts first (zip -s 0 split.zip --out whole.zip)".into(),
        ));
    }
    let real_start = end.checked_sub(size).ok_or_else(|| {
        DirError::Bad(format!(
            "the central directory ({size} bytes) is larger than what precedes its end record"
        ))
    })?;
    let (start, shift) = if has_sig(bytes, offset, CENTRAL) || (count == 0 && offset == real_start)
    {
        (offset, 0)
    } else if real_start > offset && has_sig(bytes, real_start, CENTRAL) {
        (real_start, real_start - offset)
    } else if count == 0 {
        (real_start, 0)
    } else {
        return Err(DirError::Bad(format!(
            "no central directory at offset {offset} (invalid Central Directory header signature)"
        )));
    };
    Ok(Layout {
        start,
        shift,
        end,
        size,
        declared_count: count,
        zip64,
        comment,
        comment_declared: comment_len,
    })
}

impl Layout {
    /// The records' offsets in order, found one at a time.
    pub fn records<'a>(&self, bytes: &'a [u8]) -> Records<'a> {
        Records {
            bytes,
            pos: self.start,
            end: self.end,
        }
    }

    /// Checks the number of records a walk found (`real`, the walk ending at `stopped`)
    /// against the declared count. Ok(true): the 16-bit count wrapped and is trusted.
    pub fn check_count(&self, real: u64, stopped: u64, bytes: &[u8]) -> Result<bool, DirError> {
        let count = self.declared_count;
        if real == count {
            self.check_size(stopped, bytes)?;
            return Ok(false);
        }
        // Writers that predate zip64 (or ignore it) store the count modulo 65,536. When the
        // records exactly fill the declared directory, the count is the only thing wrong.
        if !self.zip64
            && real > 0xffff
            && real % 0x1_0000 == count
            && Some(stopped) == self.start.checked_add(self.size)
        {
            Ok(true)
        } else if real > count {
            Err(DirError::Bad(format!(
                "the central directory holds {real} entries, the end record declares {count}: \
                 some entries would be hidden (ambiguous archive)"
            )))
        } else {
            Err(DirError::Bad(format!(
                "the end record declares {count} entries, the central directory holds {real} \
                 (truncated or invalid Central Directory header)"
            )))
        }
    }
}

impl Layout {
    /// The records must fill the directory's declared size: readers that find the
    /// directory by its size (Python's zipfile) saw no members in an archive whose end
    /// record declared 0 bytes, where punzip, finding it by its offset, extracted six. A
    /// digital signature record (APPNOTE 4.3.13) may follow the records.
    fn check_size(&self, stopped: u64, bytes: &[u8]) -> Result<(), DirError> {
        let declared_end = self.start.checked_add(self.size);
        let signature_end = slice(bytes, stopped, 6)
            .filter(|h| h[..4] == *b"PK\x05\x05")
            .map(|h| stopped + 6 + u64::from(u16_at(h, 4)));
        if declared_end == Some(stopped) || declared_end == signature_end {
            return Ok(());
        }
        Err(DirError::Bad(format!(
            "the end record declares a central directory of {} bytes, its records take {} \
             (ambiguous archive)",
            self.size,
            stopped - self.start
        )))
    }
}

/// The walk over the central records: each position holding a whole record whose
/// signature is right, up to the first that does not (a damaged record ends the walk;
/// [`Layout::check_count`] then says what was wrong).
#[derive(Debug, Clone)]
pub struct Records<'a> {
    bytes: &'a [u8],
    pos: u64,
    end: u64,
}

impl Records<'_> {
    /// Where the walk is: after the last record returned.
    pub fn position(&self) -> u64 {
        self.pos
    }
}

impl Iterator for Records<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let (bytes, pos) = (self.bytes, self.pos);
        if pos >= self.end || !has_sig(bytes, pos, CENTRAL) {
            return None;
        }
        let h = slice(bytes, pos, 46)?;
        let var = u64::from(u16_at(h, 28)) + u64::from(u16_at(h, 30)) + u64::from(u16_at(h, 32));
        let next = pos + 46 + var;
        if next > self.end {
            return None;
        }
        self.pos = next;
        Some(pos)
    }
}

/// Finds and checks the central directory of `bytes`.
pub fn read(bytes: &[u8]) -> Result<Directory, DirError> {
    let layout = locate(bytes)?;
    let mut walk = layout.records(bytes);
    let capacity = layout.declared_count.min(layout.size / 46) as usize;
    let mut records = Vec::with_capacity(capacity);
    for at in walk.by_ref() {
        records.push(at);
        if records.len().is_multiple_of(CHECK_EVERY) && cancel::interrupted() {
            return Err(DirError::Interrupted);
        }
    }
    let wrapped = layout.check_count(records.len() as u64, walk.position(), bytes)?;
    Ok(Directory {
        start: layout.start,
        shift: layout.shift,
        records,
        declared_count: layout.declared_count,
        wrapped,
        zip64: layout.zip64,
        comment: layout.comment,
        comment_declared: layout.comment_declared,
    })
}

/// One central directory record, with the fields planning needs. Borrows from the map.
#[derive(Debug)]
pub struct Entry<'a> {
    /// Offset of the central record.
    pub record: u64,
    /// The record's bytes (fixed part, name, extra fields, comment).
    pub raw: &'a [u8],
    /// The host that made the entry (high byte of version made by): 0 DOS, 3 Unix...
    pub host: u8,
    pub flags: u16,
    /// The compression method; for AES-encrypted members (99), the one inside.
    pub method: u16,
    pub dos_time: u16,
    pub dos_date: u16,
    pub crc: u32,
    pub compressed: u64,
    pub size: u64,
    /// Real offset of the local header (the shift applied).
    pub local: u64,
    pub external: u32,
    pub name_raw: &'a [u8],
    /// The UTF-8 name of a valid Info-ZIP Unicode Path field (0x7075) whose CRC matches.
    pub unicode_path: Option<&'a str>,
    /// Modification time, Unix seconds, from the first of the extended timestamp field
    /// (0x5455), Info-ZIP's older Unix field (0x5855, what macOS's ditto writes) and
    /// PKWARE's Unix field (0x000d), as unzip reads them; else the DOS time is used.
    /// What listings show, as unzip -l does; extraction takes the local header's, as
    /// unzip does ([`Entry::local_mtime`]).
    pub mtime: Option<i64>,
    /// Modification time from the NTFS field (0x000a), which Windows tools and 7-Zip
    /// write instead of the Unix ones: used after them, before the DOS time.
    pub ntfs_mtime: Option<Mtime>,
}

const HOST_FAT: u8 = 0;
const HOST_UNIX: u8 = 3;
const HOST_HPFS: u8 = 6;
const HOST_NTFS: u8 = 11;
const HOST_OSX: u8 = 19;

/// The (id, data) of each extra field in `extra`, up to the first that does not fit.
fn extra_fields(mut rest: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let (id, len) = (u16_at(rest, 0), usize::from(u16_at(rest, 2)));
        let data = rest.get(4..4 + len)?;
        rest = &rest[4 + len..];
        Some((id, data))
    })
}

/// The modification time in `extra` fields, from the first of the extended timestamp
/// (0x5455), Info-ZIP's older Unix field (0x5855) and PKWARE's Unix field (0x000d), as
/// unzip prefers them.
fn unix_time_field(extra: &[u8]) -> Option<u32> {
    // (UT, UX, PKWARE Unix) modification times, in the order they are preferred.
    let mut times: [Option<u32>; 3] = [None; 3];
    for (id, data) in extra_fields(extra) {
        match id {
            0x5455 if data.len() >= 5 && data[0] & 1 != 0 => times[0] = Some(u32_at(data, 1)),
            // Access time, then modification time (then, locally, owner ids).
            0x5855 if data.len() >= 8 => times[1] = Some(u32_at(data, 4)),
            0x000d if data.len() >= 8 => times[2] = Some(u32_at(data, 4)),
            _ => {}
        }
    }
    times.into_iter().flatten().next()
}

/// The modification time of an NTFS extra field (0x000a: 4 reserved bytes, then tagged
/// attributes; tag 1 holds the modification, access and creation times as FILETIMEs, 100 ns
/// ticks since 1601), as 7-Zip restores it. Info-ZIP unzip on Unix ignores it and falls
/// back to the DOS time: 2-second steps, in local time.
fn ntfs_time_field(extra: &[u8]) -> Option<Mtime> {
    const TICKS: i64 = 10_000_000;
    const FROM_1601: i64 = 11_644_473_600;
    // 9999-12-31T23:59:59Z.
    const LAST_SECOND: i64 = 253_402_300_799;
    let (_, data) = extra_fields(extra).find(|&(id, _)| id == 0x000a)?;
    let mut rest = data.get(4..)?;
    while rest.len() >= 4 {
        let (tag, len) = (u16_at(rest, 0), usize::from(u16_at(rest, 2)));
        let body = rest.get(4..4 + len)?;
        if tag == 1 && len >= 8 {
            let ticks = i64::try_from(u64::from_le_bytes(body[..8].try_into().ok()?)).ok()?;
            let secs = ticks.div_euclid(TICKS) - FROM_1601;
            // Years 1601 to 9999 only (0, "no time", is 1601 itself): RFC 3339 has four
            // digits for the year, and a FILETIME of i64::MAX is in 30828.
            return (ticks != 0 && secs <= LAST_SECOND).then(|| Mtime {
                secs,
                nsec: (ticks.rem_euclid(TICKS) * 100) as u32,
            });
        }
        rest = &rest[4 + len..];
    }
    None
}

/// Seconds from a 32-bit Unix time field: signed, as Info-ZIP's extrafld.txt defines it
/// (a file from 1969 came out in 2105), unless the DOS date says 2038 or later, when the
/// writer meant the unsigned reading.
fn unix_time(raw: u32, dos_date: u16) -> i64 {
    let dos_year = 1980 + (dos_date >> 9);
    if (raw as i32) < 0 && dos_year >= 2038 {
        i64::from(raw)
    } else {
        i64::from(raw as i32)
    }
}

/// The Unix mode in the upper bytes of an MS-DOS entry's attributes, when it is one:
/// a regular file or a directory, agreeing with the DOS directory bit (or the name's
/// trailing slash), whose owner bits are what the DOS bits say (read; write unless
/// read-only; execute for a directory), as unzip decides. Python's zipfile on Windows writes `st_mode << 16`; a mode of 0600 there
/// became 0666 under the umask.
fn fat_unix_mode(external: u32, name_is_dir: bool) -> Option<u32> {
    const S_IFMT: u32 = 0o170000;
    let mode = external >> 16;
    let dos_dir = external & 0x10 != 0 || name_is_dir;
    let dos_read_only = external & 0x01 != 0;
    let kind_agrees = match mode & S_IFMT {
        0o100000 => !dos_dir,
        0o040000 => dos_dir,
        _ => false,
    };
    // unzip's test: the owner can read; write unless read-only; execute only a directory
    // (Python's zipfile on Windows gives .exe files 0777; unzip makes them 0644).
    let owner = (mode >> 6) & 0o7;
    let want = 0o4 | if dos_read_only { 0 } else { 0o2 } | if dos_dir { 0o1 } else { 0 };
    (kind_agrees && owner == want).then_some(mode)
}

impl<'a> Entry<'a> {
    /// Parses the record at `at` (a position [`read`] found).
    pub fn parse(bytes: &'a [u8], at: u64, shift: u64) -> Result<Entry<'a>, String> {
        let h = slice(bytes, at, 46).ok_or("truncated central record")?;
        let (n, e, c) = (
            usize::from(u16_at(h, 28)),
            usize::from(u16_at(h, 30)),
            usize::from(u16_at(h, 32)),
        );
        let raw = slice(bytes, at, (46 + n + e + c) as u64).ok_or("truncated central record")?;
        let name_raw = &raw[46..46 + n];
        let extra = &raw[46 + n..46 + n + e];
        let mut entry = Entry {
            record: at,
            raw,
            host: h[5],
            flags: u16_at(h, 8),
            method: u16_at(h, 10),
            dos_time: u16_at(h, 12),
            dos_date: u16_at(h, 14),
            crc: u32_at(h, 16),
            compressed: u64::from(u32_at(h, 20)),
            size: u64::from(u32_at(h, 24)),
            local: u64::from(u32_at(h, 42)),
            external: u32_at(h, 38),
            name_raw,
            unicode_path: None,
            mtime: None,
            ntfs_mtime: None,
        };
        for (id, data) in extra_fields(extra) {
            match id {
                0x0001 => entry.zip64(data)?,
                0x7075
                    if data.len() >= 5
                        && data[0] == 1
                        && u32_at(data, 1) == libdeflater::crc32(name_raw) =>
                {
                    entry.unicode_path = std::str::from_utf8(&data[5..]).ok();
                }

                0x9901 if data.len() >= 7 && entry.method == 99 => {
                    entry.method = u16_at(data, 5);
                }
                _ => {}
            }
        }
        entry.mtime = unix_time_field(extra).map(|t| unix_time(t, entry.dos_date));
        // Only where no Unix field gives the time: a third walk of the extra fields for
        // every entry otherwise (planning's per-entry cost is watched to the per cent).
        if entry.mtime.is_none() {
            entry.ntfs_mtime = ntfs_time_field(extra);
        }
        entry.local = entry
            .local
            .checked_add(shift)
            .ok_or("local header offset overflows")?;
        Ok(entry)
    }

    /// Replaces the 32-bit fields that say "see zip64" with the zip64 extra field's values.
    fn zip64(&mut self, mut data: &[u8]) -> Result<(), String> {
        let mut take = |field: &mut u64| -> Result<(), String> {
            if *field == 0xffff_ffff {
                let v = data.get(..8).ok_or("zip64 extra field too short")?;
                *field = u64::from_le_bytes(v.try_into().expect("8 bytes"));
                data = &data[8..];
            }
            Ok(())
        };
        take(&mut self.size)?;
        take(&mut self.compressed)?;
        take(&mut self.local)?;
        Ok(())
    }

    /// The compression method as the record stores it (99 for AES, where [`Entry::method`]
    /// has the method inside), for listings that show what the archive says.
    pub fn stored_method(&self) -> u16 {
        u16_at(self.raw, 10)
    }

    /// The member's comment, as stored.
    pub fn comment(&self) -> &'a [u8] {
        let skip = 46 + usize::from(u16_at(self.raw, 28)) + usize::from(u16_at(self.raw, 30));
        self.raw.get(skip..).unwrap_or_default()
    }

    pub fn encrypted(&self) -> bool {
        self.flags & 1 != 0
    }

    /// The name: a valid Unicode Path field's, else the raw name as UTF-8 if it is, else
    /// as CP437 (what the zip crate does).
    pub fn name(&self) -> String {
        if let Some(u) = self.unicode_path {
            return names::from_utf8(u).into_owned();
        }
        self.raw_name()
    }

    /// The name as the raw bytes say, ignoring any Unicode Path field: UTF-8 if it is;
    /// else CP437 where unzip reads CP437 ([`Entry::cp437_host`]); else bytes in no known encoding, kept as they are
    /// ([`names::from_bytes`]).
    pub fn raw_name(&self) -> String {
        match std::str::from_utf8(self.name_raw) {
            Ok(s) => names::from_utf8(s).into_owned(),
            Err(_) if self.cp437_host() => from_cp437(self.name_raw),
            Err(_) => names::from_bytes(self.name_raw),
        }
    }

    /// Whether [`Entry::name`] is bytes kept as they are (see [`names::from_bytes`]).
    pub fn name_is_bytes(&self) -> bool {
        self.unicode_path.is_none()
            && !self.cp437_host()
            && std::str::from_utf8(self.name_raw).is_err()
    }

    /// Whether a name that is not UTF-8 is CP437, by unzip's rule (`Ext_ASCII_TO_Native`):
    /// from MS-DOS, but not PKZIP 2.5, 2.6 or 4.0 for Unix, which said MS-DOS beside Unix
    /// attributes; from OS/2; from Windows NT by PKZIP 5.0. Other writers on Windows (a
    /// Japanese Windows zip said NTFS, version 2.0, of Shift-JIS names) and every other
    /// host write the bytes of the local encoding.
    fn cp437_host(&self) -> bool {
        let made_by = self.raw[4];
        match self.host {
            HOST_FAT => !(matches!(made_by, 25 | 26 | 40) && self.external >> 16 != 0),
            HOST_HPFS => true,
            HOST_NTFS => made_by == 50,
            _ => false,
        }
    }

    /// Whether the name ends with a separator, or a DOS directory attribute says so. In a
    /// name kept as bytes only `/` separates.
    fn is_dir(&self) -> bool {
        self.named_as_dir() || !self.has_unix_mode() && self.external & 0x10 != 0
    }

    /// Whether the name ends with a separator.
    fn named_as_dir(&self) -> bool {
        // The name extracted is the Unicode Path field's, when there is one: a Shift-JIS
        // name ending in 0x5C beside its field was taken for a directory.
        let last = match self.unicode_path {
            Some(u) => u.as_bytes().last(),
            None => self.name_raw.last(),
        };
        match last {
            Some(b'/') => true,
            Some(b'\\') => !self.name_is_bytes(),
            _ => false,
        }
    }

    /// Whether the entry holds data: a size, a CRC, or more compressed bytes than an empty
    /// stream takes (2 deflated, plus an encryption header), whatever its kind.
    pub fn holds_data(&self) -> bool {
        self.size > 0 || self.crc != 0 || self.compressed > 64
    }

    /// What the entry is extracted as. Marked as a directory by its attributes alone (a
    /// DOS attribute, a Unix mode) but holding data, it is a file, as unzip and Python's
    /// zipfile make it: refused, its bytes were lost (exit 2 where unzip exits 0). A name
    /// ending in a separator stays a directory: no file can have it.
    pub fn kind(&self) -> Kind {
        let kind = meta::kind(self.is_dir(), self.unix_mode());
        if kind == Kind::Dir && !self.named_as_dir() && self.holds_data() {
            Kind::File
        } else {
            kind
        }
    }

    fn has_unix_mode(&self) -> bool {
        matches!(self.host, HOST_UNIX | HOST_OSX)
    }

    /// The Unix mode: from an entry made on a Unix host; or, as unzip does, from an entry
    /// marked as made on MS-DOS/Windows whose upper attribute bytes hold a plausible one
    /// (Python's zipfile on Windows, PKZip for Unix). Other hosts' upper bytes mean
    /// nothing here.
    pub fn unix_mode(&self) -> Option<u32> {
        if self.has_unix_mode() {
            return (self.external != 0).then_some(self.external >> 16);
        }
        if self.host == HOST_FAT {
            let dir = matches!(self.name_raw.last(), Some(b'/' | b'\\'));
            return fat_unix_mode(self.external, dir);
        }
        None
    }

    /// The fixed part of the local header (30 bytes), if it is whole and signed.
    fn local_fixed<'b>(&self, bytes: &'b [u8]) -> Option<&'b [u8]> {
        slice(bytes, self.local, 30).filter(|h| h[..4] == LOCAL)
    }

    /// Real offset of the member's data, from its local header.
    pub fn data_start(&self, bytes: &[u8]) -> Result<u64, String> {
        let h = self.local_fixed(bytes).ok_or("invalid local file header")?;
        Ok(self.local + 30 + u64::from(u16_at(h, 26)) + u64::from(u16_at(h, 28)))
    }

    /// How the local header's fixed fields contradict the central record, if they do: a
    /// different method or encryption flag, or (when the local header does not defer
    /// them to a data descriptor) a different CRC or size. Readers that go front to back
    /// (`unzip -p` of a stream, bsdtar, scanners) take the local ones: such an archive
    /// holds one thing for them and another for punzip (`-t` passed one whose local CRC
    /// Info-ZIP's `unzip -t` calls bad, and `-p` wrote other bytes than `unzip -p`).
    /// A local size of 0xFFFFFFFF (in the Zip64 field) is not compared, nor anything but
    /// the method and the encryption flag behind a data descriptor.
    pub fn local_disagreement(&self, bytes: &[u8]) -> Option<String> {
        let h = self.local_fixed(bytes)?;
        let (flags, method) = (u16_at(h, 6), u16_at(h, 8));
        let central_method = u16_at(self.raw, 10);
        if method != central_method {
            return Some(format!(
                "compression method {method} in the local header, {central_method} in the \
                 central directory"
            ));
        }
        if flags & 1 != self.flags & 1 {
            return Some("encrypted by one header and not by the other".into());
        }
        // Behind a data descriptor (flag bit 3) the local fields mean nothing, and readers
        // take the descriptor's: zeros from most writers, but Info-ZIP's `zip -e` to a
        // pipe puts the DOS time in the CRC field (its check byte).
        if flags & 8 != 0 {
            return None;
        }
        let (crc, compressed, size) = (u32_at(h, 14), u32_at(h, 18), u32_at(h, 22));
        if crc != self.crc {
            return Some(format!(
                "CRC {crc:08x} in the local header, {:08x} in the central directory",
                self.crc
            ));
        }
        for (what, local, central) in [
            ("compressed size", compressed, self.compressed),
            ("size", size, self.size),
        ] {
            if local != u32::MAX && u64::from(local) != central {
                return Some(format!(
                    "{what} {local} in the local header, {central} in the central directory"
                ));
            }
        }
        None
    }

    /// The local header's raw name, if there is a whole local header.
    pub fn local_name<'b>(&self, bytes: &'b [u8]) -> Option<&'b [u8]> {
        Some(self.local_header(bytes)?.0)
    }

    /// The local header's raw name and extra fields (empty if they do not fit).
    fn local_header<'b>(&self, bytes: &'b [u8]) -> Option<(&'b [u8], &'b [u8])> {
        let h = self.local_fixed(bytes)?;
        let (n, e) = (u64::from(u16_at(h, 26)), u64::from(u16_at(h, 28)));
        let name = slice(bytes, self.local + 30, n)?;
        Some((
            name,
            slice(bytes, self.local + 30 + n, e).unwrap_or_default(),
        ))
    }

    /// The modification time from the local header's extra fields (unzip reads the
    /// local ones when it extracts).
    pub fn local_mtime(&self, bytes: &[u8]) -> Option<i64> {
        let (_, extra) = self.local_header(bytes)?;
        unix_time_field(extra).map(|t| unix_time(t, self.dos_date))
    }

    /// The UTF-8 name of the local header's Unicode Path field (0x7075), if it has one.
    /// Its CRC is not checked: writers compute it over one of the two raw names, which
    /// may differ (a CP437 name in the central record, a placeholder in the local one).
    pub fn local_unicode_path<'b>(&self, bytes: &'b [u8]) -> Option<&'b str> {
        let (_, extra) = self.local_header(bytes)?;
        let (_, data) = extra_fields(extra)
            .find(|(id, data)| *id == 0x7075 && data.len() >= 5 && data[0] == 1)?;
        std::str::from_utf8(&data[5..]).ok()
    }
}

/// Decodes IBM code page 437 (the zip default when the UTF-8 flag is not set).
pub fn from_cp437(raw: &[u8]) -> String {
    raw.iter()
        .map(|&b| {
            if b < 0x80 {
                char::from(b)
            } else {
                CP437_HIGH[usize::from(b - 0x80)]
            }
        })
        .collect()
}

const CP437_HIGH: [char; 128] = [
    '\u{00c7}', '\u{00fc}', '\u{00e9}', '\u{00e2}', '\u{00e4}', '\u{00e0}', '\u{00e5}', '\u{00e7}',
    '\u{00ea}', '\u{00eb}', '\u{00e8}', '\u{00ef}', '\u{00ee}', '\u{00ec}', '\u{00c4}', '\u{00c5}',
    '\u{00c9}', '\u{00e6}', '\u{00c6}', '\u{00f4}', '\u{00f6}', '\u{00f2}', '\u{00fb}', '\u{00f9}',
    '\u{00ff}', '\u{00d6}', '\u{00dc}', '\u{00a2}', '\u{00a3}', '\u{00a5}', '\u{20a7}', '\u{0192}',
    '\u{00e1}', '\u{00ed}', '\u{00f3}', '\u{00fa}', '\u{00f1}', '\u{00d1}', '\u{00aa}', '\u{00ba}',
    '\u{00bf}', '\u{2310}', '\u{00ac}', '\u{00bd}', '\u{00bc}', '\u{00a1}', '\u{00ab}', '\u{00bb}',
    '\u{2591}', '\u{2592}', '\u{2593}', '\u{2502}', '\u{2524}', '\u{2561}', '\u{2562}', '\u{2556}',
    '\u{2555}', '\u{2563}', '\u{2551}', '\u{2557}', '\u{255d}', '\u{255c}', '\u{255b}', '\u{2510}',
    '\u{2514}', '\u{2534}', '\u{252c}', '\u{251c}', '\u{2500}', '\u{253c}', '\u{255e}', '\u{255f}',
    '\u{255a}', '\u{2554}', '\u{2569}', '\u{2566}', '\u{2560}', '\u{2550}', '\u{256c}', '\u{2567}',
    '\u{2568}', '\u{2564}', '\u{2565}', '\u{2559}', '\u{2558}', '\u{2552}', '\u{2553}', '\u{256b}',
    '\u{256a}', '\u{2518}', '\u{250c}', '\u{2588}', '\u{2584}', '\u{258c}', '\u{2590}', '\u{2580}',
    '\u{03b1}', '\u{00df}', '\u{0393}', '\u{03c0}', '\u{03a3}', '\u{03c3}', '\u{00b5}', '\u{03c4}',
    '\u{03a6}', '\u{0398}', '\u{03a9}', '\u{03b4}', '\u{221e}', '\u{03c6}', '\u{03b5}', '\u{2229}',
    '\u{2261}', '\u{00b1}', '\u{2265}', '\u{2264}', '\u{2320}', '\u{2321}', '\u{00f7}', '\u{2248}',
    '\u{00b0}', '\u{2219}', '\u{00b7}', '\u{221a}', '\u{207f}', '\u{00b2}', '\u{25a0}', '\u{00a0}',
];

#[cfg(test)]
mod tests {
    use super::*;

    /// An NTFS extra field (0x000a) holding `attrs`: (tag, body) pairs.
    fn ntfs(attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut data = vec![0u8; 4];
        for (tag, body) in attrs {
            data.extend(tag.to_le_bytes());
            data.extend((body.len() as u16).to_le_bytes());
            data.extend(*body);
        }
        let mut field = vec![0x0a, 0x00];
        field.extend((data.len() as u16).to_le_bytes());
        field.extend(data);
        field
    }

    /// A tag 1 body: the modification time `ticks`, then access and creation times.
    fn times(ticks: u64) -> Vec<u8> {
        [ticks, 0, 0].iter().flat_map(|t| t.to_le_bytes()).collect()
    }

    #[test]
    fn the_ntfs_field_gives_a_time_only_where_it_holds_one_within_four_digit_years() {
        let at = |ticks: u64| ntfs_time_field(&ntfs(&[(1, &times(ticks))]));
        // 2021-03-04T05:06:07.1234567Z.
        let t = (1_614_834_367 + 11_644_473_600) * 10_000_000 + 1_234_567;
        assert_eq!(
            at(t),
            Some(Mtime {
                secs: 1_614_834_367,
                nsec: 123_456_700
            })
        );
        // The first tick of 1601, and the last second of 9999; zero (no time), 10000 and
        // beyond i64 are none.
        assert_eq!(at(1).map(|m| m.secs), Some(-11_644_473_600));
        assert_eq!(
            at((253_402_300_799 + 11_644_473_600) * 10_000_000).map(|m| m.secs),
            Some(253_402_300_799)
        );
        assert_eq!(at(0), None);
        assert_eq!(at((253_402_300_800 + 11_644_473_600) * 10_000_000), None);
        assert_eq!(at(i64::MAX as u64), None);
        assert_eq!(at(u64::MAX), None);
        // Another tag first is passed over; a short body, a cut attribute or field is none.
        assert_eq!(
            ntfs_time_field(&ntfs(&[(2, b"xyz"), (1, &times(t))])).map(|m| m.secs),
            Some(1_614_834_367)
        );
        assert_eq!(ntfs_time_field(&ntfs(&[(1, &times(t)[..7])])), None);
        let mut cut = ntfs(&[(1, &times(t))]);
        cut.truncate(cut.len() - 1);
        assert_eq!(ntfs_time_field(&cut), None);
        assert_eq!(ntfs_time_field(&[0x0a, 0x00, 2, 0, 0, 0]), None);
        assert_eq!(ntfs_time_field(&[]), None);
    }

    #[test]
    fn a_dos_entry_gives_its_upper_bytes_as_a_mode_only_when_they_agree_with_it() {
        let reg = 0o100600 << 16;
        assert_eq!(fat_unix_mode(reg | 0x20, false), Some(0o100600));
        assert_eq!(fat_unix_mode(reg | 0x10, false), None, "a DOS directory");
        assert_eq!(
            fat_unix_mode(reg, true),
            None,
            "a name with a trailing slash"
        );
        assert_eq!(fat_unix_mode((0o040755 << 16) | 0x10, true), Some(0o040755));
        assert_eq!(
            fat_unix_mode((0o100644 << 16) | 0x01, false),
            None,
            "read-only"
        );
        assert_eq!(
            fat_unix_mode((0o100444 << 16) | 0x01, false),
            Some(0o100444)
        );
        assert_eq!(
            fat_unix_mode(0o120777 << 16, false),
            None,
            "no links from DOS"
        );
        assert_eq!(fat_unix_mode(0x20, false), None, "no mode at all");
        assert_eq!(
            fat_unix_mode(0o100755 << 16, false),
            None,
            "an executable file"
        );
        assert_eq!(fat_unix_mode((0o040700 << 16) | 0x10, true), Some(0o040700));
    }

    #[test]
    fn unix_times_are_signed_unless_the_dos_date_is_past_2038() {
        let dos = |year: u16| ((year - 1980) << 9) | (1 << 5) | 1;
        assert_eq!(unix_time(-18_446_400i32 as u32, dos(1980)), -18_446_400);
        assert_eq!(unix_time(0x9000_0000, dos(2046)), 0x9000_0000);
        assert_eq!(unix_time(1_592_190_000, dos(2020)), 1_592_190_000);
    }
}
