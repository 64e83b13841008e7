//! The progress line on stderr: a spinner while the plan is made, then a bar in bytes that
//! moves as the workers decode (see [`punzip::unzip::OnBytes`]). Shown on a terminal for
//! archives big enough to take a while, or when asked; kept out of the way of every line
//! printed meanwhile.

use std::path::Path;

use punzip::error::Shown;
use punzip::totals::{human_bytes, mb_per_s};
use punzip::unzip;

use crate::common::say;
use crate::common::term::{self, StderrTerm};
use crate::Cli;

/// Whether to show the progress bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ProgressMode {
    /// On a terminal, for archives big enough to take a while; not with -q.
    Auto,
    /// Always (`--progress`), even when stderr is not a terminal.
    On,
    /// Never (`--no-progress`, or -q).
    Off,
}

pub(crate) fn progress_mode(cli: &Cli) -> ProgressMode {
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
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    mode: ProgressMode,
    /// Frames go to a file or a pipe (`--progress`), each ended by `\r`: the last one
    /// gets a newline when the bar is put away, once.
    plain: std::sync::atomic::AtomicBool,
}

impl Progress {
    pub(crate) fn new(mode: ProgressMode) -> Progress {
        use std::io::IsTerminal;
        let tty = std::io::stderr().is_terminal();
        if mode == ProgressMode::Off || (mode == ProgressMode::Auto && !term::stderr_can_draw()) {
            return Progress {
                bar: None,
                mode,
                plain: false.into(),
            };
        }
        let target =
            // Cursor moves and clearing only where they work (`--progress` on TERM=dumb
            // gets plain `\r` frames).
            indicatif::ProgressDrawTarget::term_like_with_hz(
                Box::new(StderrTerm::new(tty && term::stderr_can_draw())),
                10,
            );
        let bar = indicatif::ProgressBar::with_draw_target(None, target);
        Progress {
            bar: Some(bar),
            mode,
            plain: (!(tty && term::stderr_can_draw())).into(),
        }
    }

    /// A spinner while the central directory is read and checked, drawn only once that
    /// has taken a quarter of a second: most plans are done sooner, and a line drawn and
    /// cleared at once is a flash on the terminal, nothing a user can read.
    pub(crate) fn planning(&self, archive: &Path) {
        let Some(bar) = &self.bar else { return };
        const QUIET_FOR: std::time::Duration = std::time::Duration::from_millis(250);
        let text = format!("planning {}...", Shown::path(archive));
        bar.set_style(
            indicatif::ProgressStyle::with_template("{late_spinner}{late_msg}")
                .expect("valid template")
                .with_key(
                    "late_spinner",
                    |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        if s.elapsed() >= QUIET_FOR {
                            let _ = write!(w, "{} ", term::spinner_frame(s.elapsed()));
                        }
                    },
                )
                .with_key(
                    "late_msg",
                    move |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        if s.elapsed() >= QUIET_FOR {
                            let _ = write!(w, "{text} {}s", s.elapsed().as_secs());
                        }
                    },
                ),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
    }

    /// The bar proper, once the plan is known. In auto mode, small archives (done in
    /// a blink) get none.
    pub(crate) fn start(&self, bytes: u64, members: usize) {
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
                "{bar:30} {percent_capped:>4} {done}/{total} {rate} eta {eta_settled}",
            )
            .expect("valid template")
            .progress_chars(term::bar_chars())
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
                // The first members run behind the directories and cold caches: an
                // estimate from them said "eta 16m" for a run of 0.8 s. None until a
                // twentieth of the bytes is done.
                "eta_settled",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    if s.pos() * 20 < s.len().unwrap_or(0) {
                        let _ = write!(w, "...");
                    } else {
                        let _ = write!(w, "{:#}", indicatif::HumanDuration(s.eta()));
                    }
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
    pub(crate) fn on_bytes(&self) -> Option<unzip::OnBytes> {
        let bar = self.bar.clone()?;
        Some(unzip::OnBytes(std::sync::Arc::new(move |n| {
            if !bar.is_finished() {
                bar.inc(n);
            }
        })))
    }

    /// Counts the bytes of a member kept as it was (`-n`): none of them will be decoded.
    pub(crate) fn kept(&self, m: &unzip::Member) {
        let Some(bar) = &self.bar else { return };
        if m.kind != unzip::meta::Kind::File {
            return;
        }
        let len = bar.length().unwrap_or(0);
        bar.set_position(bar.position().saturating_add(m.size).min(len));
    }

    /// Runs `f` with the bar out of the way (for a line on stdout or stderr).
    pub(crate) fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) if !bar.is_finished() => bar.suspend(f),
            _ => f(),
        }
    }

    /// Removes the bar (at the end, on an error, after Ctrl-C).
    pub(crate) fn clear(&self) {
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
