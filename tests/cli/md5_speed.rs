//! phash's fast paths against md5sum: streamed files (bigger than a lane chunk) gathered
//! across the walk into lane groups and put back in their place, big files read ahead on a
//! helper thread, on every MD5 engine this CPU has (`PHASH_MD5_ENGINE`), with one worker
//! and with two, in hash mode and in check mode.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use punzip::hash::lanes::Engine;

use crate::util::files_in_order;
use crate::util::{code, have, phash, run, stderr, tempdir, write};

/// Deterministic bytes (xorshift).
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A tree where files bigger than a lane chunk (256 KiB) are scattered among small ones in
/// several directories, with odd sizes, one big enough to be read ahead (9 MiB), and a
/// run of them long enough to fill a group.
fn mixed_tree(root: &Path) {
    let mut n = 0u64;
    for d in ["a", "b/c", "d"] {
        for i in 0..40 {
            n += 1;
            let size = match (d, i % 9) {
                ("d", _) if i < 14 => 256 * 1024 + 1 + (i as usize) * 33_333,
                (_, 4) => 300_000 + (n as usize) * 1_111,
                _ => (n as usize * 97) % 5000,
            };
            write(&root.join(d).join(format!("f{i:02}")), &bytes(size, n));
        }
    }
    write(&root.join("b/huge"), &bytes(9 << 20, 7));
    write(&root.join("b/c/empty"), b"");
}

fn md5sum_of(cwd: &Path, files: &[PathBuf]) -> Vec<u8> {
    let out = Command::new("md5sum")
        .current_dir(cwd)
        .arg("--")
        .args(files)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    out.stdout
}

fn engines() -> Vec<&'static str> {
    Engine::available().into_iter().map(Engine::name).collect()
}

#[test]
fn streamed_files_print_in_walk_order_as_md5sum_on_every_engine_and_job_count() {
    if !have("md5sum") {
        eprintln!("SKIP: no md5sum");
        return;
    }
    let dir = tempdir();
    mixed_tree(&dir.path().join("t"));
    let files: Vec<PathBuf> = files_in_order(&dir.path().join("t"))
        .into_iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
        .collect();
    let want = md5sum_of(dir.path(), &files);
    for engine in engines() {
        for jobs in ["1", "2"] {
            let out = run(phash()
                .current_dir(dir.path())
                .env("PHASH_MD5_ENGINE", engine)
                .args(["-j", jobs, "t"]));
            assert_eq!(code(&out), 0, "{engine} -j{jobs}: {}", stderr(&out));
            assert!(
                out.stdout == want,
                "{engine} -j{jobs}: output differs from md5sum's"
            );
        }
    }
}

#[test]
fn a_big_operand_read_ahead_equals_md5sum_on_every_engine() {
    if !have("md5sum") {
        eprintln!("SKIP: no md5sum");
        return;
    }
    let dir = tempdir();
    write(&dir.path().join("big"), &bytes((12 << 20) + 5, 3));
    let want = md5sum_of(dir.path(), &[PathBuf::from("big")]);
    for engine in engines() {
        for jobs in ["1", "2"] {
            let out = run(phash()
                .current_dir(dir.path())
                .env("PHASH_MD5_ENGINE", engine)
                .args(["-j", jobs, "big"]));
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            assert_eq!(out.stdout, want, "{engine} -j{jobs}");
        }
    }
}

#[test]
fn check_mode_on_the_mixed_tree_agrees_with_md5sum_c_on_every_engine() {
    if !have("md5sum") {
        eprintln!("SKIP: no md5sum");
        return;
    }
    let dir = tempdir();
    mixed_tree(&dir.path().join("t"));
    let files: Vec<PathBuf> = files_in_order(&dir.path().join("t"))
        .into_iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
        .collect();
    std::fs::write(dir.path().join("list"), md5sum_of(dir.path(), &files)).unwrap();
    // One file changed after the list was made: FAILED for it, exit 1, as md5sum -c.
    write(&dir.path().join("t/d/f03"), b"changed");
    let want = Command::new("md5sum")
        .current_dir(dir.path())
        .args(["-c", "list"])
        .output()
        .unwrap();
    assert_eq!(want.status.code(), Some(1));
    for engine in engines() {
        for jobs in ["1", "2"] {
            let out = run(phash()
                .current_dir(dir.path())
                .env("PHASH_MD5_ENGINE", engine)
                .args(["-j", jobs, "-c", "list"]));
            assert_eq!(code(&out), 1, "{engine} -j{jobs}: {}", stderr(&out));
            assert!(
                out.stdout == want.stdout,
                "{engine} -j{jobs}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
}
