//! Members that collide once their names are sanitised: written through a symlink
//! member, landing on another member's path, or differing only in case. Linear in the
//! total name length (a trie of link paths, not a hash of every prefix) and small per
//! member (sorted hashes, not an index of joined paths).

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::num::NonZeroUsize;

use super::{interrupt_point, Plan};
use crate::error::{Error, Result};
use crate::unzip::meta::Kind;
use crate::unzip::split;

/// Fewer members than this are not worth another hashing thread (a key costs about a
/// tenth of a microsecond).
const HASH_PER_THREAD: usize = 8192;

/// The symlink members' paths as a trie of components, so that finding whether a path
/// goes through one costs one lookup per component, not one hash of every prefix.
#[derive(Default)]
struct LinkTrie {
    /// (node, component) -> child node; node 0 is the root.
    edges: HashMap<(u32, String), u32>,
    /// Nodes where a link ends.
    links: HashSet<u32>,
    nodes: u32,
}

impl LinkTrie {
    fn insert(&mut self, parts: &[String]) {
        let mut node = 0;
        for p in parts {
            let next = self.nodes + 1;
            node = *self.edges.entry((node, p.clone())).or_insert_with(|| {
                self.nodes = next;
                next
            });
        }
        self.links.insert(node);
    }

    /// The number of leading components of `parts` (fewer than all) that name a link.
    fn through(&self, parts: &[String]) -> Option<usize> {
        let mut node = 0;
        let mut key = (0, String::new());
        for (n, p) in parts[..parts.len().saturating_sub(1)].iter().enumerate() {
            key.0 = node;
            key.1.clear();
            key.1.push_str(p);
            node = *self.edges.get(&key)?;
            if self.links.contains(&node) {
                return Some(n + 1);
            }
        }
        None
    }
}

/// Groups of members whose `key` is equal, from the members `candidates` (positions in
/// `members`, ascending): each later member with the position of the first of its group.
/// Sorting (hash, position) pairs costs 8 bytes per member, a quarter of a hash map's.
pub(super) fn later_equals<K: std::hash::Hash + Eq>(
    candidates: impl Iterator<Item = u32>,
    key: impl Fn(u32) -> K,
) -> Vec<(u32, u32)> {
    let state = RandomState::new();
    let hashed = candidates
        .map(|i| (state.hash_one(key(i)) as u32, i))
        .collect();
    group(hashed, key)
}

/// [`later_equals`] from (hash of the key, position) pairs already made.
fn group<K: Eq>(mut hashed: Vec<(u32, u32)>, key: impl Fn(u32) -> K) -> Vec<(u32, u32)> {
    hashed.sort_unstable();
    let mut later = Vec::new();
    for run in hashed.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
        // Equal hashes; almost always equal keys too, but a clash must not merge two.
        let mut firsts: Vec<(K, u32)> = Vec::new();
        for &(_, i) in run {
            let k = key(i);
            match firsts.iter().find(|(f, _)| *f == k) {
                Some(&(_, first)) => later.push((i, first)),
                None => firsts.push((k, i)),
            }
        }
    }
    later.sort_unstable();
    later
}

/// A path compared and hashed as its lower case (each character's `to_lowercase`),
/// without building the lower-case string.
struct Folded<'a>(Cow<'a, str>);

impl Folded<'_> {
    fn chars(&self) -> impl Iterator<Item = char> + '_ {
        self.0.chars().flat_map(char::to_lowercase)
    }
}

impl PartialEq for Folded<'_> {
    fn eq(&self, other: &Self) -> bool {
        if self.0.is_ascii() && other.0.is_ascii() {
            return self.0.eq_ignore_ascii_case(&other.0);
        }
        self.chars().eq(other.chars())
    }
}

impl Eq for Folded<'_> {}

impl std::hash::Hash for Folded<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        // The lower case's UTF-8, fed in pieces: the hasher sees one byte stream, so
        // where the pieces break does not matter.
        let mut buf = [0u8; 64];
        if self.0.is_ascii() {
            for piece in self.0.as_bytes().chunks(buf.len()) {
                let lower = &mut buf[..piece.len()];
                lower.copy_from_slice(piece);
                lower.make_ascii_lowercase();
                h.write(lower);
            }
            h.write_u8(0xff);
            return;
        }
        let mut n = 0;
        for c in self.chars() {
            if n + 4 > buf.len() {
                h.write(&buf[..n]);
                n = 0;
            }
            n += c.encode_utf8(&mut buf[n..]).len();
        }
        h.write(&buf[..n]);
        h.write_u8(0xff);
    }
}

/// The members collisions are looked for among, by position: a plan's members, or (for
/// a listing, which keeps no [`super::Member`]s) entry indices read again when needed.
pub(in crate::unzip) trait Members {
    fn len(&self) -> usize;
    fn kind(&self, i: usize) -> Kind;
    /// The name as stored, for messages.
    fn name(&self, i: usize) -> String;
    /// The sanitised path's components.
    fn parts(&self, i: usize) -> Vec<String>;
    /// The sanitised path's components joined by `/`.
    fn key(&self, i: usize) -> Cow<'_, str>;
    /// The central directory index, for messages about names that read alike.
    fn entry_index(&self, i: usize) -> usize;
}

impl Members for [super::Member] {
    fn len(&self) -> usize {
        <[super::Member]>::len(self)
    }
    fn kind(&self, i: usize) -> Kind {
        self[i].kind
    }
    fn name(&self, i: usize) -> String {
        self[i].name.clone()
    }
    fn parts(&self, i: usize) -> Vec<String> {
        self[i].parts()
    }
    fn key(&self, i: usize) -> Cow<'_, str> {
        self[i].key()
    }
    fn entry_index(&self, i: usize) -> usize {
        self[i].index
    }
}

/// Planned members named by their central directory index: a few bytes each.
pub(in crate::unzip) struct Entries<'r, 'a> {
    pub reader: &'r super::Reader<'a>,
    pub indices: &'r [u32],
    pub junk_paths: bool,
}

impl Entries<'_, '_> {
    fn entry(&self, i: usize) -> crate::unzip::central::Entry<'_> {
        self.reader
            .entry(self.indices[i] as usize)
            .expect("planned entries parse")
    }
}

impl Members for Entries<'_, '_> {
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn kind(&self, i: usize) -> Kind {
        self.entry(i).kind()
    }
    fn name(&self, i: usize) -> String {
        self.entry(i).name()
    }
    fn parts(&self, i: usize) -> Vec<String> {
        let mut parts =
            crate::unzip::names::sanitize(&self.name(i)).expect("planned names are sanitised");
        if self.junk_paths {
            parts.drain(..parts.len() - 1);
        }
        parts
    }
    fn key(&self, i: usize) -> Cow<'_, str> {
        Cow::Owned(self.parts(i).join("/"))
    }
    fn entry_index(&self, i: usize) -> usize {
        self.indices[i] as usize
    }
}

/// What [`find`] found: refusals and warnings in member order, and which members stay.
pub(in crate::unzip) struct Found {
    pub refused: Vec<Error>,
    pub case_warnings: Vec<String>,
    /// The members (positions) that differ only in case from an earlier one, each warned
    /// of in `case_warnings`.
    pub case_twins: Vec<u32>,
    pub keep: Vec<bool>,
}

/// Members that would be written through a symlink member, or that land on the same path
/// as another member after sanitising, are refused; names equal but for case are warned of.
///
/// No index of paths is kept: a million members must not cost a million joined path
/// strings twice over. Sorted hashes find the equal paths instead.
///
/// The keys are hashed (as they are, and case-folded) on `jobs` threads.
pub(in crate::unzip) fn find<M: Members + Sync + ?Sized>(
    members: &M,
    jobs: NonZeroUsize,
) -> Result<Found> {
    let mut links = LinkTrie::default();
    for i in (0..members.len()).filter(|&i| members.kind(i) == Kind::Symlink) {
        links.insert(&members.parts(i));
    }
    let mut keep = vec![true; members.len()];
    // (position, refusal or warning), reported in member order at the end.
    let mut refused: Vec<(u32, Error)> = Vec::new();
    if !links.links.is_empty() {
        for (i, keep) in keep.iter_mut().enumerate() {
            interrupt_point(i)?;
            let parts = members.parts(i);
            if let Some(n) = links.through(&parts) {
                refused.push((
                    i as u32,
                    Error::Refused {
                        member: members.name(i),
                        reason: format!(
                            "would be written through the symlink member {}",
                            parts[..n].join("/")
                        ),
                    },
                ));
                *keep = false;
            }
        }
    }
    interrupt_point(0)?;
    let key = |i: u32| members.key(i as usize);
    let state = RandomState::new();
    // Each key hashed as it is and case-folded; and the kept members' parent directories,
    // each once (a parent equal to the last one is not even looked up).
    let runs = split::runs(jobs, members.len(), HASH_PER_THREAD, |run| {
        let mut hashes = Vec::with_capacity(run.len());
        let mut parents: HashSet<String> = HashSet::new();
        let mut last_parent = String::new();
        for i in run {
            let k = members.key(i);
            // (Keys are valid UTF-8 and '/' is one byte: a byte search, not a char one.)
            let slash = k.as_bytes().iter().rposition(|&b| b == b'/');
            if let Some(parent) = slash.filter(|_| keep[i]).map(|at| &k[..at]) {
                if parent != last_parent {
                    last_parent.clear();
                    last_parent.push_str(parent);
                    if !parents.contains(parent) {
                        parents.insert(parent.to_owned());
                    }
                }
            }
            hashes.push((state.hash_one(&k) as u32, state.hash_one(Folded(k)) as u32));
        }
        (hashes, parents)
    });
    let mut hashes: Vec<(u32, u32)> = Vec::with_capacity(members.len());
    let mut parents: HashSet<String> = HashSet::new();
    for (h, p) in runs {
        hashes.extend(h);
        parents.extend(p);
    }
    // Every directory, the parents and all their ancestors, as hashes; and a bitmap of
    // their low 20 bits (the low bits of the files' hashes kept above), so that nearly
    // every file is cleared by one bit test, and only the rest have their key hashed again
    // in full (32 bits alone matched somewhere in one archive in six of 200,000 members).
    let mut dirs: HashSet<u64> = HashSet::with_capacity(parents.len());
    let mut bits = vec![0u64; 1 << 14];
    let bit = |h: u64| ((h as usize >> 6) & 0x3fff, 1u64 << (h & 63));
    for parent in &parents {
        let mut path = parent.as_str();
        loop {
            let h = state.hash_one(path);
            dirs.insert(h);
            let (word, mask) = bit(h);
            bits[word] |= mask;
            match path.rsplit_once('/') {
                Some((up, _)) => path = up,
                None => break,
            }
        }
    }
    interrupt_point(0)?;
    // A file whose key hashes as a directory does: find out, by name, whether it is one.
    let file_as_dir = (0..members.len()).any(|i| {
        let (word, mask) = bit(u64::from(hashes[i].0));
        bits[word] & mask != 0
            && keep[i]
            && members.kind(i) != Kind::Dir
            && dirs.contains(&state.hash_one(members.key(i)))
    });
    if file_as_dir {
        refuse_files_in_the_way(members, &mut keep, &mut refused)?;
    }
    // The members still kept, each with one of its two hashes.
    let kept = |keep: &[bool], which: fn((u32, u32)) -> u32| {
        (0..members.len() as u32)
            .filter(|&i| keep[i as usize])
            .map(|i| (which(hashes[i as usize]), i))
            .collect::<Vec<_>>()
    };
    for (i, first) in group(kept(&keep, |h| h.0), key) {
        keep[i as usize] = false;
        // Two directory entries for the same path are harmless.
        if !(members.kind(i as usize) == Kind::Dir && members.kind(first as usize) == Kind::Dir) {
            refused.push((
                i,
                Error::Refused {
                    member: members.name(i as usize),
                    reason: {
                        let (name, other) =
                            (members.name(i as usize), members.name(first as usize));
                        // Names that read alike (a CP437 and a UTF-8 name for one path, a
                        // Unicode Path field): which entries, 1-based, as for duplicates.
                        let which = if name == other {
                            format!(
                                " (central directory entries {} and {})",
                                members.entry_index(first as usize) + 1,
                                members.entry_index(i as usize) + 1
                            )
                        } else {
                            String::new()
                        };
                        format!("lands on the same path as {other}{which}")
                    },
                },
            ));
        }
    }
    interrupt_point(0)?;
    let lower = |i: u32| Folded(key(i));
    let twins = group(kept(&keep, |h| h.1), lower);
    let case_warnings = twins
        .iter()
        .map(|&(i, first)| {
            format!(
                "{}: differs only in case from {}",
                members.name(i as usize),
                members.name(first as usize)
            )
        })
        .collect();
    refused.sort_by_key(|r| r.0);
    Ok(Found {
        refused: refused.into_iter().map(|r| r.1).collect(),
        case_warnings,
        case_twins: twins.into_iter().map(|(i, _)| i).collect(),
        keep,
    })
}

/// A file (or link) member whose path is also a directory of other members (`sub` and
/// `sub/b.txt`): they cannot both be extracted, and a file cannot hold the others. The
/// file is refused, naming why; the members inside are kept. (Extracted as they came,
/// one of them failed with "already exists", as if DEST had been in the way.)
///
/// Called only when [`find`]'s hashes say a file may be such a directory (rare): the
/// directories are then collected by name, each once (a member's parents are inserted from
/// the nearest up, stopping at the first one already known).
fn refuse_files_in_the_way<M: Members + ?Sized>(
    members: &M,
    keep: &mut [bool],
    refused: &mut Vec<(u32, Error)>,
) -> Result<()> {
    // Each directory with the first member found inside it.
    let mut dirs: HashMap<String, u32> = HashMap::new();
    for i in (0..members.len()).filter(|&i| keep[i]) {
        interrupt_point(i)?;
        let key = members.key(i);
        let mut path: &str = &key;
        while let Some((up, _)) = path.rsplit_once('/') {
            path = up;
            if dirs.contains_key(path) {
                break;
            }
            dirs.insert(path.to_owned(), i as u32);
        }
    }
    for (i, kept) in keep.iter_mut().enumerate() {
        if !*kept || members.kind(i) == Kind::Dir {
            continue;
        }
        if let Some(&inside) = dirs.get(members.key(i).as_ref()) {
            *kept = false;
            refused.push((
                i as u32,
                Error::Refused {
                    member: members.name(i),
                    reason: format!(
                        "the archive also has {} inside it: a file and a directory cannot \
                         share a path",
                        members.name(inside as usize)
                    ),
                },
            ));
        }
    }
    Ok(())
}

/// [`find`] over the plan's members, dropping the refused ones from it.
pub(super) fn refuse_collisions(plan: &mut Plan, jobs: NonZeroUsize) -> Result<()> {
    let found = find(&plan.members[..], jobs)?;
    plan.case_warnings.extend(found.case_warnings);
    plan.case_twins.extend(
        found
            .case_twins
            .iter()
            .map(|&i| plan.members[i as usize].index),
    );
    plan.refused.extend(found.refused);
    let mut keep = found.keep.into_iter();
    plan.members.retain(|_| keep.next() == Some(true));
    plan.members.shrink_to_fit();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unzip::plan::Member;

    /// The keys are hashed in runs on several threads: collisions between members in
    /// different runs are found, and exactly as on one thread.
    #[test]
    fn collisions_across_hashing_threads_are_found_as_on_one() {
        let n = 2 * HASH_PER_THREAD + 100;
        let mut members: Vec<Member> = (0..n)
            .map(|i| Member::named(&format!("d{}/f{i}", i % 7)))
            .collect();
        members[n - 10] = Member::named("./d3//f3");
        members[n - 20] = Member::named("D4/F4");
        members[n - 30] = Member::named("sp\u{c9}cial");
        members[5] = Member::named("sp\u{e9}cial");
        let seen = |jobs: usize| {
            let found = find(&members[..], NonZeroUsize::new(jobs).unwrap()).unwrap();
            let refused: Vec<String> = found.refused.iter().map(|e| e.to_string()).collect();
            (refused, found.case_warnings, found.keep)
        };
        let one = seen(1);
        assert_eq!(one.0.len(), 1, "{:?}", one.0);
        assert!(
            one.0[0].contains("lands on the same path as d3/f3"),
            "{:?}",
            one.0
        );
        let warned = [
            "sp\u{c9}cial: differs only in case from sp\u{e9}cial",
            "D4/F4: differs only in case from d4/f4",
        ];
        assert_eq!(one.1, warned, "in the later member's order");
        assert_eq!(one.2.iter().filter(|k| !**k).count(), 1);
        for jobs in [2, 3] {
            assert_eq!(seen(jobs), one, "{jobs} threads");
        }
    }

    /// A file and a directory of the same path (`sub`, `sub/b.txt`; `x/y`, `x/y/z/w`,
    /// where `x/y` is a grandparent): the file is refused, naming a member inside; the
    /// members inside, and a directory member of the same name, are kept.
    #[test]
    fn a_file_that_is_also_a_directory_of_other_members_is_refused_naming_one() {
        let dir = |name: &str| Member {
            kind: Kind::Dir,
            ..Member::named(name)
        };
        let members = [
            Member::named("sub"),
            Member::named("sub/b.txt"),
            Member::named("x/y"),
            Member::named("x/y/z/w"),
            dir("d/"),
            Member::named("d/f"),
            Member::named("subway"),
            Member::named("x/yz"),
        ];
        let found = find(&members[..], NonZeroUsize::MIN).unwrap();
        let refused: Vec<String> = found.refused.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            refused,
            [
                "sub: refused: the archive also has sub/b.txt inside it: a file and a \
                 directory cannot share a path",
                "x/y: refused: the archive also has x/y/z/w inside it: a file and a \
                 directory cannot share a path",
            ]
        );
        assert_eq!(
            found.keep,
            [false, true, false, true, true, true, true, true]
        );
    }
}
