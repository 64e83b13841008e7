//! Serial versus parallel, measured: run one job at several worker counts, time it, check
//! that every run did exactly the same work, and report the table, the raw figures (JSON)
//! and a chart (SVG).
//!
//! One concern per file:
//! - [`runner`]: a job is a closure from a worker count to a [`RunResult`] (bytes, files,
//!   a fingerprint of what was produced); the runner times it, checks every run against
//!   the first, and knows nothing about zip or md5.
//! - [`stats`]: median (the headline), min, max, throughput, speed-up, efficiency.
//! - [`table`]: the table, the JSON; [`plot`]: the chart.
//! - [`jobs`]: the two tools' jobs side by side, [`unzip_job`] and [`hash_job`], both
//!   built on the library entry points the binaries use.
//! - [`corpus`]: the synthetic corpora the benches and the comparison script run on.

pub mod corpus;
pub mod jobs;
pub mod plot;
pub mod runner;
pub mod stats;
pub mod table;

pub use jobs::{hash_job, unzip_job};
pub use runner::{
    default_jobs_list, run_bench, run_bench_with_progress, BenchError, Progress, RunResult,
};
pub use stats::{median, report_from_samples, BenchReport, Row};
