#!/usr/bin/env bash
# Times punzip and phash against their peers, on the same files, in one run, and prints a
# Markdown table of medians and ratios.
#
#   benches/compare.sh [--dir DIR] [--runs N] [--jobs N] [--only extract|hash]
#                      [--small-files N] [--small-max BYTES] [--large-files N]
#                      [--large-size BYTES] [--real] [--no-build]
#
# - Builds release binaries and the corpus generator, then the corpora (many small files,
#   a few large ones, as trees and zip archives) under DIR/corpus, reusing them when the
#   sizes have not changed. DIR defaults to /dev/shm/punzip-compare (tmpfs, so the figures
#   measure the tools rather than a disk); pass a disk path to measure with a disk.
# - --real measures inputs nobody here made instead of the generator's: a JDK's src.zip
#   (the first readable /usr/lib/jvm/*/lib/src.zip; skipped with a message if there is
#   none), its extraction as a tree, and a copy of /usr/share without its symbolic links,
#   all under DIR/real. A synthetic corpus flatters whoever wrote the generator; the real
#   inputs are what the README quotes.
# - Extraction peers: Info-ZIP unzip, ripunzip, bsdtar, 7zz (or 7z), Python's zipfile.
#   Also the zip crate's own extraction, serial and one handle per worker
#   (examples/zip_crate_extract.rs). Hashing peers: md5sum (find | xargs), xargs -P N
#   md5sum, md5deep -r -j N, rhash -r --md5; and `phash -c` against `md5sum -c` on a list
#   md5sum wrote.
#   A peer that is not installed is skipped with a message.
# - Every command is first run once untimed and checked: exit status, and the result
#   (extractors: number and total size of the files written; hashers: the sorted list of
#   digests equals md5sum's). A command that fails the check is reported and left out.
# - As root, the dentries and inodes nothing uses are dropped before each table
#   (drop_dentries, below): how many the machine holds changed phash's time by half.
# - Timing uses hyperfine when installed (which also fails on a non-zero exit status),
#   else a median-of-N loop in bash.
# - "relative" is the median divided by the first row's median (punzip or phash with all
#   cores): above 1 means slower than ours.

set -euo pipefail

dir=/dev/shm/punzip-compare
runs=5
jobs=$(nproc)
only=""
small_files=20000
small_max=65536
large_files=8
large_size=$((64 << 20))
build=1
real=0

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        --small-files) small_files=$2; shift 2 ;;
        --small-max) small_max=$2; shift 2 ;;
        --large-files) large_files=$2; shift 2 ;;
        --large-size) large_size=$2; shift 2 ;;
        --real) real=1; shift ;;
        --no-build) build=0; shift ;;
        -h|--help) usage 0 ;;
        *) echo "compare.sh: unknown option $1" >&2; usage 10 >&2 ;;
    esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
bin=$target/release
log() { echo "compare.sh: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

if [ "$build" = 1 ]; then
    log "building release binaries (cargo build --release)"
    (cd "$repo" && cargo build --release --bins --example corpus --example zip_crate_extract) >&2
fi
for b in punzip phash examples/corpus examples/zip_crate_extract; do
    [ -x "$bin/$b" ] || { log "missing $bin/$b (build first or drop --no-build)"; exit 1; }
done

# --- corpora ---------------------------------------------------------------------------
mkdir -p "$dir"
corpus=$dir/corpus
spec="small=$small_files max=$small_max large=$large_files size=$large_size seed=1"
if [ "$real" = 1 ]; then
    # Real inputs: src.zip as the archive, its extraction as a tree to hash beside
    # /usr/share. A shape is a NAME (tree) and/or NAME.zip (archive) under $corpus.
    corpus=$dir/real
    mkdir -p "$corpus"
    jdk_zip=""
    for z in /usr/lib/jvm/*/lib/src.zip; do
        if [ -f "$z" ]; then jdk_zip=$z; break; fi # (a link may lead nowhere)
    done
    [ -n "$jdk_zip" ] || log "no JDK src.zip under /usr/lib/jvm: the archive is skipped"
    if [ -n "$jdk_zip" ] && [ ! -e "$corpus/src.zip" ]; then
        log "copying $jdk_zip to $corpus/src.zip"
        cp "$jdk_zip" "$corpus/src.zip"
    fi
    if [ ! -e "$corpus/usr-share/.done" ]; then
        log "copying /usr/share to $corpus/usr-share (once)"
        rm -rf "$corpus/usr-share"
        cp -a /usr/share "$corpus/usr-share" 2>/dev/null || true
        # Without its symbolic links: md5deep follows them and rhash fails on dangling
        # ones, and every tool must hash the same files.
        find "$corpus/usr-share" -type l -delete
        touch "$corpus/usr-share/.done"
    fi
elif [ "$(cat "$corpus/.spec" 2>/dev/null)" != "$spec" ]; then
    log "generating corpora in $corpus ($spec)"
    rm -rf "$corpus"
    mkdir -p "$corpus"
    "$bin/examples/corpus" --small-files "$small_files" --small-max "$small_max" \
        --large-files "$large_files" --large-size "$large_size" --seed 1 "$corpus" >&2
    echo "$spec" >"$corpus/.spec"
else
    log "reusing corpora in $corpus"
fi
out=$dir/out
tmp=$dir/tmp
mkdir -p "$tmp"

tree_files() { find "$1" -type f | wc -l; }
tree_bytes() { find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }
digests() { awk '{d = $1; sub(/^\\/, "", d); print tolower(d)}' "$1" | sort | md5sum | cut -c1-32; }

# --- timing ----------------------------------------------------------------------------
# time_cmd PREPARE CMD -> "median min" in seconds on stdout; non-zero if any run fails.
time_cmd() {
    local prepare=$1 cmd=$2
    if have hyperfine; then
        local csv=$tmp/hf.csv
        hyperfine --style none --runs "$runs" --warmup 1 --prepare "$prepare" \
            --export-csv "$csv" "$cmd" >/dev/null 2>"$tmp/hf.err" || {
            cat "$tmp/hf.err" >&2
            return 1
        }
        # command,mean,stddev,median,user,system,min,max: read from the end, since the
        # command itself may contain commas.
        tail -n 1 "$csv" | awk -F, '{printf "%.4f %.4f\n", $(NF-4), $(NF-1)}'
    else
        local times=() i t0 t1
        for ((i = 0; i <= runs; i++)); do
            bash -c "$prepare"
            t0=$(date +%s%N)
            bash -c "$cmd" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
            t1=$(date +%s%N)
            # Run 0 is the warm-up.
            [ "$i" -gt 0 ] && times+=("$(( (t1 - t0) / 1000 ))")
        done
        printf '%s\n' "${times[@]}" | sort -n | awk '
            { t[NR] = $1 }
            END {
                m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
                printf "%.4f %.4f\n", m / 1e6, t[1] / 1e6
            }'
    fi
}

# --- the table -------------------------------------------------------------------------
table=$tmp/table.md
: >"$table"
ref=""
# Before each table, as root, the kernel drops the dentries and inodes nothing uses
# (`echo 2 > drop_caches`: not tmpfs files, not page cache of files in use). Builds and
# test runs leave millions of them (most negative), and on a VM that boots with a small
# dentry hash table (this one: dhash_entries=131072) every path lookup walks longer
# chains: phash -j2 on the /usr/share copy took 0.33 s among 2.0 million dentries and
# 0.22 s after the drop. Every tool of the table looks paths up, so each table starts
# from the same state.
drop_dentries() {
    [ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/drop_caches ] || return 0
    sync && echo 2 >/proc/sys/vm/drop_caches 2>/dev/null || true
}
section() { # TITLE
    drop_dentries
    ref=""
    printf '\n**%s**\n\n| tool | command | median (s) | min (s) | MB/s | relative |\n|---|---|---:|---:|---:|---:|\n' "$1" >>"$table"
}
row() { # NAME CMD MEDIAN MIN BYTES
    local rel mbs cmd=${2//$bin\//}
    cmd=${cmd//|/\\|} # a pipe would end the Markdown cell, even in a code span
    [ -z "$ref" ] && ref=$3
    rel=$(awk -v a="$3" -v b="$ref" 'BEGIN {printf "%.2f", a / b}')
    mbs=$(awk -v s="$3" -v n="$5" 'BEGIN {printf "%.0f", n / 1e6 / s}')
    printf '| %s | `%s` | %.3f | %.3f | %s | %s |\n' "$1" "$cmd" "$3" "$4" "$mbs" "$rel" >>"$table"
}
skipped() { printf '| %s | %s | | | | |\n' "$1" "$2" >>"$table"; log "$1: $2"; }

# runs_ok NAME CMD OUT: runs CMD once, its output to OUT; true if it succeeded, else
# the row says why not
runs_ok() {
    log "$1: checking"
    local status=0
    bash -c "$2" >"$3" 2>"$tmp/err" || status=$?
    [ "$status" = 0 ] && return 0
    skipped "$1" "failed (exit status $status): $(head -c 200 "$tmp/err" | tr '\n' ' ')"
    return 1
}

# extract NAME PROGRAM CMD (CMD extracts $ZIP into $OUT; both are substituted)
extract() {
    local name=$1 prog=$2 cmd=$3
    if ! have "$prog"; then skipped "$name" "not installed, skipped"; return; fi
    cmd=${cmd//\$ZIP/$zip}
    cmd=${cmd//\$OUT/$out}
    local prepare="rm -rf '$out' && mkdir -p '$out'"
    bash -c "$prepare"
    runs_ok "$name" "$cmd" /dev/null || return 0
    local f b
    f=$(tree_files "$out"); b=$(tree_bytes "$out")
    if [ "$f" != "$want_files" ] || [ "$b" != "$want_bytes" ]; then
        skipped "$name" "wrong result: $f files, $b bytes (want $want_files, $want_bytes)"
        return
    fi
    timed "$name" "${3//\$ZIP/$(basename "$zip")}" "$cmd" "$prepare"
    rm -rf "$out"
}

# hash_peer NAME PROGRAM CMD (CMD hashes $SRC; its stdout is checked against md5sum's digests)
hash_peer() {
    local name=$1 prog=$2 cmd=$3
    if ! have "$prog"; then skipped "$name" "not installed, skipped"; return; fi
    cmd=${cmd//\$SRC/$src}
    runs_ok "$name" "$cmd" "$tmp/hash.out" || return 0
    local got n
    got=$(digests "$tmp/hash.out"); n=$(wc -l <"$tmp/hash.out")
    if [ "$n" = 0 ]; then
        skipped "$name" "printed nothing (not implemented in this build?), skipped"
        return
    elif [ "$got" != "$want_digests" ]; then
        skipped "$name" "wrong result ($n lines; digests differ from md5sum's), skipped"
        return
    fi
    timed "$name" "${3//\$SRC/$(basename "$src")}" "$cmd"
}

# timed NAME SHOWN CMD [PREPARE]: times CMD (its output dropped; PREPARE before each run)
# and adds its row, or says why not
timed() {
    log "$1: timing"
    local t
    if ! t=$(time_cmd "${4:-true}" "$3 >/dev/null"); then
        skipped "$1" "failed during timing"
        return
    fi
    row "$1" "$2" $t "$want_bytes"
}

sevenzip=7zz
have 7zz || sevenzip=7z
python=python3
have python3 || python=python

# check_peer NAME PROGRAM CMD (CMD checks the list $LIST, made by md5sum, inside $SRC's parent)
check_peer() {
    local name=$1 prog=$2 cmd=$3
    if ! have "$prog"; then skipped "$name" "not installed, skipped"; return; fi
    cmd="cd '$corpus' && ${cmd//\$LIST/$tmp/ref.out}"
    runs_ok "$name" "$cmd" /dev/null || return 0
    timed "$name" "$3" "$cmd"
}

shapes="many-small few-large"
[ "$real" = 1 ] && shapes="src usr-share"
for shape in $shapes; do
    src=$corpus/$shape
    zip=$corpus/$shape.zip
    if [ -d "$src" ]; then
        want_files=$(tree_files "$src")
        want_bytes=$(tree_bytes "$src")
    elif [ -f "$zip" ]; then
        # No tree beside the archive: what Python's zipfile (or unzip) extracts is the
        # reference (and, as a tree, what is hashed).
        log "extracting $zip for the reference tree"
        mkdir -p "$src"
        if have python3; then
            python3 -m zipfile -e "$zip" "$src"
        else
            unzip -qq "$zip" -d "$src"
        fi
        want_files=$(tree_files "$src")
        want_bytes=$(tree_bytes "$src")
    else
        log "$shape: no such input here, skipped"
        continue
    fi
    if [ "$only" != hash ] && [ -f "$zip" ]; then
        section "extract $shape.zip: $want_files files, $((want_bytes / 1000000)) MB out, $(($(stat -c %s "$zip") / 1000000)) MB archive"
        extract "punzip -j$jobs" "$bin/punzip" "$bin/punzip -q -j $jobs -d \$OUT \$ZIP"
        extract "punzip -j1" "$bin/punzip" "$bin/punzip -q -j 1 -d \$OUT \$ZIP"
        extract "Info-ZIP unzip" unzip "unzip -q \$ZIP -d \$OUT"
        extract "ripunzip" ripunzip "ripunzip unzip-file \$ZIP -d \$OUT"
        extract "bsdtar" bsdtar "bsdtar -xf \$ZIP -C \$OUT"
        extract "$sevenzip" "$sevenzip" "$sevenzip x -y -bd -o\$OUT \$ZIP"
        extract "Python zipfile" "$python" "$python -m zipfile -e \$ZIP \$OUT"
        extract "zip crate, serial" "$bin/examples/zip_crate_extract" "$bin/examples/zip_crate_extract \$ZIP \$OUT"
        extract "zip crate, $jobs workers" "$bin/examples/zip_crate_extract" "RAYON_NUM_THREADS=$jobs $bin/examples/zip_crate_extract \$ZIP \$OUT --parallel"
    fi
    if [ "$only" != extract ]; then
        log "hashing $src with md5sum for the reference digests"
        (cd "$corpus" && find "$shape" -type f -print0 | xargs -0 md5sum) >"$tmp/ref.out"
        want_digests=$(digests "$tmp/ref.out")
        section "hash $shape/: $want_files files, $((want_bytes / 1000000)) MB"
        hash_peer "phash -j$jobs" "$bin/phash" "$bin/phash -j $jobs \$SRC"
        hash_peer "phash -j1" "$bin/phash" "$bin/phash -j 1 \$SRC"
        hash_peer "md5sum" md5sum "find \$SRC -type f -print0 | xargs -0 md5sum"
        hash_peer "xargs -P$jobs md5sum" md5sum "find \$SRC -type f -print0 | xargs -0 -P $jobs -n 256 md5sum"
        hash_peer "md5deep -j$jobs" md5deep "md5deep -r -j $jobs \$SRC"
        hash_peer "rhash" rhash "rhash -r --md5 \$SRC"
        section "check $shape/ (a list md5sum wrote): $want_files files, $((want_bytes / 1000000)) MB"
        check_peer "phash -c -j$jobs" "$bin/phash" "$bin/phash -c --quiet -j $jobs \$LIST"
        check_peer "phash -c -j1" "$bin/phash" "$bin/phash -c --quiet -j 1 \$LIST"
        check_peer "md5sum -c" md5sum "md5sum -c --quiet \$LIST"
    fi
done

echo
echo "Machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, $(uname -sr); files in $dir ($(df -PT "$dir" | awk 'NR == 2 {print $2}'))."
echo "Median of $runs runs after a warm-up ($(have hyperfine && hyperfine --version || echo 'bash loop')); relative = median / first row's median."
cat "$table"
