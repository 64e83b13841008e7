//! punzip, the extractor: what comes out of an archive, checked against what was put in
//! (archives written at test time by the zip crate's writer, Python's zipfile and
//! Info-ZIP zip) and against Info-ZIP unzip's own extraction of the same archive. Names in
//! other encodings are in `punzip_names`, what the user typed in `punzip_operands`, what
//! punzip prints in `punzip_output`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use crate::punzip_names::byte_names;
use crate::util::{
    self, code, opts, raw_zip, run, snapshot, stderr, stdout, Node, RawEntry, ZipBuilder, WHEN_UNIX,
};

/// Deterministic, moderately compressible bytes.
pub(crate) fn content(seed: u64, len: usize) -> Vec<u8> {
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
pub(crate) fn rich_archive(path: &Path) -> BTreeMap<String, Node> {
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

pub(crate) fn punzip_into(archive: &Path, dest: &Path, extra: &[&str]) -> std::process::Output {
    run(util::punzip()
        .env("TZ", "UTC")
        .env_remove("PUNZIP_PASSWORD")
        .args(extra)
        .arg(archive)
        .arg(dest))
}

pub(crate) fn ok(out: &std::process::Output) {
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
pub(crate) fn encrypted_zip(path: &Path) {
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

/// A ZipCrypto password is bytes: a Latin-1 `caf\xe9` (as Windows tools typed it) works
/// from -P and from PUNZIP_PASSWORD, and the variable set does not break other commands
/// (clap refused the whole command line as invalid UTF-8, exit 10).
#[test]
fn a_password_that_is_not_utf8_is_used_as_its_bytes() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use zip::unstable::write::FileOptionsExt;
    let tmp = util::tempdir();
    let zip = tmp.path().join("latin1.zip");
    let pw: &[u8] = b"caf\xe9";
    let zc = opts(CompressionMethod::Deflated, 0o644)
        .with_deprecated_encryption(pw)
        .unwrap();
    let mut w = ZipBuilder::new();
    w.file_with("secret.txt", b"latin-1 secret", zc);
    w.write_to(&zip);
    let by_option = tmp.path().join("opt");
    ok(&run(util::punzip()
        .arg("-P")
        .arg(OsStr::from_bytes(pw))
        .arg(&zip)
        .arg(&by_option)));
    assert_eq!(
        std::fs::read(by_option.join("secret.txt")).unwrap(),
        b"latin-1 secret"
    );
    let by_env = tmp.path().join("env");
    let with_env = |cmd: &mut Command| {
        cmd.env("PUNZIP_PASSWORD", OsStr::from_bytes(pw));
    };
    let mut cmd = util::punzip();
    with_env(&mut cmd);
    ok(&run(cmd.arg(&zip).arg(&by_env)));
    assert_eq!(
        std::fs::read(by_env.join("secret.txt")).unwrap(),
        b"latin-1 secret"
    );
    let mut cmd = util::punzip();
    with_env(&mut cmd);
    ok(&run(cmd.arg("-l").arg(&zip)));
}

/// Runs punzip on `zip` into `dest` on a terminal (script(1)), typing each of `answers`
/// once a new prompt is up (so that the terminal's echo is already off). Returns the exit
/// status and the screen.
fn answer_prompts(zip: &Path, dest: &Path, answers: &[&[u8]]) -> (Option<i32>, String) {
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
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = std::io::Read::read(&mut output, &mut buf) {
            let _ = tx.send(buf[..n].to_vec());
        }
    });
    let prompts = |screen: &[u8]| {
        let text = String::from_utf8_lossy(screen);
        text.matches("password: ").count() + text.matches("reenter: ").count()
    };
    let mut screen = Vec::new();
    'answers: for (i, answer) in answers.iter().enumerate() {
        while prompts(&screen) <= i {
            match rx.recv_timeout(std::time::Duration::from_secs(20)) {
                Ok(bytes) => screen.extend(bytes),
                // The run ended without asking more (see `optional` answers below).
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break 'answers,
                Err(_) => {
                    let _ = child.kill();
                    panic!("no prompt {i}: {}", String::from_utf8_lossy(&screen));
                }
            }
        }
        std::io::Write::write_all(&mut input, answer).unwrap();
        std::io::Write::write_all(&mut input, b"\n").unwrap();
    }
    let status = child.wait().unwrap();
    drop(input);
    reader.join().unwrap();
    screen.extend(rx.try_iter().flatten());
    (status.code(), String::from_utf8_lossy(&screen).into_owned())
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
    let (status, screen) = answer_prompts(&zip, &dest, &[b"s3cret"]);
    assert_eq!(status, Some(0), "{screen}");
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

/// Members encrypted with different passwords: each member the passwords given so far do
/// not fit is asked for in turn, as unzip asks ("[a.zip] b.txt password: "); a member an
/// earlier answer fits is not asked for. Only the first password was asked for, and every
/// member but its own failed, exit 82. An empty answer gives that member up.
#[test]
fn members_with_different_passwords_are_each_asked_for() {
    if !util::have("script") {
        eprintln!("SKIP: no script(1) for a terminal");
        return;
    }
    let tmp = util::tempdir();
    let zip = tmp.path().join("two.zip");
    let mut w = ZipBuilder::new();
    for (name, password) in [("a.txt", "one"), ("b.txt", "two"), ("c.txt", "one")] {
        let aes = opts(CompressionMethod::Deflated, 0o644)
            .with_aes_encryption(zip::AesMode::Aes256, password);
        w.file_with(name, format!("{name} by {password}").as_bytes(), aes);
    }
    w.write_to(&zip);
    let dest = tmp.path().join("out");
    let (status, screen) = answer_prompts(&zip, &dest, &[b"one", b"two"]);
    assert_eq!(status, Some(0), "{screen}");
    assert!(screen.contains("] a.txt password: "), "{screen}");
    assert!(screen.contains("] b.txt password: "), "{screen}");
    assert!(!screen.contains("c.txt password"), "{screen}");
    for (name, password) in [("a.txt", "one"), ("b.txt", "two"), ("c.txt", "one")] {
        let got = std::fs::read_to_string(dest.join(name)).unwrap();
        assert_eq!(got, format!("{name} by {password}"));
    }
    let dest = tmp.path().join("given-up");
    let (status, screen) = answer_prompts(&zip, &dest, &[b"one", b""]);
    assert_eq!(status, Some(82), "{screen}");
    assert!(screen.contains("b.txt: incorrect password"), "{screen}");
    assert!(dest.join("a.txt").exists() && dest.join("c.txt").exists());
    assert!(!dest.join("b.txt").exists());
}

/// A password that fails the first encrypted member's check is asked for again, as unzip
/// asks ("password incorrect--reenter: "), three times in all: a typo cost the whole
/// command (exit 82). The third wrong answer goes to extraction, which says so.
#[test]
fn a_mistyped_password_is_asked_for_again() {
    if !util::have("script") {
        eprintln!("SKIP: no script(1) for a terminal");
        return;
    }
    let tmp = util::tempdir();
    let zip = tmp.path().join("enc.zip");
    encrypted_zip(&zip);
    let dest = tmp.path().join("out");
    let (status, screen) = answer_prompts(&zip, &dest, &[b"typo", b"s3cret"]);
    assert_eq!(status, Some(0), "{screen}");
    assert_eq!(
        screen.matches("password incorrect--reenter: ").count(),
        1,
        "{screen}"
    );
    assert_eq!(std::fs::read(dest.join("aes.txt")).unwrap(), b"aes secret");
    let dest = tmp.path().join("out2");
    // Then zipcrypto.txt's own password is asked for (unless "three" passes its one-byte
    // check, once in 256), and an empty answer gives it up.
    let (status, screen) = answer_prompts(&zip, &dest, &[b"one", b"two", b"three", b""]);
    assert_eq!(status, Some(82), "{screen}");
    assert_eq!(
        screen.matches("password incorrect--reenter: ").count(),
        2,
        "{screen}"
    );
    assert!(screen.contains("aes.txt: incorrect password"), "{screen}");

    // ZipCrypto's check is one byte: a wrong password passes it once in 256. The typo is
    // one its check refuses (exit 82 under -t), so the test never flakes.
    use zip::unstable::write::FileOptionsExt;
    let zc = tmp.path().join("zc.zip");
    let mut w = ZipBuilder::new();
    let opt = opts(CompressionMethod::Deflated, 0o644)
        .with_deprecated_encryption(b"s3cret")
        .unwrap();
    w.file_with("zipcrypto.txt", b"zipcrypto secret", opt);
    w.write_to(&zc);
    let typo = ["typo", "tpyo", "oops", "s3cert", "secret"]
        .into_iter()
        .find(|p| code(&run(util::punzip().args(["-t", "-P", p]).arg(&zc))) == 82)
        .expect("one of five wrong passwords fails the check byte");
    let dest = tmp.path().join("out3");
    let (status, screen) = answer_prompts(&zc, &dest, &[typo.as_bytes(), b"s3cret"]);
    assert_eq!(status, Some(0), "{screen}");
    assert_eq!(
        screen.matches("password incorrect--reenter: ").count(),
        1,
        "{screen}"
    );
    assert_eq!(
        std::fs::read(dest.join("zipcrypto.txt")).unwrap(),
        b"zipcrypto secret"
    );
}

/// An archive whose member `n` holds "new n".
pub(crate) fn small_archive(path: &Path, names: &[&str]) {
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

/// A directory that is there but cannot be opened (mode 000, owned by someone else) is
/// named as such: it was said to be impossible to create, which sent the user looking at
/// its parent. Runs as nobody (root opens anything); skips for other users.
#[test]
fn a_directory_that_exists_but_cannot_be_opened_is_not_said_to_be_uncreatable() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP: needs root, to run punzip as another user");
        return;
    }
    let tmp = util::tempdir();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let zip = tmp.path().join("a.zip");
    std::fs::write(&zip, util::zip_of(&[("locked/", b""), ("locked/f", b"f")])).unwrap();
    let dest = tmp.path().join("out");
    std::fs::create_dir_all(dest.join("locked")).unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::set_permissions(dest.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = run(util::punzip()
        .uid(65534)
        .gid(65534)
        .arg("-n")
        .arg(&zip)
        .arg(&dest));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("locked: cannot open directory: Permission denied"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("cannot create"), "{}", stderr(&out));
}

/// A DEST the user cannot write: the directory that could not be made says why, and each
/// member inside says its directory is missing (each said "cannot open directory: No such
/// file or directory", as if that were a cause of its own). Runs as nobody.
#[test]
fn members_under_a_directory_that_could_not_be_made_say_it_is_missing() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP: needs root, to run punzip as another user");
        return;
    }
    let tmp = util::tempdir();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let zip = tmp.path().join("a.zip");
    std::fs::write(
        &zip,
        util::zip_of(&[("sub/deep/b.txt", b"b"), ("sub/a.txt", b"a")]),
    )
    .unwrap();
    let dest = tmp.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = run(util::punzip().uid(65534).gid(65534).arg(&zip).arg(&dest));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("sub: cannot create directory: Permission denied"),
        "{err}"
    );
    assert!(err.contains("b.txt: its directory is missing"), "{err}");
    assert!(!err.contains("cannot open directory"), "{err}");
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

/// The NTFS field (0x000a), which 7-Zip and Windows tools write instead of a Unix one,
/// gives the mtime to the 100 ns, as 7-Zip restores it (unzip on Unix ignores it and takes
/// the DOS time: 2-second steps, in local time; punzip did too). A Unix field still wins.
#[test]
fn the_ntfs_time_field_gives_the_mtime_to_the_tenth_of_a_microsecond() {
    use std::os::unix::fs::MetadataExt;
    // 2021-03-04T05:06:07.1234567Z, as FILETIME ticks since 1601.
    let secs: i64 = 1_614_834_367;
    let ticks = (secs as u64 + 11_644_473_600) * 10_000_000 + 1_234_567;
    let mut ntfs = vec![0x0a, 0x00, 32, 0, 0, 0, 0, 0, 1, 0, 24, 0];
    for _ in 0..3 {
        ntfs.extend(ticks.to_le_bytes());
    }
    let mut both = ntfs.clone();
    // An extended timestamp field (0x5455) with a modification time of 1,000,000,000.
    both.extend([0x55, 0x54, 5, 0, 1]);
    both.extend(1_000_000_000u32.to_le_bytes());
    let tmp = util::tempdir();
    let zip = tmp.path().join("ntfs.zip");
    let entry = |name: &'static [u8], extra: &[u8]| RawEntry {
        host: 11,
        extra: extra.to_vec(),
        ..RawEntry::new(name, b"x")
    };
    std::fs::write(
        &zip,
        raw_zip(&[entry(b"ntfs.txt", &ntfs), entry(b"both.txt", &both)]),
    )
    .unwrap();
    let dest = tmp.path().join("out");
    ok(&punzip_into(&zip, &dest, &[]));
    let md = std::fs::metadata(dest.join("ntfs.txt")).unwrap();
    assert_eq!((md.mtime(), md.mtime_nsec()), (secs, 123_456_700));
    let md = std::fs::metadata(dest.join("both.txt")).unwrap();
    assert_eq!((md.mtime(), md.mtime_nsec()), (1_000_000_000, 0));
    let json = stdout(&run(util::punzip().args(["--json", "-l"]).arg(&zip)));
    assert!(
        json.contains(r#""mtime":"2021-03-04T05:06:07.123456700Z""#),
        "{json}"
    );
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

/// `data` as PKZIP 1's Shrink (method 1) writes it when it finds no repeated string: every
/// byte a 9-bit LZW code, least significant bit first.
fn shrunk_literally(data: &[u8]) -> Vec<u8> {
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for &b in data {
        acc |= u32::from(b) << bits;
        bits += 9;
        while bits >= 8 {
            out.push(acc as u8);
            (acc, bits) = (acc >> 8, bits - 8);
        }
    }
    if bits > 0 {
        out.push(acc as u8);
    }
    out
}

/// Shrink, Reduce and Implode (PKZIP 1.x, still met in old archives) are read as unzip reads
/// them (Reduce, which unzip lacks, too: the shared corpus holds all three). They were
/// exit 81, "unsupported: compression method 1".
#[test]
fn a_member_shrunk_by_pkzip_1_extracts_as_unzip_extracts_it() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("old.zip");
    let text = b"Shrunk in 1989, read in 2026.\n";
    let packed = shrunk_literally(text);
    let entry = RawEntry {
        packed: Some((1, &packed)),
        ..RawEntry::new(b"OLD.TXT", text)
    };
    std::fs::write(&zip, raw_zip(&[entry])).unwrap();
    let dest = tmp.path().join("out");
    ok(&punzip_into(&zip, &dest, &[]));
    assert_eq!(std::fs::read(dest.join("OLD.TXT")).unwrap(), text);
    let listed = stdout(&run(util::punzip().arg("-lv").arg(&zip)));
    assert!(listed.contains(" Shrunk "), "{listed}");
    // The zip crate decodes these whole in memory: one that declares more than 64 MiB is
    // refused before anything is decoded (a 68 KB member declaring 150 MB took 158 MB).
    let mut big = std::fs::read(&zip).unwrap();
    let at = |sig: &[u8]| big.windows(4).position(|w| w == sig).unwrap();
    let (local, central) = (at(b"PK\x03\x04"), at(b"PK\x01\x02"));
    for size_at in [local + 22, central + 24] {
        big[size_at..size_at + 4].copy_from_slice(&(150u32 << 20).to_le_bytes());
    }
    let bomb = tmp.path().join("bomb.zip");
    std::fs::write(&bomb, big).unwrap();
    let out = run(util::punzip().arg("-t").arg(&bomb));
    assert_eq!(code(&out), 81, "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("OLD.TXT: unsupported: a PKZIP 1 member (method 1) of 157286400 bytes"),
        "{}",
        stderr(&out)
    );
    if util::have("unzip") {
        let theirs = run(Command::new("unzip").arg("-p").arg(&zip));
        assert_eq!(
            theirs.stdout, text,
            "unzip reads the fixture as the same bytes"
        );
    }
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
