//! The directories a plan needs, and making them: every directory member and every
//! member's parent, each prefix once, in sorted order.
//!
//! A directory is named by its place in that sorted list ([`Needed`]), not by a copy of
//! its path: what was made and what failed cost a number each. Copies grew with the
//! square of the depth (each of a 2,040-level member's directories held all the names
//! above it: 116 MB per member, and a 165 KB archive of 20 such members took 2.3 GB).

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::OwnedFd;

use super::dirs::DirCache;
use super::Options;
use crate::error::{Error, Result};
use crate::unzip::meta::Kind;
use crate::unzip::plan::Plan;
use crate::unzip::split;

/// Every prefix of every directory of a plan, each once, sorted (so a directory's
/// descendants follow it, before anything else).
pub struct Needed<'d> {
    all: Vec<&'d [String]>,
}

impl<'d> Needed<'d> {
    /// The prefixes of `dirs` (see [`member_dirs`]), in one pass: in sorted order, a
    /// directory's prefixes that are new are those below the names it shares with the one
    /// before, and they sort after everything before (a set of every prefix compared
    /// whole paths: most of the time on a deep archive).
    pub fn new(dirs: &'d BTreeSet<Vec<String>>) -> Needed<'d> {
        let mut all = Vec::new();
        let mut before: &[String] = &[];
        for parts in dirs {
            let shared = parts.iter().zip(before).take_while(|(a, b)| a == b).count();
            all.extend((shared + 1..=parts.len()).map(|depth| &parts[..depth]));
            before = parts;
        }
        Needed { all }
    }

    /// The directory at `i`.
    pub fn get(&self, i: usize) -> &'d [String] {
        self.all[i]
    }

    /// Where directory `parts` is in the list, if it is needed.
    pub fn index(&self, parts: &[String]) -> Option<usize> {
        self.all.binary_search(&parts).ok()
    }
}

/// What [`make_dirs`] did: the directories it created (by place in [`Needed`]), and why
/// the others failed.
#[derive(Default)]
pub struct Made {
    pub created: BTreeSet<usize>,
    pub failed: BTreeMap<usize, std::io::Error>,
}

impl Made {
    /// The failed directories not inside another failed one (those inside fail because
    /// of it): the ones to report.
    pub fn shallowest_failures<'a>(
        &'a self,
        needed: &'a Needed,
    ) -> impl Iterator<Item = (&'a [String], &'a std::io::Error)> {
        let mut last: Option<&[String]> = None;
        self.failed.iter().filter_map(move |(&i, e)| {
            let parts = needed.get(i);
            if last.is_some_and(|l| parts.starts_with(l)) {
                return None;
            }
            last = Some(parts);
            Some((parts, e))
        })
    }
}

/// Creates every directory in `needed`, in sorted order (so each one's parent is still
/// cached), noting those that did not exist and why the others failed; stops at an
/// interrupt.
pub fn make_dirs(root: &OwnedFd, plan: &Plan, opts: &Options, needed: &Needed) -> Result<Made> {
    let mode = 0o777 & !opts.umask | 0o700;
    // Each thread takes a run of the sorted list, whose first directory's parents the
    // runs before it are making at the same time: it makes them too (whoever's `mkdirat`
    // succeeds counts it as created).
    let runs = split::runs(opts.jobs, needed.all.len(), DIRS_PER_THREAD, |run| {
        let mut made = Made::default();
        let mut dirs = DirCache::for_worker(root, opts.jobs.get());
        let first: &[String] = needed.all.get(run.start).copied().unwrap_or_default();
        let parents = (1..first.len()).filter_map(|depth| needed.index(&first[..depth]));
        for (n, i) in parents.chain(run).enumerate() {
            if n % 256 == 0 && crate::cancel::interrupted() {
                return Err(Error::Interrupted);
            }
            match dirs.create(needed.get(i), mode) {
                Ok(true) => {
                    made.created.insert(i);
                }
                // A shard sets the archive's mode and time on every directory it writes
                // into, made by another shard or not: whichever finishes last leaves them
                // right.
                Ok(false) if plan.shard.is_some() => {
                    made.created.insert(i);
                }
                Ok(false) => {}
                // Reported for a directory member, and by each member inside it.
                Err(e) => {
                    made.failed.insert(i, e);
                }
            }
        }
        Ok(made)
    });
    let mut all = Made::default();
    for run in runs {
        let run = run?;
        all.created.extend(run.created);
        all.failed.extend(run.failed);
    }
    Ok(all)
}

/// Fewer directories than this are not worth another thread (one costs a few
/// microseconds to make).
const DIRS_PER_THREAD: usize = 256;

/// The distinct directories of the plan's members: each directory member itself, and the
/// parent of every member (with `with_root`, DEST itself as the empty path too).
pub fn member_dirs(plan: &Plan, with_root: bool) -> BTreeSet<Vec<String>> {
    // A member's key is its sanitised components joined by `/` (borrowed from the name
    // when the name is plain, as nearly all are), so splitting it gives them back.
    let owned = |key: &str| key.split('/').map(str::to_string).collect::<Vec<_>>();
    let mut dirs = BTreeSet::new();
    // Members come mostly grouped by directory: a parent equal to the one before is not
    // split and looked up again.
    let mut last = None;
    for m in &plan.members {
        let key = m.key();
        if m.kind == Kind::Dir {
            dirs.insert(owned(&key));
        }
        let parent = key.rsplit_once('/').map_or("", |(parent, _)| parent);
        if last.as_deref() == Some(parent) {
            continue;
        }
        last = Some(parent.to_string());
        if parent.is_empty() {
            if with_root {
                dirs.insert(Vec::new());
            }
        } else {
            dirs.insert(owned(parent));
        }
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unzip::plan::Member;

    fn member(index: usize) -> Member {
        Member {
            index,
            ..Member::named(&format!("m{index}"))
        }
    }

    /// The directories a plan needs: every directory member, and every member's parent
    /// (DEST itself with `with_root`), as sanitised components, whatever the spelling.
    #[test]
    fn member_dirs_are_the_directory_members_and_every_parent() {
        let named = |name: &str, kind, junk_paths| Member {
            name: name.into(),
            kind,
            junk_paths,
            ..member(0)
        };
        let members = vec![
            named("top.txt", Kind::File, false),
            named("a/b/c.txt", Kind::File, false),
            named("a/b/d.txt", Kind::File, false),
            named("./a//b/./e.txt", Kind::File, false),
            named("x\\y/z.txt", Kind::File, false),
            named("d1/d2/", Kind::Dir, false),
            named("q/../r/s.txt", Kind::File, false),
            named("deep/path/j.txt", Kind::File, true),
        ];
        let plan = Plan {
            members,
            ..Plan::default()
        };
        let v = |parts: &[&str]| parts.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        let want: BTreeSet<Vec<String>> = [
            v(&["a", "b"]),
            v(&["x", "y"]),
            v(&["d1"]),
            v(&["d1", "d2"]),
            v(&["r"]),
        ]
        .into_iter()
        .collect();
        assert_eq!(member_dirs(&plan, false), want);
        let mut with_root = want;
        with_root.insert(Vec::new());
        assert_eq!(member_dirs(&plan, true), with_root);
    }

    /// Directories are found by their place in the sorted list of every prefix, and a
    /// failure inside a failed directory is not reported again.
    #[test]
    fn needed_dirs_are_every_prefix_once_and_only_the_shallowest_failure_counts() {
        let v = |s: &str| s.split('/').map(str::to_string).collect::<Vec<_>>();
        let dirs: BTreeSet<Vec<String>> =
            [v("a/b/c"), v("a/b/d"), v("a"), v("a/e"), v("f/g"), v("f")]
                .into_iter()
                .collect();
        let needed = Needed::new(&dirs);
        let all: Vec<String> = (0..needed.all.len())
            .map(|i| needed.get(i).join("/"))
            .collect();
        assert_eq!(all, ["a", "a/b", "a/b/c", "a/b/d", "a/e", "f", "f/g"]);
        assert_eq!(needed.index(&v("a/b/d")), Some(3));
        assert_eq!(needed.index(&v("a/x")), None);
        let error = || std::io::Error::from_raw_os_error(libc::EACCES);
        let made = Made {
            created: BTreeSet::new(),
            failed: [1, 2, 3, 5, 6].into_iter().map(|i| (i, error())).collect(),
        };
        let reported: Vec<String> = made
            .shallowest_failures(&needed)
            .map(|(parts, _)| parts.join("/"))
            .collect();
        assert_eq!(reported, ["a/b", "f"]);
    }
}
