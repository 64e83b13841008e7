//! Out of memory as exit status 4 (unzip's "unable to allocate"), not an abort.
//!
//! Rust ends a process whose allocation the system refuses with SIGABRT: status 134, a
//! core dump where those are on, and "memory allocation of N bytes failed". Under a low
//! `ulimit -v`, as batch systems set it, both tools did that, where the README promised
//! status 4. [`ExitOnOom`] wraps the system allocator; a refused allocation writes
//! `TOOL: out of memory (N bytes refused)` on stderr and ends the process at once with
//! status 4 (phash: 1, as md5sum's "memory exhausted"). Only `write(2)` and `_exit(2)`: nothing may be allocated then, and no lock
//! taken (the thread that holds it may be the one that ran out).
//!
//! What is lost: a named temporary file (file systems without `O_TMPFILE`) stays, as on
//! SIGKILL. What changes: a decoder that asks with `try_reserve` (PPMd's model, an LZMA
//! dictionary) no longer gets a refusal back to turn into a member's error; the run ends
//! with status 4 instead. Sizes an archive declares are checked before anything is
//! allocated for them, but a member up to 64 MiB is still decoded whole in one buffer
//! under a low `ulimit -v` ([`crate::memlimit`] reads control groups, not `RLIMIT_AS`):
//! there an archive unzip extracts can end the run here.

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator, ending the process with `status` when it refuses.
pub struct ExitOnOom {
    /// The tool's name, for the message.
    pub tool: &'static str,
    /// The exit status: 4 for punzip (as unzip); 1 for phash (md5sum's "memory
    /// exhausted" exits 1).
    pub status: i32,
}

// SAFETY: every call is forwarded to `System` unchanged; a null result never returns.
unsafe impl GlobalAlloc for ExitOnOom {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc(layout) };
        if p.is_null() {
            self.refused(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.alloc_zeroed(layout) };
        if p.is_null() {
            self.refused(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if p.is_null() {
            self.refused(new_size);
        }
        p
    }
}

impl ExitOnOom {
    #[cold]
    fn refused(&self, size: usize) -> ! {
        let mut line = [0u8; 128];
        let len = message(&mut line, self.tool, size);
        // SAFETY: a write of a live stack buffer, then _exit: both async-signal-safe and
        // allocation-free.
        unsafe {
            libc::write(2, line.as_ptr().cast(), len);
            libc::_exit(self.status)
        }
    }
}

/// Writes `TOOL: out of memory (N bytes refused)\n` into `buf` without allocating;
/// returns its length (cut at the buffer's end).
fn message(buf: &mut [u8], tool: &str, size: usize) -> usize {
    let mut digits = [0u8; 20];
    let mut n = size;
    let mut d = digits.len();
    loop {
        d -= 1;
        digits[d] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let parts: [&[u8]; 5] = [
        tool.as_bytes(),
        b": out of memory (",
        &digits[d..],
        b" bytes refused)",
        b"\n",
    ];
    let mut len = 0;
    for part in parts {
        let take = part.len().min(buf.len() - len);
        buf[len..len + take].copy_from_slice(&part[..take]);
        len += take;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_names_the_tool_and_the_size() {
        let mut buf = [0u8; 128];
        let n = message(&mut buf, "punzip", 20_000_001);
        assert_eq!(
            &buf[..n],
            b"punzip: out of memory (20000001 bytes refused)\n"
        );
        let n = message(&mut buf, "phash", 0);
        assert_eq!(&buf[..n], b"phash: out of memory (0 bytes refused)\n");
        let n = message(&mut buf, "phash", usize::MAX);
        assert!(buf[..n].ends_with(b"18446744073709551615 bytes refused)\n"));
        let mut small = [0u8; 10];
        assert_eq!(message(&mut small, "punzip", 1), 10);
    }
}
