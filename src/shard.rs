//! `--shard K/N`: which part of the work this process does, when N processes (a Slurm
//! array, a Kubernetes indexed Job, GNU parallel over ssh) each run the same command and
//! together must do exactly the work of one run: no item twice, none missing.
//!
//! The partition is a pure function of what every shard sees alike: the items' paths and
//! sizes, in the enumerator's order (the central directory for punzip, the walk for
//! phash). No shard talks to another, no clock, no random state.
//!
//! The rule, version [`RULE`]:
//! - The hash of an item is FNV-1a 64 of its path bytes, finished with MurmurHash3's
//!   `fmix64` so every bit of the path moves the high bits; the shard of a hash `h` among
//!   `n` is `(h * n) >> 64` (the multiply-shift range reduction, so N need not be a power
//!   of two). Both are fixed here and pinned by test vectors: never std's `RandomState`.
//! - Items smaller than [`BIG`] (or of unknown size) go where their hash says. That alone
//!   balances the count, and the bytes when sizes are alike.
//! - Items of [`BIG`] bytes or more are handed to the shard with the fewest bytes so far
//!   (ties: the lowest shard number), so a few huge files cannot pile up on one shard.
//!   With the whole list in hand ([`assign_all`], punzip) the big items are placed
//!   largest first (LPT scheduling) after the small ones are counted; while streaming
//!   ([`Balancer`], phash's walk) they are placed in the order they come, with every
//!   earlier item counted. Either way every shard computes the same answer from the
//!   same list, so the shards agree without talking.
//!
//! The price of byte balance: big items are exact only if every shard sees the same list
//! (the same archive and filters; the same tree, operands and walk options). Small items
//! depend on their own path only, so they stay exact even if the tree changes between
//! shards.

use std::fmt;

/// The name of the partition rule, for messages and documentation. A change to the hash,
/// the range reduction, [`BIG`] or the placement of big items is a new rule.
pub const RULE: &str = "fnv1a64-fmix64 v1";

/// The most shards a run may have: more than any scheduler's array (Slurm's largest is
/// 4,000,001 tasks, but its default is 1,001; a Kubernetes indexed Job has at most
/// 100,000 completions), few enough that a table of each shard's load stays small. Every
/// run keeps one, and an N of 4,294,967,295 asked for 32 GB and aborted.
pub const MAX_SHARDS: u32 = 1_000_000;

/// Items of this many bytes or more are placed by load rather than by hash.
pub const BIG: u64 = 1 << 20;

/// One shard of N: `number` is 1-based, as users count (`--shard 1/4` .. `--shard 4/4`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a `--shard` value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("expected K/N with 1 <= K <= N (such as 2/8), auto, or auto/N; got {0:?}")]
    Syntax(String),
    #[error("shard {k} of {n} does not exist: K must be between 1 and N")]
    Range { k: u64, n: u64 },
    #[error("{n} shards are too many: N can be at most {MAX_SHARDS}")]
    TooMany { n: u64 },
    #[error(
        "--shard auto: neither Slurm's SLURM_ARRAY_TASK_ID (with SLURM_ARRAY_TASK_COUNT) \
         nor Kubernetes' JOB_COMPLETION_INDEX is set; run inside a Slurm job array or an \
         indexed Job, or give K/N"
    )]
    NoScheduler,
    #[error("--shard auto: Kubernetes' JOB_COMPLETION_INDEX is set, but the number of shards is not: use --shard auto/N with N the Job's completions")]
    NeedCount,
    #[error("--shard auto: task {id} of a Slurm array of {count} tasks from {min} to {max} (step {step}): the array has gaps (such as --array=0,2,3), whose tasks cannot be numbered 1 to N; give --shard K/N, or an array without gaps")]
    Gaps {
        id: u64,
        min: u64,
        max: u64,
        step: u64,
        count: u64,
    },
    #[error("--shard auto: {var}={value:?} is not a number")]
    BadVar { var: &'static str, value: String },
    #[error("--shard auto/{given}: {var} says there are {found} tasks")]
    CountMismatch {
        given: u64,
        found: u64,
        var: &'static str,
    },
}

impl Shard {
    /// Shard `k` (1-based) of `n`.
    pub fn new(k: u64, n: u64) -> Result<Shard, ShardError> {
        if n > u64::from(MAX_SHARDS) {
            return Err(ShardError::TooMany { n });
        }
        if n == 0 || k == 0 || k > n {
            return Err(ShardError::Range { k, n });
        }
        Ok(Shard {
            index: (k - 1) as u32,
            count: n as u32,
        })
    }

    /// This shard's number, 1..=N.
    pub fn number(self) -> u32 {
        self.index + 1
    }

    /// N, the number of shards.
    pub fn count(self) -> u32 {
        self.count
    }

    /// Parses `K/N`, `auto` or `auto/N`; `auto` reads the scheduler's variables through
    /// `env` (the process environment in the binaries, a table in tests):
    /// - Slurm job arrays: K = (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / STEP + 1 and
    ///   N = SLURM_ARRAY_TASK_COUNT (MIN defaults to 0, SLURM_ARRAY_TASK_STEP to 1);
    /// - Kubernetes indexed Jobs: K = JOB_COMPLETION_INDEX + 1, N from `auto/N` (a pod
    ///   does not see its Job's completions count).
    ///
    /// With `auto/N` under Slurm, N must match the array's task count.
    pub fn parse(spec: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(spec.to_string());
        let (k, n) = spec.trim().split_once('/').unwrap_or((spec.trim(), ""));
        let number = |s: &str| s.trim().parse::<u64>().map_err(|_| syntax());
        if k != "auto" {
            return Shard::new(number(k)?, number(n)?);
        }
        let given = if n.is_empty() { None } else { Some(number(n)?) };
        let var = |name: &'static str| -> Result<Option<u64>, ShardError> {
            match env(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| ShardError::BadVar {
                    var: name,
                    value: v,
                }),
            }
        };
        if let (Some(id), Some(count)) =
            (var("SLURM_ARRAY_TASK_ID")?, var("SLURM_ARRAY_TASK_COUNT")?)
        {
            let min = var("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let step = var("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
            if let Some(g) = given.filter(|&g| g != count) {
                return Err(ShardError::CountMismatch {
                    given: g,
                    found: count,
                    var: "SLURM_ARRAY_TASK_COUNT",
                });
            }
            let offset = id
                .checked_sub(min)
                .ok_or(ShardError::Range { k: 0, n: count })?;
            // `--array=0,2,3` says MIN 0, MAX 3, COUNT 3: no rule numbers its tasks 1..3
            // (task 3 was "shard 4 of 3", and shard 2 was never run).
            let max = var("SLURM_ARRAY_TASK_MAX")?;
            let spanned = max.map(|max| max.saturating_sub(min) / step + 1);
            if offset % step != 0 || spanned.is_some_and(|s| s != count) {
                return Err(ShardError::Gaps {
                    id,
                    min,
                    max: max.unwrap_or(id),
                    step,
                    count,
                });
            }
            return Shard::new(offset / step + 1, count);
        }
        if let Some(index) = var("JOB_COMPLETION_INDEX")? {
            let n = given.ok_or(ShardError::NeedCount)?;
            return Shard::new(index.saturating_add(1), n);
        }
        Err(ShardError::NoScheduler)
    }

    /// The shard (0-based) a small item with this path belongs to among `count`.
    pub fn of_path(path: &[u8], count: u32) -> u32 {
        ((u128::from(path_hash(path)) * u128::from(count)) >> 64) as u32
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.number(), self.count)
    }
}

/// FNV-1a 64 of `bytes`, finished with `fmix64`: the fixed, versioned hash of [`RULE`].
pub fn path_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The shard with the fewest bytes (the lowest number among equals).
fn lightest(loads: &[u64]) -> u32 {
    let mut best = 0;
    for (i, &l) in loads.iter().enumerate() {
        if l < loads[best] {
            best = i;
        }
    }
    best as u32
}

/// The shard (0-based) of every item of a list known in full, `(path, size)` in list
/// order: small items by hash, then big ones largest first (ties by path bytes, then
/// position) onto the lightest shard.
pub fn assign_all(items: &[(&[u8], u64)], count: u32) -> Vec<u32> {
    let mut loads = vec![0u64; count as usize];
    let mut out = vec![0u32; items.len()];
    let mut big = Vec::new();
    for (i, &(path, size)) in items.iter().enumerate() {
        if size >= BIG {
            big.push(i);
        } else {
            let s = Shard::of_path(path, count);
            loads[s as usize] = loads[s as usize].saturating_add(size);
            out[i] = s;
        }
    }
    big.sort_by(|&a, &b| {
        (items[b].1.cmp(&items[a].1))
            .then(items[a].0.cmp(items[b].0))
            .then(a.cmp(&b))
    });
    for i in big {
        let s = lightest(&loads);
        loads[s as usize] = loads[s as usize].saturating_add(items[i].1);
        out[i] = s;
    }
    out
}

/// The streaming form of the rule, for an enumerator that cannot wait for its end (the
/// walk): fed every item in order, it says whether each is this shard's.
#[derive(Clone, Debug)]
pub struct Balancer {
    shard: Shard,
    loads: Vec<u64>,
}

impl Balancer {
    pub fn new(shard: Shard) -> Balancer {
        Balancer {
            shard,
            loads: vec![0; shard.count as usize],
        }
    }

    /// The shard (0-based) of the next item; `size` is `None` when unknown (placed by
    /// hash, not counted).
    pub fn assign(&mut self, path: &[u8], size: Option<u64>) -> u32 {
        let s = match size {
            Some(n) if n >= BIG => lightest(&self.loads),
            _ => Shard::of_path(path, self.shard.count),
        };
        let load = &mut self.loads[s as usize];
        *load = load.saturating_add(size.unwrap_or(0));
        s
    }

    /// Whether the next item is this shard's.
    pub fn keeps(&mut self, path: &[u8], size: Option<u64>) -> bool {
        self.assign(path, size) == self.shard.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn the_hash_is_pinned_by_fixed_vectors_so_every_machine_and_release_agrees() {
        // FNV-1a 64 itself, by its published vectors (before the finish).
        let fnv = |b: &[u8]| {
            b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
                (h ^ u64::from(x)).wrapping_mul(0x0000_0100_0000_01b3)
            })
        };
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv(b"foobar"), 0x8594_4171_f739_67e8);
        // The rule's shards for a few paths: changing any of these is a new RULE.
        let got: Vec<u32> = ["a", "dir/b.txt", "src/lib.rs", "é/ü", ""]
            .iter()
            .map(|p| Shard::of_path(p.as_bytes(), 7))
            .collect();
        assert_eq!(got, PINNED_7, "path_hash changed: bump RULE");
        assert_eq!(path_hash(b"dir/b.txt"), 0x661f_cd70_aaaf_15bc);
    }
    // Computed independently (Python, from the published constants).
    const PINNED_7: [u32; 5] = [3, 2, 0, 4, 6];

    fn sizes(n: usize) -> Vec<(Vec<u8>, u64)> {
        // A skewed mix: many small files, some medium, a few huge.
        (0..n)
            .map(|i| {
                let size = match i % 97 {
                    0 => 64 << 20,
                    1..=9 => 2 << 20,
                    _ => (i as u64 * 7919) % 40_000,
                };
                (format!("tree/d{}/f{i}.dat", i % 13).into_bytes(), size)
            })
            .collect()
    }

    #[test]
    fn every_item_lands_in_exactly_one_shard_and_the_shards_agree() {
        let items = sizes(3000);
        let list: Vec<(&[u8], u64)> = items.iter().map(|(p, s)| (p.as_slice(), *s)).collect();
        for n in [1u32, 2, 3, 7] {
            let all = assign_all(&list, n);
            assert!(all.iter().all(|&s| s < n));
            // Each shard, deciding alone with a streaming balancer, keeps its own items;
            // together they cover the list once.
            let mut owners = vec![0u32; list.len()];
            for k in 1..=n {
                let mut b = Balancer::new(Shard::new(k.into(), n.into()).unwrap());
                for (i, (p, s)) in list.iter().enumerate() {
                    if b.keeps(p, Some(*s)) {
                        owners[i] += 1;
                    }
                }
            }
            assert!(owners.iter().all(|&c| c == 1), "n={n}");
            assert_eq!(assign_all(&list, n), all, "the same on every call");
        }
    }

    fn spread(loads: &[u64]) -> f64 {
        let max = *loads.iter().max().unwrap() as f64;
        let mean = loads.iter().sum::<u64>() as f64 / loads.len() as f64;
        max / mean
    }

    #[test]
    fn shards_are_balanced_by_bytes_and_by_count() {
        let items = sizes(3000);
        let list: Vec<(&[u8], u64)> = items.iter().map(|(p, s)| (p.as_slice(), *s)).collect();
        for n in [2u32, 3, 7] {
            let mut bytes = vec![0u64; n as usize];
            let mut count = vec![0u64; n as usize];
            for (&s, (_, size)) in assign_all(&list, n).iter().zip(&list) {
                bytes[s as usize] += size;
                count[s as usize] += 1;
            }
            let mut stream = vec![0u64; n as usize];
            let mut b = Balancer::new(Shard::new(1, n.into()).unwrap());
            for (p, s) in &list {
                stream[b.assign(p, Some(*s)) as usize] += s;
            }
            eprintln!(
                "n={n}: bytes {bytes:?} ({:.3}), streaming {stream:?} ({:.3}), count {count:?}",
                spread(&bytes),
                spread(&stream)
            );
            // 31 files of 64 MiB dominate: within one big file of perfect.
            let big = (64u64 << 20) as f64;
            let mean = list.iter().map(|x| x.1).sum::<u64>() as f64 / f64::from(n);
            assert!(spread(&bytes) <= 1.0 + big / mean, "{bytes:?}");
            assert!(spread(&stream) <= 1.0 + big / mean, "{stream:?}");
            assert!(spread(&count) < 1.25, "{count:?}");
        }
        // Pure hashing would not do it: all 64 MiB files on as few shards as chance says.
    }

    #[test]
    fn k_of_n_auto_from_slurm_and_kubernetes_and_clear_errors() {
        let none = env(&[]);
        assert_eq!(Shard::parse("2/7", &none).unwrap().to_string(), "2/7");
        assert!(matches!(
            Shard::parse("0/3", &none),
            Err(ShardError::Range { .. })
        ));
        assert!(matches!(
            Shard::parse("4/3", &none),
            Err(ShardError::Range { .. })
        ));
        assert!(matches!(
            Shard::parse("x", &none),
            Err(ShardError::Syntax(_))
        ));
        assert_eq!(Shard::parse("auto", &none), Err(ShardError::NoScheduler));
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "12"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(Shard::parse("auto", &slurm).unwrap().to_string(), "3/4");
        assert!(matches!(
            Shard::parse("auto/5", &slurm),
            Err(ShardError::CountMismatch { .. })
        ));
        let stepped = env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(Shard::parse("auto", &stepped).unwrap().to_string(), "3/3");
        // --array=0,2,3
        for id in ["0", "2", "3"] {
            let gaps = env(&[
                ("SLURM_ARRAY_TASK_ID", id),
                ("SLURM_ARRAY_TASK_MIN", "0"),
                ("SLURM_ARRAY_TASK_MAX", "3"),
                ("SLURM_ARRAY_TASK_COUNT", "3"),
            ]);
            assert!(
                matches!(Shard::parse("auto", &gaps), Err(ShardError::Gaps { .. })),
                "{id}"
            );
        }
        // --array=5-8 and --array=0-6:2 have none.
        let offset = env(&[
            ("SLURM_ARRAY_TASK_ID", "8"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_MAX", "8"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(Shard::parse("auto", &offset).unwrap().to_string(), "4/4");
        let stepped = env(&[
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "6"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert_eq!(Shard::parse("auto", &stepped).unwrap().to_string(), "4/4");
        let k8s = env(&[("JOB_COMPLETION_INDEX", "0")]);
        assert_eq!(Shard::parse("auto/8", &k8s).unwrap().to_string(), "1/8");
        assert_eq!(Shard::parse("auto", &k8s), Err(ShardError::NeedCount));
        let k8s_out = env(&[("JOB_COMPLETION_INDEX", "8")]);
        assert!(Shard::parse("auto/8", &k8s_out).is_err());
    }
}
