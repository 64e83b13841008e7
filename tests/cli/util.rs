//! Helpers shared by the integration tests: running the binaries, temporary trees,
//! checking whether an oracle program is installed, and the one way tests build archives
//! ([`ZipBuilder`] over the zip crate's writer, [`raw_stored_zip`] byte by byte for names
//! no writer produces) with the one CRC-32 ([`crc32`], checked against the standard
//! check value).

#![allow(dead_code)]

use std::io::{Cursor, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// The punzip binary built by cargo for this test run.
pub fn punzip() -> Command {
    Command::new(env!("CARGO_BIN_EXE_punzip"))
}

/// The phash binary built by cargo for this test run.
pub fn phash() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phash"))
}

/// Sets `RLIMIT_NOFILE` to `soft`/`hard` in the child, before it starts: a low
/// `ulimit -n` without a shell.
pub fn limit_descriptors(cmd: &mut Command, soft: u64, hard: u64) -> &mut Command {
    limit(cmd, libc::RLIMIT_NOFILE, soft, hard)
}

/// Sets `RLIMIT_AS` to `bytes` in the child: `ulimit -v`.
pub fn limit_address_space(cmd: &mut Command, bytes: u64) -> &mut Command {
    limit(cmd, libc::RLIMIT_AS, bytes, bytes)
}

/// Sets `RLIMIT_FSIZE` to `bytes` in the child: `ulimit -f`.
pub fn limit_file_size(cmd: &mut Command, bytes: u64) -> &mut Command {
    limit(cmd, libc::RLIMIT_FSIZE, bytes, bytes)
}

fn limit(
    cmd: &mut Command,
    resource: libc::__rlimit_resource_t,
    soft: u64,
    hard: u64,
) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(resource, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Starts the child with descriptor 1 closed, as `>&-` does in a shell.
pub fn close_stdout(cmd: &mut Command) -> &mut Command {
    close_fd(cmd, 1)
}

/// Starts the child with descriptor 0 closed, as `<&-` does in a shell.
pub fn close_stdin(cmd: &mut Command) -> &mut Command {
    close_fd(cmd, 0)
}

fn close_fd(cmd: &mut Command, fd: i32) -> &mut Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: close is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::close(fd);
            Ok(())
        })
    }
}

/// Runs a command with no stdin and returns its output.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .expect("cannot run command")
}

/// Exit status code of an output (panics if killed by a signal).
pub fn code(out: &Output) -> i32 {
    out.status.code().expect("killed by a signal")
}

/// Stderr as text, for messages in assertions.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether a program is on PATH; prints a skip message when it is not.
pub fn have(program: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("SKIP: {program} is not installed");
    }
    found
}

/// `len` bytes that do not compress (a multiplicative hash of each offset), different for
/// each `seed`: big files and stored members that cost real bytes to write and read.
pub fn incompressible(len: usize, seed: u8) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8 ^ seed)
        .collect()
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("cannot create temp dir")
}

/// Writes a file, creating its parent directories.
pub fn write(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, bytes).unwrap();
}

/// One entry of a directory tree, as compared between extractions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File {
        bytes: Vec<u8>,
        mode: u32,
        mtime: i64,
    },
    Dir {
        mode: u32,
    },
    Link {
        target: std::path::PathBuf,
    },
}

/// Every entry below `root` (not `root` itself), by relative path.
pub fn snapshot(root: &Path) -> std::collections::BTreeMap<String, Node> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut out = std::collections::BTreeMap::new();
    for e in walkdir::WalkDir::new(root).min_depth(1) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(root).unwrap().display().to_string();
        let md = e.path().symlink_metadata().unwrap();
        let node = if md.file_type().is_symlink() {
            Node::Link {
                target: std::fs::read_link(e.path()).unwrap(),
            }
        } else if md.is_dir() {
            Node::Dir {
                mode: md.permissions().mode() & 0o7777,
            }
        } else {
            Node::File {
                bytes: std::fs::read(e.path()).unwrap(),
                mode: md.permissions().mode() & 0o7777,
                mtime: md.mtime(),
            }
        };
        out.insert(rel, node);
    }
    out
}

/// Directory modification times below `root`, by relative path.
pub fn dir_mtimes(root: &Path) -> std::collections::BTreeMap<String, i64> {
    use std::os::unix::fs::MetadataExt;
    walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_dir())
        .map(|e| {
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            (rel, e.metadata().unwrap().mtime())
        })
        .collect()
}

/// Paths of leftover temporary files below `root`.
pub fn temp_files(root: &Path) -> Vec<String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".punzip-") && n.ends_with(".tmp"))
        .collect()
}

/// 2021-03-04 05:06:08, the time every [`ZipBuilder`] member carries unless told.
pub const WHEN: (u16, u8, u8, u8, u8, u8) = (2021, 3, 4, 5, 6, 8);
/// The same instant in Unix seconds (UTC; tests run punzip with TZ=UTC).
pub const WHEN_UNIX: i64 = 1_614_834_368;

/// The options every builder member starts from: `method`, `mode`, [`WHEN`].
pub fn opts(method: CompressionMethod, mode: u32) -> SimpleFileOptions {
    let (y, mo, d, h, mi, s) = WHEN;
    SimpleFileOptions::default()
        .compression_method(method)
        .unix_permissions(mode)
        .last_modified_time(DateTime::from_date_and_time(y, mo, d, h, mi, s).unwrap())
}

/// Builds an archive in memory with the zip crate's writer. Members are deflated, mode
/// 0644 (directories 0755), dated [`WHEN`], unless given options of their own.
pub struct ZipBuilder {
    w: ZipWriter<Cursor<Vec<u8>>>,
}

impl Default for ZipBuilder {
    fn default() -> Self {
        ZipBuilder::new()
    }
}

impl ZipBuilder {
    pub fn new() -> ZipBuilder {
        ZipBuilder {
            w: ZipWriter::new(Cursor::new(Vec::new())),
        }
    }

    /// A regular file with the default options.
    pub fn file(&mut self, name: &str, bytes: &[u8]) -> &mut Self {
        self.file_with(name, bytes, opts(CompressionMethod::Deflated, 0o644))
    }

    /// A regular file with options of its own.
    pub fn file_with(&mut self, name: &str, bytes: &[u8], o: SimpleFileOptions) -> &mut Self {
        self.w.start_file(name, o).unwrap();
        self.w.write_all(bytes).unwrap();
        self
    }

    /// A directory entry (`name` ends with `/`).
    pub fn dir(&mut self, name: &str) -> &mut Self {
        self.dir_with(name, opts(CompressionMethod::Stored, 0o755))
    }

    pub fn dir_with(&mut self, name: &str, o: SimpleFileOptions) -> &mut Self {
        self.w.add_directory(name, o).unwrap();
        self
    }

    /// A symlink entry.
    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.w
            .add_symlink(name, target, opts(CompressionMethod::Stored, 0o777))
            .unwrap();
        self
    }

    pub fn comment(&mut self, text: &str) -> &mut Self {
        self.w.set_comment(text).unwrap();
        self
    }

    /// The archive's bytes.
    pub fn finish(self) -> Vec<u8> {
        self.w.finish().unwrap().into_inner()
    }

    /// Writes the archive to `path`.
    pub fn write_to(self, path: &Path) {
        std::fs::write(path, self.finish()).unwrap();
    }
}

/// An archive of regular files with the default options.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = ZipBuilder::new();
    for (name, bytes) in entries {
        b.file(name, bytes);
    }
    b.finish()
}

/// CRC-32 (IEEE, as zip uses), bit by bit: slow and obviously right, for test data.
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A minimal stored archive written byte by byte, for names no writer produces (raw
/// CP437 bytes without the UTF-8 flag, control characters).
pub fn raw_stored_zip(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
    let raw: Vec<RawEntry> = entries
        .iter()
        .map(|&(name, data)| RawEntry::new(name, data))
        .collect();
    raw_zip(&raw)
}

/// One stored member of [`raw_zip`], every field that other writers choose set by hand.
pub struct RawEntry<'a> {
    pub name: &'a [u8],
    pub data: &'a [u8],
    /// The "made by" host: 0 MS-DOS, 3 Unix, 11 Windows NT.
    pub host: u8,
    /// The "made by" version (20 is 2.0).
    pub made_by: u8,
    pub external: u32,
    pub dos_date: u16,
    pub dos_time: u16,
    /// The extra fields, the same in the local header and the central record.
    pub extra: Vec<u8>,
    /// The local header's name, when it is not `name`.
    pub local_name: Option<&'a [u8]>,
    /// The local header's extra fields, when they are not `extra`.
    pub local_extra: Option<Vec<u8>>,
    /// The compression method and the bytes written for `data`, when it is not stored.
    pub packed: Option<(u16, &'a [u8])>,
}

impl<'a> RawEntry<'a> {
    /// Made on MS-DOS, no attributes, dated 2021-04-03 00:00, no extra fields.
    pub fn new(name: &'a [u8], data: &'a [u8]) -> RawEntry<'a> {
        RawEntry {
            name,
            data,
            host: 0,
            made_by: 20,
            external: 0,
            dos_date: 0x5283,
            dos_time: 0,
            extra: Vec::new(),
            local_name: None,
            local_extra: None,
            packed: None,
        }
    }
}

/// A zip written byte by byte, for what no writer here makes: members stored, or packed
/// by the caller ([`RawEntry::packed`]).
pub fn raw_zip(entries: &[RawEntry]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for e in entries {
        let (method, written) = e.packed.unwrap_or((0, e.data));
        let name = e.name;
        let offset = out.len() as u32;
        let (len, sum) = (e.data.len() as u32, crc32(e.data));
        let local_name = e.local_name.unwrap_or(name);
        let common = |v: &mut Vec<u8>, n: usize, extra: u16| {
            v.extend(20u16.to_le_bytes()); // version needed
            v.extend(0u16.to_le_bytes()); // flags: no UTF-8 bit
            v.extend(method.to_le_bytes());
            v.extend(e.dos_time.to_le_bytes());
            v.extend(e.dos_date.to_le_bytes());
            v.extend(sum.to_le_bytes());
            v.extend((written.len() as u32).to_le_bytes());
            v.extend(len.to_le_bytes());
            v.extend((n as u16).to_le_bytes());
            v.extend(extra.to_le_bytes());
        };
        let local_extra = e.local_extra.as_ref().unwrap_or(&e.extra);
        out.extend(0x0403_4b50u32.to_le_bytes());
        common(&mut out, local_name.len(), local_extra.len() as u16);
        out.extend(local_name);
        out.extend(local_extra);
        out.extend(written);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend([e.made_by, e.host]); // made by: version, host
        common(&mut central, name.len(), e.extra.len() as u16);
        central.extend([0u8; 6]); // comment length, disk, internal attributes
        central.extend(e.external.to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(name);
        central.extend(&e.extra);
    }
    let cd_start = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_start.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// Runs `cmd` with stdout on a pipe, reads its first line, closes the pipe (as `| head -1`
/// does) and waits. Returns the line, the exit status and stderr.
pub fn first_line_then_close(cmd: &mut Command) -> (String, Option<i32>, String) {
    use std::io::BufRead;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run command");
    let mut line = String::new();
    {
        let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
        reader.read_line(&mut line).unwrap();
        // Dropping the reader closes our end of the pipe.
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    (line, status.code(), err)
}

/// Runs `cmd` with stdout on a pipe whose reading end is already closed, so that the
/// very first write to stdout fails with `EPIPE` (`| head` after head has exited).
pub fn with_closed_stdout(cmd: &mut Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let child = cmd
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run command");
    // The command holds the only writing end; `cmd` keeps none once spawned.
    child.wait_with_output().unwrap()
}

#[test]
fn crc32_has_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

/// Runs punzip with `args` under GNU time and returns its exit code and peak RSS in
/// bytes, or None (with a skip message) without GNU time. Not measured from this process:
/// a child forked from the test harness inherits the harness's own peak.
pub fn peak_rss(args: &[&str]) -> Option<(i32, u64)> {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        eprintln!("SKIP: /usr/bin/time (GNU time) is not installed");
        return None;
    }
    let dir = tempdir();
    let report = dir.path().join("rss");
    let out = run(Command::new(time)
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_punzip"))
        .args(args)
        .stdout(Stdio::null()));
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    let Some(kb) = text
        .lines()
        .last()
        .and_then(|l| l.trim().parse::<u64>().ok())
    else {
        eprintln!("SKIP: /usr/bin/time printed no peak RSS: {text:?}");
        return None;
    };
    Some((code(&out), kb * 1024))
}

/// The regular files under `root`, depth-first, each directory's names sorted by bytes:
/// the order phash must print, found without phash.
pub fn files_in_order(root: &Path) -> Vec<PathBuf> {
    let mut names: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let mut out = Vec::new();
    for n in names {
        let p = root.join(n);
        let md = std::fs::symlink_metadata(&p).unwrap();
        if md.is_dir() {
            out.extend(files_in_order(&p));
        } else if md.is_file() {
            out.push(p);
        }
    }
    out
}

/// Whether strace is installed and may trace here (a sandbox can forbid ptrace).
pub fn strace_works() -> bool {
    if !have("strace") {
        return false;
    }
    let ok = Command::new("strace")
        .args(["-qq", "-o", "/dev/null", "true"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIP: strace cannot trace here (ptrace not permitted)");
    }
    ok
}

/// Sends `signal` to our own child `child` (not yet reaped); whether kill(2) succeeded.
pub fn signal(child: &std::process::Child, signal: i32) -> bool {
    // SAFETY: kill(2) on the pid of a child we spawned and have not waited for.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) == 0 }
}
