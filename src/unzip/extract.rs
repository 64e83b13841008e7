//! Running a plan: directories first (serially, they are cheap and order matters), then
//! every regular file through the worker pool, biggest first, then symlinks (last, so no
//! worker can ever write through one), then directory modes and times (deepest first,
//! after everything inside them exists). Test mode runs the same member path with a sink
//! instead of a file.
//!
//! One member = one work item: the worker opens the member's directory beneath DEST
//! without following links, writes to a temporary file, checks size and CRC, sets mode
//! and time, and renames into place. Each worker owns a clone of the zip reader over the
//! shared memory map and a buffer; results come back to the caller's thread in order.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read, Write};
use std::num::NonZeroUsize;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zip::result::ZipError;
use zip::ZipReadOptions;

use super::fast;
use super::fsops::{self, Replace, TempFile};
use super::meta::Kind;
use super::plan::{Archive, Member, Plan, Reader};
use crate::error::{self, Error, Result};
use crate::pool;
use crate::totals::Totals;

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
}

impl Options {
    /// Defaults for extracting into `dest`.
    pub fn new(dest: impl Into<PathBuf>) -> Options {
        Options {
            dest: dest.into(),
            jobs: pool::default_jobs(),
            overwrite: Overwrite::Refuse,
            password: None,
            test_only: false,
            max_size: None,
            check_free_space: true,
            allow_unsafe_links: false,
            umask: 0o022,
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
        error::worst(self.errors.iter().map(Error::exit_code))
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

const BUF_SIZE: usize = 256 * 1024;
/// Longest symlink target read from an archive (PATH_MAX).
const MAX_LINK: u64 = 4096;

/// Per-worker state.
struct Worker<'a> {
    zip: Reader<'a>,
    buf: Vec<u8>,
    /// The whole-member decoder for small stored and deflated members.
    fast: fast::Inflater,
    /// Open directory handles by relative path; bounded so a deep tree cannot exhaust
    /// file descriptors.
    dirs: HashMap<Vec<String>, OwnedFd>,
}

struct Ctx<'a> {
    opts: &'a Options,
    /// The archive's bytes, for the whole-member fast path.
    bytes: &'a [u8],
    root: Option<OwnedFd>,
    stop: &'a AtomicBool,
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
    let declared = plan.declared_size();
    let stop = AtomicBool::new(false);

    let root = if opts.test_only {
        None
    } else {
        std::fs::create_dir_all(&opts.dest)
            .map_err(|e| Error::io(&opts.dest, "cannot create destination", e))?;
        Some(fsops::open_root(&opts.dest).map_err(|e| Error::io(&opts.dest, "cannot open", e))?)
    };
    if let Some(limit) = opts.max_size {
        if declared > limit {
            return Err(Error::TooLarge {
                path: archive.path.clone(),
                declared,
                limit,
            });
        }
    }
    if let (Some(root), true) = (&root, opts.check_free_space) {
        if let Ok(free) = fsops::free_space(root) {
            if declared > free {
                return Err(Error::NoSpace {
                    path: opts.dest.clone(),
                    need: declared,
                    free,
                });
            }
        }
    }

    // Existing files: decided for the whole run before anything is written. A DEST that
    // is empty (the common case) has none, and is not searched.
    let mut keep = BTreeSet::new();
    if let Some(root) = root.as_ref().filter(|_| !dir_is_empty(&opts.dest)) {
        let mut conflicts = Vec::new();
        let mut by_path: Vec<&Member> = plan
            .members
            .iter()
            .filter(|m| m.kind != Kind::Dir)
            .collect();
        by_path.sort_by_cached_key(|m| m.parts());
        let mut dirs = fsops::DirStack::new(root);
        for m in by_path {
            let parts = m.parts();
            let (name, parent) = parts.split_last().expect("sanitized names are not empty");
            let exists = match dirs.open(parent, None, &mut |_, _| {}) {
                Ok(dir) => !matches!(fsops::exists_at(dir, name), Ok(None)),
                Err(_) => false,
            };
            if exists {
                match opts.overwrite {
                    Overwrite::Refuse => conflicts.push(Error::Exists {
                        path: opts.dest.join(m.rel_path()),
                    }),
                    Overwrite::Skip => {
                        keep.insert(m.index);
                    }
                    Overwrite::Replace => {}
                }
            }
        }
        if !conflicts.is_empty() {
            conflicts.iter().for_each(|e| on_event(Event::Problem(e)));
            out.errors = conflicts;
            out.elapsed = start.elapsed();
            return Ok(out);
        }
    }
    for m in plan.members.iter().filter(|m| keep.contains(&m.index)) {
        out.totals.skipped += 1;
        on_event(Event::Kept(m));
    }

    let ctx = Ctx {
        opts,
        bytes: archive.bytes(),
        root,
        stop: &stop,
    };

    // 1. Directories, serially, in sorted order: every directory member and every parent
    // of a member, each created and opened once.
    if let Some(root) = &ctx.root {
        // Each distinct directory once (members share them), then all its prefixes.
        let mut dir_paths: BTreeSet<Vec<String>> = BTreeSet::new();
        for m in &plan.members {
            let mut dir_parts = m.parts();
            if m.kind != Kind::Dir {
                dir_parts.pop();
            }
            dir_paths.insert(dir_parts);
        }
        let mut needed: BTreeSet<&[String]> = BTreeSet::new();
        for dir_parts in &dir_paths {
            for depth in 1..=dir_parts.len() {
                needed.insert(&dir_parts[..depth]);
            }
        }
        let mut failed: HashMap<&[String], io::Error> = HashMap::new();
        let mut dirs = fsops::DirStack::new(root);
        let mode = 0o777 & !opts.umask | 0o700;
        for parts in needed {
            if let Err(e) = dirs.open(parts, Some(mode), &mut |_, _| {}) {
                // Reported below for a directory member, and by each member inside it.
                failed.insert(parts, e);
            }
        }
        for m in plan.members.iter().filter(|m| m.kind == Kind::Dir) {
            let r = match failed.remove(&m.parts()[..]) {
                None => Ok(Totals {
                    dirs: 1,
                    ..Totals::default()
                }),
                Some(e) => Err(Error::io(
                    opts.dest.join(m.rel_path()),
                    "cannot create directory",
                    e,
                )),
            };
            record(&mut out, m, r, &stop, on_event);
        }
    }

    // 2. Regular files (and, in test mode, links), biggest first.
    let mut work: Vec<&Member> = plan
        .members
        .iter()
        .filter(|m| !keep.contains(&m.index))
        .filter(|m| m.kind == Kind::File || (opts.test_only && m.kind == Kind::Symlink))
        .collect();
    schedule(&mut work);
    run_members(&ctx, reader, &work, &mut out, on_event);

    // 3. Symlinks, after every regular file.
    if !opts.test_only {
        let links: Vec<&Member> = plan
            .members
            .iter()
            .filter(|m| m.kind == Kind::Symlink && !keep.contains(&m.index))
            .collect();
        run_members(&ctx, reader, &links, &mut out, on_event);
    }

    // 4. Directory modes and times, children before parents, once nothing more is
    // written in them.
    if let Some(root) = &ctx.root {
        let dir_members: HashMap<Vec<String>, &Member> = plan
            .members
            .iter()
            .filter(|m| m.kind == Kind::Dir)
            .map(|m| (m.parts(), m))
            .collect();
        let mut sorted: Vec<&[String]> = dir_members.keys().map(Vec::as_slice).collect();
        sorted.sort();
        let mut apply = |parts: &[String], fd: &OwnedFd| {
            if let Some(m) = dir_members.get(parts) {
                if let Err(e) = fsops::set_meta(fd, m.mode, m.mtime) {
                    let e = Error::io(opts.dest.join(m.rel_path()), "cannot set mode and time", e);
                    on_event(Event::Problem(&e));
                    out.errors.push(e);
                }
            }
        };
        let mut dirs = fsops::DirStack::new(root);
        for parts in sorted {
            // A directory that cannot be opened was reported when it was created.
            let _ = dirs.open(parts, None, &mut apply);
        }
        dirs.finish(&mut apply);
    }

    if crate::cancel::interrupted() {
        on_event(Event::Problem(&Error::Interrupted));
        out.errors.push(Error::Interrupted);
    }
    out.elapsed = start.elapsed();
    Ok(out)
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
    out: &mut Outcome,
    on_event: &mut dyn FnMut(Event<'_>),
) {
    pool::run(
        ctx.opts.jobs,
        members,
        ctx.stop,
        || Worker {
            zip: reader.clone(),
            buf: vec![0; BUF_SIZE],
            fast: fast::Inflater::default(),
            dirs: HashMap::new(),
        },
        |w, m| one_member(ctx, w, m),
        |m, r| record(out, m, r, ctx.stop, on_event),
    );
}

fn zip_error(m: &Member, e: ZipError) -> Error {
    let member = m.name.clone();
    match e {
        ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED) => Error::NeedPassword { member },
        ZipError::UnsupportedArchive(r) => Error::Unsupported {
            member,
            reason: r.to_string(),
        },
        ZipError::CompressionMethodNotSupported(id) => Error::Unsupported {
            member,
            reason: format!("compression method {id}"),
        },
        ZipError::InvalidPassword => Error::BadPassword { member },
        ZipError::Io(e) => read_error(m, e),
        other => Error::Corrupt {
            member,
            reason: other.to_string(),
        },
    }
}

fn read_error(m: &Member, e: io::Error) -> Error {
    let member = m.name.clone();
    let text = e.to_string();
    // The zip reader reports everything found while reading through io::Error; its text
    // is all there is to tell the cases apart. Order matters: the AES HMAC failure also
    // says "Invalid checksum".
    if text.contains("Invalid password") || text.contains("Invalid checksum (HMAC)") {
        Error::BadPassword { member }
    } else if text.contains("not supported") {
        Error::Unsupported {
            member,
            reason: text,
        }
    } else if m.encrypted && !text.contains("larger than its declared") {
        // The password check passed, the data did not: see BadPasswordOrData.
        Error::BadPasswordOrData { member }
    } else if text.contains("Invalid checksum") {
        Error::BadCrc { member }
    } else if text.contains("larger than its declared") {
        Error::Corrupt {
            member,
            reason: format!(
                "inflates beyond its declared size of {} bytes; stopped",
                m.size
            ),
        }
    } else {
        Error::Corrupt {
            member,
            reason: format!("bad compressed data: {text}"),
        }
    }
}

/// Extracts (or tests) one file or symlink member.
fn one_member(ctx: &Ctx<'_>, w: &mut Worker<'_>, m: &Member) -> Result<Totals> {
    should_stop(ctx, m)?;
    if m.encrypted && ctx.opts.password.is_none() {
        return Err(Error::NeedPassword {
            member: m.name.clone(),
        });
    }
    let mut t = Totals {
        bytes_in: m.compressed,
        ..Totals::default()
    };
    let Worker {
        zip,
        buf,
        fast,
        dirs,
    } = w;

    if let Some(method) = fast_method(m) {
        let data = usize::try_from(m.data_start)
            .ok()
            .and_then(|start| {
                ctx.bytes
                    .get(start..start.checked_add(m.compressed as usize)?)
            })
            .ok_or_else(|| Error::Corrupt {
                member: m.name.clone(),
                reason: "data runs past the end of the archive".into(),
            })?;
        let bytes = fast
            .decode(method, data, m.size, m.crc)
            .map_err(|e| fast_error(m, e))?;
        t.files = 1;
        t.bytes_out = bytes.len() as u64;
        if !ctx.opts.test_only {
            write_member(ctx, dirs, m, |f| {
                f.write_all(bytes)
                    .map_err(|e| Error::io(ctx.opts.dest.join(m.rel_path()), "write", e))
            })?;
        }
        return Ok(t);
    }

    let read_opts =
        ZipReadOptions::new().password(ctx.opts.password.as_deref().filter(|_| m.encrypted));
    let mut zf = zip
        .by_index_with_options(m.index, read_opts)
        .map_err(|e| zip_error(m, e))?;

    if m.kind == Kind::Symlink {
        let mut target = Vec::new();
        (&mut zf)
            .take(MAX_LINK + 1)
            .read_to_end(&mut target)
            .map_err(|e| read_error(m, e))?;
        check_size(m, target.len() as u64)?;
        t.bytes_out = target.len() as u64;
        t.links = 1;
        let target = String::from_utf8(target).map_err(|_| Error::Refused {
            member: m.name.clone(),
            reason: "symlink target is not UTF-8".into(),
        })?;
        if ctx.opts.test_only {
            return Ok(t);
        }
        if !ctx.opts.allow_unsafe_links && !super::names::link_stays_inside(&m.parts(), &target) {
            return Err(Error::Refused {
                member: m.name.clone(),
                reason: format!("symlink target {target:?} leaves the destination"),
            });
        }
        let parts = m.parts();
        let (name, parent) = parts.split_last().expect("not empty");
        let dest_path = || ctx.opts.dest.join(m.rel_path());
        let dir = dir_for(ctx, dirs, parent)
            .map_err(|e| Error::io(dest_path(), "cannot open directory", e))?;
        fsops::symlink_at(dir, name, &target, replace_mode(ctx))
            .map_err(|e| Error::io(dest_path(), "cannot create symlink", e))?;
        if let Some(secs) = m.mtime {
            let _ = fsops::set_mtime_at(dir, name, secs);
        }
        return Ok(t);
    }

    t.files = 1;
    t.bytes_out = if ctx.opts.test_only {
        copy(ctx, m, &mut zf, buf, &mut io::sink())?
    } else {
        write_member(ctx, dirs, m, |f| copy(ctx, m, &mut zf, buf, f).map(drop))?;
        m.size
    };
    Ok(t)
}

/// Stored and deflated members that are not encrypted and not huge take the fast path.
fn fast_method(m: &Member) -> Option<fast::Method> {
    if m.encrypted
        || m.kind != Kind::File
        || m.size > fast::FAST_MAX
        || m.compressed > fast::FAST_MAX
    {
        return None;
    }
    match m.method {
        zip::CompressionMethod::Stored => Some(fast::Method::Stored),
        zip::CompressionMethod::Deflated => Some(fast::Method::Deflated),
        _ => None,
    }
}

fn fast_error(m: &Member, e: fast::FastError) -> Error {
    let member = m.name.clone();
    match e {
        fast::FastError::BadCrc => Error::BadCrc { member },
        fast::FastError::TooLong => Error::Corrupt {
            member,
            reason: format!(
                "inflates beyond its declared size of {} bytes; stopped",
                m.size
            ),
        },
        fast::FastError::Truncated { got } => Error::Corrupt {
            member,
            reason: format!("truncated: {got} of {} bytes", m.size),
        },
        fast::FastError::BadData => Error::Corrupt {
            member,
            reason: "bad compressed data: invalid deflate stream".into(),
        },
    }
}

/// Writes a regular file member: a temporary file in its directory, filled by `fill`,
/// given its mode and time, renamed into place. On any error the temporary file goes.
fn write_member(
    ctx: &Ctx<'_>,
    dirs: &mut HashMap<Vec<String>, OwnedFd>,
    m: &Member,
    fill: impl FnOnce(&mut std::fs::File) -> Result<()>,
) -> Result<()> {
    let parts = m.parts();
    let (name, parent) = parts.split_last().expect("not empty");
    let dest_path = || ctx.opts.dest.join(m.rel_path());
    let dir = dir_for(ctx, dirs, parent)
        .map_err(|e| Error::io(dest_path(), "cannot open directory", e))?;
    let mut tmp = TempFile::create(dir).map_err(|e| Error::io(dest_path(), "cannot create", e))?;
    fill(tmp.file())?;
    fsops::set_meta(&*tmp.file(), m.mode, m.mtime)
        .map_err(|e| Error::io(dest_path(), "cannot set mode and time", e))?;
    tmp.commit(name, replace_mode(ctx)).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Error::Exists { path: dest_path() }
        } else {
            Error::io(dest_path(), "cannot rename into place", e)
        }
    })
}

fn replace_mode(ctx: &Ctx<'_>) -> Replace {
    match ctx.opts.overwrite {
        Overwrite::Replace => Replace::Allow,
        _ => Replace::Never,
    }
}

/// The worker's handle on directory `parts` below DEST.
fn dir_for<'w>(
    ctx: &Ctx<'_>,
    dirs: &'w mut HashMap<Vec<String>, OwnedFd>,
    parts: &[String],
) -> io::Result<&'w OwnedFd> {
    if !dirs.contains_key(parts) {
        if dirs.len() >= DIR_CACHE {
            dirs.clear();
        }
        let root = ctx.root.as_ref().expect("extraction has a root");
        cache_dir(root, dirs, parts)?;
    }
    Ok(&dirs[parts])
}

/// Open directory handles a worker keeps: enough for the directories near the one it is
/// in, few enough that two workers stay far below the descriptor limit.
const DIR_CACHE: usize = 256;

/// Opens `parts` relative to its (cached, or opened first) parent.
fn cache_dir(
    root: &OwnedFd,
    dirs: &mut HashMap<Vec<String>, OwnedFd>,
    parts: &[String],
) -> io::Result<()> {
    if dirs.contains_key(parts) {
        return Ok(());
    }
    let fd = match parts.split_last() {
        None => root.try_clone()?,
        Some((last, parent)) => {
            cache_dir(root, dirs, parent)?;
            fsops::open_dir_at(&dirs[parent], last)?
        }
    };
    dirs.insert(parts.to_vec(), fd);
    Ok(())
}

/// An interrupt, or a fatal error in another worker: stop this member (its temporary
/// file is removed when it is dropped).
fn should_stop(ctx: &Ctx<'_>, m: &Member) -> Result<()> {
    if crate::cancel::interrupted() {
        Err(Error::Interrupted)
    } else if ctx.stop.load(Ordering::Relaxed) {
        Err(Error::Abandoned {
            member: m.name.clone(),
        })
    } else {
        Ok(())
    }
}

fn check_size(m: &Member, got: u64) -> Result<()> {
    if got != m.size {
        return Err(Error::Corrupt {
            member: m.name.clone(),
            reason: if got > m.size {
                format!(
                    "inflates beyond its declared size of {} bytes; stopped",
                    m.size
                )
            } else {
                format!("truncated: {got} of {} bytes", m.size)
            },
        });
    }
    Ok(())
}

/// Copies a member's data to `out`, never more than its declared size, checking the
/// interrupt flag between chunks. The zip reader checks the CRC at the end of the data.
fn copy(
    ctx: &Ctx<'_>,
    m: &Member,
    src: &mut impl Read,
    buf: &mut [u8],
    out: &mut impl Write,
) -> Result<u64> {
    let mut total: u64 = 0;
    loop {
        should_stop(ctx, m)?;
        let n = match src.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(read_error(m, e)),
        };
        total += n as u64;
        if total > m.size {
            return check_size(m, total).map(|_| total);
        }
        out.write_all(&buf[..n])
            .map_err(|e| Error::io(ctx.opts.dest.join(m.rel_path()), "write", e))?;
    }
    check_size(m, total)?;
    Ok(total)
}
