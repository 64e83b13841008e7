//! What punzip says on stderr: planning's refusals and warnings, failures during the run,
//! the `-v` lines and the `--stats` line, with floods (thousands of existing files, a
//! file system that refuses every mode) summarised after the first few.

use std::path::Path;

use punzip::error::{Error, ExitStatus, Shown};
use punzip::totals::{human_bytes, mb_per_s};
use punzip::unzip::{self, Report};

use crate::common::{count, say};
use crate::progress::Progress;

/// The run's failures as the exit status sees them: errors, and warnings (a refused
/// symlink, a file in the way, a time the file system refused; a file's mode alone
/// refused is a note, and counts as neither).
pub(crate) fn errors_and_warnings(report: &Report<'_>) -> (usize, usize) {
    let (mut errors, mut warnings) = (0usize, 0usize);
    for e in report.errors() {
        match e.status() {
            ExitStatus::Ok => {}
            ExitStatus::Warning => warnings += 1,
            _ => errors += 1,
        }
    }
    (errors, warnings)
}

/// The `--stats` line: the same units as the progress bar, and failures split as the exit
/// status sees them (a refused symlink is a warning, not an error).
pub(crate) fn stats(report: &Report<'_>, jobs: std::num::NonZeroUsize) {
    let t = report.totals();
    let (errors, warnings) = errors_and_warnings(report);
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

/// The `-v` line of a member done: unzip's verb, and the path under DEST as unzip prints
/// it (`inflating: out/d/a.txt` after `-d out`; the path alone in the working directory).
pub(crate) fn verb_line(test: bool, m: &unzip::Member, dest: &Path) -> String {
    use punzip::unzip::meta::Kind;
    let path = match dest == Path::new(".") {
        true => m.rel_path(),
        false => dest.join(m.rel_path()),
    };
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
pub(crate) struct Messages<'p> {
    quiet: bool,
    progress: &'p Progress,
    exists: usize,
    /// Files and directories extracted whose time (or a directory's mode) the file system
    /// refused: warnings.
    unset_meta: usize,
    /// Files extracted whose mode alone the file system refused: notes.
    unset_modes: usize,
    stdout_error: bool,
    /// Whether a failure that stops the run (a full disk, a read-only file system, no
    /// descriptors) was said; the members in flight then fail alike, and are only counted.
    fatal_said: bool,
    after_fatal: u64,
}

impl<'p> Messages<'p> {
    pub(crate) fn new(quiet: bool, progress: &'p Progress) -> Messages<'p> {
        Messages {
            quiet,
            progress,
            exists: 0,
            unset_meta: 0,
            unset_modes: 0,
            stdout_error: false,
            fatal_said: false,
            after_fatal: 0,
        }
    }

    pub(crate) fn say(&self, args: std::fmt::Arguments<'_>) {
        self.progress.suspend(|| say(args));
    }

    /// What planning found: refusals (always), then its notes (not with -q), each kind
    /// summarised. Notes count for nothing (exit status, `--json`), so they say `note:`,
    /// not `warning:`: an unmatched -x pattern or names that differ only in case said
    /// "warning" and exited 0, which two users read as a contradiction. Names that differ
    /// only in case on a DEST that ignores case are warnings: there they collide.
    pub(crate) fn planning(&mut self, plan: &unzip::Plan, dest: &Path, extracting: bool) {
        for e in &plan.refused {
            self.say(format_args!("punzip: {e}"));
        }
        if self.quiet {
            return;
        }
        for w in plan.notes.iter().take(SHOW) {
            self.say(format_args!("punzip: note: {}", Shown::new(w)));
        }
        if let Some(w) = plan.shard_note.as_ref().filter(|_| extracting) {
            self.say(format_args!("punzip: note: {}", Shown::new(w)));
        }
        if plan.notes.len() > SHOW {
            self.say(format_args!(
                "punzip: note: ... and {} more notes",
                plan.notes.len() - SHOW
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
                "punzip: note: {}{more}; such names collide on a case-insensitive file system",
                Shown::new(first)
            ));
        }
    }

    /// A failure during the run.
    /// [`Messages::error`] for a member's own failure (counted in the totals' errors).
    pub(crate) fn member_error(&mut self, e: &Error) {
        self.said(e, true);
    }

    /// Says a failure that no member's result counts (a directory, the run's own).
    pub(crate) fn error(&mut self, e: &Error) {
        self.said(e, false);
    }

    fn said(&mut self, e: &Error, member: bool) {
        if let Error::Exists { .. } = e {
            self.exists += 1;
            if self.exists > SHOW {
                return;
            }
        }
        if e.is_unset_meta() {
            // A file system without modes (FAT, exFAT) refuses every file's: the first
            // few of each kind say why, the rest are counted.
            let (count, kind) = if e.is_unset_mode_only() {
                (&mut self.unset_modes, "note")
            } else {
                (&mut self.unset_meta, "warning")
            };
            *count += 1;
            if !self.quiet && *count <= SHOW {
                self.say(format_args!("punzip: {kind}: {e}"));
            }
            return;
        }
        if e.is_fatal() && !matches!(e, Error::Interrupted) {
            // A full disk failed every member in flight with the same words (46 to 1,648
            // lines after the first, a different number each run): one is said, the rest
            // are among the members counted as not extracted.
            if self.fatal_said {
                // A member's is among the totals' errors: counted as not extracted.
                if member {
                    self.after_fatal += 1;
                }
                return;
            }
            self.fatal_said = true;
        }
        self.say(format_args!("punzip: {e}"));
    }

    /// Notes the result of a write to stdout; true when it failed for a reason other than
    /// a closed pipe (said once).
    pub(crate) fn stdout(&mut self, r: std::io::Result<()>) -> bool {
        match r {
            Ok(()) => false,
            Err(e) => {
                if !self.stdout_error {
                    self.stdout_error = true;
                    self.say(format_args!(
                        "punzip: cannot write to standard output: {}",
                        punzip::hash::reason(&e)
                    ));
                }
                true
            }
        }
    }

    /// The summaries of the floods.
    pub(crate) fn finish(&mut self, report: &Report<'_>, dest: &Path, testing: bool) {
        if !self.quiet && self.unset_modes > SHOW {
            self.say(format_args!(
                "punzip: note: ... and {} more extracted without their mode",
                self.unset_modes - SHOW
            ));
        }
        if !self.quiet && self.unset_meta > SHOW {
            self.say(format_args!(
                "punzip: warning: ... and {} more extracted without their mode or time",
                self.unset_meta - SHOW
            ));
        }
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
        // A run stopped as a whole (a full disk, a read-only file system, Ctrl-C) leaves
        // members it never reached, which no line names: they are counted.
        let stopped = report
            .errors()
            .any(|e| e.is_fatal() || matches!(e, Error::Interrupted));
        if stopped && self.exists == 0 {
            let t = report.totals();
            let planned = report.plan().members.len() as u64;
            // Extracting, every member not written counts, the one that failed as it
            // stopped the run included (the count left it out, and read as one short of
            // what was missing). Testing, a member that failed was tested; those whose
            // failure was not said (see `error`) are counted.
            let done = t.files + t.dirs + t.links + t.skipped;
            let reached = if testing {
                (done + t.errors).saturating_sub(self.after_fatal)
            } else {
                done
            };
            if planned > reached {
                self.say(format_args!(
                    "punzip: {} of {planned} members were not {}: the run stopped",
                    planned - reached,
                    if testing { "tested" } else { "extracted" }
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
