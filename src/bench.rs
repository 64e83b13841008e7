//! Serial versus parallel, measured: run one job at several worker counts, time it, check
//! that every run did exactly the same work, and report the table, the raw figures (JSON)
//! and a chart (SVG).
//!
//! Why it is shaped so:
//! - The runner knows nothing about zip or md5: a job is a closure from a worker count to a
//!   [`RunResult`] (bytes, files, and a fingerprint of what was produced). punzip plugs in
//!   [`unzip_job`]; phash plugs in its own closure. Both tools thus share one runner, one
//!   table and one chart.
//! - A benchmark whose runs did different work measures nothing, so every run (warm-ups
//!   included) must agree with the first on bytes, files and fingerprint, at every worker
//!   count, or the whole bench fails with [`BenchError::Mismatch`] naming both values.
//! - The clock runs around the job call only. A job that leaves something to clean up (an
//!   extracted tree) hands it back in [`RunResult::cleanup`]; it is dropped after the clock
//!   stops, so deletion is never timed.
//! - The median is the headline (robust to one slow run on a shared machine); min and max
//!   show the spread.

pub mod corpus;
pub mod plot;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::totals::mb_per_s;

/// What one run of a job did. Every run of a bench must return the same figures.
pub struct RunResult {
    /// Bytes processed (punzip: uncompressed bytes written; phash: bytes hashed). Used
    /// for MB/s.
    pub bytes: u64,
    /// Files processed. Used for files/s.
    pub files: u64,
    /// Anything that identifies the output: punzip's totals, phash's digests (or a digest
    /// of them). Compared across all runs.
    pub fingerprint: String,
    /// Dropped after the clock stops (a temporary directory, a buffer to free).
    pub cleanup: Option<Box<dyn std::any::Any>>,
}

impl RunResult {
    /// A result with nothing to clean up.
    pub fn new(bytes: u64, files: u64, fingerprint: impl Into<String>) -> RunResult {
        RunResult {
            bytes,
            files,
            fingerprint: fingerprint.into(),
            cleanup: None,
        }
    }

    /// Hands `value` back to the runner, to be dropped once the run has been timed.
    pub fn drop_after(mut self, value: impl std::any::Any) -> RunResult {
        self.cleanup = Some(Box::new(value));
        self
    }
}

/// Why a bench failed.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Two runs did different work: the bench is meaningless.
    #[error(
        "inconsistent runs: {what} was {want} with {first_jobs} job(s) (first run) \
         but {got} with {jobs} job(s) ({run})"
    )]
    Mismatch {
        what: &'static str,
        first_jobs: usize,
        want: String,
        jobs: usize,
        got: String,
        /// "warm-up" or "run 3 of 5".
        run: String,
    },
    /// The job itself failed.
    #[error("run with {jobs} job(s) failed: {message}")]
    Job { jobs: usize, message: String },
    #[error("no worker counts to run")]
    NoJobs,
    #[error("the number of runs must be at least 1")]
    NoRuns,
    #[error("interrupted")]
    Interrupted,
}

/// Figures for one worker count.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub jobs: usize,
    /// Wall time of each timed run, in seconds, in run order.
    pub times_s: Vec<f64>,
    pub median_s: f64,
    pub min_s: f64,
    pub max_s: f64,
    /// Bytes per median run, in 10^6 bytes per second.
    pub mb_per_s: f64,
    pub files_per_s: f64,
    /// Median time of the baseline row divided by this row's median time.
    pub speedup: f64,
    /// Speed-up divided by the increase in workers over the baseline (1.0 = perfect).
    pub efficiency: f64,
}

/// A whole bench: what every run did, and one row per worker count.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// What was measured, e.g. `punzip many-small.zip`. Set by the caller.
    pub title: String,
    pub bytes: u64,
    pub files: u64,
    pub fingerprint: String,
    pub runs: usize,
    pub warmup: bool,
    /// Cores the machine reports (for the chart's marker and the JSON).
    pub cores: usize,
    /// The worker count speed-ups are measured against: 1 when it was run, otherwise the
    /// smallest count run.
    pub baseline_jobs: usize,
    pub rows: Vec<Row>,
}

/// What the runner reports as it goes (for a progress line).
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub jobs: usize,
    /// 0 for the warm-up, then 1..=runs.
    pub run: usize,
    pub runs: usize,
    pub elapsed: Duration,
}

/// The default worker counts: 1, 2, 4, ... up to `cores` (and `cores` itself), then once
/// at twice the cores, to show what oversubscription does.
pub fn default_jobs_list(cores: usize) -> Vec<NonZeroUsize> {
    let cores = cores.max(1);
    let mut list = Vec::new();
    let mut j = 1;
    while j < cores {
        list.push(j);
        j *= 2;
    }
    list.push(cores);
    list.push(cores * 2);
    list.into_iter().filter_map(NonZeroUsize::new).collect()
}

/// Runs `job` `runs` times at each worker count of `jobs_list` (after one untimed warm-up
/// per count when `warmup`), checks that all runs agree and returns the figures.
pub fn run_bench<F>(
    jobs_list: &[NonZeroUsize],
    runs: usize,
    warmup: bool,
    job: F,
) -> Result<BenchReport, BenchError>
where
    F: FnMut(NonZeroUsize) -> Result<RunResult, String>,
{
    run_bench_with_progress(jobs_list, runs, warmup, job, |_| {})
}

/// [`run_bench`], calling `progress` after every run (warm-ups included).
pub fn run_bench_with_progress<F, P>(
    jobs_list: &[NonZeroUsize],
    runs: usize,
    warmup: bool,
    mut job: F,
    mut progress: P,
) -> Result<BenchReport, BenchError>
where
    F: FnMut(NonZeroUsize) -> Result<RunResult, String>,
    P: FnMut(Progress),
{
    if jobs_list.is_empty() {
        return Err(BenchError::NoJobs);
    }
    if runs == 0 {
        return Err(BenchError::NoRuns);
    }
    // The first run of all is the reference the others are checked against.
    let mut reference: Option<(usize, u64, u64, String)> = None;
    let mut samples: Vec<(usize, Vec<Duration>)> = Vec::new();
    for &jobs in jobs_list {
        let mut times = Vec::with_capacity(runs);
        let first = if warmup { 0 } else { 1 };
        for run in first..=runs {
            if crate::cancel::interrupted() {
                return Err(BenchError::Interrupted);
            }
            let start = Instant::now();
            let result = job(jobs).map_err(|message| BenchError::Job {
                jobs: jobs.get(),
                message,
            })?;
            let elapsed = start.elapsed();
            drop(result.cleanup);
            let label = if run == 0 {
                "warm-up".to_string()
            } else {
                format!("run {run} of {runs}")
            };
            match &reference {
                None => {
                    reference = Some((jobs.get(), result.bytes, result.files, result.fingerprint))
                }
                Some((first_jobs, bytes, files, fingerprint)) => {
                    let mismatch = |what, want: String, got: String| BenchError::Mismatch {
                        what,
                        first_jobs: *first_jobs,
                        want,
                        jobs: jobs.get(),
                        got,
                        run: label.clone(),
                    };
                    if result.bytes != *bytes {
                        return Err(mismatch(
                            "bytes",
                            bytes.to_string(),
                            result.bytes.to_string(),
                        ));
                    }
                    if result.files != *files {
                        return Err(mismatch(
                            "files",
                            files.to_string(),
                            result.files.to_string(),
                        ));
                    }
                    if result.fingerprint != *fingerprint {
                        return Err(mismatch(
                            "fingerprint",
                            fingerprint.clone(),
                            result.fingerprint,
                        ));
                    }
                }
            }
            progress(Progress {
                jobs: jobs.get(),
                run,
                runs,
                elapsed,
            });
            if run > 0 {
                times.push(elapsed);
            }
        }
        samples.push((jobs.get(), times));
    }
    let (_, bytes, files, fingerprint) = reference.expect("at least one run");
    Ok(report_from_samples(
        bytes,
        files,
        fingerprint,
        runs,
        warmup,
        samples,
    ))
}

/// Builds the report from raw timings (public so the arithmetic can be checked on its own).
pub fn report_from_samples(
    bytes: u64,
    files: u64,
    fingerprint: String,
    runs: usize,
    warmup: bool,
    samples: Vec<(usize, Vec<Duration>)>,
) -> BenchReport {
    let baseline_jobs = samples
        .iter()
        .map(|(j, _)| *j)
        .find(|&j| j == 1)
        .or_else(|| samples.iter().map(|(j, _)| *j).min())
        .unwrap_or(1);
    let base_median = samples
        .iter()
        .find(|(j, _)| *j == baseline_jobs)
        .map(|(_, t)| median(t))
        .unwrap_or_default();
    let rows = samples
        .into_iter()
        .map(|(jobs, times)| {
            let med = median(&times);
            let secs = med.as_secs_f64();
            let speedup = if secs > 0.0 {
                base_median.as_secs_f64() / secs
            } else {
                0.0
            };
            Row {
                jobs,
                times_s: times.iter().map(Duration::as_secs_f64).collect(),
                median_s: secs,
                min_s: times
                    .iter()
                    .min()
                    .copied()
                    .unwrap_or_default()
                    .as_secs_f64(),
                max_s: times
                    .iter()
                    .max()
                    .copied()
                    .unwrap_or_default()
                    .as_secs_f64(),
                mb_per_s: mb_per_s(bytes, med),
                files_per_s: if secs > 0.0 { files as f64 / secs } else { 0.0 },
                speedup,
                efficiency: speedup * baseline_jobs as f64 / jobs as f64,
            }
        })
        .collect();
    BenchReport {
        title: String::new(),
        bytes,
        files,
        fingerprint,
        runs,
        warmup,
        cores: crate::pool::default_jobs().get(),
        baseline_jobs,
        rows,
    }
}

/// The median of some durations (the mean of the middle two for an even count).
pub fn median(times: &[Duration]) -> Duration {
    let mut t = times.to_vec();
    t.sort();
    match t.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => t[n / 2],
        n => (t[n / 2 - 1] + t[n / 2]) / 2,
    }
}

/// A duration for the table: milliseconds below a second, seconds above.
fn fmt_secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}

impl BenchReport {
    /// The table people read: one row per worker count.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        if !self.title.is_empty() {
            let _ = writeln!(out, "{}", self.title);
        }
        let _ = writeln!(
            out,
            "{} files, {} ({} bytes); median of {} run(s) per worker count{}; {} cores",
            self.files,
            crate::totals::human_bytes(self.bytes),
            self.bytes,
            self.runs,
            if self.warmup { " after a warm-up" } else { "" },
            self.cores,
        );
        let header = [
            "jobs",
            "median",
            "min",
            "max",
            "MB/s",
            "files/s",
            "speed-up",
            "efficiency",
        ];
        let mut lines: Vec<[String; 8]> = vec![header.map(String::from)];
        for r in &self.rows {
            lines.push([
                r.jobs.to_string(),
                fmt_secs(r.median_s),
                fmt_secs(r.min_s),
                fmt_secs(r.max_s),
                format!("{:.1}", r.mb_per_s),
                format!("{:.0}", r.files_per_s),
                format!("{:.2}x", r.speedup),
                format!("{:.0}%", r.efficiency * 100.0),
            ]);
        }
        let widths: Vec<usize> = (0..8)
            .map(|c| lines.iter().map(|l| l[c].len()).max().unwrap_or(0))
            .collect();
        for l in &lines {
            let cells: Vec<String> = l
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:>w$}"))
                .collect();
            let _ = writeln!(out, "{}", cells.join("  "));
        }
        if self.baseline_jobs != 1 {
            let _ = writeln!(
                out,
                "(speed-up and efficiency are relative to {} jobs: 1 job was not run)",
                self.baseline_jobs
            );
        }
        out
    }

    /// The raw figures as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serialises")
    }

    /// The chart: throughput and speed-up against worker count, with the ideal lines.
    pub fn to_svg(&self) -> String {
        plot::svg(self)
    }
}

/// The punzip job for [`run_bench`]: each run opens and plans `archive`, extracts it with
/// the given worker count into a fresh temporary directory under `parent`, and hands the
/// directory back for removal after the clock stops (`parent` is created if missing).
/// Any member error fails the run.
pub fn unzip_job(
    archive: &Path,
    parent: &Path,
    umask: u32,
) -> impl FnMut(NonZeroUsize) -> Result<RunResult, String> {
    let archive: PathBuf = archive.to_owned();
    let parent: PathBuf = parent.to_owned();
    move |jobs| {
        use crate::unzip;
        std::fs::create_dir_all(&parent)
            .map_err(|e| format!("{}: cannot create directory: {e}", parent.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix(".punzip-bench-")
            .tempdir_in(&parent)
            .map_err(|e| {
                format!(
                    "{}: cannot create temporary directory: {e}",
                    parent.display()
                )
            })?;
        let a = unzip::Archive::open(&archive).map_err(|e| e.to_string())?;
        let mut reader = a.reader().map_err(|e| e.to_string())?;
        let plan = unzip::plan::build(&a, &mut reader, &unzip::Filter::default(), umask)
            .map_err(|e| e.to_string())?;
        if let Some(e) = plan.refused.first() {
            return Err(format!("{e} ({} member(s) refused)", plan.refused.len()));
        }
        let mut opts = unzip::Options::new(tmp.path());
        opts.jobs = jobs;
        opts.umask = umask;
        let outcome =
            unzip::extract(&a, &reader, &plan, &opts, &mut |_| {}).map_err(|e| e.to_string())?;
        if let Some(e) = outcome.errors.first() {
            return Err(format!("{e} ({} error(s))", outcome.errors.len()));
        }
        let t = outcome.totals;
        let fingerprint = format!(
            "files={} dirs={} links={} bytes_in={} bytes_out={} errors={} skipped={}",
            t.files, t.dirs, t.links, t.bytes_in, t.bytes_out, t.errors, t.skipped
        );
        Ok(RunResult::new(t.bytes_out, t.files, fingerprint).drop_after(tmp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nz(list: &[usize]) -> Vec<NonZeroUsize> {
        list.iter()
            .map(|&j| NonZeroUsize::new(j).unwrap())
            .collect()
    }

    fn ms(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn default_jobs_doubles_up_to_the_cores_then_twice_the_cores() {
        assert_eq!(default_jobs_list(1), nz(&[1, 2]));
        assert_eq!(default_jobs_list(2), nz(&[1, 2, 4]));
        assert_eq!(default_jobs_list(4), nz(&[1, 2, 4, 8]));
        assert_eq!(default_jobs_list(6), nz(&[1, 2, 4, 6, 12]));
        assert_eq!(default_jobs_list(8), nz(&[1, 2, 4, 8, 16]));
    }

    #[test]
    fn times_are_milliseconds_below_a_second() {
        assert_eq!(fmt_secs(0.0123), "12.3 ms");
        assert_eq!(fmt_secs(0.9994), "999.4 ms");
        assert_eq!(fmt_secs(3.17271), "3.173 s");
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&ms(&[5, 1, 3])), Duration::from_millis(3));
        assert_eq!(median(&ms(&[4, 1, 3, 2])), Duration::from_micros(2500));
        assert_eq!(median(&[]), Duration::ZERO);
    }

    #[test]
    fn rows_have_median_min_max_speedup_and_efficiency() {
        let r = report_from_samples(
            2_000_000,
            100,
            "x".into(),
            3,
            true,
            vec![
                (1, ms(&[1000, 1200, 900])),
                (2, ms(&[500, 400, 700])),
                (4, ms(&[400, 300, 250])),
            ],
        );
        assert_eq!(r.baseline_jobs, 1);
        let one = &r.rows[0];
        assert_eq!((one.median_s, one.min_s, one.max_s), (1.0, 0.9, 1.2));
        assert!((one.mb_per_s - 2.0).abs() < 1e-9);
        assert!((one.files_per_s - 100.0).abs() < 1e-9);
        assert!((one.speedup - 1.0).abs() < 1e-9);
        let two = &r.rows[1];
        assert!((two.median_s - 0.5).abs() < 1e-9);
        assert!((two.speedup - 2.0).abs() < 1e-9);
        assert!((two.efficiency - 1.0).abs() < 1e-9);
        let four = &r.rows[2];
        assert!((four.median_s - 0.3).abs() < 1e-9);
        assert!((four.speedup - 1.0 / 0.3).abs() < 1e-9);
        assert!((four.efficiency - 1.0 / 1.2).abs() < 1e-9);
        assert_eq!(four.times_s, vec![0.4, 0.3, 0.25]);
    }

    #[test]
    fn without_one_job_the_smallest_count_is_the_baseline() {
        let r = report_from_samples(
            1,
            1,
            "x".into(),
            1,
            false,
            vec![(2, ms(&[800])), (8, ms(&[200]))],
        );
        assert_eq!(r.baseline_jobs, 2);
        assert!((r.rows[1].speedup - 4.0).abs() < 1e-9);
        assert!((r.rows[1].efficiency - 1.0).abs() < 1e-9);
        assert!(r.table().contains("relative to 2 jobs"));
    }

    #[test]
    fn the_table_has_a_header_and_a_row_per_worker_count() {
        let mut r = report_from_samples(
            10_000_000,
            50,
            "x".into(),
            2,
            true,
            vec![(1, ms(&[100, 100])), (2, ms(&[50, 50]))],
        );
        r.title = "punzip t.zip".into();
        let table = r.table();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "punzip t.zip");
        assert!(lines[1].starts_with("50 files, 9.5 MiB (10000000 bytes); median of 2 run(s)"));
        let header: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(
            header,
            [
                "jobs",
                "median",
                "min",
                "max",
                "MB/s",
                "files/s",
                "speed-up",
                "efficiency"
            ]
        );
        let one: Vec<&str> = lines[3].split_whitespace().collect();
        assert_eq!(
            one,
            ["1", "100.0", "ms", "100.0", "ms", "100.0", "ms", "100.0", "500", "1.00x", "100%"]
        );
        let two: Vec<&str> = lines[4].split_whitespace().collect();
        assert_eq!(
            two,
            ["2", "50.0", "ms", "50.0", "ms", "50.0", "ms", "200.0", "1000", "2.00x", "100%"]
        );
        assert_eq!(lines.len(), 5);
        // Columns line up: every line of the table has the same width.
        assert_eq!(lines[2].len(), lines[3].len());
        assert_eq!(lines[3].len(), lines[4].len());
    }

    #[test]
    fn consistent_runs_produce_a_row_per_count() {
        let mut calls = Vec::new();
        let report = run_bench(&nz(&[1, 2, 3]), 2, true, |jobs| {
            calls.push(jobs.get());
            Ok(RunResult::new(10, 2, "same"))
        })
        .unwrap();
        assert_eq!(calls, [1, 1, 1, 2, 2, 2, 3, 3, 3]);
        assert_eq!(report.rows.len(), 3);
        assert!(report.rows.iter().all(|r| r.times_s.len() == 2));
        assert_eq!((report.bytes, report.files), (10, 2));
    }

    #[test]
    fn a_fingerprint_that_changes_with_the_job_count_is_an_error() {
        let err = run_bench(&nz(&[1, 4]), 2, false, |jobs| {
            Ok(RunResult::new(10, 2, format!("out-{}", jobs.get().min(2))))
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, BenchError::Mismatch { jobs: 4, .. }), "{msg}");
        assert!(msg.contains("fingerprint"), "{msg}");
        assert!(msg.contains("out-1") && msg.contains("out-2"), "{msg}");
        assert!(
            msg.contains("4 job(s)") && msg.contains("1 job(s)"),
            "{msg}"
        );
    }

    #[test]
    fn bytes_that_change_between_runs_are_an_error_even_in_the_warmup() {
        let mut n = 0;
        let err = run_bench(&nz(&[2]), 3, true, |_| {
            n += 1;
            Ok(RunResult::new(if n == 3 { 11 } else { 10 }, 2, "same"))
        })
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "inconsistent runs: bytes was 10 with 2 job(s) (first run) but 11 with 2 job(s) (run 2 of 3)"
        );
    }

    #[test]
    fn files_that_differ_are_an_error() {
        let err = run_bench(&nz(&[1, 2]), 1, false, |jobs| {
            Ok(RunResult::new(10, jobs.get() as u64, "same"))
        })
        .unwrap_err();
        assert!(
            matches!(&err, BenchError::Mismatch { what: "files", want, got, .. } if want == "1" && got == "2"),
            "{err}"
        );
    }

    #[test]
    fn a_failing_job_names_the_worker_count() {
        let err = run_bench(&nz(&[1, 2]), 1, false, |jobs| {
            if jobs.get() == 2 {
                Err("disk on fire".to_string())
            } else {
                Ok(RunResult::new(1, 1, "x"))
            }
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "run with 2 job(s) failed: disk on fire");
    }

    #[test]
    fn cleanup_is_dropped_after_each_run() {
        use std::rc::Rc;
        let token = Rc::new(());
        let report = run_bench(&nz(&[1]), 3, true, |_| {
            Ok(RunResult::new(1, 1, "x").drop_after(Rc::clone(&token)))
        })
        .unwrap();
        assert_eq!(Rc::strong_count(&token), 1);
        assert_eq!(report.rows[0].times_s.len(), 3);
    }

    #[test]
    fn empty_inputs_are_refused() {
        let ok = |_| Ok(RunResult::new(1, 1, "x"));
        assert!(matches!(
            run_bench(&[], 1, false, ok),
            Err(BenchError::NoJobs)
        ));
        assert!(matches!(
            run_bench(&nz(&[1]), 0, false, ok),
            Err(BenchError::NoRuns)
        ));
    }

    #[test]
    fn json_has_the_rows() {
        let r = report_from_samples(
            5,
            1,
            "f".into(),
            1,
            false,
            vec![(1, ms(&[10])), (2, ms(&[5]))],
        );
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["rows"].as_array().unwrap().len(), 2);
        assert_eq!(v["rows"][1]["jobs"], 2);
        assert_eq!(v["fingerprint"], "f");
    }
}
