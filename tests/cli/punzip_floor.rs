//! Deflated members above the in-memory fast path (64 MiB) are streamed: decoded in
//! chunks by one thread and written by another. Their bytes must come out exactly, in
//! order, checked against the declared size and CRC, at any -j; a stream that does not
//! end where it should leaves no file. The archives are built byte by byte (deflate
//! stored blocks of position-dependent bytes), so a chunk out of order, lost or repeated
//! changes the output.

use std::fs;
use std::process::Command;

use crate::util::{code, crc32, punzip, run, stderr, temp_files, tempdir};

/// Above the fast path's 64 MiB, and not a whole number of 8 MiB chunks.
const SIZE: usize = (80 << 20) + 12_345;

/// Bytes that differ from chunk to chunk (a 64-bit LCG's top byte).
fn content(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

/// CRC-32 by table (the bit-by-bit [`crc32`] is too slow for 80 MiB in a debug build;
/// the two are checked against each other below).
fn crc32_table(data: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|i| {
            (0..8).fold(i, |c, _| {
                if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// `data` as a raw deflate stream of stored blocks; the last block is marked final only
/// if `final_block`.
fn stored_blocks(data: &[u8], final_block: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 65_535 * 5 + 5);
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, b) in blocks.iter().enumerate() {
        out.push(u8::from(final_block && i + 1 == blocks.len()));
        let len = b.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(b);
    }
    out
}

/// A zip archive of deflated members `(name, compressed stream, declared size, crc)`.
fn deflated_zip(members: &[(&str, Vec<u8>, usize, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, z, size, crc) in members {
        let offset = out.len() as u32;
        let fields = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend_from_slice(&20u16.to_le_bytes()); // made by
            }
            h.extend_from_slice(&20u16.to_le_bytes()); // needed
            h.extend_from_slice(&0u16.to_le_bytes()); // flags
            h.extend_from_slice(&8u16.to_le_bytes()); // deflated
            h.extend_from_slice(&0u16.to_le_bytes()); // time
            h.extend_from_slice(&0x21u16.to_le_bytes()); // date: 1980-01-01
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(z.len() as u32).to_le_bytes());
            h.extend_from_slice(&(*size as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // extra
            if central {
                h.extend_from_slice(&[0; 6]); // comment, disk, internal attributes
                h.extend_from_slice(&((0o100644u32) << 16).to_le_bytes());
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(fields(0x0403_4b50, false));
        out.extend_from_slice(z);
        central.extend(fields(0x0201_4b50, true));
    }
    let (cd_at, cd_len) = (out.len() as u32, central.len() as u32);
    out.extend(central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let n = members.len() as u16;
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&n.to_le_bytes());
    out.extend_from_slice(&cd_len.to_le_bytes());
    out.extend_from_slice(&cd_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn extract(archive: &[u8], jobs: &str) -> (tempfile::TempDir, std::process::Output) {
    let t = tempdir();
    fs::write(t.path().join("a.zip"), archive).unwrap();
    let out = run(punzip()
        .args(["-q", "-j", jobs])
        .arg(t.path().join("a.zip"))
        .arg(t.path().join("dest")));
    (t, out)
}

#[test]
fn the_table_crc_agrees_with_the_reference_crc() {
    let data = content(100_000);
    assert_eq!(crc32_table(&data), crc32(&data));
    assert_eq!(crc32_table(b"123456789"), 0xCBF4_3926);
}

#[test]
fn a_big_member_comes_out_byte_for_byte_at_any_jobs() {
    let data = content(SIZE);
    let small = content(1000);
    let archive = deflated_zip(&[
        (
            "big.bin",
            stored_blocks(&data, true),
            SIZE,
            crc32_table(&data),
        ),
        (
            "small.bin",
            stored_blocks(&small, true),
            1000,
            crc32(&small),
        ),
    ]);
    for jobs in ["1", "2"] {
        let (t, out) = extract(&archive, jobs);
        assert_eq!(code(&out), 0, "-j {jobs}: {}", stderr(&out));
        let got = fs::read(t.path().join("dest/big.bin")).unwrap();
        assert!(got.len() == SIZE, "-j {jobs}: {} bytes", got.len());
        assert!(got == data, "-j {jobs}: the content differs");
        assert_eq!(fs::read(t.path().join("dest/small.bin")).unwrap(), small);
    }
}

#[test]
fn a_big_member_whose_stream_does_not_end_leaves_no_file() {
    let data = content(SIZE);
    let crc = crc32_table(&data);
    // The declared size is reached, but the last block is not marked final.
    let unended = deflated_zip(&[("big.bin", stored_blocks(&data, false), SIZE, crc)]);
    // The stream goes on past the declared size.
    let longer = deflated_zip(&[("big.bin", stored_blocks(&data, true), SIZE - 1, crc)]);
    for (archive, says) in [
        (unended, "bad compressed data"),
        (longer, "beyond its declared size"),
    ] {
        let (t, out) = extract(&archive, "2");
        assert_eq!(code(&out), 2, "{says}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(says) && stderr(&out).contains("big.bin"),
            "{says}: {}",
            stderr(&out)
        );
        let dest = t.path().join("dest");
        assert!(!dest.join("big.bin").exists(), "{says}: a file was left");
        assert!(temp_files(&dest).is_empty(), "{says}: temporary files left");
    }
}

#[test]
fn a_big_member_is_written_as_it_is_decoded_without_preallocating_a_map() {
    if !crate::util::have("strace") {
        return;
    }
    let data = content(SIZE);
    let archive = deflated_zip(&[(
        "big.bin",
        stored_blocks(&data, true),
        SIZE,
        crc32_table(&data),
    )]);
    let t = tempdir();
    fs::write(t.path().join("a.zip"), &archive).unwrap();
    let trace = t.path().join("trace");
    let out = run(Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=fallocate,write", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_punzip"))
        .arg("-q")
        .arg(t.path().join("a.zip"))
        .arg(t.path().join("dest")));
    if code(&out) != 0 && stderr(&out).is_empty() {
        eprintln!("SKIP: strace cannot trace here (ptrace not permitted)");
        return;
    }
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let calls = fs::read_to_string(&trace).unwrap();
    let count = |name: &str| calls.lines().filter(|l| l.contains(name)).count();
    // Decoding into a mapped file first fallocates it, and writes nothing through
    // write(2); streaming writes it in chunks of at most 8 MiB.
    assert_eq!(count("fallocate("), 0, "{calls}");
    assert!(count("write(") >= SIZE / (8 << 20), "{calls}");
    assert!(fs::read(t.path().join("dest/big.bin")).unwrap() == data);
}

#[test]
fn testing_a_big_member_checks_it_and_writes_nothing() {
    let data = content(SIZE);
    let crc = crc32_table(&data);
    let good = deflated_zip(&[("big.bin", stored_blocks(&data, true), SIZE, crc)]);
    let bad = deflated_zip(&[("big.bin", stored_blocks(&data, true), SIZE, crc ^ 1)]);
    for (archive, ok) in [(good, true), (bad, false)] {
        let t = tempdir();
        fs::write(t.path().join("a.zip"), &archive).unwrap();
        let out = run(punzip()
            .arg("-t")
            .arg(t.path().join("a.zip"))
            .current_dir(t.path()));
        assert_eq!(code(&out) == 0, ok, "{}", stderr(&out));
        if !ok {
            assert!(stderr(&out).contains("big.bin"), "{}", stderr(&out));
        }
        let left: Vec<_> = fs::read_dir(t.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the archive remains");
    }
}
