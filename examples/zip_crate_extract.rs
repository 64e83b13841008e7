//! A peer for benchmarks: the `zip` crate's own extraction, serial (`ZipArchive::extract`)
//! or parallel (one archive handle per rayon worker, each member copied with `io::copy`),
//! so punzip can be timed against the library it would otherwise be built on.
//!
//! `cargo run --release --example zip_crate_extract -- ARCHIVE DEST [--parallel]`

use std::fs::File;
use std::io;
use std::path::Path;

use rayon::prelude::*;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (archive, dest) = match &args[1..] {
        [a, d] | [a, d, _] => (Path::new(a), Path::new(d)),
        _ => anyhow::bail!("usage: zip_crate_extract ARCHIVE DEST [--parallel]"),
    };
    if args.get(3).map(String::as_str) != Some("--parallel") {
        zip::ZipArchive::new(File::open(archive)?)?.extract(dest)?;
        return Ok(());
    }
    let n = zip::ZipArchive::new(File::open(archive)?)?.len();
    (0..n).into_par_iter().try_for_each_init(
        || zip::ZipArchive::new(File::open(archive).expect("open")).expect("archive"),
        |zip, i| -> anyhow::Result<()> {
            let mut f = zip.by_index(i)?;
            let Some(rel) = f.enclosed_name() else {
                return Ok(());
            };
            let path = dest.join(rel);
            if f.is_dir() {
                std::fs::create_dir_all(&path)?;
            } else {
                if let Some(p) = path.parent() {
                    std::fs::create_dir_all(p)?;
                }
                io::copy(&mut f, &mut File::create(&path)?)?;
            }
            Ok(())
        },
    )
}
