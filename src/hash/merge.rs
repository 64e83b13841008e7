//! `phash --merge FILE...`: the outputs of `phash --shard K/N` for K = 1..N, combined
//! into exactly the output one run would have written: the same lines, in the same order,
//! byte for byte.
//!
//! One run's order is the walk's ([`super::walk`]): operands as given, each walked
//! depth-first with every directory's entries sorted by their name bytes. Within one
//! operand that is the order of the paths compared component by component (the parts
//! between `/`, as bytes), so `b/x` comes before `b-c` although `/` > `-`. Each shard's
//! output is a subsequence of that order, so a k-way merge by that comparison recovers it,
//! holding one line per input: memory is bounded by the longest line, whatever the sizes.
//!
//! Operands: a line's operand is not written in it. With one operand, or several whose
//! paths never share a prefix and were given in component order (such as `phash dir/*`
//! in the C locale), the comparison alone is the order. Otherwise give the merge the
//! run's operands again (`phash --merge FILE... -- OPERAND...`): a line belongs to the
//! first operand its path lies in, and operands rank as given.
//!
//! Lines are taken as they are: plain (`HEX  NAME`), `--tag` (`ALGO (NAME) = HEX`, any
//! algorithm), md5sum's escaped names (a leading `\`), and `-z` records (NUL-terminated,
//! never escaped; the merge must be told `-z`). A line that is not one of these, a line
//! with no ending (a shard that died mid-write), a line out of order within its file, and
//! a path seen twice (the same shard given twice, or shards of different runs) are errors
//! naming the file and line: a merge never guesses.
//!
//! Shards' outputs open and close with marks ([`super::marks`]): the inputs must be every
//! shard of one run, each once, each finished, or the merge fails naming what is missing.
//! Inputs with no marks at all (lists not written by `--shard`) are merged as they are,
//! and the caller is told ([`Merged::marked`]) so it can say that nothing was checked.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::format;
use super::marks::{self, Found, Mark};

/// What to merge.
#[derive(Clone, Debug, Default)]
pub struct MergeConfig {
    /// The shards' outputs (`-` for standard input, at most once).
    pub inputs: Vec<PathBuf>,
    /// The operands of the run, when it had several (see the module docs).
    pub operands: Vec<OsString>,
    /// Records end with NUL (`-z`).
    pub zero: bool,
}

/// Why a merge stopped.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{}: {}", path.display(), super::reason(source))]
    Open { path: PathBuf, source: io::Error },
    #[error("{}: {}", path.display(), super::reason(source))]
    Read { path: PathBuf, source: io::Error },
    #[error("{}:{line}: {reason}", path.display())]
    Format {
        path: PathBuf,
        line: u64,
        reason: &'static str,
    },
    #[error("{}:{line}: out of order (after line {prev}: not the output of one phash run, or sorted by something else; a run of several operands needs them after `--`)", path.display())]
    OutOfOrder { path: PathBuf, line: u64, prev: u64 },
    #[error("{}:{line}: the same file as {}:{first_line} (a shard given twice, or shards of different runs?)", path.display(), first.display())]
    Duplicate {
        path: PathBuf,
        line: u64,
        first: PathBuf,
        first_line: u64,
    },
    #[error("standard input (-) can be given only once")]
    StdinTwice,
    #[error("{}: no shard mark (not the output of phash --shard, or of an older phash), where {} has one: give every shard of one run", path.display(), marked.display())]
    Unmarked { path: PathBuf, marked: PathBuf },
    #[error("{}: {}, but {} is {}: shards of different runs (other operands, options or N)", path.display(), mark.describe(), first.display(), first_mark.describe())]
    OtherRun {
        path: PathBuf,
        mark: Box<Mark>,
        first: PathBuf,
        first_mark: Box<Mark>,
    },
    #[error("{}", if first == path { format!("{} is given twice", path.display()) } else { format!("{} and {} are both shard {k}/{n}", first.display(), path.display()) })]
    SameShard {
        path: PathBuf,
        first: PathBuf,
        k: u32,
        n: u32,
    },
    #[error("{} {} of {n} {} not given: a merge needs every shard of the run", match .missing.len() { 1 => "shard", _ => "shards" }, list(.missing), match .missing.len() { 1 => "is", _ => "are" })]
    Missing { missing: Vec<u32>, n: u32 },
    #[error("{}: the run had {count} operands in an order the lines cannot tell: give them after `--`, as the shards were given them (phash --merge FILE... -- OPERAND...)", path.display())]
    OperandsNeeded { path: PathBuf, count: usize },
    #[error("{}: the operands after `--` are not the run's ({}): give them as the shards were given them, in the same order and spelling", path.display(), if given == count { format!("{given} given as in the run, but others or in another order") } else { format!("{given} given, {count} in the run") })]
    OtherOperands {
        path: PathBuf,
        count: usize,
        given: usize,
    },
    #[error("{}: shard {}/{} has no end mark: it did not finish (killed, or its output cut short), so its files are missing from the merge", path.display(), mark.k, mark.n)]
    Unfinished { path: PathBuf, mark: Mark },
    #[error("{}: the merged list lacks the files the shards failed to hash (they said which, and exited 1, as one run would have)", failed.iter().map(|(p, m, n)| format!("{}: shard {}/{} failed to hash {n} {}", p.display(), m.k, m.n, if *n == 1 { "file" } else { "files" })).collect::<Vec<_>>().join("; "))]
    ShardsFailed { failed: Vec<(PathBuf, Mark, u64)> },
    #[error("standard output: {}", super::reason(source))]
    Output { source: io::Error },
}

impl MergeError {
    /// Whether this is the user's mistake on the command line.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            MergeError::StdinTwice
                | MergeError::OperandsNeeded { .. }
                | MergeError::OtherOperands { .. }
        )
    }

    /// Whether writing failed because the reader went away (`| head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, MergeError::Output { source } if source.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// How many missing shards a message names.
const MISSING_SHOWN: usize = 10;

/// `1, 3 and 4`; after [`MISSING_SHOWN`] of them, `and more`.
fn list(ks: &[u32]) -> String {
    let mut texts: Vec<String> = ks.iter().take(MISSING_SHOWN).map(u32::to_string).collect();
    if ks.len() > MISSING_SHOWN {
        texts.push("more".into());
    }
    match texts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => texts.join(""),
    }
}

/// What a merge did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Merged {
    /// Lines written.
    pub lines: u64,
    /// Whether the inputs were shards' marked outputs, so checked to be all of one run.
    pub marked: bool,
}

/// One input: its reader, and its current record with the record's sort key.
struct Input {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    /// The current record, terminator included.
    record: Vec<u8>,
    key: Key,
    line: u64,
    /// The shard's opening mark, if it had one.
    mark: Option<Mark>,
    /// Whether its closing mark was read.
    ended: bool,
    /// The files its closing mark says it failed to hash.
    errors: u64,
}

/// Where a record sorts: its operand's rank, then its path's components.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Key {
    rank: usize,
    path: Vec<u8>,
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank
            .cmp(&other.rank)
            .then_with(|| walk_order(&self.path, &other.path))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The walk's order of two paths under one operand: component by component, as bytes.
pub fn walk_order(a: &[u8], b: &[u8]) -> Ordering {
    a.split(|&c| c == b'/').cmp(b.split(|&c| c == b'/'))
}

/// Merges `cfg.inputs` into `out`.
pub fn merge(cfg: &MergeConfig, out: &mut dyn Write) -> Result<Merged, MergeError> {
    let operands: Vec<&Path> = cfg.operands.iter().map(Path::new).collect();
    let end = if cfg.zero { 0 } else { b'\n' };
    if cfg.inputs.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        return Err(MergeError::StdinTwice);
    }
    let mut inputs = Vec::with_capacity(cfg.inputs.len());
    for path in &cfg.inputs {
        let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(BufReader::new(crate::stdio::stdin()))
        } else {
            let f = File::open(path).map_err(|source| MergeError::Open {
                path: path.clone(),
                source,
            })?;
            Box::new(BufReader::with_capacity(64 << 10, f))
        };
        inputs.push(Input {
            path: path.clone(),
            reader,
            record: Vec::new(),
            key: Key::default(),
            line: 0,
            mark: None,
            ended: false,
            errors: 0,
        });
    }
    // The heap holds (key, input) of every input that has a current record, smallest
    // first; the input number breaks ties so equal keys are seen one after the other.
    let mut heap = BinaryHeap::new();
    for (i, input) in inputs.iter_mut().enumerate() {
        if advance(input, end, cfg.zero, &operands)? {
            heap.push(std::cmp::Reverse((input.key.clone(), i)));
        }
    }
    let marked = all_shards(&inputs, &cfg.operands)?;
    let mut last: Option<(Key, usize, u64)> = None;
    let mut written = 0;
    while let Some(std::cmp::Reverse((key, i))) = heap.pop() {
        let input = &mut inputs[i];
        if let Some((prev, j, line)) = &last {
            if *prev == key {
                return Err(MergeError::Duplicate {
                    path: input.path.clone(),
                    line: input.line,
                    first: cfg.inputs[*j].clone(),
                    first_line: *line,
                });
            }
        }
        out.write_all(&input.record)
            .map_err(|source| MergeError::Output { source })?;
        written += 1;
        last = Some((key, i, input.line));
        let prev_key = input.key.clone();
        let prev_line = input.line;
        if advance(input, end, cfg.zero, &operands)? {
            match input.key.cmp(&prev_key) {
                Ordering::Greater => {}
                Ordering::Equal => {
                    return Err(MergeError::Duplicate {
                        path: input.path.clone(),
                        line: input.line,
                        first: input.path.clone(),
                        first_line: prev_line,
                    })
                }
                Ordering::Less => {
                    return Err(MergeError::OutOfOrder {
                        path: input.path.clone(),
                        line: input.line,
                        prev: prev_line,
                    })
                }
            }
            heap.push(std::cmp::Reverse((input.key.clone(), i)));
        }
    }
    out.flush()
        .map_err(|source| MergeError::Output { source })?;
    if let Some(input) = inputs.iter().find(|i| i.mark.is_some() && !i.ended) {
        return Err(MergeError::Unfinished {
            path: input.path.clone(),
            mark: input.mark.clone().expect("marked"),
        });
    }
    let failed: Vec<_> = inputs
        .iter()
        .filter(|i| i.errors > 0)
        .map(|i| (i.path.clone(), i.mark.clone().expect("marked"), i.errors))
        .collect();
    if !failed.is_empty() {
        return Err(MergeError::ShardsFailed { failed });
    }
    Ok(Merged {
        lines: written,
        marked,
    })
}

/// Checks, once every input's opening mark is read, that the inputs are every shard of
/// one run, each once, and that `operands` are the run's (or not needed: see
/// [`marks::Operands`]); returns whether they are marked at all (none is, or it fails).
fn all_shards(inputs: &[Input], operands: &[OsString]) -> Result<bool, MergeError> {
    let Some(first) = inputs.iter().find(|i| i.mark.is_some()) else {
        return Ok(false);
    };
    let first_mark = first.mark.as_ref().expect("found marked");
    // By shard number; N is as the file says, so not a table of N.
    let mut seen: std::collections::BTreeMap<u32, &Input> = std::collections::BTreeMap::new();
    for input in inputs {
        let Some(mark) = &input.mark else {
            return Err(MergeError::Unmarked {
                path: input.path.clone(),
                marked: first.path.clone(),
            });
        };
        if mark.n != first_mark.n || mark.run != first_mark.run {
            return Err(MergeError::OtherRun {
                path: input.path.clone(),
                mark: Box::new(mark.clone()),
                first: first.path.clone(),
                first_mark: Box::new(first_mark.clone()),
            });
        }
        if let Some(other) = seen.insert(mark.k, input) {
            return Err(MergeError::SameShard {
                path: input.path.clone(),
                first: other.path.clone(),
                k: mark.k,
                n: mark.n,
            });
        }
    }
    // The first few missing, then how many more.
    let missing: Vec<u32> = (1..=first_mark.n)
        .filter(|k| !seen.contains_key(k))
        .take(MISSING_SHOWN + 1)
        .collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing {
            missing,
            n: first_mark.n,
        });
    }
    // From any input that says them: shards written by an older phash (no operands in
    // their marks) are the same run, and the first input may be one of them.
    let said = inputs.iter().find_map(|i| {
        let m = i.mark.as_ref()?;
        Some((&i.path, m.operands.as_ref()?))
    });
    if let Some((path, run)) = said {
        let path = path.clone();
        if operands.is_empty() && run.needed {
            return Err(MergeError::OperandsNeeded {
                path,
                count: run.count,
            });
        }
        if !operands.is_empty() && marks::Operands::of(operands).digest != run.digest {
            return Err(MergeError::OtherOperands {
                path,
                count: run.count,
                given: operands.len(),
            });
        }
    }
    Ok(true)
}

/// Reads the input's next record and its key; `false` at the end.
/// Comment records (`#`, which checkers skip) are not records: a shard's marks are noted
/// on the input, and others passed over.
fn advance(input: &mut Input, end: u8, zero: bool, operands: &[&Path]) -> Result<bool, MergeError> {
    loop {
        input.record.clear();
        let n = input
            .reader
            .read_until(end, &mut input.record)
            .map_err(|source| MergeError::Read {
                path: input.path.clone(),
                source,
            })?;
        if n == 0 {
            return Ok(false);
        }
        input.line += 1;
        let bad = |reason| MergeError::Format {
            path: input.path.clone(),
            line: input.line,
            reason,
        };
        let Some((&last, body)) = input.record.split_last() else {
            unreachable!("n > 0")
        };
        if last != end {
            return Err(bad(if !zero && input.record.contains(&0) {
                "no line ending, and NUL bytes: the output of a -z run? (give -z before --merge)"
            } else if zero && input.record.contains(&b'\n') {
                "no NUL ending, and line endings: not the output of a -z run? (give -z only if the shards ran with it)"
            } else if zero {
                "no NUL ending: the output was cut short (did that shard finish?)"
            } else {
                "no line ending: the output was cut short (did that shard finish?)"
            }));
        }
        if input.ended {
            return Err(bad("a line after the shard's end mark"));
        }
        if body.first() != Some(&b'#') {
            break;
        }
        match marks::parse(body) {
            Some(Found::Opening(m)) if input.line == 1 => input.mark = Some(m),
            Some(Found::Closing(m, errors)) if input.mark.as_ref() == Some(&m) => {
                input.ended = true;
                input.errors = errors;
            }
            Some(_) => return Err(bad("a shard mark out of place (outputs joined together?)")),
            None if marks::looks_like_one(body) => {
                return Err(bad(if !zero && body.contains(&0) {
                    "NUL bytes in a shard mark: the output of a -z run? (give -z before --merge)"
                } else {
                    "a shard mark that cannot be read (damaged or edited?)"
                }));
            }
            None => {}
        }
    }
    let bad = |reason| MergeError::Format {
        path: input.path.clone(),
        line: input.line,
        reason,
    };
    let body = &input.record[..input.record.len() - 1];
    let path = name_of(body, zero).ok_or_else(|| {
        bad(if zero {
            "not a phash -z record"
        } else {
            "not a phash output line (HEX  NAME or ALGO (NAME) = HEX; use -z for -z output)"
        })
    })?;
    let as_path = Path::new(std::ffi::OsStr::from_bytes(&path));
    let rank = operands
        .iter()
        .position(|op| as_path.starts_with(op))
        .unwrap_or(operands.len());
    input.key = Key { rank, path };
    Ok(true)
}

/// The file name of one output line (without its ending), unescaped.
fn name_of(line: &[u8], zero: bool) -> Option<Vec<u8>> {
    let (escaped, line) = match line.strip_prefix(b"\\") {
        Some(rest) if !zero => (true, rest),
        _ => (false, line),
    };
    let hex_len = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let name = if hex_len >= 8 && matches!(line.get(hex_len..hex_len + 2), Some(b"  " | b" *")) {
        &line[hex_len + 2..]
    } else {
        // --tag: ALGO (NAME) = HEX, the name being everything between the first " (" and
        // the last ") = ".
        let open = line.windows(2).position(|w| w == b" (")?;
        let algo = &line[..open];
        if algo.is_empty() || !algo.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
            return None;
        }
        let close = line.windows(4).rposition(|w| w == b") = ")?;
        let hex = &line[close + 4..];
        if close < open + 2 || hex.is_empty() || !hex.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        &line[open + 2..close]
    };
    if escaped {
        format::unescape(name)
    } else {
        Some(name.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_order_is_component_by_component() {
        let mut v: Vec<&[u8]> = vec![b"d/b-c", b"d/b/x", b"d/B", b"d/a.o", b"d/b/a/z"];
        v.sort_by(|a, b| walk_order(a, b));
        assert_eq!(v, [&b"d/B"[..], b"d/a.o", b"d/b/a/z", b"d/b/x", b"d/b-c"]);
    }

    #[test]
    fn names_come_out_of_every_line_form() {
        let n = |l: &[u8], z| name_of(l, z).map(|v| String::from_utf8(v).unwrap());
        let h = "d41d8cd98f00b204e9800998ecf8427e";
        assert_eq!(n(format!("{h}  a b").as_bytes(), false).unwrap(), "a b");
        assert_eq!(
            n(format!("\\{h}  a\\nb").as_bytes(), false).unwrap(),
            "a\nb"
        );
        assert_eq!(
            n(format!("MD5 (x (1)) = {h}").as_bytes(), false).unwrap(),
            "x (1)"
        );
        assert_eq!(
            n(format!("SHA256 (y) = {h}{h}").as_bytes(), false).unwrap(),
            "y"
        );
        assert_eq!(
            n(format!("{h}  a\\b\nc").as_bytes(), true).unwrap(),
            "a\\b\nc"
        );
        assert_eq!(n(b"garbage", false), None);
        assert_eq!(n(format!("{h} one-space").as_bytes(), false), None);
    }

    /// Writes `lines` split among `k` files by `pick`, merges them back.
    fn split_and_merge(
        lines: &[Vec<u8>],
        k: usize,
        pick: impl Fn(usize) -> usize,
        cfg: MergeConfig,
    ) -> Result<Vec<u8>, MergeError> {
        let tmp = tempfile::tempdir().unwrap();
        let mut parts = vec![Vec::new(); k];
        for (i, l) in lines.iter().enumerate() {
            parts[pick(i) % k].extend_from_slice(l);
        }
        let mut inputs = Vec::new();
        for (j, p) in parts.iter().enumerate() {
            let f = tmp.path().join(format!("part{j}"));
            std::fs::write(&f, p).unwrap();
            inputs.push(f);
        }
        let mut out = Vec::new();
        merge(&MergeConfig { inputs, ..cfg }, &mut out).map(|_| out)
    }

    #[test]
    fn any_split_of_one_run_merges_back_to_it_byte_for_byte() {
        let h = "0123456789abcdef0123456789abcdef";
        // One run's lines, in walk order, in every form the merge reads (names as
        // md5sum escapes them: `t/c\d` and `t/new\nline`).
        let names = [
            "t/B",
            "t/a b",
            "t/b/a/z",
            "t/b/x",
            "t/b-c",
            r"t/c\\d",
            r"t/new\nline",
        ];
        let mut lines: Vec<Vec<u8>> = names
            .iter()
            .map(|n| {
                let esc = if n.contains('\\') { "\\" } else { "" };
                format!("{esc}{h}  {n}\n").into_bytes()
            })
            .collect();
        lines.push(format!("SHA256 (t/z (1)) = {h}{h}\n").into_bytes());
        let whole = lines.concat();
        for k in 1..=4 {
            for seed in 0..8 {
                let pick = |i: usize| (i * 7 + seed * 3 + i / 3) % k;
                let got = split_and_merge(&lines, k, pick, MergeConfig::default()).unwrap();
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&whole)
                );
            }
        }
    }

    #[test]
    fn operands_given_again_rank_the_lines_as_the_run_did() {
        let h = "0123456789abcdef0123456789abcdef";
        let lines: Vec<Vec<u8>> = ["z/1", "z/2", "a/1", "a/2", "-"]
            .iter()
            .map(|n| format!("{h}  {n}\n").into_bytes())
            .collect();
        let whole = lines.concat();
        let operands = ["z", "a", "-"].map(OsString::from).to_vec();
        let cfg = MergeConfig {
            operands,
            ..MergeConfig::default()
        };
        let got = split_and_merge(&lines, 2, |i| i, cfg).unwrap();
        assert_eq!(got, whole);
        // Without them, component order: a/ before z/, and the merge would reorder.
        let got = split_and_merge(&lines, 2, |i| i, MergeConfig::default());
        assert!(got.is_err() || got.unwrap() != whole);
    }
}
