//! phash's fast paths against md5sum: streamed files (bigger than a lane chunk) gathered
//! across the walk into lane groups and put back in their place, big files read ahead on a
//! helper thread, on every MD5 engine this CPU has (`PHASH_MD5_ENGINE`), with one worker
//! and with two, in hash mode and in check mode.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use punzip::hash::lanes::Engine;

use crate::util::files_in_order;
use crate::util::{code, have, limit_descriptors, phash, run, stderr, tempdir, write};

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

/// System calls `phash -j 2` makes for a tree of `n` small files (100 per directory), by
/// name, for the calls that touch files.
fn phash_syscalls_for(n: usize) -> Option<std::collections::BTreeMap<String, usize>> {
    let t = tempdir();
    let root = t.path().join("t");
    for i in 0..n {
        write(
            &root.join(format!("d{}/f{i}", i / 100)),
            format!("file {i}\n").as_bytes(),
        );
    }
    let trace = t.path().join("trace");
    let out = run(Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(&trace)
        .args([
            "-e",
            "trace=openat,open,read,pread64,preadv2,newfstatat,fstat,statx,lstat,stat,close,fadvise64",
        ])
        .arg(env!("CARGO_BIN_EXE_phash"))
        .args(["-j", "2"])
        .arg(&root));
    if code(&out) != 0 && !trace.exists() {
        eprintln!("SKIP: strace cannot trace here: {}", stderr(&out));
        return None;
    }
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), n);
    let mut by_name = std::collections::BTreeMap::new();
    for l in std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("resumed>"))
    {
        let call = l.split_once(' ').map_or(l, |(_, rest)| rest).trim_start();
        let name = call.split('(').next().unwrap_or(call).to_string();
        *by_name.entry(name).or_default() += 1;
    }
    Some(by_name)
}

#[test]
fn a_small_file_in_a_tree_costs_five_system_calls_and_one_stat_after_the_walks() {
    if !have("strace") {
        return;
    }
    // The difference between two runs cancels start-up (loader, threads, buffers).
    let (Some(few), Some(many)) = (phash_syscalls_for(200), phash_syscalls_for(600)) else {
        return;
    };
    let per_file = |name: &str| {
        (many.get(name).copied().unwrap_or(0) as f64 - few.get(name).copied().unwrap_or(0) as f64)
            / 400.0
    };
    let total: f64 = many
        .keys()
        .chain(few.keys())
        .map(|k| per_file(k))
        .sum::<f64>()
        / 2.0;
    // The walk's open and fstat of the entry (or, where it holds no file, its stat by
    // name, and the worker's open), read, one fstat after the read, close; plus a few per
    // directory (four more directories).
    assert!(
        total <= 5.1,
        "{total:.2} calls per file: {few:?} / {many:?}"
    );
    let stats = ["newfstatat", "fstat", "statx", "stat", "lstat"]
        .iter()
        .map(|s| per_file(s))
        .sum::<f64>();
    assert!(
        (1.9..=2.05).contains(&stats),
        "{stats:.2} stats per file: {few:?} / {many:?}"
    );
}

/// The walk opens small files for the workers (one lookup of each name, not two) when it
/// has a core of its own, or when `PHASH_WALK_OPENS=1`; `0` never. Both ways give
/// md5sum's lines, and the same messages and exit status for what cannot be hashed (a
/// FIFO, a dangling link), at one worker and two.
#[test]
fn the_walk_opening_files_or_not_gives_md5sums_output_and_the_same_messages() {
    if !have("md5sum") {
        eprintln!("SKIP: no md5sum");
        return;
    }
    let dir = tempdir();
    let root = dir.path().join("t");
    mixed_tree(&root);
    let files: Vec<PathBuf> = files_in_order(&root)
        .into_iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
        .collect();
    let want = md5sum_of(dir.path(), &files);
    let fifo = std::ffi::CString::new(root.join("a/fifo").as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    std::os::unix::fs::symlink("nowhere", root.join("b/dangling")).unwrap();
    for jobs in ["1", "2"] {
        let held = run(phash()
            .env("PHASH_WALK_OPENS", "1")
            .current_dir(dir.path())
            .args(["-j", jobs, "t"]));
        let named = run(phash()
            .env("PHASH_WALK_OPENS", "0")
            .current_dir(dir.path())
            .args(["-j", jobs, "t"]));
        assert_eq!(code(&held), code(&named), "-j{jobs}: {}", stderr(&held));
        assert!(
            held.stdout == want,
            "-j{jobs}: {}",
            String::from_utf8_lossy(&held.stdout)
        );
        assert!(named.stdout == want, "-j{jobs}");
        assert_eq!(stderr(&held), stderr(&named), "-j{jobs}");
        assert!(stderr(&held).contains("fifo"), "{}", stderr(&held));
    }
}

/// The files the walk holds open for the workers are bounded (a few thousand, and fewer
/// under a low descriptor limit): 6,000 files under a limit of 2,000 descriptors are all
/// hashed, no "Too many open files", no wait forever.
#[test]
fn the_files_the_walk_holds_open_stay_under_the_descriptor_limit() {
    if !have("md5sum") {
        eprintln!("SKIP: no md5sum");
        return;
    }
    let dir = tempdir();
    for i in 0..6000 {
        write(
            &dir.path().join(format!("t/d{}/f{i}", i / 500)),
            &bytes(i % 61, i as u64),
        );
    }
    let files: Vec<PathBuf> = files_in_order(&dir.path().join("t"))
        .into_iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
        .collect();
    let want = md5sum_of(dir.path(), &files);
    for jobs in ["1", "2"] {
        let mut cmd = phash();
        cmd.env("PHASH_WALK_OPENS", "1")
            .current_dir(dir.path())
            .args(["-j", jobs, "t"]);
        let out = run(limit_descriptors(&mut cmd, 2000, 2000));
        assert_eq!(code(&out), 0, "-j{jobs}: {}", stderr(&out));
        assert!(out.stdout == want, "-j{jobs}");
    }
}

/// Descriptors inherited from the shell count against the limit too: with 600 of them
/// open and a limit of 2,000, the walk's budget (taken from the limit alone) overran it,
/// and files and whole directories failed with "Too many open files" where the old way
/// hashed them all. Held files now leave room for what is already open.
#[test]
fn the_files_the_walk_holds_leave_room_for_descriptors_already_open() {
    use std::os::unix::process::CommandExt;
    let dir = tempdir();
    for i in 0..12_000 {
        write(
            &dir.path().join(format!("t/d{}/f{i}", i / 500)),
            format!("{i}").as_bytes(),
        );
    }
    for jobs in ["1", "2"] {
        let mut cmd = phash();
        cmd.env("PHASH_WALK_OPENS", "1")
            .current_dir(dir.path())
            .args(["-j", jobs, "t"])
            .stdin(Stdio::null());
        // SAFETY: only dup2, async-signal-safe, between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                for fd in 100..700 {
                    if libc::dup2(0, fd) < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let out = run(limit_descriptors(&mut cmd, 2000, 2000));
        assert_eq!(code(&out), 0, "-j{jobs}: {}", stderr(&out));
        assert_eq!(
            out.stdout.split(|&b| b == b'\n').count() - 1,
            12_000,
            "-j{jobs}"
        );
    }
}

/// phash on `t` (under `dir`) with `RLIMIT_NOFILE` set to `soft`/`hard` before it starts.
fn phash_limited(dir: &Path, soft: u64, hard: u64, args: &[&str]) -> std::process::Output {
    let mut cmd = phash();
    cmd.current_dir(dir).args(args);
    run(limit_descriptors(&mut cmd, soft, hard))
}

#[test]
fn a_tree_deeper_than_the_descriptor_limit_is_hashed_whole_as_md5sum_does() {
    if !have("md5sum") {
        eprintln!("SKIP: no md5sum");
        return;
    }
    let dir = tempdir();
    // 200 levels, a file after the subdirectory at each, so the walk climbs back into
    // every level: with a descriptor held per level this failed with "Too many open
    // files" at a hard limit of 16 (and at 1,024 on a tree 1,000 levels deep).
    let mut level = PathBuf::from("t");
    for i in 0..200 {
        write(&dir.path().join(&level).join("z"), &bytes(i % 70, i as u64));
        level.push("d");
    }
    write(&dir.path().join(&level).join("end"), b"end");
    let files: Vec<PathBuf> = files_in_order(&dir.path().join("t"))
        .into_iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
        .collect();
    assert_eq!(files.len(), 201);
    let want = md5sum_of(dir.path(), &files);
    std::fs::write(dir.path().join("list"), &want).unwrap();
    for jobs in ["1", "2", "8"] {
        let out = phash_limited(dir.path(), 16, 16, &["-j", jobs, "t"]);
        let says = format!("-j{jobs}: {}", stderr(&out));
        assert_eq!(code(&out), 0, "{says}");
        assert!(out.stdout == want, "{says}: output differs from md5sum's");
        let out = phash_limited(dir.path(), 16, 16, &["-j", jobs, "-c", "list"]);
        assert_eq!(code(&out), 0, "-c {says}");
    }
}

#[test]
fn a_low_descriptor_limit_gives_shorter_runs_not_too_many_open_files() {
    if !have("md5sum") {
        eprintln!("SKIP: no md5sum");
        return;
    }
    let dir = tempdir();
    // More files than the limit, several runs' worth, and a few streamed ones.
    for i in 0..700 {
        write(
            &dir.path().join(format!("t/d{}/f{i}", i / 300)),
            &bytes(i % 97, i as u64),
        );
    }
    for i in 0..5 {
        write(
            &dir.path().join(format!("t/big{i}")),
            &bytes(300_000 + i, 7 + i as u64),
        );
    }
    let files: Vec<PathBuf> = files_in_order(&dir.path().join("t"))
        .into_iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
        .collect();
    let want = md5sum_of(dir.path(), &files);
    std::fs::write(dir.path().join("list"), &want).unwrap();
    // A hard limit of 64: nothing to raise, one file per worker at a time. A soft limit
    // of 64 under a higher hard one: raised. (Each used to fail with EMFILE.)
    let hard = {
        let mut lim = std::mem::MaybeUninit::<libc::rlimit>::uninit();
        // SAFETY: getrlimit writes the struct before returning 0.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, lim.as_mut_ptr()) },
            0
        );
        // SAFETY: it returned 0.
        unsafe { lim.assume_init() }.rlim_max
    };
    for (soft, hard) in [(64, 64), (64, hard)] {
        for jobs in ["1", "2", "8"] {
            let out = phash_limited(dir.path(), soft, hard, &["-j", jobs, "t"]);
            let says = format!("limit {soft}/{hard} -j{jobs}: {}", stderr(&out));
            assert_eq!(code(&out), 0, "{says}");
            assert!(out.stdout == want, "{says}: output differs from md5sum's");
            let out = phash_limited(dir.path(), soft, hard, &["-j", jobs, "-c", "list"]);
            assert_eq!(code(&out), 0, "-c {says}");
        }
    }
}

/// The niceness of each of a process's threads whose name starts with `prefix`, and of its
/// main thread, read from `/proc/PID/task/*/stat` (field 19).
fn nicenesses(pid: u32, prefix: &str) -> (Vec<i32>, Option<i32>) {
    let mut workers = Vec::new();
    let mut main = None;
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return (workers, main);
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = &stat[open + 1..close];
        // After the name: state (field 3) ... nice (field 19).
        let nice: i32 = stat[close + 2..]
            .split(' ')
            .nth(16)
            .unwrap()
            .parse()
            .unwrap();
        if task.file_name().to_str() == Some(&pid.to_string()) {
            main = Some(nice);
        } else if name.starts_with(prefix) {
            workers.push(nice);
        }
    }
    (workers, main)
}

/// When the workers fill every core, the walk shares the cores with them, and a big file
/// it meets late starts late: so the workers run a little below the walk's priority
/// (niceness +3, at most 19), and only then (`PHASH_WALK_FIRST=1` forces it, `0` never).
/// Seen from outside, on a run whose worker waits on a FIFO named on the command line.
#[test]
fn workers_that_fill_the_cores_run_below_the_walk() {
    for (env, lowered) in [("1", true), ("0", false)] {
        let dir = tempdir();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let child = phash()
            .env("PHASH_WALK_FIRST", env)
            .args(["-j", "2"])
            .arg(&fifo)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let (workers, main) = loop {
            let (workers, main) = nicenesses(pid, "pool-worker");
            let main_nice = main.expect("phash's main thread");
            let settled = workers.len() == 2
                && (!lowered || workers.iter().all(|&n| n == (main_nice + 3).min(19)));
            if settled || std::time::Instant::now() > deadline {
                if !lowered {
                    // Give the workers time to have lowered themselves, were they to.
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    break nicenesses(pid, "pool-worker");
                }
                break (workers, main);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        // Opened without blocking (ENXIO until phash has it open): a phash that died early
        // must fail the test, not hang it.
        let writer = loop {
            use std::os::unix::fs::OpenOptionsExt;
            match std::fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(&fifo)
            {
                Ok(f) => break Some(f),
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                Err(_) => break None,
            }
        };
        if let Some(mut w) = writer {
            std::io::Write::write_all(&mut w, b"abc").unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("900150983cd24fb0d6963f7d28e17f72  "),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let main = main.unwrap();
        let want = if lowered { (main + 3).min(19) } else { main };
        assert_eq!(
            workers,
            [want, want],
            "PHASH_WALK_FIRST={env}, main thread {main}"
        );
    }
}
