//! What a job counts. Each worker returns one `Totals` per item and the caller folds them
//! with `+`/`Sum`: per-worker state, then a reduce, never a shared counter.

use std::ops::{Add, AddAssign};
use std::time::Duration;

/// Counts for one item or a whole run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Regular files written (or tested, or hashed).
    pub files: u64,
    /// Directories created.
    pub dirs: u64,
    /// Symbolic links created.
    pub links: u64,
    /// Bytes read from the source: compressed bytes for punzip, file bytes for phash.
    pub bytes_in: u64,
    /// Bytes produced: uncompressed bytes written (or tested) by punzip.
    pub bytes_out: u64,
    /// Items that failed.
    pub errors: u64,
    /// Items skipped on purpose (existing files with `-n`, special files).
    pub skipped: u64,
}

impl Add for Totals {
    type Output = Totals;
    fn add(self, o: Totals) -> Totals {
        Totals {
            files: self.files + o.files,
            dirs: self.dirs + o.dirs,
            links: self.links + o.links,
            bytes_in: self.bytes_in + o.bytes_in,
            bytes_out: self.bytes_out + o.bytes_out,
            errors: self.errors + o.errors,
            skipped: self.skipped + o.skipped,
        }
    }
}

impl AddAssign for Totals {
    fn add_assign(&mut self, o: Totals) {
        *self = *self + o;
    }
}

impl std::iter::Sum for Totals {
    fn sum<I: Iterator<Item = Totals>>(iter: I) -> Totals {
        iter.fold(Totals::default(), Add::add)
    }
}

/// Formats a byte count for people: `1.5 MiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Throughput in MB/s (10^6 bytes per second), 0 when no time passed.
pub fn mb_per_s(bytes: u64, wall: Duration) -> f64 {
    let s = wall.as_secs_f64();
    if s > 0.0 {
        bytes as f64 / 1e6 / s
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_adds_every_field() {
        let one = Totals {
            files: 1,
            dirs: 2,
            links: 3,
            bytes_in: 4,
            bytes_out: 5,
            errors: 6,
            skipped: 7,
        };
        let three: Totals = [one, one, one].into_iter().sum();
        assert_eq!(three.files, 3);
        assert_eq!(three.skipped, 21);
        assert_eq!(three.bytes_out, 15);
    }

    #[test]
    fn human_bytes_picks_a_unit() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
