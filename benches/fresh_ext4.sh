#!/usr/bin/env bash
# Times extraction onto a fresh ext4 file system: for every run of every tool a new image
# file is made on the disk DIR is on, formatted, loop-mounted, extracted into, then
# unmounted and deleted, so that no tool inherits another's inode allocator state (ext4
# re-extracting into a tree just deleted is ten times slower for every tool). Tools run
# in turn within each round, so drift on a noisy machine hits them alike. Prints the
# median per tool and its ratio to punzip -j2's.
#
#   benches/fresh_ext4.sh ARCHIVE.zip [--runs N] [--dir DIR] [--no-build]
#
# Needs root (mount), mkfs.ext4 and a loop device; says so and exits 0 without them.
# Peers: ripunzip, Info-ZIP unzip (each skipped with a message when absent).
set -euo pipefail
cd "$(dirname "$0")/.."

archive=""
runs=7
dir=/var/tmp/punzip-ext4
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) archive="$1"; shift ;;
  esac
done
if [ -z "$archive" ] || [ ! -r "$archive" ]; then
  echo "usage: benches/fresh_ext4.sh ARCHIVE.zip [--runs N] [--dir DIR] [--no-build]" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ] || ! command -v mkfs.ext4 >/dev/null || ! command -v losetup >/dev/null; then
  echo "fresh_ext4.sh: needs root, mkfs.ext4 and losetup; skipped" >&2
  exit 0
fi
[ "$build" = 1 ] && cargo build --release --quiet --bin punzip
punzip="$PWD/target/release/punzip"
archive="$(realpath "$archive")"

mkdir -p "$dir"
img="$dir/fs.img"
mnt="$dir/mnt"
mkdir -p "$mnt"
cleanup() {
  mountpoint -q "$mnt" && umount "$mnt"
  rm -f "$img"
}
trap cleanup EXIT

# The declared size of the archive's files, and room for metadata.
out_mb=$(python3 -c "import zipfile,sys; print(sum(i.file_size for i in zipfile.ZipFile(sys.argv[1]).infolist())//2**20)" "$archive")
img_mb=$(( out_mb * 2 + 256 ))

names=("punzip -j2" "punzip -j1")
cmds=("$punzip -q -j 2 -d \$OUT $archive" "$punzip -q -j 1 -d \$OUT $archive")
if command -v ripunzip >/dev/null; then
  names+=("ripunzip"); cmds+=("ripunzip unzip-file $archive -d \$OUT")
else
  echo "fresh_ext4.sh: ripunzip not installed (cargo install ripunzip); skipped" >&2
fi
if command -v unzip >/dev/null; then
  names+=("Info-ZIP unzip"); cmds+=("unzip -q $archive -d \$OUT")
else
  echo "fresh_ext4.sh: unzip not installed; skipped" >&2
fi

declare -A times
for ((r = 1; r <= runs; r++)); do
  for i in "${!names[@]}"; do
    rm -f "$img"
    truncate -s "${img_mb}M" "$img"
    mkfs.ext4 -q -F "$img"
    mount -o loop "$img" "$mnt"
    OUT="$mnt/out"
    cat "$archive" >/dev/null # the archive warm, as in the tmpfs tables
    sync
    start=$(date +%s.%N)
    OUT="$OUT" bash -c "${cmds[$i]//\$OUT/$OUT}" >/dev/null
    end=$(date +%s.%N)
    sync -f "$mnt" # untimed, as writeback is the kernel's and the same for every tool
    times[$i]+="$(echo "$end - $start" | bc) "
    umount "$mnt"
  done
  echo "fresh_ext4.sh: round $r of $runs done" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
base=$(echo "${times[0]}" | median)
echo "Fresh ext4 per run (image on $(df --output=source "$dir" | tail -1), $(nproc) cores), $runs runs, medians of the tools' wall time (the writeback after it is not timed)."
echo
echo "| tool | median (s) | relative |"
echo "|---|---:|---:|"
for i in "${!names[@]}"; do
  m=$(echo "${times[$i]}" | median)
  printf "| %s | %.3f | %.2f |\n" "${names[$i]}" "$m" "$(echo "$m / $base" | bc -l)"
done
