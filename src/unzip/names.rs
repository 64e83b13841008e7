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

use std::path::PathBuf;

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
            c if c.len() > MAX_COMPONENT => {
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
    let total: usize = parts.iter().map(|p| p.len() + 1).sum();
    if total > MAX_PATH {
        return Err(format!("path longer than {MAX_PATH} bytes"));
    }
    Ok(())
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
    parts.iter().collect()
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
    if target.is_empty() || target.starts_with('/') || target.contains('\0') {
        return false;
    }
    // Start from the link's directory.
    let mut depth = link.len().saturating_sub(1) as isize;
    let mut named = false;
    for comp in target.split('/') {
        match comp {
            "" | "." => {}
            ".." if named => return false,
            ".." => depth -= 1,
            _ => {
                named = true;
                depth += 1;
            }
        }
        if depth < 0 {
            return false;
        }
    }
    true
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

    proptest! {
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
