//! What every criterion bench shares: the two corpus shapes, built once per bench binary
//! into a temporary directory (outside any timed loop), at sizes small enough that
//! `cargo bench` takes a few minutes. Scale them up with environment variables:
//!
//! - `PUNZIP_BENCH_SMALL_FILES` (default 2000), `PUNZIP_BENCH_SMALL_MAX` (bytes, 65536)
//! - `PUNZIP_BENCH_LARGE_FILES` (default 4), `PUNZIP_BENCH_LARGE_SIZE` (bytes, 16 MiB)
//! - `PUNZIP_BENCH_DIR`: where to build them (default: the system temp dir)
//!
//! A bench file for another tool (`benches/phash.rs`) uses the same corpora with `mod common;`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use punzip::bench::corpus::{self, LargeSpec, SmallSpec};

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?} is not a number: {e}")),
        Err(_) => default,
    }
}

/// The corpora on disk: trees and their zip archives, with their sizes.
pub struct Corpora {
    _root: tempfile::TempDir,
    pub small_dir: PathBuf,
    pub small_zip: PathBuf,
    pub small_bytes: u64,
    pub large_dir: PathBuf,
    pub large_zip: PathBuf,
    pub large_bytes: u64,
}

impl Corpora {
    /// Builds both shapes (takes a few seconds at the default sizes).
    pub fn build() -> Corpora {
        let root = match std::env::var_os("PUNZIP_BENCH_DIR") {
            Some(d) => tempfile::tempdir_in(d),
            None => tempfile::tempdir(),
        }
        .expect("cannot create the corpus directory");
        let small = SmallSpec {
            files: env_u64("PUNZIP_BENCH_SMALL_FILES", 2000),
            max_size: env_u64("PUNZIP_BENCH_SMALL_MAX", 64 << 10),
            ..SmallSpec::default()
        };
        let large = LargeSpec {
            files: env_u64("PUNZIP_BENCH_LARGE_FILES", 4),
            size: env_u64("PUNZIP_BENCH_LARGE_SIZE", 16 << 20),
            ..LargeSpec::default()
        };
        let r = root.path();
        let small_dir = r.join("many-small");
        let large_dir = r.join("few-large");
        let small_bytes = corpus::write_many_small(&small_dir, &small).expect("many-small");
        let large_bytes = corpus::write_few_large(&large_dir, &large).expect("few-large");
        let small_zip = r.join("many-small.zip");
        let large_zip = r.join("few-large.zip");
        corpus::zip_dir(&small_dir, &small_zip).expect("many-small.zip");
        corpus::zip_dir(&large_dir, &large_zip).expect("few-large.zip");
        eprintln!(
            "corpora in {}: many-small {} files, {} bytes; few-large {} files, {} bytes",
            r.display(),
            small.files,
            small_bytes,
            large.files,
            large_bytes
        );
        Corpora {
            small_dir,
            small_zip,
            small_bytes,
            large_dir,
            large_zip,
            large_bytes,
            _root: root,
        }
    }

    /// A scratch directory next to the corpora (same file system), for outputs.
    pub fn scratch(&self) -> &Path {
        self._root.path()
    }
}
