//! One stream, read in its operands' order: `phash - -`, `phash - /dev/stdin`, a FIFO
//! named twice, `-` twice in a list `phash -c` checks (only `-` there: a list line that
//! names `/dev/stdin` or a FIFO gets no turn yet).
//!
//! Two workers reading one stream at once each get a part of it: `cat f | phash -j2 - -`
//! printed two wrong digests, exit 0, where md5sum reads everything for the first `-` and
//! nothing for the second. Only a source whose position is shared needs a turn: standard
//! input, whatever it is (`< file` shares its offset too), and a FIFO, character device
//! or socket named more than once (the same device and inode). A regular file is opened
//! afresh for each operand and read at its own offset, and keeps its parallelism.
//!
//! The producer numbers each such operand among those of its stream ([`Tickets`], on the
//! one producer thread); a worker holding one waits until every earlier one has been read
//! ([`Turns::take`]). Workers start items in the order the producer made them
//! ([`crate::pool`]), so the one a worker waits for has been started already, by another
//! worker or earlier by itself: the wait always ends. That holds only because no unit
//! with a ticket is ever marked long (the pool's long items jump the queue; phash marks
//! only `Unit::Streams`, which carry none): a ticketed long unit could wait at `-j1` for
//! one queued behind it. It also ends when the run is halted
//! (Ctrl-C, a closed output), as the read it waits for may be blocked on a terminal.

use std::collections::HashMap;
use std::os::fd::AsFd;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// A stream's identity: its device and inode.
pub type Stream = (u64, u64);

/// The `number`th operand (from 0) that reads `stream`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Ticket {
    stream: Stream,
    number: usize,
}

/// The producer's side: numbers the operands of each stream in order.
#[derive(Debug, Default)]
pub(super) struct Tickets(HashMap<Stream, usize>);

impl Tickets {
    /// The next ticket for `stream`, if the operand reads a shared stream at all.
    pub(super) fn issue(&mut self, stream: Option<Stream>) -> Option<Ticket> {
        let stream = stream?;
        let next = self.0.entry(stream).or_default();
        let ticket = Ticket {
            stream,
            number: *next,
        };
        *next += 1;
        Some(ticket)
    }
}

/// The workers' side: how many operands of each stream have been read.
#[derive(Debug, Default)]
pub(super) struct Turns {
    read: Mutex<HashMap<Stream, usize>>,
    turned: Condvar,
}

/// How often a waiting worker looks at [`crate::pool::halted`].
const TICK: Duration = Duration::from_millis(20);

impl Turns {
    /// Runs `read` once every earlier ticket of its stream has been read (at once without
    /// a ticket). `None` if the run was halted first.
    pub(super) fn take<T>(&self, ticket: Option<Ticket>, read: impl FnOnce() -> T) -> Option<T> {
        let Some(ticket) = ticket else {
            return Some(read());
        };
        let mut done = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        while done.get(&ticket.stream).copied().unwrap_or(0) != ticket.number {
            if crate::pool::halted() {
                return None;
            }
            done = self
                .turned
                .wait_timeout(done, TICK)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(done);
        // Counted as read however `read` ends (a panic too), so the next one's wait ends.
        struct Read<'a>(&'a Turns, Stream);
        impl Drop for Read<'_> {
            fn drop(&mut self) {
                let mut done = self.0.read.lock().unwrap_or_else(PoisonError::into_inner);
                *done.entry(self.1).or_default() += 1;
                self.0.turned.notify_all();
            }
        }
        let _read = Read(self, ticket.stream);
        Some(read())
    }
}

/// Standard input's stream (`None` if it is closed).
pub(super) fn stdin() -> Option<Stream> {
    rustix::fs::fstat(std::io::stdin().as_fd())
        .ok()
        .map(|st| (st.st_dev, st.st_ino))
}

/// The stream an operand `stat` found, if several operands may share its position: not a
/// regular file, not a directory.
pub(super) fn shared(st: &rustix::fs::Stat) -> Option<Stream> {
    use rustix::fs::FileType;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile | FileType::Directory => None,
        _ => Some((st.st_dev, st.st_ino)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn tickets_count_each_stream_apart_and_skip_unshared_operands() {
        let mut t = Tickets::default();
        let a = |n| {
            Some(Ticket {
                stream: (1, 2),
                number: n,
            })
        };
        assert_eq!(t.issue(Some((1, 2))), a(0));
        assert_eq!(t.issue(None), None);
        assert_eq!(
            t.issue(Some((1, 3))),
            Some(Ticket {
                stream: (1, 3),
                number: 0
            })
        );
        assert_eq!(t.issue(Some((1, 2))), a(1));
    }

    #[test]
    fn reads_of_one_stream_run_in_ticket_order_whoever_starts_first() {
        let mut tickets = Tickets::default();
        let issued: Vec<_> = (0..8).map(|_| tickets.issue(Some((7, 7)))).collect();
        let turns = Arc::new(Turns::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let inside = Arc::new(AtomicUsize::new(0));
        // Started last first: each must still wait for every earlier one.
        let threads: Vec<_> = issued
            .into_iter()
            .enumerate()
            .rev()
            .map(|(i, ticket)| {
                let (turns, order, inside) = (turns.clone(), order.clone(), inside.clone());
                std::thread::spawn(move || {
                    turns.take(ticket, || {
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two at once");
                        std::thread::sleep(Duration::from_millis(2));
                        order.lock().unwrap().push(i);
                        inside.fetch_sub(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), Some(()));
        }
        assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn a_read_that_panics_still_passes_the_turn_on() {
        let mut tickets = Tickets::default();
        let (first, second) = (tickets.issue(Some((1, 1))), tickets.issue(Some((1, 1))));
        let turns = Turns::default();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            turns.take(first, || panic!("read failed"))
        }));
        assert!(caught.is_err());
        assert_eq!(turns.take(second, || 5), Some(5));
    }

    #[test]
    fn without_a_ticket_nothing_waits() {
        assert_eq!(Turns::default().take(None, || 1), Some(1));
    }
}
