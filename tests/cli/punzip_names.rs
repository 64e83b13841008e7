//! punzip and member names in any encoding: UTF-8, CP437 where unzip decodes it, and any
//! other bytes written as those bytes (split only at `/`), shown escaped, selected by their
//! bytes, and colliding as their bytes do on disk. Checked against unzip's own trees.

use std::path::Path;
use std::process::Command;

use crate::punzip::{ok, punzip_into};
use crate::util::{self, code, raw_stored_zip, raw_zip, run, snapshot, stderr, stdout, RawEntry};

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
pub(crate) fn byte_names(root: &Path) -> Vec<Vec<u8>> {
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
