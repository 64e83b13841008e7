//! How the walk's files are grouped into units of work for the pool, and how the results of
//! files hashed out of their place are put back in it.
//!
//! Why it is shaped so:
//! - Small files travel in runs ([`Unit::Files`]). Handing a result from a worker to the
//!   printing thread costs a channel send and a wake-up, which for a 2 KiB file costs as
//!   much as hashing it; one hand-off per run makes it negligible. A worker hashes a whole
//!   run at once in its lane engine ([`super::lanes`]), one file per SIMD lane.
//! - Files bigger than a lane chunk stream through the lanes a chunk per round, and a SIMD
//!   engine is only fast with many streams in flight (on AVX-512, 16 streams run about 16
//!   times as fast as one, and 48 about 30 times). Such files are rare and scattered in a
//!   real tree (in /usr/share, 261 of 43,500 files, but half the bytes), so a run rarely
//!   holds more than one, which then went through the scalar compressor alone. So they are
//!   taken out of their runs and gathered, across the walk, into stream groups
//!   ([`Unit::Streams`]) of up to the engine's width; a [`Unit::Pending`] keeps each one's
//!   place in the order, and the [`Resequencer`] puts its result there when the group is
//!   done. On a copy of /usr/share this cut phash's CPU time by about a third.
//! - How far ahead of a waiting file the walk may run is bounded ([`LOOKAHEAD`] files),
//!   so the lines held back, and the wait for the first line, stay small.
//! - A group of only a few streams (fewer than 3 per worker) would leave most lanes of one
//!   worker's engine empty while the others idle: k streams cost a whole register group,
//!   so 4 x 64 MiB in one worker's lanes took 0.33 s where `md5deep -j2` took 0.24 s. Such
//!   a group goes out as one unit per file (the single-stream path, on whichever worker is
//!   free).

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use super::held::HeldFd;
use super::lanes;
use super::turns::{Ticket, Tickets};
use super::walk::{Item, Seen};
use super::HashError;
use crate::pool::Delivery;

/// One item for the pool.
pub(super) enum Unit {
    /// A run of files that fit a lane chunk, in walk order, and the descriptors the walk
    /// opened for them (`held[i]` for `files[i]`; shorter, or `None`, where it did not).
    Files(Vec<(PathBuf, Seen)>, Vec<Option<HeldFd>>),
    /// The place in the order of a file hashed in a [`Unit::Streams`] group (`key`: its
    /// number among the streamed files).
    Pending {
        key: usize,
        path: PathBuf,
        seen: Seen,
    },
    /// Streamed files gathered from across the walk, hashed together; `first` is the key
    /// of the first.
    Streams {
        first: usize,
        files: Vec<(PathBuf, Seen)>,
    },
    /// An operand named on the command line, and its turn if it reads a stream another
    /// operand reads too ([`super::turns`]).
    Named(PathBuf, Option<Ticket>),
    /// Standard input, and its turn.
    Stdin(Option<Ticket>),
    /// A problem to report in its place.
    Problem(HashError),
}

/// At most this many files per [`Unit::Files`]. A run is one `digest_many` call of the lane
/// engine, which refills a lane as soon as its message ends: with 64 files for 48 lanes
/// most lanes got one file and then waited for the longest, and 256 files cut phash's CPU
/// time on a copy of /usr/share by 12% at `-j1` and 6% at `-j2` (`perf stat`, medians).
pub(super) const UNIT_FILES: usize = 256;
/// At most about this many bytes per [`Unit::Files`] (a third of the lane buffers). Runs
/// of 1,024 files or 12 MiB measured slower (/usr/share copy: CPU +8% at `-j2`, +7% at
/// `-j1`, median of 10 alternating runs).
pub(super) const UNIT_BYTES: u64 = 4 << 20;
/// A file bigger than this streams through the lanes (see [`lanes`]) and is gathered into
/// a [`Unit::Streams`] group.
pub(super) const STREAMED: u64 = lanes::CHUNK as u64;
/// A stream group is closed, however few files it has, once the walk has gone this many
/// files past its first one: that file's line, and every line after it, waits for the
/// group.
pub(super) const LOOKAHEAD: usize = 4096;

/// Groups the walk's items into units, on the engine's producer thread.
pub(super) struct Units<W> {
    walk: W,
    /// The open run of small files.
    files: Vec<(PathBuf, Seen)>,
    /// Their descriptors, when the walk opened them.
    fds: Vec<Option<HeldFd>>,
    /// Bytes in `files`.
    bytes: u64,
    /// The open stream group.
    streams: Vec<(PathBuf, Seen)>,
    /// Key of `streams[0]`.
    first: usize,
    /// Key of the next streamed file.
    next_key: usize,
    /// Files walked since `streams[0]`.
    since: usize,
    /// At most this many streams per group.
    width: usize,
    /// At most this many files per run: [`UNIT_FILES`], fewer when the descriptor limit
    /// would not let every worker hold a whole run open ([`crate::fdtable::per_worker`]).
    run_files: usize,
    /// A group with fewer streams than this goes out one file per unit.
    split_below: usize,
    /// Units ready to be handed out, in order, before the walk is asked for more.
    held: VecDeque<Unit>,
    /// The turns of operands that read a shared stream.
    tickets: Tickets,
}

impl<W: Iterator<Item = Item>> Units<W> {
    /// Units for `jobs` workers running the engine this process selected.
    pub(super) fn new(walk: W, jobs: NonZeroUsize) -> Self {
        Units::with_width(walk, jobs, lanes::Engine::selected().width())
    }

    /// Units whose stream groups hold at most `width` files: as many as the engine keeps
    /// in flight (24 on AVX2, 48 on AVX-512; 1 for the scalar engine, so big files spread
    /// over the workers one by one).
    pub(super) fn with_width(walk: W, jobs: NonZeroUsize, width: usize) -> Self {
        let open_at_once = crate::fdtable::per_worker(jobs);
        Units {
            walk,
            files: Vec::new(),
            fds: Vec::new(),
            bytes: 0,
            streams: Vec::new(),
            first: 0,
            next_key: 0,
            since: 0,
            width: width.min(open_at_once).max(1),
            run_files: UNIT_FILES.min(open_at_once),
            split_below: 3 * jobs.get(),
            held: VecDeque::new(),
            tickets: Tickets::default(),
        }
    }

    fn file(&mut self, path: PathBuf, seen: Seen, held: Option<HeldFd>) {
        if !self.streams.is_empty() {
            self.since += 1;
        }
        if seen.size() > STREAMED {
            self.close_run();
            let key = self.next_key;
            self.next_key += 1;
            if self.streams.is_empty() {
                (self.first, self.since) = (key, 0);
            }
            self.streams.push((path.clone(), seen));
            self.held.push_back(Unit::Pending { key, path, seen });
            if self.streams.len() >= self.width {
                self.close_streams();
            }
        } else {
            if self.files.len() >= self.run_files
                || self.bytes.saturating_add(seen.size()) > UNIT_BYTES
            {
                self.close_run();
            }
            self.bytes += seen.size();
            self.files.push((path, seen));
            self.fds.push(held);
        }
        if self.since >= LOOKAHEAD {
            self.close_streams();
        }
    }
}

impl<W: Iterator<Item = Item>> Iterator for Units<W> {
    type Item = Unit;

    fn next(&mut self) -> Option<Unit> {
        loop {
            if let Some(u) = self.held.pop_front() {
                return Some(u);
            }
            let unit = match self.walk.next() {
                Some(Item::File { path, seen, held }) => {
                    self.file(path, seen, held);
                    continue;
                }
                Some(Item::Named { path, stream }) => Unit::Named(path, self.tickets.issue(stream)),
                Some(Item::Stdin { stream }) => Unit::Stdin(self.tickets.issue(stream)),
                Some(Item::Problem(e)) => Unit::Problem(e),
                None => {
                    self.close_run();
                    self.close_streams();
                    return self.held.pop_front();
                }
            };
            self.close_run();
            self.held.push_back(unit);
        }
    }
}

impl<W> Units<W> {
    /// Ends the open run of small files (if any) and queues it.
    fn close_run(&mut self) {
        self.bytes = 0;
        if !self.files.is_empty() {
            self.held.push_back(Unit::Files(
                std::mem::take(&mut self.files),
                std::mem::take(&mut self.fds),
            ));
        }
    }

    /// Ends the open stream group (if any) and queues it, whole or one file per unit.
    fn close_streams(&mut self) {
        let files = std::mem::take(&mut self.streams);
        self.since = 0;
        if files.len() >= self.split_below {
            self.held.push_back(Unit::Streams {
                first: self.first,
                files,
            });
        } else {
            for (i, f) in files.into_iter().enumerate() {
                self.held.push_back(Unit::Streams {
                    first: self.first + i,
                    files: vec![f],
                });
            }
        }
    }
}

/// Sits between the pool and the sink: hands the sink every unit in walk order with its
/// results, a [`Unit::Pending`] turned into a one-file [`Unit::Files`] with the result its
/// stream group gave; units after a pending file wait (in order) until its group is done.
/// The sink never sees a `Pending` or a `Streams` unit.
pub(super) struct Resequencer<T> {
    /// Results of streamed files whose place has not come yet, by key.
    ready: HashMap<usize, T>,
    /// Units held back behind a pending file whose group is not done.
    parked: VecDeque<(Unit, Vec<T>)>,
}

impl<T> Default for Resequencer<T> {
    fn default() -> Self {
        Resequencer {
            ready: HashMap::new(),
            parked: VecDeque::new(),
        }
    }
}

impl<T> Resequencer<T> {
    /// Takes one delivery of the pool; passes on to `sink` whatever is now in order.
    pub(super) fn deliver(
        &mut self,
        delivery: Delivery<Unit, Vec<T>>,
        sink: &mut impl FnMut(Delivery<Unit, Vec<T>>),
    ) {
        match delivery {
            Delivery::Idle => sink(Delivery::Idle),
            Delivery::Done(Unit::Streams { first, .. }, results) => {
                self.ready
                    .extend(results.into_iter().enumerate().map(|(i, r)| (first + i, r)));
                self.drain(sink);
            }
            Delivery::Done(unit, results) => {
                self.parked.push_back((unit, results));
                self.drain(sink);
            }
        }
    }

    fn drain(&mut self, sink: &mut impl FnMut(Delivery<Unit, Vec<T>>)) {
        while let Some((unit, _)) = self.parked.front() {
            if let Unit::Pending { key, .. } = unit {
                if !self.ready.contains_key(key) {
                    return;
                }
            }
            let (unit, results) = self.parked.pop_front().expect("front exists");
            match unit {
                Unit::Pending { key, path, seen } => {
                    let r = self.ready.remove(&key).expect("checked above");
                    sink(Delivery::Done(
                        Unit::Files(vec![(path, seen)], Vec::new()),
                        vec![r],
                    ));
                }
                other => sink(Delivery::Done(other, results)),
            }
        }
    }

    /// After the pool: a run stopped early (interrupt, closed output) may leave files
    /// whose group was never hashed; each gets `unfinished(path)` in its place, and the
    /// units behind it are passed on, in order.
    pub(super) fn finish(
        mut self,
        sink: &mut impl FnMut(Delivery<Unit, Vec<T>>),
        unfinished: impl Fn(&Path) -> T,
    ) {
        for (unit, results) in std::mem::take(&mut self.parked) {
            match unit {
                Unit::Pending { key, path, seen } => {
                    let r = self.ready.remove(&key).unwrap_or_else(|| unfinished(&path));
                    sink(Delivery::Done(
                        Unit::Files(vec![(path, seen)], Vec::new()),
                        vec![r],
                    ));
                }
                other => sink(Delivery::Done(other, results)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(sizes: &[u64]) -> impl Iterator<Item = Item> + '_ {
        sizes.iter().enumerate().map(|(i, &size)| Item::File {
            path: PathBuf::from(i.to_string()),
            seen: Seen {
                version: crate::hash::version::Version {
                    dev: 0,
                    ino: i as u64,
                    len: size,
                    mtime: 0,
                    mtime_nsec: 0,
                    ctime: (0, 0),
                    mode: 0o100644,
                },
                nofollow: true,
            },
            held: None,
        })
    }

    fn index(p: &Path) -> usize {
        p.to_str().unwrap().parse().unwrap()
    }

    /// The units made from files of the given sizes, each as a string: `F[0,1]` a run,
    /// `P3` file 3's place, `S[3,5]` a stream group (files named by their position).
    fn shape(sizes: &[u64], jobs: usize, width: usize) -> Vec<String> {
        let names = |files: &[(PathBuf, Seen)]| {
            let v: Vec<String> = files.iter().map(|(p, _)| index(p).to_string()).collect();
            v.join(",")
        };
        Units::with_width(items(sizes), NonZeroUsize::new(jobs).unwrap(), width)
            .map(|u| match u {
                Unit::Files(f, _) => format!("F[{}]", names(&f)),
                Unit::Pending { path, .. } => format!("P{}", index(&path)),
                Unit::Streams { files, .. } => format!("S[{}]", names(&files)),
                _ => panic!("only files here"),
            })
            .collect()
    }

    const BIG: u64 = 64 << 20;

    #[test]
    fn streamed_files_leave_their_runs_and_are_hashed_together() {
        let sizes = [10, BIG, 20, 30, BIG, 40, BIG, BIG, BIG, BIG, 50];
        assert_eq!(
            shape(&sizes, 2, 48),
            [
                "F[0]",
                "P1",
                "F[2,3]",
                "P4",
                "F[5]",
                "P6",
                "P7",
                "P8",
                "P9",
                "F[10]",
                "S[1,4,6,7,8,9]"
            ]
        );
    }

    #[test]
    fn a_group_closes_at_the_engine_width() {
        assert_eq!(
            shape(&[BIG; 5], 1, 3),
            ["P0", "P1", "P2", "S[0,1,2]", "P3", "P4", "S[3]", "S[4]"]
        );
    }

    #[test]
    fn a_few_streamed_files_go_out_one_by_one_so_every_worker_gets_one() {
        assert_eq!(
            shape(&[10, BIG, 20, BIG], 2, 48),
            ["F[0]", "P1", "F[2]", "P3", "S[1]", "S[3]"]
        );
    }

    #[test]
    fn the_walk_runs_at_most_lookahead_files_past_a_waiting_file() {
        let mut sizes = vec![BIG];
        sizes.extend(std::iter::repeat_n(10, LOOKAHEAD + 10));
        let units = shape(&sizes, 1, 48);
        let group = units.iter().position(|u| u == "S[0]").unwrap();
        let files_before: usize = units[..group]
            .iter()
            .filter(|u| u.starts_with('F'))
            .map(|u| u.matches(',').count() + 1)
            .sum();
        assert!(
            (LOOKAHEAD - UNIT_FILES..=LOOKAHEAD).contains(&files_before),
            "{files_before}"
        );
    }

    #[test]
    fn small_files_travel_in_runs_of_at_most_unit_bytes_and_unit_files() {
        let per_run = (UNIT_BYTES / (200 << 10)) as usize;
        for units in [
            shape(&vec![200 << 10; per_run + 2], 2, 48),
            shape(&[1; UNIT_FILES + 10], 2, 48),
        ] {
            assert!(units.len() >= 2, "{units:?}");
            assert!(units.iter().all(|u| u.starts_with('F')));
            assert!(units.iter().all(|u| u.matches(',').count() < UNIT_FILES));
        }
    }

    #[test]
    fn the_resequencer_puts_every_result_back_in_walk_order() {
        let sizes = [10, BIG, 20, BIG, BIG, 30, BIG, 40, BIG, BIG];
        let units: Vec<Unit> = Units::with_width(items(&sizes), NonZeroUsize::MIN, 3).collect();
        // The "result" of a file is its index; deliver in pool order (the order made).
        let mut got = Vec::new();
        let mut sink = |d: Delivery<Unit, Vec<usize>>| {
            if let Delivery::Done(Unit::Files(files, _), results) = d {
                for ((p, _), r) in files.iter().zip(results) {
                    assert_eq!(index(p), r);
                    got.push(r);
                }
            } else if let Delivery::Done(..) = d {
                panic!("the sink sees runs only");
            }
        };
        let mut r = Resequencer::default();
        for u in units {
            let results = match &u {
                Unit::Files(f, _) | Unit::Streams { files: f, .. } => {
                    f.iter().map(|(p, _)| index(p)).collect()
                }
                _ => Vec::new(),
            };
            r.deliver(Delivery::Done(u, results), &mut sink);
        }
        r.finish(&mut sink, |_| usize::MAX);
        assert_eq!(got, (0..sizes.len()).collect::<Vec<_>>());
    }

    #[test]
    fn files_of_a_group_never_hashed_get_the_unfinished_result_in_their_place() {
        let units: Vec<Unit> =
            Units::with_width(items(&[BIG, 10]), NonZeroUsize::MIN, 48).collect();
        let got = std::cell::RefCell::new(Vec::new());
        let mut sink = |d: Delivery<Unit, Vec<usize>>| {
            if let Delivery::Done(Unit::Files(..), results) = d {
                got.borrow_mut().extend(results);
            }
        };
        let mut r = Resequencer::default();
        // The run stopped before the group was hashed: only the pending place and the
        // run behind it were delivered.
        for u in units
            .into_iter()
            .filter(|u| !matches!(u, Unit::Streams { .. }))
        {
            let n = if let Unit::Files(f, _) = &u {
                f.len()
            } else {
                0
            };
            r.deliver(Delivery::Done(u, vec![1; n]), &mut sink);
        }
        assert!(got.borrow().is_empty(), "held back behind the pending file");
        r.finish(&mut sink, |_| 99);
        assert_eq!(*got.borrow(), [99, 1]);
    }
}
