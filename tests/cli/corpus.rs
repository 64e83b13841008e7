//! Every archive of the shared conformance corpus (`../shared/corpus`, made by other tools
//! for other projects' test suites): no panic, nothing written outside DEST, no temporary
//! file left, and exactly the exit status documented in `docs/corpus.md`. The table is
//! parsed here, so the document and the behaviour cannot drift apart. Where Info-ZIP
//! `unzip` extracts an archive cleanly, punzip's files must have the same bytes.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::hostile::Scene;
use crate::util::{code, have, run, stderr};

fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIP: {} is absent", dir.display());
        None
    }
}

/// Every archive in the corpus, as `folder/name`: all files but the licences and notes.
fn archives(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for folder in fs::read_dir(dir).unwrap() {
        let folder = folder.unwrap().path();
        if !folder.is_dir() {
            continue;
        }
        for f in fs::read_dir(&folder).unwrap() {
            let name = f.unwrap().file_name().to_string_lossy().into_owned();
            let note = name.ends_with(".md")
                || name.ends_with(".txt")
                || name == "COPYING"
                || name.starts_with("LICENSE");
            if !note {
                let folder = folder.file_name().unwrap().to_string_lossy();
                out.push(format!("{folder}/{name}"));
            }
        }
    }
    out.sort();
    out
}

/// The documented exit status of each archive: rows `` | `folder/name` | status | why | ``.
fn documented() -> BTreeMap<String, i32> {
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/corpus.md");
    let text = fs::read_to_string(&doc).expect("docs/corpus.md");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[1].starts_with('`') {
            continue;
        }
        let name = cells[1].trim_matches('`').to_string();
        let status: i32 = cells[2]
            .parse()
            .unwrap_or_else(|_| panic!("bad status in docs/corpus.md: {line}"));
        assert!(out.insert(name, status).is_none(), "listed twice: {line}");
    }
    out
}

#[test]
fn every_corpus_archive_has_its_documented_outcome_and_nothing_escapes() {
    let Some(dir) = corpus_dir() else { return };
    let table = documented();
    let found = archives(&dir);
    let undocumented: Vec<_> = found.iter().filter(|a| !table.contains_key(*a)).collect();
    assert!(
        undocumented.is_empty(),
        "not in docs/corpus.md: {undocumented:?}"
    );
    let gone: Vec<_> = table.keys().filter(|a| !found.contains(a)).collect();
    assert!(
        gone.is_empty(),
        "in docs/corpus.md but not in the corpus: {gone:?}"
    );

    let mut wrong = Vec::new();
    for name in &found {
        let s = Scene::new(&fs::read(dir.join(name)).unwrap());
        // No space check: the outcome must not depend on the machine's free space (one
        // archive declares 4 GiB).
        let out = s.punzip(&["--no-space-check", "-j", "2"]);
        s.assert_untouched();
        if code(&out) != table[name] {
            wrong.push(format!(
                "{name}: exit {} (documented {}): {}",
                code(&out),
                table[name],
                stderr(&out)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn corpus_archives_unzip_extracts_cleanly_come_out_with_the_same_bytes() {
    let Some(dir) = corpus_dir() else { return };
    if !have("unzip") {
        return;
    }
    let mut diffs = Vec::new();
    let mut compared = 0;
    let mut missing = Vec::new();
    for name in archives(&dir) {
        let oracle = tempfile::tempdir().unwrap();
        let u = run(std::process::Command::new("unzip")
            .args(["-qq", "-P", "", "-d"])
            .arg(oracle.path())
            .arg(dir.join(&name)));
        if u.status.code() != Some(0) {
            continue;
        }
        let s = Scene::new(&fs::read(dir.join(&name)).unwrap());
        s.punzip(&["--no-space-check"]);
        // Names as raw bytes: Info-ZIP writes undecoded legacy names as they are.
        for entry in walkdir::WalkDir::new(oracle.path()).min_depth(1) {
            let entry = entry.unwrap();
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = entry.path().strip_prefix(oracle.path()).unwrap();
            match fs::read(s.dest.join(rel)) {
                Ok(bytes) if bytes == fs::read(entry.path()).unwrap() => compared += 1,
                Ok(_) => diffs.push(format!("{name}: {}: different bytes", rel.display())),
                // A name Info-ZIP decodes differently (a legacy code page) or one punzip
                // refuses: not a byte difference, and covered by the status table.
                Err(_) => missing.push(format!("{name}: {}", rel.display())),
            }
        }
    }
    eprintln!("{compared} files compared with Info-ZIP; not under the same name: {missing:#?}");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    assert!(compared > 50, "only {compared} files compared");
}
