//! `punzip -l`: the member table in `unzip -l`'s layout (and `unzip -v`'s with `-lv`), so
//! eyes and scripts used to it read it unchanged, or one JSON object per member.
//!
//! The listing is streamed: each central record is printed as it is read, in archive
//! order, before anything about the archive as a whole is known. `punzip -l huge.zip |
//! head` answers at once and a million entries list in little memory; what only the
//! whole archive can tell (a damaged record at entry N, an ambiguous count, collisions)
//! is found afterwards and reported at the end, as `unzip -l` reports a damaged
//! directory after the entries it could read. Names go through [`Shown`]: a control
//! character in a member name is printed escaped, never sent to the terminal.

use std::io::{self, Write};

use super::central::{self, DirError, Entry};
use super::meta::{self, Kind, Mtime};
use super::names;
use super::plan::{self, Archive, Filter, Plan};
use crate::cancel;
use crate::error::{Error, Result, Shown};
use crate::json;

/// Writes the listing of `plan` for the archive named `archive` (a plan already built;
/// `punzip -l` itself streams through [`stream`]).
pub fn write_listing(
    out: &mut (impl Write + ?Sized),
    archive: &str,
    plan: &Plan,
) -> io::Result<()> {
    write_head(out, archive, &plan.comment)?;
    writeln!(out, "{SHORT_HEAD}")?;
    let mut total = 0u64;
    for m in &plan.members {
        total = total.saturating_add(m.size);
        let (date, time) = match m.dos_time {
            Some(d) => (
                format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
                format!("{:02}:{:02}", d.hour(), d.minute()),
            ),
            None => ("1980-00-00".into(), "00:00".into()),
        };
        writeln!(
            out,
            "{:>9}  {date} {time}   {}",
            m.size,
            Shown::new(&m.name)
        )?;
    }
    let n = plan.members.len() as u64;
    write_short_tail(out, total, n)
}

const SHORT_HEAD: &str = "  Length      Date    Time    Name\n---------  ---------- -----   ----";
const LONG_HEAD: &str = " Length   Method    Size  Cmpr    Date    Time   CRC-32   Name\n\
                         --------  ------  ------- ---- ---------- ----- --------  ----";

/// The `Archive:` line and the archive comment.
fn write_head(out: &mut (impl Write + ?Sized), archive: &str, comment: &[u8]) -> io::Result<()> {
    writeln!(out, "Archive:  {}", Shown::new(archive))?;
    write_comment(out, comment)
}

/// A comment's lines as they are, each escaped like a name: a comment is as much the
/// archive maker's choice as a member name.
fn write_comment(out: &mut (impl Write + ?Sized), comment: &[u8]) -> io::Result<()> {
    if comment.is_empty() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(comment);
    for line in text.split('\n') {
        writeln!(
            out,
            "{}",
            Shown::new(line.strip_suffix('\r').unwrap_or(line))
        )?;
    }
    Ok(())
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn write_short_tail(out: &mut (impl Write + ?Sized), total: u64, n: u64) -> io::Result<()> {
    writeln!(out, "---------                     -------")?;
    writeln!(out, "{total:>9}                     {n} file{}", plural(n))
}

/// What a listing shows and how much of it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Format {
    /// `unzip -v`'s columns (method, compressed size, ratio, CRC-32).
    pub verbose: bool,
    /// 1: no `Archive:` line nor comment (`unzip -lq`); 2: no header or totals either,
    /// the member lines alone (`unzip -lqq`).
    pub quiet: u8,
}

/// What the listing counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Listed {
    pub members: u64,
    /// Declared uncompressed bytes (saturating).
    pub size: u64,
    /// Declared compressed bytes (saturating; less encryption headers, as `unzip -v`).
    pub compressed: u64,
}

/// Where listed entries go: the text table or JSON objects.
pub trait Sink {
    /// Before the first entry (`archive` names the archive in messages).
    fn start(&mut self, archive: &str, comment: &[u8]) -> io::Result<()>;
    /// One entry, in archive order; `name` is its decoded name.
    fn member(&mut self, entry: &Entry<'_>, name: &str) -> io::Result<()>;
    /// After the last entry, when the whole central directory was read.
    fn finish(&mut self, listed: &Listed) -> io::Result<()>;
}

/// The `unzip -l` / `unzip -v` table.
pub struct Text<'w> {
    out: &'w mut dyn Write,
    format: Format,
    listed: Listed,
}

impl<'w> Text<'w> {
    pub fn new(out: &'w mut dyn Write, format: Format) -> Text<'w> {
        Text {
            out,
            format,
            listed: Listed::default(),
        }
    }
}

/// `unzip`'s compression ratio in tenths of a percent, signed (its `ratio()`): rounded,
/// and computed on thousandths of the size beyond 2,000,000 bytes.
fn ratio(uc: u64, c: u64) -> i64 {
    if uc == 0 {
        return 0;
    }
    let (num, denom) = if uc > 2_000_000 {
        (uc.abs_diff(c), uc / 1000)
    } else {
        (uc.abs_diff(c).saturating_mul(1000), uc)
    };
    let r = num.saturating_add(denom >> 1) / denom;
    let r = i64::try_from(r).unwrap_or(i64::MAX);
    if uc >= c {
        r
    } else {
        -r
    }
}

/// The `Cmpr` column: ` 97%`, `-12%`, `100%`.
fn cmpr(uc: u64, c: u64) -> String {
    let r = ratio(uc, c);
    let (sign, tenths) = if r < 0 { ('-', -r) } else { (' ', r) };
    let pct = (tenths + 5) / 10;
    if pct == 100 {
        "100%".into()
    } else {
        format!("{sign}{pct}%")
    }
}

/// `unzip -v`'s name for a compression method (deflate's with its level letter).
pub fn method_column(method: u16, flags: u16) -> String {
    let name = match method {
        0 => "Stored",
        1 => "Shrunk",
        2 => "Reduce1",
        3 => "Reduce2",
        4 => "Reduce3",
        5 => "Reduce4",
        6 => "Implode",
        7 => "Token",
        8 | 9 => {
            let level = ['N', 'X', 'F', 'S'][usize::from((flags >> 1) & 3)];
            let stem = if method == 8 { "Defl:" } else { "Def64" };
            return format!("{stem}{level}");
        }
        10 => "ImplDCL",
        12 => "BZip2",
        14 => "LZMA",
        18 => "Terse",
        19 => "IBMLZ77",
        97 => "WavPack",
        98 => "PPMd",
        n if n <= 999 => return format!("Unk:{n:03}"),
        n => return format!("Unk:{n:04X}"),
    };
    name.into()
}

/// The method as `--json` names it.
pub fn method_label(method: u16) -> String {
    match method {
        0 => "stored".into(),
        8 => "deflated".into(),
        9 => "deflate64".into(),
        12 => "bzip2".into(),
        14 => "lzma".into(),
        93 => "zstd".into(),
        95 => "xz".into(),
        98 => "ppmd".into(),
        99 => "aes".into(),
        n => format!("method-{n}"),
    }
}

/// The date and time `unzip` shows: the extended timestamp's in local time when there
/// is one (DOS fields round odd seconds up, so a minute can differ), else the DOS fields
/// as stored (even when invalid).
fn shown_date_time(e: &Entry<'_>) -> String {
    if let Some(t) = e.mtime.and_then(local_time) {
        return format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            t.tm_year + 1900,
            t.tm_mon + 1,
            t.tm_mday,
            t.tm_hour,
            t.tm_min
        );
    }
    dos_date_time(e.dos_date, e.dos_time)
}

/// `secs` broken down in the local time zone.
fn local_time(secs: i64) -> Option<libc::tm> {
    let t = libc::time_t::try_from(secs).ok()?;
    // SAFETY: localtime_r only writes the tm we pass, and reads t; a zeroed tm is valid.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        (!libc::localtime_r(&t, &mut tm).is_null()).then_some(tm)
    }
}

/// The date and time fields as stored, shown as `unzip` shows them (even when invalid).
fn dos_date_time(date: u16, time: u16) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        (date >> 9) + 1980,
        (date >> 5) & 0xf,
        date & 0x1f,
        time >> 11,
        (time >> 5) & 0x3f
    )
}

/// The compressed size `unzip -v` shows: less the 12-byte header of an encrypted member.
fn shown_compressed(e: &Entry<'_>) -> u64 {
    if e.encrypted() {
        e.compressed.saturating_sub(12)
    } else {
        e.compressed
    }
}

impl Sink for Text<'_> {
    fn start(&mut self, archive: &str, comment: &[u8]) -> io::Result<()> {
        if self.format.quiet == 0 {
            write_head(self.out, archive, comment)?;
        }
        if self.format.quiet < 2 {
            let head = if self.format.verbose {
                LONG_HEAD
            } else {
                SHORT_HEAD
            };
            writeln!(self.out, "{head}")?;
        }
        Ok(())
    }

    fn member(&mut self, e: &Entry<'_>, name: &str) -> io::Result<()> {
        let when = shown_date_time(e);
        let compressed = shown_compressed(e);
        let l = &mut self.listed;
        l.members += 1;
        l.size = l.size.saturating_add(e.size);
        l.compressed = l.compressed.saturating_add(compressed);
        if self.format.verbose {
            writeln!(
                self.out,
                "{:>8}  {:<7}{:>8} {:>4} {when} {:08x}  {}",
                e.size,
                method_column(e.stored_method(), e.flags),
                compressed,
                cmpr(e.size, compressed),
                e.crc,
                Shown::new(name)
            )?;
        } else {
            writeln!(self.out, "{:>9}  {when}   {}", e.size, Shown::new(name))?;
        }
        // A member's comment goes under its line, unless quiet (as unzip).
        if self.format.quiet == 0 {
            write_comment(self.out, e.comment())?;
        }
        Ok(())
    }

    fn finish(&mut self, listed: &Listed) -> io::Result<()> {
        if self.format.quiet >= 2 {
            return Ok(());
        }
        let n = listed.members;
        if self.format.verbose {
            writeln!(
                self.out,
                "--------          -------  ---                            -------"
            )?;
            writeln!(
                self.out,
                "{:>8}         {:>8} {:>4}                            {n} file{}",
                listed.size,
                listed.compressed,
                cmpr(listed.size, listed.compressed),
                plural(n)
            )
        } else {
            write_short_tail(self.out, listed.size, n)
        }
    }
}

/// `--json`: one `"type": "member"` object per entry (the totals object is the caller's,
/// written once everything, checks included, is known).
pub struct Json<'w> {
    out: &'w mut dyn Write,
}

impl<'w> Json<'w> {
    pub fn new(out: &'w mut dyn Write) -> Json<'w> {
        Json { out }
    }
}

/// RFC 3339 UTC text of Unix seconds (`1970-01-01T00:00:00Z`).
pub fn rfc3339(secs: i64) -> String {
    json::timestamp(secs, 0)
}

/// What `--json` says of a member, before its status: name, sizes, method, CRC, mtime.
pub fn member_object(
    name: &str,
    size: u64,
    compressed: u64,
    method: u16,
    crc: u32,
    mtime: Option<Mtime>,
) -> json::Object {
    let mut o = json::object("member");
    json::insert_name(&mut o, "path", name);
    o.insert("size".into(), size.into());
    o.insert("compressed_size".into(), compressed.into());
    o.insert("method".into(), method_label(method).into());
    o.insert("crc32".into(), format!("{crc:08x}").into());
    // `null` when there is no time to give (as documented; the key was left out).
    o.insert(
        "mtime".into(),
        mtime.map(|t| json::timestamp(t.secs, t.nsec)).into(),
    );
    o
}

/// An entry's modification time from its central record: a Unix time field, else the
/// NTFS field, else the DOS fields in local time. Planning also reads a Unix field in
/// the local header when the central record has none, which a listing does not read.
fn entry_mtime(e: &Entry<'_>) -> Option<Mtime> {
    e.mtime
        .map(Mtime::from)
        .or(e.ntfs_mtime)
        .or_else(|| meta::dos_fields_to_unix(e.dos_date, e.dos_time).map(Mtime::from))
}

impl Sink for Json<'_> {
    fn start(&mut self, _archive: &str, _comment: &[u8]) -> io::Result<()> {
        Ok(())
    }

    fn member(&mut self, e: &Entry<'_>, name: &str) -> io::Result<()> {
        let o = member_object(name, e.size, e.compressed, e.method, e.crc, entry_mtime(e));
        json::write_line(&mut self.out, &o)
    }

    fn finish(&mut self, _listed: &Listed) -> io::Result<()> {
        Ok(())
    }
}

/// How the walk of [`stream`] ended.
pub struct Walked {
    /// What was listed.
    pub listed: Listed,
    /// Why the walk stopped before the end (a damaged directory, Ctrl-C), if it did.
    pub error: Option<Error>,
    /// A write to `sink` failed (other than a reader gone away): the walk stopped there.
    pub output: io::Result<()>,
}

/// Lists `archive` as its central directory is read: every entry that passes the
/// patterns goes to `sink` in archive order, whatever planning will say of it later (as
/// `unzip -l` lists what the archive holds). Fails only when nothing can be listed (no
/// end record, no directory where it says); a directory damaged at entry N lists the N
/// entries before it and says why in [`Walked::error`], without the totals (as `unzip
/// -l` does).
pub fn stream(archive: &Archive, filter: &Filter, sink: &mut dyn Sink) -> Result<Walked> {
    let bytes = archive.bytes();
    let bad = |e: DirError| match e {
        DirError::NotZip(reason) => Error::NotZip {
            path: archive.path.clone(),
            reason,
        },
        DirError::Bad(reason) => Error::BadArchive {
            path: archive.path.clone(),
            reason,
        },
        DirError::Interrupted => Error::Interrupted,
    };
    let layout = central::locate(bytes).map_err(bad)?;
    // Which patterns matched nothing is told by the checks after the listing.
    let (mut include, mut exclude) = plan::compile(filter)?;
    let mut walked = Walked {
        listed: Listed::default(),
        error: None,
        output: Ok(()),
    };
    let comment = bytes.get(layout.comment.clone()).unwrap_or_default();
    if let Err(e) = sink.start(&archive.path.to_string_lossy(), comment) {
        walked.output = Err(e);
        return Ok(walked);
    }
    let mut records = layout.records(bytes);
    let mut seen = 0u64;
    for at in records.by_ref() {
        seen += 1;
        if seen.is_multiple_of(4096) && cancel::interrupted() {
            walked.error = Some(Error::Interrupted);
            return Ok(walked);
        }
        // An entry that does not parse is refused by the checks that follow.
        let Ok(entry) = Entry::parse(bytes, at, layout.shift) else {
            continue;
        };
        let name = entry.name();
        let kind = entry.kind();
        if !include.is_empty() || !exclude.is_empty() {
            let key = names::sanitize(&name).ok().map(|p| p.join("/"));
            let dir = kind == Kind::Dir;
            if (!include.is_empty() && !include.matches(&name, key.as_deref(), dir))
                || exclude.matches(&name, key.as_deref(), dir)
            {
                continue;
            }
        }
        let l = &mut walked.listed;
        l.members += 1;
        l.size = l.size.saturating_add(entry.size);
        l.compressed = l.compressed.saturating_add(shown_compressed(&entry));
        if let Err(e) = sink.member(&entry, &name) {
            walked.output = Err(e);
            return Ok(walked);
        }
    }
    if let Err(e) = layout.check_count(seen, records.position(), bytes) {
        walked.error = Some(bad(e));
        return Ok(walked);
    }
    walked.output = sink.finish(&walked.listed);
    Ok(walked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_round_as_unzip_does() {
        assert_eq!(cmpr(0, 0), " 0%");
        assert_eq!(cmpr(1000, 11), " 99%");
        assert_eq!(cmpr(1000, 45), " 96%");
        assert_eq!(cmpr(5, 17), "-240%");
        assert_eq!(cmpr(3_000_000, 0), "100%");
    }

    #[test]
    fn deflate_shows_its_level_letter() {
        assert_eq!(method_column(8, 0), "Defl:N");
        assert_eq!(method_column(8, 2), "Defl:X");
        assert_eq!(method_column(8, 6), "Defl:S");
        assert_eq!(method_column(93, 0), "Unk:093");
        assert_eq!(method_column(1234, 0), "Unk:04D2");
    }

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}
