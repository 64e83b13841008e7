//! Differential property test: random archives from the zip crate's writer, extracted by
//! punzip with a random job count and by the zip crate's own serial `ZipArchive::extract`,
//! must give identical trees (the same names, the same bytes). Parallel scheduling, the
//! temporary-file dance and the plan must not change what comes out.

use std::collections::BTreeSet;
use std::fs;
use std::io::Cursor;

use proptest::prelude::*;
use zip::CompressionMethod;

use crate::hostile::{temp_files, tree};
use crate::util::{code, opts, punzip, run, stderr, ZipBuilder};

/// One random member: its path components, and its content (None for a directory).
#[derive(Debug, Clone)]
struct Spec {
    parts: Vec<String>,
    data: Option<Vec<u8>>,
    deflate: bool,
}

fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..3000),
        (any::<u8>(), 0usize..200_000).prop_map(|(b, n)| vec![b; n]),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec("[a-zA-Z0-9_.-]{1,6}", 1..4),
        prop::option::weighted(0.85, content()),
        any::<bool>(),
    )
        .prop_map(|(parts, data, deflate)| Spec {
            parts,
            data,
            deflate,
        })
}

/// Drops members that cannot coexist on a file system: a file where another member
/// needs a directory, the same path twice (a directory entry too), and names that are
/// only dots.
fn coherent(specs: Vec<Spec>) -> Vec<Spec> {
    let mut files = BTreeSet::new();
    let mut dirs = BTreeSet::new();
    // Directories with an entry of their own: the zip writer refuses a second one.
    let mut dir_entries = BTreeSet::new();
    let mut out = Vec::new();
    for s in specs {
        if s.parts.iter().any(|p| p.chars().all(|c| c == '.')) {
            continue;
        }
        let path = s.parts.join("/");
        let parents: Vec<String> = (1..s.parts.len()).map(|n| s.parts[..n].join("/")).collect();
        let clash = files.contains(&path)
            || parents.iter().any(|p| files.contains(p))
            || (s.data.is_some() && dirs.contains(&path))
            || (s.data.is_none() && !dir_entries.insert(path.clone()));
        if clash {
            continue;
        }
        dirs.extend(parents);
        if s.data.is_some() {
            files.insert(path);
        } else {
            dirs.insert(path);
        }
        out.push(s);
    }
    out
}

fn build(specs: &[Spec]) -> Vec<u8> {
    let mut w = ZipBuilder::new();
    for s in specs {
        let method = if s.deflate {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        let name = s.parts.join("/");
        match &s.data {
            Some(data) => w.file_with(&name, data, opts(method, 0o644)),
            None => w.dir_with(&name, opts(method, 0o755)),
        };
    }
    w.finish()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn punzip_with_any_job_count_extracts_what_the_zip_crate_extracts(
        // Not empty after `coherent` (all names dots): an empty archive is a warning,
        // exit 1, as unzip's, which this test is not about.
        specs in prop::collection::vec(spec(), 1..24)
            .prop_map(coherent)
            .prop_filter("an archive with members", |s| !s.is_empty()),
        jobs in 1usize..=4,
    ) {
        let archive = build(&specs);
        let dir = tempfile::tempdir().unwrap();
        let zip_path = dir.path().join("random.zip");
        fs::write(&zip_path, &archive).unwrap();

        let oracle = dir.path().join("oracle");
        zip::ZipArchive::new(Cursor::new(&archive)).unwrap().extract(&oracle).unwrap();

        let dest = dir.path().join("dest");
        let out = run(punzip().args(["-j", &jobs.to_string()]).arg(&zip_path).arg(&dest));
        prop_assert_eq!(code(&out), 0, "{}", stderr(&out));

        let (got, want) = (tree(&dest), tree(&oracle));
        prop_assert_eq!(&got, &want);
        for rel in &want {
            let w = oracle.join(rel);
            if w.is_file() {
                prop_assert!(fs::read(dest.join(rel)).unwrap() == fs::read(&w).unwrap(), "{}", rel);
            }
        }
        prop_assert!(temp_files(&dest).is_empty());
    }
}
