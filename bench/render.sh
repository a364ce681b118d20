#!/usr/bin/env bash
# Rendering benchmark (issue 12): a 1000-slice CT (bench/gen_ct.py series: 512x512, 12 of 16
# bits, no window in the files, so both tools use a min/max window) rendered to one JPEG per
# slice by `dcmdisc render` (crates/render, one worker per core) and by dcmtk's
# `dcmj2pnm +oj +Wm +Jq Q` over the same files, in one run. dcmj2pnm takes one file per process,
# so it runs under `xargs -P <cores>` (both tools use every core) and also one after another.
# Prints wall-clock seconds of each, JPEG bytes and the ratio dcmj2pnm / dcmdisc (> 1: we are
# faster), and the machine's load before the run (figures taken with a load over about 1.5 on
# this 2-core machine measure the other work too).
#
# Usage: bench/render.sh [--count N] [--quality Q] [--out DIR] [--no-build] [--no-serial]
#   --count N     slices (default 1000)
#   --quality Q   JPEG quality for both (default 85)
#   --out DIR     generated data and outputs (default bench/out/render)
#   --no-build    do not run cargo build first
#   --no-serial   skip the one-process-after-another dcmj2pnm run
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
COUNT=1000; QUALITY=85; OUT="$ROOT/bench/out/render"; BUILD=1; SERIAL=1
while (($#)); do
  case $1 in
    --count) COUNT=${2:?}; shift ;;
    --quality) QUALITY=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    --no-build) BUILD=0 ;;
    --no-serial) SERIAL=0 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "render.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DCMDISC=${DCMDISC:-$TARGET/release/dcmdisc}
if ((BUILD)); then (cd "$ROOT" && cargo build --release -p dcmdisc >&2); fi
[ -x "$DCMDISC" ] || { echo "render.sh: no dcmdisc binary at $DCMDISC" >&2; exit 1; }
command -v dcmj2pnm >/dev/null || { echo "render.sh: dcmj2pnm missing (apt-get install dcmtk)" >&2; exit 1; }
CORES=$(nproc)

SRC="$OUT/ct$COUNT"
if [ "$(find "$SRC" -name '*.dcm' 2>/dev/null | wc -l)" != "$COUNT" ]; then
  rm -rf "$SRC"
  python3 "$HERE/gen_ct.py" series "$SRC" --count "$COUNT" >&2
fi
mapfile -t FILES < <(find "$SRC" -name '*.dcm' | sort)
DICOM_BYTES=$(du -cb "${FILES[@]}" | tail -1 | cut -f1)

now() { date +%s.%N; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  cores: $CORES  slices: $COUNT  quality: $QUALITY"

# Page cache warm for both: read every file once.
cat "${FILES[@]}" >/dev/null

rm -rf "$OUT/ours" "$OUT/dcmtk" "$OUT/dcmtk1"; mkdir -p "$OUT/dcmtk" "$OUT/dcmtk1"
t0=$(now)
"$DCMDISC" render "${FILES[@]}" --out "$OUT/ours" --quality "$QUALITY" >/dev/null
t1=$(now)
printf '%s\0' "${FILES[@]}" | xargs -0 -P "$CORES" -n 1 sh -c \
  'dcmj2pnm +oj +Wm +Jq "$0" "$2" "$1/$(basename "$2" .dcm).jpg"' "$QUALITY" "$OUT/dcmtk"
t2=$(now)
if ((SERIAL)); then
  for f in "${FILES[@]}"; do dcmj2pnm +oj +Wm +Jq "$QUALITY" "$f" "$OUT/dcmtk1/$(basename "$f" .dcm).jpg"; done
fi
t3=$(now)

ours_n=$(find "$OUT/ours" -name '*.jpg' | wc -l); theirs_n=$(find "$OUT/dcmtk" -name '*.jpg' | wc -l)
ours_b=$(du -cb "$OUT"/ours/*.jpg | tail -1 | cut -f1); theirs_b=$(du -cb "$OUT"/dcmtk/*.jpg | tail -1 | cut -f1)
python3 - "$t0" "$t1" "$t2" "$t3" "$SERIAL" "$ours_n" "$theirs_n" "$ours_b" "$theirs_b" "$DICOM_BYTES" "$CORES" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
serial = sys.argv[5] == "1"
on, tn, ob, tb, db, cores = map(int, sys.argv[6:])
ours, par = t1 - t0, t2 - t1
print(f"dcmdisc render            {ours:8.2f} s  {on} JPEGs  {ob / 1e6:7.1f} MB ({100 * ob / db:.1f} % of {db / 1e6:.0f} MB DICOM)")
print(f"dcmj2pnm +oj, xargs -P {cores}  {par:8.2f} s  {tn} JPEGs  {tb / 1e6:7.1f} MB")
if serial:
    print(f"dcmj2pnm +oj, one by one  {t3 - t2:8.2f} s")
print(f"ratio dcmj2pnm (-P {cores}) / dcmdisc: {par / ours:.1f}x" + (f"   one by one / dcmdisc: {(t3 - t2) / ours:.1f}x" if serial else ""))
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
