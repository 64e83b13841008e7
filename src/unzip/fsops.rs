//! File-system operations that never follow a symbolic link and never leave a half-written
//! file under a final name.
//!
//! Every write goes through a directory file descriptor opened component by component from
//! DEST with `O_NOFOLLOW | O_DIRECTORY`: an existing symlink anywhere in the path, planted
//! before the run or by a racing process, makes the open fail instead of being followed.
//! Files are written to an unnamed file in their target directory (`O_TMPFILE`), and linked
//! under their final name only once their content checks out: `linkat` refuses an existing
//! name as `RENAME_NOREPLACE` does, and a process killed mid-write (even by SIGKILL, or
//! SIGQUIT, or SIGXFSZ) leaves nothing behind, since the file never had a name. With `-o`,
//! whose replacement must be an atomic rename, the finished file is linked under a
//! temporary name and renamed over the old one at once: a name exists for two system
//! calls, not for the whole write (a 33 MB `.punzip-*.tmp` was left by Ctrl-\ mid-write).
//! Where an unnamed file cannot be used (a file system without `O_TMPFILE`; no `/proc`), a
//! named temporary (`O_EXCL`, mode 0600) is written and renamed into place instead; a
//! [`TempFile`] dropped without being committed removes itself.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, RenameFlags};

use super::meta::Mtime;
use super::names::on_disk;

/// Opens DEST itself (following a symlink here is the user's choice, as with `cd`).
pub fn open_root(path: &std::path::Path) -> io::Result<OwnedFd> {
    Ok(rfs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// Opens directory `name` in `dir` without following a symlink. Every `name` given to
/// this module is a component as planned: [`on_disk`] turns it into its bytes.
pub fn open_dir_at(dir: impl AsFd, name: &str) -> io::Result<OwnedFd> {
    let shown = crate::error::Shown::new(name);
    let name = &*on_disk(name);
    rfs::openat(
        &dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        if e != rustix::io::Errno::LOOP && e != rustix::io::Errno::NOTDIR {
            return e.into();
        }
        let link = rfs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| rfs::FileType::from_raw_mode(st.st_mode).is_symlink());
        io::Error::other(if link {
            format!("'{shown}' is a symbolic link; it is not followed (punzip never follows one inside DEST: extract where it points, or remove it)")
        } else {
            format!("'{shown}' is not a directory (a file is in the way)")
        })
    })
}

/// Whether `name` exists in `dir` (without following a symlink), and if so whether it is
/// a directory.
pub fn exists_at(dir: impl AsFd, name: &str) -> io::Result<Option<bool>> {
    exists_at_bytes(dir, &on_disk(name))
}

fn exists_at_bytes(dir: impl AsFd, name: &OsStr) -> io::Result<Option<bool>> {
    match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(
            rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::Directory,
        )),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// Whether `linkat(fd, "", AT_EMPTY_PATH)` may still work here (cleared at its first
/// refusal: older kernels want `CAP_DAC_READ_SEARCH` for it).
static EMPTY_PATH_LINKS: AtomicBool = AtomicBool::new(true);

/// A name for a temporary file that no other punzip run or worker will pick.
fn temp_name() -> String {
    static PID: OnceLock<u32> = OnceLock::new();
    let pid = *PID.get_or_init(std::process::id);
    let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
    format!(".punzip-{pid}-{n}.tmp")
}

/// Whether `name` has the shape of punzip's temporary names. Members with such names are
/// refused: with `-o`, one could be renamed over another worker's temporary file, which
/// would then be committed under the wrong name.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with(".punzip-") && name.ends_with(".tmp")
}

/// How a finished file takes its final name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// Fail if the name exists (checked atomically by the kernel).
    Never,
    /// Replace an existing file or symlink (never a directory).
    Allow,
}

/// Whether unnamed files can be given a name when `AT_EMPTY_PATH` is refused: `linkat`
/// through `/proc/self/fd`.
fn proc_fd_available() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| std::path::Path::new("/proc/self/fd").is_dir())
}

/// `PUNZIP_TEMP_FILES=named`: named temporaries everywhere, as on a file system without
/// `O_TMPFILE` (FUSE, NFS, FAT), so that the tests reach that path on any machine.
fn named_only() -> bool {
    static NAMED: OnceLock<bool> = OnceLock::new();
    *NAMED.get_or_init(|| std::env::var_os("PUNZIP_TEMP_FILES").is_some_and(|v| v == "named"))
}

/// A file being written, not yet under its final name: unnamed (`O_TMPFILE`), or under a
/// temporary name that is removed on drop unless committed.
pub struct TempFile<'d> {
    dir: &'d OwnedFd,
    /// The temporary name; `None` for an unnamed file.
    name: Option<String>,
    file: File,
}

impl<'d> TempFile<'d> {
    /// Creates a new, empty file in `dir` to be committed with `replace`. An unnamed file
    /// is created with `mode` (under the umask: nobody can open it before it is linked);
    /// a named one with 0600. [`TempFile::is_unnamed`] tells which.
    pub fn create(dir: &'d OwnedFd, mode: u32) -> io::Result<TempFile<'d>> {
        if proc_fd_available() && !named_only() {
            match rfs::openat(
                dir,
                ".",
                OFlags::RDWR | OFlags::TMPFILE | OFlags::CLOEXEC,
                Mode::from_raw_mode(mode & 0o777),
            ) {
                Ok(fd) => {
                    return Ok(TempFile {
                        dir,
                        name: None,
                        file: File::from(fd),
                    })
                }
                // No O_TMPFILE on this file system (or kernel): a named temporary.
                Err(
                    rustix::io::Errno::OPNOTSUPP
                    | rustix::io::Errno::ISDIR
                    | rustix::io::Errno::INVAL
                    | rustix::io::Errno::NOENT,
                ) => {}
                Err(e) => return Err(e.into()),
            }
        }
        loop {
            let name = temp_name();
            match rfs::openat(
                dir,
                name.as_str(),
                OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => {
                    return Ok(TempFile {
                        dir,
                        name: Some(name),
                        file: File::from(fd),
                    })
                }
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Whether the file is unnamed (created with its final mode under the umask).
    pub fn is_unnamed(&self) -> bool {
        self.name.is_none()
    }

    /// The open file, for writing and for setting its mode and times.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Gives the file its final name in its directory.
    pub fn commit(mut self, final_name: &str, replace: Replace) -> io::Result<()> {
        let final_name = &*on_disk(final_name);
        match (self.name.take(), replace) {
            (None, Replace::Never) => self.link_as(final_name).map_err(already_exists),
            (None, Replace::Allow) => {
                // Named for a moment, then renamed over the old file.
                let tmp = loop {
                    let tmp = temp_name();
                    match self.link_as(OsStr::new(&tmp)) {
                        Ok(()) => break tmp,
                        Err(rustix::io::Errno::EXIST) => continue,
                        Err(e) => return Err(e.into()),
                    }
                };
                rename(self.dir, OsStr::new(&tmp), final_name, replace).inspect_err(|_| {
                    let _ = rfs::unlinkat(self.dir, tmp.as_str(), AtFlags::empty());
                })
            }
            (Some(name), _) => flushed(&self.file)
                .and_then(|()| rename(self.dir, OsStr::new(&name), final_name, replace))
                .inspect_err(|_| {
                    let _ = rfs::unlinkat(self.dir, name.as_str(), AtFlags::empty());
                }),
        }
    }

    /// Links the unnamed file as `name` in its directory (failing if `name` exists).
    fn link_as(&self, name: &OsStr) -> rustix::io::Result<()> {
        // The descriptor itself (no path walk through /proc): allowed without a
        // capability since Linux 6.10 for a file the caller opened; learnt once.
        if EMPTY_PATH_LINKS.load(Ordering::Relaxed) {
            match rfs::linkat(&self.file, "", self.dir, name, AtFlags::EMPTY_PATH) {
                Err(rustix::io::Errno::NOENT | rustix::io::Errno::PERM) => {
                    EMPTY_PATH_LINKS.store(false, Ordering::Relaxed)
                }
                r => return r,
            }
        }
        let from = format!("/proc/self/fd/{}", self.file.as_raw_fd());
        rfs::linkat(
            rfs::CWD,
            from.as_str(),
            self.dir,
            name,
            AtFlags::SYMLINK_FOLLOW,
        )
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if let Some(name) = &self.name {
            let _ = rfs::unlinkat(self.dir, name.as_str(), AtFlags::empty());
        }
    }
}

fn already_exists(e: rustix::io::Errno) -> io::Error {
    if e == rustix::io::Errno::EXIST {
        io::Error::new(io::ErrorKind::AlreadyExists, "already exists")
    } else {
        e.into()
    }
}

/// Closes a duplicate of a named temporary's descriptor and reports what the close says.
/// File systems that write back on close (NFS, FUSE: ntfs-3g, sshfs) report a full disk
/// or an exceeded quota there, not at `write`; the file must not take its name then.
/// (Named temporaries are used exactly on such file systems: they lack `O_TMPFILE`.)
fn flushed(file: &File) -> io::Result<()> {
    let dup = match file.try_clone() {
        Ok(dup) => dup,
        // At the descriptor limit there is no second one to close: the file goes on
        // unchecked, as it did before this check (a limit must not fail the member).
        Err(e) if e.raw_os_error() == Some(libc::EMFILE) => return Ok(()),
        Err(e) => return Err(e),
    };
    // SAFETY: `dup` is our own descriptor, closed once here and never used again.
    if unsafe { libc::close(std::os::fd::IntoRawFd::into_raw_fd(dup)) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether `renameat2(RENAME_NOREPLACE)` may still work here (cleared at its first
/// refusal as an unknown flag: FUSE file systems on libfuse 2, such as ntfs-3g and
/// exfat-fuse, and older network file systems, where every member failed).
static NOREPLACE_RENAMES: AtomicBool = AtomicBool::new(true);
/// Whether hard links, the next way to refuse an existing name, may work here (exFAT
/// and FAT have none).
static HARD_LINKS: AtomicBool = AtomicBool::new(true);

fn rename(dir: &OwnedFd, from: &OsStr, to: &OsStr, replace: Replace) -> io::Result<()> {
    if replace == Replace::Allow {
        if let Some(true) = exists_at_bytes(dir, to)? {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "a directory is in the way",
            ));
        }
        return Ok(rfs::renameat(dir, from, dir, to)?);
    }
    use rustix::io::Errno;
    if NOREPLACE_RENAMES.load(Ordering::Relaxed) {
        match rename_new(dir, from, to, NewName::NoReplace) {
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                NOREPLACE_RENAMES.store(false, Ordering::Relaxed)
            }
            r => return r.map_err(already_exists),
        }
    }
    if HARD_LINKS.load(Ordering::Relaxed) {
        match rename_new(dir, from, to, NewName::Link) {
            Err(Errno::PERM | Errno::NOSYS | Errno::OPNOTSUPP | Errno::MLINK) => {
                HARD_LINKS.store(false, Ordering::Relaxed)
            }
            r => return r.map_err(already_exists),
        }
    }
    rename_new(dir, from, to, NewName::Reserve).map_err(already_exists)
}

/// The ways to rename to a name that must not exist yet, best first.
#[derive(Clone, Copy, Debug)]
enum NewName {
    /// `renameat2(RENAME_NOREPLACE)`: one atomic call.
    NoReplace,
    /// A second name, which `link` refuses to give if it exists, then the first removed.
    Link,
    /// An empty file made under the name with `O_EXCL` (atomic on every file system,
    /// FUSE included), then the rename over it. Looking first, then renaming, let two
    /// punzip runs into one exFAT DEST replace hundreds of each other's files, each run
    /// saying it had extracted them. Only SIGKILL between the two calls leaves the empty
    /// file under the name.
    Reserve,
}

fn rename_new(dir: &OwnedFd, from: &OsStr, to: &OsStr, how: NewName) -> rustix::io::Result<()> {
    match how {
        NewName::NoReplace => rfs::renameat_with(dir, from, dir, to, RenameFlags::NOREPLACE),
        NewName::Link => {
            rfs::linkat(dir, from, dir, to, AtFlags::empty())?;
            let _ = rfs::unlinkat(dir, from, AtFlags::empty());
            Ok(())
        }
        NewName::Reserve => {
            drop(rfs::openat(
                dir,
                to,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )?);
            rfs::renameat(dir, from, dir, to).inspect_err(|_| {
                let _ = rfs::unlinkat(dir, to, AtFlags::empty());
            })
        }
    }
}

/// Creates the symlink `name -> target` in `dir`; with [`Replace::Allow`] via a temporary
/// name, so that an existing entry is replaced atomically.
pub fn symlink_at(dir: &OwnedFd, name: &str, target: &str, replace: Replace) -> io::Result<()> {
    let (name, target) = (&*on_disk(name), &*on_disk(target));
    if replace == Replace::Never {
        // The kernel refuses an existing name itself; no temporary needed.
        return rfs::symlinkat(target, dir, name).map_err(already_exists);
    }
    let tmp = loop {
        let tmp = temp_name();
        match rfs::symlinkat(target, dir, tmp.as_str()) {
            Ok(()) => break tmp,
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    rename(dir, OsStr::new(&tmp), name, replace).inspect_err(|_| {
        let _ = rfs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
    })
}

/// Sets the modification (and access) time of `name` in `dir` without following a link.
pub fn set_mtime_at(dir: &OwnedFd, name: &str, mtime: Mtime) -> io::Result<()> {
    let ts = timestamps(mtime);
    Ok(rfs::utimensat(
        dir,
        &*on_disk(name),
        &ts,
        AtFlags::SYMLINK_NOFOLLOW,
    )?)
}

/// What of a file's or directory's metadata the file system refused ([`set_meta`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unset {
    /// The mode alone (FAT refuses a mode it cannot show; FUSE's FAT and exFAT have no
    /// `chmod`): for a file, unzip says so and exits 0; for a directory, it warns.
    Mode,
    /// The time alone: a warning, as unzip's.
    Time,
    /// Both.
    Both,
}

/// Sets the mode (unless `None`: the file was created with it) and the modification time
/// of an open file or directory, both tried. `Ok(Some(..))`: what the file system refused
/// ([`is_refused_meta`]) and its first error; `Err`: another failure (a write the file
/// system put off).
pub fn set_meta(
    fd: impl AsFd,
    mode: Option<u32>,
    mtime: Option<Mtime>,
) -> io::Result<Option<(Unset, io::Error)>> {
    let mode = match mode {
        Some(mode) => rfs::fchmod(&fd, Mode::from_raw_mode(mode)).map_err(io::Error::from),
        None => Ok(()),
    };
    let times = set_times(fd, mtime);
    Ok(match (mode, times) {
        (Ok(()), Ok(())) => None,
        (Err(e), _) | (_, Err(e)) if !is_refused_meta(&e) => return Err(e),
        (Err(e), Ok(())) => Some((Unset::Mode, e)),
        (Ok(()), Err(e)) => Some((Unset::Time, e)),
        (Err(e), Err(_)) => Some((Unset::Both, e)),
    })
}

/// Whether a failure to set a mode or a time is the file system refusing it (no `chmod`
/// on FAT through FUSE, a mode FAT cannot show, a time out of its range), rather than a
/// write it reports late (a full disk, an I/O error).
pub fn is_refused_meta(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EPERM
                | libc::EACCES
                | libc::ENOSYS
                | libc::EOPNOTSUPP
                | libc::EINVAL
                | libc::EOVERFLOW
                | libc::ERANGE
        )
    )
}

/// Sets the modification (and access) time of an open file or directory.
pub fn set_times(fd: impl AsFd, mtime: Option<Mtime>) -> io::Result<()> {
    if let Some(t) = mtime {
        rfs::futimens(&fd, &timestamps(t))?;
    }
    Ok(())
}

/// Access and modification times both `t`, as unzip sets them.
fn timestamps(t: Mtime) -> rfs::Timestamps {
    let t = rfs::Timespec {
        tv_sec: t.secs,
        tv_nsec: t.nsec.into(),
    };
    rfs::Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// Free bytes for this process on the file system that holds, or would hold, `path`: its
/// nearest existing ancestor's (DEST is not created before this is checked). On ext2/3/4,
/// the blocks reserved for root count when the process may use them
/// ([`may_use_reserved`]): root was refused an archive that fitted, and extracted it with
/// --no-space-check. Elsewhere (btrfs counts metadata slack as free, NFS squashes root)
/// only what everyone may use counts.
pub fn free_space(path: &std::path::Path) -> io::Result<u64> {
    free_space_for(path, may_use_reserved())
}

/// `statfs`'s magic number of ext2, ext3 and ext4.
const EXT4_SUPER_MAGIC: u64 = 0xEF53;

/// [`free_space`], for a process that may (`reserved`) or may not use reserved blocks.
fn free_space_for(path: &std::path::Path, reserved: bool) -> io::Result<u64> {
    let mut at = path;
    loop {
        match rfs::statfs(at) {
            // A file system that counts no blocks at all (ramfs; some FUSE and network
            // file systems) does not know its free space: it is not zero.
            Ok(st) if st.f_blocks == 0 => return Ok(u64::MAX),
            // (The fields' types differ between targets: u64 on 64-bit Linux.)
            #[allow(clippy::unnecessary_cast)]
            Ok(st) => {
                let (blocks, bfree, bavail) =
                    (st.f_blocks as u64, st.f_bfree as u64, st.f_bavail as u64);
                let free = if reserved && st.f_type as u64 == EXT4_SUPER_MAGIC {
                    // Less ext4's own reserve, which root cannot use either: 2% of the
                    // blocks, at most 4,096 (`resv_clusters`, unless an admin changed it).
                    bfree.saturating_sub((blocks / 50).min(4096)).max(bavail)
                } else {
                    bavail
                };
                return Ok(free.saturating_mul(st.f_frsize as u64));
            }
            Err(rustix::io::Errno::NOENT) if at != std::path::Path::new(".") => {
                at = match at.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => std::path::Path::new("."),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether this process may write into the blocks ext4 (and ext2/3) reserve: as ext4
/// decides it, root (the reserve's default owner, `resuid` 0; this sandbox's root has no
/// `CAP_SYS_RESOURCE` and still may), or a process with `CAP_SYS_RESOURCE` in its
/// effective set, read from /proc/self/status (unknown is no).
fn may_use_reserved() -> bool {
    const CAP_SYS_RESOURCE: u32 = 24;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let hex = s
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))?
                .trim()
                .to_owned();
            u64::from_str_radix(&hex, 16).ok()
        })
        .is_some_and(|caps| caps >> CAP_SYS_RESOURCE & 1 == 1)
}

/// The process umask, read once before any thread starts (reading it means setting it).
pub fn umask() -> u32 {
    let old = rustix::process::umask(Mode::from_raw_mode(0o022));
    rustix::process::umask(old);
    old.as_raw_mode()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way to take a new name moves the file there, and refuses a name that exists,
    /// keeping both files as they were.
    #[test]
    fn each_way_to_a_new_name_refuses_an_existing_one() {
        for how in [NewName::NoReplace, NewName::Link, NewName::Reserve] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = open_root(tmp.path()).unwrap();
            std::fs::write(tmp.path().join("t1"), b"new").unwrap();
            rename_new(&dir, OsStr::new("t1"), OsStr::new("a"), how).unwrap();
            assert_eq!(
                std::fs::read(tmp.path().join("a")).unwrap(),
                b"new",
                "{how:?}"
            );
            assert!(!tmp.path().join("t1").exists(), "{how:?}");

            std::fs::write(tmp.path().join("t2"), b"other").unwrap();
            let e = rename_new(&dir, OsStr::new("t2"), OsStr::new("a"), how).unwrap_err();
            assert_eq!(e, rustix::io::Errno::EXIST, "{how:?}");
            assert_eq!(
                std::fs::read(tmp.path().join("a")).unwrap(),
                b"new",
                "{how:?}"
            );
            assert_eq!(std::fs::read(tmp.path().join("t2")).unwrap(), b"other");

            // A dangling symlink is a name that exists too.
            std::os::unix::fs::symlink("nowhere", tmp.path().join("l")).unwrap();
            let e = rename_new(&dir, OsStr::new("t2"), OsStr::new("l"), how).unwrap_err();
            assert_eq!(e, rustix::io::Errno::EXIST, "{how:?}");
        }
    }

    #[test]
    fn refused_modes_and_times_are_told_from_late_write_errors() {
        for errno in [libc::EPERM, libc::ENOSYS, libc::EOPNOTSUPP, libc::EACCES] {
            assert!(is_refused_meta(&io::Error::from_raw_os_error(errno)));
        }
        for errno in [libc::ENOSPC, libc::EDQUOT, libc::EIO, libc::EFBIG] {
            assert!(!is_refused_meta(&io::Error::from_raw_os_error(errno)));
        }
    }

    #[test]
    fn free_space_of_a_destination_not_yet_created_is_its_ancestors() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("a/b/c");
        // The same file system (others may write to it meanwhile: a loose comparison).
        let (a, b) = (
            free_space(&missing).unwrap(),
            free_space(tmp.path()).unwrap(),
        );
        assert!(a.abs_diff(b) < 1 << 30, "{a} vs {b}");
        assert!(!missing.exists());
    }

    #[test]
    fn an_unnamed_file_takes_its_name_only_at_commit_and_never_replaces() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = open_root(tmp.path()).unwrap();
        let mut t = TempFile::create(&dir, 0o640).unwrap();
        io::Write::write_all(t.file(), b"data").unwrap();
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        t.commit("f", Replace::Never).unwrap();
        assert_eq!(std::fs::read(tmp.path().join("f")).unwrap(), b"data");
        let t = TempFile::create(&dir, 0o640).unwrap();
        let e = t.commit("f", Replace::Never).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        // A dropped file leaves nothing.
        drop(TempFile::create(&dir, 0o600).unwrap());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_replacing_file_is_unnamed_until_it_replaces_the_old_one_at_commit() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = open_root(tmp.path()).unwrap();
        std::fs::write(tmp.path().join("f"), b"old").unwrap();
        let mut t = TempFile::create(&dir, 0o640).unwrap();
        assert!(t.is_unnamed());
        io::Write::write_all(t.file(), b"new").unwrap();
        // While it is written only the old file has a name (a kill here leaves nothing).
        let names = || -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(tmp.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(), ["f"]);
        t.commit("f", Replace::Allow).unwrap();
        assert_eq!(std::fs::read(tmp.path().join("f")).unwrap(), b"new");
        assert_eq!(names(), ["f"]);
        // A directory in the way is refused, and the temporary name is gone again.
        std::fs::create_dir(tmp.path().join("d")).unwrap();
        let t = TempFile::create(&dir, 0o640).unwrap();
        let e = t.commit("d", Replace::Allow).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::IsADirectory);
        assert_eq!(names(), ["d", "f"]);
    }

    #[test]
    fn where_empty_path_links_are_refused_the_proc_way_names_files_alike() {
        EMPTY_PATH_LINKS.store(false, Ordering::Relaxed);
        let tmp = tempfile::tempdir().unwrap();
        let dir = open_root(tmp.path()).unwrap();
        let mut t = TempFile::create(&dir, 0o640).unwrap();
        io::Write::write_all(t.file(), b"data").unwrap();
        t.commit("f", Replace::Never).unwrap();
        assert_eq!(std::fs::read(tmp.path().join("f")).unwrap(), b"data");
        let t = TempFile::create(&dir, 0o640).unwrap();
        let e = t.commit("f", Replace::Never).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        EMPTY_PATH_LINKS.store(true, Ordering::Relaxed);
    }
}
