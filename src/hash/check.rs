//! Check mode (`-c`): read md5sum lists, verify every listed file in parallel, and report
//! exactly as GNU md5sum (coreutils 9.1) does: the same `NAME: OK` / `NAME: FAILED` /
//! `NAME: FAILED open or read` lines in list order, the same closing `WARNING:` lines with
//! the same singular and plural wording, and the same exit status. Lists of the other
//! algorithms are read as `sha256sum -c` (with `-a`) or `cksum -c` (without: each line
//! says its algorithm by its tag or its digest's length) reads them.
//!
//! Each list is read line by line on the engine's producer thread ([`ListLines`] is the
//! stream [`crate::pool::stream`] consumes), so memory stays bounded by the engine's window
//! whatever the list's size, and the first result is printed while the list is still being
//! read (a list on a pipe that is still open included). Consecutive lines travel in runs
//! ([`Runs`]) whose files a worker hashes together in its lane engine. The sink prints
//! results in list order. Lists are processed one after another, each with its own closing summary, as
//! md5sum does.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, Read, Write};
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::algorithm::Algorithm;
use super::digest::{FileDigest, Worker};
use super::format::{self, Parsed, Quoted, Reversed};
use super::jsonl::{self, CheckCounts, CheckOutcome, CheckRecord};
use super::turns::{Stream, Ticket, Tickets, Turns};
use super::{HashError, Notice, Summary};
use crate::pool::Delivery;
use crate::totals::Totals;

/// What to check and how to report it. `quiet`, `status` and `warn` follow md5sum: the
/// caller applies "the last of --quiet, --status, --warn wins".
#[derive(Clone, Debug)]
pub struct CheckConfig {
    /// Checksum lists; empty or `-` means standard input.
    pub lists: Vec<OsString>,
    /// Worker threads.
    pub jobs: NonZeroUsize,
    /// Do not print `OK` lines.
    pub quiet: bool,
    /// Print nothing on stdout; the exit status says it all.
    pub status: bool,
    /// Warn about each improperly formatted line.
    pub warn: bool,
    /// Fail when a line is improperly formatted.
    pub strict: bool,
    /// Do not fail or report for listed files that do not exist.
    pub ignore_missing: bool,
    /// `-a`: read every line as this algorithm's; `None` tells each line's algorithm from
    /// its tag or its digest's length, as `cksum -c` does.
    pub algorithm: Option<Algorithm>,
    /// Write a JSON object per line and a totals object (`--json`) instead of text; every
    /// line gets its object, whatever `quiet` and `status` say.
    pub json: bool,
}

/// A check-mode message for stderr, worded as md5sum words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckMessage {
    /// `-w`: one line of a list could not be parsed. Named, as cksum names it, after the
    /// algorithm of `-a` or of the last good line (MD5 before any).
    BadLine {
        list: Vec<u8>,
        line: u64,
        algorithm: Algorithm,
    },
    /// `WARNING: N line(s) is/are improperly formatted`.
    Misformatted(u64),
    /// `WARNING: N listed file(s) could not be read`.
    Unreadable(u64),
    /// `WARNING: N computed checksum(s) did NOT match`.
    Mismatched(u64),
    /// A line tagged with an algorithm phash does not compute (`BLAKE2b`, `SM3`).
    UnsupportedLine {
        list: Vec<u8>,
        line: u64,
        tag: String,
    },
    /// `WARNING: N line(s) use(s) an unsupported algorithm`.
    Unsupported(u64),
    /// The list had no checksum line at all.
    NoLines { list: Vec<u8> },
    /// `--ignore-missing` and every listed file was missing.
    NoneVerified { list: Vec<u8> },
    /// The list itself could not be read.
    ListUnreadable { list: Vec<u8>, reason: String },
    /// Every mismatch was an untagged 64-digit line, read as SHA-256: b3sum writes such
    /// lines too (phash's own `-a blake3` lists were reported all FAILED).
    MaybeBlake3,
    /// Every mismatch was an untagged 128-digit line, read as SHA-512: b2sum writes such
    /// lines too (BLAKE2b-512), which phash does not compute (a b2sum list was all FAILED,
    /// with no word of why).
    MaybeBlake2,
}

impl fmt::Display for CheckMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural =
            |n: u64, one: &'static str, many: &'static str| if n == 1 { one } else { many };
        match self {
            CheckMessage::BadLine {
                list,
                line,
                algorithm,
            } => write!(
                f,
                "{}: {line}: improperly formatted {} checksum line",
                Quoted(list),
                algorithm.tag()
            ),
            CheckMessage::Misformatted(n) => write!(
                f,
                "WARNING: {n} {}",
                plural(
                    *n,
                    "line is improperly formatted",
                    "lines are improperly formatted"
                )
            ),
            CheckMessage::Unreadable(n) => write!(
                f,
                "WARNING: {n} {}",
                plural(
                    *n,
                    "listed file could not be read",
                    "listed files could not be read"
                )
            ),
            CheckMessage::Mismatched(n) => write!(
                f,
                "WARNING: {n} {}",
                plural(
                    *n,
                    "computed checksum did NOT match",
                    "computed checksums did NOT match"
                )
            ),
            CheckMessage::UnsupportedLine { list, line, tag } => write!(
                f,
                "{}: {line}: {tag} checksums cannot be checked: phash does not compute {tag} \
                 (cksum -c does)",
                Quoted(list),
            ),
            CheckMessage::Unsupported(n) => write!(
                f,
                "WARNING: {n} {}",
                plural(
                    *n,
                    "line uses an unsupported algorithm",
                    "lines use an unsupported algorithm"
                )
            ),
            CheckMessage::NoLines { list } => write!(
                f,
                "{}: no properly formatted checksum lines found",
                Quoted(list)
            ),
            CheckMessage::NoneVerified { list } => {
                write!(f, "{}: no file was verified", Quoted(list))
            }
            CheckMessage::ListUnreadable { list, reason } => {
                write!(f, "{}: {reason}", Quoted(list))
            }
            CheckMessage::MaybeBlake3 => f.write_str(
                "hint: lines of 64 hex digits without a tag were read as SHA-256; \
                 if the list was written by b3sum (or phash -a blake3), check it with -a blake3",
            ),
            CheckMessage::MaybeBlake2 => f.write_str(
                "hint: lines of 128 hex digits without a tag were read as SHA-512; \
                 if the list was written by b2sum (BLAKE2b), phash cannot check it: use b2sum -c",
            ),
        }
    }
}

/// One line of a list, as the workers see it.
enum Line {
    /// An improperly formatted line: its number, and the algorithm to name in `-w`'s
    /// message.
    Bad(u64, Algorithm),
    /// A line tagged with an algorithm phash does not compute: its number, tag and name.
    Unsupported(u64, format::Unsupported),
    Entry(Parsed),
    /// The list could not be read further.
    ReadError(io::Error),
}

enum Outcome {
    Nothing,
    Hashed(FileDigest),
    Missing,
    Failed(HashError),
}

/// Counts for one list, as md5sum keeps them.
#[derive(Default)]
struct ListCounts {
    ok: u64,
    missing: u64,
    misformatted: u64,
    /// Lines of an algorithm phash does not compute ([`format::Unsupported`]): failures.
    unsupported: u64,
    unreadable: u64,
    mismatched: u64,
    /// Of `mismatched`, lines read as SHA-256 by their length alone (64 hex digits, no
    /// tag, no `-a`): b3sum's lines look the same.
    mismatched_by_length: u64,
    /// Whether a line read that way matched: then the list is SHA-256, not b3sum's.
    matched_by_length: bool,
    /// Of `mismatched_by_length`, lines of 128 digits read as SHA-512 (b2sum's look the
    /// same); the others are 64-digit lines.
    mismatched_as_sha512: u64,
    proper: bool,
    matched: bool,
}

impl ListCounts {
    /// The run's counts `run` (the lists before) with this list's added.
    fn added_to(&self, run: &CheckCounts) -> CheckCounts {
        CheckCounts {
            ok: run.ok + self.ok,
            failed: run.failed + self.mismatched,
            missing: run.missing + self.missing,
            errors: run.errors + self.unreadable + self.unsupported,
            malformed: run.malformed + self.misformatted,
        }
    }
}

/// Verifies the lists in `cfg`, writing result lines to `out` and messages to `notify`.
/// `Summary::ok()` is md5sum's exit status: true only if every list had properly formatted
/// lines, at least one file verified, nothing failed, and (`--strict`) no bad line.
/// Returns `Err` only when the output cannot be written.
pub fn check(
    cfg: &CheckConfig,
    out: &mut dyn Write,
    notify: &mut dyn FnMut(Notice<'_>),
) -> Result<Summary, HashError> {
    let start = Instant::now();
    let dash = [OsString::from("-")];
    let lists: &[OsString] = if cfg.lists.is_empty() {
        &dash
    } else {
        &cfg.lists
    };
    let mut totals = Totals::default();
    let mut counts = CheckCounts::default();
    if cfg.json {
        jsonl::so_far_begin(true, start);
    }
    let mut all_ok = true;
    // md5sum remembers across lists which untagged form it saw first, cksum which
    // algorithm.
    let mut state = ReadState {
        reversed: Reversed::Unknown,
        fixed: cfg.algorithm,
        last: cfg.algorithm.unwrap_or_default(),
    };
    for list in lists {
        if crate::cancel::interrupted() {
            break;
        }
        let ok = check_list(cfg, list, &mut state, &mut totals, &mut counts, out, notify)?;
        all_ok &= ok;
        if cfg.json {
            jsonl::so_far_check(&totals, &counts);
        }
    }
    let interrupted = crate::cancel::cut_short();
    if cfg.json {
        jsonl::so_far_end();
        jsonl::check_totals(out, &totals, &counts, interrupted, start.elapsed())
            .map_err(HashError::output)?;
    }
    out.flush().map_err(HashError::output)?;
    if !all_ok && totals.errors == 0 {
        // A list that fails without a per-file error (no lines, nothing verified, a bad
        // line under --strict) still fails the run.
        totals.errors = 1;
    }
    Ok(Summary {
        totals,
        wall: start.elapsed(),
        interrupted,
    })
}

/// Opens a list: standard input for `-`; and whether it is a pipe (see
/// [`crate::cancel::stream_cut`]).
fn open_list(list: &OsStr) -> io::Result<(Box<dyn Read + Send>, bool)> {
    if list == "-" {
        let pipe = crate::stdio::is_pipe(io::stdin());
        Ok((Box::new(crate::stdio::stdin()), pipe))
    } else {
        let file = std::fs::File::open(list)?;
        let pipe = crate::stdio::is_pipe(&file);
        Ok((Box::new(file), pipe))
    }
}

/// What reading one line depends on from the lines before it (in this list and the
/// lists before).
struct ReadState {
    /// The untagged form seen first.
    reversed: Reversed,
    /// `-a`, if given.
    fixed: Option<Algorithm>,
    /// The algorithm of the last good line (for `-w`'s message).
    last: Algorithm,
}

/// The lines of one list, parsed as they are read: the stream the engine consumes.
struct ListLines<'a> {
    reader: io::BufReader<Box<dyn Read + Send>>,
    from_stdin: bool,
    state: &'a mut ReadState,
    number: u64,
    buf: Vec<u8>,
    failed: bool,
    /// Whether the list comes through a pipe or FIFO (its end may be a writer's death).
    pipe: bool,
}

impl<'a> ListLines<'a> {
    fn new(
        reader: Box<dyn Read + Send>,
        pipe: bool,
        from_stdin: bool,
        state: &'a mut ReadState,
    ) -> Self {
        ListLines {
            reader: io::BufReader::with_capacity(64 * 1024, reader),
            from_stdin,
            state,
            number: 0,
            buf: Vec::with_capacity(256),
            failed: false,
            pipe,
        }
    }
}

impl Iterator for ListLines<'_> {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        use std::io::BufRead;
        loop {
            if self.failed || crate::cancel::interrupted() {
                return None;
            }
            self.buf.clear();
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                // A last line with no newline, met as an interrupt comes: the writer of a
                // pipe died of it mid-line, and the name read is cut short.
                Ok(_) if !self.buf.ends_with(b"\n") && crate::cancel::stream_cut(self.pipe) => {
                    return None
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.failed = true;
                    return Some(Line::ReadError(e));
                }
            }
            self.number += 1;
            if let Some(line) = parse_one(&self.buf, self.from_stdin, self.state, self.number) {
                return Some(line);
            }
        }
    }
}

/// One raw line (with its newline, if any) of a list: `None` for comments and blank lines.
fn parse_one(raw: &[u8], from_stdin: bool, state: &mut ReadState, number: u64) -> Option<Line> {
    let mut line = raw.strip_suffix(b"\n").unwrap_or(raw);
    if line.first() == Some(&b'#') {
        return None;
    }
    if let Some(l) = line.strip_suffix(b"\r") {
        line = l;
    }
    if line.is_empty() {
        return None;
    }
    Some(
        match format::parse_line(line, &mut state.reversed, state.fixed) {
            Some(p) if !(from_stdin && p.name == b"-") => {
                state.last = p.algorithm;
                Line::Entry(p)
            }
            None if state.fixed.is_none() => match format::unsupported(line) {
                Some(u) => Line::Unsupported(number, u),
                None => Line::Bad(number, format::tagged_algorithm(line).unwrap_or(state.last)),
            },
            // Named as `-a` says (every line is that algorithm, as sha256sum names its
            // own), else as its tag says, else as the lines before it were.
            _ => Line::Bad(
                number,
                state
                    .fixed
                    .or_else(|| format::tagged_algorithm(line))
                    .unwrap_or(state.last),
            ),
        },
    )
}

/// Consecutive lines of a list, checked by one worker at once so that its lane engine
/// hashes their files together ([`Worker::digest_listed`]). A run takes the next line (which
/// may wait for the list), then only lines already buffered: a list on a pipe that is still
/// open gets its results as its lines arrive, not when a run fills.
struct Runs<'a> {
    lines: ListLines<'a>,
    max: usize,
    /// Standard input's stream, and the turns of the lines that read it (`-` in a list
    /// that is not itself on standard input): read one after another, in the list's order
    /// ([`super::turns`]).
    stdin: Option<Stream>,
    tickets: Tickets,
}

/// A run of lines, and the turn of each of its `-` lines, in order.
struct Run {
    lines: Vec<Line>,
    dashes: Vec<Option<Ticket>>,
}

impl Iterator for Runs<'_> {
    type Item = Run;

    fn next(&mut self) -> Option<Run> {
        let run = self.lines_of_run()?;
        let dashes = run
            .iter()
            .filter(|line| matches!(line, Line::Entry(p) if p.name == b"-"))
            .map(|_| self.tickets.issue(self.stdin))
            .collect();
        Some(Run { lines: run, dashes })
    }
}

impl Runs<'_> {
    fn lines_of_run(&mut self) -> Option<Vec<Line>> {
        let mut run = vec![self.lines.next()?];
        // Only MD5 hashes a run's files together; the other algorithms hash them one
        // after another, so their runs stay short and big files spread over the workers.
        let max = |run: &[Line]| {
            if run
                .iter()
                .any(|l| matches!(l, Line::Entry(p) if p.algorithm != Algorithm::Md5))
            {
                OTHER_RUN_LINES.min(self.max)
            } else {
                self.max
            }
        };
        while run.len() < max(&run) && self.lines.reader.buffer().contains(&b'\n') {
            match self.lines.next() {
                Some(line) => run.push(line),
                None => break,
            }
        }
        Some(run)
    }
}

/// Lines per run: four times as many files as the engine keeps in flight (24 on AVX2, 48
/// on AVX-512), so that a lane whose file ends early is refilled within the same call
/// (with one file per lane, most lanes waited for the longest: 15% more CPU time on a
/// copy of /usr/share), and at least 8 so a scalar engine still hands results over in
/// batches.
fn run_lines(engine: super::lanes::Engine) -> usize {
    (4 * engine.width()).max(8)
}

/// Lines per run once a run holds a line of another algorithm than MD5.
const OTHER_RUN_LINES: usize = 4;

/// Checks one run: every listed file but `-` in one batch, `-` (standard input, from a
/// list that is not itself on standard input) alone. One outcome per line, in order.
fn check_run(w: &mut Worker, run: &Run, turns: &Turns, ignore_missing: bool) -> Vec<Outcome> {
    let mut dashes = run.dashes.iter();
    let run = &run.lines;
    let paths: Vec<(&Path, Algorithm)> = run
        .iter()
        .filter_map(|line| match line {
            Line::Entry(p) if p.name != b"-" => {
                Some((Path::new(OsStr::from_bytes(&p.name)), p.algorithm))
            }
            _ => None,
        })
        .collect();
    let mut digested = w.digest_listed(&paths).into_iter();
    run.iter()
        .map(|line| match line {
            Line::Bad(..) | Line::ReadError(_) => Outcome::Nothing,
            // Missing, under --ignore-missing, as any other line's file: not a failure.
            Line::Unsupported(_, u)
                if ignore_missing
                    && std::fs::metadata(OsStr::from_bytes(&u.name))
                        .is_err_and(|e| e.kind() == io::ErrorKind::NotFound) =>
            {
                Outcome::Missing
            }
            Line::Unsupported(..) => Outcome::Nothing,
            Line::Entry(p) => {
                let got = if p.name == b"-" {
                    let turn = *dashes.next().expect("a turn per `-` line");
                    turns
                        .take(turn, || w.digest_stdin(p.algorithm))
                        .unwrap_or_else(|| Err(HashError::Interrupted { path: "-".into() }))
                } else {
                    digested.next().expect("one result per listed file")
                };
                match got {
                    Ok(d) => Outcome::Hashed(d),
                    Err(HashError::Open { source, .. })
                        if ignore_missing && source.kind() == io::ErrorKind::NotFound =>
                    {
                        Outcome::Missing
                    }
                    Err(e) => Outcome::Failed(e),
                }
            }
        })
        .collect()
}

fn hex_matches(want: &[u8], got: &str) -> bool {
    want.eq_ignore_ascii_case(got.as_bytes())
}

fn check_list(
    cfg: &CheckConfig,
    list: &OsStr,
    state: &mut ReadState,
    totals: &mut Totals,
    run_counts: &mut CheckCounts,
    out: &mut dyn Write,
    notify: &mut dyn FnMut(Notice<'_>),
) -> Result<bool, HashError> {
    let from_stdin = list == "-";
    let shown: Vec<u8> = if from_stdin {
        b"standard input".to_vec()
    } else {
        list.as_bytes().to_vec()
    };
    let (reader, pipe) = match open_list(list) {
        Ok(r) => r,
        Err(e) => {
            out.flush().map_err(HashError::output)?;
            let reason = super::reason(&e);
            list_failed(cfg, out, &shown, &reason)?;
            notify(Notice::Check(&CheckMessage::ListUnreadable {
                list: shown,
                reason,
            }));
            totals.errors += 1;
            run_counts.errors += 1;
            return Ok(false);
        }
    };
    let items = Runs {
        lines: ListLines::new(reader, pipe, from_stdin, state),
        max: run_lines(super::lanes::Engine::selected()).min(crate::fdtable::per_worker(cfg.jobs)),
        stdin: super::turns::stdin(),
        tickets: Tickets::default(),
    };
    let turns = Turns::default();
    let mut read_error = None;

    let stop = AtomicBool::new(false);
    let mut counts = ListCounts::default();
    let mut failure: Option<HashError> = None;
    let mut buf = Vec::with_capacity(256);
    // Set at the first line an interrupt stopped: nothing after it is written, so what
    // was written is a prefix of the whole run's output (lines after it could be done).
    let mut cut = false;
    crate::pool::stream(
        cfg.jobs,
        items,
        &stop,
        || Worker::new(false),
        |w, run| check_run(w, run, &turns, cfg.ignore_missing),
        |delivery| {
            if failure.is_some() || cut {
                return;
            }
            let (run, outcomes) = match delivery {
                Delivery::Done(run, outcomes) => {
                    if cfg.json {
                        jsonl::so_far_writing();
                    }
                    (run, outcomes)
                }
                Delivery::Idle => {
                    if let Err(e) = out.flush() {
                        failure = Some(HashError::output(e));
                        stop.store(true, Ordering::Relaxed);
                    } else if cfg.json {
                        // Flushed: what the watchdog's totals would count (see
                        // `jsonl::last_words`).
                        jsonl::so_far_check(totals, &counts.added_to(run_counts));
                    }
                    return;
                }
            };
            for (line, outcome) in run.lines.iter().zip(outcomes) {
                if failure.is_some() || cut {
                    return;
                }
                buf.clear();
                match (line, outcome) {
                    (Line::ReadError(e), _) => {
                        read_error = Some(super::reason(e));
                    }
                    (Line::Bad(n, algorithm), _) => {
                        counts.misformatted += 1;
                        if cfg.json {
                            jsonl::malformed_into(&mut buf, &shown, *n);
                        }
                        if cfg.warn {
                            if !flushed(out, &mut failure) {
                                return;
                            }
                            notify(Notice::Check(&CheckMessage::BadLine {
                                list: shown.clone(),
                                line: *n,
                                algorithm: *algorithm,
                            }));
                        }
                    }
                    (Line::Unsupported(n, u), Outcome::Missing) => {
                        counts.proper = true;
                        counts.missing += 1;
                        if cfg.json {
                            jsonl::unsupported_into(&mut buf, &shown, *n, u, "missing");
                        }
                    }
                    (Line::Unsupported(n, u), _) => {
                        counts.proper = true;
                        counts.unsupported += 1;
                        totals.errors += 1;
                        if !flushed(out, &mut failure) {
                            return;
                        }
                        notify(Notice::Check(&CheckMessage::UnsupportedLine {
                            list: shown.clone(),
                            line: *n,
                            tag: u.tag.clone(),
                        }));
                        if cfg.json {
                            jsonl::unsupported_into(&mut buf, &shown, *n, u, "unsupported");
                        } else if !cfg.status {
                            format::check_name_into(&mut buf, &u.name);
                            buf.extend_from_slice(b": FAILED unsupported algorithm\n");
                        }
                    }
                    (Line::Entry(_), Outcome::Nothing) => {}
                    (Line::Entry(p), Outcome::Missing) => {
                        counts.proper = true;
                        counts.missing += 1;
                        if cfg.json {
                            jsonl::check_into(&mut buf, &record(p, CheckOutcome::Missing));
                        }
                    }
                    (Line::Entry(_), Outcome::Failed(HashError::Interrupted { .. })) => {
                        cut = true;
                        return;
                    }
                    (Line::Entry(p), Outcome::Failed(e)) => {
                        counts.proper = true;
                        counts.unreadable += 1;
                        totals.errors += 1;
                        if !flushed(out, &mut failure) {
                            return;
                        }
                        let shown_err = e;
                        notify(Notice::File(&shown_err));
                        if cfg.json {
                            let outcome = CheckOutcome::Error(&shown_err);
                            jsonl::check_into(&mut buf, &record(p, outcome));
                        } else if !cfg.status {
                            format::check_name_into(&mut buf, &p.name);
                            buf.extend_from_slice(b": FAILED open or read\n");
                        }
                    }
                    (Line::Entry(p), Outcome::Hashed(d)) => {
                        counts.proper = true;
                        totals.files += 1;
                        totals.bytes_in += d.len;
                        let ok = hex_matches(&p.hex, &d.hex);
                        let by_length = !p.tagged
                            && cfg.algorithm.is_none()
                            && matches!(p.algorithm, Algorithm::Sha256 | Algorithm::Sha512);
                        if ok {
                            counts.matched = true;
                            counts.matched_by_length |= by_length;
                            counts.ok += 1;
                        } else {
                            counts.mismatched += 1;
                            totals.errors += 1;
                            if by_length {
                                counts.mismatched_by_length += 1;
                                counts.mismatched_as_sha512 +=
                                    u64::from(p.algorithm == Algorithm::Sha512);
                            }
                        }
                        if cfg.json {
                            jsonl::check_into(&mut buf, &record(p, CheckOutcome::Hashed(&d)));
                        } else if !cfg.status && (!ok || !cfg.quiet) {
                            format::check_name_into(&mut buf, &p.name);
                            buf.extend_from_slice(if ok { b": OK\n" } else { b": FAILED\n" });
                        }
                    }
                }
                if !buf.is_empty() {
                    if let Err(e) = out.write_all(&buf) {
                        failure = Some(HashError::output(e));
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        },
    );
    if let Some(e) = failure {
        return Err(e);
    }
    *run_counts = counts.added_to(run_counts);
    if crate::cancel::interrupted() {
        return Ok(false);
    }
    out.flush().map_err(HashError::output)?;
    if let Some(reason) = read_error {
        // As md5sum: the lines before were checked and reported; the list fails, with no
        // closing summary.
        list_failed(cfg, out, &shown, &reason)?;
        notify(Notice::Check(&CheckMessage::ListUnreadable {
            list: shown,
            reason,
        }));
        totals.errors += 1;
        run_counts.errors += 1;
        return Ok(false);
    }
    // A list that fails without a failed line of its own says why in --json too.
    let whole = if !counts.proper {
        Some("no properly formatted checksum lines found".to_string())
    } else if counts.mismatched + counts.unreadable + counts.unsupported == 0 && !counts.matched {
        Some("no file was verified".to_string())
    } else if cfg.strict
        && counts.misformatted != 0
        && counts.mismatched + counts.unreadable + counts.unsupported == 0
    {
        Some(format!(
            "{} (--strict)",
            CheckMessage::Misformatted(counts.misformatted)
                .to_string()
                .trim_start_matches("WARNING: ")
        ))
    } else {
        None
    };
    if let Some(reason) = whole {
        list_failed(cfg, out, &shown, &reason)?;
        run_counts.errors += 1;
    }
    let mut say = |m: CheckMessage| notify(Notice::Check(&m));
    if !counts.proper {
        say(CheckMessage::NoLines { list: shown });
    } else if !cfg.status {
        if counts.misformatted != 0 {
            say(CheckMessage::Misformatted(counts.misformatted));
        }
        if counts.unsupported != 0 {
            say(CheckMessage::Unsupported(counts.unsupported));
        }
        if counts.unreadable != 0 {
            say(CheckMessage::Unreadable(counts.unreadable));
        }
        if counts.mismatched != 0 {
            say(CheckMessage::Mismatched(counts.mismatched));
        }
        if counts.mismatched_by_length != 0
            && counts.mismatched_by_length == counts.mismatched
            && !counts.matched_by_length
        {
            if counts.mismatched_as_sha512 < counts.mismatched_by_length {
                say(CheckMessage::MaybeBlake3);
            }
            if counts.mismatched_as_sha512 != 0 {
                say(CheckMessage::MaybeBlake2);
            }
        }
        if cfg.ignore_missing && !counts.matched {
            say(CheckMessage::NoneVerified { list: shown });
        }
    }
    Ok(counts.proper
        && counts.matched
        && counts.mismatched == 0
        && counts.unreadable == 0
        && counts.unsupported == 0
        && (!cfg.strict || counts.misformatted == 0))
}

/// Flushes `out` before a message goes to stderr, so that the message comes after the
/// lines before it; false (the failure kept in `failure`) when the output cannot be
/// written.
fn flushed(out: &mut dyn Write, failure: &mut Option<HashError>) -> bool {
    match out.flush() {
        Ok(()) => true,
        Err(e) => {
            *failure = Some(HashError::output(e));
            false
        }
    }
}

/// With `--json`, the line of a list that failed as a whole (see
/// [`jsonl::list_error_into`]).
fn list_failed(
    cfg: &CheckConfig,
    out: &mut dyn Write,
    list: &[u8],
    reason: &str,
) -> Result<(), HashError> {
    if !cfg.json {
        return Ok(());
    }
    let mut buf = Vec::new();
    jsonl::list_error_into(&mut buf, list, reason);
    out.write_all(&buf).map_err(HashError::output)
}

/// The JSON record of a checked line.
fn record<'a>(p: &'a Parsed, outcome: CheckOutcome<'a>) -> CheckRecord<'a> {
    CheckRecord {
        name: &p.name,
        algorithm: p.algorithm,
        expected: &p.hex,
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_matches_md5sum() {
        assert_eq!(
            CheckMessage::Misformatted(1).to_string(),
            "WARNING: 1 line is improperly formatted"
        );
        assert_eq!(
            CheckMessage::Misformatted(2).to_string(),
            "WARNING: 2 lines are improperly formatted"
        );
        assert_eq!(
            CheckMessage::Unreadable(1).to_string(),
            "WARNING: 1 listed file could not be read"
        );
        assert_eq!(
            CheckMessage::Mismatched(3).to_string(),
            "WARNING: 3 computed checksums did NOT match"
        );
        assert_eq!(
            CheckMessage::NoLines {
                list: b"standard input".to_vec()
            }
            .to_string(),
            "'standard input': no properly formatted checksum lines found"
        );
    }

    #[test]
    fn list_parsing_skips_comments_blanks_and_crlf() {
        let h = "49f68a5c8493ec2c0bf489821c21fc3b";
        let text = format!("{h}  a\r\n\n# c\n  \nbogus\n{h} *e\nMD5 (x) = {h}\r\n");
        let mut state = ReadState {
            reversed: Reversed::Unknown,
            fixed: None,
            last: Algorithm::Md5,
        };
        let lines: Vec<Line> =
            ListLines::new(Box::new(io::Cursor::new(text)), false, false, &mut state).collect();
        let shape: Vec<String> = lines
            .iter()
            .map(|l| match l {
                Line::Bad(n, _) => format!("bad {n}"),
                Line::Unsupported(n, u) => format!("unsupported {n} {}", u.tag),
                Line::Entry(p) => String::from_utf8_lossy(&p.name).into_owned(),
                Line::ReadError(e) => format!("error {e}"),
            })
            .collect();
        assert_eq!(shape, ["a", "bad 4", "bad 5", "e", "x"]);
    }
}
