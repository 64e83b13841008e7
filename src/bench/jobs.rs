//! The bench jobs of both tools, side by side: each turns "run the tool once with N
//! workers" into a [`RunResult`] whose fingerprint identifies what was produced, so the
//! runner can check every run did the same work. Both go through the tools' library
//! entry points (punzip's [`Session`], phash's [`hash_tree`]), as the binaries do.

use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use md5::Digest;

use super::runner::RunResult;
use crate::error::Shown;
use crate::hash::{hash_tree, HashConfig, Notice};
use crate::unzip::{session, Filter, Options, Session};

/// The punzip job: each run opens and plans `archive`, extracts it with the given worker
/// count into a fresh temporary directory under `parent`, and hands the directory back
/// for removal after the clock stops (`parent` is created if missing). Any refusal or
/// member error fails the run.
pub fn unzip_job(
    archive: &Path,
    parent: &Path,
    umask: u32,
) -> impl FnMut(NonZeroUsize) -> Result<RunResult, String> {
    let archive: PathBuf = archive.to_owned();
    let parent: PathBuf = parent.to_owned();
    move |jobs| {
        std::fs::create_dir_all(&parent)
            .map_err(|e| format!("{}: cannot create directory: {e}", Shown::path(&parent)))?;
        let tmp = tempfile::Builder::new()
            .prefix(".punzip-bench-")
            .tempdir_in(&parent)
            .map_err(|e| {
                format!(
                    "{}: cannot create temporary directory: {e}",
                    Shown::path(&parent)
                )
            })?;
        let a = session::open(&archive).map_err(|e| e.to_string())?;
        let s = Session::new(&a, &Filter::default(), umask, jobs).map_err(|e| e.to_string())?;
        let mut opts = Options::new(tmp.path());
        opts.jobs = jobs;
        opts.umask = umask;
        let report = s.run(&opts, &mut |_| {});
        let mut errors = report.errors();
        if let Some(e) = errors.next() {
            return Err(format!("{e} ({} failure(s))", 1 + errors.count()));
        }
        let t = report.totals();
        let fingerprint = format!(
            "files={} dirs={} links={} bytes_in={} bytes_out={} errors={} skipped={}",
            t.files, t.dirs, t.links, t.bytes_in, t.bytes_out, t.errors, t.skipped
        );
        Ok(RunResult::new(t.bytes_out, t.files, fingerprint).drop_after(tmp))
    }
}

/// The phash job: each run hashes `cfg.paths` with the given worker count, the md5sum
/// lines going into a digest rather than anywhere; the fingerprint is that digest, so two
/// runs that printed anything different disagree. Any error (not a warning) fails the run.
pub fn hash_job(cfg: HashConfig) -> impl FnMut(NonZeroUsize) -> Result<RunResult, String> {
    move |jobs| {
        let cfg = HashConfig {
            jobs,
            ..cfg.clone()
        };
        let mut sink = DigestSink(md5::Md5::new());
        let mut problem = None;
        let mut notify = |n: Notice<'_>| {
            if !n.is_warning() && problem.is_none() {
                problem = Some(n.to_string());
            }
        };
        let summary =
            hash_tree(&cfg, &mut sink, &mut notify, &mut |_| {}).map_err(|e| e.to_string())?;
        if let Some(p) = problem {
            return Err(p);
        }
        if summary.interrupted {
            return Err("interrupted".into());
        }
        let digest: [u8; 16] = sink.0.finalize().into();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let t = summary.totals;
        Ok(RunResult::new(
            t.bytes_in,
            t.files,
            format!("files={} bytes={} lines-md5={hex}", t.files, t.bytes_in),
        ))
    }
}

/// The phash job's output: md5sum lines folded into one digest.
struct DigestSink(md5::Md5);

impl Write for DigestSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::format::LineStyle;
    use crate::hash::walk::WalkOptions;

    #[test]
    fn the_hash_job_fingerprints_the_lines_and_agrees_across_worker_counts() {
        let tmp = tempfile::tempdir().unwrap();
        for i in 0..20 {
            std::fs::write(tmp.path().join(format!("f{i}")), vec![i as u8; 1000 * i]).unwrap();
        }
        let cfg = HashConfig {
            paths: vec![tmp.path().into()],
            jobs: NonZeroUsize::MIN,
            walk: WalkOptions::default(),
            style: LineStyle::default(),
        };
        let mut job = hash_job(cfg);
        let one = job(NonZeroUsize::MIN).unwrap();
        let four = job(NonZeroUsize::new(4).unwrap()).unwrap();
        assert_eq!(one.files, 20);
        assert_eq!(one.bytes, (0..20).map(|i| 1000 * i).sum::<u64>());
        assert_eq!(one.fingerprint, four.fingerprint);
        std::fs::write(tmp.path().join("f3"), b"changed").unwrap();
        assert_ne!(job(NonZeroUsize::MIN).unwrap().fingerprint, one.fingerprint);
    }

    #[test]
    fn the_unzip_job_fails_on_a_refused_member() {
        let tmp = tempfile::tempdir().unwrap();
        let zip = tmp.path().join("a.zip");
        let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
        w.start_file("../up", zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"x").unwrap();
        w.finish().unwrap();
        let err = unzip_job(&zip, tmp.path(), 0o022)(NonZeroUsize::MIN)
            .err()
            .unwrap();
        assert!(err.contains("../up") && err.contains("refused"), "{err}");
    }
}
