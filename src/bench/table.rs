//! How a bench report is shown: the table people read, the raw figures as JSON, and the
//! chart (see [`super::plot`]).

use super::plot;
use super::stats::BenchReport;

/// A duration for the table: milliseconds below a second, seconds above.
fn fmt_secs(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.3} s")
    }
}

/// Below this median, a row's speed-up and efficiency are noise.
const TOO_SHORT_S: f64 = 0.010;

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
        // A run of a few milliseconds is mostly starting threads and the scheduler's
        // whims: a 12-byte archive showed 566% efficiency on 2 cores.
        if self.rows.iter().any(|r| r.median_s < TOO_SHORT_S) {
            let _ = writeln!(
                out,
                "(runs under {} ms are too short for these ratios to mean much: time more data)",
                TOO_SHORT_S * 1000.0
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::report_from_samples;
    use std::time::Duration;
    fn ms(list: &[u64]) -> Vec<Duration> {
        list.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn runs_of_a_few_milliseconds_are_said_to_be_too_short() {
        let quick = report_from_samples(12, 4, "x".into(), 2, true, {
            vec![(1, ms(&[4, 4])), (2, ms(&[1, 1]))]
        });
        assert!(quick.table().contains("too short"), "{}", quick.table());
        let long = report_from_samples(12, 4, "x".into(), 2, true, {
            vec![(1, ms(&[40, 40])), (2, ms(&[20, 20]))]
        });
        assert!(!long.table().contains("too short"), "{}", long.table());
    }

    #[test]
    fn times_are_milliseconds_below_a_second() {
        assert_eq!(fmt_secs(0.0123), "12.3 ms");
        assert_eq!(fmt_secs(0.9994), "999.4 ms");
        assert_eq!(fmt_secs(3.17271), "3.173 s");
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
