//! Scale and resource limits of planning: memory per entry and time linear in the
//! archive, never in its square; decoder memory bounded by what a member needs; the
//! central directory read whole when an old writer's 16-bit count wrapped; names and
//! modes from archives made elsewhere; Ctrl-C honoured while planning. Sizes are scaled
//! down for CI and every assertion is a ratio or a per-entry figure, never a wall time.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::peak_rss;
use crate::util::{code, have, punzip, run, stderr, stdout, tempdir};

/// One entry of a hand-built archive: every header field the tests need to control.
#[derive(Clone)]
struct Rec {
    name: Vec<u8>,
    data: Vec<u8>,
    /// Compression method; the data is stored as given whatever it says.
    method: u16,
    /// Size the headers declare (the data's length unless a test lies).
    size: u64,
    /// Host byte of "version made by": 0 DOS, 3 Unix.
    host: u8,
    external: u32,
    /// Extra fields for both headers.
    extra: Vec<u8>,
}

fn file(name: &str, data: &[u8]) -> Rec {
    Rec {
        name: name.as_bytes().to_vec(),
        data: data.to_vec(),
        method: 0,
        size: data.len() as u64,
        host: 3,
        external: 0o100644 << 16,
        extra: Vec::new(),
    }
}

fn symlink(name: &str, target: &str) -> Rec {
    Rec {
        external: 0o120777 << 16,
        ..file(name, target.as_bytes())
    }
}

/// A zip archive of `recs`, stored; zip64 end records only for more than 65,535 entries,
/// unless `count` overrides the end record's count (and then never).
fn build(recs: &[Rec], count: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for r in recs {
        let offset = out.len() as u32;
        let crc = libdeflater::crc32(&r.data);
        let mut common = Vec::new();
        common.extend_from_slice(&20u16.to_le_bytes()); // version needed
        common.extend_from_slice(&0u16.to_le_bytes()); // flags
        common.extend_from_slice(&r.method.to_le_bytes());
        common.extend_from_slice(&0u16.to_le_bytes()); // time
        common.extend_from_slice(&0x5821u16.to_le_bytes()); // date: 2024-01-01
        common.extend_from_slice(&crc.to_le_bytes());
        common.extend_from_slice(&(r.data.len() as u32).to_le_bytes());
        common.extend_from_slice(&(r.size as u32).to_le_bytes());
        common.extend_from_slice(&(r.name.len() as u16).to_le_bytes());
        common.extend_from_slice(&(r.extra.len() as u16).to_le_bytes());
        out.extend_from_slice(b"PK\x03\x04");
        out.extend_from_slice(&common);
        out.extend_from_slice(&r.name);
        out.extend_from_slice(&r.extra);
        out.extend_from_slice(&r.data);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&[20, r.host]);
        central.extend_from_slice(&common);
        central.extend_from_slice(&[0; 6]); // comment length, disk, internal attributes
        central.extend_from_slice(&r.external.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(&r.name);
        central.extend_from_slice(&r.extra);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    let n = match count {
        Some(n) => n,
        None if recs.len() > 0xffff => {
            // A zip64 end record and its locator carry the real count.
            let at = out.len() as u64;
            out.extend_from_slice(b"PK\x06\x06");
            out.extend_from_slice(&44u64.to_le_bytes());
            out.extend_from_slice(&[45, 3, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            out.extend_from_slice(&(recs.len() as u64).to_le_bytes());
            out.extend_from_slice(&(recs.len() as u64).to_le_bytes());
            out.extend_from_slice(&(central.len() as u64).to_le_bytes());
            out.extend_from_slice(&u64::from(cd_offset).to_le_bytes());
            out.extend_from_slice(b"PK\x06\x07\0\0\0\0");
            out.extend_from_slice(&at.to_le_bytes());
            out.extend_from_slice(&1u32.to_le_bytes());
            0xffff
        }
        None => recs.len() as u16,
    };
    out.extend_from_slice(b"PK\x05\x06\0\0\0\0");
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn save(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(bytes))
        .unwrap();
    path
}

/// Runs punzip with `args`, output discarded, and returns its exit code and the CPU time
/// it used (user + system, from wait4): unlike wall time, not stretched by whatever else
/// the machine is running.
// The child is reaped by wait4, which clippy does not see.
#[allow(clippy::zombie_processes)]
fn cpu_time(args: &[&str]) -> (i32, Duration) {
    let child = punzip()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: rusage is a plain C struct that wait4 fills in; the pid is our child's and
    // is reaped exactly once, here (the Child handle is never waited on).
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let pid = libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage);
        assert!(pid > 0, "wait4 failed");
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, tv(usage.ru_utime) + tv(usage.ru_stime))
}

/// `n` tiny files in directories of 100: the shape of the million-entry report.
fn tiny_entries(n: usize) -> Vec<Rec> {
    (0..n)
        .map(|i| file(&format!("d{}/f{i}", i / 100), b"x"))
        .collect()
}

#[test]
fn memory_grows_by_a_bounded_amount_per_entry() {
    // Planning (-l) may take 200 bytes per entry beyond the archive's own bytes (its map
    // is resident too); the zip crate's index took about 1,100. Testing (-t) runs every
    // member through the worker pool, whose window of items in flight is bounded, so it
    // keeps to the same budget.
    const N: usize = 16_000;
    let dir = tempdir();
    let small = build(&tiny_entries(N), None);
    let large = build(&tiny_entries(4 * N), None);
    let archive_per_entry = (large.len() - small.len()) as f64 / (3 * N) as f64;
    let small = save(dir.path(), "small.zip", &small);
    let large = save(dir.path(), "large.zip", &large);
    for (mode, budget) in [("-l", 200.0), ("-t", 200.0)] {
        let Some((c1, rss1)) = peak_rss(&[mode, small.to_str().unwrap()]) else {
            return;
        };
        let Some((c4, rss4)) = peak_rss(&[mode, large.to_str().unwrap()]) else {
            return;
        };
        assert_eq!((c1, c4), (0, 0), "{mode}");
        let per_entry = rss4.saturating_sub(rss1) as f64 / (3 * N) as f64;
        eprintln!("{mode}: {per_entry:.0} bytes per entry (archive: {archive_per_entry:.0})");
        assert!(
            per_entry < budget + archive_per_entry,
            "{mode}: {per_entry:.0} bytes per entry (archive: {archive_per_entry:.0})"
        );
    }
}

/// The shortest of three runs' CPU times.
fn best_time(args: &[&str]) -> Duration {
    (0..3)
        .map(|_| {
            let (c, t) = cpu_time(args);
            assert_eq!(c, 0, "{args:?}");
            t
        })
        .min()
        .unwrap()
}

#[test]
fn planning_time_is_linear_in_the_name_length_when_the_archive_has_a_symlink() {
    // Every prefix of every path was hashed once any symlink existed: quadratic in the
    // depth. Four times deeper must cost about four times more, not sixteen.
    let deep = |depth: usize| {
        let mut recs = vec![symlink("link", "d")];
        let prefix = "a/".repeat(depth);
        recs.extend((0..100).map(|i| file(&format!("{prefix}f{i}"), b"x")));
        build(&recs, None)
    };
    let dir = tempdir();
    let shallow = save(dir.path(), "shallow.zip", &deep(500));
    let deeper = save(dir.path(), "deep.zip", &deep(2000));
    let t1 = best_time(&["-t", shallow.to_str().unwrap()]);
    let t4 = best_time(&["-t", deeper.to_str().unwrap()]);
    let ratio = t4.as_secs_f64() / t1.as_secs_f64();
    eprintln!("time(4N)/time(N) = {ratio:.1} ({t1:?} vs {t4:?})");
    assert!(
        ratio < 6.0,
        "time(4N)/time(N) = {ratio:.1} ({t1:?} vs {t4:?})"
    );
}

/// A member of method `method` whose compressed data is `data` (garbage after the
/// header: the check must come before any decoding).
fn compressed(name: &str, method: u16, mut data: Vec<u8>, size: u64) -> Rec {
    data.extend_from_slice(&[0x55; 64]);
    Rec {
        method,
        size,
        ..file(name, &data)
    }
}

/// Zip's LZMA header: version 9.20, 5 bytes of properties, the dictionary size.
fn lzma_header(dict: u32) -> Vec<u8> {
    let mut h = vec![9, 20, 5, 0, 0x5d];
    h.extend_from_slice(&dict.to_le_bytes());
    h
}

/// An XZ stream header and a block header with one LZMA2 filter whose dictionary byte is
/// `dict_byte` (40 means 4 GiB - 1), both with valid CRCs, as a decoder would accept.
fn xz_header(dict_byte: u8) -> Vec<u8> {
    let mut h = vec![
        0xfd, b'7', b'z', b'X', b'Z', 0, 0, 1, 0x69, 0x22, 0xde, 0x36,
    ];
    // Block header: size byte (2 -> 12 bytes), flags (one filter), filter 0x21 with one
    // property byte, padding, then the CRC32 of those 8 bytes.
    let block = [2, 0, 0x21, 1, dict_byte, 0, 0, 0];
    h.extend_from_slice(&block);
    h.extend_from_slice(&libdeflater::crc32(&block).to_le_bytes());
    h
}

#[test]
fn a_declared_dictionary_larger_than_the_member_needs_is_refused_before_decoding() {
    let dir = tempdir();
    let archive = build(
        &[
            file("ok.txt", b"fine"),
            compressed("huge.lzma", 14, lzma_header(u32::MAX), 100),
            compressed("huge.xz", 95, xz_header(40), 100),
        ],
        None,
    );
    let path = save(dir.path(), "dict.zip", &archive);
    let out = run(punzip().args(["-t", "-j2"]).arg(&path));
    let err = stderr(&out);
    assert_eq!(code(&out), 81, "{err}");
    assert!(
        err.contains("huge.lzma: unsupported") && err.contains("dictionary"),
        "{err}"
    );
    assert!(err.contains("huge.xz: unsupported"), "{err}");
    // And nothing near the declared 4 GiB was allocated.
    if let Some((_, rss)) = peak_rss(&["-t", "-j2", path.to_str().unwrap()]) {
        assert!(rss < 256 << 20, "peak RSS {rss} bytes");
    }
}

#[test]
fn a_seven_zip_sized_dictionary_for_a_small_member_is_not_refused() {
    // 7-Zip's ultra preset declares 64 MiB even for a few bytes: a bad stream, not a
    // refusal for the dictionary.
    let dir = tempdir();
    let archive = build(
        &[compressed("small.lzma", 14, lzma_header(64 << 20), 100)],
        None,
    );
    let path = save(dir.path(), "ok.zip", &archive);
    let out = run(punzip().arg("-t").arg(&path));
    assert!(!stderr(&out).contains("dictionary"), "{}", stderr(&out));
}

/// PPMd members declaring big models (up to the format's 256 MiB, what 7-Zip's -mx=9
/// asks for files of a few MB) are not refused, but decoded one at a time: 64 members
/// declaring 256 MiB took 2 GB in `punzip -j16 -t`. Here 24 members (three runs of
/// eight, one per worker at -j3) declaring 128 MiB each.
#[test]
fn ppmd_members_with_big_models_are_decoded_one_at_a_time() {
    let dir = tempdir();
    // "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n" as 7-Zip's PPMd writes
    // it (order 9), declaring a 128 MiB model: a real stream, so the decoder builds its
    // model. The text is far too short to fill any model, so the size does not change it.
    const STREAM: &str = "f8074c251ab2787e170c7b453fc117957342522eb496596857fa24a92062fe4d\
                          0caab2305c0a1be1f9d71b260a5d4c468484924600";
    let stream: Vec<u8> = (0..STREAM.len() / 2)
        .map(|i| u8::from_str_radix(&STREAM[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let members: Vec<Rec> = (0..24)
        .map(|i| Rec {
            method: 98,
            size: 57,
            ..file(&format!("m{i:02}.txt"), &stream)
        })
        .collect();
    let path = save(dir.path(), "ppmd.zip", &build(&members, None));
    let Some((status, rss)) = peak_rss(&["-t", "-j3", path.to_str().unwrap()]) else {
        return;
    };
    // Decoded, and failed only by the CRC this builder takes of the compressed bytes.
    assert_eq!(status, 2);
    assert!(
        rss < 300 << 20,
        "peak RSS {rss} bytes: more than one model at once"
    );
}

#[test]
fn more_than_65535_entries_with_a_wrapped_count_are_all_read_with_a_note() {
    const N: usize = 70_000;
    let dir = tempdir();
    let recs: Vec<Rec> = (0..N).map(|i| file(&format!("f{i}"), b"")).collect();
    let path = save(
        dir.path(),
        "wrapped.zip",
        &build(&recs, Some((N % 65536) as u16)),
    );
    if have("python3") {
        let py = run(Command::new("python3").args([
            "-c",
            "import sys, zipfile; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))",
            path.to_str().unwrap(),
        ]));
        assert_eq!(
            stdout(&py).trim(),
            N.to_string(),
            "the oracle reads them all"
        );
    }
    let out = run(punzip().arg("-l").arg(&path));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!(" {N} files")),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("note:") && stderr(&out).contains("wrapped"),
        "{}",
        stderr(&out)
    );
    let out = run(punzip().arg("-t").arg(&path));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_count_that_is_off_in_any_other_way_is_still_ambiguous() {
    const N: usize = 70_000;
    let dir = tempdir();
    let recs: Vec<Rec> = (0..N).map(|i| file(&format!("f{i}"), b"")).collect();
    let path = save(
        dir.path(),
        "off.zip",
        &build(&recs, Some((N % 65536 + 1) as u16)),
    );
    let out = run(punzip().arg("-l").arg(&path));
    assert_eq!(code(&out), 3, "{}", stderr(&out));
}

/// Info-ZIP's Unicode Path extra field (0x7075) naming `unicode` for the raw `raw`.
fn unicode_path(raw: &str, unicode: &str) -> Vec<u8> {
    let mut data = vec![1];
    data.extend_from_slice(&libdeflater::crc32(raw.as_bytes()).to_le_bytes());
    data.extend_from_slice(unicode.as_bytes());
    let mut field = 0x7075u16.to_le_bytes().to_vec();
    field.extend_from_slice(&(data.len() as u16).to_le_bytes());
    field.extend_from_slice(&data);
    field
}

#[test]
fn a_unicode_path_that_renames_the_member_is_used_with_a_warning() {
    let dir = tempdir();
    let renamed = Rec {
        extra: unicode_path("readme.txt", "evil.sh"),
        ..file("readme.txt", b"hi\n")
    };
    let spelled = Rec {
        extra: unicode_path("cafe.txt", "café.txt"),
        ..file("cafe.txt", b"ok\n")
    };
    let path = save(dir.path(), "u.zip", &build(&[renamed, spelled], None));
    if have("unzip") {
        let listing = stdout(&run(Command::new("unzip").arg("-l").arg(&path)));
        assert!(
            listing.contains("evil.sh"),
            "the oracle uses the field: {listing}"
        );
    }
    let dest = dir.path().join("out");
    let out = run(punzip().arg(&path).arg("-d").arg(&dest));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Info-ZIP uses the Unicode Path field too; it names the file.
    assert_eq!(std::fs::read(dest.join("evil.sh")).unwrap(), b"hi\n");
    assert_eq!(std::fs::read(dest.join("café.txt")).unwrap(), b"ok\n");
    let err = stderr(&out);
    assert!(
        err.contains("note: readme.txt") && err.contains("evil.sh"),
        "{err}"
    );
    assert!(
        !err.contains("cafe.txt"),
        "a faithful spelling is silent: {err}"
    );
}

/// Permission bits of a path.
fn mode_of(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[test]
fn archives_without_unix_permissions_get_modes_from_the_umask() {
    // Made on DOS/Windows (host 0): the attributes hold no Unix mode, only the directory
    // (0x10), archive (0x20) and read-only (0x01) bits.
    let dos = |mut r: Rec, attrs: u32| {
        r.host = 0;
        r.external = attrs;
        r
    };
    let archive = build(
        &[
            dos(file("dir/", b""), 0x10),
            dos(file("dir/f.txt", b"data"), 0x20),
            dos(file("ro.txt", b"read only"), 0x21),
        ],
        None,
    );
    for (umask, dir_mode, file_mode, ro_mode) in
        [("022", 0o755, 0o644, 0o444), ("077", 0o700, 0o600, 0o400)]
    {
        let dir = tempdir();
        let path = save(dir.path(), "dos.zip", &archive);
        let dest = dir.path().join("out");
        let out = run(Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask}; exec \"$0\" -q \"$1\" -d \"$2\"",))
            .arg(env!("CARGO_BIN_EXE_punzip"))
            .arg(&path)
            .arg(&dest));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(mode_of(&dest.join("dir")), dir_mode, "umask {umask}");
        assert_eq!(mode_of(&dest.join("dir/f.txt")), file_mode, "umask {umask}");
        assert_eq!(mode_of(&dest.join("ro.txt")), ro_mode, "umask {umask}");
    }
}

#[test]
fn planning_stops_promptly_on_ctrl_c() {
    const N: usize = 300_000;
    let dir = tempdir();
    let path = save(dir.path(), "many.zip", &build(&tiny_entries(N), None));
    let path = path.to_str().unwrap();
    let start = Instant::now();
    let out = run(punzip().args(["-l", path]).stdout(Stdio::null()));
    let full = start.elapsed();
    assert_eq!(code(&out), 0);
    // Interrupt a tenth of the way through: the run must end well before a full one
    // would (the flag is checked every few thousand entries), with the interrupt status.
    let start = Instant::now();
    let child = punzip()
        .args(["-l", path])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(full / 10);
    crate::util::signal(&child, libc::SIGINT);
    let out = child.wait_with_output().unwrap();
    let taken = start.elapsed();
    assert_eq!(out.status.code(), Some(80), "{}", stderr(&out));
    assert!(
        taken < full / 2,
        "took {taken:?} after a full run of {full:?}"
    );
}

/// A process that may start no thread at all (`ulimit -u 1` for an unprivileged user; an
/// address-space limit does the same) still does the whole run, on its one thread: both
/// tools panicked (exit 101) when the worker pool could not be built, and phash waited for
/// good when a worker's read-ahead thread could not be started. Needs root, to run as
/// `nobody` under the limit (root ignores it).
#[test]
fn a_process_that_may_start_no_thread_still_does_the_whole_run() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !crate::util::have("setpriv") {
        eprintln!("SKIP: needs root and setpriv to run as nobody under ulimit -u");
        return;
    }
    let dir = crate::util::tempdir();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let tree = dir.path().join("t");
    for i in 0..300 {
        crate::util::write(
            &tree.join(format!("d{}/f{i}", i % 7)),
            format!("{i}").repeat(i).as_bytes(),
        );
    }
    // One file big enough to be read ahead on a helper thread.
    crate::util::write(&tree.join("big"), &vec![7u8; 12 << 20]);
    let mut zip = crate::util::ZipBuilder::new();
    for i in 0..200 {
        zip.file(
            &format!("d{}/f{i}", i % 5),
            format!("{i}").repeat(i).as_bytes(),
        );
    }
    let archive = dir.path().join("a.zip");
    zip.write_to(&archive);
    for p in [&tree, &archive] {
        std::process::Command::new("chmod")
            .args(["-R", "a+rwX"])
            .arg(p)
            .status()
            .unwrap();
    }
    let as_nobody = |cmd: String| {
        crate::util::run(std::process::Command::new("setpriv").args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "bash",
            "-c",
            &format!("ulimit -u 1 && exec {cmd}"),
        ]))
    };
    let want = crate::util::run(crate::util::phash().arg(&tree));
    for jobs in ["1", "2", "8"] {
        let out = as_nobody(format!(
            "{} -j{jobs} {}",
            env!("CARGO_BIN_EXE_phash"),
            tree.display()
        ));
        assert_eq!(code(&out), 0, "-j{jobs}: {}", stderr(&out));
        assert!(out.stdout == want.stdout, "-j{jobs}");
        let dest = dir.path().join(format!("out{jobs}"));
        let out = as_nobody(format!(
            "{} -q -j{jobs} {} {}",
            env!("CARGO_BIN_EXE_punzip"),
            archive.display(),
            dest.display()
        ));
        assert_eq!(code(&out), 0, "-j{jobs}: {}", stderr(&out));
        assert_eq!(crate::util::files_in_order(&dest).len(), 200, "-j{jobs}");
    }
}

/// Under a hard descriptor limit too low for the workers asked for, fewer workers do the
/// whole run, and a note says so: at `ulimit -n 10`, `punzip -j2` and `phash -j8` failed
/// partway with "Too many open files" where one worker (8 descriptors) does it all. (14
/// here, two workers' worth, leaves room for descriptors a test harness may pass on.)
#[test]
fn too_few_descriptors_for_the_workers_asked_for_means_fewer_workers_not_failures() {
    let dir = tempdir();
    let tree = dir.path().join("t");
    for i in 0..400 {
        crate::util::write(
            &tree.join(format!("d{}/e{}/f{i}", i % 9, i % 4)),
            format!("{i}").as_bytes(),
        );
    }
    let mut zip = crate::util::ZipBuilder::new();
    for i in 0..400 {
        zip.file(
            &format!("d{}/e{}/f{i}", i % 9, i % 4),
            format!("{i}").as_bytes(),
        );
    }
    let archive = dir.path().join("a.zip");
    zip.write_to(&archive);
    let want = run(crate::util::phash().arg(&tree));
    let mut cmd = crate::util::phash();
    cmd.args(["-j", "8"]).arg(&tree);
    let out = run(crate::util::limit_descriptors(&mut cmd, 14, 14));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout == want.stdout);
    assert!(
        stderr(&out).contains("note: --jobs 8 lowered to 2"),
        "{}",
        stderr(&out)
    );
    let dest = dir.path().join("out");
    let mut cmd = punzip();
    cmd.args(["-q", "-j", "8"]).arg(&archive).arg(&dest);
    let out = run(crate::util::limit_descriptors(&mut cmd, 14, 14));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(crate::util::files_in_order(&dest).len(), 400);
    assert!(
        stderr(&out).contains("note: --jobs 8 lowered to 2"),
        "{}",
        stderr(&out)
    );
}

/// Making a deep member's directories takes memory linear in its depth: each directory
/// of a 2,040-level member held a copy of every name above it (116 MB per member; a
/// 165 KB archive of 20 such members took 2.3 GB). Four members 2,000 levels deep now
/// cost what listing them costs, give or take 32 MB (the old way: about 460 MB more).
#[test]
fn deep_members_directories_take_memory_linear_in_their_depth() {
    let dir = tempdir();
    let levels = "a/".repeat(2000);
    let recs: Vec<Rec> = (0..4)
        .map(|i| file(&format!("m{i}/{levels}f"), b"x"))
        .collect();
    let zip = save(dir.path(), "deep.zip", &build(&recs, None));
    let zip = zip.to_str().unwrap();
    let dest = dir.path().join("out");
    let Some((listed, listing)) = peak_rss(&["-l", zip]) else {
        return;
    };
    let Some((extracted, extraction)) = peak_rss(&[zip, dest.to_str().unwrap()]) else {
        return;
    };
    assert_eq!((listed, extracted), (0, 0));
    eprintln!("peak RSS: listing {listing}, extraction {extraction}");
    assert!(
        extraction < listing + (32 << 20),
        "extraction peaked at {extraction} bytes, listing at {listing}"
    );
    let bottom = dest.join(format!("m3/{levels}f"));
    // The path is longer than some calls accept whole; read it from a nearer directory.
    let near = dest.join(format!("m3/{}", "a/".repeat(1000)));
    assert!(near.is_dir());
    let rest = bottom.strip_prefix(&near).unwrap();
    let out = Command::new("cat")
        .arg(rest)
        .current_dir(&near)
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"x", "{}", String::from_utf8_lossy(&out.stderr));
}

/// In a container with a memory limit, two workers each held a deflated member decoded
/// whole (up to 64 MiB each): with 80 MB and four members of 48 MB the kernel killed
/// punzip (exit 137, no message) where `-j1` and unzip succeeded. Buffers now fit the
/// control group's limit (`src/memlimit.rs`). Here 40 MB and two members of 24 MiB, small
/// enough to build fast: `phash --members` was killed so (punzip's decoding of these
/// overlaps too little to be, but is held to the same limit and checked here). Needs
/// root, a writable cgroup v1 memory controller (as on these machines) and Info-ZIP zip
/// (fast to compress them); skips otherwise.
#[test]
fn a_container_memory_limit_does_not_kill_extraction_testing_or_hashing_members() {
    use std::os::unix::process::CommandExt;
    if !have("zip") {
        eprintln!("SKIP: no Info-ZIP zip");
        return;
    }
    let own = std::fs::read_to_string("/proc/self/cgroup")
        .ok()
        .and_then(|g| {
            g.lines()
                .find_map(|l| l.split_once(":memory:").map(|(_, p)| p.to_string()))
        });
    let Some(own) = own else {
        eprintln!("SKIP: no cgroup v1 memory controller");
        return;
    };
    let group = Path::new("/sys/fs/cgroup/memory")
        .join(own.trim_start_matches('/'))
        .join(format!("punzip-test-{}", std::process::id()));
    if std::fs::create_dir(&group).is_err() {
        eprintln!("SKIP: cannot make a memory cgroup (needs root)");
        return;
    }
    struct Remove<'a>(&'a Path);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(self.0);
        }
    }
    let _remove = Remove(&group);
    if std::fs::write(group.join("memory.limit_in_bytes"), "40M").is_err() {
        eprintln!("SKIP: cannot set a memory limit");
        return;
    }
    let dir = tempdir();
    for (i, name) in ["L1", "L2"].iter().enumerate() {
        let line = format!("{i} the quick brown fox jumps over the lazy dog\n");
        let data = line.as_bytes().repeat((24 << 20) / line.len());
        std::fs::write(dir.path().join(name), data).unwrap();
    }
    let made = run(Command::new("zip")
        .current_dir(dir.path())
        .args(["-q", "-1", "a.zip", "L1", "L2"]));
    assert_eq!(code(&made), 0, "{}", stderr(&made));
    let archive = dir.path().join("a.zip");
    let procs = group.join("cgroup.procs");
    let in_group = |cmd: &mut Command| {
        let procs = procs.clone();
        // SAFETY: only a write of our own pid to a file, between fork and exec.
        unsafe {
            cmd.pre_exec(move || std::fs::write(&procs, std::process::id().to_string()));
        }
    };
    let out_dir = dir.path().join("out");
    for test in [false, true] {
        let mut cmd = punzip();
        cmd.args(["-q", "-j2"])
            .args(test.then_some("-t"))
            .arg(&archive);
        if !test {
            cmd.arg(&out_dir);
        }
        in_group(&mut cmd);
        let out = run(&mut cmd);
        assert_eq!(
            out.status.code(),
            Some(0),
            "punzip -t {test}: {:?} {}",
            out.status,
            stderr(&out)
        );
    }
    let mut cmd = crate::util::phash();
    cmd.args(["-j2", "--members"]).arg(&archive);
    in_group(&mut cmd);
    let out = run(&mut cmd);
    assert_eq!(
        out.status.code(),
        Some(0),
        "phash --members: {:?} {}",
        out.status,
        stderr(&out)
    );
    assert_eq!(stdout(&out).lines().count(), 2);
}
