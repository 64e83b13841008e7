//! The marks that open and close the output of `phash --shard K/N`, so that `--merge` can
//! tell a complete set of shards from an incomplete one. Without them a merge of 2 of 3
//! shards, or of a shard killed between two lines, gave a short list with exit 0: the
//! files of the missing part were never hashed, and `phash -c` of that list passed.
//!
//! The marks are comment lines, which `md5sum -c` and `phash -c` skip (`# ...`):
//!
//! ```text
//! # phash --shard 2/3 run 5d41402abc4b2a76 operands 1 9f86d081884c7d65
//! d41d8cd98f00b204e9800998ecf8427e  dir/a
//! # phash --shard 2/3 run 5d41402abc4b2a76 operands 1 9f86d081884c7d65 end
//! ```
//!
//! The operands are counted and digested apart from the rest ([`Operands`]), so that the
//! merge can check the operands it is given after `--`, and ask for them when the lines
//! alone cannot tell the run's order (`needed`: operands not in the order the merge would
//! infer, such as `phash sub plain`): merged without them, the list came out in another
//! order than one run's, with exit 0. Marks without them (an older phash) merge as before.
//!
//! The run is a digest of what decides which lines a run writes and in what form: the
//! operands, the walk's options, N and the line style. Not the working directory: shards
//! run on any machines, where the same tree may be mounted elsewhere. The closing mark is
//! written when the shard's walk is done (whatever it failed to read, which it reported
//! and counted in its exit status), never after an interrupt.

use std::ffi::OsString;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::HashConfig;
use crate::shard::Shard;

/// One shard's marks: which shard of which run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// K, 1-based.
    pub k: u32,
    /// N.
    pub n: u32,
    /// The run, as 16 hex digits.
    pub run: String,
    /// The run's operands, when the mark says (see the module docs).
    pub operands: Option<Operands>,
}

/// What a mark says of the run's operands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operands {
    /// How many.
    pub count: usize,
    /// Their digest ([`Operands::of`]), 16 hex digits.
    pub digest: String,
    /// Whether the merge must be given them: the lines alone would sort otherwise.
    pub needed: bool,
}

impl Operands {
    /// What a mark says of `paths`, the operands as given.
    pub fn of(paths: &[OsString]) -> Operands {
        let digest = digest_of(&mut paths.iter().map(|p| p.as_bytes()));
        // The merge without operands sorts whole paths by the walk's order, which is the
        // run's when each operand sorts before the next (they never overlap: refused).
        let trimmed = |p: &OsString| -> Vec<u8> {
            let b = p.as_bytes();
            let end = b
                .iter()
                .rposition(|&c| c != b'/')
                .map_or(b.len().min(1), |i| i + 1);
            b[..end].to_vec()
        };
        let needed = paths.windows(2).any(|w| {
            super::merge::walk_order(&trimmed(&w[0]), &trimmed(&w[1])) != std::cmp::Ordering::Less
        });
        Operands {
            count: paths.len(),
            digest,
            needed,
        }
    }
}

/// 16 hex digits of the MD5 of `parts`, each length-prefixed, so that no two lists of
/// parts read alike.
fn digest_of(parts: &mut dyn Iterator<Item = &[u8]>) -> String {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a record is a shard's opening or closing mark (with the number of files the
/// shard failed to hash: said by it when it ran, and missing from its lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    Opening(Mark),
    Closing(Mark, u64),
}

const PREFIX: &str = "# phash --shard ";

impl Mark {
    /// The marks of shard `shard` of the run described by `parts` (each given whole:
    /// they are length-prefixed, so no two lists of parts read alike).
    pub fn new(shard: Shard, parts: &[&[u8]]) -> Mark {
        let n = shard.count().to_le_bytes();
        let mut all = std::iter::once(&n[..]).chain(parts.iter().copied());
        Mark {
            k: shard.number(),
            n: shard.count(),
            run: digest_of(&mut all),
            operands: None,
        }
    }

    /// The marks of shard `shard` of the run `cfg` describes; none for `--json`, whose
    /// lines no merge reads.
    pub fn of_run(shard: Shard, cfg: &HashConfig) -> Option<Mark> {
        if cfg.style.json {
            return None;
        }
        let walk = &cfg.walk;
        // The excludes as a set: their order changes no line.
        let excludes: std::collections::BTreeSet<&String> = walk.exclude.iter().collect();
        let options = format!(
            "follow={} one-file-system={} max-depth={:?} exclude={:?} {:?}",
            walk.follow, walk.one_file_system, walk.max_depth, excludes, cfg.style
        );
        let mut parts: Vec<&[u8]> = cfg.paths.iter().map(|p| p.as_bytes()).collect();
        parts.push(options.as_bytes());
        Some(Mark {
            operands: Some(Operands::of(&cfg.paths)),
            ..Mark::new(shard, &parts)
        })
    }

    /// `shard 2/3 of run 5d41402abc4b2a76`, for messages.
    pub fn describe(&self) -> String {
        format!("shard {}/{} of run {}", self.k, self.n, self.run)
    }

    /// The opening record, its terminator included.
    pub fn opening(&self, end: u8) -> Vec<u8> {
        let mut v = self.to_string().into_bytes();
        v.push(end);
        v
    }

    /// The closing record, its terminator included; `errors`: the files the shard failed
    /// to hash (` errors=N` when not 0).
    pub fn closing(&self, end: u8, errors: u64) -> Vec<u8> {
        let mut v = match errors {
            0 => format!("{self} end"),
            n => format!("{self} end errors={n}"),
        }
        .into_bytes();
        v.push(end);
        v
    }
}

impl fmt::Display for Mark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}/{} run {}", self.k, self.n, self.run)?;
        if let Some(o) = &self.operands {
            write!(f, " operands {} {}", o.count, o.digest)?;
            if o.needed {
                write!(f, " needed")?;
            }
        }
        Ok(())
    }
}

/// Two operands of which the first holds (or is) the second, as written: `x x/sub`,
/// `x x`, `- -`. One run lists some files twice then under the same name, in places no
/// merge can tell apart (the merge puts a line under the first operand its path lies in,
/// component by component), so a sharded run refuses them. Spellings that differ (`t
/// ./t/`, a symbolic link to a directory inside another operand) give different names,
/// which merge.
pub fn overlapping(paths: &[OsString]) -> Option<(PathBuf, PathBuf)> {
    for (i, a) in paths.iter().enumerate() {
        for (j, b) in paths.iter().enumerate() {
            if i != j && Path::new(b).starts_with(a) && (i < j || a != b) {
                return Some((a.into(), b.into()));
            }
        }
    }
    None
}

/// Whether a record begins as a mark does (then one that [`parse`] cannot read is damaged,
/// not a comment).
pub fn looks_like_one(record: &[u8]) -> bool {
    record.starts_with(PREFIX.as_bytes())
}

/// The mark a record (without its terminator) is, if it is one.
pub fn parse(record: &[u8]) -> Option<Found> {
    let text = std::str::from_utf8(record).ok()?.strip_prefix(PREFIX)?;
    let (shard, rest) = text.split_once(" run ")?;
    let (k, n) = shard.split_once('/')?;
    let (k, n): (u32, u32) = (k.parse().ok()?, n.parse().ok()?);
    let (run, closing) = match rest.split_once(" end") {
        Some((run, "")) => (run, Some(0)),
        Some((run, errors)) => (run, Some(errors.strip_prefix(" errors=")?.parse().ok()?)),
        None => (rest, None),
    };
    let hex = |t: &str| t.len() == 16 && t.bytes().all(|b| b.is_ascii_hexdigit());
    let (run, operands) = match run.split_once(" operands ") {
        None => (run, None),
        Some((run, ops)) => {
            let (ops, needed) = match ops.strip_suffix(" needed") {
                Some(ops) => (ops, true),
                None => (ops, false),
            };
            let (count, digest) = ops.split_once(' ')?;
            if !hex(digest) {
                return None;
            }
            let operands = Operands {
                count: count.parse().ok()?,
                digest: digest.to_string(),
                needed,
            };
            (run, Some(operands))
        }
    };
    if !hex(run) || k == 0 || k > n || n > crate::shard::MAX_SHARDS {
        return None;
    }
    let mark = Mark {
        k,
        n,
        run: run.to_string(),
        operands,
    };
    Some(match closing {
        Some(errors) => Found::Closing(mark, errors),
        None => Found::Opening(mark),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(k: u32, n: u32) -> Shard {
        Shard::parse(&format!("{k}/{n}"), &|_| None).unwrap()
    }

    #[test]
    fn marks_read_back_as_written() {
        let m = Mark::new(shard(2, 3), &[b"dir", b"--follow"]);
        assert_eq!(m.k, 2);
        assert_eq!(m.n, 3);
        let open = m.opening(b'\n');
        let close = m.closing(0, 0);
        let failed = m.closing(0, 12);
        assert!(open.starts_with(b"# phash --shard 2/3 run "), "{open:?}");
        assert!(failed.ends_with(b" end errors=12\0"), "{failed:?}");
        assert_eq!(
            parse(&open[..open.len() - 1]),
            Some(Found::Opening(m.clone()))
        );
        assert_eq!(
            parse(&close[..close.len() - 1]),
            Some(Found::Closing(m.clone(), 0))
        );
        assert_eq!(
            parse(&failed[..failed.len() - 1]),
            Some(Found::Closing(m, 12))
        );
    }

    #[test]
    fn the_run_tells_apart_what_changes_the_lines() {
        let run = |k, n, parts: &[&[u8]]| Mark::new(shard(k, n), parts).run;
        assert_eq!(run(1, 3, &[b"a", b"b"]), run(3, 3, &[b"a", b"b"]));
        assert_ne!(run(1, 3, &[b"a", b"b"]), run(1, 2, &[b"a", b"b"]));
        assert_ne!(run(1, 3, &[b"a", b"b"]), run(1, 3, &[b"ab"]));
        assert_ne!(run(1, 3, &[b"a", b"b"]), run(1, 3, &[b"b", b"a"]));
    }

    #[test]
    fn operands_overlap_when_one_holds_the_other_as_written() {
        let ops = |names: &[&str]| -> Vec<OsString> { names.iter().map(|n| n.into()).collect() };
        for overlap in [
            &["x", "x/sub"][..],
            &["x/sub", "x"],
            &["x", "x"],
            &["-", "-"],
            &[".", "./x"],
        ] {
            assert!(overlapping(&ops(overlap)).is_some(), "{overlap:?}");
        }
        for apart in [
            &["x", "xy"][..],
            &["x", "./x/"],
            &["-", "."],
            &["x/sub", "y", "z"],
        ] {
            assert!(overlapping(&ops(apart)).is_none(), "{apart:?}");
        }
    }

    #[test]
    fn operands_are_needed_when_the_lines_alone_would_sort_otherwise() {
        let ops = |names: &[&str]| -> Operands {
            Operands::of(&names.iter().map(OsString::from).collect::<Vec<_>>())
        };
        for inferred in [
            &["t"][..],
            &["plain", "sub"],
            &["b/x", "b-c"],
            &["a/", "b"],
            &["/", "a"],
        ] {
            assert!(!ops(inferred).needed, "{inferred:?}");
        }
        for needed in [
            &["sub", "plain"][..],
            &["b-c", "b/x"],
            &["x", "x"],
            &["a", "b", "a b"],
        ] {
            assert!(ops(needed).needed, "{needed:?}");
        }
        assert_eq!(ops(&["a", "b"]).count, 2);
        assert_ne!(ops(&["a", "b"]).digest, ops(&["b", "a"]).digest);
        assert_ne!(ops(&["a", "b"]).digest, ops(&["ab"]).digest);
        // Written and read back, with the end mark after them.
        let m = Mark {
            operands: Some(ops(&["sub", "plain"])),
            ..Mark::new(shard(1, 2), &[b"sub", b"plain"])
        };
        let close = m.closing(b'\n', 3);
        assert!(
            String::from_utf8_lossy(&close).contains(" operands 2 "),
            "{close:?}"
        );
        assert!(close.ends_with(b" needed end errors=3\n"), "{close:?}");
        assert_eq!(parse(&close[..close.len() - 1]), Some(Found::Closing(m, 3)));
    }

    #[test]
    fn other_comments_are_not_marks() {
        for text in [
            "# a comment",
            "# phash --shard 0/3 run 0123456789abcdef",
            "# phash --shard 4/3 run 0123456789abcdef",
            "# phash --shard 1/3 run 0123",
            "# phash --shard 1/3 run 0123456789abcdef done",
            "# phash --shard 1/3 run 0123456789abcdef end errors=x",
            "# phash --shard 1/3 run 0123456789abcdef endless",
            "# phash --shard 1/3 run 0123456789abcdef operands x 0123456789abcdef",
            "# phash --shard 1/3 run 0123456789abcdef operands 2 0123",
            "# phash --shard 1/3 run 0123456789abcdef operands 2",
            "d41d8cd98f00b204e9800998ecf8427e  x",
        ] {
            assert_eq!(parse(text.as_bytes()), None, "{text}");
        }
    }
}
