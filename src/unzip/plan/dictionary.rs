//! How much memory a member's decoder will ask for, read from the header in front of its
//! data. LZMA and XZ decoders allocate the declared dictionary up front, so a 312 KB
//! archive declaring 4 GiB took 2 GB in `-t`; planning refuses such members instead.
//! PPMd allocates its declared model the same way, but its format caps the model at
//! 256 MiB and 7-Zip's strong presets use that much for files of a few MB: those members
//! are decoded one at a time instead (64 members of 57 bytes, each declaring 256 MiB, took
//! 2 GB in `punzip -j16 -t` and 3.9 GB in `phash --members`).
//! PKZIP 1's methods need no header to tell: their decoders hold the whole member
//! ([`legacy_size`]), so the larger of its sizes is what they take.

/// The largest PKZIP 1 member (shrink, reduce, implode) decoded, compressed or not: the
/// zip crate's decoders hold all of it in memory, compressed bytes and output alike (a
/// 68 KB member declaring 150 MB took 158 MB in -t, per worker). Such members are
/// floppy-sized.
pub const LEGACY_MOST: u64 = 64 << 20;

/// PKZIP 1 members bigger than this are decoded one at a time (as big PPMd models are):
/// with every worker on one, memory would be [`LEGACY_MOST`] times the workers.
pub const LEGACY_ALONE: u64 = 8 << 20;

/// How much a PKZIP 1 member (methods 1 to 6: shrink, reduce, implode) holds in memory
/// while decoded, the larger of its sizes; `None` for any other method.
pub fn legacy_size(method: u16, size: u64, compressed: u64) -> Option<u64> {
    (1..=6).contains(&method).then_some(size.max(compressed))
}

/// Zip's method number for PPMd.
pub const PPMD: u16 = 98;

/// The largest LZMA dictionary a member may declare: what its own size needs, and never
/// less than the 64 MiB that 7-Zip's stronger presets use even for small files.
pub const DICT_FLOOR: u64 = 64 << 20;

/// The dictionary size an LZMA (14) or XZ (95) member, or the model size a PPMd (98) one,
/// declares before its data, if it can be read. Decoders allocate it up front, so a 4 GiB
/// declaration in a tiny archive would take 4 GiB of memory.
pub fn declared_dictionary(method: u16, data: &[u8]) -> Option<u64> {
    match method {
        // Zip's LZMA header: version (2), properties size (2), then lc/lp/pb and the
        // dictionary size (u32).
        14 => {
            let d = data.get(5..9)?;
            Some(u64::from(u32::from_le_bytes(d.try_into().ok()?)))
        }
        // An XZ stream: 12-byte stream header, then the first block header: size, flags,
        // optional sizes, then the filters; LZMA2's (0x21) one property byte is the
        // dictionary size.
        95 => {
            let block = data.get(12..)?;
            let header_len = (usize::from(*block.first()?) + 1) * 4;
            let header = block.get(..header_len)?;
            let flags = *header.get(1)?;
            let mut at = 2;
            let vli = |at: &mut usize| -> Option<u64> {
                let mut v = 0u64;
                for i in 0..9 {
                    let b = *header.get(*at)?;
                    *at += 1;
                    v |= u64::from(b & 0x7f) << (7 * i);
                    if b & 0x80 == 0 {
                        return Some(v);
                    }
                }
                None
            };
            for present in [flags & 0x40 != 0, flags & 0x80 != 0] {
                if present {
                    vli(&mut at)?;
                }
            }
            for _ in 0..=(flags & 3) {
                let id = vli(&mut at)?;
                let size = usize::try_from(vli(&mut at)?).ok()?;
                let props = header.get(at..at.checked_add(size)?)?;
                at += size;
                if id == 0x21 {
                    let bits = u32::from(*props.first()? & 0x3f);
                    return Some(match bits {
                        40.. => u64::from(u32::MAX),
                        b => u64::from(2 | (b & 1)) << (b / 2 + 11),
                    });
                }
            }
            None
        }
        // Zip's PPMd (variant I, rev. 1) header: a little-endian u16 holding the model
        // order (4 bits), the model size in MiB less one (8 bits), the restore method.
        PPMD => {
            let v = u16::from_le_bytes(data.get(..2)?.try_into().ok()?);
            Some((u64::from((v >> 4) & 0xff) + 1) << 20)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppmd_model_sizes_are_read_from_their_header() {
        // Order 6, 16 MiB, restore method 0: what 7-Zip writes by default.
        let v: u16 = 5 | (15 << 4);
        assert_eq!(declared_dictionary(98, &v.to_le_bytes()), Some(16 << 20));
        let v: u16 = 15 | (255 << 4) | (1 << 12);
        assert_eq!(declared_dictionary(98, &v.to_le_bytes()), Some(256 << 20));
        assert_eq!(declared_dictionary(98, &[1]), None);
    }

    #[test]
    fn dictionary_sizes_are_read_from_lzma_and_xz_headers() {
        let lzma = [9, 20, 5, 0, 0x5d, 0, 0, 0, 4];
        assert_eq!(declared_dictionary(14, &lzma), Some(64 << 20));
        let xz = |byte: u8| {
            let mut h = vec![0; 12];
            h.extend_from_slice(&[2, 0, 0x21, 1, byte, 0, 0, 0, 0, 0, 0, 0]);
            declared_dictionary(95, &h)
        };
        // liblzma's encoding: 2 or 3 times a power of two, from 4 KiB.
        assert_eq!(xz(0), Some(4 << 10));
        assert_eq!(xz(1), Some(6 << 10));
        assert_eq!(xz(22), Some(8 << 20));
        assert_eq!(xz(40), Some(u64::from(u32::MAX)));
        assert_eq!(declared_dictionary(8, &lzma), None);
        assert_eq!(declared_dictionary(14, &lzma[..6]), None, "truncated");
    }
}
