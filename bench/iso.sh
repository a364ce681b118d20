#!/usr/bin/env bash
# ISO 9660 benchmark: the dcmdisc writer (crates/iso9660, example isobench) against
# `genisoimage -iso-level 1` and `xorriso -as mkisofs -iso-level 1 --norock` on the same
# generated tree (~680 MB in ~1000 files of 400-960 kB, ISO-ready names in a
# DICOM/Pnnnn/Snnnn/SEnnnn/Innnnnnn layout), plus `cp -r` and `dd` from /dev/zero of the
# same size as references.
#
# Usage: bench/iso.sh [--rounds N] [--mb MB] [--files N] [--sync] [--keep] [--no-build]
#   --rounds N   rounds; each runs every tool once, in turn (default 5)
#   --mb MB      total size of the tree (default 680)
#   --files N    number of files (default 1000)
#   --sync       include fsync of the written files in each time (disk, not page cache)
#   --keep       keep the temporary directory
#   --no-build   do not run `cargo build --release --example isobench`
# Environment: TMPDIR picks the temporary directory (needs ~5x the tree size free);
# CARGO_TARGET_DIR is honoured.
#
# Timing: wall clock and CPU time (user + sys) of each command writing its image into the
# page cache (no fsync, as none of the tools syncs; --sync adds it); the source tree is read once beforehand
# so every tool reads it from the cache, and `sync` runs between commands, untimed. Prints
# each run, the median per tool and the ratios tool/dcmdisc (> 1: dcmdisc is faster). On a
# shared 2-core machine wall times swing with other load; CPU time is the steadier figure.
set -euo pipefail

ROUNDS=5
MB=680
FILES=1000
KEEP=0
BUILD=1
SYNC=0
while [ $# -gt 0 ]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --mb) MB=$2; shift 2 ;;
        --files) FILES=$2; shift 2 ;;
        --sync) SYNC=1; shift ;;
        --keep) KEEP=1; shift ;;
        --no-build) BUILD=0; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
if [ "$BUILD" = 1 ]; then
    (cd "$ROOT" && cargo build --quiet --release -p dcmdisc-iso9660 --example isobench)
fi
ISOBENCH=$TARGET/release/examples/isobench
for tool in genisoimage xorriso isoinfo python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install genisoimage xorriso)" >&2; exit 1; }
done
[ -x "$ISOBENCH" ] || { echo "missing $ISOBENCH" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/isobench.XXXXXX")
cleanup() { [ "$KEEP" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"; }
trap cleanup EXIT
SRC=$WORK/src
OUT=$WORK/out
mkdir -p "$SRC" "$OUT"

echo "generating $FILES files, ~$MB MB, in $SRC"
python3 - "$SRC" "$MB" "$FILES" <<'EOF'
import os, random, sys
src, mb, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(680)
avg = mb * 1_000_000 // n
block = os.urandom(4 << 20)
for i in range(n):
    size = rng.randint(avg * 6 // 10, avg * 14 // 10)
    d = os.path.join(src, "DICOM", "P%04d" % (i // 500 + 1), "S%04d" % (i // 250 % 2 + 1),
                     "SE%04d" % (i // 50 % 5 + 1))
    os.makedirs(d, exist_ok=True)
    off = rng.randrange(0, len(block) - size) if size < len(block) else 0
    data = block[off:off + size]
    with open(os.path.join(d, "I%07d" % i), "wb") as f:
        f.write(data)
# A DICOMDIR-sized file at the root, as on a real volume.
with open(os.path.join(src, "DICOMDIR"), "wb") as f:
    f.write(os.urandom(300_000))
EOF
du -sb "$SRC" | awk '{printf "tree: %.1f MB\n", $1/1e6}'
cat $(find "$SRC" -type f) >/dev/null   # into the page cache

declare -A REAL CPU
run() { # name command...
    local name=$1; shift
    rm -rf "${OUT:?}"/*
    sync
    local t
    # shellcheck disable=SC2015
    t=$( { TIMEFORMAT='%R %U %S'; time { "$@" >"$WORK/$name.log" 2>&1 &&
        { [ "$SYNC" = 0 ] || find "$OUT" -type f -exec sync {} +; }; }; } 2>&1 ) \
        || { echo "$name failed:"; cat "$WORK/$name.log"; exit 1; }
    local real cpu size
    real=$(echo "$t" | awk '{print $1}')
    cpu=$(echo "$t" | awk '{printf "%.3f", $2 + $3}')
    REAL[$name]="${REAL[$name]:-} $real"
    CPU[$name]="${CPU[$name]:-} $cpu"
    size=$(du -sb "$OUT" | cut -f1)
    printf "  %-14s %7.3f s wall %7.3f s cpu  %8.1f MB written\n" "$name" "$real" "$cpu" \
        "$(awk -v s="$size" 'BEGIN{print s/1e6}')"
}

TOOLS=(dcmdisc genisoimage xorriso dcmdisc-plain cp-r dd)
TREE_BYTES=$(du -sb "$SRC" | cut -f1)
run_tool() {
    case "$1" in
        dcmdisc) run dcmdisc "$ISOBENCH" "$SRC" "$OUT/d.iso" --volume-id ISOBENCH ;;
        genisoimage) run genisoimage genisoimage -quiet -iso-level 1 -V ISOBENCH -o "$OUT/g.iso" "$SRC" ;;
        xorriso) run xorriso xorriso -as mkisofs -quiet -iso-level 1 --norock -V ISOBENCH -o "$OUT/x.iso" "$SRC" ;;
        dcmdisc-plain) run dcmdisc-plain "$ISOBENCH" "$SRC" "$OUT/p.iso" --volume-id ISOBENCH --plain ;;
        cp-r) run cp-r cp -r "$SRC" "$OUT/copy" ;;
        # The ceiling: as many bytes from /dev/zero, 1 MiB writes, nothing read.
        dd) run dd dd if=/dev/zero of="$OUT/zero" bs=1M count=$(( TREE_BYTES >> 20 )) ;;
    esac
}
# The order rotates each round: on this VM how fast fresh page-cache pages can be had
# depends on what ran just before, so no tool should always follow the same one.
for r in $(seq 1 "$ROUNDS"); do
    echo "round $r"
    for i in "${!TOOLS[@]}"; do
        run_tool "${TOOLS[$(( (i + r - 1) % ${#TOOLS[@]} ))]}"
    done
done

# Sanity: our image is readable and holds every file.
"$ISOBENCH" "$SRC" "$OUT/d.iso" --volume-id ISOBENCH >/dev/null
listed=$(isoinfo -l -i "$OUT/d.iso" | grep -c ';1 *$' || true)
want=$(find "$SRC" -type f | wc -l)
[ "$listed" = "$want" ] || { echo "isoinfo lists $listed files, expected $want" >&2; exit 1; }

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo
echo "median of $ROUNDS rounds, seconds (ratio = tool / dcmdisc; > 1: dcmdisc is faster)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
DW=$(echo "${REAL[dcmdisc]}" | median)
DC=$(echo "${CPU[dcmdisc]}" | median)
for name in "${TOOLS[@]}"; do
    w=$(echo "${REAL[$name]}" | median)
    c=$(echo "${CPU[$name]}" | median)
    printf "  %-14s wall %7.3f  ratio %5.2f   cpu %7.3f  ratio %5.2f\n" "$name" \
        "$w" "$(awk -v a="$w" -v b="$DW" 'BEGIN{print a/b}')" \
        "$c" "$(awk -v a="$c" -v b="$DC" 'BEGIN{print a/b}')"
done
