//! Running a plan: directories first (serially, they are cheap and order matters), then
//! every regular file through the worker pool, biggest first, then symlinks (last, so no
//! worker can ever write through one), then the modes and times of the directories this
//! run created (deepest first, after everything inside them exists; directories that
//! existed before are left as they were, as Info-ZIP does). Test mode runs the same
//! member path with a sink instead of a file.
//!
//! This file holds the phases and the scheduling; one member is [`member`], the zip
//! crate's errors are read in [`zip_errors`], directory handles live in [`dirs`], and a
//! truncated archive is survived by [`crate::sigbus`].

mod dirs;
mod member;
mod tree;
mod zip_errors;

pub(crate) use member::truncated;

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroUsize;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::fsops;
use super::meta::Kind;
use super::plan::{Archive, Member, Plan, Reader};
use crate::error::{Error, ExitStatus, Result};
use crate::pool;
use crate::totals::Totals;
use dirs::DirCache;
use member::{Ctx, Worker};

/// What to do about files that already exist in DEST.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Overwrite {
    /// List the conflicts and write nothing (the default).
    #[default]
    Refuse,
    /// Replace them (`-o`), once the new content is verified.
    Replace,
    /// Keep them and skip those members (`-n`).
    Skip,
}

/// How to run a plan.
#[derive(Clone, Debug)]
pub struct Options {
    pub dest: PathBuf,
    pub jobs: NonZeroUsize,
    pub overwrite: Overwrite,
    pub password: Option<Vec<u8>>,
    /// Passwords of members that `password` does not fit, by archive index (an archive
    /// whose members were encrypted with different passwords: unzip asks for each).
    pub member_passwords: HashMap<usize, Vec<u8>>,
    /// Decompress and check only; write nothing.
    pub test_only: bool,
    /// Refuse to start if the declared output is larger than this.
    pub max_size: Option<u64>,
    /// Check the declared output against the free space of DEST's file system.
    pub check_free_space: bool,
    /// Create symlinks whose target leaves DEST (refused by default).
    pub allow_unsafe_links: bool,
    /// The umask, read once before any thread starts.
    pub umask: u32,
    /// Flush each file's data to disk before it takes its final name, and every
    /// directory written to at the end (`--fsync`).
    pub fsync: bool,
    /// Told of file members' bytes as they are decoded (a progress bar).
    pub on_bytes: Option<OnBytes>,
}

/// Told how many more bytes of a file member were decoded, on the worker's thread: what
/// moves a progress bar through one long member. Every byte of every file member that
/// decodes is told once: chunk by chunk for members streamed or read through the zip
/// crate, all at once for members decoded in one step.
#[derive(Clone)]
pub struct OnBytes(pub std::sync::Arc<dyn Fn(u64) + Send + Sync>);

impl std::fmt::Debug for OnBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnBytes")
    }
}

impl Options {
    /// The password to decrypt `m` with: its own, else the run's.
    pub fn password_for(&self, m: &Member) -> Option<&[u8]> {
        self.member_passwords
            .get(&m.index)
            .or(self.password.as_ref())
            .map(Vec::as_slice)
    }

    /// Defaults for extracting into `dest`.
    pub fn new(dest: impl Into<PathBuf>) -> Options {
        Options {
            dest: dest.into(),
            jobs: pool::default_jobs(),
            overwrite: Overwrite::Refuse,
            password: None,
            member_passwords: HashMap::new(),
            test_only: false,
            max_size: None,
            check_free_space: true,
            allow_unsafe_links: false,
            umask: 0o022,
            fsync: false,
            on_bytes: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub totals: Totals,
    /// Every failure, planning refusals first, then in member order.
    pub errors: Vec<Error>,
    pub elapsed: Duration,
}

impl Outcome {
    /// The Info-ZIP exit status of the run.
    pub fn exit_code(&self) -> i32 {
        ExitStatus::worst(self.errors.iter().map(Error::status)).code()
    }
}

/// Progress reported to the caller's thread as members finish.
pub enum Event<'a> {
    /// A member was extracted (or tested), or failed.
    Done(&'a Member, &'a Result<Totals>),
    /// A member was skipped because its target exists (`-n`).
    Kept(&'a Member),
    /// A problem not tied to one finished member (a conflict, a directory's metadata,
    /// an interrupt). Also kept in [`Outcome::errors`].
    Problem(&'a Error),
}

/// Runs `plan` on `archive`, calling `on_event` on this thread as members finish.
pub fn extract(
    archive: &Archive,
    reader: &Reader<'_>,
    plan: &Plan,
    opts: &Options,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Outcome> {
    let start = Instant::now();
    let mut out = Outcome::default();
    let stop = AtomicBool::new(false);
    let guard = crate::sigbus::Guard::new(archive.bytes());

    // Refusals come before DEST is created: a refused run leaves no trace.
    check_size(archive, plan, opts)?;
    let root = if opts.test_only {
        None
    } else {
        std::fs::create_dir_all(&opts.dest)
            .map_err(|e| Error::io(&opts.dest, "cannot create destination", e))?;
        Some(fsops::open_root(&opts.dest).map_err(|e| Error::io(&opts.dest, "cannot open", e))?)
    };

    // Existing files: decided for the whole run before anything is written. A DEST that
    // is empty (the common case) has none, and is not searched.
    let mut keep = BTreeSet::new();
    if let Some(root) = root.as_ref().filter(|_| !dir_is_empty(&opts.dest)) {
        match conflicts(root, plan, opts) {
            Err(e) => {
                on_event(Event::Problem(&e));
                out.errors.push(e);
                out.elapsed = start.elapsed();
                return Ok(out);
            }
            Ok((found, _)) if !found.is_empty() => {
                found.iter().for_each(|e| on_event(Event::Problem(e)));
                out.errors = found;
                out.elapsed = start.elapsed();
                return Ok(out);
            }
            Ok((_, skip_set)) => keep = skip_set,
        }
    }
    for m in plan.members.iter().filter(|m| keep.contains(&m.index)) {
        out.totals.skipped += 1;
        on_event(Event::Kept(m));
    }

    let ctx = Ctx {
        opts,
        archive,
        bytes: archive.bytes(),
        root,
        stop: &stop,
        guard: &guard,
        fast_max: crate::memlimit::share(super::fast::FAST_MAX, opts.jobs.get()),
    };

    // 1. Directories, in sorted order: every directory member and every parent of a
    // member, each created and opened once.
    // (None for -t, which makes none.)
    let dir_paths = match ctx.root {
        Some(_) => tree::member_dirs(plan, false),
        None => BTreeSet::new(),
    };
    let needed = tree::Needed::new(&dir_paths);
    // Each directory member with its place in `needed`, found once (its components are
    // built to find it), for the three uses below.
    let dir_places: Vec<(&Member, Option<usize>)> = plan
        .members
        .iter()
        .filter(|m| m.kind == Kind::Dir)
        .map(|m| (m, needed.index(&m.parts())))
        .collect();
    let mut created = BTreeSet::new();
    if let Some(root) = &ctx.root {
        match tree::make_dirs(root, plan, opts, &needed) {
            Ok(made) => {
                for &(m, place) in &dir_places {
                    let failed = place.and_then(|i| made.failed.get(&i));
                    let r = match failed {
                        None => Ok(Totals {
                            dirs: 1,
                            ..Totals::default()
                        }),
                        Some(e) => Err(dir_failure(opts.dest.join(m.rel_path()), e)),
                    };
                    record(&mut out, m, r, &stop, on_event);
                }
                // Directories no member names (parents), each shallowest one that failed:
                // the members inside say only that they cannot open it.
                let named: BTreeSet<usize> = dir_places.iter().filter_map(|&(_, p)| p).collect();
                for (parts, e) in made.shallowest_failures(&needed) {
                    if needed.index(parts).is_some_and(|i| named.contains(&i)) {
                        continue;
                    }
                    let path = opts.dest.join(super::names::to_path(parts));
                    let e = dir_failure(path, e);
                    on_event(Event::Problem(&e));
                    out.errors.push(e);
                }
                // Nothing more can be written there: stop, as on a full disk, rather than
                // fail every member inside with "No such file or directory".
                if out.errors.iter().any(Error::is_fatal) {
                    stop.store(true, Ordering::Relaxed);
                }
                created = made.created;
            }
            Err(Error::Interrupted) => stop.store(true, Ordering::Relaxed),
            Err(e) => return Err(e),
        }
    }

    // Members whose names differ only in case from an earlier one's wait for 3b. (A test
    // writes nothing: it needs no order.)
    let later = |m: &&Member| opts.test_only || !plan.case_twins.contains(&m.index);

    // 2. Regular files (and, in test mode, links), biggest first.
    let mut work: Vec<&Member> = plan
        .members
        .iter()
        .filter(|m| !keep.contains(&m.index))
        .filter(|m| m.kind == Kind::File || (opts.test_only && m.kind == Kind::Symlink))
        .filter(later)
        .collect();
    schedule(&mut work);
    run_members(&ctx, reader, &work, opts.jobs, &mut out, on_event);

    // 3. Symlinks, after every regular file.
    if !opts.test_only {
        let links: Vec<&Member> = plan
            .members
            .iter()
            .filter(|m| m.kind == Kind::Symlink && !keep.contains(&m.index))
            .filter(later)
            .collect();
        run_members(&ctx, reader, &links, opts.jobs, &mut out, on_event);

        // 3b. The case twins, one at a time in archive order: on a disk where names fold
        // they are one file, and the one that stays must not depend on which worker
        // finished last (the first with -n, the last with -o, as unzip and -j1 leave it).
        let twins: Vec<&Member> = plan
            .members
            .iter()
            .filter(|m| plan.case_twins.contains(&m.index) && !keep.contains(&m.index))
            .filter(|m| matches!(m.kind, Kind::File | Kind::Symlink))
            .collect();
        run_members(&ctx, reader, &twins, NonZeroUsize::MIN, &mut out, on_event);
    }

    // 4. Modes and times of the directories this run created, children before parents
    // (reverse sorted order), once nothing more is written in them; then, with --fsync,
    // every directory that received an entry.
    if let Some(root) = &ctx.root {
        let dir_members: HashMap<usize, &Member> = dir_places
            .iter()
            .filter_map(|&(m, place)| Some((place?, m)))
            .collect();
        let mut dirs = DirCache::new(root);
        for &i in created.iter().rev() {
            let Some(m) = dir_members.get(&i) else {
                continue;
            };
            // A directory that cannot be opened was reported when it was created.
            if let Ok(fd) = dirs.open(needed.get(i)) {
                let unset = match fsops::set_meta(fd, Some(m.mode), m.mtime) {
                    Ok(None) => None,
                    Ok(Some((fsops::Unset::Mode, e))) => Some((crate::error::SET_DIR_MODE, e)),
                    Ok(Some((fsops::Unset::Time, e))) => Some((crate::error::SET_DIR_TIME, e)),
                    Ok(Some((_, e))) | Err(e) => Some((crate::error::SET_DIR_META, e)),
                };
                if let Some((op, e)) = unset {
                    let e = Error::io(opts.dest.join(m.rel_path()), op, e);
                    on_event(Event::Problem(&e));
                    out.errors.push(e);
                }
            }
        }
        if opts.fsync {
            if let Err(e) = sync_dirs(root, plan) {
                on_event(Event::Problem(&e));
                out.errors.push(e);
            }
        }
    }

    if guard.tripped()
        && !out
            .errors
            .iter()
            .any(|e| matches!(e, Error::BadArchive { .. }))
    {
        let e = member::truncated(archive, None);
        on_event(Event::Problem(&e));
        out.errors.push(e);
    }
    if crate::cancel::cut_short() {
        on_event(Event::Problem(&Error::Interrupted));
        out.errors.push(Error::Interrupted);
    }
    out.elapsed = start.elapsed();
    Ok(out)
}

/// `--max-size`, and when extracting, the free space of the file system DEST is (or
/// will be) on.
fn check_size(archive: &Archive, plan: &Plan, opts: &Options) -> Result<()> {
    let declared = plan.declared_size();
    if let Some(limit) = opts.max_size {
        if declared > limit {
            return Err(Error::TooLarge {
                path: archive.path.clone(),
                declared,
                limit,
            });
        }
    }
    if opts.check_free_space && !opts.test_only {
        if let Ok(free) = fsops::free_space(&opts.dest) {
            if declared > free {
                return Err(Error::NoSpace {
                    path: opts.dest.clone(),
                    need: declared,
                    free,
                });
            }
        }
    }
    Ok(())
}

/// Members whose target exists: errors (the default), or the set of members to skip
/// (`-n`). Stops at an interrupt.
fn conflicts(root: &OwnedFd, plan: &Plan, opts: &Options) -> Result<(Vec<Error>, BTreeSet<usize>)> {
    let mut found = Vec::new();
    let mut keep = BTreeSet::new();
    let by_path: Vec<&Member> = plan
        .members
        .iter()
        .filter(|m| m.kind != Kind::Dir)
        .collect();
    let mut by_path: Vec<(Vec<String>, &Member)> =
        by_path.into_iter().map(|m| (m.parts(), m)).collect();
    by_path.sort_by(|a, b| a.0.cmp(&b.0));
    let mut dirs = DirCache::new(root);
    for (i, (parts, m)) in by_path.into_iter().enumerate() {
        if i % 256 == 0 && crate::cancel::interrupted() {
            return Err(Error::Interrupted);
        }
        let (name, parent) = parts.split_last().expect("sanitized names are not empty");
        let exists = match dirs.open(parent) {
            Ok(dir) => !matches!(fsops::exists_at(dir, name), Ok(None)),
            Err(_) => false,
        };
        if exists {
            match opts.overwrite {
                Overwrite::Refuse => found.push(Error::Exists {
                    member: m.name.clone(),
                    path: opts.dest.join(m.rel_path()),
                }),
                Overwrite::Skip => {
                    keep.insert(m.index);
                }
                Overwrite::Replace => {}
            }
        }
    }
    Ok((found, keep))
}

/// The same error again (`io::Error` is not `Clone`): its errno, else its kind and text.
fn copy_error(e: &std::io::Error) -> std::io::Error {
    match e.raw_os_error() {
        Some(errno) => std::io::Error::from_raw_os_error(errno),
        None => std::io::Error::new(e.kind(), e.to_string()),
    }
}

/// A directory `make_dirs` could not make, or could not open: one that is there already
/// (a re-run as another user, a directory of mode 000) was said to be impossible to
/// create, which sent the user to its parent's permissions.
fn dir_failure(path: PathBuf, e: &std::io::Error) -> Error {
    let there = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
    let what = if there {
        "cannot open directory"
    } else {
        "cannot create directory"
    };
    Error::io(path, what, copy_error(e))
}

/// `--fsync`: flushes DEST and every directory below it that the plan wrote into.
fn sync_dirs(root: &OwnedFd, plan: &Plan) -> Result<()> {
    // Every directory that got an entry: the members' own, and each of their ancestors
    // (which got the entry of a directory this run may have created), DEST included.
    let mut all: BTreeSet<&[String]> = BTreeSet::new();
    let own = tree::member_dirs(plan, true);
    for parts in &own {
        for depth in 0..=parts.len() {
            all.insert(&parts[..depth]);
        }
    }
    let mut dirs = DirCache::new(root);
    for parts in all {
        if let Ok(fd) = dirs.open(parts) {
            rustix::fs::fsync(fd).map_err(|e| {
                Error::io(
                    crate::unzip::names::to_path(parts),
                    "cannot fsync",
                    e.into(),
                )
            })?;
        }
    }
    Ok(())
}

/// Members of 1 MiB and more first, biggest first, so that a large member does not finish
/// alone at the end; then the rest in archive order, which keeps a worker in the same
/// directory from one member to the next (its directory handle stays cached).
fn schedule(work: &mut [&Member]) {
    const BIG: u64 = 1 << 20;
    work.sort_by(|a, b| {
        let key = |m: &Member| {
            if m.size >= BIG {
                (0, u64::MAX - m.size, m.index)
            } else {
                (1, 0, m.index)
            }
        };
        key(a).cmp(&key(b))
    });
}

/// Whether `path` is a directory with no entries (errors count as not empty, so that the
/// careful path is taken).
fn dir_is_empty(path: &std::path::Path) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none())
}

fn record(
    out: &mut Outcome,
    m: &Member,
    r: Result<Totals>,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event<'_>),
) {
    // An interrupt is reported once for the run, and a member abandoned because of a
    // fatal error elsewhere is not a failure of its own: neither is reported per member.
    if let Err(Error::Interrupted | Error::Abandoned { .. }) = r {
        return;
    }
    on_event(Event::Done(m, &r));
    match r {
        Ok(t) => out.totals += t,
        Err(e) => {
            if e.is_fatal() {
                stop.store(true, Ordering::Relaxed);
            }
            out.totals.errors += 1;
            out.errors.push(e);
        }
    }
}

fn run_members(
    ctx: &Ctx<'_>,
    reader: &Reader<'_>,
    members: &[&Member],
    jobs: NonZeroUsize,
    out: &mut Outcome,
    on_event: &mut dyn FnMut(Event<'_>),
) {
    let runs = runs(members);
    pool::run(
        jobs,
        &runs,
        ctx.stop,
        || Worker::new(ctx, reader),
        |w, run| -> Vec<(Result<Totals>, Option<Error>)> {
            run.iter()
                .map(|m| (member::one_member(ctx, w, m), w.take_warning()))
                .collect()
        },
        |run, results| {
            for (m, (r, warning)) in run.iter().zip(results) {
                // With -n, a file that appeared since the run looked (another punzip into
                // the same DEST) is kept like any other: it failed the member, exit 1.
                if ctx.opts.overwrite == Overwrite::Skip && matches!(r, Err(Error::Exists { .. })) {
                    out.totals.skipped += 1;
                    on_event(Event::Kept(m));
                    continue;
                }
                record(out, m, r, ctx.stop, on_event);
                // Extracted, with what could not be set on it.
                if let Some(w) = warning {
                    on_event(Event::Problem(&w));
                    out.errors.push(w);
                }
            }
        },
    );
}

/// Members handed to a worker at once: up to this many... (32 cut context switches a
/// little more, but the pool keeps up to [`pool::WINDOW`] items in flight, and 32 results
/// per item made `punzip -t` on 64,000 members take 30-50 more bytes per member.)
const RUN_MEMBERS: usize = 8;
/// ...or this many compressed bytes (a member this big or bigger goes alone).
const RUN_BYTES: u64 = 1 << 20;

/// `members` cut into runs of neighbours, each one item of the pool: with one item per
/// member, the hand-over (a queue, a wake-up, an in-order delivery per member) cost about
/// as much as a small member's extraction. Runs keep the schedule's order.
fn runs<'a, 'm>(members: &'a [&'m Member]) -> Vec<&'a [&'m Member]> {
    let mut runs = Vec::with_capacity(members.len() / RUN_MEMBERS + 1);
    let mut rest = members;
    while !rest.is_empty() {
        let mut bytes = 0u64;
        let mut n = 0;
        while n < rest.len() && n < RUN_MEMBERS && (n == 0 || bytes < RUN_BYTES) {
            bytes = bytes.saturating_add(rest[n].compressed);
            n += 1;
        }
        let (run, tail) = rest.split_at(n);
        runs.push(run);
        rest = tail;
    }
    runs
}

#[cfg(test)]
mod tests {
    use zip::CompressionMethod;

    use super::*;

    fn member(index: usize, compressed: u64) -> Member {
        Member {
            index,
            size: compressed,
            compressed,
            method: CompressionMethod::Deflated,
            ..Member::named(&format!("m{index}"))
        }
    }

    #[test]
    fn runs_keep_every_member_once_in_order_and_a_big_member_alone() {
        let sizes: Vec<u64> = [5 << 20, 2 << 20]
            .into_iter()
            .chain((0..100).map(|i| 1000 + i * 7))
            .chain([900 << 10, 900 << 10, 10])
            .collect();
        let members: Vec<Member> = sizes
            .iter()
            .enumerate()
            .map(|(i, &s)| member(i, s))
            .collect();
        let refs: Vec<&Member> = members.iter().collect();
        let cut = runs(&refs);
        let flat: Vec<usize> = cut.iter().flat_map(|r| r.iter().map(|m| m.index)).collect();
        assert_eq!(flat, (0..members.len()).collect::<Vec<_>>());
        assert_eq!(cut[0].len(), 1, "a member over RUN_BYTES goes alone");
        assert_eq!(cut[1].len(), 1);
        assert!(cut.iter().all(|r| !r.is_empty() && r.len() <= RUN_MEMBERS));
        assert_eq!(cut[2].len(), RUN_MEMBERS, "small members fill a run");
        for r in &cut {
            let before_last: u64 = r[..r.len() - 1].iter().map(|m| m.compressed).sum();
            assert!(
                before_last < RUN_BYTES,
                "a run closes once it holds RUN_BYTES"
            );
        }
        assert!(runs(&[]).is_empty());
    }
}
