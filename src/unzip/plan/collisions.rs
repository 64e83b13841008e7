//! Members that collide once their names are sanitised: written through a symlink
//! member, landing on another member's path, or differing only in case. Linear in the
//! total name length (a trie of link paths, not a hash of every prefix) and small per
//! member (sorted hashes, not an index of joined paths).

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use super::{interrupt_point, Plan};
use crate::error::{Error, Result};
use crate::unzip::meta::Kind;

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
fn later_equals(
    candidates: impl Iterator<Item = u32>,
    key: impl Fn(u32) -> String,
) -> Vec<(u32, u32)> {
    let state = RandomState::new();
    let mut hashed: Vec<(u32, u32)> = candidates
        .map(|i| (state.hash_one(key(i)) as u32, i))
        .collect();
    hashed.sort_unstable();
    let mut later = Vec::new();
    for run in hashed.chunk_by(|a, b| a.0 == b.0).filter(|r| r.len() > 1) {
        // Equal hashes; almost always equal keys too, but a clash must not merge two.
        let mut firsts: Vec<(String, u32)> = Vec::new();
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

/// Members that would be written through a symlink member, or that land on the same path
/// as another member after sanitising, are refused; names equal but for case are warned of.
///
/// No index of paths is kept: a million members must not cost a million joined path
/// strings twice over. Sorted hashes find the equal paths instead.
pub(super) fn refuse_collisions(plan: &mut Plan) -> Result<()> {
    let mut links = LinkTrie::default();
    for m in plan.members.iter().filter(|m| m.kind == Kind::Symlink) {
        links.insert(&m.parts());
    }
    let members = &plan.members;
    let mut keep = vec![true; members.len()];
    // (position, refusal or warning), reported in member order at the end.
    let mut refused: Vec<(u32, Error)> = Vec::new();
    if !links.links.is_empty() {
        for (i, m) in members.iter().enumerate() {
            interrupt_point(i)?;
            let parts = m.parts();
            if let Some(n) = links.through(&parts) {
                refused.push((
                    i as u32,
                    Error::Refused {
                        member: m.name.clone(),
                        reason: format!(
                            "would be written through the symlink member {}",
                            parts[..n].join("/")
                        ),
                    },
                ));
                keep[i] = false;
            }
        }
    }
    interrupt_point(0)?;
    let key = |i: u32| members[i as usize].parts().join("/");
    let kept = |keep: &[bool]| {
        let keep = keep.to_vec();
        (0..members.len() as u32).filter(move |&i| keep[i as usize])
    };
    for (i, first) in later_equals(kept(&keep), key) {
        let (m, other) = (&members[i as usize], &members[first as usize]);
        keep[i as usize] = false;
        // Two directory entries for the same path are harmless.
        if !(m.kind == Kind::Dir && other.kind == Kind::Dir) {
            refused.push((
                i,
                Error::Refused {
                    member: m.name.clone(),
                    reason: format!("lands on the same path as {}", other.name),
                },
            ));
        }
    }
    interrupt_point(0)?;
    let lower = |i: u32| key(i).to_lowercase();
    for (i, first) in later_equals(kept(&keep), lower) {
        plan.case_warnings.push(format!(
            "{}: differs only in case from {}",
            members[i as usize].name, members[first as usize].name
        ));
    }
    refused.sort_by_key(|r| r.0);
    plan.refused.extend(refused.into_iter().map(|r| r.1));
    let mut keep = keep.into_iter();
    plan.members.retain(|_| keep.next() == Some(true));
    plan.members.shrink_to_fit();
    Ok(())
}
