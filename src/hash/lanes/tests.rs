//! The lane engine against independent oracles (the md-5 crate, GNU md5sum), on every
//! engine path this CPU has, at the natural width and at odd shapes (few lanes, tiny
//! chunks) that force many refills and rounds with small data.

use std::io::{self, Read};

use ::md5::{Digest, Md5};
use proptest::prelude::*;

use super::*;

/// What md-5 says.
fn oracle(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// Deterministic bytes (xorshift), so every source has its own content.
pub(super) fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Every engine this CPU can run, each at its natural shape and at a cramped one.
fn shapes() -> Vec<Lanes> {
    let mut v = Vec::new();
    for e in Engine::available() {
        v.push(Lanes::new(e));
        v.push(Lanes::with_shape(e, 5, 4096));
        v.push(Lanes::with_shape(e, e.width(), 192));
    }
    v
}

/// Hashes `data` as sources (limit given or not) and checks each against the oracle.
fn check_all(lanes: &mut Lanes, data: &[Vec<u8>], with_limit: bool) {
    let mut sources: Vec<Source<&[u8]>> = data
        .iter()
        .map(|d| Source::new(d.as_slice(), with_limit.then_some(d.len() as u64)))
        .collect();
    let mut out = Vec::new();
    lanes.digest_all(&mut sources, &mut out);
    assert_eq!(out.len(), data.len());
    for (i, (got, d)) in out.iter().zip(data).enumerate() {
        let got = got.as_ref().unwrap_or_else(|e| panic!("source {i}: {e}"));
        assert_eq!(
            (got.digest, got.len),
            (oracle(d), d.len() as u64),
            "source {i} of {} bytes, engine {:?}, width {}",
            d.len(),
            lanes.engine(),
            lanes.width()
        );
    }
}

#[test]
fn every_length_from_0_to_4096_on_every_engine() {
    let data: Vec<Vec<u8>> = (0..=4096).map(|n| bytes(n, n as u64)).collect();
    for mut lanes in shapes() {
        check_all(&mut lanes, &data, true);
    }
    // Without a size, each source is read to end-of-file.
    for e in Engine::available() {
        check_all(&mut Lanes::new(e), &data[..300], false);
    }
}

#[test]
fn large_random_lengths_span_many_chunks() {
    let lens = [
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        3 * CHUNK + 55,
        1_000_003,
        2 * CHUNK + 64,
    ];
    let data: Vec<Vec<u8>> = lens
        .iter()
        .enumerate()
        .map(|(i, &n)| bytes(n, 100 + i as u64))
        .collect();
    for e in Engine::available() {
        check_all(&mut Lanes::new(e), &data, true);
        check_all(&mut Lanes::with_shape(e, 4, 65536), &data, false);
    }
}

#[test]
fn lanes_of_mixed_lengths_finish_at_different_times_and_are_refilled() {
    // Long and short interleaved, more sources than lanes: short ones finish and their
    // lanes are refilled while the long ones are still running.
    let data: Vec<Vec<u8>> = (0..200)
        .map(|i| {
            let n = if i % 7 == 0 {
                70_000 + i * 131
            } else {
                i * 37 % 900
            };
            bytes(n, i as u64)
        })
        .collect();
    for mut lanes in shapes() {
        check_all(&mut lanes, &data, true);
    }
}

#[test]
fn empty_sources_among_large_ones() {
    let data: Vec<Vec<u8>> = (0..60)
        .map(|i| {
            if i % 3 == 0 {
                bytes(300_000 + i, i as u64)
            } else {
                Vec::new()
            }
        })
        .collect();
    for mut lanes in shapes() {
        check_all(&mut lanes, &data, true);
        check_all(&mut lanes, &data, false);
    }
}

/// A reader that hands out `data` at most `step` bytes at a time, fails with EIO once it
/// has delivered `fail_at` bytes (if that is before the end), and returns EINTR before
/// every read.
struct Awkward {
    data: Vec<u8>,
    pos: usize,
    step: usize,
    fail_at: Option<usize>,
    eintr: bool,
    largest_request: usize,
}

impl Awkward {
    fn new(data: Vec<u8>, step: usize) -> Awkward {
        Awkward {
            data,
            pos: 0,
            step: step.max(1),
            fail_at: None,
            eintr: false,
            largest_request: 0,
        }
    }
}

impl Read for Awkward {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.largest_request = self.largest_request.max(buf.len());
        if self.eintr {
            self.eintr = false;
            return Err(io::ErrorKind::Interrupted.into());
        }
        self.eintr = true;
        let end = match self.fail_at {
            Some(at) if self.pos >= at && self.pos < self.data.len() => {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            Some(at) if self.pos < at => at,
            _ => self.data.len(),
        };
        let n = buf.len().min(self.step).min(end - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn a_source_failing_mid_batch_fails_alone() {
    for e in Engine::available() {
        for mut lanes in [Lanes::new(e), Lanes::with_shape(e, 3, 1024)] {
            let data: Vec<Vec<u8>> = (0..40).map(|i| bytes(i * 1000, i as u64)).collect();
            let mut sources: Vec<Source<Awkward>> = data
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let mut r = Awkward::new(d.clone(), 700 + i * 13);
                    if i % 10 == 5 {
                        r.fail_at = Some(d.len() / 2);
                    }
                    Source::new(r, Some(d.len() as u64))
                })
                .collect();
            let mut out = Vec::new();
            lanes.digest_all(&mut sources, &mut out);
            for (i, (got, d)) in out.iter().zip(&data).enumerate() {
                if i % 10 == 5 {
                    let err = got.as_ref().expect_err("the failing source fails");
                    assert_eq!(err.raw_os_error(), Some(libc::EIO), "source {i}");
                } else {
                    let got = got.as_ref().unwrap_or_else(|e| panic!("source {i}: {e}"));
                    assert_eq!((got.digest, got.len), (oracle(d), d.len() as u64));
                }
            }
        }
    }
}

#[test]
fn reading_stops_at_the_limit_and_a_short_source_reports_its_length() {
    let data = bytes(10_000, 9);
    for e in Engine::available() {
        let mut lanes = Lanes::with_shape(e, 4, 1000);
        let mut sources = vec![
            // Longer than announced (a growing file): only the announced bytes are read.
            Source::new(data.as_slice(), Some(6_000)),
            // Shorter than announced (a shrinking file): the digest covers what was there.
            Source::new(&data[..3_000], Some(9_000)),
        ];
        let mut out = Vec::new();
        lanes.digest_all(&mut sources, &mut out);
        let got: Vec<Digested> = out.into_iter().map(Result::unwrap).collect();
        assert_eq!((got[0].digest, got[0].len), (oracle(&data[..6_000]), 6_000));
        assert_eq!((got[1].digest, got[1].len), (oracle(&data[..3_000]), 3_000));
    }
}

#[test]
fn memory_is_bounded_by_the_chunk_whatever_the_announced_size() {
    // A file announced as 4 GiB is asked for at most one round's bytes per read (a chunk,
    // or a few when it streams alone), so the engine's memory is its lane buffers
    // (width x CHUNK), never the file.
    for e in Engine::available() {
        let mut lanes = Lanes::new(e);
        let mut source = Source::new(Awkward::new(bytes(3 * CHUNK + 5, 1), CHUNK), Some(4 << 30));
        let got = lanes.digest_one(&mut source).unwrap();
        assert_eq!(got.len, 3 * CHUNK as u64 + 5);
        let asked = source.get_ref().largest_request;
        assert!(asked <= SINGLE_ROUND.max(CHUNK) && asked <= lanes.bufs.len());
        assert!(lanes.bufs.len() <= 48 * CHUNK);
        assert!(lanes.spare.len() <= lanes.bufs.len());
    }
}

#[test]
fn digest_one_equals_md5_crate_for_short_reads_and_eintr() {
    for e in Engine::available() {
        let mut lanes = Lanes::new(e);
        for (len, step) in [
            (0, 1),
            (1, 1),
            (65, 3),
            (100_000, 4093),
            (CHUNK * 2 + 1, CHUNK),
        ] {
            let data = bytes(len, len as u64);
            let mut src = Source::new(Awkward::new(data.clone(), step), None);
            let got = lanes.digest_one(&mut src).unwrap();
            assert_eq!((got.digest, got.len), (oracle(&data), len as u64));
        }
    }
}

#[test]
fn files_hash_as_md5sum_says() {
    let Ok(probe) = std::process::Command::new("md5sum")
        .arg("--version")
        .output()
    else {
        eprintln!("skipped: md5sum not found");
        return;
    };
    assert!(probe.status.success());
    let dir = tempfile::tempdir().unwrap();
    let lens = [0usize, 1, 55, 56, 64, 4096, CHUNK + 3, 700_001];
    let paths: Vec<_> = lens
        .iter()
        .enumerate()
        .map(|(i, &n)| {
            let p = dir.path().join(format!("f{i}"));
            std::fs::write(&p, bytes(n, 7 + i as u64)).unwrap();
            p
        })
        .collect();
    let out = std::process::Command::new("md5sum")
        .args(&paths)
        .output()
        .unwrap();
    assert!(out.status.success());
    let want: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l[..32].to_string())
        .collect();
    // Read, and (the two bigger than a chunk) mapped.
    for (e, mapped) in Engine::available()
        .into_iter()
        .flat_map(|e| [(e, false), (e, true)])
    {
        let mut sources: Vec<Source<std::fs::File>> = paths
            .iter()
            .zip(lens)
            .map(|(p, n)| {
                let (f, limit) = (std::fs::File::open(p).unwrap(), Some(n as u64));
                if mapped {
                    Source::file(f, limit)
                } else {
                    Source::new(f, limit)
                }
            })
            .collect();
        let mut got = Vec::new();
        Lanes::new(e).digest_all(&mut sources, &mut got);
        let got: Vec<String> = got
            .into_iter()
            .map(|r| crate::hash::algorithm::hex(&r.unwrap().digest))
            .collect();
        assert_eq!(got, want, "engine {e:?}, mapped {mapped}");
    }
}

#[test]
fn engine_choice_parses_and_refuses_what_this_cpu_lacks() {
    assert_eq!(Engine::parse("auto"), Ok(None));
    assert_eq!(Engine::parse(""), Ok(None));
    assert_eq!(Engine::parse("scalar"), Ok(Some(Engine::Scalar)));
    assert_eq!(Engine::parse("SCALAR"), Ok(Some(Engine::Scalar)));
    assert!(matches!(
        Engine::parse("sse9"),
        Err(EngineChoiceError::Unknown(_))
    ));
    for e in Engine::ALL {
        let want = if e.is_available() {
            Ok(Some(e))
        } else {
            Err(EngineChoiceError::Unavailable(e))
        };
        assert_eq!(Engine::parse(e.name()), want);
    }
    assert_eq!(Engine::available()[0], Engine::Scalar);
    assert!(Engine::selected().is_available());
    eprintln!("engines on this CPU: {:?}", Engine::available());
}

#[test]
fn an_empty_batch_gives_no_results_and_the_engine_is_reusable() {
    for e in Engine::available() {
        let mut lanes = Lanes::new(e);
        let mut out = vec![Ok(Digested {
            digest: [0; 16],
            len: 9,
        })];
        lanes.digest_all::<&[u8]>(&mut [], &mut out);
        assert!(out.is_empty());
        let data = vec![bytes(5000, 1), bytes(3, 2)];
        check_all(&mut lanes, &data, true);
        check_all(&mut lanes, &data, false);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random batches (sizes, read sizes, failures, shapes): every good source gets md-5's
    /// digest, every failing one its error, on every engine.
    #[test]
    fn random_batches_match_md5_crate(
        specs in prop::collection::vec((0usize..20_000, 1usize..5000, any::<bool>(), 0u8..10), 0..70),
        width in 1usize..=48,
        chunk in 64usize..9000,
    ) {
        for e in Engine::available() {
            let mut lanes = Lanes::with_shape(e, width, chunk);
            let data: Vec<Vec<u8>> = specs.iter().enumerate().map(|(i, s)| bytes(s.0, i as u64)).collect();
            let mut sources: Vec<Source<Awkward>> = specs
                .iter()
                .zip(&data)
                .map(|(&(len, step, sized, fail), d)| {
                    let mut r = Awkward::new(d.clone(), step);
                    if fail == 0 {
                        r.fail_at = Some(len / 3);
                    }
                    Source::new(r, sized.then_some(len as u64))
                })
                .collect();
            let mut out = Vec::new();
            lanes.digest_all(&mut sources, &mut out);
            prop_assert_eq!(out.len(), data.len());
            for ((got, d), s) in out.iter().zip(&data).zip(&specs) {
                // The reader fails at a third of the way, so only if there is a way.
                if s.3 == 0 && s.0 > 0 {
                    prop_assert!(got.is_err());
                } else {
                    let got = got.as_ref().unwrap();
                    prop_assert_eq!((got.digest, got.len), (oracle(d), d.len() as u64));
                }
            }
        }
    }
}

/// Every lane count a round can have (so every padding of a SIMD group), with lanes that
/// end mid-block at different rounds: the equal steps and tails of `update_round`.
#[test]
fn every_lane_count_with_ragged_tails_matches_md5_crate() {
    for e in Engine::available() {
        for n in 1..=48 {
            let data: Vec<Vec<u8>> = (0..n)
                .map(|i| bytes(1024 * (1 + i % 3) + (i * 37) % 200, (n * 100 + i) as u64))
                .collect();
            check_all(&mut Lanes::with_shape(e, n, 1024), &data, true);
        }
    }
}

/// Enough bytes to stream that the next round is read on a helper thread ([`AHEAD`]):
/// digests as md-5's, a source failing mid-way fails alone, a source that ends before its
/// announced size reports its shorter length, reads that return less than asked included.
#[test]
fn reading_ahead_on_a_helper_thread_changes_no_digest_and_keeps_failures_apart() {
    let sizes = [3 << 20, (3 << 20) + 77, 700_001, 2 << 20, 5 << 20];
    for e in Engine::available() {
        for mut lanes in [Lanes::new(e), Lanes::with_shape(e, 2, 64 << 10)] {
            let data: Vec<Vec<u8>> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| bytes(n, i as u64 + 40))
                .collect();
            let mut sources: Vec<Source<Awkward>> = data
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let mut r = Awkward::new(d.clone(), if i == 3 { 100_000 } else { 1 << 20 });
                    if i == 1 {
                        r.fail_at = Some(d.len() / 3);
                    }
                    // Source 4 announces more than it has, as a file truncated under us.
                    let limit = d.len() as u64 + if i == 4 { 12345 } else { 0 };
                    Source::new(r, Some(limit))
                })
                .collect();
            assert!(sources.iter().map(|s| s.limit.unwrap()).sum::<u64>() >= AHEAD);
            let mut out = Vec::new();
            lanes.digest_all(&mut sources, &mut out);
            for (i, (got, d)) in out.iter().zip(&data).enumerate() {
                if i == 1 {
                    assert!(got.is_err(), "source 1 fails");
                    continue;
                }
                let got = got.as_ref().unwrap();
                assert_eq!((got.digest, got.len), (oracle(d), d.len() as u64), "{i}");
            }
        }
    }
}

/// Files bigger than a chunk, in a batch, are hashed through maps ([`mapped`]): with and
/// without the read-ahead thread, at every engine and shape, digests as md-5's; a file
/// truncated after its size was taken fails alone, with the error `is_shrank` knows, and
/// never gives a digest of the zeros read in place of its lost pages.
#[test]
fn mapped_files_hash_as_md5_and_a_truncated_one_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    // Over `AHEAD` in all (read ahead on a helper thread), and under it (inline).
    for sizes in [
        &[300_000usize, 3 << 20, 5 << 20, 700_001, (1 << 20) + 1][..],
        &[300_000, 400_000, 2 << 20, 270_000][..],
    ] {
        let data: Vec<Vec<u8>> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| bytes(n, i as u64 + 90))
            .collect();
        for e in Engine::available() {
            for mut lanes in [Lanes::new(e), Lanes::with_shape(e, 2, 64 << 10)] {
                let paths: Vec<_> = data
                    .iter()
                    .enumerate()
                    .map(|(i, d)| {
                        let p = dir.path().join(format!("m{i}"));
                        std::fs::write(&p, d).unwrap();
                        p
                    })
                    .collect();
                let mut sources: Vec<Source<std::fs::File>> = paths
                    .iter()
                    .zip(&data)
                    .map(|(p, d)| {
                        Source::file(std::fs::File::open(p).unwrap(), Some(d.len() as u64))
                    })
                    .collect();
                // The third loses all but its first 100,000 bytes after its size was
                // taken, as by another process mid-run.
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&paths[2])
                    .unwrap()
                    .set_len(100_000)
                    .unwrap();
                let mut out = Vec::new();
                lanes.digest_all(&mut sources, &mut out);
                for (i, (got, d)) in out.iter().zip(&data).enumerate() {
                    if i == 2 {
                        match got {
                            Err(err) => assert!(is_shrank(err), "{err}"),
                            Ok(g) => panic!("a digest of a truncated file: {g:?}"),
                        }
                        continue;
                    }
                    let got = got.as_ref().unwrap_or_else(|e| panic!("{i}: {e}"));
                    assert_eq!(
                        (got.digest, got.len),
                        (oracle(d), d.len() as u64),
                        "{i}, engine {e:?}, width {}",
                        lanes.width()
                    );
                }
            }
        }
    }
}
