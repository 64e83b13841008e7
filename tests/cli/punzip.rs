//! punzip, the extractor: what comes out of an archive, checked against what was put in
//! (archives written at test time by the zip crate's writer, Python's zipfile and
//! Info-ZIP zip) and against Info-ZIP unzip's own extraction of the same archive; and what
//! punzip says, and exits with, when the user gets something wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use crate::util::{
    self, code, opts, raw_stored_zip, raw_zip, run, snapshot, stderr, stdout, Node, RawEntry,
    ZipBuilder, WHEN_UNIX,
};

/// Deterministic, moderately compressible bytes.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if i % 7 == 0 {
                b' '
            } else {
                b'a' + (x % 16) as u8
            }
        })
        .collect()
}

/// An archive with every method the zip crate writes, directories (one empty), a
/// symlink, modes with setuid and sticky bits, a zip64 member, and a comment.
fn rich_archive(path: &Path) -> BTreeMap<String, Node> {
    let mut w = ZipBuilder::new();
    let mut want = BTreeMap::new();
    for name in ["docs/", "docs/empty/", "src/"] {
        w.dir(name);
        want.insert(
            name.trim_end_matches('/').to_string(),
            Node::Dir { mode: 0o755 },
        );
    }
    let methods = [
        ("stored", CompressionMethod::Stored),
        ("deflated", CompressionMethod::Deflated),
        ("bzip2", CompressionMethod::Bzip2),
        ("zstd", CompressionMethod::Zstd),
        ("xz", CompressionMethod::Xz),
        ("ppmd", CompressionMethod::Ppmd),
    ];
    for (i, (name, method)) in methods.into_iter().enumerate() {
        let bytes = content(i as u64, 10_000 + i * 777);
        let path = format!("src/{name}.txt");
        w.file_with(&path, &bytes, opts(method, 0o644));
        want.insert(
            path,
            Node::File {
                bytes,
                mode: 0o644,
                mtime: WHEN_UNIX,
            },
        );
    }
    let mut file = |name: &str, mode: u32, want_mode: u32, o: SimpleFileOptions, bytes: Vec<u8>| {
        w.file_with(name, &bytes, o.unix_permissions(mode));
        want.insert(
            name.to_string(),
            Node::File {
                bytes,
                mode: want_mode,
                mtime: WHEN_UNIX,
            },
        );
    };
    let deflated = opts(CompressionMethod::Deflated, 0);
    file("bin/tool", 0o4755, 0o755, deflated, b"#!/bin/sh\n".to_vec());
    file("docs/readonly.txt", 0o444, 0o444, deflated, b"ro".to_vec());
    file("empty.txt", 0o600, 0o600, deflated, Vec::new());
    file(
        "big/zip64.bin",
        0o644,
        0o644,
        deflated.large_file(true),
        content(99, 300_000),
    );
    file(
        "名前/ünïcödé.txt",
        0o644,
        0o644,
        deflated,
        b"utf-8 name".to_vec(),
    );
    w.symlink("docs/link", "readonly.txt");
    want.insert(
        "docs/link".into(),
        Node::Link {
            target: "readonly.txt".into(),
        },
    );
    for d in ["bin", "big", "名前"] {
        want.insert(d.into(), Node::Dir { mode: 0o755 });
    }
    w.comment("an archive comment");
    w.write_to(path);
    want
}

fn punzip_into(archive: &Path, dest: &Path, extra: &[&str]) -> std::process::Output {
    run(util::punzip()
        .env("TZ", "UTC")
        .env_remove("PUNZIP_PASSWORD")
        .args(extra)
        .arg(archive)
        .arg(dest))
}

fn ok(out: &std::process::Output) {
    assert_eq!(code(out), 0, "stderr: {}", stderr(out));
}

#[test]
fn every_writable_method_mode_link_and_time_comes_out_as_put_in() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("rich.zip");
    let want = rich_archive(&zip);
    let dest = tmp.path().join("out");
    ok(&punzip_into(&zip, &dest, &[]));
    assert_eq!(snapshot(&dest), want);
    for (dir, mtime) in util::dir_mtimes(&dest) {
        if ["bin", "big", "名前"].contains(&dir.as_str()) {
            continue; // implied by file names, not members: no time of their own
        }
        assert_eq!(mtime, WHEN_UNIX, "directory {dir} keeps its archived time");
    }
}

/// DOS date and time fields that are no date (0, as some writers leave; month 13, 14,
/// 15; February 31; hour 25) are read by Info-ZIP's arithmetic, not refused: every file
/// gets the time unzip gives it, in more than one time zone (such a member was given the
/// time of extraction), and `--json` says that time.
#[test]
fn invalid_dos_times_come_out_as_unzip_reads_them() {
    if !util::have("unzip") {
        eprintln!("SKIP: no unzip");
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let tmp = util::tempdir();
    let stamps: [(u16, u16); 6] = [
        (0, 0),
        (((2020 - 1980) << 9) | (13 << 5) | 1, 0),
        (((2021 - 1980) << 9) | (14 << 5) | 9, 0),
        (((2021 - 1980) << 9) | (15 << 5) | 2, 0),
        (
            ((2021 - 1980) << 9) | (2 << 5) | 31,
            (25 << 11) | (61 << 5) | 30,
        ),
        (((2024 - 1980) << 9) | (5 << 5), 3 << 11),
    ];
    for (i, &(date, time)) in stamps.iter().enumerate() {
        let mut bytes = util::zip_of(&[("f", b"x")]);
        bytes[10..12].copy_from_slice(&time.to_le_bytes());
        bytes[12..14].copy_from_slice(&date.to_le_bytes());
        let c = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[c + 12..c + 14].copy_from_slice(&time.to_le_bytes());
        bytes[c + 14..c + 16].copy_from_slice(&date.to_le_bytes());
        let archive = tmp.path().join(format!("t{i}.zip"));
        std::fs::write(&archive, &bytes).unwrap();
        for tz in ["UTC", "Europe/Berlin"] {
            let (ours, theirs) = (tmp.path().join("p"), tmp.path().join("u"));
            let _ = std::fs::remove_dir_all(&ours);
            let _ = std::fs::remove_dir_all(&theirs);
            ok(&util::run(
                util::punzip().env("TZ", tz).arg(&archive).arg(&ours),
            ));
            let u = util::run(
                Command::new("unzip")
                    .env("TZ", tz)
                    .arg("-q")
                    .arg(&archive)
                    .arg("-d")
                    .arg(&theirs),
            );
            assert_eq!(code(&u), 0, "{}", util::stdout(&u));
            let want = std::fs::metadata(theirs.join("f")).unwrap().mtime();
            let got = std::fs::metadata(ours.join("f")).unwrap().mtime();
            assert_eq!(got, want, "date {date:#06x} time {time:#06x} in {tz}");
            if tz == "UTC" {
                let json = util::run(
                    util::punzip()
                        .env("TZ", tz)
                        .args(["--json", "-l"])
                        .arg(&archive),
                );
                let line: serde_json::Value =
                    serde_json::from_str(util::stdout(&json).lines().next().unwrap()).unwrap();
                let shown = line["mtime"].as_str().unwrap().to_string();
                let date = Command::new("date")
                    .args(["-u", "-d"])
                    .arg(format!("@{want}"))
                    .arg("+%Y-%m-%dT%H:%M:%SZ")
                    .output()
                    .unwrap();
                assert_eq!(
                    shown,
                    String::from_utf8_lossy(&date.stdout).trim(),
                    "{line}"
                );
            }
        }
    }
}

#[test]
fn serial_and_parallel_extractions_are_identical() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("rich.zip");
    rich_archive(&zip);
    let one = tmp.path().join("j1");
    ok(&punzip_into(&zip, &one, &["-j", "1"]));
    for jobs in ["2", "4", "16"] {
        let many = tmp.path().join(format!("j{jobs}"));
        ok(&punzip_into(&zip, &many, &["-j", jobs]));
        assert_eq!(snapshot(&one), snapshot(&many), "-j {jobs}");
    }
}

#[test]
fn matches_info_zip_unzip_on_the_same_archive() {
    if !util::have("unzip") {
        return;
    }
    let tmp = util::tempdir();
    let zip = tmp.path().join("plain.zip");
    // Info-ZIP 6.0 reads stored, deflate and bzip2 only.
    let mut w = ZipBuilder::new();
    w.dir_with("d/", opts(CompressionMethod::Stored, 0o750));
    for i in 0..40 {
        let method = [
            CompressionMethod::Stored,
            CompressionMethod::Deflated,
            CompressionMethod::Bzip2,
        ][i % 3];
        w.file_with(
            &format!("d/sub{}/f{i}.txt", i % 4),
            &content(i as u64, i * 911),
            opts(method, 0o640 + (i as u32 % 2) * 0o100),
        );
    }
    w.symlink("d/ln", "sub0/f0.txt");
    w.write_to(&zip);

    let theirs = tmp.path().join("unzip");
    let out = run(std::process::Command::new("unzip")
        .env("TZ", "UTC")
        .arg("-qq")
        .arg(&zip)
        .arg("-d")
        .arg(&theirs));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let ours = tmp.path().join("punzip");
    ok(&punzip_into(&zip, &ours, &[]));
    assert_eq!(snapshot(&ours), snapshot(&theirs));
}

#[test]
fn archives_written_by_python_zipfile_extract_exactly() {
    if !util::have("python3") {
        return;
    }
    let tmp = util::tempdir();
    let zip = tmp.path().join("py.zip");
    // LZMA (method 14) only Python writes; the DOS read-only attribute with no Unix mode;
    // a data descriptor from a non-seekable stream; a comment.
    let script = r#"
import sys, zipfile, io
class NoSeek(io.RawIOBase):
    def __init__(self, f): self.f = f
    def writable(self): return True
    def write(self, b): return self.f.write(b)
with open(sys.argv[1], 'wb') as raw:
    with zipfile.ZipFile(NoSeek(raw), 'w') as z:
        z.comment = b'made by python'
        for i, m in enumerate([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]):
            info = zipfile.ZipInfo(f'py/m{m}.txt', date_time=(2021, 3, 4, 5, 6, 8))
            info.compress_type = m
            info.external_attr = (0o100640 << 16)
            with z.open(info, 'w') as f:
                f.write((b'line %d of python\n' % i) * (500 * (i + 1)))
        dos = zipfile.ZipInfo('py/dos-readonly.txt', date_time=(2021, 3, 4, 5, 6, 8))
        dos.create_system = 0
        dos.external_attr = 0x01
        z.writestr(dos, b'read only on DOS')
"#;
    let out = run(std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&zip));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let dest = tmp.path().join("out");
    ok(&punzip_into(&zip, &dest, &["-j", "3"]));
    let got = snapshot(&dest);
    for (i, m) in [0, 8, 12, 14].into_iter().enumerate() {
        let line = format!("line {i} of python\n").repeat(500 * (i + 1));
        assert_eq!(
            got[&format!("py/m{m}.txt")],
            Node::File {
                bytes: line.into_bytes(),
                mode: 0o640,
                mtime: WHEN_UNIX
            },
            "method {m}"
        );
    }
    match &got["py/dos-readonly.txt"] {
        Node::File { bytes, mode, .. } => {
            assert_eq!(bytes, b"read only on DOS");
            assert_eq!(
                mode & 0o222,
                0,
                "DOS read-only attribute removes write bits"
            );
        }
        other => panic!("not a file: {other:?}"),
    }
}

/// Two members under the password "s3cret": aes.txt (AES-256) and zipcrypto.txt.
fn encrypted_zip(path: &Path) {
    use zip::unstable::write::FileOptionsExt;
    let mut w = ZipBuilder::new();
    let aes = opts(CompressionMethod::Deflated, 0o644)
        .with_aes_encryption(zip::AesMode::Aes256, "s3cret");
    w.file_with("aes.txt", b"aes secret", aes);
    let zc = opts(CompressionMethod::Deflated, 0o644)
        .with_deprecated_encryption(b"s3cret")
        .unwrap();
    w.file_with("zipcrypto.txt", b"zipcrypto secret", zc);
    w.write_to(path);
}

#[test]
fn encrypted_members_need_the_right_password() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("enc.zip");
    encrypted_zip(&zip);

    let none = tmp.path().join("none");
    let out = punzip_into(&zip, &none, &[]);
    assert_eq!(code(&out), 82, "no password: {}", stderr(&out));
    assert!(stderr(&out).contains("aes.txt") && stderr(&out).contains("password"));

    // An empty PUNZIP_PASSWORD (`"${PW:-}"`) is no password, not a wrong one.
    let empty = run(util::punzip()
        .env("PUNZIP_PASSWORD", "")
        .arg(&zip)
        .arg(tmp.path().join("empty")));
    assert_eq!(code(&empty), 82, "{}", stderr(&empty));
    assert!(
        stderr(&empty).contains("password required"),
        "{}",
        stderr(&empty)
    );

    let wrong = tmp.path().join("wrong");
    let out = punzip_into(&zip, &wrong, &["-P", "nope"]);
    assert_eq!(code(&out), 82, "wrong password: {}", stderr(&out));
    assert!(!wrong.join("aes.txt").exists() && util::temp_files(&wrong).is_empty());

    let right = tmp.path().join("right");
    let out = run(util::punzip()
        .env("PUNZIP_PASSWORD", "s3cret")
        .arg(&zip)
        .arg(&right));
    ok(&out);
    assert_eq!(std::fs::read(right.join("aes.txt")).unwrap(), b"aes secret");
    assert_eq!(
        std::fs::read(right.join("zipcrypto.txt")).unwrap(),
        b"zipcrypto secret"
    );
}

/// On a terminal, with no -P, the password is asked for as unzip asks ("[a.zip]
/// aes.txt password: ", echo off) and used for every member; off a terminal nothing is
/// asked (the run above got exit 82 at once, stdin being /dev/null).
#[test]
fn on_a_terminal_the_password_is_asked_for_without_echo() {
    if !util::have("script") {
        eprintln!("SKIP: no script(1) for a terminal");
        return;
    }
    let tmp = util::tempdir();
    let zip = tmp.path().join("enc.zip");
    encrypted_zip(&zip);
    let dest = tmp.path().join("out");
    let cmd = format!(
        "{} --no-progress {} {}",
        env!("CARGO_BIN_EXE_punzip"),
        zip.display(),
        dest.display()
    );
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut output = child.stdout.take().unwrap();
    // The screen, read as it comes: the answer is typed once the prompt is up, so that
    // the terminal's echo is already off.
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = std::io::Read::read(&mut output, &mut buf) {
            let _ = tx.send(buf[..n].to_vec());
        }
    });
    let mut screen = Vec::new();
    while !String::from_utf8_lossy(&screen).contains("password: ") {
        match rx.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(bytes) => screen.extend(bytes),
            Err(_) => {
                let _ = child.kill();
                panic!("no prompt: {}", String::from_utf8_lossy(&screen));
            }
        }
    }
    std::io::Write::write_all(&mut input, b"s3cret\n").unwrap();
    let status = child.wait().unwrap();
    drop(input);
    reader.join().unwrap();
    screen.extend(rx.try_iter().flatten());
    let screen = String::from_utf8_lossy(&screen);
    assert_eq!(status.code(), Some(0), "{screen}");
    assert!(screen.contains("] aes.txt password: "), "{screen}");
    assert!(
        !screen.contains("s3cret"),
        "the password was echoed: {screen}"
    );
    assert_eq!(std::fs::read(dest.join("aes.txt")).unwrap(), b"aes secret");
    assert_eq!(
        std::fs::read(dest.join("zipcrypto.txt")).unwrap(),
        b"zipcrypto secret"
    );
}

/// An archive whose member `n` holds "new n".
fn small_archive(path: &Path, names: &[&str]) {
    let mut w = ZipBuilder::new();
    for n in names {
        w.file(n, format!("new {n}").as_bytes());
    }
    w.write_to(path);
}

#[test]
fn existing_files_are_kept_unless_overwrite_is_asked() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("a.zip");
    small_archive(&zip, &["a.txt", "b.txt"]);
    let dest = tmp.path().join("out");
    util::write(&dest.join("a.txt"), b"old a");

    let out = punzip_into(&zip, &dest, &[]);
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("a.txt"), "{}", stderr(&out));
    assert_eq!(std::fs::read(dest.join("a.txt")).unwrap(), b"old a");
    assert!(
        !dest.join("b.txt").exists(),
        "nothing is written when there are conflicts"
    );

    ok(&punzip_into(&zip, &dest, &["-n"]));
    assert_eq!(std::fs::read(dest.join("a.txt")).unwrap(), b"old a");
    assert_eq!(std::fs::read(dest.join("b.txt")).unwrap(), b"new b.txt");

    ok(&punzip_into(&zip, &dest, &["-o"]));
    assert_eq!(std::fs::read(dest.join("a.txt")).unwrap(), b"new a.txt");
}

#[test]
fn include_and_exclude_patterns_select_members() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("a.zip");
    small_archive(&zip, &["src/a.rs", "src/b.rs", "src/c.txt", "README"]);
    let dest = tmp.path().join("out");
    ok(&punzip_into(
        &zip,
        &dest,
        &["-i", "*.rs", "-i", "README", "-x", "src/b*"],
    ));
    let got: Vec<String> = snapshot(&dest).into_keys().collect();
    assert_eq!(got, ["README", "src", "src/a.rs"]);

    let out = punzip_into(&zip, &tmp.path().join("none"), &["-i", "*.zzz"]);
    assert_eq!(code(&out), 11, "no match is Info-ZIP's status 11");
}

/// `punzip A.zip -x GLOB OUT`: as in unzip, OUT is one more pattern after -x, and the
/// members go to the current directory. Exit 0 as unzip, but a hint says what happened
/// and how to say OUT (before, only "excluded filename not matched: OUT").
#[test]
fn a_dest_after_x_is_a_pattern_as_in_unzip_and_a_hint_says_so() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("a.zip");
    small_archive(&zip, &["a.txt", "b.txt"]);
    let cwd = tmp.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let out = run(util::punzip()
        .arg(&zip)
        .args(["-x", "a.txt", "outdir"])
        .current_dir(&cwd));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let got: Vec<String> = snapshot(&cwd).into_keys().collect();
    assert_eq!(got, ["b.txt"]);
    assert!(
        stderr(&out).contains("hint:") && stderr(&out).contains("-d outdir"),
        "{}",
        stderr(&out)
    );
    // Quiet is quiet; and with a DEST given, an unmatched exclude is only that.
    let out = run(util::punzip()
        .arg(&zip)
        .args(["-q", "-x", "a.txt", "nothing"])
        .current_dir(&cwd));
    assert!(!stderr(&out).contains("hint:"), "{}", stderr(&out));
    let out = run(util::punzip()
        .arg(&zip)
        .args(["-x", "nothing", "-d"])
        .arg(tmp.path().join("out")));
    assert!(!stderr(&out).contains("hint:"), "{}", stderr(&out));
    // Nor for an exclude that is -x's own value, or a glob: those are patterns anyway.
    for args in [
        &["-o", "-x", "nothing"][..],
        &["-o", "-x", "a.txt", "*.log"],
    ] {
        let out = run(util::punzip().arg(&zip).args(args).current_dir(&cwd));
        assert!(
            stderr(&out).contains("not matched"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("hint:"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn junk_paths_puts_every_file_in_dest() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("a.zip");
    small_archive(&zip, &["x/y/one", "x/two"]);
    let dest = tmp.path().join("out");
    ok(&punzip_into(&zip, &dest, &["--junk-paths"]));
    let got: Vec<String> = snapshot(&dest).into_keys().collect();
    assert_eq!(got, ["one", "two"]);
}

#[test]
fn prepended_data_and_d_option_are_accepted() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("a.zip");
    small_archive(&zip, &["inner.txt"]);
    let mut sfx = b"#!/bin/sh\necho self-extracting stub\nexit 0\n".repeat(40);
    sfx.extend(std::fs::read(&zip).unwrap());
    let exe = tmp.path().join("sfx.bin");
    std::fs::write(&exe, sfx).unwrap();
    let dest = tmp.path().join("out");
    let out = run(util::punzip().arg(&exe).arg("-d").arg(&dest));
    // Extracted, with unzip's warning (and exit status) that bytes come before it.
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1720 extra bytes"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(dest.join("inner.txt")).unwrap(),
        b"new inner.txt"
    );
}

#[test]
fn test_mode_checks_every_crc_and_names_the_bad_member() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("a.zip");
    let stored = opts(CompressionMethod::Stored, 0o644);
    let mut w = ZipBuilder::new();
    w.file_with("good.txt", b"good content here", stored);
    w.file_with("bad.txt", b"MARKER-to-corrupt", stored);
    w.write_to(&zip);

    let out = run(util::punzip().arg("-t").arg(&zip));
    ok(&out);
    assert!(stdout(&out).contains("No errors detected"));

    let mut bytes = std::fs::read(&zip).unwrap();
    let at = bytes.windows(6).position(|w| w == b"MARKER").unwrap();
    bytes[at] ^= 0xff;
    std::fs::write(&zip, bytes).unwrap();
    let out = run(util::punzip().arg("-t").arg(&zip));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("bad.txt") && stderr(&out).contains("CRC"));
    assert!(!stderr(&out).contains("good.txt"));
}

/// With several kinds of failure in one run, the exit status is the one Info-ZIP ranks
/// worst, not the greatest number: a bad CRC beside a pattern that matched nothing exits
/// 2 (it exited 11, and a script taking 11 for "a name was missing" accepted a corrupt
/// member); a wrong password beside it exits 11. Checked against unzip when installed.
#[test]
fn mixed_failures_exit_with_the_status_unzip_ranks_worst() {
    use zip::unstable::write::FileOptionsExt;
    let tmp = util::tempdir();
    let crc = tmp.path().join("crc.zip");
    let stored = opts(CompressionMethod::Stored, 0o644);
    let mut w = ZipBuilder::new();
    w.file_with("good.txt", b"good content here", stored);
    w.file_with("bad.txt", b"MARKER-to-corrupt", stored);
    w.write_to(&crc);
    let mut bytes = std::fs::read(&crc).unwrap();
    let at = bytes.windows(6).position(|w| w == b"MARKER").unwrap();
    bytes[at] ^= 0xff;
    std::fs::write(&crc, bytes).unwrap();
    let enc = tmp.path().join("enc.zip");
    let mut w = ZipBuilder::new();
    let zc = opts(CompressionMethod::Deflated, 0o644)
        .with_deprecated_encryption(b"s3cret")
        .unwrap();
    w.file_with("secret.txt", b"zipcrypto secret", zc);
    w.file("plain.txt", b"plain");
    w.write_to(&enc);
    let unzip = util::have("unzip");
    if !unzip {
        eprintln!("SKIP (the comparison only): no unzip");
    }
    let cases: [(&Path, &[&str], i32); 3] = [
        (&crc, &["bad.txt", "nomatch"], 2),
        (&enc, &["secret.txt", "nomatch"], 11),
        (&crc, &["good.txt", "nomatch"], 11),
    ];
    for (i, (zip, members, status)) in cases.into_iter().enumerate() {
        for mode in [None, Some("-t"), Some("-p")] {
            let dest = tmp.path().join(format!("out{i}{mode:?}"));
            let mut ours = util::punzip();
            let mut theirs = Command::new("unzip");
            for cmd in [&mut ours, &mut theirs] {
                cmd.args(["-P", "wrong"]).args(mode).arg(zip).args(members);
                if mode.is_none() {
                    cmd.arg("-d").arg(&dest);
                }
                cmd.stdin(std::process::Stdio::null());
            }
            let out = run(&mut ours);
            assert_eq!(code(&out), status, "{members:?} {mode:?}: {}", stderr(&out));
            if unzip {
                let _ = std::fs::remove_dir_all(&dest);
                assert_eq!(
                    code(&run(&mut theirs)),
                    status,
                    "unzip {members:?} {mode:?}"
                );
            }
        }
    }
}

#[test]
fn list_shows_every_member_with_totals() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("a.zip");
    small_archive(&zip, &["one", "dir/two", "dir/three"]);
    let out = run(util::punzip().arg("-l").arg(&zip));
    ok(&out);
    let text = stdout(&out);
    for name in ["one", "dir/two", "dir/three"] {
        assert!(
            text.lines().any(|l| l.ends_with(&format!("   {name}"))),
            "{text}"
        );
    }
    let sizes: u64 = ["one", "dir/two", "dir/three"]
        .iter()
        .map(|n| format!("new {n}").len() as u64)
        .sum();
    let last = text.lines().last().unwrap();
    assert_eq!(
        last.split_whitespace().collect::<Vec<_>>(),
        [sizes.to_string().as_str(), "3", "files"]
    );
    if util::have("unzip") {
        let theirs = run(std::process::Command::new("unzip")
            .env("TZ", "UTC")
            .arg("-l")
            .arg(&zip));
        let body = |s: &str| s.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            body(&text),
            body(&stdout(&theirs)),
            "same layout as unzip -l"
        );
    }
}

#[test]
fn missing_and_non_zip_archives_exit_9() {
    let tmp = util::tempdir();
    let out = run(util::punzip().arg(tmp.path().join("nope.zip")));
    assert_eq!(code(&out), 9);
    assert!(stderr(&out).contains("nope.zip"));
    let junk = tmp.path().join("junk.zip");
    std::fs::write(&junk, b"this is not a zip archive at all, just text").unwrap();
    let out = run(util::punzip().arg(&junk).arg(tmp.path().join("d")));
    assert_eq!(code(&out), 9, "{}", stderr(&out));
    let empty = tmp.path().join("empty.zip");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(code(&run(util::punzip().arg(&empty))), 9);
}

#[test]
fn plain_zip_slip_writes_nothing_outside_dest() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("slip.zip");
    small_archive(&zip, &["../escaped.txt", "fine.txt"]);
    let dest = tmp.path().join("inner").join("out");
    let out = punzip_into(&zip, &dest, &[]);
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("../escaped.txt"), "{}", stderr(&out));
    assert!(!tmp.path().join("inner").join("escaped.txt").exists());
    assert_eq!(
        std::fs::read(dest.join("fine.txt")).unwrap(),
        b"new fine.txt"
    );
}

#[test]
fn demo_archive_in_testdata_extracts_exactly_what_python_and_unzip_read() {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo.zip");
    let tmp = util::tempdir();
    let ours = tmp.path().join("ours");
    ok(&punzip_into(&demo, &ours, &[]));
    let got = snapshot(&ours);
    if util::have("python3") {
        // Every member Python's zipfile reads: files (and links) with their bytes,
        // directories with none.
        let script = r#"
import sys, zipfile, json
out = {}
with zipfile.ZipFile(sys.argv[1]) as z:
    for i in z.infolist():
        name = i.filename.rstrip('/')
        out[name] = None if i.is_dir() else z.read(i).hex()
json.dump(out, sys.stdout)
"#;
        let out = run(std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&demo));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let want: BTreeMap<String, Option<String>> = serde_json::from_slice(&out.stdout).unwrap();
        assert!(want.len() > 10, "the demo has members: {want:?}");
        for (name, bytes) in &want {
            match (bytes, got.get(name)) {
                (None, Some(Node::Dir { .. })) => {}
                (Some(hex), Some(Node::File { bytes, .. })) => {
                    let got_hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                    assert!(&got_hex == hex, "{name}: different content");
                }
                // Python reads a symlink member's data: the link target.
                (Some(hex), Some(Node::Link { target })) => {
                    let got_hex: String = target
                        .as_os_str()
                        .as_encoded_bytes()
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    assert!(&got_hex == hex, "{name}: different link target");
                }
                (want, got) => panic!("{name}: want {want:?}, got {got:?}"),
            }
        }
        // Nothing more than the members and the directories implied by their names.
        for name in got.keys() {
            let implied = want.keys().any(|w| w.starts_with(&format!("{name}/")));
            assert!(
                want.contains_key(name) || implied,
                "{name}: not in the archive"
            );
        }
    }
    if util::have("unzip") {
        let theirs = tmp.path().join("theirs");
        let out = run(std::process::Command::new("unzip")
            .env("TZ", "UTC")
            .arg("-qq")
            .arg(&demo)
            .arg("-d")
            .arg(&theirs));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(got, snapshot(&theirs));
    }
}

#[test]
fn extended_timestamps_from_info_zip_keep_odd_seconds() {
    if !util::have("zip") {
        return;
    }
    let tmp = util::tempdir();
    let src = tmp.path().join("src");
    util::write(&src.join("sub/odd.txt"), b"odd seconds");
    util::write(&src.join("even.txt"), b"even seconds");
    // 2020-05-06 07:08:09 UTC: an odd second, which a DOS time cannot hold.
    let odd = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_588_748_889);
    for f in ["sub/odd.txt", "even.txt"] {
        let file = std::fs::File::options()
            .write(true)
            .open(src.join(f))
            .unwrap();
        file.set_modified(odd).unwrap();
    }
    let zip = tmp.path().join("info.zip");
    let out = run(std::process::Command::new("zip")
        .current_dir(&src)
        .args(["-q", "-r"])
        .arg(&zip)
        .arg("."));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let dest = tmp.path().join("out");
    // A time zone far from UTC: the extended field is UTC and must win over DOS time.
    ok(&run(util::punzip()
        .env("TZ", "America/Los_Angeles")
        .arg(&zip)
        .arg(&dest)));
    for f in ["sub/odd.txt", "even.txt"] {
        let got = std::fs::metadata(dest.join(f)).unwrap().modified().unwrap();
        assert_eq!(got, odd, "{f}");
    }
}

#[test]
fn cp437_names_are_decoded() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("dos.zip");
    // 0x81 is ü and 0xE1 is ß in code page 437.
    std::fs::write(&zip, raw_stored_zip(&[(b"gr\x81\xe1e.txt", b"hallo")])).unwrap();
    let dest = tmp.path().join("out");
    ok(&punzip_into(&zip, &dest, &[]));
    let names: Vec<String> = snapshot(&dest).into_keys().collect();
    assert_eq!(names, ["grüße.txt"]);
}

/// Every path under `root`, relative, as its bytes.
fn byte_names(root: &Path) -> Vec<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let mut names: Vec<Vec<u8>> = walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap();
            rel.as_os_str().as_bytes().to_vec()
        })
        .collect();
    names.sort();
    names
}

/// Names that are not UTF-8, by host and writer, and what unzip makes of each: made on
/// Unix (or by a Windows zip in its code page) they are bytes, and a 0x5C inside a
/// Shift-JIS character is not a separator; from MS-DOS, or PKZIP 5.0 on Windows, CP437.
fn legacy_names_zip() -> Vec<u8> {
    let unix = |name: &'static [u8]| RawEntry {
        host: 3,
        external: 0o100644 << 16,
        ..RawEntry::new(name, b"x")
    };
    raw_zip(&[
        // Shift-JIS: \x95\x5c is one character, \x83\x5c\x83\x74\x83\x67 three.
        unix(b"\x95\x5c.txt"),
        unix(b"\x83\x5c\x83\x74\x83\x67/\x95\x5c"),
        // ISO-8859-1.
        unix(b"\xe9t\xe9.txt"),
        // A Japanese Windows zip: NTFS, version 2.0, Shift-JIS.
        RawEntry {
            host: 11,
            ..RawEntry::new(b"win\x95\x5c.txt", b"x")
        },
        // PKZIP 5.0 on Windows NT, and MS-DOS: CP437 (0x81 is \u{fc}).
        RawEntry {
            host: 11,
            made_by: 50,
            ..RawEntry::new(b"pk\x81.txt", b"x")
        },
        RawEntry::new(b"dos\\\x81.txt", b"x"),
    ])
}

#[test]
fn names_that_are_not_utf8_are_written_as_their_bytes_where_unzip_writes_them_so() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("legacy.zip");
    std::fs::write(&zip, legacy_names_zip()).unwrap();
    let dest = tmp.path().join("out");
    let out = punzip_into(&zip, &dest, &[]);
    ok(&out);
    let want: Vec<&[u8]> = vec![
        b"\x83\x5c\x83\x74\x83\x67",
        b"\x83\x5c\x83\x74\x83\x67/\x95\x5c",
        b"\x95\x5c.txt",
        b"\xe9t\xe9.txt",
        "dos".as_bytes(),
        "dos/\u{fc}.txt".as_bytes(),
        "pk\u{fc}.txt".as_bytes(),
        b"win\x95\x5c.txt",
    ];
    let mut want: Vec<Vec<u8>> = want.into_iter().map(<[u8]>::to_vec).collect();
    want.sort();
    assert_eq!(byte_names(&dest), want);
    if !util::have("unzip") {
        eprintln!("SKIP the comparison with unzip: unzip is not installed");
        return;
    }
    let theirs = tmp.path().join("unzip");
    std::fs::create_dir(&theirs).unwrap();
    run(Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .current_dir(&theirs)
        .env("LC_ALL", "C.UTF-8"));
    // unzip writes MS-DOS names in ISO-8859-1 (\xfc), where punzip writes UTF-8.
    let cp437 = |n: &Vec<u8>| n.starts_with(b"dos") || n.starts_with(b"pk");
    let (mine, theirs) = (byte_names(&dest), byte_names(&theirs));
    let mine: Vec<_> = mine.into_iter().filter(|n| !cp437(n)).collect();
    let theirs: Vec<_> = theirs.into_iter().filter(|n| !cp437(n)).collect();
    assert_eq!(mine, theirs);
}

/// A member whose name is bytes is asked for by those bytes, as unzip takes it: as a
/// pattern operand, after -x, or with -i. Such a pattern matched nothing ("filename not
/// matched: \u{fffd}"), and after -x was a usage error.
#[test]
fn a_name_kept_as_bytes_is_selected_by_its_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = util::tempdir();
    let zip = tmp.path().join("legacy.zip");
    std::fs::write(&zip, legacy_names_zip()).unwrap();
    let latin1 = std::ffi::OsStr::from_bytes(b"\xe9t\xe9.txt");
    let out = run(util::punzip().arg("-p").arg(&zip).arg(latin1));
    ok(&out);
    assert_eq!(out.stdout, b"x");
    for how in [&["-x"][..], &["-i"]] {
        let dest = tmp.path().join(format!("out{}", how[0]));
        let out = run(util::punzip()
            .arg(&zip)
            .arg("-d")
            .arg(&dest)
            .args(how)
            .arg(latin1));
        ok(&out);
        let has = dest.join(latin1).exists();
        assert_eq!(has, how[0] == "-i", "{how:?}");
    }
    // A 0x5C byte is asked for as unzip asks for it: its `\` quotes, so the byte is
    // written `\\` (`unzip -p legacy.zip $'\x95\\\\.txt'` prints the member).
    let sjis = std::ffi::OsStr::from_bytes(b"\x95\\\\.txt");
    let out = run(util::punzip().arg("-p").arg(&zip).arg(sjis));
    ok(&out);
    assert_eq!(out.stdout, b"x");
    let dest = tmp.path().join("out-sjis");
    ok(&run(util::punzip()
        .arg(&zip)
        .arg("-d")
        .arg(&dest)
        .arg("-x")
        .arg(sjis)));
    assert!(!dest
        .join(std::ffi::OsStr::from_bytes(b"\x95\x5c.txt"))
        .exists());
    assert!(dest.join(latin1).exists());
    let nothing = std::ffi::OsStr::from_bytes(b"none\xff");
    let out = run(util::punzip().arg("-p").arg(&zip).arg(nothing));
    assert_eq!(code(&out), 11, "{}", stderr(&out));
    assert!(stderr(&out).contains("none\\xff"), "{}", stderr(&out));
}

#[test]
fn a_name_kept_as_bytes_is_shown_with_those_bytes_escaped_and_given_exactly_in_json() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("legacy.zip");
    std::fs::write(&zip, legacy_names_zip()).unwrap();
    let out = run(util::punzip().arg("-l").arg(&zip));
    ok(&out);
    let text = stdout(&out);
    assert!(text.contains("  \\x95\\.txt\n"), "{text}");
    assert!(text.contains("  \\xe9t\\xe9.txt\n"), "{text}");
    let out = run(util::punzip().args(["-l", "--json"]).arg(&zip));
    ok(&out);
    let exact: Vec<Vec<u8>> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter_map(|v| {
            let bytes = v["path_bytes"].as_array()?.iter();
            Some(bytes.map(|b| b.as_u64().unwrap() as u8).collect())
        })
        .collect();
    assert!(
        exact.contains(&b"\xe9t\xe9.txt".to_vec()),
        "{}",
        stdout(&out)
    );
    // A refused one is named by its bytes too.
    let bad = tmp.path().join("bad.zip");
    let entry = RawEntry {
        host: 3,
        ..RawEntry::new(b"../\xff\x5c", b"x")
    };
    std::fs::write(&bad, raw_zip(&[entry])).unwrap();
    let out = punzip_into(&bad, &tmp.path().join("bad"), &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("../\\xff\\: refused"),
        "{}",
        stderr(&out)
    );
}

/// bsdtar and macOS's `tar -a` put `./` first in every zip: the destination itself, which
/// unzip and 7-Zip pass over. It failed every mode, exit 1, "empty name".
#[test]
fn the_entry_for_the_destination_itself_that_bsdtar_writes_is_passed_over() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("bsdtar.zip");
    let dir = |name: &'static [u8]| RawEntry {
        host: 3,
        external: 0o040755 << 16,
        ..RawEntry::new(name, b"")
    };
    let file = |name: &'static [u8], data: &'static [u8]| RawEntry {
        host: 3,
        external: 0o100644 << 16,
        ..RawEntry::new(name, data)
    };
    let entries = [
        dir(b"./"),
        dir(b"./sub/"),
        file(b"./a", b"a"),
        file(b"./sub/b", b"b"),
    ];
    std::fs::write(&zip, raw_zip(&entries)).unwrap();
    let dest = tmp.path().join("out");
    let out = punzip_into(&zip, &dest, &[]);
    ok(&out);
    assert_eq!(stderr(&out), "");
    assert_eq!(
        byte_names(&dest),
        [b"a".to_vec(), b"sub".to_vec(), b"sub/b".to_vec()]
    );
    for mode in ["-t", "-l"] {
        let out = run(util::punzip().arg(mode).arg(&zip));
        assert_eq!(code(&out), 0, "{mode}: {}", stderr(&out));
    }
    // A file by that name is still no name at all.
    let bad = tmp.path().join("bad.zip");
    std::fs::write(&bad, raw_zip(&[file(b".", b"x")])).unwrap();
    let out = punzip_into(&bad, &tmp.path().join("bad"), &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("empty name"), "{}", stderr(&out));
}

/// `punzip -t A.zip && punzip A.zip D`: what extraction refuses by the archive alone, a
/// test refuses too. A symlink to `/etc/passwd` passed `-t`, exit 0.
#[test]
fn a_test_refuses_the_symlinks_extraction_would_refuse() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("links.zip");
    let link = |name: &'static [u8], target: &'static [u8]| RawEntry {
        host: 3,
        external: 0o120777 << 16,
        ..RawEntry::new(name, target)
    };
    for (target, refused) in [
        (&b"/etc/passwd"[..], true),
        (b"../../x", true),
        (b"d/../../x", true),
        (b"inside", false),
    ] {
        std::fs::write(&zip, raw_zip(&[link(b"d/l", target)])).unwrap();
        let out = run(util::punzip().arg("-t").arg(&zip));
        let extracted = punzip_into(&zip, &tmp.path().join("out"), &[]);
        assert_eq!(code(&out), code(&extracted), "{}", stderr(&out));
        assert_eq!(code(&out), if refused { 1 } else { 0 }, "{}", stderr(&out));
        if refused {
            assert!(
                stderr(&out).contains("d/l: refused: symlink target"),
                "{}",
                stderr(&out)
            );
        }
        let out = run(util::punzip()
            .args(["-t", "--allow-unsafe-symlinks"])
            .arg(&zip));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let _ = std::fs::remove_dir_all(tmp.path().join("out"));
    }
}

/// An archive comment shorter than its end record says is the mark of a file cut off:
/// said, exit 1, as unzip's "zipfile comment truncated". It was taken silently.
#[test]
fn a_comment_cut_short_is_a_warning_as_in_unzip() {
    let tmp = util::tempdir();
    let mut w = ZipBuilder::new();
    w.file("a", b"a").comment("hello world comment");
    let whole = w.finish();
    let zip = tmp.path().join("cut.zip");
    std::fs::write(&zip, &whole[..whole.len() - 3]).unwrap();
    for mode in [&["-l"][..], &["-t"], &[]] {
        let mut cmd = util::punzip();
        cmd.args(mode).arg(&zip);
        if mode.is_empty() {
            cmd.arg(tmp.path().join("out"));
        }
        let out = run(&mut cmd);
        assert_eq!(code(&out), 1, "{mode:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("the archive comment is cut short: 16 of its 19 bytes"),
            "{}",
            stderr(&out)
        );
        if util::have("unzip") && mode == ["-t"] {
            let theirs = run(Command::new("unzip").arg("-t").arg(&zip));
            assert_eq!(code(&theirs), 1, "unzip -t: {}", stdout(&theirs));
        }
    }
    assert_eq!(std::fs::read(tmp.path().join("out/a")).unwrap(), b"a");
    let whole_zip = tmp.path().join("whole.zip");
    std::fs::write(&whole_zip, &whole).unwrap();
    ok(&run(util::punzip().arg("-t").arg(&whole_zip)));
}

/// Two `punzip -n` runs into one DEST at once: a file the other run wrote since this one
/// looked is kept like any file that was there before. Each run failed hundreds of
/// members with "already exists (use -o to overwrite or -n to skip)", exit 1.
#[test]
fn two_never_overwrite_runs_into_one_dest_both_succeed() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("many.zip");
    let mut w = ZipBuilder::new();
    for i in 0..2000 {
        w.file(&format!("m/{i:04}.txt"), format!("{i}").as_bytes());
    }
    w.write_to(&zip);
    let dest = tmp.path().join("out");
    for _ in 0..2 {
        let _ = std::fs::remove_dir_all(&dest);
        let spawn = || {
            util::punzip()
                .args(["-n", "-q"])
                .arg(&zip)
                .arg(&dest)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            assert_eq!(code(&out), 0, "{}", stderr(&out));
        }
        for i in [0, 999, 1999] {
            let got = std::fs::read(dest.join(format!("m/{i:04}.txt"))).unwrap();
            assert_eq!(got, format!("{i}").as_bytes());
        }
        assert_eq!(std::fs::read_dir(dest.join("m")).unwrap().count(), 2000);
    }
}

/// A UTF-8 name holding the private-use characters that carry other names' bytes is
/// written, listed and given in `--json` as its own bytes.
#[test]
fn a_utf8_name_holding_a_character_that_carries_bytes_is_its_own_bytes() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("pua.zip");
    let name = "a\u{ef95}\u{ef5c}.txt";
    std::fs::write(&zip, raw_stored_zip(&[(name.as_bytes(), b"x")])).unwrap();
    let dest = tmp.path().join("out");
    ok(&punzip_into(&zip, &dest, &[]));
    assert_eq!(byte_names(&dest), [name.as_bytes().to_vec()]);
    let out = run(util::punzip().arg("-l").arg(&zip));
    assert!(
        stdout(&out).contains(&format!("  {name}\n")),
        "{}",
        stdout(&out)
    );
    let out = run(util::punzip().args(["-l", "--json"]).arg(&zip));
    let first: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(first["path"], name, "{first}");
    assert!(first.get("path_bytes").is_none(), "{first}");
}

/// A name kept as bytes whose path, once its `..` is taken, is a UTF-8 member's: one
/// path, refused as two UTF-8 names for one path are, whatever the order of writing.
#[test]
fn a_name_kept_as_bytes_that_lands_on_a_utf8_members_path_is_a_collision() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("dup.zip");
    let unix = |name: &'static [u8], data: &'static [u8]| RawEntry {
        host: 3,
        external: 0o100644 << 16,
        ..RawEntry::new(name, data)
    };
    let entries = [
        unix("\u{e9}.txt".as_bytes(), b"first"),
        unix(b"\xff/../\xc3\xa9.txt", b"second"),
    ];
    std::fs::write(&zip, raw_zip(&entries)).unwrap();
    for jobs in ["1", "2"] {
        let dest = tmp.path().join(format!("out{jobs}"));
        let out = punzip_into(&zip, &dest, &["-o", "-j", jobs]);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("lands on the same path"),
            "{}",
            stderr(&out)
        );
        assert_eq!(std::fs::read(dest.join("\u{e9}.txt")).unwrap(), b"first");
    }
}

/// `phash --members` names a member kept as bytes by those bytes: the list checks the
/// extracted tree.
#[test]
fn phash_members_names_a_name_kept_as_bytes_by_its_bytes() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("legacy.zip");
    std::fs::write(&zip, legacy_names_zip()).unwrap();
    let out = run(util::phash().arg("--members").arg(&zip));
    ok(&out);
    let dest = tmp.path().join("out");
    ok(&punzip_into(&zip, &dest, &[]));
    let list = tmp.path().join("list.md5");
    std::fs::write(&list, &out.stdout).unwrap();
    let checked = run(util::phash().arg("-c").arg(&list).current_dir(&dest));
    ok(&checked);
    // md5sum's escape doubles the backslash; the other byte is as it is.
    let escaped = b"\x95\\\\.txt";
    assert!(
        out.stdout.windows(7).any(|w| w == escaped),
        "{:?}",
        out.stdout
    );
}

/// A Shift-JIS name ending in 0x5C beside a Unicode Path field is extracted under the
/// field's name, a file: it was taken for a directory holding data, and refused.
#[test]
fn a_unicode_path_field_decides_whether_a_name_ends_in_a_separator() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("sjis.zip");
    let name = "\u{8868}";
    let mut field = 0x7075u16.to_le_bytes().to_vec();
    let mut data = vec![1];
    data.extend_from_slice(&util::crc32(b"\x95\x5c").to_le_bytes());
    data.extend_from_slice(name.as_bytes());
    field.extend_from_slice(&(data.len() as u16).to_le_bytes());
    field.extend_from_slice(&data);
    let entry = RawEntry {
        host: 11,
        extra: field,
        ..RawEntry::new(b"\x95\x5c", b"hyou")
    };
    std::fs::write(&zip, raw_zip(&[entry])).unwrap();
    let dest = tmp.path().join("out");
    ok(&punzip_into(&zip, &dest, &[]));
    assert_eq!(std::fs::read(dest.join(name)).unwrap(), b"hyou");
}

#[test]
fn a_symlink_target_that_is_not_utf8_is_written_as_its_bytes() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = util::tempdir();
    let zip = tmp.path().join("link.zip");
    let entries = [
        RawEntry {
            host: 3,
            external: 0o100644 << 16,
            ..RawEntry::new(b"t\xff\x5c", b"target")
        },
        RawEntry {
            host: 3,
            external: 0o120777 << 16,
            ..RawEntry::new(b"link", b"t\xff\x5c")
        },
    ];
    std::fs::write(&zip, raw_zip(&entries)).unwrap();
    let dest = tmp.path().join("out");
    ok(&punzip_into(&zip, &dest, &[]));
    let target = std::fs::read_link(dest.join("link")).unwrap();
    assert_eq!(target.as_os_str().as_bytes(), b"t\xff\x5c");
    assert_eq!(std::fs::read(dest.join("link")).unwrap(), b"target");
}

// ---------------------------------------------------------------------------------------
// What the user typed: operands, mistakes, and the messages and statuses they get.

/// A small tree: `top.txt` and `Dir/a`, `Dir/b`, `Other/c`.
fn tree_zip(path: &Path) {
    let mut w = ZipBuilder::new();
    w.file("top.txt", b"top")
        .file("Dir/a", b"a")
        .file("Dir/b", b"b")
        .file("Other/c", b"c");
    w.write_to(path);
}

/// Everything in `dir`, for "nothing was written" checks.
fn listing(dir: &Path) -> Vec<String> {
    snapshot(dir).into_keys().collect()
}

#[test]
fn a_dest_that_looks_like_a_pattern_is_refused_with_a_hint_and_nothing_written() {
    let tmp = util::tempdir();
    tree_zip(&tmp.path().join("t.zip"));
    let before = listing(tmp.path());
    let out = run(util::punzip()
        .current_dir(tmp.path())
        .args(["t.zip", "Dir/*"]));
    assert_eq!(code(&out), 10, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("-i 'Dir/*'") && err.contains("-d DEST"),
        "{err}"
    );
    assert_eq!(listing(tmp.path()), before, "nothing written");
}

#[test]
fn an_existing_file_or_a_second_operand_is_not_taken_as_dest() {
    let tmp = util::tempdir();
    tree_zip(&tmp.path().join("t.zip"));
    util::write(&tmp.path().join("top.txt"), b"mine");
    std::fs::copy(tmp.path().join("t.zip"), tmp.path().join("b.zip")).unwrap();
    let before = listing(tmp.path());
    for args in [["t.zip", "top.txt"], ["t.zip", "b.zip"]] {
        let out = run(util::punzip().current_dir(tmp.path()).args(args));
        assert_eq!(code(&out), 10, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("-d"), "{}", stderr(&out));
        assert_eq!(listing(tmp.path()), before, "{args:?}: nothing written");
    }
    let out = run(util::punzip()
        .current_dir(tmp.path())
        .args(["t.zip", "x", "y"]));
    assert_eq!(code(&out), 10);
    assert!(
        stderr(&out).contains("too many operands"),
        "{}",
        stderr(&out)
    );
    assert_eq!(listing(tmp.path()), before);
}

#[test]
fn swapped_operands_are_called_swapped_and_nothing_is_written() {
    let tmp = util::tempdir();
    tree_zip(&tmp.path().join("t.zip"));
    std::fs::create_dir(tmp.path().join("out")).unwrap();
    let before = listing(tmp.path());
    for (first, why) in [("out", "is a directory"), ("missing", "does not exist")] {
        let out = run(util::punzip()
            .current_dir(tmp.path())
            .args([first, "t.zip"]));
        assert_eq!(code(&out), 10, "{first}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("swapped") && err.contains(why), "{err}");
        assert!(err.contains(&format!("punzip 't.zip' '{first}'")), "{err}");
        assert_eq!(listing(tmp.path()), before, "{first}: nothing written");
    }
}

/// unzip's way of extracting one member, `unzip A.zip docs/readme.txt`, made a directory
/// named after the member and extracted everything into it.
#[test]
fn a_dest_operand_that_names_a_member_is_refused_with_a_hint() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("t.zip");
    util::write(
        &zip,
        &util::zip_of(&[("docs/readme.txt", b"r"), ("a.txt", b"a")]),
    );
    let before = listing(tmp.path());
    let out = run(util::punzip()
        .current_dir(tmp.path())
        .args(["t.zip", "docs/readme.txt"]));
    assert_eq!(code(&out), 10, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("-i 'docs/readme.txt'"),
        "{}",
        stderr(&out)
    );
    assert_eq!(listing(tmp.path()), before, "nothing written");
    // A directory of that name that exists is DEST, as before.
    std::fs::create_dir_all(tmp.path().join("a.txt")).unwrap();
    ok(&run(util::punzip()
        .current_dir(tmp.path())
        .args(["t.zip", "a.txt"])));
    assert!(tmp.path().join("a.txt/docs/readme.txt").is_file());
}

/// As in unzip, every operand after -x (up to the next option) is an exclusion:
/// `-x a b` took b as DEST, and `-x a b -d OUT` extracted only b.
#[test]
fn every_operand_after_x_is_an_exclusion_as_in_unzip() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("t.zip");
    util::write(
        &zip,
        &util::zip_of(&[("docs/readme.txt", b"r"), ("a.txt", b"a"), ("b.txt", b"b")]),
    );
    // (arguments after the archive, where they extract to, what comes out)
    let cases: [(&[&str], &str, &[&str]); 3] = [
        (
            &["-x", "a.txt", "b.txt", "-d", "o1"],
            "o1",
            &["docs", "docs/readme.txt"],
        ),
        (&["-x", "a.txt", "b.txt"], "", &["docs", "docs/readme.txt"]),
        (&["b.txt", "-x", "a.txt", "-d", "o3"], "o3", &["b.txt"]),
    ];
    for (i, (args, dest, want)) in cases.iter().enumerate() {
        for (tool, mut cmd) in [("punzip", util::punzip()), ("unzip", Command::new("unzip"))] {
            if tool == "unzip" && !util::have("unzip") {
                continue;
            }
            let dir = tmp.path().join(format!("{tool}{i}"));
            std::fs::create_dir(&dir).unwrap();
            let out = run(cmd.current_dir(&dir).arg("-qq").arg(&zip).args(*args));
            assert_eq!(code(&out), 0, "{tool} {args:?}: {}", stderr(&out));
            assert_eq!(listing(&dir.join(dest)), *want, "{tool} {args:?}");
        }
    }
    // Up to the next option: after -d, an operand is a member pattern again.
    let dir = tmp.path().join("o4");
    ok(&run(util::punzip()
        .arg(&zip)
        .args(["-x", "a.txt", "-d"])
        .arg(&dir)
        .arg("b.txt")));
    assert_eq!(listing(&dir), ["b.txt"]);
}

/// unzip's options punzip lacks are named as such: -L (lower-case names) was answered
/// "did you mean '-l'", which lists.
#[test]
fn unzip_options_punzip_lacks_are_said_to_be_unsupported() {
    for (opt, says) in [
        ("-L", "lower-case"),
        ("-X", "UID"),
        ("-u", "update"),
        ("-Z", "zipinfo"),
    ] {
        let out = run(util::punzip().args([opt, "a.zip"]));
        assert_eq!(code(&out), 10, "{opt}");
        let err = stderr(&out);
        assert!(
            err.contains("not supported") && err.contains(says),
            "{opt}: {err}"
        );
        assert!(!err.contains("did you mean"), "{opt}: {err}");
    }
}

/// Times from the Unix extra fields other writers use (Info-ZIP's old 0x5855, which
/// macOS's ditto writes; PKWARE's 0x000d), a signed extended timestamp (a file from 1969
/// came out in 2105), and the Unix mode Python's zipfile on Windows puts in an MS-DOS
/// entry's upper attribute bytes (0600 came out 0644): what unzip extracts, except that
/// unzip gives the 1969 file the DOS date instead (1980).
#[test]
fn times_from_every_unix_extra_field_and_modes_from_dos_entries_come_out() {
    use std::os::unix::fs::MetadataExt;
    use util::RawEntry;
    let field = |id: u16, body: &[u8]| -> Vec<u8> {
        let mut f = id.to_le_bytes().to_vec();
        f.extend((body.len() as u16).to_le_bytes());
        f.extend(body);
        f
    };
    let times = |a: i32, m: i32| -> Vec<u8> { [a.to_le_bytes(), m.to_le_bytes()].concat() };
    let june_2020 = 1_592_190_000; // 2020-06-15 03:00 UTC; the DOS fields say 12:00
    let june_1969 = -18_446_400; // 1969-06-01 12:00 UTC
    let late_2046 = 0x9000_0000u32; // past 2038: only the unsigned reading
    let unix = |name: &'static str, extra: Vec<u8>, dos_date: u16| RawEntry {
        host: 3,
        external: 0o100644 << 16,
        dos_date,
        dos_time: 12 << 11,
        extra,
        ..RawEntry::new(name.as_bytes(), b"x")
    };
    let dos = |name: &'static str, external: u32| RawEntry {
        external,
        ..RawEntry::new(name.as_bytes(), b"x")
    };
    let date = |y: u16, m: u16, d: u16| ((y - 1980) << 9) | (m << 5) | d;
    let ut = |t: i32| field(0x5455, &[&[1u8][..], &t.to_le_bytes()].concat());
    let local_only = RawEntry {
        local_extra: Some(ut(june_2020)),
        ..unix("local.txt", Vec::new(), date(2020, 6, 15))
    };
    let entries = [
        local_only,
        unix(
            "ux.txt",
            field(0x5855, &times(0, june_2020)),
            date(2020, 6, 15),
        ),
        unix(
            "pk.txt",
            field(0x000d, &times(0, june_2020)),
            date(2020, 6, 15),
        ),
        unix("ut1969.txt", ut(june_1969), date(1980, 1, 1)),
        unix("ut2046.txt", ut(late_2046 as i32), date(2046, 1, 1)),
        dos("private.txt", (0o100600 << 16) | 0x20),
        // Executable by its mode (Python on Windows gives an .exe 0777): not for unzip.
        dos("setup.exe", (0o100777 << 16) | 0x20),
        // Read-only for DOS, writable by the mode: not a mode, as unzip decides.
        dos("readonly.txt", (0o100644 << 16) | 0x21),
    ];
    let tmp = util::tempdir();
    let zip = tmp.path().join("x.zip");
    util::write(&zip, &util::raw_zip(&entries));
    let ours = tmp.path().join("ours");
    ok(&run(util::punzip().arg(&zip).arg(&ours).env("TZ", "UTC")));
    let got = |dir: &Path, name: &str| {
        let md = std::fs::metadata(dir.join(name)).unwrap();
        (md.mtime(), md.mode() & 0o777)
    };
    assert_eq!(got(&ours, "local.txt").0, june_2020 as i64, "the local UT");
    assert_eq!(got(&ours, "ux.txt").0, june_2020 as i64);
    assert_eq!(got(&ours, "pk.txt").0, june_2020 as i64);
    assert_eq!(got(&ours, "ut1969.txt").0, june_1969 as i64);
    assert_eq!(got(&ours, "ut2046.txt").0, late_2046 as i64);
    assert_eq!(got(&ours, "private.txt").1, 0o600);
    assert_eq!(got(&ours, "readonly.txt").1, 0o444);
    assert_eq!(got(&ours, "setup.exe").1 & 0o111, 0, "not executable");
    if util::have("unzip") {
        let theirs = tmp.path().join("theirs");
        let out = run(Command::new("unzip")
            .arg("-qq")
            .arg(&zip)
            .arg("-d")
            .arg(&theirs)
            .env("TZ", "UTC"));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        for name in [
            "local.txt",
            "ux.txt",
            "pk.txt",
            "ut2046.txt",
            "private.txt",
            "readonly.txt",
            "setup.exe",
        ] {
            assert_eq!(
                got(&ours, name),
                got(&theirs, name),
                "{name}: punzip vs unzip"
            );
        }
    }
}

/// A file or a link in DEST where the archive needs a directory is named as what it is,
/// and the directory that could not be made is said first: "'sub' is a symbolic link or
/// not a directory" left the user to find out which.
#[test]
fn a_file_or_link_in_the_way_of_a_directory_is_named_as_what_it_is() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("s.zip");
    util::write(
        &zip,
        &util::zip_of(&[("sub/b.txt", b"b"), ("top.txt", b"t")]),
    );
    for (what, says) in [
        ("file", "'sub' is not a directory (a file is in the way)"),
        ("link", "'sub' is a symbolic link; it is not followed"),
    ] {
        let dest = tmp.path().join(what);
        std::fs::create_dir(&dest).unwrap();
        if what == "file" {
            util::write(&dest.join("sub"), b"x");
        } else {
            std::os::unix::fs::symlink(tmp.path(), dest.join("sub")).unwrap();
        }
        let out = run(util::punzip().arg("-o").arg(&zip).arg(&dest));
        assert_eq!(code(&out), 2, "{what}: {}", stderr(&out));
        let err = stderr(&out);
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.contains(&format!("{what}/sub: cannot create directory: {says}")),
            "{what}: {err}"
        );
        assert_eq!(std::fs::read(dest.join("top.txt")).unwrap(), b"t");
    }
}

/// As unzip: `punzip foo` extracts `foo.zip` when there is no `foo`.
#[test]
fn an_archive_named_without_its_zip_suffix_is_found() {
    let tmp = util::tempdir();
    util::write(
        &tmp.path().join("foo.zip"),
        &util::zip_of(&[("a.txt", b"a")]),
    );
    ok(&run(util::punzip()
        .current_dir(tmp.path())
        .args(["foo", "out"])));
    assert_eq!(std::fs::read(tmp.path().join("out/a.txt")).unwrap(), b"a");
    let out = run(util::punzip().current_dir(tmp.path()).args(["bar", "out"]));
    assert_eq!(code(&out), 9, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("bar: cannot open archive"),
        "{}",
        stderr(&out)
    );
}

/// `-d "$OUT"` with OUT unset: unzip extracts into the current directory; punzip says so
/// and writes nothing.
#[test]
fn an_empty_dest_is_refused_not_taken_for_the_current_directory() {
    let tmp = util::tempdir();
    tree_zip(&tmp.path().join("t.zip"));
    let before = listing(tmp.path());
    for args in [&["t.zip", "-d", ""][..], &["t.zip", ""]] {
        let out = run(util::punzip().current_dir(tmp.path()).args(args));
        assert_eq!(code(&out), 10, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("DEST is empty"), "{}", stderr(&out));
        assert_eq!(listing(tmp.path()), before, "{args:?}: nothing written");
    }
}

/// An archive with no members, and one with bytes in front of it (a self-extractor stub,
/// a .jmod's header): unzip warns and exits 1 in every mode, and reads the second anyway.
#[test]
fn an_empty_archive_or_bytes_in_front_warn_with_exit_1_as_unzip_does() {
    let tmp = util::tempdir();
    let empty = tmp.path().join("empty.zip");
    util::write(&empty, &ZipBuilder::new().finish());
    let stub = tmp.path().join("stub.zip");
    let mut bytes = b"#!/bin/sh\nexit 0\n".to_vec();
    bytes.extend(util::zip_of(&[("a.txt", b"hello\n")]));
    util::write(&stub, &bytes);
    for (zip, says) in [(&empty, "archive is empty"), (&stub, "17 extra bytes")] {
        for mode in [&[][..], &["-t"], &["-l"], &["-q"]] {
            let dest = tmp.path().join(format!("out{}", mode.join("")));
            let _ = std::fs::remove_dir_all(&dest);
            let out = run(util::punzip().args(mode).arg(zip).arg("-d").arg(&dest));
            assert_eq!(code(&out), 1, "{zip:?} {mode:?}: {}", stderr(&out));
            assert!(stderr(&out).contains(says), "{mode:?}: {}", stderr(&out));
            if util::have("unzip") {
                let theirs = run(std::process::Command::new("unzip")
                    .args(mode)
                    .arg(zip)
                    .arg("-d")
                    .arg(tmp.path().join("theirs")));
                assert_eq!(code(&theirs), 1, "unzip {mode:?} on {zip:?}");
            }
        }
    }
    // The stub's member is extracted, and -t still says the data is sound.
    let dest = tmp.path().join("out");
    assert_eq!(std::fs::read(dest.join("a.txt")).unwrap(), b"hello\n");
    let out = run(util::punzip().arg("-t").arg(&stub));
    assert!(
        stdout(&out).contains("No errors detected"),
        "{}",
        stdout(&out)
    );
    // An empty archive has no data to call sound: no such line, as unzip -t and -tq.
    for q in [None, Some("-q")] {
        let out = run(util::punzip().arg("-t").args(q).arg(&empty));
        assert_eq!(stdout(&out), "", "{q:?}");
        if util::have("unzip") {
            let theirs = run(std::process::Command::new("unzip")
                .arg("-t")
                .args(q)
                .arg(&empty));
            assert!(
                !stdout(&theirs).contains("No errors detected"),
                "unzip {q:?}"
            );
        }
    }
    // phash --members reads it too, with the warning and without failing.
    let out = run(util::phash().arg("--members").arg(&stub));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("b1946ac92492d2347c6235b4d2611184  a.txt"));
    assert!(stderr(&out).contains("17 extra bytes"), "{}", stderr(&out));
}

#[test]
fn with_d_the_operands_are_member_patterns_as_in_unzip() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("t.zip");
    tree_zip(&zip);
    let ours = tmp.path().join("ours");
    ok(&run(util::punzip()
        .arg(&zip)
        .args(["Dir/*", "top.txt", "-d"])
        .arg(&ours)));
    let want = ["Dir", "Dir/a", "Dir/b", "top.txt"];
    assert_eq!(listing(&ours), want);
    if util::have("unzip") {
        let theirs = tmp.path().join("theirs");
        let out = run(std::process::Command::new("unzip")
            .arg("-qq")
            .arg(&zip)
            .args(["Dir/*", "top.txt", "-d"])
            .arg(&theirs));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(listing(&ours), listing(&theirs));
    }
}

/// Member patterns as Info-ZIP unzip reads them, each case checked against unzip's own
/// run on the same archive where unzip is installed: what is extracted and the exit
/// status (11 when a pattern matched nothing, even if others did).
#[test]
fn patterns_select_as_in_unzip_and_each_one_that_matched_nothing_is_named() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("p.zip");
    let mut b = ZipBuilder::new();
    b.file("file{1}.txt", b"braces")
        .file("file1.txt", b"plain")
        .file("a{b,c}.txt", b"x")
        .dir("sub/")
        .file("sub/b.txt", b"b");
    b.write_to(&zip);
    // (operands, -x patterns, what comes out, exit status, what stderr must name)
    type Case<'a> = (&'a [&'a str], &'a [&'a str], &'a [&'a str], i32, &'a str);
    let cases: &[Case] = &[
        // Braces and commas are characters, not alternatives.
        (&["file{1}.txt"], &[], &["file{1}.txt"], 0, ""),
        (&["a{b,c}.txt"], &[], &["a{b,c}.txt"], 0, ""),
        (
            &[],
            &["file{1}.txt"],
            &["a{b,c}.txt", "file1.txt", "sub", "sub/b.txt"],
            0,
            "",
        ),
        // One pattern matched, one did not: the match is extracted, the other named, 11.
        (
            &["file1.txt", "nomatch"],
            &[],
            &["file1.txt"],
            11,
            "nomatch",
        ),
        // A directory's name ends in '/': `sub` does not name `sub/`.
        (&["sub"], &[], &[], 11, "'sub/*'"),
        (&["sub/*"], &[], &["sub", "sub/b.txt"], 0, ""),
        // An exclude that matched nothing is a caution, not a failure.
        (
            &["sub/*"],
            &["nomatch"],
            &["sub", "sub/b.txt"],
            0,
            "excluded filename not matched: nomatch",
        ),
    ];
    for (i, (members, excludes, want, status, says)) in cases.iter().enumerate() {
        let case = format!("case {i}: {members:?} -x {excludes:?}");
        let ours = tmp.path().join(format!("ours{i}"));
        let mut cmd = util::punzip();
        cmd.arg(&zip).args(*members);
        for x in *excludes {
            cmd.args(["-x", x]);
        }
        let out = run(cmd.arg("-d").arg(&ours));
        assert_eq!(code(&out), *status, "{case}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{case}: {}", stderr(&out));
        let got: Vec<String> = if ours.exists() {
            snapshot(&ours).into_keys().collect()
        } else {
            Vec::new()
        };
        assert_eq!(got, *want, "{case}");
        if util::have("unzip") {
            let theirs = tmp.path().join(format!("theirs{i}"));
            let mut cmd = std::process::Command::new("unzip");
            cmd.arg("-qq").arg(&zip).args(*members);
            if !excludes.is_empty() {
                cmd.arg("-x").args(*excludes);
            }
            let out = run(cmd.arg("-d").arg(&theirs));
            assert_eq!(code(&out), *status, "unzip, {case}: {}", stderr(&out));
            let theirs: Vec<String> = if theirs.exists() {
                snapshot(&theirs).into_keys().collect()
            } else {
                Vec::new()
            };
            assert_eq!(got, theirs, "{case}: unlike unzip");
        }
    }
}

/// A member that would be refused (`../evil`) but that the patterns leave out is not
/// looked at, as unzip does not: `punzip A.zip good.txt -d OUT` exited 1 over it (a
/// `set -e` script died with all it asked for extracted), and `-x ../evil` was said to
/// match nothing. Selected, it is still refused.
#[test]
fn a_member_the_patterns_leave_out_is_not_refused() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("bad.zip");
    std::fs::write(
        &zip,
        util::raw_stored_zip(&[(b"good.txt", b"g"), (b"../evil", b"e")]),
    )
    .unwrap();
    let cases: &[(&[&str], i32)] = &[
        (&["good.txt", "-d", "o1"], 0),
        (&["-x", "../evil", "-d", "o2"], 0),
        (&["-p", "good.txt"], 0),
        (&["-t", "good.txt"], 0),
        (&["-d", "o3"], 1),
        (&["*evil", "-d", "o4"], 1),
    ];
    for (args, status) in cases {
        let out = run(util::punzip().arg(&zip).args(*args).current_dir(tmp.path()));
        assert_eq!(code(&out), *status, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(
            err.contains("../evil: refused"),
            *status == 1,
            "{args:?}: {err}"
        );
        assert!(!err.contains("not matched"), "{args:?}: {err}");
    }
    assert_eq!(std::fs::read(tmp.path().join("o1/good.txt")).unwrap(), b"g");
    if util::have("unzip") {
        let out = run(std::process::Command::new("unzip")
            .args(["-qq"])
            .arg(&zip)
            .args(["good.txt", "-d"])
            .arg(tmp.path().join("u")));
        assert_eq!(code(&out), 0, "unzip: {}", stderr(&out));
    }
}

/// `punzip -l A.zip '*.java'` and `punzip -t A.zip MEMBER`: with -l and -t, as with -p,
/// the operands are member patterns (they were taken for DEST, and ignored or refused).
#[test]
fn list_and_test_take_member_patterns_as_unzip_does() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("t.zip");
    let mut b = ZipBuilder::new();
    b.file("a.txt", b"a")
        .file("b.java", b"b")
        .file("c.java", b"c");
    b.write_to(&zip);
    let out = run(util::punzip().args(["-qq", "-l"]).arg(&zip).arg("*.java"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let listed = stdout(&out);
    let names: Vec<&str> = listed
        .lines()
        .map(|l| l.split_whitespace().last().unwrap())
        .collect();
    assert_eq!(names, ["b.java", "c.java"]);
    let out = run(util::punzip()
        .arg("-l")
        .arg(&zip)
        .args(["a.txt", "nomatch"]));
    assert_eq!(code(&out), 11, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not matched: nomatch"),
        "{}",
        stderr(&out)
    );

    // -t tests only the named member: a damaged other one does not count.
    let bad = tmp.path().join("bad.zip");
    let mut bytes = std::fs::read(&zip).unwrap();
    let at = bytes.windows(6).position(|w| w == b"c.java").unwrap();
    // The local header's name, then the stored data "c": damage the data.
    bytes[at + 6] ^= 0xff;
    std::fs::write(&bad, &bytes).unwrap();
    let out = run(util::punzip().arg("-t").arg(&bad).arg("a.txt"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(util::punzip().arg("-t").arg(&bad));
    assert_ne!(code(&out), 0, "the damage is found when c.java is tested");
    assert!(stderr(&out).contains("c.java"), "{}", stderr(&out));
}

/// A member that cannot be written (here a file in DEST stands where its directory must
/// go) is an error, exit 2, not a warning: 1 says "the rest extracted", and scripts
/// that accept 1 would accept a member that is missing. The others are extracted.
#[test]
fn a_member_that_cannot_be_written_is_an_error_not_a_warning() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("t.zip");
    let mut b = ZipBuilder::new();
    b.file("a.txt", b"a").file("sub/b.txt", b"b");
    b.write_to(&zip);
    let dest = tmp.path().join("out");
    std::fs::create_dir(&dest).unwrap();
    std::fs::write(dest.join("sub"), b"in the way").unwrap();
    let out = punzip_into(&zip, &dest, &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("sub/b.txt"), "{}", stderr(&out));
    assert_eq!(std::fs::read(dest.join("a.txt")).unwrap(), b"a");
    assert_eq!(std::fs::read(dest.join("sub")).unwrap(), b"in the way");
}

/// An archive holding both a file `sub` and members inside `sub/`: the file is refused
/// (exit 1) naming a member inside, and those are extracted. It was reported as
/// "already exists (use -o ...)", advice that could not help.
#[test]
fn a_file_member_that_is_also_a_directory_in_the_archive_is_refused_by_name() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("fd.zip");
    let mut b = ZipBuilder::new();
    b.file("sub", b"f").file("sub/b.txt", b"i");
    b.write_to(&zip);
    for args in [&[][..], &["-o"]] {
        let dest = tmp.path().join(format!("out{}", args.len()));
        let out = punzip_into(&zip, &dest, args);
        assert_eq!(code(&out), 1, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("sub: refused: the archive also has sub/b.txt inside it"),
            "{err}"
        );
        assert!(!err.contains("use -o"), "{err}");
        assert_eq!(std::fs::read(dest.join("sub/b.txt")).unwrap(), b"i");
    }
}

#[test]
fn a_dest_that_is_a_file_is_a_total_failure_not_a_warning() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("t.zip");
    tree_zip(&zip);
    let file = tmp.path().join("file");
    util::write(&file, b"keep");
    let out = run(util::punzip().arg(&zip).arg("-d").arg(&file));
    // Info-ZIP unzip exits 2 when it cannot create the extraction directory.
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("not a directory"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&file).unwrap(), b"keep");
    if util::have("unzip") {
        let theirs = run(std::process::Command::new("unzip")
            .arg("-qq")
            .arg(&zip)
            .arg("-d")
            .arg(&file));
        assert_eq!(code(&theirs), code(&out), "same status as unzip");
    }
}

#[test]
fn common_mistakes_get_a_message_that_says_what_to_do() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("t.zip");
    tree_zip(&zip);
    let text = tmp.path().join("notes.txt");
    util::write(
        &text,
        b"just some text, long enough to look like a file of notes",
    );
    let cases: [(Vec<std::ffi::OsString>, i32, &str, &str); 4] = [
        (
            vec![tmp.path().into()],
            9,
            "is a directory, not a zip archive",
            "os error",
        ),
        (vec![text.clone().into()], 9, "not a zip archive", "EOCD"),
        (
            vec!["--jobs".into(), "0".into(), zip.clone().into()],
            10,
            "at least 1 worker",
            "non-zero type",
        ),
        (
            vec!["-T".into(), zip.clone().into()],
            10,
            "not supported",
            "'-- -T'",
        ),
    ];
    for (args, want_code, says, not) in cases {
        let out = run(util::punzip().current_dir(tmp.path()).args(&args));
        let err = stderr(&out);
        assert_eq!(code(&out), want_code, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains(not), "{args:?}: {err}");
    }
}

// ---------------------------------------------------------------------------------------
// Output closed under us: a quiet success, the work done all the same.

/// An archive of `n` small files in 10 directories: enough lines to fill a pipe.
fn many_files_zip(path: &Path, n: usize) -> Vec<String> {
    let mut w = ZipBuilder::new();
    let mut names = Vec::new();
    for i in 0..n {
        let name = format!("d{}/file{i}.txt", i % 10);
        w.file_with(
            &name,
            format!("{i}").as_bytes(),
            opts(CompressionMethod::Stored, 0o644),
        );
        names.push(name);
    }
    w.write_to(path);
    names
}

#[test]
fn a_closed_stdout_is_a_quiet_success_on_every_output_path() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("many.zip");
    let names = many_files_zip(&zip, 300);
    let cases: [&[&str]; 3] = [&["-v"], &["-t", "-v"], &["-l"]];
    for (i, args) in cases.into_iter().enumerate() {
        let dest = tmp.path().join(format!("out{i}"));
        let out =
            util::with_closed_stdout(util::punzip().args(args).arg(&zip).args(["-d"]).arg(&dest));
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}: no message");
        if args == ["-v"] {
            // Extraction went on to the end: member i holds the text of i.
            for (i, n) in names.iter().enumerate() {
                assert_eq!(
                    std::fs::read(dest.join(n)).unwrap(),
                    i.to_string().as_bytes()
                );
            }
        }
    }
}

/// `-v` names each file as unzip does: under DEST as given (`inflating: out/d/a.txt`),
/// and alone when extracting into the working directory.
#[test]
fn verbose_lines_name_the_file_under_dest_as_unzip_does() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("v.zip");
    let mut w = ZipBuilder::new();
    w.file_with(
        "d/a.txt",
        &[b'x'; 100],
        opts(CompressionMethod::Deflated, 0o644),
    );
    w.write_to(&zip);
    let out = run(util::punzip()
        .current_dir(tmp.path())
        .args(["-v", "v.zip", "-d", "out"]));
    ok(&out);
    assert_eq!(stdout(&out), "  inflating: out/d/a.txt\n");
    let out = run(util::punzip()
        .current_dir(tmp.path())
        .args(["-v", "-o", "v.zip", "."]));
    ok(&out);
    assert_eq!(stdout(&out), "  inflating: d/a.txt\n");
    if util::have("unzip") {
        let theirs = run(Command::new("unzip")
            .current_dir(tmp.path())
            .args(["-o", "v.zip", "-d", "out"]));
        assert!(
            stdout(&theirs).contains("  inflating: out/d/a.txt"),
            "{}",
            stdout(&theirs)
        );
    }
}

#[test]
fn verbose_extraction_piped_to_head_completes() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("many.zip");
    // 3000 lines of about 30 bytes: more than a pipe holds, so punzip is still writing
    // when the reader goes away.
    let names = many_files_zip(&zip, 3000);
    let dest = tmp.path().join("out");
    let (line, status, err) =
        util::first_line_then_close(util::punzip().arg("-v").arg(&zip).arg(&dest));
    // unzip's words: stored members are "extracting", compressed ones "inflating".
    assert!(
        line.starts_with(" extracting: ") || line.starts_with("  inflating: "),
        "{line}"
    );
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(err, "");
    let got = snapshot(&dest);
    assert!(
        names.iter().all(|n| got.contains_key(n)),
        "every file extracted"
    );
}

#[test]
fn the_readme_demo_piped_to_a_closed_stdout_extracts_the_whole_demo() {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo.zip");
    let tmp = util::tempdir();
    let dest = tmp.path().join("demo");
    let out = util::with_closed_stdout(util::punzip().args(["-v", "-o"]).arg(&demo).arg(&dest));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let plain = tmp.path().join("plain");
    ok(&punzip_into(&demo, &plain, &[]));
    assert_eq!(snapshot(&dest), snapshot(&plain));
}

// ---------------------------------------------------------------------------------------
// Names from the archive never reach the terminal raw.

/// Patches the central directory record of `name` to say "made on Unix, a FIFO".
fn make_fifo(zip: &mut [u8], name: &[u8]) {
    let mut at = 0;
    while let Some(p) = zip[at..].windows(4).position(|w| w == b"PK\x01\x02") {
        let h = at + p;
        let n = usize::from(u16::from_le_bytes([zip[h + 28], zip[h + 29]]));
        if &zip[h + 46..h + 46 + n] == name {
            zip[h + 5] = 3; // version made by: Unix
            zip[h + 38..h + 42].copy_from_slice(&((0o010_644u32) << 16).to_le_bytes());
            return;
        }
        at = h + 4;
    }
    panic!("no central record for {name:?}");
}

#[test]
fn control_characters_in_names_are_escaped_in_listings_lines_and_warnings() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("evil.zip");
    let mut bytes = raw_stored_zip(&[
        (b"red\x1b[31m.txt", b"1"),
        (b"two\nlines.txt", b"2"),
        (b"Case\x1b.txt", b"3"),
        (b"case\x1b.txt", b"4"),
        (b"fifo\x1b[2J", b""),
    ]);
    make_fifo(&mut bytes, b"fifo\x1b[2J");
    std::fs::write(&zip, bytes).unwrap();
    let runs: [&[&str]; 3] = [&["-l"], &["-v"], &["-t", "-v"]];
    for args in runs {
        let out = run(util::punzip()
            .args(args)
            .arg(&zip)
            .arg("-d")
            .arg(tmp.path().join("out")));
        let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        assert!(
            !all.contains(&0x1b),
            "{args:?}: raw ESC in {}",
            String::from_utf8_lossy(&all)
        );
        let text = String::from_utf8_lossy(&all);
        assert!(
            !text.lines().any(|l| l.starts_with("lines.txt")),
            "{args:?}: {text}"
        );
        assert!(text.contains(r"two\nlines.txt"), "{args:?}: {text}");
        assert!(text.contains(r"red\u{1b}[31m.txt"), "{args:?}: {text}");
        if args != ["-t", "-v"] {
            // The FIFO's name (a regular file now) and the case collision's warning.
            assert!(text.contains(r"fifo\u{1b}[2J"), "{args:?}: {text}");
            assert!(
                text.contains(r"ase\u{1b}.txt: differs only in case"),
                "{args:?}: {text}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Floods are summarised.

#[test]
fn extracting_over_an_existing_tree_shows_a_few_conflicts_and_one_way_out() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("many.zip");
    many_files_zip(&zip, 40);
    let dest = tmp.path().join("out");
    ok(&punzip_into(&zip, &dest, &[]));
    let out = punzip_into(&zip, &dest, &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ends_with("already exists (use -o to overwrite or -n to skip)"))
            .count(),
        10,
        "{err}"
    );
    assert!(err.contains("... and 30 more"), "{err}");
    let last = lines.last().unwrap();
    assert!(
        last.contains("40 file(s) already exist") && last.contains("-o") && last.contains("-n"),
        "{err}"
    );
    assert!(lines.len() <= 12, "{err}");
}

#[test]
fn names_differing_only_in_case_are_summarised_once() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("case.zip");
    let mut w = ZipBuilder::new();
    for i in 0..25 {
        w.file(&format!("f{i}.txt"), b"lower")
            .file(&format!("F{i}.TXT"), b"upper");
    }
    w.write_to(&zip);
    let out = punzip_into(&zip, &tmp.path().join("out"), &[]);
    let err = stderr(&out);
    assert_eq!(
        err.lines().filter(|l| l.contains("only in case")).count(),
        1,
        "{err}"
    );
    assert!(err.contains("24 more"), "{err}");
    let quiet = punzip_into(&zip, &tmp.path().join("q"), &["-q", "-o"]);
    assert_eq!(stderr(&quiet), "");
}

#[test]
fn stats_count_a_refused_symlink_as_a_warning_like_the_exit_status() {
    if !util::have("python3") {
        return;
    }
    let tmp = util::tempdir();
    let zip = tmp.path().join("link.zip");
    let script = r#"
import sys, zipfile, stat
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    i = zipfile.ZipInfo('bad')
    i.create_system = 3
    i.external_attr = (stat.S_IFLNK | 0o777) << 16
    z.writestr(i, '../../etc/passwd')
    z.writestr('ok.txt', 'ok')
"#;
    let out = run(std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&zip));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = punzip_into(&zip, &tmp.path().join("out"), &["--stats"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let stats = stderr(&out);
    let line = stats.lines().last().unwrap();
    assert!(line.contains(" 0 errors, 1 warning, "), "{stats}");
}

// ---------------------------------------------------------------------------------------
// The progress bar.

/// The percentages a progress output shows.
fn percents(text: &str) -> Vec<u32> {
    text.split(|c: char| !c.is_ascii_digit() && c != '%')
        .filter_map(|w| w.strip_suffix('%'))
        .filter_map(|n| n.parse().ok())
        .collect()
}

#[test]
fn forced_progress_shows_on_a_pipe_in_stats_units_and_never_past_100_percent() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("many.zip");
    many_files_zip(&zip, 200);
    let out = punzip_into(&zip, &tmp.path().join("out"), &["--progress"]);
    ok(&out);
    let err = stderr(&out);
    let pct = percents(&err);
    assert!(!pct.is_empty(), "the bar was drawn: {err:?}");
    assert!(pct.iter().all(|&p| p <= 100), "{err:?}");
    assert!(
        err.contains(" B") || err.contains("KiB"),
        "human_bytes units: {err:?}"
    );
    let hidden = punzip_into(&zip, &tmp.path().join("out2"), &["--no-progress"]);
    assert_eq!(stderr(&hidden), "");
    let both = run(util::punzip()
        .args(["--progress", "--no-progress"])
        .arg(&zip));
    assert_eq!(code(&both), 10, "the two flags conflict");
}

/// One long member (bzip2, read through the zip crate chunk by chunk) moves the bar as
/// it is decoded: it went from 0% to 100% at the member's end.
#[test]
fn the_bar_moves_through_one_long_member() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("one.zip");
    let mut b = ZipBuilder::new();
    b.file_with(
        "long.txt",
        &content(7, 3 << 20),
        opts(CompressionMethod::Bzip2, 0o644),
    );
    b.write_to(&zip);
    let out = punzip_into(&zip, &tmp.path().join("out"), &["--progress", "-j1"]);
    ok(&out);
    let err = stderr(&out);
    let pct = percents(&err);
    assert!(
        pct.iter().any(|&p| 0 < p && p < 100),
        "a percentage between 0 and 100 while the member decodes: {pct:?}"
    );
}

/// What `punzip EXTRA ZIP -d DEST` draws on an 80-column terminal (`script`'s), which it
/// must leave with exit 0.
fn punzip_in_tty(extra: &str, zip: &Path, dest: &Path) -> String {
    let cmd = format!(
        "stty cols 80; {} {extra} {} -d {}",
        env!("CARGO_BIN_EXE_punzip"),
        zip.display(),
        dest.display()
    );
    let out = run(std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]));
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    stdout(&out)
}

#[test]
fn on_a_terminal_the_bar_shows_for_big_archives_and_q_hides_it() {
    if !util::have("script") {
        return;
    }
    let tmp = util::tempdir();
    let zip = tmp.path().join("many.zip");
    many_files_zip(&zip, 2500);
    let in_tty = |extra: &str, dest: &str| punzip_in_tty(extra, &zip, &tmp.path().join(dest));
    let shown = in_tty("", "a");
    assert!(
        shown.contains("planning") || !percents(&shown).is_empty(),
        "{shown:?}"
    );
    assert!(percents(&shown).iter().all(|&p| p <= 100), "{shown:?}");
    // Every frame leaves room on its line for the `^C` a terminal echoes on Ctrl-C: a
    // frame padded to the full width would wrap, and the clearing would miss it.
    for frame in shown.split(['\r', '\n']).filter(|f| f.contains('%')) {
        let frame = frame.trim_start_matches("\x1b[2K");
        assert!(
            frame.chars().count() <= 77,
            "{} columns: {frame:?}",
            frame.chars().count()
        );
    }
    let quiet = in_tty("-q", "b");
    assert!(
        percents(&quiet).is_empty() && !quiet.contains("planning"),
        "{quiet:?}"
    );
}

/// A plan made in a blink draws nothing: the planning line used to be drawn and cleared
/// at once, a flash on every run of a small archive.
#[test]
fn on_a_terminal_a_small_archive_draws_no_progress_at_all() {
    if !util::have("script") {
        return;
    }
    let tmp = util::tempdir();
    let zip = tmp.path().join("small.zip");
    many_files_zip(&zip, 20);
    let drawn = punzip_in_tty("", &zip, &tmp.path().join("out"));
    let shown = drawn.replace("\x1b[2K", "").replace(['\r', '\n', ' '], "");
    assert!(shown.is_empty(), "{drawn:?}");
}

#[test]
fn the_archive_comment_is_listed_with_its_lines_and_control_characters_escaped() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("c.zip");
    let mut w = ZipBuilder::new();
    w.file("a.txt", b"a")
        .comment("first line\nsecond \u{1b}[2J line");
    w.write_to(&zip);
    let out = run(util::punzip().arg("-l").arg(&zip));
    ok(&out);
    let text = stdout(&out);
    assert!(!text.contains('\u{1b}'), "{text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1..3],
        ["first line", r"second \u{1b}[2J line"],
        "{text}"
    );
}

#[test]
fn a_stdout_that_fails_otherwise_than_closed_is_an_error() {
    let Ok(full) = std::fs::File::options().write(true).open("/dev/full") else {
        eprintln!("SKIP: no /dev/full");
        return;
    };
    let tmp = util::tempdir();
    let zip = tmp.path().join("t.zip");
    tree_zip(&zip);
    let dest = tmp.path().join("out");
    let out = util::punzip()
        .arg("-v")
        .arg(&zip)
        .arg(&dest)
        .stdin(std::process::Stdio::null())
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.matches("cannot write to standard output").count(),
        1,
        "{err}"
    );
    assert_eq!(listing(&dest).len(), 6, "extraction still completes");
}

/// `punzip -j a.zip X`, unzip's junk-paths habit: a usage error that says where junk
/// paths went. `-j` past the most workers is refused with the machine's core count.
#[test]
fn j_given_a_name_points_to_junk_paths_and_too_many_jobs_are_refused() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("a.zip");
    small_archive(&zip, &["a.txt"]);
    let out = run(util::punzip().arg("-j").arg(&zip).arg(tmp.path().join("x")));
    assert_eq!(code(&out), 10, "{}", stderr(&out));
    assert!(stderr(&out).contains("--junk-paths"), "{}", stderr(&out));
    let out = run(util::punzip().args(["-j", "100000"]).arg(&zip));
    assert_eq!(code(&out), 10, "{}", stderr(&out));
    assert!(stderr(&out).contains("at most 1024"), "{}", stderr(&out));
    assert!(!tmp.path().join("x").exists());
}
