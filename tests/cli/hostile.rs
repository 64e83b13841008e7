//! Hostile input and faults (issue 4): one test per attack or failure, each building its
//! archive here, with the zip writer or by patching its bytes where no writer would produce
//! the damage. Every run goes through [`Scene`], whose canary tree beside DEST must come out
//! untouched (contents and mtimes), and whose DEST may hold only the expected names and no
//! temporary file. Faults while writing (a full disk, signals, descriptors) are in
//! `hostile_faults`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Cursor, Write};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use zip::write::SimpleFileOptions;
use zip::{AesMode, CompressionMethod, ZipWriter};

use crate::util::{code, punzip, run, stderr};

// ---------------------------------------------------------------------------------------
// The canary: a tree beside DEST that no run may touch.
// ---------------------------------------------------------------------------------------

/// What a path looked like: kind, bytes or link target, mtime.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    File(Vec<u8>, i64, i64),
    Dir(i64, i64),
    Link(PathBuf),
    Other,
}

/// Every path under `root` (relative), except the subtree `skip`.
fn snapshot(root: &Path, skip: &Path) -> BTreeMap<PathBuf, Seen> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path == skip {
                continue;
            }
            let md = fs::symlink_metadata(&path).unwrap();
            let seen = if md.file_type().is_symlink() {
                Seen::Link(fs::read_link(&path).unwrap())
            } else if md.is_dir() {
                stack.push(path.clone());
                Seen::Dir(md.mtime(), md.mtime_nsec())
            } else if md.is_file() {
                Seen::File(fs::read(&path).unwrap(), md.mtime(), md.mtime_nsec())
            } else {
                Seen::Other
            };
            out.insert(path.strip_prefix(root).unwrap().to_path_buf(), seen);
        }
    }
    out
}

/// Every path below `dir`, relative, `/`-separated, without following links.
pub fn tree(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    if !dir.exists() {
        return out;
    }
    for entry in walkdir::WalkDir::new(dir).min_depth(1).follow_links(false) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(dir).unwrap();
        out.insert(rel.to_string_lossy().into_owned());
    }
    out
}

/// Every leftover temporary file below `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_iter()
        .filter(|p| {
            let name = p.rsplit('/').next().unwrap();
            name.starts_with(".punzip-") && name.ends_with(".tmp")
        })
        .collect()
}

/// A temporary directory holding a canary tree, an archive and DEST (`dest/`, not created
/// unless a test needs it to exist beforehand).
pub struct Scene {
    pub root: tempfile::TempDir,
    pub dest: PathBuf,
    pub archive: PathBuf,
    before: BTreeMap<PathBuf, Seen>,
}

impl Scene {
    /// Writes the canary tree and `archive`; the canary is recorded after
    /// [`Scene::seal`] (call it once DEST is prepared) or at the first run.
    pub fn new(archive: &[u8]) -> Scene {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        fs::create_dir_all(r.join("canary/dir/deeper")).unwrap();
        fs::write(r.join("canary/file.txt"), b"canary file\n").unwrap();
        fs::write(r.join("canary/dir/inner.txt"), b"inner canary\n").unwrap();
        fs::write(r.join("canary/dir/deeper/deep.txt"), b"deep canary\n").unwrap();
        symlink("file.txt", r.join("canary/link")).unwrap();
        fs::create_dir(r.join("outside")).unwrap();
        fs::write(r.join("outside/target.txt"), b"outside\n").unwrap();
        let archive_path = r.join("archive.zip");
        fs::write(&archive_path, archive).unwrap();
        // Old mtimes make any later touch visible even within the same second.
        for p in [
            "canary/file.txt",
            "canary/dir/inner.txt",
            "outside/target.txt",
        ] {
            let f = fs::File::options().write(true).open(r.join(p)).unwrap();
            f.set_modified(std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000))
                .unwrap();
        }
        let dest = r.join("dest");
        let before = snapshot(r, &dest);
        Scene {
            dest,
            archive: archive_path,
            before,
            root,
        }
    }

    /// Re-records the canary after a test prepared DEST or the surroundings on purpose.
    pub fn seal(&mut self) {
        self.before = snapshot(self.root.path(), &self.dest);
    }

    /// Runs punzip on the archive into DEST with `args`.
    pub fn punzip(&self, args: &[&str]) -> Output {
        self.punzip_with(args, Some(&self.dest))
    }

    /// punzip on the archive with `args` and no DEST operand.
    pub fn punzip_only(&self, args: &[&str]) -> Output {
        self.punzip_with(args, None)
    }

    fn punzip_with(&self, args: &[&str], dest: Option<&Path>) -> Output {
        let out = run(punzip()
            .args(args)
            .arg(&self.archive)
            .args(dest)
            .current_dir(self.root.path()));
        assert_ne!(code(&out), 101, "punzip panicked: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        out
    }

    /// The canary, DEST's surroundings and the archive are as they were, and no temporary
    /// file is left anywhere in the scene.
    pub fn assert_untouched(&self) {
        let after = snapshot(self.root.path(), &self.dest);
        for (path, seen) in &self.before {
            assert_eq!(after.get(path), Some(seen), "{} changed", path.display());
        }
        let new: Vec<_> = after
            .keys()
            .filter(|p| !self.before.contains_key(*p))
            .collect();
        assert!(new.is_empty(), "created outside DEST: {new:?}");
        let temps = temp_files(self.root.path());
        assert!(temps.is_empty(), "temporary files left: {temps:?}");
    }

    /// [`Scene::assert_untouched`], and DEST holds exactly `expected`.
    pub fn assert_dest(&self, expected: &[&str]) {
        self.assert_untouched();
        let want: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
        assert_eq!(tree(&self.dest), want, "DEST holds unexpected names");
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        fs::read(self.dest.join(rel)).unwrap()
    }
}

// ---------------------------------------------------------------------------------------
// Building archives: the zip writer, and raw patches for what it will not write.
// ---------------------------------------------------------------------------------------

pub(crate) fn stored() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .unix_permissions(0o644)
}

pub(crate) fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o644)
}

/// An archive of regular files, stored.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, stored()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Entry kinds for [`zip_with`].
pub(crate) enum E<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Link(&'a str, &'a str),
}

pub(crate) fn zip_with(entries: &[E<'_>]) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for e in entries {
        match e {
            E::File(name, data) => {
                w.start_file(*name, stored()).unwrap();
                w.write_all(data).unwrap();
            }
            E::Dir(name) => w.add_directory(*name, stored()).unwrap(),
            E::Link(name, target) => w.add_symlink(*name, *target, stored()).unwrap(),
        }
    }
    w.finish().unwrap().into_inner()
}

fn u16_at(b: &[u8], i: usize) -> usize {
    usize::from(u16::from_le_bytes([b[i], b[i + 1]]))
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
}

pub(crate) fn put_u16(b: &mut [u8], i: usize, v: u16) {
    b[i..i + 2].copy_from_slice(&v.to_le_bytes());
}

pub(crate) fn put_u32(b: &mut [u8], i: usize, v: u32) {
    b[i..i + 4].copy_from_slice(&v.to_le_bytes());
}

/// Offset of the end-of-central-directory record.
fn eocd(b: &[u8]) -> usize {
    (0..=b.len() - 22)
        .rev()
        .find(|&i| b[i..i + 4] == *b"PK\x05\x06")
        .expect("archive has an EOCD")
}

/// One entry of the central directory, by its offsets in the archive.
pub(crate) struct Entry {
    /// Central directory header.
    pub(crate) cdh: usize,
    /// Local file header.
    pub(crate) lfh: usize,
}

impl Entry {
    pub(crate) fn data(&self, b: &[u8]) -> usize {
        self.lfh + 30 + u16_at(b, self.lfh + 26) + u16_at(b, self.lfh + 28)
    }
    pub(crate) fn name_len(&self, b: &[u8]) -> usize {
        u16_at(b, self.cdh + 28)
    }
}

pub(crate) fn entries(b: &[u8]) -> Vec<Entry> {
    let e = eocd(b);
    let mut pos = u32_at(b, e + 16) as usize;
    let mut out = Vec::new();
    for _ in 0..u16_at(b, e + 10) {
        assert_eq!(&b[pos..pos + 4], b"PK\x01\x02");
        out.push(Entry {
            cdh: pos,
            lfh: u32_at(b, pos + 42) as usize,
        });
        pos += 46 + u16_at(b, pos + 28) + u16_at(b, pos + 30) + u16_at(b, pos + 32);
    }
    out
}

/// Replaces every occurrence of `from` by `to` (same length): both headers' names.
fn patch_name(b: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut hits = 0;
    for i in 0..=b.len() - from.len() {
        if &b[i..i + from.len()] == from {
            b[i..i + from.len()].copy_from_slice(to);
            hits += 1;
        }
    }
    assert!(hits > 0, "{from:?} not found");
}

/// Sets a member's Unix mode in its external attributes.
pub(crate) fn set_unix_mode(b: &mut [u8], e: &Entry, mode: u32) {
    put_u16(b, e.cdh + 4, 3 << 8 | 63); // made by Unix
    put_u32(b, e.cdh + 38, mode << 16);
}

/// Sets a member's declared sizes in both headers.
fn set_sizes(b: &mut [u8], e: &Entry, compressed: u32, uncompressed: u32) {
    put_u32(b, e.cdh + 20, compressed);
    put_u32(b, e.cdh + 24, uncompressed);
    put_u32(b, e.lfh + 18, compressed);
    put_u32(b, e.lfh + 22, uncompressed);
}

fn err_lines(out: &Output) -> String {
    stderr(out)
}

/// Whether `text` mentions `name` (as punzip prints it: control characters escaped).
fn names(text: &str, name: &str) -> bool {
    text.contains(&*punzip::error::shown(name))
}

// ---------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------

#[test]
fn path_escapes_are_refused_by_name_and_the_rest_is_extracted() {
    let probe = tempfile::tempdir().unwrap();
    let absolute = probe.path().join("pwned-absolute");
    let absolute = absolute.to_str().unwrap();
    let long_component = format!("long/{}", "c".repeat(300));
    let long_path = vec!["p".repeat(200); 25].join("/");
    let bad: Vec<&str> = vec![
        "../escape.txt",
        "a/../../escape2.txt",
        "..\\..\\escape3.txt",
        "a\\..\\..\\escape4.txt",
        absolute,
        "\\\\server\\share\\x.txt",
        "C:\\Windows\\x.txt",
        "c:drive-relative.txt",
        "nul\0byte.txt",
        ".",
        "./",
        "",
        "a/..",
        &long_component,
        &long_path,
        ".punzip-1-1.tmp",
    ];
    let good: &[(&str, &[u8])] = &[
        ("good.txt", b"good"),
        ("dir/ok.txt", b"ok"),
        ("dot/./norm//x.txt", b"normalised"),
        ("back\\slash.txt", b"backslash"),
        ("up/../down.txt", b"down"),
    ];
    let mut all: Vec<(&str, &[u8])> = bad.iter().map(|n| (*n, &b"evil"[..])).collect();
    all.extend_from_slice(good);
    let archive = zip_of(&all);
    for jobs in ["1", "4"] {
        let s = Scene::new(&archive);
        let out = s.punzip(&["-j", jobs]);
        assert_ne!(code(&out), 0);
        let err = err_lines(&out);
        for name in &bad {
            assert!(names(&err, name), "{name:?} not named in:\n{err}");
        }
        assert_eq!(err.matches("refused").count(), bad.len(), "{err}");
        // Said once, as unzip warns of it ("appears to use backslashes as path
        // separators"), and counted for nothing.
        assert!(
            err.contains("note: back\\slash.txt: names use backslashes as path separators"),
            "{err}"
        );
        s.assert_dest(&[
            "good.txt",
            "dir",
            "dir/ok.txt",
            "dot",
            "dot/norm",
            "dot/norm/x.txt",
            "back",
            "back/slash.txt",
            "down.txt",
        ]);
        assert_eq!(s.read("dot/norm/x.txt"), b"normalised");
        assert!(!Path::new(absolute).exists());
    }
}

// ---------------------------------------------------------------------------------------
// Symlinks
// ---------------------------------------------------------------------------------------

#[test]
fn symlinks_leaving_dest_are_refused_unless_allowed() {
    let archive = zip_with(&[
        E::File("good.txt", b"good"),
        E::Link("ok", "good.txt"),
        E::Link("up", "../canary/file.txt"),
        E::Link("abs", "/etc/passwd"),
        // A chain: y is DEST itself, so y/../../.. climbs out although it looks lexically
        // like it stays at DEST's level.
        E::Dir("a/b/"),
        E::Link("a/b/y", "../.."),
        E::Link("a/b/x", "y/../../.."),
    ]);
    let s = Scene::new(&archive);
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    for refused in ["up", "abs", "a/b/x"] {
        assert!(err.contains(&format!("{refused}: refused")), "{err}");
    }
    s.assert_dest(&["good.txt", "ok", "a", "a/b", "a/b/y"]);
    assert_eq!(
        fs::read_link(s.dest.join("ok")).unwrap(),
        Path::new("good.txt")
    );

    let s = Scene::new(&archive);
    let out = s.punzip(&["--allow-unsafe-symlinks"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    s.assert_dest(&["good.txt", "ok", "up", "abs", "a", "a/b", "a/b/y", "a/b/x"]);
    assert_eq!(
        fs::read_link(s.dest.join("abs")).unwrap(),
        Path::new("/etc/passwd")
    );
}

/// A symlink with an empty target, or one holding a NUL byte, is refused as what it is,
/// in every mode (each was said to leave the destination; unzip makes an empty file of
/// the first, mode 777).
#[test]
fn a_symlink_with_an_empty_target_is_refused_as_such() {
    let archive = zip_with(&[
        E::File("good.txt", b"good"),
        E::Link("empty", ""),
        E::Link("nul", "x\0y"),
    ]);
    for args in [&[][..], &["--allow-unsafe-symlinks"], &["-t"]] {
        let s = Scene::new(&archive);
        let out = if args == ["-t"] {
            s.punzip_only(args)
        } else {
            s.punzip(args)
        };
        assert_eq!(code(&out), 1, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("empty: refused: symlink with an empty target"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("nul: refused: symlink target \"x\\u{0}y\" holds a NUL byte"),
            "{args:?}: {}",
            stderr(&out)
        );
        if args != ["-t"] {
            s.assert_dest(&["good.txt"]);
        }
    }
}

#[test]
fn a_member_written_through_a_symlink_member_is_refused_whatever_the_job_count() {
    // Even with unsafe links allowed, x/pwned.txt must not land in the canary via x.
    let archive = zip_with(&[
        E::Link("x", "../canary"),
        E::File("x/pwned.txt", b"pwned"),
        E::Dir("x/sub/"),
        E::File("y/ok.txt", b"ok"),
    ]);
    for jobs in ["1", "4", "1", "4", "4"] {
        let s = Scene::new(&archive);
        let out = s.punzip(&["--allow-unsafe-symlinks", "-j", jobs]);
        assert_ne!(code(&out), 0);
        let err = stderr(&out);
        assert!(err.contains("x/pwned.txt: refused"), "{err}");
        assert!(err.contains("x/sub/: refused"), "{err}");
        s.assert_dest(&["x", "y", "y/ok.txt"]);
    }
}

#[test]
fn an_existing_symlink_in_dest_is_never_followed() {
    let archive = zip_with(&[
        E::File("x/pwned.txt", b"pwned"),
        E::Dir("x/sub/"),
        E::File("f", b"replaces the link, not its target"),
        E::File("ok.txt", b"ok"),
    ]);
    for jobs in ["1", "4", "1", "4"] {
        let mut s = Scene::new(&archive);
        fs::create_dir(&s.dest).unwrap();
        symlink("../canary", s.dest.join("x")).unwrap();
        symlink("../outside/target.txt", s.dest.join("f")).unwrap();
        s.seal();
        // Without -o, f is a conflict: nothing is written at all.
        let out = s.punzip(&["-j", jobs]);
        assert_ne!(code(&out), 0);
        assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
        s.assert_dest(&["x", "f"]);
        // With -o, the link f itself is replaced; x is still not followed.
        let out = s.punzip(&["-o", "-j", jobs]);
        assert_ne!(code(&out), 0);
        let err = stderr(&out);
        assert!(err.contains("not followed"), "{err}");
        assert!(err.contains("pwned.txt"), "{err}");
        s.assert_dest(&["x", "f", "ok.txt"]);
        assert!(fs::symlink_metadata(s.dest.join("x")).unwrap().is_symlink());
        assert_eq!(s.read("f"), b"replaces the link, not its target");
    }
}

// ---------------------------------------------------------------------------------------
// Duplicates and case
// ---------------------------------------------------------------------------------------

#[test]
fn duplicate_member_names_are_an_error_naming_both_entries() {
    let mut archive = zip_of(&[
        ("other.txt", b"other"),
        ("dupA.txt", b"first"),
        ("dupB.txt", b"second"),
    ]);
    patch_name(&mut archive, b"dupB.txt", b"dupA.txt");
    let s = Scene::new(&archive);
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("dupA.txt: duplicate member name (central directory entries 2 and 3)"),
        "{err}"
    );
    // Neither copy wins silently.
    s.assert_dest(&["other.txt"]);

    // Patterns select a duplicated name as any other: matched, then refused. A pattern
    // that matched only the duplicate said "filename not matched" (exit 11) and hid why.
    for pattern in ["dupA.txt", "dup*"] {
        let s = Scene::new(&archive);
        let out = s.punzip(&["-i", pattern]);
        assert_eq!(code(&out), 2, "{pattern}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("dupA.txt: duplicate member name"), "{err}");
        assert!(!err.contains("not matched"), "{err}");
    }
    // One that leaves the duplicate out extracts what it names, with no error: unzip
    // does not look at members the patterns leave out.
    let s = Scene::new(&archive);
    let out = s.punzip(&["-i", "other.txt"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    s.assert_dest(&["other.txt"]);
}

/// Local and central raw names may differ when the local header's Unicode Path field
/// gives the central name (a Windows writer's placeholder: libarchive's
/// `test_read_format_zip_7075_utf8_paths.zip`), but not when the local raw name would
/// take a reader of raw names elsewhere (`../x`, another depth). The first is extracted
/// with a warning that counts, as unzip's "mismatching local filename" does (exit 1, and
/// a `--json` warning line: it was printed, with exit 0 and nothing in the JSON).
#[test]
fn a_local_placeholder_name_agrees_only_when_it_stays_in_place() {
    use crate::util::{raw_zip, RawEntry};
    let up = |name: &str| {
        let mut f = 0x7075u16.to_le_bytes().to_vec();
        f.extend((5 + name.len() as u16).to_le_bytes());
        f.push(1);
        f.extend(0u32.to_le_bytes()); // a CRC of the other header's name
        f.extend(name.as_bytes());
        f
    };
    let entry = |local: &'static [u8]| RawEntry {
        extra: up("caf\u{e9}.txt"),
        local_name: Some(local),
        ..RawEntry::new("caf\u{e9}.txt".as_bytes(), b"x")
    };
    for (local, ok) in [
        (&b"caf_.txt"[..], true),
        (b"../x.txt", false),
        (b"a/caf_.txt", false),
    ] {
        let s = Scene::new(&raw_zip(&[entry(local)]));
        let out = s.punzip(&[]);
        let what = String::from_utf8_lossy(local);
        if ok {
            assert_eq!(code(&out), 1, "{what}: {}", stderr(&out));
            s.assert_dest(&["caf\u{e9}.txt"]);
            // Said, as unzip says it.
            assert!(
                stderr(&out).contains("Unicode Path field"),
                "{}",
                stderr(&out)
            );
            if crate::util::have("unzip") {
                let u = run(Command::new("unzip")
                    .arg("-o")
                    .arg(&s.archive)
                    .arg("-d")
                    .arg(s.root.path().join("by-unzip")));
                assert_eq!(code(&u), 1, "unzip: {}", crate::util::stdout(&u));
            }
            let json = run(punzip()
                .arg("--json")
                .arg("-t")
                .arg(&s.archive)
                .current_dir(s.root.path()));
            assert_eq!(code(&json), 1, "{}", stderr(&json));
            let text = String::from_utf8_lossy(&json.stdout);
            let warning = text.lines().find(|l| l.contains(r#""type":"warning""#));
            assert!(
                warning.is_some_and(|l| l.contains("Unicode Path field")),
                "{text}"
            );
            assert!(text.contains(r#""warnings":1"#), "{text}");
        } else {
            assert_eq!(code(&out), 2, "{what}: {}", stderr(&out));
            assert!(
                stderr(&out).contains("disagree"),
                "{what}: {}",
                stderr(&out)
            );
            s.assert_dest(&[]);
        }
    }
}

/// A directory entry written twice (`META-INF/`, as some jar tools do) is no conflict:
/// unzip, bsdtar and 7-Zip pass over it, and a valid jar failed `-t` and `-l` with exit 2.
#[test]
fn a_repeated_directory_entry_is_passed_over_as_unzip_does() {
    let mut archive = zip_of(&[
        ("META-INF/", b""),
        ("META-INX/", b""),
        ("META-INF/MANIFEST.MF", b"m"),
    ]);
    patch_name(&mut archive, b"META-INX/", b"META-INF/");
    let s = Scene::new(&archive);
    for args in [&["-t"][..], &["-l"]] {
        let out = s.punzip_only(args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    }
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    s.assert_dest(&["META-INF", "META-INF/MANIFEST.MF"]);
    if crate::util::have("unzip") {
        let theirs = run(Command::new("unzip").arg("-t").arg(&s.archive));
        assert_eq!(code(&theirs), 0, "unzip -t: {}", stderr(&theirs));
    }
}

#[test]
fn names_differing_only_in_case_give_a_warning_and_are_both_extracted() {
    let archive = zip_of(&[("Readme.txt", b"one"), ("README.txt", b"two")]);
    let s = Scene::new(&archive);
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("note: README.txt: differs only in case from Readme.txt"),
        "{err}"
    );
    s.assert_dest(&["Readme.txt", "README.txt"]);
}

/// Where names fold (FAT, exFAT, macOS), names differing only in case are one file, and
/// which content stays must be the one unzip and `-j1` leave (the last with -o, the first
/// with -n), not whichever worker finished last (a 3 MB `Big.bin` finished after a small
/// `big.bin` and won with -o). So the later twins are written after every other member,
/// one at a time, in archive order: seen here in the order of the member lines.
#[test]
fn names_differing_only_in_case_are_written_last_in_archive_order() {
    let big = vec![b'U'; 3 << 20];
    let archive = zip_of(&[
        ("Big.bin", &big),
        ("a.txt", b"a"),
        ("BIG.bin", b"second"),
        ("b.txt", b"b"),
        ("big.bin", b"third"),
        ("c.txt", b"c"),
    ]);
    for jobs in ["1", "2"] {
        let s = Scene::new(&archive);
        let out = s.punzip(&["--json", "-j", jobs]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let paths: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["type"] == "member").then(|| v["path"].as_str().unwrap().to_string())
            })
            .collect();
        assert_eq!(
            paths,
            ["Big.bin", "a.txt", "b.txt", "c.txt", "BIG.bin", "big.bin"],
            "-j{jobs}"
        );
        // Here (names do not fold) each is its own file.
        assert_eq!(std::fs::read(s.dest.join("big.bin")).unwrap(), b"third");
        assert_eq!(std::fs::read(s.dest.join("BIG.bin")).unwrap(), b"second");
    }
}

/// Whoever writes the archive while punzip reads it (a download or rsync still going,
/// another user's shared file) must not get bytes past the CRC: a stored member was
/// checked in the shared map, then written from it, and a block changed in between was
/// extracted with "ok", exit 0, in about one run of four. Now each chunk is checked as
/// it is copied out, so a run either extracts the member's true bytes or fails it.
#[test]
fn a_stored_member_changing_under_the_run_is_never_extracted_unchecked() {
    use std::os::unix::fs::FileExt;
    let data: Vec<Vec<u8>> = (0..4u8)
        .map(|i| crate::util::incompressible(4 << 20, i))
        .collect();
    let entries: Vec<(String, &[u8])> = data
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("m{i}"), &d[..]))
        .collect();
    let named: Vec<(&str, &[u8])> = entries.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let archive = zip_of(&named);
    // The middle of m2's data, found by its bytes.
    let probe = &data[2][2 << 20..(2 << 20) + 64];
    let at = archive.windows(64).position(|w| w == probe).unwrap() as u64;
    let good = data[2][2 << 20..(2 << 20) + 4096].to_vec();
    for run in 0..20 {
        let s = Scene::new(&archive);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&s.archive)
            .unwrap();
        let done = std::sync::atomic::AtomicBool::new(false);
        let out = std::thread::scope(|scope| {
            scope.spawn(|| {
                let mut k = 0u32;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let block = if k.is_multiple_of(2) {
                        vec![b'E'; 4096]
                    } else {
                        good.clone()
                    };
                    file.write_all_at(&block, at).unwrap();
                    k += 1;
                }
                file.write_all_at(&good, at).unwrap();
            });
            let out = s.punzip(&["-q", "-j", if run % 2 == 0 { "1" } else { "2" }]);
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            out
        });
        let m2 = s.dest.join("m2");
        match code(&out) {
            0 => assert_eq!(std::fs::read(&m2).unwrap(), data[2], "run {run}: exit 0"),
            2 => {
                assert!(stderr(&out).contains("m2: bad CRC-32"), "{}", stderr(&out));
                assert!(!m2.exists(), "run {run}: a member that failed is not left");
            }
            c => panic!("run {run}: exit {c}: {}", stderr(&out)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Zip bombs
// ---------------------------------------------------------------------------------------

fn assert_bomb_refused(archive: &[u8]) {
    for jobs in ["1", "4"] {
        let s = Scene::new(archive);
        let out = s.punzip(&["-j", jobs]);
        assert_eq!(code(&out), 12, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("overlapped components"),
            "{}",
            stderr(&out)
        );
        // Refused before anything is written: DEST is not even created.
        assert!(!s.dest.exists());
        s.assert_untouched();
    }
}

#[test]
fn central_entries_sharing_one_local_header_are_refused_before_writing() {
    let mut archive = zip_of(&[("a.txt", b"aaaa"), ("b.txt", b"bbbb")]);
    let es = entries(&archive);
    let lfh_a = es[0].lfh as u32;
    put_u32(&mut archive, es[1].cdh + 42, lfh_a);
    assert_bomb_refused(&archive);
}

#[test]
fn a_member_whose_data_covers_the_next_local_header_is_refused() {
    // The quoted-overlap bomb: a's data reaches over b's local header.
    let mut archive = zip_of(&[("a.txt", b"aaaa"), ("b.txt", b"bbbb")]);
    let es = entries(&archive);
    let len = (es[1].data(&archive) + 4 - es[0].data(&archive)) as u32;
    set_sizes(&mut archive, &es[0], len, len);
    assert_bomb_refused(&archive);
}

#[test]
fn a_member_whose_data_runs_into_the_central_directory_is_refused() {
    let mut archive = zip_of(&[("a.txt", b"aaaa"), ("b.txt", b"bbbb")]);
    let es = entries(&archive);
    let cd = es[0].cdh;
    let len = (cd + 10 - es[1].data(&archive)) as u32;
    set_sizes(&mut archive, &es[1], len, len);
    assert_bomb_refused(&archive);
}

#[test]
fn a_member_inflating_beyond_its_declared_size_is_stopped_and_reported() {
    let big = vec![b'z'; 200_000];
    for opts in [stored(), deflated()] {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        w.start_file("ok.txt", stored()).unwrap();
        w.write_all(b"fine").unwrap();
        w.start_file("liar.txt", opts).unwrap();
        w.write_all(&big).unwrap();
        let mut archive = w.finish().unwrap().into_inner();
        let es = entries(&archive);
        let compressed = u32_at(&archive, es[1].cdh + 20);
        set_sizes(&mut archive, &es[1], compressed, 1000);
        for jobs in ["1", "4"] {
            let s = Scene::new(&archive);
            let out = s.punzip(&["-j", jobs]);
            assert_eq!(code(&out), 2, "{}", stderr(&out));
            let err = stderr(&out);
            assert!(
                err.contains("liar.txt: inflates beyond its declared size of 1000 bytes; stopped"),
                "{err}"
            );
            s.assert_dest(&["ok.txt"]);
        }
    }
}

#[test]
fn max_size_caps_the_total_output_before_anything_is_written() {
    let data = vec![7u8; 10 * 1024];
    let archive = zip_of(&[("a", &data), ("b", &data), ("c", &data)]);
    let s = Scene::new(&archive);
    let out = s.punzip(&["--max-size", "20K"]);
    assert_eq!(code(&out), 50, "{}", stderr(&out));
    assert!(stderr(&out).contains("--max-size"), "{}", stderr(&out));
    s.assert_dest(&[]);
    let out = s.punzip(&["--max-size", "30K"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    s.assert_dest(&["a", "b", "c"]);
}

// ---------------------------------------------------------------------------------------
// Damage
// ---------------------------------------------------------------------------------------

fn three_members() -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("one.txt", stored()).unwrap();
    w.write_all(b"first member").unwrap();
    w.start_file("two.txt", deflated()).unwrap();
    w.write_all(&b"second member ".repeat(100)).unwrap();
    w.start_file("three.txt", stored()).unwrap();
    w.write_all(b"third member").unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn truncated_archives_fail_cleanly_and_write_nothing() {
    let archive = three_members();
    for cut in [
        0,
        10,
        archive.len() / 2,
        archive.len() - 30,
        archive.len() - 1,
    ] {
        let s = Scene::new(&archive[..cut]);
        let out = s.punzip(&[]);
        let c = code(&out);
        assert!(
            [2, 3, 9].contains(&c),
            "cut at {cut}: exit {c}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).starts_with("punzip: "), "{}", stderr(&out));
        s.assert_dest(&[]);
    }
}

#[test]
fn a_bad_end_of_central_directory_is_a_severe_error() {
    let mut archive = three_members();
    let e = eocd(&archive);
    let len = archive.len() as u32;
    put_u32(&mut archive, e + 16, len + 1000); // central directory beyond the end
    let s = Scene::new(&archive);
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    s.assert_dest(&[]);
}

#[test]
fn an_end_record_hiding_members_is_refused_as_ambiguous() {
    // A fake EOCD inside the archive comment, pointing at the real central directory but
    // declaring one member of three: a reader that trusts it sees a different archive
    // than one that finds the real record. punzip refuses the ambiguity.
    let archive = three_members();
    let e = eocd(&archive);
    let mut fake = archive[e..e + 22].to_vec();
    put_u16(&mut fake, 8, 1);
    put_u16(&mut fake, 10, 1);
    let mut hidden = archive[..e + 20].to_vec();
    hidden.extend_from_slice(&(fake.len() as u16).to_le_bytes());
    hidden.extend_from_slice(&fake);
    let s = Scene::new(&hidden);
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("two end records") && stderr(&out).contains("ambiguous archive"),
        "{}",
        stderr(&out)
    );
    s.assert_dest(&[]);
}

/// One end record (no second one) declaring one entry of three: a reader that trusts
/// the count sees one member, a reader that walks the directory three.
#[test]
fn an_end_record_declaring_fewer_entries_than_its_directory_holds_is_refused() {
    let mut archive = three_members();
    let e = eocd(&archive);
    put_u16(&mut archive, e + 8, 1);
    put_u16(&mut archive, e + 10, 1);
    let s = Scene::new(&archive);
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("some entries would be hidden"),
        "{}",
        stderr(&out)
    );
    s.assert_dest(&[]);
}

/// An end record whose directory size disagrees with the records the offset leads to:
/// Python's zipfile, which finds the directory by its size, sees no members where punzip
/// saw three. Refused as ambiguous, whatever the size says (0, too small, too large).
#[test]
fn an_end_record_whose_directory_size_disagrees_is_refused_as_ambiguous() {
    let good = three_members();
    let e = eocd(&good);
    let size = u32_at(&good, e + 12);
    for wrong in [0, size - 46, size + 10] {
        let mut archive = good.clone();
        put_u32(&mut archive, e + 12, wrong);
        let s = Scene::new(&archive);
        let out = s.punzip(&[]);
        assert_eq!(code(&out), 3, "size {wrong}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("declares a central directory of {wrong} bytes")),
            "{}",
            stderr(&out)
        );
        s.assert_dest(&[]);
    }
}

#[test]
fn local_and_central_headers_that_disagree_refuse_the_member() {
    let mut archive = three_members();
    let es = entries(&archive);
    // The local header of two.txt now says tw0.txt.
    let at = es[1].lfh + 30 + 2;
    assert_eq!(es[1].name_len(&archive), 7);
    archive[at] = b'0';
    for jobs in ["1", "4"] {
        let s = Scene::new(&archive);
        let out = s.punzip(&["-j", jobs]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(stderr(&out).contains("two.txt:"), "{}", stderr(&out));
        s.assert_dest(&["one.txt", "three.txt"]);
    }
}

/// The local header's method, encryption flag, CRC and sizes must agree with the central
/// record's, as its name must: front-to-back readers (`unzip -p` of a stream, bsdtar,
/// scanners) take the local ones. A local CRC that Info-ZIP's `unzip -t` calls bad passed
/// `punzip -t`, and a local method of "stored" made `-p` write other bytes than
/// `unzip -p`. Behind a data descriptor (flag bit 3) only the method and the encryption
/// flag are compared: streaming writers put zeros in the rest, and Info-ZIP's `zip -e` to
/// a pipe the DOS time in the CRC field (such archives were refused).
#[test]
fn local_method_flags_crc_and_sizes_that_disagree_refuse_the_member() {
    let good = three_members();
    let es = entries(&good);
    let at = es[1].lfh;
    let patched = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (patched(&|b| put_u16(b, at + 8, 0)), "compression method 0"),
        (
            patched(&|b| put_u16(b, at + 6, 1)),
            "encrypted by one header",
        ),
        (patched(&|b| b[at + 14] ^= 1), "CRC"),
        (patched(&|b| put_u32(b, at + 18, 6)), "compressed size 6"),
        (patched(&|b| put_u32(b, at + 22, 6)), "size 6"),
    ];
    for (archive, says) in cases {
        let s = Scene::new(&archive);
        let out = s.punzip(&[]);
        assert_eq!(code(&out), 2, "{says}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("two.txt: local and central headers disagree") && err.contains(says),
            "{says}: {err}"
        );
        s.assert_dest(&["one.txt", "three.txt"]);
    }
    // Streaming writers' local headers: bit 3, then zeros, or Info-ZIP's time as CRC.
    for crc in [0, 0x40a1_0000] {
        let streamed = patched(&|b| {
            put_u16(b, at + 6, 8);
            put_u32(b, at + 14, crc);
            put_u32(b, at + 18, 0);
            put_u32(b, at + 22, 0);
        });
        let s = Scene::new(&streamed);
        let out = s.punzip(&[]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        s.assert_dest(&["one.txt", "three.txt", "two.txt"]);
    }
    // The real thing, with unzip as the oracle.
    if crate::util::have("zip") && crate::util::have("unzip") {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a.txt"), b"secret text\n".repeat(50)).unwrap();
        let made = Command::new("sh")
            .arg("-c")
            .arg("zip -q -e -P pw - a.txt | cat > e.zip")
            .current_dir(dir.path())
            .status()
            .unwrap();
        assert!(made.success());
        let e = dir.path().join("e.zip");
        let theirs = run(Command::new("unzip").args(["-qt", "-P", "pw"]).arg(&e));
        assert_eq!(code(&theirs), 0, "unzip: {}", stderr(&theirs));
        let ours = run(punzip().args(["-t", "-P", "pw"]).arg(&e));
        assert_eq!(code(&ours), 0, "{}", stderr(&ours));
    }
}

/// An entry named as a directory (a name ending in `/` or `\`) that holds data is refused:
/// it was made a directory and its bytes dropped with exit 0, and `-t` never tested them
/// (unzip -t reports a bad CRC when there is one). The other members are extracted.
#[test]
fn a_directory_entry_that_holds_data_is_refused_not_emptied() {
    use crate::util::{raw_zip, RawEntry};
    let data = b"payload ".repeat(50);
    for entry in [
        RawEntry::new(b"slash/", &data),
        RawEntry::new(b"back\\", &data),
    ] {
        let name = String::from_utf8_lossy(entry.name).into_owned();
        let archive = raw_zip(&[RawEntry::new(b"ok.txt", b"fine"), entry]);
        let s = Scene::new(&archive);
        let out = s.punzip(&[]);
        assert_eq!(code(&out), 2, "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "{name}: marked as a directory, but holds 400 bytes"
            )),
            "{name}: {}",
            stderr(&out)
        );
        s.assert_dest(&["ok.txt"]);
        let out = s.punzip_only(&["-t"]);
        assert_eq!(code(&out), 2, "-t {name}: {}", stderr(&out));
    }
    // 400 bytes behind a declared size of 0 (unzip -t: "ucsize 0 <> csize 400").
    let mut hidden = raw_zip(&[RawEntry::new(b"d/", &data)]);
    let cd = hidden.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    hidden[cd + 24..cd + 28].copy_from_slice(&0u32.to_le_bytes());
    hidden[22..26].copy_from_slice(&0u32.to_le_bytes());
    let s = Scene::new(&hidden);
    let out = s.punzip_only(&["-t"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("d/: marked as a directory, but holds 0 bytes of data (400 compressed)"),
        "{}",
        stderr(&out)
    );
}

/// An entry whose attributes alone say directory (a Unix directory mode, the DOS directory
/// attribute) but that holds data is a file, as unzip and Python's zipfile make it, tested
/// and listed as one. It was refused, exit 2, and its bytes lost where unzip exits 0.
#[test]
fn an_entry_only_its_attributes_call_a_directory_is_a_file_when_it_holds_data() {
    use crate::util::{have, raw_zip, RawEntry};
    let data = b"payload ".repeat(50);
    let archive = raw_zip(&[
        RawEntry {
            host: 3,
            external: 0o040750 << 16,
            ..RawEntry::new(b"modedir", &data)
        },
        RawEntry {
            external: 0x10,
            ..RawEntry::new(b"attrdir", &data)
        },
        // Without data it is the directory its attributes say.
        RawEntry {
            host: 3,
            external: 0o040755 << 16,
            ..RawEntry::new(b"emptydir", b"")
        },
    ]);
    let s = Scene::new(&archive);
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    s.assert_dest(&["attrdir", "emptydir", "modedir"]);
    assert_eq!(s.read("modedir"), data);
    assert_eq!(s.read("attrdir"), data);
    let mode = fs::metadata(s.dest.join("modedir"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o750, "the permission bits of its mode");
    assert!(s.dest.join("emptydir").is_dir());
    assert_eq!(code(&s.punzip_only(&["-t"])), 0);
    if have("unzip") {
        let theirs = run(Command::new("unzip")
            .arg("-p")
            .arg(&s.archive)
            .arg("modedir")
            .arg("attrdir"));
        assert_eq!(
            theirs.stdout,
            [&data[..], &data[..]].concat(),
            "unzip's files"
        );
    }
}

/// Refusals name the entry when its name cannot: an empty name by its place in the
/// central directory ("punzip: : refused: empty name" said nothing), and two names that
/// read alike (a CP437 `\x82.txt` and a Unicode Path field's `é.txt`) by both places.
#[test]
fn refusals_of_names_that_cannot_tell_the_entry_give_its_number() {
    use crate::util::{crc32, raw_zip, RawEntry};
    let raw = b"x.txt";
    let mut unicode = vec![0x75, 0x70];
    let path = "é.txt".as_bytes();
    unicode.extend(((5 + path.len()) as u16).to_le_bytes());
    unicode.push(1);
    unicode.extend(crc32(raw).to_le_bytes());
    unicode.extend(path);
    let archive = raw_zip(&[
        RawEntry::new(b"ok.txt", b"fine"),
        RawEntry::new(b"", b"nameless"),
        RawEntry::new(b"\x82.txt", b"cp437"),
        RawEntry {
            extra: unicode,
            ..RawEntry::new(raw, b"unicode")
        },
    ]);
    let s = Scene::new(&archive);
    let out = s.punzip(&[]);
    let err = stderr(&out);
    assert!(
        err.contains("central directory entry 2: refused: empty name"),
        "{err}"
    );
    assert!(
        err.contains(
            "é.txt: refused: lands on the same path as é.txt (central directory entries 3 and 4)"
        ),
        "{err}"
    );
}

#[test]
fn a_crc_mismatch_leaves_no_file_under_its_final_name() {
    let mut archive = three_members();
    let es = entries(&archive);
    let at = es[2].data(&archive) + 3;
    archive[at] ^= 0x20;
    for jobs in ["1", "4"] {
        let s = Scene::new(&archive);
        let out = s.punzip(&["-j", jobs]);
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("three.txt: bad CRC-32"),
            "{}",
            stderr(&out)
        );
        s.assert_dest(&["one.txt", "two.txt"]);
    }
    let s = Scene::new(&archive);
    // -t writes nothing: its operands are member patterns, so DEST goes with -d.
    let dest = s.dest.display().to_string();
    let out = s.punzip_only(&["-t", "-d", &dest]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("three.txt: bad CRC-32"));
    assert!(!s.dest.exists());
    // Both CRCs, as unzip -t gives them ("bad CRC 1a2b3c4d  (should be 5e6f7a8b)").
    if crate::util::have("unzip") {
        let theirs = run(Command::new("unzip").arg("-t").arg(&s.archive));
        let text = String::from_utf8_lossy(&theirs.stdout).into_owned();
        let hex: Vec<&str> = text
            .split(|c: char| !c.is_ascii_hexdigit())
            .filter(|w| w.len() == 8)
            .collect();
        let [got, want] = hex[..] else {
            panic!("unzip -t: {text}")
        };
        let ours = format!("three.txt: bad CRC-32 {got} (should be {want})");
        assert!(stderr(&out).contains(&ours), "{ours}: {}", stderr(&out));
    }
}

/// A bad CRC of a member the zip crate decodes (bzip2, zstd: not the fast path) gives
/// both values too: the one the data came to, counted as it was read, and the one the
/// archive says. It gave only the second.
#[test]
fn a_bad_crc_gives_both_values_whatever_the_method() {
    let data = b"bzip2 and zstd go through the zip crate's decoders\n".repeat(50);
    for method in [CompressionMethod::Bzip2, CompressionMethod::Zstd] {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        w.start_file(
            "packed.txt",
            SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        w.write_all(&data).unwrap();
        let mut archive = w.finish().unwrap().into_inner();
        let e = &entries(&archive)[0];
        let (cdh, lfh) = (e.cdh, e.lfh);
        put_u32(&mut archive, cdh + 16, 0x1234_5678);
        put_u32(&mut archive, lfh + 14, 0x1234_5678);
        let s = Scene::new(&archive);
        let out = s.punzip_only(&["-t"]);
        assert_eq!(code(&out), 2, "{method:?}: {}", stderr(&out));
        let want = format!(
            "packed.txt: bad CRC-32 {:08x} (should be 12345678)",
            crate::util::crc32(&data)
        );
        assert!(stderr(&out).contains(&want), "{method:?}: {}", stderr(&out));
    }
}

#[test]
fn an_unsupported_method_exits_81_and_the_others_are_extracted() {
    let mut archive = three_members();
    let es = entries(&archive);
    put_u16(&mut archive, es[0].cdh + 10, 77);
    put_u16(&mut archive, es[0].lfh + 8, 77);
    let s = Scene::new(&archive);
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 81, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("one.txt: unsupported"),
        "{}",
        stderr(&out)
    );
    s.assert_dest(&["two.txt", "three.txt"]);
}

/// The same two members, encrypted with ZipCrypto by Info-ZIP `zip` (the zip crate does
/// not write ZipCrypto), if it is installed.
fn zipcrypto_archive(secret: &[u8]) -> Option<Vec<u8>> {
    if !crate::util::have("zip") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("secret.txt"), secret).unwrap();
    let ok = Command::new("zip")
        .args(["-q", "-P", "right", "e.zip", "secret.txt"])
        .current_dir(dir.path())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    fs::write(dir.path().join("plain.txt"), b"plain").unwrap();
    let ok = Command::new("zip")
        .args(["-q", "e.zip", "plain.txt"])
        .current_dir(dir.path())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    Some(fs::read(dir.path().join("e.zip")).unwrap())
}

#[test]
fn a_wrong_password_exits_82_and_writes_nothing() {
    let secret = b"the secret content, long enough to be deflated ".repeat(20);
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(
        "secret.txt",
        deflated().with_aes_encryption(AesMode::Aes256, "right"),
    )
    .unwrap();
    w.write_all(&secret).unwrap();
    w.start_file("plain.txt", stored()).unwrap();
    w.write_all(b"plain").unwrap();
    let aes = w.finish().unwrap().into_inner();
    for archive in [Some(aes), zipcrypto_archive(&secret)]
        .into_iter()
        .flatten()
    {
        let s = Scene::new(&archive);
        let out = s.punzip(&["-P", "wrong"]);
        assert_eq!(code(&out), 82, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("secret.txt: incorrect password"),
            "{}",
            stderr(&out)
        );
        s.assert_dest(&["plain.txt"]);
        let s = Scene::new(&archive);
        let out = s.punzip(&[]);
        assert_eq!(code(&out), 82, "{}", stderr(&out));
        assert!(stderr(&out).contains("secret.txt: password required"));
        s.assert_dest(&["plain.txt"]);
        let s = Scene::new(&archive);
        let out = s.punzip(&["-P", "right"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(s.read("secret.txt"), secret);
    }
}

#[test]
fn fifo_and_device_entries_become_regular_files_holding_their_data() {
    let mut archive = three_members();
    let es = entries(&archive);
    set_unix_mode(&mut archive, &es[0], 0o010640);
    set_unix_mode(&mut archive, &es[2], 0o020600);
    let s = Scene::new(&archive);
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    s.assert_dest(&["one.txt", "three.txt", "two.txt"]);
    assert_eq!(s.read("one.txt"), b"first member");
    assert_eq!(s.read("three.txt"), b"third member");
    for (name, perms) in [("one.txt", 0o640), ("three.txt", 0o600)] {
        let md = fs::symlink_metadata(s.dest.join(name)).unwrap();
        assert!(md.file_type().is_file(), "{name}: {:?}", md.file_type());
        assert_eq!(md.permissions().mode() & 0o7777, perms, "{name}");
    }
}

/// `mysqldump | zip backup.zip -` stores the dump as a member named `-` with the pipe's
/// mode; Info-ZIP `unzip` gives the dump back as a regular file, and so must we.
#[test]
fn a_member_zip_read_from_a_pipe_is_extracted_as_unzip_extracts_it() {
    if !crate::util::have("zip") {
        return;
    }
    let tmp = crate::util::tempdir();
    let archive = tmp.path().join("piped.zip");
    let made = Command::new("sh")
        .arg("-c")
        .arg("printf 'a dump\\nof two lines\\n' | zip -q \"$1\" -")
        .arg("sh")
        .arg(&archive)
        .status()
        .unwrap();
    assert!(made.success());
    let s = Scene::new(&fs::read(&archive).unwrap());
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(s.read("-"), b"a dump\nof two lines\n");
    let md = fs::symlink_metadata(s.dest.join("-")).unwrap();
    assert!(md.file_type().is_file());
    if crate::util::have("unzip") {
        let theirs = tmp.path().join("theirs");
        let unzipped = Command::new("unzip")
            .args(["-q", "-d"])
            .arg(&theirs)
            .arg(&archive)
            .status()
            .unwrap();
        assert!(unzipped.success());
        let their_md = fs::symlink_metadata(theirs.join("-")).unwrap();
        assert_eq!(fs::read(theirs.join("-")).unwrap(), s.read("-"));
        assert_eq!(their_md.permissions().mode(), md.permissions().mode());
    }
}

#[test]
fn a_control_character_in_a_name_is_printed_escaped() {
    let archive = zip_of(&[("evil\x1b[2J\n/../../x", b"x")]);
    let s = Scene::new(&archive);
    let out = s.punzip(&[]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("evil\\u{1b}[2J\\n/../../x: refused"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
