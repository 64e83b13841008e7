//! The lane engine: one worker hashes many files at once, one per SIMD lane.
//!
//! MD5 is a serial chain of 64-byte blocks, so one stream cannot use a vector unit; many
//! independent streams can (8 per AVX2 register, 16 per AVX-512 register). A [`Lanes`]
//! takes a batch, shortest first: sources that fit a chunk are read whole and packed, and
//! each pack is one `digest_many` call (whole messages, longest first, a lane refilled as
//! soon as its message ends); larger sources stream through the lanes a chunk per round,
//! and a lane is refilled as soon as its source ends. Both run on our own kernels
//! ([`kernel`], two registers' worth of lanes per call). Any mix of sizes keeps the lanes
//! full until the batch runs dry. (Streaming small files too, one round per file, ran at
//! about a third of the speed: every round waited for its longest file.)
//!
//! Why it is shaped so:
//! - Memory is bounded by the engine, never by the files: each lane owns one [`CHUNK`]-byte
//!   slice of one buffer allocated once; a small file is read whole in one `read`, a large
//!   one a chunk per round (48 x 256 KiB = 12 MiB at most, twice that when reading ahead,
//!   whatever the file sizes).
//! - A source that fails to read fails alone: its lane is freed and refilled, and its
//!   neighbours' digests are unaffected.
//! - [`crate::pool::halted`] (an interrupt, or the run told to stop: its output was
//!   closed) is checked before every pack and every round of reads, so a batch of huge
//!   files stops within one chunk per lane; unfinished sources get
//!   `ErrorKind::Interrupted`.
//! - Reading stops at the size the caller expects (if given), as [`super::md5`] does: the
//!   caller compares sizes afterwards, and a file that keeps growing is not read forever.
//! - The kernel takes equal, block-aligned inputs, so every round is fed to it in such
//!   steps (`update_round`). Our kernels replaced md5-many's (0.1.0-alpha.4): each stream
//!   is bound by the latency of MD5's dependency chain, which ours keep to four operations
//!   a step (see [`kernel`]). Measured on Zen 5: a group of 16 big files hashes in 21% less
//!   user time; /usr/share's small files 3.0 -> 4.5 GB/s in memory. A source streamed
//!   alone runs the single-stream compressor ([`kernel`]'s `Kernel::one`: AVX-512VL on
//!   Intel, 0.335 -> 0.304 s for 256 MiB on an Intel Xeon; else scalar, as fast as
//!   md5-many's).
//! - With enough to stream ([`AHEAD`]), a helper thread reads the next round while this
//!   one is hashed (same loop, `Fetch`), so a single big file or a group of them overlaps
//!   the page-cache copy (or the disk) with hashing.
//! - Files that stream in a group (bigger than a chunk, two or more) are not copied at
//!   all: each is mapped when its lane takes it, each round maps in the pages of its next
//!   chunk (on the helper thread, if any), and the kernel hashes the page cache in place
//!   ([`mapped`], which also says how a file truncated meanwhile is caught). Measured
//!   on tmpfs, 16 x 64 MiB `-j2`: 0.203 -> 0.139 s (Intel Xeon, AVX-512).
//! - [`Lanes::digest_one`] and [`Lanes::digest_all`] are one code path (a batch of one runs
//!   the single-stream compressor), and every engine path can be forced
//!   (`PHASH_MD5_ENGINE`, see [`engine`]) so the tests run each one this CPU has.

pub mod engine;
mod kernel;
mod mapped;
#[cfg(test)]
mod tests;

use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::{mpsc, Arc};

use kernel::{Kernel, Stream};
use mapped::Mapped;

pub use engine::{Engine, EngineChoiceError};
pub use mapped::{is_shrank, Shrank};

use super::md5::Digested;
use super::pagebuf::PageBuf;

/// Bytes a lane reads per round (the same chunk size as the single-stream worker).
pub const CHUNK: usize = super::md5::CHUNK;

/// Something to hash: a reader and, if known, how many bytes to read from it.
#[derive(Debug)]
pub struct Source<R> {
    reader: R,
    limit: Option<u64>,
    /// The file to map instead of reading it, if it streams ([`mapped`]).
    fd: Option<RawFd>,
}

impl<R: Read> Source<R> {
    /// A source that yields `limit` bytes, or everything up to end-of-file if `None`.
    /// Reading stops at the limit even if more is there (the caller then checks the file's
    /// size again); a source that ends early gives a [`Digested`] with the shorter `len`.
    /// Pass `None` for files whose size says nothing (procfs reports 0).
    pub fn new(reader: R, limit: Option<u64>) -> Self {
        Source {
            reader,
            limit,
            fd: None,
        }
    }

    /// [`Source::new`] for a regular file whose `limit` is its size: if it is too big to
    /// be read whole into a lane, it is hashed through a memory map ([`mapped`]), its
    /// first `limit` bytes; a file that turns out shorter gives an error that
    /// [`is_shrank`] recognises, never a digest.
    pub fn file(reader: R, limit: Option<u64>) -> Self
    where
        R: AsFd,
    {
        let fd = Some(reader.as_fd().as_raw_fd());
        Source { reader, limit, fd }
    }

    /// The reader, e.g. to `fstat` the file again after hashing.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    /// How many bytes will be read at most (`None`: to the end).
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// The reader back.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

/// A per-worker multi-buffer MD5 engine: owns the lane buffers, reusable across calls.
pub struct Lanes {
    engine: Engine,
    /// The compressor for streamed lanes (our own: see [`kernel`]).
    kernel: Kernel,
    width: usize,
    chunk: usize,
    /// `width` slices of `chunk` bytes, one per lane.
    bufs: PageBuf,
    /// A second set, for reading ahead (allocated on first use).
    spare: PageBuf,
}

impl Default for Lanes {
    /// The engine this process selected ([`Engine::selected`]) at its natural width.
    fn default() -> Self {
        Lanes::new(Engine::selected())
    }
}

/// One source in flight: which, where its bytes go this round, how far it got.
struct Lane {
    /// Index into the batch.
    src: usize,
    /// Which `chunk`-sized slice of the buffers is this lane's.
    slot: usize,
    /// Bytes read so far.
    len: u64,
    /// Bytes in the buffer this round.
    filled: usize,
    /// Finished: end-of-file, limit reached, or failed.
    done: bool,
    /// Failed (and, once `error` is taken, reported).
    failed: bool,
    /// The read error, until reported.
    error: Option<io::Error>,
    /// The source's map, if it is read through one: this round's bytes are then
    /// `map[len - filled..len]`, not in the lane's slot of the buffers.
    map: Option<Arc<Mapped>>,
}

impl Lane {
    /// This round's bytes.
    fn input<'a>(&'a self, bufs: &'a [u8], chunk: usize) -> &'a [u8] {
        match &self.map {
            Some(m) => &m.bytes()[(self.len as usize - self.filled)..self.len as usize],
            None => &bufs[self.slot * chunk..][..self.filled],
        }
    }

    /// What a finished lane gives: its digest, unless its map lost a page (the file
    /// shrank while hashed: the zero page read in its place must not make a digest).
    fn outcome(&self, kernel: Kernel, state: &Stream) -> io::Result<Digested> {
        if self.map.as_ref().is_some_and(|m| m.tripped()) {
            return Err(mapped::shrank());
        }
        Ok(Digested {
            digest: state.finalize(kernel),
            len: self.len,
        })
    }
}

/// Bytes per round for a source streamed alone (see `Lanes::shape`).
const SINGLE_ROUND: usize = 1 << 20;

/// Streamed bytes from which `Lanes::stream` reads ahead on a helper thread: below
/// this, a thread and a second set of buffers cost more than the overlap saves.
pub const AHEAD: u64 = 8 << 20;

/// Where a round's reads happen: inline, after the hashing, or on a helper thread (which
/// owns the sources), into the spare buffers, while this thread hashes.
enum Fetch<'a, R> {
    Inline(&'a mut [Source<R>]),
    Ahead {
        jobs: mpsc::Sender<(PageBuf, Vec<Lane>)>,
        back: mpsc::Receiver<(PageBuf, Vec<Lane>)>,
        spare: PageBuf,
    },
}

impl<R: Read> Fetch<'_, R> {
    /// Starts reading `lanes`' next chunks; what it gives back goes to [`Fetch::finish`].
    fn start(&mut self, lanes: Vec<Lane>) -> Option<Vec<Lane>> {
        match self {
            Fetch::Inline(_) => Some(lanes),
            Fetch::Ahead { jobs, spare, .. } => {
                jobs.send((std::mem::take(spare), lanes))
                    .expect("the reader lives as long as the rounds");
                None
            }
        }
    }

    /// The buffers holding the round started last, and its lanes; `bufs` (hashed) is free.
    fn finish(
        &mut self,
        mut bufs: PageBuf,
        kept: Option<Vec<Lane>>,
        chunk: usize,
    ) -> (PageBuf, Vec<Lane>) {
        match self {
            Fetch::Inline(sources) => {
                let mut lanes = kept.expect("inline reads keep their lanes");
                read_round(sources, &mut lanes, &mut bufs, chunk);
                (bufs, lanes)
            }
            Fetch::Ahead { back, spare, .. } => {
                let (filled, lanes) = back.recv().expect("the reader answers every round");
                *spare = bufs;
                (filled, lanes)
            }
        }
    }
}

/// The lanes of the round after `cur`'s: its unfinished lanes, in order and in their
/// slots, then new sources from `order` in the free slots, up to `width`.
fn plan(cur: &[Lane], order: &[usize], next_src: &mut usize, width: usize) -> Vec<Lane> {
    let mut used = vec![false; width];
    let mut lanes: Vec<Lane> = cur
        .iter()
        .filter(|l| !l.done)
        .map(|l| {
            used[l.slot] = true;
            Lane {
                src: l.src,
                slot: l.slot,
                len: l.len,
                filled: 0,
                done: false,
                failed: false,
                error: None,
                map: l.map.clone(),
            }
        })
        .collect();
    let mut free = (0..width).filter(|&s| !used[s]);
    while lanes.len() < width && *next_src < order.len() {
        lanes.push(Lane {
            src: order[*next_src],
            slot: free.next().expect("a free slot per lane"),
            len: 0,
            filled: 0,
            done: false,
            failed: false,
            error: None,
            map: None,
        });
        *next_src += 1;
    }
    lanes
}

/// Reads one chunk per lane into its slot of `bufs`; marks lanes done at end-of-file or
/// at their limit, and failed (keeping the error) when a read fails. A file source
/// bigger than a chunk is mapped at its first round instead, and each round only has its
/// chunk's pages mapped in ([`Mapped::populate`]).
fn read_round<R: Read>(
    sources: &mut [Source<R>],
    lanes: &mut [Lane],
    bufs: &mut [u8],
    chunk: usize,
) {
    for lane in lanes {
        let src = &mut sources[lane.src];
        let want = match src.limit {
            Some(l) => usize::try_from(l - lane.len).map_or(chunk, |left| left.min(chunk)),
            None => chunk,
        };
        lane.filled = 0;
        if want == 0 {
            lane.done = true;
            continue;
        }
        if lane.len == 0 && lane.map.is_none() {
            if let (Some(fd), Some(limit)) = (src.fd.take(), src.limit) {
                if limit > chunk as u64 {
                    lane.map = Mapped::new(fd, limit).map(Arc::new);
                }
            }
        }
        // Mapped: this round's pages mapped in (all `want` bytes, or an error);
        // else read into the lane's slot.
        let got = match &lane.map {
            Some(m) => m.populate(lane.len as usize, want).map(|()| want),
            None => read_retrying(&mut src.reader, &mut bufs[lane.slot * chunk..][..want]),
        };
        match got {
            Ok(0) => lane.done = true,
            Ok(n) => {
                lane.filled = n;
                lane.len += n as u64;
                lane.done = src.limit == Some(lane.len);
            }
            Err(e) => {
                (lane.done, lane.failed) = (true, true);
                lane.error = Some(e);
            }
        }
    }
}

/// Reports the lanes whose read failed this round (their lanes are then retired).
fn report_failures(lanes: &mut [Lane], done: &mut impl FnMut(usize, io::Result<Digested>)) {
    for lane in lanes {
        if let Some(e) = lane.error.take() {
            done(lane.src, Err(e));
        }
    }
}

impl Lanes {
    /// An engine on `engine` (which must be available, else it runs scalar) with
    /// [`Engine::width`] lanes of [`CHUNK`] bytes.
    pub fn new(engine: Engine) -> Lanes {
        Lanes::with_shape(engine, engine.width(), CHUNK)
    }

    /// An engine with `width` lanes (1..=48) of `chunk` bytes: for tests and measurements.
    pub fn with_shape(engine: Engine, width: usize, chunk: usize) -> Lanes {
        let engine = if engine.is_available() {
            engine
        } else {
            Engine::Scalar
        };
        let width = width.clamp(1, 48);
        let chunk = chunk.max(64);
        Lanes {
            engine,
            kernel: Kernel::for_engine(engine),
            width,
            chunk,
            bufs: PageBuf::zeroed(width * chunk),
            spare: PageBuf::default(),
        }
    }

    /// The engine path this instance runs.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Sources kept in flight at once.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Hashes every source, keeping up to [`Lanes::width`] in flight; `out` is cleared and
    /// gets one result per source, in order. An `Err` is that source's read error (or
    /// `ErrorKind::Interrupted` after SIGINT); the others are unaffected.
    pub fn digest_all<R: Read + Send>(
        &mut self,
        sources: &mut [Source<R>],
        out: &mut Vec<io::Result<Digested>>,
    ) {
        let mut results: Vec<Option<io::Result<Digested>>> = std::iter::repeat_with(|| None)
            .take(sources.len())
            .collect();
        self.run(sources, |i, r| results[i] = Some(r));
        out.clear();
        out.extend(
            results
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err(io::ErrorKind::Interrupted.into()))),
        );
    }

    /// Hashes one source on the single-stream compressor (faster than md-5 0.10: see
    /// benches/md5_engines.rs), chunk by chunk.
    pub fn digest_one<R: Read + Send>(&mut self, source: &mut Source<R>) -> io::Result<Digested> {
        let mut result = None;
        self.run(std::slice::from_mut(source), |_, r| result = Some(r));
        result.unwrap_or_else(|| Err(io::ErrorKind::Interrupted.into()))
    }

    /// The one path for every batch. Sources go shortest first, in two phases:
    /// 1. Sources whose announced size fits a chunk are read whole, packed into the lane
    ///    buffers, and hashed by one `digest_many` call per pack, which schedules whole
    ///    messages across all lanes at once (no per-round barrier).
    /// 2. The rest (large, or size unknown) stream through the lanes a chunk per round,
    ///    refilled as they end; equal chunks keep the lanes in lockstep.
    ///
    /// `done(index, result)` is called once per source, in no particular order.
    fn run<R: Read + Send>(
        &mut self,
        sources: &mut [Source<R>],
        mut done: impl FnMut(usize, io::Result<Digested>),
    ) {
        // Shortest first: lanes that start together then end together, so a round rarely
        // waits for one long source while the other lanes sit idle.
        let mut order: Vec<usize> = (0..sources.len()).collect();
        order.sort_by_key(|&i| sources[i].limit.unwrap_or(u64::MAX));
        let small =
            order.partition_point(|&i| sources[i].limit.is_some_and(|l| l <= self.chunk as u64));
        let mut start = 0;
        while start < small {
            if crate::pool::halted() {
                for &i in &order[start..] {
                    done(i, Err(io::ErrorKind::Interrupted.into()));
                }
                return;
            }
            start = self.pack(sources, &order[start..small], &mut done) + start;
        }
        self.stream(sources, &order[small..], &mut done);
    }

    /// Reads as many of `order`'s (small, announced-size) sources as fit the lane buffers,
    /// whole, hashes them in one call, reports them; returns how many it took (at least 1).
    fn pack<R: Read>(
        &mut self,
        sources: &mut [Source<R>],
        order: &[usize],
        done: &mut impl FnMut(usize, io::Result<Digested>),
    ) -> usize {
        // (source, offset, length) of each message read into `bufs`.
        let mut read: Vec<(usize, usize, usize)> = Vec::with_capacity(order.len().min(4096));
        let mut off = 0;
        let mut taken = 0;
        for &i in order {
            let want = sources[i].limit.unwrap_or(0) as usize;
            if off + want > self.bufs.len() {
                break;
            }
            taken += 1;
            match read_full(&mut sources[i].reader, &mut self.bufs[off..off + want]) {
                Ok(n) => {
                    read.push((i, off, n));
                    off += n;
                }
                Err(e) => done(i, Err(e)),
            }
        }
        // Longest first: a lane freed by a short message takes the next, so the lanes run
        // dry together at the end instead of a few long messages finishing with the other
        // lanes idle (measured on /usr/share's small files: 3.8 -> 4.5 GB/s).
        read.reverse();
        let inputs: Vec<&[u8]> = read.iter().map(|&(_, o, n)| &self.bufs[o..o + n]).collect();
        let mut digests = vec![[0u8; 16]; inputs.len()];
        self.kernel.digest_many(&inputs, &mut digests);
        for (&(i, _, n), digest) in read.iter().zip(digests) {
            done(
                i,
                Ok(Digested {
                    digest,
                    len: n as u64,
                }),
            );
        }
        taken
    }

    /// Streams `order`'s sources through the lanes, a chunk per lane per round, refilling a
    /// lane as soon as its source ends. With [`AHEAD`] bytes or more to stream, a helper
    /// thread reads the next round into a second set of buffers while this one hashes the
    /// current round, so reading (the kernel's copy out of the page cache, about 6% of the
    /// work) overlaps hashing; with less, reads and hashing alternate on this thread. One
    /// loop either way ([`Fetch`]).
    fn stream<R: Read + Send>(
        &mut self,
        sources: &mut [Source<R>],
        order: &[usize],
        done: &mut impl FnMut(usize, io::Result<Digested>),
    ) {
        if order.is_empty() {
            return;
        }
        if let [alone] = order {
            // One stream alone is read, not mapped: its read-ahead thread's copy runs on
            // a core the single stream leaves free, and hashing out of a buffer the copy
            // just wrote measured 2-3% faster than out of the page cache's pages.
            sources[*alone].fd = None;
        }
        // Sources of unknown size (standard input, pseudo-files, empty files) count for
        // nothing: most are tiny.
        let volume = order.iter().fold(0u64, |sum, &i| {
            sum.saturating_add(sources[i].limit.unwrap_or(0))
        });
        if volume < AHEAD {
            self.rounds(order, done, Fetch::Inline(sources), self.shape(order));
            return;
        }
        let (width, chunk) = self.shape(order);
        let mut spare = std::mem::take(&mut self.spare);
        if spare.len() != self.bufs.len() {
            spare = PageBuf::zeroed(self.bufs.len());
        }
        // Whether the read-ahead thread ran the rounds; if it could not be started (a
        // process limit), they are read inline below (the panic left the run hung).
        let ahead = &mut *sources;
        let ran = std::thread::scope(|scope| {
            let (job_tx, job_rx) = mpsc::channel::<(PageBuf, Vec<Lane>)>();
            let (back_tx, back_rx) = mpsc::channel();
            let reader = std::thread::Builder::new().spawn_scoped(scope, move || {
                for (mut buf, mut lanes) in job_rx {
                    read_round(ahead, &mut lanes, &mut buf, chunk);
                    if back_tx.send((buf, lanes)).is_err() {
                        return;
                    }
                }
            });
            if reader.is_err() {
                self.spare = spare;
                return false;
            }
            let fetch: Fetch<R> = Fetch::Ahead {
                jobs: job_tx,
                back: back_rx,
                spare,
            };
            if let Some(spare) = self.rounds(order, done, fetch, (width, chunk)) {
                self.spare = spare;
            }
            true
        });
        if !ran {
            self.rounds(order, done, Fetch::Inline(sources), (width, chunk));
        }
    }

    /// Lanes and bytes per lane per round for streaming `order`: one source alone reads
    /// up to [`SINGLE_ROUND`] bytes a round out of the whole buffer (fewer reads and
    /// hand-overs to the read-ahead thread), else [`Lanes::width`] lanes of a chunk.
    fn shape(&self, order: &[usize]) -> (usize, usize) {
        if order.len() == 1 {
            (1, self.bufs.len().min(SINGLE_ROUND).max(self.chunk))
        } else {
            (self.width.min(self.kernel.lanes().max(2)), self.chunk)
        }
    }

    /// The round loop of [`Lanes::stream`]; gives back the spare buffers of a
    /// [`Fetch::Ahead`].
    fn rounds<R: Read>(
        &mut self,
        order: &[usize],
        done: &mut impl FnMut(usize, io::Result<Digested>),
        mut fetch: Fetch<'_, R>,
        (width, chunk): (usize, usize),
    ) -> Option<PageBuf> {
        let mut bufs = std::mem::take(&mut self.bufs);
        let mut next_src = 0;
        let mut scratch = Scratch::default();
        let first = plan(&[], order, &mut next_src, width);
        let kept = fetch.start(first);
        let mut cur;
        (bufs, cur) = fetch.finish(bufs, kept, chunk);
        report_failures(&mut cur, done);
        let mut states = vec![Stream::default(); cur.len()];
        while !cur.is_empty() {
            if crate::pool::halted() {
                for &i in cur
                    .iter()
                    .filter(|l| !l.failed)
                    .map(|l| &l.src)
                    .chain(&order[next_src..])
                {
                    done(i, Err(io::ErrorKind::Interrupted.into()));
                }
                break;
            }
            // The next round's lanes are known before this one is hashed: a lane is done
            // when its read says so. Its reads start now (on the helper, if any).
            let next = plan(&cur, order, &mut next_src, width);
            let kept = fetch.start(next);

            let inputs: Vec<&[u8]> = cur.iter().map(|l| l.input(&bufs, chunk)).collect();
            update_round(self.kernel, &mut states, &inputs, &mut scratch);

            // Retire finished lanes: pad, finalize, report.
            for (lane, state) in cur.iter().zip(&states) {
                if lane.done && !lane.failed {
                    done(lane.src, lane.outcome(self.kernel, state));
                }
            }
            // Lanes that go on keep their state; new ones start afresh.
            let carried: Vec<Stream> = cur
                .iter()
                .zip(&states)
                .filter(|(l, _)| !l.done)
                .map(|(_, s)| *s)
                .collect();
            (bufs, cur) = fetch.finish(bufs, kept, chunk);
            report_failures(&mut cur, done);
            states = carried;
            states.resize(cur.len(), Stream::default());
        }
        self.bufs = bufs;
        match fetch {
            Fetch::Inline(_) => None,
            Fetch::Ahead { spare, .. } => Some(spare),
        }
    }
}

/// What [`update_round`] reuses from round to round.
#[derive(Default)]
struct Scratch {
    /// Bytes of each lane's input already hashed.
    done: Vec<usize>,
    /// Lanes with input left.
    active: Vec<usize>,
    /// The chaining words of one equal step's lanes.
    words: Vec<[u32; 4]>,
}

/// Feeds `inputs[i]` to `states[i]` for every lane, through the vector kernel.
///
/// The kernel takes equal, block-aligned inputs (lanes in lockstep), so a round is cut
/// into steps of equal, block-aligned length over the lanes that still have input (a lane
/// ends early in the round where its file ends); a lane's last bytes under one block are
/// only buffered by its state. One lane alone runs the single-stream compressor
/// (`Kernel::one`), which is faster for one stream than a register of lanes.
fn update_round(kernel: Kernel, states: &mut [Stream], inputs: &[&[u8]], scratch: &mut Scratch) {
    let Scratch {
        done,
        active,
        words,
    } = scratch;
    done.clear();
    done.resize(states.len(), 0);
    loop {
        active.clear();
        active.extend((0..states.len()).filter(|&i| inputs[i].len() > done[i]));
        let Some(least) = active.iter().map(|&i| inputs[i].len() - done[i]).min() else {
            return;
        };
        let step = least & !63;
        if step == 0 || active.len() == 1 {
            // Tails under a block (buffered, nothing compressed), or one lane left alone.
            for &i in active.iter() {
                let left = inputs[i].len() - done[i];
                if left < 64 || active.len() == 1 {
                    states[i].update(kernel, &inputs[i][done[i]..]);
                    done[i] = inputs[i].len();
                }
            }
            continue;
        }
        // A state holding part of a block cannot take whole blocks (not met in practice:
        // only a source's last read is short, and it ends the source).
        active.retain(|&i| {
            if states[i].aligned() {
                return true;
            }
            states[i].update(kernel, &inputs[i][done[i]..done[i] + step]);
            done[i] += step;
            false
        });
        words.clear();
        words.extend(active.iter().map(|&i| states[i].h));
        let slices: Vec<&[u8]> = active
            .iter()
            .map(|&i| &inputs[i][done[i]..done[i] + step])
            .collect();
        kernel.compress(words, &slices);
        for (&i, h) in active.iter().zip(words.iter()) {
            states[i].h = *h;
            states[i].advance(step);
            done[i] += step;
        }
    }
}

/// Reads until `buf` is full or end-of-file; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match read_retrying(r, &mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// One `read`, retried on EINTR.
fn read_retrying(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
