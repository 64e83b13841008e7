//! The habits users already have, phash side: `-a` for SHA-1, SHA-256, SHA-512 and BLAKE3
//! writing exactly what sha1sum, sha256sum, sha512sum and b3sum write; check mode reading
//! their lists as they (and `cksum -c`) read them; md5sum's `-b`/`-t`; and `--json`.
//! Oracles: the coreutils tools and b3sum, run on the same files in the order phash must
//! use (found here by an independent walk); the sha1/sha2/blake3 crates only where no tool
//! exists (b3sum missing, BLAKE3's `--tag`).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::util::files_in_order;
use crate::util::{code, have, phash, run, stderr, tempdir, write};

/// Every algorithm: phash's `-a` name, the tool that is its oracle, its `--tag` name.
const ALGORITHMS: [(&str, &str, &str); 7] = [
    ("md5", "md5sum", "MD5"),
    ("sha1", "sha1sum", "SHA1"),
    ("sha224", "sha224sum", "SHA224"),
    ("sha256", "sha256sum", "SHA256"),
    ("sha384", "sha384sum", "SHA384"),
    ("sha512", "sha512sum", "SHA512"),
    ("blake3", "b3sum", "BLAKE3"),
];

/// The digest of `data` from the algorithm's own crate (the fallback oracle).
fn crate_hex(algorithm: &str, data: &[u8]) -> String {
    use sha2::Digest as _;
    let bytes: Vec<u8> = match algorithm {
        "md5" => md5::Md5::digest(data).to_vec(),
        "sha1" => sha1::Sha1::digest(data).to_vec(),
        "sha224" => sha2::Sha224::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        "sha384" => sha2::Sha384::digest(data).to_vec(),
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        "blake3" => blake3::hash(data).as_bytes().to_vec(),
        other => panic!("no algorithm {other}"),
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A tree with empty files, a file of a few MiB (several read chunks), and names that
/// md5sum and b3sum both escape (newline, backslash) or keep (space), or that only
/// md5sum escapes (carriage return: b3sum writes it raw, and its -c refuses `\r`).
fn habits_tree(root: &Path) {
    let big = crate::util::incompressible((3 << 20) + 17, 0);
    write(&root.join("big.bin"), &big);
    write(&root.join("empty"), b"");
    write(&root.join("sub/empty too"), b"");
    write(&root.join("with space"), b"space\n");
    write(&root.join("new\nline"), b"nl");
    write(&root.join("back\\slash"), b"bs");
    write(&root.join("carriage\rreturn"), b"cr");
    write(&root.join("a/x"), b"ax");
    write(&root.join("a/b/deep"), b"deep");
}

/// `tool ARGS -- FILES` in `cwd`, or `None` (with a SKIP message) when it is not installed.
fn tool_output(tool: &str, cwd: &Path, args: &[&str], files: &[PathBuf]) -> Option<Vec<u8>> {
    if !have(tool) {
        return None;
    }
    let mut cmd = Command::new(tool);
    cmd.current_dir(cwd).args(args);
    if !files.is_empty() {
        cmd.arg("--").args(files);
    }
    let out = run(&mut cmd);
    assert!(out.status.success(), "{tool} failed: {}", stderr(&out));
    Some(out.stdout)
}

/// `t` (in a temp dir) and the paths of its files relative to that dir, in phash's order.
fn tree_and_files() -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempdir();
    habits_tree(&dir.path().join("t"));
    let files = files_in_order(&dir.path().join("t"))
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
        .collect();
    (dir, files)
}

fn phash_in(cwd: &Path, args: &[&str]) -> Output {
    run(phash().current_dir(cwd).args(args))
}

#[test]
fn every_algorithm_prints_what_its_tool_prints_serial_and_parallel() {
    let (dir, files) = tree_and_files();
    for (name, tool, _) in ALGORITHMS {
        let serial = phash_in(dir.path(), &["-a", name, "-j1", "t"]);
        assert_eq!(code(&serial), 0, "{name}: {}", stderr(&serial));
        let parallel = phash_in(dir.path(), &["-a", name, "-j2", "t"]);
        assert_eq!(code(&parallel), 0, "{name}: {}", stderr(&parallel));
        assert_eq!(parallel.stdout, serial.stdout, "{name}: -j2 equals -j1");
        let text = String::from_utf8_lossy(&serial.stdout);
        // The crates agree on the big file and on the empty one.
        let big = std::fs::read(dir.path().join("t/big.bin")).unwrap();
        assert!(
            text.contains(&format!("{}  t/big.bin\n", crate_hex(name, &big))),
            "{name}: {text}"
        );
        assert!(
            text.contains(&format!("{}  t/empty\n", crate_hex(name, b""))),
            "{name}: {text}"
        );
        if let Some(want) = tool_output(tool, dir.path(), &[], &files) {
            assert_eq!(
                String::from_utf8_lossy(&serial.stdout),
                String::from_utf8_lossy(&want),
                "{name} against {tool}"
            );
        }
    }
}

#[test]
fn tag_lines_are_what_the_coreutils_tools_and_cksum_write() {
    let (dir, files) = tree_and_files();
    for (name, tool, tag) in ALGORITHMS {
        for jobs in ["-j1", "-j2"] {
            let out = phash_in(dir.path(), &["-a", name, "--tag", jobs, "t"]);
            assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
            if tool == "b3sum" {
                // b3sum has no --tag: the coreutils shape with BLAKE3's name, the digests
                // from the blake3 crate, names escaped as in every other --tag line.
                let text = String::from_utf8_lossy(&out.stdout);
                let big = std::fs::read(dir.path().join("t/big.bin")).unwrap();
                assert!(text.contains(&format!("BLAKE3 (t/big.bin) = {}\n", crate_hex(name, &big))));
                assert!(text.contains(&format!(
                    "\\BLAKE3 (t/new\\nline) = {}\n",
                    crate_hex(name, b"nl")
                )));
                assert_eq!(text.lines().count(), files.len());
                continue;
            }
            if let Some(want) = tool_output(tool, dir.path(), &["--tag"], &files) {
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&want),
                    "{name} --tag {jobs}"
                );
                assert!(want.starts_with(format!("{tag} (").as_bytes()));
            }
            // cksum -a NAME writes the same tagged lines.
            if let Some(by_cksum) = tool_output("cksum", dir.path(), &["-a", name], &files) {
                assert_eq!(out.stdout, by_cksum, "cksum -a {name}");
            }
        }
    }
}

#[test]
fn binary_and_text_flags_write_what_md5sum_and_sha1sum_write() {
    let (dir, files) = tree_and_files();
    for (name, tool) in [("md5", "md5sum"), ("sha1", "sha1sum")] {
        for flags in [
            &["-b"][..],
            &["-t"],
            &["-b", "-t"],
            &["-t", "-b"],
            &["--tag", "-b"],
        ] {
            let Some(want) = tool_output(tool, dir.path(), flags, &files) else {
                return;
            };
            for jobs in ["-j1", "-j2"] {
                let out = run(phash()
                    .current_dir(dir.path())
                    .args(["-a", name, jobs])
                    .args(flags)
                    .arg("t"));
                assert_eq!(code(&out), 0, "{}", stderr(&out));
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&want),
                    "{name} {flags:?} {jobs}"
                );
            }
        }
    }
    // Scripts' -b lines check, as md5sum checks them.
    let list = phash_in(dir.path(), &["-b", "t"]);
    write(&dir.path().join("b.md5"), &list.stdout);
    assert!(String::from_utf8_lossy(&list.stdout).contains(" *t/a/x\n"));
    let out = phash_in(dir.path(), &["-c", "b.md5"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches(": OK\n")
            .count(),
        files.len()
    );
    // As in md5sum, -b and -t mean nothing to -c, and --tag has no text mode: usage errors.
    for args in [
        &["-c", "-b", "b.md5"][..],
        &["-c", "-t", "b.md5"],
        &["--tag", "-t", "t"],
    ] {
        let out = phash_in(dir.path(), args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn names_with_carriage_returns_and_bad_utf8_come_out_as_sha256sum_writes_them() {
    if !have("sha256sum") {
        return;
    }
    let dir = tempdir();
    write(&dir.path().join("t/carriage\rreturn"), b"cr");
    write(
        &dir.path().join(OsStr::from_bytes(b"t/bad\xffutf8")),
        b"latin",
    );
    let files: Vec<PathBuf> = files_in_order(&dir.path().join("t"))
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
        .collect();
    for flags in [&[][..], &["--tag"], &["-z"], &["-b"]] {
        let want = tool_output("sha256sum", dir.path(), flags, &files).unwrap();
        let out = run(phash()
            .current_dir(dir.path())
            .args(["-a", "sha256"])
            .args(flags)
            .arg("t"));
        assert_eq!(out.stdout, want, "{flags:?}");
    }
}

#[test]
fn a_bad_algorithm_is_a_usage_error_that_lists_the_choices() {
    for value in ["sha3", "crc", ""] {
        let out = run(phash().args(["-a", value, "x"]));
        assert_eq!(code(&out), 2, "{value:?}");
        let err = stderr(&out);
        assert!(
            err.contains("md5, sha1, sha224, sha256, sha384, sha512, blake3"),
            "{value:?}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

/// Runs `phash -c` (with `phash_args`) and `tool -c` (with `tool_args`) on the same lists
/// in `cwd`, at two job counts, and asserts the same stdout, the same stderr but for the
/// program's name, and the same exit status.
fn checks_like(tool: &str, cwd: &Path, phash_args: &[&str], tool_args: &[&str]) -> Output {
    let want = run(Command::new(tool).current_dir(cwd).args(tool_args));
    for jobs in ["-j1", "-j2"] {
        let got = run(phash().current_dir(cwd).arg(jobs).args(phash_args));
        let label = format!("phash {phash_args:?} {jobs} against {tool} {tool_args:?}");
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "stdout of {label}"
        );
        assert_eq!(
            stderr(&got).replace("phash:", &format!("{tool}:")),
            stderr(&want),
            "stderr of {label}"
        );
        assert_eq!(code(&got), code(&want), "status of {label}");
    }
    want
}

#[test]
fn check_mode_says_what_each_tool_says_for_good_bad_and_malformed_lines() {
    let (dir, files) = tree_and_files();
    for (name, tool, _) in ALGORITHMS {
        if !have(tool) {
            continue;
        }
        let cwd = dir.path();
        // A list by the tool itself, all good.
        let good = tool_output(tool, cwd, &[], &files).unwrap();
        write(&cwd.join("good.sum"), &good);
        if tool == "b3sum" {
            // b3sum's check output is its own (it shows every escaped name escaped, and
            // words failures its own way): phash -c keeps md5sum's, so only b3sum's lists
            // being accepted compares here; the rest of BLAKE3's check mode is tested
            // below with lists made by phash.
            let out = phash_in(cwd, &["-c", "-a", name, "good.sum"]);
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            let ok = String::from_utf8_lossy(&out.stdout)
                .matches(": OK\n")
                .count();
            assert_eq!(ok, files.len());
            continue;
        }
        let out = checks_like(
            tool,
            cwd,
            &["-c", "-a", name, "good.sum"],
            &["-c", "good.sum"],
        );
        assert_eq!(code(&out), 0);
        // Without -a the digest's length says the algorithm.
        let auto = phash_in(cwd, &["-c", "good.sum"]);
        assert_eq!(auto.stdout, out.stdout, "{name} without -a");
        // Bad digests, a missing file, malformed lines (wrong length, junk, another
        // algorithm's tag), a comment, a tagged line of the right algorithm.
        let mut list = good.clone();
        let first = String::from_utf8_lossy(&good)
            .lines()
            .next()
            .unwrap()
            .to_string();
        let flipped = if first.starts_with('0') { "1" } else { "0" };
        list.extend_from_slice(format!("{flipped}{}\n", &first[1..]).as_bytes());
        list.extend_from_slice(
            format!("{}  t/gone\n", &first[..first.find(' ').unwrap()]).as_bytes(),
        );
        list.extend_from_slice(b"0123456789abcdef  t/empty\nnot a line\n# comment\n");
        list.extend_from_slice(b"BLAKE2b (t/empty) = 00\n");
        let tagged = tool_output(tool, cwd, &["--tag"], &files[..1]).unwrap();
        list.extend_from_slice(&tagged);
        write(&cwd.join("mixed.sum"), &list);
        write(&cwd.join("junk.sum"), b"junk\n");
        for opts in [
            &[][..],
            &["-w"],
            &["--quiet"],
            &["--status"],
            &["--strict"],
            &["--ignore-missing"],
        ] {
            for lists in [
                &["mixed.sum"][..],
                &["junk.sum"],
                &["good.sum", "mixed.sum"],
            ] {
                let mut p = vec!["-c", "-a", name];
                p.extend_from_slice(opts);
                p.extend_from_slice(lists);
                let mut t = vec!["-c"];
                t.extend_from_slice(opts);
                t.extend_from_slice(lists);
                checks_like(tool, cwd, &p, &t);
            }
        }
    }
}

#[test]
fn without_a_each_line_says_its_algorithm_and_with_a_blake3_64_digits_are_blake3() {
    let (dir, files) = tree_and_files();
    let cwd = dir.path();
    // One list, every algorithm, plain and tagged lines mixed, made by phash and
    // checked here against the crates.
    let mut list = Vec::new();
    for (name, _, _) in ALGORITHMS {
        let plain = phash_in(cwd, &["-a", name, "t/a/x"]);
        let tagged = phash_in(cwd, &["-a", name, "--tag", "t/with space"]);
        assert_eq!(
            String::from_utf8_lossy(&plain.stdout),
            format!("{}  t/a/x\n", crate_hex(name, b"ax"))
        );
        if name != "blake3" {
            list.extend_from_slice(&plain.stdout);
        }
        list.extend_from_slice(&tagged.stdout);
    }
    write(&cwd.join("all.sum"), &list);
    for jobs in ["-j1", "-j2"] {
        let out = phash_in(cwd, &["-c", jobs, "all.sum"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout)
                .matches(": OK\n")
                .count(),
            13
        );
    }
    // A BLAKE3 list without -a is read as SHA-256 (64 digits) and fails; with it, passes.
    let b3 = phash_in(cwd, &["-a", "blake3", "t"]);
    write(&cwd.join("b3.sum"), &b3.stdout);
    let out = phash_in(cwd, &["-c", "b3.sum"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains(&format!(
        "WARNING: {} computed checksums did NOT match",
        files.len()
    )));
    let out = phash_in(cwd, &["-c", "-a", "blake3", "b3.sum"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // b3sum checks phash's BLAKE3 list too.
    if have("b3sum") {
        let by_b3sum = run(Command::new("b3sum")
            .current_dir(cwd)
            .args(["-c", "b3.sum"]));
        assert!(by_b3sum.status.success(), "{}", stderr(&by_b3sum));
        assert_eq!(
            String::from_utf8_lossy(&by_b3sum.stdout).lines().count(),
            files.len()
        );
    }
    // With -a, a line of another algorithm is improperly formatted, named as -a says.
    // As in sha1sum, they fail the run only with --strict.
    let out = phash_in(cwd, &["-c", "-w", "-a", "sha1", "all.sum"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches(": OK\n")
            .count(),
        2
    );
    assert!(stderr(&out).contains("all.sum: 1: improperly formatted SHA1 checksum line"));
    assert!(stderr(&out).contains("WARNING: 11 lines are improperly formatted"));
    let out = phash_in(cwd, &["-c", "--strict", "-a", "sha1", "all.sum"]);
    assert_eq!(code(&out), 1);
}

/// The JSON Lines of a run, parsed; panics on a line that is not one JSON object.
fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .expect("JSON is UTF-8")
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            assert!(v.is_object(), "{l}");
            v
        })
        .collect()
}

/// The digests the tool prints for `files` (plain lines, names without escapes).
fn tool_digests(tool: &str, cwd: &Path, files: &[PathBuf]) -> Option<Vec<String>> {
    let out = tool_output(tool, cwd, &[], files)?;
    Some(
        String::from_utf8_lossy(&out)
            .lines()
            .map(|l| {
                let l = l.strip_prefix('\\').unwrap_or(l);
                l[..l.find(' ').unwrap()].to_string()
            })
            .collect(),
    )
}

/// `date -u` of a file's modification time, in RFC 3339, with the nanoseconds we add.
fn gnu_mtime(path: &Path) -> String {
    let md = std::fs::metadata(path).unwrap();
    let out = run(Command::new("date").args([
        "-u",
        "-d",
        &format!("@{}", md.mtime()),
        "+%Y-%m-%dT%H:%M:%S",
    ]));
    let mut s = String::from_utf8(out.stdout).unwrap().trim().to_string();
    if md.mtime_nsec() != 0 {
        s.push_str(&format!(".{:09}", md.mtime_nsec()));
    }
    s + "Z"
}

#[test]
fn json_hash_mode_gives_each_file_its_digest_size_and_mtime_then_totals() {
    let (dir, files) = tree_and_files();
    let cwd = dir.path();
    let fifo = std::ffi::CString::new(cwd.join("t/zz-fifo").into_os_string().into_encoded_bytes())
        .unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let have_date = have("date");
    for (name, tool, _) in ALGORITHMS {
        let serial = phash_in(cwd, &["--json", "-a", name, "-j1", "t"]);
        let parallel = phash_in(cwd, &["--json", "-a", name, "-j2", "t"]);
        assert_eq!(code(&serial), 0, "{}", stderr(&serial));
        assert!(stderr(&serial).contains("t/zz-fifo: is a FIFO, skipped"));
        let objects = json_lines(&serial);
        let wanted = tool_digests(tool, cwd, &files);
        assert_eq!(
            objects.len(),
            files.len() + 2,
            "files, the skipped FIFO, totals"
        );
        for (i, (o, f)) in objects.iter().zip(&files).enumerate() {
            let data = std::fs::read(cwd.join(f)).unwrap();
            assert_eq!(o["type"], "file");
            assert_eq!(o["path"], f.to_str().unwrap());
            assert_eq!(o["status"], "ok");
            assert_eq!(o["size"], data.len() as u64);
            let hex = o[name].as_str().unwrap();
            assert_eq!(hex, crate_hex(name, &data), "{name} {f:?}");
            if let Some(w) = &wanted {
                assert_eq!(hex, w[i], "{name} {f:?} against {tool}");
            }
            if have_date {
                assert_eq!(o["mtime"], gnu_mtime(&cwd.join(f)), "{f:?}");
            }
            assert!(o.get("error").is_none());
        }
        let skipped = &objects[files.len()];
        assert_eq!(skipped["path"], "t/zz-fifo");
        assert_eq!(skipped["status"], "skipped");
        assert_eq!(skipped["error"], "is a FIFO, skipped");
        let totals = objects.last().unwrap();
        assert_eq!(totals["type"], "totals");
        assert_eq!(totals["tool"], "phash");
        assert_eq!(totals["files"], files.len() as u64);
        assert_eq!(totals["errors"], 0);
        assert_eq!(totals["skipped"], 1);
        let bytes: u64 = files
            .iter()
            .map(|f| std::fs::metadata(cwd.join(f)).unwrap().len())
            .sum();
        assert_eq!(totals["bytes"], bytes);
        assert!(totals["elapsed_s"].as_f64().unwrap() >= 0.0);
        // Parallel output equals serial output but for the time taken.
        let mut p = json_lines(&parallel);
        let mut s = objects.clone();
        p.last_mut().unwrap()["elapsed_s"] = Value::Null;
        s.last_mut().unwrap()["elapsed_s"] = Value::Null;
        assert_eq!(p, s, "{name}: -j2 equals -j1");
    }
}

#[test]
fn json_hash_mode_reports_an_unreadable_operand_as_an_error_object() {
    let dir = tempdir();
    write(&dir.path().join("ok"), b"fine");
    let out = phash_in(dir.path(), &["--json", "-a", "sha256", "ok", "missing"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("phash: missing: No such file or directory"));
    let objects = json_lines(&out);
    assert_eq!(objects.len(), 3);
    assert_eq!(objects[0]["sha256"], crate_hex("sha256", b"fine"));
    assert_eq!(objects[1]["path"], "missing");
    assert_eq!(objects[1]["status"], "error");
    assert_eq!(objects[1]["error"], "No such file or directory");
    assert!(objects[1].get("sha256").is_none());
    assert_eq!(objects[2]["errors"], 1);
}

#[test]
fn json_check_mode_gives_each_line_its_status_then_totals() {
    let (dir, _) = tree_and_files();
    let cwd = dir.path();
    let ax = crate_hex("sha512", b"ax");
    let list = format!(
        "{ax}  t/a/x\n{ax}  t/empty\n{ax}  t/gone\nnot a line\nSHA1 (t/a/b/deep) = {}\n",
        crate_hex("sha1", b"deep")
    );
    write(&cwd.join("l.sum"), list.as_bytes());
    for jobs in ["-j1", "-j2"] {
        for (missing_flag, missing_status) in
            [(None, "error"), (Some("--ignore-missing"), "missing")]
        {
            let mut args = vec!["-c", "--json", jobs];
            args.extend(missing_flag);
            args.push("l.sum");
            let out = phash_in(cwd, &args);
            assert_eq!(code(&out), 1, "{}", stderr(&out));
            let o = json_lines(&out);
            assert_eq!(o.len(), 6, "{o:?}");
            assert_eq!(o[0]["type"], "check");
            assert_eq!(o[0]["path"], "t/a/x");
            assert_eq!(o[0]["algorithm"], "sha512");
            assert_eq!(o[0]["status"], "ok");
            assert_eq!(o[0]["expected"], ax);
            assert_eq!(o[0]["actual"], ax);
            assert_eq!(o[1]["status"], "failed");
            assert_eq!(o[1]["actual"], crate_hex("sha512", b""));
            assert_eq!(o[2]["path"], "t/gone");
            assert_eq!(o[2]["status"], missing_status);
            assert!(o[2].get("actual").is_none());
            assert_eq!(o[3]["status"], "malformed");
            assert_eq!(o[3]["line"], 4);
            assert_eq!(o[4]["algorithm"], "sha1");
            assert_eq!(o[4]["status"], "ok");
            let t = &o[5];
            assert_eq!(t["type"], "totals");
            assert_eq!((t["ok"].as_u64(), t["failed"].as_u64()), (Some(2), Some(1)));
            let (errors, missing) = if missing_flag.is_some() {
                (0, 1)
            } else {
                (1, 0)
            };
            assert_eq!(t["errors"], errors);
            assert_eq!(t["missing"], missing);
            assert_eq!(t["malformed"], 1);
            // The warnings still go to stderr, as text.
            assert!(stderr(&out).contains("WARNING: 1 computed checksum did NOT match"));
        }
    }
}

/// A list that fails the run without a failed line of its own (unreadable, no properly
/// formatted line, nothing verified under --ignore-missing, a bad line under --strict)
/// has an error line naming it, counted in the totals' errors: the totals said no error
/// while phash exited 1, as md5sum does for each.
#[test]
fn json_check_gives_a_list_that_fails_as_a_whole_an_error_line() {
    let tmp = tempdir();
    let cwd = tmp.path();
    write(&cwd.join("z"), b"");
    write(&cwd.join("empty.md5"), b"");
    write(
        &cwd.join("gone.md5"),
        b"d41d8cd98f00b204e9800998ecf8427e  nothere\n",
    );
    write(
        &cwd.join("strict.md5"),
        b"d41d8cd98f00b204e9800998ecf8427e  z\nbad line\n",
    );
    let runs: [(&[&str], &str, &str); 4] = [
        (&["nolist.md5"], "nolist.md5", "No such file"),
        (
            &["empty.md5"],
            "empty.md5",
            "no properly formatted checksum lines",
        ),
        (
            &["--ignore-missing", "gone.md5"],
            "gone.md5",
            "no file was verified",
        ),
        (
            &["--strict", "strict.md5"],
            "strict.md5",
            "improperly formatted",
        ),
    ];
    for (args, list, says) in runs {
        let mut all = vec!["-c", "--json"];
        all.extend(args);
        let out = phash_in(cwd, &all);
        assert_eq!(code(&out), 1, "{args:?}: {}", stderr(&out));
        let o = json_lines(&out);
        let errors: Vec<&Value> = o.iter().filter(|l| l["type"] == "error").collect();
        assert_eq!(errors.len(), 1, "{args:?}: {o:?}");
        assert_eq!(errors[0]["path"], list);
        assert!(errors[0]["error"].as_str().unwrap().contains(says), "{o:?}");
        let t = o.last().unwrap();
        assert_eq!(t["type"], "totals");
        assert_eq!(t["errors"], 1, "{args:?}: {o:?}");
    }
    // Without --strict the bad line is only malformed: no error, exit 0, as md5sum.
    let out = phash_in(cwd, &["-c", "--json", "strict.md5"]);
    assert_eq!(code(&out), 0);
    let o = json_lines(&out);
    assert!(o.iter().all(|l| l["type"] != "error"), "{o:?}");
    assert_eq!(o.last().unwrap()["errors"], 0);
}

#[test]
fn json_with_a_line_format_option_is_a_usage_error() {
    for flag in ["--tag", "-z", "-b"] {
        let out = run(phash().args(["--json", flag, "."]).stdin(Stdio::null()));
        assert_eq!(code(&out), 2, "{flag}");
    }
}

/// b3sum has one line form: `-b`'s `HEX *NAME` (which `b3sum -c` refuses) is a usage
/// error with BLAKE3, not a list b3sum cannot read.
#[test]
fn binary_lines_are_refused_for_blake3() {
    let (dir, _) = tree_and_files();
    let out = phash_in(dir.path(), &["-a", "blake3", "-b", "t"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("b3sum"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
}

/// A BLAKE3 list checked without `-a` reads as SHA-256 (64 hex digits, as sha256sum's):
/// every line fails, and the run says why and what to type.
#[test]
fn an_untagged_blake3_list_checked_as_sha256_gets_a_hint() {
    let (dir, _) = tree_and_files();
    let list = phash_in(dir.path(), &["-a", "blake3", "t"]);
    assert_eq!(code(&list), 0, "{}", stderr(&list));
    std::fs::write(dir.path().join("list"), &list.stdout).unwrap();
    let out = phash_in(dir.path(), &["-c", "list"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("-a blake3"), "{}", stderr(&out));
    let out = phash_in(dir.path(), &["-c", "-a", "blake3", "list"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // A SHA-256 list with one line wrong is a SHA-256 list: no hint.
    let sha = phash_in(dir.path(), &["-a", "sha256", "t"]);
    let mut text = String::from_utf8(sha.stdout).unwrap();
    text.replace_range(0..1, if text.starts_with('0') { "1" } else { "0" });
    std::fs::write(dir.path().join("sha"), text).unwrap();
    let out = phash_in(dir.path(), &["-c", "sha"]);
    assert_eq!(code(&out), 1);
    assert!(!stderr(&out).contains("blake3"), "{}", stderr(&out));
    if have("b3sum") {
        let out = run(Command::new("b3sum")
            .current_dir(dir.path())
            .args(["-c", "list"]));
        assert_eq!(
            code(&out),
            0,
            "b3sum -c reads phash's list: {}",
            stderr(&out)
        );
    }
}

/// A repeated option is the last one given, as md5sum takes it (`alias h='phash --tag'`
/// then `h --tag`; a script appending `-j1`): each was a usage error, exit 2.
#[test]
fn a_repeated_option_is_taken_as_md5sum_takes_it() {
    let (dir, _) = tree_and_files();
    let once = phash_in(dir.path(), &["--tag", "-j", "1", "t/with space"]);
    let twice = phash_in(
        dir.path(),
        &["--tag", "--tag", "-j", "2", "-j", "1", "t/with space"],
    );
    assert_eq!(code(&twice), 0, "{}", stderr(&twice));
    assert_eq!(twice.stdout, once.stdout);
    if have("md5sum") {
        let gnu = run(Command::new("md5sum").current_dir(dir.path()).args([
            "--tag",
            "--tag",
            "t/with space",
        ]));
        assert_eq!(gnu.stdout, twice.stdout);
    }
}

/// Messages quote names as md5sum's do in the locale in force: outside a UTF-8 locale
/// (C, `LANG` unset) every byte that is not ASCII is an escape. phash printed `é` raw in
/// the C locale, where md5sum writes `'nonex'$'\303\251'`.
#[test]
fn messages_quote_names_as_md5sum_does_in_each_locale() {
    if !have("md5sum") {
        eprintln!("SKIP: md5sum is not installed");
        return;
    }
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir();
    // Invalid UTF-8, and every control byte GNU writes as a C escape (`$'\v'`).
    for bytes in [
        &b"nonex\xc3\xa9 \xff"[..],
        b"a\x07\x08\x0b\x0c\x01\x1b\n\t\rz",
    ] {
        let name = std::ffi::OsStr::from_bytes(bytes);
        for locale in ["C", "C.UTF-8", "POSIX"] {
            let ours = run(phash()
                .current_dir(dir.path())
                .env("LC_ALL", locale)
                .arg(name));
            let gnu = run(Command::new("md5sum")
                .current_dir(dir.path())
                .env("LC_ALL", locale)
                .arg(name));
            assert_eq!(
                stderr(&ours).replacen("phash:", "", 1),
                stderr(&gnu).replacen("md5sum:", "", 1),
                "LC_ALL={locale}"
            );
        }
    }
}

/// A b2sum list (BLAKE2b-512, 128 hex digits, as sha512sum's) reads as SHA-512: every
/// line fails, and the run says why. Checked against b2sum's own list when it is there.
#[test]
fn an_untagged_b2sum_list_checked_as_sha512_gets_a_hint() {
    if !have("b2sum") {
        eprintln!("SKIP: b2sum is not installed");
        return;
    }
    let (dir, _) = tree_and_files();
    let list = run(Command::new("b2sum")
        .current_dir(dir.path())
        .args(["t/big.bin", "t/with space"]));
    assert_eq!(code(&list), 0, "{}", stderr(&list));
    std::fs::write(dir.path().join("list"), &list.stdout).unwrap();
    let out = phash_in(dir.path(), &["-c", "list"]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("b2sum -c"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("blake3"), "{}", stderr(&out));
    // A SHA-512 list is a SHA-512 list: no hint.
    let sha = phash_in(dir.path(), &["-a", "sha512", "t"]);
    std::fs::write(dir.path().join("sha"), &sha.stdout).unwrap();
    let out = phash_in(dir.path(), &["-c", "sha"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains("b2sum"), "{}", stderr(&out));
}

/// `phash DIR >&-` (a daemon's closed descriptor, a cron job's): the lines cannot go
/// anywhere, so the run fails, as md5sum's does ("write error: Bad file descriptor").
/// Rust's runtime puts /dev/null in place of a closed descriptor 1 before `main`; phash
/// exited 0 with every line lost. A run that has nothing to write (`-c --status`) stays a
/// success, as md5sum's does.
#[test]
fn a_standard_output_closed_at_start_fails_the_run_as_in_md5sum() {
    let dir = tempdir();
    write(&dir.path().join("t/a"), b"a\n");
    let sums = dir.path().join("SUMS");
    std::fs::write(&sums, "60b725f10c9c85c70d97880dfe8191b3  t/a\n").unwrap();
    let closed = |args: &[&str], program: Option<&str>| {
        let mut cmd = match program {
            Some(p) => Command::new(p),
            None => phash(),
        };
        cmd.args(args).current_dir(dir.path());
        crate::util::close_stdout(&mut cmd);
        run(&mut cmd)
    };
    for args in [&["t"][..], &["-c", "SUMS"], &["--json", "t"]] {
        let out = closed(args, None);
        assert_eq!(code(&out), 1, "phash {args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("Bad file descriptor"),
            "phash {args:?}: {}",
            stderr(&out)
        );
    }
    let quiet = closed(&["-c", "--status", "SUMS"], None);
    assert_eq!(code(&quiet), 0, "{}", stderr(&quiet));
    if have("md5sum") {
        assert_eq!(code(&closed(&["t/a"], Some("md5sum"))), 1);
        assert_eq!(code(&closed(&["-c", "SUMS"], Some("md5sum"))), 1);
        assert_eq!(
            code(&closed(&["-c", "--status", "SUMS"], Some("md5sum"))),
            0
        );
    }
}

/// `phash <&-` (a daemon's, a CI runner's closed descriptor): there is nothing to hash, so
/// `-` fails, as in md5sum. Rust's runtime puts /dev/null in place of a closed
/// descriptor 0 before `main`, and phash printed the MD5 of nothing with exit 0: a wrong
/// checksum recorded as a right one. The other operands are still hashed.
#[test]
fn a_standard_input_closed_at_start_is_an_error_for_dash_as_in_md5sum() {
    let dir = tempdir();
    write(&dir.path().join("a"), b"a\n");
    let closed = |program: Option<&str>, args: &[&str]| {
        let mut cmd = match program {
            Some(p) => Command::new(p),
            None => phash(),
        };
        cmd.args(args).current_dir(dir.path());
        crate::util::close_stdin(&mut cmd);
        cmd.output().expect("cannot run")
    };
    for args in [&[][..], &["-", "a"], &["-c"], &["-c", "-"]] {
        let out = closed(None, args);
        assert_eq!(code(&out), 1, "phash {args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("Bad file descriptor"),
            "phash {args:?}: {}",
            stderr(&out)
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("d41d8cd98f00b204e9800998ecf8427e"),
            "the MD5 of nothing: {args:?}"
        );
        if have("md5sum") {
            assert_eq!(code(&closed(Some("md5sum"), args)), 1, "md5sum {args:?}");
        }
    }
    let both = closed(None, &["-", "a"]);
    assert_eq!(
        String::from_utf8_lossy(&both.stdout),
        "60b725f10c9c85c70d97880dfe8191b3  a\n"
    );
}

/// Corners of list lines where phash read differently from `md5sum -c` (found by a
/// differential fuzzer): only a space or a tab is white space (`\v`, `\f`, a carriage
/// return before the digest or around `=` made lines md5sum rejects verify); a NUL ends a
/// tagged line's digest (`md5sum -z --tag` output read without -z); and in a result line
/// whose name is escaped (it holds a newline), a carriage return is written `\r`.
#[test]
fn check_mode_reads_white_space_nul_and_escapes_exactly_as_md5sum_c() {
    if !have("md5sum") {
        return;
    }
    let dir = tempdir();
    write(&dir.path().join("a.txt"), b"hello\n");
    write(&dir.path().join("n\nl\r"), b"x\n");
    let h = "b1946ac92492d2347c6235b4d2611184";
    let hx = "401b30e3b8b5d629635a5c613cdb7919";
    let lists: Vec<(&str, Vec<u8>)> = vec![
        ("ff", format!("{h}\x0c a.txt\n").into_bytes()),
        ("cr-first", format!("\r{h}  a.txt\n").into_bytes()),
        ("vt-tag", format!("MD5 (a.txt)\x0b= {h}\n").into_bytes()),
        ("tab-tag", format!("MD5 (a.txt)\t=\t{h}\n").into_bytes()),
        (
            "nul-tag",
            format!("MD5 (a.txt) = {h}\0MD5 (b) = {h}\0").into_bytes(),
        ),
        ("escaped", format!("\\{hx}  n\\nl\\r\n").into_bytes()),
    ];
    for (what, list) in lists {
        std::fs::write(dir.path().join("L"), &list).unwrap();
        let run_in = |mut cmd: Command| run(cmd.args(["-c", "L"]).current_dir(dir.path()));
        let ours = run_in(phash());
        let theirs = run_in(Command::new("md5sum"));
        assert_eq!(code(&ours), code(&theirs), "{what}: {}", stderr(&ours));
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout),
            "{what}"
        );
    }
}

/// `phash -c SUMS > /dev/full` goes on checking as `md5sum -c` does: the missing file and
/// the closing warning are still said, then that standard output failed, exit 1. It
/// stopped at the first failed write and said only that.
#[test]
fn check_mode_whose_output_fails_still_gives_its_warnings_as_md5sum_c() {
    let dir = tempdir();
    write(&dir.path().join("a"), b"a\n");
    std::fs::write(
        dir.path().join("SUMS"),
        "60b725f10c9c85c70d97880dfe8191b3  a\n60b725f10c9c85c70d97880dfe8191b3  missing\n",
    )
    .unwrap();
    let full = || std::fs::File::create("/dev/full").unwrap();
    let ours = run(phash()
        .args(["-c", "SUMS"])
        .current_dir(dir.path())
        .stdout(full()));
    let err = stderr(&ours);
    assert_eq!(code(&ours), 1, "{err}");
    for says in [
        "missing: No such file or directory",
        "WARNING: 1 listed file could not be read",
        "standard output: No space left on device",
    ] {
        assert!(err.contains(says), "{says}: {err}");
    }
    if have("md5sum") {
        let theirs = run(Command::new("md5sum")
            .args(["-c", "SUMS"])
            .current_dir(dir.path())
            .stdout(full()));
        assert_eq!(code(&theirs), 1);
        assert!(stderr(&theirs).contains("WARNING: 1 listed file could not be read"));
    }
}

/// In `--json`, a directory the walk could not read (its files unhashed) is a
/// `"directory"` object, not a `"file"` one, so that a script counting failed files does
/// not count it; a loop under `-L` too. Its text message is unchanged.
#[test]
fn json_names_an_unreadable_directory_a_directory() {
    let tmp = tempdir();
    let root = tmp.path().join("t");
    write(&root.join("a"), b"a");
    write(&root.join("locked/b"), b"b");
    std::os::unix::fs::symlink("..", root.join("locked/up")).unwrap();
    let kinds = |out: &Output| -> Vec<(String, String)> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["type"] != "totals")
            .map(|v| {
                (
                    v["type"].as_str().unwrap().into(),
                    v["path"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let out = run(phash().args(["--json", "-L"]).arg(&root));
    let up = root.join("locked/up").display().to_string();
    assert!(
        kinds(&out).contains(&("directory".into(), up)),
        "{:?}",
        kinds(&out)
    );
    if unsafe { libc::geteuid() } != 0 || !have("setpriv") {
        eprintln!("SKIP: needs root and setpriv, to walk as nobody a directory nobody may read");
        return;
    }
    std::fs::remove_file(root.join("locked/up")).unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode;
    std::fs::set_permissions(root.join("locked"), mode(0o000)).unwrap();
    for p in [tmp.path(), &root] {
        std::fs::set_permissions(p, mode(0o755)).unwrap();
    }
    let as_nobody = |json: bool| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_phash"));
        if json {
            cmd.arg("--json");
        }
        run(cmd.arg(&root))
    };
    let out = as_nobody(true);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let locked = root.join("locked").display().to_string();
    let a = root.join("a").display().to_string();
    assert_eq!(
        kinds(&out),
        [("file".into(), a), ("directory".into(), locked.clone())]
    );
    let text = as_nobody(false);
    assert!(
        stderr(&text).contains(&format!("{locked}: Permission denied")),
        "{}",
        stderr(&text)
    );
}

/// Whether this machine's `cksum` checks tagged lines of every algorithm (coreutils 9's
/// `cksum -a`): the oracle for lists of mixed algorithms.
fn have_cksum_a() -> bool {
    have("cksum")
        && Command::new("cksum")
            .args(["-a", "sm3", "/dev/null"])
            .output()
            .is_ok_and(|o| o.status.success())
}

#[test]
fn a_line_of_an_algorithm_phash_does_not_compute_fails_the_check_as_in_cksum() {
    let dir = tempdir();
    let cwd = dir.path();
    write(&cwd.join("a"), b"1");
    write(&cwd.join("b"), b"2");
    let md5_a = crate_hex("md5", b"1");
    let sha384_b = crate_hex("sha384", b"2");
    // What `cksum -a md5|sha384|blake2b|sm3` and `cksum -a blake2b -l 256` write; the
    // digests of lines phash cannot compute do not matter to it.
    let list = format!(
        "MD5 (a) = {md5_a}\nSHA384 (b) = {sha384_b}\nBLAKE2b (b) = {}\nSM3 (b) = {}\n\
         \\BLAKE2b-256 (b\\\\c) = {}\n",
        "ab".repeat(64),
        "cd".repeat(32),
        "ef".repeat(32)
    );
    write(&cwd.join("list"), list.as_bytes());
    for jobs in ["-j1", "-j2"] {
        let out = phash_in(cwd, &["-c", jobs, "list"]);
        // Skipped as improperly formatted, they let a changed `b` pass (exit 0).
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "a: OK\nb: OK\nb: FAILED unsupported algorithm\nb: FAILED unsupported algorithm\n\
             b\\c: FAILED unsupported algorithm\n"
        );
        let err = stderr(&out);
        assert!(
            err.contains("list: 3: BLAKE2b checksums cannot be checked")
                && err.contains("list: 4: SM3 checksums cannot be checked")
                && err.contains("list: 5: BLAKE2b-256 checksums cannot be checked")
                && err.contains("WARNING: 3 lines use an unsupported algorithm"),
            "{err}"
        );
        assert!(!err.contains("improperly formatted"), "{err}");
        let status = phash_in(cwd, &["-c", "--status", jobs, "list"]);
        assert_eq!((code(&status), status.stdout.len()), (1, 0));
        let json = json_lines(&phash_in(cwd, &["-c", "--json", jobs, "list"]));
        assert_eq!(json[2]["status"], "unsupported");
        assert_eq!(json[2]["algorithm"], "BLAKE2b");
        assert_eq!(json[2]["line"], 3);
        assert_eq!(json[4]["path"], "b\\c");
    }
    // With -a, as sha384sum reads them: other algorithms' lines are improperly formatted.
    let out = phash_in(cwd, &["-c", "-a", "sha384", "list"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("WARNING: 4 lines are improperly formatted"));
    // A file missing under --ignore-missing is not a failure, whatever its algorithm.
    write(
        &cwd.join("gone.list"),
        format!("MD5 (a) = {md5_a}\nBLAKE2b (gone) = {}\n", "ab".repeat(64)).as_bytes(),
    );
    let out = phash_in(cwd, &["-c", "--ignore-missing", "gone.list"]);
    assert_eq!((code(&out), stderr(&out)), (0, String::new()));
    let json = json_lines(&phash_in(
        cwd,
        &["-c", "--ignore-missing", "--json", "gone.list"],
    ));
    assert_eq!(
        (&json[1]["status"], &json[1]["path"]),
        (&"missing".into(), &"gone".into())
    );
    // cksum, the oracle, fails the first list for the same lines' sake.
    if have_cksum_a() {
        for l in ["list", "gone.list"] {
            let want = run(Command::new("cksum").current_dir(cwd).args(["-c", l]));
            let got = phash_in(cwd, &["-c", l]);
            assert_eq!(code(&got), code(&want), "{l}");
        }
    } else {
        eprintln!("skipped the comparison with cksum -c: no coreutils 9 cksum here");
    }
}

#[test]
fn without_a_two_spaces_after_the_tag_are_read_as_cksum_reads_them() {
    let dir = tempdir();
    let cwd = dir.path();
    write(&cwd.join("a"), b"1");
    // `rhash --sha1 --bsd` writes two spaces after SHA1; cksum -c reads that, sha1sum -c
    // and cksum do not read three.
    let sha1 = crate_hex("sha1", b"1");
    write(&cwd.join("two"), format!("SHA1  (a) = {sha1}\n").as_bytes());
    write(
        &cwd.join("three"),
        format!("SHA1   (a) = {sha1}\n").as_bytes(),
    );
    let out = phash_in(cwd, &["-c", "two"]);
    assert_eq!(
        (code(&out), String::from_utf8_lossy(&out.stdout).as_ref()),
        (0, "a: OK\n")
    );
    let out = phash_in(cwd, &["-c", "-a", "sha1", "two"]);
    assert_eq!(code(&out), 1, "as sha1sum -c: {}", stderr(&out));
    let out = phash_in(cwd, &["-c", "three"]);
    assert_eq!(code(&out), 1);
    if have_cksum_a() {
        for (l, want) in [("two", 0), ("three", 1)] {
            let got = run(Command::new("cksum").current_dir(cwd).args(["-c", l]));
            assert_eq!(code(&got), want, "cksum -c {l}");
        }
        if have("sha1sum") {
            let got = run(Command::new("sha1sum").current_dir(cwd).args(["-c", "two"]));
            assert_eq!(code(&got), 1, "sha1sum -c two");
        }
    }
}
