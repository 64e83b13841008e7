//! `punzip -p`: the selected members' bytes to one writer (standard output), in archive
//! order, nothing else, as `unzip -p` writes them; decoded in parallel, written in order,
//! in bounded memory.
//!
//! How the work is split, and why:
//! - Stored members (not encrypted) are copied out of the archive's map a chunk at a
//!   time, each chunk added to the CRC as it is copied, so that what is written is what
//!   was checked even if the archive changes meanwhile: up to [`WHOLE_MAX`] by a worker
//!   into a buffer (like a decoded member, below), bigger ones by the writer straight to
//!   the output (a bad CRC is then said after the bytes, as for big deflated members).
//! - Other members up to [`WHOLE_MAX`] are decoded whole by a worker into a buffer that
//!   travels to the writing thread, so many small members decode on every core at once.
//!   The buffers in flight are bounded by a byte budget ([`BUDGET`]): the producer takes
//!   a member's declared size from it before handing the member out, the writer gives it
//!   back once the bytes are written, so the decoders never run more than that ahead of
//!   a slow reader of the pipe.
//! - Larger members are decoded on the writing thread when their turn comes, in chunks
//!   ([`super::members::Decoder::stream`]): holding one whole would cost its size in
//!   memory, and decoding it ahead in chunks could only run as far ahead as a buffer
//!   allows anyway, since its bytes must wait for every member before it. Meanwhile the
//!   workers decode the small members that follow, up to the budget.
//!
//! A small bad member is not written at all; a member decoded in chunks may be partly
//! written before its CRC fails at its end, as `unzip -p` does. Either way it is an
//! error naming it, and the members after it are still written.

use std::io::{self, BufWriter, Write};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::extract::{truncated, Outcome};
use super::members::{self, Decoder, Failed};
use super::plan::{Archive, Member, Plan, Reader};
use crate::error::{Error, Result};
use crate::pool;
use crate::sigbus::Guard;
use crate::totals::Totals;

/// Members (other than stored ones) up to this size are decoded whole by a worker;
/// larger ones in chunks by the writing thread.
pub const WHOLE_MAX: u64 = 4 << 20;
/// Decoded bytes held in buffers at once, at most.
pub const BUDGET: u64 = 64 << 20;
/// The writer's buffer: small members are gathered into large writes.
const OUT_BUF: usize = 256 * 1024;

/// How to run `-p`.
#[derive(Clone, Debug)]
pub struct PipeOptions {
    pub jobs: NonZeroUsize,
    pub password: Option<Vec<u8>>,
    /// Refuse to start if the declared output is larger than this (`--max-size`): a
    /// bomb piped out is as much a bomb as one written to disk.
    pub max_size: Option<u64>,
}

/// What `-p` did.
#[derive(Debug, Default)]
pub struct Piped {
    /// Members written, bytes, and the members that failed (each error names it).
    pub outcome: Outcome,
    /// Why the output stopped taking bytes, if it did (a closed pipe is `BrokenPipe`);
    /// nothing more was written after it.
    pub output: Option<io::Error>,
}

/// A member's bytes as a worker hands them to the writer.
enum Piece {
    /// Checked in the archive's map: write them from there.
    Mapped,
    /// Decoded and checked.
    Bytes(Vec<u8>),
    /// Too large to hold: the writer decodes it in chunks.
    Later,
}

/// Whether a worker decodes `m` into a buffer (and so what it costs of the budget).
fn buffered(m: &Member) -> bool {
    m.size <= WHOLE_MAX
}

fn stored(m: &Member) -> bool {
    !m.encrypted && m.method == zip::CompressionMethod::Stored
}

fn cost(m: &Member) -> u64 {
    if buffered(m) {
        m.size
    } else {
        0
    }
}

/// Writes the bytes of every regular file and symlink member of `plan` (a symlink's
/// target, as `unzip -p` does) to `out`, in archive order, calling `on_error` as members
/// fail. Stops at the first write error (see [`Piped::output`]) or an interrupt.
pub fn pipe(
    archive: &Archive,
    reader: &Reader<'_>,
    plan: &Plan,
    opts: &PipeOptions,
    out: &mut dyn Write,
    on_error: &mut dyn FnMut(&Error),
) -> Piped {
    let start = Instant::now();
    let mut done = Piped::default();
    let password = opts.password.as_deref();
    let stop = AtomicBool::new(false);
    let halted = || stop.load(Ordering::Relaxed) || crate::cancel::interrupted();
    // Less under a container's memory limit ([`crate::memlimit`]).
    let budget = Budget::new(crate::memlimit::share(BUDGET, 1));
    let items = members::selected(plan, true).into_iter().inspect(|m| {
        budget.take(cost(m), &halted);
    });
    let mut out = BufWriter::with_capacity(OUT_BUF, out);
    let mut writer = Decoder::new(archive, reader, password);
    // A truncated archive reads as zeros instead of killing us (SIGBUS): each member is
    // checked against the guard before its bytes go out, and the run stops at the first.
    let guard = Guard::new(archive.bytes());
    // Set once the truncation is reported: the members still in flight are dropped
    // silently (one message for the archive, not one per member).
    let mut cut = false;

    pool::stream(
        opts.jobs,
        items,
        &stop,
        || Decoder::new(archive, reader, password),
        |d, m| decode(d, m),
        |delivery| {
            let (m, piece) = match delivery {
                pool::Delivery::Done(m, piece) => (m, piece),
                pool::Delivery::Idle => {
                    // Bytes reach the reader while slow members are still at work.
                    if done.output.is_none() {
                        if let Err(e) = out.flush() {
                            stop.store(true, Ordering::Relaxed);
                            done.output = Some(e);
                        }
                    }
                    return;
                }
            };
            budget.give(cost(m));
            if done.output.is_some() || cut {
                return;
            }
            let written = match piece {
                _ if guard.tripped() => Err(Failed::Member(truncated(archive, Some(m)))),
                // A big stored member: checked as the writer copies it out, so that what
                // goes out is what was checked (a bad CRC is said after its bytes, as for
                // a big deflated member).
                Ok(Piece::Mapped) => writer.copy_stored(m, &mut |chunk| out.write_all(chunk)),
                Ok(Piece::Bytes(bytes)) => out.write_all(&bytes).map_err(Failed::Output),
                Ok(Piece::Later) => writer
                    .stream(m, &mut |chunk| out.write_all(chunk))
                    .and_then(|_| match guard.tripped() {
                        true => Err(Failed::Member(truncated(archive, Some(m)))),
                        false => Ok(()),
                    }),
                Err(e) => Err(Failed::Member(e)),
            };
            let written = match written {
                Ok(()) if guard.tripped() => Err(Failed::Member(truncated(archive, Some(m)))),
                w => w,
            };
            match written {
                Ok(()) => {
                    done.outcome.totals += Totals {
                        files: 1,
                        bytes_in: m.compressed,
                        bytes_out: m.size,
                        ..Totals::default()
                    }
                }
                // Reported once for the run, below.
                Err(Failed::Member(Error::Interrupted)) => {}
                Err(Failed::Member(e)) => {
                    // Pages the archive lost read as zeros, which fail the CRC: the
                    // truncation is what to say (exit 3), not the CRC (exit 2).
                    let e = if guard.tripped() {
                        stop.store(true, Ordering::Relaxed);
                        cut = true;
                        truncated(archive, Some(m))
                    } else {
                        e
                    };
                    on_error(&e);
                    done.outcome.totals.errors += 1;
                    done.outcome.errors.push(e);
                }
                Err(Failed::Output(e)) => {
                    stop.store(true, Ordering::Relaxed);
                    done.output = Some(e);
                }
            }
        },
    );
    if done.output.is_none() {
        if let Err(e) = out.flush() {
            done.output = Some(e);
        }
    }
    if done.output.is_some() {
        // Whatever is still buffered can never be written: drop it rather than let the
        // BufWriter try again.
        drop(out.into_parts());
    }
    if crate::cancel::interrupted() {
        on_error(&Error::Interrupted);
        done.outcome.errors.push(Error::Interrupted);
    }
    done.outcome.elapsed = start.elapsed();
    done
}

/// A worker's part: decode a small member into a buffer (a stored one copied out of the
/// map and checked as it is copied), leave a large one to the writer.
fn decode(d: &mut Decoder<'_>, m: &Member) -> Result<Piece> {
    if stored(m) && !buffered(m) {
        return Ok(Piece::Mapped);
    }
    if stored(m) {
        let mut bytes = Vec::with_capacity(m.size as usize);
        return match d.copy_stored(m, &mut |chunk| {
            bytes.extend_from_slice(chunk);
            Ok(())
        }) {
            Ok(()) => Ok(Piece::Bytes(bytes)),
            Err(Failed::Member(e)) => Err(e),
            Err(Failed::Output(_)) => unreachable!("a buffer never refuses bytes"),
        };
    }
    if !buffered(m) {
        return Ok(Piece::Later);
    }
    if let Some(r) = d.whole(m, WHOLE_MAX) {
        return r.map(|bytes| Piece::Bytes(bytes.to_vec()));
    }
    let mut bytes = Vec::with_capacity(m.size as usize);
    match d.stream(m, &mut |chunk| {
        bytes.extend_from_slice(chunk);
        Ok(())
    }) {
        Ok(_) => Ok(Piece::Bytes(bytes)),
        Err(Failed::Member(e)) => Err(e),
        Err(Failed::Output(_)) => unreachable!("a buffer never refuses bytes"),
    }
}

/// Decoded bytes the workers may hold at once. The producer takes a member's share
/// before handing it out (waiting while there is not enough), the writer gives it back
/// once the member is written. A lock and a condition variable: taken once per member,
/// nothing next to decoding it.
struct Budget {
    total: u64,
    left: Mutex<u64>,
    cv: Condvar,
}

impl Budget {
    fn new(total: u64) -> Budget {
        Budget {
            total,
            left: Mutex::new(total),
            cv: Condvar::new(),
        }
    }

    /// Takes `n` (never more than the whole budget), waiting for it; gives up, taking
    /// nothing, once `halted` says the run is stopping.
    fn take(&self, n: u64, halted: &dyn Fn() -> bool) {
        // More than the whole budget would wait forever; the whole of it is as much as a
        // single member can be held to.
        let n = n.min(self.total);
        let mut left = self.left.lock().unwrap_or_else(PoisonError::into_inner);
        while *left < n {
            if halted() {
                return;
            }
            left = self
                .cv
                .wait_timeout(left, Duration::from_millis(20))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *left -= n;
    }

    fn give(&self, n: u64) {
        let n = n.min(self.total);
        if n == 0 {
            return;
        }
        *self.left.lock().unwrap_or_else(PoisonError::into_inner) += n;
        self.cv.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unzip::plan::{self, Filter};

    fn archive(members: &[(&str, zip::CompressionMethod, Vec<u8>)]) -> Archive {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, method, bytes) in members {
            let o = zip::write::SimpleFileOptions::default()
                .compression_method(*method)
                .large_file(bytes.len() > 1 << 20);
            w.start_file(*name, o).unwrap();
            w.write_all(bytes).unwrap();
        }
        Archive::from_bytes("t.zip", w.finish().unwrap().into_inner())
    }

    fn piped(a: &Archive, jobs: usize) -> (Vec<u8>, Piped) {
        let mut reader = a.reader().unwrap();
        let plan =
            plan::build(a, &mut reader, &Filter::default(), 0o022, NonZeroUsize::MIN).unwrap();
        let opts = PipeOptions {
            jobs: NonZeroUsize::new(jobs).unwrap(),
            password: None,
            max_size: None,
        };
        let mut out = Vec::new();
        let p = pipe(a, &reader, &plan, &opts, &mut out, &mut |_| {});
        (out, p)
    }

    /// Bytes that deflate but not to nothing: a member that takes a while to inflate.
    fn text(n: usize, seed: u8) -> Vec<u8> {
        (0..n)
            .map(|i| b"abcdefghij"[(i * 7 + i / 13 + seed as usize) % 10])
            .collect()
    }

    #[test]
    fn every_way_of_decoding_comes_out_in_archive_order_for_any_job_count() {
        use zip::CompressionMethod::{Bzip2, Deflated, Stored};
        let members = vec![
            ("big.txt", Deflated, text(WHOLE_MAX as usize + 12345, 1)),
            ("small.txt", Deflated, text(1000, 2)),
            ("stored.bin", Stored, text(5000, 3)),
            ("bz.txt", Bzip2, text(3000, 4)),
            ("empty", Deflated, Vec::new()),
            ("big-stored.bin", Stored, text(WHOLE_MAX as usize + 1, 5)),
        ];
        let want: Vec<u8> = members.iter().flat_map(|m| m.2.clone()).collect();
        let a = archive(&members);
        for jobs in [1, 2, 4] {
            let (out, p) = piped(&a, jobs);
            assert!(out == want, "jobs={jobs}: output differs");
            assert!(p.outcome.errors.is_empty(), "{:?}", p.outcome.errors);
            assert_eq!(p.outcome.totals.files, members.len() as u64);
        }
    }

    #[test]
    fn the_budget_waits_for_what_was_given_back_and_gives_up_when_halted() {
        let b = Budget::new(10);
        b.take(8, &|| false);
        b.give(8);
        b.take(10, &|| false);
        // Nothing left and the run stopping: returns without taking.
        b.take(5, &|| true);
        b.give(10);
        assert_eq!(*b.left.lock().unwrap(), 10);
        // More than the whole budget takes all of it, and does not wait forever.
        b.take(25, &|| false);
        assert_eq!(*b.left.lock().unwrap(), 0);
        b.give(25);
        assert_eq!(*b.left.lock().unwrap(), 10);
    }
}
