//! phash: parallel, md5sum-compatible hashing of files and trees (MD5, SHA-1, SHA-256,
//! SHA-512, BLAKE3, written as md5sum, sha*sum and b3sum write them), and their check mode.
//!
//! A thin binary: clap parses the command line into [`Cli`], which becomes a plain
//! library config ([`punzip::hash::HashConfig`] or [`punzip::hash::CheckConfig`]); the
//! library does the work and reports through callbacks; this file prints, draws the
//! progress bar and maps the outcome to an exit status ([`Exit`], the only place a number
//! is chosen):
//!
//! | status | meaning                                                                  |
//! |--------|--------------------------------------------------------------------------|
//! | 0      | success (a closed output pipe, as in `phash | head`, counts as success)   |
//! | 1      | a file could not be read, a check failed, or the output could not be written |
//! | 2      | usage error: bad option or value, bad `--exclude` glob, bad `--bench` use |
//! | 128+N  | killed by signal N once its output is flushed (130: Ctrl-C), as md5sum  |

mod common;

/// A refused allocation is exit status 1, as md5sum's "memory exhausted", not an abort
/// ([`punzip::oom`]).
#[global_allocator]
static ALLOCATOR: punzip::oom::ExitOnOom = punzip::oom::ExitOnOom {
    tool: "phash",
    status: 1,
};

use std::cell::Cell;
use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::builder::TypedValueParser as _;
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use punzip::hash::algorithm::Algorithm;
use punzip::hash::format::LineStyle;
use punzip::hash::walk::WalkOptions;
use punzip::hash::{self, CheckConfig, HashConfig, Notice, Summary};
use punzip::totals::{human_bytes, mb_per_s, Totals};

use common::{count, say, BenchArgs, BenchEnd, CommonArgs, DropClosed, WatchClosed};

/// How a run ended. [`Exit::code`] maps it to the documented status (see the module doc);
/// nothing else in phash picks a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Exit {
    /// Everything went fine (warnings do not count).
    Ok,
    /// A file failed, a check failed, or the output could not be written.
    Failed,
    /// The command line was wrong.
    Usage,
    /// SIGINT or SIGTERM.
    Interrupted,
}

impl Exit {
    fn status(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            // 128 + SIGINT, as shells report it.
            Exit::Interrupted => 130,
        }
    }

    fn code(self) -> ExitCode {
        ExitCode::from(self.status())
    }
}

/// Print or check checksums of files and whole trees, in parallel, byte-for-byte as GNU
/// md5sum prints them (or sha1sum, sha256sum, sha512sum, b3sum with -a), in a stable order
/// (depth-first, names sorted by bytes).
///
/// With no PATH, or when PATH is -, read standard input. A PATH that is not a directory is
/// read as md5sum reads it, whatever it is (a symbolic link is followed; a FIFO, a device,
/// /dev/stdin or <(command) is read to its end). Inside directories, only regular files are
/// hashed: FIFOs, sockets and devices are skipped with a warning, and symbolic links are
/// not followed unless -L is given.
///
/// Exit status: 0 success, 1 a file could not be read or a check failed, 2 usage error.
/// Interrupted (SIGINT, SIGTERM, SIGHUP), phash dies by the signal once its output is
/// flushed, as md5sum does: a shell shows 128 + the signal's number (130 for Ctrl-C).
#[derive(Parser, Debug)]
// A repeated option is the last one given, as md5sum takes it (`alias h='phash --tag'`
// then `h --tag`; a script appending `-j1`): it was a usage error.
#[command(
    name = "phash",
    version,
    infer_long_args = true,
    args_override_self = true,
    mut_arg("quiet", |a| a.help(
        "Silence warnings (errors are still reported); with -c, as md5sum -c --quiet: no \
         OK line for each file that checks out (failures and the closing WARNING lines \
         stay). -qq is the same as -q"
    ))
)]
struct Cli {
    /// Files and directories to hash (directories are walked recursively; anything else
    /// named here is read); with -c, the checksum lists to verify.
    #[arg(value_name = "PATH")]
    paths: Vec<OsString>,

    /// Digest algorithm: md5 (default), sha1, sha224, sha256, sha384, sha512 or blake3.
    /// With -c, every line is read as this algorithm's; without -a, -c tells each line's
    /// algorithm from its tag or, untagged, its length (32 hex digits md5, 40 sha1, 56
    /// sha224, 64 sha256, 96 sha384, 128 sha512), and a line tagged with an algorithm phash
    /// does not compute (BLAKE2b, SM3: `cksum -a`'s) fails the check.
    #[arg(
        short = 'a',
        long,
        value_name = "NAME",
        value_parser = parse_algorithm()
    )]
    algorithm: Option<Algorithm>,

    /// Read checksums from the FILEs and check them, as `md5sum -c` (or `cksum -c`) does.
    #[arg(short = 'c', long, conflicts_with = "shard")]
    check: bool,

    /// Create a BSD-style checksum line: MD5 (NAME) = HEX (SHA256 (NAME) = HEX, ...).
    #[arg(long, conflicts_with = "check")]
    tag: bool,

    /// Write `HEX *NAME` lines, as `md5sum -b` does (the digest is the same either way).
    #[arg(short = 'b', long, conflicts_with = "check", overrides_with = "text")]
    binary: bool,

    /// Write `HEX  NAME` lines (the default), as `md5sum -t` does.
    #[arg(
        short = 't',
        long,
        conflicts_with_all = ["check", "tag"],
        overrides_with = "binary"
    )]
    text: bool,

    /// Write JSON Lines on stdout instead: one object per file (with -c, per list line),
    /// then one totals object.
    #[arg(long, conflicts_with_all = ["tag", "zero", "binary", "bench"])]
    json: bool,

    /// End each output line with NUL, not newline, and do not escape names.
    #[arg(short = 'z', long, conflicts_with = "check")]
    zero: bool,

    /// Follow symbolic links found inside directories (loops are detected and reported).
    /// Symbolic links named on the command line are always followed.
    #[arg(short = 'L', long, conflicts_with = "check")]
    follow: bool,

    /// Do not descend into directories on other file systems.
    #[arg(long, conflicts_with = "check")]
    one_file_system: bool,

    /// Accepted and ignored, for md5deep's and rhash's habit: directories are always walked.
    #[arg(short = 'r', long, conflicts_with = "check")]
    recursive: bool,

    /// Descend at most N directory levels below each PATH (0: only the PATHs themselves,
    /// read as md5sum reads them: a directory is then "Is a directory", exit 1).
    #[arg(long, value_name = "N", conflicts_with = "check")]
    max_depth: Option<usize>,

    /// Skip files and directories whose name, or whose path below PATH, matches GLOB
    /// (repeatable; `*` does not match `/`). As in gitignore: `dir/` matches directories
    /// only, `/path` (or `./path`) only that path below PATH. A PATH it matches (its own
    /// name, or all of it as typed for a GLOB with a `/`) is skipped too.
    #[arg(long, value_name = "GLOB", conflicts_with = "check")]
    exclude: Vec<String>,

    /// With -c: print nothing, the exit status shows success.
    // `--stat` is GNU md5sum's abbreviation of --status (long options may be abbreviated
    // while unambiguous, as there): here --stats would make it ambiguous.
    #[arg(
        long,
        alias = "stat",
        requires = "check",
        overrides_with_all = ["warn", "quiet"]
    )]
    status: bool,

    /// With -c: warn about improperly formatted checksum lines.
    #[arg(short = 'w', long, requires = "check", overrides_with_all = ["status", "quiet"])]
    warn: bool,

    /// With -c: exit non-zero for improperly formatted checksum lines.
    #[arg(long, requires = "check")]
    strict: bool,

    /// With -c: do not fail or report status for missing files.
    #[arg(long, requires = "check")]
    ignore_missing: bool,

    /// Combine the outputs of `--shard K/N` runs (K = 1..N) into exactly the output of one
    /// run: the same lines in the same order. PATHs, after `--`, are that run's operands
    /// (needed only when it had several not in the walk's order, component by component:
    /// the merge says so, and checks them against the shards' marks). Give -z, before --merge, if the shards ran with
    /// -z. The shards' line options (--tag, -b, -a) may be given again and change nothing:
    /// lines are copied as they are; the walk's options (--exclude, --max-depth, -L,
    /// --one-file-system) are refused, since the shards applied them. Each shard's output
    /// opens and closes with a `# phash --shard K/N run ID ...` comment (checkers skip it):
    /// the merge fails unless it has every shard of one run, each once and finished.
    /// Not for --json output (merge JSON Lines yourself: drop each shard's totals).
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["check", "shard", "bench", "json", "stats", "follow", "one_file_system", "max_depth", "exclude"])]
    merge: Vec<std::path::PathBuf>,

    /// Hash the regular file members of the zip ARCHIVE (- for standard input) instead of
    /// files, decoded in memory (nothing is written): one line each, named by the path
    /// punzip extracts it to, so that `(cd DEST && phash -c SUMS)` checks an extraction.
    /// Encrypted members take their password from PUNZIP_PASSWORD. Lines only: not with
    /// --json, --tag, -c, --shard or the walk's options (`punzip -t --json` gives each
    /// member's CRC-32 as JSON).
    #[arg(long, value_name = "ARCHIVE", conflicts_with_all = ["paths", "check", "tag", "follow", "one_file_system", "max_depth", "exclude", "bench", "merge", "json", "stats", "shard"])]
    members: Option<std::path::PathBuf>,

    #[command(flatten)]
    common: CommonArgs,

    #[command(flatten)]
    bench: BenchArgs,
}

/// Shows a progress line on stderr once the run has taken more than a second, and only
/// when stderr is a terminal that can take one and stdout goes to a file: on a terminal
/// the lines themselves show progress (and the line, drawn between them, was left frozen
/// above them), and into a pipe they usually reach the terminal through the next program
/// (`phash DIR | grep x`: stale progress lines stood among grep's). The spinner and the
/// clock move on their own, so that a long file does not look like a hang; the counts
/// move as files finish. Messages are printed around it.
struct Progress {
    bar: Option<ProgressBar>,
    start: Instant,
    /// The counts the line shows, as the last finished file left them. Behind a lock:
    /// the steady tick draws the line on indicatif's own thread.
    counts: std::sync::Arc<std::sync::Mutex<String>>,
    /// When the counts were last written: at most every [`COUNTS_EVERY`], as the line is
    /// drawn at most ten times a second (a `format!` per file was a cost for nothing).
    counted: Cell<Instant>,
}

/// How often the counts are written out for the line.
const COUNTS_EVERY: Duration = Duration::from_millis(50);

/// Standard output is a terminal, a pipe or a socket: something a reader watches.
fn stdout_is_watched() -> bool {
    use rustix::fs::FileType;
    io::stdout().is_terminal()
        || rustix::fs::fstat(io::stdout()).is_ok_and(|st| {
            matches!(
                FileType::from_raw_mode(st.st_mode),
                FileType::Fifo | FileType::Socket
            )
        })
}

/// How long a run goes before its progress line shows.
const QUIET_FOR: Duration = Duration::from_secs(1);

impl Progress {
    fn new() -> Progress {
        let wanted = common::term::stderr_can_draw() && !stdout_is_watched();
        let counts = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let shown = counts.clone();
        let bar = wanted.then(|| {
            let term = common::term::StderrTerm::new(true);
            // 20 a second: the steady tick takes 10 of them, updates get the rest.
            let target = ProgressDrawTarget::term_like_with_hz(Box::new(term), 20);
            let bar = ProgressBar::with_draw_target(None, target);
            bar.set_style(
                ProgressStyle::with_template("{late}")
                    .expect("valid progress template")
                    .with_key(
                        "late",
                        move |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                            if s.elapsed() >= QUIET_FOR {
                                let frame = common::term::spinner_frame(s.elapsed());
                                let counts = shown.lock().unwrap_or_else(|e| e.into_inner());
                                let _ = write!(w, "{frame} {}s {counts}", s.elapsed().as_secs());
                            }
                        },
                    ),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Progress::with(bar, counts)
    }

    /// No line: messages go straight to stderr.
    fn off() -> Progress {
        Progress::with(None, Default::default())
    }

    fn with(
        bar: Option<ProgressBar>,
        counts: std::sync::Arc<std::sync::Mutex<String>>,
    ) -> Progress {
        Progress {
            bar,
            start: Instant::now(),
            counts,
            counted: Cell::new(Instant::now()),
        }
    }

    fn update(&self, t: &Totals) {
        let Some(bar) = &self.bar else { return };
        let now = Instant::now();
        if now.duration_since(self.counted.get()) < COUNTS_EVERY {
            return;
        }
        self.counted.set(now);
        let text = format!(
            "{}, {} ({:.1} MB/s)",
            count(t.files, "file", "files"),
            human_bytes(t.bytes_in),
            mb_per_s(t.bytes_in, self.start.elapsed())
        );
        *self.counts.lock().unwrap_or_else(|e| e.into_inner()) = text.clone();
        // A new message is drawn at once (within the rate), not at the next tick (`tick`
        // does nothing under a steady tick); the template shows the counts through
        // `counts`, which only it can hide for the first second.
        bar.set_message(text);
    }

    fn println(&self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| say(format_args!("{msg}"))),
            None => say(format_args!("{msg}")),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `-a`'s parser: clap lists the choices when the value is none of them (a usage error).
fn parse_algorithm() -> impl clap::builder::TypedValueParser<Value = Algorithm> {
    clap::builder::PossibleValuesParser::new(Algorithm::ALL.map(Algorithm::name))
        .map(|s| s.parse::<Algorithm>().expect("one of the possible values"))
}

/// How hash mode writes each file.
fn style(cli: &Cli) -> LineStyle {
    LineStyle {
        tag: cli.tag,
        zero: cli.zero,
        binary: cli.binary,
        algorithm: cli.algorithm.unwrap_or_default(),
        json: cli.json,
    }
}

fn print_stats(s: &Summary) {
    let t = &s.totals;
    say(format_args!(
        "phash: {}, {}, {}, {} skipped, {:.3} s, {:.1} MB/s",
        count(t.files, "file", "files"),
        human_bytes(t.bytes_in),
        count(t.errors, "error", "errors"),
        t.skipped,
        s.wall.as_secs_f64(),
        mb_per_s(t.bytes_in, s.wall)
    ));
}

fn main() -> ExitCode {
    // SAFETY: first thing in main, before any thread starts.
    unsafe { punzip::locale::use_locale() };
    let mut exit = run();
    // A signal that came after the run's last look still makes it interrupted.
    if !matches!(exit, Exit::Interrupted) && punzip::cancel::cut_short() {
        exit = Exit::Interrupted;
    }
    if matches!(exit, Exit::Interrupted) {
        // What was written is a prefix of the run's output: say it is not all of it.
        say(format_args!("phash: interrupted"));
        if punzip::cancel::cut_short() {
            // Die by the signal, as md5sum does (a shell loop stops at Ctrl-C).
            punzip::cancel::end();
        }
    }
    exit.code()
}

/// (device, inode) of standard output when it is a regular file (see
/// [`WalkOptions::output`]).
fn output_file() -> Option<(u64, u64)> {
    let st = rustix::fs::fstat(io::stdout()).ok()?;
    let regular = rustix::fs::FileType::from_raw_mode(st.st_mode).is_file();
    // The field types differ between C libraries and targets.
    #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
    regular.then_some((st.st_dev as u64, st.st_ino as u64))
}

fn run() -> Exit {
    if let Some(r) = common::generate(<Cli as clap::CommandFactory>::command()) {
        return if r.is_ok() { Exit::Ok } else { Exit::Failed };
    }
    let parsed = <Cli as clap::CommandFactory>::command()
        .try_get_matches()
        .and_then(|m| {
            common::bench_options_need_bench(&m, &mut <Cli as clap::CommandFactory>::command())?;
            <Cli as clap::FromArgMatches>::from_arg_matches(&m)
        });
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors (unless they could not be written);
            // everything else clap rejects is a usage error.
            if e.use_stderr() {
                let _ = e.print();
                return Exit::Usage;
            }
            return match common::print_help(&e) {
                Ok(()) => Exit::Ok,
                Err(e) => {
                    say(format_args!("phash: standard output: {}", hash::reason(&e)));
                    Exit::Failed
                }
            };
        }
    };
    // A forced MD5 engine this CPU cannot run (or a misspelt one) is the user's mistake:
    // say so rather than quietly measuring another engine.
    if let Err(e) = punzip::hash::lanes::Engine::from_env() {
        say(format_args!("phash: {e}"));
        return Exit::Usage;
    }
    if cli.binary && !cli.check && cli.algorithm == Some(Algorithm::Blake3) {
        // `HEX *NAME` is md5sum's; b3sum has one form, and its -c refuses that one.
        say(format_args!(
            "phash: -b: b3sum's lines have no binary marker ('b3sum -c' refuses 'HEX *NAME'); leave -b out"
        ));
        return Exit::Usage;
    }
    if !cli.merge.is_empty() {
        return merge(cli);
    }
    // Before the first thread (the signal handler's) starts: see `fdtable`.
    punzip::fdtable::reserve(punzip::hash::descriptors(cli.common.jobs()));
    punzip::cancel::set_exit_status(Exit::Interrupted.status().into());
    punzip::cancel::die_by_signal();
    punzip::cancel::set_message("phash: interrupted");
    if cli.json {
        // A run stuck waiting (standard input, a FIFO) that the watchdog ends still ends
        // with its totals line.
        punzip::cancel::set_last_words(hash::jsonl::last_words);
    }
    punzip::cancel::install();
    let mut out = io::BufWriter::with_capacity(64 * 1024, WatchClosed(common::stdout::raw()));
    // Only a hashing run moves the line: check mode, --members and --bench never
    // update it (a clock with no counts was drawn, and their messages ran into it).
    let progress = if cli.check || cli.members.is_some() || cli.bench.bench {
        Progress::off()
    } else {
        Progress::new()
    };
    let quiet_warnings = cli.common.quiet() && !cli.check;
    if let Some(archive) = &cli.members {
        return members(archive, &cli, &mut out);
    }

    if cli.bench.bench {
        if cli.check || cli.paths.is_empty() || cli.paths.iter().any(|p| p == "-") {
            say(format_args!(
                "phash: --bench needs files or directories (not -c, not standard input)"
            ));
            return Exit::Usage;
        }
        let title = format!(
            "phash --bench {}{}",
            cli.algorithm
                .map(|a| format!("-a {a} "))
                .unwrap_or_default(),
            cli.paths
                .iter()
                .map(|p| p.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let cfg = HashConfig {
            paths: cli.paths.clone(),
            jobs: cli.common.jobs(),
            walk: WalkOptions {
                follow: cli.follow,
                one_file_system: cli.one_file_system,
                max_depth: cli.max_depth,
                exclude: cli.exclude.clone(),
                shard: cli.common.shard,
                output: output_file(),
                ..Default::default()
            },
            style: style(&cli),
        };
        return match cli.bench.bench(
            "phash",
            title,
            cli.common.quiet(),
            punzip::bench::hash_job(cfg),
        ) {
            BenchEnd::Done => Exit::Ok,
            BenchEnd::Failed => Exit::Failed,
            BenchEnd::Interrupted => Exit::Interrupted,
        };
    }

    // A failure already reported, for a run whose reader went away before its end.
    let mut failed_seen = false;
    let result = if cli.check {
        let cfg = CheckConfig {
            lists: cli.paths,
            jobs: cli.common.jobs(),
            quiet: cli.common.quiet(),
            status: cli.status,
            warn: cli.warn,
            strict: cli.strict,
            ignore_missing: cli.ignore_missing,
            algorithm: cli.algorithm,
            json: cli.json,
        };
        let progress = &progress;
        // A reader that goes away, or an output that fails, stops the lines, not the
        // checks: the warnings still come, then the failure.
        let mut lines =
            io::BufWriter::with_capacity(64 * 1024, DropClosed::new(common::stdout::raw()));
        hash::check(&cfg, &mut lines, &mut |n: Notice<'_>| {
            progress.println(&format!("phash: {n}"))
        })
        .and_then(|s| {
            let flushed = lines.flush();
            match lines.get_mut().take_failure() {
                Some(source) => Err(hash::HashError::Output { source }),
                None => flushed
                    .map(|_| s)
                    .map_err(|source| hash::HashError::Output { source }),
            }
        })
    } else {
        let style = style(&cli);
        let cfg = HashConfig {
            paths: cli.paths,
            jobs: cli.common.jobs(),
            walk: WalkOptions {
                follow: cli.follow,
                one_file_system: cli.one_file_system,
                max_depth: cli.max_depth,
                exclude: cli.exclude,
                shard: cli.common.shard,
                output: output_file(),
                ..Default::default()
            },
            style,
        };
        let progress = &progress;
        let failed_seen = &mut failed_seen;
        let mut notify = |n: Notice<'_>| {
            *failed_seen |= !n.is_warning();
            if !(quiet_warnings && n.is_warning()) {
                progress.println(&format!("phash: {n}"));
            }
        };
        hash::hash_tree(&cfg, &mut out, &mut notify, &mut |t| progress.update(t))
    };
    progress.finish();

    let summary = match result {
        Ok(s) => s,
        // A signal to the whole pipeline (Ctrl-C on `phash | cat`) also closes the pipe:
        // the run was interrupted, not done.
        Err(e) if e.is_broken_pipe() && punzip::cancel::interrupted() => return Exit::Interrupted,
        // `phash | head`: the reader has what it wanted; failures it was told of stand.
        Err(e) if e.is_broken_pipe() && failed_seen => return Exit::Failed,
        Err(e) if e.is_broken_pipe() => return Exit::Ok,
        Err(e) => {
            let _ = out.flush();
            say(format_args!("phash: {e}"));
            return if e.is_usage() {
                Exit::Usage
            } else {
                // Output errors end the run; say so, as md5sum does ("write error").
                Exit::Failed
            };
        }
    };
    match out.flush() {
        // The reader went away after the last line (or, in check mode, which wrote its
        // lines elsewhere, at any time): the work is done, the verdict below stands.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => {
            say(format_args!("phash: standard output: {}", hash::reason(&e)));
            return Exit::Failed;
        }
        Ok(()) => {}
    }
    if cli.common.stats {
        print_stats(&summary);
    }
    if summary.interrupted {
        Exit::Interrupted
    } else if summary.ok() {
        Exit::Ok
    } else {
        Exit::Failed
    }
}

/// `--merge`: the shards' outputs as one run's, on stdout.
fn merge(cli: Cli) -> Exit {
    let cfg = punzip::hash::merge::MergeConfig {
        inputs: cli.merge,
        operands: cli.paths,
        zero: cli.zero,
    };
    let mut out = io::BufWriter::with_capacity(64 * 1024, common::stdout::raw());
    match punzip::hash::merge::merge(&cfg, &mut out) {
        Ok(m) if !m.marked => {
            say(format_args!(
                "phash: --merge: note: the inputs have no shard marks (not written by phash \
                 --shard): whether a shard is missing cannot be told"
            ));
            Exit::Ok
        }
        Ok(_) => Exit::Ok,
        Err(e) if e.is_broken_pipe() => Exit::Ok,
        Err(e) => {
            let _ = out.flush();
            say(format_args!("phash: --merge: {e}"));
            if e.is_usage() {
                Exit::Usage
            } else {
                Exit::Failed
            }
        }
    }
}

/// `--members`: a line per archive member; a member that fails is reported and fails the
/// run, as an unreadable file does.
fn members(archive: &std::path::Path, cli: &Cli, out: &mut dyn Write) -> Exit {
    let password = std::env::var_os("PUNZIP_PASSWORD")
        .filter(|p| !p.is_empty())
        .map(|p| p.into_encoded_bytes());
    let r = punzip::unzip::members::sum_archive(
        archive,
        cli.common.jobs(),
        password.as_deref(),
        hash::format::LineStyle {
            zero: cli.zero,
            binary: cli.binary,
            algorithm: cli.algorithm.unwrap_or_default(),
            ..Default::default()
        },
        out,
        &mut |e| say(format_args!("phash: {e}")),
    );
    match r {
        Err(punzip::error::Error::Interrupted) => Exit::Interrupted,
        Err(e) => {
            say(format_args!("phash: {e}"));
            Exit::Failed
        }
        Ok(s) if s.interrupted => Exit::Interrupted,
        Ok(s) => match s.output.or_else(|| out.flush().err()) {
            Some(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                say(format_args!("phash: standard output: {}", hash::reason(&e)));
                Exit::Failed
            }
            Some(_) => Exit::Ok,
            None if s.failed > 0 => Exit::Failed,
            None => Exit::Ok,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// `--stats` printed nothing with them, and said nothing of it.
    #[test]
    fn stats_is_refused_where_it_would_print_nothing() {
        for args in [
            &["phash", "--members", "a.zip", "--stats"][..],
            &["phash", "--merge", "p.1", "--stats"],
        ] {
            let e = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::ArgumentConflict,
                "{args:?}"
            );
        }
    }

    #[test]
    fn last_of_status_warn_quiet_wins() {
        let c = Cli::try_parse_from(["phash", "-c", "--status", "-w"]).unwrap();
        assert!(c.warn && !c.status);
        let c = Cli::try_parse_from(["phash", "-c", "-w", "--status"]).unwrap();
        assert!(c.status && !c.warn);
        let c = Cli::try_parse_from(["phash", "-c", "--status", "--quiet"]).unwrap();
        assert!(c.common.quiet() && !c.status);
    }

    #[test]
    fn algorithm_binary_and_text_parse_as_md5sum_users_type_them() {
        let c = Cli::try_parse_from(["phash", "-a", "sha256", "-b", "-t"]).unwrap();
        assert_eq!(c.algorithm, Some(Algorithm::Sha256));
        assert!(c.text && !c.binary, "the last of -b and -t wins");
        let c = Cli::try_parse_from(["phash", "-t", "-b", "--algorithm=blake3"]).unwrap();
        assert!(c.binary && !c.text);
        assert_eq!(style(&c).algorithm, Algorithm::Blake3);
        // No -a: MD5 when hashing, each line's own algorithm when checking.
        let c = Cli::try_parse_from(["phash", "-c"]).unwrap();
        assert_eq!(c.algorithm, None);
        assert_eq!(style(&c).algorithm, Algorithm::Md5);
        // cksum -a takes lowercase names only.
        assert!(Cli::try_parse_from(["phash", "-a", "SHA256"]).is_err());
        assert!(Cli::try_parse_from(["phash", "-c", "-b"]).is_err());
        assert!(Cli::try_parse_from(["phash", "--tag", "-t"]).is_err());
        assert!(Cli::try_parse_from(["phash", "--json", "--tag"]).is_err());
        assert!(Cli::try_parse_from(["phash", "--json", "-c"]).is_ok());
    }

    #[test]
    fn check_only_options_need_check() {
        assert!(Cli::try_parse_from(["phash", "--status"]).is_err());
        assert!(Cli::try_parse_from(["phash", "-c", "--tag"]).is_err());
    }
}
