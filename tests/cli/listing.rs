//! Listing, quietness, JSON and the generated docs: `punzip -l` streams the central
//! directory (a damaged directory lists the entries before the damage, as `unzip -l`
//! does, in little memory), `-lv` is `unzip -v`'s table byte for byte, `-q`/`-qq` drop
//! what unzip's do, `--json` agrees with Python's zipfile, and `--generate` writes a man
//! page and completion scripts that their own tools accept.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use zip::CompressionMethod;

use crate::util::peak_rss;
use crate::util::{
    self, code, have, opts, phash, punzip, run, stderr, stdout, tempdir, ZipBuilder,
};

/// Runs `program args... archive` in the archive's directory, by its bare name, so that
/// the `Archive:` lines of punzip and unzip are the same text.
fn in_dir(program: &mut Command, args: &[&str], archive: &Path) -> Output {
    run(program
        .current_dir(archive.parent().unwrap())
        .env("TZ", "UTC")
        .args(args)
        .arg(archive.file_name().unwrap()))
}

fn unzip() -> Command {
    Command::new("unzip")
}

/// A one-entry archive (stored, `data`) whose zip64 fields declare `declared` bytes of
/// uncompressed size: listings show what the directory says, no reader checks it.
fn zip64_declared(name: &str, data: &[u8], declared: u64) -> Vec<u8> {
    let mut payload = declared.to_le_bytes().to_vec();
    payload.extend_from_slice(&(data.len() as u64).to_le_bytes());
    zip64_with(name, data, &payload)
}

/// The same with the zip64 extra field's payload as given (which may be too short).
fn zip64_with(name: &str, data: &[u8], payload: &[u8]) -> Vec<u8> {
    let crc = util::crc32(data);
    let mut extra = Vec::new();
    extra.extend_from_slice(&1u16.to_le_bytes());
    extra.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    extra.extend_from_slice(payload);
    let mut common = Vec::new();
    common.extend_from_slice(&45u16.to_le_bytes()); // version needed
    common.extend_from_slice(&0u16.to_le_bytes()); // flags
    common.extend_from_slice(&0u16.to_le_bytes()); // stored
    common.extend_from_slice(&0x6000u16.to_le_bytes()); // 12:00
    common.extend_from_slice(&0x5821u16.to_le_bytes()); // 2024-01-01
    common.extend_from_slice(&crc.to_le_bytes());
    common.extend_from_slice(&u32::MAX.to_le_bytes());
    common.extend_from_slice(&u32::MAX.to_le_bytes());
    common.extend_from_slice(&(name.len() as u16).to_le_bytes());
    common.extend_from_slice(&(extra.len() as u16).to_le_bytes());
    let mut out = b"PK\x03\x04".to_vec();
    out.extend_from_slice(&common);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&extra);
    out.extend_from_slice(data);
    let cd = out.len() as u32;
    out.extend_from_slice(b"PK\x01\x02\x2d\x03");
    out.extend_from_slice(&common);
    out.extend_from_slice(&[0; 6]);
    out.extend_from_slice(&(0o100644u32 << 16).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&extra);
    let size = out.len() as u32 - cd;
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&cd.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Members of every kind a listing column distinguishes: each method the zip crate
/// writes, a directory, an empty file, an encrypted member, incompressible data, an
/// archive comment.
fn assorted(dir: &Path) -> PathBuf {
    use zip::unstable::write::FileOptionsExt;
    let path = dir.join("assorted.zip");
    let text = b"the quick brown fox jumps over the lazy dog\n".repeat(40);
    let noise: Vec<u8> = (0..3000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut b = ZipBuilder::new();
    b.dir("docs/");
    b.file_with(
        "docs/stored.txt",
        &text,
        opts(CompressionMethod::Stored, 0o644),
    );
    b.file("docs/deflated.txt", &text);
    b.file_with("bzip2.txt", &text, opts(CompressionMethod::Bzip2, 0o644));
    b.file_with("zstd.txt", &text, opts(CompressionMethod::Zstd, 0o644));
    b.file_with("empty", b"", opts(CompressionMethod::Stored, 0o644));
    b.file_with(
        "noise.bin",
        &noise,
        opts(CompressionMethod::Deflated, 0o644),
    );
    let secret = opts(CompressionMethod::Deflated, 0o644)
        .with_deprecated_encryption(b"pw")
        .unwrap();
    b.file_with("secret.txt", &text, secret);
    b.comment("assorted members\nsecond line");
    b.write_to(&path);
    path
}

/// Asserts that punzip with `ours` prints what unzip with `theirs` prints, byte for byte,
/// with the same exit status.
fn same_as_unzip(ours: &[&str], theirs: &[&str], archive: &Path) {
    let p = in_dir(&mut punzip(), ours, archive);
    let u = in_dir(&mut unzip(), theirs, archive);
    assert_eq!(
        stdout(&p),
        stdout(&u),
        "punzip {ours:?} vs unzip {theirs:?}; punzip's stderr: {}",
        stderr(&p)
    );
    assert_eq!(code(&p), code(&u), "{}", stderr(&p));
}

#[test]
fn the_verbose_listing_is_unzip_v_byte_for_byte() {
    if !have("unzip") {
        return;
    }
    let tmp = tempdir();
    let archive = assorted(tmp.path());
    same_as_unzip(&["-lv"], &["-v"], &archive);
    same_as_unzip(&["-l", "-v"], &["-lv"], &archive);
    same_as_unzip(&["-l"], &["-l"], &archive);
    // -v alone lists as unzip -v does (it extracted into the current directory).
    same_as_unzip(&["-v"], &["-v"], &archive);
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "-v wrote nothing beside the archive"
    );
}

/// `-j` (here `--junk-paths`) says where files go, not what the archive holds: `unzip -l
/// -j` lists every entry by its full name, directories too, and so does `punzip -l
/// --junk-paths` (it dropped the directory entries), with no warning of two files whose
/// short names clash.
#[test]
fn junk_paths_changes_nothing_in_a_listing_as_in_unzip() {
    if !have("unzip") {
        eprintln!("SKIP: no unzip");
        return;
    }
    let tmp = tempdir();
    let path = tmp.path().join("junk.zip");
    let mut b = ZipBuilder::new();
    b.dir("a/");
    b.file("a/same", b"one");
    b.dir("a/b/");
    b.file("a/b/same", b"two");
    b.write_to(&path);
    same_as_unzip(&["-l", "--junk-paths"], &["-l", "-j"], &path);
    same_as_unzip(&["-lv", "--junk-paths"], &["-v", "-j"], &path);
    let out = in_dir(&mut punzip(), &["-l", "--junk-paths"], &path);
    assert_eq!(stderr(&out), "");
}

#[test]
fn python_written_lzma_members_and_member_comments_list_as_unzip_lists_them() {
    if !have("unzip") || !have("python3") {
        return;
    }
    let tmp = tempdir();
    let archive = tmp.path().join("py.zip");
    let script = "import sys, zipfile\n\
        with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
        \x20   i = zipfile.ZipInfo('a.txt', (2024, 1, 2, 3, 4, 6))\n\
        \x20   i.comment = b'a member comment'\n\
        \x20   z.writestr(i, 'hello ' * 100)\n\
        \x20   i = zipfile.ZipInfo('b.lzma', (2023, 5, 6, 7, 8, 10))\n\
        \x20   i.compress_type = zipfile.ZIP_LZMA\n\
        \x20   z.writestr(i, 'y' * 5000)\n\
        \x20   i = zipfile.ZipInfo('c.bz2', (2023, 5, 6, 7, 8, 10))\n\
        \x20   i.compress_type = zipfile.ZIP_BZIP2\n\
        \x20   z.writestr(i, 'z' * 5000)\n";
    let out = run(Command::new("python3").arg("-c").arg(script).arg(&archive));
    assert!(out.status.success(), "{}", stderr(&out));
    for (ours, theirs) in [
        (&["-l"][..], &["-l"][..]),
        (&["-lv"], &["-v"]),
        (&["-lq"], &["-lq"]),
    ] {
        same_as_unzip(ours, theirs, &archive);
    }
}

#[test]
fn times_come_from_the_extended_timestamp_as_unzip_takes_them() {
    // Info-ZIP zip stores the mtime twice: DOS fields (even seconds, rounded up: 12:59:59
    // becomes 13:00) and an extended timestamp (12:59:59), which unzip shows.
    if !have("unzip") || !have("zip") || !have("touch") {
        return;
    }
    let tmp = tempdir();
    let file = tmp.path().join("odd.txt");
    std::fs::write(&file, b"odd second").unwrap();
    let touched = run(Command::new("touch")
        .args(["-d", "2024-02-03 12:59:59"])
        .arg(&file)
        .env("TZ", "UTC"));
    assert!(touched.status.success());
    let archive = tmp.path().join("zipped.zip");
    let zipped = run(Command::new("zip")
        .current_dir(tmp.path())
        .args(["-q", "zipped.zip", "odd.txt"])
        .env("TZ", "UTC"));
    assert!(zipped.status.success(), "{}", stderr(&zipped));
    let out = in_dir(&mut punzip(), &["-l"], &archive);
    assert!(
        stdout(&out).contains("2024-02-03 12:59"),
        "{}",
        stdout(&out)
    );
    same_as_unzip(&["-l"], &["-l"], &archive);
    same_as_unzip(&["-lv"], &["-v"], &archive);
}

#[test]
fn sizes_declared_beyond_4_gib_are_listed_as_declared() {
    if !have("unzip") {
        return;
    }
    let tmp = tempdir();
    let archive = tmp.path().join("big.zip");
    std::fs::write(&archive, zip64_declared("huge.img", b"x", 5 << 30)).unwrap();
    let out = in_dir(&mut punzip(), &["-lv"], &archive);
    assert!(stdout(&out).contains("5368709120"), "{}", stdout(&out));
    same_as_unzip(&["-lv"], &["-v"], &archive);
    same_as_unzip(&["-l"], &["-l"], &archive);
}

/// An entry whose extra fields fail it is refused by its name, not by its place in the
/// directory (`#0`): a zip64 field too short to hold the sizes it stands for; method 99
/// (AES) with no AES field to say what is inside (it was "incorrect password", exit 82),
/// which is still listed, and refused only when selected.
#[test]
fn an_entry_whose_extra_fields_fail_it_is_refused_by_name() {
    let tmp = tempdir();
    let short = tmp.path().join("short.zip");
    std::fs::write(
        &short,
        zip64_with("dir/a.txt", b"hello", &5u32.to_le_bytes()),
    )
    .unwrap();
    let aes = tmp.path().join("aes.zip");
    std::fs::write(
        &aes,
        util::raw_zip(&[util::RawEntry {
            packed: Some((99, b"hello")),
            ..util::RawEntry::new(b"b.txt", b"hello")
        }]),
    )
    .unwrap();
    for (archive, said) in [
        (&short, "punzip: dir/a.txt: zip64 extra field too short"),
        (
            &aes,
            "punzip: b.txt: AES-encrypted (method 99) without its AES extra field",
        ),
    ] {
        for mode in ["-t", "-l"] {
            let out = in_dir(&mut punzip(), &[mode, "-P", "pw"], archive);
            assert_eq!(code(&out), 2, "{mode}: {}", stderr(&out));
            assert!(stderr(&out).contains(said), "{mode}: {}", stderr(&out));
        }
    }
    let listed = in_dir(&mut punzip(), &["-l"], &aes);
    assert!(stdout(&listed).contains("b.txt"), "{}", stdout(&listed));
    // Beside a good member that is asked for alone: the run is that member's.
    let two = tmp.path().join("two.zip");
    std::fs::write(
        &two,
        util::raw_zip(&[
            util::RawEntry {
                packed: Some((99, b"hello")),
                ..util::RawEntry::new(b"b.txt", b"hello")
            },
            util::RawEntry::new(b"good.txt", b"good"),
        ]),
    )
    .unwrap();
    let out = in_dir(&mut punzip(), &["-t", "-P", "pw"], &two);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let out = run(punzip().args(["-t", "-P", "pw"]).arg(&two).arg("good.txt"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn quiet_listings_drop_what_unzip_lq_and_lqq_drop() {
    if !have("unzip") {
        return;
    }
    let tmp = tempdir();
    let archive = assorted(tmp.path());
    for (ours, theirs) in [
        (&["-l", "-q"][..], &["-lq"][..]),
        (&["-l", "-qq"], &["-lqq"]),
        (&["-lvqq"], &["-vqq"]),
        (&["-lvq"], &["-vq"]),
    ] {
        same_as_unzip(ours, theirs, &archive);
    }
    let qq = in_dir(&mut punzip(), &["-lqq"], &archive);
    assert!(!stdout(&qq).contains("Length") && stdout(&qq).contains("zstd.txt"));
}

/// `archive` with the signature of its `n`th central record (1-based) broken.
fn damage_central_record(archive: &Path, n: usize) {
    let mut bytes = std::fs::read(archive).unwrap();
    let at = bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x01\x02")
        .nth(n - 1)
        .unwrap()
        .0;
    bytes[at + 2] = b'X';
    std::fs::write(archive, bytes).unwrap();
}

#[test]
fn a_directory_damaged_at_entry_n_lists_the_entries_before_it_then_fails() {
    let tmp = tempdir();
    let archive = tmp.path().join("damaged.zip");
    let names = ["a.txt", "b/c.txt", "d.txt", "e.txt", "f.txt"];
    let mut b = ZipBuilder::new();
    for n in names {
        b.file(n, n.as_bytes());
    }
    b.write_to(&archive);
    damage_central_record(&archive, 4);

    let out = in_dir(&mut punzip(), &["-l"], &archive);
    let text = stdout(&out);
    let listed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split("   ").last())
        .filter(|n| names.contains(n))
        .collect();
    assert_eq!(listed, names[..3], "{}", stdout(&out));
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(stderr(&out).contains("damaged.zip"), "{}", stderr(&out));
    if have("unzip") {
        same_as_unzip(&["-l"], &["-l"], &archive);
        same_as_unzip(&["-lv"], &["-v"], &archive);
    }
}

#[test]
fn refusals_and_collisions_come_after_the_listing_with_the_same_status_as_a_run() {
    let tmp = tempdir();
    let archive = tmp.path().join("hostile.zip");
    let mut b = ZipBuilder::new();
    b.file("ok.txt", b"fine");
    b.file("../up.txt", b"climbs out");
    b.file("same", b"one");
    b.file("./same", b"two");
    b.write_to(&archive);
    let list = in_dir(&mut punzip(), &["-l"], &archive);
    // Everything the archive holds is listed, as unzip -l would.
    for name in ["ok.txt", "../up.txt", "./same"] {
        assert!(stdout(&list).contains(name), "{name}: {}", stdout(&list));
    }
    assert!(stderr(&list).contains("up.txt") && stderr(&list).contains("same path"));
    let test = in_dir(&mut punzip(), &["-t"], &archive);
    assert_eq!(code(&list), code(&test), "{}", stderr(&list));
    assert_eq!(code(&list), 1);

    // With --json, -t gives a refused member an object with its error, its status the
    // warning it counts as; -l lists it like any other, then a warning line for each
    // refusal, counted in the totals.
    let out = in_dir(&mut punzip(), &["-t", "--json"], &archive);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines = json_lines(&out);
    let up = lines
        .iter()
        .find(|o| o["path"] == "../up.txt")
        .unwrap_or_else(|| panic!("{lines:?}"));
    assert_eq!(up["status"], "warning");
    assert!(up["error"].as_str().unwrap().contains("refused"), "{up}");
    // Refusals are warnings (exit 1), in the totals as in --stats.
    assert_eq!(lines.last().unwrap()["warnings"], 2);
    assert_eq!(lines.last().unwrap()["errors"], 0);
    let out = in_dir(&mut punzip(), &["-l", "--json"], &archive);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4 + 2 + 1, "{lines:?}");
    let warned: Vec<&str> = lines
        .iter()
        .filter(|o| o["type"] == "warning")
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    assert_eq!(warned, ["../up.txt", "./same"], "{lines:?}");
    assert_eq!(lines.last().unwrap()["warnings"], 2);
    assert_eq!(lines.last().unwrap()["errors"], 0);
}

#[test]
fn patterns_that_match_nothing_list_an_empty_table_and_exit_11_as_unzip() {
    let tmp = tempdir();
    let archive = tmp.path().join("a.zip");
    std::fs::write(&archive, util::zip_of(&[("a.txt", b"a")])).unwrap();
    let out = in_dir(&mut punzip(), &["-l", "-i", "*.rs"], &archive);
    assert_eq!(code(&out), 11, "{}", stderr(&out));
    assert!(stdout(&out).contains("0 files"), "{}", stdout(&out));
}

/// `n` one-byte stored members in directories of 100, without the zip crate (whose
/// writer keeps a large record per entry in the test process).
fn many_entries(n: usize) -> Vec<u8> {
    let entries: Vec<(Vec<u8>, &[u8])> = (0..n)
        .map(|i| (format!("d{}/f{i}", i / 100).into_bytes(), &b"x"[..]))
        .collect();
    let refs: Vec<(&[u8], &[u8])> = entries.iter().map(|(n, d)| (&n[..], *d)).collect();
    util::raw_stored_zip(&refs)
}

#[test]
fn listing_keeps_a_fraction_of_the_planning_memory_per_entry() {
    // The listing keeps a few bytes per entry for the checks after it (offsets, hashes),
    // where planning (-t) keeps a member record each. Both map the archive, whose pages
    // are resident too: they are counted in both and cancel out of neither, so the
    // figures compared are what each adds per entry beyond the archive's own bytes.
    const N: usize = 15_000;
    let dir = tempdir();
    let small = many_entries(N);
    let large = many_entries(4 * N);
    let archive_per_entry = (large.len() - small.len()) as f64 / (3 * N) as f64;
    let small_path = dir.path().join("small.zip");
    let large_path = dir.path().join("large.zip");
    std::fs::write(&small_path, &small).unwrap();
    std::fs::write(&large_path, &large).unwrap();
    let mut per_entry = Vec::new();
    for mode in ["-l", "-t"] {
        let Some((c1, rss1)) = peak_rss(&[mode, small_path.to_str().unwrap()]) else {
            return;
        };
        let Some((c4, rss4)) = peak_rss(&[mode, large_path.to_str().unwrap()]) else {
            return;
        };
        assert_eq!((c1, c4), (0, 0), "{mode}");
        let grown = rss4.saturating_sub(rss1) as f64 / (3 * N) as f64;
        eprintln!("{mode}: {grown:.0} bytes per entry (archive: {archive_per_entry:.0})");
        per_entry.push((grown - archive_per_entry).max(0.0));
    }
    let (list, plan) = (per_entry[0], per_entry[1]);
    assert!(
        list < plan / 2.0,
        "-l adds {list:.0} bytes per entry beyond the archive, -t {plan:.0}"
    );
}

#[test]
fn a_listing_cut_short_by_its_reader_is_a_quiet_success() {
    let tmp = tempdir();
    let archive = tmp.path().join("many.zip");
    std::fs::write(&archive, many_entries(50_000)).unwrap();
    let (first, status, err) =
        util::first_line_then_close(punzip().arg("-l").arg(&archive).env("TZ", "UTC"));
    assert!(first.starts_with("Archive:"), "{first}");
    assert_eq!(status, Some(0), "{err}");
    assert!(err.is_empty(), "{err}");
}

/// Python's zipfile view of `archive`: (name, size, compressed size, CRC) per member.
fn python_infolist(archive: &Path) -> Option<Vec<(String, u64, u64, String)>> {
    if !have("python3") {
        return None;
    }
    let out = run(Command::new("python3")
        .arg("-c")
        .arg(
            "import sys, zipfile\n\
         for i in zipfile.ZipFile(sys.argv[1]).infolist():\n\
         \x20   print(f'{i.filename}\\t{i.file_size}\\t{i.compress_size}\\t{i.CRC:08x}')",
        )
        .arg(archive));
    assert!(out.status.success(), "{}", stderr(&out));
    Some(
        stdout(&out)
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (
                    f[0].to_string(),
                    f[1].parse().unwrap(),
                    f[2].parse().unwrap(),
                    f[3].to_string(),
                )
            })
            .collect(),
    )
}

/// Every stdout line parsed as JSON (a line that is not is a test failure).
fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

fn members(lines: &[serde_json::Value]) -> Vec<(String, u64, u64, String)> {
    lines
        .iter()
        .filter(|o| o["type"] == "member")
        .map(|o| {
            (
                o["path"].as_str().unwrap().to_string(),
                o["size"].as_u64().unwrap(),
                o["compressed_size"].as_u64().unwrap(),
                o["crc32"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn json_listing_testing_and_extraction_agree_with_python_zipfile() {
    let tmp = tempdir();
    let archive = assorted(tmp.path());
    let list = run(punzip().args(["-l", "--json"]).arg(&archive));
    assert_eq!(code(&list), 0, "{}", stderr(&list));
    let lines = json_lines(&list);
    let last = lines.last().unwrap();
    assert_eq!(last["type"], "totals", "the totals object comes last");
    assert_eq!(last["tool"], "punzip");
    assert_eq!(last["members"], 8);
    assert_eq!(lines.iter().filter(|o| o["type"] == "totals").count(), 1);
    let listed = members(&lines);
    assert_eq!(listed.len(), 8);
    assert!(lines
        .iter()
        .filter(|o| o["type"] == "member")
        .all(|o| o["mtime"] == "2021-03-04T05:06:08Z"));
    let zstd = lines.iter().find(|o| o["path"] == "zstd.txt").unwrap();
    assert_eq!(zstd["method"], "zstd");
    if let Some(python) = python_infolist(&archive) {
        assert_eq!(listed, python);
    }

    let test = run(punzip()
        .args(["-t", "--json", "-P", "pw"])
        .arg(&archive)
        .env("TZ", "UTC"));
    assert_eq!(code(&test), 0, "{}", stderr(&test));
    let lines = json_lines(&test);
    assert_eq!(lines.last().unwrap()["type"], "totals");
    let mut tested = members(&lines);
    tested.sort();
    // Directories are not tested, so they have no object.
    let mut want: Vec<_> = listed.into_iter().filter(|m| !m.0.ends_with('/')).collect();
    want.sort();
    assert_eq!(tested, want);
    assert!(lines[..lines.len() - 1].iter().all(|o| o["status"] == "ok"));

    // Extraction: a member whose file exists is skipped with -n; the others are ok.
    let dest = tmp.path().join("out");
    util::write(&dest.join("empty"), b"already here");
    let x = run(punzip()
        .args(["--json", "-n", "-P", "pw"])
        .arg(&archive)
        .arg(&dest));
    assert_eq!(code(&x), 0, "{}", stderr(&x));
    let lines = json_lines(&x);
    let status = |name: &str| {
        lines
            .iter()
            .find(|o| o["path"] == name)
            .map(|o| o["status"].clone())
    };
    assert_eq!(status("empty"), Some("skipped".into()));
    assert_eq!(status("zstd.txt"), Some("ok".into()));
    assert_eq!(lines.last().unwrap()["type"], "totals");
}

#[test]
fn json_reports_a_member_that_fails_its_test() {
    let tmp = tempdir();
    let archive = tmp.path().join("bad.zip");
    let mut bytes = util::raw_stored_zip(&[(b"a.txt", b"hello"), (b"b.txt", b"world")]);
    let at = bytes.windows(5).position(|w| w == b"world").unwrap();
    bytes[at] = b'W';
    std::fs::write(&archive, bytes).unwrap();
    let out = run(punzip().args(["-t", "--json"]).arg(&archive));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let lines = json_lines(&out);
    let b = lines.iter().find(|o| o["path"] == "b.txt").unwrap();
    assert_eq!(b["status"], "error");
    assert!(b["error"].as_str().unwrap().contains("CRC"), "{b}");
    assert_eq!(lines.last().unwrap()["errors"], 1);
    assert!(
        stderr(&out).contains("b.txt"),
        "errors still go to stderr as text"
    );
}

/// Files already in the way have a line each: the totals counted them with no line
/// saying which. They count as warnings (exit 1), and their lines say so. Each is a
/// member's line, `path` the member's name and `file` where it would have gone, as
/// every member line has them (it was a problem line whose `path` was the file).
#[test]
fn json_gives_each_existing_file_in_the_way_a_member_line_with_a_warning() {
    let tmp = tempdir();
    let archive = tmp.path().join("a.zip");
    std::fs::write(&archive, util::zip_of(&[("a.txt", b"a"), ("b.txt", b"b")])).unwrap();
    let dest = tmp.path().join("out");
    assert_eq!(code(&run(punzip().arg("-q").arg(&archive).arg(&dest))), 0);
    let out = run(punzip().arg("--json").arg(&archive).arg(&dest));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let lines = json_lines(&out);
    let warnings: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|o| o["type"] == "member" && o["status"] == "warning")
        .collect();
    assert_eq!(warnings.len(), 2, "{lines:?}");
    assert_eq!(warnings[0]["path"], "a.txt");
    assert_eq!(
        warnings[0]["file"].as_str().unwrap(),
        dest.join("a.txt").to_str().unwrap()
    );
    assert!(warnings[0]["error"]
        .as_str()
        .unwrap()
        .contains("already exists"));
    // Counted as the exit status (1) and --stats see them: warnings, not errors.
    assert_eq!(lines.last().unwrap()["warnings"], 2);
    assert_eq!(lines.last().unwrap()["errors"], 0);
    assert_eq!(counted(&lines), (0, 2));
}

/// The errors and warnings of a `--json` run, counted from its lines: a member line's
/// `status`, or a problem line's `type`.
fn counted(lines: &[serde_json::Value]) -> (u64, u64) {
    let (mut errors, mut warnings) = (0, 0);
    for o in lines {
        let says = if o["type"] == "member" {
            &o["status"]
        } else {
            &o["type"]
        };
        if says == "error" {
            errors += 1;
        } else if says == "warning" {
            warnings += 1;
        }
    }
    (errors, warnings)
}

/// A script counts a run's failures from its lines: each failure the totals count has
/// exactly one line, which says whether it counts as an error or a warning, and the exit
/// status follows them (0 clean, 1 warnings only, above 1 an error). Before, a refused
/// `../` member said "error" and counted as a warning, a file in the way likewise, and
/// `-l` gave duplicates, clashes, a damaged directory and unmatched patterns no line.
#[test]
fn json_lines_account_for_every_failure_the_totals_count() {
    let tmp = tempdir();
    let mut bad_crc = util::raw_stored_zip(&[(b"bad.txt", b"AAAA"), (b"ok", b"o")]);
    let at = bad_crc.windows(4).position(|w| w == b"AAAA").unwrap();
    bad_crc[at] = b'B';
    let mut damaged =
        util::raw_stored_zip(&[(b"m0", b""), (b"m1", b"1"), (b"m2", b"22"), (b"m3", b"333")]);
    let third = damaged
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x01\x02")
        .nth(2)
        .unwrap()
        .0;
    damaged[third..third + 4].copy_from_slice(b"XXXX");
    let archives: [(&str, Vec<u8>); 4] = [
        ("bad.zip", bad_crc),
        (
            "evil.zip",
            util::raw_stored_zip(&[(b"../evil", b"e"), (b"ok", b"o")]),
        ),
        (
            "dup.zip",
            util::raw_stored_zip(&[
                (b"same", b"1"),
                (b"same", b"2"),
                (b"f", b"x"),
                (b"f/g", b"y"),
            ]),
        ),
        ("damaged.zip", damaged),
    ];
    for (name, bytes) in &archives {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
    }
    let dest = tmp.path().join("out");
    let p = |n: &str| tmp.path().join(n).into_os_string();
    let d = dest.clone().into_os_string();
    let runs: Vec<Vec<std::ffi::OsString>> = vec![
        vec![p("bad.zip"), d.clone()],
        vec![p("evil.zip"), "-d".into(), d.clone()],
        // Everything is in the way now.
        vec![p("evil.zip"), "-d".into(), d.clone()],
        vec!["-t".into(), p("evil.zip"), "ok".into(), "nomatch".into()],
        vec!["-l".into(), p("evil.zip"), "ok".into(), "nomatch".into()],
        vec!["-l".into(), p("dup.zip")],
        vec!["-t".into(), p("dup.zip")],
        vec!["-l".into(), p("damaged.zip")],
        vec!["-t".into(), p("damaged.zip")],
        // Listing reads no data: clean.
        vec!["-l".into(), p("bad.zip")],
    ];
    for args in runs {
        let out = run(punzip().arg("--json").args(&args));
        let lines = json_lines(&out);
        let totals = lines.last().unwrap();
        assert_eq!(totals["type"], "totals", "{args:?}: {lines:?}");
        let (errors, warnings) = counted(&lines);
        assert_eq!(
            (totals["errors"].as_u64(), totals["warnings"].as_u64()),
            (Some(errors), Some(warnings)),
            "{args:?}: {lines:?}"
        );
        let status = code(&out);
        match (errors, warnings) {
            (0, 0) => assert_eq!(status, 0, "{args:?}: {lines:?}"),
            (0, _) => assert_eq!(status, 1, "{args:?}: {lines:?}"),
            _ => assert!(status > 1, "{args:?}: {status} {lines:?}"),
        }
        // Every run here but the listing of bad.zip fails somehow: each has a line.
        let clean = args[0] == "-l" && args[1] == p("bad.zip");
        assert_eq!(errors + warnings == 0, clean, "{args:?}: {lines:?}");
    }
}

/// A member line says where its file went (`file`): the archive's name is not the path
/// on disk when it has a backslash, a `..` inside, or `--junk-paths` drops its
/// directories. Each `file` holds the member's bytes (checked independently of punzip).
#[test]
fn json_member_lines_name_the_file_each_was_written_to() {
    let tmp = tempdir();
    let archive = tmp.path().join("n.zip");
    let members: [(&str, &[u8]); 3] = [("a\\b", b"one"), ("f/../g", b"two"), ("d/x", b"three")];
    std::fs::write(&archive, util::zip_of(&members)).unwrap();
    for junk in [false, true] {
        let dest = tmp.path().join(format!("out{junk}"));
        let mut cmd = punzip();
        cmd.arg("--json").arg(&archive).arg(&dest);
        if junk {
            cmd.arg("--junk-paths");
        }
        let out = run(&mut cmd);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let lines = json_lines(&out);
        for (name, bytes) in members {
            let line = lines
                .iter()
                .find(|o| o["path"] == name)
                .unwrap_or_else(|| panic!("{name}: {lines:?}"));
            let file = Path::new(line["file"].as_str().unwrap());
            assert!(file.starts_with(&dest), "{file:?}");
            assert_eq!(std::fs::read(file).unwrap(), bytes, "{name}");
        }
    }
    // Testing writes nothing, so names no file.
    let out = run(punzip().args(["--json", "-t"]).arg(&archive));
    let lines = json_lines(&out);
    assert!(lines.iter().all(|o| o.get("file").is_none()), "{lines:?}");
}

/// A test run that found a bad member closes with unzip's line for it, on stdout (it
/// closed with nothing, so a log of stdout alone read as if the test had not finished).
#[test]
fn a_test_run_that_finds_an_error_closes_with_unzips_line() {
    let tmp = tempdir();
    let archive = tmp.path().join("bad.zip");
    let mut bytes = util::raw_stored_zip(&[(b"h.txt", b"hello world\n")]);
    let at = bytes.windows(5).position(|w| w == b"hello").unwrap();
    bytes[at] ^= 1;
    std::fs::write(&archive, bytes).unwrap();
    let want = format!("At least one error was detected in {}.", archive.display());
    for q in [None, Some("-q")] {
        let t = run(punzip().arg("-t").args(q).arg(&archive));
        assert_eq!(code(&t), 2, "{q:?}");
        assert_eq!(stdout(&t).lines().last(), Some(want.as_str()), "{q:?}");
        if have("unzip") {
            let u = run(Command::new("unzip").arg("-t").args(q).arg(&archive));
            assert_eq!(
                stdout(&u).lines().last(),
                Some(want.as_str()),
                "unzip {q:?}"
            );
        }
    }
    let t = run(punzip().args(["-t", "-qq"]).arg(&archive));
    assert_eq!((code(&t), stdout(&t)), (2, String::new()));
    // Only warnings (a name it would refuse): unzip's word for that, "warning-error".
    let warned = tmp.path().join("warned.zip");
    std::fs::write(&warned, util::raw_stored_zip(&[(b"../evil.txt", b"x")])).unwrap();
    let t = run(punzip().arg("-t").arg(&warned));
    assert_eq!(code(&t), 1, "{}", stderr(&t));
    let said = format!(
        "At least one warning-error was detected in {}.",
        warned.display()
    );
    assert_eq!(stdout(&t).lines().last(), Some(said.as_str()));
}

/// With member patterns, `-t`'s closing line counts the members tested, as unzip's does
/// (it said "in compressed data of", as if the whole archive had been tested).
#[test]
fn test_with_patterns_says_how_many_members_it_tested_as_unzip() {
    let tmp = tempdir();
    let archive = tmp.path().join("t.zip");
    let entries: &[(&str, &[u8])] = &[("a.txt", b"a"), ("sub/", b""), ("sub/b.txt", b"b")];
    std::fs::write(&archive, util::zip_of(entries)).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["sub/*"], "for the 2 files tested."),
        (&["a.txt"], "for the 1 file tested."),
        (&["-x", "a.txt"], "for the 2 files tested."),
        (&["-i", "a.txt"], "for the 1 file tested."),
        (&[], "compressed data of"),
    ];
    for (patterns, tail) in cases {
        let t = run(punzip().arg("-tq").arg(&archive).args(*patterns));
        assert_eq!(code(&t), 0, "{patterns:?}: {}", stderr(&t));
        assert!(stdout(&t).contains(tail), "{patterns:?}: {}", stdout(&t));
        // (This unzip takes `-i` only before the archive's name.)
        if have("unzip") && patterns.first() != Some(&"-i") {
            let u = run(Command::new("unzip")
                .arg("-tq")
                .arg(&archive)
                .args(*patterns));
            assert_eq!(stdout(&t), stdout(&u), "{patterns:?} against unzip");
        }
    }
}

#[test]
fn qq_is_quieter_than_q_for_punzip_and_the_same_as_q_for_phash() {
    let tmp = tempdir();
    let archive = tmp.path().join("a.zip");
    std::fs::write(&archive, util::zip_of(&[("a.txt", b"a")])).unwrap();
    // -t's closing line: kept by -q, dropped by -qq, as by unzip -tq and -tqq.
    for q in [None, Some("-q")] {
        let t = run(punzip().arg("-t").args(q).arg(&archive));
        assert_eq!(code(&t), 0, "{q:?}");
        assert_eq!(stdout(&t).lines().count(), 1, "{q:?}: {}", stdout(&t));
        assert!(stdout(&t).contains("No errors detected"), "{q:?}");
        if have("unzip") {
            let u = run(Command::new("unzip").arg("-t").args(q).arg(&archive));
            assert!(stdout(&u).contains("No errors detected"), "unzip {q:?}");
        }
    }
    let t = run(punzip().args(["-t", "-qq"]).arg(&archive));
    assert_eq!((code(&t), stdout(&t)), (0, String::new()));
    let l1 = in_dir(&mut punzip(), &["-lq"], &archive);
    let l2 = in_dir(&mut punzip(), &["-lqq"], &archive);
    assert!(!stdout(&l1).contains("Archive:") && stdout(&l1).contains("Length"));
    assert!(!stdout(&l2).contains("Length") && stdout(&l2).contains("a.txt"));

    // phash: -qq is -q (md5sum has one --quiet).
    let file = tmp.path().join("f");
    std::fs::write(&file, b"data").unwrap();
    let sums = run(phash().arg(&file));
    let list = tmp.path().join("sums.md5");
    std::fs::write(&list, &sums.stdout).unwrap();
    let q = run(phash().args(["-c", "-q"]).arg(&list));
    let qq = run(phash().args(["-c", "-qq"]).arg(&list));
    assert_eq!((code(&q), &q.stdout), (code(&qq), &qq.stdout));
    assert_eq!(code(&qq), 0, "{}", stderr(&qq));
    assert!(stdout(&qq).is_empty());
}

/// `--generate KIND` of `tool`, checked to succeed.
fn generate(tool: fn() -> Command, kind: &str) -> String {
    let out = run(tool().args(["--generate", kind]));
    assert_eq!(code(&out), 0, "{kind}: {}", stderr(&out));
    stdout(&out)
}

/// The long options `--help` shows.
fn long_options(tool: fn() -> Command) -> Vec<String> {
    let help = stdout(&run(tool().arg("--help")));
    let mut opts: Vec<String> = help
        .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == '=')
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| {
            w.trim_end_matches(|c: char| !c.is_alphanumeric())
                .to_string()
        })
        .collect();
    opts.sort();
    opts.dedup();
    opts
}

#[test]
fn man_pages_are_roff_naming_every_option_and_man_renders_them() {
    let tmp = tempdir();
    for (name, tool) in [("punzip", punzip as fn() -> Command), ("phash", phash)] {
        let page = generate(tool, "man");
        assert!(page.contains(".TH"), "{name}: no .TH");
        assert!(page.contains(".SH NAME") && page.contains(".SH OPTIONS"));
        let opts = long_options(tool);
        assert!(opts.len() > 5, "{name}: {opts:?}");
        for o in opts {
            let roff = o.replace('-', "\\-");
            assert!(page.contains(&roff), "{name}: the man page lacks {o}");
        }
        let file = tmp.path().join(format!("{name}.1"));
        std::fs::write(&file, &page).unwrap();
        if have("man") {
            let out = run(Command::new("man")
                .arg("-l")
                .arg(&file)
                .env("MANPAGER", "cat")
                .env("PAGER", "cat")
                .env("MANWIDTH", "80"));
            assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
            assert!(stdout(&out).contains("--jobs"), "{name}: {}", stdout(&out));
        }
    }
}

#[test]
fn completions_pass_their_shells_syntax_checks() {
    let tmp = tempdir();
    for (name, tool) in [("punzip", punzip as fn() -> Command), ("phash", phash)] {
        for (kind, shell, args) in [
            ("complete-bash", "bash", &["-n"][..]),
            ("complete-zsh", "zsh", &["-n"][..]),
            ("complete-fish", "fish", &["--no-execute"][..]),
        ] {
            let script = generate(tool, kind);
            assert!(script.contains(name) && script.contains("jobs"), "{kind}");
            if !have(shell) {
                continue;
            }
            let file = tmp.path().join(format!("{name}.{shell}"));
            std::fs::write(&file, script).unwrap();
            let out = run(Command::new(shell).args(args).arg(&file));
            assert_eq!(code(&out), 0, "{name} {kind}: {}", stderr(&out));
        }
        let elvish = generate(tool, "complete-elvish");
        assert!(elvish.contains(name));
    }
    let out = run(punzip().args(["--generate", "troff"]));
    assert_ne!(code(&out), 0, "an unknown KIND is refused");
}

/// bash completion, run as bash runs it: an empty word and an operand are left to bash's
/// own file completion (`-o default`: clap's script offered the options, and `punzip
/// <TAB>` inserted `-`), a word that starts with `-` gets the options, `-d` directories.
#[test]
fn bash_completion_offers_files_for_operands_options_for_dashes_and_directories_after_d() {
    if !have("bash") {
        eprintln!("SKIP: no bash");
        return;
    }
    let tmp = tempdir();
    std::fs::create_dir(tmp.path().join("sub")).unwrap();
    std::fs::write(tmp.path().join("a.zip"), b"").unwrap();
    for (name, tool) in [("punzip", punzip as fn() -> Command), ("phash", phash)] {
        let script = tmp.path().join(format!("{name}.bash"));
        std::fs::write(&script, generate(tool, "complete-bash")).unwrap();
        let probe = format!(
            r#"source {script}
ask() {{ COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _{name} {name} "${{!#}}" "${{COMP_WORDS[COMP_CWORD-1]}}"; echo "[${{COMPREPLY[*]}}]"; }}
ask {name} ""
ask {name} a.zip ""
ask {name} --vers
"#,
            script = script.display()
        );
        let out = run(Command::new("bash")
            .current_dir(tmp.path())
            .args(["-c", &probe]));
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[..3], ["[]", "[]", "[--version]"][..], "{name}");
    }
    let script = tmp.path().join("punzip.bash");
    let probe = format!(
        r#"source {}
COMP_WORDS=(punzip a.zip -d ""); COMP_CWORD=3; _punzip punzip "" -d; echo "[${{COMPREPLY[*]}}]""#,
        script.display()
    );
    let out = run(Command::new("bash")
        .current_dir(tmp.path())
        .args(["-c", &probe]));
    assert_eq!(stdout(&out).trim(), "[sub]", "{}", stderr(&out));
}

#[test]
fn listing_with_stats_gives_the_members_and_sizes_on_stderr_and_the_table_unchanged() {
    let dir = tempdir();
    let archive = dir.path().join("a.zip");
    let big = vec![b'x'; 5000];
    std::fs::write(
        &archive,
        util::zip_of(&[("a.txt", b"hello\n"), ("d/b.txt", &big), ("d/c", b"")]),
    )
    .unwrap();
    // Sizes from the zip crate's reader, not from our lister.
    let mut z = zip::ZipArchive::new(std::fs::File::open(&archive).unwrap()).unwrap();
    let (mut size, mut compressed) = (0u64, 0u64);
    for i in 0..z.len() {
        let f = z.by_index(i).unwrap();
        size += f.size();
        compressed += f.compressed_size();
    }
    assert_eq!(size, 5006);
    let plain = run(punzip().arg("-l").arg(&archive));
    let out = run(punzip().args(["-l", "--stats"]).arg(&archive));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        out.stdout, plain.stdout,
        "the table is the same with --stats"
    );
    let says = stderr(&out);
    let want = format!(
        "punzip: 3 members listed, {} ({} compressed), 0 errors, ",
        punzip::totals::human_bytes(size),
        punzip::totals::human_bytes(compressed)
    );
    assert!(
        says.starts_with(&want),
        "{says:?} does not start with {want:?}"
    );
    assert!(
        says.trim_end().ends_with(" s") && says.lines().count() == 1,
        "{says:?}"
    );
}

/// A run that cannot start (no such archive, not a zip, no member matching) still writes
/// JSON: an error line, then the totals line every run ends with. stdout was empty, and
/// a script reading the last line for the totals found nothing.
#[test]
fn json_says_why_a_run_could_not_start_and_ends_with_totals() {
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    std::fs::write(&zip, util::zip_of(&[("a.txt", b"a")])).unwrap();
    let text = tmp.path().join("t.txt");
    std::fs::write(&text, "not a zip").unwrap();
    let missing = tmp.path().join("missing.zip");
    let dest = tmp.path().join("out");
    let runs: [(Vec<&std::ffi::OsStr>, i32, &str); 4] = [
        (vec![missing.as_os_str()], 9, "cannot open archive"),
        (vec![text.as_os_str()], 9, "not a zip archive"),
        (
            vec!["-l".as_ref(), text.as_os_str()],
            9,
            "not a zip archive",
        ),
        (
            vec![
                zip.as_os_str(),
                "nomatch".as_ref(),
                "-d".as_ref(),
                dest.as_os_str(),
            ],
            11,
            "nomatch",
        ),
    ];
    for (args, status, says) in runs {
        let out = run(punzip().arg("--json").args(&args));
        assert_eq!(code(&out), status, "{args:?}: {}", stderr(&out));
        let lines = json_lines(&out);
        assert_eq!(lines.len(), 2, "{args:?}: {lines:?}");
        assert_eq!(lines[0]["type"], "error");
        assert!(
            lines[0]["error"].as_str().unwrap().contains(says),
            "{lines:?}"
        );
        assert_eq!(lines[1]["type"], "totals");
        assert_eq!(lines[1]["errors"], 1);
        if status == 11 {
            // The patterns that matched nothing, for a script to name.
            assert_eq!(
                lines[0]["patterns"],
                serde_json::json!(["nomatch"]),
                "{lines:?}"
            );
        }
    }
}

/// An encrypted member is listed with its compressed size less the 12-byte encryption
/// header, as unzip -v lists it; one too short to hold that header is listed as 0, not
/// as 18446744073709551609 (the subtraction wrapped).
#[test]
fn an_encrypted_member_too_short_for_its_header_lists_a_size_of_zero() {
    let tmp = tempdir();
    let archive = tmp.path().join("enc.zip");
    let mut bytes = util::raw_stored_zip(&[(b"a.txt", b"hello")]);
    let cd = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    bytes[6] |= 1; // local flags: encrypted
    bytes[cd + 8] |= 1; // central flags
    std::fs::write(&archive, bytes).unwrap();
    for args in [&["-l", "--json"][..], &["-lv", "--json"]] {
        let out = run(punzip().args(args).arg(&archive));
        let lines = json_lines(&out);
        let member = lines.iter().find(|o| o["path"] == "a.txt").unwrap();
        assert!(member["compressed_size"].as_u64().unwrap() <= 5, "{member}");
        let totals = lines.last().unwrap();
        assert!(
            totals["compressed_bytes"].as_u64().unwrap() <= 5,
            "{totals}"
        );
    }
    let out = run(punzip().arg("-lv").arg(&archive));
    assert!(
        !stdout(&out).contains("18446744073709551"),
        "{}",
        stdout(&out)
    );
}
