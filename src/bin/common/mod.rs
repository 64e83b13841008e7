//! Command-line pieces both binaries share: the common options group, `--bench`, and the
//! way text reaches the user (a closed standard output is a quiet end of output, as in
//! ripgrep; a message to a closed standard error is dropped rather than a panic).
//! Binaries turn clap types into plain library configs; the library never sees clap.

pub mod stdout;
pub mod term;
pub mod tty;

#[allow(unused_imports)] // each binary uses some of them
pub use stdout::{DropClosed, Stdout, WatchClosed};

use std::fmt;
use std::io::{self, Write};
use std::num::NonZeroUsize;

/// Options every tool has.
#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// Number of worker threads (default: the number of cores; 1 runs serially through the
    /// same code path).
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = parse_jobs)]
    pub jobs: Option<NonZeroUsize>,

    /// Print totals and throughput on stderr at the end.
    #[arg(long)]
    pub stats: bool,

    /// Silence warnings (errors are still reported). May be given twice (-qq): the same
    /// as -q unless the tool says otherwise.
    #[arg(short = 'q', long, action = clap::ArgAction::Count)]
    pub quiet: u8,

    /// Do only shard K of N (1 <= K <= N) of the work: N runs with K = 1..N together do
    /// exactly one run's work, on any machines. `auto` takes K and N from a Slurm job
    /// array; `auto/N` takes K from a Kubernetes indexed Job (N = its completions).
    #[arg(long, value_name = "K/N|auto|auto/N", value_parser = parse_shard)]
    pub shard: Option<punzip::shard::Shard>,

    /// Write a man page or a shell completion script to stdout and exit (KIND: man,
    /// complete-bash, complete-zsh, complete-fish, complete-elvish).
    #[arg(long, value_name = "KIND", value_enum, hide = true)]
    pub generate: Option<Generate>,
}

/// What `--generate` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generate {
    /// The man page (roff), for `man -l` or a man directory.
    Man,
    CompleteBash,
    CompleteZsh,
    CompleteFish,
    CompleteElvish,
}

/// Answers `--generate KIND` before the real parse (which would want ARCHIVE): None when
/// it was not asked for, else whether writing to stdout worked. The man page and the
/// completions come from the same clap definitions as `--help`, so they cannot drift.
pub fn generate(cmd: clap::Command) -> Option<io::Result<()>> {
    let matches = cmd.clone().ignore_errors(true).try_get_matches().ok()?;
    let kind = *matches.try_get_one::<Generate>("generate").ok()??;
    let mut out = Stdout::new();
    Some(write_generated(kind, cmd, &mut out).and_then(|()| Write::flush(&mut out)))
}

/// Prints clap's `--help` or `--version` text (`e` is clap's "error" that carries it) on
/// standard output: `Ok` also when the reader went away (`--help | head -3`); an error when
/// standard output could not take it (`>/dev/full`, `>&-`), where md5sum says "write
/// error" and exits 1 (clap's own printing exited 0 silently).
pub fn print_help(e: &clap::Error) -> io::Result<()> {
    use std::io::IsTerminal;
    let text = e.render();
    let text = if io::stdout().is_terminal() {
        text.ansi().to_string()
    } else {
        text.to_string()
    };
    Stdout::new().write(text.as_bytes())
}

/// Writes what `kind` asks for about `cmd`.
pub fn write_generated(
    kind: Generate,
    mut cmd: clap::Command,
    out: &mut dyn Write,
) -> io::Result<()> {
    use clap_complete::Shell;
    let shell = match kind {
        Generate::Man => return clap_mangen::Man::new(cmd).render(out),
        Generate::CompleteBash => Shell::Bash,
        Generate::CompleteZsh => Shell::Zsh,
        Generate::CompleteFish => Shell::Fish,
        Generate::CompleteElvish => Shell::Elvish,
    };
    let name = cmd.get_name().to_owned();
    if shell != Shell::Bash {
        clap_complete::generate(shell, &mut cmd, name, out);
        return Ok(());
    }
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    out.write_all(bash_completes_files(&String::from_utf8_lossy(&script)).as_bytes())
}

/// clap's bash script offers the options for an empty word and for every operand
/// (`punzip <TAB>` inserted `-`, and no archive was ever offered): options only for a
/// word that starts with `-`, else nothing, so that bash's own file completion
/// (`-o default`) offers files, as unzip's completion offers archives; and directories
/// only after `-d`.
fn bash_completes_files(script: &str) -> String {
    script
        .replace(
            "if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then",
            "if [[ ${cur} == -* ]] ; then",
        )
        .replace(
            "            esac\n            COMPREPLY=( $(compgen -W \"${opts}\" -- \"${cur}\") )\n",
            "            esac\n            COMPREPLY=()\n",
        )
        .replace(
            "                -d)\n                    COMPREPLY=($(compgen -f \"${cur}\"))",
            "                -d)\n                    COMPREPLY=($(compgen -d \"${cur}\"))",
        )
}

/// `--shard`: K/N, or the scheduler's variables for `auto`.
fn parse_shard(s: &str) -> Result<punzip::shard::Shard, String> {
    punzip::shard::Shard::parse(s, &|var| std::env::var(var).ok()).map_err(|e| e.to_string())
}

/// The most worker threads `--jobs` takes. Every worker is a thread with its buffers,
/// started before the first file: `-j 100000` took minutes to start, or aborted when
/// threads could not be made. And the pool's idle threads look for work in each other's
/// queues, a cost that grows with the square of their number: on 2 cores, hashing one
/// small file took 0.01 s at `-j 64`, 0.09 s at 256 and 3 s at 1,024. 256 is far past
/// where two, or 128, cores stop gaining.
pub const MOST_JOBS: usize = 256;

/// `--jobs`: a worker count, with a message that says what to type instead of 0.
fn parse_jobs(s: &str) -> Result<NonZeroUsize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err(format!(
            "there must be at least 1 worker (1 runs serially; leave --jobs out to use all {} cores)",
            punzip::pool::default_jobs()
        )),
        Ok(n) if n > MOST_JOBS => Err(format!(
            "at most {MOST_JOBS} workers (this machine has {} cores; leave --jobs out to use them all)",
            punzip::pool::default_jobs()
        )),
        Ok(n) => Ok(NonZeroUsize::new(n).expect("not zero")),
        Err(_) => Err("expected a number of workers, such as 4".into()),
    }
}

/// `--bench-runs`: clap's own parser said "number would be zero for non-zero type".
fn parse_runs(s: &str) -> Result<NonZeroUsize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("there must be at least 1 timed run".into()),
        Ok(n) => Ok(NonZeroUsize::new(n).expect("not zero")),
        Err(_) => Err("expected a number of runs, such as 5".into()),
    }
}

impl CommonArgs {
    /// Whether -q was given at all.
    pub fn quiet(&self) -> bool {
        self.quiet > 0
    }

    /// The workers to run: `--jobs`, or the cores; fewer when the descriptor limit cannot
    /// hold them ([`punzip::fdtable::jobs_within`]), with a note when `--jobs` was given.
    pub fn jobs(&self) -> NonZeroUsize {
        let wanted = self.jobs.unwrap_or_else(punzip::pool::default_jobs);
        let jobs = punzip::fdtable::jobs_within(wanted);
        static SAID: std::sync::Once = std::sync::Once::new();
        if jobs < wanted && self.jobs.is_some() {
            SAID.call_once(|| {
                say(format_args!(
                    "{}: note: --jobs {wanted} lowered to {jobs}: the descriptor limit (ulimit -n) has room for no more",
                    std::env::args_os()
                        .next()
                        .as_deref()
                        .and_then(|a| std::path::Path::new(a).file_name())
                        .map_or("".into(), |n| n.to_string_lossy())
                ))
            });
        }
        jobs
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
        value_parser = parse_jobs,
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
        value_parser = parse_runs,
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

/// How a `--bench` ended; each tool maps it to its own exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchEnd {
    /// The table was printed (or its reader went away) and the files written.
    Done,
    /// The bench could not be completed (the message is printed).
    Failed,
    /// Stopped by SIGINT or SIGTERM.
    Interrupted,
}

#[allow(dead_code)]
impl BenchEnd {
    /// The exit status, given the tool's statuses for a failure and an interrupt.
    pub fn code(self, failure: i32, interrupted: i32) -> i32 {
        match self {
            BenchEnd::Done => 0,
            BenchEnd::Failed => failure,
            BenchEnd::Interrupted => interrupted,
        }
    }
}

impl BenchArgs {
    /// Runs `job` as the options say, prints the table on stdout, writes the JSON and the
    /// chart, and says how it ended. Progress goes to stderr unless `quiet`.
    #[allow(dead_code)]
    pub fn bench<F>(&self, tool: &str, title: String, quiet: bool, job: F) -> BenchEnd
    where
        F: FnMut(NonZeroUsize) -> Result<punzip::bench::RunResult, String>,
    {
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
                say(format_args!(
                    "{tool}: bench: {} job(s), {what}: {:.3} s",
                    p.jobs,
                    p.elapsed.as_secs_f64()
                ));
            }
        };
        let mut report =
            match punzip::bench::run_bench_with_progress(&jobs, runs, true, job, progress) {
                Ok(r) => r,
                Err(e) => {
                    say(format_args!("{tool}: bench failed: {e}"));
                    return if punzip::cancel::interrupted() {
                        BenchEnd::Interrupted
                    } else {
                        BenchEnd::Failed
                    };
                }
            };
        report.title = title;
        let mut out = Stdout::new();
        if let Err(e) = out.write(report.table().as_bytes()) {
            say(format_args!("{tool}: cannot write the table: {e}"));
            return BenchEnd::Failed;
        }
        let files = [
            (&self.bench_json, report.to_json()),
            (&self.plot, report.to_svg()),
        ];
        for (path, text) in files {
            if let Some(path) = path {
                if let Err(e) = std::fs::write(path, text) {
                    let path = punzip::error::Shown::path(path);
                    say(format_args!("{tool}: {path}: cannot write: {e}"));
                    return BenchEnd::Failed;
                }
            }
        }
        BenchEnd::Done
    }
}

/// `n` and its noun, singular for one: "1 file", "2 files", "0 errors" (the `--stats`
/// lines).
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Writes one message line on stderr. A closed stderr drops the message: there is no one
/// left to tell, and panicking (as `eprintln!` does) would lose the exit status.
pub fn say(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|_| err.write_all(b"\n"));
}

/// The `--bench-*` options and `--plot` without `--bench`: a usage error. clap's
/// `requires = "bench"` lets them pass when another option that conflicts with `--bench`
/// is given (`punzip --plot x.svg -t A.zip` tested, wrote no chart, and exited 0).
pub fn bench_options_need_bench(
    matches: &clap::ArgMatches,
    cmd: &mut clap::Command,
) -> Result<(), clap::Error> {
    if matches.get_flag("bench") {
        return Ok(());
    }
    for (id, flag) in [
        ("bench_jobs", "--bench-jobs"),
        ("bench_runs", "--bench-runs"),
        ("bench_json", "--bench-json"),
        ("plot", "--plot"),
    ] {
        if matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
            return Err(cmd.error(
                clap::error::ErrorKind::MissingRequiredArgument,
                format!("{flag} needs --bench (it only shapes a benchmark)"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_bench_exits_with_the_tools_own_status() {
        assert_eq!(BenchEnd::Interrupted.code(1, 130), 130);
        assert_eq!(BenchEnd::Interrupted.code(3, 80), 80);
        assert_eq!(BenchEnd::Failed.code(1, 130), 1);
        assert_eq!(BenchEnd::Done.code(1, 130), 0);
    }

    #[test]
    fn zero_jobs_is_refused_with_what_to_type_instead() {
        let e = parse_jobs("0").unwrap_err();
        assert!(
            e.contains("at least 1") && e.contains("leave --jobs out"),
            "{e}"
        );
        assert_eq!(parse_jobs("3").unwrap().get(), 3);
        assert!(parse_jobs("many").is_err());
        assert_eq!(parse_jobs("256").unwrap().get(), MOST_JOBS);
        let e = parse_jobs("1024").unwrap_err();
        assert!(e.contains("at most 256"), "{e}");
    }
}
