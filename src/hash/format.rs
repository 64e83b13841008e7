//! md5sum's text formats, byte for byte, for every algorithm of the family (sha1sum,
//! sha256sum, sha512sum, b3sum write the same shapes): the output line (`HEX  NAME`,
//! `-b`'s `HEX *NAME`, `--tag`'s `SHA256 (NAME) = HEX`, `-z`), the escaping of awkward
//! names, parsing those lines back for `-c` (telling each line's algorithm as `cksum -c`
//! does), and the shell-style quoting GNU tools apply to names in diagnostics.
//!
//! Kept apart from the walking and hashing because these rules are where compatibility is
//! won or lost, and they are pure functions over bytes that property tests can hammer.
//! Names are bytes (`OsStr::as_bytes`), never `str`: a non-UTF-8 name must come out as the
//! very bytes that came in.

use std::fmt;

use super::algorithm::Algorithm;

/// How output lines look.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineStyle {
    /// BSD form `MD5 (NAME) = HEX` (`--tag`).
    pub tag: bool,
    /// End lines with NUL and never escape names (`-z`).
    pub zero: bool,
    /// md5sum's `-b`: `HEX *NAME` (the bytes hashed are the same either way).
    pub binary: bool,
    /// The digest computed and named in `--tag` lines (`-a`).
    pub algorithm: Algorithm,
    /// JSON Lines instead of checksum lines (`--json`).
    pub json: bool,
}

impl LineStyle {
    /// The byte that ends each line: NUL with `-z`, else a newline.
    pub fn end(&self) -> u8 {
        if self.zero {
            0
        } else {
            b'\n'
        }
    }
}

/// Whether md5sum (sha256sum, ...) escapes this name when it writes a checksum line: it
/// contains a backslash, a newline or a carriage return. b3sum escapes only the first two
/// (and its `-c` refuses a `\r` escape), so BLAKE3 lines leave a carriage return raw.
pub fn needs_escape(name: &[u8], algorithm: Algorithm) -> bool {
    name.iter().any(|&b| escape_of(b, algorithm).is_some())
}

/// What `b` is written as in an escaped name of `algorithm`'s lines, if it is escaped.
fn escape_of(b: u8, algorithm: Algorithm) -> Option<&'static [u8]> {
    match b {
        b'\\' => Some(b"\\\\"),
        b'\n' => Some(b"\\n"),
        b'\r' if algorithm != Algorithm::Blake3 => Some(b"\\r"),
        _ => None,
    }
}

/// Appends `name` with `\`, newline and carriage return written as `\\`, `\n`, `\r`
/// (BLAKE3: a carriage return as it is, as b3sum writes it).
pub fn escape_into(out: &mut Vec<u8>, name: &[u8], algorithm: Algorithm) {
    for &b in name {
        match escape_of(b, algorithm) {
            Some(esc) => out.extend_from_slice(esc),
            None => out.push(b),
        }
    }
}

/// Appends one checksum line for `name`, exactly as GNU md5sum (sha256sum, ...) writes it;
/// `hex` is the lowercase hex of the digest of `style.algorithm`.
pub fn line_into(out: &mut Vec<u8>, style: LineStyle, hex: &[u8], name: &[u8]) {
    let escape = !style.zero && needs_escape(name, style.algorithm);
    if escape {
        out.push(b'\\');
    }
    let put_name = |out: &mut Vec<u8>| {
        if escape {
            escape_into(out, name, style.algorithm)
        } else {
            out.extend_from_slice(name)
        }
    };
    if style.tag {
        out.extend_from_slice(style.algorithm.tag().as_bytes());
        out.extend_from_slice(b" (");
        put_name(out);
        out.extend_from_slice(b") = ");
        out.extend_from_slice(hex);
    } else {
        out.extend_from_slice(hex);
        out.extend_from_slice(if style.binary { b" *" } else { b"  " });
        put_name(out);
    }
    out.push(style.end());
}

/// Appends a name as `md5sum -c` shows it in `NAME: OK` lines. GNU coreutils 9.1 escapes
/// there only when the name contains a newline (so that one result stays one line); a
/// backslash or carriage return alone is printed raw, but in an escaped name a carriage
/// return is written `\r` too.
pub fn check_name_into(out: &mut Vec<u8>, name: &[u8]) {
    if name.contains(&b'\n') {
        out.push(b'\\');
        for &b in name {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.push(b),
            }
        }
    } else {
        out.extend_from_slice(name);
    }
}

/// Reverses [`escape_into`]: `\\`, `\n`, `\r` become their bytes. `None` when the text
/// is not a valid escaped name (a lone trailing backslash, or a backslash followed by
/// anything else), which makes the checksum line improperly formatted, as in md5sum.
pub fn unescape(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut it = text.iter();
    while let Some(&b) = it.next() {
        match b {
            b'\\' => match it.next()? {
                b'\\' => out.push(b'\\'),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                _ => return None,
            },
            0 => return None,
            _ => out.push(b),
        }
    }
    Some(out)
}

/// One checksum line of a list, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The algorithm the line is read as (its tag, its digest length, or `-a`).
    pub algorithm: Algorithm,
    /// The expected digest, as hex digits (either case), as many as the algorithm gives.
    pub hex: Vec<u8>,
    /// The file name, unescaped.
    pub name: Vec<u8>,
    /// The line named its algorithm (`SHA256 (NAME) = HEX`), rather than leaving it to
    /// the digest's length or `-a`.
    pub tagged: bool,
}

/// md5sum accepts a third, rarely seen form, `HEX NAME` with one space (what BSD `md5 -r`
/// prints). Like md5sum, the first untagged line of a run decides which form the rest
/// must use, so that a file name starting with a space cannot be misread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reversed {
    /// No untagged line seen yet.
    #[default]
    Unknown,
    /// Lines are `HEX  NAME` or `HEX *NAME`.
    No,
    /// Lines are `HEX NAME`.
    Yes,
}

/// md5sum's `ISWHITE`: a space or a tab, nothing else (a line with `\v`, `\f` or a
/// carriage return where white space may go is improperly formatted, and was accepted).
fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

/// `s` as a digest of `algorithm`, or (`None`) of the algorithm its length says.
fn digest_hex(s: &[u8], algorithm: Option<Algorithm>) -> Option<(Algorithm, Vec<u8>)> {
    let a = match algorithm {
        Some(a) if a.hex_len() == s.len() => a,
        Some(_) => return None,
        None => Algorithm::by_hex_len(s.len())?,
    };
    s.iter().all(u8::is_ascii_hexdigit).then(|| (a, s.to_vec()))
}

/// The algorithm tag a `--tag` line starts with, and the rest of the line: with `-a`
/// (`algorithm`) only that algorithm's tag, as `sha256sum -c` reads; otherwise any, as
/// `cksum -c` does.
fn strip_tag(s: &[u8], algorithm: Option<Algorithm>) -> Option<(Algorithm, &[u8])> {
    let candidates = match algorithm {
        Some(a) => vec![a],
        None => Algorithm::ALL.to_vec(),
    };
    candidates
        .into_iter()
        .find_map(|a| Some((a, s.strip_prefix(a.tag().as_bytes())?)))
}

/// Parses one line of a checksum list, the trailing newline (and carriage return) already
/// removed, following GNU md5sum's `split_3`: leading white space, an optional `\` marking
/// an escaped name, then either `TAG (NAME) = HEX` or `HEX  NAME` / `HEX *NAME`.
/// `algorithm` is `-a`: lines must be of that algorithm. Without it, as `cksum -c` does,
/// a tagged line says its algorithm and an untagged one is told by its digest's length
/// ([`Algorithm::by_hex_len`]). Returns `None` for an improperly formatted line.
pub fn parse_line(
    line: &[u8],
    reversed: &mut Reversed,
    algorithm: Option<Algorithm>,
) -> Option<Parsed> {
    let mut i = line.iter().take_while(|&&b| is_white(b)).count();
    let escaped = line.get(i) == Some(&b'\\');
    if escaped {
        i += 1;
    }
    let s = &line[i..];
    if let Some((tagged, rest)) = strip_tag(s, algorithm) {
        let (name, digest) = after_tag(rest, escaped, algorithm.is_none())?;
        let (algorithm, hex) = digest_hex(digest, Some(tagged))?;
        return Some(Parsed {
            algorithm,
            hex,
            name,
            tagged: true,
        });
    }
    // A NUL right after the digest is not a separator: md5sum rejects the line.
    let end = s.iter().position(|&b| is_white(b))?;
    let (algorithm, hex) = digest_hex(&s[..end], algorithm)?;
    // Too short for a separator and a one-byte name.
    if s.len() < end + 2 {
        return None;
    }
    let mut j = end + 1;
    if s.len() - j == 1 || (s[j] != b' ' && s[j] != b'*') {
        if *reversed == Reversed::No {
            return None;
        }
        *reversed = Reversed::Yes;
    } else if *reversed != Reversed::Yes {
        *reversed = Reversed::No;
        j += 1;
    }
    let name = listed_name(&s[j..], escaped)?;
    Some(Parsed {
        algorithm,
        hex,
        name,
        tagged: false,
    })
}

/// The rest of a tagged line after its tag, ` (NAME) = DIGEST`: the name (unescaped) and
/// the digest's text. Between the tag and `(`, one space at most, as md5sum reads; or two,
/// as `cksum -c` does (`any`, no `-a`), which reads `rhash --bsd`'s `SHA1  (NAME) = HEX`.
fn after_tag(rest: &[u8], escaped: bool, any: bool) -> Option<(Vec<u8>, &[u8])> {
    let mut rest = rest.strip_prefix(b" ").unwrap_or(rest);
    if any {
        rest = rest.strip_prefix(b" ").unwrap_or(rest);
    }
    let rest = rest.strip_prefix(b"(")?;
    // The name ends at the last ')'.
    let close = rest.iter().rposition(|&b| b == b')')?;
    let name = listed_name(&rest[..close], escaped)?;
    let mut j = close + 1;
    while rest.get(j).is_some_and(|&b| is_white(b)) {
        j += 1;
    }
    if rest.get(j) != Some(&b'=') {
        return None;
    }
    j += 1;
    while rest.get(j).is_some_and(|&b| is_white(b)) {
        j += 1;
    }
    // md5sum reads the digest as a C string: a NUL ends it, and the rest of the line
    // (the next record of `md5sum -z --tag` output read without -z) is not looked at.
    let digest = &rest[j..];
    Some((
        name,
        &digest[..digest.iter().position(|&b| b == 0).unwrap_or(digest.len())],
    ))
}

/// A line tagged with an algorithm that `cksum -c` checks and phash does not compute:
/// `BLAKE2b (NAME) = HEX` (`b2sum --tag`, `cksum -a blake2b`), `BLAKE2b-256 (NAME) = HEX`
/// (`-l 256`), `SM3 (NAME) = HEX`. Its tag and name. Read only without `-a`, as cksum reads
/// them: skipped as improperly formatted, such a line let a changed file pass, exit 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    /// The tag, as written (`BLAKE2b-256`).
    pub tag: String,
    /// The file name, unescaped.
    pub name: Vec<u8>,
}

/// The line as an [`Unsupported`] one, if it is one (see there).
pub fn unsupported(line: &[u8]) -> Option<Unsupported> {
    let mut s = &line[line.iter().take_while(|&&b| is_white(b)).count()..];
    let escaped = s.first() == Some(&b'\\');
    if escaped {
        s = &s[1..];
    }
    // Each tag with the digits its digest has, as cksum checks them: SM3's 256 bits,
    // BLAKE2b's 512, BLAKE2b-N's N (a multiple of 8, at most 512; then one space at most
    // before the name, as cksum reads it). Anything else is improperly formatted there.
    let (tag_len, digits, any) = if s.starts_with(b"SM3") {
        (3, 64, true)
    } else if s.starts_with(b"BLAKE2b") {
        match s[7..].strip_prefix(b"-") {
            Some(rest) => {
                let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
                let bits: usize = std::str::from_utf8(&rest[..n]).ok()?.parse().ok()?;
                if bits == 0 || bits > 512 || !bits.is_multiple_of(8) {
                    return None;
                }
                (8 + n, bits / 4, false)
            }
            None => (7, 128, true),
        }
    } else {
        return None;
    };
    let (tag, rest) = s.split_at(tag_len);
    let (name, digest) = after_tag(rest, escaped, any)?;
    if digest.len() != digits || !digest.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    Some(Unsupported {
        tag: String::from_utf8_lossy(tag).into_owned(),
        name,
    })
}

/// The algorithm a line's tag names (`SHA256 (a) = ...`), however badly the rest of the
/// line is formatted: what an improperly formatted tagged line is said to be.
pub fn tagged_algorithm(line: &[u8]) -> Option<Algorithm> {
    let i = line.iter().take_while(|&&b| is_white(b)).count();
    let s = &line[i..];
    let s = s.strip_prefix(b"\\").unwrap_or(s);
    strip_tag(s, None).map(|(algorithm, _)| algorithm)
}

/// The file name of a list line as md5sum uses it. md5sum handles the name as a C string:
/// a NUL byte ends it (`HEX  a<NUL>b` checks `a`), except in an escaped name (leading `\`),
/// where a NUL makes the line improperly formatted.
fn listed_name(raw: &[u8], escaped: bool) -> Option<Vec<u8>> {
    if escaped {
        return unescape(raw);
    }
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    Some(raw[..end].to_vec())
}

/// A name quoted for a diagnostic the way GNU's `quotef` does it (shell quoting, only when
/// needed), so `phash: NAME: REASON` matches `md5sum: NAME: REASON`. This covers what
/// file names really contain: plain names are shown raw, names with spaces or shell
/// metacharacters in single quotes (double quotes when they hold a `'`), control bytes
/// and invalid UTF-8 as `$'\ooo'` segments.
pub struct Quoted<'a>(pub &'a [u8]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&quote(self.0)))
    }
}

fn is_shell_special(b: u8, first: bool) -> bool {
    match b {
        b'#' | b'~' => first,
        b' ' | b'!' | b'"' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b';' | b'<' | b'='
        | b'>' | b'?' | b'[' | b'\\' | b']' | b'^' | b'`' | b'{' | b'|' | b'}' | b':' => true,
        _ => false,
    }
}

/// Whether GNU's quoting writes this character as an escape (glibc's `iswprint` is false
/// for it): control characters, the line and paragraph separators, which end a line on a
/// terminal, and outside a UTF-8 locale everything that is not ASCII.
fn unprintable(c: char) -> bool {
    c.is_control()
        || c == '\u{2028}'
        || c == '\u{2029}'
        || (!c.is_ascii() && !crate::locale::utf8_locale())
}

/// Splits `name` into runs of printable text (valid UTF-8 without [`unprintable`]
/// characters) and runs of bytes that must be written as escapes; neighbouring escapes
/// are one run, as GNU writes them (`'q'$'\001\177'`, not `'q'$'\001'$'\177'`).
fn printable_runs(name: &[u8]) -> Vec<(bool, &[u8])> {
    let mut runs: Vec<(bool, &[u8])> = Vec::new();
    let mut rest = name;
    while !rest.is_empty() {
        let (good, bad_len) = match std::str::from_utf8(rest) {
            Ok(s) => (s.len(), 0),
            Err(e) => (
                e.valid_up_to(),
                e.error_len().unwrap_or(rest.len() - e.valid_up_to()),
            ),
        };
        let text = std::str::from_utf8(&rest[..good]).unwrap();
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if unprintable(c) {
                if start < i {
                    runs.push((true, &rest[start..i]));
                }
                runs.push((false, &rest[i..i + c.len_utf8()]));
                start = i + c.len_utf8();
            }
        }
        if start < good {
            runs.push((true, &rest[start..good]));
        }
        if bad_len > 0 {
            runs.push((false, &rest[good..good + bad_len]));
        }
        rest = &rest[good + bad_len..];
    }
    // Runs are consecutive slices of `name`: neighbouring escapes join into one.
    let mut joined: Vec<(bool, &[u8])> = Vec::with_capacity(runs.len());
    let mut at = 0;
    for (printable, bytes) in runs {
        match joined.last_mut() {
            Some((false, prev)) if !printable => {
                let start = at - prev.len();
                *prev = &name[start..at + bytes.len()];
            }
            _ => joined.push((printable, bytes)),
        }
        at += bytes.len();
    }
    joined
}

/// The bytes of [`Quoted`].
pub fn quote(name: &[u8]) -> Vec<u8> {
    if name.is_empty() {
        return b"''".to_vec();
    }
    let runs = printable_runs(name);
    let all_printable = runs.iter().all(|(p, _)| *p);
    let special = name
        .iter()
        .enumerate()
        .any(|(i, &b)| is_shell_special(b, i == 0));
    if all_printable && !special {
        return name.to_vec();
    }
    let mut out = Vec::with_capacity(name.len() + 8);
    if all_printable {
        if name.contains(&b'\'') && !name.iter().any(|b| b"\"$`\\!".contains(b)) {
            out.push(b'"');
            out.extend_from_slice(name);
            out.push(b'"');
        } else {
            single_quote_into(&mut out, name);
        }
        return out;
    }
    // GNU opens with an empty '' when the name starts with an escape.
    if runs.first().is_some_and(|(printable, _)| !printable) {
        out.extend_from_slice(b"''");
    }
    for (printable, bytes) in runs {
        if printable {
            single_quote_into(&mut out, bytes);
        } else {
            out.extend_from_slice(b"$'");
            for &b in bytes {
                match b {
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    // The C escapes GNU's quoting uses (`'a'$'\v'`, not `$'\013'`).
                    0x07 => out.extend_from_slice(b"\\a"),
                    0x08 => out.extend_from_slice(b"\\b"),
                    0x0b => out.extend_from_slice(b"\\v"),
                    0x0c => out.extend_from_slice(b"\\f"),
                    _ => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
                }
            }
            out.push(b'\'');
        }
    }
    out
}

fn single_quote_into(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'\'');
    for &b in text {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: &str = "49f68a5c8493ec2c0bf489821c21fc3b";
    /// SHA-256 of "hi", for the lines of another algorithm.
    const H256: &str = "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4";

    fn line(style: LineStyle, name: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        let hex = if style.algorithm == Algorithm::Md5 {
            H
        } else {
            H256
        };
        line_into(&mut v, style, hex.as_bytes(), name);
        v
    }

    fn parse(line: &str, r: &mut Reversed) -> Option<Parsed> {
        parse_line(line.as_bytes(), r, None)
    }

    #[test]
    fn plain_tag_and_zero_lines() {
        let plain = LineStyle::default();
        let tag = LineStyle {
            tag: true,
            ..LineStyle::default()
        };
        let zero = LineStyle {
            zero: true,
            ..LineStyle::default()
        };
        assert_eq!(line(plain, b"a b"), format!("{H}  a b\n").as_bytes());
        assert_eq!(line(tag, b"a"), format!("MD5 (a) = {H}\n").as_bytes());
        assert_eq!(line(zero, b"n\nl"), format!("{H}  n\nl\0").as_bytes());
    }

    #[test]
    fn awkward_names_are_escaped_like_md5sum() {
        let plain = LineStyle::default();
        // Expected bytes taken from GNU md5sum 9.1 output.
        assert_eq!(line(plain, b"b\\c"), format!("\\{H}  b\\\\c\n").as_bytes());
        assert_eq!(line(plain, b"n\nl"), format!("\\{H}  n\\nl\n").as_bytes());
        assert_eq!(line(plain, b"c\rr"), format!("\\{H}  c\\rr\n").as_bytes());
        let tag = LineStyle {
            tag: true,
            ..LineStyle::default()
        };
        assert_eq!(
            line(tag, b"b\\c"),
            format!("\\MD5 (b\\\\c) = {H}\n").as_bytes()
        );
    }

    #[test]
    fn binary_and_other_algorithms_write_what_sha256sum_writes() {
        // Expected bytes taken from GNU sha256sum 9.1 (`-b`, `--tag`, escaped `--tag`).
        let sha = LineStyle {
            algorithm: Algorithm::Sha256,
            ..LineStyle::default()
        };
        let binary = LineStyle {
            binary: true,
            ..sha
        };
        let tag = LineStyle { tag: true, ..sha };
        assert_eq!(line(binary, b"a"), format!("{H256} *a\n").as_bytes());
        assert_eq!(
            line(binary, b"b\\c"),
            format!("\\{H256} *b\\\\c\n").as_bytes()
        );
        assert_eq!(line(tag, b"a"), format!("SHA256 (a) = {H256}\n").as_bytes());
        assert_eq!(
            line(tag, b"n\nl"),
            format!("\\SHA256 (n\\nl) = {H256}\n").as_bytes()
        );
        // --tag ignores -b, as md5sum does.
        let both = LineStyle {
            tag: true,
            ..binary
        };
        assert_eq!(
            line(both, b"a"),
            format!("SHA256 (a) = {H256}\n").as_bytes()
        );
    }

    #[test]
    fn check_output_escapes_only_for_newlines() {
        let show = |n: &[u8]| {
            let mut v = Vec::new();
            check_name_into(&mut v, n);
            v
        };
        assert_eq!(show(b"b\\c"), b"b\\c");
        assert_eq!(show(b"c\rr"), b"c\rr");
        assert_eq!(show(b"b\\\\n\nq"), b"\\b\\\\\\\\n\\nq");
    }

    #[test]
    fn parses_all_md5sum_forms() {
        let mut r = Reversed::Unknown;
        let p = parse(&format!("{H}  a b"), &mut r).unwrap();
        assert_eq!(p.name, b"a b");
        let p = parse(&format!("{H} *bin"), &mut r).unwrap();
        assert_eq!(p.name, b"bin");
        let p = parse(&format!("\\{H}  n\\nl"), &mut r).unwrap();
        assert_eq!(p.name, b"n\nl");
        let p = parse(&format!("MD5 (x) y) = {H}"), &mut r).unwrap();
        assert_eq!(p.name, b"x) y");
        let p = parse(&format!("\\MD5 (b\\\\c) = {H}"), &mut r).unwrap();
        assert_eq!(p.name, b"b\\c");
        assert!(parse("bogus line", &mut r).is_none());
        assert!(parse("  ", &mut r).is_none());
        assert!(parse(&format!("{H} "), &mut r).is_none());
        assert!(parse(&format!("\\{H}  bad\\q"), &mut r).is_none());
        // Once the standard form was seen, the one-space form is refused.
        assert!(parse(&format!("{H} x"), &mut r).is_none());
        let mut r = Reversed::Unknown;
        let p = parse(&format!("{H} x"), &mut r).unwrap();
        assert_eq!((p.name.as_slice(), r), (&b"x"[..], Reversed::Yes));
    }

    #[test]
    fn each_line_says_its_algorithm_as_cksum_c_reads_it() {
        let mut r = Reversed::Unknown;
        let algo = |l: String, a: Option<Algorithm>| {
            parse_line(l.as_bytes(), &mut Reversed::Unknown, a).map(|p| p.algorithm)
        };
        let sha1 = "a9993e364706816aba3e25717850c26c9cd0d89d";
        let sha512 = H256.repeat(2);
        assert_eq!(algo(format!("{H}  f"), None), Some(Algorithm::Md5));
        assert_eq!(algo(format!("{sha1}  f"), None), Some(Algorithm::Sha1));
        assert_eq!(algo(format!("{H256}  f"), None), Some(Algorithm::Sha256));
        assert_eq!(algo(format!("{sha512}  f"), None), Some(Algorithm::Sha512));
        assert_eq!(algo(format!("{H256}{H}  f"), None), Some(Algorithm::Sha384));
        assert_eq!(algo(format!("{H256}{H}0  f"), None), None, "97 digits");
        assert_eq!(
            algo(format!("{}  f", &H256[..56]), None),
            Some(Algorithm::Sha224)
        );
        assert_eq!(
            algo(format!("BLAKE3 (f) = {H256}"), None),
            Some(Algorithm::Blake3)
        );
        assert_eq!(
            algo(format!("SHA1 (f) = {sha1}"), None),
            Some(Algorithm::Sha1)
        );
        // A tag whose digest has the wrong length, or an unknown tag, is improper.
        assert_eq!(algo(format!("SHA1 (f) = {H}"), None), None);
        assert_eq!(algo(format!("BLAKE2b (f) = {H}"), None), None);
        // Two spaces after the tag as cksum -c reads them (rhash --bsd writes them), but
        // not as sha1sum -c does, nor three.
        assert_eq!(
            algo(format!("SHA1  (f) = {sha1}"), None),
            Some(Algorithm::Sha1)
        );
        assert_eq!(
            algo(format!("SHA1  (f) = {sha1}"), Some(Algorithm::Sha1)),
            None
        );
        assert_eq!(algo(format!("SHA1   (f) = {sha1}"), None), None);
        // Tags of algorithms cksum checks and phash does not compute.
        let u = |l: &str| unsupported(l.as_bytes()).map(|u| (u.tag, u.name));
        let (d512, d256) = (H.repeat(4), H.repeat(2));
        assert_eq!(
            u(&format!("BLAKE2b  (f) = {d512}")),
            Some(("BLAKE2b".to_string(), b"f".to_vec()))
        );
        assert_eq!(
            u(&format!(" \\BLAKE2b-256 (a\\nb) = {d256}")),
            Some(("BLAKE2b-256".to_string(), b"a\nb".to_vec()))
        );
        assert_eq!(
            u("BLAKE2b-8 (f) = ab").map(|x| x.0),
            Some("BLAKE2b-8".into())
        );
        assert_eq!(
            u(&format!("SM3 (f) = {d256}")).map(|x| x.0),
            Some("SM3".into())
        );
        // What cksum -c finds improperly formatted: wrong digest lengths, bit counts
        // that are no multiple of 8 or over 512, two spaces after BLAKE2b-N.
        for improper in [
            "BLAKE2b- (f) = 00".to_string(),
            "BLAKE2b (f) = ".into(),
            format!("BLAKE2b (f) = {H}"),
            format!("BLAKE2b-7 (f) = {H}"),
            format!("BLAKE2b-1024 (f) = {d512}{d512}"),
            format!("BLAKE2b-256 (f) = {d512}"),
            format!("BLAKE2b-256  (f) = {d256}"),
            "SM3 (f) = xyz".into(),
            format!("SM3 (f) = {H}"),
            "SM3 f = 00".into(),
        ] {
            assert_eq!(u(&improper), None, "{improper}");
        }
        assert_eq!(u(&format!("SHA1 (f) = {sha1}")), None);
        // With -a, lines are read as that algorithm only.
        let b3 = Some(Algorithm::Blake3);
        assert_eq!(algo(format!("{H256}  f"), b3), b3);
        assert_eq!(algo(format!("{H}  f"), b3), None);
        assert_eq!(algo(format!("SHA256 (f) = {H256}"), b3), None);
        let p = parse_line(format!("{sha1} *f").as_bytes(), &mut r, None).unwrap();
        assert_eq!((p.hex, p.name), (sha1.as_bytes().to_vec(), b"f".to_vec()));
    }

    #[test]
    fn quotes_like_gnu_quotef() {
        // Expected strings taken from `md5sum -- NAME` error messages (coreutils 9.1).
        let q = |n: &[u8]| String::from_utf8(quote(n)).unwrap();
        assert_eq!(q(b"plain.txt"), "plain.txt");
        assert_eq!(q(b"a b"), "'a b'");
        assert_eq!(q(b"it's"), "\"it's\"");
        assert_eq!(q(b"x:y"), "'x:y'");
        assert_eq!(q(b"ti~"), "ti~");
        assert_eq!(q(b"#x"), "'#x'");
        assert_eq!(q(b"x#"), "x#");
        assert_eq!(q(b"e=f"), "'e=f'");
        assert_eq!(q(b"a\"b"), "'a\"b'");
        assert_eq!(q(b"h\xffi"), "'h'$'\\377''i'");
        assert_eq!(q("é".as_bytes()), "é");
        assert_eq!(q(b"standard input"), "'standard input'");
        // Neighbouring escapes are one $'...' (each had its own).
        assert_eq!(q(b"q\x01\x7f"), "'q'$'\\001\\177'");
        assert_eq!(q(b"nope\xff\xfe\xfd"), "'nope'$'\\377\\376\\375'");
        assert_eq!(q(b"c\xc2\x85d"), "'c'$'\\302\\205''d'");
        // The line separator ends a line on a terminal: escaped (it was written raw).
        assert_eq!(q("a\u{2028}b".as_bytes()), "'a'$'\\342\\200\\250''b'");
        // A name that starts with an escape opens with '', as GNU's does.
        assert_eq!(q(b"\x01abc"), "''$'\\001''abc'");
        assert_eq!(q(b"\x01\x02"), "''$'\\001\\002'");
        // Format characters are printable to glibc: raw, as md5sum writes them.
        assert_eq!(q("r\u{202e}t".as_bytes()), "r\u{202e}t");
    }

    proptest! {
        #[test]
        fn escaping_round_trips(name in proptest::collection::vec(1u8..=255, 1..40)) {
            let mut esc = Vec::new();
            escape_into(&mut esc, &name, Algorithm::Md5);
            prop_assert!(!esc.contains(&b'\n') && !esc.contains(&b'\r'));
            prop_assert_eq!(unescape(&esc), Some(name.clone()));
            // b3sum's escaping: a carriage return stays, and still parses back.
            let mut esc = Vec::new();
            escape_into(&mut esc, &name, Algorithm::Blake3);
            prop_assert!(!esc.contains(&b'\n'));
            prop_assert_eq!(esc.contains(&b'\r'), name.contains(&b'\r'));
            prop_assert_eq!(unescape(&esc), Some(name.clone()));
        }

        #[test]
        fn every_written_line_parses_back(
            name in proptest::collection::vec(1u8..=255, 1..40),
            digest in proptest::collection::vec(any::<u8>(), 64),
            tag in any::<bool>(),
            binary in any::<bool>(),
            which in 0..Algorithm::ALL.len(),
        ) {
            let algorithm = Algorithm::ALL[which];
            let style = LineStyle { tag, binary, algorithm, ..LineStyle::default() };
            let hex = super::super::algorithm::hex(&digest[..algorithm.hex_len() / 2]);
            let mut l = Vec::new();
            line_into(&mut l, style, hex.as_bytes(), &name);
            prop_assert_eq!(l.pop(), Some(b'\n'));
            prop_assert_eq!(l.iter().filter(|&&b| b == b'\n').count(), 0);
            let mut r = Reversed::Unknown;
            // md5sum -c strips one trailing CR; such a name cannot survive unescaped, and
            // it never appears unescaped because CR forces escaping.
            let p = parse_line(&l, &mut r, Some(algorithm));
            let want = Parsed { algorithm, hex: hex.into_bytes(), name: name.clone(), tagged: tag };
            prop_assert_eq!(p, Some(want));
        }
    }

    #[test]
    fn a_badly_formatted_tagged_line_still_names_its_algorithm() {
        assert_eq!(
            tagged_algorithm(b"SHA256 (a) = 0123456789abcdef"),
            Some(Algorithm::Sha256)
        );
        assert_eq!(
            tagged_algorithm(b"  \\BLAKE3 (a\\nb) = xyz"),
            Some(Algorithm::Blake3)
        );
        assert_eq!(tagged_algorithm(b"0123456789abcdef  name"), None);
    }
}
