//! File systems that refuse what tmpfs and ext4 allow, emulated with strace's fault
//! injection so that any machine runs them: no `chmod` or `utime` (FAT and exFAT through
//! FUSE), no `RENAME_NOREPLACE` (FUSE on libfuse 2: ntfs-3g, exfat-fuse, bindfs), no hard
//! links either (exFAT, FAT). `PUNZIP_TEMP_FILES=named` takes the path such file systems
//! get, a named temporary renamed into place, as they have no `O_TMPFILE`. Found by hand
//! on ntfs-3g, exfat-fuse and fusefat mounts, where punzip had extracted no file at all.
//! Oracle: Info-ZIP unzip under the same faults.

use std::path::Path;
use std::process::{Command, Output};

use crate::util::{code, have, opts, run, stderr, strace_works, temp_files, tempdir, ZipBuilder};

/// A file, an executable, a file in a directory, a symlink.
fn archive(path: &Path) {
    let mut b = ZipBuilder::new();
    b.file("a.txt", &b"a".repeat(1000))
        .file_with(
            "exec.sh",
            b"#!/bin/sh\n",
            opts(zip::CompressionMethod::Deflated, 0o755),
        )
        .dir("d/")
        .file("d/f", b"f\n")
        .symlink("link", "a.txt");
    b.write_to(path);
}

/// `program ARGS` under strace with `faults` (`renameat2:error=EINVAL`, ...), in `cwd`.
fn faulted(cwd: &Path, faults: &[&str], named: bool, program: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o", "/dev/null"]);
    for f in faults {
        cmd.arg("-e").arg(format!("inject={f}"));
    }
    cmd.arg(program)
        .args(args)
        .current_dir(cwd)
        .env("TZ", "UTC");
    if named {
        cmd.env("PUNZIP_TEMP_FILES", "named");
    }
    run(&mut cmd)
}

fn punzip_bin() -> &'static str {
    env!("CARGO_BIN_EXE_punzip")
}

fn assert_extracted(dest: &Path) {
    assert_eq!(
        std::fs::read(dest.join("a.txt")).unwrap(),
        b"a".repeat(1000)
    );
    assert_eq!(std::fs::read(dest.join("exec.sh")).unwrap(), b"#!/bin/sh\n");
    assert_eq!(std::fs::read(dest.join("d/f")).unwrap(), b"f\n");
    assert_eq!(
        std::fs::read_link(dest.join("link")).unwrap(),
        Path::new("a.txt")
    );
    assert!(temp_files(dest).is_empty(), "{:?}", temp_files(dest));
}

/// Without `RENAME_NOREPLACE`, and then without hard links too, every member still takes
/// its name, and an existing file is still refused and kept.
#[test]
fn without_noreplace_renames_or_hard_links_files_arrive_and_existing_ones_are_kept() {
    if !strace_works() {
        return;
    }
    let tmp = tempdir();
    archive(&tmp.path().join("a.zip"));
    let no_noreplace = ["renameat2:error=EINVAL"];
    let no_links = ["renameat2:error=EINVAL", "linkat:error=EPERM"];
    for (i, faults) in [&no_noreplace[..], &no_links[..]].into_iter().enumerate() {
        let dest = format!("out{i}");
        let out = faulted(tmp.path(), faults, true, punzip_bin(), &["a.zip", &dest]);
        assert_eq!(code(&out), 0, "{faults:?}: {}", stderr(&out));
        let dest = tmp.path().join(&dest);
        assert_extracted(&dest);

        // Run again over a changed file: refused, kept, nothing left behind.
        std::fs::write(dest.join("a.txt"), b"mine").unwrap();
        let out = faulted(
            tmp.path(),
            faults,
            true,
            punzip_bin(),
            &["a.zip", dest.to_str().unwrap()],
        );
        assert_eq!(code(&out), 1, "{faults:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
        assert_eq!(std::fs::read(dest.join("a.txt")).unwrap(), b"mine");
        assert!(temp_files(&dest).is_empty(), "{:?}", temp_files(&dest));
    }
}

/// A mode or time the file system refuses leaves the verified file under its name with a
/// warning and exit 1, as unzip keeps it. Before, every such file was thrown away (exit 2):
/// on FAT through FUSE, no file was extracted at all.
#[test]
fn a_mode_or_time_the_file_system_refuses_is_a_warning_and_the_file_stays() {
    if !strace_works() {
        return;
    }
    let tmp = tempdir();
    archive(&tmp.path().join("a.zip"));
    let no_utime = ["utimensat:error=EPERM"];
    let no_chmod = ["fchmod:error=ENOSYS", "utimensat:error=ENOSYS"];
    for (i, (faults, named, what)) in [
        (&no_utime[..], false, "time"),
        (&no_utime, true, "time"),
        (&no_chmod, true, "mode and time"),
    ]
    .into_iter()
    .enumerate()
    {
        let dest = format!("out{i}");
        let out = faulted(tmp.path(), faults, named, punzip_bin(), &["a.zip", &dest]);
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{faults:?} named={named}: {err}");
        assert_extracted(&tmp.path().join(&dest));
        assert!(
            err.contains(&format!(
                "warning: {dest}/a.txt: extracted, but cannot set its {what}: "
            )),
            "{err}"
        );
        if have("unzip") {
            let udest = format!("unzip{i}");
            let u = faulted(
                tmp.path(),
                faults,
                false,
                "unzip",
                &["-q", "a.zip", "-d", &udest],
            );
            assert_eq!(u.status.code(), Some(1), "unzip: {}", stderr(&u));
            assert!(tmp.path().join(&udest).join("a.txt").is_file());
        }
        // -q silences the warnings, not the exit status.
        let dest = format!("quiet{i}");
        let out = faulted(
            tmp.path(),
            faults,
            named,
            punzip_bin(),
            &["-q", "a.zip", &dest],
        );
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    }
}

/// A file's mode alone refused, as FAT refuses every mode it cannot show (a USB stick:
/// every extraction exited 1, a warning per file): said as a note, the files and their
/// times kept, exit 0, as unzip's "fchmod error" is. A directory's mode refused stays a
/// warning, as unzip's failed `chmod` of a directory is.
#[test]
fn a_files_mode_alone_the_file_system_refuses_is_a_note_and_the_run_succeeds() {
    if !strace_works() {
        return;
    }
    let tmp = tempdir();
    let mut b = ZipBuilder::new();
    b.file("a.txt", &b"a".repeat(1000))
        .file_with(
            "exec.sh",
            b"#!/bin/sh\n",
            opts(zip::CompressionMethod::Deflated, 0o755),
        )
        .file("d/f", b"f\n");
    b.write_to(&tmp.path().join("files.zip"));
    let no_chmod = ["fchmod:error=EPERM", "chmod:error=EPERM"];
    let out = faulted(
        tmp.path(),
        &no_chmod,
        true,
        punzip_bin(),
        &["files.zip", "out"],
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains(
            "punzip: note: out/a.txt: extracted, but cannot set its mode: Operation not permitted"
        ) && !err.contains("warning"),
        "{err}"
    );
    // The times were set all the same.
    let t = std::fs::metadata(tmp.path().join("out/a.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert!(t < std::time::SystemTime::now() - std::time::Duration::from_secs(3600));
    let json = faulted(
        tmp.path(),
        &no_chmod,
        true,
        punzip_bin(),
        &["--json", "files.zip", "j"],
    );
    assert_eq!(code(&json), 0, "{}", stderr(&json));
    let text = String::from_utf8_lossy(&json.stdout);
    assert!(text.contains(r#""type":"note""#), "{text}");
    assert!(text.contains(r#""warnings":0"#), "{text}");
    // With a directory member, its mode refused is a warning: exit 1, as unzip's.
    archive(&tmp.path().join("a.zip"));
    let out = faulted(
        tmp.path(),
        &no_chmod,
        true,
        punzip_bin(),
        &["a.zip", "withdir"],
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("punzip: warning: withdir/d: cannot set the directory's mode: "),
        "{err}"
    );
    if have("unzip") {
        for (zip, want) in [("files.zip", 0), ("a.zip", 1)] {
            let udest = format!("u-{zip}");
            let u = faulted(
                tmp.path(),
                &no_chmod,
                false,
                "unzip",
                &["-q", zip, "-d", &udest],
            );
            assert_eq!(u.status.code(), Some(want), "unzip {zip}: {}", stderr(&u));
        }
    }
}

/// A failure when setting the time that is not a refusal is a write the file system put
/// off (FUSE reports a full disk there): the member fails and leaves nothing, as a full
/// disk at `write` does.
#[test]
fn a_full_disk_reported_at_the_time_fails_the_member_and_leaves_nothing() {
    if !strace_works() {
        return;
    }
    let tmp = tempdir();
    archive(&tmp.path().join("a.zip"));
    for named in [false, true] {
        let dest = format!("out{named}");
        let out = faulted(
            tmp.path(),
            &["utimensat:error=ENOSPC"],
            named,
            punzip_bin(),
            &["a.zip", &dest],
        );
        assert_eq!(code(&out), 50, "named={named}: {}", stderr(&out));
        let dest = tmp.path().join(&dest);
        assert!(!dest.join("a.txt").exists());
        assert!(temp_files(&dest).is_empty(), "{:?}", temp_files(&dest));
    }
}

/// ramfs counts no blocks: its free space is unknown, not zero. punzip refused every
/// archive there ("need 1012 bytes, 0 available").
#[test]
fn a_file_system_that_counts_no_blocks_is_not_taken_for_a_full_one() {
    let tmp = tempdir();
    let mnt = tmp.path().join("ramfs");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = unsafe { libc::geteuid() } == 0
        && Command::new("mount")
            .args(["-t", "ramfs", "ramfs"])
            .arg(&mnt)
            .status()
            .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIP: cannot mount a ramfs (needs root)");
        return;
    }
    archive(&tmp.path().join("a.zip"));
    let out = run(Command::new(punzip_bin())
        .arg(tmp.path().join("a.zip"))
        .arg(mnt.join("out")));
    let _ = Command::new("umount").arg(&mnt).status();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// Two runs into one DEST, on a file system with neither `RENAME_NOREPLACE` nor hard
/// links: every name is taken by exactly one of them, the other says it exists, and what
/// is under each name is what the run that took it wrote. Looking first, then renaming,
/// let the runs replace hundreds of each other's files on exFAT, each saying it had
/// extracted them.
#[test]
fn two_runs_without_noreplace_or_links_never_replace_each_others_files() {
    if !strace_works() {
        return;
    }
    const N: usize = 300;
    let tmp = tempdir();
    for run in ["a", "b"] {
        let mut b = ZipBuilder::new();
        for i in 0..N {
            b.file(&format!("f{i:03}"), format!("{run}{i}").as_bytes());
        }
        b.write_to(&tmp.path().join(format!("{run}.zip")));
    }
    let spawn = |run: &str| {
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-qq", "-o", "/dev/null"])
            .args(["-e", "inject=renameat2:error=EINVAL"])
            .args(["-e", "inject=linkat:error=EPERM"])
            .arg(punzip_bin())
            .args(["-j2", &format!("{run}.zip"), "out"])
            .current_dir(tmp.path())
            .env("PUNZIP_TEMP_FILES", "named")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    let (a, b) = (spawn("a"), spawn("b"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    // How many files each run says it extracted: all but those it found in the way, or
    // none when it found some before it began (its check of DEST refuses the run).
    let extracted = |out: &Output| -> usize {
        let err = stderr(out);
        if err.contains("nothing was extracted") {
            return 0;
        }
        let in_the_way = err
            .lines()
            .find_map(|l| {
                l.strip_prefix("punzip: ")?
                    .split(" file(s) already exist")
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or(0);
        N - in_the_way
    };
    // What is under the names: each run's own content, exactly as many as it claims.
    let mut written = [0usize; 2];
    for i in 0..N {
        let got = std::fs::read(tmp.path().join(format!("out/f{i:03}"))).unwrap();
        match got.first() {
            Some(b'a') => written[0] += 1,
            Some(b'b') => written[1] += 1,
            _ => panic!("f{i:03}: {got:?}"),
        }
    }
    assert_eq!(
        written,
        [extracted(&a), extracted(&b)],
        "a: {}\nb: {}",
        stderr(&a),
        stderr(&b)
    );
    assert!(temp_files(&tmp.path().join("out")).is_empty());
}

/// An ext4 of 16 MiB made with `-m RESERVED` percent of its blocks kept for root,
/// loop-mounted on `mnt` (unmounted when the guard drops); `None` where that cannot be
/// done (not root, no mkfs.ext4, no loop devices).
fn ext4(tmp: &Path, name: &str, reserved: &str) -> Option<(std::path::PathBuf, Unmount)> {
    let (img, mnt) = (tmp.join(format!("{name}.img")), tmp.join(name));
    std::fs::create_dir(&mnt).unwrap();
    let made = unsafe { libc::geteuid() } == 0
        && have("mkfs.ext4")
        && std::fs::File::create(&img)
            .and_then(|f| f.set_len(16 << 20))
            .is_ok()
        && Command::new("mkfs.ext4")
            .args(["-q", "-F", "-m", reserved])
            .arg(&img)
            .status()
            .is_ok_and(|s| s.success())
        && Command::new("mount")
            .args(["-o", "loop"])
            .arg(&img)
            .arg(&mnt)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    made.then(|| (mnt.clone(), Unmount(mnt)))
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A stored archive of one incompressible member of `size` bytes.
fn stored_archive(path: &Path, size: usize) {
    let data = crate::util::incompressible(size, 0);
    let mut b = ZipBuilder::new();
    b.file_with("big", &data, opts(zip::CompressionMethod::Stored, 0o644));
    b.write_to(path);
}

/// ext4 keeps blocks for root (5% by default, 50% here): root may fill them, and so may
/// extract an archive that only fits there. The free-space check counted only the blocks
/// for everyone and refused it, where unzip (and --no-space-check) extracted it. What
/// ext4 keeps for itself (2% at most, made with -m 0) is not root's: an archive that
/// needs it is still refused before anything is written.
#[test]
fn root_may_fill_the_blocks_ext4_reserves_for_it() {
    let tmp = tempdir();
    let Some((mnt, _unmount)) = ext4(tmp.path(), "half", "50") else {
        eprintln!("SKIP: cannot make and loop-mount an ext4 (needs root and mkfs.ext4)");
        return;
    };
    let st = rustix::fs::statvfs(&mnt).unwrap();
    let (avail, free) = (st.f_bavail * st.f_frsize, st.f_bfree * st.f_frsize);
    // Between what everyone may use and what root may.
    let size = (avail + (free - avail) / 4) as usize;
    stored_archive(&tmp.path().join("a.zip"), size);
    let out = run(Command::new(punzip_bin())
        .arg(tmp.path().join("a.zip"))
        .arg(mnt.join("out")));
    assert_eq!(
        code(&out),
        0,
        "avail {avail}, free {free}, size {size}: {}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(mnt.join("out/big")).unwrap().len(), size);
    // Someone without the privilege is still told before anything is written.
    if have("setpriv") {
        std::fs::remove_dir_all(mnt.join("out")).unwrap();
        std::fs::set_permissions(&mnt, std::os::unix::fs::PermissionsExt::from_mode(0o777))
            .unwrap();
        let zip = tmp.path().join("a.zip");
        std::fs::set_permissions(
            tmp.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let out = run(Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(punzip_bin())
            .arg(&zip)
            .arg(mnt.join("out")));
        assert_eq!(code(&out), 50, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("not enough free space"),
            "{}",
            stderr(&out)
        );
        assert!(!mnt.join("out").exists());
    }
    // -m 0: only ext4's own reserve lies between the two counts.
    let Some((mnt, _unmount)) = ext4(tmp.path(), "none", "0") else {
        return;
    };
    let st = rustix::fs::statvfs(&mnt).unwrap();
    let (avail, free) = (st.f_bavail * st.f_frsize, st.f_bfree * st.f_frsize);
    assert!(free > avail, "ext4 keeps some blocks for itself");
    let size = (avail + (free - avail) / 2) as usize;
    stored_archive(&tmp.path().join("b.zip"), size);
    let out = run(Command::new(punzip_bin())
        .arg(tmp.path().join("b.zip"))
        .arg(mnt.join("out")));
    assert_eq!(
        code(&out),
        50,
        "avail {avail}, free {free}, size {size}: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("not enough free space"),
        "{}",
        stderr(&out)
    );
    assert!(!mnt.join("out").exists());
}
