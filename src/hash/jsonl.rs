//! phash's `--json` objects (JSON Lines, built with [`crate::json`] like punzip's): one
//! `"file"` object per hashed or failed file in hash mode, one `"check"` object per list
//! line in check mode, and the closing `"totals"` object. Kept beside the checksum-line
//! formats ([`super::format`]) so both outputs are written from the same results, in the
//! same order, by the same sink.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::algorithm::Algorithm;
use super::digest::FileDigest;
use super::format::Quoted;
use super::HashError;
use crate::json::{self, Object};
use crate::totals::Totals;

/// Appends the object for a hashed file: path, size, the digest under the algorithm's
/// name, the modification time when known, status "ok".
pub fn file_into(out: &mut Vec<u8>, algorithm: Algorithm, name: &[u8], d: &FileDigest) {
    let mut o = json::object("file");
    json::insert_path(&mut o, "path", name);
    o.insert("size".into(), Value::from(d.len));
    o.insert(algorithm.name().into(), Value::from(d.hex.as_str()));
    if let Some(t) = d.mtime {
        o.insert("mtime".into(), Value::from(rfc3339(t)));
    }
    o.insert("status".into(), Value::from("ok"));
    write(out, &o);
}

/// Appends the object for a file that could not be hashed ("error") or was skipped on
/// purpose (a special file, a dangling link: "skipped"); a directory the walk could not
/// open or read is a `"directory"` object, so that failed files are counted apart from
/// subtrees left unhashed. `name` is the file's name when the caller has it, else the one
/// the error carries.
pub fn problem_into(out: &mut Vec<u8>, name: Option<&[u8]>, e: &HashError) {
    let kind = match e {
        HashError::Walk { dir: true, .. } | HashError::Loop { .. } => "directory",
        _ => "file",
    };
    let mut o = json::object(kind);
    let path = name.or_else(|| e.path().map(|p| p.as_os_str().as_encoded_bytes()));
    if let Some(p) = path {
        json::insert_path(&mut o, "path", p);
    }
    let status = if e.is_warning() { "skipped" } else { "error" };
    o.insert("status".into(), Value::from(status));
    o.insert("error".into(), Value::from(reason_only(e)));
    write(out, &o);
}

/// One line of a checksum list, checked.
pub struct CheckRecord<'a> {
    /// The file name the line gives.
    pub name: &'a [u8],
    /// The line's algorithm.
    pub algorithm: Algorithm,
    /// The digest the list expects.
    pub expected: &'a [u8],
    /// What became of it.
    pub outcome: CheckOutcome<'a>,
}

/// What became of a checked line.
pub enum CheckOutcome<'a> {
    /// Hashed: "ok" or "failed" (the digests differ).
    Hashed(&'a FileDigest),
    /// `--ignore-missing` and the file does not exist: "missing".
    Missing,
    /// Could not be read: "error".
    Error(&'a HashError),
}

/// Appends the `"check"` object for one list line.
pub fn check_into(out: &mut Vec<u8>, r: &CheckRecord<'_>) {
    let mut o = json::object("check");
    json::insert_path(&mut o, "path", r.name);
    o.insert("algorithm".into(), Value::from(r.algorithm.name()));
    let expected = String::from_utf8_lossy(r.expected).to_ascii_lowercase();
    let status = match &r.outcome {
        CheckOutcome::Hashed(d) => {
            o.insert("size".into(), Value::from(d.len));
            o.insert("actual".into(), Value::from(d.hex.as_str()));
            if d.hex == expected {
                "ok"
            } else {
                "failed"
            }
        }
        CheckOutcome::Missing => "missing",
        CheckOutcome::Error(e) => {
            o.insert("error".into(), Value::from(reason_only(e)));
            "error"
        }
    };
    o.insert("expected".into(), Value::from(expected));
    o.insert("status".into(), Value::from(status));
    write(out, &o);
}

/// Appends the object for a list line that is not a checksum line.
pub fn malformed_into(out: &mut Vec<u8>, list: &[u8], line: u64) {
    let mut o = json::object("check");
    json::insert_path(&mut o, "list", list);
    o.insert("line".into(), Value::from(line));
    o.insert("status".into(), Value::from("malformed"));
    write(out, &o);
}

/// Appends the `"check"` object for a line of an algorithm phash does not compute
/// ([`super::format::Unsupported`]): `status` `"unsupported"` (a failure), or `"missing"`
/// (its file, under `--ignore-missing`).
pub fn unsupported_into(
    out: &mut Vec<u8>,
    list: &[u8],
    line: u64,
    u: &super::format::Unsupported,
    status: &str,
) {
    let mut o = json::object("check");
    json::insert_path(&mut o, "path", &u.name);
    json::insert_path(&mut o, "list", list);
    o.insert("line".into(), Value::from(line));
    o.insert("algorithm".into(), Value::from(u.tag.as_str()));
    o.insert("status".into(), Value::from(status));
    write(out, &o);
}

/// Counts for check mode's totals object, over all lists.
#[derive(Clone, Copy, Debug, Default)]
pub struct CheckCounts {
    pub ok: u64,
    pub failed: u64,
    pub missing: u64,
    /// Files and lists that could not be read, and lists that failed as a whole (no
    /// properly formatted line, no file verified, a bad line under `--strict`): each has
    /// a line of its own.
    pub errors: u64,
    pub malformed: u64,
}

/// Appends the object for a checksum list that failed as a whole: it could not be read,
/// or it fails the run without a failed line (md5sum's "no properly formatted checksum
/// lines found", "no file was verified", `--strict` and a bad line). Without it the
/// totals said no error while the exit status said one.
pub fn list_error_into(out: &mut Vec<u8>, list: &[u8], error: &str) {
    let mut o = json::object("error");
    json::insert_path(&mut o, "path", list);
    o.insert("error".into(), Value::from(error));
    write(out, &o);
}

/// Writes hash mode's totals object: files, bytes, errors, skipped, elapsed_s.
pub fn hash_totals(
    out: &mut dyn io::Write,
    t: &Totals,
    interrupted: bool,
    elapsed: Duration,
) -> io::Result<()> {
    let mut o = json::totals("phash");
    o.insert("files".into(), Value::from(t.files));
    o.insert("bytes".into(), Value::from(t.bytes_in));
    o.insert("errors".into(), Value::from(t.errors));
    o.insert("skipped".into(), Value::from(t.skipped));
    end(out, o, interrupted, elapsed)
}

/// Writes check mode's totals object: files verified, bytes, ok, failed, missing,
/// errors (unreadable files and lists), malformed lines, elapsed_s.
pub fn check_totals(
    out: &mut dyn io::Write,
    t: &Totals,
    c: &CheckCounts,
    interrupted: bool,
    elapsed: Duration,
) -> io::Result<()> {
    let mut o = json::totals("phash");
    o.insert("files".into(), Value::from(t.files));
    o.insert("bytes".into(), Value::from(t.bytes_in));
    o.insert("ok".into(), Value::from(c.ok));
    o.insert("failed".into(), Value::from(c.failed));
    o.insert("missing".into(), Value::from(c.missing));
    o.insert("errors".into(), Value::from(c.errors));
    o.insert("malformed".into(), Value::from(c.malformed));
    end(out, o, interrupted, elapsed)
}

fn end(
    out: &mut dyn io::Write,
    mut o: Object,
    interrupted: bool,
    elapsed: Duration,
) -> io::Result<()> {
    if interrupted {
        o.insert("interrupted".into(), Value::from(true));
    }
    o.insert("elapsed_s".into(), Value::from(elapsed.as_secs_f64()));
    let mut buf = Vec::new();
    write(&mut buf, &o);
    out.write_all(&buf)
}

fn write(out: &mut Vec<u8>, o: &Object) {
    json::write_line(out, o).expect("writing to a Vec cannot fail");
}

/// The error's message without the leading `NAME: ` (the object has the path already).
fn reason_only(e: &HashError) -> String {
    let text = e.to_string();
    match e.path() {
        Some(p) => {
            let prefix = format!("{}: ", Quoted(p.as_os_str().as_encoded_bytes()));
            text.strip_prefix(&prefix).unwrap_or(&text).to_string()
        }
        None => text,
    }
}

/// `t` as an RFC 3339 UTC timestamp: `2024-02-29T13:05:09Z`, with nanoseconds
/// (`...09.000000001Z`) when the time has any. Times before 1970 are written too.
pub fn rfc3339(t: SystemTime) -> String {
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let (s, n) = (d.as_secs() as i64, d.subsec_nanos());
            if n == 0 {
                (-s, 0)
            } else {
                (-s - 1, 1_000_000_000 - n)
            }
        }
    };
    json::timestamp(secs, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, nanos: u32) -> SystemTime {
        if secs >= 0 {
            UNIX_EPOCH + Duration::new(secs as u64, nanos)
        } else {
            UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
                + Duration::from_nanos(nanos.into())
        }
    }

    /// Expected strings from GNU `date -u -d @SECS +%Y-%m-%dT%H:%M:%SZ`.
    #[test]
    fn rfc3339_agrees_with_gnu_date() {
        assert_eq!(rfc3339(at(0, 0)), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(at(951_782_400, 0)), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(at(1_709_211_909, 0)), "2024-02-29T13:05:09Z");
        assert_eq!(rfc3339(at(4_102_444_799, 0)), "2099-12-31T23:59:59Z");
        assert_eq!(rfc3339(at(-1, 0)), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(at(-86_400 * 365, 0)), "1969-01-01T00:00:00Z");
        assert_eq!(rfc3339(at(1, 5)), "1970-01-01T00:00:01.000000005Z");
        assert_eq!(
            rfc3339(at(-1, 500_000_000)),
            "1969-12-31T23:59:59.500000000Z"
        );
    }

    #[test]
    fn an_error_object_says_the_reason_without_repeating_the_path() {
        let e = HashError::Open {
            path: "a b".into(),
            source: io::Error::from_raw_os_error(libc::ENOENT),
        };
        let mut buf = Vec::new();
        problem_into(&mut buf, None, &e);
        let v: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(v["path"], "a b");
        assert_eq!(v["status"], "error");
        assert_eq!(v["error"], "No such file or directory");
    }
}

/// What the lines a `--json` run has flushed so far add up to, for the totals line the
/// watchdog writes if it has to end the run ([`last_words`]).
#[derive(Clone, Copy)]
enum SoFar {
    Hash(Totals),
    Check(Totals, CheckCounts),
}

/// The running `--json` run's [`SoFar`] and when it started; `None` outside one.
static SO_FAR: Mutex<Option<(SoFar, Instant)>> = Mutex::new(None);
/// Whether stdout holds exactly the lines [`SO_FAR`] counts, all whole: set by a flush
/// that has nothing after it, cleared as soon as a delivery may write (a buffer that fills
/// is written out on its own, up to any byte).
static CLEAN: AtomicBool = AtomicBool::new(false);

/// Starts keeping a `--json` run's counts for [`last_words`]: all zero at `start`.
pub(super) fn so_far_begin(check: bool, start: Instant) {
    let zero = if check {
        SoFar::Check(Totals::default(), CheckCounts::default())
    } else {
        SoFar::Hash(Totals::default())
    };
    *SO_FAR.lock().unwrap_or_else(PoisonError::into_inner) = Some((zero, start));
}

fn so_far(now: SoFar) {
    if let Some((counts, _)) = SO_FAR
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_mut()
    {
        *counts = now;
        CLEAN.store(true, Ordering::Release);
    }
}

/// A delivery is about to write lines: stdout may soon hold lines not counted, or part of
/// one, until the next flush (see [`last_words`]).
pub(super) fn so_far_writing() {
    CLEAN.store(false, Ordering::Release);
}

/// The run writes its own totals now: the watchdog's are not wanted any more.
pub(super) fn so_far_end() {
    CLEAN.store(false, Ordering::Release);
    *SO_FAR.lock().unwrap_or_else(PoisonError::into_inner) = None;
}

/// Hash mode's counts for the lines flushed so far (see [`last_words`]).
pub(super) fn so_far_hash(t: &Totals) {
    so_far(SoFar::Hash(*t));
}

/// Check mode's counts for the lines flushed so far (see [`last_words`]).
pub(super) fn so_far_check(t: &Totals, c: &CheckCounts) {
    so_far(SoFar::Check(*t, *c));
}

/// The totals line, marked interrupted, for what a `--json` run has flushed so far: what
/// the watchdog writes when it ends a run stuck waiting after an interrupt (standard
/// input, a FIFO, a list from a pipe; see [`crate::cancel::set_last_words`]), so that a
/// script still finds the totals last. Before, such a run ended with its file lines and
/// no totals. Empty outside a `--json` run, and unless stdout holds exactly the lines
/// counted (a run stuck writing, not reading, may have written part of a line).
pub fn last_words() -> Vec<u8> {
    let mut out = Vec::new();
    if !CLEAN.load(Ordering::Acquire) {
        return out;
    }
    let now = *SO_FAR.lock().unwrap_or_else(PoisonError::into_inner);
    let _ = match now {
        Some((SoFar::Hash(t), start)) => hash_totals(&mut out, &t, true, start.elapsed()),
        Some((SoFar::Check(t, c), start)) => check_totals(&mut out, &t, &c, true, start.elapsed()),
        None => Ok(()),
    };
    out
}
