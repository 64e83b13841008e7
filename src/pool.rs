//! The one engine both tools run on: a stream of work items, `jobs` workers, per-worker
//! state, results handed back to the caller in item order.
//!
//! Why it is shaped so:
//! - Items come from an iterator that runs on its own producer thread (the directory walk,
//!   a checksum list read line by line, a slice of zip members), so producing overlaps the
//!   work and the first result can be printed while the producer is still running. There
//!   are no batch barriers: one pool serves the whole run, nobody waits for the slowest
//!   item of a batch.
//! - Workers take items in stream order from one queue, so items are *started* in order:
//!   callers that sort biggest-first get largest-first scheduling, and results come back
//!   nearly in order, so a small reorder buffer puts them back in order. An item the
//!   caller marks as long ([`stream_long_first`]) jumps the queue instead: when the
//!   producer runs ahead, a long item met late would otherwise start only when the
//!   workers reach its place, and finish alone on one core while the others idle (phash's
//!   76 MB file near the end of /usr/share, a single stream: a tenth of a second).
//! - Memory is bounded: at most [`WINDOW`] items are between the producer and the sink at
//!   any time (the producer takes a token per item, the sink gives it back on delivery),
//!   so a slow item at the head of the line cannot make the reorder buffer grow without
//!   bound, and a producer that is faster than the workers waits.
//! - The workers run on a local rayon pool of exactly `jobs` threads (b3sum's habit), never
//!   the global one. `jobs = 1` goes through the very same code, so serial and parallel
//!   results can be compared byte for byte.
//! - Each worker owns its state (`init` is called once per worker: an archive handle, a
//!   buffer, a decompressor). Results travel to the sink in small batches (one wake-up per
//!   batch, not per result); a sink that has waited [`TICK`] for nothing takes the
//!   batches the workers hold, so a finished result is never stuck behind its worker's
//!   next, long item.
//! - `stop` (a fatal error such as a full disk, a closed output) and the interrupt flag of
//!   [`crate::cancel`] are checked by the producer before each item, by the workers before
//!   each item and by the sink while it waits: everything winds down promptly; the item in
//!   flight is expected to watch them too.

use std::collections::{BTreeMap, VecDeque};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Results a worker collects before handing them over.
const BATCH: usize = 32;
/// The longest a finished result waits in a worker's batch.
const LINGER: Duration = Duration::from_millis(5);
/// Items in flight at most (produced but not yet delivered to the sink).
pub const WINDOW: usize = 1024;
/// Tries at the queue before a worker with nothing to do goes to sleep.
const SPIN: usize = 200;
/// How often a sink waiting for results looks at the stop and interrupt flags.
const TICK: Duration = Duration::from_millis(20);
/// The longest the result the sink waits for stays in a worker's batch. Short enough that
/// the first line of a run appears at once; long enough that with one worker (every
/// result is the awaited one) results still travel in batches, not one wake-up each.
const URGENT: Duration = Duration::from_millis(1);

thread_local! {
    /// The `stop` flag of the run this thread works for (null outside a worker).
    static STOP: std::cell::Cell<*const AtomicBool> = const { std::cell::Cell::new(std::ptr::null()) };
}

/// Whether the run the calling worker belongs to has been told to stop (its `stop` flag:
/// the output was closed, a fatal error) or an interrupt arrived. For items that take
/// long (a group of big files, a big member) to check between chunks, so that a run winds
/// down within a chunk; outside a worker, just [`crate::cancel::interrupted`].
pub fn halted() -> bool {
    crate::cancel::interrupted()
        || STOP.with(|s| {
            let p = s.get();
            // SAFETY: set only by `worker` to its `stop` (which outlives the worker) and
            // cleared before it returns or unwinds (`StopGuard`).
            !p.is_null() && unsafe { (*p).load(Ordering::Relaxed) }
        })
}

/// Points [`halted`] at a worker's `stop` flag while the worker runs.
struct StopGuard;

impl StopGuard {
    fn set(stop: &AtomicBool) -> StopGuard {
        STOP.with(|s| s.set(stop));
        StopGuard
    }
}

impl Drop for StopGuard {
    fn drop(&mut self) {
        STOP.with(|s| s.set(std::ptr::null()));
    }
}

/// The number of workers to use when the user does not say: the machine's cores.
pub fn default_jobs() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// How many steps of niceness [`defer_to_producer`] adds: at 3, a worker weighs half of
/// what a thread at the process's own niceness does in the kernel's scheduler.
const DEFER_NICE: i32 = 3;

/// Lowers the calling thread's scheduling priority a little ([`DEFER_NICE`] steps, never
/// past 19), for a worker whose producer shares the cores with it (`init` calls it).
///
/// Why: a producer that does real work (phash's directory walk: a `stat` a file) gets a
/// third of two cores when it runs beside two busy workers, so it reaches the files at the
/// end of a tree late; a big file there then starts late and finishes alone while the
/// other core idles (/usr/share's 76 MB list of Python packages, met 87% of the way
/// through the walk, one stream of about 75 ms). Weighted above the workers, the walk
/// finished at 0.11-0.12 s instead of 0.16 s and the run took 0.236 s instead of 0.249 s
/// (`perf stat -r 15`, the same CPU time). Only the threads of this run are lowered, and
/// only relative to the process: a run under `nice -n 19` stays at 19. Raising niceness
/// needs no privilege; a failure (a sandbox that refuses it) changes nothing else.
pub fn defer_to_producer() {
    // SAFETY: `gettid`, `getpid`, `getpriority` and `setpriority` on this thread's own
    // id, with errno cleared first so that a priority of -1 is told from a failure.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        // Never the main thread: it is the worker only when the pool runs on the calling
        // thread ([`inline`]), where there is no producer to defer to, and what it gave
        // up would stay given up for the rest of the process.
        if tid == libc::getpid() as libc::id_t {
            return;
        }
        *libc::__errno_location() = 0;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        if now == -1 && *libc::__errno_location() != 0 {
            return;
        }
        libc::setpriority(libc::PRIO_PROCESS, tid, (now + DEFER_NICE).min(19));
    }
}

/// Runs `work` over every item of a slice: [`stream`] over `items.iter()`.
///
/// Items not started because `stop` was raised are not passed to `sink`; the return value
/// is the number of items whose result was delivered.
pub fn run<I, S, T>(
    jobs: NonZeroUsize,
    items: &[I],
    stop: &AtomicBool,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &I) -> T + Sync,
    mut sink: impl FnMut(&I, T),
) -> usize
where
    I: Sync,
    T: Send,
{
    stream(
        jobs,
        items.iter(),
        stop,
        init,
        |s, i: &&I| work(s, i),
        |d| {
            if let Delivery::Done(i, t) = d {
                sink(i, t)
            }
        },
    )
}

/// What the sink of [`stream`] is handed.
pub enum Delivery<I, T> {
    /// The next item, in order, with its result.
    Done(I, T),
    /// Nothing more is ready for now and the engine is about to wait: the moment to flush
    /// buffered output, so that lines reach a reader while slow items are still at work.
    Idle,
}

/// Runs `work` over every item `items` yields, with `jobs` workers, and calls `sink` on
/// the calling thread with each item and its result ([`Delivery::Done`]), in item order, as
/// soon as all earlier results have been delivered, and with [`Delivery::Idle`] whenever
/// it is about to wait. `items` is pulled on a producer thread of its own, at most
/// [`WINDOW`] items ahead of the sink.
///
/// Once `stop` is raised (by anyone, the sink included) or an interrupt arrives, no new
/// item is produced or started; results already computed are still delivered, in order.
/// Returns the number of items delivered.
pub fn stream<I, S, T>(
    jobs: NonZeroUsize,
    items: impl Iterator<Item = I> + Send,
    stop: &AtomicBool,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &I) -> T + Sync,
    sink: impl FnMut(Delivery<I, T>),
) -> usize
where
    I: Send,
    T: Send,
{
    stream_long_first(jobs, items, |_| false, stop, init, work, sink)
}

/// [`stream`], where an item for which `long` says true is started before every item
/// still waiting in the queue (long items among themselves in order). Results are still
/// delivered in item order.
pub fn stream_long_first<I, S, T>(
    jobs: NonZeroUsize,
    items: impl Iterator<Item = I> + Send,
    long: impl Fn(&I) -> bool + Send,
    stop: &AtomicBool,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &I) -> T + Sync,
    mut sink: impl FnMut(Delivery<I, T>),
) -> usize
where
    I: Send,
    T: Send,
{
    let halted = || stop.load(Ordering::Relaxed) || crate::cancel::interrupted();
    // Fewer workers than items would only idle; the hint is exact for slices.
    let workers = match items.size_hint().1 {
        Some(0) => return 0,
        Some(n) => jobs.get().min(n),
        None => jobs.get(),
    };
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("pool-worker-{i}"))
        .build()
    {
        Ok(pool) => pool,
        // No thread could be started (`ulimit -u`, `ulimit -v`): the run goes on the
        // calling thread (it panicked, exit 101).
        Err(_) => return inline(items, stop, init, work, sink),
    };
    // Item queue (unbounded: the tokens bound it), results channel, and the tokens.
    let queue = Queue::default();
    let queue = &queue;
    let (done_tx, done_rx) = mpsc::channel::<Vec<(usize, I, T)>>();
    let tokens = Tokens::new(WINDOW);
    let tokens = &tokens;
    // The next item the sink waits for: a worker finishing exactly that one hands its
    // results over at once instead of letting them linger in its batch.
    let wanted = AtomicUsize::new(0);
    // Each worker's batch of finished results. A lock, so that a sink that has waited a
    // tick can take results a worker holds while it is busy with a long item (or blocked
    // reading a FIFO); the worker's own lock is uncontended but for those rare moments.
    let slots: Vec<Mutex<Vec<(usize, I, T)>>> = (0..workers).map(|_| Mutex::default()).collect();
    let (init_ref, work_ref, wanted_ref, slots_ref) = (&init, &work, &wanted, &slots);
    let mut delivered = 0;
    // Taken by the producer thread; left here if it cannot be started.
    let items = Mutex::new(Some(items));
    let items_ref = &items;

    let started = std::thread::scope(|scope| {
        let producer = std::thread::Builder::new().spawn_scoped(scope, move || {
            let items = lock(items_ref)
                .take()
                .expect("the producer takes the items once");
            // Closes the queue however the producer ends (a panic included), so no
            // worker waits for an item that will never come.
            let _closing = Closing(queue);
            pool.in_place_scope(|s| {
                for slot in slots_ref {
                    let done_tx = done_tx.clone();
                    s.spawn(move |_| {
                        worker(
                            queue, slot, done_tx, stop, tokens, init_ref, work_ref, wanted_ref,
                        )
                    });
                }
                drop(done_tx);
                // The producer runs here, on this thread, not on a pool thread.
                for (seq, item) in items.enumerate() {
                    if halted() || !tokens.acquire() || halted() {
                        break;
                    }
                    let first = long(&item);
                    queue.push((seq, item), first);
                }
                queue.close();
            });
        });
        if producer.is_err() {
            return false;
        }

        // If the sink panics, the scope waits for the producer and the workers before the
        // panic goes on: they must not wait for tokens or items that will never come
        // (`phash DIR 2>&1 | head -3` hung for good when writing to the closed stderr
        // panicked).
        let _unwinding = OnUnwind(|| {
            stop.store(true, Ordering::Relaxed);
            tokens.close();
        });
        // Reorder buffer: results arrive nearly in order and at most WINDOW are in flight.
        let mut pending: BTreeMap<usize, (I, T)> = BTreeMap::new();
        let mut want = 0;
        loop {
            let batch = match done_rx.recv_timeout(TICK) {
                Ok(batch) => batch,
                // Nothing came for a tick: take what the workers hold.
                Err(RecvTimeoutError::Timeout) => slots
                    .iter()
                    .flat_map(|s| std::mem::take(&mut *lock(s)))
                    .collect(),
                Err(RecvTimeoutError::Disconnected) => break,
            };
            for (i, item, out) in batch {
                pending.insert(i, (item, out));
            }
            let before = want;
            while let Some((item, out)) = pending.remove(&want) {
                sink(Delivery::Done(item, out));
                want += 1;
                delivered += 1;
            }
            // Tokens go back once per batch, not once per item: one wake-up of a waiting
            // producer per batch.
            tokens.release(want - before);
            wanted.store(want, Ordering::Relaxed);
            if !pending.contains_key(&want) {
                sink(Delivery::Idle);
            }
            if halted() {
                // No more tokens: a producer waiting for one gives up, and with it the
                // workers waiting for items.
                tokens.close();
            }
        }
        // Items after a gap (an item skipped because of `stop`) are still delivered, in
        // order, so nothing that was done goes unreported.
        for (i, item, out) in slots.iter().flat_map(|s| std::mem::take(&mut *lock(s))) {
            pending.insert(i, (item, out));
        }
        for (_, (item, out)) in pending {
            sink(Delivery::Done(item, out));
            delivered += 1;
        }
        sink(Delivery::Idle);
        true
    });
    if !started {
        // The producer's thread could not be started: the items are still here.
        let items = items.into_inner().unwrap_or_else(PoisonError::into_inner);
        return inline(items.into_iter().flatten(), stop, init, work, sink);
    }
    delivered
}

/// [`stream_long_first`] on the calling thread alone, for a process that cannot start a
/// thread (a process limit, `ulimit -u`; an address-space limit, `ulimit -v`): item after
/// item, each delivered as soon as it is done, in order. Slow, but the run is done and
/// says what it found (it panicked with exit 101, or waited for good when a worker's
/// helper thread could not be started).
fn inline<I, S, T>(
    items: impl Iterator<Item = I>,
    stop: &AtomicBool,
    init: impl Fn() -> S,
    work: impl Fn(&mut S, &I) -> T,
    mut sink: impl FnMut(Delivery<I, T>),
) -> usize {
    let _halted = StopGuard::set(stop);
    let mut state = init();
    let mut delivered = 0;
    for item in items {
        if stop.load(Ordering::Relaxed) || crate::cancel::interrupted() {
            break;
        }
        let out = work(&mut state, &item);
        sink(Delivery::Done(item, out));
        sink(Delivery::Idle);
        delivered += 1;
    }
    sink(Delivery::Idle);
    delivered
}

/// A counting semaphore for the items in flight: the producer takes one per item, the
/// sink gives back what it delivered, in one go per batch. (A channel of unit tokens
/// would cost a send, and often a wake-up, per item.)
struct Tokens {
    /// Tokens available, and whether the run is closed (no more will be handed out).
    state: Mutex<(usize, bool)>,
    cv: Condvar,
}

impl Tokens {
    fn new(n: usize) -> Tokens {
        Tokens {
            state: Mutex::new((n, false)),
            cv: Condvar::new(),
        }
    }

    /// Takes a token, waiting for one; false once the run is closed.
    fn acquire(&self) -> bool {
        let mut st = lock(&self.state);
        while st.0 == 0 && !st.1 {
            st = self.cv.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
        if st.1 {
            return false;
        }
        st.0 -= 1;
        true
    }

    /// Gives `n` tokens back.
    fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut st = lock(&self.state);
        let was_empty = st.0 == 0;
        st.0 += n;
        drop(st);
        if was_empty {
            self.cv.notify_one();
        }
    }

    /// Hands out no more tokens; a producer waiting for one gives up.
    fn close(&self) {
        lock(&self.state).1 = true;
        self.cv.notify_all();
    }
}

/// The items between the producer and the workers: two lanes, long items first. A lock
/// taken once per item (a run of small files for phash), which is nothing next to the
/// work on the item; a wake-up only when a worker sleeps.
struct Queue<I> {
    state: Mutex<Lanes<I>>,
    cv: Condvar,
}

struct Lanes<I> {
    long: VecDeque<(usize, I)>,
    rest: VecDeque<(usize, I)>,
    closed: bool,
    sleeping: usize,
}

impl<I> Default for Queue<I> {
    fn default() -> Self {
        Queue {
            state: Mutex::new(Lanes {
                long: VecDeque::new(),
                rest: VecDeque::new(),
                closed: false,
                sleeping: 0,
            }),
            cv: Condvar::new(),
        }
    }
}

impl<I> Lanes<I> {
    fn pop(&mut self) -> Option<(usize, I)> {
        self.long.pop_front().or_else(|| self.rest.pop_front())
    }
}

impl<I> Queue<I> {
    fn push(&self, item: (usize, I), long: bool) {
        let mut q = lock(&self.state);
        if long {
            q.long.push_back(item);
        } else {
            q.rest.push_back(item);
        }
        let wake = q.sleeping > 0;
        drop(q);
        if wake {
            self.cv.notify_one();
        }
    }

    /// No more items: workers finish what is queued, then stop.
    fn close(&self) {
        lock(&self.state).closed = true;
        self.cv.notify_all();
    }

    /// The next item without waiting: `Some(None)` once the queue is closed and empty,
    /// `None` if it is empty for now (or busy).
    fn try_pop(&self) -> Option<Option<(usize, I)>> {
        let mut q = match self.state.try_lock() {
            Ok(q) => q,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        match q.pop() {
            Some(x) => Some(Some(x)),
            None if q.closed => Some(None),
            None => None,
        }
    }

    /// The next item, waiting for one; `None` once the queue is closed and empty.
    fn pop(&self) -> Option<(usize, I)> {
        let mut q = lock(&self.state);
        loop {
            if let Some(x) = q.pop() {
                return Some(x);
            }
            if q.closed {
                return None;
            }
            q.sleeping += 1;
            q = self.cv.wait(q).unwrap_or_else(PoisonError::into_inner);
            q.sleeping -= 1;
        }
    }
}

/// Runs its closure if dropped while the thread unwinds from a panic.
struct OnUnwind<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnUnwind<F> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            (self.0)();
        }
    }
}

/// Closes a [`Queue`] when dropped.
struct Closing<'a, I>(&'a Queue<I>);

impl<I> Drop for Closing<'_, I> {
    fn drop(&mut self) {
        self.0.close();
    }
}

fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One worker: takes items from the shared queue until it is closed or the run stops,
/// collects results in its slot and hands them over in small batches.
#[allow(clippy::too_many_arguments)]
fn worker<I, S, T>(
    queue: &Queue<I>,
    slot: &Mutex<Vec<(usize, I, T)>>,
    done_tx: mpsc::Sender<Vec<(usize, I, T)>>,
    stop: &AtomicBool,
    tokens: &Tokens,
    init: &(impl Fn() -> S + Sync),
    work: &(impl Fn(&mut S, &I) -> T + Sync),
    wanted: &AtomicUsize,
) {
    let _halted = StopGuard::set(stop);
    // A worker that panics loses its item: the sink would wait for it, the producer for
    // the tokens the sink never gives back, the other workers for items, for good (a
    // helper thread that could not be started hung phash). So the run stops, and the
    // panic goes on once everyone has.
    let _unwinding = OnUnwind(|| {
        stop.store(true, Ordering::Relaxed);
        tokens.close();
    });
    let mut state = init();
    // Results travel in small batches: one wake-up of the receiving thread per result
    // costs as much as a small item. A batch is sent when it is full, has waited a few
    // milliseconds, holds the result the sink waits for, or before this worker blocks; and
    // a sink that waited a tick for nothing takes it from the slot itself.
    let mut since = Instant::now();
    let flush = |since: &mut Instant| {
        *since = Instant::now();
        let batch = std::mem::take(&mut *lock(slot));
        batch.is_empty() || done_tx.send(batch).is_ok()
    };
    loop {
        if stop.load(Ordering::Relaxed) || crate::cancel::interrupted() {
            break;
        }
        // A short spin before sleeping: when items are cheap, the queue is often empty
        // for only a moment, and a sleep and a wake-up cost more than the item.
        let mut quick = None;
        for _ in 0..SPIN {
            quick = queue.try_pop();
            if quick.is_some() {
                break;
            }
            std::hint::spin_loop();
        }
        let next = match quick {
            Some(next) => next,
            None => {
                // About to wait: hand over what is done first, or the sink (and through
                // the tokens, the producer) could wait for results held here.
                if !flush(&mut since) {
                    return;
                }
                queue.pop()
            }
        };
        let Some((seq, item)) = next else { break };
        if stop.load(Ordering::Relaxed) || crate::cancel::interrupted() {
            break;
        }
        let out = work(&mut state, &item);
        let held = {
            let mut batch = lock(slot);
            batch.push((seq, item, out));
            batch.len()
        };
        let waited = since.elapsed();
        let urgent = seq <= wanted.load(Ordering::Relaxed) && waited >= URGENT;
        if (urgent || held >= BATCH || waited >= LINGER) && !flush(&mut since) {
            return;
        }
    }
    flush(&mut since);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_priority() -> i32 {
        // SAFETY: as in `defer_to_producer`.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[test]
    fn a_worker_that_panics_ends_the_run_instead_of_hanging_it() {
        // More items than the window: with item 3 lost, the sink waited for it, the
        // producer for tokens, the other worker for items, for good.
        let items: Vec<usize> = (0..5 * WINDOW).collect();
        let stop = AtomicBool::new(false);
        let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(
                NonZeroUsize::new(2).unwrap(),
                &items,
                &stop,
                || (),
                |_, &x| {
                    assert!(x != 3, "a worker's panic");
                    x
                },
                |_, _| {},
            )
        }));
        assert!(ended.is_err(), "the panic goes on once the run has stopped");
    }

    #[test]
    fn a_worker_deferring_to_its_producer_is_lowered_alone() {
        let before = own_priority();
        let lowered = std::thread::spawn(|| {
            defer_to_producer();
            own_priority()
        })
        .join()
        .unwrap();
        assert_eq!(lowered, (before + DEFER_NICE).min(19));
        // The calling thread, and threads started after, keep the process's priority.
        assert_eq!(own_priority(), before);
        assert_eq!(std::thread::spawn(own_priority).join().unwrap(), before);
        // Never past 19, however often it is called.
        let floor = std::thread::spawn(|| {
            for _ in 0..10 {
                defer_to_producer();
            }
            own_priority()
        })
        .join()
        .unwrap();
        assert_eq!(floor, 19);
    }

    fn squares(jobs: usize, n: usize) -> Vec<(usize, usize)> {
        let items: Vec<usize> = (0..n).collect();
        let stop = AtomicBool::new(false);
        let mut got = Vec::new();
        run(
            NonZeroUsize::new(jobs).unwrap(),
            &items,
            &stop,
            || 0usize,
            |calls, &x| {
                *calls += 1;
                x * x
            },
            |&x, sq| got.push((x, sq)),
        );
        got
    }

    /// A sink that panics (as `eprintln!` does on a closed stderr) ends the run with its
    /// panic, however many items the producer still has: it must not leave the producer
    /// waiting for tokens, and the scope waiting for it, forever.
    #[test]
    fn a_panicking_sink_ends_the_run_instead_of_hanging_it() {
        for jobs in [1, 2] {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let items: Vec<usize> = (0..10 * WINDOW).collect();
                let stop = AtomicBool::new(false);
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(
                        NonZeroUsize::new(jobs).unwrap(),
                        &items,
                        &stop,
                        || (),
                        |_, &x| x,
                        |&x, _| assert!(x < 3, "the sink gives up at item {x}"),
                    )
                }));
                let _ = tx.send(r.is_err());
            });
            let panicked = rx
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("-j{jobs}: the run hung after its sink panicked"));
            assert!(panicked, "-j{jobs}: the sink's panic goes on to the caller");
        }
    }

    #[test]
    fn results_arrive_in_item_order_for_any_job_count() {
        let want: Vec<_> = (0..5000).map(|x| (x, x * x)).collect();
        for jobs in [1, 2, 3, 8] {
            assert_eq!(squares(jobs, 5000), want, "jobs={jobs}");
        }
    }

    #[test]
    fn a_long_item_met_late_starts_before_the_items_queued_ahead_of_it() {
        // The producer queues the rest once the only worker holds item 0, and item 0 holds
        // it until the producer is done, so the queue holds 1..100 when the worker comes
        // back: item 70, marked long, goes next.
        let started = Mutex::new(Vec::new());
        let produced = AtomicBool::new(false);
        let items = (0..100usize)
            .inspect(|&i| {
                let t = Instant::now();
                while i == 1 && started.lock().unwrap().is_empty() {
                    assert!(t.elapsed() < Duration::from_secs(10), "worker stuck");
                    std::thread::yield_now();
                }
            })
            .chain(std::iter::from_fn(|| {
                produced.store(true, Ordering::SeqCst);
                None
            }));
        let mut got = Vec::new();
        stream_long_first(
            NonZeroUsize::new(1).unwrap(),
            items,
            |&i| i == 70,
            &AtomicBool::new(false),
            || (),
            |_, &i| {
                started.lock().unwrap().push(i);
                let t = Instant::now();
                while i == 0 && !produced.load(Ordering::SeqCst) {
                    assert!(t.elapsed() < Duration::from_secs(10), "producer stuck");
                    std::thread::yield_now();
                }
                i * 2
            },
            |d| {
                if let Delivery::Done(i, r) = d {
                    got.push((i, r));
                }
            },
        );
        let started = started.into_inner().unwrap();
        assert_eq!(started[..3], [0, 70, 1]);
        assert_eq!(got, (0..100).map(|i| (i, i * 2)).collect::<Vec<_>>());
    }

    #[test]
    fn a_long_item_sees_halted_once_the_sink_stops_the_run() {
        // Item 1 would run forever unless it watches `halted`; the sink stops the run when
        // it gets item 0.
        let stop = AtomicBool::new(false);
        let t = Instant::now();
        let delivered = stream(
            NonZeroUsize::new(2).unwrap(),
            0..2usize,
            &stop,
            || (),
            |_, &i| {
                while i == 1 && !halted() {
                    assert!(t.elapsed() < Duration::from_secs(10), "never halted");
                    std::thread::yield_now();
                }
                i
            },
            |d| {
                if let Delivery::Done(0, _) = d {
                    stop.store(true, Ordering::Relaxed);
                }
            },
        );
        assert_eq!(delivered, 2);
        assert!(!halted(), "outside a worker only an interrupt halts");
    }

    #[test]
    fn empty_input_runs_nothing() {
        assert!(squares(4, 0).is_empty());
    }

    #[test]
    fn a_raised_stop_flag_starts_no_items() {
        let stop = AtomicBool::new(true);
        let n = run(
            NonZeroUsize::new(2).unwrap(),
            &[1, 2, 3],
            &stop,
            || (),
            |_, _| panic!("must not run"),
            |_, ()| {},
        );
        assert_eq!(n, 0);
    }

    #[test]
    fn the_first_result_is_delivered_while_the_producer_is_still_producing() {
        // The producer yields one item, then waits until the sink has seen it: with batch
        // barriers (or a producer that must finish first) this would never end.
        let (seen_tx, seen_rx) = mpsc::channel::<()>();
        let seen_rx = Mutex::new(seen_rx);
        let items = (0..3).inspect(|&i| {
            if i == 1 {
                seen_rx
                    .lock()
                    .unwrap()
                    .recv_timeout(Duration::from_secs(10))
                    .expect("item 0 was not delivered before item 1 was produced");
            }
        });
        let mut got = Vec::new();
        for jobs in [1, 2] {
            got.clear();
            let stop = AtomicBool::new(false);
            stream(
                NonZeroUsize::new(jobs).unwrap(),
                items.clone(),
                &stop,
                || (),
                |_, &x| x + 10,
                |d| {
                    if let Delivery::Done(x, y) = d {
                        got.push((x, y));
                        if x == 0 {
                            seen_tx.send(()).unwrap();
                        }
                    }
                },
            );
            assert_eq!(got, [(0, 10), (1, 11), (2, 12)], "jobs={jobs}");
        }
    }

    #[test]
    fn a_result_is_delivered_while_its_worker_is_blocked_on_a_later_item() {
        // Item 2 blocks until the sink has seen item 1, which the same worker may still
        // hold in its batch: the sink must take it without waiting for the worker.
        for jobs in [1, 2] {
            let (seen_tx, seen_rx) = mpsc::channel::<()>();
            let seen_rx = Mutex::new(seen_rx);
            let stop = AtomicBool::new(false);
            let mut got = Vec::new();
            stream(
                NonZeroUsize::new(jobs).unwrap(),
                0..3,
                &stop,
                || (),
                |_, &x| {
                    if x == 2 {
                        lock(&seen_rx)
                            .recv_timeout(Duration::from_secs(10))
                            .expect("item 1 was held back while its worker blocked");
                    }
                    x
                },
                |d| {
                    if let Delivery::Done(x, _) = d {
                        got.push(x);
                        if x == 1 {
                            seen_tx.send(()).unwrap();
                        }
                    }
                },
            );
            assert_eq!(got, [0, 1, 2], "jobs={jobs}");
        }
    }

    #[test]
    fn items_in_flight_stay_within_the_window_behind_a_slow_first_item() {
        // Item 0 is slow; the others are instant. The producer may run at most WINDOW
        // items ahead of the sink, however fast the workers are.
        let produced = AtomicUsize::new(0);
        let max_ahead = AtomicUsize::new(0);
        let delivered = AtomicUsize::new(0);
        let n = 5 * WINDOW;
        let items = (0..n).inspect(|_| {
            let p = produced.fetch_add(1, Ordering::SeqCst) + 1;
            let ahead = p - delivered.load(Ordering::SeqCst);
            max_ahead.fetch_max(ahead, Ordering::SeqCst);
        });
        let stop = AtomicBool::new(false);
        let mut order = Vec::new();
        stream(
            NonZeroUsize::new(4).unwrap(),
            items,
            &stop,
            || (),
            |_, &x| {
                if x == 0 {
                    std::thread::sleep(Duration::from_millis(200));
                }
                x
            },
            |d| {
                if let Delivery::Done(x, _) = d {
                    order.push(x);
                    delivered.fetch_add(1, Ordering::SeqCst);
                }
            },
        );
        assert_eq!(order, (0..n).collect::<Vec<_>>());
        assert!(max_ahead.load(Ordering::SeqCst) <= WINDOW + 1);
    }

    #[test]
    fn a_stop_raised_by_the_sink_ends_an_endless_stream() {
        let stop = AtomicBool::new(false);
        let mut seen = 0;
        stream(
            NonZeroUsize::new(2).unwrap(),
            0usize..,
            &stop,
            || (),
            |_, &x| x,
            |d| {
                if let Delivery::Done(..) = d {
                    seen += 1;
                    if seen == 10 {
                        stop.store(true, Ordering::Relaxed);
                    }
                }
            },
        );
        assert!((10..=10 + WINDOW).contains(&seen), "{seen}");
    }
}
