//! punzip, the extractor: what comes out of an archive, checked against what was put in
//! (archives written at test time by the zip crate's writer, Python's zipfile and
//! Info-ZIP zip) and against Info-ZIP unzip's own extraction of the same archive.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime};

use crate::util::{self, code, run, snapshot, stderr, stdout, Node};

/// 2021-03-04 05:06:08, the time every fixture member carries.
const WHEN: (u16, u8, u8, u8, u8, u8) = (2021, 3, 4, 5, 6, 8);
/// The same instant in Unix seconds (UTC; tests run punzip with TZ=UTC).
const WHEN_UNIX: i64 = 1_614_834_368;

fn when() -> DateTime {
    let (y, mo, d, h, mi, s) = WHEN;
    DateTime::from_date_and_time(y, mo, d, h, mi, s).unwrap()
}

fn opts(method: CompressionMethod, mode: u32) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(method)
        .unix_permissions(mode)
        .last_modified_time(when())
}

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
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let mut want = BTreeMap::new();
    let dir = |w: &mut zip::ZipWriter<std::fs::File>, want: &mut BTreeMap<_, _>, name: &str| {
        w.add_directory(name, opts(CompressionMethod::Stored, 0o755))
            .unwrap();
        want.insert(
            name.trim_end_matches('/').to_string(),
            Node::Dir { mode: 0o755 },
        );
    };
    dir(&mut w, &mut want, "docs/");
    dir(&mut w, &mut want, "docs/empty/");
    dir(&mut w, &mut want, "src/");
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
        w.start_file(path.as_str(), opts(method, 0o644)).unwrap();
        w.write_all(&bytes).unwrap();
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
        w.start_file(name, o.unix_permissions(mode)).unwrap();
        w.write_all(&bytes).unwrap();
        want.insert(
            name.to_string(),
            Node::File {
                bytes,
                mode: want_mode,
                mtime: WHEN_UNIX,
            },
        );
    };
    file(
        "bin/tool",
        0o4755,
        0o755,
        opts(CompressionMethod::Deflated, 0),
        b"#!/bin/sh\n".to_vec(),
    );
    file(
        "docs/readonly.txt",
        0o444,
        0o444,
        opts(CompressionMethod::Deflated, 0),
        b"ro".to_vec(),
    );
    file(
        "empty.txt",
        0o600,
        0o600,
        opts(CompressionMethod::Deflated, 0),
        Vec::new(),
    );
    file(
        "big/zip64.bin",
        0o644,
        0o644,
        opts(CompressionMethod::Deflated, 0).large_file(true),
        content(99, 300_000),
    );
    file(
        "名前/ünïcödé.txt",
        0o644,
        0o644,
        opts(CompressionMethod::Deflated, 0),
        b"utf-8 name".to_vec(),
    );
    w.add_symlink(
        "docs/link",
        "readonly.txt",
        opts(CompressionMethod::Stored, 0o777),
    )
    .unwrap();
    want.insert(
        "docs/link".into(),
        Node::Link {
            target: "readonly.txt".into(),
        },
    );
    for d in ["bin", "big", "名前"] {
        want.insert(d.into(), Node::Dir { mode: 0o755 });
    }
    w.set_comment("an archive comment").unwrap();
    w.finish().unwrap();
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
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    w.add_directory("d/", opts(CompressionMethod::Stored, 0o750))
        .unwrap();
    for i in 0..40 {
        let method = [
            CompressionMethod::Stored,
            CompressionMethod::Deflated,
            CompressionMethod::Bzip2,
        ][i % 3];
        w.start_file(
            format!("d/sub{}/f{i}.txt", i % 4),
            opts(method, 0o640 + (i as u32 % 2) * 0o100),
        )
        .unwrap();
        w.write_all(&content(i as u64, i * 911)).unwrap();
    }
    w.add_symlink(
        "d/ln",
        "sub0/f0.txt",
        opts(CompressionMethod::Stored, 0o777),
    )
    .unwrap();
    w.finish().unwrap();

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

#[test]
fn encrypted_members_need_the_right_password() {
    use zip::unstable::write::FileOptionsExt;
    let tmp = util::tempdir();
    let zip = tmp.path().join("enc.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    let aes = opts(CompressionMethod::Deflated, 0o644)
        .with_aes_encryption(zip::AesMode::Aes256, "s3cret");
    w.start_file("aes.txt", aes).unwrap();
    w.write_all(b"aes secret").unwrap();
    let zc = opts(CompressionMethod::Deflated, 0o644)
        .with_deprecated_encryption(b"s3cret")
        .unwrap();
    w.start_file("zipcrypto.txt", zc).unwrap();
    w.write_all(b"zipcrypto secret").unwrap();
    w.finish().unwrap();

    let none = tmp.path().join("none");
    let out = punzip_into(&zip, &none, &[]);
    assert_eq!(code(&out), 82, "no password: {}", stderr(&out));
    assert!(stderr(&out).contains("aes.txt") && stderr(&out).contains("password"));

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

fn small_archive(path: &Path, names: &[&str]) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for n in names {
        w.start_file(*n, opts(CompressionMethod::Deflated, 0o644))
            .unwrap();
        w.write_all(format!("new {n}").as_bytes()).unwrap();
    }
    w.finish().unwrap();
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
    ok(&run(util::punzip().arg(&exe).arg("-d").arg(&dest)));
    assert_eq!(
        std::fs::read(dest.join("inner.txt")).unwrap(),
        b"new inner.txt"
    );
}

#[test]
fn test_mode_checks_every_crc_and_names_the_bad_member() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("a.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    w.start_file("good.txt", opts(CompressionMethod::Stored, 0o644))
        .unwrap();
    w.write_all(b"good content here").unwrap();
    w.start_file("bad.txt", opts(CompressionMethod::Stored, 0o644))
        .unwrap();
    w.write_all(b"MARKER-to-corrupt").unwrap();
    w.finish().unwrap();

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
fn demo_archive_in_testdata_extracts_like_unzip() {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo.zip");
    if !demo.exists() {
        eprintln!("SKIP: testdata/demo.zip not generated yet");
        return;
    }
    let tmp = util::tempdir();
    let ours = tmp.path().join("ours");
    ok(&punzip_into(&demo, &ours, &[]));
    assert!(!snapshot(&ours).is_empty());
    if util::have("unzip") {
        let theirs = tmp.path().join("theirs");
        let out = run(std::process::Command::new("unzip")
            .env("TZ", "UTC")
            .arg("-qq")
            .arg(&demo)
            .arg("-d")
            .arg(&theirs));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(snapshot(&ours), snapshot(&theirs));
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

/// A minimal stored archive written byte by byte, for names no writer produces (raw
/// CP437 bytes without the UTF-8 flag).
fn raw_stored_zip(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
    let crc = |d: &[u8]| {
        let mut c = !0u32;
        for &b in d {
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
    };
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data) in entries {
        let offset = out.len() as u32;
        let (n, len, sum) = (name.len() as u16, data.len() as u32, crc(data));
        let common = |v: &mut Vec<u8>| {
            v.extend(20u16.to_le_bytes()); // version needed
            v.extend(0u16.to_le_bytes()); // flags: no UTF-8 bit
            v.extend(0u16.to_le_bytes()); // stored
            v.extend(0u16.to_le_bytes()); // time
            v.extend(0x5283u16.to_le_bytes()); // date 2021-04-03
            v.extend(sum.to_le_bytes());
            v.extend(len.to_le_bytes());
            v.extend(len.to_le_bytes());
            v.extend(n.to_le_bytes());
            v.extend(0u16.to_le_bytes()); // extra length
        };
        out.extend(0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend(*name);
        out.extend(*data);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes()); // made by: MS-DOS
        common(&mut central);
        central.extend([0u8; 8]); // comment length, disk, internal and external attributes
        central.extend([0u8; 2]);
        central.extend(offset.to_le_bytes());
        central.extend(*name);
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
