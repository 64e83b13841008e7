//! punzip, serial versus parallel, in-process: {serial, parallel} x {many small, few large}.
//!
//! Through the library's [`Session`], as the binary does. The archive is opened and
//! planned once, outside the timed loop; each iteration gets a
//! fresh empty destination from the (untimed) setup and returns it, so removing the
//! extracted tree is not timed either. Throughput is uncompressed bytes per second.
//! Corpus sizes: see `benches/common/mod.rs`.

mod common;

use std::num::NonZeroUsize;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use punzip::unzip::{self, session, Filter, Options, Session};

fn extract_group(c: &mut Criterion, name: &str, zip: &Path, bytes: u64, scratch: &Path) {
    let archive = session::open(zip).expect("open");
    let umask = unzip::fsops::umask();
    let session = Session::new(
        &archive,
        &Filter::default(),
        umask,
        punzip::pool::default_jobs(),
    )
    .expect("plan");
    assert!(
        session.plan().refused.is_empty(),
        "{:?}",
        session.plan().refused
    );

    let mut group = c.benchmark_group(format!("punzip/{name}"));
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    let parallel = punzip::pool::default_jobs();
    for (label, jobs) in [("serial", NonZeroUsize::MIN), ("parallel", parallel)] {
        group.bench_function(label, |b| {
            b.iter_batched(
                || tempfile::tempdir_in(scratch).expect("temp dir"),
                |dest| {
                    let mut opts = Options::new(dest.path());
                    opts.jobs = jobs;
                    opts.umask = umask;
                    let report = session.run(&opts, &mut |_| {});
                    assert!(
                        report.is_clean(),
                        "{:?}",
                        report.errors().collect::<Vec<_>>()
                    );
                    assert_eq!(report.totals().bytes_out, bytes);
                    dest
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn punzip_benches(c: &mut Criterion) {
    let corpora = common::Corpora::build();
    extract_group(
        c,
        "many-small",
        &corpora.small_zip,
        corpora.small_bytes,
        corpora.scratch(),
    );
    extract_group(
        c,
        "few-large",
        &corpora.large_zip,
        corpora.large_bytes,
        corpora.scratch(),
    );
}

criterion_group!(benches, punzip_benches);
criterion_main!(benches);
