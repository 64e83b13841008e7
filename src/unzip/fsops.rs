//! File-system operations that never follow a symbolic link and never leave a half-written
//! file under a final name.
//!
//! Every write goes through a directory file descriptor opened component by component from
//! DEST with `O_NOFOLLOW | O_DIRECTORY`: an existing symlink anywhere in the path, planted
//! before the run or by a racing process, makes the open fail instead of being followed.
//! Files are written to a temporary name in their target directory (`O_EXCL`, mode 0600),
//! and renamed into place only once their content checks out; a [`TempFile`] that is
//! dropped without being committed removes itself, so errors and interrupts leave nothing.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, RenameFlags};

/// Opens DEST itself (following a symlink here is the user's choice, as with `cd`).
pub fn open_root(path: &std::path::Path) -> io::Result<OwnedFd> {
    Ok(rfs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

pub fn open_dir_at(dir: impl AsFd, name: &str) -> io::Result<OwnedFd> {
    rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        if e == rustix::io::Errno::LOOP || e == rustix::io::Errno::NOTDIR {
            io::Error::other(format!(
                "'{name}' is a symbolic link or not a directory; it is not followed"
            ))
        } else {
            e.into()
        }
    })
}

/// Visits directories below a root in sorted order, keeping the handles of the current
/// path open so that each directory is opened (or created) once, not once per member:
/// `a`, `a/b`, `a/c`, `b` costs four `openat`s, not seven. Directories are "left" in
/// post-order (every child before its parent), which is the order their final modes and
/// times must be set in.
pub struct DirStack<'r> {
    root: &'r OwnedFd,
    /// The current path and, index for index, the open handle of each of its directories.
    names: Vec<String>,
    fds: Vec<OwnedFd>,
}

impl<'r> DirStack<'r> {
    pub fn new(root: &'r OwnedFd) -> DirStack<'r> {
        DirStack {
            root,
            names: Vec::new(),
            fds: Vec::new(),
        }
    }

    /// Opens `parts`, creating missing directories with `create` mode if given; `left` is
    /// called with each directory the walk leaves on the way.
    pub fn open(
        &mut self,
        parts: &[String],
        create: Option<u32>,
        left: &mut dyn FnMut(&[String], &OwnedFd),
    ) -> io::Result<&OwnedFd> {
        let common = self
            .names
            .iter()
            .zip(parts)
            .take_while(|(have, want)| have == want)
            .count();
        while self.names.len() > common {
            self.pop(left);
        }
        for p in &parts[common..] {
            let parent = self.fds.last().unwrap_or(self.root);
            if let Some(mode) = create {
                match rfs::mkdirat(parent, p.as_str(), Mode::from_raw_mode(mode)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let fd = open_dir_at(parent, p)?;
            self.names.push(p.clone());
            self.fds.push(fd);
        }
        Ok(self.fds.last().unwrap_or(self.root))
    }

    fn pop(&mut self, left: &mut dyn FnMut(&[String], &OwnedFd)) {
        if let Some(fd) = self.fds.pop() {
            left(&self.names, &fd);
            self.names.pop();
        }
    }

    /// Leaves every directory still open.
    pub fn finish(mut self, left: &mut dyn FnMut(&[String], &OwnedFd)) {
        while !self.fds.is_empty() {
            self.pop(left);
        }
    }
}

/// Whether `name` exists in `dir` (without following a symlink), and if so whether it is
/// a directory.
pub fn exists_at(dir: impl AsFd, name: &str) -> io::Result<Option<bool>> {
    match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => Ok(Some(
            rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::Directory,
        )),
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A name for a temporary file that no other punzip run or worker will pick.
fn temp_name() -> String {
    let n = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
    format!(".punzip-{}-{n}.tmp", std::process::id())
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

/// A file being written under a temporary name; removed on drop unless committed.
pub struct TempFile<'d> {
    dir: &'d OwnedFd,
    name: String,
    file: Option<File>,
}

impl<'d> TempFile<'d> {
    /// Creates a new, empty temporary file (mode 0600) in `dir`.
    pub fn create(dir: &'d OwnedFd) -> io::Result<TempFile<'d>> {
        loop {
            let name = temp_name();
            match rfs::openat(
                dir,
                name.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => {
                    return Ok(TempFile {
                        dir,
                        name,
                        file: Some(File::from(fd)),
                    })
                }
                Err(rustix::io::Errno::EXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The open file, for writing and for setting its mode and times.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("file is open until commit")
    }

    /// Renames the file to `final_name` in its directory.
    pub fn commit(mut self, final_name: &str, replace: Replace) -> io::Result<()> {
        drop(self.file.take());
        rename(self.dir, &self.name, final_name, replace)?;
        self.name.clear();
        Ok(())
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if !self.name.is_empty() {
            let _ = rfs::unlinkat(self.dir, self.name.as_str(), AtFlags::empty());
        }
    }
}

fn rename(dir: &OwnedFd, from: &str, to: &str, replace: Replace) -> io::Result<()> {
    let flags = match replace {
        Replace::Never => RenameFlags::NOREPLACE,
        Replace::Allow => RenameFlags::empty(),
    };
    if replace == Replace::Allow {
        if let Some(true) = exists_at(dir, to)? {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "a directory is in the way",
            ));
        }
    }
    rfs::renameat_with(dir, from, dir, to, flags).map_err(|e| {
        if e == rustix::io::Errno::EXIST {
            io::Error::new(io::ErrorKind::AlreadyExists, "already exists")
        } else {
            e.into()
        }
    })
}

/// Creates the symlink `name -> target` in `dir`, via a temporary name so that an
/// existing entry is replaced atomically (or kept, with [`Replace::Never`]).
pub fn symlink_at(dir: &OwnedFd, name: &str, target: &str, replace: Replace) -> io::Result<()> {
    let tmp = loop {
        let tmp = temp_name();
        match rfs::symlinkat(target, dir, tmp.as_str()) {
            Ok(()) => break tmp,
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    rename(dir, &tmp, name, replace).inspect_err(|_| {
        let _ = rfs::unlinkat(dir, tmp.as_str(), AtFlags::empty());
    })
}

/// Sets the modification (and access) time of `name` in `dir` without following a link.
pub fn set_mtime_at(dir: &OwnedFd, name: &str, secs: i64) -> io::Result<()> {
    let ts = rfs::Timestamps {
        last_access: rfs::Timespec {
            tv_sec: secs,
            tv_nsec: 0,
        },
        last_modification: rfs::Timespec {
            tv_sec: secs,
            tv_nsec: 0,
        },
    };
    Ok(rfs::utimensat(dir, name, &ts, AtFlags::SYMLINK_NOFOLLOW)?)
}

/// Sets mode and modification time on an open file or directory.
pub fn set_meta(fd: impl AsFd, mode: u32, mtime: Option<i64>) -> io::Result<()> {
    rfs::fchmod(&fd, Mode::from_raw_mode(mode))?;
    if let Some(secs) = mtime {
        let t = rfs::Timespec {
            tv_sec: secs,
            tv_nsec: 0,
        };
        rfs::futimens(
            &fd,
            &rfs::Timestamps {
                last_access: t,
                last_modification: t,
            },
        )?;
    }
    Ok(())
}

/// Free bytes for unprivileged users on the file system holding `dir`.
pub fn free_space(dir: &OwnedFd) -> io::Result<u64> {
    let st = rfs::fstatvfs(dir)?;
    Ok(st.f_bavail.saturating_mul(st.f_frsize))
}

/// The process umask, read once before any thread starts (reading it means setting it).
pub fn umask() -> u32 {
    let old = rustix::process::umask(Mode::from_raw_mode(0o022));
    rustix::process::umask(old);
    old.as_raw_mode()
}
