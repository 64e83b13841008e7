//! Writes the bench corpora (or the demo archive), deterministically from a seed:
//!
//! ```text
//! cargo run --release --example corpus -- [OPTIONS] DIR
//!   DIR/many-small/  DIR/many-small.zip   (--small-files N, --small-min/--small-max BYTES)
//!   DIR/few-large/   DIR/few-large.zip    (--large-files N, --large-size BYTES)
//! cargo run --example corpus -- --demo testdata/demo.zip
//! ```
//!
//! Same options and seed, same bytes. The generator itself is `punzip::bench::corpus`, so
//! the criterion benches build the very same shapes.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use punzip::bench::corpus::{self, LargeSpec, SmallSpec};

/// Make bench corpora: many small text files, a few large ones, as trees and zip archives.
#[derive(Parser, Debug)]
struct Args {
    /// Where to write the corpora (created if missing).
    #[arg(required_unless_present = "demo")]
    dir: Option<PathBuf>,

    /// Number of small files.
    #[arg(long, default_value_t = 20_000)]
    small_files: u64,

    /// Smallest small file, in bytes.
    #[arg(long, default_value_t = 1 << 10)]
    small_min: u64,

    /// Largest small file, in bytes.
    #[arg(long, default_value_t = 64 << 10)]
    small_max: u64,

    /// Number of large files (even-numbered ones are text, odd-numbered ones random).
    #[arg(long, default_value_t = 8)]
    large_files: u64,

    /// Size of each large file, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    large_size: u64,

    /// Seed of every pseudo-random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Skip the zip archives (trees only).
    #[arg(long)]
    no_zip: bool,

    /// Write the small demo archive to FILE.zip instead.
    #[arg(long, value_name = "FILE.zip", conflicts_with = "dir")]
    demo: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(path) = &args.demo {
        let file = std::fs::File::create(path)
            .with_context(|| format!("{}: cannot create", path.display()))?;
        corpus::write_demo(std::io::BufWriter::new(file), args.seed)
            .and_then(|mut w| std::io::Write::flush(&mut w))
            .with_context(|| format!("{}: cannot write", path.display()))?;
        eprintln!("wrote {}", path.display());
        return Ok(());
    }
    let dir = args.dir.as_ref().expect("clap requires DIR");
    if args.small_min == 0 && args.small_max == 0 && args.small_files > 0 {
        bail!("--small-max must be at least 1");
    }
    for name in ["many-small", "few-large"] {
        let d = dir.join(name);
        if d.exists() {
            bail!("{} already exists; remove it first", d.display());
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let small = SmallSpec {
        files: args.small_files,
        min_size: args.small_min,
        max_size: args.small_max,
        seed: args.seed,
    };
    let large = LargeSpec {
        files: args.large_files,
        size: args.large_size,
        seed: args.seed,
    };
    let t = Instant::now();
    let small_dir = dir.join("many-small");
    let n = corpus::write_many_small(&small_dir, &small)
        .with_context(|| format!("{}: cannot write", small_dir.display()))?;
    eprintln!(
        "many-small: {} files, {} bytes ({:.1} s)",
        small.files,
        n,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let large_dir = dir.join("few-large");
    let n = corpus::write_few_large(&large_dir, &large)
        .with_context(|| format!("{}: cannot write", large_dir.display()))?;
    eprintln!(
        "few-large: {} files, {} bytes ({:.1} s)",
        large.files,
        n,
        t.elapsed().as_secs_f64()
    );
    if !args.no_zip {
        for (tree, zip) in [
            (&small_dir, "many-small.zip"),
            (&large_dir, "few-large.zip"),
        ] {
            let t = Instant::now();
            let path = dir.join(zip);
            corpus::zip_dir(tree, &path)
                .with_context(|| format!("{}: cannot write", path.display()))?;
            let size = std::fs::metadata(&path)?.len();
            eprintln!("{zip}: {size} bytes ({:.1} s)", t.elapsed().as_secs_f64());
        }
    }
    Ok(())
}
