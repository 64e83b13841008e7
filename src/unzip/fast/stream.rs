//! Big deflated members, decoded in a pipeline of two threads: this thread inflates
//! chunk n+1 (zlib-rs, streaming, about libdeflate's speed) while a writer thread takes
//! the CRC of chunk n and `write()`s it to the output file.
//!
//! Why not libdeflate into a mapped output file, as before: libdeflate decodes only whole
//! streams into one buffer, so a member larger than memory had to be decoded into the
//! output file mapped in memory, after `fallocate` (a full disk must fail, not fault).
//! The profile of one 1 GiB member on tmpfs showed a third of the time in the kernel on
//! the decoding thread: `fallocate` zeroing every page, then one page fault per page.
//! Here the decoder only ever touches a few reused buffers (no faults, anonymous memory
//! bounded by [`CHUNK`] × [`BUFFERS`] whatever the member's size), the kernel work of
//! `write()` runs on the other core, a full disk is an ordinary `ENOSPC`, and the stop
//! flag is checked between chunks.
//!
//! The checks are those of [`super`] (the whole-member path): the output may not exceed the declared size
//! (the decoder is never given room for more than one byte beyond it), must reach it,
//! and must match the CRC-32.

use std::io::{self, Write};
use std::sync::mpsc;

use super::FastError;

/// Bytes per chunk handed to the writer.
pub const CHUNK: usize = 8 << 20;
/// Chunks in flight: one being decoded, one being written, one spare.
const BUFFERS: usize = 3;

/// Why a member did not stream out.
#[derive(Debug)]
pub enum StreamError {
    /// The data did not check out.
    Data(FastError),
    /// Writing the output failed.
    Write(io::Error),
    /// `stop` said so between two chunks.
    Stopped,
}

/// Inflates raw deflate `data` into `out`, which must come to exactly `size` bytes with
/// CRC-32 `crc`. `stop` is asked between chunks whether to give up. On error, `out`
/// holds a prefix of the data (the caller discards the file).
pub fn inflate_to(
    data: &[u8],
    size: u64,
    crc: u32,
    out: &mut (impl Write + Send + ?Sized),
    stop: impl Fn() -> bool,
) -> Result<(), StreamError> {
    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<u8>>(BUFFERS);
    let (empty_tx, empty_rx) = mpsc::sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        empty_tx
            .send(vec![0; CHUNK])
            .expect("room for every buffer");
    }
    let ahead = &mut *out;
    let threaded = std::thread::scope(|s| {
        let writer = std::thread::Builder::new().spawn_scoped(s, move || -> io::Result<u32> {
            let mut sum = libdeflater::Crc::new();
            for buf in full_rx {
                sum.update(&buf);
                ahead.write_all(&buf)?;
                // The decoder may have stopped; then nobody takes the buffer back.
                let _ = empty_tx.send(buf);
            }
            Ok(sum.sum())
        });
        // No thread to write beside the decoder (a process limit): inline, below.
        let Ok(writer) = writer else { return None };
        let decoded = decode(
            data,
            size,
            || empty_rx.recv().ok(),
            |buf| full_tx.send(buf).is_ok(),
            &stop,
        );
        drop(full_tx);
        let written = writer.join().expect("the writer thread does not panic");
        Some(outcome(decoded, written, crc))
    });
    match threaded {
        Some(result) => result,
        None => inflate_inline(data, size, crc, out, stop),
    }
}

/// [`inflate_to`] on the calling thread alone: each chunk checked and written as soon as
/// it is decoded. For a process that cannot start the writer thread (a process limit);
/// the member failed with "write: Resource temporarily unavailable" where nothing was
/// written.
fn inflate_inline(
    data: &[u8],
    size: u64,
    crc: u32,
    out: &mut (impl Write + ?Sized),
    stop: impl Fn() -> bool,
) -> Result<(), StreamError> {
    let spare = std::cell::RefCell::new(Some(vec![0; CHUNK]));
    let mut sum = libdeflater::Crc::new();
    let mut write_error = None;
    let decoded = decode(
        data,
        size,
        || spare.borrow_mut().take(),
        |buf| {
            sum.update(&buf);
            if let Err(e) = out.write_all(&buf) {
                write_error = Some(e);
                return false;
            }
            *spare.borrow_mut() = Some(buf);
            true
        },
        &stop,
    );
    let written = match write_error {
        Some(e) => Err(e),
        None => Ok(sum.sum()),
    };
    outcome(decoded, written, crc)
}

/// The member's result from the decoder's and the writer's (the CRC of what it wrote).
fn outcome(
    decoded: Result<(), StreamError>,
    written: io::Result<u32>,
    crc: u32,
) -> Result<(), StreamError> {
    match (decoded, written) {
        // A write error also stops the decoder (its send fails): it comes first.
        (_, Err(e)) => Err(StreamError::Write(e)),
        (Err(e), Ok(_)) => Err(e),
        (Ok(()), Ok(got)) if got != crc => Err(StreamError::Data(FastError::BadCrc { got })),
        (Ok(()), Ok(_)) => Ok(()),
    }
}

/// The decoding side: fills the buffers `empty` gives, hands them to `full` (false: the
/// writer has stopped).
fn decode(
    mut data: &[u8],
    size: u64,
    mut empty: impl FnMut() -> Option<Vec<u8>>,
    mut full: impl FnMut(Vec<u8>) -> bool,
    stop: &impl Fn() -> bool,
) -> Result<(), StreamError> {
    let mut inf = zlib_rs::Inflate::new(false, 15);
    let mut total: u64 = 0;
    let mut status = zlib_rs::Status::Ok;
    loop {
        if stop() {
            return Err(StreamError::Stopped);
        }
        // The writer is gone only after a write error, which the caller reports.
        let Some(mut buf) = empty() else {
            return Err(StreamError::Stopped);
        };
        // Room for one byte beyond the declared size, so that "exactly right" and
        // "would have gone on" differ, and never more: a bomb stops there.
        let room = usize::try_from((size - total).saturating_add(1))
            .unwrap_or(usize::MAX)
            .min(CHUNK);
        buf.resize(room, 0);
        let mut filled = 0;
        while filled < room {
            let (in0, out0) = (inf.total_in(), inf.total_out());
            status = inf
                .decompress(data, &mut buf[filled..], zlib_rs::InflateFlush::NoFlush)
                .map_err(|_| StreamError::Data(FastError::BadData))?;
            let used = (inf.total_in() - in0) as usize;
            let made = (inf.total_out() - out0) as usize;
            data = &data[used..];
            filled += made;
            if status == zlib_rs::Status::StreamEnd || (used == 0 && made == 0) {
                break;
            }
        }
        buf.truncate(filled);
        total += filled as u64;
        if total > size {
            return Err(StreamError::Data(FastError::TooLong));
        }
        let more = status != zlib_rs::Status::StreamEnd && filled == room;
        if filled > 0 && !full(buf) {
            return Err(StreamError::Stopped);
        }
        if !more {
            break;
        }
    }
    if total < size {
        return Err(StreamError::Data(FastError::Truncated { got: total }));
    }
    // The declared size, but the data ran out before the stream's last block ended.
    if status != zlib_rs::Status::StreamEnd {
        return Err(StreamError::Data(FastError::BadData));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
        let mut out = vec![0; c.deflate_compress_bound(data.len())];
        let n = c.deflate_compress(data, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// A few chunks' worth of text, not a whole number of chunks.
    fn text() -> Vec<u8> {
        let mut t = Vec::new();
        let mut i = 0u64;
        while t.len() < 2 * CHUNK + 12345 {
            t.extend_from_slice(
                format!("line {i} of the quick brown fox {}\n", i * 7919 % 1000).as_bytes(),
            );
            i += 1;
        }
        t
    }

    /// `inflate_to`'s result and output, checked to be the inline path's too.
    fn run(z: &[u8], size: usize, crc: u32) -> (Result<(), StreamError>, Vec<u8>) {
        let mut out = Vec::new();
        let r = inflate_to(z, size as u64, crc, &mut out, || false);
        let mut alone = Vec::new();
        let a = inflate_inline(z, size as u64, crc, &mut alone, || false);
        assert_eq!(format!("{r:?}"), format!("{a:?}"), "the two paths agree");
        assert!(alone == out, "the two paths write the same bytes");
        (r, out)
    }

    #[test]
    fn a_member_of_several_chunks_comes_out_whole_and_checked() {
        let data = text();
        let crc = libdeflater::crc32(&data);
        let (r, out) = run(&deflate(&data), data.len(), crc);
        r.unwrap();
        assert!(out == data);
    }

    #[test]
    fn size_and_crc_are_enforced() {
        let data = text();
        let crc = libdeflater::crc32(&data);
        let z = deflate(&data);
        let n = data.len();
        assert!(matches!(
            run(&z, n - 1, crc).0,
            Err(StreamError::Data(FastError::TooLong))
        ));
        assert!(matches!(
            run(&z, CHUNK, crc).0,
            Err(StreamError::Data(FastError::TooLong))
        ));
        assert!(matches!(
            run(&z, n + 1, crc).0,
            Err(StreamError::Data(FastError::Truncated { got })) if got == n as u64
        ));
        assert!(matches!(
            run(&z, n, crc ^ 1).0,
            Err(StreamError::Data(FastError::BadCrc { .. }))
        ));
        // Cut short: the stream never ends.
        assert!(matches!(
            run(&z[..z.len() / 2], n, crc).0,
            Err(StreamError::Data(FastError::Truncated { .. }))
        ));
        let mut bad = z.clone();
        bad[z.len() / 3] ^= 0x55;
        assert!(run(&bad, n, crc).0.is_err());
    }

    #[test]
    fn a_write_error_and_a_stop_end_the_pipeline() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from_raw_os_error(libc::ENOSPC))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let data = text();
        let crc = libdeflater::crc32(&data);
        let z = deflate(&data);
        let r = inflate_to(&z, data.len() as u64, crc, &mut Full, || false);
        assert!(matches!(r, Err(StreamError::Write(e)) if e.raw_os_error() == Some(libc::ENOSPC)));
        let r = inflate_to(&z, data.len() as u64, crc, &mut io::sink(), || true);
        assert!(matches!(r, Err(StreamError::Stopped)));
    }
}
