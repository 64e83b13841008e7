//! Where both tools draw their progress line: stderr, through [`StderrTerm`], which keeps
//! the line off the screen while the process is in the background (a job started with `&`
//! or stopped and resumed with `bg` drew over the shell's prompt and what was being typed
//! there), and in what glyphs: Braille spinner frames and block bars in a UTF-8 locale,
//! ASCII ones elsewhere (in C they came out as raw UTF-8 bytes).

use std::io::IsTerminal;

/// Whether an automatic progress line belongs on stderr: a terminal that can take one
/// (`TERM=dumb`, as Emacs's shell sets it, cannot move the cursor or clear a line).
pub fn stderr_can_draw() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

/// Whether this process is in its terminal's foreground (true when stderr is no
/// terminal: then there is nobody's prompt to draw over).
fn in_foreground() -> bool {
    // SAFETY: plain queries of this process and of the descriptor stderr is.
    unsafe {
        let fg = libc::tcgetpgrp(libc::STDERR_FILENO);
        fg == -1 || fg == libc::getpgrp()
    }
}

/// The frames of a spinner, one every 100 ms.
pub fn spinner_frame(elapsed: std::time::Duration) -> char {
    const BRAILLE: [char; 8] = ['⠁', '⠂', '⠄', '⡀', '⢀', '⠠', '⠐', '⠈'];
    const ASCII: [char; 4] = ['|', '/', '-', '\\'];
    let n = (elapsed.as_millis() / 100) as usize;
    if punzip::locale::utf8_locale() {
        BRAILLE[n % BRAILLE.len()]
    } else {
        ASCII[n % ASCII.len()]
    }
}

/// The characters a bar is drawn with: filled, empty (punzip's bar; phash has none).
#[allow(dead_code)]
pub fn bar_chars() -> &'static str {
    if punzip::locale::utf8_locale() {
        "█░"
    } else {
        "#-"
    }
}

/// Where the bar is drawn: stderr, with cursor moves and line clearing on a terminal,
/// plain `\r` lines otherwise (`--progress` on a pipe). Output is buffered and written
/// once per frame.
///
/// The width it reports is three columns short of the terminal's (never held at a minimum:
/// lines longer than it are broken there, see `write_str`): indicatif pads the bar
/// line to the full width, and the `^C` the terminal echoes on Ctrl-C would then wrap it
/// onto a second line, which the final clearing misses, leaving a stale bar on screen.
#[derive(Debug)]
pub struct StderrTerm {
    ansi: bool,
    buf: std::sync::Mutex<Vec<u8>>,
}

impl StderrTerm {
    pub fn new(ansi: bool) -> StderrTerm {
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
        cols.saturating_sub(3).max(1)
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
        self.write_str(s)?;
        self.put(b"\n")
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        if !self.ansi {
            return self.put(s.as_bytes());
        }
        // A line longer than the width wraps where indicatif counts it wrapping (at the
        // width reported, three columns short), not at the terminal's edge: otherwise it
        // takes fewer rows than indicatif moves up to clear, and each frame either left
        // rows behind (below 20 columns, where the width was held at 20: a narrow tmux
        // pane filled with bars) or cleared lines printed before it.
        let width = usize::from(self.width());
        let mut out = String::with_capacity(s.len() + s.len() / width + 1);
        for (i, c) in s.chars().enumerate() {
            if i > 0 && i % width == 0 {
                out.push('\n');
            }
            out.push(c);
        }
        self.put(out.as_bytes())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.put(if self.ansi { b"\r\x1b[2K" } else { b"\r" })
    }
    fn flush(&self) -> std::io::Result<()> {
        use std::io::Write;
        let bytes = std::mem::take(&mut *self.buf.lock().unwrap_or_else(|e| e.into_inner()));
        if !in_foreground() {
            // In the background: the frame is dropped; the next one after `fg` is drawn.
            return Ok(());
        }
        let mut err = std::io::stderr().lock();
        // A closed stderr just means no bar.
        let _ = err.write_all(&bytes).and_then(|_| err.flush());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::TermLike;

    /// A frame line longer than the width is broken where indicatif counts its rows (at
    /// the width reported), so that clearing the frame clears exactly what was drawn; on
    /// a pipe (no cursor moves) it is written whole.
    #[test]
    fn a_line_wider_than_the_terminal_is_broken_at_the_reported_width() {
        let term = StderrTerm::new(true);
        let width = usize::from(term.width());
        let line: String = "█".repeat(width) + &"x".repeat(width + 5);
        term.write_line(&line).unwrap();
        let drawn = String::from_utf8(std::mem::take(&mut *term.buf.lock().unwrap())).unwrap();
        let rows: Vec<&str> = drawn.trim_end_matches('\n').split('\n').collect();
        assert_eq!(rows.len(), 3, "{drawn:?}");
        assert!(rows.iter().all(|r| r.chars().count() <= width));
        assert_eq!(rows.concat(), line);
        let plain = StderrTerm::new(false);
        plain.write_line(&line).unwrap();
        assert_eq!(*plain.buf.lock().unwrap(), format!("{line}\n").into_bytes());
    }
}
