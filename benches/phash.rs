//! phash, serial versus parallel, in-process: {serial, parallel} x {many small, few large}.
//!
//! The trees are built once, outside the timed loop; each iteration hashes the whole tree
//! with the library's `hash_tree` and discards the lines (they are checked once, first:
//! every file hashed, no error). The page cache is warm after the first iteration, so this
//! measures hashing and walking, not the disk. Throughput is file bytes per second.
//! Corpus sizes: see `benches/common/mod.rs`.

mod common;

use std::ffi::OsString;
use std::num::NonZeroUsize;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use punzip::hash::format::LineStyle;
use punzip::hash::walk::WalkOptions;
use punzip::hash::{self, HashConfig};

fn config(dir: &Path, jobs: NonZeroUsize) -> HashConfig {
    HashConfig {
        paths: vec![OsString::from(dir)],
        jobs,
        walk: WalkOptions::default(),
        style: LineStyle::default(),
    }
}

fn hash_group(c: &mut Criterion, name: &str, dir: &Path, bytes: u64) {
    let mut group = c.benchmark_group(format!("phash/{name}"));
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    let parallel = punzip::pool::default_jobs();
    for (label, jobs) in [("serial", NonZeroUsize::MIN), ("parallel", parallel)] {
        let cfg = config(dir, jobs);
        let summary = hash::hash_tree(
            &cfg,
            &mut std::io::sink(),
            &mut |n| panic!("{n}"),
            &mut |_| {},
        )
        .expect("hash");
        assert_eq!(summary.totals.bytes_in, bytes);
        group.bench_function(label, |b| {
            b.iter(|| {
                hash::hash_tree(&cfg, &mut std::io::sink(), &mut |_| {}, &mut |_| {}).expect("hash")
            })
        });
    }
    group.finish();
}

fn phash_benches(c: &mut Criterion) {
    let corpora = common::Corpora::build();
    hash_group(c, "many-small", &corpora.small_dir, corpora.small_bytes);
    hash_group(c, "few-large", &corpora.large_dir, corpora.large_bytes);
}

criterion_group!(benches, phash_benches);
criterion_main!(benches);
