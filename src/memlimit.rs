//! The memory a control group lets this process use, so that buffers fit a container.
//!
//! punzip decodes a deflated member of up to 64 MiB in one buffer per worker, and `-p`
//! keeps up to 64 MiB of members decoded ahead. In a container limited to 80 MB, two
//! workers on two 48 MB members were killed by the kernel (SIGKILL, exit 137, no message)
//! where `-j1` and unzip succeeded. [`share`] scales such a buffer down to a quarter of
//! the limit over the workers; members above it take the streaming path, whose memory is
//! a few chunks whatever the member's size.
//!
//! The limit is the lowest `memory.max` (cgroup v2) or `memory.limit_in_bytes` (v1) of
//! this process's group and its ancestors, read once. Where none can be read (no cgroup
//! file system, or not Linux) there is no limit.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The process's memory limit in bytes, if a control group sets one.
pub fn limit() -> Option<u64> {
    static LIMIT: OnceLock<Option<u64>> = OnceLock::new();
    *LIMIT.get_or_init(|| {
        let groups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
        lowest(&groups, Path::new("/sys/fs/cgroup"), &|p| {
            std::fs::read_to_string(p).ok()
        })
    })
}

/// `default`, or less under a memory limit: at most a quarter of the limit shared by
/// `workers`, and never below 1 MiB.
pub fn share(default: u64, workers: usize) -> u64 {
    match limit() {
        Some(limit) => scaled(default, limit, workers),
        None => default,
    }
}

fn scaled(default: u64, limit: u64, workers: usize) -> u64 {
    let each = limit / 4 / (workers.max(1) as u64);
    default.min(each.max(1 << 20))
}

/// The lowest limit set on the groups `/proc/self/cgroup` (`groups`) names, or on any of
/// their ancestors, under the cgroup mount `root`; `read` reads a file.
fn lowest(groups: &str, root: &Path, read: &dyn Fn(&Path) -> Option<String>) -> Option<u64> {
    let mut found: Option<u64> = None;
    for line in groups.lines() {
        // hierarchy-ID:controller-list:path
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let (base, file) = if id == "0" && controllers.is_empty() {
            // v2: the unified hierarchy, mounted at the root or (hybrid) at `unified`.
            let base = if read(&root.join("cgroup.controllers")).is_some() {
                root.to_path_buf()
            } else {
                root.join("unified")
            };
            (base, "memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            (root.join("memory"), "memory.limit_in_bytes")
        } else {
            continue;
        };
        for dir in ancestors(&base, path) {
            let value = read(&dir.join(file)).and_then(|v| v.trim().parse::<u64>().ok());
            // v1 writes "no limit" as a huge number (a page-rounded i64::MAX).
            if let Some(v) = value.filter(|&v| v < 1 << 60) {
                found = Some(found.map_or(v, |f| f.min(v)));
            }
        }
    }
    found
}

/// `base` joined with `path`, then each of its parents up to `base` itself. In a container
/// with its own cgroup namespace, `path` is `/` and the mount is the group itself.
fn ancestors(base: &Path, path: &str) -> Vec<PathBuf> {
    let mut dir = base.to_path_buf();
    let mut all = vec![dir.clone()];
    for part in path.split('/').filter(|p| !p.is_empty() && *p != "..") {
        dir.push(part);
        all.push(dir.clone());
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn files(list: &[(&str, &str)]) -> impl Fn(&Path) -> Option<String> {
        let map: HashMap<PathBuf, String> = list
            .iter()
            .map(|(p, v)| (PathBuf::from(p), v.to_string()))
            .collect();
        move |p: &Path| map.get(p).cloned()
    }

    #[test]
    fn v1_takes_the_lowest_limit_of_the_group_and_its_ancestors() {
        let groups = "4:memory:/pods/a\n3:cpuset:/\n";
        let read = files(&[
            ("/c/memory/memory.limit_in_bytes", "9223372036854771712\n"),
            ("/c/memory/pods/memory.limit_in_bytes", "83886080\n"),
            (
                "/c/memory/pods/a/memory.limit_in_bytes",
                "9223372036854771712\n",
            ),
        ]);
        assert_eq!(lowest(groups, Path::new("/c"), &read), Some(80 << 20));
    }

    #[test]
    fn v2_reads_memory_max_and_max_is_no_limit() {
        let groups = "0::/user.slice/job\n";
        let read = files(&[
            ("/c/cgroup.controllers", "cpu memory\n"),
            ("/c/user.slice/memory.max", "max\n"),
            ("/c/user.slice/job/memory.max", "268435456\n"),
        ]);
        assert_eq!(lowest(groups, Path::new("/c"), &read), Some(256 << 20));
        let none = files(&[("/c/cgroup.controllers", ""), ("/c/memory.max", "max\n")]);
        assert_eq!(lowest("0::/\n", Path::new("/c"), &none), None);
    }

    #[test]
    fn a_hybrid_system_finds_v2_under_unified() {
        let read = files(&[("/c/unified/box/memory.max", "134217728")]);
        assert_eq!(lowest("0::/box\n", Path::new("/c"), &read), Some(128 << 20));
    }

    #[test]
    fn buffers_take_a_quarter_of_the_limit_over_the_workers() {
        assert_eq!(scaled(64 << 20, 80 << 20, 2), 10 << 20);
        assert_eq!(scaled(64 << 20, 16 << 30, 2), 64 << 20);
        assert_eq!(scaled(64 << 20, 4 << 20, 8), 1 << 20);
        assert_eq!(scaled(64 << 20, 80 << 20, 0), 20 << 20);
    }
}
