//! The serial phases before the first member, on several threads: planning's per-entry
//! passes (reading every local header is a cache and TLB miss per member, the headers
//! being spread over the whole archive) and creating the directories (a `mkdirat` and an
//! `openat` each). For a JDK's 15,000-member `src.zip` they took about 25 ms of one core
//! while the other waited for the first member. Each thread takes one contiguous run of
//! items and the runs' results are joined in item order, so the plan, its refusals and
//! its warnings are the same whatever the thread count (`--jobs 1` runs everything on the
//! calling thread).

use std::num::NonZeroUsize;
use std::ops::Range;

/// Runs `f` over contiguous runs covering `0..len`, up to `jobs` at once (the first on
/// this thread) and each of at least `min` items (a thread costs tens of microseconds to
/// start), and returns the results in run order. A panic in one run is resumed here once
/// all have ended.
pub(crate) fn runs<R: Send>(
    jobs: NonZeroUsize,
    len: usize,
    min: usize,
    f: impl Fn(Range<usize>) -> R + Sync,
) -> Vec<R> {
    let n = jobs.get().min(len / min.max(1)).max(1);
    if n == 1 {
        return vec![f(0..len)];
    }
    let step = len.div_ceil(n);
    let run = |k: usize| k * step..((k + 1) * step).min(len);
    std::thread::scope(|s| {
        let f = &f;
        let others: Vec<_> = (1..n)
            .map(|k| {
                std::thread::Builder::new()
                    .name("punzip-split".into())
                    .spawn_scoped(s, move || f(run(k)))
            })
            .collect();
        let mut out = Vec::with_capacity(n);
        out.push(f(run(0)));
        for (k, t) in others.into_iter().enumerate() {
            // A thread that could not be started leaves its run to this one.
            out.push(match t {
                Ok(t) => t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                Err(_) => f(run(k + 1)),
            });
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN_PER_THREAD: usize = 100;

    #[test]
    fn the_runs_cover_every_entry_once_in_order_for_any_thread_count() {
        for len in [0, 1, MIN_PER_THREAD - 1, 2 * MIN_PER_THREAD + 7, 100_003] {
            for jobs in [1, 2, 3, 8] {
                let got: Vec<usize> =
                    runs(NonZeroUsize::new(jobs).unwrap(), len, MIN_PER_THREAD, |r| {
                        r.collect::<Vec<_>>()
                    })
                    .concat();
                assert_eq!(got, (0..len).collect::<Vec<_>>(), "len {len}, {jobs} jobs");
            }
        }
    }

    #[test]
    fn small_inputs_stay_on_the_calling_thread() {
        let me = std::thread::current().id();
        let ids = runs(
            NonZeroUsize::new(8).unwrap(),
            MIN_PER_THREAD,
            MIN_PER_THREAD,
            |_| std::thread::current().id(),
        );
        assert_eq!(ids, [me]);
        let ids = runs(
            NonZeroUsize::new(2).unwrap(),
            2 * MIN_PER_THREAD,
            MIN_PER_THREAD,
            |_| std::thread::current().id(),
        );
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1]);
    }
}
