//! The whole-member fast path: a member that is stored or deflated, not encrypted, and of
//! moderate declared size is decoded in one call from the memory-mapped archive, with
//! libdeflate (about twice zlib's inflate speed), instead of being streamed in chunks
//! through the zip crate's reader. Stored members that are written somewhere are copied
//! out of the map a chunk at a time, each chunk checked as it is copied
//! ([`Inflater::copy_stored`]): the map is shared with whoever writes the archive, so
//! bytes checked in the map and then written from it could differ.
//!
//! Deflated members larger than [`FAST_MAX`] are streamed instead, decoded and written
//! by two threads in a pipeline ([`stream`]), so memory that is not page cache does not
//! grow with member size. Stored members of any size are copied out of the map in
//! 256 KiB chunks, each checked as it is copied and then written.
//!
//! The checks are the same as on the streaming path: the output may not exceed the
//! declared size (libdeflate stops at the end of the buffer we give it, so an inflating
//! bomb cannot write past it), must reach it, and must match the CRC-32.

pub mod stream;

/// Deflated members larger than this are not decoded into a buffer of our own, so that
/// anonymous memory does not grow with member size.
pub const FAST_MAX: u64 = 64 << 20;

/// How the member's bytes are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Stored,
    Deflated,
}

/// Why a member did not decode.
#[derive(Debug, PartialEq, Eq)]
pub enum FastError {
    /// More data than the declared size.
    TooLong,
    /// Less data than the declared size.
    Truncated { got: u64 },
    /// The deflate stream is corrupt.
    BadData,
    /// The CRC-32 of the data, which does not match the declared one.
    BadCrc { got: u32 },
}

/// The chunk in which [`Inflater::copy_stored`] copies a stored member out of the map.
const STORED_CHUNK: usize = 256 << 10;

/// Per-worker decoder state: libdeflate's decompressor and an output buffer reused from
/// one member to the next.
pub struct Inflater {
    d: libdeflater::Decompressor,
    out: Vec<u8>,
}

impl Default for Inflater {
    fn default() -> Self {
        Inflater {
            d: libdeflater::Decompressor::new(),
            out: Vec::new(),
        }
    }
}

impl Inflater {
    /// Decodes `data` (the member's compressed bytes) into exactly `size` bytes with
    /// checksum `crc`, or says why not.
    pub fn decode<'a>(
        &'a mut self,
        method: Method,
        data: &'a [u8],
        size: u64,
        crc: u32,
    ) -> Result<&'a [u8], FastError> {
        let size = usize::try_from(size).map_err(|_| FastError::TooLong)?;
        let bytes: &[u8] = match method {
            Method::Stored => {
                if data.len() > size {
                    return Err(FastError::TooLong);
                }
                data
            }
            Method::Deflated => {
                // One byte of room beyond the declared size tells "exactly right" from
                // "would have gone on".
                // The buffer only grows (and is zeroed only when it does): members of
                // similar sizes reuse it without touching it first.
                if self.out.len() <= size {
                    self.out.resize(size + 1, 0);
                }
                match self.d.deflate_decompress(data, &mut self.out[..=size]) {
                    Ok(n) if n > size => return Err(FastError::TooLong),
                    Ok(n) => &self.out[..n],
                    Err(libdeflater::DecompressionError::InsufficientSpace) => {
                        return Err(FastError::TooLong)
                    }
                    Err(libdeflater::DecompressionError::BadData) => {
                        return Err(FastError::BadData)
                    }
                }
            }
        };
        if bytes.len() < size {
            return Err(FastError::Truncated {
                got: bytes.len() as u64,
            });
        }
        let got = libdeflater::crc32(bytes);
        if got != crc {
            return Err(FastError::BadCrc { got });
        }
        Ok(bytes)
    }

    /// Hands a stored member's bytes (`data`, in the archive's map) to `out` a chunk at a
    /// time, each chunk first copied into a buffer of ours and added to the CRC there:
    /// what is checked is exactly what `out` gets, even if another process writes the
    /// archive meanwhile (checked in the map, then written from it, a member whose bytes
    /// changed in between was extracted as "ok", exit 0, in 12 runs of 50). A size that
    /// does not match is said before any byte is handed on; a CRC that does not match
    /// (`Err(Ok(..))`) after all of them, so the caller must be able to take them back
    /// (a temporary file not yet in place), as for a streamed member. `Err(Err(e))`: `out`
    /// failed.
    pub fn copy_stored<E>(
        &mut self,
        data: &[u8],
        size: u64,
        crc: u32,
        out: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), Result<FastError, E>> {
        let size = usize::try_from(size).map_err(|_| Ok(FastError::TooLong))?;
        if data.len() > size {
            return Err(Ok(FastError::TooLong));
        }
        if data.len() < size {
            return Err(Ok(FastError::Truncated {
                got: data.len() as u64,
            }));
        }
        let chunk = STORED_CHUNK.min(data.len());
        if self.out.len() < chunk {
            self.out.resize(chunk, 0);
        }
        let mut sum = libdeflater::Crc::new();
        for piece in data.chunks(STORED_CHUNK) {
            let buf = &mut self.out[..piece.len()];
            buf.copy_from_slice(piece);
            sum.update(buf);
            out(buf).map_err(Err)?;
        }
        match sum.sum() {
            got if got != crc => Err(Ok(FastError::BadCrc { got })),
            _ => Ok(()),
        }
    }
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

    fn text() -> Vec<u8> {
        b"the quick brown fox jumps over the lazy dog\n".repeat(1000)
    }

    /// Every byte goes out once, in order, in chunks no bigger than the copy's; the CRC
    /// is of those bytes; a size that does not match is said before any byte goes out.
    #[test]
    fn stored_members_are_checked_as_they_are_copied_out() {
        let data: Vec<u8> = (0..STORED_CHUNK * 2 + 1000)
            .map(|i| (i * 7) as u8)
            .collect();
        let crc = libdeflater::crc32(&data);
        let mut inf = Inflater::default();
        let mut got = Vec::new();
        let mut chunks = 0;
        let r: Result<(), Result<FastError, ()>> =
            inf.copy_stored(&data, data.len() as u64, crc, &mut |c| {
                assert!(c.len() <= STORED_CHUNK);
                chunks += 1;
                got.extend_from_slice(c);
                Ok(())
            });
        assert_eq!((r, chunks), (Ok(()), 3));
        assert_eq!(got, data);
        // A bad CRC: said after the bytes (the caller's temporary file takes them).
        let mut n = 0;
        let r: Result<(), Result<FastError, ()>> =
            inf.copy_stored(&data, data.len() as u64, crc ^ 1, &mut |c| {
                n += c.len();
                Ok(())
            });
        assert_eq!(r, Err(Ok(FastError::BadCrc { got: crc })));
        assert_eq!(n, data.len());
        // Sizes: before any byte.
        for (size, want) in [
            (
                data.len() as u64 + 1,
                FastError::Truncated {
                    got: data.len() as u64,
                },
            ),
            (data.len() as u64 - 1, FastError::TooLong),
        ] {
            let r: Result<(), Result<FastError, ()>> =
                inf.copy_stored(&data, size, crc, &mut |_| panic!("no byte goes out"));
            assert_eq!(r, Err(Ok(want)));
        }
        // The output's own failure stops the copy.
        let r = inf.copy_stored(&data, data.len() as u64, crc, &mut |_| Err("full"));
        assert_eq!(r, Err(Err("full")));
    }

    #[test]
    fn deflated_members_decode_and_check_out() {
        let data = text();
        let crc = libdeflater::crc32(&data);
        let mut inf = Inflater::default();
        let z = deflate(&data);
        assert_eq!(
            inf.decode(Method::Deflated, &z, data.len() as u64, crc),
            Ok(&data[..])
        );
    }

    #[test]
    fn stored_members_are_checked_in_place() {
        let data = text();
        let crc = libdeflater::crc32(&data);
        let mut inf = Inflater::default();
        let got = inf
            .decode(Method::Stored, &data, data.len() as u64, crc)
            .unwrap();
        assert_eq!(got.as_ptr(), data.as_ptr(), "no copy");
    }

    #[test]
    fn a_member_longer_than_declared_is_stopped() {
        let data = text();
        let crc = libdeflater::crc32(&data[..100]);
        let mut inf = Inflater::default();
        assert_eq!(
            inf.decode(Method::Deflated, &deflate(&data), 100, crc),
            Err(FastError::TooLong)
        );
        assert_eq!(
            inf.decode(Method::Stored, &data, 100, crc),
            Err(FastError::TooLong)
        );
    }

    #[test]
    fn a_member_shorter_than_declared_is_truncated() {
        let data = text();
        let crc = libdeflater::crc32(&data);
        let mut inf = Inflater::default();
        let n = data.len() as u64;
        assert_eq!(
            inf.decode(Method::Deflated, &deflate(&data), n + 5, crc),
            Err(FastError::Truncated { got: n })
        );
    }

    #[test]
    fn corruption_is_caught_by_the_decoder_or_the_crc() {
        let data = text();
        let crc = libdeflater::crc32(&data);
        let mut inf = Inflater::default();
        let mut z = deflate(&data);
        let mid = z.len() / 2;
        z[mid] ^= 0x55;
        let r = inf.decode(Method::Deflated, &z, data.len() as u64, crc);
        assert!(r.is_err(), "{r:?}");
        let mut s = data.clone();
        s[10] ^= 1;
        assert_eq!(
            inf.decode(Method::Stored, &s, s.len() as u64, crc),
            Err(FastError::BadCrc {
                got: libdeflater::crc32(&s)
            })
        );
    }
}
