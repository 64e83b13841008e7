//! Archive members decoded without writing files: `punzip -p` (members to standard
//! output, as `unzip -p`), `phash --members` (a checksum line per member, named as punzip
//! extracts it), and `-` as ARCHIVE (standard input, spooled). Oracles: Info-ZIP `unzip
//! -p` and its extraction, `md5sum`, the bytes the zip crate's writer was given.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use zip::CompressionMethod;

use crate::util::{self, code, have, opts, phash, punzip, run, stderr, tempdir, ZipBuilder};

/// Bytes that compress, but not to nothing.
fn text(n: usize, seed: usize) -> Vec<u8> {
    (0..n)
        .map(|i| b"abcdefghij \n"[(i * 7 + i / 13 + seed) % 12])
        .collect()
}

/// Members of every kind `-p` meets, in an order that is neither sorted nor by size:
/// a member over 4 MiB (decoded in chunks by the writer), small deflated ones, stored
/// ones, bzip2, an empty file, directories and a symlink.
fn mixed(path: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let files: Vec<(&str, Vec<u8>, CompressionMethod)> = vec![
        ("top.txt", text(1000, 1), CompressionMethod::Deflated),
        (
            "d/big.txt",
            text((4 << 20) + 4321, 2),
            CompressionMethod::Deflated,
        ),
        ("d/stored.bin", text(7000, 3), CompressionMethod::Stored),
        ("d/e/bz.txt", text(3000, 4), CompressionMethod::Bzip2),
        ("empty", Vec::new(), CompressionMethod::Deflated),
        ("a.txt", text(100, 5), CompressionMethod::Deflated),
    ];
    let mut b = ZipBuilder::new();
    b.dir("d/");
    b.dir("d/e/");
    for (name, bytes, method) in &files {
        b.file_with(name, bytes, opts(*method, 0o644));
    }
    b.symlink("d/link", "../a.txt");
    b.write_to(path);
    files.into_iter().map(|(n, b, _)| (n, b)).collect()
}

/// `unzip -p` of `zip` with `args`, or None (with a message) without unzip.
fn unzip_p(zip: &Path, args: &[&str]) -> Option<Output> {
    if !have("unzip") {
        return None;
    }
    Some(run(Command::new("unzip").arg("-p").arg(zip).args(args)))
}

fn punzip_p(zip: &Path, args: &[&str]) -> Output {
    run(punzip().arg("-p").arg(zip).args(args))
}

/// Flips a bit of the CRC-32 recorded for `name`, in its local and its central header.
fn corrupt_crc(bytes: &mut [u8], name: &str) {
    let mut hit = 0;
    for (sig, name_at, crc_at) in [(b"PK\x03\x04", 30, 14), (b"PK\x01\x02", 46, 16)] {
        for at in 0..bytes.len().saturating_sub(name_at + name.len()) {
            if &bytes[at..at + 4] == sig
                && &bytes[at + name_at..at + name_at + name.len()] == name.as_bytes()
            {
                bytes[at + crc_at] ^= 1;
                hit += 1;
            }
        }
    }
    assert_eq!(hit, 2, "{name} not found in both headers");
}

#[test]
fn p_writes_what_unzip_p_writes_in_archive_order_for_any_job_count() {
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    let files = mixed(&zip);
    // The zip crate's writer was given these bytes; a symlink's target comes where the
    // link is in the archive (after every file here), as unzip -p writes it.
    let mut want: Vec<u8> = files.iter().flat_map(|(_, b)| b.clone()).collect();
    want.extend_from_slice(b"../a.txt");
    for j in ["1", "2"] {
        let out = punzip_p(&zip, &["-j", j]);
        assert_eq!(code(&out), 0, "-j{j}: {}", stderr(&out));
        assert!(
            out.stdout == want,
            "-j{j}: stdout differs from the members' bytes"
        );
        assert!(out.stderr.is_empty(), "-j{j}: {}", stderr(&out));
    }
    if let Some(oracle) = unzip_p(&zip, &[]) {
        assert_eq!(code(&oracle), 0);
        assert!(
            oracle.stdout == want,
            "unzip -p disagrees with the oracle bytes"
        );
    }
}

#[test]
fn p_selects_members_by_pattern_as_unzip_p_does() {
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    mixed(&zip);
    for patterns in [
        &["d/*"][..],
        &["a.txt", "top.txt"],
        &["*.txt"],
        &["d/link"],
        &["empty", "d/e/*"],
    ] {
        let ours = punzip_p(&zip, patterns);
        assert_eq!(code(&ours), 0, "{patterns:?}: {}", stderr(&ours));
        let Some(theirs) = unzip_p(&zip, patterns) else {
            return;
        };
        assert!(
            ours.stdout == theirs.stdout,
            "{patterns:?}: punzip -p and unzip -p differ ({} vs {} bytes)",
            ours.stdout.len(),
            theirs.stdout.len()
        );
    }
    // -x excludes, a pattern that matches nothing is unzip's status 11.
    let out = punzip_p(&zip, &["d/*", "-x", "*big*"]);
    assert_eq!(
        out.stdout,
        text(7000, 3)
            .into_iter()
            .chain(text(3000, 4))
            .chain(*b"../a.txt")
            .collect::<Vec<_>>()
    );
    let none = punzip_p(&zip, &["nothing-here"]);
    assert_eq!(code(&none), 11, "{}", stderr(&none));
    assert!(none.stdout.is_empty());
}

#[test]
fn stats_with_p_counts_what_was_written_on_stderr_and_leaves_stdout_to_the_data() {
    let tmp = tempdir();
    let zip = tmp.path().join("s.zip");
    let mut b = ZipBuilder::new();
    b.file("a.txt", b"aaaa")
        .file("d/b.txt", &text(5000, 2))
        .dir("d/e");
    b.write_to(&zip);
    let out = punzip_p(&zip, &["--stats"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let want: Vec<u8> = b"aaaa".iter().copied().chain(text(5000, 2)).collect();
    assert_eq!(out.stdout, want);
    let err = stderr(&out);
    assert!(
        err.starts_with("punzip: 2 files, 0 dirs, 0 links, ") && err.contains(" 0 errors, "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_bad_member_is_an_error_naming_it_and_the_others_are_still_written() {
    let tmp = tempdir();
    let zip = tmp.path().join("bad.zip");
    let big = text((4 << 20) + 10, 9);
    let mut b = ZipBuilder::new();
    b.file("first.txt", b"first\n")
        .file("bad.txt", &text(5000, 7))
        .file("last.txt", b"last\n")
        .file("big-bad.txt", &big);
    let mut bytes = b.finish();
    corrupt_crc(&mut bytes, "bad.txt");
    corrupt_crc(&mut bytes, "big-bad.txt");
    std::fs::write(&zip, &bytes).unwrap();
    for j in ["1", "2"] {
        let out = punzip_p(&zip, &["-j", j]);
        // Info-ZIP's status for a bad CRC: 2.
        assert_eq!(code(&out), 2, "-j{j}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("bad.txt: bad CRC-32"), "{err}");
        assert!(err.contains("big-bad.txt: bad CRC-32"), "{err}");
        // A small bad member is not written at all; one decoded in chunks has its bytes
        // written as they come, as unzip -p writes them, and fails at its end.
        let mut want = b"first\nlast\n".to_vec();
        want.extend_from_slice(&big);
        assert!(out.stdout == want, "-j{j}: stdout differs");
    }
    if let Some(theirs) = unzip_p(&zip, &[]) {
        assert_eq!(code(&theirs), 2, "unzip -p's status for a bad CRC");
        assert!(theirs.stdout.starts_with(b"first\n"));
    }
}

#[test]
fn encrypted_members_are_written_with_the_password_and_refused_without() {
    use zip::unstable::write::FileOptionsExt;
    let tmp = tempdir();
    let zip = tmp.path().join("enc.zip");
    let mut b = ZipBuilder::new();
    let zc = opts(CompressionMethod::Deflated, 0o644)
        .with_deprecated_encryption(b"s3cret")
        .unwrap();
    let aes = opts(CompressionMethod::Deflated, 0o644)
        .with_aes_encryption(zip::AesMode::Aes256, "s3cret");
    b.file_with("zc.txt", b"zipcrypto secret\n", zc);
    b.file_with("aes.txt", &text(20_000, 3), aes);
    b.write_to(&zip);
    let mut want = b"zipcrypto secret\n".to_vec();
    want.extend_from_slice(&text(20_000, 3));

    for j in ["1", "2"] {
        let out = punzip_p(&zip, &["-P", "s3cret", "-j", j]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert!(out.stdout == want);
    }
    let wrong = punzip_p(&zip, &["-P", "nope"]);
    assert_eq!(code(&wrong), 82, "{}", stderr(&wrong));
    assert!(stderr(&wrong).contains("zc.txt"), "{}", stderr(&wrong));
    let none = punzip_p(&zip, &[]);
    assert_eq!(code(&none), 82, "{}", stderr(&none));
    assert!(none.stdout.is_empty());
    // unzip reads ZipCrypto (not AES): the same bytes for that member.
    if have("unzip") {
        let theirs = run(Command::new("unzip")
            .args(["-p", "-P", "s3cret"])
            .arg(&zip)
            .arg("zc.txt"));
        assert_eq!(theirs.stdout, b"zipcrypto secret\n");
    }
}

#[test]
fn a_closed_stdout_is_a_quiet_success() {
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    mixed(&zip);
    // Closed before the first byte.
    let out = util::with_closed_stdout(punzip().arg("-p").arg(&zip));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
    // Closed after 10 bytes, in the middle of the output (`| head -c 10`).
    let mut child = punzip()
        .arg("-p")
        .arg(&zip)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(&head[..], &text(1000, 1)[..10]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

/// Runs `cmd` with `bytes` fed through a pipe on its standard input (as `cat a.zip |`),
/// and `TMPDIR` set to `tmpdir`.
fn piped_in(cmd: &mut Command, bytes: &[u8], tmpdir: &Path) -> Output {
    let mut child = cmd
        .env("TMPDIR", tmpdir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let bytes = bytes.to_vec();
    let feeder = std::thread::spawn(move || {
        // The reader may stop early (an error): a broken pipe is not ours to report.
        let _ = stdin.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

#[test]
fn dash_reads_the_archive_from_a_pipe_and_extracts_what_unzip_extracts() {
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    mixed(&zip);
    let bytes = std::fs::read(&zip).unwrap();
    let spool = tmp.path().join("spool");
    std::fs::create_dir(&spool).unwrap();

    let ours = tmp.path().join("ours");
    let out = piped_in(
        punzip().env("TZ", "UTC").arg("-").arg(&ours),
        &bytes,
        &spool,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // The spool had no name, so there is nothing to clean.
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
    if have("unzip") {
        let theirs = tmp.path().join("theirs");
        let u = run(Command::new("unzip")
            .env("TZ", "UTC")
            .arg("-q")
            .arg(&zip)
            .arg("-d")
            .arg(&theirs));
        assert_eq!(code(&u), 0);
        assert_eq!(util::snapshot(&ours), util::snapshot(&theirs));
    }

    // -l, -t and -p read it too, from a pipe and from a file on stdin (`< a.zip`).
    let listed = piped_in(punzip().args(["-l", "-"]), &bytes, &spool);
    assert_eq!(code(&listed), 0, "{}", stderr(&listed));
    assert!(util::stdout(&listed).contains("d/big.txt"));
    let tested = piped_in(punzip().args(["-t", "-"]), &bytes, &spool);
    assert_eq!(code(&tested), 0, "{}", stderr(&tested));
    let from_pipe = piped_in(punzip().args(["-p", "-"]), &bytes, &spool);
    let from_file = punzip()
        .args(["-p", "-"])
        .stdin(std::fs::File::open(&zip).unwrap())
        .output()
        .unwrap();
    let direct = punzip_p(&zip, &[]);
    assert_eq!(code(&from_pipe), 0, "{}", stderr(&from_pipe));
    assert_eq!(code(&from_file), 0, "{}", stderr(&from_file));
    assert!(from_pipe.stdout == direct.stdout && from_file.stdout == direct.stdout);
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
}

/// An archive named by a path that is a stream, not a file (a FIFO, `<(curl ...)`), is
/// spooled as standard input is: extracted as the file itself is, nothing left in
/// `$TMPDIR`. (It was mapped as an empty file: "not a zip archive", exit 9.)
#[test]
fn an_archive_operand_that_is_a_fifo_is_spooled_and_extracted() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    mixed(&zip);
    let bytes = std::fs::read(&zip).unwrap();
    let spool = tmp.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    let fifo = tmp.path().join("stream.zip");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid C string; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, bytes))
    };
    let (streamed, direct) = (tmp.path().join("streamed"), tmp.path().join("direct"));
    let out = run(punzip()
        .env("TMPDIR", &spool)
        .args(["-j", "2"])
        .arg(&fifo)
        .arg(&streamed));
    writer.join().unwrap().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(punzip().args(["-j", "2"]).arg(&zip).arg(&direct));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(util::snapshot(&streamed), util::snapshot(&direct));
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
}

#[test]
fn dash_with_something_that_is_not_a_zip_says_so_and_fails_as_unzip_would() {
    let tmp = tempdir();
    let out = piped_in(punzip().args(["-l", "-"]), b"hello, not a zip", tmp.path());
    assert_eq!(code(&out), 9, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("-: not a zip archive"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn ctrl_c_while_spooling_stops_with_the_interrupt_status_and_leaves_nothing() {
    let tmp = tempdir();
    let spool = tmp.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    let mut child = punzip()
        .arg("-")
        .arg(tmp.path().join("out"))
        .env("TMPDIR", &spool)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // An endless archive: the spool never reaches the end.
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let chunk = vec![0u8; 64 * 1024];
        while stdin.write_all(&chunk).is_ok() {}
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    crate::util::signal(&child, libc::SIGINT);
    let status = child.wait().unwrap();
    feeder.join().unwrap();
    assert_eq!(status.code(), Some(80));
    assert_eq!(std::fs::read_dir(&spool).unwrap().count(), 0);
    assert!(!tmp.path().join("out").exists());
}

/// `md5sum` of every regular file below `root`, as lines `HEX  PATH` sorted by path.
fn md5sum_tree(root: &Path) -> Vec<String> {
    let mut paths: Vec<String> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(root).unwrap().display().to_string())
        .collect();
    paths.sort();
    let out = run(Command::new("md5sum").args(&paths).current_dir(root));
    assert_eq!(code(&out), 0);
    util::stdout(&out).lines().map(String::from).collect()
}

#[test]
fn members_sums_are_md5sum_of_unzips_extraction_for_any_job_count() {
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    mixed(&zip);
    let one = run(phash().args(["--members"]).arg(&zip).args(["-j", "1"]));
    let two = run(phash().args(["--members"]).arg(&zip).args(["-j", "2"]));
    assert_eq!(code(&one), 0, "{}", stderr(&one));
    assert_eq!(one.stdout, two.stdout, "-j1 and -j2 differ");
    if !(have("unzip") && have("md5sum")) {
        return;
    }
    let theirs = tmp.path().join("theirs");
    let u = run(Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(&theirs));
    assert_eq!(code(&u), 0);
    // Symlinks are not file members: no line for d/link.
    std::fs::remove_file(theirs.join("d/link")).unwrap();
    let mut ours: Vec<String> = util::stdout(&one).lines().map(String::from).collect();
    ours.sort_by(|a, b| a[34..].cmp(&b[34..]));
    assert_eq!(ours, md5sum_tree(&theirs));
}

#[test]
fn members_sums_check_an_extraction_and_catch_a_tampered_file() {
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    mixed(&zip);
    let dest = tmp.path().join("dest");
    let out = run(punzip().arg(&zip).arg(&dest));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // phash --members a.zip > sums && (cd DEST && phash -c ../sums)
    let sums = tmp.path().join("sums");
    let out = run(phash().arg("--members").arg(&zip));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    std::fs::write(&sums, &out.stdout).unwrap();
    let check = run(phash().arg("-c").arg(&sums).current_dir(&dest));
    assert_eq!(
        code(&check),
        0,
        "{}{}",
        util::stdout(&check),
        stderr(&check)
    );
    assert!(util::stdout(&check).contains("d/big.txt: OK"));

    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dest.join("d/stored.bin"))
        .unwrap();
    f.write_all(b"!").unwrap();
    let check = run(phash().arg("-c").arg(&sums).current_dir(&dest));
    assert_eq!(code(&check), 1);
    assert!(util::stdout(&check).contains("d/stored.bin: FAILED"));
}

/// A member called `-` (what `cmd | zip backup.zip -` stores) is listed as `./-`: as
/// `-`, `phash -c` (and `md5sum -c`) read standard input instead of the extracted file,
/// and the documented check of an extraction failed. `-b` gives md5sum's `*` lines.
#[test]
fn members_sums_of_a_member_named_dash_check_the_file_not_standard_input() {
    let tmp = tempdir();
    let zip = tmp.path().join("dump.zip");
    let mut w = ZipBuilder::new();
    w.file("-", b"dump data\n");
    w.write_to(&zip);
    let dest = tmp.path().join("dest");
    let out = run(punzip().arg(&zip).arg(&dest));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(std::fs::read(dest.join("-")).unwrap(), b"dump data\n");
    let out = run(phash().arg("--members").arg(&zip));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let line = util::stdout(&out);
    assert!(line.ends_with("  ./-\n"), "{line:?}");
    let sums = tmp.path().join("sums");
    std::fs::write(&sums, &out.stdout).unwrap();
    let check = run(phash()
        .arg("-c")
        .arg(&sums)
        .current_dir(&dest)
        .stdin(Stdio::null()));
    assert_eq!(code(&check), 0, "{}", util::stdout(&check));
    if have("md5sum") {
        let check = run(Command::new("md5sum")
            .arg("-c")
            .arg(&sums)
            .current_dir(&dest)
            .stdin(Stdio::null()));
        assert_eq!(code(&check), 0, "md5sum: {}", util::stdout(&check));
    }
    let out = run(phash().args(["-b", "--members"]).arg(&zip));
    assert!(
        util::stdout(&out).ends_with(" *./-\n"),
        "{}",
        util::stdout(&out)
    );
}

#[test]
fn members_sums_name_members_as_punzip_extracts_them_and_escape_as_md5sum() {
    let tmp = tempdir();
    let zip = tmp.path().join("odd.zip");
    let mut b = ZipBuilder::new();
    // A backslash is a separator to punzip; a newline is kept, and escaped in the line.
    b.file("./dot/x.txt", b"x")
        .file("back\\slash.txt", b"y")
        .file("new\nline.txt", b"z");
    b.write_to(&zip);
    let dest = tmp.path().join("dest");
    let out = run(punzip().arg(&zip).arg(&dest));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = run(phash().arg("--members").arg(&zip));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = util::stdout(&out);
    assert!(text.contains("  dot/x.txt\n"), "{text}");
    assert!(text.contains("  back/slash.txt\n"), "{text}");
    assert!(
        text.contains("\n\\") && text.contains("  new\\nline.txt\n"),
        "{text}"
    );
    std::fs::write(tmp.path().join("sums"), &out.stdout).unwrap();
    let check = run(phash().args(["-c", "../sums"]).current_dir(&dest));
    assert_eq!(
        code(&check),
        0,
        "{}{}",
        util::stdout(&check),
        stderr(&check)
    );
    if have("md5sum") {
        let m = run(Command::new("md5sum")
            .args(["-c", "../sums"])
            .current_dir(&dest));
        assert_eq!(code(&m), 0, "{}", util::stdout(&m));
        // -z: NUL-terminated lines, names never escaped, as md5sum -z writes them.
        let z = run(phash().args(["-z", "--members"]).arg(&zip));
        let theirs = run(Command::new("md5sum")
            .args(["-z", "dot/x.txt", "back/slash.txt", "new\nline.txt"])
            .current_dir(&dest));
        assert_eq!(code(&z), 0, "{}", stderr(&z));
        assert_eq!(z.stdout, theirs.stdout);
    }
}

#[test]
fn a_bad_member_gets_no_sum_line_an_error_naming_it_and_status_1() {
    let tmp = tempdir();
    let zip = tmp.path().join("bad.zip");
    let mut b = ZipBuilder::new();
    b.file("good.txt", b"good\n")
        .file("bad.txt", &text(3000, 1));
    let mut bytes = b.finish();
    corrupt_crc(&mut bytes, "bad.txt");
    std::fs::write(&zip, &bytes).unwrap();
    let out = run(phash().arg("--members").arg(&zip));
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("bad.txt: bad CRC-32"),
        "{}",
        stderr(&out)
    );
    // md5sum of "good\n".
    assert_eq!(
        util::stdout(&out),
        "d7f986677d9f563bd1794b09d82206a3  good.txt\n"
    );
    // From standard input too.
    let piped = piped_in(phash().args(["--members", "-"]), &bytes, tmp.path());
    assert_eq!(piped.stdout, out.stdout);
    assert_eq!(code(&piped), 1);
}

/// As [`crate::util::peak_rss`] (in KiB), with stdout a pipe that is read only after `delay` (a
/// slow reader: the decoders get ahead of the writer), and the bytes read.
fn peak_kib_with_slow_reader(args: &[&str], dir: &Path, delay: Duration) -> (u64, Vec<u8>) {
    let report = dir.join("peak");
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_punzip"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    let mut bytes = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    assert!(child.wait().unwrap().success());
    let peak = std::fs::read_to_string(&report).unwrap();
    (peak.trim().parse().unwrap(), bytes)
}

#[test]
fn a_large_member_is_written_in_chunks_not_held_whole() {
    if !have("python3") {
        return;
    }
    if !Path::new("/usr/bin/time").exists() {
        eprintln!("SKIP: /usr/bin/time (GNU time) is not installed");
        return;
    }
    let tmp = tempdir();
    let zip = tmp.path().join("big.zip");
    // 96 MiB of zeros deflate to about 100 KB: Python's zlib makes it in a blink.
    let made = run(Command::new("python3").arg("-c").arg(format!(
        "import zipfile\n\
         with zipfile.ZipFile({:?}, 'w', zipfile.ZIP_DEFLATED) as z:\n\
         \x20   z.writestr('a.txt', b'a' * 1000)\n\
         \x20   z.writestr('big.bin', bytes(96 << 20))\n\
         \x20   z.writestr('b.txt', b'b' * 1000)\n",
        zip.display().to_string()
    )));
    assert_eq!(code(&made), 0, "{}", stderr(&made));
    for j in ["1", "2"] {
        let zip = zip.to_str().unwrap();
        let (status, peak) = crate::util::peak_rss(&["-p", "-j", j, zip]).expect("GNU time");
        let peak = peak / 1024;
        assert_eq!(status, 0);
        // Holding the member whole would take 96 MiB.
        assert!(peak < 48 << 10, "-j{j}: peak {peak} KiB");
    }
    // And the bytes are right: the md5 of a, 96 MiB of zeros, b, as md5sum sees them.
    if have("md5sum") {
        let out = run(Command::new("sh").arg("-c").arg(format!(
            "{} -p {:?} | md5sum; (head -c 1000 /dev/zero | tr '\\0' a; head -c {} /dev/zero; \
             head -c 1000 /dev/zero | tr '\\0' b) | md5sum",
            env!("CARGO_BIN_EXE_punzip"),
            zip.display().to_string(),
            96 << 20
        )));
        let text = util::stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0], lines[1]);
    }
}

#[test]
fn small_members_decoded_ahead_of_a_slow_reader_stay_within_the_budget() {
    if !have("python3") {
        return;
    }
    if !Path::new("/usr/bin/time").exists() {
        eprintln!("SKIP: /usr/bin/time (GNU time) is not installed");
        return;
    }
    let tmp = tempdir();
    let zip = tmp.path().join("many.zip");
    // 60 members of 3 MiB (each decoded whole by a worker): 180 MiB in all, about 300 KB
    // compressed.
    let made = run(Command::new("python3").arg("-c").arg(format!(
        "import zipfile\n\
         with zipfile.ZipFile({:?}, 'w', zipfile.ZIP_DEFLATED) as z:\n\
         \x20   for i in range(60):\n\
         \x20       z.writestr('m%02d.txt' % i, (b'%02d abcdefghijkl\\n' % i) * ((3 << 20) // 16))\n",
        zip.display().to_string()
    )));
    assert_eq!(code(&made), 0, "{}", stderr(&made));
    let zip = zip.to_str().unwrap();
    let (peak, bytes) =
        peak_kib_with_slow_reader(&["-p", "-j", "2", zip], tmp.path(), Duration::from_secs(1));
    assert_eq!(bytes.len(), 60 * (3 << 20));
    assert!(bytes.starts_with(b"00 abcdefghijkl\n") && bytes.ends_with(b"59 abcdefghijkl\n"));
    // Decoding everything ahead of the reader would hold the 180 MiB; the budget is 64 MiB.
    assert!(peak < 140 << 10, "peak {peak} KiB");
}

/// An archive of `count` stored members of `size` bytes, each of different bytes.
fn many_stored(path: &Path, count: usize, size: usize) {
    let mut b = ZipBuilder::new();
    for i in 0..count {
        let block: Vec<u8> = (0..size)
            .map(|j| ((j as u32).wrapping_mul(2654435761).wrapping_add(i as u32) >> 24) as u8)
            .collect();
        b.file_with(
            &format!("m{i:04}.bin"),
            &block,
            opts(CompressionMethod::Stored, 0o644),
        );
    }
    b.write_to(path);
}

#[test]
fn truncating_the_archive_under_p_or_members_is_an_error_naming_a_member_not_a_crash() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempdir();
    let zip = dir.path().join("big.zip");
    // Enough output that the tool waits on this reader: 48 MiB of bytes for -p; for
    // --members, lines for 8,192 members (far beyond a pipe's and a buffer's 64 KiB).
    // And -p of stored members too big to be held (5 MiB): the writer copies them out in
    // chunks, and the truncation comes in the middle of one (it said "bad CRC", exit 2).
    for (tool, want, count, size) in [
        ("-p", 3, 768, 64 << 10),
        ("-p", 3, 6, 5 << 20),
        ("--members", 1, 8192, 8 << 10),
    ] {
        many_stored(&zip, count, size);
        let mut cmd = if tool == "-p" { punzip() } else { phash() };
        let mut child = cmd
            .args(["-j", "2", tool])
            .arg(&zip)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Drained aside, so that no amount of messages can block the tool.
        let mut err_pipe = child.stderr.take().unwrap();
        let errors = std::thread::spawn(move || {
            let mut s = String::new();
            err_pipe.read_to_string(&mut s).unwrap();
            s
        });
        // The run is under way (and held back by this reader) when the archive shrinks.
        let mut stdout = child.stdout.take().unwrap();
        let mut first = vec![0u8; 4096];
        stdout.read_exact(&mut first[..64]).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&zip)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).unwrap();
        let status = child.wait().unwrap();
        let errors = errors.join().unwrap();
        assert_eq!(status.signal(), None, "{tool}: killed by a signal");
        assert_eq!(status.code(), Some(want), "{tool}: {errors}");
        assert!(
            errors.contains("truncated while m"),
            "{tool}: the message names the member: {errors}"
        );
        assert_eq!(
            errors.matches("truncated").count(),
            1,
            "{tool}: one message for the archive, not one per member: {errors}"
        );
    }
}

/// `--max-size` bounds what `-p` would write, as it bounds extraction: a bomb piped out
/// is as much a bomb (it was ignored, and every byte went out).
#[test]
fn max_size_refuses_an_archive_before_a_byte_is_piped() {
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    std::fs::write(&zip, util::zip_of(&[("a.txt", &[b'a'; 3000][..])])).unwrap();
    let out = punzip_p(&zip, &["--max-size", "1K"]);
    assert_eq!(code(&out), 50, "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("--max-size"), "{}", stderr(&out));
    let out = punzip_p(&zip, &["--max-size", "1M"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(out.stdout.len(), 3000);
}

/// `punzip -p A.zip >&-` and `punzip -l A.zip >&-`: the bytes cannot go anywhere, so the
/// run fails naming the cause, as a full disk (`> /dev/full`) does. Rust's runtime puts
/// /dev/null in place of a closed descriptor 1, and the bytes were lost with exit 0
/// (Info-ZIP's unzip also exits 0 here: it never checks its writes).
#[test]
fn a_standard_output_closed_at_start_fails_p_and_l() {
    let dir = tempdir();
    let zip = dir.path().join("a.zip");
    mixed(&zip);
    for flag in ["-p", "-l"] {
        let mut cmd = punzip();
        cmd.arg(flag).arg(&zip);
        util::close_stdout(&mut cmd);
        let out = run(&mut cmd);
        assert_ne!(code(&out), 0, "punzip {flag}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("standard output: Bad file descriptor"),
            "punzip {flag}: {}",
            stderr(&out)
        );
    }
}

/// `punzip - DEST <&-`: standard input was closed, not empty; say so.
#[test]
fn a_standard_input_closed_at_start_is_named_as_such() {
    let dir = tempdir();
    let mut cmd = punzip();
    cmd.args(["-", "-d"]).arg(dir.path().join("out"));
    util::close_stdin(&mut cmd);
    let out = cmd.output().unwrap();
    assert_eq!(code(&out), 9, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("-: cannot open archive: Bad file descriptor"),
        "{}",
        stderr(&out)
    );
}
