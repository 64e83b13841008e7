//! `punzip`: parse the command line into plain options, hand them to the library, turn the
//! outcome into messages and an Info-ZIP exit status. Nothing else lives here.

mod common;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use common::{BenchArgs, CommonArgs};
use punzip::error::{exit, Error};
use punzip::totals::{human_bytes, mb_per_s};
use punzip::unzip::{self, Event, Overwrite};

/// Extract a zip archive in parallel, safely: nothing is written outside DEST, nothing is
/// left half-written under its final name, and existing files are kept unless -o is given.
#[derive(Parser, Debug)]
#[command(name = "punzip", version, about)]
struct Cli {
    /// The zip archive.
    archive: PathBuf,

    /// Where to extract (default: the current directory).
    #[arg(conflicts_with = "dest_opt")]
    dest: Option<PathBuf>,

    /// Where to extract (as unzip's -d).
    #[arg(short = 'd', value_name = "DEST")]
    dest_opt: Option<PathBuf>,

    #[command(flatten)]
    common: CommonArgs,

    #[command(flatten)]
    bench: BenchArgs,

    /// List members (like unzip -l) and exit.
    #[arg(short = 'l', long, conflicts_with_all = ["test", "bench"])]
    list: bool,

    /// Decompress every member and check its CRC in parallel; write nothing.
    #[arg(short = 't', long, conflicts_with = "bench")]
    test: bool,

    /// Replace existing files (each only after its new content is verified).
    #[arg(short = 'o', long, conflicts_with_all = ["never_overwrite", "bench"])]
    overwrite: bool,

    /// Never overwrite: skip members whose target exists.
    #[arg(short = 'n', long, conflicts_with = "bench")]
    never_overwrite: bool,

    /// Only members matching GLOB (repeatable; `*` matches across `/`).
    #[arg(
        short = 'i',
        long = "include",
        value_name = "GLOB",
        conflicts_with = "bench"
    )]
    include: Vec<String>,

    /// Skip members matching GLOB (repeatable).
    #[arg(
        short = 'x',
        long = "exclude",
        value_name = "GLOB",
        conflicts_with = "bench"
    )]
    exclude: Vec<String>,

    /// Drop directory names: every file lands directly in DEST.
    #[arg(long, conflicts_with = "bench")]
    junk_paths: bool,

    /// Print a line per member.
    #[arg(short = 'v', long)]
    verbose: bool,

    /// Password for encrypted members (ZipCrypto or AES).
    #[arg(short = 'P', long, env = "PUNZIP_PASSWORD", hide_env_values = true)]
    password: Option<String>,

    /// Refuse archives whose declared output exceeds SIZE (suffixes K, M, G, T).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_size: Option<u64>,

    /// Do not check the declared output against the free space in DEST.
    #[arg(long)]
    no_space_check: bool,

    /// Also create symlinks whose target points outside DEST (refused by default).
    #[arg(long)]
    allow_unsafe_symlinks: bool,

    /// Flush every file to disk before it takes its name, and the directories at the end.
    #[arg(long)]
    fsync: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size suffix {c:?}")),
            };
            (&s[..i], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num.parse().map_err(|e| format!("bad size {s:?}: {e}"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} too large"))
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE as u8 } else { 0 });
        }
    };
    punzip::cancel::install();
    let code = run(&cli);
    ExitCode::from(code as u8)
}

fn run(cli: &Cli) -> i32 {
    let umask = unzip::fsops::umask();
    if cli.bench.bench {
        // Each run extracts into a fresh temporary directory under DEST (or the system
        // temp dir), removed after it is timed.
        let parent =
            (cli.dest.clone().or_else(|| cli.dest_opt.clone())).unwrap_or_else(std::env::temp_dir);
        let title = format!("punzip --bench {}", cli.archive.display());
        let job = punzip::bench::unzip_job(&cli.archive, &parent, umask);
        return cli
            .bench
            .run("punzip", title, cli.common.quiet, exit::SEVERE, job);
    }
    let archive = match unzip::Archive::open(&cli.archive) {
        Ok(a) => a,
        Err(e) => return fail(&e),
    };
    let mut reader = match archive.reader() {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let filter = unzip::Filter {
        include: cli.include.clone(),
        exclude: cli.exclude.clone(),
        junk_paths: cli.junk_paths,
    };
    if let Err(reason) = unzip::plan::compile(&filter) {
        eprintln!("punzip: {reason}");
        return exit::USAGE;
    }
    let plan = match unzip::plan::build(&archive, &mut reader, &filter, umask) {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    let mut codes = vec![exit::OK];
    for e in &plan.refused {
        eprintln!("punzip: {e}");
        codes.push(e.exit_code());
    }
    if !cli.common.quiet {
        for w in &plan.case_warnings {
            eprintln!("punzip: warning: {w}");
        }
        for (name, what) in &plan.skipped {
            eprintln!("punzip: warning: {name}: {what} not created");
        }
    }
    if !plan.skipped.is_empty() {
        codes.push(exit::WARN);
    }
    if (!cli.include.is_empty() || !cli.exclude.is_empty()) && plan.matched == 0 {
        eprintln!("punzip: {}", Error::NoMatch);
        return exit::NO_MATCH;
    }

    if cli.list {
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let r = unzip::list::write_listing(&mut out, &cli.archive.display().to_string(), &plan)
            .and_then(|_| out.flush());
        if let Err(e) = r {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!("punzip: cannot write listing: {e}");
                codes.push(exit::FORMAT);
            }
        }
        return punzip::error::worst(codes);
    }

    let dest = cli
        .dest
        .clone()
        .or_else(|| cli.dest_opt.clone())
        .unwrap_or_else(|| PathBuf::from("."));
    let opts = unzip::Options {
        dest,
        jobs: cli.common.jobs(),
        overwrite: if cli.overwrite {
            Overwrite::Replace
        } else if cli.never_overwrite {
            Overwrite::Skip
        } else {
            Overwrite::Refuse
        },
        password: cli.password.as_ref().map(|p| p.clone().into_bytes()),
        test_only: cli.test,
        max_size: cli.max_size,
        check_free_space: !cli.no_space_check,
        allow_unsafe_links: cli.allow_unsafe_symlinks,
        umask,
        fsync: cli.fsync,
    };

    let declared = plan.declared_size();
    let bar = progress_bar(declared, plan.members.len());
    let verbose = cli.verbose;
    let test = cli.test;
    let mut on_event = |ev: Event<'_>| match ev {
        Event::Done(m, r) => {
            if let Some(bar) = &bar {
                bar.inc(m.size);
            }
            match r {
                Ok(_) if verbose => {
                    let line = verb_line(test, m);
                    match &bar {
                        Some(bar) => bar.println(line),
                        None => println!("{line}"),
                    }
                }
                Ok(_) => {}
                Err(e) => match &bar {
                    Some(bar) => bar.suspend(|| eprintln!("punzip: {e}")),
                    None => eprintln!("punzip: {e}"),
                },
            }
        }
        Event::Problem(e) => match &bar {
            Some(bar) => bar.suspend(|| eprintln!("punzip: {e}")),
            None => eprintln!("punzip: {e}"),
        },
        Event::Kept(m) => {
            if verbose {
                println!("  skipping: {} (exists)", m.rel_path().display());
            }
        }
    };
    let outcome = match unzip::extract(&archive, &reader, &plan, &opts, &mut on_event) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    codes.push(outcome.exit_code());
    if cli.common.stats {
        let t = &outcome.totals;
        eprintln!(
            "punzip: {} files, {} dirs, {} links, {} out ({} in), {} errors, {} skipped, {:.3} s, {:.1} MB/s, {} jobs",
            t.files,
            t.dirs,
            t.links,
            human_bytes(t.bytes_out),
            human_bytes(t.bytes_in),
            t.errors,
            t.skipped,
            outcome.elapsed.as_secs_f64(),
            mb_per_s(t.bytes_out, outcome.elapsed),
            opts.jobs
        );
    }
    let code = punzip::error::worst(codes);
    if test && code == exit::OK && !cli.common.quiet {
        println!(
            "No errors detected in compressed data of {}.",
            cli.archive.display()
        );
    }
    code
}

fn verb_line(test: bool, m: &unzip::Member) -> String {
    use punzip::unzip::meta::Kind;
    let path = m.rel_path();
    match (test, m.kind) {
        (true, _) => format!("    testing: {:<40} OK", m.name),
        (false, Kind::Dir) => format!("   creating: {}/", path.display()),
        (false, Kind::Symlink) => format!("    linking: {}", path.display()),
        (false, _) => format!("  inflating: {}", path.display()),
    }
}

fn progress_bar(bytes: u64, members: usize) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() || (bytes < 64 << 20 && members < 2000) {
        return None;
    }
    let bar = indicatif::ProgressBar::new(bytes);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .expect("valid template"),
    );
    Some(bar)
}

fn fail(e: &Error) -> i32 {
    eprintln!("punzip: {e}");
    e.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bench_runs_the_whole_extraction_so_selection_options_conflict_with_it() {
        for opt in ["-l", "-t", "-o", "-n", "--junk-paths"] {
            assert!(
                Cli::try_parse_from(["punzip", "--bench", opt, "a.zip"]).is_err(),
                "{opt}"
            );
        }
        assert!(Cli::try_parse_from(["punzip", "--bench", "-i", "*.c", "a.zip"]).is_err());
        assert!(Cli::try_parse_from(["punzip", "--bench", "a.zip"]).is_ok());
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("10"), Ok(10));
        assert_eq!(parse_size("2K"), Ok(2048));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("1X").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}
