//! The progress line on stderr: a spinner while the plan is made, then a bar in bytes that
//! moves as the workers decode (see [`punzip::unzip::OnBytes`]). Shown on a terminal for
//! archives big enough to take a while, or when asked; kept out of the way of every line
//! printed meanwhile.

use std::path::Path;

use punzip::error::Shown;
use punzip::totals::{human_bytes, mb_per_s};
use punzip::unzip;

use crate::common::say;
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
                            const FRAMES: [char; 8] = ['⠁', '⠂', '⠄', '⡀', '⢀', '⠠', '⠐', '⠈'];
                            let frame = FRAMES[(s.elapsed().as_millis() / 100) as usize % 8];
                            let _ = write!(w, "{frame} ");
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
