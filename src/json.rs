//! `--json` output, shared by both tools so a script reads them the same way: JSON Lines,
//! one object per item in the tool's usual order, then one `"type": "totals"` object that
//! names the tool and its version. Paths are bytes on Unix; a name that is not UTF-8 is
//! given as its lossy text in `path` and, exactly, as an array of bytes in `path_bytes`.

use std::io::{self, Write};

use serde_json::{Map, Value};

/// One JSON object under construction.
pub type Object = Map<String, Value>;

/// A new item object with its `"type"` (`"file"`, `"member"`, `"check"`, `"totals"`...).
pub fn object(kind: &str) -> Object {
    let mut o = Map::new();
    o.insert("type".into(), Value::from(kind));
    o
}

/// The final object of a run: `{"type": "totals", "tool": ..., "version": ...}`, to which
/// the caller adds its counts.
pub fn totals(tool: &str) -> Object {
    let mut o = object("totals");
    o.insert("tool".into(), Value::from(tool));
    o.insert("version".into(), Value::from(env!("CARGO_PKG_VERSION")));
    o
}

/// Put a path under `key`: its text, plus `{key}_bytes` when the bytes are not UTF-8.
pub fn insert_path(o: &mut Object, key: &str, raw: &[u8]) {
    match std::str::from_utf8(raw) {
        Ok(s) => {
            o.insert(key.into(), Value::from(s));
        }
        Err(_) => {
            o.insert(
                key.into(),
                Value::from(String::from_utf8_lossy(raw).into_owned()),
            );
            o.insert(
                format!("{key}_bytes"),
                Value::from(raw.iter().map(|&b| Value::from(b)).collect::<Vec<_>>()),
            );
        }
    }
}

/// Put a member name under `key` as [`insert_path`] puts a path: a name kept as bytes
/// (see `crate::unzip::names::from_bytes`) as those bytes.
pub fn insert_name(o: &mut Object, key: &str, name: &str) {
    use std::os::unix::ffi::OsStrExt;
    insert_path(o, key, crate::unzip::names::on_disk(name).as_bytes());
}

/// RFC 3339 UTC text of a time in Unix seconds and nanoseconds (`nanos` < 10^9, the
/// seconds floored, so times before 1970 come out right): `2024-02-29T13:05:09Z`, with
/// the fraction before the `Z` when `nanos` is not zero, in nine digits as GNU `date
/// --rfc-3339=ns` writes it (`.500000000`). Both tools' `"mtime"`.
pub fn timestamp(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if nanos != 0 {
        s.push_str(&format!(".{nanos:09}"));
    }
    s.push('Z');
    s
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Write `o` as one line.
pub fn write_line(out: &mut impl Write, o: &Object) -> io::Result<()> {
    serde_json::to_writer(&mut *out, o)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_utf8_path_keeps_its_exact_bytes_beside_the_lossy_text() {
        let mut o = object("file");
        insert_path(&mut o, "path", b"a\xffb");
        let mut buf = Vec::new();
        write_line(&mut buf, &o).unwrap();
        let back: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(back["path"], "a\u{fffd}b");
        assert_eq!(back["path_bytes"], serde_json::json!([97, 255, 98]));
        assert_eq!(buf.last(), Some(&b'\n'));
    }

    #[test]
    fn a_utf8_path_is_plain_text_only() {
        let mut o = object("member");
        insert_path(&mut o, "path", "dir/é.txt".as_bytes());
        assert_eq!(o["path"], "dir/é.txt");
        assert!(!o.contains_key("path_bytes"));
    }

    #[test]
    fn totals_name_the_tool_and_version() {
        let o = totals("phash");
        assert_eq!(o["type"], "totals");
        assert_eq!(o["tool"], "phash");
        assert_eq!(o["version"], env!("CARGO_PKG_VERSION"));
    }
}
