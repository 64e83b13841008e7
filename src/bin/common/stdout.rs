//! Standard output as both tools write it. A reader that goes away (`| head`) is a quiet
//! end of output, as in ripgrep. A standard output that was closed before the tool
//! started (`phash >&-`, a daemon's closed descriptor) is an error on the first write, as
//! in md5sum ("write error: Bad file descriptor"): see [`punzip::stdio`].

use std::fmt;
use std::io::{self, Write};

pub use punzip::stdio::stdout as raw;
/// Standard output, failing every write with `EBADF` if it was closed at start.
pub type Raw = punzip::stdio::Stdout;

/// A writer that, on every flush, also asks whether its reader has gone away (`POLLERR`
/// on the write end of a pipe or socket) and then fails as a write would, with `EPIPE`.
/// phash flushes when it is about to wait: behind a group of big files the next write
/// may be seconds away, and `phash /usr/lib | head -1` should end when `head` does, not
/// when the next line is ready.
#[allow(dead_code)]
pub struct WatchClosed<W>(pub W);

impl<W: Write + std::os::fd::AsFd> Write for WatchClosed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        self.0.flush()?;
        let mut fd = libc::pollfd {
            fd: self.0.as_fd().as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no waiting (timeout 0).
        let ready = unsafe { libc::poll(&mut fd, 1, 0) };
        if ready > 0 && fd.revents & libc::POLLERR != 0 {
            return Err(io::Error::from_raw_os_error(libc::EPIPE));
        }
        Ok(())
    }
}

/// A writer whose failures do not end the work: once a write fails, it and every later
/// write are taken and dropped, and the failure (other than `EPIPE`) is kept for the end.
/// `phash -c` writes through this, as `md5sum -c` goes on: `phash -c SUMS | head -1` (or
/// `--status | true`) still checks every file and exits with the verdict (it exited 0
/// before checking the rest), and `phash -c SUMS > /dev/full` still says which files were
/// missing and how many failed, then that standard output failed (it stopped at once).
#[allow(dead_code)]
pub struct DropClosed<W> {
    inner: W,
    closed: bool,
    failed: Option<io::Error>,
}

#[allow(dead_code)]
impl<W: Write> DropClosed<W> {
    pub fn new(inner: W) -> DropClosed<W> {
        DropClosed {
            inner,
            closed: false,
            failed: None,
        }
    }

    /// The first write failure other than a reader gone away, if there was one.
    pub fn take_failure(&mut self) -> Option<io::Error> {
        self.failed.take()
    }

    /// Notes a failed write; every later one is dropped.
    fn note(&mut self, r: io::Result<()>) {
        if let Err(e) = r {
            self.closed = true;
            if e.kind() != io::ErrorKind::BrokenPipe {
                self.failed.get_or_insert(e);
            }
        }
    }
}

impl<W: Write> Write for DropClosed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.closed {
            let r = self.inner.write_all(buf);
            self.note(r);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.closed {
            let r = self.inner.flush();
            self.note(r);
        }
        Ok(())
    }
}

/// Standard output, where a closed pipe (`| head`) ends the output quietly: once a write
/// fails with `EPIPE`, later writes are dropped and the work goes on to the end, with the
/// exit status it would have had (ripgrep's habit). Other write errors are returned.
#[allow(dead_code)]
pub struct Stdout {
    out: io::BufWriter<Raw>,
    closed: bool,
    /// Flush after every line: on a terminal lines show up at once, between messages on
    /// stderr; into a file or a pipe they go in large writes.
    line_flush: bool,
}

#[allow(dead_code)]
impl Stdout {
    pub fn new() -> Stdout {
        use std::io::IsTerminal;
        Stdout {
            out: io::BufWriter::with_capacity(64 * 1024, raw()),
            closed: false,
            line_flush: io::stdout().is_terminal(),
        }
    }

    /// Whether the reader has gone away.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Writes `bytes` and flushes, unless the reader has gone away.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.guard(|out| out.write_all(bytes))?;
        self.flush()
    }

    /// Writes one line (flushed at once on a terminal). Call [`Stdout::flush`] at the end.
    pub fn line(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        self.guard(|out| out.write_fmt(args).and_then(|_| out.write_all(b"\n")))?;
        if self.line_flush {
            self.flush()?;
        }
        Ok(())
    }

    /// Runs `f` on the buffered writer (a listing, a table), unless closed.
    pub fn with(
        &mut self,
        f: impl FnOnce(&mut io::BufWriter<Raw>) -> io::Result<()>,
    ) -> io::Result<()> {
        self.guard(f)?;
        self.flush()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.guard(|out| out.flush())
    }

    fn guard(
        &mut self,
        f: impl FnOnce(&mut io::BufWriter<Raw>) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match f(&mut self.out) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                // Whatever is still buffered can never be written; drop it so that the
                // BufWriter does not try again when it is dropped.
                let _ = std::mem::replace(&mut self.out, io::BufWriter::with_capacity(0, raw()))
                    .into_parts();
                Ok(())
            }
            other => other,
        }
    }
}

/// The listing writes through this: a closed pipe ends the output quietly as for every
/// other line, and on a terminal each line shows up at once.
impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.guard(|out| out.write_all(buf))?;
        if self.line_flush && buf.contains(&b'\n') {
            Stdout::flush(self)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Stdout::flush(self)
    }
}
