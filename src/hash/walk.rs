//! Turning the command-line operands into the stream of things to hash, in one stable
//! order: operands as given, each walked depth-first with every directory's entries sorted
//! by their name bytes. The order never depends on `-j` or on timing, so two runs give the
//! same output and a list can be diffed (hashdeep's users lack exactly this).
//!
//! Why it is shaped so:
//! - It is an iterator ([`Walk`]): the engine pulls items on its producer thread while the
//!   workers hash, so the first line is printed long before the walk ends.
//! - Operands are what the user named: they are followed if they are symbolic links and,
//!   unless they are directories, handed over as [`Item::Named`], to be read as md5sum
//!   reads them (a FIFO, `/dev/stdin`, `<(cmd)` or a character device included).
//! - Inside a tree, the walk decides from the directory entry what each entry is: regular
//!   files become work items; FIFOs, sockets and devices become warnings and are never
//!   opened (opening a FIFO blocks); symbolic links are left alone unless `-L` is given,
//!   as `find PATH -type f` does.
//! - Directories are walked through descriptors: each level is opened relative to its
//!   parent's descriptor with `O_NOFOLLOW | O_DIRECTORY`, entries are read and stat'ed
//!   through it. A directory swapped for a symbolic link while we walk is therefore never
//!   entered, and each file carries the identity (device, inode) the walk saw, which the
//!   worker checks on the file it opens ([`Seen`]): a path that leads somewhere else by the
//!   time it is opened is refused, never hashed under the tree's name.
//! - Walk failures (an unreadable directory, a loop under `-L`) become items too, so they
//!   are reported in their place in the order.
//! - Descriptors are bounded: at most [`open_dirs`] of the directories being walked stay
//!   open (the deepest ones). An ancestor's entries are read before its child is entered,
//!   so closing it loses nothing; when the walk climbs back to it, it is opened again from
//!   the nearest open ancestor, one component at a time with the same flags, and must be
//!   the directory it was ((device, inode) taken when it was closed), or it is reported as
//!   replaced. So a tree 2,000 levels deep, or `ulimit -n 16`, is walked as `find` walks
//!   it (with a descriptor per level, both failed with "Too many open files").

use std::ffi::{CStr, OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};

use super::held::HeldFd;
use super::turns::{self, Stream};
use super::version::Version;
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
    /// Only this shard's items (`--shard`; see [`crate::shard`]).
    pub shard: Option<crate::shard::Shard>,
    /// Where the walk opens small files for the workers, if it does (see
    /// [`super::held`]); `None`: it `stat`s them and the workers open them by name.
    pub held: Option<std::sync::Arc<super::held::Budget>>,
    /// (device, inode) of the regular file standard output writes to: met inside a tree,
    /// it is skipped with a warning. `phash . > SUMS` hashed its own list as it grew, and
    /// failed at random with "file changed size while being read" (or, when the list came
    /// first, listed it as empty, for the next `phash -c` to call FAILED).
    pub output: Option<(u64, u64)>,
}

/// What the walk saw of a file inside a tree: the worker opens the path, reads at most
/// this size, and checks it got this very file, unchanged (see [`Version`]); the size also
/// groups small files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The walk's `stat` of the file.
    pub version: Version,
    /// The last component must not be a symbolic link (no `-L`).
    pub nofollow: bool,
}

impl Seen {
    /// Size when the walk saw it.
    pub fn size(&self) -> u64 {
        self.version.len
    }

    /// What the walk would see of the file at `p` now (its `statat`, no link followed):
    /// for tests of the workers.
    #[cfg(test)]
    pub(crate) fn of(p: &Path) -> Seen {
        let st =
            rustix::fs::statat(rustix::fs::CWD, p, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).unwrap();
        Seen {
            version: Version::from_stat(&st),
            nofollow: true,
        }
    }
}

/// One thing for a worker to do, or a problem to report in its place.
#[derive(Debug)]
pub enum Item {
    /// A regular file found inside a walked tree (or a link to one, with `-L`), and its
    /// descriptor when the walk opened it (see [`super::held`]).
    File {
        path: PathBuf,
        seen: Seen,
        held: Option<HeldFd>,
    },
    /// An operand that is not a directory: read as md5sum reads it, whatever it is;
    /// `stream` if it may share its position with another operand ([`super::turns`]).
    Named {
        path: PathBuf,
        stream: Option<Stream>,
    },
    /// Standard input (`-`), and its stream ([`super::turns`]).
    Stdin { stream: Option<Stream> },
    /// Something found by the walk that is reported instead of hashed.
    Problem(HashError),
}

/// The `--exclude` globs, sorted by what they may match. A glob matches an entry's name or
/// its path below the operand; as in gitignore and rsync, one that starts with `/` (or
/// `./`) matches only that path, and one that ends with `/` only directories. Those
/// forms matched nothing before, silently (`--exclude node_modules/`).
#[derive(Debug, Default)]
pub struct Excludes {
    /// Name or path, any entry.
    any: GlobSet,
    /// Path below the operand, any entry.
    anchored: GlobSet,
    /// Name or path, directories.
    dirs: GlobSet,
    /// Path below the operand, directories.
    dirs_anchored: GlobSet,
}

impl Excludes {
    /// Whether an entry at `path` (`rel`: below the operand) is excluded; `dir`: it is a
    /// directory (asked again once that is known, for the directory-only globs).
    fn matches(&self, path: &Path, rel: Option<&Path>, dir: bool) -> bool {
        let (any, anchored) = match dir {
            false => (&self.any, &self.anchored),
            true => (&self.dirs, &self.dirs_anchored),
        };
        path.file_name().is_some_and(|n| any.is_match(n))
            || rel.is_some_and(|r| any.is_match(r) || anchored.is_match(r))
    }

    /// Whether an operand is excluded: by its own name, or (a pattern with a `/`) by the
    /// whole of it as typed (`--exclude logs/x.log logs/x.log`, as tar takes it); a trailing
    /// `/` (tab completion's) and a leading `./` do not count.
    fn operand(&self, path: &Path, dir: bool) -> bool {
        let any = if dir { &self.dirs } else { &self.any };
        let whole = path.strip_prefix("./").unwrap_or(path);
        self.matches(path, None, dir) || any.is_match(whole.components().as_path())
    }

    fn is_empty(&self) -> bool {
        self.any.is_empty()
            && self.anchored.is_empty()
            && self.dirs.is_empty()
            && self.dirs_anchored.is_empty()
    }
}

/// Compiles the `--exclude` globs (see [`Excludes`]). `*` does not cross `/`.
pub fn compile_excludes(globs: &[String]) -> Result<Excludes, HashError> {
    let mut sets: [GlobSetBuilder; 4] = std::array::from_fn(|_| GlobSetBuilder::new());
    for g in globs {
        let bad = |source| HashError::BadGlob {
            glob: g.clone(),
            source,
        };
        let (body, anchored) = match g.strip_prefix("./").or_else(|| g.strip_prefix('/')) {
            Some(rest) => (rest, true),
            None => (g.as_str(), false),
        };
        let (body, dir_only) = match body.strip_suffix('/') {
            Some(rest) => (rest, true),
            None => (body, false),
        };
        if body.is_empty() {
            return Err(HashError::EmptyGlob { glob: g.clone() });
        }
        let glob = GlobBuilder::new(body)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(bad)?;
        sets[usize::from(anchored) + 2 * usize::from(dir_only)].add(glob.clone());
        if !dir_only {
            // What excludes any entry excludes a directory too.
            sets[usize::from(anchored) + 2].add(glob);
        }
    }
    let [any, anchored, dirs, dirs_anchored] = sets.map(|b| {
        b.build().map_err(|source| HashError::BadGlob {
            glob: globs.join(" "),
            source,
        })
    });
    Ok(Excludes {
        any: any?,
        anchored: anchored?,
        dirs: dirs?,
        dirs_anchored: dirs_anchored?,
    })
}

/// One directory being walked: its descriptor (while open), its path, its sorted entries
/// not yet visited.
struct Frame {
    /// `None` while closed to stay within [`open_dirs`]; opened again before use.
    dir: Option<Dir>,
    path: PathBuf,
    /// Depth of this directory's entries below the operand (1 for the operand's own).
    depth: usize,
    /// (device, inode) of the directory: for loop detection under `-L` and
    /// `--one-file-system`, and taken before its descriptor is closed, to check it is
    /// opened again as itself.
    id: Option<(u64, u64)>,
    /// Entered through a symbolic link (`-L`): opened again following it.
    followed: bool,
    entries: std::vec::IntoIter<(Vec<u8>, FileType)>,
}

/// How many directory descriptors the walk keeps open at most: a sixteenth of the soft
/// `ulimit -n` (the rest is the workers' and the output's), between 1 and 64. Deeper
/// trees close their shallowest open directories, whose entries are already read.
pub fn open_dirs() -> usize {
    (crate::fdtable::soft_limit() / 16).clamp(1, 64) as usize
}

/// The walk over all operands, as an iterator of [`Item`]s. Stops early (ends) when
/// `stop` is raised or an interrupt arrives.
pub struct Walk<'a> {
    roots: std::slice::Iter<'a, OsString>,
    opts: &'a WalkOptions,
    excludes: &'a Excludes,
    stop: &'a AtomicBool,
    root: PathBuf,
    root_dev: u64,
    stack: Vec<Frame>,
    /// [`open_dirs`], read once.
    most_open: usize,
}

impl<'a> Walk<'a> {
    /// A walk over `roots` in order.
    pub fn new(
        roots: &'a [OsString],
        opts: &'a WalkOptions,
        excludes: &'a Excludes,
        stop: &'a AtomicBool,
    ) -> Walk<'a> {
        Walk {
            roots: roots.iter(),
            opts,
            excludes,
            stop,
            root: PathBuf::new(),
            root_dev: 0,
            stack: Vec::new(),
            most_open: open_dirs(),
        }
    }

    /// The same walk keeping at most `most_open` directories open (tests).
    #[cfg(test)]
    fn with_most_open(mut self, most_open: usize) -> Self {
        self.most_open = most_open.max(1);
        self
    }

    fn start(&mut self, root: &OsStr) -> Option<Item> {
        if root == "-" {
            return Some(Item::Stdin {
                stream: turns::stdin(),
            });
        }
        let path = PathBuf::from(root);
        // An operand an exclude matches (its name, or all of it) is left out, as tar
        // leaves it out: `phash --exclude '*.log' /var/app/*` hashed the logs the shell
        // named.
        let named_out = |dir| self.excludes.operand(&path, dir);
        // The operand is followed, as md5sum follows it. Anything but a directory (or a
        // path that cannot be looked at: the open will say why) is the worker's.
        let st = match rustix::fs::stat(&path) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => st,
            _ if named_out(false) => return None,
            found => {
                let stream = found.ok().as_ref().and_then(turns::shared);
                return Some(Item::Named { path, stream });
            }
        };
        if named_out(false) || named_out(true) {
            return None;
        }
        if self.opts.max_depth == Some(0) {
            // Not walked: md5sum's "Is a directory" comes from the worker.
            return Some(Item::Named { path, stream: None });
        }
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        match rustix::fs::open(&path, flags, Mode::empty()) {
            Ok(fd) => {
                self.root = path.clone();
                self.root_dev = st.st_dev;
                self.push(fd, path, 1, Some((st.st_dev, st.st_ino)), true)
            }
            Err(e) => Some(dir_error(path, e)),
        }
    }

    /// Reads a directory's entries and makes it the current one; a problem reading it is
    /// returned for reporting.
    fn push(
        &mut self,
        fd: OwnedFd,
        path: PathBuf,
        depth: usize,
        id: Option<(u64, u64)>,
        followed: bool,
    ) -> Option<Item> {
        let (dir, entries) = match read_sorted(fd) {
            Ok(x) => x,
            Err(e) => return Some(dir_error(path, e)),
        };
        self.stack.push(Frame {
            dir: Some(dir),
            path,
            depth,
            id,
            followed,
            entries: entries.into_iter(),
        });
        self.close_shallowest();
        None
    }

    /// Closes the shallowest open directories until at most `most_open` are open, each
    /// after taking its identity (a directory that cannot be stat'ed stays open).
    fn close_shallowest(&mut self) {
        let mut open = self.stack.iter().filter(|f| f.dir.is_some()).count();
        for frame in &mut self.stack {
            if open <= self.most_open {
                break;
            }
            let Some(dir) = &frame.dir else { continue };
            if frame.id.is_none() {
                match dir.fd().and_then(rustix::fs::fstat) {
                    Ok(st) => frame.id = Some((st.st_dev, st.st_ino)),
                    Err(_) => continue,
                }
            }
            frame.dir = None;
            open -= 1;
        }
    }

    /// Opens the current directory again if it was closed: from its nearest open ancestor
    /// (or the operand's path) down, each level checked to be the directory it was.
    fn reopen(&mut self) -> Result<(), Item> {
        let top = self.stack.len() - 1;
        if self.stack[top].dir.is_some() {
            return Ok(());
        }
        let first = self.stack[..top]
            .iter()
            .rposition(|f| f.dir.is_some())
            .map_or(0, |i| i + 1);
        for i in first..=top {
            let frame = &self.stack[i];
            let fail = |e| dir_error(frame.path.clone(), e);
            let opened = if i == 0 {
                // The operand, followed as when the walk started.
                let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                rustix::fs::open(&frame.path, flags, Mode::empty())
            } else {
                let parent = self.stack[i - 1]
                    .dir
                    .as_ref()
                    .expect("opened on the way down");
                let mut flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                if !frame.followed {
                    flags |= OFlags::NOFOLLOW;
                }
                let name = frame
                    .path
                    .file_name()
                    .expect("a directory below the operand");
                parent
                    .fd()
                    .and_then(|fd| rustix::fs::openat(fd, name, flags, Mode::empty()))
            };
            let fd = opened.map_err(fail)?;
            let st = rustix::fs::fstat(&fd).map_err(fail)?;
            if frame.id != Some((st.st_dev, st.st_ino)) {
                let path = frame.path.clone();
                return Err(Item::Problem(HashError::Replaced { path }));
            }
            let dir = Dir::new(fd).map_err(fail)?;
            self.stack[i].dir = Some(dir);
            self.close_shallowest();
        }
        Ok(())
    }

    /// Opens the regular file `name` for a worker and `fstat`s it (see [`super::held`]):
    /// `None` (nothing held, nothing counted) when the walk does not hold files, when it
    /// is told to stop while waiting for a free descriptor, when the file cannot be
    /// opened (the worker's `open` by name will say why), or when it is not a small
    /// regular file.
    fn open_small(
        &self,
        dirfd: std::os::fd::BorrowedFd<'_>,
        name: &CStr,
    ) -> Option<(HeldFd, Stat)> {
        let budget = self.opts.held.as_ref()?;
        if !budget.acquire(self.stop) {
            return None;
        }
        let flags =
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let opened = rustix::fs::openat(dirfd, name, flags, Mode::empty())
            .and_then(|fd| rustix::fs::fstat(&fd).map(|st| (fd, st)));
        // Counted from here: dropping it gives the place back.
        let (fd, st) = match opened {
            Ok((fd, st)) => (HeldFd::new(fd, budget.clone()), st),
            Err(e) => {
                if e == rustix::io::Errno::MFILE || e == rustix::io::Errno::NFILE {
                    // Descriptors the budget did not see (opened since by others): hold
                    // no more this run, and leave this file's open to its worker, by
                    // when those held now are closed.
                    budget.close();
                }
                budget.release();
                return None;
            }
        };
        let small = st.st_size as u64 <= super::units::STREAMED;
        (FileType::from_raw_mode(st.st_mode) == FileType::RegularFile && small).then_some((fd, st))
    }

    fn excluded(&self, path: &Path, dir: bool) -> bool {
        if self.excludes.is_empty() {
            return false;
        }
        let rel = path.strip_prefix(&self.root).ok();
        self.excludes.matches(path, rel, dir)
    }

    /// Looks at one entry of the current directory: an item to emit, a directory to
    /// descend into (pushed; `None`), or nothing.
    fn visit(&mut self, name: Vec<u8>, mut kind: FileType) -> Option<Item> {
        let frame = self.stack.last().expect("visit needs a current directory");
        let path = frame.path.join(OsStr::from_bytes(&name));
        if self.excluded(&path, false) {
            return None;
        }
        let depth = frame.depth;
        let name = std::ffi::CString::new(name).expect("directory entries have no NUL");
        let dir = frame.dir.as_ref().expect("the current directory is open");
        let dirfd = match dir.fd() {
            Ok(fd) => fd,
            Err(e) => return Some(walk_error(path, e)),
        };
        let stat_at = |flags| rustix::fs::statat(dirfd, name.as_c_str(), flags);
        let mut follow = false;
        let mut st: Option<Stat> = None;
        if kind == FileType::Unknown {
            match stat_at(AtFlags::SYMLINK_NOFOLLOW) {
                Ok(s) => {
                    kind = FileType::from_raw_mode(s.st_mode);
                    st = Some(s);
                }
                Err(e) => return Some(walk_error(path, e)),
            }
        }
        if kind == FileType::Symlink {
            if !self.opts.follow {
                // Not followed inside trees, as for `find -type f`.
                return None;
            }
            follow = true;
            match stat_at(AtFlags::empty()) {
                Ok(s) => {
                    kind = FileType::from_raw_mode(s.st_mode);
                    st = Some(s);
                }
                Err(rustix::io::Errno::NOENT) => {
                    return Some(Item::Problem(HashError::Dangling { path }))
                }
                Err(e) => return Some(walk_error(path, e)),
            }
        }
        match kind {
            FileType::RegularFile => {
                let mut held = None;
                let st = match st {
                    Some(s) => s,
                    None => match self.open_small(dirfd, &name) {
                        Some((fd, s)) => {
                            held = Some(fd);
                            s
                        }
                        None => match stat_at(AtFlags::SYMLINK_NOFOLLOW) {
                            Ok(s) => s,
                            Err(e) => return Some(walk_error(path, e)),
                        },
                    },
                };
                if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                    // Replaced since the directory was read: look again next run.
                    return Some(walk_error(path, rustix::io::Errno::NOENT));
                }
                let version = Version::from_stat(&st);
                if self.opts.output == Some((version.dev, version.ino)) {
                    return Some(Item::Problem(HashError::IsOutput { path }));
                }
                Some(Item::File {
                    path,
                    seen: Seen {
                        version,
                        nofollow: !follow,
                    },
                    held,
                })
            }
            FileType::Directory => {
                if self.opts.max_depth.is_some_and(|m| depth >= m) || self.excluded(&path, true) {
                    return None;
                }
                let mut flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
                if !follow {
                    flags |= OFlags::NOFOLLOW;
                }
                let fd = match rustix::fs::openat(dirfd, name.as_c_str(), flags, Mode::empty()) {
                    Ok(fd) => fd,
                    Err(e) => return Some(dir_error(path, e)),
                };
                // Identities are needed for loops (-L) and file system boundaries here;
                // otherwise only when the directory is closed (`close_shallowest`).
                let mut id = None;
                if self.opts.one_file_system || self.opts.follow {
                    let st = match rustix::fs::fstat(&fd) {
                        Ok(s) => s,
                        Err(e) => return Some(dir_error(path, e)),
                    };
                    if self.opts.one_file_system && st.st_dev != self.root_dev {
                        return None;
                    }
                    id = Some((st.st_dev, st.st_ino));
                    if let Some(a) = self.stack.iter().find(|f| f.id == id) {
                        return Some(Item::Problem(HashError::Loop {
                            path,
                            ancestor: a.path.clone(),
                        }));
                    }
                }
                self.push(fd, path, depth + 1, id, follow)
            }
            other => Some(Item::Problem(HashError::Special {
                path,
                kind: special(other)?,
            })),
        }
    }
}

impl Iterator for Walk<'_> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if self.stop.load(Ordering::Relaxed) || crate::cancel::interrupted() {
                return None;
            }
            if let Some(frame) = self.stack.last_mut() {
                match frame.entries.next() {
                    Some((name, kind)) => {
                        if let Err(problem) = self.reopen() {
                            // Its other entries are not walked: it is not the same directory.
                            self.stack.pop();
                            return Some(problem);
                        }
                        if let Some(item) = self.visit(name, kind) {
                            return Some(item);
                        }
                    }
                    None => {
                        self.stack.pop();
                    }
                }
                continue;
            }
            let root = self.roots.next()?;
            if let Some(item) = self.start(root) {
                return Some(item);
            }
        }
    }
}

/// Reads a directory's entries (without `.` and `..`), sorted by name bytes; the `Dir`
/// stays open as the handle its entries are opened through.
#[allow(clippy::type_complexity)]
fn read_sorted(fd: OwnedFd) -> rustix::io::Result<(Dir, Vec<(Vec<u8>, FileType)>)> {
    let mut dir = Dir::new(fd)?;
    let mut entries = Vec::new();
    while let Some(e) = dir.read() {
        let e = e?;
        let name: &CStr = e.file_name();
        let bytes = name.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        entries.push((bytes.to_vec(), e.file_type()));
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok((dir, entries))
}

/// `--shard`: the walk's items this shard does. Every shard sees the whole walk in the
/// same order and places each item by the rule of [`crate::shard::Balancer`]: a file by
/// its path below its operand (so `t`, `./t` and `/abs/t` divide a tree alike) and its
/// size; an operand and a problem by its path, so each problem is reported by one shard.
pub fn sharded<'a>(
    mut walk: Walk<'a>,
    shard: Option<crate::shard::Shard>,
) -> impl Iterator<Item = Item> + 'a {
    let mut balancer = shard.map(crate::shard::Balancer::new);
    std::iter::from_fn(move || loop {
        let item = walk.next()?;
        let Some(b) = balancer.as_mut() else {
            return Some(item);
        };
        let below = |p: &'_ Path| -> Vec<u8> {
            let rel = p.strip_prefix(&walk.root).unwrap_or(p);
            rel.as_os_str().as_bytes().to_vec()
        };
        let keep = match &item {
            Item::File { path, seen, .. } => b.keeps(&below(path), Some(seen.size())),
            Item::Named { path, .. } => b.keeps(path.as_os_str().as_bytes(), None),
            Item::Stdin { .. } => b.keeps(b"-", None),
            Item::Problem(e) => b.keeps(&e.path().map(below).unwrap_or_default(), None),
        };
        if keep {
            return Some(item);
        }
    })
}

/// The walk could not look at the entry `path`.
fn walk_error(path: PathBuf, e: rustix::io::Errno) -> Item {
    Item::Problem(HashError::Walk {
        path,
        source: e.into(),
        dir: false,
    })
}

/// The walk could not open or read the directory `path`: none of its files are hashed.
fn dir_error(path: PathBuf, e: rustix::io::Errno) -> Item {
    Item::Problem(HashError::Walk {
        path,
        source: e.into(),
        dir: true,
    })
}

/// What kind of special file this is, for the "skipped" warning; `None` for regular files,
/// directories and links.
pub(super) fn special(ft: FileType) -> Option<&'static str> {
    match ft {
        FileType::Fifo => Some("a FIFO"),
        FileType::Socket => Some("a socket"),
        FileType::BlockDevice => Some("a block device"),
        FileType::CharacterDevice => Some("a character device"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(root: &Path, opts: &WalkOptions) -> Vec<String> {
        let ex = compile_excludes(&opts.exclude).unwrap();
        let roots = [root.as_os_str().to_owned()];
        let stop = AtomicBool::new(false);
        Walk::new(&roots, opts, &ex, &stop)
            .filter_map(|it| match it {
                Item::File { path, .. } => {
                    Some(path.strip_prefix(root).unwrap().display().to_string())
                }
                _ => None,
            })
            .collect()
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

    #[test]
    fn files_carry_the_identity_the_walk_saw() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"12345").unwrap();
        let md = std::fs::metadata(&p).unwrap();
        let roots = [d.path().as_os_str().to_owned()];
        let (ex, stop) = (Excludes::default(), AtomicBool::new(false));
        let opts = WalkOptions::default();
        let items: Vec<Item> = Walk::new(&roots, &opts, &ex, &stop).collect();
        match &items[..] {
            [Item::File { path, seen, .. }] => {
                assert_eq!(path, &p);
                assert_eq!(seen.version, Version::from(&md));
                assert_eq!(seen.size(), 5);
                assert!(seen.nofollow);
            }
            other => panic!("{other:?}"),
        }
    }

    /// A chain `t/a/a/.../a` 30 levels deep with a file `z` (after `a` in the order) at
    /// every level, so the walk climbs back into every closed directory.
    fn chain(root: &Path) -> PathBuf {
        let mut dir = root.join("t");
        for i in 0..30 {
            std::fs::create_dir_all(dir.join("a")).unwrap();
            std::fs::write(dir.join("z"), format!("{i}")).unwrap();
            dir = dir.join("a");
        }
        root.join("t")
    }

    fn items(root: &Path, most_open: usize) -> Vec<Item> {
        let roots = [root.as_os_str().to_owned()];
        let (ex, stop) = (Excludes::default(), AtomicBool::new(false));
        let opts = WalkOptions::default();
        Walk::new(&roots, &opts, &ex, &stop)
            .with_most_open(most_open)
            .collect()
    }

    #[test]
    fn a_tree_deeper_than_the_open_directories_is_walked_whole_in_the_same_order() {
        let d = tempfile::tempdir().unwrap();
        let t = chain(d.path());
        let all = |most_open| -> Vec<String> {
            items(&t, most_open)
                .into_iter()
                .map(|it| match it {
                    Item::File { path, .. } => path.strip_prefix(&t).unwrap().display().to_string(),
                    other => panic!("most_open {most_open}: {other:?}"),
                })
                .collect()
        };
        let wide = all(64);
        assert_eq!(wide.len(), 30);
        assert_eq!(wide[0], format!("{}z", "a/".repeat(29)));
        assert_eq!(wide[29], "z");
        for most_open in [1, 2, 7] {
            assert_eq!(all(most_open), wide, "most_open {most_open}");
        }
    }

    #[test]
    fn a_closed_directory_replaced_before_the_walk_climbs_back_is_reported_not_walked() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("t");
        std::fs::create_dir_all(t.join("a/b/c")).unwrap();
        std::fs::write(t.join("a/b/c/f"), b"f").unwrap();
        std::fs::write(t.join("a/b/z"), b"z").unwrap();
        let roots = [t.as_os_str().to_owned()];
        let (ex, stop) = (Excludes::default(), AtomicBool::new(false));
        let opts = WalkOptions::default();
        let mut walk = Walk::new(&roots, &opts, &ex, &stop).with_most_open(1);
        match walk.next() {
            Some(Item::File { path, .. }) => assert_eq!(path, t.join("a/b/c/f")),
            other => panic!("{other:?}"),
        }
        // `a/b` is closed now (only `c` is open); swap in another directory with a `z`.
        std::fs::rename(t.join("a/b"), t.join("old")).unwrap();
        std::fs::create_dir_all(t.join("a/b")).unwrap();
        std::fs::write(t.join("a/b/z"), b"other").unwrap();
        match walk.next() {
            Some(Item::Problem(HashError::Replaced { path })) => assert_eq!(path, t.join("a/b")),
            other => panic!("{other:?}"),
        }
        // Nothing more: `a/b`'s other entries are not walked, `old` was not in `t`'s list.
        assert!(walk.next().is_none());
    }
}
