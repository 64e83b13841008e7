//! What punzip prints: output closed under it, names from the archive never reaching the
//! terminal raw, floods summarised, the progress bar, and the archive comment.

use std::path::{Path, PathBuf};
use std::process::Command;

use zip::CompressionMethod;

use crate::punzip::{content, ok, punzip_into, small_archive};
use crate::punzip_operands::{listing, tree_zip};
use crate::util::{self, code, opts, raw_stored_zip, run, snapshot, stderr, stdout, ZipBuilder};

// Output closed under us: a quiet success, the work done all the same.

/// An archive of `n` small files in 10 directories: enough lines to fill a pipe.
fn many_files_zip(path: &Path, n: usize) -> Vec<String> {
    let mut w = ZipBuilder::new();
    let mut names = Vec::new();
    for i in 0..n {
        let name = format!("d{}/file{i}.txt", i % 10);
        w.file_with(
            &name,
            format!("{i}").as_bytes(),
            opts(CompressionMethod::Stored, 0o644),
        );
        names.push(name);
    }
    w.write_to(path);
    names
}

#[test]
fn a_closed_stdout_is_a_quiet_success_on_every_output_path() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("many.zip");
    let names = many_files_zip(&zip, 300);
    let cases: [&[&str]; 3] = [&["-v"], &["-t", "-v"], &["-l"]];
    for (i, args) in cases.into_iter().enumerate() {
        let dest = tmp.path().join(format!("out{i}"));
        let out =
            util::with_closed_stdout(util::punzip().args(args).arg(&zip).args(["-d"]).arg(&dest));
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}: no message");
        if args == ["-v"] {
            // Extraction went on to the end: member i holds the text of i.
            for (i, n) in names.iter().enumerate() {
                assert_eq!(
                    std::fs::read(dest.join(n)).unwrap(),
                    i.to_string().as_bytes()
                );
            }
        }
    }
}

/// `-v` names each file as unzip does: under DEST as given (`inflating: out/d/a.txt`),
/// and alone when extracting into the working directory.
#[test]
fn verbose_lines_name_the_file_under_dest_as_unzip_does() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("v.zip");
    let mut w = ZipBuilder::new();
    w.file_with(
        "d/a.txt",
        &[b'x'; 100],
        opts(CompressionMethod::Deflated, 0o644),
    );
    w.write_to(&zip);
    let out = run(util::punzip()
        .current_dir(tmp.path())
        .args(["-v", "v.zip", "-d", "out"]));
    ok(&out);
    assert_eq!(stdout(&out), "  inflating: out/d/a.txt\n");
    let out = run(util::punzip()
        .current_dir(tmp.path())
        .args(["-v", "-o", "v.zip", "."]));
    ok(&out);
    assert_eq!(stdout(&out), "  inflating: d/a.txt\n");
    if util::have("unzip") {
        let theirs = run(Command::new("unzip")
            .current_dir(tmp.path())
            .args(["-o", "v.zip", "-d", "out"]));
        assert!(
            stdout(&theirs).contains("  inflating: out/d/a.txt"),
            "{}",
            stdout(&theirs)
        );
    }
}

#[test]
fn verbose_extraction_piped_to_head_completes() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("many.zip");
    // 3000 lines of about 30 bytes: more than a pipe holds, so punzip is still writing
    // when the reader goes away.
    let names = many_files_zip(&zip, 3000);
    let dest = tmp.path().join("out");
    let (line, status, err) =
        util::first_line_then_close(util::punzip().arg("-v").arg(&zip).arg(&dest));
    // unzip's words: stored members are "extracting", compressed ones "inflating".
    assert!(
        line.starts_with(" extracting: ") || line.starts_with("  inflating: "),
        "{line}"
    );
    assert_eq!(status, Some(0), "{err}");
    assert_eq!(err, "");
    let got = snapshot(&dest);
    assert!(
        names.iter().all(|n| got.contains_key(n)),
        "every file extracted"
    );
}

#[test]
fn the_readme_demo_piped_to_a_closed_stdout_extracts_the_whole_demo() {
    let demo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/demo.zip");
    let tmp = util::tempdir();
    let dest = tmp.path().join("demo");
    let out = util::with_closed_stdout(util::punzip().args(["-v", "-o"]).arg(&demo).arg(&dest));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "");
    let plain = tmp.path().join("plain");
    ok(&punzip_into(&demo, &plain, &[]));
    assert_eq!(snapshot(&dest), snapshot(&plain));
}

// ---------------------------------------------------------------------------------------
// Names from the archive never reach the terminal raw.

/// Patches the central directory record of `name` to say "made on Unix, a FIFO".
fn make_fifo(zip: &mut [u8], name: &[u8]) {
    let mut at = 0;
    while let Some(p) = zip[at..].windows(4).position(|w| w == b"PK\x01\x02") {
        let h = at + p;
        let n = usize::from(u16::from_le_bytes([zip[h + 28], zip[h + 29]]));
        if &zip[h + 46..h + 46 + n] == name {
            zip[h + 5] = 3; // version made by: Unix
            zip[h + 38..h + 42].copy_from_slice(&((0o010_644u32) << 16).to_le_bytes());
            return;
        }
        at = h + 4;
    }
    panic!("no central record for {name:?}");
}

#[test]
fn control_characters_and_reordering_marks_in_names_are_escaped_in_listings_lines_and_warnings() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("evil.zip");
    let mut bytes = raw_stored_zip(&[
        (b"red\x1b[31m.txt", b"1"),
        (b"two\nlines.txt", b"2"),
        (b"Case\x1b.txt", b"3"),
        (b"case\x1b.txt", b"4"),
        (b"fifo\x1b[2J", b""),
        // U+202E, which shows what follows right to left: "exe.png".
        ("\u{202e}gnp.exe".as_bytes(), b"5"),
    ]);
    make_fifo(&mut bytes, b"fifo\x1b[2J");
    std::fs::write(&zip, bytes).unwrap();
    let runs: [&[&str]; 3] = [&["-l"], &["-v"], &["-t", "-v"]];
    for args in runs {
        let out = run(util::punzip()
            .args(args)
            .arg(&zip)
            .arg("-d")
            .arg(tmp.path().join("out")));
        let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        assert!(
            !all.contains(&0x1b),
            "{args:?}: raw ESC in {}",
            String::from_utf8_lossy(&all)
        );
        let text = String::from_utf8_lossy(&all);
        assert!(
            !text.lines().any(|l| l.starts_with("lines.txt")),
            "{args:?}: {text}"
        );
        assert!(text.contains(r"two\nlines.txt"), "{args:?}: {text}");
        assert!(text.contains(r"red\u{1b}[31m.txt"), "{args:?}: {text}");
        assert!(
            text.contains(r"\u{202e}gnp.exe") && !text.contains('\u{202e}'),
            "{args:?}: {text}"
        );
        if args != ["-t", "-v"] {
            // The FIFO's name (a regular file now) and the case collision's warning.
            assert!(text.contains(r"fifo\u{1b}[2J"), "{args:?}: {text}");
            assert!(
                text.contains(r"ase\u{1b}.txt: differs only in case"),
                "{args:?}: {text}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Floods are summarised.

#[test]
fn extracting_over_an_existing_tree_shows_a_few_conflicts_and_one_way_out() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("many.zip");
    many_files_zip(&zip, 40);
    let dest = tmp.path().join("out");
    ok(&punzip_into(&zip, &dest, &[]));
    let out = punzip_into(&zip, &dest, &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.ends_with("already exists (use -o to overwrite or -n to skip)"))
            .count(),
        10,
        "{err}"
    );
    assert!(err.contains("... and 30 more"), "{err}");
    let last = lines.last().unwrap();
    assert!(
        last.contains("40 file(s) already exist") && last.contains("-o") && last.contains("-n"),
        "{err}"
    );
    assert!(lines.len() <= 12, "{err}");
}

#[test]
fn names_differing_only_in_case_are_summarised_once() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("case.zip");
    let mut w = ZipBuilder::new();
    for i in 0..25 {
        w.file(&format!("f{i}.txt"), b"lower")
            .file(&format!("F{i}.TXT"), b"upper");
    }
    w.write_to(&zip);
    let out = punzip_into(&zip, &tmp.path().join("out"), &[]);
    let err = stderr(&out);
    assert_eq!(
        err.lines().filter(|l| l.contains("only in case")).count(),
        1,
        "{err}"
    );
    assert!(err.contains("24 more"), "{err}");
    let quiet = punzip_into(&zip, &tmp.path().join("q"), &["-q", "-o"]);
    assert_eq!(stderr(&quiet), "");
}

#[test]
fn stats_count_a_refused_symlink_as_a_warning_like_the_exit_status() {
    if !util::have("python3") {
        return;
    }
    let tmp = util::tempdir();
    let zip = tmp.path().join("link.zip");
    let script = r#"
import sys, zipfile, stat
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    i = zipfile.ZipInfo('bad')
    i.create_system = 3
    i.external_attr = (stat.S_IFLNK | 0o777) << 16
    z.writestr(i, '../../etc/passwd')
    z.writestr('ok.txt', 'ok')
"#;
    let out = run(std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&zip));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = punzip_into(&zip, &tmp.path().join("out"), &["--stats"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let stats = stderr(&out);
    let line = stats.lines().last().unwrap();
    assert!(line.contains(" 0 errors, 1 warning, "), "{stats}");
}

// ---------------------------------------------------------------------------------------
// The progress bar.

/// The percentages a progress output shows.
fn percents(text: &str) -> Vec<u32> {
    text.split(|c: char| !c.is_ascii_digit() && c != '%')
        .filter_map(|w| w.strip_suffix('%'))
        .filter_map(|n| n.parse().ok())
        .collect()
}

#[test]
fn forced_progress_shows_on_a_pipe_in_stats_units_and_never_past_100_percent() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("many.zip");
    many_files_zip(&zip, 200);
    let out = punzip_into(&zip, &tmp.path().join("out"), &["--progress"]);
    ok(&out);
    let err = stderr(&out);
    let pct = percents(&err);
    assert!(!pct.is_empty(), "the bar was drawn: {err:?}");
    assert!(pct.iter().all(|&p| p <= 100), "{err:?}");
    assert!(
        err.contains(" B") || err.contains("KiB"),
        "human_bytes units: {err:?}"
    );
    let hidden = punzip_into(&zip, &tmp.path().join("out2"), &["--no-progress"]);
    assert_eq!(stderr(&hidden), "");
    // The last of the two wins, as an alias holding one is overridden by the other (they
    // were a usage error).
    let off = punzip_into(
        &zip,
        &tmp.path().join("out3"),
        &["--progress", "--no-progress"],
    );
    assert_eq!(stderr(&off), "");
    let on = punzip_into(
        &zip,
        &tmp.path().join("out4"),
        &["--no-progress", "--progress"],
    );
    assert!(!percents(&stderr(&on)).is_empty(), "{}", stderr(&on));
}

/// One long member (bzip2, read through the zip crate chunk by chunk) moves the bar as
/// it is decoded: it went from 0% to 100% at the member's end.
#[test]
fn the_bar_moves_through_one_long_member() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("one.zip");
    let mut b = ZipBuilder::new();
    b.file_with(
        "long.txt",
        &content(7, 3 << 20),
        opts(CompressionMethod::Bzip2, 0o644),
    );
    b.write_to(&zip);
    let out = punzip_into(&zip, &tmp.path().join("out"), &["--progress", "-j1"]);
    ok(&out);
    let err = stderr(&out);
    let pct = percents(&err);
    assert!(
        pct.iter().any(|&p| 0 < p && p < 100),
        "a percentage between 0 and 100 while the member decodes: {pct:?}"
    );
}

/// What `punzip EXTRA ZIP -d DEST` draws on an 80-column terminal (`script`'s), which it
/// must leave with exit 0.
fn punzip_in_tty(extra: &str, zip: &Path, dest: &Path) -> String {
    punzip_in_tty_with("", extra, zip, dest)
}

/// [`punzip_in_tty`] with `env` (`NAME=value ...`) set for punzip.
fn punzip_in_tty_with(env: &str, extra: &str, zip: &Path, dest: &Path) -> String {
    let cmd = format!(
        "stty cols 80; env {env} {} {extra} {} -d {}",
        env!("CARGO_BIN_EXE_punzip"),
        zip.display(),
        dest.display()
    );
    let out = run(std::process::Command::new("script").args(["-qec", &cmd, "/dev/null"]));
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    stdout(&out)
}

#[test]
fn on_a_terminal_the_bar_shows_for_big_archives_and_q_hides_it() {
    if !util::have("script") {
        return;
    }
    let tmp = util::tempdir();
    let zip = tmp.path().join("many.zip");
    many_files_zip(&zip, 2500);
    let in_tty = |extra: &str, dest: &str| punzip_in_tty(extra, &zip, &tmp.path().join(dest));
    let shown = in_tty("", "a");
    assert!(
        shown.contains("planning") || !percents(&shown).is_empty(),
        "{shown:?}"
    );
    assert!(percents(&shown).iter().all(|&p| p <= 100), "{shown:?}");
    // Every frame leaves room on its line for the `^C` a terminal echoes on Ctrl-C: a
    // frame padded to the full width would wrap, and the clearing would miss it.
    for frame in shown.split(['\r', '\n']).filter(|f| f.contains('%')) {
        let frame = frame.trim_start_matches("\x1b[2K");
        assert!(
            frame.chars().count() <= 77,
            "{} columns: {frame:?}",
            frame.chars().count()
        );
    }
    let quiet = in_tty("-q", "b");
    assert!(
        percents(&quiet).is_empty() && !quiet.contains("planning"),
        "{quiet:?}"
    );
}

/// A terminal that cannot move the cursor (`TERM=dumb`, Emacs's shell) gets no bar; in a
/// locale that is not UTF-8 the bar is drawn in ASCII (its blocks came out as raw UTF-8
/// bytes).
#[test]
fn the_bar_keeps_off_dumb_terminals_and_speaks_ascii_outside_utf8() {
    if !util::have("script") {
        return;
    }
    let tmp = util::tempdir();
    let zip = tmp.path().join("many.zip");
    many_files_zip(&zip, 2500);
    let in_tty = |env: &str, dest: &str| punzip_in_tty_with(env, "", &zip, &tmp.path().join(dest));
    let utf8 = in_tty("LC_ALL=C.UTF-8", "a");
    assert!(!percents(&utf8).is_empty(), "{utf8:?}");
    let ascii = in_tty("LC_ALL=C", "b");
    assert!(!percents(&ascii).is_empty(), "{ascii:?}");
    assert!(ascii.is_ascii(), "{ascii:?}");
    let dumb = in_tty("TERM=dumb", "c");
    assert!(
        percents(&dumb).is_empty() && !dumb.contains("planning"),
        "{dumb:?}"
    );
}

/// A plan made in a blink draws nothing: the planning line used to be drawn and cleared
/// at once, a flash on every run of a small archive.
#[test]
fn on_a_terminal_a_small_archive_draws_no_progress_at_all() {
    if !util::have("script") {
        return;
    }
    let tmp = util::tempdir();
    let zip = tmp.path().join("small.zip");
    many_files_zip(&zip, 20);
    let drawn = punzip_in_tty("", &zip, &tmp.path().join("out"));
    let shown = drawn.replace("\x1b[2K", "").replace(['\r', '\n', ' '], "");
    assert!(shown.is_empty(), "{drawn:?}");
}

#[test]
fn the_archive_comment_is_listed_with_its_lines_and_control_characters_escaped() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("c.zip");
    let mut w = ZipBuilder::new();
    w.file("a.txt", b"a")
        .comment("first line\nsecond \u{1b}[2J line");
    w.write_to(&zip);
    let out = run(util::punzip().arg("-l").arg(&zip));
    ok(&out);
    let text = stdout(&out);
    assert!(!text.contains('\u{1b}'), "{text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1..3],
        ["first line", r"second \u{1b}[2J line"],
        "{text}"
    );
}

/// Under a low `ulimit -v`, a refused allocation ends the run with a message and status 4
/// (phash: 1, as md5sum), never by SIGABRT (status 134 and "memory allocation of N bytes
/// failed"). Which allocation is refused depends on the limit and on the threads' timing,
/// so several limits are tried: none may abort, and at least one must be refused.
#[test]
fn out_of_memory_is_a_status_and_a_message_never_an_abort() {
    use std::os::unix::process::ExitStatusExt;
    let tmp = util::tempdir();
    let zip = tmp.path().join("big.zip");
    // One 48 MiB member, decoded whole in one buffer by the fast path.
    let mut w = ZipBuilder::new();
    w.file_with(
        "zeros",
        &vec![0u8; 48 << 20],
        opts(CompressionMethod::Deflated, 0o644),
    );
    w.write_to(&zip);
    let mut refused = 0;
    // (Below about 16 MiB the dynamic loader itself fails, before any code of ours.)
    for mib in [24u64, 32, 48, 64, 96, 128, 192] {
        for (tool, status) in [("punzip", 4), ("phash", 1)] {
            let mut cmd = if tool == "punzip" {
                let mut c = util::punzip();
                c.arg("-t").arg(&zip);
                c
            } else {
                let mut c = util::phash();
                c.arg("--members").arg(&zip);
                c
            };
            util::limit_address_space(&mut cmd, mib << 20);
            let Ok(out) = cmd.stdin(std::process::Stdio::null()).output() else {
                continue; // could not even start under this limit
            };
            assert_eq!(
                out.status.signal(),
                None,
                "{tool} under {mib} MiB: {}",
                stderr(&out)
            );
            if out.status.code() == Some(status) && stderr(&out).contains("out of memory") {
                refused += 1;
            } else {
                assert_eq!(code(&out), 0, "{tool} under {mib} MiB: {}", stderr(&out));
            }
        }
    }
    assert!(refused > 0, "no limit refused an allocation");
}

/// `--help` and `--version` that standard output cannot take (`>/dev/full`, `>&-`) are
/// failures, as `md5sum --help >/dev/full` is (they exited 0, silently); a reader that goes
/// away (`| head -1`) is not.
#[test]
fn help_and_version_that_cannot_be_written_fail() {
    let Ok(full) = std::fs::File::options().write(true).open("/dev/full") else {
        eprintln!("SKIP: no /dev/full");
        return;
    };
    for (tool, failed) in [("punzip", 2), ("phash", 1)] {
        for flag in ["--help", "--version"] {
            let mut cmd = if tool == "punzip" {
                util::punzip()
            } else {
                util::phash()
            };
            let out = cmd
                .arg(flag)
                .stdin(std::process::Stdio::null())
                .stdout(full.try_clone().unwrap())
                .output()
                .unwrap();
            assert_eq!(code(&out), failed, "{tool} {flag} >/dev/full");
            assert!(
                stderr(&out).contains("No space left on device"),
                "{}",
                stderr(&out)
            );
            let mut cmd = if tool == "punzip" {
                util::punzip()
            } else {
                util::phash()
            };
            let out = run(util::close_stdout(cmd.arg(flag)));
            assert_eq!(code(&out), failed, "{tool} {flag} >&-");
            let mut cmd = if tool == "punzip" {
                util::punzip()
            } else {
                util::phash()
            };
            let out = util::with_closed_stdout(cmd.arg(flag));
            assert_eq!(code(&out), 0, "{tool} {flag} | a reader already gone");
            let mut cmd = if tool == "punzip" {
                util::punzip()
            } else {
                util::phash()
            };
            let (first, status, _) = util::first_line_then_close(cmd.arg(flag));
            assert!(!first.is_empty(), "{tool} {flag}");
            assert_eq!(status, Some(0), "{tool} {flag} | head -1");
        }
    }
}

#[test]
fn a_stdout_that_fails_otherwise_than_closed_is_an_error() {
    let Ok(full) = std::fs::File::options().write(true).open("/dev/full") else {
        eprintln!("SKIP: no /dev/full");
        return;
    };
    let tmp = util::tempdir();
    let zip = tmp.path().join("t.zip");
    tree_zip(&zip);
    let dest = tmp.path().join("out");
    let out = util::punzip()
        .arg("-v")
        .arg(&zip)
        .arg(&dest)
        .stdin(std::process::Stdio::null())
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err.matches("cannot write to standard output").count(),
        1,
        "{err}"
    );
    assert_eq!(listing(&dest).len(), 6, "extraction still completes");
}

/// `punzip -j a.zip X`, unzip's junk-paths habit: a usage error that says where junk
/// paths went. `-j` past the most workers is refused with the machine's core count.
#[test]
fn j_given_a_name_points_to_junk_paths_and_too_many_jobs_are_refused() {
    let tmp = util::tempdir();
    let zip = tmp.path().join("a.zip");
    small_archive(&zip, &["a.txt"]);
    let out = run(util::punzip().arg("-j").arg(&zip).arg(tmp.path().join("x")));
    assert_eq!(code(&out), 10, "{}", stderr(&out));
    assert!(stderr(&out).contains("--junk-paths"), "{}", stderr(&out));
    let out = run(util::punzip().args(["-j", "100000"]).arg(&zip));
    assert_eq!(code(&out), 10, "{}", stderr(&out));
    assert!(stderr(&out).contains("at most 256"), "{}", stderr(&out));
    assert!(!tmp.path().join("x").exists());
}
