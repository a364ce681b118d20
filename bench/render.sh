#!/usr/bin/env bash
# Rendering benchmark (issue 12): a 1000-slice CT (bench/gen_ct.py series: 512x512, 12 of 16
# bits, window 40/400 in the files) rendered to one JPEG per slice at the default window (the
# file's first) by `dcmdisc render` (crates/render, one worker per core) and by dcmtk's
# `dcmj2pnm +oj +Wi 1 +Jq Q` over the same files, in one run. dcmj2pnm takes one file per process,
# so <cores> of them run at a time (both tools use every core), and also one after another.
# Prints wall-clock and CPU (user+sys) seconds of each, JPEG bytes and the ratio dcmj2pnm /
# dcmdisc (> 1: we are faster), and the machine's load before the run (figures taken with a
# load over about 1.5 on this 2-core machine measure the other work too).
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
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
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

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  cores: $CORES  slices: $COUNT  quality: $QUALITY"

# Page cache warm for both: read every file once.
cat "${FILES[@]}" >/dev/null

rm -rf "$OUT/ours" "$OUT/dcmtk" "$OUT/dcmtk1"; mkdir -p "$OUT/dcmtk" "$OUT/dcmtk1"
printf '%s\n' "${FILES[@]}" >"$OUT/files.txt"
# Timed from Python: wall clock, and user+sys CPU of the children (less sensitive to other load).
python3 - "$DCMDISC" "$OUT" "$QUALITY" "$CORES" "$SERIAL" "$DICOM_BYTES" <<'PY'
import os, resource, subprocess, sys, time
from pathlib import Path

dcmdisc, out, q, cores, serial, dicom_bytes = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1", int(sys.argv[6])
files = (out / "files.txt").read_text().split("\n")[:-1]

def timed(fn):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN); t0 = time.monotonic()
    fn()
    t1 = time.monotonic(); r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)

def dcmtk_args(f, d):
    return ["dcmj2pnm", "+oj", "+Wi", "1", "+Jq", q, f, str(d / (Path(f).stem + ".jpg"))]

def ours():
    subprocess.run([dcmdisc, "render", *files, "--out", str(out / "ours"), "--quality", q],
                   check=True, stdout=subprocess.DEVNULL)

def dcmtk_parallel():
    # `cores` dcmj2pnm processes at a time, as xargs -P would run them.
    running, it = [], iter(files)
    while True:
        while len(running) < cores:
            f = next(it, None)
            if f is None:
                break
            running.append(subprocess.Popen(dcmtk_args(f, out / "dcmtk"), stderr=subprocess.DEVNULL))
        if not running:
            break
        running.pop(0).wait()

def dcmtk_serial():
    for f in files:
        subprocess.run(dcmtk_args(f, out / "dcmtk1"), check=True, stderr=subprocess.DEVNULL)

w_ours, c_ours = timed(ours)
w_par, c_par = timed(dcmtk_parallel)
w_ser, c_ser = timed(dcmtk_serial) if serial else (0.0, 0.0)

def size(d):
    fs = list((out / d).glob("*.jpg"))
    return len(fs), sum(f.stat().st_size for f in fs)

on, ob = size("ours"); tn, tb = size("dcmtk")
print(f"dcmdisc render              {w_ours:7.2f} s wall {c_ours:7.2f} s CPU  {on} JPEGs {ob / 1e6:6.1f} MB ({100 * ob / dicom_bytes:.1f} % of {dicom_bytes / 1e6:.0f} MB DICOM)")
print(f"dcmj2pnm +oj, {cores} at a time     {w_par:7.2f} s wall {c_par:7.2f} s CPU  {tn} JPEGs {tb / 1e6:6.1f} MB")
if serial:
    print(f"dcmj2pnm +oj, one by one    {w_ser:7.2f} s wall {c_ser:7.2f} s CPU")
print(f"ratio dcmj2pnm / dcmdisc: wall {w_par / w_ours:.1f}x (CPU {c_par / c_ours:.1f}x)"
      + (f"; one by one: wall {w_ser / w_ours:.1f}x" if serial else ""))
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
