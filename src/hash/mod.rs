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
mod held;
pub mod jsonl;
pub mod lanes;
pub mod marks;
pub mod md5;
pub mod merge;
mod pagebuf;
mod turns;
mod units;
pub mod version;
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
use units::{Resequencer, Unit, Units};
use walk::WalkOptions;

pub use check::{check, CheckConfig, CheckMessage};

/// About how many descriptors a run with `jobs` workers holds open at once: each worker's
/// open run of files (or stream group, or list lines) and its read-ahead, the walk's
/// directories, the standard ones, and the files the walk opens for the workers
/// ([`held`]). phash grows the descriptor table to this before its threads start
/// ([`crate::fdtable`]).
pub fn descriptors(jobs: std::num::NonZeroUsize) -> usize {
    workers_descriptors(jobs) + if walk_opens(jobs) { held::MOST } else { 0 }
}

/// Whether the walk opens small files for `jobs` workers (see [`held`]): when it has a
/// core of its own, unless the environment says otherwise.
fn walk_opens(jobs: std::num::NonZeroUsize) -> bool {
    held::wanted(jobs < crate::pool::default_jobs())
}

/// Set to `1` or `0`: the workers give way to the walk (see [`walk_first`]) whatever the
/// cores, or never (for measurements, and for tests on any machine).
pub const WALK_FIRST_ENV: &str = "PHASH_WALK_FIRST";

/// Whether `jobs` workers run at a lower priority than the walk
/// ([`crate::pool::defer_to_producer`]): when they fill every core, so the walk shares
/// them (with a core of its own it needs no priority, and opens files instead: [`held`]).
fn walk_first(jobs: std::num::NonZeroUsize) -> bool {
    match std::env::var_os(WALK_FIRST_ENV) {
        Some(v) if v == "0" => false,
        Some(v) if v == "1" => true,
        _ => jobs >= crate::pool::default_jobs(),
    }
}

/// [`descriptors`] but the files the walk holds.
fn workers_descriptors(jobs: std::num::NonZeroUsize) -> usize {
    jobs.get() * (units::UNIT_FILES + 64) + 128
}

/// Something that went wrong with one file (or, for the `Special` and `Dangling`
/// variants, a warning). Every variant names its path; the `Display` form is md5sum's
/// `NAME: REASON`, with the name quoted as GNU tools quote it.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("{}: {}", q(path), reason(source))]
    Open { path: PathBuf, source: io::Error },
    #[error("{}: {}", q(path), reason(source))]
    Read { path: PathBuf, source: io::Error },
    /// The walk could not look at `path`; `dir`: a directory it could not open or read,
    /// whose files went unhashed.
    #[error("{}: {}", q(path), reason(source))]
    Walk {
        path: PathBuf,
        source: io::Error,
        dir: bool,
    },
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
    /// Only the status-change time moved during the read, size and modification time
    /// kept: a `chmod`, a new hard link, an extended attribute, an access time set; or a
    /// rewrite in place with its time put back. Read once more before it is said
    /// ([`digest::Worker`]); said as [`HashError::Modified`] if it moves again.
    #[error("{}: file changed while being read", q(path))]
    StatusChanged { path: PathBuf },
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
    /// The file standard output writes to, met inside a tree (`phash . > SUMS`).
    #[error("{}: is the output being written (standard output), skipped", q(path))]
    IsOutput { path: PathBuf },
    #[error("{}: interrupted", q(path))]
    Interrupted { path: PathBuf },
    #[error("--shard: the operands {} and {} overlap: one run lists the files of the second twice, and the shards' outputs could not be merged back into it; give operands that do not overlap", q(outer), q(inner))]
    OverlappingShards { outer: PathBuf, inner: PathBuf },
    #[error("--exclude {glob}: {source}")]
    BadGlob {
        glob: String,
        source: globset::Error,
    },
    #[error("--exclude '{glob}': names nothing (a name or path, with `/` before to anchor it at the operand, after for directories only)")]
    EmptyGlob { glob: String },
    #[error("standard output: {}", reason(source))]
    Output { source: io::Error },
}

impl HashError {
    /// Warnings are reported (unless `-q`) but do not make the run fail.
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            HashError::Special { .. } | HashError::Dangling { .. } | HashError::IsOutput { .. }
        )
    }

    /// Whether this is the user's mistake on the command line (a bad `--exclude` glob).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            HashError::BadGlob { .. }
                | HashError::EmptyGlob { .. }
                | HashError::OverlappingShards { .. }
        )
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
            StatusChanged { path } => Some(path),
            Loop { path, .. } | Special { path, .. } | Dangling { path } | IsOutput { path } => {
                Some(path)
            }
            Interrupted { path } => Some(path),
            BadGlob { .. } | EmptyGlob { .. } | Output { .. } => None,
            OverlappingShards { .. } => None,
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
    if cfg.walk.shard.is_some() {
        if let Some((outer, inner)) = marks::overlapping(&cfg.paths) {
            return Err(HashError::OverlappingShards { outer, inner });
        }
    }
    let mark = cfg
        .walk
        .shard
        .and_then(|shard| marks::Mark::of_run(shard, cfg));
    if let Some(mark) = &mark {
        out.write_all(&mark.opening(cfg.style.end()))
            .map_err(HashError::output)?;
    }
    let default_stdin = [OsString::from("-")];
    let roots: &[OsString] = if cfg.paths.is_empty() {
        &default_stdin
    } else {
        &cfg.paths
    };
    let stop = AtomicBool::new(false);
    let mut totals = Totals::default();
    if cfg.style.json {
        jsonl::so_far_begin(false, start);
    }
    let mut failure: Option<HashError> = None;
    let mut line = Vec::with_capacity(256);
    // The walk opens small files for the workers (see `held`) when it has a core of its
    // own, and unless sharded (then most files it meets are other shards').
    let mut walk_opts = cfg.walk.clone();
    if walk_opts.shard.is_none() && walk_opts.held.is_none() && walk_opens(cfg.jobs) {
        walk_opts.held = held::Budget::for_run(workers_descriptors(cfg.jobs));
    }
    let walk = walk::sharded(
        walk::Walk::new(roots, &walk_opts, &excludes, &stop),
        cfg.walk.shard,
    );
    let algorithm = cfg.style.algorithm;
    // Only MD5's lane engine hashes a group of files together: for the others each big
    // file goes out alone, so big files spread over the workers.
    let units = match algorithm {
        algorithm::Algorithm::Md5 => Units::new(walk, cfg.jobs),
        _ => Units::with_width(walk, cfg.jobs, 1),
    };

    // Set at the first file an interrupt stopped: nothing after it is written, so the
    // output is a prefix of the whole run's (files after it may be done: with a big file
    // left out and later ones listed, a saved list looked whole).
    let mut cut = false;
    // Every unit in walk order, `Pending` ones resolved (see `units::Resequencer`).
    let mut sink = |delivery: Delivery<Unit, Vec<Done>>| {
        let (unit, dones) = match delivery {
            Delivery::Done(_, _) if cut => return,
            Delivery::Done(unit, dones) => {
                if cfg.style.json {
                    jsonl::so_far_writing();
                }
                (unit, dones)
            }
            Delivery::Idle => {
                if failure.is_none() {
                    if let Err(e) = out.flush() {
                        failure = Some(HashError::output(e));
                        stop.store(true, Ordering::Relaxed);
                    } else if cfg.style.json {
                        // Flushed: what the watchdog's totals would count (see
                        // `jsonl::last_words`).
                        jsonl::so_far_hash(&totals);
                    }
                }
                return;
            }
        };
        let names: Vec<&[u8]> = match &unit {
            Unit::Files(files, _) => files.iter().map(|(p, _)| bytes(p)).collect(),
            Unit::Named(p, _) => vec![bytes(p)],
            Unit::Stdin(_) => vec![b"-"],
            Unit::Problem(e) => {
                if failure.is_none() {
                    count_problem(&mut totals, e);
                    json_problem(out, cfg.style, None, e, &mut failure, &stop);
                    report(out, notify, Notice::File(e), &mut failure, &stop);
                }
                Vec::new()
            }
            // Resolved by the resequencer: never reach the sink.
            Unit::Pending { .. } | Unit::Streams { .. } => Vec::new(),
        };
        for (name, done) in names.into_iter().zip(dones) {
            if failure.is_some() || cut {
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
                Done::Failed(HashError::Interrupted { .. }) => {
                    cut = true;
                    return;
                }
                Done::Failed(e) => {
                    count_problem(&mut totals, &e);
                    json_problem(out, cfg.style, Some(name), &e, &mut failure, &stop);
                    report(out, notify, Notice::File(&e), &mut failure, &stop);
                }
            }
        }
        progress(&totals);
    };
    let mut resequencer = Resequencer::default();
    let defer = walk_first(cfg.jobs);
    let turns = turns::Turns::default();

    // Stream groups go first: they are the long items (a lone big file is one stream
    // at scalar speed), and one met late in the walk would finish alone.
    crate::pool::stream_long_first(
        cfg.jobs,
        units,
        |unit| matches!(unit, Unit::Streams { .. }),
        &stop,
        || {
            if defer {
                crate::pool::defer_to_producer();
            }
            digest::Worker::new(cfg.style.json)
        },
        |w, unit| match unit {
            Unit::Files(files, held) => w
                .digest_walked_run(algorithm, files, held)
                .into_iter()
                .map(done)
                .collect(),
            Unit::Streams { files, .. } => w
                .digest_walked_run(algorithm, files, &[])
                .into_iter()
                .map(done)
                .collect(),
            Unit::Pending { .. } => Vec::new(),
            Unit::Named(p, turn) => vec![done(
                turns
                    .take(*turn, || w.digest_named(algorithm, p))
                    .unwrap_or_else(|| Err(HashError::Interrupted { path: p.clone() })),
            )],
            Unit::Stdin(turn) => vec![done(
                turns
                    .take(*turn, || w.digest_stdin(algorithm))
                    .unwrap_or_else(|| Err(HashError::Interrupted { path: "-".into() })),
            )],
            Unit::Problem(_) => Vec::new(),
        },
        |delivery| resequencer.deliver(delivery, &mut sink),
    );
    resequencer.finish(&mut sink, |path| {
        Done::Failed(HashError::Interrupted { path: path.into() })
    });

    if let Some(e) = failure {
        return Err(e);
    }
    let interrupted = crate::cancel::cut_short();
    if cfg.style.json {
        jsonl::so_far_end();
        jsonl::hash_totals(out, &totals, interrupted, start.elapsed())
            .map_err(HashError::output)?;
    }
    // The walk is done (what it could not read is said, and counted in the mark).
    if let Some(mark) = mark.filter(|_| !interrupted) {
        out.write_all(&mark.closing(cfg.style.end(), totals.errors))
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
