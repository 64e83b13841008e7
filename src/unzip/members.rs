//! Members decoded without writing files: the bytes of one member, checked exactly as
//! extraction and `-t` check them (never more than the declared size, all of it, the
//! CRC-32), handed to a consumer instead of a file. `punzip -p` ([`super::pipe`]) writes
//! them to standard output in archive order; `phash --members` ([`digests`]) hashes them.
//! Both decode in parallel on [`crate::pool::stream`] and consume in archive order.
//!
//! A member is decoded one of three ways:
//! - stored (not encrypted), copied out of the archive's map a chunk at a time, each
//!   chunk checked as it is copied ([`Decoder::copy_stored`]), so that what is handed on
//!   is what was checked even if the archive changes meanwhile;
//! - whole, in one call ([`Decoder::whole`]): deflated members up to a size the caller
//!   chooses, through libdeflate;
//! - in chunks ([`Decoder::stream`]) through the zip crate's reader: everything else
//!   (larger deflated members, encrypted members, other methods), so that memory does not
//!   grow with member size.
//!
//! When a member fails, the error is the one `punzip -t` gives for it: the member is run
//! once more through the extraction engine in test mode ([`explain`]), so the two can
//! never disagree on what is wrong (bad CRC, wrong password, unsupported method, size).
//! That costs a second decode of bad members only.

use std::io::{self, Read, Write};
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use zip::ZipReadOptions;

use super::extract::{self, Options};
use super::fast;
use super::meta::Kind;
use super::plan::{Archive, Filter, Member, Plan, Reader};
use super::session::{self, Session};
use crate::error::{Error, Result};
use crate::hash::algorithm::Algorithm;
use crate::hash::format;
use crate::pool;

/// Chunk size of the streaming path.
const CHUNK: usize = 256 * 1024;

/// Why a member's bytes did not all reach the consumer.
#[derive(Debug)]
pub enum Failed {
    /// The member is bad (or could not be read): the error names it.
    Member(Error),
    /// The consumer refused the bytes (standard output closed or full).
    Output(io::Error),
}

/// Per-thread decoding state: a zip reader over the shared map, libdeflate's decoder and
/// its buffer, a chunk buffer.
pub struct Decoder<'a> {
    archive: &'a Archive,
    zip: Reader<'a>,
    fast: fast::Inflater,
    buf: Vec<u8>,
    password: Option<&'a [u8]>,
}

impl<'a> Decoder<'a> {
    pub fn new(archive: &'a Archive, reader: &Reader<'a>, password: Option<&'a [u8]>) -> Self {
        Decoder {
            archive,
            zip: reader.clone(),
            fast: fast::Inflater::default(),
            buf: Vec::new(),
            password,
        }
    }

    /// Decodes `m` in one call if it is deflated and at most `max_deflated` bytes, not
    /// encrypted; `None` when it must be streamed instead (or, stored, copied out with
    /// [`Decoder::copy_stored`]). The bytes are checked (size and CRC) before they are
    /// returned.
    pub fn whole(&mut self, m: &Member, max_deflated: u64) -> Option<Result<&[u8]>> {
        if m.encrypted {
            return None;
        }
        let method = match m.method {
            zip::CompressionMethod::Deflated
                if m.size <= max_deflated && m.compressed <= fast::FAST_MAX =>
            {
                fast::Method::Deflated
            }
            _ => return None,
        };
        let Decoder {
            archive,
            zip,
            fast,
            password,
            ..
        } = self;
        let Some(data) = member_data(archive.bytes(), m) else {
            return Some(Err(explain(archive, zip, m, *password)));
        };
        Some(
            fast.decode(method, data, m.size, m.crc)
                .map_err(|_| explain(archive, zip, m, *password)),
        )
    }

    /// Streams `m`'s bytes to `out` in chunks through the zip crate's reader, never more
    /// than its declared size; the reader checks the CRC at the end of the data. Bytes of
    /// a member that turns out bad have already been handed over by then (as `unzip -p`
    /// has written them).
    pub fn stream(
        &mut self,
        m: &Member,
        out: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> std::result::Result<u64, Failed> {
        if m.encrypted && self.password.is_none() {
            return Err(Failed::Member(Error::NeedPassword {
                member: m.name.clone(),
            }));
        }
        if self.buf.len() < CHUNK {
            self.buf.resize(CHUNK, 0);
        }
        let read_opts = ZipReadOptions::new().password(self.password.filter(|_| m.encrypted));
        let mut total: u64 = 0;
        let _one_at_a_time = crate::unzip::plan::one_big_model(m);
        let ok = match self.zip.by_index_with_options(m.index, read_opts) {
            Err(_) => false,
            Ok(mut zf) => loop {
                if crate::cancel::interrupted() {
                    return Err(Failed::Member(Error::Interrupted));
                }
                let n = match zf.read(&mut self.buf) {
                    Ok(0) => break total == m.size,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break false,
                };
                total += n as u64;
                if total > m.size {
                    break false;
                }
                out(&self.buf[..n]).map_err(Failed::Output)?;
            },
        };
        if ok {
            Ok(total)
        } else {
            Err(Failed::Member(self.explain(m)))
        }
    }

    /// Every byte of `m` to `out`: whole when it is stored or deflated and at most
    /// `max_deflated` bytes, else in chunks.
    pub fn decode(
        &mut self,
        m: &Member,
        max_deflated: u64,
        out: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> std::result::Result<u64, Failed> {
        if !m.encrypted && m.method == zip::CompressionMethod::Stored {
            return self.copy_stored(m, out).map(|_| m.size);
        }
        match self.whole(m, max_deflated) {
            Some(Ok(bytes)) => out(bytes).map(|_| m.size).map_err(Failed::Output),
            Some(Err(e)) => Err(Failed::Member(e)),
            None => self.stream(m, out),
        }
    }

    /// A stored member's bytes to `out`, each chunk checked as it is copied out of the map
    /// (see [`fast::Inflater::copy_stored`]): what is checked is what `out` gets, even if
    /// another process writes the archive meanwhile. A bad CRC is said after the bytes.
    pub fn copy_stored(
        &mut self,
        m: &Member,
        out: &mut dyn FnMut(&[u8]) -> io::Result<()>,
    ) -> std::result::Result<(), Failed> {
        let Some(data) = member_data(self.archive.bytes(), m) else {
            return Err(Failed::Member(self.explain(m)));
        };
        self.fast
            .copy_stored(data, m.size, m.crc, out)
            .map_err(|e| match e {
                // The bytes handed on, not the map's now, are what failed.
                Ok(fast::FastError::BadCrc { got }) => Failed::Member(Error::BadCrc {
                    member: m.name.clone(),
                    got: Some(got),
                    want: m.crc,
                }),
                Ok(_) => Failed::Member(self.explain(m)),
                Err(e) => Failed::Output(e),
            })
    }

    /// What is wrong with member `m`, which failed to decode here: what `punzip -t` says
    /// about it.
    fn explain(&self, m: &Member) -> Error {
        explain(self.archive, &self.zip, m, self.password)
    }
}

/// The error `punzip -t` reports for member `m` alone (an interrupt if one arrived; a
/// plain "corrupt" if the test, against expectations, passes).
pub fn explain(
    archive: &Archive,
    reader: &Reader<'_>,
    m: &Member,
    password: Option<&[u8]>,
) -> Error {
    if crate::cancel::interrupted() {
        return Error::Interrupted;
    }
    let plan = Plan {
        members: vec![m.clone()],
        matched: 1,
        ..Plan::default()
    };
    let mut opts = Options::new("");
    opts.test_only = true;
    opts.jobs = NonZeroUsize::MIN;
    opts.check_free_space = false;
    opts.password = password.map(<[u8]>::to_vec);
    match extract::extract(archive, reader, &plan, &opts, &mut |_| {}) {
        Ok(outcome) => outcome.errors.into_iter().next().unwrap_or(Error::Corrupt {
            member: m.name.clone(),
            reason: "the data could not be read".into(),
        }),
        Err(e) => e,
    }
}

/// The member's compressed bytes in the archive, if they lie inside it.
pub(super) fn member_data<'b>(bytes: &'b [u8], m: &Member) -> Option<&'b [u8]> {
    let start = usize::try_from(m.data_start).ok()?;
    let len = usize::try_from(m.compressed).ok()?;
    bytes.get(start..start.checked_add(len)?)
}

/// The members whose bytes are wanted, in archive order: regular files, and with `links`
/// symbolic links too (their target, as `unzip -p` writes it).
pub fn selected(plan: &Plan, links: bool) -> Vec<&Member> {
    plan.members
        .iter()
        .filter(|m| m.kind == Kind::File || (links && m.kind == Kind::Symlink))
        .collect()
}

/// The relative path a member is extracted to, with `/` separators (what `phash -c`
/// opens in DEST).
pub fn extracted_path(m: &Member) -> String {
    m.parts().join("/")
}

/// How members are decoded: how many workers, and the password of encrypted members.
#[derive(Clone, Copy, Debug)]
pub struct DecodeOptions<'p> {
    pub jobs: NonZeroUsize,
    pub password: Option<&'p [u8]>,
}

/// Digests every regular file member of `plan` with `algorithm`, in parallel, calling
/// `on_each` with each member and its lowercase hex digest (or its error), in archive
/// order. Each worker decodes and digests whole members, streaming the large ones, so
/// memory does not grow with member size. Returns early (not every member reported) when
/// `stop` is raised or an interrupt arrives.
pub fn digests(
    archive: &Archive,
    reader: &Reader<'_>,
    plan: &Plan,
    opts: &DecodeOptions<'_>,
    algorithm: Algorithm,
    stop: &AtomicBool,
    on_each: &mut dyn FnMut(&Member, Result<String>),
) {
    let members = selected(plan, false);
    // A truncated archive reads as zeros instead of killing us (SIGBUS): no digest is
    // reported once the guard has seen a missing page, and the run stops there.
    let guard = crate::sigbus::Guard::new(archive.bytes());
    // Less under a container's memory limit ([`crate::memlimit`]).
    let whole_max = crate::memlimit::share(fast::FAST_MAX, opts.jobs.get());
    pool::stream(
        opts.jobs,
        members.into_iter(),
        stop,
        || Decoder::new(archive, reader, opts.password),
        |d, m| {
            let mut h = algorithm.hasher();
            d.decode(m, whole_max, &mut |bytes| {
                h.update(bytes);
                Ok(())
            })
            .map(|_| h.finish_hex())
            .map_err(|f| match f {
                Failed::Member(e) => e,
                Failed::Output(_) => unreachable!("a digest never refuses bytes"),
            })
        },
        |d| {
            if let pool::Delivery::Done(m, r) = d {
                if guard.tripped() {
                    // One message for the archive; the members in flight are dropped.
                    if !stop.swap(true, Ordering::Relaxed) {
                        on_each(m, Err(extract::truncated(archive, Some(m))));
                    }
                } else {
                    on_each(m, r);
                }
            }
        },
    );
}

/// What [`sum_archive`] did.
#[derive(Debug, Default)]
pub struct Sums {
    /// Lines written.
    pub files: u64,
    /// Bytes digested.
    pub bytes: u64,
    /// Members with no line: refused while planning, or failed to decode.
    pub failed: u64,
    /// Stopped by an interrupt.
    pub interrupted: bool,
    /// Why `out` stopped taking lines, if it did (`BrokenPipe` for a closed pipe).
    pub output: Option<io::Error>,
}

/// `phash --members`: opens the archive at `path` (`-` for standard input), and writes a
/// checksum line for every regular file member, as phash writes one for a file (`HEX
/// NAME`, the name escaped as md5sum escapes it; with `zero`, NUL-terminated and never
/// escaped), named by the relative path punzip extracts it to, so that the lines check an
/// extraction from inside DEST. Members refused by the plan or failing to decode get no
/// line: `on_error` is called for each. Fails only when the archive cannot be read.
pub fn sum_archive(
    path: &Path,
    jobs: NonZeroUsize,
    password: Option<&[u8]>,
    style: format::LineStyle,
    out: &mut dyn Write,
    on_error: &mut dyn FnMut(&Error),
) -> Result<Sums> {
    let archive = session::open(path)?;
    let session = Session::new(&archive, &Filter::default(), 0o022, jobs)?;
    let mut sums = Sums::default();
    for e in &session.plan().refused {
        on_error(e);
        // A warning about the archive as a whole (bytes in front of it) costs no line.
        if !matches!(e, Error::ArchiveWarning { .. }) {
            sums.failed += 1;
        }
    }
    let stop = AtomicBool::new(false);
    let mut out = io::BufWriter::with_capacity(64 * 1024, out);
    let mut line = Vec::new();
    let opts = DecodeOptions { jobs, password };
    session.digests(&opts, style.algorithm, &stop, &mut |m, name, r| match r {
        Err(Error::Interrupted) => {}
        Err(e) => {
            on_error(&e);
            sums.failed += 1;
        }
        Ok(_) if sums.output.is_some() => {}
        Ok(hex) => {
            line.clear();
            // A member called `-` (what `zip ARCHIVE -` stores) is the file `./-`:
            // written as `-`, `phash -c` and `md5sum -c` would read standard input.
            let name = if name == "-" { "./-" } else { name.as_str() };
            // A name kept as bytes is written as those bytes (see `names`).
            let name = crate::unzip::names::on_disk(name);
            format::line_into(&mut line, style, hex.as_bytes(), name.as_bytes());
            match out.write_all(&line) {
                Ok(()) => {
                    sums.files += 1;
                    sums.bytes += m.size;
                }
                Err(e) => {
                    stop.store(true, Ordering::Relaxed);
                    sums.output = Some(e);
                }
            }
        }
    });
    if sums.output.is_none() {
        sums.output = out.flush().err();
    }
    if sums.output.is_some() {
        drop(out.into_parts());
    }
    sums.interrupted = crate::cancel::cut_short();
    Ok(sums)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unzip::plan;
    use md5::Digest as _;

    fn archive(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, bytes) in members {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    /// (path, digest or error text) of every member, at `jobs` workers.
    fn sums(a: &Archive, jobs: usize) -> Vec<(String, std::result::Result<String, String>)> {
        let mut reader = a.reader().unwrap();
        let plan =
            plan::build(a, &mut reader, &Filter::default(), 0o022, NonZeroUsize::MIN).unwrap();
        let opts = DecodeOptions {
            jobs: NonZeroUsize::new(jobs).unwrap(),
            password: None,
        };
        let mut got = Vec::new();
        let stop = AtomicBool::new(false);
        digests(
            a,
            &reader,
            &plan,
            &opts,
            Algorithm::Md5,
            &stop,
            &mut |m, r| got.push((extracted_path(m), r.map_err(|e| e.to_string()))),
        );
        got
    }

    #[test]
    fn digests_are_the_md5_of_each_member_and_a_bad_one_gets_the_error_test_mode_gives() {
        let mut bytes = archive(&[("./a.txt", b"alpha"), ("b.bin", b"beta"), ("c", b"gamma")]);
        // Flip b.bin's CRC in its local header and its central record (both the second).
        let at = |sig: &[u8]| -> Vec<usize> {
            (0..bytes.len() - 4)
                .filter(|&i| &bytes[i..i + 4] == sig)
                .collect()
        };
        let (lfh, cdh) = (at(b"PK\x03\x04"), at(b"PK\x01\x02"));
        bytes[lfh[1] + 14] ^= 1;
        bytes[cdh[1] + 16] ^= 1;
        let a = Archive::from_bytes("t.zip", bytes);
        let md5 = |b: &[u8]| crate::hash::algorithm::hex(&md5::Md5::digest(b));
        let want = vec![
            ("a.txt".to_string(), Ok(md5(b"alpha"))),
            (
                "b.bin".to_string(),
                Err(format!(
                    "b.bin: bad CRC-32 {:08x} (should be {:08x})",
                    libdeflater::crc32(b"beta"),
                    libdeflater::crc32(b"beta") ^ 1
                )),
            ),
            ("c".to_string(), Ok(md5(b"gamma"))),
        ];
        assert_eq!(sums(&a, 1), want);
        assert_eq!(sums(&a, 2), want);
    }
}
