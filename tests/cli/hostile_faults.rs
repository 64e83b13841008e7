//! Faults while punzip writes (issue 4 and "hardening 2"): a full disk, signals, existing
//! directories in the way, descriptor limits, and members above the in-memory fast path.
//! Every run goes through `hostile`'s [`Scene`], whose canary tree beside DEST must come
//! out untouched, and whose DEST may hold only the expected names and no temporary file.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Cursor, Write};
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use zip::ZipWriter;

use crate::hostile::{
    deflated, entries, put_u16, put_u32, set_unix_mode, stored, temp_files, tree, zip_of, zip_with,
    Scene, E,
};
use crate::util::{code, limit_descriptors, punzip, run, stderr, strace_works};

// ---------------------------------------------------------------------------------------
// Faults: a full disk, signals
// ---------------------------------------------------------------------------------------

/// A tmpfs mounted for one test, unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIP: not root, cannot mount a small tmpfs");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("SKIP: cannot mount a tmpfs");
            return None;
        }
        Some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// A read-only DEST: the first directory that cannot be made is said, and the run stops
/// there, as on a full disk (the others fail alike, and are not said again). It went on
/// and failed every member inside with "No such file or directory" (15,293 lines for a
/// JDK's src.zip).
#[test]
fn a_read_only_dest_is_said_once_not_once_per_member() {
    let Some(disk) = SmallDisk::mount("1m") else {
        return;
    };
    let remount = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(disk.dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !remount {
        eprintln!("SKIP: cannot remount the tmpfs read-only");
        return;
    }
    let entries: Vec<(String, Vec<u8>)> = (0..200)
        .map(|i| (format!("d{}/f{i}.txt", i % 3), b"x".to_vec()))
        .collect();
    let refs: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), &d[..])).collect();
    let elsewhere = tempfile::tempdir().unwrap();
    let zip_path = elsewhere.path().join("a.zip");
    fs::write(&zip_path, zip_of(&refs)).unwrap();
    let out = run(punzip().arg("-q").arg(&zip_path).arg(disk.dir.path()));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].ends_with("/d0: cannot create directory: Read-only file system"),
        "{err}"
    );
    // The members it never reached, which no line names, are counted.
    assert_eq!(
        lines[1],
        "punzip: 200 of 200 members were not extracted: the run stopped"
    );
}

#[test]
fn a_full_disk_exits_50_and_leaves_no_partial_or_temporary_file() {
    let Some(disk) = SmallDisk::mount("1m") else {
        return;
    };
    // 8 MiB of zeros in a few KiB of archive, kept off the small disk.
    let archive = zeros_archive(&[4 << 20, 4 << 20]);
    let elsewhere = tempfile::tempdir().unwrap();
    let zip_path = elsewhere.path().join("big.zip");
    fs::write(&zip_path, &archive).unwrap();
    for jobs in ["1", "2"] {
        let dest = disk.dir.path().join(format!("dest{jobs}"));
        // The declared 8 MiB does not fit: refused before writing.
        let out = run(punzip().arg(&zip_path).arg(&dest));
        assert_eq!(code(&out), 50, "{}", stderr(&out));
        assert!(stderr(&out).contains("not enough free space"));
        assert_eq!(tree(&dest), BTreeSet::new());
        // Forced: the disk fills up mid-run.
        let out = run(punzip()
            .args(["--no-space-check", "-j", jobs])
            .arg(&zip_path)
            .arg(&dest));
        assert_eq!(code(&out), 50, "-j {jobs}: {}", stderr(&out));
        assert!(stderr(&out).contains("zeros"), "{}", stderr(&out));

        let left = tree(&dest);
        // At most one member fits; whatever is there is complete.
        for name in &left {
            assert_eq!(
                fs::metadata(dest.join(name)).unwrap().len(),
                4 << 20,
                "{name}"
            );
        }
        assert!(temp_files(disk.dir.path()).is_empty(), "{left:?}");
        fs::remove_dir_all(&dest).unwrap();
    }
}

/// `ulimit -f`: a write past the limit is reported as a full disk is (exit 50, the member
/// named), and nothing is left under any name, with or without -o; the old file stays.
/// (SIGXFSZ killed punzip mid-write, silently, exit 153, leaving -o's temporary file.)
#[test]
fn a_file_size_limit_is_a_full_disk_with_nothing_left_behind() {
    let archive = zeros_archive(&[4 << 20]);
    let tmp = tempfile::tempdir().unwrap();
    let zip_path = tmp.path().join("big.zip");
    fs::write(&zip_path, &archive).unwrap();
    for args in [&[][..], &["-o"]] {
        let dest = tmp.path().join(format!("dest{}", args.len()));
        fs::create_dir(&dest).unwrap();
        let before = tree(&dest);
        if !args.is_empty() {
            fs::write(dest.join("zeros0.bin"), b"old").unwrap();
        }
        let mut cmd = punzip();
        cmd.args(args).arg(&zip_path).arg(&dest);
        let out = run(crate::util::limit_file_size(&mut cmd, 1 << 20));
        assert_eq!(code(&out), 50, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("zeros0") && err.contains("too large"), "{err}");
        assert!(temp_files(&dest).is_empty(), "{args:?}");
        if args.is_empty() {
            assert_eq!(tree(&dest), before);
        } else {
            assert_eq!(fs::read(dest.join("zeros0.bin")).unwrap(), b"old");
        }
    }
}

/// A full disk (here `ulimit -f`, which fails every write alike) stops the run; the
/// members in flight then fail with the same words: one line says it, and the members
/// not extracted are counted, the one named and those in flight among them. (From 17 to
/// 2,573 lines of "File too large" came after the first, a different number each run;
/// the count left out the members that had failed, then the one named.)
#[test]
fn a_full_disk_is_said_once_and_what_was_not_extracted_is_counted() {
    let archive = zeros_archive(&[64 << 10; 200]);
    let tmp = tempfile::tempdir().unwrap();
    let zip_path = tmp.path().join("many.zip");
    fs::write(&zip_path, &archive).unwrap();
    for jobs in ["1", "4"] {
        let dest = tmp.path().join(format!("dest{jobs}"));
        let mut cmd = punzip();
        cmd.args(["-j", jobs, "--no-space-check"])
            .arg(&zip_path)
            .arg(&dest);
        let out = run(crate::util::limit_file_size(&mut cmd, 32 << 10));
        assert_eq!(code(&out), 50, "-j{jobs}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.matches("too large").count(), 1, "-j{jobs}: {err}");
        assert!(
            // None was written: the one named is among them.
            err.ends_with("punzip: 200 of 200 members were not extracted: the run stopped\n"),
            "-j{jobs}: {err}"
        );
        assert!(temp_files(&dest).is_empty());
    }
    // Some written, then the sixth fails and stops the run (members already taken may
    // still be written): the count is of what is missing, the sixth with them (it left
    // that one out, and read as one short).
    let mut sizes = vec![8 << 10; 10];
    sizes[5] = 64 << 10;
    fs::write(&zip_path, zeros_archive(&sizes)).unwrap();
    let dest = tmp.path().join("partly");
    let mut cmd = punzip();
    cmd.args(["-j1", "--no-space-check"])
        .arg(&zip_path)
        .arg(&dest);
    let out = run(crate::util::limit_file_size(&mut cmd, 32 << 10));
    assert_eq!(code(&out), 50, "{}", stderr(&out));
    let written = fs::read_dir(&dest).unwrap().count();
    assert!(!dest.join("zeros5.bin").exists() && written >= 5);
    let said = format!(
        "punzip: {} of 10 members were not extracted: the run stopped\n",
        10 - written
    );
    assert!(stderr(&out).ends_with(&said), "{}", stderr(&out));
}

/// CRC-32 of `n` zero bytes, by raising the one-zero-bit step of the CRC register to the
/// `8n`-th power over GF(2) (zlib's crc32_combine trick): instant, where hashing hundreds of
/// MiB in a debug build would not be.
fn crc32_of_zeros(n: u64) -> u32 {
    fn times(mat: &[u32; 32], mut vec: u32) -> u32 {
        let mut sum = 0;
        let mut i = 0;
        while vec != 0 {
            if vec & 1 != 0 {
                sum ^= mat[i];
            }
            vec >>= 1;
            i += 1;
        }
        sum
    }
    fn square(mat: &[u32; 32]) -> [u32; 32] {
        std::array::from_fn(|i| times(mat, mat[i]))
    }
    let mut step = [0u32; 32];
    step[0] = 0xEDB8_8320;
    for (i, row) in step.iter_mut().enumerate().skip(1) {
        *row = 1 << (i - 1);
    }
    let mut crc = 0xFFFF_FFFFu32;
    let mut bits = n * 8;
    let mut mat = step;
    while bits != 0 {
        if bits & 1 != 0 {
            crc = times(&mat, crc);
        }
        mat = square(&mat);
        bits >>= 1;
    }
    !crc
}

/// A raw deflate stream of `n` zero bytes (one fixed-Huffman block: a literal, then
/// matches of 258 at distance 1), 13 bits per 258 bytes: hundreds of MiB in a few MiB,
/// without running a compressor in a debug build.
fn deflate_zeros(n: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        len: u32,
    }
    impl Bits {
        fn put(&mut self, value: u32, count: u32) {
            self.acc |= value << self.len;
            self.len += count;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// Huffman codes go most significant bit first.
        fn code(&mut self, code: u32, count: u32) {
            let rev = code.reverse_bits() >> (32 - count);
            self.put(rev, count);
        }
    }
    let mut b = Bits {
        out: Vec::new(),
        acc: 0,
        len: 0,
    };
    b.put(1, 1); // BFINAL
    b.put(1, 2); // fixed Huffman
    let mut left = n;
    if left > 0 {
        b.code(0x30, 8); // literal 0
        left -= 1;
    }
    while left >= 258 {
        b.code(0xC5, 8); // length 258 (symbol 285)
        b.code(0, 5); // distance 1
        left -= 258;
    }
    for _ in 0..left {
        b.code(0x30, 8);
    }
    b.code(0, 7); // end of block
    b.put(0, 7); // flush
    b.out
}

#[test]
fn the_hand_made_deflate_stream_is_what_the_zip_reader_reads() {
    assert_eq!(crc32_of_zeros(1), 0xD202_EF8D);
    let archive = zeros_archive(&[100_000]);
    let mut zip = zip::ZipArchive::new(Cursor::new(archive)).unwrap();
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_index(0).unwrap(), &mut data).unwrap();
    assert_eq!(data, vec![0u8; 100_000]);
}

/// An archive of members made of `sizes[i]` zero bytes, deflated by hand.
fn zeros_archive(sizes: &[u64]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (i, &n) in sizes.iter().enumerate() {
        let data = deflate_zeros(n);
        // Written stored, then patched to deflate with the real sizes and CRC.
        w.start_file(format!("zeros{i}.bin"), stored()).unwrap();
        w.write_all(&data).unwrap();
    }
    let mut archive = w.finish().unwrap().into_inner();
    for (e, &n) in entries(&archive).iter().zip(sizes) {
        let crc = crc32_of_zeros(n);
        for (hdr, method, crc_at, usize_at) in [(e.cdh, 10, 16, 24), (e.lfh, 8, 14, 22)] {
            put_u16(&mut archive, hdr + method, 8);
            put_u32(&mut archive, hdr + crc_at, crc);
            put_u32(&mut archive, hdr + usize_at, n as u32);
        }
    }
    archive
}

fn interrupt_mid_run(signal: libc::c_int) {
    let archive = zeros_archive(&[96 << 20, 96 << 20, 96 << 20, 96 << 20]);
    let s = Scene::new(&archive);
    let mut child = punzip()
        .args(["-j", "2"])
        .arg(&s.archive)
        .arg(&s.dest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_writing(&mut child, &s.dest);
    assert!(crate::util::signal(&child, signal));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(80), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).matches("interrupted").count(),
        1,
        "{}",
        stderr(&out)
    );
    s.assert_untouched();
    // Whatever was finished is complete; nothing half-written.
    for name in tree(&s.dest) {
        assert_eq!(
            fs::metadata(s.dest.join(&name)).unwrap().len(),
            96 << 20,
            "{name}"
        );
    }
}

#[test]
fn sigint_mid_run_exits_80_and_leaves_no_temporary_file() {
    interrupt_mid_run(libc::SIGINT);
}

#[test]
fn sigterm_mid_run_exits_80_and_leaves_no_temporary_file() {
    interrupt_mid_run(libc::SIGTERM);
}

/// Waits until `child` has a regular file open below `dest` (a member being written,
/// named or not: an `O_TMPFILE` file shows in /proc as `dest/#123 (deleted)`).
#[test]
fn truncating_the_archive_while_it_is_planned_or_listed_is_an_error_naming_it_not_a_crash() {
    // 60,000 entries: reading their directory takes long enough to stop punzip right
    // after it mapped the archive, cut the archive (its central directory is at the end),
    // and let it go on through pages that no longer exist.
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("many.zip");
    let names: Vec<String> = (0..60_000).map(|i| format!("d{}/f{i}", i % 97)).collect();
    let entries: Vec<(&[u8], &[u8])> = names.iter().map(|n| (n.as_bytes(), &b"x"[..])).collect();
    let bytes = crate::util::raw_stored_zip(&entries);
    let dest = dir.path().join("dest");
    for args in [&["-q", "-j2"][..], &["-l"], &["-t", "-q"]] {
        fs::write(&archive, &bytes).unwrap();
        let child = punzip()
            .args(args)
            .arg(&archive)
            .arg("-d")
            .arg(&dest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        stop_once_mapped(&child, &archive);
        cut(&archive, bytes.len() as u64 / 3);
        crate::util::signal(&child, libc::SIGCONT);
        let out = exited_3_by_itself(child, &format!("{args:?}"));
        assert!(
            stderr(&out).contains("many.zip") && stderr(&out).contains("truncated"),
            "{args:?}: the message names the archive: {}",
            stderr(&out)
        );
        assert!(!dest.exists() || tree(&dest).is_empty(), "{args:?}");
    }
}

/// Truncates `archive` to `len` bytes, as another process might while punzip reads it.
fn cut(archive: &Path, len: u64) {
    fs::OpenOptions::new()
        .write(true)
        .open(archive)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// Waits for `child` and expects exit status 3 (a damaged archive), never death by a
/// signal (SIGBUS).
fn exited_3_by_itself(child: std::process::Child, what: &str) -> Output {
    use std::os::unix::process::ExitStatusExt;
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.signal(), None, "{what}: killed by a signal");
    assert_eq!(code(&out), 3, "{what}: {}", stderr(&out));
    out
}

/// Stops `child` (SIGSTOP) as soon as it has mapped `archive`, and returns with it
/// stopped.
fn stop_once_mapped(child: &std::process::Child, archive: &Path) {
    let pid = child.id() as i32;
    let name = archive.to_string_lossy().into_owned();
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "punzip never mapped the archive"
        );
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(pid, libc::SIGSTOP) };
        let stopped = || {
            fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('T'))
            })
        };
        while !stopped() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "punzip did not stop"
            );
            std::thread::yield_now();
        }
        let maps = fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
        if maps.lines().any(|l| l.ends_with(&name)) {
            return;
        }
        // SAFETY: kill(2) on our own child.
        unsafe { libc::kill(pid, libc::SIGCONT) };
        std::thread::sleep(Duration::from_micros(300));
    }
}

fn wait_until_writing(child: &mut std::process::Child, dest: &Path) {
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no member was being written"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "punzip finished before the test could act"
        );
        if writing_into(child.id(), dest) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn writing_into(pid: u32, dest: &Path) -> bool {
    let Ok(dest) = dest.canonicalize() else {
        return false;
    };
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(|e| e.ok()).any(|e| {
        fs::read_link(e.path()).is_ok_and(|l| l.starts_with(&dest))
            && fs::metadata(e.path()).is_ok_and(|m| m.is_file())
    })
}

// ---------------------------------------------------------------------------------------
// Existing directories, descriptors, signals (issue "hardening 2")
// ---------------------------------------------------------------------------------------

fn mode_of(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// `sub/` (with `sub_mode`), a file inside it, and a new directory `new/` (mode 0750).
fn dirs_archive(sub_mode: u32) -> Vec<u8> {
    let mut archive = zip_with(&[
        E::Dir("sub/"),
        E::File("sub/inner.txt", b"inner"),
        E::Dir("new/"),
    ]);
    let es = entries(&archive);
    set_unix_mode(&mut archive, &es[0], 0o040000 | sub_mode);
    set_unix_mode(&mut archive, &es[2], 0o040750);
    archive
}

#[test]
fn an_existing_directory_keeps_its_mode_whatever_the_archive_says() {
    // (mode of the existing sub, mode the archive gives sub/, extra arguments)
    for (existing, archived, args) in [
        (0o700, 0o777, &[][..]),
        (0o700, 0o777, &["-n"][..]),
        (0o700, 0o000, &[][..]),
        (0o555, 0o775, &["-o"][..]),
    ] {
        let mut s = Scene::new(&dirs_archive(archived));
        fs::create_dir_all(s.dest.join("sub")).unwrap();
        set_mode(&s.dest.join("sub"), existing);
        s.seal();
        let out = s.punzip(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        assert_eq!(
            mode_of(&s.dest.join("sub")),
            existing,
            "existing sub, archive says {archived:o}, {args:?}"
        );
        // A directory this run created does get the archive's mode.
        assert_eq!(mode_of(&s.dest.join("new")), 0o750);
        set_mode(&s.dest.join("sub"), 0o700);
        assert_eq!(s.read("sub/inner.txt"), b"inner");
    }
}

/// With enough directories they are made on several threads (each takes a run of the
/// sorted list, and first makes its run's parents, which an earlier run is making too):
/// every directory member still gets its mode and time, a parent without a member the
/// umask's mode, and a directory that existed keeps its own, for any worker count.
#[test]
fn many_directories_made_on_several_threads_get_their_modes_and_times() {
    const N: usize = 1500;
    let when = zip::DateTime::from_date_and_time(2001, 2, 3, 4, 5, 6).unwrap();
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let dir = |i: usize| format!("top/g{}/d{i:04}", i % 40);
    for i in 0..N {
        let opts = stored().last_modified_time(when);
        // Even groups have a member of their own: a run may start inside one, and then
        // makes it as a parent while the run before makes it as a member.
        if i < 40 && i % 2 == 0 {
            w.add_directory(format!("top/g{i}"), opts.unix_permissions(0o751))
                .unwrap();
        }
        w.add_directory(dir(i), opts.unix_permissions(0o750))
            .unwrap();
        w.start_file(format!("{}/f.txt", dir(i)), opts).unwrap();
        w.write_all(format!("{i}").as_bytes()).unwrap();
    }
    let s = Scene::new(&w.finish().unwrap().into_inner());
    let fresh = 0o777 & !umask() | 0o700;
    for jobs in ["1", "2", "3", "4"] {
        let _ = fs::remove_dir_all(&s.dest);
        fs::create_dir_all(s.dest.join("top/g7")).unwrap();
        set_mode(&s.dest.join("top/g7"), 0o701);
        let out = s.punzip(&["-j", jobs]);
        assert_eq!(code(&out), 0, "-j {jobs}: {}", stderr(&out));
        let file_time = fs::metadata(s.dest.join(format!("{}/f.txt", dir(0))))
            .unwrap()
            .modified()
            .unwrap();
        for i in 0..N {
            let d = s.dest.join(dir(i));
            assert_eq!(mode_of(&d), 0o750, "-j {jobs}: {}", dir(i));
            let t = fs::metadata(&d).unwrap().modified().unwrap();
            assert_eq!(t, file_time, "-j {jobs}: {}", dir(i));
            assert_eq!(
                s.read(&format!("{}/f.txt", dir(i))),
                format!("{i}").as_bytes()
            );
        }
        for g in 0..40 {
            let want = match g {
                7 => 0o701,
                g if g % 2 == 0 => 0o751,
                _ => fresh,
            };
            let got = mode_of(&s.dest.join(format!("top/g{g}")));
            assert_eq!(got, want, "-j {jobs}: top/g{g}");
        }
    }
}

/// The process's umask, as /proc says (setting it to read it would race the other tests).
fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
}

#[test]
fn truncating_the_archive_mid_run_exits_3_with_no_signal_death_and_no_partial_file() {
    // Many 64 KiB stored members of varied bytes (about 48 MiB): the run is still early
    // when a file is first seen being written, and the cut removes most members' pages.
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("big.zip");
    let dest = dir.path().join("dest");
    {
        let mut w = ZipWriter::new(fs::File::create(&archive).unwrap());
        let mut block = vec![0u8; 64 << 10];
        for i in 0..768u32 {
            for (j, b) in block.iter_mut().enumerate() {
                *b = (j as u32)
                    .wrapping_mul(2654435761)
                    .wrapping_add(i)
                    .to_le_bytes()[3];
            }
            w.start_file(format!("m{i:04}.bin"), stored()).unwrap();
            w.write_all(&block).unwrap();
        }
        w.finish().unwrap();
    }
    let mut child = punzip()
        .args(["-j", "2", "-q"])
        .arg(&archive)
        .arg(&dest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_writing(&mut child, &dest);
    cut(&archive, 1 << 20);
    let out = exited_3_by_itself(child, "");
    assert!(
        stderr(&out).contains("truncated while m") && stderr(&out).contains(".bin was being read"),
        "the message names the member: {}",
        stderr(&out)
    );
    assert!(temp_files(&dest).is_empty(), "{:?}", temp_files(&dest));
    // Whatever was kept is whole: every kept member has its full size.
    for name in tree(&dest) {
        assert_eq!(
            fs::metadata(dest.join(&name)).unwrap().len(),
            64 << 10,
            "{name}"
        );
    }
}

#[test]
fn a_600_level_archive_extracts_under_a_256_or_24_descriptor_limit() {
    let deep = "d/".repeat(600);
    let archive = zip_of(&[
        ("top.txt", b"top"),
        (&format!("{deep}bottom.txt"), b"bottom"),
    ]);
    let s = Scene::new(&archive);
    // 24 is below what the directory caches alone would hold: they must give way.
    for (jobs, limit) in [("1", 256), ("2", 256), ("1", 24), ("2", 24)] {
        let _ = fs::remove_dir_all(&s.dest);
        let mut cmd = punzip();
        cmd.args(["-j", jobs]).arg(&s.archive).arg(&s.dest);
        let out = run(limit_descriptors(&mut cmd, limit, limit));
        assert_eq!(code(&out), 0, "-j {jobs}, {limit} fds: {}", stderr(&out));
        assert_eq!(s.read("top.txt"), b"top");
        assert_eq!(s.read(&format!("{deep}bottom.txt")), b"bottom");
    }
    s.assert_untouched();
}

/// Many directories, as in a JDK's `src.zip`: each worker's cache of directory handles
/// fills up, and under a low limit the workers must leave room for each other (`-j2`
/// under `ulimit -n 64` failed on that archive with "Too many open files", where unzip and
/// ripunzip succeed).
#[test]
fn many_directories_extract_under_a_low_descriptor_limit_with_any_number_of_workers() {
    let files: Vec<(String, Vec<u8>)> = (0..300)
        .flat_map(|d| {
            (0..3).map(move |f| {
                (
                    format!("m{}/p{d}/f{f}.txt", d % 7),
                    format!("{d}/{f}").into_bytes(),
                )
            })
        })
        .collect();
    let entries: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let s = Scene::new(&zip_of(&entries));
    for (jobs, limit) in [("2", 20), ("4", 20), ("2", 64), ("8", 64)] {
        let _ = fs::remove_dir_all(&s.dest);
        let mut cmd = punzip();
        cmd.args(["-j", jobs]).arg(&s.archive).arg(&s.dest);
        let out = run(limit_descriptors(&mut cmd, limit, limit));
        assert_eq!(code(&out), 0, "-j {jobs}, {limit} fds: {}", stderr(&out));
        for (name, bytes) in &files {
            assert_eq!(&s.read(name), bytes, "-j {jobs}, {limit} fds: {name}");
        }
    }
    s.assert_untouched();
}

/// SIGKILL cannot be caught: what is being written must have no name. With -o too (its
/// temporary file was named for the whole write, and stayed).
#[test]
fn sigkill_mid_run_leaves_no_temporary_file() {
    let archive = zeros_archive(&[96 << 20, 96 << 20, 96 << 20, 96 << 20]);
    for overwrite in [false, true] {
        let s = Scene::new(&archive);
        let mut child = punzip()
            .args(["-j", "2"])
            .args(overwrite.then_some("-o"))
            .arg(&s.archive)
            .arg(&s.dest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until_writing(&mut child, &s.dest);
        child.kill().unwrap();
        child.wait().unwrap();
        s.assert_untouched();
        for name in tree(&s.dest) {
            let md = fs::symlink_metadata(s.dest.join(&name)).unwrap();
            assert!(md.len() == 96 << 20, "-o {overwrite}: {name}: partial file");
        }
    }
}

#[test]
fn dest_is_not_created_when_the_size_check_refuses_the_run() {
    let data = vec![7u8; 10 * 1024];
    let s = Scene::new(&zip_of(&[("a", &data), ("b", &data)]));
    let out = s.punzip(&["--max-size", "10K"]);
    assert_eq!(code(&out), 50, "{}", stderr(&out));
    assert!(!s.dest.exists(), "DEST was created by a refused run");
    s.assert_untouched();
}

#[test]
fn a_symlink_leading_through_an_existing_symlink_in_dest_is_refused() {
    let archive = zip_with(&[
        E::File("good.txt", b"good"),
        E::Link("via", "out/target.txt"),
        E::Link("fine", "in/good.txt"),
    ]);
    let mut s = Scene::new(&archive);
    fs::create_dir_all(&s.dest).unwrap();
    // Planted before the run: one symlink out of DEST, one that stays inside.
    symlink(s.root.path().join("outside"), s.dest.join("out")).unwrap();
    symlink(".", s.dest.join("in")).unwrap();
    s.seal();
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("via: refused"), "{}", stderr(&out));
    s.assert_dest(&["good.txt", "out", "in", "fine"]);
    assert_eq!(fs::read(s.dest.join("fine")).unwrap(), b"good");

    let _ = fs::remove_file(s.dest.join("good.txt"));
    let _ = fs::remove_file(s.dest.join("fine"));
    let out = s.punzip(&["--allow-unsafe-symlinks"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(fs::read(s.dest.join("via")).unwrap(), b"outside\n");
}

#[test]
fn an_interrupt_stops_the_directory_phase_promptly() {
    let n = 20_000;
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..n {
        w.add_directory(format!("d{i:05}/"), stored()).unwrap();
    }
    let s = Scene::new(&w.finish().unwrap().into_inner());
    let mut child = punzip()
        .arg(&s.archive)
        .arg(&s.dest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while fs::read_dir(&s.dest).map_or(true, |mut d| d.next().is_none()) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no directory appeared"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the signal"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(crate::util::signal(&child, libc::SIGINT));
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(80), "{}", stderr(&out));
    let made = fs::read_dir(&s.dest).unwrap().count();
    assert!(
        made < n / 2,
        "{made} of {n} directories made after the interrupt"
    );
}

#[test]
fn fsync_extracts_the_same_tree() {
    let archive = zip_with(&[
        E::Dir("a/"),
        E::File("a/one.txt", b"one"),
        E::File("two.txt", b"two"),
        E::Link("l", "two.txt"),
    ]);
    let s = Scene::new(&archive);
    let out = s.punzip(&["--fsync"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    s.assert_dest(&["a", "a/one.txt", "two.txt", "l"]);
    assert_eq!(s.read("a/one.txt"), b"one");
}

// ---------------------------------------------------------------------------------------
// Members above the in-memory fast path (64 MiB)
// ---------------------------------------------------------------------------------------

#[test]
fn a_big_deflated_member_is_decoded_in_one_call_not_streamed_in_chunks() {
    if !strace_works() {
        return;
    }
    let n: u64 = 80 << 20;
    let s = Scene::new(&zeros_archive(&[n]));
    let trace = s.root.path().join("trace");
    let out = run(Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=write,pwrite64", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_punzip"))
        .arg("-q")
        .arg(&s.archive)
        .arg(&s.dest));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let writes = fs::read_to_string(&trace).unwrap().lines().count();
    fs::remove_file(&trace).unwrap();
    // Streaming writes it in 256 KiB chunks: 320 calls. Decoding into the mapped file
    // writes nothing through write(2).
    assert!(writes < 16, "{writes} write calls");
    let data = s.read("zeros0.bin");
    assert_eq!(data.len() as u64, n);
    assert!(data.iter().all(|&b| b == 0));
}

#[test]
fn a_big_deflated_member_with_a_bad_crc_or_size_leaves_no_file() {
    let n: u64 = 80 << 20;
    let good = zeros_archive(&[n]);
    let e = &entries(&good)[0];
    let mut bad_crc = good.clone();
    for at in [e.cdh + 16, e.lfh + 14] {
        bad_crc[at] ^= 1;
    }
    let mut too_long = good.clone();
    put_u32(&mut too_long, e.cdh + 24, (n - 1) as u32);
    put_u32(&mut too_long, e.lfh + 22, (n - 1) as u32);
    let mut too_short = good.clone();
    put_u32(&mut too_short, e.cdh + 24, (n + 1) as u32);
    put_u32(&mut too_short, e.lfh + 22, (n + 1) as u32);
    for (archive, says) in [
        (bad_crc, "bad CRC"),
        (too_long, "beyond its declared size"),
        (
            too_short,
            "corrupt data: it ends after 83886080 of its 83886081 bytes",
        ),
    ] {
        let s = Scene::new(&archive);
        let out = s.punzip(&[]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{says}: {}", stderr(&out));
        s.assert_dest(&[]);
    }
}

/// System calls made by `punzip -q -j 2` extracting `n` small deflated members (by name),
/// under umask 022 (so their 0644 needs no fchmod).
fn syscalls_for(n: usize) -> BTreeMap<String, usize> {
    use std::os::unix::process::CommandExt;
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..n {
        w.start_file(format!("d{}/f{i}.txt", i / 100), deflated())
            .unwrap();
        w.write_all(format!("member {i}\n").repeat(20).as_bytes())
            .unwrap();
    }
    let s = Scene::new(&w.finish().unwrap().into_inner());
    let trace = s.root.path().join("trace");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o"])
        .arg(&trace)
        .args([
            "-e",
            "trace=openat,write,fchmod,utimensat,getpid,newfstatat,statx,renameat2,linkat,close",
        ])
        .arg(env!("CARGO_BIN_EXE_punzip"))
        .args(["-q", "-j", "2"])
        .arg(&s.archive)
        .arg(&s.dest);
    // SAFETY: umask is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    let out = run(&mut cmd);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let last = n - 1;
    assert_eq!(
        s.read(&format!("d{}/f{last}.txt", last / 100)),
        format!("member {last}\n").repeat(20).as_bytes()
    );
    let mut by_name = BTreeMap::new();
    // Planning reads the time zone per DOS timestamp: that is not extraction. A call
    // interrupted by another thread's shows twice, the second time as "resumed".
    for l in fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("/etc/localtime") && !l.contains("resumed>"))
    {
        let call = l.split_once(' ').map_or(l, |(_, rest)| rest);
        let name = call.split('(').next().unwrap_or(call).to_string();
        *by_name.entry(name).or_default() += 1;
    }
    by_name
}

#[test]
fn a_small_member_costs_at_most_five_system_calls() {
    if !strace_works() {
        return;
    }
    // The difference between two runs cancels start-up (loader, threads, planning).
    let (few, many) = (syscalls_for(200), syscalls_for(600));
    let total = |m: &BTreeMap<String, usize>| m.values().sum::<usize>();
    // Five per member (create, write, times, link, close), plus a few per directory
    // (four more directories: opened and closed by the serial phase and the workers).
    let per_member = (total(&many) - total(&few)) as f64 / 400.0;
    assert!(
        per_member <= 5.25,
        "{per_member:.2} calls per member: {few:?} / {many:?}"
    );
}
