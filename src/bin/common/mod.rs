//! Command-line pieces both binaries share: the common options group and the way errors
//! reach the user. Binaries turn clap types into plain library configs; the library never
//! sees clap.

use std::num::NonZeroUsize;

/// Options every tool has.
#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// Number of worker threads (default: the number of cores; 1 runs serially through the
    /// same code path).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub jobs: Option<NonZeroUsize>,

    /// Print totals and throughput on stderr at the end.
    #[arg(long)]
    pub stats: bool,

    /// Silence warnings (errors are still reported).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

impl CommonArgs {
    pub fn jobs(&self) -> NonZeroUsize {
        self.jobs.unwrap_or_else(punzip::pool::default_jobs)
    }
}

/// `--bench` and its options: run the same job at several worker counts and report how it
/// scales. Flattened into a tool's `Cli` once that tool has a bench job.
#[allow(dead_code)]
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Instead of one run, time the job at several worker counts and print a table of
    /// median time, MB/s, files/s, speed-up and parallel efficiency.
    #[arg(long, help_heading = "Benchmark")]
    pub bench: bool,

    /// Worker counts to try (default: 1, 2, 4, ... up to the cores, and twice the cores).
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        requires = "bench",
        help_heading = "Benchmark"
    )]
    pub bench_jobs: Vec<NonZeroUsize>,

    /// Timed runs per worker count, after one warm-up run.
    #[arg(
        long,
        value_name = "R",
        default_value = "5",
        requires = "bench",
        help_heading = "Benchmark"
    )]
    pub bench_runs: NonZeroUsize,

    /// Also write the raw figures as JSON to FILE.
    #[arg(
        long,
        value_name = "FILE",
        requires = "bench",
        help_heading = "Benchmark"
    )]
    pub bench_json: Option<std::path::PathBuf>,

    /// Also draw throughput and speed-up against worker count as an SVG chart.
    #[arg(
        long,
        value_name = "FILE.svg",
        requires = "bench",
        help_heading = "Benchmark"
    )]
    pub plot: Option<std::path::PathBuf>,
}

impl BenchArgs {
    /// Runs `job` as the options say, prints the table on stdout, writes the JSON and the
    /// chart, and returns the exit status (0, or `failure` when the bench could not be
    /// completed). Progress goes to stderr unless `quiet`.
    #[allow(dead_code)]
    pub fn run<F>(&self, tool: &str, title: String, quiet: bool, failure: i32, job: F) -> i32
    where
        F: FnMut(NonZeroUsize) -> Result<punzip::bench::RunResult, String>,
    {
        use std::io::Write;
        let jobs = if self.bench_jobs.is_empty() {
            punzip::bench::default_jobs_list(punzip::pool::default_jobs().get())
        } else {
            self.bench_jobs.clone()
        };
        let runs = self.bench_runs.get();
        let progress = |p: punzip::bench::Progress| {
            if !quiet {
                let what = match p.run {
                    0 => "warm-up".to_string(),
                    n => format!("run {n}/{}", p.runs),
                };
                eprintln!(
                    "{tool}: bench: {} job(s), {what}: {:.3} s",
                    p.jobs,
                    p.elapsed.as_secs_f64()
                );
            }
        };
        let mut report =
            match punzip::bench::run_bench_with_progress(&jobs, runs, true, job, progress) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("{tool}: bench failed: {e}");
                    return if punzip::cancel::interrupted() {
                        punzip::error::exit::INTERRUPTED
                    } else {
                        failure
                    };
                }
            };
        report.title = title;
        let mut out = std::io::stdout().lock();
        if let Err(e) = out
            .write_all(report.table().as_bytes())
            .and_then(|_| out.flush())
        {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!("{tool}: cannot write the table: {e}");
                return failure;
            }
        }
        let files = [
            (&self.bench_json, report.to_json()),
            (&self.plot, report.to_svg()),
        ];
        for (path, text) in files {
            if let Some(path) = path {
                if let Err(e) = std::fs::write(path, text) {
                    eprintln!("{tool}: {}: cannot write: {e}", path.display());
                    return failure;
                }
            }
        }
        0
    }
}
