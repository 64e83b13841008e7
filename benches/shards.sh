#!/usr/bin/env bash
# Runs punzip and phash split into N shards (--shard K/N) through the schedulers people
# already use, and checks that the shards together did exactly one run's work:
#
#   benches/shards.sh [--dir DIR] [--n "1 2 3 7"] [--files 600] [--no-parallel]
#                     [--no-slurm] [--simulate "1 2 3 4 7"] [--no-build]
#
# - Corpus: a tree of 600 files (--files) (small ones of many sizes, a few of several MiB, nested
#   directories with modes of their own) and a zip of it (zip -ry, else Python's zipfile),
#   under DIR (default: a fresh directory in /dev/shm, removed at the end).
# - Reference: one full run of each tool. The shards' union must equal it: punzip's DEST
#   tree compared entry by entry (type, mode, mtime, size, link target) and every file's
#   md5sum; phash's shard outputs merged with `phash --merge` and compared byte for byte.
# - GNU parallel: for each N, `parallel -j N` runs the N shards of each tool at once.
# - Slurm: starts munged, slurmctld and slurmd on loopback as a one-node cluster, with a
#   minimal slurm.conf written under DIR, submits one `sbatch --array=1-N --wait` job
#   whose tasks use `--shard auto`, checks the merged result, and stops every daemon it
#   started (by PID) on exit. Needs root (the daemons run as root here) and the Debian
#   packages slurm-wlm and munge; skipped with a message otherwise.
# - --simulate: times one run against N shard processes at once on this machine (each
#   shard with -j 1, so N processes use N cores), and prints the aggregate throughput and
#   the files and bytes each shard did.
# A missing tool (parallel, Slurm, zip and python3) skips its part with a message. Exits
# non-zero if any check fails.

set -euo pipefail

dir=""
counts="1 2 3 7"
use_parallel=1
use_slurm=1
simulate=""
build=1
nfiles=600

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=$2; shift 2 ;;
        --n) counts=$2; shift 2 ;;
        --files) nfiles=$2; shift 2 ;;
        --no-parallel) use_parallel=0; shift ;;
        --no-slurm) use_slurm=0; shift ;;
        --simulate) simulate=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) usage 0 ;;
        *) echo "shards.sh: unknown option $1" >&2; usage 2 >&2 ;;
    esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$repo/target}
log() { echo "shards.sh: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }
failures=0
fail() { log "FAIL: $*"; failures=$((failures + 1)); }

if [ "$build" = 1 ]; then
    log "building release binaries (cargo build --release)"
    (cd "$repo" && cargo build --release --quiet --bin punzip --bin phash)
fi
PUNZIP=${PUNZIP:-$target/release/punzip}
PHASH=${PHASH:-$target/release/phash}
for t in "$PUNZIP" "$PHASH"; do
    if [ ! -x "$t" ]; then
        log "SKIP: $t is not built (cargo build --release)"
        exit 0
    fi
done
if ! have md5sum; then
    log "SKIP: md5sum is needed to compare trees"
    exit 0
fi

own_dir=0
if [ -z "$dir" ]; then
    dir=$(mktemp -d "${TMPDIR_SHARDS:-/dev/shm}/punzip-shards.XXXXXX")
    own_dir=1
fi
mkdir -p "$dir"
pids=()
cleanup() {
    # Stop only what this script started, newest first.
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[$i]}" 2>/dev/null || true
    done
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        wait "${pids[$i]}" 2>/dev/null || true
    done
    if [ "$own_dir" = 1 ]; then rm -rf "$dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- The corpus ----------------------------------------------------------------------
tree=$dir/tree
zipf=$dir/tree.zip
make_corpus() {
    rm -rf "$tree" "$zipf"
    mkdir -p "$tree"
    local i d size
    for i in $(seq 0 $((nfiles - 1))); do
        d=$tree/d$((i % 7))/s$((i % 5))
        mkdir -p "$d"
        # Sizes from 0 to ~190 KiB, skewed small, and six files of 2 to 7 MiB.
        if [ $((i % 100)) = 0 ]; then size=$(((2 + i / 100 % 6) << 20)); else size=$(((i * i * 37) % 196608 / (1 + i % 9))); fi
        head -c "$size" /dev/urandom >"$d/f$i.bin"
        touch -d "@$((1600000000 + i * 3600))" "$d/f$i.bin"
    done
    mkdir -p "$tree/empty" "$tree/d1/private"
    echo secret >"$tree/d1/private/key"
    chmod 750 "$tree/d1"; chmod 700 "$tree/d1/private"; chmod 711 "$tree/empty"
    for d in $(cd "$tree" && find . -type d); do touch -d "@1650000000" "$tree/$d"; done
    if have zip; then
        (cd "$dir" && zip -qry tree.zip tree)
    elif have python3; then
        python3 - "$dir" <<'EOF'
import os, sys, zipfile
root = sys.argv[1]
with zipfile.ZipFile(os.path.join(root, "tree.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    for d, dirs, files in os.walk(os.path.join(root, "tree")):
        dirs.sort()
        z.write(d, os.path.relpath(d, root))
        for f in sorted(files):
            p = os.path.join(d, f)
            z.write(p, os.path.relpath(p, root))
EOF
    else
        log "SKIP: neither zip nor python3 to make the archive"
        exit 0
    fi
}

# Everything about a tree that extraction must get right, one line per entry.
fingerprint() {
    (cd "$1" && find . -mindepth 1 -printf '%P\t%y\t%m\t%T@\t%s\t%l\n' | LC_ALL=C sort &&
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r md5sum)
}

make_corpus
log "corpus: $(find "$tree" -type f | wc -l) files, $(du -sh "$tree" | cut -f1), archive $(du -h "$zipf" | cut -f1)"
"$PUNZIP" -q "$zipf" -d "$dir/one"
fingerprint "$dir/one" >"$dir/one.fp"
"$PHASH" "$tree" >"$dir/one.md5"

# check NAME N DEST OUTDIR: the shards' union against the full runs.
check() {
    local name=$1 n=$2 dest=$3 outs=$4 files=() k
    for k in $(seq 1 "$n"); do files+=("$outs/phash.$k"); done
    if ! "$PHASH" --merge "${files[@]}" >"$outs/merged.md5"; then
        fail "$name N=$n: phash --merge failed"
    elif ! cmp -s "$outs/merged.md5" "$dir/one.md5"; then
        fail "$name N=$n: merged phash output differs from one run"
    else
        log "ok: $name N=$n: phash --merge of $n shards = one run ($(wc -l <"$dir/one.md5") lines)"
    fi
    if ! cmp -s <(fingerprint "$dest") "$dir/one.fp"; then
        fail "$name N=$n: punzip shards' tree differs from one run"
        diff <(fingerprint "$dest") "$dir/one.fp" | head -5 >&2 || true
    else
        log "ok: $name N=$n: punzip $n shards = one run (modes, times, contents)"
    fi
}

# --- GNU parallel --------------------------------------------------------------------
if [ "$use_parallel" = 1 ]; then
    if ! have parallel; then
        log "SKIP: GNU parallel is not installed (apt-get install parallel)"
    else
        for n in $counts; do
            outs=$dir/parallel-$n
            mkdir -p "$outs"
            parallel --will-cite -j "$n" --halt now,fail=1 \
                "$PHASH -j 1 --shard {}/$n $tree > $outs/phash.{}" ::: $(seq 1 "$n") ||
                fail "parallel N=$n: a phash shard failed"
            parallel --will-cite -j "$n" --halt now,fail=1 \
                "$PUNZIP -q -j 1 --shard {}/$n $zipf -d $outs/dest" ::: $(seq 1 "$n") ||
                fail "parallel N=$n: a punzip shard failed"
            check parallel "$n" "$outs/dest" "$outs"
        done
    fi
fi

# --- Slurm ---------------------------------------------------------------------------
slurm_run() {
    local n=$1 s=$dir/slurm host port
    mkdir -p "$s/state" "$s/spool" "$s/munge"
    chmod 700 "$s/munge"
    if [ ! -f "$s/slurm.conf" ]; then
        head -c 1024 /dev/urandom >"$s/munge/munge.key"
        chmod 600 "$s/munge/munge.key"
        munged -F -f -S "$s/munge/sock" --key-file="$s/munge/munge.key" \
            --log-file="$s/munge/munged.log" --pid-file="$s/munge/munged.pid" \
            --seed-file="$s/munge/munged.seed" >"$s/munged.out" 2>&1 &
        pids+=($!)
        host=$(hostname -s)
        port=$((17000 + RANDOM % 2000))
        cat >"$s/slurm.conf" <<EOF
ClusterName=shards
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
AuthInfo=socket=$s/munge/sock
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
StateSaveLocation=$s/state
SlurmdSpoolDir=$s/spool
SlurmctldPidFile=$s/slurmctld.pid
SlurmdPidFile=$s/slurmd.pid
SlurmctldLogFile=$s/slurmctld.log
SlurmdLogFile=$s/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=shards Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
        export SLURM_CONF=$s/slurm.conf
        sleep 1
        slurmctld -D -f "$SLURM_CONF" >"$s/slurmctld.out" 2>&1 &
        pids+=($!)
        slurmd -D -f "$SLURM_CONF" >"$s/slurmd.out" 2>&1 &
        pids+=($!)
        local i
        for i in $(seq 1 30); do
            if sinfo -h -o %t 2>/dev/null | grep -q idle; then break; fi
            sleep 1
        done
        if ! sinfo -h -o %t 2>/dev/null | grep -q idle; then
            fail "slurm: the one-node cluster did not come up (logs in $s)"
            tail -5 "$s/slurmctld.out" "$s/slurmd.out" >&2 || true
            return 1
        fi
        log "slurm: one-node cluster up ($(sinfo -h -o '%P %D %t %N'))"
    fi
    local outs=$s/run-$n
    mkdir -p "$outs"
    # The job every task runs: --shard auto reads SLURM_ARRAY_TASK_ID and friends.
    cat >"$outs/job.sh" <<EOF
#!/bin/sh
set -e
"$PHASH" -j 1 --shard auto "$tree" > "$outs/phash.\$SLURM_ARRAY_TASK_ID"
exec "$PUNZIP" -q -j 1 --shard auto "$zipf" -d "$outs/dest"
EOF
    if ! timeout 300 sbatch --quiet --wait --array="1-$n" -c 1 -D "$outs" \
        -o "$outs/task-%a.log" "$outs/job.sh"; then
        fail "slurm N=$n: the array job failed"
        cat "$outs"/task-*.log >&2 || true
        return 1
    fi
    check slurm "$n" "$outs/dest" "$outs"
}

if [ "$use_slurm" = 1 ]; then
    if ! have slurmctld || ! have slurmd || ! have sbatch || ! have munged; then
        log "SKIP: Slurm is not installed (apt-get install -y slurm-wlm munge)"
    elif [ "$(id -u)" != 0 ]; then
        log "SKIP: the one-node Slurm cluster runs its daemons as root"
    else
        for n in $counts; do
            slurm_run "$n" || break
        done
    fi
fi

# --- The simulation of scale ---------------------------------------------------------
# seconds CMD...: wall-clock seconds of one command (its output discarded).
seconds() {
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}

# best CMD...: the smallest of three timings (the machine may be shared).
best() {
    local r a b c
    a=$("$@"); b=$("$@"); c=$("$@")
    printf '%s\n' "$a" "$b" "$c" | sort -g | head -1
}

# fresh CMD...: CMD after emptying punzip's DEST (not timed).
fresh() {
    rm -rf "$dir/sim"
    "$@"
}

# at_once N CMD: runs CMD with {} replaced by 1..N, all at once, and waits for all.
at_once() {
    local n=$1 cmd=$2 k ps=()
    for k in $(seq 1 "$n"); do
        sh -c "${cmd//\{\}/$k}" &
        ps+=($!)
    done
    for k in "${ps[@]}"; do wait "$k"; done
}

if [ -n "$simulate" ]; then
    total_bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
    total_files=$(find "$tree" -type f | wc -l)
    mb=$(echo "$total_bytes / 1000000" | bc -l)
    largest=$(find "$tree" -type f -printf '%s\n' | sort -n | tail -1)
    echo
    echo "$total_files files, $(printf %.1f "$mb") MB, largest file $(printf %.1f "$(echo "$largest / 1000000" | bc -l)") MB;"
    echo "max/mean bytes cannot be below max(1, largest file / (total / N))."
    echo "| tool | run | wall s | MB/s | files per shard | MB per shard | max/mean bytes |"
    echo "|---|---|---|---|---|---|---|"
    for tool in phash punzip; do
        for j in 1 "$(nproc)"; do
            rm -rf "$dir/sim"
            if [ $tool = phash ]; then
                s=$(best seconds "$PHASH" -j "$j" "$tree")
            else
                s=$(best fresh seconds "$PUNZIP" -q -j "$j" "$zipf" -d "$dir/sim")
            fi
            printf '| %s | one run -j %s | %.3f | %.0f | %s | %.1f | |\n' "$tool" "$j" "$s" \
                "$(echo "$mb / $s" | bc -l)" "$total_files" "$mb"
        done
        for n in $simulate; do
            rm -rf "$dir/sim" "$dir/sim-out"
            mkdir -p "$dir/sim-out"
            if [ $tool = phash ]; then
                cmd="$PHASH -j 1 --shard {}/$n $tree > $dir/sim-out/{}"
            else
                cmd="$PUNZIP -q -j 1 --shard {}/$n $zipf -d $dir/sim"
            fi
            s=$(best fresh seconds at_once "$n" "$cmd")
            # What each shard did: the members it tests (punzip -t --json) or its output
            # lines (phash).
            files=() bytes=()
            for k in $(seq 1 "$n"); do
                if [ $tool = phash ]; then
                    # (Less the shard's opening and closing marks, `# phash --shard ...`.)
                    f=$(grep -vc '^#' "$dir/sim-out/$k")
                    b=$(grep -v '^#' "$dir/sim-out/$k" | sed 's/^[0-9a-f]*  //' | tr '\n' '\0' | xargs -0 -r stat -c %s | awk '{s += $1} END {print s + 0}')
                else
                    read -r b f < <("$PUNZIP" -t --json --shard "$k/$n" "$zipf" | python3 -c '
import json, sys
m = [o for o in map(json.loads, sys.stdin) if o["type"] == "member" and not o["path"].endswith("/")]
print(sum(o["size"] for o in m), len(m))')
                fi
                files+=("$f")
                bytes+=("$b")
            done
            spread=$(printf '%s\n' "${bytes[@]}" | awk '{s += $1; if ($1 > m) m = $1} END {printf "%.3f", m / (s / NR)}')
            mbs=$(printf '%s\n' "${bytes[@]}" | awk '{printf "%s%.1f", sep, $1 / 1e6; sep = "/"}')
            printf '| %s | %s shards at once, -j 1 each | %.3f | %.0f | %s | %s | %s |\n' "$tool" "$n" "$s" \
                "$(echo "$mb / $s" | bc -l)" "$(IFS=/; echo "${files[*]}")" "$mbs" "$spread"
        done
    done
fi

if [ "$failures" != 0 ]; then
    log "$failures check(s) failed"
    exit 1
fi
log "all checks passed"
