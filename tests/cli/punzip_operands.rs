//! What the user typed: punzip's operands, patterns and common mistakes, and the messages
//! and exit statuses they get (unzip's where unzip has one).

use std::path::Path;
use std::process::Command;

use crate::punzip::{ok, punzip_into};
use crate::util::{self, code, run, snapshot, stderr, stdout, ZipBuilder};

// What the user typed: operands, mistakes, and the messages and statuses they get.

/// A small tree: `top.txt` and `Dir/a`, `Dir/b`, `Other/c`.
pub(crate) fn tree_zip(path: &Path) {
    let mut w = ZipBuilder::new();
    w.file("top.txt", b"top")
        .file("Dir/a", b"a")
        .file("Dir/b", b"b")
        .file("Other/c", b"c");
    w.write_to(path);
}

/// Everything in `dir`, for "nothing was written" checks.
pub(crate) fn listing(dir: &Path) -> Vec<String> {
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
    // So with --bench, which timed extractions into a directory named after the member.
    let out = run(util::punzip().current_dir(tmp.path()).args([
        "--bench",
        "--bench-runs",
        "1",
        "t.zip",
        "docs/readme.txt",
    ]));
    assert_eq!(code(&out), 10, "{}", stderr(&out));
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
/// macOS's ditto writes; PKWARE's 0x000d), from the local header's where the two headers
/// differ (as unzip), a signed extended timestamp (a file from 1969
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
    // Only the central record has one (a jar whose DOS times are normalised): unzip
    // takes the DOS time, and so does punzip (it took the central field's, years off).
    let central_only = RawEntry {
        local_extra: Some(Vec::new()),
        ..unix("central.txt", ut(june_2020), date(2020, 6, 15))
    };
    // Both have one, not the same: the local header's, as unzip.
    let both = RawEntry {
        local_extra: Some(ut(june_2020 + 3600)),
        ..unix("both.txt", ut(june_2020), date(2020, 6, 15))
    };
    let entries = [
        local_only,
        central_only,
        both,
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
    let noon = 1_592_222_400; // 2020-06-15 12:00 UTC, what the DOS fields say
    assert_eq!(got(&ours, "central.txt").0, noon, "the DOS time");
    assert_eq!(
        got(&ours, "both.txt").0,
        june_2020 as i64 + 3600,
        "the local UT"
    );
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
            "central.txt",
            "both.txt",
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
        // An exclude that matched nothing is a caution, not a failure: a note, as it
        // counts for nothing (it said "warning:" and exited 0).
        (
            &["sub/*"],
            &["nomatch"],
            &["sub", "sub/b.txt"],
            0,
            "punzip: note: excluded filename not matched: nomatch",
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
    let cases: [(Vec<std::ffi::OsString>, i32, &str, &str); 5] = [
        // A quoted wildcard, which unzip expands itself: said, with a loop to use.
        (
            vec!["*.zip".into()],
            9,
            "expands no wildcards (unzip does)",
            "os error",
        ),
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

/// `--help` gives the exit statuses (it had none; phash's has), every one of the README's
/// table, so that the two cannot drift apart.
#[test]
fn help_lists_every_exit_status_the_readme_table_gives() {
    let help = stdout(&run(util::punzip().arg("--help")));
    let start = help.find("Exit status").expect("an exit status paragraph");
    let para: String = help[start..]
        .split("\n\n")
        .next()
        .unwrap()
        .replace('\n', " ");
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = &readme[readme.find("| status | meaning |").unwrap()..];
    let statuses: Vec<&str> = table
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with("| "))
        .map(|l| l[2..].split(' ').next().unwrap())
        .collect();
    assert!(statuses.len() >= 12, "{statuses:?}");
    for s in statuses {
        assert!(para.contains(&format!(" {s} ")), "{s} missing from: {para}");
    }
}
