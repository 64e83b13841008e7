//! phash against its oracles: GNU md5sum (run on the same files, in the order phash must
//! use, computed here by an independent walk) and the md-5 crate for digests.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::symlink;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use md5::{Digest, Md5};

use crate::util::{code, have, phash, run, stderr, stdout, tempdir, write};

/// Runs `cmd` (cwd, no stdin) and kills it if it takes longer than 20 s: a FIFO opened by
/// mistake must fail the test, not hang it.
fn run_t(cmd: &mut Command) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run command");
    let (mut so, mut se) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        so.read_to_end(&mut v).unwrap();
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        se.read_to_end(&mut v).unwrap();
        v
    });
    let status = wait_or_kill(&mut child, Duration::from_secs(20), &format!("{cmd:?}"));
    Output {
        status,
        stdout: t_out.join().unwrap(),
        stderr: t_err.join().unwrap(),
    }
}

/// Waits for `child`, killing it and failing the test if it runs longer than `limit`.
fn wait_or_kill(
    child: &mut std::process::Child,
    limit: Duration,
    what: &str,
) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("{what} hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `cmd` with `input` on stdin.
fn run_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run command");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn md5sum() -> Command {
    Command::new("md5sum")
}

/// The files phash must list for `root`, in its order, found independently of phash:
/// depth-first, each directory's entries sorted by name bytes, regular files only,
/// symbolic links inside the tree followed only when `follow`.
fn expected_files(root: &Path, follow: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut names: Vec<OsString> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for n in names {
        let p = root.join(&n);
        let md = if follow {
            match std::fs::metadata(&p) {
                Ok(m) => m,
                Err(_) => continue, // dangling
            }
        } else {
            std::fs::symlink_metadata(&p).unwrap()
        };
        if md.is_dir() {
            out.extend(expected_files(&p, follow));
        } else if md.file_type().is_file() {
            out.push(p);
        }
    }
    out
}

/// md5sum's output for these files, in this order, run in `cwd`.
fn md5sum_lines(cwd: &Path, args: &[&str], files: &[PathBuf]) -> Output {
    let out = md5sum()
        .current_dir(cwd)
        .args(args)
        .arg("--")
        .args(files)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "md5sum failed: {}", stderr(&out));
    out
}

/// A tree with every awkward case: empty files, a large file, spaces, newline, carriage
/// return, backslash and non-UTF-8 names, names whose byte order differs from other
/// orders, nested empty directories, symbolic links (file, directory, dangling) and a
/// FIFO. Returns the large file's contents.
fn awkward_tree(root: &Path) -> Vec<u8> {
    let big = crate::util::incompressible((3 << 20) + 17, 0);
    write(&root.join("big.bin"), &big);
    write(&root.join("empty"), b"");
    write(&root.join("sub/empty too"), b"");
    write(&root.join("with space"), b"space\n");
    write(&root.join("new\nline"), b"nl");
    write(&root.join("carriage\rreturn"), b"cr");
    write(&root.join("back\\slash"), b"bs");
    write(&root.join(OsStr::from_bytes(b"bad\xffutf8")), b"latin");
    write(&root.join("B"), b"upper");
    write(&root.join("a-b"), b"dash");
    write(&root.join("a/x"), b"ax");
    write(&root.join("a/b/c/deep"), b"deep");
    std::fs::create_dir_all(root.join("emptydirs/dirs/nested")).unwrap();
    std::fs::create_dir_all(root.join("e1/e2/e3")).unwrap();
    symlink("with space", root.join("link-to-file")).unwrap();
    symlink("a", root.join("link-to-dir")).unwrap();
    symlink("nowhere", root.join("dangling")).unwrap();
    let fifo = std::ffi::CString::new(root.join("fifo").into_os_string().into_vec()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    big
}

#[test]
fn tree_output_equals_md5sum_for_every_job_count() {
    if !have("md5sum") {
        return;
    }
    let dir = tempdir();
    let big = awkward_tree(&dir.path().join("tree"));
    let files = expected_files(&dir.path().join("tree"), false);
    let rel: Vec<PathBuf> = files
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
        .collect();
    let want = md5sum_lines(dir.path(), &[], &rel).stdout;
    for jobs in ["1", "2", "4"] {
        let out = run_t(phash().current_dir(dir.path()).args(["-j", jobs, "tree"]));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(out.stdout, want, "-j {jobs}");
        let err = stderr(&out);
        assert!(
            err.contains("phash: tree/fifo: is a FIFO, skipped"),
            "{err}"
        );
        assert!(!err.contains("dangling"), "{err}");
    }
    // md5deep's and rhash's `-r` is accepted: directories are walked anyway.
    let out = run_t(phash().current_dir(dir.path()).args(["-r", "tree"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(out.stdout, want, "-r");
    // The digest of the large file, from the md-5 crate.
    let hex: String = Md5::digest(&big)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(String::from_utf8_lossy(&want).contains(&format!("{hex}  tree/big.bin\n")));
    // -q silences the warning.
    let out = run_t(phash().current_dir(dir.path()).args(["-q", "tree"]));
    assert_eq!(out.stdout, want);
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn tag_and_zero_forms_equal_md5sum() {
    if !have("md5sum") {
        return;
    }
    let dir = tempdir();
    awkward_tree(&dir.path().join("t"));
    let files = expected_files(&dir.path().join("t"), false);
    let rel: Vec<PathBuf> = files
        .iter()
        .map(|p| p.strip_prefix(dir.path()).unwrap().to_path_buf())
        .collect();
    for args in [&["--tag"][..], &["-z"], &["--tag", "-z"]] {
        let want = md5sum_lines(dir.path(), args, &rel).stdout;
        let out = run_t(phash().current_dir(dir.path()).args(args).args(["-q", "t"]));
        assert_eq!(out.stdout, want, "{args:?}");
    }
}

#[test]
fn follow_links_hashes_targets_and_reports_loops() {
    if !have("md5sum") {
        return;
    }
    let dir = tempdir();
    let t = dir.path().join("t");
    write(&t.join("a/x"), b"ax");
    write(&t.join("f"), b"f");
    symlink("f", t.join("link-to-file")).unwrap();
    symlink("a", t.join("link-to-dir")).unwrap();
    symlink("nowhere", t.join("dangling")).unwrap();
    let files = expected_files(&t, true);
    let want = md5sum_lines(dir.path(), &[], &files).stdout;
    let out = run_t(phash().current_dir(dir.path()).arg("-L").arg(&t));
    assert_eq!(out.stdout, want);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("dangling: dangling symbolic link"));

    // A loop is an error; the rest is still hashed.
    symlink("..", t.join("a/up")).unwrap();
    let out = run_t(phash().current_dir(dir.path()).args(["-L", "t"]));
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("t/a/up: file system loop"),
        "{}",
        stderr(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("  t/f\n"));
    // Without -L the loop is never entered.
    let out = run_t(phash().current_dir(dir.path()).arg("t"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn stdin_equals_md5sum() {
    if !have("md5sum") {
        return;
    }
    for args in [&[][..], &["-"], &["--tag"]] {
        let want = run_stdin(md5sum().args(args), b"hi");
        let got = run_stdin(phash().args(args), b"hi");
        assert_eq!(got.stdout, want.stdout, "{args:?}");
        assert_eq!(code(&got), 0);
    }
}

/// Standard input named twice (or as `-` and `/dev/stdin`) is read whole by the first
/// operand and found empty by the second, as md5sum reads it: two workers reading it at
/// once each got a part (two wrong digests, exit 0). A redirected file shares one offset
/// too; a file named by its path does not, and is read whole each time.
#[test]
fn stdin_named_twice_is_read_whole_by_the_first_as_md5sum_reads_it() {
    let data = crate::util::incompressible(8 << 20, 3);
    let (whole, empty) = (md5_hex(&data), md5_hex(b""));
    let dir = tempdir();
    let file = dir.path().join("data");
    write(&file, &data);
    for jobs in ["-j2", "-j1"] {
        for second in ["-", "/dev/stdin"] {
            for round in 0..3 {
                let args = [jobs, "-", second];
                let want = format!("{whole}  -\n{empty}  {second}\n");
                let got = run_stdin(phash().args(args), &data);
                assert_eq!(stdout(&got), want, "{args:?} on a pipe, round {round}");
                assert_eq!(code(&got), 0, "{}", stderr(&got));
            }
        }
        let redirected = |args: &[&str]| {
            let f = std::fs::File::open(&file).unwrap();
            phash().args(args).stdin(f).output().unwrap()
        };
        let got = redirected(&[jobs, "-", "-"]);
        assert_eq!(
            stdout(&got),
            format!("{whole}  -\n{empty}  -\n"),
            "{jobs} < file"
        );
        let got = redirected(&[jobs, "-", "/dev/stdin"]);
        let want = format!("{whole}  -\n{whole}  /dev/stdin\n");
        assert_eq!(
            stdout(&got),
            want,
            "{jobs} - /dev/stdin < file: reopened, own offset"
        );
    }
}

/// The same in a list `phash -c` checks (not itself on standard input): two `-` lines far
/// apart are checked by different workers, and were each given a part of the input.
#[test]
fn check_reads_stdin_for_each_dash_line_in_the_lists_order() {
    let data = crate::util::incompressible(8 << 20, 4);
    let dir = tempdir();
    write(&dir.path().join("small"), b"small");
    let mut list = format!("{}  -\n", md5_hex(&data));
    for _ in 0..300 {
        list += &format!("{}  small\n", md5_hex(b"small"));
    }
    list += &format!("{}  -\n", md5_hex(b""));
    write(&dir.path().join("l.md5"), list.as_bytes());
    for round in 0..3 {
        let got = run_stdin(
            phash()
                .current_dir(dir.path())
                .args(["-j2", "-c", "--quiet", "l.md5"]),
            &data,
        );
        assert_eq!(stdout(&got), "", "round {round}: {}", stderr(&got));
        assert_eq!(code(&got), 0, "round {round}");
    }
}

#[test]
fn missing_operand_is_reported_like_md5sum_and_the_run_goes_on() {
    if !have("md5sum") {
        return;
    }
    let dir = tempdir();
    write(&dir.path().join("a"), b"a");
    write(&dir.path().join("c"), b"c");
    let args = ["a", "nope", "c"];
    let want = md5sum()
        .current_dir(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let got = run_t(phash().current_dir(dir.path()).args(args));
    assert_eq!(got.stdout, want.stdout);
    assert_eq!(code(&got), code(&want));
    assert_eq!(
        stderr(&got).replace("phash:", "md5sum:"),
        stderr(&want),
        "stderr"
    );
}

/// Files with awkward names, their md5sum list (untagged and tagged), for check tests.
fn check_fixture(root: &Path) -> Vec<PathBuf> {
    let names: Vec<PathBuf> = [
        &b"plain"[..],
        b"with space",
        b"new\nline",
        b"back\\slash",
        b"carriage\rreturn",
        b"bad\xffutf8",
        b"empty",
    ]
    .iter()
    .map(|n| PathBuf::from(OsStr::from_bytes(n)))
    .collect();
    for (i, n) in names.iter().enumerate() {
        let body = if n.as_os_str() == "empty" {
            Vec::new()
        } else {
            format!("file {i}\n").into_bytes()
        };
        write(&root.join(n), &body);
    }
    names
}

/// Runs `phash ARGS` and `md5sum ARGS` in `cwd` and asserts the same stdout, the same
/// stderr (modulo the program name) and the same exit status.
fn same_as_md5sum(cwd: &Path, args: &[&str]) -> Output {
    let want = md5sum()
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    for jobs in ["1", "3"] {
        let got = run_t(phash().current_dir(cwd).args(["-j", jobs]).args(args));
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "stdout of {args:?}"
        );
        assert_eq!(
            stderr(&got).replace("phash:", "md5sum:"),
            stderr(&want),
            "stderr of {args:?}"
        );
        assert_eq!(code(&got), code(&want), "status of {args:?}");
    }
    want
}

#[test]
fn md5sum_lists_pass_phash_check_and_phash_lists_pass_md5sum_check() {
    if !have("md5sum") {
        return;
    }
    let dir = tempdir();
    let names = check_fixture(dir.path());
    for tag in [false, true] {
        let flag: &[&str] = if tag { &["--tag"] } else { &[] };
        let by_md5sum = md5sum_lines(dir.path(), flag, &names).stdout;
        write(&dir.path().join("m.md5"), &by_md5sum);
        let out = same_as_md5sum(dir.path(), &["-c", "m.md5"]);
        assert_eq!(code(&out), 0);

        let by_phash = run_t(phash().current_dir(dir.path()).args(flag).args(&names));
        assert_eq!(by_phash.stdout, by_md5sum);
        write(&dir.path().join("p.md5"), &by_phash.stdout);
        let out = md5sum()
            .current_dir(dir.path())
            .args(["-c", "p.md5"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // The list on standard input.
    let list = md5sum_lines(dir.path(), &[], &names).stdout;
    let want = run_stdin(md5sum().current_dir(dir.path()).arg("-c"), &list);
    let got = run_stdin(phash().current_dir(dir.path()).arg("-c"), &list);
    assert_eq!(got.stdout, want.stdout);
    assert_eq!(code(&got), 0);
}

#[test]
fn failures_and_options_match_md5sum_exactly() {
    if !have("md5sum") {
        return;
    }
    let dir = tempdir();
    let names = check_fixture(dir.path());
    let mut list = md5sum_lines(dir.path(), &[], &names).stdout;
    // A comment, a blank line, a bad line, a CRLF line, a tagged line.
    list.extend_from_slice(b"# comment\n\nnot a checksum line\n");
    list.extend_from_slice(b"d41d8cd98f00b204e9800998ecf8427e  empty\r\n");
    list.extend_from_slice(b"MD5 (plain) = 5e8c4a8a1b55cef8a6b0e3a9a0f8ee8b\n");
    write(&dir.path().join("l.md5"), &list);
    let all_ok = md5sum_lines(dir.path(), &[], &names[..1]).stdout;
    write(&dir.path().join("ok.md5"), &all_ok);
    write(&dir.path().join("bad.md5"), b"garbage\n");
    write(&dir.path().join("blank.md5"), b"");

    // Modify one file, remove another.
    write(&dir.path().join("with space"), b"changed");
    std::fs::remove_file(dir.path().join(OsStr::from_bytes(b"bad\xffutf8"))).unwrap();

    for opts in [
        &[][..],
        &["--quiet"],
        &["--status"],
        &["-w"],
        &["--strict"],
        &["--ignore-missing"],
        &["--status", "-w"],
        &["-w", "--quiet"],
    ] {
        for lists in [
            &["l.md5"][..],
            &["ok.md5"],
            &["bad.md5"],
            &["blank.md5"],
            &["nonexistent.md5"],
            &["ok.md5", "l.md5", "bad.md5"],
        ] {
            let args: Vec<&str> = ["-c"].iter().chain(opts).chain(lists).copied().collect();
            same_as_md5sum(dir.path(), &args);
        }
    }
    // Every listed file missing, with --ignore-missing.
    write(
        &dir.path().join("gone.md5"),
        b"d41d8cd98f00b204e9800998ecf8427e  gone1\nd41d8cd98f00b204e9800998ecf8427e  gone2\n",
    );
    same_as_md5sum(dir.path(), &["-c", "--ignore-missing", "gone.md5"]);
    same_as_md5sum(dir.path(), &["-c", "gone.md5"]);
}

#[test]
fn excludes_and_max_depth() {
    let dir = tempdir();
    write(&dir.path().join("t/keep"), b"k");
    write(&dir.path().join("t/skip.o"), b"o");
    write(&dir.path().join("t/sub/deep"), b"d");
    write(&dir.path().join("t/build/x"), b"x");
    let out = run_t(phash().current_dir(dir.path()).args([
        "--exclude",
        "*.o",
        "--exclude",
        "build",
        "t",
    ]));
    let s = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = s.lines().map(|l| &l[34..]).collect();
    assert_eq!(names, ["t/keep", "t/sub/deep"]);
    let out = run_t(
        phash()
            .current_dir(dir.path())
            .args(["--max-depth", "1", "t"]),
    );
    let s = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = s.lines().map(|l| &l[34..]).collect();
    assert_eq!(names, ["t/keep", "t/skip.o"]);
}

/// An operand whose name an exclude matches is left out, as tar leaves it out (`phash
/// --exclude '*.log' /var/app/*` hashed the logs the shell named): a file, a directory, a
/// directory-only pattern. `.` has no name to match.
#[test]
fn an_operand_whose_name_is_excluded_is_left_out() {
    let dir = tempdir();
    write(&dir.path().join("app.log"), b"l");
    write(&dir.path().join("app.txt"), b"t");
    write(&dir.path().join("build/x"), b"x");
    write(&dir.path().join("src/y"), b"y");
    let names = |args: &[&str]| -> Vec<String> {
        let out = run_t(phash().current_dir(dir.path()).args(args));
        let s = String::from_utf8(out.stdout).unwrap();
        s.lines().map(|l| l[34..].to_string()).collect()
    };
    let all = ["app.log", "app.txt", "build", "src"];
    let args = |ex: &[&'static str]| -> Vec<&'static str> {
        ex.iter()
            .flat_map(|e| ["--exclude", e])
            .chain(all)
            .collect()
    };
    assert_eq!(names(&args(&["*.log", "build"])), ["app.txt", "src/y"]);
    assert_eq!(names(&args(&["build/", "src/"])), ["app.log", "app.txt"]);
    assert_eq!(
        names(&["--exclude", "src", "."]),
        ["./app.log", "./app.txt", "./build/x"]
    );
    // A pattern with a `/` matches the operand as typed, as tar matches it.
    assert_eq!(
        names(&["--exclude", "src/y", "src/y", "app.txt"]),
        ["app.txt"]
    );
    // As tab completion and `./` spell it too.
    assert_eq!(
        names(&["--exclude", "src/y", "src/y/", "./src/y", "app.txt"]),
        ["app.txt"]
    );
}

/// `--exclude` reads as gitignore and rsync do: a trailing `/` for directories only, a
/// leading `/` (or `./`) for a path from the operand. Both matched nothing, silently; an
/// empty pattern is refused.
#[test]
fn excludes_with_a_slash_before_or_after_read_as_gitignore() {
    let dir = tempdir();
    for f in [
        "t/node_modules/x/m.js",
        "t/b/f",
        "t/a/b/g",
        "t/c/node_modules",
    ] {
        write(&dir.path().join(f), b"x");
    }
    let cases: [(&str, &[&str]); 6] = [
        ("node_modules/", &["t/a/b/g", "t/b/f", "t/c/node_modules"]),
        ("node_modules", &["t/a/b/g", "t/b/f"]),
        ("b/", &["t/c/node_modules", "t/node_modules/x/m.js"]),
        (
            "/b",
            &["t/a/b/g", "t/c/node_modules", "t/node_modules/x/m.js"],
        ),
        (
            "./b",
            &["t/a/b/g", "t/c/node_modules", "t/node_modules/x/m.js"],
        ),
        (
            "/a/b/",
            &["t/b/f", "t/c/node_modules", "t/node_modules/x/m.js"],
        ),
    ];
    for (glob, want) in cases {
        let out = run_t(
            phash()
                .current_dir(dir.path())
                .args(["t", "--exclude", glob]),
        );
        assert_eq!(code(&out), 0, "{glob}: {}", stderr(&out));
        let got: Vec<String> = stdout(&out).lines().map(|l| l[34..].to_string()).collect();
        assert_eq!(got, want, "--exclude {glob}");
    }
    let out = run_t(phash().current_dir(dir.path()).args(["t", "--exclude", ""]));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn a_closed_pipe_is_success_and_stats_go_to_stderr() {
    // Long names, so the output (about 160 KiB) is more than a pipe and the output buffer
    // hold, and phash really meets the closed pipe.
    let dir = tempdir();
    let long = "n".repeat(200);
    for i in 0..700 {
        write(&dir.path().join(format!("d/{long}{i}")), b"x");
    }
    let mut child = phash()
        .current_dir(dir.path())
        .arg("d")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));

    let out = run_t(phash().current_dir(dir.path()).args(["--stats", "d"]));
    assert_eq!(code(&out), 0);
    assert!(
        stderr(&out).contains("700 files"),
        "stats: {}",
        stderr(&out)
    );
    // One of a kind is said in the singular.
    let out = run_t(
        phash()
            .current_dir(dir.path())
            .args(["--stats"])
            .arg(format!("d/{long}0"))
            .arg("nothing"),
    );
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("phash: 1 file, ") && err.contains(", 1 error, "),
        "{err}"
    );
}

/// `phash DIR 2>&1 >/dev/null | head -3`: warnings to a standard error that closes early
/// are dropped, the run goes on to its end and its exit status. (Writing them with
/// `eprintln!` panicked in the thread that delivers results, and the run then hung for
/// good, its walk waiting for room in the pool.)
#[test]
fn a_closed_standard_error_ends_no_run_and_hangs_none() {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    for i in 0..3000 {
        let fifo = std::ffi::CString::new(format!("{}/d/p{i}", dir.path().display())).unwrap();
        // SAFETY: a valid C string; mkfifo only creates the node.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    }
    write(&dir.path().join("d/zz"), b"abc");
    for jobs in ["1", "2"] {
        let mut child = phash()
            .current_dir(dir.path())
            .args(["-j", jobs, "d"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = [0u8; 10];
        let mut err = child.stderr.take().unwrap();
        err.read_exact(&mut first).unwrap();
        drop(err);
        let what = format!("-j{jobs}: phash, once its standard error closed,");
        let status = wait_or_kill(&mut child, Duration::from_secs(30), &what);
        assert_eq!(status.code(), Some(0), "-j{jobs}: warnings only");
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "900150983cd24fb0d6963f7d28e17f72  d/zz\n", "-j{jobs}");
    }
}

#[test]
fn bench_reports_a_row_per_worker_count_and_agrees_across_runs() {
    let dir = tempdir();
    for i in 0..20 {
        write(&dir.path().join(format!("t/f{i}")), &vec![b'x'; 1000 * i]);
    }
    let json = dir.path().join("bench.json");
    let out = run_t(
        phash()
            .args([
                "--bench",
                "--bench-jobs",
                "1,2",
                "--bench-runs",
                "2",
                "--bench-json",
            ])
            .arg(&json)
            .arg(dir.path().join("t")),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .filter(|l| l.contains('x'))
        .collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(rows[0].trim_start().starts_with("1 ") && rows[1].trim_start().starts_with("2 "));
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(text.contains("\"rows\""), "{text}");
}

#[test]
fn bench_refuses_standard_input() {
    let out = run_t(phash().args(["--bench", "-"]));
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("--bench"));
}

/// Sends `signal` to a phash hashing a large sparse file and expects the interrupt status
/// promptly, with no digest line for the unfinished file.
fn phash_stops_on(signal: libc::c_int) {
    let dir = tempdir();
    let big = dir.path().join("sparse.bin");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(64 << 30).unwrap(); // 64 GiB of holes: minutes of hashing, no disk used
    drop(f);
    let mut child = phash()
        .arg("-j2")
        .arg(&big)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(crate::util::signal(&child, signal));
    let what = format!("phash, sent signal {signal},");
    let status = wait_or_kill(&mut child, Duration::from_secs(20), &what);
    // Died by the signal, as md5sum does: a shell sees 128 + N (130 for SIGINT).
    assert_eq!(status.signal(), Some(signal), "{status:?}");
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(out.is_empty(), "no line for an unfinished file: {out}");
}

#[test]
fn sigint_and_sigterm_stop_a_long_hash_and_kill_it() {
    phash_stops_on(libc::SIGINT);
    phash_stops_on(libc::SIGTERM);
}

// ---------------------------------------------------------------------------------------
// Named operands, streaming, races, closed pipes, exit statuses, pseudo-files, signals.

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

fn md5_hex(data: &[u8]) -> String {
    Md5::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads `child`'s first stdout line. If none has come after 20 s, calls `release` (which
/// must make the child finish: close its input) and reports that the line came late, so a
/// test of "prints before its input ends" fails instead of hanging.
fn first_line_early(
    child: &mut std::process::Child,
    release: impl FnOnce() + Send + 'static,
) -> (String, bool) {
    use std::io::BufRead;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let got = Arc::new(AtomicBool::new(false));
    let late = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let (got, late) = (got.clone(), late.clone());
        std::thread::spawn(move || {
            for _ in 0..400 {
                if got.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            late.store(true, Ordering::SeqCst);
            release();
        })
    };
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    got.store(true, Ordering::SeqCst);
    watchdog.join().unwrap();
    (line, !late.load(Ordering::SeqCst))
}

/// The writing end of `fifo`, once `child` has opened it to read (20 s at most: then the
/// child is killed and the test fails).
fn fifo_writer_once_opened(fifo: &Path, child: &mut std::process::Child) -> std::fs::File {
    let start = Instant::now();
    loop {
        match open_fifo_writer(fifo) {
            Ok(w) => return w,
            Err(_) if start.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => {
                let _ = child.kill();
                panic!("{fifo:?} was never opened to be read: {e}");
            }
        }
    }
}

/// Opens a FIFO for writing without waiting for a reader (ENXIO if there is none).
fn open_fifo_writer(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[test]
fn operands_named_on_the_command_line_are_read_as_md5sum_reads_them() {
    if !have("md5sum") {
        return;
    }
    let dir = tempdir();
    write(&dir.path().join("target"), b"the target\n");
    symlink("target", dir.path().join("link")).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();
    // A link to a file, a character device, a socket (an error, as in md5sum), a file.
    same_as_md5sum(dir.path(), &["link", "/dev/null", "sock", "target"]);
    same_as_md5sum(dir.path(), &["link"]);

    // /dev/stdin names the pipe on standard input.
    let want = run_stdin(md5sum().arg("/dev/stdin"), b"hi\n");
    let got = run_stdin(phash().arg("/dev/stdin"), b"hi\n");
    assert_eq!(got.stdout, want.stdout);
    assert_eq!(code(&got), 0, "{}", stderr(&got));

    // A FIFO named explicitly is read (it is what `phash <(cmd)` names).
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let mut child = phash()
        .arg(&fifo)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = fifo_writer_once_opened(&fifo, &mut child);
    w.write_all(b"through a fifo\n").unwrap();
    drop(w);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}  {}\n", md5_hex(b"through a fifo\n"), fifo.display())
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

/// Names in a checksum list are read as md5sum -c reads them, devices and FIFOs included:
/// phash's own list of `/dev/null` was reported FAILED ("is a character device, not
/// read"), and so was a list naming `/dev/stdin` or a disk.
#[test]
fn devices_and_fifos_named_in_a_list_are_checked_as_md5sum_checks_them() {
    let dir = tempdir();
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let list = format!(
        "{}  /dev/null\n{}  /dev/stdin\n{}  {}\n",
        md5_hex(b""),
        md5_hex(b"in\n"),
        md5_hex(b"through a fifo\n"),
        fifo.display()
    );
    write(&dir.path().join("list"), list.as_bytes());
    let mut checks = vec![phash()];
    if have("md5sum") {
        checks.push(md5sum());
    }
    for mut cmd in checks {
        let mut child = cmd
            .args(["-c", "list"])
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"in\n").unwrap();
        let mut w = fifo_writer_once_opened(&fifo, &mut child);
        w.write_all(b"through a fifo\n").unwrap();
        drop(w);
        let out = child.wait_with_output().unwrap();
        assert_eq!(code(&out), 0, "{cmd:?}: {}", stderr(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            format!("/dev/null: OK\n/dev/stdin: OK\n{}: OK\n", fifo.display()),
            "{cmd:?}"
        );
    }
}

/// `phash . > SUMS` inside the tree: the list being written is skipped with a warning.
/// phash hashed it as it grew and failed at random ("file changed size while being
/// read"), or listed it empty for the next check to call FAILED.
#[test]
fn the_output_file_inside_the_tree_is_skipped_with_a_warning() {
    let dir = tempdir();
    for i in 0..300 {
        write(
            &dir.path().join(format!("f{i:03}")),
            format!("{i}\n").as_bytes(),
        );
    }
    for name in ["00.sums", "zz.sums"] {
        let list = dir.path().join(name);
        let out = phash()
            .arg(".")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&list).unwrap())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!("phash: ./{name}: is the output being written (standard output), skipped\n")
        );
        let text = std::fs::read_to_string(&list).unwrap();
        assert_eq!(
            text.lines().count(),
            300 + usize::from(name == "zz.sums"),
            "{name}"
        );
        assert!(!text.contains(name), "{name} lists itself");
        if have("md5sum") {
            let check = run_t(
                md5sum()
                    .arg("-c")
                    .arg("--quiet")
                    .arg(name)
                    .current_dir(dir.path()),
            );
            assert_eq!(code(&check), 0, "{name}: {}", stderr(&check));
        }
    }
}

#[test]
fn special_files_inside_a_walked_tree_are_still_skipped_with_a_warning() {
    let dir = tempdir();
    write(&dir.path().join("t/a"), b"a");
    mkfifo(&dir.path().join("t/fifo"));
    let out = run_t(phash().current_dir(dir.path()).arg("t"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}  t/a\n", md5_hex(b"a"))
    );
    assert_eq!(stderr(&out), "phash: t/fifo: is a FIFO, skipped\n");
    assert_eq!(code(&out), 0);
}

/// `phash -j2 small fifo` started in a fresh directory, its output piped: the directory
/// (kept alive), the FIFO's path, the child.
fn small_then_fifo() -> (tempfile::TempDir, PathBuf, std::process::Child) {
    let dir = tempdir();
    write(&dir.path().join("small"), b"small");
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let child = phash()
        .current_dir(dir.path())
        .args(["-j2", "small", "fifo"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    (dir, fifo, child)
}

#[test]
fn lines_are_printed_while_a_later_operand_is_still_being_read() {
    // `phash small FIFO`: the line for `small` must reach the reader while the FIFO is
    // still open, not when the run ends.
    let (_dir, fifo, mut child) = small_then_fifo();
    let release = {
        let fifo = fifo.clone();
        move || drop(open_fifo_writer(&fifo))
    };
    let (first, early) = first_line_early(&mut child, release);
    let writer = open_fifo_writer(&fifo);
    if let Ok(mut w) = writer {
        let _ = w.write_all(b"late");
    }
    let out = child.wait_with_output().unwrap();
    assert!(early, "the first line came only when the FIFO was closed");
    assert_eq!(first, format!("{}  small\n", md5_hex(b"small")));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}  fifo\n", md5_hex(b"late"))
    );
}

#[test]
fn a_reader_that_goes_away_ends_the_run_while_a_later_operand_is_still_being_read() {
    // `phash small fifo | head -1`: the line for `small` is read and the pipe closed
    // while the FIFO still trickles in. phash has nothing more to write until the FIFO
    // ends, so it must notice the closed pipe without writing, and stop reading.
    use std::sync::atomic::{AtomicBool, Ordering};
    let (_dir, fifo, mut child) = small_then_fifo();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            // A byte every 20 ms for at most 30 s, until phash closes the FIFO.
            let Ok(mut w) = std::fs::OpenOptions::new().write(true).open(&fifo) else {
                return;
            };
            let start = Instant::now();
            while !done.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(30) {
                if w.write_all(b"x").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line, format!("{}  small\n", md5_hex(b"small")));
        drop(child.stdout.take());
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if start.elapsed() > Duration::from_secs(10) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        done.store(true, Ordering::Relaxed);
        if status.is_none() {
            let _ = child.kill();
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            status.is_some(),
            "phash went on reading the FIFO after its reader left"
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(stderr(&out), "");
    });
}

#[test]
fn a_directory_swapped_for_a_link_mid_walk_never_leaks_what_is_outside() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempdir();
    let t = dir.path().join("t");
    // Files sorted before `sub` and beside SECRET, so the swap has time to happen
    // between the walk reading a directory and the file being opened.
    for i in 0..300 {
        write(&t.join(format!("a{i:03}")), &vec![b'a'; 1024]);
        write(&t.join(format!("sub/b{i:03}")), &vec![b'b'; 1024]);
    }
    write(&t.join("sub/SECRET"), b"inside");
    let outside = b"the outside secret, never to be listed under t/\n";
    write(&dir.path().join("out/SECRET"), outside);
    let secret = md5_hex(outside);
    let done = AtomicBool::new(false);
    let (sub, parked) = (t.join("sub"), t.join("sub.parked"));
    let mut runs = 0;
    let mut leaked = None;
    std::thread::scope(|s| {
        s.spawn(|| {
            // Bounded: at most 100 000 swaps, whatever happens to the runs.
            for _ in 0..100_000 {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                std::fs::rename(&sub, &parked).unwrap();
                symlink("../out", &sub).unwrap();
                std::thread::sleep(Duration::from_micros(300));
                std::fs::remove_file(&sub).unwrap();
                std::fs::rename(&parked, &sub).unwrap();
                std::thread::sleep(Duration::from_micros(300));
            }
        });
        let start = Instant::now();
        while runs < 60 && start.elapsed() < Duration::from_secs(2) {
            let out = run_t(phash().current_dir(dir.path()).args(["-j2", "t"]));
            runs += 1;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            if text.contains(&secret) {
                leaked = Some(text);
                break;
            }
        }
        done.store(true, Ordering::Relaxed);
    });
    assert_eq!(leaked, None, "run {runs} hashed the file outside the tree");
    assert!(runs > 0);
}

/// Spawns phash with `args` in `cwd`, reads a little of its output, closes the pipe and
/// expects a quiet success.
fn closed_early(cwd: &Path, args: &[&str]) {
    let mut child = phash()
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{args:?}: {err}");
    // --stats still reports its totals; nothing else may be said.
    let noise: Vec<&str> = err
        .lines()
        .filter(|l| {
            !(args.contains(&"--stats") && l.starts_with("phash: ") && l.contains(" skipped, "))
        })
        .collect();
    assert!(noise.is_empty(), "{args:?}: {err}");
}

#[test]
fn a_closed_pipe_is_a_quiet_success_on_every_output_path() {
    // Long names: the output (over 150 KiB) is more than a pipe and the output buffer
    // hold, so phash really meets the closed pipe.
    let dir = tempdir();
    let long = "n".repeat(200);
    let mut list = String::new();
    for i in 0..700 {
        let name = format!("d/{long}{i}");
        write(&dir.path().join(&name), b"x");
        list.push_str(&format!("{}  {name}\n", md5_hex(b"x")));
    }
    write(&dir.path().join("list"), list.as_bytes());
    for args in [
        &["d"][..],
        &["-j1", "d"],
        &["--tag", "d"],
        &["-z", "d"],
        &["--stats", "d"],
        &["-c", "list"],
        &["-c", "--stats", "list"],
    ] {
        closed_early(dir.path(), args);
    }
}

/// A reader that goes away ends the lines, not the verdict: `phash -c SUMS | head -1`
/// and `phash -c --status SUMS | true` exited 0 without checking the rest (a mismatch at
/// the end went unseen), and `phash missing DIR | head -1` exited 0 after its error.
#[test]
fn a_closed_pipe_keeps_the_verdict() {
    let dir = tempdir();
    let long = "n".repeat(200);
    let mut list = String::new();
    for i in 0..700 {
        let name = format!("d/{long}{i}");
        write(&dir.path().join(&name), if i == 699 { b"y" } else { b"x" });
        list.push_str(&format!("{}  {name}\n", md5_hex(b"x")));
    }
    write(&dir.path().join("list"), list.as_bytes());
    let first_then_close = |args: &[&str]| {
        let (_, status, err) =
            crate::util::first_line_then_close(phash().current_dir(dir.path()).args(args));
        (status, err)
    };
    let (status, err) = first_then_close(&["-c", "list"]);
    assert_eq!(status, Some(1), "the last file was checked: {err}");
    assert!(err.contains("1 computed checksum did NOT match"), "{err}");
    for args in [&["-c", "--status", "list"][..], &["-c", "--quiet", "list"]] {
        let out = crate::util::with_closed_stdout(phash().current_dir(dir.path()).args(args));
        assert_eq!(code(&out), 1, "{args:?}: {}", stderr(&out));
    }
    let (status, err) = first_then_close(&["missing", "d"]);
    assert_eq!(status, Some(1), "{err}");
    // Without a failure, a closed pipe is still a quiet success.
    write(&dir.path().join(format!("d/{long}699")), b"x");
    let (status, err) = first_then_close(&["-c", "list"]);
    assert_eq!((status, err.as_str()), (Some(0), ""));
}

/// GNU long options may be abbreviated while unambiguous (`--che`, `--ign`), and md5sum
/// reads `--stat` as --status: phash refused all three.
#[test]
fn long_options_abbreviated_as_md5sum_takes_them() {
    let dir = tempdir();
    write(&dir.path().join("a"), b"a");
    write(
        &dir.path().join("list"),
        format!("{}  a\n{}  gone\n", md5_hex(b"a"), md5_hex(b"x")).as_bytes(),
    );
    type Tool = (&'static str, fn() -> Command);
    let mut tools: Vec<Tool> = vec![("phash", phash)];
    if have("md5sum") {
        tools.push(("md5sum", md5sum));
    }
    for (tool, cmd) in tools {
        let with = |args: &[&str]| {
            let out = run_t(cmd().current_dir(dir.path()).args(args));
            (code(&out), stdout(&out))
        };
        assert_eq!(
            with(&["--che", "--ign", "list"]),
            (0, "a: OK\n".into()),
            "{tool}"
        );
        assert_eq!(
            with(&["--che", "--stat", "list"]),
            (1, String::new()),
            "{tool}"
        );
    }
}

#[test]
fn exit_statuses_are_0_ok_1_failed_2_usage() {
    let dir = tempdir();
    write(&dir.path().join("a"), b"a");
    let status = |args: &[&str]| code(&run_t(phash().current_dir(dir.path()).args(args)));
    assert_eq!(status(&["a"]), 0);
    assert_eq!(status(&["a", "missing"]), 1);
    assert_eq!(status(&["--no-such-option"]), 2);
    assert_eq!(status(&["-j", "0", "a"]), 2);
    assert_eq!(status(&["-c", "--tag", "a"]), 2);
    assert_eq!(
        status(&["--exclude", "[", "a"]),
        2,
        "a bad glob is a usage error"
    );
    assert_eq!(status(&["--bench", "-"]), 2);
    assert_eq!(status(&["--help"]), 0);
}

#[test]
fn check_lines_with_a_nul_byte_are_read_as_md5sum_reads_them() {
    if !have("md5sum") {
        return;
    }
    let dir = tempdir();
    write(&dir.path().join("a"), b"hi");
    let h = md5_hex(b"hi");
    let lists: [&[u8]; 9] = [
        b"H  a\0b\n",
        b"H  a\0\n",
        b"MD5 (a\0b) = H\n",
        b"H\0 a\n",
        b"H  \0b\n",
        b"\\H  a\0\\n\n",
        b"H  a\0b\nH  a\nH *a\0\0x\n",
        b"H a\0z\n",
        b"H  a\0b\r\n",
    ];
    for (i, list) in lists.iter().enumerate() {
        let text: Vec<u8> = list
            .split(|&b| b == b'H')
            .collect::<Vec<_>>()
            .join(h.as_bytes());
        let name = format!("list{i}");
        write(&dir.path().join(&name), &text);
        same_as_md5sum(dir.path(), &["-c", &name]);
        same_as_md5sum(dir.path(), &["-c", "-w", &name]);
    }
}

#[test]
fn check_prints_the_first_result_while_the_list_is_still_being_written() {
    use std::sync::{Arc, Mutex};
    let dir = tempdir();
    write(&dir.path().join("a"), b"a");
    let line = format!("{}  a\n", md5_hex(b"a"));

    // The list on a pipe (standard input) that stays open.
    let mut child = phash()
        .current_dir(dir.path())
        .args(["-c", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(line.as_bytes()).unwrap();
    let held = Arc::new(Mutex::new(Some(input)));
    let release = {
        let held = held.clone();
        move || drop(held.lock().unwrap().take())
    };
    let (first, early) = first_line_early(&mut child, release);
    if let Some(mut input) = held.lock().unwrap().take() {
        input.write_all(line.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(early, "the first result came only when the list was closed");
    assert_eq!(first, "a: OK\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a: OK\n");
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // The list as a FIFO whose writer stays open.
    let fifo = dir.path().join("list.fifo");
    mkfifo(&fifo);
    let mut child = phash()
        .current_dir(dir.path())
        .args(["-c", "list.fifo"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut w = loop {
        match open_fifo_writer(&fifo) {
            Ok(w) => break w,
            Err(_) if start.elapsed() < Duration::from_secs(20) => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => {
                let _ = child.kill();
                panic!("phash never opened the list: {e}");
            }
        }
    };
    w.write_all(line.as_bytes()).unwrap();
    let held = Arc::new(Mutex::new(Some(w)));
    let release = {
        let held = held.clone();
        move || drop(held.lock().unwrap().take())
    };
    let (first, early) = first_line_early(&mut child, release);
    drop(held.lock().unwrap().take());
    let out = child.wait_with_output().unwrap();
    assert!(early, "the first result came only when the list was closed");
    assert_eq!(first, "a: OK\n");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn pseudo_files_whose_size_is_made_up_are_hashed_like_md5sum() {
    if !have("md5sum") {
        return;
    }
    // sysfs says 4096 bytes and has fewer; procfs says 0 and has some.
    let candidates = [
        "/sys/kernel/mm/transparent_hugepage/enabled",
        "/sys/devices/system/cpu/online",
        "/sys/devices/system/cpu/possible",
        "/sys/kernel/mm/transparent_hugepage/defrag",
        "/proc/sys/kernel/ostype",
    ];
    let present: Vec<&str> = candidates
        .into_iter()
        .filter(|p| std::fs::read(p).is_ok())
        .collect();
    if !present.iter().any(|p| p.starts_with("/sys/")) {
        eprintln!("SKIP: no readable sysfs file here");
        return;
    }
    let want = md5sum()
        .args(&present)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(want.status.success(), "{}", stderr(&want));
    for jobs in ["1", "2"] {
        let got = run_t(phash().args(["-j", jobs]).args(&present));
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout)
        );
        assert_eq!(code(&got), 0, "{}", stderr(&got));
    }
}

/// Sends SIGINT to a phash blocked reading something that never ends and expects the
/// interrupt status within a generous bound.
fn interrupted_while_blocked(args: &[&str], cwd: &Path) {
    let mut child = phash()
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Standard input stays open (and empty) until the end of this function.
    let _input = child.stdin.take();
    std::thread::sleep(Duration::from_millis(300));
    assert!(crate::util::signal(&child, libc::SIGINT));
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.signal(), Some(libc::SIGINT), "{args:?}: {status:?}");
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{args:?}: still running 5 s after SIGINT");
}

#[test]
fn sigint_stops_phash_blocked_on_standard_input() {
    let dir = tempdir();
    interrupted_while_blocked(&[], dir.path());
}

#[test]
fn sigint_stops_check_mode_blocked_on_a_list_on_standard_input() {
    let dir = tempdir();
    interrupted_while_blocked(&["-c", "-"], dir.path());
}

#[test]
fn sigint_stops_check_mode_blocked_on_a_fifo_list() {
    let dir = tempdir();
    mkfifo(&dir.path().join("list"));
    interrupted_while_blocked(&["-c", "list"], dir.path());
}

/// The MD5 engine paths this CPU has, named as `PHASH_MD5_ENGINE` takes them.
fn engines() -> Vec<&'static str> {
    let all = punzip::hash::lanes::Engine::available();
    let missing: Vec<_> = punzip::hash::lanes::Engine::ALL
        .iter()
        .filter(|e| !all.contains(e))
        .map(|e| e.name())
        .collect();
    if !missing.is_empty() {
        eprintln!("skipped: this CPU lacks the {missing:?} engine path(s)");
    }
    all.into_iter().map(|e| e.name()).collect()
}

/// Sizes around every boundary the lane engine has: MD5's block (64) and padding (55/56),
/// its read chunk (256 KiB), the small/big line of a run (1 MiB), and several big files in
/// a row (a run of big files streams through the lanes together). Returns the files,
/// relative to `root`'s parent, in the order phash lists them.
fn mixed_sizes_tree(root: &Path) -> Vec<PathBuf> {
    const K: usize = 1024;
    let mut sizes = vec![
        0,
        1,
        55,
        56,
        63,
        64,
        65,
        127,
        128,
        4 * K,
        300 * K,
        256 * K,
        256 * K + 1,
        K * K - 1,
        K * K,
        3 * K * K,
        3 * K * K + 17,
        K * K + 64,
        2 * K * K + 1,
    ];
    sizes.extend((0..70).map(|i| i * 37 % 5000));
    for (i, size) in sizes.iter().enumerate() {
        let body: Vec<u8> = (0..*size as u32)
            .map(|b| (b.wrapping_add(i as u32).wrapping_mul(2654435761) >> 15) as u8)
            .collect();
        // Spread over two directories so runs cross directory boundaries.
        write(&root.join(format!("d{}/f{i:03}", i / 40)), &body);
    }
    let parent = root.parent().unwrap();
    expected_files(root, false)
        .iter()
        .map(|p| p.strip_prefix(parent).unwrap().to_path_buf())
        .collect()
}

#[test]
fn every_engine_and_job_count_gives_md5sums_output_on_mixed_sizes() {
    if !have("md5sum") {
        eprintln!("skipped: no md5sum");
        return;
    }
    let dir = tempdir();
    let files = mixed_sizes_tree(&dir.path().join("t"));
    let want = md5sum_lines(dir.path(), &[], &files).stdout;
    std::fs::write(dir.path().join("list"), &want).unwrap();
    let want_check = md5sum_lines(dir.path(), &["-c", "list"], &[]).stdout;
    for engine in engines() {
        for jobs in ["1", "2", "3"] {
            let out = run_t(
                phash()
                    .env("PHASH_MD5_ENGINE", engine)
                    .current_dir(dir.path())
                    .args(["-j", jobs, "t"]),
            );
            assert_eq!(code(&out), 0, "{engine} -j{jobs}: {}", stderr(&out));
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&want),
                "{engine} -j{jobs}"
            );
            let out = run_t(
                phash()
                    .env("PHASH_MD5_ENGINE", engine)
                    .current_dir(dir.path())
                    .args(["-j", jobs, "-c", "list"]),
            );
            assert_eq!(code(&out), 0, "-c {engine} -j{jobs}: {}", stderr(&out));
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&want_check),
                "-c {engine} -j{jobs}"
            );
        }
    }
}

#[test]
fn an_unreadable_file_in_a_run_leaves_its_neighbours_lines_right() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    if !have("md5sum") {
        eprintln!("skipped: no md5sum");
        return;
    }
    let dir = tempdir();
    let files = mixed_sizes_tree(&dir.path().join("t"));
    // One small file among small ones and one big file among big ones (ordered by name:
    // f015 is 1 MiB, f017 3 MiB + 17, between other big files).
    let locked: Vec<&PathBuf> = files
        .iter()
        .filter(|p| p.ends_with("f005") || p.ends_with("f017") || p.ends_with("f050"))
        .collect();
    assert_eq!(locked.len(), 3);
    for p in &locked {
        std::fs::set_permissions(dir.path().join(p), std::fs::Permissions::from_mode(0o000))
            .unwrap();
    }
    // Root reads anything: run both programs as nobody, over a tree nobody can walk.
    let as_user = |cmd: &mut Command| {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            cmd.uid(65534).gid(65534);
        }
    };
    for d in ["", "t", "t/d0", "t/d1", "t/d2"] {
        std::fs::set_permissions(dir.path().join(d), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    let mut oracle = md5sum();
    oracle.current_dir(dir.path()).arg("--").args(&files);
    as_user(&mut oracle);
    let want = oracle.stdin(Stdio::null()).output().unwrap();
    assert_eq!(code(&want), 1, "md5sum could read a locked file");
    assert_eq!(stderr(&want).lines().count(), 3, "{}", stderr(&want));
    for engine in engines() {
        for jobs in ["1", "2", "3"] {
            let mut cmd = phash();
            cmd.env("PHASH_MD5_ENGINE", engine)
                .current_dir(dir.path())
                .args(["-j", jobs, "t"]);
            as_user(&mut cmd);
            let out = run_t(&mut cmd);
            assert_like_md5sum(&out, &want, &format!("{engine} -j{jobs}"));
        }
    }
}

#[test]
fn a_failing_line_in_a_checked_run_leaves_its_neighbours_results_right() {
    if !have("md5sum") {
        eprintln!("skipped: no md5sum");
        return;
    }
    let dir = tempdir();
    let files = mixed_sizes_tree(&dir.path().join("t"));
    let list = md5sum_lines(dir.path(), &[], &files).stdout;
    let mut lines: Vec<String> = String::from_utf8(list)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    // Amid the runs: a missing file, a directory, a wrong digest, a misformatted line.
    let zeros = "0".repeat(32);
    lines.insert(3, format!("{zeros}  t/missing"));
    lines.insert(10, format!("{zeros}  t/d1"));
    lines.insert(20, "not a checksum line".to_string());
    let wrong = lines[30].replacen(&lines[30][..32], &zeros, 1);
    lines[30] = wrong;
    std::fs::write(dir.path().join("list"), lines.join("\n") + "\n").unwrap();
    let want = md5sum()
        .current_dir(dir.path())
        .args(["-c", "list"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&want), 1);
    for engine in engines() {
        for jobs in ["1", "2", "3"] {
            let out = run_t(
                phash()
                    .env("PHASH_MD5_ENGINE", engine)
                    .current_dir(dir.path())
                    .args(["-j", jobs, "-c", "list"]),
            );
            assert_like_md5sum(&out, &want, &format!("{engine} -j{jobs}"));
        }
    }
}

#[test]
fn an_unknown_forced_engine_is_a_usage_error() {
    let dir = tempdir();
    write(&dir.path().join("f"), b"x");
    let out = run_t(
        phash()
            .env("PHASH_MD5_ENGINE", "sse9")
            .current_dir(dir.path())
            .arg("f"),
    );
    assert_eq!(code(&out), 2);
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        "phash: PHASH_MD5_ENGINE=sse9: unknown engine (expected scalar, avx2, avx512 or auto)\n"
    );
}

/// `out` (phash's) says what `want` (md5sum's) says: the same lines, the same messages
/// but for the program's name, the same failing status.
fn assert_like_md5sum(out: &std::process::Output, want: &std::process::Output, label: &str) {
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&want.stdout),
        "{label}"
    );
    assert_eq!(
        stderr(out).replace("phash:", "md5sum:"),
        stderr(want),
        "{label}"
    );
    assert_eq!(code(out), code(want), "{label}");
    assert_eq!(code(out), 1, "{label}");
}

/// On a terminal the digest lines are the progress: no bar is drawn between them (it was
/// left frozen above them). With stdout redirected and stderr a terminal, the bar shows
/// on stderr, and the file gets the lines alone.
#[test]
fn the_progress_bar_shows_only_when_stdout_is_not_the_terminal() {
    if !have("script") {
        eprintln!("SKIP: no script(1) for a terminal");
        return;
    }
    let dir = tempdir();
    // Standard input fed after 1.6 s: the run outlasts the bar's first second whatever the
    // build (a big file was hashed in under a second by a release build, and the test
    // failed there).
    let in_tty = |redirect: &str| {
        let cmd = format!(
            "cd {} && (sleep 1.6; echo x) | {} -j1 - {redirect}",
            dir.path().display(),
            env!("CARGO_BIN_EXE_phash")
        );
        let out = run(Command::new("script").args(["-qec", &cmd, "/dev/null"]));
        assert_eq!(code(&out), 0, "{}", stdout(&out));
        stdout(&out)
    };
    // One file so far: "1 file", not "1 files".
    let spinner = |s: &str| s.contains(" 1 file, ") && s.contains("MB/s");
    let line = "401b30e3b8b5d629635a5c613cdb7919  -";
    let terminal = in_tty("");
    assert!(terminal.contains(line), "{terminal:?}");
    assert!(!spinner(&terminal), "a bar among the lines: {terminal:?}");
    let redirected = in_tty("> out");
    assert!(spinner(&redirected), "no bar on stderr: {redirected:?}");
    let saved = std::fs::read_to_string(dir.path().join("out")).unwrap();
    assert_eq!(saved, format!("{line}\n"));
}

/// The progress line's clock moves while one long input is read (it was drawn only when
/// a file finished, and looked hung); it stays away when stdout is a pipe (the next
/// program writes to the terminal: stale lines stood among its output) and on a terminal
/// that cannot take it (`TERM=dumb`); outside a UTF-8 locale its spinner is ASCII.
#[test]
fn the_progress_line_keeps_time_and_stays_off_pipes_and_dumb_terminals() {
    if !have("script") {
        eprintln!("SKIP: no script(1) for a terminal");
        return;
    }
    let dir = tempdir();
    let in_tty = |env: &str, tail: &str| {
        let cmd = format!(
            "cd {} && (sleep 2.6; echo x) | {env} {} -j1 - {tail}",
            dir.path().display(),
            env!("CARGO_BIN_EXE_phash")
        );
        let out = run(Command::new("script").args(["-qec", &cmd, "/dev/null"]));
        assert_eq!(code(&out), 0, "{}", stdout(&out));
        stdout(&out)
    };
    let redirected = in_tty("LC_ALL=C.UTF-8", "> out");
    assert!(
        redirected.contains(" 1s ") && redirected.contains(" 2s "),
        "the clock moves before the one input ends: {redirected:?}"
    );
    assert!(
        redirected.contains('⠁') || redirected.contains('⠂'),
        "{redirected:?}"
    );
    let ascii = in_tty("LC_ALL=C", "> out");
    assert!(ascii.contains(" 2s ") && ascii.is_ascii(), "{ascii:?}");
    // Nothing drawn at all: no line cleared, no spinner.
    let nothing = |s: &str| !s.contains("\x1b[2K") && !s.contains(" 1s ") && !s.contains('⠁');
    for (env, tail) in [("", "| cat > /dev/null"), ("TERM=dumb", "> out")] {
        let out = in_tty(env, tail);
        assert!(nothing(&out), "{env} {tail}: {out:?}");
    }
    // Check mode never moves the line: none is drawn (a clock with no counts was, and
    // the messages ran into it).
    let cmd = format!(
        "cd {} && (sleep 1.6; echo '0cc175b9c0f1b6a831c399e269772661  nope') | {} -c - > out",
        dir.path().display(),
        env!("CARGO_BIN_EXE_phash")
    );
    let out = run(Command::new("script").args(["-qec", &cmd, "/dev/null"]));
    assert!(nothing(&stdout(&out)), "{:?}", stdout(&out));
    // A job in the background (its own process group, not the terminal's) draws nothing
    // over the shell's prompt.
    let job = format!(
        "set -m; (sleep 2.6; echo x) | {} -j1 - > {}/out & wait",
        env!("CARGO_BIN_EXE_phash"),
        dir.path().display()
    );
    let out = run(Command::new("script").args(["-qec", &format!("bash -c '{job}'"), "/dev/null"]));
    assert!(nothing(&stdout(&out)), "{:?}", stdout(&out));
}
