//! `punzip`: parse the command line into plain options, hand them to the library's
//! session, turn what happened into messages and one exit status. Read top to bottom:
//! [`main`] parses, [`run`] does the work and says how it [`End`]ed, [`exit_status`] is
//! the only place a number is chosen.

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use common::{count, say, BenchArgs, BenchEnd, CommonArgs, Stdout};
use punzip::error::{Error, ExitStatus, Shown};
use punzip::totals::{human_bytes, mb_per_s};
use punzip::unzip::{self, session, Event, Overwrite, Report, Session};

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
#[derive(Parser, Debug)]
#[command(
    name = "punzip",
    version,
    mut_arg("quiet", |a| a.help(
        "Quieter, as unzip: -q silences warnings and the closing line of -t, and drops \
         the Archive: line and comment from -l; -qq also drops -l's header and totals \
         (the member lines alone). Errors are always reported"
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
    /// printed as the central directory is read; what the checks find is said after.
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

    /// With -l, or with ARCHIVE alone: the verbose listing (method, compressed size,
    /// ratio, CRC-32), as unzip -v. With DEST, -d, -t or -p: print a line per member as it
    /// is extracted or tested.
    #[arg(short = 'v', long)]
    verbose: bool,

    /// Write JSON Lines on stdout instead of text (with -l, -t or extraction): one
    /// {"type":"member"} object per member (path, size, compressed_size, method, crc32,
    /// mtime; status and error when tested or extracted), then one {"type":"totals"}.
    /// Messages stay on stderr.
    #[arg(long, conflicts_with = "bench")]
    json: bool,

    /// Password for encrypted members (ZipCrypto or AES). Without it, on a terminal, it is
    /// asked for as unzip asks, without echo (the command line is visible to `ps`).
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

    /// Show the progress bar on stderr even when it is not a terminal, or with -q
    /// (by default: shown on a terminal for large archives, hidden by -q).
    #[arg(long, conflicts_with = "no_progress")]
    progress: bool,

    /// Never show the progress bar.
    #[arg(long)]
    no_progress: bool,

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

/// How a run of punzip ended: everything [`exit_status`] needs, and nothing else.
enum End<'s> {
    /// `--help` or `--version`.
    Help,
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
            punzip::cancel::install();
            run(&cli)
        }
        Err(e) => exit_status(&usage_error(e)),
    };
    ExitCode::from(status.code() as u8)
}

/// The command line, with unzip's reading of `-x` (see [`excludes_after_x`]).
fn parse() -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let matches = Cli::command().try_get_matches()?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    excludes_after_x(&matches, &mut cli);
    cli.archive = with_zip_suffix(std::mem::take(&mut cli.archive));
    // unzip -v ARCHIVE lists (verbosely): a listing habit must not write files. With -d,
    // -t or -p it prints a line per member instead.
    let elsewhere = cli.test || cli.pipe || cli.bench.bench || cli.common.shard.is_some();
    if cli.verbose && cli.dest_opt.is_none() && cli.operands.is_empty() && !elsewhere {
        cli.list = true;
    }
    Ok(cli)
}

/// As unzip: an ARCHIVE that does not exist is looked for with `.zip` (then `.ZIP`)
/// appended, so `punzip foo` extracts `foo.zip`.
fn with_zip_suffix(archive: PathBuf) -> PathBuf {
    if archive.as_os_str() == "-" || archive.symlink_metadata().is_ok() {
        return archive;
    }
    for suffix in [".zip", ".ZIP"] {
        let mut named = archive.clone().into_os_string();
        named.push(suffix);
        let named = PathBuf::from(named);
        if named.is_file() {
            return named;
        }
    }
    archive
}

/// unzip's `ARCHIVE [MEMBER...] -x XFILE... [-d DEST]`: every operand after `-x`, up to
/// the next option, is one more exclusion. clap gives `-x` one value, which turned
/// `punzip A.zip -x a b` into "exclude a, extract into b", and `-x a b -d OUT` into
/// "extract only b". Operands are moved by their place on the command line.
fn excludes_after_x(matches: &clap::ArgMatches, cli: &mut Cli) {
    use clap::parser::ValueSource;
    let (Some(xs), Some(ops)) = (
        matches.indices_of("exclude"),
        matches.indices_of("operands"),
    ) else {
        return;
    };
    let xs: Vec<usize> = xs.collect();
    // Where every other option, flag and ARCHIVE stand: each ends a run of -x operands.
    let mut others: Vec<usize> = Vec::new();
    for id in matches.ids() {
        let id = id.as_str();
        if id == "exclude" || id == "operands" {
            continue;
        }
        if matches.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        if let Some(at) = matches.indices_of(id) {
            others.extend(at);
        }
    }
    let excluded: Vec<bool> = ops
        .map(|at| {
            let last_x = xs.iter().filter(|&&x| x < at).max();
            let last_other = others.iter().filter(|&&o| o < at).max();
            match (last_x, last_other) {
                (Some(x), Some(o)) => x > o,
                (Some(_), None) => true,
                _ => false,
            }
        })
        .collect();
    let operands = std::mem::take(&mut cli.operands);
    for (op, x) in operands.into_iter().zip(excluded) {
        if x {
            cli.exclude.push(op.to_string_lossy().into_owned());
        } else {
            cli.operands.push(op);
        }
    }
}

/// What the operands after ARCHIVE mean.
#[derive(Debug, PartialEq)]
struct Operands {
    dest: PathBuf,
    /// Member patterns given as operands (unzip's `ARCHIVE MEMBER... -d DEST`).
    members: Vec<String>,
}

/// A path operand, empty ones included: clap's own parser refuses `-d ""` with a
/// generic "a value is required", where [`operands`] can say what an empty DEST means.
fn any_path() -> impl clap::builder::TypedValueParser<Value = PathBuf> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new().map(PathBuf::from)
}

/// An empty DEST (`-d "$OUT"` with OUT unset) is refused rather than read as the
/// current directory, as unzip reads it: the files would land where nobody meant.
fn nonempty_dest(dest: PathBuf) -> Result<PathBuf, String> {
    if dest.as_os_str().is_empty() {
        return Err(
            "DEST is empty (an unset variable?): name a directory, or '.' for the \
                    current one"
                .into(),
        );
    }
    Ok(dest)
}

/// Whether `punzip DEST ARCHIVE` was typed for `punzip ARCHIVE DEST`: the first operand
/// cannot be an archive (a directory, or nothing) and the second is a zip file.
fn swapped(archive: &Path, dest: &Path) -> Option<&'static str> {
    if spool_is_stdin(archive) || !looks_like_zip(dest) {
        return None;
    }
    match std::fs::metadata(archive) {
        Ok(md) if md.is_dir() => Some("is a directory"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("does not exist"),
        _ => None,
    }
}

fn spool_is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// A regular file named like a zip archive, or starting as one does (a local header, or
/// the end record of an empty archive).
fn looks_like_zip(path: &Path) -> bool {
    use std::io::Read;
    if !path.is_file() {
        return false;
    }
    let named = path.extension().is_some_and(|e| {
        ["zip", "jar", "whl", "apk"]
            .iter()
            .any(|z| e.eq_ignore_ascii_case(z))
    });
    let mut magic = [0u8; 4];
    let starts = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && (magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06");
    named || starts
}

/// Sorts the operands into DEST and member patterns, refusing (with what to type
/// instead) the ones that would silently extract somewhere unexpected: a DEST that looks
/// like a pattern, a DEST that is an existing file, a second operand without -d.
fn operands(cli: &Cli) -> Result<Operands, String> {
    // With -p, -l and -t nothing is written to disk: every operand is a pattern, never
    // DEST (`punzip -l A.zip '*.java'`, as with unzip).
    let writes = !(cli.pipe || cli.list || cli.test);
    let dest = match (&cli.dest_opt, writes) {
        (dest, true) => dest.clone(),
        (Some(dest), false) => Some(dest.clone()),
        (None, false) => Some(PathBuf::from(".")),
    };
    if let Some(dest) = dest {
        return Ok(Operands {
            dest: nonempty_dest(dest)?,
            members: cli
                .operands
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect(),
        });
    }
    let archive = Shown::path(&cli.archive);
    match cli.operands.as_slice() {
        [] => Ok(Operands {
            dest: PathBuf::from("."),
            members: Vec::new(),
        }),
        [dest] => {
            let shown = Shown::path(dest);
            let text = dest.to_string_lossy();
            if text.contains(['*', '?', '[']) {
                return Err(format!(
                    "'{shown}' looks like a member pattern, not a destination directory\n  \
                     hint: to extract only matching members, use -i: punzip {archive} -i '{shown}'\n  \
                     hint: or name DEST with -d, as with unzip: punzip {archive} '{shown}' -d DEST"
                ));
            }
            if let Some(why) = swapped(&cli.archive, dest) {
                return Err(format!(
                    "the operands look swapped: '{archive}' {why}, and '{shown}' is a zip \
                     archive\n  \
                     hint: the archive comes first, as with unzip: punzip '{shown}' '{archive}'"
                ));
            }
            if dest.exists() && !dest.is_dir() {
                return Err(format!(
                    "'{shown}' exists and is not a directory, so it cannot be DEST\n  \
                     hint: to extract only that member, use -i: punzip {archive} -i '{shown}'\n  \
                     hint: or name DEST with -d: punzip {archive} '{shown}' -d DEST"
                ));
            }
            Ok(Operands {
                dest: nonempty_dest(dest.clone())?,
                members: Vec::new(),
            })
        }
        [first, rest @ ..] => {
            let rest: Vec<String> = rest
                .iter()
                .map(|p| format!("'{}'", Shown::path(p)))
                .collect();
            Err(format!(
                "too many operands: punzip takes one ARCHIVE and at most one DEST, got '{}' then {}\n  \
                 hint: punzip extracts one archive at a time: punzip A.zip; punzip B.zip\n  \
                 hint: to extract only some members, name DEST with -d: punzip {archive} MEMBER... -d DEST",
                Shown::path(first),
                rest.join(" ")
            ))
        }
    }
}

/// Turns a clap error into an [`End`], printing it; an unknown option gets a hint a
/// person can use instead of clap's "use '-- -p'".
fn usage_error(e: clap::Error) -> End<'static> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return End::Help;
        }
        ErrorKind::UnknownArgument => {}
        ErrorKind::ValueValidation if jobs_given_a_name(&e) => {
            let text = e.render().to_string();
            let (error, rest) = text.split_once('\n').unwrap_or((&text, ""));
            say(format_args!(
                "{error}\n  hint: punzip's -j is --jobs; unzip's -j (junk paths) is --junk-paths here\n{}",
                rest.trim_end()
            ));
            return End::Usage;
        }
        _ => {
            let _ = e.print();
            return End::Usage;
        }
    }
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => {
            let _ = e.print();
            return End::Usage;
        }
    };
    let suggested = match e.get(ContextKind::SuggestedArg) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    let hint = unknown_option_hint(&arg, suggested.as_deref());
    let mut cmd = Cli::command();
    say(format_args!(
        "punzip: unknown option '{}'\n  hint: {hint}\n\n{}\nFor more information, try 'punzip --help'.",
        Shown::new(&arg),
        cmd.render_usage()
    ));
    End::Usage
}

/// Whether `e` is `-j` given something that is not a number (`punzip -j a.zip`, unzip's
/// junk-paths habit).
fn jobs_given_a_name(e: &clap::Error) -> bool {
    use clap::error::{ContextKind, ContextValue};
    let arg = matches!(e.get(ContextKind::InvalidArg),
        Some(ContextValue::String(a)) if a.starts_with("--jobs"));
    let value = matches!(e.get(ContextKind::InvalidValue),
        Some(ContextValue::String(v)) if v.trim().parse::<u64>().is_err());
    arg && value
}

/// What to say about an unknown option `arg`.
fn unknown_option_hint(arg: &str, suggested: Option<&str>) -> String {
    if let Some(s) = suggested {
        return format!("did you mean '{s}'?");
    }
    let cmd = Cli::command();
    let mut chars = arg.chars();
    if let (Some('-'), Some(c), None) = (chars.next(), chars.next(), chars.next()) {
        if let Some(what) = unzip_only(c) {
            return format!("{what}; see 'punzip --help'");
        }
        let other = if c.is_ascii_lowercase() {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        };
        if let Some(a) = cmd.get_arguments().find(|a| a.get_short() == Some(other)) {
            let what = a
                .get_help()
                .map(|h| h.to_string())
                .unwrap_or_default()
                .trim_end_matches('.')
                .to_string();
            return format!("options are case-sensitive: did you mean '-{other}' ({what})?");
        }
    }
    if Path::new(arg).exists() {
        return format!(
            "'{}' is also a file; to name a file that starts with '-', put '--' before it: punzip -- {}",
            Shown::new(arg),
            Shown::new(arg)
        );
    }
    "see 'punzip --help' for the options (unzip's -l -t -p -o -n -d -x -q -v -P work the same)"
        .into()
}

/// unzip's options that punzip does not have, with what they do: each got "did you mean"
/// the option of the other case, which does something else (-L is not -l).
fn unzip_only(c: char) -> Option<&'static str> {
    Some(match c {
        'L' => "unzip's -L (lower-case names from upper-case-only systems) is not supported: names are kept as stored",
        'X' => "unzip's -X (restore owners' UID and GID) is not supported: files are owned by whoever runs punzip",
        'O' | 'I' => "unzip's -O/-I CHARSET (the names' character set) is not supported: names flagged UTF-8 are read as UTF-8, others as CP437",
        'T' => "unzip's -T (set the archive's time to its newest member's) is not supported",
        'u' => "unzip's -u (update) is not supported: -n keeps every existing file, -o replaces them",
        'f' => "unzip's -f (freshen) is not supported: -o replaces existing files",
        'a' => "unzip's -a (text conversion) is not supported: members are extracted byte for byte",
        'b' => "unzip's -b (no text conversion) is what punzip always does: leave it out",
        'K' => "unzip's -K (keep setuid, setgid and sticky bits) is not supported: they are always dropped",
        'C' => "unzip's -C (case-insensitive patterns) is not supported: patterns match case exactly",
        'c' => "unzip's -c (members to the screen, with their names) is not supported: -p writes their bytes alone",
        'z' => "unzip's -z (show the archive comment) is not supported: punzip -l shows it above the listing",
        'Z' => "unzip's -Z (zipinfo) is not supported: punzip -lv lists method, sizes and CRC-32, --json every field",
        'D' => "unzip's -D (do not restore times) is not supported: times are always restored",
        'U' | 'W' | 'M' | 'F' | 'E' | 'N' | 'S' => {
            "that unzip option is not supported"
        }
        _ => return None,
    })
}

/// `punzip A.zip docs/readme.txt`, unzip's way of extracting one member, would make a
/// directory `docs/readme.txt` and extract everything into it. A DEST operand (not -d)
/// that does not exist yet and is the name of a file member was meant as that member.
fn dest_is_a_member(cli: &Cli, ops: &Operands, plan: &unzip::Plan) -> Option<String> {
    if cli.dest_opt.is_some() || cli.operands.len() != 1 || ops.dest.symlink_metadata().is_ok() {
        return None;
    }
    let text = ops.dest.to_str()?;
    let member = plan
        .members
        .iter()
        .find(|m| m.kind == unzip::meta::Kind::File && m.name == text)?;
    let archive = Shown::path(&cli.archive);
    let shown = Shown::new(&member.name);
    Some(format!(
        "'{shown}' is a member of {archive}, and no directory of that name exists: \
         punzip's second operand is DEST\n  \
         hint: to extract only that member, use -i: punzip {archive} -i '{shown}'\n  \
         hint: or name DEST with -d, as with unzip: punzip {archive} '{shown}' -d DEST"
    ))
}

/// The password: -P's (or PUNZIP_PASSWORD's); else, when a member to decode is encrypted
/// and there is a terminal, asked for there as unzip asks ("[a.zip] secret.txt
/// password: "), echo off. An empty answer is no password.
fn ask_password(
    cli: &Cli,
    plan: &unzip::Plan,
    progress: &Progress,
) -> Result<Option<Vec<u8>>, Error> {
    if let Some(p) = &cli.password {
        return Ok(Some(p.clone().into_bytes()));
    }
    let Some(first) = plan.members.iter().find(|m| m.encrypted) else {
        return Ok(None);
    };
    let prompt = format!(
        "[{}] {} password: ",
        Shown::path(&cli.archive),
        Shown::new(&first.name)
    );
    match progress.suspend(|| common::tty::ask_secret(&prompt)) {
        Ok(Some(p)) if !p.is_empty() => Ok(Some(p)),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(Error::Interrupted),
        // A terminal that cannot be read: as if there were none.
        Err(_) => Ok(None),
    }
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
    let archive = match session::open(&cli.archive) {
        Ok(a) => a,
        Err(e) => return failed(e, &progress),
    };
    if cli.list {
        return list(cli, &archive, &filter, umask, &ops.dest, &progress);
    }
    progress.planning(&cli.archive);
    let session = match Session::new(&archive, &filter, umask, cli.common.jobs()) {
        Ok(s) => s,
        Err(e) => return failed(e, &progress),
    };
    if let Some(msg) = dest_is_a_member(cli, &ops, session.plan()) {
        progress.clear();
        say(format_args!("punzip: {msg}"));
        return exit_status(&End::Usage);
    }
    let password = match ask_password(cli, session.plan(), &progress) {
        Ok(p) => p,
        Err(e) => return failed(e, &progress),
    };
    let mut msgs = Messages::new(cli.common.quiet(), &progress);
    msgs.planning(session.plan(), &ops.dest);
    let mut out = Stdout::new();
    let started = std::time::Instant::now();

    if cli.pipe {
        progress.clear();
        let opts = unzip::pipe::PipeOptions {
            jobs: cli.common.jobs(),
            password: password.clone(),
        };
        let (report, output) =
            session.pipe(&opts, &mut std::io::stdout().lock(), &mut |e| msgs.error(e));
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
                    let w = json_member(&mut out, m, r.as_ref().err(), "ok");
                    stdout_failed |= msgs.stdout(w);
                }
                match r {
                    Ok(_) if cli.verbose && !cli.json => {
                        let r = progress
                            .suspend(|| out.line(format_args!("{}", verb_line(cli.test, m))));
                        stdout_failed |= msgs.stdout(r);
                    }
                    Ok(_) => {}
                    Err(e) => msgs.error(e),
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
                    let w = json_member(&mut out, m, None, "skipped");
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
    }
    msgs.finish(&report, &opts.dest);
    if cli.common.stats {
        stats(&report, opts.jobs);
    }
    // Info-ZIP's closing line of a clean test run.
    if cli.json {
        let t = report.totals();
        let mut o = punzip::json::totals("punzip");
        o.insert("files".into(), t.files.into());
        o.insert("dirs".into(), t.dirs.into());
        o.insert("links".into(), t.links.into());
        o.insert("skipped".into(), t.skipped.into());
        o.insert("bytes".into(), t.bytes_out.into());
        o.insert("compressed_bytes".into(), t.bytes_in.into());
        o.insert("errors".into(), report.errors().count().into());
        o.insert("elapsed_s".into(), started.elapsed().as_secs_f64().into());
        let r = punzip::json::write_line(&mut out, &o);
        stdout_failed |= msgs.stdout(r);
    }
    // unzip says this even when it warned about the archive as a whole (bytes in front).
    let data_clean = report
        .errors()
        .all(|e| matches!(e, Error::ArchiveWarning { .. }));
    if cli.test && data_clean && !stdout_failed && !cli.common.quiet() && !cli.json {
        let r = out.line(format_args!(
            "No errors detected in compressed data of {}.",
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
        Err(e) => return failed(e, progress),
    };
    let mut msgs = Messages::new(cli.common.quiet(), progress);
    let written = std::mem::replace(&mut listing.output, Ok(()));
    // The listing reaches the terminal before what is said about it on stderr.
    let mut stdout_failed = msgs.stdout(written.and_then(|()| out.flush()));
    // With --json, refusals are counted in the totals' "errors" (the members themselves
    // were listed, one object each, before anything was known of them).
    msgs.planning(listing.plan(), dest);
    let listed = listing.listed;
    let report = listing.report();
    if let Some(e) = &report.fatal {
        msgs.error(e);
    }
    if cli.json {
        let mut o = punzip::json::totals("punzip");
        o.insert("members".into(), listed.members.into());
        o.insert("bytes".into(), listed.size.into());
        o.insert("compressed_bytes".into(), listed.compressed.into());
        o.insert("errors".into(), report.errors().count().into());
        o.insert("elapsed_s".into(), started.elapsed().as_secs_f64().into());
        stdout_failed |= msgs.stdout(punzip::json::write_line(&mut out, &o));
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

/// `--json`: a member as a run left it (`error` set when it failed, else `status`).
fn json_member(
    out: &mut Stdout,
    m: &unzip::Member,
    error: Option<&Error>,
    status: &str,
) -> std::io::Result<()> {
    #[allow(deprecated)]
    let method = m.method.to_u16();
    let mut o = unzip::list::member_object(&m.name, m.size, m.compressed, method, m.crc, m.mtime);
    match error {
        Some(e) => {
            o.insert("status".into(), "error".into());
            o.insert("error".into(), e.to_string().into());
        }
        None => {
            o.insert("status".into(), status.into());
        }
    }
    punzip::json::write_line(out, &o)
}

/// `--json`: a member refused while planning, as an object with its name and the error.
fn json_refusal(out: &mut Stdout, e: &Error) -> std::io::Result<()> {
    let name = match e {
        Error::Refused { member, .. }
        | Error::Duplicate { member, .. }
        | Error::Corrupt { member, .. }
        | Error::Unsupported { member, .. } => member,
        _ => return Ok(()),
    };
    let mut o = punzip::json::object("member");
    punzip::json::insert_path(&mut o, "path", name.as_bytes());
    o.insert("status".into(), "error".into());
    o.insert("error".into(), e.to_string().into());
    punzip::json::write_line(out, &o)
}

/// A failure not tied to one finished member (an existing file in the way, a directory
/// whose metadata could not be set) as a `{"type":"error"}` line, so that the totals'
/// error count has a line for each.
fn json_problem(out: &mut Stdout, e: &Error) -> std::io::Result<()> {
    let mut o = punzip::json::object("error");
    match e {
        Error::Exists { path } | Error::Io { path, .. } | Error::Dest { path, .. } => {
            punzip::json::insert_path(&mut o, "path", path.as_os_str().as_encoded_bytes());
        }
        _ => {}
    }
    o.insert("error".into(), e.to_string().into());
    punzip::json::write_line(out, &o)
}

/// Prints `e` and ends with its status.
fn failed(e: Error, progress: &Progress) -> ExitStatus {
    progress.clear();
    say(format_args!("punzip: {e}"));
    exit_status(&End::Failed(e))
}

/// The `--stats` line: the same units as the progress bar, and failures split as the exit
/// status sees them (a refused symlink is a warning, not an error).
fn stats(report: &Report<'_>, jobs: std::num::NonZeroUsize) {
    let t = report.totals();
    let (mut errors, mut warnings) = (0usize, 0usize);
    for e in report.errors() {
        match e.status() {
            ExitStatus::Ok => {}
            ExitStatus::Warning => warnings += 1,
            _ => errors += 1,
        }
    }
    say(format_args!(
        "punzip: {}, {}, {}, {} out ({} in), {}, {}, {} skipped, {:.3} s, {:.1} MB/s, {}",
        count(t.files, "file", "files"),
        count(t.dirs, "dir", "dirs"),
        count(t.links, "link", "links"),
        human_bytes(t.bytes_out),
        human_bytes(t.bytes_in),
        count(errors as u64, "error", "errors"),
        count(warnings as u64, "warning", "warnings"),
        t.skipped,
        report.elapsed().as_secs_f64(),
        mb_per_s(t.bytes_out, report.elapsed()),
        count(jobs.get() as u64, "job", "jobs"),
    ));
}

fn verb_line(test: bool, m: &unzip::Member) -> String {
    use punzip::unzip::meta::Kind;
    let path = m.rel_path();
    let path = Shown::path(&path);
    match (test, m.kind) {
        (true, _) => format!("    testing: {:<40} OK", Shown::new(&m.name).to_string()),
        (false, Kind::Dir) => format!("   creating: {path}/"),
        (false, Kind::Symlink) => format!("    linking: {path}"),
        // unzip's words: a stored member is extracted, a compressed one inflated.
        (false, _) if m.method == zip::CompressionMethod::Stored => {
            format!(" extracting: {path}")
        }
        (false, _) => format!("  inflating: {path}"),
    }
}

/// Whether to show the progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProgressMode {
    /// On a terminal, for archives big enough to take a while; not with -q.
    Auto,
    /// Always (`--progress`), even when stderr is not a terminal.
    On,
    /// Never (`--no-progress`, or -q).
    Off,
}

fn progress_mode(cli: &Cli) -> ProgressMode {
    if cli.progress {
        ProgressMode::On
    } else if cli.no_progress || cli.common.quiet() || cli.pipe {
        ProgressMode::Off
    } else {
        ProgressMode::Auto
    }
}

/// The progress line on stderr: a spinner while planning, then a bar in the same units
/// as `--stats` (MiB and MB/s), never past 100 %, cleared before the last messages.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    mode: ProgressMode,
    /// Frames go to a file or a pipe (`--progress`), each ended by `\r`: the last one
    /// gets a newline when the bar is put away, once.
    plain: std::sync::atomic::AtomicBool,
}

impl Progress {
    fn new(mode: ProgressMode) -> Progress {
        use std::io::IsTerminal;
        let tty = std::io::stderr().is_terminal();
        if mode == ProgressMode::Off || (mode == ProgressMode::Auto && !tty) {
            return Progress {
                bar: None,
                mode,
                plain: false.into(),
            };
        }
        let target =
            indicatif::ProgressDrawTarget::term_like_with_hz(Box::new(StderrTerm::new(tty)), 10);
        let bar = indicatif::ProgressBar::with_draw_target(None, target);
        Progress {
            bar: Some(bar),
            mode,
            plain: (!tty).into(),
        }
    }

    /// A spinner while the central directory is read and checked.
    fn planning(&self, archive: &Path) {
        let Some(bar) = &self.bar else { return };
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .expect("valid template"),
        );
        bar.set_message(format!("planning {}...", Shown::path(archive)));
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
    }

    /// The bar proper, once the plan is known. In auto mode, small archives (done in
    /// a blink) get none.
    fn start(&self, bytes: u64, members: usize) {
        let Some(bar) = &self.bar else { return };
        if self.mode == ProgressMode::Auto && bytes < 64 << 20 && members < 2000 {
            bar.finish_and_clear();
            return;
        }
        bar.disable_steady_tick();
        bar.set_length(bytes);
        bar.set_position(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {percent_capped:>4} {done}/{total} {rate} eta {eta}",
            )
            .expect("valid template")
            .with_key(
                "percent_capped",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let pct = match s.len() {
                        Some(len) if len > 0 => (s.pos().min(len) * 100 / len) as u32,
                        _ => 100,
                    };
                    let _ = write!(w, "{pct}%");
                },
            )
            .with_key(
                "done",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", human_bytes(s.pos()));
                },
            )
            .with_key(
                "total",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", human_bytes(s.len().unwrap_or(0)));
                },
            )
            .with_key(
                "rate",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    if s.pos() == 0 {
                        let _ = write!(w, "starting...");
                    } else {
                        let _ = write!(w, "{:.1} MB/s", mb_per_s(s.pos(), s.elapsed()));
                    }
                },
            ),
        );
        bar.reset_elapsed();
        bar.tick();
    }

    /// What moves the bar: each file member's bytes as they are decoded, told from the
    /// workers (see [`unzip::OnBytes`]), so that one long member moves it too. None when
    /// there is no bar, or it was put away (a small archive).
    fn on_bytes(&self) -> Option<unzip::OnBytes> {
        let bar = self.bar.clone()?;
        Some(unzip::OnBytes(std::sync::Arc::new(move |n| {
            if !bar.is_finished() {
                bar.inc(n);
            }
        })))
    }

    /// Counts the bytes of a member kept as it was (`-n`): none of them will be decoded.
    fn kept(&self, m: &unzip::Member) {
        let Some(bar) = &self.bar else { return };
        if m.kind != unzip::meta::Kind::File {
            return;
        }
        let len = bar.length().unwrap_or(0);
        bar.set_position(bar.position().saturating_add(m.size).min(len));
    }

    /// Runs `f` with the bar out of the way (for a line on stdout or stderr).
    fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) if !bar.is_finished() => bar.suspend(f),
            _ => f(),
        }
    }

    /// Removes the bar (at the end, on an error, after Ctrl-C).
    fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            if self.plain.swap(false, std::sync::atomic::Ordering::Relaxed) {
                say(format_args!(""));
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Where the bar is drawn: stderr, with cursor moves and line clearing on a terminal,
/// plain `\r` lines otherwise (`--progress` on a pipe). Output is buffered and written
/// once per frame.
///
/// The width it reports is three columns short of the terminal's: indicatif pads the bar
/// line to the full width, and the `^C` the terminal echoes on Ctrl-C would then wrap it
/// onto a second line, which the final clearing misses, leaving a stale bar on screen.
#[derive(Debug)]
struct StderrTerm {
    ansi: bool,
    buf: std::sync::Mutex<Vec<u8>>,
}

impl StderrTerm {
    fn new(ansi: bool) -> StderrTerm {
        StderrTerm {
            ansi,
            buf: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn put(&self, bytes: &[u8]) -> std::io::Result<()> {
        // A lock only because TermLike takes &self; indicatif draws from one thread at a
        // time, so it is never contended.
        self.buf
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(())
    }

    fn cursor(&self, n: usize, dir: char) -> std::io::Result<()> {
        if self.ansi && n > 0 {
            self.put(format!("\x1b[{n}{dir}").as_bytes())
        } else {
            Ok(())
        }
    }
}

impl indicatif::TermLike for StderrTerm {
    fn width(&self) -> u16 {
        // SAFETY: TIOCGWINSZ fills the winsize we pass; on failure we keep the default.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        let cols = if unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0
            && ws.ws_col > 0
        {
            ws.ws_col
        } else {
            80
        };
        cols.saturating_sub(3).max(20)
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'A')
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'B')
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'C')
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.cursor(n, 'D')
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.put(s.as_bytes())?;
        self.put(b"\n")
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.put(s.as_bytes())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.put(if self.ansi { b"\r\x1b[2K" } else { b"\r" })
    }
    fn flush(&self) -> std::io::Result<()> {
        use std::io::Write;
        let bytes = std::mem::take(&mut *self.buf.lock().unwrap_or_else(|e| e.into_inner()));
        let mut err = std::io::stderr().lock();
        // A closed stderr just means no bar.
        let _ = err.write_all(&bytes).and_then(|_| err.flush());
        Ok(())
    }
}

/// Whether the file system holding `path` (or its nearest existing ancestor) ignores
/// case, found without writing anything: the same directory reached under the other
/// case of its name. None when no name on the way has letters to swap.
fn case_insensitive(path: &Path) -> Option<bool> {
    use std::os::unix::fs::MetadataExt;
    let mut dir = std::fs::canonicalize(path)
        .or_else(|_| std::env::current_dir().map(|cwd| cwd.join(path)))
        .ok()?;
    while !dir.exists() {
        dir = dir.parent()?.to_owned();
    }
    let dir = std::fs::canonicalize(dir).ok()?;
    for here in dir.ancestors() {
        let name = here.file_name()?.to_str()?;
        let swapped: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect();
        if swapped == name {
            continue;
        }
        let a = here.metadata().ok()?;
        let b = here.with_file_name(&swapped).metadata();
        return Some(b.is_ok_and(|b| (b.dev(), b.ino()) == (a.dev(), a.ino())));
    }
    None
}

/// How many lines of one kind (existing files, names differing in case, members not
/// created) are shown before the rest is summarised.
const SHOW: usize = 10;

/// Messages on stderr, with the floods summarised: the first [`SHOW`] of a kind, then
/// "... and N more", then one line with the way out.
struct Messages<'p> {
    quiet: bool,
    progress: &'p Progress,
    exists: usize,
    stdout_error: bool,
}

impl<'p> Messages<'p> {
    fn new(quiet: bool, progress: &'p Progress) -> Messages<'p> {
        Messages {
            quiet,
            progress,
            exists: 0,
            stdout_error: false,
        }
    }

    fn say(&self, args: std::fmt::Arguments<'_>) {
        self.progress.suspend(|| say(args));
    }

    /// What planning found: refusals (always), then the warnings (not with -q), each
    /// kind summarised.
    fn planning(&mut self, plan: &unzip::Plan, dest: &Path) {
        for e in &plan.refused {
            self.say(format_args!("punzip: {e}"));
        }
        if self.quiet {
            return;
        }
        for w in plan.warnings.iter().take(SHOW) {
            self.say(format_args!("punzip: warning: {}", Shown::new(w)));
        }
        if plan.warnings.len() > SHOW {
            self.say(format_args!(
                "punzip: warning: ... and {} more warnings",
                plan.warnings.len() - SHOW
            ));
        }
        let cases = &plan.case_warnings;
        if case_insensitive(dest) == Some(true) {
            // Here they do collide: each one matters.
            for w in cases.iter().take(SHOW) {
                self.say(format_args!(
                    "punzip: warning: {}; DEST's file system ignores case",
                    Shown::new(w)
                ));
            }
            if cases.len() > SHOW {
                self.say(format_args!(
                    "punzip: warning: ... and {} more names that differ only in case",
                    cases.len() - SHOW
                ));
            }
        } else if let Some(first) = cases.first() {
            let more = match cases.len() {
                1 => String::new(),
                n => format!(" (and {} more such names)", n - 1),
            };
            self.say(format_args!(
                "punzip: warning: {}{more}; such names collide on a case-insensitive file system",
                Shown::new(first)
            ));
        }
    }

    /// A failure during the run.
    fn error(&mut self, e: &Error) {
        if let Error::Exists { .. } = e {
            self.exists += 1;
            if self.exists > SHOW {
                return;
            }
        }
        self.say(format_args!("punzip: {e}"));
    }

    /// Notes the result of a write to stdout; true when it failed for a reason other than
    /// a closed pipe (said once).
    fn stdout(&mut self, r: std::io::Result<()>) -> bool {
        match r {
            Ok(()) => false,
            Err(e) => {
                if !self.stdout_error {
                    self.stdout_error = true;
                    self.say(format_args!("punzip: cannot write to standard output: {e}"));
                }
                true
            }
        }
    }

    /// The summaries of the floods.
    fn finish(&mut self, report: &Report<'_>, dest: &Path) {
        if self.exists > SHOW {
            self.say(format_args!(
                "punzip: ... and {} more files already exist",
                self.exists - SHOW
            ));
        }
        if self.exists > 0 {
            let t = report.totals();
            let nothing = t.files + t.dirs + t.links == 0;
            self.say(format_args!(
                "punzip: {} file(s) already exist in {}{}; use -o to overwrite them, or -n to keep them and extract the rest",
                self.exists,
                Shown::path(dest),
                if nothing { ", nothing was extracted" } else { "" }
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(c.password.as_deref(), Some("pw"));
    }

    #[test]
    fn a_case_sensitive_file_system_is_recognised_without_writing() {
        let tmp = tempfile::Builder::new()
            .prefix("CaseProbe")
            .tempdir()
            .unwrap();
        assert_eq!(case_insensitive(tmp.path()), Some(false));
        assert_eq!(case_insensitive(&tmp.path().join("not/yet")), Some(false));
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
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
