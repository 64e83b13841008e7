//! `punzip`: parse the command line into plain options, hand them to the library's
//! session, turn what happened into messages and one exit status. Read top to bottom:
//! [`main`] parses, [`run`] does the work and says how it [`End`]ed, [`exit_status`] is
//! the only place a number is chosen.

mod args;
#[path = "../common/mod.rs"]
mod common;
mod json;
mod messages;
mod progress;

/// A refused allocation is exit status 4, as unzip's, not an abort ([`punzip::oom`]).
#[global_allocator]
static ALLOCATOR: punzip::oom::ExitOnOom = punzip::oom::ExitOnOom {
    tool: "punzip",
    status: punzip::error::ExitStatus::NoResources.code(),
};

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser};
use common::{count, say, BenchArgs, BenchEnd, CommonArgs, Stdout};
use punzip::error::{Error, ExitStatus, Shown};
use punzip::totals::{human_bytes, Totals};
use punzip::unzip::{self, session, Event, Overwrite, Report, Session};

use args::{any_path, dest_is_a_member, operands, parse, usage_error};
use json::{json_list_totals, json_member, json_problem, json_refusal, json_totals};
use messages::{errors_and_warnings, stats, verb_line, Messages};
use progress::{progress_mode, Progress};

/// Extract a zip archive in parallel, safely: nothing is written outside DEST, nothing is
/// left half-written under its final name, and existing files are kept unless -o is given.
///
/// `punzip ARCHIVE [DEST]` extracts into DEST (default: the current directory).
/// `punzip ARCHIVE [MEMBER...] -d DEST`, as unzip, extracts only the members matching the
/// patterns. `punzip -p ARCHIVE [MEMBER...]`, as unzip, writes the members' bytes to
/// standard output instead.
///
/// ARCHIVE may be `-`, standard input (`curl ... | punzip - DEST`). Unless it is a regular
/// file (a redirected file is read in place), it is first copied to an unnamed temporary file in
/// $TMPDIR, removed whatever happens: a zip's central directory is at its end, and
/// extracting from the local headers as they stream in could not keep the checks made
/// before anything is written (colliding names, overlapping entries, declared sizes,
/// headers that disagree).
///
/// Exit status, Info-ZIP's: 0 success, 1 warnings (some members refused or skipped, the
/// rest extracted; or files that exist already, and then nothing is extracted), 2 a
/// member's data is bad, or a member or standard output could not be written, 3 the
/// archive's structure is bad, 4 out of descriptors or memory, 9 not a zip archive, 10
/// usage error, 11 a member pattern matched nothing, 12 overlapping entries (a zip bomb),
/// 50 the disk is full, or the archive declares more than --max-size or the free space,
/// 80 interrupted, 81 an unsupported method, 82 a wrong or missing password. README.md's
/// table says more.
#[derive(Parser, Debug)]
#[command(
    name = "punzip",
    version,
    mut_arg("quiet", |a| a.help(
        "Quieter, as unzip: -q silences notes and the warnings about modes and times a \
         file system refused, and drops the Archive: line and comment from -l; -qq also \
         drops -l's header and totals (the member lines alone) and -t's closing line. \
         Errors, members refused or skipped (they change the exit status), and warnings \
         about the archive itself (bytes before it, no members, a comment cut short) are \
         always reported"
    ))
)]
struct Cli {
    /// The zip archive (- for standard input).
    archive: PathBuf,

    /// DEST (without -d), or member patterns (with -d or -p).
    #[arg(value_name = "DEST | MEMBER", value_parser = any_path())]
    operands: Vec<PathBuf>,

    /// Where to extract (as unzip's -d); the operands after ARCHIVE are then member
    /// patterns.
    #[arg(short = 'd', value_name = "DEST", value_parser = any_path())]
    dest_opt: Option<PathBuf>,

    #[command(flatten)]
    common: CommonArgs,

    #[command(flatten)]
    bench: BenchArgs,

    /// List members (like unzip -l; -lv for unzip -v's columns) and exit. Members are
    /// printed as the central directory is read; what the checks find is said after, and
    /// sets the exit status as extraction's would (1 for a member it would refuse, 2 for
    /// duplicate names...), where unzip -l exits 0 for the same findings.
    #[arg(short = 'l', long, conflicts_with_all = ["test", "bench", "shard"])]
    list: bool,

    /// Write the members' bytes to standard output, in archive order, nothing else (as
    /// unzip -p); decoded in parallel, each checked. The operands after ARCHIVE are member
    /// patterns.
    #[arg(short = 'p', long = "pipe", conflicts_with_all = ["list", "test", "bench", "dest_opt", "json"])]
    pipe: bool,

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
        conflicts_with = "bench",
        value_parser = args::pattern()
    )]
    include: Vec<String>,

    /// Skip members matching GLOB. As in unzip, every operand after -x up to the next
    /// option is one more GLOB (`-x '*.class' 'test/*' -d OUT`); -x may also be repeated.
    #[arg(
        short = 'x',
        long = "exclude",
        value_name = "GLOB",
        conflicts_with = "bench",
        value_parser = args::pattern()
    )]
    exclude: Vec<String>,

    /// How many of `exclude` were operands after -x (unzip's reading), at its end.
    #[arg(skip)]
    excluded_operands: usize,

    /// Drop directory names: every file lands directly in DEST.
    #[arg(long, conflicts_with = "bench")]
    junk_paths: bool,

    /// With -l, or with ARCHIVE alone: the verbose listing (method, compressed size,
    /// ratio, CRC-32), as unzip -v. With DEST, -d or -t: print a line per member as it is
    /// extracted or tested (with -p, none: stdout holds the data).
    #[arg(short = 'v', long)]
    verbose: bool,

    /// Write JSON Lines on stdout instead of text (with -l, -t or extraction): one
    /// {"type":"member"} object per member (path, size, compressed_size, method, crc32,
    /// mtime; status and error when tested or extracted), then one {"type":"totals"}.
    /// Messages stay on stderr.
    #[arg(long, conflicts_with = "bench")]
    json: bool,

    /// Password for encrypted members (ZipCrypto or AES). Without it, on a terminal, it is
    /// asked for as unzip asks, without echo (the command line is visible to `ps`), and
    /// again for each member it does not fit (members encrypted with other passwords).
    /// The environment variable PUNZIP_PASSWORD, if set, is used when -P is not given.
    // Bytes, whatever they are: a ZipCrypto password is bytes (a Latin-1 `caf\xe9` made
    // clap refuse the whole command line, and every command while the variable was set).
    #[arg(
        short = 'P',
        long,
        env = "PUNZIP_PASSWORD",
        hide_env_values = true,
        value_parser = clap::builder::OsStringValueParser::new()
    )]
    password: Option<std::ffi::OsString>,

    /// Refuse archives whose declared output exceeds SIZE (suffixes K, M, G, T or KiB...:
    /// powers of 1024; KB, MB, GB, TB: powers of 1000).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_size: Option<u64>,

    /// Do not check the declared output against the free space in DEST.
    #[arg(long)]
    no_space_check: bool,

    /// Also create symlinks whose target points outside DEST (refused by default).
    #[arg(long)]
    allow_unsafe_symlinks: bool,

    /// Show the progress bar on stderr even when it is not a terminal, or with -q
    /// (by default: shown on a terminal for large archives, hidden by -q); the last of
    /// --progress and --no-progress given wins.
    #[arg(long, overrides_with = "no_progress")]
    progress: bool,

    /// Never show the progress bar.
    #[arg(long, overrides_with = "progress")]
    no_progress: bool,

    /// Flush every file to disk before it takes its name, and the directories at the end.
    #[arg(long)]
    fsync: bool,
}

/// `--max-size`'s value: a whole number, then nothing (bytes), `K`, `M`, `G`, `T` or
/// `KiB`... (powers of 1024), or `KB`, `MB`... (powers of 1000), as GNU's tools read
/// those suffixes.
/// `10MB` said "unknown size suffix 'B'" and `1.5M` "invalid digit".
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, suffix) = s.split_at(digits);
    let bad = || {
        format!(
            "bad size {s:?}: a whole number of bytes, or with K, M, G or T (powers of 1024, \
             also KiB...) or KB, MB, GB or TB (powers of 1000)"
        )
    };
    let power = match suffix.chars().next().map(|c| c.to_ascii_uppercase()) {
        None => 0,
        Some('K') => 1,
        Some('M') => 2,
        Some('G') => 3,
        Some('T') => 4,
        Some(_) => return Err(bad()),
    };
    let base: u64 = match suffix.get(1..).unwrap_or("") {
        "" | "iB" => 1024,
        "B" => 1000,
        _ => return Err(bad()),
    };
    if num.is_empty() {
        return Err(bad());
    }
    let too_large = || format!("size {s:?} too large");
    let n: u64 = num.parse().map_err(|_| too_large())?;
    n.checked_mul(base.pow(power)).ok_or_else(too_large)
}

/// How a run of punzip ended: everything [`exit_status`] needs, and nothing else.
enum End<'s> {
    /// `--help` or `--version`.
    Help,
    /// `--help` or `--version` that standard output could not take (the message is printed).
    HelpFailed,
    /// The command line was refused (the message is printed).
    Usage,
    /// Nothing could be done (the message is printed).
    Failed(Error),
    /// Listed, tested or extracted; a write error on standard output other than a closed
    /// pipe is `stdout_failed`.
    Ran {
        report: Report<'s>,
        stdout_failed: bool,
    },
    Bench(BenchEnd),
}

/// The one place an outcome becomes an exit status (see README for the table).
fn exit_status(end: &End<'_>) -> ExitStatus {
    match end {
        End::Help => ExitStatus::Ok,
        End::HelpFailed => ExitStatus::Error,
        End::Usage => ExitStatus::Usage,
        End::Failed(e) => e.status(),
        End::Ran {
            report,
            stdout_failed,
        } => {
            let out = if *stdout_failed {
                ExitStatus::Error
            } else {
                ExitStatus::Ok
            };
            report.status().max(out)
        }
        End::Bench(BenchEnd::Done) => ExitStatus::Ok,
        End::Bench(BenchEnd::Failed) => ExitStatus::Severe,
        End::Bench(BenchEnd::Interrupted) => ExitStatus::Interrupted,
    }
}

fn main() -> ExitCode {
    // SAFETY: first thing in main, before any thread starts. (The locale's character
    // set, for the progress line's glyphs.)
    unsafe { punzip::locale::use_locale() };
    if let Some(r) = common::generate(Cli::command()) {
        return ExitCode::from(if r.is_ok() { 0 } else { 1 });
    }
    let status = match parse() {
        Ok(cli) => {
            // Before the first thread (the signal handler's) starts: room for every
            // worker's directory handles, where the hard limit allows (see `fdtable`).
            punzip::fdtable::reserve(punzip::unzip::descriptors(cli.common.jobs()));
            punzip::cancel::set_exit_status(ExitStatus::Interrupted.code());
            punzip::cancel::set_message("punzip: interrupted");
            if cli.json {
                let (list, started) = (cli.list, std::time::Instant::now());
                punzip::cancel::set_last_words(move || json::last_words(list, started));
            }
            punzip::cancel::install();
            let status = run(&cli);
            // A signal that came after the run's last look (while it unmapped the
            // archive, say) still makes it an interrupted run: it exited 0, 11 runs in
            // 500 aimed at the end.
            if status != ExitStatus::Interrupted && punzip::cancel::cut_short() {
                say(format_args!("punzip: interrupted"));
                ExitStatus::Interrupted
            } else {
                status
            }
        }
        Err(e) => exit_status(&usage_error(e)),
    };
    ExitCode::from(status.code() as u8)
}

/// How many times a password that fails the first encrypted member's check is asked for.
const PASSWORD_TRIES: usize = 3;

/// The password: -P's (or PUNZIP_PASSWORD's) unless empty; else, when a member to decode is encrypted
/// and there is a terminal, asked for there as unzip asks ("[a.zip] secret.txt
/// password: "), echo off, and asked again while it fails that member's check
/// ("password incorrect--reenter: ", [`PASSWORD_TRIES`] times in all, as unzip asks: a
/// typo cost the whole command). An empty answer is no password.
fn ask_password(
    cli: &Cli,
    session: &unzip::Session<'_>,
    progress: &Progress,
) -> Result<Option<Vec<u8>>, Error> {
    let plan = session.plan();
    // An empty one is none, as an empty answer is (`PUNZIP_PASSWORD="${PW:-}"` was
    // "incorrect password", exit 82).
    if let Some(p) = cli.password.as_ref().filter(|p| !p.is_empty()) {
        return Ok(Some(p.clone().into_encoded_bytes()));
    }
    let Some(first) = plan.members.iter().find(|m| m.encrypted) else {
        return Ok(None);
    };
    ask_for(cli, session, progress, first)
}

/// Asks at the terminal for the password of `m`, [`PASSWORD_TRIES`] times while it fails
/// the member's check (see [`ask_password`]). `None`: an empty answer, or no terminal.
fn ask_for(
    cli: &Cli,
    session: &unzip::Session<'_>,
    progress: &Progress,
    m: &unzip::Member,
) -> Result<Option<Vec<u8>>, Error> {
    let mut prompt = format!(
        "[{}] {} password: ",
        Shown::path(&cli.archive),
        Shown::new(&m.name)
    );
    for tries_left in (0..PASSWORD_TRIES).rev() {
        let password = match progress.suspend(|| common::tty::ask_secret(&prompt)) {
            Ok(Some(p)) if !p.is_empty() => p,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {
                return Err(Error::Interrupted)
            }
            // A terminal that cannot be read: as if there were none.
            Err(_) => return Ok(None),
        };
        if tries_left == 0 || session.password_fits(m, &password) {
            // The last try goes to extraction, which says what is wrong with it.
            return Ok(Some(password));
        }
        prompt = "password incorrect--reenter: ".into();
    }
    unreachable!("the last try returns")
}

/// The passwords of the encrypted members that the one asked for does not fit, asked for
/// at the terminal member by member, as unzip asks (an archive whose members were
/// encrypted with different passwords failed every member but the first one's, exit 82).
/// Each answer is tried on the members after it before they are asked for. Only when
/// the first password was asked for there (never with -P, as unzip with -P asks nothing).
fn ask_member_passwords(
    cli: &Cli,
    session: &unzip::Session<'_>,
    progress: &Progress,
    first: Option<&[u8]>,
) -> Result<std::collections::HashMap<usize, Vec<u8>>, Error> {
    let mut own = std::collections::HashMap::new();
    let (Some(first), None) = (first, cli.password.as_ref().filter(|p| !p.is_empty())) else {
        return Ok(own);
    };
    let mut known: Vec<Vec<u8>> = vec![first.to_vec()];
    let mut encrypted = session.plan().members.iter().filter(|m| m.encrypted);
    encrypted.next();
    for m in encrypted {
        if session.password_fits(m, first) {
            continue;
        }
        if let Some(p) = known[1..].iter().find(|p| session.password_fits(m, p)) {
            own.insert(m.index, p.clone());
            continue;
        }
        // An empty answer leaves the member to fail with the first password, as unzip
        // skips it ("incorrect password").
        if let Some(p) = ask_for(cli, session, progress, m)? {
            own.insert(m.index, p.clone());
            known.push(p);
        }
    }
    Ok(own)
}

fn run(cli: &Cli) -> ExitStatus {
    let ops = match operands(cli) {
        Ok(o) => o,
        Err(msg) => {
            say(format_args!("punzip: {msg}"));
            return exit_status(&End::Usage);
        }
    };
    let umask = unzip::fsops::umask();
    if cli.bench.bench {
        // Each run extracts into a fresh temporary directory under DEST (or the system
        // temp dir), removed after it is timed.
        let parent = if cli.operands.is_empty() && cli.dest_opt.is_none() {
            std::env::temp_dir()
        } else {
            ops.dest.clone()
        };
        // A member named where DEST goes is refused here too (`punzip --bench A.zip
        // a.txt` timed extractions into a directory `a.txt`); only then is a plan made.
        if cli.dest_opt.is_none() && cli.operands.len() == 1 && !parent.exists() {
            let refusal = session::open(&cli.archive).ok().and_then(|archive| {
                let plan = Session::new(&archive, &Default::default(), umask, cli.common.jobs());
                plan.ok()
                    .and_then(|s| dest_is_a_member(cli, &ops, s.plan()))
            });
            if let Some(msg) = refusal {
                say(format_args!("punzip: {msg}"));
                return exit_status(&End::Usage);
            }
        }
        let title = format!("punzip --bench {}", Shown::path(&cli.archive));
        let made = !parent.exists();
        let job = punzip::bench::unzip_job(&cli.archive, &parent, umask);
        let end = cli.bench.bench("punzip", title, cli.common.quiet(), job);
        if made {
            // Every run's directory is gone; so goes the DEST the bench made for them.
            let _ = std::fs::remove_dir(&parent);
        }
        return exit_status(&End::Bench(end));
    }

    let progress = Progress::new(progress_mode(cli));
    let filter = unzip::Filter {
        include: cli.include.iter().chain(&ops.members).cloned().collect(),
        exclude: cli.exclude.clone(),
        junk_paths: cli.junk_paths,
        shard: cli.common.shard,
    };
    let json_mode = cli
        .json
        .then_some(if cli.list { Mode::List } else { Mode::Run });
    let archive = match session::open(&cli.archive) {
        Ok(a) => a,
        Err(e) => return failed(e, &progress, json_mode),
    };
    if cli.list {
        return list(cli, &archive, &filter, umask, &ops.dest, &progress);
    }
    progress.planning(&cli.archive);
    let session = match Session::new(&archive, &filter, umask, cli.common.jobs()) {
        Ok(s) => s,
        Err(e) => return failed(e, &progress, json_mode),
    };
    if let Some(msg) = dest_is_a_member(cli, &ops, session.plan()) {
        progress.clear();
        say(format_args!("punzip: {msg}"));
        return exit_status(&End::Usage);
    }
    let password = match ask_password(cli, &session, &progress) {
        Ok(p) => p,
        Err(e) => return failed(e, &progress, json_mode),
    };
    // (-p writes members in one stream, with one password.)
    let member_passwords = match cli.pipe {
        true => Default::default(),
        false => match ask_member_passwords(cli, &session, &progress, password.as_deref()) {
            Ok(p) => p,
            Err(e) => return failed(e, &progress, json_mode),
        },
    };
    let mut msgs = Messages::new(cli.common.quiet(), &progress);
    msgs.planning(session.plan(), &ops.dest, !cli.test && !cli.pipe);
    if let Some(hint) = dest_after_x(cli, session.plan()) {
        msgs.say(format_args!("punzip: hint: {hint}"));
    }
    let mut out = Stdout::new();
    let started = std::time::Instant::now();

    if cli.pipe {
        progress.clear();
        let opts = unzip::pipe::PipeOptions {
            jobs: cli.common.jobs(),
            password: password.clone(),
            max_size: cli.max_size,
        };
        let (report, output) =
            session.pipe(&opts, &mut common::stdout::raw(), &mut |e| msgs.error(e));
        if let Some(e) = &report.fatal {
            msgs.error(e);
        }
        // A closed pipe (`| head -c 10`) is a quiet success, as elsewhere.
        let stdout_failed = match output {
            Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => msgs.stdout(Err(e)),
            _ => false,
        };
        if cli.common.stats {
            stats(&report, opts.jobs);
        }
        return exit_status(&End::Ran {
            report,
            stdout_failed,
        });
    }

    let opts = unzip::Options {
        dest: ops.dest.clone(),
        jobs: cli.common.jobs(),
        overwrite: if cli.overwrite {
            Overwrite::Replace
        } else if cli.never_overwrite {
            Overwrite::Skip
        } else {
            Overwrite::Refuse
        },
        password: password.clone(),
        member_passwords,
        test_only: cli.test,
        max_size: cli.max_size,
        check_free_space: !cli.no_space_check,
        allow_unsafe_links: cli.allow_unsafe_symlinks,
        umask,
        fsync: cli.fsync,
        on_bytes: progress.on_bytes(),
    };

    let plan = session.plan();
    progress.start(plan.declared_size(), plan.members.len());
    let mut stdout_failed = false;
    if cli.json {
        // Members refused while planning first, as their messages come first on stderr.
        for e in &plan.refused {
            stdout_failed |= msgs.stdout(json_refusal(&mut out, e));
        }
    }
    let report = {
        let mut on_event = |ev: Event<'_>| match ev {
            Event::Done(m, r) => {
                if cli.json {
                    let file = (!cli.test).then(|| opts.dest.join(m.rel_path()));
                    let w = json_member(&mut out, m, r.as_ref().err(), "ok", file.as_deref());
                    stdout_failed |= msgs.stdout(w);
                }
                match r {
                    Ok(_) if cli.verbose && !cli.json => {
                        let r = progress.suspend(|| {
                            out.line(format_args!("{}", verb_line(cli.test, m, &opts.dest)))
                        });
                        stdout_failed |= msgs.stdout(r);
                    }
                    Ok(_) => {}
                    Err(e) => msgs.member_error(e),
                }
            }
            Event::Problem(e) => {
                msgs.error(e);
                if cli.json {
                    stdout_failed |= msgs.stdout(json_problem(&mut out, e));
                }
            }
            Event::Kept(m) => {
                progress.kept(m);
                if cli.json {
                    let file = opts.dest.join(m.rel_path());
                    let w = json_member(&mut out, m, None, "skipped", Some(&file));
                    stdout_failed |= msgs.stdout(w);
                } else if cli.verbose {
                    let path = m.rel_path();
                    let r = progress.suspend(|| {
                        out.line(format_args!("  skipping: {} (exists)", Shown::path(&path)))
                    });
                    stdout_failed |= msgs.stdout(r);
                }
            }
        };
        session.run(&opts, &mut on_event)
    };
    progress.clear();
    if let Some(e) = &report.fatal {
        msgs.error(e);
        if cli.json {
            stdout_failed |= msgs.stdout(json_problem(&mut out, e));
        }
    }
    msgs.finish(&report, &opts.dest, opts.test_only);
    if cli.common.stats {
        stats(&report, opts.jobs);
    }
    // Info-ZIP's closing line of a clean test run.
    if cli.json {
        let r = json_totals(
            &mut out,
            report.totals(),
            errors_and_warnings(&report),
            started.elapsed(),
        );
        stdout_failed |= msgs.stdout(r);
    }
    // unzip says this even when it warned about the archive as a whole (bytes in front),
    // but not of an empty archive.
    let data_clean = report.errors().all(
        |e| matches!(e, Error::ArchiveWarning { what, .. } if what != punzip::error::EMPTY_ARCHIVE),
    );
    // Kept with -q and dropped with -qq, as by `unzip -tq` and `unzip -tqq`.
    if cli.test && data_clean && !stdout_failed && cli.common.quiet < 2 && !cli.json {
        // With member patterns (operands, -i, -x), unzip counts the members it tested.
        let r = if ops.members.is_empty() && cli.include.is_empty() && cli.exclude.is_empty() {
            out.line(format_args!(
                "No errors detected in compressed data of {}.",
                Shown::path(&cli.archive)
            ))
        } else {
            let n = report.plan().members.len();
            out.line(format_args!(
                "No errors detected in {} for the {n} file{} tested.",
                Shown::path(&cli.archive),
                if n == 1 { "" } else { "s" }
            ))
        };
        stdout_failed = msgs.stdout(r);
    }
    // And of one that found something: "warning-error" when it was only warnings. Not
    // of an empty archive, nor of an interrupted run, as unzip.
    let cut_short = report.errors().any(|e| {
        matches!(e, Error::Interrupted)
            || matches!(e, Error::ArchiveWarning { what, .. } if what == punzip::error::EMPTY_ARCHIVE)
    });
    if cli.test && !data_clean && !cut_short && !stdout_failed && cli.common.quiet < 2 && !cli.json
    {
        let (errors, _) = errors_and_warnings(&report);
        let r = out.line(format_args!(
            "At least one {}error was detected in {}.",
            if errors == 0 { "warning-" } else { "" },
            Shown::path(&cli.archive)
        ));
        stdout_failed = msgs.stdout(r);
    }
    stdout_failed |= msgs.stdout(out.flush());
    exit_status(&End::Ran {
        report,
        stdout_failed,
    })
}

/// `-l`: the listing streams out as the central directory is read; what the checks after
/// it find (refusals, a damaged directory, no member matching) is said at the end, and
/// sets the exit status as it would for a run.
fn list(
    cli: &Cli,
    archive: &unzip::Archive,
    filter: &unzip::Filter,
    umask: u32,
    dest: &Path,
    progress: &Progress,
) -> ExitStatus {
    use punzip::unzip::list::{Format, Json, Text};
    progress.clear();
    let started = std::time::Instant::now();
    let mut out = Stdout::new();
    let result = if cli.json {
        session::list(
            archive,
            filter,
            umask,
            cli.common.jobs(),
            &mut Json::new(&mut out),
        )
    } else {
        let format = Format {
            verbose: cli.verbose,
            quiet: cli.common.quiet,
        };
        session::list(
            archive,
            filter,
            umask,
            cli.common.jobs(),
            &mut Text::new(&mut out, format),
        )
    };
    let mut listing = match result {
        Ok(l) => l,
        Err(e) => {
            // The member lines already listed come before the error and the totals.
            let _ = out.flush();
            return failed(e, progress, cli.json.then_some(Mode::List));
        }
    };
    let mut msgs = Messages::new(cli.common.quiet(), progress);
    let written = std::mem::replace(&mut listing.output, Ok(()));
    // The listing reaches the terminal before what is said about it on stderr.
    let mut stdout_failed = msgs.stdout(written.and_then(|()| out.flush()));
    // With --json, refusals are counted in the totals' "errors" and "warnings" (the
    // members themselves were listed, one object each, before anything was known of
    // them), split as the exit status and a run's totals split them.
    msgs.planning(listing.plan(), dest, false);
    let listed = listing.listed;
    let report = listing.report();
    if let Some(e) = &report.fatal {
        msgs.error(e);
    }
    if cli.json {
        // The listing's member lines came before anything was known of them: every
        // failure the checks found is a line of its own, then the totals count them.
        for e in report.errors() {
            stdout_failed |= msgs.stdout(json_problem(&mut out, e));
        }
        let r = json_list_totals(
            &mut out,
            listed,
            errors_and_warnings(&report),
            started.elapsed(),
        );
        stdout_failed |= msgs.stdout(r);
    }
    stdout_failed |= msgs.stdout(out.flush());
    if cli.common.stats {
        let elapsed = started.elapsed();
        say(format_args!(
            "punzip: {} listed, {} ({} compressed), {}, {:.3} s",
            count(listed.members, "member", "members"),
            human_bytes(listed.size),
            human_bytes(listed.compressed),
            count(report.errors().count() as u64, "error", "errors"),
            elapsed.as_secs_f64(),
        ));
    }
    exit_status(&End::Ran {
        report,
        stdout_failed,
    })
}

/// `punzip A.zip -x GLOB OUT`: as in unzip, every operand after -x is a pattern, so OUT
/// excluded nothing and the members went to the current directory, which the warning
/// "excluded filename not matched: OUT" alone did not explain.
fn dest_after_x(cli: &Cli, plan: &unzip::Plan) -> Option<String> {
    // Only an operand that became a pattern, and that reads as a name, not a glob: `-x
    // '*.log'` matching nothing is only that.
    let last = cli.exclude.last().filter(|_| cli.excluded_operands > 0)?;
    if last.contains(['*', '?', '[']) {
        return None;
    }
    let unmatched = format!("excluded filename not matched: {last}");
    let into_cwd = cli.dest_opt.is_none() && cli.operands.is_empty() && !cli.common.quiet();
    let extracting = !cli.test && !cli.pipe && !cli.list;
    (into_cwd && extracting && plan.notes.contains(&unmatched)).then(|| {
        format!(
            "every operand after -x is a pattern, as in unzip, so {} was one and the \
             members went to the current directory; to extract into it, give -d {} (or put \
             it before -x)",
            Shown::new(last),
            Shown::new(last)
        )
    })
}

/// Prints `e` and ends with its status. With `--json`, stdout says it too, and ends with
/// the totals line as every run's does (`-l`'s totals for a listing): a script reading the
/// last line for the totals found nothing when the archive could not be opened.
fn failed(e: Error, progress: &Progress, json: Option<Mode>) -> ExitStatus {
    progress.clear();
    say(format_args!("punzip: {e}"));
    if let Error::OpenArchive { path, source } = &e {
        // unzip expands `'*.zip'` itself, and extracts every archive it matches.
        let wildcard = path
            .as_os_str()
            .as_encoded_bytes()
            .iter()
            .any(|b| b"*?[".contains(b));
        if source.kind() == std::io::ErrorKind::NotFound && wildcard {
            say(format_args!(
                "  hint: punzip takes one archive and expands no wildcards (unzip does); \
                 for several: for z in *.zip; do punzip \"$z\" \"${{z%.zip}}\"; done"
            ));
        }
    }
    if let Some(mode) = json {
        let mut out = Stdout::new();
        let counts = match e.status() {
            ExitStatus::Warning => (0, 1),
            _ => (1, 0),
        };
        let written = json_problem(&mut out, &e)
            .and_then(|()| match mode {
                Mode::List => {
                    json_list_totals(&mut out, Default::default(), counts, Duration::ZERO)
                }
                Mode::Run => json_totals(&mut out, &Totals::default(), counts, Duration::ZERO),
            })
            .and_then(|()| out.flush());
        if let Err(w) = written {
            say(format_args!(
                "punzip: cannot write to standard output: {}",
                punzip::hash::reason(&w)
            ));
        }
    }
    exit_status(&End::Failed(e))
}

/// Which totals a `--json` run that could not start ends with.
#[derive(Clone, Copy)]
enum Mode {
    /// `-l`.
    List,
    /// Extraction or `-t`.
    Run,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{unknown_option_hint, Operands};

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
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("10MiB"), Ok(10 << 20));
        assert_eq!(parse_size("3kB"), Ok(3000));
        assert!(parse_size("99999999999999999999")
            .unwrap_err()
            .contains("too large"));
        for bad in ["1.5M", "", "M", "10MBs", "-1", "10 M", "10Kb", "10Kib"] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.contains("powers of 1024"), "{bad:?}: {e}");
        }
    }

    fn ops(args: &[&str]) -> Result<Operands, String> {
        operands(&Cli::try_parse_from(args).unwrap())
    }

    #[test]
    fn with_d_every_operand_after_the_archive_is_a_member_pattern() {
        assert_eq!(
            ops(&["punzip", "a.zip", "dir/*", "top.txt", "-d", "out"]),
            Ok(Operands {
                dest: "out".into(),
                members: vec!["dir/*".into(), "top.txt".into()]
            })
        );
        assert_eq!(
            ops(&["punzip", "-l", "a.zip", "dir/*", "-d", "."])
                .unwrap()
                .members,
            ["dir/*"]
        );
        assert_eq!(
            ops(&["punzip", "a.zip", "out"]).unwrap().dest,
            Path::new("out")
        );
        assert!(ops(&["punzip", "a.zip", "d/*"]).unwrap_err().contains("-i"));
        assert!(ops(&["punzip", "a.zip", "x", "y"])
            .unwrap_err()
            .contains("-d"));
    }

    #[test]
    fn with_p_every_operand_after_the_archive_is_a_member_pattern_never_dest() {
        let o = ops(&["punzip", "-p", "a.zip", "dir/*", "top.txt"]).unwrap();
        assert_eq!(o.members, ["dir/*", "top.txt"]);
        let o = ops(&["punzip", "-p", "a.zip", "out"]).unwrap();
        assert_eq!(o.members, ["out"]);
        assert!(Cli::try_parse_from(["punzip", "-p", "a.zip", "-d", "out"]).is_err());
        assert!(Cli::try_parse_from(["punzip", "-p", "-l", "a.zip"]).is_err());
        // -P stays the password.
        let c = Cli::try_parse_from(["punzip", "-p", "-P", "pw", "a.zip"]).unwrap();
        assert_eq!(c.password.as_deref(), Some(std::ffi::OsStr::new("pw")));
    }

    #[test]
    fn a_swapped_case_option_is_suggested() {
        assert!(
            unknown_option_hint("-Q", None).contains("'-q'"),
            "{}",
            unknown_option_hint("-Q", None)
        );
        // Unless unzip has that option, meaning something else.
        assert!(unknown_option_hint("-L", None).contains("not supported"));
        assert!(unknown_option_hint("-D", None).contains("times"));
    }
}
