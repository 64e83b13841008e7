//! One member = one work item. The worker opens the member's directory beneath DEST
//! without following links, decodes into an unnamed file (or a named temporary, see
//! [`TempFile`]), checks size and CRC, sets mode and time on the descriptor, and links it
//! under its final name. Each worker owns a clone of the zip reader over the shared
//! memory map, a buffer, a decoder and a directory cache.

use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};

use zip::ZipReadOptions;

use super::dirs::DirCache;
use super::zip_errors::{read_error, zip_error};
use super::{Options, Overwrite};
use crate::error::{Error, Result};
use crate::sigbus::Guard;
use crate::totals::Totals;
use crate::unzip::fast;
use crate::unzip::fsops::{self, Replace, TempFile};
use crate::unzip::meta::Kind;
use crate::unzip::names;
use crate::unzip::plan::{Archive, Member, Reader};

const BUF_SIZE: usize = 256 * 1024;
/// Longest symlink target Linux takes (PATH_MAX less its NUL).
const MAX_LINK: u64 = 4095;
/// Symlinks followed when checking where a new symlink leads (the kernel's limit).
const MAX_HOPS: usize = 40;

/// What every worker shares.
pub struct Ctx<'a> {
    pub opts: &'a Options,
    pub archive: &'a Archive,
    /// The archive's bytes, for the whole-member fast path.
    pub bytes: &'a [u8],
    pub root: Option<OwnedFd>,
    pub stop: &'a AtomicBool,
    pub guard: &'a Guard,
    /// Deflated members up to this size are decoded in one buffer, bigger ones streamed:
    /// [`fast::FAST_MAX`], less under a container's memory limit ([`crate::memlimit`]).
    pub fast_max: u64,
}

/// Per-worker state.
pub struct Worker<'a> {
    zip: Reader<'a>,
    buf: Vec<u8>,
    /// The whole-member decoder for stored and deflated members.
    fast: fast::Inflater,
    dirs: Option<DirCache<'a>>,
    /// What the last member extracted with: its mode or time could not be set (see
    /// [`fill_and_commit`]). Taken after each member.
    warning: Option<Error>,
}

impl<'a> Worker<'a> {
    pub fn new(ctx: &'a Ctx<'a>, reader: &Reader<'a>) -> Worker<'a> {
        Worker {
            zip: reader.clone(),
            buf: vec![0; BUF_SIZE],
            fast: fast::Inflater::default(),
            dirs: ctx
                .root
                .as_ref()
                .map(|root| DirCache::for_worker(root, ctx.opts.jobs.get())),
            warning: None,
        }
    }

    /// The warning the last member was extracted with, if any.
    pub fn take_warning(&mut self) -> Option<Error> {
        self.warning.take()
    }
}

/// The archive shrank while being read (see [`crate::sigbus`]).
pub fn truncated(archive: &Archive, m: Option<&Member>) -> Error {
    Error::BadArchive {
        path: archive.path.clone(),
        reason: match m {
            Some(m) => format!(
                "the archive was truncated while {} was being read",
                crate::error::shown(&m.name)
            ),
            None => "the archive was truncated during extraction".into(),
        },
    }
}

/// Fails the member, and stops the run, if the archive lost pages while it was read.
fn check_archive(ctx: &Ctx<'_>, m: &Member) -> Result<()> {
    if ctx.guard.tripped() {
        ctx.stop.store(true, Ordering::Relaxed);
        return Err(truncated(ctx.archive, Some(m)));
    }
    Ok(())
}

/// Extracts (or tests) one file or symlink member.
pub fn one_member(ctx: &Ctx<'_>, w: &mut Worker<'_>, m: &Member) -> Result<Totals> {
    match member(ctx, w, m) {
        // A member that failed once pages were missing most likely failed because of it
        // (zeros make a bad CRC): the truncation is the error to report. One that
        // succeeded was checked before it took its name (see write_member).
        Err(e) if !matches!(e, Error::Abandoned { .. } | Error::Interrupted) => {
            check_archive(ctx, m).and(Err(e))
        }
        r => r,
    }
}

fn member(ctx: &Ctx<'_>, w: &mut Worker<'_>, m: &Member) -> Result<Totals> {
    should_stop(ctx, m)?;
    if m.encrypted && ctx.opts.password_for(m).is_none() {
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
        warning,
    } = w;

    let read_opts =
        ZipReadOptions::new().password(ctx.opts.password_for(m).filter(|_| m.encrypted));
    if big_deflated(m, ctx.fast_max) {
        let data = member_data(ctx, m)?;
        let stream = |out: &mut (dyn Write + Send)| {
            let stop = || crate::cancel::interrupted() || ctx.stop.load(Ordering::Relaxed);
            fast::stream::inflate_to(data, m.size, m.crc, out, stop).map_err(|e| match e {
                fast::stream::StreamError::Data(e) => fast_error(m, e),
                fast::stream::StreamError::Write(e) => {
                    Error::io(ctx.opts.dest.join(m.rel_path()), "write", e)
                }
                fast::stream::StreamError::Stopped => {
                    should_stop(ctx, m).err().unwrap_or(Error::Interrupted)
                }
            })
        };
        match dirs {
            Some(dirs) => {
                *warning = write_member(ctx, dirs, m, |f| stream(&mut Told::new(ctx, f)))?
            }
            // -t: decoded and checked, written nowhere.
            None => stream(&mut Told::new(ctx, &mut io::sink()))?,
        }
        t.files = 1;
        t.bytes_out = m.size;
        return Ok(t);
    }

    if let Some(method) = fast_method(m, ctx.fast_max) {
        let data = member_data(ctx, m)?;
        let write_error = |e| Error::io(ctx.opts.dest.join(m.rel_path()), "write", e);
        match (method, dirs) {
            // A stored member that is written: checked as it is copied out of the map, so
            // that what is checked is what is written (see `fast::Inflater::copy_stored`).
            (fast::Method::Stored, Some(dirs)) => {
                *warning = write_member(ctx, dirs, m, |f| {
                    fast.copy_stored(data, m.size, m.crc, &mut |chunk| f.write_all(chunk))
                        .map_err(|e| e.map_or_else(write_error, |e| fast_error(m, e)))
                })?;
            }
            (_, dirs) => {
                let bytes = fast
                    .decode(method, data, m.size, m.crc)
                    .map_err(|e| fast_error(m, e))?;
                if let Some(dirs) = dirs {
                    *warning =
                        write_member(ctx, dirs, m, |f| f.write_all(bytes).map_err(write_error))?;
                }
            }
        }
        // Decoded or copied, the member is exactly its declared size.
        t.files = 1;
        t.bytes_out = m.size;
        if let Some(on) = &ctx.opts.on_bytes {
            (on.0)(t.bytes_out);
        }
        return Ok(t);
    }

    // Before the reader, so that it is dropped after the decoder.
    let _one_at_a_time = crate::unzip::plan::one_big_model(m);
    let mut zf = zip
        .by_index_with_options(m.index, read_opts)
        .map_err(|e| zip_error(m, e))?;

    if m.kind == Kind::Symlink {
        let mut target = Vec::new();
        (&mut zf)
            .take(MAX_LINK + 1)
            .read_to_end(&mut target)
            .map_err(|e| read_error(m, e))?;
        if target.is_empty() {
            // No system makes such a link (symlink(2): ENOENT); it was said to leave DEST.
            return Err(Error::Refused {
                member: m.name.clone(),
                reason: "symlink with an empty target".into(),
            });
        }
        if target.len() as u64 > MAX_LINK {
            // Not "truncated": the member is whole, its target is too long for Linux.
            return Err(Error::Refused {
                member: m.name.clone(),
                reason: format!("symlink target longer than {MAX_LINK} bytes"),
            });
        }
        if target.contains(&0) {
            // No system makes such a link (a path ends at its NUL); it was said to leave
            // DEST.
            return Err(link_refusal(
                m,
                &String::from_utf8_lossy(&target),
                "holds a NUL byte",
            ));
        }
        check_size(m, target.len() as u64)?;
        t.bytes_out = target.len() as u64;
        t.links = 1;
        // Bytes, whatever they are, as unzip writes them (a target that was not UTF-8
        // was refused).
        let target = names::from_disk(target);
        match dirs {
            Some(dirs) => make_link(ctx, dirs, m, &target)?,
            // -t: what extraction would refuse by the target's text alone (an existing
            // symlink in DEST is extraction's to find). `-t` passed `abs -> /etc/passwd`
            // that extraction then refused.
            None if !ctx.opts.allow_unsafe_links => {
                if let Some(why) = names::link_escape(&m.parts(), &target) {
                    return Err(link_refusal(m, &target, why));
                }
            }
            None => {}
        }
        return Ok(t);
    }

    t.files = 1;
    t.bytes_out = match dirs {
        None => copy(ctx, m, &mut zf, buf, &mut Told::new(ctx, &mut io::sink()))?,
        Some(dirs) => {
            *warning = write_member(ctx, dirs, m, |f| {
                copy(ctx, m, &mut zf, buf, &mut Told::new(ctx, f)).map(drop)
            })?;
            m.size
        }
    };
    Ok(t)
}

/// Creates symlink member `m`, unless its target leaves DEST: by its text, or through a
/// symlink that already exists in DEST.
fn make_link(ctx: &Ctx<'_>, dirs: &mut DirCache<'_>, m: &Member, target: &str) -> Result<()> {
    let parts = m.parts();
    let (name, parent) = parts.split_last().expect("not empty");
    if !ctx.opts.allow_unsafe_links {
        let refuse = |why: &str| link_refusal(m, target, why);
        if let Some(why) = names::link_escape(&parts, target) {
            return Err(refuse(why));
        }
        if !resolves_inside(dirs, parent, target) {
            return Err(refuse(
                "leaves the destination through a symlink that exists there",
            ));
        }
    }
    let dest_path = || ctx.opts.dest.join(m.rel_path());
    let dir = dirs
        .open(parent)
        .map_err(|e| Error::io(dest_path(), "cannot open directory", e))?;
    fsops::symlink_at(dir, name, target, replace_mode(ctx)).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Error::Exists {
                member: m.name.clone(),
                path: dest_path(),
            }
        } else {
            Error::io(dest_path(), "cannot create symlink", e)
        }
    })?;
    if let Some(t) = m.mtime {
        let _ = fsops::set_mtime_at(dir, name, t);
    }
    Ok(())
}

/// Symlink member `m` refused: its target leaves DEST, `why`.
fn link_refusal(m: &Member, target: &str, why: &str) -> Error {
    Error::Refused {
        member: m.name.clone(),
        reason: format!(
            "symlink target \"{}\" {why}",
            crate::error::Shown::new(target)
        ),
    }
}

/// Whether `target`, resolved from directory `from` as the kernel would, following the
/// symlinks that exist in DEST now (never outside: DEST is the root here), stays inside
/// DEST. Components that do not exist yet end the check: nothing below them exists.
fn resolves_inside(dirs: &mut DirCache<'_>, from: &[String], target: &str) -> bool {
    let mut cur: Vec<String> = from.to_vec();
    let mut pending: Vec<String> = target.split('/').rev().map(String::from).collect();
    let mut hops = 0;
    while let Some(c) = pending.pop() {
        match c.as_str() {
            "" | "." => {}
            ".." => {
                if cur.pop().is_none() {
                    return false;
                }
            }
            name => {
                let Ok(dir) = dirs.open(&cur) else {
                    return true;
                };
                match rustix::fs::readlinkat(dir, &*names::on_disk(name), Vec::new()) {
                    Ok(link) => {
                        hops += 1;
                        let link = names::from_disk(link.into_bytes());
                        if hops > MAX_HOPS || link.starts_with('/') {
                            return false;
                        }
                        pending.extend(link.split('/').rev().map(String::from));
                    }
                    Err(rustix::io::Errno::NOENT) => return true,
                    Err(_) => cur.push(c),
                }
            }
        }
    }
    true
}

/// Stored members of any size, and deflated members up to `fast_max` ([`Ctx::fast_max`]),
/// that are not encrypted are decoded in one call (see [`fast`]).
fn fast_method(m: &Member, fast_max: u64) -> Option<fast::Method> {
    if m.encrypted || m.kind != Kind::File {
        return None;
    }
    match m.method {
        zip::CompressionMethod::Stored => Some(fast::Method::Stored),
        zip::CompressionMethod::Deflated if m.size <= fast_max && m.compressed <= fast_max => {
            Some(fast::Method::Deflated)
        }
        _ => None,
    }
}

/// A deflated member too big for a buffer of our own: streamed (see [`fast::stream`]).
fn big_deflated(m: &Member, fast_max: u64) -> bool {
    !m.encrypted
        && m.kind == Kind::File
        && m.method == zip::CompressionMethod::Deflated
        && (m.size > fast_max || m.compressed > fast_max)
}

/// The member's compressed bytes in the archive's map.
fn member_data<'a>(ctx: &Ctx<'a>, m: &Member) -> Result<&'a [u8]> {
    usize::try_from(m.data_start)
        .ok()
        .and_then(|start| {
            ctx.bytes
                .get(start..start.checked_add(usize::try_from(m.compressed).ok()?)?)
        })
        .ok_or_else(|| Error::Corrupt {
            member: m.name.clone(),
            reason: "data runs past the end of the archive".into(),
        })
}

fn fast_error(m: &Member, e: fast::FastError) -> Error {
    let member = m.name.clone();
    match e {
        fast::FastError::BadCrc { got } => Error::BadCrc {
            member,
            got: Some(got),
            want: m.crc,
        },
        fast::FastError::TooLong => size_mismatch(m, m.size.saturating_add(1)),
        fast::FastError::Truncated { got } => size_mismatch(m, got),
        fast::FastError::BadData => Error::Corrupt {
            member,
            reason: "bad compressed data: invalid deflate stream".into(),
        },
    }
}

/// A member's output that tells [`super::Options::on_bytes`] of each chunk written.
struct Told<'a, W: ?Sized> {
    on: Option<&'a super::OnBytes>,
    out: &'a mut W,
}

impl<'a, W: Write + ?Sized> Told<'a, W> {
    fn new(ctx: &'a Ctx<'_>, out: &'a mut W) -> Told<'a, W> {
        Told {
            on: ctx.opts.on_bytes.as_ref(),
            out,
        }
    }
}

impl<W: Write + ?Sized> Write for Told<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let n = self.out.write(bytes)?;
        if let Some(on) = self.on {
            (on.0)(n as u64);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes a regular file member: an unnamed (or temporary) file in its directory, filled
/// by `fill`, given its mode and time, linked into place. On any error nothing remains;
/// a mode or time the file system refuses is a warning, returned (see
/// [`fill_and_commit`]).
fn write_member(
    ctx: &Ctx<'_>,
    dirs: &mut DirCache<'_>,
    m: &Member,
    fill: impl FnOnce(&mut std::fs::File) -> Result<()>,
) -> Result<Option<Error>> {
    let parts = m.parts();
    let (name, parent) = parts.split_last().expect("not empty");
    let dest_path = || ctx.opts.dest.join(m.rel_path());
    // A directory that is not there was not made (the directory phase said why: a
    // permission, a file in the way) or was removed meanwhile: "cannot open directory: No
    // such file or directory" for each member inside read as a cause of its own.
    let cannot_open = |e: io::Error| {
        let what = if e.kind() == io::ErrorKind::NotFound {
            "its directory is missing (not made, or removed)"
        } else {
            "cannot open directory"
        };
        Error::io(dest_path(), what, e)
    };
    let cannot_create = |e| Error::io(dest_path(), "cannot create", e);
    let replace = replace_mode(ctx);
    let dir = dirs.open(parent).map_err(cannot_open)?;
    match TempFile::create(dir, m.mode) {
        Ok(tmp) => return fill_and_commit(ctx, m, name, tmp, replace, fill),
        // Under a low `ulimit -n` the worker's cached directory handles may be what
        // stands in the way (punzip -j2 on a JDK's src.zip under `ulimit -n 64`, where
        // unzip and ripunzip succeed): shed them, as directory walks do, and try again.
        Err(e) if e.raw_os_error() == Some(libc::EMFILE) => {}
        Err(e) => return Err(cannot_create(e)),
    }
    if !dirs.shed_all_but(parent) {
        return Err(cannot_create(io::Error::from_raw_os_error(libc::EMFILE)));
    }
    let dir = dirs.open(parent).map_err(cannot_open)?;
    let tmp = TempFile::create(dir, m.mode).map_err(cannot_create)?;
    fill_and_commit(ctx, m, name, tmp, replace, fill)
}

/// The rest of [`write_member`], once its file exists: it becomes `name`. A mode or time
/// the file system refuses (FAT and exFAT through FUSE have no `chmod`; FAT refuses modes
/// it cannot show) leaves the verified content under its name with a warning, as unzip
/// does: such file systems lost every file before. The file then keeps the mode it was
/// created with, never more open than the member's (0600 for a named temporary). Any
/// other failure there is taken for a write the file system put off (FUSE reports a full
/// disk at the next call), and fails the member.
fn fill_and_commit(
    ctx: &Ctx<'_>,
    m: &Member,
    name: &str,
    mut tmp: TempFile<'_>,
    replace: Replace,
    fill: impl FnOnce(&mut std::fs::File) -> Result<()>,
) -> Result<Option<Error>> {
    let dest_path = || ctx.opts.dest.join(m.rel_path());
    fill(tmp.file())?;
    // An unnamed file was created with the member's mode; the umask may have taken bits.
    let mode_ok = tmp.is_unnamed() && m.mode & ctx.opts.umask == 0;
    let mode = (!mode_ok).then_some(m.mode);
    let warning = match fsops::set_meta(&*tmp.file(), mode, m.mtime) {
        Ok(None) => None,
        Ok(Some((unset, e))) => {
            let op = match unset {
                fsops::Unset::Mode => crate::error::SET_FILE_MODE,
                fsops::Unset::Time => crate::error::SET_FILE_TIME,
                fsops::Unset::Both => crate::error::SET_FILE_META,
            };
            Some(Error::io(dest_path(), op, e))
        }
        Err(e) => return Err(Error::io(dest_path(), "write", e)),
    };
    if ctx.opts.fsync {
        tmp.file()
            .sync_data()
            .map_err(|e| Error::io(dest_path(), "cannot fsync", e))?;
    }
    // Nothing read through a page the archive lost may take a final name.
    check_archive(ctx, m)?;
    tmp.commit(name, replace).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Error::Exists {
                member: m.name.clone(),
                path: dest_path(),
            }
        } else {
            Error::io(dest_path(), "cannot link into place", e)
        }
    })?;
    Ok(warning)
}

fn replace_mode(ctx: &Ctx<'_>) -> Replace {
    match ctx.opts.overwrite {
        Overwrite::Replace => Replace::Allow,
        _ => Replace::Never,
    }
}

/// An interrupt, or a fatal error in another worker: stop this member (its temporary
/// file goes when it is dropped).
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
        return Err(size_mismatch(m, got));
    }
    Ok(())
}

/// The member's data came to `got` bytes, not its declared size: more (stopped there)
/// or fewer.
pub(super) fn size_mismatch(m: &Member, got: u64) -> Error {
    Error::Corrupt {
        member: m.name.clone(),
        reason: if got > m.size {
            format!(
                "inflates beyond its declared size of {} bytes; stopped",
                m.size
            )
        } else {
            // The archive is whole (planning checked the data lies inside it): the
            // compressed stream ends early, or the declared size is wrong.
            format!("corrupt data: it ends after {got} of its {} bytes", m.size)
        },
    }
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
    // The zip crate's CRC error does not say what the data came to: counted here, so that
    // a bad CRC gives both values, as the fast path's and unzip's do (every byte was read
    // when the decoder finds it; its decoders are far slower than this sum).
    let mut crc = libdeflater::Crc::new();
    loop {
        should_stop(ctx, m)?;
        let n = match src.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(match read_error(m, e) {
                    Error::BadCrc { member, want, .. } => Error::BadCrc {
                        member,
                        got: Some(crc.sum()),
                        want,
                    },
                    other => other,
                })
            }
        };
        crc.update(&buf[..n]);
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
