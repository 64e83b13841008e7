//! The statistics of a bench: per worker count, the median (the headline: robust to one
//! slow run on a shared machine), min and max, throughput, and the speed-up and parallel
//! efficiency against the baseline (1 job when it was run).

use std::time::Duration;

use serde::Serialize;

use crate::totals::mb_per_s;

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

#[cfg(test)]
mod tests {
    use super::*;
    fn ms(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|&m| Duration::from_millis(m)).collect()
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
}
