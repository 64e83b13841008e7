//! Member names to safe relative paths. This is the first line of defence against zip
//! slip: whatever a name says, the result is a list of plain components that, joined under
//! DEST, stays under DEST. Anything that cannot be made so is refused with a reason, never
//! silently rewritten into something else.
//!
//! Rules (stricter than Info-ZIP, which strips and warns):
//! - `\` is a separator too, as archives made on Windows mean it (`..\..\evil`).
//! - An absolute name (`/etc/x`, `\\server\share`) or a drive letter (`C:`) is refused.
//! - A NUL byte is refused (it would silently truncate the name at the system call).
//! - Empty and `.` components are dropped; `..` removes the previous component and is
//!   refused if there is none (it would climb out of DEST).
//! - A component longer than 255 bytes or a path longer than 4095 bytes is refused.
//!
//! A name that is not UTF-8 and not CP437 (which only MS-DOS, OS/2 and PKZIP on Windows
//! write: see `Entry::cp437_host`) is bytes in no known encoding, made on Unix or by a
//! Windows zip in the local code page: it is written as those bytes, as unzip writes
//! it, and only `/` separates in it (a 0x5C byte is the second byte of many Shift-JIS,
//! Big5 and GBK characters: read as a separator it made one name a directory and a
//! hidden file). Such a name travels through planning as a `String` in which each byte
//! that is not part of a UTF-8 character, and each 0x5C, is carried by the private-use
//! character U+EF00 + byte ([`from_bytes`]; the range MirBSD's OPTU-8 uses); what is
//! UTF-8 in it stays text, so `\xff/../\xc3\xa9.txt` and the UTF-8 name `é.txt` have one
//! path and collide as they should. The bytes come back at the system call ([`on_disk`])
//! and are shown as `\xNN` in messages. A UTF-8 name that holds one of those characters
//! itself has them carried too, byte by byte ([`from_utf8`]): every name has one spelling,
//! and [`on_disk`] gives back exactly its bytes.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Where the characters that carry a name's bytes start: byte `b` is U+EF00 + `b`.
const CARRIER: u32 = 0xEF00;

/// The character that carries the byte 0x5C in a name kept as bytes.
pub const CARRIED_BACKSLASH: char = '\u{ef5c}';

/// Whether `b` can be carried by a private-use character: 0x5C (so that a name kept as
/// bytes never has a separator but `/`) and every byte that is not ASCII.
fn is_carried_byte(b: u8) -> bool {
    b == b'\\' || b >= 0x80
}

/// The byte character `c` carries, if it is one of the carriers.
pub fn carried_byte(c: char) -> Option<u8> {
    let b = u32::from(c).checked_sub(CARRIER)?;
    u8::try_from(b).ok().filter(|&b| is_carried_byte(b))
}

/// `bytes` as planning's `String`: UTF-8 characters as themselves, except carriers (and
/// `\\` when `backslash`), which are carried byte by byte, as is every byte that is not
/// UTF-8.
fn carry(bytes: &[u8], backslash: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    let push = |out: &mut String, b: u8| {
        out.push(char::from_u32(CARRIER + u32::from(b)).expect("a private-use character"))
    };
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if carried_byte(c).is_some() || (backslash && c == '\\') {
                let mut utf8 = [0; 4];
                for &b in c.encode_utf8(&mut utf8).as_bytes() {
                    push(&mut out, b);
                }
            } else {
                out.push(c);
            }
        }
        for &b in chunk.invalid() {
            push(&mut out, b);
        }
    }
    out
}

/// A name kept as bytes, as planning's `String` (see the module header): `\\` is no
/// separator in it.
pub fn from_bytes(raw: &[u8]) -> String {
    carry(raw, true)
}

/// A UTF-8 name as planning's `String`: itself, unless it holds carriers.
pub fn from_utf8(name: &str) -> Cow<'_, str> {
    match carries_bytes(name) {
        true => Cow::Owned(carry(name.as_bytes(), false)),
        false => Cow::Borrowed(name),
    }
}

/// Text read back from the file system or out of a member (a symlink's target), as
/// planning's `String`: its bytes, whatever they are, `\\` included, come back from
/// [`on_disk`].
pub fn from_disk(raw: Vec<u8>) -> String {
    match String::from_utf8(raw) {
        Ok(text) => from_utf8(&text).into_owned(),
        Err(e) => carry(e.as_bytes(), false),
    }
}

/// Whether `text` holds a character that [`on_disk`] would turn into a byte.
pub fn carries_bytes(text: &str) -> bool {
    // Every carrier is U+EF5C or U+EF80..=U+EFFF: UTF-8 EE BD 9C, or EE BE/BF xx.
    text.as_bytes().contains(&0xEE) && text.chars().any(|c| carried_byte(c).is_some())
}

/// A planned component or name as the bytes the system call takes.
pub fn on_disk(text: &str) -> Cow<'_, OsStr> {
    if !carries_bytes(text) {
        return Cow::Borrowed(OsStr::new(text));
    }
    let mut bytes = Vec::with_capacity(text.len());
    let mut utf8 = [0; 4];
    for c in text.chars() {
        match carried_byte(c) {
            Some(b) => bytes.push(b),
            None => bytes.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes()),
        }
    }
    Cow::Owned(OsStr::from_bytes(&bytes).to_owned())
}

/// The length of a component on disk, in bytes. `carried`: whether the name it comes
/// from holds carriers at all ([`carries_bytes`], asked once per name: asked per
/// component, it was 8% of `punzip -l`'s samples on a JDK's `src.zip`).
fn disk_len(comp: &str, carried: bool) -> usize {
    if !carried {
        return comp.len();
    }
    // Each carrier takes three bytes of UTF-8 and stands for one.
    comp.len() - 2 * comp.chars().filter(|&c| carried_byte(c).is_some()).count()
}

/// The longest file name component Linux file systems accept.
pub const MAX_COMPONENT: usize = 255;
/// The longest path the kernel accepts (PATH_MAX - 1).
pub const MAX_PATH: usize = 4095;

/// A member name turned into safe components, or the reason it cannot be.
pub fn sanitize(name: &str) -> Result<Vec<String>, String> {
    let mut parts = Vec::with_capacity(16);
    sanitize_into(name, &mut parts)?;
    Ok(parts.into_iter().map(str::to_string).collect())
}

/// [`sanitize`] into `parts` (cleared first), borrowing the components from `name`: for
/// planning, which checks every name but keeps none of the components.
pub fn sanitize_into<'a>(name: &'a str, parts: &mut Vec<&'a str>) -> Result<(), String> {
    parts.clear();
    let carried = carries_bytes(name);
    if name.contains('\0') {
        return Err("name contains a NUL byte".into());
    }
    if name.starts_with('/') || name.starts_with('\\') {
        return Err("absolute path".into());
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err("drive letter".into());
    }
    // Split on the two ASCII separators byte by byte (they are always character
    // boundaries): `str::split` with a pattern of chars decodes every character, and
    // planning checks each name several times.
    let mut rest = name;
    loop {
        let (comp, more) = match rest.bytes().position(|b| b == b'/' || b == b'\\') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        match comp {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err("path escapes the destination (..)".into());
                }
            }
            c if disk_len(c, carried) > MAX_COMPONENT => {
                return Err(format!("name component longer than {MAX_COMPONENT} bytes"));
            }
            c => parts.push(c),
        }
        match more {
            Some(r) => rest = r,
            None => break,
        }
    }
    if parts.is_empty() {
        return Err("empty name".into());
    }
    let total: usize = parts.iter().map(|p| disk_len(p, carried) + 1).sum();
    if total > MAX_PATH {
        return Err(format!("path longer than {MAX_PATH} bytes"));
    }
    Ok(())
}

/// Whether `name` names the directory it is extracted into: `.`, `./`, `././/` (relative,
/// and nothing but `.` and separators).
pub fn is_dest_itself(name: &str) -> bool {
    name.starts_with('.') && name.split(['/', '\\']).all(|c| matches!(c, "" | "."))
}

/// Whether `name` is its own sanitised path: components joined by single `/`, none of
/// them empty, `.` or `..`, and no `\\`. [`sanitize_into`] then keeps every component
/// as it is (for a name it accepts).
pub fn is_plain(name: &str) -> bool {
    !name.is_empty()
        && !name.contains('\\')
        && name.split('/').all(|c| !matches!(c, "" | "." | ".."))
}

/// Joins components into a relative path.
pub fn to_path(parts: &[String]) -> PathBuf {
    parts.iter().map(|p| on_disk(p)).collect()
}

/// Whether a symlink whose own components are `link` and whose target is `target` resolves
/// to a place inside DEST. Absolute targets never do.
///
/// A lexical check alone is not enough once links can point at links: with `a/b/y -> ../..`
/// (DEST itself) a second link `a/b/x -> y/../../..` looks like it stays at depth 0, but the
/// kernel resolves `y` first, and the `..` after it then climbs out of DEST. So `..` is only
/// allowed before the first name: it then climbs real directories (the link's own parents,
/// which punzip opened without following links), and every name after it either is a real
/// entry or another link that passed this same check.
pub fn link_stays_inside(link: &[String], target: &str) -> bool {
    link_escape(link, target).is_none()
}

/// Why [`link_stays_inside`] refuses a target, in the words of a refusal; `None` if it
/// does not.
pub fn link_escape(link: &[String], target: &str) -> Option<&'static str> {
    if target.is_empty() {
        return Some("is empty");
    }
    if target.starts_with('/') {
        return Some("is absolute: it leaves the destination");
    }
    if target.contains('\0') {
        return Some("holds a NUL byte");
    }
    // Start from the link's directory.
    let mut depth = link.len().saturating_sub(1) as isize;
    let mut named = false;
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            ".." if named => {
                return Some(
                    "has `..` after a name: a symlink on the way could lead it out of the \
                     destination",
                )
            }
            ".." => depth -= 1,
            _ => {
                named = true;
                depth += 1;
            }
        }
        if depth < 0 {
            return Some("leaves the destination");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(name: &str) -> String {
        sanitize(name).unwrap().join("/")
    }

    #[test]
    fn plain_names_pass_through() {
        assert_eq!(ok("a/b/c.txt"), "a/b/c.txt");
        assert_eq!(ok("dir/"), "dir");
        assert_eq!(ok("./a//b/./c"), "a/b/c");
        assert_eq!(ok("a/../b"), "b");
    }

    #[test]
    fn escapes_are_refused() {
        for bad in [
            "../evil",
            "a/../../evil",
            "..\\..\\evil",
            "/etc/passwd",
            "\\\\server\\share",
            "C:\\Windows\\x",
            "c:evil",
            "a\0b",
            "",
            ".",
            "a/..",
        ] {
            assert!(sanitize(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn only_dots_and_separators_name_the_destination_itself() {
        for name in [".", "./", "./.", ".//./", ".\\"] {
            assert!(is_dest_itself(name), "{name:?}");
        }
        for name in ["", "/", "/.", "./a", "..", "../", "a/.."] {
            assert!(!is_dest_itself(name), "{name:?}");
        }
    }

    #[test]
    fn backslash_is_a_separator() {
        assert_eq!(ok("a\\b\\c"), "a/b/c");
    }

    #[test]
    fn over_long_names_are_refused() {
        assert!(sanitize(&"x".repeat(256)).is_err());
        assert!(sanitize(&"x".repeat(255)).is_ok());
        let deep = vec!["y".repeat(200); 30].join("/");
        assert!(sanitize(&deep).is_err());
    }

    #[test]
    fn link_targets_are_judged_from_the_link_directory() {
        let link = |s: &str| sanitize(s).unwrap();
        assert!(link_stays_inside(&link("a/l"), "b"));
        assert!(link_stays_inside(&link("a/l"), "../b"));
        assert!(!link_stays_inside(&link("a/l"), "../../b"));
        assert!(!link_stays_inside(&link("l"), "/etc/passwd"));
        assert!(!link_stays_inside(&link("a/l"), "x/../../../etc"));
        assert!(!link_stays_inside(&link("l"), ""));
    }

    #[test]
    fn a_refused_link_target_is_refused_for_what_it_does() {
        let link = |s: &str| sanitize(s).unwrap();
        let why = |l: &str, t: &str| link_escape(&link(l), t).unwrap_or("stays");
        assert_eq!(why("a/l", "../b"), "stays");
        assert_eq!(why("a/l", "../../b"), "leaves the destination");
        assert_eq!(
            why("l", "/etc/hostname"),
            "is absolute: it leaves the destination"
        );
        // Inside DEST as text, but `sub` could be a symlink: the message said it left.
        assert!(why("l", "sub/../real").starts_with("has `..` after a name"));
        assert_eq!(why("l", ""), "is empty");
    }

    #[test]
    fn link_targets_may_not_climb_after_a_name() {
        let link = |s: &str| sanitize(s).unwrap();
        // The chain escape: y -> ../.. is DEST, so y/../../.. is DEST's grandparent.
        assert!(link_stays_inside(&link("a/b/y"), "../.."));
        assert!(!link_stays_inside(&link("a/b/x"), "y/../../.."));
        assert!(!link_stays_inside(&link("a/l"), "b/../c"));
        assert!(link_stays_inside(&link("a/b/l"), "../../c/./d"));
    }

    /// The rules as first written, splitting with `str::split`: the byte-wise split must
    /// give the same components and the same refusals.
    fn reference(name: &str) -> Result<Vec<String>, String> {
        if name.contains('\0') || name.starts_with(['/', '\\']) {
            return Err(String::new());
        }
        let b = name.as_bytes();
        if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
            return Err(String::new());
        }
        let mut parts: Vec<String> = Vec::new();
        for c in name.split(['/', '\\']) {
            match c {
                "" | "." => {}
                ".." => {
                    parts.pop().ok_or_else(String::new)?;
                }
                c if c.len() > MAX_COMPONENT => return Err(String::new()),
                c => parts.push(c.to_string()),
            }
        }
        let total: usize = parts.iter().map(|p| p.len() + 1).sum();
        if parts.is_empty() || total > MAX_PATH {
            return Err(String::new());
        }
        Ok(parts)
    }

    #[test]
    fn a_name_kept_as_bytes_splits_only_at_slashes_and_keeps_its_length() {
        // Shift-JIS "表/ソ.txt": 0x5C is the second byte of both characters.
        let name = from_bytes(b"\x95\x5c/\x83\x5c.txt");
        let parts = sanitize(&name).unwrap();
        let disk: Vec<_> = parts.iter().map(|p| on_disk(p).into_owned()).collect();
        assert_eq!(
            disk,
            [
                OsStr::from_bytes(b"\x95\x5c"),
                OsStr::from_bytes(b"\x83\x5c.txt")
            ]
        );
        assert_eq!(
            to_path(&parts).as_os_str().as_bytes(),
            b"\x95\x5c/\x83\x5c.txt"
        );
        // 255 bytes on disk is a legal component, whatever its length as carried.
        assert!(sanitize(&from_bytes(&[0xff; 255])).is_ok());
        assert!(sanitize(&from_bytes(&[0xff; 256])).is_err());
        // `..` is still `..`.
        assert!(sanitize(&from_bytes(b"../\xff")).is_err());
    }

    #[test]
    fn utf8_text_is_its_own_bytes_on_disk() {
        for text in [
            "plain",
            "caf\u{e9}",
            "\u{1F600}\\x",
            "\u{ef00}\u{ef7f}\u{f000}",
        ] {
            assert!(!carries_bytes(text), "{text:?}");
            assert_eq!(on_disk(text), OsStr::new(text));
        }
        assert!(carries_bytes("a\u{ef95}") && carries_bytes("\u{ef5c}"));
    }

    proptest! {
        /// Any bytes survive the trip through the carried text to the system call, and
        /// no other bytes have the same text (names collide exactly when their bytes do).
        #[test]
        fn bytes_kept_as_a_name_come_back_as_they_were(
            raw in proptest::collection::vec(prop_oneof![any::<u8>(), Just(0xEE), Just(b'\\')], 0..64),
            other in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let text = from_bytes(&raw);
            let disk = on_disk(&text);
            prop_assert_eq!(disk.as_bytes(), &raw[..]);
            let back = from_disk(raw.clone());
            let back = on_disk(&back);
            prop_assert_eq!(back.as_bytes(), &raw[..]);
            prop_assert!(!text.contains('\\'));
            prop_assert_eq!(disk_len(&text, carries_bytes(&text)), raw.len());
            prop_assert_eq!(text == from_bytes(&other), raw == other);
            if let Ok(utf8) = std::str::from_utf8(&raw) {
                let planned = from_utf8(utf8);
                let planned = on_disk(&planned);
                prop_assert_eq!(planned.as_bytes(), &raw[..]);
            }
        }

        /// A plain name is exactly its sanitised path (collisions are found by that path,
        /// and borrow the name instead of joining the components when it is plain).
        #[test]
        fn a_plain_name_is_its_own_sanitised_path(name in "[ab./\\\\]{0,12}") {
            if is_plain(&name) {
                prop_assert_eq!(sanitize(&name).map(|p| p.join("/")), Ok(name.clone()));
            }
        }

        #[test]
        fn splitting_by_bytes_agrees_with_splitting_by_chars(name in "[a\u{e9}\u{1F600}./\\\\:\x00]{0,24}") {
            let got = sanitize(&name).map_err(|_| String::new());
            prop_assert_eq!(got, reference(&name));
        }

        /// Whatever the name, an accepted result has only plain components: no `..`, no
        /// `.`, no separators, no NUL, nothing empty, so joining it under DEST stays there.
        #[test]
        fn accepted_names_have_only_plain_components(name in "[a-z./\\\\:\\x00]{0,24}") {
            if let Ok(parts) = sanitize(&name) {
                prop_assert!(!parts.is_empty());
                for p in &parts {
                    prop_assert!(!p.is_empty() && p != "." && p != "..");
                    prop_assert!(!p.contains('/') && !p.contains('\\') && !p.contains('\0'));
                }
            }
        }
    }
}
