//! The one way in: open an archive (a file, or `-` for standard input), plan it (with
//! filters), then list, test, extract it or write its members to standard output, and get
//! back one [`Report`] that carries the planning refusals along with the run's
//! own failures. The binary, the `--bench` job, the criterion bench and the fuzz target
//! all go through here, so none of them replays the phases (or merges two error channels
//! to find the exit status) by hand.
//!
//! ```no_run
//! use punzip::unzip::{session, Filter, Options};
//! let archive = session::open("a.zip".as_ref())?;
//! let jobs = punzip::pool::default_jobs();
//! let session = session::Session::new(&archive, &Filter::default(), 0o022, jobs)?;
//! let report = session.run(&Options::new("out"), &mut |_| {});
//! std::process::exit(report.status().code());
//! # Ok::<(), punzip::error::Error>(())
//! ```

use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::extract::{self, Event, Options, Outcome};
use super::list;
use super::members::{self, DecodeOptions};
use super::meta::Kind;
use super::pipe::{self, PipeOptions};
use super::plan::{self, Archive, Filter, Member, Plan, Reader};
use super::spool;
use crate::error::{Error, ExitStatus, Result};
use crate::hash::algorithm::Algorithm;
use crate::shard::{self, Shard};
use crate::totals::Totals;

/// Opens `path` as an archive, with a message that says what to do when it is a
/// directory rather than a zip file. `-` is standard input (see [`spool`]).
pub fn open(path: &Path) -> Result<Archive> {
    if spool::is_stdin(path) {
        return spool::open_stdin();
    }
    if path.is_dir() {
        return Err(Error::ArchiveIsDir {
            path: path.to_owned(),
        });
    }
    Archive::open(path)
}

/// Each include pattern that matched nothing, while others did, becomes an error of the
/// report (exit 11, as unzip's "caution: filename not matched").
fn told_unmatched(plan: &mut Plan) {
    for pattern in plan.unmatched.drain(..) {
        plan.refused.push(Error::NotMatched { pattern });
    }
}

/// Checks every include and exclude pattern, naming the first bad one.
pub fn check_patterns(filter: &Filter) -> Result<()> {
    plan::compile(filter).map(drop)
}

/// Runs `read`, which reads the archive's map (its central directory, its local headers),
/// under a SIGBUS guard: an archive truncated meanwhile by another process is an error
/// naming it (exit 3, as during extraction), not a crash. Whatever `read` made of the zero
/// pages it then saw is dropped.
fn guarded<T>(archive: &Archive, read: impl FnOnce() -> Result<T>) -> Result<T> {
    let guard = crate::sigbus::Guard::new(archive.bytes());
    let got = read();
    if guard.tripped() {
        return Err(Error::BadArchive {
            path: archive.path.clone(),
            reason: "the archive was truncated while it was being read".into(),
        });
    }
    got
}

/// `punzip -l`: lists `archive` into `sink` as its central directory is read (see
/// [`list::stream`]), then checks it as planning would, keeping a few bytes per entry
/// rather than the plan's members, so that the same refusals and warnings are reported
/// (after the listing) with the same exit status as a run. Fails only when nothing could
/// be listed (a bad pattern, not a zip file).
pub fn list(
    archive: &Archive,
    filter: &Filter,
    umask: u32,
    jobs: NonZeroUsize,
    sink: &mut dyn list::Sink,
) -> Result<Listing> {
    check_patterns(filter)?;
    // `-j` says where files go, not what the archive holds: `unzip -l -j` lists every
    // entry, directories too, by its full name, and warns of no clash of the short names.
    let filter = &Filter {
        junk_paths: false,
        ..filter.clone()
    };
    let walked = guarded(archive, || list::stream(archive, filter, sink))?;
    let mut listing = Listing {
        plan: Plan::default(),
        fatal: walked.error,
        listed: walked.listed,
        output: walked.output,
    };
    if listing.fatal.is_some() || listing.output.is_err() {
        return Ok(listing);
    }
    let checked = guarded(archive, || {
        archive
            .reader()
            .and_then(|reader| plan::check(archive, &reader, filter, umask, jobs))
    });
    match checked {
        Ok(mut plan) => {
            let filtered = !filter.include.is_empty() || !filter.exclude.is_empty();
            if filtered && plan.matched == 0 {
                listing.fatal = Some(Error::NoMatch {
                    patterns: std::mem::take(&mut plan.unmatched),
                });
            }
            told_unmatched(&mut plan);
            listing.plan = plan;
        }
        Err(e) => listing.fatal = Some(e),
    }
    Ok(listing)
}

/// What `punzip -l` listed, and what the checks after it found.
pub struct Listing {
    plan: Plan,
    fatal: Option<Error>,
    /// What was listed.
    pub listed: list::Listed,
    /// Whether the listing could be written (it stops at the first failed write).
    pub output: io::Result<()>,
}

impl Listing {
    /// The checks' findings: refusals and warnings (the plan has no members).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The report of a run that did nothing: the refusals, and what stopped the listing
    /// or the checks (a damaged directory, an overlap, no member matching), taken out.
    pub fn report(&mut self) -> Report<'_> {
        Report {
            plan: &self.plan,
            outcome: Outcome::default(),
            fatal: self.fatal.take(),
        }
    }
}

/// An archive with its central directory parsed and its plan checked.
pub struct Session<'a> {
    archive: &'a Archive,
    reader: Reader<'a>,
    plan: Plan,
}

impl<'a> Session<'a> {
    /// Parses `archive`'s central directory and plans it. Fails when the archive cannot
    /// be read at all, when a pattern is bad, or when patterns were given and no member
    /// matches them ([`Error::NoMatch`], as `unzip` does). Planning reads the local
    /// headers on `jobs` threads; the plan is the same for any number.
    pub fn new(
        archive: &'a Archive,
        filter: &Filter,
        umask: u32,
        jobs: NonZeroUsize,
    ) -> Result<Session<'a>> {
        check_patterns(filter)?;
        let (reader, mut plan) = guarded(archive, || {
            let mut reader = archive.reader()?;
            let plan = plan::build(archive, &mut reader, filter, umask, jobs)?;
            Ok((reader, plan))
        })?;
        if let Some(shard) = filter.shard {
            keep_shard(&mut plan, shard);
        }
        let filtered = !filter.include.is_empty() || !filter.exclude.is_empty();
        if filtered && plan.matched == 0 {
            return Err(Error::NoMatch {
                patterns: plan.unmatched,
            });
        }
        told_unmatched(&mut plan);
        Ok(Session {
            archive,
            reader,
            plan,
        })
    }

    /// The checked plan (members, refusals, warnings).
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The archive.
    pub fn archive(&self) -> &'a Archive {
        self.archive
    }

    /// Whether `password` passes encrypted member `m`'s own check (ZipCrypto's check
    /// byte, which a wrong password passes once in 256; AES's verifier), so that a typo at
    /// the prompt is asked again, as unzip asks. Anything else that goes wrong opening the
    /// member is extraction's to report.
    pub fn password_fits(&self, m: &Member, password: &[u8]) -> bool {
        let opts = zip::ZipReadOptions::new().password(Some(password));
        let mut reader = self.reader.clone();
        let opened = reader.by_index_with_options(m.index, opts);
        let fits = !matches!(opened, Err(zip::result::ZipError::InvalidPassword));
        drop(opened);
        fits
    }

    /// Writes the `unzip -l` listing of the planned members.
    pub fn list(&self, out: &mut dyn Write) -> io::Result<()> {
        let name = self.archive.path.to_string_lossy();
        list::write_listing(out, &name, &self.plan)
    }

    /// What planning alone found: the report of a run that did nothing (for `-l`).
    pub fn report(&self) -> Report<'_> {
        Report {
            plan: &self.plan,
            outcome: Outcome::default(),
            fatal: None,
        }
    }

    /// Extracts the plan (or, with [`Options::test_only`], decompresses and checks it),
    /// calling `on_event` on this thread as members finish. Never fails as a whole: a run
    /// that could not start (DEST unusable, too large) has [`Report::fatal`] set.
    pub fn run(&self, opts: &Options, on_event: &mut dyn FnMut(Event<'_>)) -> Report<'_> {
        let mut report = self.report();
        if let Err(e) = check_dest(opts) {
            report.fatal = Some(e);
            return report;
        }
        match extract::extract(self.archive, &self.reader, &self.plan, opts, on_event) {
            Ok(outcome) => report.outcome = outcome,
            Err(e) => report.fatal = Some(dest_error(e, &opts.dest)),
        }
        report
    }

    /// Writes the bytes of the planned regular files and symlinks (a link's target) to
    /// `out` in archive order, as `unzip -p` does, calling `on_error` as members fail.
    /// Also returns why `out` stopped taking bytes, if it did (`BrokenPipe` for a closed
    /// pipe).
    pub fn pipe(
        &self,
        opts: &PipeOptions,
        out: &mut dyn Write,
        on_error: &mut dyn FnMut(&Error),
    ) -> (Report<'_>, Option<io::Error>) {
        let mut report = self.report();
        let declared = self.plan.declared_size();
        if let Some(limit) = opts.max_size.filter(|&limit| declared > limit) {
            report.fatal = Some(Error::TooLarge {
                path: self.archive.path.clone(),
                declared,
                limit,
            });
            return (report, None);
        }
        let piped = pipe::pipe(self.archive, &self.reader, &self.plan, opts, out, on_error);
        report.outcome = piped.outcome;
        (report, piped.output)
    }

    /// The digest of every planned regular file with `algorithm`, each named by its
    /// relative path under DEST (`/` separators), computed in parallel and reported to
    /// `on_each` in archive order. Returns early once `stop` is raised or on an interrupt.
    pub fn digests(
        &self,
        opts: &DecodeOptions<'_>,
        algorithm: Algorithm,
        stop: &AtomicBool,
        on_each: &mut dyn FnMut(&Member, String, Result<String>),
    ) {
        members::digests(
            self.archive,
            &self.reader,
            &self.plan,
            opts,
            algorithm,
            stop,
            &mut |m, r| on_each(m, members::extracted_path(m), r),
        );
    }
}

/// Keeps this shard's files and links (the rule of [`crate::shard::assign_all`], over the
/// stored names and declared sizes, which every shard reads alike) and every directory:
/// directories are created by each shard that needs them, so they are not divided. Each
/// refused member is reported by one shard only (by its name's hash), so the
/// shards' messages and statuses add up to one run's.
fn keep_shard(plan: &mut Plan, shard: Shard) {
    let mine = |name: &str| Shard::of_path(name.as_bytes(), shard.count()) == shard.number() - 1;
    plan.refused.retain(|e| e.member().is_none_or(mine));
    let work: Vec<(&[u8], u64)> = (plan.members.iter())
        .filter(|m| m.kind != Kind::Dir)
        .map(|m| (m.name.as_bytes(), m.size))
        .collect();
    let mut owner = shard::assign_all(&work, shard.count()).into_iter();
    plan.members
        .retain(|m| m.kind == Kind::Dir || owner.next() == Some(shard.number() - 1));
    plan.shard = Some(shard);
    // A shard sets the modes of the directories it made when it ends, while the others
    // may still write into them: a directory its owner cannot write into (0555, 0000)
    // failed the other shards' files there with "Permission denied" (for any user but
    // root, whom no mode stops). Such directories keep their owner's rwx, and the user is
    // told (when extracting: `Plan::shard_note`).
    // SAFETY: geteuid has no preconditions.
    if shard.count() > 1 && unsafe { libc::geteuid() } != 0 {
        let mut locked = plan
            .members
            .iter_mut()
            .filter(|m| m.kind == Kind::Dir && m.mode & 0o700 != 0o700)
            .peekable();
        let first = locked.peek().map(|m| (m.name.clone(), m.mode));
        let n = locked.map(|m| m.mode |= 0o700).count();
        if let Some((name, mode)) = first {
            plan.shard_note = Some(if n == 1 {
                format!(
                    "with --shard, directory {name} keeps its owner's rwx ({:04o} where the \
                     archive says {mode:04o}), so that the other shards can write into it; \
                     chmod it after the last shard if that matters",
                    mode | 0o700
                )
            } else {
                format!(
                    "with --shard, {n} directories that their owner could not write into \
                     ({name}, {mode:04o}, the first) keep their owner's rwx, so that the other \
                     shards can write into them; chmod them after the last shard if that matters"
                )
            });
        }
    }
}

/// Refuses a DEST that exists and is not a directory, before anything is tried.
fn check_dest(opts: &Options) -> Result<()> {
    if opts.test_only {
        return Ok(());
    }
    match std::fs::metadata(&opts.dest) {
        Ok(md) if !md.is_dir() => Err(Error::Dest {
            path: opts.dest.clone(),
            reason: "it exists and is not a directory".into(),
            source: None,
        }),
        _ => Ok(()),
    }
}

/// An I/O error on DEST itself (it cannot be created or opened) is DEST being unusable.
fn dest_error(e: Error, dest: &Path) -> Error {
    match e {
        Error::Io { path, op, source } if path == dest => Error::Dest {
            path,
            reason: format!("{op}: {}", crate::hash::reason(&source)),
            source: Some(source),
        },
        other => other,
    }
}

/// Everything a run did and everything that went wrong, planning included.
pub struct Report<'s> {
    plan: &'s Plan,
    /// What the run did (empty when it could not start).
    pub outcome: Outcome,
    /// Why the run could not start or was stopped as a whole, if it was.
    pub fatal: Option<Error>,
}

impl Report<'_> {
    /// The plan the run carried out.
    pub fn plan(&self) -> &Plan {
        self.plan
    }

    /// Members refused while planning (each an error naming it).
    pub fn refused(&self) -> &[Error] {
        &self.plan.refused
    }

    /// The run's totals.
    pub fn totals(&self) -> &Totals {
        &self.outcome.totals
    }

    /// The run's wall time.
    pub fn elapsed(&self) -> Duration {
        self.outcome.elapsed
    }

    /// Every failure: planning refusals, then the run's, then the fatal one.
    pub fn errors(&self) -> impl Iterator<Item = &Error> {
        self.plan
            .refused
            .iter()
            .chain(&self.outcome.errors)
            .chain(&self.fatal)
    }

    /// The exit status of the whole thing: the worst of every failure.
    pub fn status(&self) -> ExitStatus {
        ExitStatus::worst(self.errors().map(Error::status))
    }

    /// Whether anything at all failed or was refused.
    pub fn is_clean(&self) -> bool {
        self.status() == ExitStatus::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zip(names: &[&str]) -> Archive {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for n in names {
            w.start_file(*n, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(n.as_bytes()).unwrap();
        }
        Archive::from_bytes("t.zip", w.finish().unwrap().into_inner())
    }

    #[test]
    fn a_report_carries_the_planning_refusals_and_their_status() {
        let a = zip(&["../up.txt", "ok.txt"]);
        let s = Session::new(&a, &Filter::default(), 0o022, NonZeroUsize::MIN).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let r = s.run(&Options::new(tmp.path()), &mut |_| {});
        assert_eq!(r.refused().len(), 1);
        assert_eq!(r.totals().files, 1);
        assert_eq!(r.status(), ExitStatus::Warning);
    }

    #[test]
    fn patterns_that_match_nothing_and_bad_patterns_fail_the_session() {
        let a = zip(&["a.txt"]);
        let f = |p: &str| Filter {
            include: vec![p.into()],
            ..Filter::default()
        };
        assert!(matches!(
            Session::new(&a, &f("*.rs"), 0o022, NonZeroUsize::MIN),
            Err(Error::NoMatch { .. })
        ));
        assert!(matches!(
            Session::new(&a, &f("a[z-a].txt"), 0o022, NonZeroUsize::MIN),
            Err(Error::BadPattern { .. })
        ));
    }

    #[test]
    fn a_dest_that_is_a_file_is_fatal_and_not_a_warning() {
        let a = zip(&["a.txt"]);
        let s = Session::new(&a, &Filter::default(), 0o022, NonZeroUsize::MIN).unwrap();
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let r = s.run(&Options::new(tmp.path()), &mut |_| {});
        assert!(matches!(r.fatal, Some(Error::Dest { .. })));
        assert_eq!(r.status(), ExitStatus::Error);
    }

    #[test]
    fn test_mode_with_an_output_limit_reads_damaged_archives_without_panicking() {
        // What the fuzz target does, on a few damaged variants of a real archive.
        let good = zip(&["a.txt", "dir/b.txt", "c.txt"]).bytes().to_vec();
        for cut in [
            0,
            10,
            30,
            60,
            good.len() / 2,
            good.len() - 30,
            good.len() - 1,
        ] {
            let mut bytes = good.clone();
            bytes[cut] ^= 0x5a;
            let a = Archive::from_bytes("damaged.zip", bytes);
            let Ok(s) = Session::new(&a, &Filter::default(), 0o022, NonZeroUsize::MIN) else {
                continue;
            };
            s.list(&mut io::sink()).unwrap();
            let mut opts = Options::new("unused-in-test-mode");
            opts.test_only = true;
            opts.jobs = std::num::NonZeroUsize::MIN;
            opts.max_size = Some(1 << 20);
            opts.password = Some(b"password".to_vec());
            let _ = s.run(&opts, &mut |_| {}).status();
        }
    }
}
