//! The one engine both tools run on: a list of work items, `jobs` workers, per-worker state,
//! results handed back to the caller in item order.
//!
//! Why it is shaped so:
//! - Workers pull the next item index from one atomic counter instead of rayon splitting the
//!   list in halves. Items are therefore *started* in list order, which gives two things at
//!   once: callers that sort biggest-first get largest-first scheduling (one big member
//!   cannot finish alone at the end), and results come back nearly in order, so the
//!   caller can stream them through a small reorder buffer (phash prints while it hashes).
//! - The workers run on a local rayon pool of exactly `jobs` threads (b3sum's habit), never
//!   the global one. `jobs = 1` goes through the very same code, so serial and parallel
//!   results can be compared byte for byte.
//! - Each worker owns its state (`init` is called once per worker: an archive handle, a
//!   buffer, a decompressor). Nothing mutable is shared; the counter and the channel are
//!   the only points of contact.
//! - `stop` (a fatal error such as a full disk) and the interrupt flag of [`crate::cancel`]
//!   are checked before each item: workers stop taking new work; the item in flight is
//!   expected to watch them too.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Results a worker collects before handing them over.
const BATCH: usize = 32;
/// The longest a finished result waits in a worker's batch.
const LINGER: Duration = Duration::from_millis(5);

/// The number of workers to use when the user does not say: the machine's cores.
pub fn default_jobs() -> NonZeroUsize {
    std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
}

/// Runs `work` over every item with `jobs` workers and calls `sink` on the calling thread
/// with each result, in item order, as soon as all earlier results have arrived.
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
    if items.is_empty() {
        return 0;
    }
    let workers = jobs.get().min(items.len());
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<Vec<(usize, T)>>();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("pool-worker-{i}"))
        .build()
        .expect("cannot start worker threads");
    let (next, init, work) = (&next, &init, &work);
    let mut delivered = 0;
    std::thread::scope(|scope| {
        scope.spawn(move || {
            pool.scope(|s| {
                for _ in 0..workers {
                    let tx = tx.clone();
                    s.spawn(move |_| {
                        let mut state = init();
                        // Results travel in small batches: one wake-up of the receiving
                        // thread per result costs as much as a small item. A batch is sent
                        // when it is full or has waited a few milliseconds, so output
                        // still streams.
                        let mut batch = Vec::with_capacity(BATCH);
                        let mut since = Instant::now();
                        loop {
                            if stop.load(Ordering::Relaxed) || crate::cancel::interrupted() {
                                break;
                            }
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(item) = items.get(i) else { break };
                            batch.push((i, work(&mut state, item)));
                            if batch.len() >= BATCH || since.elapsed() >= LINGER {
                                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                                if tx.send(full).is_err() {
                                    return;
                                }
                                since = Instant::now();
                            }
                        }
                        if !batch.is_empty() {
                            let _ = tx.send(batch);
                        }
                    });
                }
                drop(tx);
            });
        });
        // Reorder buffer: results arrive nearly in order, so it stays small.
        let mut pending = BTreeMap::new();
        let mut want = 0;
        for batch in rx {
            for (i, out) in batch {
                pending.insert(i, out);
            }
            while let Some(out) = pending.remove(&want) {
                sink(&items[want], out);
                want += 1;
                delivered += 1;
            }
        }
        // Items after a gap (an item skipped because of `stop`) are still delivered, in
        // order, so nothing that was done goes unreported.
        for (i, out) in pending {
            sink(&items[i], out);
            delivered += 1;
        }
    });
    delivered
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn results_arrive_in_item_order_for_any_job_count() {
        let want: Vec<_> = (0..1000).map(|x| (x, x * x)).collect();
        for jobs in [1, 2, 3, 8] {
            assert_eq!(squares(jobs, 1000), want, "jobs={jobs}");
        }
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
}
