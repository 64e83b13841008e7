//! phash's library: hash files and trees in parallel and write exactly what GNU md5sum
//! would (or sha1sum, sha256sum, sha512sum, b3sum: [`algorithm`]), in a stable order, or
//! JSON Lines ([`jsonl`]); or verify their lists (`-c`).
//!
//! The shape is the crate's usual one: an enumerator ([`walk`]) produces items in a fixed
//! order, [`crate::pool::run`] digests them with `jobs` workers (each owning a
//! [`digest::Worker`]: for MD5 a lane engine, [`md5::Worker`], that hashes a run of files
//! at once, one per SIMD lane; for the others one file after another), and the
//! pool's sink writes each line on the calling thread in item order, as soon as the lines
//! before it are done. The walk is the engine's stream of items (pulled on its producer
//! thread), so hashing and printing start at once and memory stays proportional to the
//! engine's window, not to the tree.
//!
//! The library never prints: output lines go to the `Write` the caller passes, and errors
//! and warnings go to the caller's `notify` callback, in their place in the order.

pub mod algorithm;
pub mod check;
pub mod digest;
pub mod format;
pub mod jsonl;
pub mod lanes;
pub mod md5;
pub mod merge;
pub mod walk;

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::pool::Delivery;
use crate::totals::Totals;
use format::{LineStyle, Quoted};
use walk::{Item, Seen, WalkOptions};

pub use check::{check, CheckConfig, CheckMessage};

/// Something that went wrong with one file (or, for the `Special` and `Dangling`
/// variants, a warning). Every variant names its path; the `Display` form is md5sum's
/// `NAME: REASON`, with the name quoted as GNU tools quote it.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("{}: {}", q(path), reason(source))]
    Open { path: PathBuf, source: io::Error },
    #[error("{}: {}", q(path), reason(source))]
    Read { path: PathBuf, source: io::Error },
    #[error("{}: {}", q(path), reason(source))]
    Walk { path: PathBuf, source: io::Error },
    #[error(
        "{}: file changed size while being read (from {before} to {after} bytes)",
        q(path)
    )]
    SizeChanged {
        path: PathBuf,
        before: u64,
        after: u64,
    },
    #[error("{}: file changed while being read", q(path))]
    Modified { path: PathBuf },
    #[error(
        "{}: replaced while the tree was walked (not the file the walk found), not read",
        q(path)
    )]
    Replaced { path: PathBuf },
    #[error(
        "{}: file system loop detected (leads back to {})",
        q(path),
        q(ancestor)
    )]
    Loop { path: PathBuf, ancestor: PathBuf },
    #[error("{}: is {kind}, skipped", q(path))]
    Special { path: PathBuf, kind: &'static str },
    #[error("{}: dangling symbolic link, skipped", q(path))]
    Dangling { path: PathBuf },
    #[error("{}: interrupted", q(path))]
    Interrupted { path: PathBuf },
    #[error("--exclude {glob}: {source}")]
    BadGlob {
        glob: String,
        source: globset::Error,
    },
    #[error("standard output: {}", reason(source))]
    Output { source: io::Error },
}

impl HashError {
    /// Warnings are reported (unless `-q`) but do not make the run fail.
    pub fn is_warning(&self) -> bool {
        matches!(self, HashError::Special { .. } | HashError::Dangling { .. })
    }

    /// Whether this is the user's mistake on the command line (a bad `--exclude` glob).
    pub fn is_usage(&self) -> bool {
        matches!(self, HashError::BadGlob { .. })
    }

    /// Whether writing the output failed because the reader went away (`phash | head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, HashError::Output { source } if source.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The file this is about, if any.
    pub fn path(&self) -> Option<&Path> {
        use HashError::*;
        match self {
            Open { path, .. } | Read { path, .. } | Walk { path, .. } => Some(path),
            SizeChanged { path, .. } | Modified { path } | Replaced { path } => Some(path),
            Loop { path, .. } | Special { path, .. } | Dangling { path } => Some(path),
            Interrupted { path } => Some(path),
            BadGlob { .. } | Output { .. } => None,
        }
    }

    fn output(source: io::Error) -> HashError {
        HashError::Output { source }
    }
}

/// A path quoted for a diagnostic.
fn q(path: &Path) -> Quoted<'_> {
    Quoted(path.as_os_str().as_bytes())
}

/// The C library's text for an I/O error, without Rust's " (os error N)" suffix, so the
/// message reads as md5sum's does.
pub fn reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => s[..i].to_string(),
        _ => s,
    }
}

/// A message for the user, handed to the caller's `notify` callback.
#[derive(Debug)]
pub enum Notice<'a> {
    /// A file-level error or warning.
    File(&'a HashError),
    /// A check-mode message (improperly formatted lines, the closing warnings).
    Check(&'a CheckMessage),
}

impl Notice<'_> {
    /// Whether this is a warning that `-q` may silence (hash mode only).
    pub fn is_warning(&self) -> bool {
        matches!(self, Notice::File(e) if e.is_warning())
    }
}

impl fmt::Display for Notice<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::File(e) => e.fmt(f),
            Notice::Check(m) => m.fmt(f),
        }
    }
}

/// What to hash and how to print it.
#[derive(Clone, Debug)]
pub struct HashConfig {
    /// Operands: files, directories, `-` for standard input. Empty means standard input.
    pub paths: Vec<OsString>,
    /// Worker threads.
    pub jobs: NonZeroUsize,
    /// Walk options.
    pub walk: WalkOptions,
    /// Line format.
    pub style: LineStyle,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, Default)]
pub struct Summary {
    /// Files hashed, bytes read, errors, warnings (as `skipped`).
    pub totals: Totals,
    /// Wall-clock time of the run.
    pub wall: Duration,
    /// The run stopped early because of SIGINT/SIGTERM.
    pub interrupted: bool,
}

impl Summary {
    /// Whether everything went fine (warnings do not count).
    pub fn ok(&self) -> bool {
        self.totals.errors == 0 && !self.interrupted
    }
}

/// Result for one file.
enum Done {
    Hashed(digest::FileDigest),
    Failed(HashError),
}

/// One item for the pool. Files travel in runs, for two reasons. Handing a result from a
/// worker to the printing thread costs a channel send and a wake-up, which for a 2 KiB file
/// costs as much as hashing it; one hand-off per run makes it negligible. And a worker
/// hashes a whole run at once in its lane engine ([`lanes`]), one file per SIMD lane, so a
/// run must hold several files to fill the lanes. A run is closed at [`UNIT_FILES`] files,
/// at [`UNIT_BYTES`] bytes of small files, or at [`Units::big_files`] big ones, so a tree of
/// big files still spreads over all workers.
enum Unit {
    Files(Vec<(PathBuf, Seen)>),
    Named(PathBuf),
    Stdin,
    Problem(HashError),
}

/// At most this many files per [`Unit::Files`].
const UNIT_FILES: usize = 64;
/// At most about this many bytes of small files per [`Unit::Files`]; a file this size or
/// bigger is a big one, counted apart.
///
/// Bigger runs (256 files / 4 MiB, or big meaning "more than a lane chunk") measured no
/// faster on a copy of /usr/share once the machine was quiet, and they put big files into
/// the first run, so `phash /usr/lib | head -1` waited for them (0.1 to 1.7 s instead of
/// 0.01 s).
const UNIT_BYTES: u64 = 1 << 20;

/// Groups the walk's items into units, on the engine's producer thread.
struct Units<W> {
    walk: W,
    files: Vec<(PathBuf, Seen)>,
    /// Bytes of the small files in `files`.
    bytes: u64,
    /// Big files in `files`.
    bigs: usize,
    /// At most this many big files per run.
    big_files: usize,
    /// A run with fewer big files than this hands each big file out alone (see
    /// [`Units::close`]).
    split_below: usize,
    /// Units ready to be handed out, in order, before the walk is asked for more.
    held: std::collections::VecDeque<Unit>,
}

impl<W: Iterator<Item = Item>> Units<W> {
    fn new(walk: W, jobs: NonZeroUsize) -> Self {
        Units {
            walk,
            files: Vec::new(),
            bytes: 0,
            bigs: 0,
            big_files: big_files(lanes::Engine::selected()),
            split_below: 3 * jobs.get(),
            held: std::collections::VecDeque::new(),
        }
    }
}

/// Big files per run: as many as the engine keeps in flight (24 on AVX2, 48 on AVX-512),
/// because md5-many's throughput grows with the streams it interleaves: 16 x 64 MiB took
/// 0.28 s with all 16 in one worker's lanes and 0.62 s as two runs of 8 on two workers
/// (an AVX-512 register holds 16 lanes, so 8 streams do not even fill one). One for a
/// scalar engine, so big files spread over the workers one by one.
fn big_files(engine: lanes::Engine) -> usize {
    engine.width().max(1)
}

impl<W: Iterator<Item = Item>> Iterator for Units<W> {
    type Item = Unit;

    fn next(&mut self) -> Option<Unit> {
        if let Some(u) = self.held.pop_front() {
            return Some(u);
        }
        loop {
            let unit = match self.walk.next() {
                Some(Item::File { path, seen }) => {
                    let big = seen.size >= UNIT_BYTES;
                    let full = self.files.len() == UNIT_FILES
                        || if big {
                            self.bigs >= self.big_files
                        } else {
                            self.bytes.saturating_add(seen.size) > UNIT_BYTES
                        };
                    if full && !self.files.is_empty() {
                        self.close();
                    }
                    if big {
                        self.bigs += 1;
                    } else {
                        self.bytes += seen.size;
                    }
                    self.files.push((path, seen));
                    match self.held.pop_front() {
                        Some(run) => return Some(run),
                        None => continue,
                    }
                }
                Some(Item::Named { path }) => Unit::Named(path),
                Some(Item::Stdin) => Unit::Stdin,
                Some(Item::Problem(e)) => Unit::Problem(e),
                None => {
                    self.close();
                    return self.held.pop_front();
                }
            };
            self.close();
            self.held.push_back(unit);
            return self.held.pop_front();
        }
    }
}

impl<W> Units<W> {
    /// Ends the current run (if any) and queues it. A run holding only a few big files
    /// would leave most lanes of one worker's engine empty while the other workers idle:
    /// k streams cost a whole register group, so 4 x 64 MiB in one worker's lanes took
    /// 0.33 s where `md5deep -j2` took 0.24 s. Below `split_below` big files, each big file
    /// goes out alone (hashed by the single-stream path, on whichever worker is free), the
    /// small files between them stay in runs, and the order is kept.
    fn close(&mut self) {
        let files = std::mem::take(&mut self.files);
        let bigs = std::mem::take(&mut self.bigs);
        self.bytes = 0;
        if files.is_empty() {
            return;
        }
        if bigs == 0 || bigs >= self.split_below {
            self.held.push_back(Unit::Files(files));
            return;
        }
        let mut small = Vec::new();
        for (path, seen) in files {
            if seen.size >= UNIT_BYTES {
                if !small.is_empty() {
                    self.held.push_back(Unit::Files(std::mem::take(&mut small)));
                }
                self.held.push_back(Unit::Files(vec![(path, seen)]));
            } else {
                small.push((path, seen));
            }
        }
        if !small.is_empty() {
            self.held.push_back(Unit::Files(small));
        }
    }
}

/// Hashes `cfg.paths`, writing md5sum lines to `out` in walk order and reporting problems to
/// `notify` in their place. `progress` sees the running totals after every item.
/// Returns `Err` only when nothing more can be done: a bad `--exclude` glob, or the output
/// cannot be written (see [`HashError::is_broken_pipe`]).
pub fn hash_tree(
    cfg: &HashConfig,
    out: &mut dyn Write,
    notify: &mut dyn FnMut(Notice<'_>),
    progress: &mut dyn FnMut(&Totals),
) -> Result<Summary, HashError> {
    let start = Instant::now();
    let excludes = walk::compile_excludes(&cfg.walk.exclude)?;
    let default_stdin = [OsString::from("-")];
    let roots: &[OsString] = if cfg.paths.is_empty() {
        &default_stdin
    } else {
        &cfg.paths
    };
    let stop = AtomicBool::new(false);
    let mut totals = Totals::default();
    let mut failure: Option<HashError> = None;
    let mut line = Vec::with_capacity(256);
    let mut units = Units::new(
        walk::sharded(
            walk::Walk::new(roots, &cfg.walk, &excludes, &stop),
            cfg.walk.shard,
        ),
        cfg.jobs,
    );
    let algorithm = cfg.style.algorithm;
    if algorithm != algorithm::Algorithm::Md5 {
        // Only MD5's lane engine hashes a run's files together: elsewhere a big file
        // goes out alone, so big files spread over the workers.
        units.big_files = 1;
    }

    crate::pool::stream(
        cfg.jobs,
        units,
        &stop,
        || digest::Worker::new(cfg.style.json),
        |w, unit| match unit {
            Unit::Files(files) => w
                .digest_walked_run(algorithm, files)
                .into_iter()
                .map(done)
                .collect(),
            Unit::Named(p) => vec![done(w.digest_named(algorithm, p))],
            Unit::Stdin => vec![done(w.digest_stdin(algorithm))],
            Unit::Problem(_) => Vec::new(),
        },
        |delivery| {
            let (unit, dones) = match delivery {
                Delivery::Done(unit, dones) => (unit, dones),
                Delivery::Idle => {
                    if failure.is_none() {
                        if let Err(e) = out.flush() {
                            failure = Some(HashError::output(e));
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                    return;
                }
            };
            let names: Vec<&[u8]> = match &unit {
                Unit::Files(files) => files.iter().map(|(p, _)| bytes(p)).collect(),
                Unit::Named(p) => vec![bytes(p)],
                Unit::Stdin => vec![b"-"],
                Unit::Problem(e) => {
                    if failure.is_none() {
                        count_problem(&mut totals, e);
                        json_problem(out, cfg.style, None, e, &mut failure, &stop);
                        report(out, notify, Notice::File(e), &mut failure, &stop);
                    }
                    Vec::new()
                }
            };
            for (name, done) in names.into_iter().zip(dones) {
                if failure.is_some() {
                    return;
                }
                match done {
                    Done::Hashed(d) => {
                        line.clear();
                        if cfg.style.json {
                            jsonl::file_into(&mut line, algorithm, name, &d);
                        } else {
                            format::line_into(&mut line, cfg.style, d.hex.as_bytes(), name);
                        }
                        if let Err(e) = out.write_all(&line) {
                            failure = Some(HashError::output(e));
                            stop.store(true, Ordering::Relaxed);
                        }
                        totals.files += 1;
                        totals.bytes_in += d.len;
                    }
                    // The binary reports the interrupt itself, once.
                    Done::Failed(HashError::Interrupted { .. }) => {}
                    Done::Failed(e) => {
                        count_problem(&mut totals, &e);
                        json_problem(out, cfg.style, Some(name), &e, &mut failure, &stop);
                        report(out, notify, Notice::File(&e), &mut failure, &stop);
                    }
                }
            }
            progress(&totals);
        },
    );

    if let Some(e) = failure {
        return Err(e);
    }
    let interrupted = crate::cancel::interrupted();
    if cfg.style.json {
        jsonl::hash_totals(out, &totals, interrupted, start.elapsed())
            .map_err(HashError::output)?;
    }
    out.flush().map_err(HashError::output)?;
    Ok(Summary {
        totals,
        wall: start.elapsed(),
        interrupted,
    })
}

/// With `--json`, a file that failed or was skipped has its object in the output too.
fn json_problem(
    out: &mut dyn Write,
    style: LineStyle,
    name: Option<&[u8]>,
    e: &HashError,
    failure: &mut Option<HashError>,
    stop: &AtomicBool,
) {
    if !style.json || failure.is_some() {
        return;
    }
    let mut buf = Vec::new();
    jsonl::problem_into(&mut buf, name, e);
    if let Err(e) = out.write_all(&buf) {
        *failure = Some(HashError::output(e));
        stop.store(true, Ordering::Relaxed);
    }
}

fn done(r: Result<digest::FileDigest, HashError>) -> Done {
    r.map_or_else(Done::Failed, Done::Hashed)
}

fn bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

fn count_problem(totals: &mut Totals, e: &HashError) {
    if e.is_warning() {
        totals.skipped += 1;
    } else {
        totals.errors += 1;
    }
}

/// Flushes the lines written so far, then hands the notice over, so that stdout and
/// stderr interleave in order when they go to the same place.
fn report(
    out: &mut dyn Write,
    notify: &mut dyn FnMut(Notice<'_>),
    notice: Notice<'_>,
    failure: &mut Option<HashError>,
    stop: &AtomicBool,
) {
    if let Err(e) = out.flush() {
        *failure = Some(HashError::output(e));
        stop.store(true, Ordering::Relaxed);
        return;
    }
    notify(notice);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of the units made from files of the given sizes: each unit as the list of
    /// its files' sizes (files are named by their position, so order is checked too).
    fn shape(sizes: &[u64], jobs: usize) -> Vec<Vec<u64>> {
        let items = sizes.iter().enumerate().map(|(i, &size)| Item::File {
            path: PathBuf::from(i.to_string()),
            seen: walk::Seen {
                dev: 0,
                ino: i as u64,
                size,
                nofollow: true,
            },
        });
        let mut next = 0;
        Units::new(items, NonZeroUsize::new(jobs).unwrap())
            .map(|u| match u {
                Unit::Files(files) => files
                    .into_iter()
                    .map(|(p, seen)| {
                        assert_eq!(p, PathBuf::from(next.to_string()), "order kept");
                        next += 1;
                        seen.size
                    })
                    .collect(),
                _ => panic!("only files here"),
            })
            .collect()
    }

    const BIG: u64 = 64 << 20;

    #[test]
    fn a_few_big_files_go_out_one_by_one_so_every_worker_gets_one() {
        assert_eq!(
            shape(&[10, BIG, 20, 30, BIG], 2),
            [vec![10], vec![BIG], vec![20, 30], vec![BIG]]
        );
    }

    #[test]
    fn many_big_files_share_a_run_to_fill_the_lanes() {
        if lanes::Engine::selected().width() < 6 {
            eprintln!("SKIP: the scalar engine puts one big file in each run");
            return;
        }
        assert_eq!(shape(&[BIG; 6], 2), [vec![BIG; 6]]);
    }

    #[test]
    fn small_files_travel_in_runs_of_at_most_a_mebibyte() {
        let units = shape(&[300 << 10; 8], 2);
        assert!(units.len() >= 2, "{units:?}");
        assert!(units.iter().all(|u| u.iter().sum::<u64>() <= UNIT_BYTES));
    }
}
