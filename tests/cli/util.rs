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
