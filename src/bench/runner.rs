//! The runner: a job is a closure from a worker count to a [`RunResult`]; it is run
//! `runs` times at each worker count (after a warm-up), timed around the call only, and
//! every run must agree with the first on bytes, files and fingerprint, or the bench
//! fails with [`BenchError::Mismatch`] naming both values. A job that leaves something to
//! clean up hands it back in [`RunResult::cleanup`], dropped after the clock stops.

use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use super::stats::{report_from_samples, BenchReport};

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

#[cfg(test)]
mod tests {
    use super::*;
    fn nz(list: &[usize]) -> Vec<NonZeroUsize> {
        list.iter()
            .map(|&j| NonZeroUsize::new(j).unwrap())
            .collect()
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
}
