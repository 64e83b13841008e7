//! `--json`: the member, refusal, problem and totals lines punzip writes on stdout instead
//! of text. One JSON object per line, the shapes shared with `phash --json` through
//! [`punzip::json`]; a script reads a line per member and the totals last.

use std::time::Duration;

use punzip::error::Error;
use punzip::totals::Totals;
use punzip::unzip;

use crate::common::Stdout;

/// `--json`: a member as a run left it (`error` set when it failed, else `status`).
pub(crate) fn json_member(
    out: &mut Stdout,
    m: &unzip::Member,
    error: Option<&Error>,
    status: &str,
) -> std::io::Result<()> {
    #[allow(deprecated)]
    let method = m.method.to_u16();
    let mut o = unzip::list::member_object(&m.name, m.size, m.compressed, method, m.crc, m.mtime);
    match error {
        Some(e) => {
            o.insert("status".into(), "error".into());
            o.insert("error".into(), e.to_string().into());
        }
        None => {
            o.insert("status".into(), status.into());
        }
    }
    punzip::json::write_line(out, &o)
}

/// `--json`: a member refused while planning, as an object with its name and the error.
pub(crate) fn json_refusal(out: &mut Stdout, e: &Error) -> std::io::Result<()> {
    let name = match e {
        Error::Refused { member, .. }
        | Error::Duplicate { member, .. }
        | Error::Corrupt { member, .. }
        | Error::Unsupported { member, .. } => member,
        _ => return Ok(()),
    };
    let mut o = punzip::json::object("member");
    punzip::json::insert_path(&mut o, "path", name.as_bytes());
    o.insert("status".into(), "error".into());
    o.insert("error".into(), e.to_string().into());
    punzip::json::write_line(out, &o)
}

/// A failure not tied to one finished member (an existing file in the way, a directory
/// whose metadata could not be set) as a `{"type":"error"}` line, so that the totals'
/// error count has a line for each.
pub(crate) fn json_problem(out: &mut Stdout, e: &Error) -> std::io::Result<()> {
    let mut o = punzip::json::object(if e.is_unset_meta() {
        "warning"
    } else {
        "error"
    });
    match e {
        Error::Exists { path } | Error::Io { path, .. } | Error::Dest { path, .. } => {
            punzip::json::insert_path(&mut o, "path", path.as_os_str().as_encoded_bytes());
        }
        _ => {}
    }
    o.insert("error".into(), e.to_string().into());
    punzip::json::write_line(out, &o)
}

/// The closing `{"type":"totals"}` line of `--json`.
pub(crate) fn json_totals(
    out: &mut Stdout,
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
    o.insert("errors".into(), errors.into());
    o.insert("warnings".into(), warnings.into());
    o.insert("elapsed_s".into(), elapsed.as_secs_f64().into());
    punzip::json::write_line(out, &o)
}
