//! MD5 engines, in-process, one core, bytes per second: md-5 versus our single stream
//! (`Lanes::digest_one`), and the lane engine, each on every engine path this CPU has, on
//! the two corpus shapes (a few large messages, many small ones), plus a sweep of the lane
//! count that chose `Engine::width`.
//!
//! The data sits in memory (built once, outside the timed loop), so this measures hashing
//! alone, not reading. `PHASH_MD5_ENGINE` does not matter here: every path is named.
//! Run: `cargo bench --bench md5_engines` (add a filter such as `4096` to run one group).

use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use md5::{Digest, Md5};
use punzip::hash::lanes::{Engine, Lanes, Source};

/// Deterministic bytes (xorshift).
fn bytes(len: usize, seed: u64) -> Vec<u8> {
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

/// 4,096 messages of 1 B to 64 KiB, sizes spread log-uniformly as in a source tree.
fn many_small() -> Vec<Vec<u8>> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..4096)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bits = (x % 17) as u32; // 2^0 .. 2^16
            let len = 1 + (x >> 20) as usize % (1usize << bits);
            bytes(len.min(64 << 10), i)
        })
        .collect()
}

fn quick<'a>(c: &'a mut Criterion, name: &str, total: usize) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(total as u64));
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.measurement_time(Duration::from_secs(2));
    g
}

fn lanes_run(
    lanes: &mut Lanes,
    data: &[Vec<u8>],
    out: &mut Vec<std::io::Result<punzip::hash::md5::Digested>>,
) {
    let mut sources: Vec<Source<&[u8]>> = data
        .iter()
        .map(|d| Source::new(d.as_slice(), Some(d.len() as u64)))
        .collect();
    lanes.digest_all(&mut sources, out);
}

fn md5_engines(c: &mut Criterion) {
    let big = bytes(64 << 20, 1);
    let mut g = quick(c, "md5/single-64MiB", big.len());
    g.bench_function("md-5", |b| b.iter(|| Md5::digest(&big)));
    // One stream alone: scalar, or AVX-512VL with the avx512 engine on Intel.
    for e in Engine::available() {
        let mut lanes = Lanes::new(e);
        g.bench_function(format!("digest_one-{}", e.name()), |b| {
            b.iter(|| {
                lanes
                    .digest_one(&mut Source::new(big.as_slice(), None))
                    .unwrap()
            })
        });
    }
    g.finish();
    drop(big);

    let mut out = Vec::new();
    for (name, data) in [
        (
            "md5/16x4MiB",
            (0..16).map(|i| bytes(4 << 20, i)).collect::<Vec<_>>(),
        ),
        ("md5/4096x1B-64KiB", many_small()),
    ] {
        let total: usize = data.iter().map(Vec::len).sum();
        let mut g = quick(c, name, total);
        for e in Engine::available() {
            let mut lanes = Lanes::new(e);
            g.bench_function(format!("{}-x{}", e.name(), lanes.width()), |b| {
                b.iter(|| lanes_run(&mut lanes, &data, &mut out))
            });
        }
        g.finish();
    }

    // How many streams to keep in flight: a sweep on 96 x 1 MiB, which streams through the
    // lanes (larger than a chunk), at most two registers' worth per kernel call. Small
    // files are packed and hashed by `digest_many`, where the width only sets the pack size.
    let data: Vec<Vec<u8>> = (0..96).map(|i| bytes(1 << 20, i)).collect();
    let total: usize = data.iter().map(Vec::len).sum();
    let mut g = quick(c, "md5/width-96x1MiB", total);
    for e in Engine::available()
        .into_iter()
        .filter(|&e| e != Engine::Scalar)
    {
        for width in [8, 16, 24, 32, 48] {
            let mut lanes = Lanes::with_shape(e, width, punzip::hash::lanes::CHUNK);
            g.bench_function(format!("{}-x{width}", e.name()), |b| {
                b.iter(|| lanes_run(&mut lanes, &data, &mut out))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, md5_engines);
criterion_main!(benches);
