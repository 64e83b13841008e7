//! `--json`: the member, problem and totals lines punzip writes on stdout instead of text.
//! One JSON object per line, the shapes shared with `phash --json` through
//! [`punzip::json`]; a script reads a line per member and the totals last.
//!
//! The contract a script relies on: every failure the totals count has exactly one line,
//! and that line says how it counts. A member's line has `"status":"error"` or
//! `"warning"` (a file in the way too: a member line with its `file`); a failure tied to
//! no finished member (an archive-wide warning, a pattern that matched nothing, a run
//! stopped as a whole) is a
//! `{"type":"error"}` or `{"type":"warning"}` line. So counting them gives the totals'
//! `errors` and `warnings`, which the exit status follows. (A script that counted
//! `"error"` lines found a file in the way counted as an error by the line and as a
//! warning by the totals, and a failed `-l` with no line at all.)

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use punzip::error::{Error, ExitStatus};
use punzip::json::Object;
use punzip::totals::Totals;
use punzip::unzip;

use crate::common::Stdout;

/// How a failure counts: "warning" for what the exit status takes as a warning, else
/// "error" (the split of [`crate::messages::errors_and_warnings`]).
fn counts_as(e: &Error) -> &'static str {
    match e.status() {
        // A mode the file system refused (FAT): said, not counted.
        ExitStatus::Ok => "note",
        ExitStatus::Warning => "warning",
        _ => "error",
    }
}

/// `--json`: a member as a run left it: `error` set when it failed, else `status`
/// ("ok", "skipped"); `file`, the path it was written to (or kept at), when there is one.
pub(crate) fn json_member(
    out: &mut Stdout,
    m: &unzip::Member,
    error: Option<&Error>,
    status: &str,
    file: Option<&Path>,
) -> std::io::Result<()> {
    #[allow(deprecated)]
    let method = m.method.to_u16();
    let mut o = unzip::list::member_object(&m.name, m.size, m.compressed, method, m.crc, m.mtime);
    match error {
        Some(e) => {
            o.insert("status".into(), counts_as(e).into());
            o.insert("error".into(), e.to_string().into());
            if let Error::Exists { path, .. } = e {
                punzip::json::insert_path(&mut o, "file", path.as_os_str().as_encoded_bytes());
            }
        }
        None => {
            o.insert("status".into(), status.into());
            if let Some(f) = file {
                punzip::json::insert_path(&mut o, "file", f.as_os_str().as_encoded_bytes());
            }
        }
    }
    punzip::json::write_line(out, &o)
}

/// `--json`, before a run: a failure found while planning. A member refused is a member
/// line (its name and the error: nothing else of it is trusted); anything else (bytes in
/// front of the archive, a pattern that matched nothing, overlapping entries) is a
/// problem line.
pub(crate) fn json_refusal(out: &mut Stdout, e: &Error) -> std::io::Result<()> {
    let Some(name) = e.refused_member() else {
        return json_problem(out, e);
    };
    let mut o = punzip::json::object("member");
    punzip::json::insert_name(&mut o, "path", name);
    o.insert("status".into(), counts_as(e).into());
    o.insert("error".into(), e.to_string().into());
    punzip::json::write_line(out, &o)
}

/// A failure not tied to one finished member, as a `{"type":"error"}` or
/// `{"type":"warning"}` line: `path` is the file, member or archive it concerns (absent
/// for a run interrupted as a whole), `pattern` the pattern that matched nothing (or
/// `patterns`, all of them, when none matched and the run could not start).
pub(crate) fn json_problem(out: &mut impl Write, e: &Error) -> std::io::Result<()> {
    if let Error::Exists { member, path } = e {
        // Found before the run (no member line follows) or as a member's file was put in
        // place: the same line either way, a member's, with where it would have gone.
        let mut o = punzip::json::object("member");
        punzip::json::insert_name(&mut o, "path", member);
        o.insert("status".into(), counts_as(e).into());
        o.insert("error".into(), e.to_string().into());
        punzip::json::insert_path(&mut o, "file", path.as_os_str().as_encoded_bytes());
        return punzip::json::write_line(out, &o);
    }
    let mut o = punzip::json::object(counts_as(e));
    if let Some(p) = e.path() {
        punzip::json::insert_path(&mut o, "path", p.as_os_str().as_encoded_bytes());
    } else if let Some(member) = e.member() {
        punzip::json::insert_name(&mut o, "path", member);
    }
    match e {
        Error::NotMatched { pattern } => {
            o.insert("pattern".into(), pattern.pattern.as_str().into());
        }
        // Nothing matched at all: one failure (the run did not start), every pattern.
        Error::NoMatch { patterns } => {
            let all: Vec<&str> = patterns.iter().map(|p| p.pattern.as_str()).collect();
            o.insert("patterns".into(), all.into());
        }
        _ => {}
    }
    o.insert("error".into(), e.to_string().into());
    punzip::json::write_line(out, &o)
}

/// The closing `{"type":"totals"}` line of `--json` for a run (extraction or `-t`).
pub(crate) fn json_totals(
    out: &mut impl Write,
    t: &Totals,
    (errors, warnings): (usize, usize),
    elapsed: Duration,
) -> std::io::Result<()> {
    let mut o = punzip::json::totals("punzip");
    o.insert("files".into(), t.files.into());
    o.insert("dirs".into(), t.dirs.into());
    o.insert("links".into(), t.links.into());
    o.insert("skipped".into(), t.skipped.into());
    o.insert("bytes".into(), t.bytes_out.into());
    o.insert("compressed_bytes".into(), t.bytes_in.into());
    end_totals(out, o, (errors, warnings), elapsed)
}

/// The closing `{"type":"totals"}` line of `--json -l`: the same fields whether the
/// listing ended or could not start.
pub(crate) fn json_list_totals(
    out: &mut impl Write,
    listed: unzip::list::Listed,
    (errors, warnings): (usize, usize),
    elapsed: Duration,
) -> std::io::Result<()> {
    let mut o = punzip::json::totals("punzip");
    o.insert("members".into(), listed.members.into());
    o.insert("bytes".into(), listed.size.into());
    o.insert("compressed_bytes".into(), listed.compressed.into());
    end_totals(out, o, (errors, warnings), elapsed)
}

/// The fields every totals line ends with, and the line written.
fn end_totals(
    out: &mut impl Write,
    mut o: Object,
    (errors, warnings): (usize, usize),
    elapsed: Duration,
) -> std::io::Result<()> {
    o.insert("errors".into(), errors.into());
    o.insert("warnings".into(), warnings.into());
    o.insert("elapsed_s".into(), elapsed.as_secs_f64().into());
    punzip::json::write_line(out, &o)
}

/// What a `--json` run says when the watchdog ends it, stuck reading its archive (from a
/// pipe) after an interrupt: the interrupt's error line and the totals, as a run that
/// winds down itself ends (see [`punzip::cancel::set_last_words`]). Nothing was listed or
/// extracted yet: the archive is read whole before the first member.
pub(crate) fn last_words(list: bool, started: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    let elapsed = started.elapsed();
    let _ = json_problem(&mut out, &Error::Interrupted);
    let _ = if list {
        json_list_totals(&mut out, Default::default(), (1, 0), elapsed)
    } else {
        json_totals(&mut out, &Totals::default(), (1, 0), elapsed)
    };
    out
}
