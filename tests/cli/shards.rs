//! `--shard K/N` and `phash --merge`: N shard processes of either tool, together, do
//! exactly what one run does: punzip's shards leave one DEST tree identical, file by file
//! with modes and times, to one full run's; phash's shard outputs merge into one full
//! run's output byte for byte. Duplicates and gaps would show: a member extracted twice
//! makes its second shard fail on the existing file, and a line twice fails the merge.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use zip::CompressionMethod;

use crate::util::*;

const COUNTS: [u32; 4] = [1, 2, 3, 7];

/// Bytes that differ from file to file, `n` long.
fn data(seed: usize, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i * 31 + seed * 7 + i / 251) as u8)
        .collect()
}

/// An archive with what shards must divide or share: nested directories with modes and
/// times of their own (one empty), files small and big (two over the 1 MiB threshold
/// placed by load), symlinks.
fn archive(path: &Path) {
    let mut b = ZipBuilder::new();
    let dir = |mode| opts(CompressionMethod::Stored, mode);
    b.dir_with("top/", dir(0o750));
    b.dir_with("top/sub/", dir(0o705));
    b.dir_with("top/empty/", dir(0o711));
    for i in 0..60 {
        let d = ["top", "top/sub", "top/sub/deep", "other"][i % 4];
        let size = if i % 23 == 0 {
            (1 << 20) + i * 1000
        } else {
            i * 97
        };
        b.file_with(
            &format!("{d}/f{i:02}.bin"),
            &data(i, size),
            opts(CompressionMethod::Deflated, 0o640 + (i as u32 % 2) * 0o100),
        );
    }
    b.symlink("top/link-a", "sub/f01.bin");
    b.symlink("other/link-b", "../top/f00.bin");
    b.symlink("link-c", "top");
    b.write_to(path);
}

/// Runs every command at once and waits for all (the shards of a job array run together).
fn all_at_once(cmds: Vec<Command>) -> Vec<Output> {
    let children: Vec<_> = cmds
        .into_iter()
        .map(|mut c| c.spawn().expect("cannot start"))
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

#[test]
fn punzip_shards_run_together_leave_the_tree_of_one_run_modes_and_times_included() {
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    archive(&zip);
    let one = tmp.path().join("one");
    let out = run(punzip()
        .env("TZ", "UTC")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(&one));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let want = snapshot(&one);
    assert!(want.len() > 60, "the full run extracted the archive");
    for n in COUNTS {
        let dest = tmp.path().join(format!("shards-{n}"));
        let cmds = (1..=n)
            .map(|k| {
                let mut c = punzip();
                c.env("TZ", "UTC")
                    .arg("-q")
                    .arg("--shard")
                    .arg(format!("{k}/{n}"));
                c.arg(&zip).arg("-d").arg(&dest);
                c.stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                c
            })
            .collect();
        for (k, out) in all_at_once(cmds).iter().enumerate() {
            // A member done by two shards would fail the second on the existing file.
            assert_eq!(code(out), 0, "shard {}/{n}: {}", k + 1, stderr(out));
        }
        assert_eq!(snapshot(&dest), want, "N = {n}");
        // Directories the archive names get its times; the others (other/, deep/) are
        // dated by whenever their last file landed, in one run as in shards.
        let members = |root: &Path| {
            let mut m = dir_mtimes(root);
            m.retain(|d, _| ["top", "top/sub", "top/empty"].contains(&d.as_str()));
            m
        };
        assert_eq!(members(&dest), members(&one), "N = {n}");
        assert_eq!(members(&one).len(), 3);
    }
}

#[test]
fn punzip_shards_divide_the_files_and_links_by_count_and_bytes() {
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    archive(&zip);
    // What each shard tests (-t does exactly the members extraction would write): its
    // own files and links. (-l lists the whole archive as it is read, and refuses --shard.)
    let listed = |k: u32, n: u32| -> BTreeSet<String> {
        let out = run(punzip()
            .args(["-t", "--json"])
            .arg(format!("--shard={k}/{n}"))
            .arg(&zip));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["type"] == "member")
            .map(|v| v["path"].as_str().unwrap().to_string())
            .filter(|name| !name.ends_with('/'))
            .collect()
    };
    let all = listed(1, 1);
    assert_eq!(all.len(), 63, "{all:?}");
    for n in [2, 3, 7] {
        let parts: Vec<_> = (1..=n).map(|k| listed(k, n)).collect();
        let total: usize = parts.iter().map(BTreeSet::len).sum();
        assert_eq!(total, all.len(), "N = {n}: every member once");
        let union: BTreeSet<String> = parts.iter().flatten().cloned().collect();
        assert_eq!(union, all, "N = {n}");
        assert!(parts.iter().all(|p| !p.is_empty()), "N = {n}: {parts:?}");
    }
}

/// A tree for phash: the walk's awkward orders (`b/x` before `b-c`), names md5sum escapes,
/// and files big enough to be placed by load.
fn tree(root: &Path) {
    let mut names: Vec<String> = ["b/x", "b/a/z", "b-c", "B", "a.o", "c/d/e.o", "c/d/f"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    names.extend((0..50).map(|i| format!("many/{}/n{i}", i % 5)));
    for (i, n) in names.iter().enumerate() {
        write(&root.join(n), &data(i, i * 301));
    }
    for i in 0..3 {
        write(&root.join(format!("big/{i}")), &data(i, (1 << 20) + i));
    }
    write(&root.join("odd\\name"), b"backslash");
    write(&root.join("new\nline"), b"newline");
}

fn phash_out(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = run(phash().args(args));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    out.stdout
}

#[test]
fn phash_shards_merge_into_the_output_of_one_run_in_every_style() {
    let tmp = tempdir();
    let root = tmp.path().join("t");
    tree(&root);
    for style in [&[][..], &["--tag"][..], &["-z"][..]] {
        let style: Vec<&std::ffi::OsStr> = style.iter().map(|s| s.as_ref()).collect();
        let mut args = style.clone();
        args.push(root.as_os_str());
        let full = phash_out(&args);
        let lines = full.iter().filter(|&&b| b == b'\n' || b == 0).count();
        assert!(lines >= 62, "{style:?}: {lines}");
        for n in COUNTS {
            let mut files = Vec::new();
            for k in 1..=n {
                let spec = format!("{k}/{n}");
                let mut a = vec!["--shard".as_ref(), spec.as_ref()];
                a.extend(&args);
                let f = tmp.path().join(format!("s{k}"));
                std::fs::write(&f, phash_out(&a)).unwrap();
                files.push(f);
            }
            // Given in any order: the merge recovers the walk's.
            files.reverse();
            let mut m = phash();
            m.args(&style).arg("--merge").args(&files);
            let out = run(&mut m);
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            assert!(
                out.stdout == full,
                "{style:?} N = {n}: merged output differs"
            );
        }
    }
}

#[test]
fn phash_merge_with_several_operands_takes_them_again_after_the_double_dash() {
    let tmp = tempdir();
    let (z, a) = (tmp.path().join("z"), tmp.path().join("a"));
    tree(&z);
    write(&a.join("only"), b"in a");
    // Out of the component order on purpose: z's files come first.
    let full = phash_out(&[z.as_os_str(), a.as_os_str()]);
    let n = 3;
    let files: Vec<_> = (1..=n)
        .map(|k| {
            let spec = format!("{k}/{n}");
            let f = tmp.path().join(format!("s{k}"));
            let out = phash_out(&[
                "--shard".as_ref(),
                spec.as_ref(),
                z.as_os_str(),
                a.as_os_str(),
            ]);
            std::fs::write(&f, out).unwrap();
            f
        })
        .collect();
    let out = run(phash()
        .arg("--merge")
        .args(&files)
        .arg("--")
        .arg(&z)
        .arg(&a));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(out.stdout == full, "merged with operands equals the run");

    // Without them, or with others, the merge is refused before a line is written (it
    // wrote a's lines first, with exit 0: not the run's order). A usage error.
    let merge = |operands: &[&PathBuf]| {
        let mut cmd = phash();
        cmd.arg("--merge").args(&files);
        if !operands.is_empty() {
            cmd.arg("--").args(operands);
        }
        run(&mut cmd)
    };
    // Shards of an older phash (marks without operands) are the same run: the operands
    // are taken from whichever input says them, whatever the order of the inputs.
    let old = tmp.path().join("old1");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let stripped: String = text
        .lines()
        .map(|l| match l.split_once(" operands ") {
            Some((mark, rest)) if l.starts_with("# phash") => {
                let end = if rest.ends_with(" end") { " end" } else { "" };
                format!("{mark}{end}\n")
            }
            _ => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&old, stripped).unwrap();
    let mixed = run(phash().arg("--merge").arg(&old).args(&files[1..]));
    assert_eq!(code(&mixed), 2, "{}", stderr(&mixed));
    assert!(mixed.stdout.is_empty());
    for (operands, says) in [
        (
            &[][..],
            "the run had 2 operands in an order the lines cannot tell",
        ),
        (
            &[&a, &z],
            "the operands after `--` are not the run's (2 given as in the run, but others",
        ),
        (
            &[&z],
            "the operands after `--` are not the run's (1 given, 2 in the run)",
        ),
    ] {
        let out = merge(operands);
        assert_eq!(code(&out), 2, "{operands:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(says),
            "{operands:?}: {}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{operands:?}");
    }
    // Operands in the order the lines sort in need not be given, and are checked if they are.
    let files: Vec<_> = (1..=n)
        .map(|k| {
            let f = tmp.path().join(format!("t{k}"));
            let spec = format!("{k}/{n}");
            let out = phash_out(&[
                "--shard".as_ref(),
                spec.as_ref(),
                a.as_os_str(),
                z.as_os_str(),
            ]);
            std::fs::write(&f, out).unwrap();
            f
        })
        .collect();
    let full = phash_out(&[a.as_os_str(), z.as_os_str()]);
    let out = run(phash().arg("--merge").args(&files));
    assert_eq!(
        (code(&out), out.stdout == full),
        (0, true),
        "{}",
        stderr(&out)
    );
    let out = run(phash().arg("--merge").args(&files).arg("--").arg(&a));
    assert_eq!(code(&out), 2, "{}", stderr(&out));
}

#[test]
fn a_merge_refuses_duplicates_disorder_and_cut_short_files_naming_file_and_line() {
    let tmp = tempdir();
    let root = tmp.path().join("t");
    tree(&root);
    let s1 = tmp.path().join("s1");
    std::fs::write(
        &s1,
        phash_out(&["--shard".as_ref(), "1/2".as_ref(), root.as_os_str()]),
    )
    .unwrap();
    let marked = std::fs::read(&s1).unwrap();
    let lines: Vec<&[u8]> = marked.split_inclusive(|&b| b == b'\n').collect();
    assert!(lines.len() > 5);

    let out = run(phash().arg("--merge").arg(&s1).arg(&s1));
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("s1 is given twice"),
        "{}",
        stderr(&out)
    );
    // Lists without shard marks (checked line by line only): a line seen twice, lines
    // out of order, a last line cut short.
    let mut lines: Vec<&[u8]> = lines.into_iter().filter(|l| l[0] != b'#').collect();
    let text = lines.concat();
    let unmarked = tmp.path().join("unmarked");
    std::fs::write(&unmarked, &text).unwrap();
    let out = run(phash().arg("--merge").arg(&unmarked).arg(&unmarked));
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("unmarked:1: the same file as"),
        "{}",
        stderr(&out)
    );

    lines.swap(1, 2);
    let swapped = tmp.path().join("swapped");
    std::fs::write(&swapped, lines.concat()).unwrap();
    let out = run(phash().arg("--merge").arg(&swapped));
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("swapped:3: out of order"),
        "{}",
        stderr(&out)
    );

    let cut = tmp.path().join("cut");
    std::fs::write(&cut, &text[..text.len() - 1]).unwrap();
    let out = run(phash().arg("--merge").arg(&cut));
    assert_eq!(code(&out), 1);
    let last = text.iter().filter(|&&b| b == b'\n').count();
    assert!(
        stderr(&out).contains(&format!("cut:{last}: no line ending")),
        "{}",
        stderr(&out)
    );

    // A -z shard merged without -z: said, with what to type.
    let zs = tmp.path().join("zs");
    let z = phash_out(&[
        "-z".as_ref(),
        "--shard".as_ref(),
        "1/2".as_ref(),
        root.as_os_str(),
    ]);
    std::fs::write(&zs, z).unwrap();
    let out = run(phash().arg("--merge").arg(&zs));
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("give -z before --merge"),
        "{}",
        stderr(&out)
    );
    // And the other way: -z given, the shards without it (it said "cut short").
    let lined = tmp.path().join("lined");
    let l = phash_out(&["--shard".as_ref(), "1/2".as_ref(), root.as_os_str()]);
    std::fs::write(&lined, l).unwrap();
    let out = run(phash().args(["-z", "--merge"]).arg(&lined));
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("not the output of a -z run"),
        "{}",
        stderr(&out)
    );

    let junk = tmp.path().join("junk");
    std::fs::write(&junk, "hello world\n").unwrap();
    let out = run(phash().arg("--merge").arg(&junk));
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("junk:1: not a phash output line"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn shard_auto_reads_slurm_and_kubernetes_and_says_what_is_missing() {
    let tmp = tempdir();
    let root = tmp.path().join("t");
    tree(&root);
    let with = |vars: &[(&str, &str)], spec: &str| {
        let mut c = phash();
        for v in [
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_MIN",
            "SLURM_ARRAY_TASK_COUNT",
        ] {
            c.env_remove(v);
        }
        c.env_remove("SLURM_ARRAY_TASK_STEP")
            .env_remove("JOB_COMPLETION_INDEX");
        c.envs(vars.iter().copied())
            .arg("--shard")
            .arg(spec)
            .arg(&root);
        run(&mut c)
    };
    let explicit = phash_out(&["--shard".as_ref(), "2/3".as_ref(), root.as_os_str()]);
    let slurm = [
        ("SLURM_ARRAY_TASK_ID", "6"),
        ("SLURM_ARRAY_TASK_MIN", "5"),
        ("SLURM_ARRAY_TASK_COUNT", "3"),
    ];
    assert_eq!(with(&slurm, "auto").stdout, explicit);
    assert_eq!(
        with(&[("JOB_COMPLETION_INDEX", "1")], "auto/3").stdout,
        explicit
    );
    let none = with(&[], "auto");
    assert_eq!(code(&none), 2);
    assert!(
        stderr(&none).contains("SLURM_ARRAY_TASK_ID"),
        "{}",
        stderr(&none)
    );
    assert!(
        stderr(&none).contains("JOB_COMPLETION_INDEX"),
        "{}",
        stderr(&none)
    );
    // Both tools keep a table of N shards' loads: N is bounded, and says so.
    for n in ["1/4294967295", "1/4294967296", "auto/2000000"] {
        let out = with(&[("JOB_COMPLETION_INDEX", "1")], n);
        assert_eq!(code(&out), 2, "{n}");
        assert!(
            stderr(&out).contains("shards are too many: N can be at most 1000000"),
            "{n}: {}",
            stderr(&out)
        );
        let zip = tmp.path().join("a.zip");
        archive(&zip);
        let out = run(punzip()
            .env_remove("SLURM_ARRAY_TASK_ID")
            .env("JOB_COMPLETION_INDEX", "1")
            .args(["--shard", n])
            .arg(&zip)
            .arg(tmp.path().join("out")));
        assert_eq!(code(&out), 10, "{n}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("N can be at most"),
            "{n}: {}",
            stderr(&out)
        );
    }
    let k8s_no_n = with(&[("JOB_COMPLETION_INDEX", "1")], "auto");
    assert_eq!(code(&k8s_no_n), 2);
    assert!(
        stderr(&k8s_no_n).contains("auto/N"),
        "{}",
        stderr(&k8s_no_n)
    );
}

#[test]
fn a_problem_in_the_tree_is_reported_by_one_shard_only() {
    let tmp = tempdir();
    let root = tmp.path().join("t");
    tree(&root);
    let fifo = root.join("a-fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid C string; mkfifo only creates a file.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o644) } != 0 {
        eprintln!("SKIP: cannot make a FIFO here");
        return;
    }
    let n = 3;
    let warned = (1..=n)
        .filter(|k| {
            let out = run(phash().arg(format!("--shard={k}/{n}")).arg(&root));
            stderr(&out).contains("a-fifo: is a FIFO, skipped")
        })
        .count();
    assert_eq!(warned, 1);
}

#[test]
fn a_refused_member_is_reported_by_one_shard_only_and_the_others_succeed() {
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    let mut b = ZipBuilder::new();
    b.file("../climbs-out.txt", b"no");
    for i in 0..20 {
        b.file(&format!("ok/{i}.txt"), &data(i, 100));
    }
    b.write_to(&zip);
    let dest = tmp.path().join("out");
    let n = 3;
    let outs: Vec<Output> = (1..=n)
        .map(|k| {
            run(punzip()
                .arg(format!("--shard={k}/{n}"))
                .arg(&zip)
                .arg("-d")
                .arg(&dest))
        })
        .collect();
    let reporting: Vec<_> = outs
        .iter()
        .filter(|o| stderr(o).contains("climbs-out.txt"))
        .collect();
    assert_eq!(reporting.len(), 1, "exactly one shard reports the refusal");
    assert_ne!(code(reporting[0]), 0);
    let quiet = outs.iter().filter(|o| code(o) == 0).count();
    assert_eq!(quiet, n - 1, "the others succeed");
    assert_eq!(std::fs::read_dir(dest.join("ok")).unwrap().count(), 20);
    assert!(!tmp.path().join("climbs-out.txt").exists());
}

/// Shards' outputs open and close with comment lines that name the shard and the run:
/// `md5sum -c` skips them, and `--merge` refuses anything but every shard of one run,
/// each once and finished. A merge of 2 of 3 shards gave a short list with exit 0.
#[test]
fn a_merge_needs_every_shard_of_one_run_each_once_and_finished() {
    let tmp = tempdir();
    let root = tmp.path().join("t");
    tree(&root);
    let shard = |spec: &str, extra: &[&str]| {
        let path = tmp
            .path()
            .join(format!("{}{}", spec.replace('/', "of"), extra.join("")));
        let mut args: Vec<&std::ffi::OsStr> = vec!["--shard".as_ref(), spec.as_ref()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        args.push(root.as_os_str());
        std::fs::write(&path, phash_out(&args)).unwrap();
        path
    };
    let (s1, s2, s3) = (shard("1/3", &[]), shard("2/3", &[]), shard("3/3", &[]));
    let merge = |inputs: &[&Path]| run(phash().arg("--merge").args(inputs));

    let whole = merge(&[&s3, &s1, &s2]);
    assert_eq!(code(&whole), 0, "{}", stderr(&whole));
    assert_eq!(whole.stdout, phash_out(&[root.as_os_str()]));
    assert_eq!(stderr(&whole), "");

    let out = merge(&[&s1, &s3]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("shard 2 of 3 is not given"),
        "{}",
        stderr(&out)
    );
    assert!(
        out.stdout.is_empty(),
        "nothing is merged before the set is known whole"
    );

    let other = shard("2/3", &["--tag"]);
    let out = merge(&[&s1, &other, &s3]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("shards of different runs"),
        "{}",
        stderr(&out)
    );

    let copy = tmp.path().join("copy");
    std::fs::copy(&s2, &copy).unwrap();
    let out = merge(&[&s1, &s2, &copy, &s3]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("are both shard 2/3"),
        "{}",
        stderr(&out)
    );

    // Killed between two lines: whole lines, but no end mark.
    let text = std::fs::read(&s2).unwrap();
    let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    assert!(
        lines.last().unwrap().ends_with(b" end\n"),
        "{}",
        String::from_utf8_lossy(&text)
    );
    let killed = tmp.path().join("killed");
    std::fs::write(&killed, lines[..lines.len() - 2].concat()).unwrap();
    let out = merge(&[&s1, &killed, &s3]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("killed: shard 2/3 has no end mark"),
        "{}",
        stderr(&out)
    );

    let unmarked = tmp.path().join("unmarked");
    let data: Vec<&[u8]> = lines.iter().copied().filter(|l| l[0] != b'#').collect();
    std::fs::write(&unmarked, data.concat()).unwrap();
    let out = merge(&[&s1, &unmarked, &s3]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("unmarked: no shard mark"),
        "{}",
        stderr(&out)
    );

    // A shard that could not hash some files said so and exited 1; its end mark says how
    // many, and the merge, complete but short of them, exits 1 as one run would.
    let failed = tmp.path().join("failed");
    let text = String::from_utf8(text.clone()).unwrap();
    std::fs::write(&failed, text.replace(" end\n", " end errors=2\n")).unwrap();
    let out = merge(&[&s1, &failed, &s3]);
    assert_eq!(code(&out), 1);
    assert_eq!(out.stdout, whole.stdout);
    assert!(
        stderr(&out).contains("failed: shard 2/3 failed to hash 2 files"),
        "{}",
        stderr(&out)
    );

    // A mark that cannot be read is damaged, not a comment: read as one, a shard whose
    // marks were cut or edited merged as a plain list, short, with exit 0. An N over the
    // most any run may have is such a mark.
    let opening = String::from_utf8(lines[0].to_vec()).unwrap();
    for (name, from, to) in [
        ("huge", "--shard 2/3 ", "--shard 2/4000000000 "),
        ("zero", "--shard 2/3 ", "--shard 2/0 "),
        ("runid", " run ", " run x"),
    ] {
        let damaged = tmp.path().join(name);
        std::fs::write(
            &damaged,
            text.replacen(&opening, &opening.replace(from, to), 1),
        )
        .unwrap();
        let out = merge(&[&damaged]);
        assert_eq!(code(&out), 1, "{name}");
        assert!(
            stderr(&out).contains(&format!("{name}:1: a shard mark that cannot be read")),
            "{}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{name}");
    }
    // A list with no marks at all is merged as it is, with a note that nothing says
    // whether it is whole, even alone.
    let out = merge(&[&unmarked]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("note: the inputs have no shard marks"),
        "{}",
        stderr(&out)
    );

    // The order of --exclude changes no line, and no run.
    let (x1, x2) = (
        shard("1/2", &["--exclude", "a.o", "--exclude", "B"]),
        shard("2/2", &["--exclude", "B", "--exclude", "a.o"]),
    );
    let out = merge(&[&x1, &x2]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // The marks are comments to a checker.
    for list in [&s1, &s2, &s3] {
        let out = run(phash().args(["-c", "--strict"]).arg(list));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        if crate::util::have("md5sum") {
            let out = run(std::process::Command::new("md5sum")
                .args(["-c", "--strict"])
                .arg(list));
            assert_eq!(code(&out), 0, "md5sum -c: {}", stderr(&out));
        }
    }
}

/// A shard that cannot read a file ends with `end errors=1`, and exits 1; a shard that
/// read everything ends with `end`.
#[test]
fn a_shards_end_mark_counts_the_files_it_failed_to_hash() {
    if unsafe { libc::geteuid() } != 0 || !have("setpriv") {
        eprintln!("SKIP: needs root and setpriv, to read as nobody a file nobody may read");
        return;
    }
    let tmp = tempdir();
    let root = tmp.path().join("t");
    for i in 0..6 {
        write(&root.join(format!("f{i}")), b"x");
    }
    let locked = root.join("f3");
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    for p in [tmp.path(), &root] {
        std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let mut ends = Vec::new();
    for k in 1..=2 {
        let out = run(Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_phash"))
            .arg(format!("--shard={k}/2"))
            .arg(&root));
        let last = out
            .stdout
            .split(|&b| b == b'\n')
            .rev()
            .nth(1)
            .unwrap_or_default();
        let last = String::from_utf8_lossy(last).into_owned();
        let failed = stderr(&out).contains("f3");
        assert_eq!(code(&out), if failed { 1 } else { 0 }, "{}", stderr(&out));
        assert!(
            last.ends_with(if failed { " end errors=1" } else { " end" }),
            "{last}"
        );
        ends.push(failed);
    }
    assert_eq!(ends.iter().filter(|f| **f).count(), 1, "one shard meets f3");
}

/// Operands that overlap as written (`x x/sub`, `x x`, `- -`) make one run list some
/// files twice under one name, which no merge can put back in place: refused at the
/// shard, before any line. The merge refused them after writing part of the list.
#[test]
fn overlapping_operands_are_refused_at_the_shard() {
    let tmp = tempdir();
    let root = tmp.path().join("t");
    tree(&root);
    for operands in [&["t", "t/b"][..], &["t/b", "t"], &["t", "t"], &["-", "-"]] {
        let out = run(phash()
            .current_dir(tmp.path())
            .args(["--shard", "1/2"])
            .args(operands));
        assert_eq!(code(&out), 2, "{operands:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("overlap"), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
    let out = run(phash()
        .current_dir(tmp.path())
        .args(["--shard", "1/2", "t/b", "t/c"]));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // Spelt apart, the names differ, and the shards merge into the run.
    let shards: Vec<Vec<u8>> = ["1/2", "2/2"]
        .iter()
        .map(|k| {
            let out = run(phash()
                .current_dir(tmp.path())
                .args(["--shard", k, "t", "./t/"]));
            assert_eq!(code(&out), 0, "{}", stderr(&out));
            out.stdout
        })
        .collect();
    for (k, bytes) in shards.iter().enumerate() {
        std::fs::write(tmp.path().join(format!("apart{k}")), bytes).unwrap();
    }
    let merged = run(phash()
        .current_dir(tmp.path())
        .args(["--merge", "apart0", "apart1", "--", "t", "./t/"]));
    let one = run(phash().current_dir(tmp.path()).args(["t", "./t/"]));
    assert_eq!(code(&merged), 0, "{}", stderr(&merged));
    assert_eq!(merged.stdout, one.stdout);
}

#[test]
fn phash_divides_a_tree_by_the_paths_below_the_operand_however_it_is_spelt() {
    let tmp = tempdir();
    let root = tmp.path().join("t");
    tree(&root);
    // The names of the files shard 1/3 does, below the operand.
    let below = |cwd: &Path, operand: &str| -> BTreeSet<Vec<u8>> {
        let out = run(phash()
            .current_dir(cwd)
            .args(["-z", "--shard", "1/3", operand]));
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        out.stdout
            .split(|&b| b == 0)
            .filter(|r| !r.is_empty() && r[0] != b'#')
            .map(|r| {
                let name = r[34..].strip_prefix(operand.as_bytes()).unwrap();
                name.strip_prefix(b"/").unwrap_or(name).to_vec()
            })
            .collect()
    };
    let plain = below(tmp.path(), "t");
    assert!(!plain.is_empty());
    assert_eq!(below(tmp.path(), "./t"), plain);
    assert_eq!(below(Path::new("/"), root.to_str().unwrap()), plain);
    assert_eq!(below(&root, "."), plain);
    assert_eq!(below(tmp.path(), "t/"), plain);
}

/// A shard sets the modes of the directories it made when it ends, while the others may
/// still write into them: a directory its owner cannot write into (0555) failed the other
/// shard's files there with "Permission denied", in 20 runs of 20 (as any user but root).
/// Such a directory keeps its owner's rwx under --shard, and a note says so.
#[test]
fn shards_run_together_by_a_user_fill_a_directory_the_archive_makes_read_only() {
    let runs_as_nobody = unsafe { libc::geteuid() } == 0 && have("setpriv");
    if !runs_as_nobody {
        eprintln!("SKIP: needs root and setpriv, to run the shards as another user");
        return;
    }
    let tmp = tempdir();
    let zip = tmp.path().join("a.zip");
    let mut b = ZipBuilder::new();
    b.dir_with("ro/", opts(CompressionMethod::Stored, 0o555));
    for i in 0..400 {
        b.file(&format!("ro/f{i:03}"), format!("{i}").as_bytes());
    }
    b.write_to(&zip);
    let work = tmp.path().join("w");
    std::fs::create_dir(&work).unwrap();
    let chown = |p: &Path| std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(
        tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    chown(&work);
    chown(&zip);
    let dest = work.join("out");
    let cmds = (1..=2)
        .map(|k| {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_punzip"))
                .args(["-j1", "--shard", &format!("{k}/2")])
                .arg(&zip)
                .arg(&dest)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c
        })
        .collect();
    for (k, out) in all_at_once(cmds).iter().enumerate() {
        assert_eq!(code(out), 0, "shard {}/2: {}", k + 1, stderr(out));
        assert!(
            stderr(out).contains(
                "note: with --shard, directory ro/ keeps its owner's rwx (0755 where the \
                 archive says 0555)"
            ),
            "{}",
            stderr(out)
        );
    }
    assert_eq!(std::fs::read_dir(dest.join("ro")).unwrap().count(), 400);
    let mode = |p: &Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions())
            & 0o7777
    };
    assert_eq!(mode(&dest.join("ro")), 0o755);
    // A test sets no mode: nothing to say.
    let out = run(Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_punzip"))
        .args(["-t", "--shard", "1/2"])
        .arg(&zip));
    assert_eq!((code(&out), stderr(&out)), (0, String::new()));
    // Root, whom no mode stops, keeps the archive's.
    let dest = tmp.path().join("root");
    let cmds = (1..=2)
        .map(|k| {
            let mut c = punzip();
            c.args(["-j1", "--shard", &format!("{k}/2")])
                .arg(&zip)
                .arg(&dest)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            c
        })
        .collect();
    for out in all_at_once(cmds) {
        assert_eq!((code(&out), stderr(&out)), (0, String::new()));
    }
    assert_eq!(mode(&dest.join("ro")), 0o555);
    assert_eq!(std::fs::read_dir(dest.join("ro")).unwrap().count(), 400);
}
