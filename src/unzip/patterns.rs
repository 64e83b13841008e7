//! Member patterns (`punzip A.zip MEMBER... -d DEST`, `-i`, `-x`, `-l`, `-t`, `-p`) read
//! as Info-ZIP's `unzip` reads them, and which of them matched nothing.
//!
//! Why it exists: a pattern is how a user names members, and two things went wrong with
//! handing them to a glob library as they are. Braces were alternatives there
//! (`file{1}.txt` picked `file1.txt`, and `-x 'file{1}.txt'` excluded the wrong file,
//! silently); in unzip they are ordinary characters, as in member names. And a pattern
//! that matched nothing was lost among those that did (`punzip A.zip a.txt typo -d X`
//! said nothing and exited 0); unzip says "caution: filename not matched" and exits 11.
//!
//! So: `*`, `?` and `[...]` are wildcards (a `*` also matches `/`, as in unzip), `\`
//! quotes the next character, and everything else is literal. A member matches when its
//! name as stored, or its sanitised path, matches; a directory's both end in `/`, so `sub`
//! names a file called `sub`, not the directory `sub/` (`sub/*` takes what is in it), as
//! in unzip.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// A pattern as unzip means it, in globset's syntax: braces (and so commas) literal.
pub fn unzip_glob(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            // An escaped backslash is also the byte 0x5C of a name kept as bytes, which
            // planning carries as a private-use character (see `names`): unzip's
            // `$'\x95\\\\.txt'` selects the Shift-JIS name `\x95\x5c.txt`.
            '\\' if !in_class && chars.peek() == Some(&'\\') => {
                chars.next();
                out.push_str("{\\\\,");
                out.push(crate::unzip::names::CARRIED_BACKSLASH);
                out.push('}');
            }
            '\\' if !in_class => {
                out.push(c);
                out.extend(chars.next());
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                if let Some(&n @ ('!' | '^')) = chars.peek() {
                    out.push(n);
                    chars.next();
                }
                // A `]` first in a class is one of its characters.
                if chars.peek() == Some(&']') {
                    out.push(']');
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '{' | '}' if !in_class => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Compiles `patterns` as [`unzip_glob`] reads them; the error names the bad pattern.
pub fn compile(patterns: &[String]) -> Result<GlobSet, (String, String)> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        // An unclosed `[` is a character (`esc[31m.txt` names that member; unzip matched
        // it to nothing, and globset called it a bad pattern).
        let glob = GlobBuilder::new(&unzip_glob(p))
            .allow_unclosed_class(true)
            .build()
            .map_err(|e| (p.clone(), e.kind().to_string()))?;
        b.add(glob);
    }
    b.build().map_err(|e| (String::new(), e.to_string()))
}

/// One set of patterns (the includes or the excludes) and which of them matched a member.
pub struct Patterns {
    set: GlobSet,
    hit: Vec<bool>,
    /// Matched a directory's path without its `/`: `sub` for `sub/` (for the hint).
    dir_named: Vec<bool>,
    /// Scratch for [`GlobSet::matches_into`].
    found: Vec<usize>,
}

impl Patterns {
    /// Compiled from `patterns`.
    pub fn new(patterns: &[String]) -> Result<Patterns, (String, String)> {
        Ok(Patterns {
            set: compile(patterns)?,
            hit: vec![false; patterns.len()],
            dir_named: vec![false; patterns.len()],
            found: Vec::new(),
        })
    }

    /// No patterns at all.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Whether a member with this stored `name` and sanitised path `key` (`None` if it
    /// has none) matches any pattern, noting which ones did. `dir`: the member is a
    /// directory (its key is matched with a trailing `/`, as its name has one).
    pub fn matches(&mut self, name: &str, key: Option<&str>, dir: bool) -> bool {
        if self.set.is_empty() {
            return false;
        }
        let mut any = self.note(name);
        if let Some(key) = key.filter(|k| *k != name) {
            any |= if dir && !key.ends_with('/') {
                self.note(&format!("{key}/"))
            } else {
                self.note(key)
            };
        }
        if dir {
            let bare = key.unwrap_or(name).trim_end_matches('/');
            self.set.matches_into(bare, &mut self.found);
            for &i in &self.found {
                self.dir_named[i] = true;
            }
        }
        any
    }

    fn note(&mut self, text: &str) -> bool {
        self.set.matches_into(text, &mut self.found);
        for &i in &self.found {
            self.hit[i] = true;
        }
        !self.found.is_empty()
    }

    /// The patterns (of `patterns`, the list these were compiled from) that matched no
    /// member, in the order given.
    pub fn unmatched(&self, patterns: &[String]) -> Vec<Unmatched> {
        patterns
            .iter()
            .zip(&self.hit)
            .zip(&self.dir_named)
            .filter(|((_, hit), _)| !**hit)
            .map(|((p, _), dir)| Unmatched {
                pattern: p.clone(),
                names_a_directory: *dir,
            })
            .collect()
    }
}

/// A pattern that matched no member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmatched {
    pub pattern: String,
    /// It names a directory member without its trailing `/` (`sub` for `sub/`).
    pub names_a_directory: bool,
}

impl std::fmt::Display for Unmatched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = crate::error::shown(&self.pattern);
        write!(f, "{p}")?;
        if self.names_a_directory {
            let dir = self.pattern.trim_end_matches('/');
            let dir = crate::error::shown(dir);
            write!(f, " (a directory: '{dir}/*' names what is in it)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_match(pattern: &str, name: &str) -> bool {
        compile(&[pattern.to_string()]).unwrap().is_match(name)
    }

    #[test]
    fn braces_and_commas_are_characters_as_in_unzip() {
        assert!(is_match("file{1}.txt", "file{1}.txt"));
        assert!(!is_match("file{1}.txt", "file1.txt"));
        assert!(is_match("a{b,c}.txt", "a{b,c}.txt"));
        assert!(!is_match("a{b,c}.txt", "ab.txt"));
        assert!(is_match("a{*", "a{b,c}.txt"));
    }

    #[test]
    fn wildcards_classes_and_quoting_work_as_in_unzip() {
        assert!(is_match("*.java", "java/lang/String.java"));
        assert!(is_match("f?le[0-9].txt", "file7.txt"));
        assert!(!is_match("f?le[!0-9].txt", "file7.txt"));
        assert!(is_match("[{]x[}]", "{x}"));
        assert!(is_match("[]]x", "]x"));
        assert!(is_match(r"\*x", "*x"));
        assert!(!is_match(r"\*x", "ax"));
        assert!(is_match(r"\{", "{"));
        // An unclosed class is a character, as in a member name.
        assert!(is_match("esc\u{1b}[31m.txt", "esc\u{1b}[31m.txt"));
        assert!(is_match("a[b*", "a[bc"));
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let (pattern, _reason) = compile(&["ok".into(), "[z-a]".into()]).unwrap_err();
        assert_eq!(pattern, "[z-a]");
    }

    #[test]
    fn patterns_that_matched_nothing_are_told_in_order() {
        let given: Vec<String> = ["a.txt", "nomatch", "sub", "sub/*", "z*"]
            .map(String::from)
            .to_vec();
        let mut p = Patterns::new(&given).unwrap();
        assert!(p.matches("a.txt", Some("a.txt"), false));
        // A directory's name ends in '/': "sub" does not name it, as in unzip ("sub/*"
        // does).
        assert!(p.matches("sub/", Some("sub"), true));
        assert!(p.matches("sub/b.txt", Some("sub/b.txt"), false));
        assert!(!p.matches("other", None, false));
        let told: Vec<String> = p.unmatched(&given).iter().map(|u| u.to_string()).collect();
        assert_eq!(
            told,
            [
                "nomatch",
                "sub (a directory: 'sub/*' names what is in it)",
                "z*"
            ]
        );
    }

    #[test]
    fn the_sanitised_path_matches_too() {
        let given = vec!["dir/file".to_string()];
        let mut p = Patterns::new(&given).unwrap();
        assert!(p.matches("./dir//file", Some("dir/file"), false));
        assert!(p.unmatched(&given).is_empty());
    }
}
