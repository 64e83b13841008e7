//! Standard input and output as they were when the process started. Rust's runtime puts
//! /dev/null in place of a closed descriptor 0, 1 or 2 before `main`, so `phash <&-` read
//! nothing and printed the MD5 of the empty string with exit 0, and `phash >&-` wrote
//! every line to nowhere with exit 0; md5sum fails both with "Bad file descriptor". A
//! function in `.init_array` looks before the runtime does, and the readers and writers
//! here fail with `EBADF` where the descriptor was closed. Use them, never `io::stdin()`
//! or `io::stdout()`, for anything a user would miss.

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};

static STDIN_CLOSED: AtomicBool = AtomicBool::new(false);
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Runs from `.init_array`, before Rust's runtime fills closed descriptors with /dev/null:
/// by then there is nothing left to tell the two apart.
extern "C" fn note_closed_descriptors() {
    for (fd, closed) in [(0, &STDIN_CLOSED), (1, &STDOUT_CLOSED)] {
        // SAFETY: F_GETFD on a descriptor number only reads the descriptor table.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            closed.store(true, Ordering::Relaxed);
        }
    }
}

#[used]
#[link_section = ".init_array"]
static NOTE_CLOSED_DESCRIPTORS: extern "C" fn() = note_closed_descriptors;

/// Whether `fd` is a pipe, FIFO or socket: a stream whose end may be a writer's death
/// (see [`crate::cancel::stream_cut`]).
pub fn is_pipe(fd: impl AsFd) -> bool {
    rustix::fs::fstat(fd).is_ok_and(|st| {
        matches!(
            rustix::fs::FileType::from_raw_mode(st.st_mode),
            rustix::fs::FileType::Fifo | rustix::fs::FileType::Socket
        )
    })
}

/// Whether standard input was closed when the process started (`<&-`).
pub fn stdin_closed_at_start() -> bool {
    STDIN_CLOSED.load(Ordering::Relaxed)
}

/// Whether standard output was closed when the process started (`>&-`).
pub fn stdout_closed_at_start() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

fn gone() -> io::Error {
    io::Error::from_raw_os_error(libc::EBADF)
}

/// Standard input, failing every read with `EBADF` if it was closed at start.
pub struct Stdin(io::Stdin);

pub fn stdin() -> Stdin {
    Stdin(io::stdin())
}

impl Read for Stdin {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if stdin_closed_at_start() {
            return Err(gone());
        }
        self.0.read(buf)
    }
}

impl AsFd for Stdin {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// Standard output, failing every write with `EBADF` if it was closed at start.
pub struct Stdout(io::Stdout);

pub fn stdout() -> Stdout {
    Stdout(io::stdout())
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if stdout_closed_at_start() {
            return Err(gone());
        }
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if stdout_closed_at_start() {
            return Err(gone());
        }
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl AsFd for Stdout {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}
