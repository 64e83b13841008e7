//! Turning the command-line operands into the list of things to hash, in one stable order:
//! operands as given, each walked depth-first with every directory's entries sorted by
//! their name bytes. The order never depends on `-j` or on timing, so two runs give the
//! same output and a list can be diffed (hashdeep's users lack exactly this).
//!
//! The walk decides from the directory entry's type alone (no `open`) what each entry is:
//! regular files become work items; FIFOs, sockets and devices become warnings and are
//! never opened (opening a FIFO blocks); symbolic links found inside a tree are left alone
//! unless `-L` is given, as `find PATH -type f` does. Operands that are symbolic links are
//! followed, as md5sum and `find -H` do, since the user named them. Walk failures (an
//! unreadable directory, a loop under `-L`) become items too, so they are reported in their
//! place in the order.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

use super::md5::special_kind;
use super::HashError;

/// How to walk.
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// Follow symbolic links inside trees (`-L`); loops are reported.
    pub follow: bool,
    /// Do not cross into other file systems.
    pub one_file_system: bool,
    /// Descend at most this many levels below an operand (0: the operands only).
    pub max_depth: Option<usize>,
    /// Skip entries whose name, or path relative to the operand, matches one of these.
    pub exclude: Vec<String>,
}

/// One thing for a worker to do, or a problem to report in its place.
#[derive(Debug)]
pub enum Item {
    /// A regular file (or a symbolic link to one, when following), with its size as the
    /// walk saw it (a hint for grouping work; the digest checks the size itself).
    File { path: PathBuf, size: u64 },
    /// Standard input (`-`).
    Stdin,
    /// Something found by the walk that is reported instead of hashed.
    Problem(HashError),
}

/// Compiles the `--exclude` globs. `*` does not cross `/`.
pub fn compile_excludes(globs: &[String]) -> Result<GlobSet, HashError> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        let glob = GlobBuilder::new(g)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|source| HashError::BadGlob {
                glob: g.clone(),
                source,
            })?;
        b.add(glob);
    }
    b.build().map_err(|source| HashError::BadGlob {
        glob: globs.join(" "),
        source,
    })
}

/// Walks `roots` in order and calls `emit` with each item; stops early when `emit`
/// returns false, `stop` is raised, or an interrupt arrives.
pub fn walk(
    roots: &[OsString],
    opts: &WalkOptions,
    excludes: &GlobSet,
    stop: &AtomicBool,
    mut emit: impl FnMut(Item) -> bool,
) {
    let halted = || stop.load(Ordering::Relaxed) || crate::cancel::interrupted();
    for root in roots {
        if halted() {
            return;
        }
        if root == "-" {
            if !emit(Item::Stdin) {
                return;
            }
            continue;
        }
        let root = Path::new(root);
        let mut wd = WalkDir::new(root)
            .follow_links(opts.follow)
            .follow_root_links(true)
            .same_file_system(opts.one_file_system)
            .sort_by(|a, b| a.file_name().cmp(b.file_name()));
        if let Some(d) = opts.max_depth {
            wd = wd.max_depth(d);
        }
        let it = wd.into_iter().filter_entry(|e| {
            e.depth() == 0 || excludes.is_empty() || !is_excluded(excludes, root, e.path())
        });
        for entry in it {
            if halted() {
                return;
            }
            let item = match entry {
                Ok(e) => {
                    let ft = e.file_type();
                    if ft.is_file() {
                        let size = e.metadata().map_or(0, |m| m.len());
                        Item::File {
                            path: e.into_path(),
                            size,
                        }
                    } else if let Some(kind) = special_kind(ft) {
                        Item::Problem(HashError::Special {
                            path: e.into_path(),
                            kind,
                        })
                    } else {
                        // Directories are descended into; links not followed are not
                        // files, as for `find -type f`.
                        continue;
                    }
                }
                Err(err) => Item::Problem(walk_error(err, opts.follow)),
            };
            if !emit(item) {
                return;
            }
        }
    }
}

fn is_excluded(excludes: &GlobSet, root: &Path, path: &Path) -> bool {
    if path.file_name().is_some_and(|n| excludes.is_match(n)) {
        return true;
    }
    path.strip_prefix(root)
        .is_ok_and(|rel| excludes.is_match(rel))
}

fn walk_error(err: walkdir::Error, follow: bool) -> HashError {
    let depth = err.depth();
    let path = err.path().map(Path::to_path_buf).unwrap_or_default();
    if let Some(ancestor) = err.loop_ancestor() {
        return HashError::Loop {
            ancestor: ancestor.to_path_buf(),
            path,
        };
    }
    let dangling = follow
        && depth > 0
        && err
            .io_error()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        && std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    if dangling {
        return HashError::Dangling { path };
    }
    let source = err
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("walk error"));
    HashError::Walk { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(root: &Path, opts: &WalkOptions) -> Vec<String> {
        let ex = compile_excludes(&opts.exclude).unwrap();
        let mut v = Vec::new();
        walk(
            &[root.as_os_str().to_owned()],
            opts,
            &ex,
            &AtomicBool::new(false),
            |it| {
                if let Item::File { path: p, .. } = it {
                    v.push(p.strip_prefix(root).unwrap().display().to_string());
                }
                true
            },
        );
        v
    }

    #[test]
    fn depth_first_sorted_by_bytes_with_excludes_and_depth() {
        let d = tempfile::tempdir().unwrap();
        for f in ["b-c", "b/x", "b/a/z", "B", "a.o", "c/d/e.o", "c/d/f"] {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, f).unwrap();
        }
        let all = WalkOptions::default();
        assert_eq!(
            names(d.path(), &all),
            ["B", "a.o", "b/a/z", "b/x", "b-c", "c/d/e.o", "c/d/f"]
        );
        let ex = WalkOptions {
            exclude: vec!["*.o".into(), "b".into()],
            ..Default::default()
        };
        assert_eq!(names(d.path(), &ex), ["B", "b-c", "c/d/f"]);
        let shallow = WalkOptions {
            max_depth: Some(1),
            ..Default::default()
        };
        assert_eq!(names(d.path(), &shallow), ["B", "a.o", "b-c"]);
    }
}
