//! `punzip --bench`: a table with one row per worker count, the JSON and SVG files, no
//! leftovers in DEST, and loud failures. The arithmetic and the consistency checks are
//! unit-tested in `src/bench.rs`; these run the real binary on a tiny archive.

use std::path::Path;

use crate::util::{code, phash, punzip, run, stderr, stdout, tempdir, write, ZipBuilder};

/// A small archive: a directory and a few files.
fn small_zip(path: &Path) {
    let mut zip = ZipBuilder::new();
    zip.dir("d/");
    for i in 0..12 {
        zip.file(
            &format!("d/f{i}.txt"),
            format!("file {i}\n").repeat(100 + i).as_bytes(),
        );
    }
    zip.write_to(path);
}

/// The data rows of the table: lines whose first cell is a number.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .filter(|cells| cells.first().is_some_and(|c| c.parse::<usize>().is_ok()))
        .filter(|cells| cells.len() == 11)
        .collect()
}

#[test]
fn bench_prints_a_row_per_worker_count_and_writes_json_and_svg() {
    let dir = tempdir();
    let zip = dir.path().join("a.zip");
    small_zip(&zip);
    // DEST does not exist yet: the bench creates it for its runs, then removes it.
    let dest = dir.path().join("dest");
    let (json, svg) = (dir.path().join("b.json"), dir.path().join("b.svg"));
    let out = run(punzip()
        .arg("--bench")
        .arg(&zip)
        .arg(&dest)
        .args(["--bench-jobs", "1,2,3", "--bench-runs", "2", "--bench-json"])
        .arg(&json)
        .arg("--plot")
        .arg(&svg));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("jobs"), "{table}");
    assert!(table.contains("efficiency"), "{table}");
    let rows = rows(&table);
    let jobs: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(jobs, ["1", "2", "3"], "{table}");
    assert_eq!(rows[0][9], "1.00x", "{table}");
    assert_eq!(rows[0][10], "100%", "{table}");
    assert!(table.contains("12 files"), "{table}");

    // Every run's temporary directory is gone, and so is the DEST the bench made.
    assert!(
        !dest.exists(),
        "{:?}",
        std::fs::read_dir(&dest).map(|d| d.count())
    );

    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let jrows = v["rows"].as_array().unwrap();
    assert_eq!(jrows.len(), 3);
    assert_eq!(jrows[2]["jobs"], 3);
    assert_eq!(jrows[1]["times_s"].as_array().unwrap().len(), 2);
    assert_eq!(v["files"], 12);
    assert!(jrows[0]["median_s"].as_f64().unwrap() > 0.0);

    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches(r#"class="measured""#).count(), 2);
    assert_eq!(svg.matches(r#"class="ideal""#).count(), 2);
    // Tags balance: as many closing as opening <g> elements.
    assert_eq!(svg.matches("<g ").count(), svg.matches("</g>").count());
}

#[test]
fn zero_timed_runs_is_refused_in_plain_words() {
    let out = run(phash().args(["--bench", "--bench-runs", "0", "."]));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("at least 1 timed run"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn default_worker_counts_run_up_to_twice_the_cores() {
    let dir = tempdir();
    let zip = dir.path().join("a.zip");
    small_zip(&zip);
    let out = run(punzip()
        .args(["--bench", "-q", "--bench-runs", "1"])
        .arg(&zip)
        .arg(dir.path()));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).is_empty(),
        "-q silences progress: {}",
        stderr(&out)
    );
    let cores = std::thread::available_parallelism().unwrap().get();
    let want: Vec<String> = punzip::bench::default_jobs_list(cores)
        .iter()
        .map(|j| j.to_string())
        .collect();
    let got: Vec<String> = rows(&stdout(&out))
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(got, want, "{}", stdout(&out));
    assert_eq!(got.last().unwrap(), &(2 * cores).to_string());
}

/// The benchmark's options without `--bench` are usage errors, whatever else is given:
/// beside an option that conflicts with `--bench` (-l, -t, -p; phash's -c, --members,
/// --merge) clap let them pass, and `--plot x.svg -t` tested and wrote no chart, exit 0.
#[test]
fn bench_options_need_bench() {
    let out = run(punzip().args(["--bench-runs", "2", "x.zip"]));
    assert_eq!(code(&out), 10, "{}", stderr(&out));
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/demo.zip");
    for mode in ["-l", "-t", "-p"] {
        for opt in [
            ["--plot", "x.svg"],
            ["--bench-runs", "3"],
            ["--bench-jobs", "1"],
        ] {
            let out = run(punzip().args(opt).arg(mode).arg(demo));
            assert_eq!(code(&out), 10, "{opt:?} {mode}: {}", stderr(&out));
            assert!(stderr(&out).contains("needs --bench"), "{}", stderr(&out));
        }
    }
    for mode in ["-c", "--members", "--merge"] {
        let out = run(phash().args(["--bench-json", "b.json", mode, demo]));
        assert_eq!(code(&out), 2, "{mode}: {}", stderr(&out));
    }
    // --merge copies the shards' lines: the walk's options, which the shards applied,
    // are refused, not silently ignored.
    for opt in [&["--exclude", "*.c"][..], &["--max-depth", "1"], &["-L"]] {
        let out = run(phash().args(["--merge", demo]).args(opt));
        assert_eq!(code(&out), 2, "{opt:?}: {}", stderr(&out));
    }
}

#[test]
fn a_bench_of_a_broken_archive_fails_loudly() {
    let dir = tempdir();
    let zip = dir.path().join("bad.zip");
    std::fs::write(&zip, b"this is not a zip archive at all, not even close").unwrap();
    let out = run(punzip()
        .args(["--bench", "--bench-jobs", "1", "--bench-runs", "1"])
        .arg(&zip)
        .arg(dir.path()));
    assert_ne!(code(&out), 0);
    assert!(stderr(&out).contains("bench failed"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
}

#[test]
fn phash_bench_refuses_check_mode_even_with_a_real_list() {
    let dir = tempdir();
    let list = dir.path().join("sums.md5");
    // A valid checksum list, so that only check mode itself can be the reason to refuse.
    std::fs::write(dir.path().join("a"), b"a").unwrap();
    std::fs::write(&list, "0cc175b9c0f1b6a831c399e269772661  a\n").unwrap();
    let out = run(phash()
        .current_dir(dir.path())
        .args(["--bench", "--bench-runs", "1", "-c"])
        .arg(&list));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("-c"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "no table: {}", stdout(&out));
    // The same list is fine without --bench: check mode works, it is only refused here.
    let checked = run(phash().current_dir(dir.path()).arg("-c").arg(&list));
    assert_eq!(code(&checked), 0, "{}", stderr(&checked));
}

/// Starts `cmd` (a bench that would run for ages), sends it SIGINT, and returns its status.
fn status_after_sigint(cmd: &mut std::process::Command) -> std::process::ExitStatus {
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(crate::util::signal(&child, libc::SIGINT));
    child.wait().unwrap()
}

#[test]
fn an_interrupted_punzip_bench_exits_80() {
    let dir = tempdir();
    let zip = dir.path().join("a.zip");
    small_zip(&zip);
    let status = status_after_sigint(
        punzip()
            .args(["--bench", "--bench-runs", "1000000", "--bench-jobs", "1"])
            .arg(&zip)
            .arg(dir.path().join("dest")),
    );
    assert_eq!(status.code(), Some(80));
}

#[test]
fn an_interrupted_phash_bench_dies_by_the_signal_not_punzips_80() {
    let dir = tempdir();
    for i in 0..50 {
        write(&dir.path().join(format!("f{i}")), &vec![i as u8; 4096]);
    }
    let status = status_after_sigint(
        phash()
            .args(["--bench", "--bench-runs", "1000000", "--bench-jobs", "1"])
            .arg(dir.path()),
    );
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGINT)
    );
}
