//! Helpers shared by the integration tests: running the binaries, temporary trees, and
//! checking whether an oracle program is installed.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The punzip binary built by cargo for this test run.
pub fn punzip() -> Command {
    Command::new(env!("CARGO_BIN_EXE_punzip"))
}

/// The phash binary built by cargo for this test run.
pub fn phash() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phash"))
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
