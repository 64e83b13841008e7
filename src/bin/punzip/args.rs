//! Reading punzip's command line as an unzip user means it: `-x` takes every operand
//! after it, the operand after ARCHIVE is DEST or member patterns depending on `-d`/`-p`,
//! and the mistakes people make by habit (swapped operands, an empty or pattern-like DEST,
//! a member named as DEST, unzip's options punzip lacks) are refused with what to type.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use punzip::error::Shown;
use punzip::unzip;

use crate::common::say;
use crate::{Cli, End};

/// The command line, with unzip's reading of `-x` (see [`excludes_after_x`]).
pub(crate) fn parse() -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let matches = Cli::command().try_get_matches()?;
    crate::common::bench_options_need_bench(&matches, &mut Cli::command())?;
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
            cli.exclude.push(pattern_text(op));
            cli.excluded_operands += 1;
        } else {
            cli.operands.push(op);
        }
    }
}

/// What the operands after ARCHIVE mean.
#[derive(Debug, PartialEq)]
pub(crate) struct Operands {
    pub(crate) dest: PathBuf,
    /// Member patterns given as operands (unzip's `ARCHIVE MEMBER... -d DEST`).
    pub(crate) members: Vec<String>,
}

/// A member pattern as given, whatever its bytes: spelt as member names are planned
/// (`punzip::unzip::names::from_disk`), so that a name that is not UTF-8 can be asked for
/// by its bytes (`punzip -p a.zip "$(printf 'caf\xe9')"` said "filename not matched", and
/// `-x` such a name was a usage error).
pub(crate) fn pattern_text(op: impl Into<std::ffi::OsString>) -> String {
    punzip::unzip::names::from_disk(op.into().into_encoded_bytes())
}

/// `-i`'s and `-x`'s parser: [`pattern_text`].
pub(crate) fn pattern() -> impl clap::builder::TypedValueParser<Value = String> {
    use clap::builder::TypedValueParser;
    clap::builder::OsStringValueParser::new().map(pattern_text)
}

/// A path operand, empty ones included: clap's own parser refuses `-d ""` with a
/// generic "a value is required", where [`operands`] can say what an empty DEST means.
pub(crate) fn any_path() -> impl clap::builder::TypedValueParser<Value = PathBuf> {
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
pub(crate) fn operands(cli: &Cli) -> Result<Operands, String> {
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
            members: cli.operands.iter().map(pattern_text).collect(),
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
                     hint: if it names a member, extract only that one with -i: punzip {archive} -i '{shown}'\n  \
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
pub(crate) fn usage_error(e: clap::Error) -> End<'static> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            return match crate::common::print_help(&e) {
                Ok(()) => End::Help,
                Err(e) => {
                    say(format_args!(
                        "punzip: cannot write to standard output: {}",
                        punzip::hash::reason(&e)
                    ));
                    End::HelpFailed
                }
            };
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
pub(crate) fn unknown_option_hint(arg: &str, suggested: Option<&str>) -> String {
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
pub(crate) fn unzip_only(c: char) -> Option<&'static str> {
    Some(match c {
        'L' => "unzip's -L (lower-case names from upper-case-only systems) is not supported: names are kept as stored",
        'X' => "unzip's -X (restore owners' UID and GID) is not supported: files are owned by whoever runs punzip",
        'O' | 'I' => "unzip's -O/-I CHARSET (the names' character set) is not supported: names flagged UTF-8 (or valid UTF-8) are read as UTF-8, others as CP437 where unzip reads them so (MS-DOS, OS/2, PKZIP 5.0 on Windows) and as their bytes otherwise",
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
pub(crate) fn dest_is_a_member(cli: &Cli, ops: &Operands, plan: &unzip::Plan) -> Option<String> {
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
