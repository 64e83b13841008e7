//! Deterministic, seeded bench corpora: the two shapes every bench needs (many small
//! text-like files in a few levels of directories; a few large files, half compressible,
//! half random), as directory trees and as zip archives, plus the small demo archive
//! committed as `testdata/demo.zip`.
//!
//! Everything derives from a seed through a hand-written splitmix64, and each file has its
//! own stream (seed mixed with the file's index), so the trees can be written in parallel
//! and still come out byte for byte the same. Archives carry fixed modification times, so
//! regenerating one gives identical bytes. It lives in the library (not only in the
//! `corpus` example) because the criterion benches build their corpora with it too.

use std::fs;
use std::io::{self, Seek, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// splitmix64: tiny, fast and good enough to make bench data.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// A generator for item `index` of stream `seed`, independent of the others.
    pub fn for_item(seed: u64, index: u64) -> SplitMix64 {
        let mut g = SplitMix64(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        g.next_u64();
        g
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "archive",
    "member",
    "worker",
    "thread",
    "parallel",
    "serial",
    "deflate",
    "buffer",
    "directory",
    "checksum",
    "central",
    "header",
    "extract",
    "compress",
    "stream",
    "block",
    "queue",
    "schedule",
    "throughput",
    "latency",
    "memory",
    "page",
    "cache",
    "disk",
    "file",
    "system",
    "kernel",
    "process",
    "signal",
    "error",
    "result",
    "value",
    "option",
    "config",
    "table",
    "index",
    "record",
    "field",
    "offset",
    "length",
    "window",
    "symbol",
    "literal",
    "distance",
    "code",
    "tree",
    "node",
    "branch",
    "leaf",
    "root",
    "path",
    "name",
    "time",
    "date",
    "mode",
    "owner",
];

/// Appends about `len` bytes of text-like content (words, punctuation, lines) to `out`.
pub fn text(rng: &mut SplitMix64, len: usize, out: &mut Vec<u8>) {
    let end = out.len() + len;
    let mut col = 0;
    while out.len() < end {
        let r = rng.next_u64();
        let word = WORDS[(r % WORDS.len() as u64) as usize].as_bytes();
        out.extend_from_slice(word);
        col += word.len() + 1;
        match (r >> 32) % 23 {
            0 => out.extend_from_slice(b". "),
            1 => out.extend_from_slice(b", "),
            2 => {
                // A number now and then, as in logs and source files.
                let _ = write!(out, " {} ", (r >> 40) % 100_000);
            }
            _ => out.push(b' '),
        }
        if col > 72 {
            out.push(b'\n');
            col = 0;
        }
    }
    out.truncate(end);
}

/// The many-small shape.
#[derive(Clone, Debug)]
pub struct SmallSpec {
    pub files: u64,
    pub min_size: u64,
    pub max_size: u64,
    pub seed: u64,
}

impl Default for SmallSpec {
    fn default() -> SmallSpec {
        SmallSpec {
            files: 20_000,
            min_size: 1 << 10,
            max_size: 64 << 10,
            seed: 1,
        }
    }
}

/// The few-large shape.
#[derive(Clone, Debug)]
pub struct LargeSpec {
    pub files: u64,
    pub size: u64,
    pub seed: u64,
}

impl Default for LargeSpec {
    fn default() -> LargeSpec {
        LargeSpec {
            files: 8,
            size: 64 << 20,
            seed: 1,
        }
    }
}

/// Relative path of small file `i`: three levels, at most 10 x 10 directories, at most
/// about 100 files per leaf directory at the default size.
fn small_path(i: u64) -> PathBuf {
    PathBuf::from(format!(
        "d{:02}/s{:02}/f{:06}.txt",
        i % 10,
        (i / 10) % 10,
        i
    ))
}

fn write_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, bytes).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Writes the many-small tree under `dir` and returns the total bytes written.
pub fn write_many_small(dir: &Path, spec: &SmallSpec) -> io::Result<u64> {
    let (lo, hi) = (
        spec.min_size.min(spec.max_size),
        spec.max_size.max(spec.min_size),
    );
    (0..spec.files)
        .into_par_iter()
        .map(|i| {
            let mut rng = SplitMix64::for_item(spec.seed, i);
            let len = rng.range(lo, hi) as usize;
            let mut buf = Vec::with_capacity(len);
            text(&mut rng, len, &mut buf);
            write_file(&dir.join(small_path(i)), &buf)?;
            Ok(len as u64)
        })
        .sum()
}

/// Writes the few-large files under `dir`: even-numbered ones are text (compressible),
/// odd-numbered ones random bytes. Returns the total bytes written.
pub fn write_few_large(dir: &Path, spec: &LargeSpec) -> io::Result<u64> {
    fs::create_dir_all(dir)?;
    (0..spec.files)
        .into_par_iter()
        .map(|i| {
            let mut rng = SplitMix64::for_item(spec.seed ^ 0x004C_4152_4745, i);
            let path = dir.join(if i % 2 == 0 {
                format!("large-{i:02}.txt")
            } else {
                format!("large-{i:02}.bin")
            });
            let mut out = io::BufWriter::with_capacity(1 << 20, fs::File::create(&path)?);
            let mut left = spec.size as usize;
            let mut buf = Vec::with_capacity(1 << 20);
            while left > 0 {
                let n = left.min(1 << 20);
                buf.clear();
                if i % 2 == 0 {
                    text(&mut rng, n, &mut buf);
                } else {
                    buf.resize(n, 0);
                    rng.fill(&mut buf);
                }
                out.write_all(&buf)?;
                left -= n;
            }
            out.flush()?;
            Ok(spec.size)
        })
        .sum()
}

/// A fixed time for every member, so archives are reproducible.
pub fn fixed_time() -> DateTime {
    DateTime::from_date_and_time(2024, 6, 1, 12, 0, 0).expect("valid date")
}

/// Zips the tree under `dir` into `zip_path` (deflate, members in sorted path order,
/// directory entries included, fixed times). Returns the number of files added.
pub fn zip_dir(dir: &Path, zip_path: &Path) -> io::Result<u64> {
    let file = fs::File::create(zip_path)?;
    let mut zip = ZipWriter::new(io::BufWriter::with_capacity(1 << 20, file));
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(fixed_time())
        .large_file(false);
    let mut files = 0;
    let mut buf = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name().min_depth(1) {
        let entry = entry.map_err(io::Error::other)?;
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("walk stays under its root");
        let name = rel.to_string_lossy().replace('\\', "/");
        if entry.file_type().is_dir() {
            zip.add_directory(name, opts.unix_permissions(0o755))
                .map_err(io::Error::other)?;
        } else if entry.file_type().is_file() {
            buf.clear();
            io::Read::read_to_end(&mut fs::File::open(entry.path())?, &mut buf)?;
            let o = opts
                .unix_permissions(0o644)
                .large_file(buf.len() as u64 >= u32::MAX as u64);
            zip.start_file(name, o).map_err(io::Error::other)?;
            zip.write_all(&buf)?;
            files += 1;
        }
    }
    zip.finish().map_err(io::Error::other)?.flush()?;
    Ok(files)
}

/// Writes the demo archive: about a hundred members and a few hundred KiB, in nested
/// directories, with an empty directory, a symlink, executable and read-only modes, and a
/// mix of stored and deflated members. Same seed, same bytes.
pub fn write_demo<W: Write + Seek>(out: W, seed: u64) -> io::Result<W> {
    let mut zip = ZipWriter::new(out);
    let base = SimpleFileOptions::default()
        .last_modified_time(fixed_time())
        .large_file(false);
    let deflated = base.compression_method(CompressionMethod::Deflated);
    let stored = base.compression_method(CompressionMethod::Stored);
    let dirs = [
        "demo/",
        "demo/docs/",
        "demo/src/",
        "demo/src/core/",
        "demo/src/core/deep/",
        "demo/data/",
        "demo/empty/",
    ];
    for d in dirs {
        zip.add_directory(d, base.unix_permissions(0o755))
            .map_err(io::Error::other)?;
    }
    let places = [
        "demo/docs",
        "demo/src",
        "demo/src/core",
        "demo/src/core/deep",
        "demo/data",
    ];
    let mut rng = SplitMix64::new(seed);
    let mut buf = Vec::new();
    for i in 0..96u64 {
        let dir = places[(i % places.len() as u64) as usize];
        buf.clear();
        // Mostly text; every seventh member random (incompressible, so stored, as zip
        // tools do); every eleventh empty.
        let (name, opts) = if i % 11 == 10 {
            (format!("{dir}/empty-{i:03}.txt"), stored)
        } else if i % 7 == 3 {
            let len = rng.range(1 << 10, 4 << 10) as usize;
            buf.resize(len, 0);
            rng.fill(&mut buf);
            (format!("{dir}/blob-{i:03}.bin"), stored)
        } else {
            let len = rng.range(200, 12 << 10) as usize;
            text(&mut rng, len, &mut buf);
            (format!("{dir}/file-{i:03}.txt"), deflated)
        };
        let mode = match i % 13 {
            5 => 0o755,
            9 => 0o444,
            12 => 0o600,
            _ => 0o644,
        };
        zip.start_file(name, opts.unix_permissions(mode))
            .map_err(io::Error::other)?;
        zip.write_all(&buf)?;
    }
    zip.add_symlink(
        "demo/docs/latest.txt",
        "../src/file-001.txt",
        base.unix_permissions(0o777),
    )
    .map_err(io::Error::other)?;
    zip.start_file("demo/README.txt", deflated.unix_permissions(0o644))
        .map_err(io::Error::other)?;
    zip.write_all(
        b"punzip demo archive: nested directories, an empty directory (demo/empty/),\n\
          a symlink (demo/docs/latest.txt), executable and read-only files, and a mix\n\
          of stored and deflated members. Made by `cargo run --example corpus -- --demo`.\n",
    )?;
    zip.finish().map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_is_the_reference_sequence() {
        // First outputs of splitmix64 seeded with 0 (from the reference implementation).
        let mut g = SplitMix64::new(0);
        assert_eq!(g.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(g.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn text_has_the_asked_length_and_compresses() {
        let mut out = Vec::new();
        text(&mut SplitMix64::new(3), 10_000, &mut out);
        assert_eq!(out.len(), 10_000);
        assert!(out.iter().all(|b| b.is_ascii()));
        assert!(out.contains(&b'\n'));
    }

    #[test]
    fn demo_archive_is_reproducible() {
        let a = write_demo(io::Cursor::new(Vec::new()), 7)
            .unwrap()
            .into_inner();
        let b = write_demo(io::Cursor::new(Vec::new()), 7)
            .unwrap()
            .into_inner();
        assert_eq!(a, b);
        let zip = zip::ZipArchive::new(io::Cursor::new(&a)).unwrap();
        assert!((95..=110).contains(&zip.len()), "{} members", zip.len());
    }

    #[test]
    fn trees_are_reproducible() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let spec = SmallSpec {
            files: 30,
            min_size: 10,
            max_size: 100,
            seed: 5,
        };
        let na = write_many_small(a.path(), &spec).unwrap();
        let nb = write_many_small(b.path(), &spec).unwrap();
        assert_eq!(na, nb);
        let p = small_path(17);
        assert_eq!(
            fs::read(a.path().join(&p)).unwrap(),
            fs::read(b.path().join(&p)).unwrap()
        );
        let za = b.path().join("x.zip");
        assert_eq!(zip_dir(a.path(), &za).unwrap(), 30);
    }
}
