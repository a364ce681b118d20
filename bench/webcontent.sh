#!/usr/bin/env bash
# Web content benchmark (issue 12 items 3 and 9): what the IHE_PDI web content of a 1000-slice
# CT costs a disc, in one run. The CT is bench/gen_ct.py's series (512x512, 12 of 16 bits,
# window 40/400), once with anatomy-like content (--phantom, what real CT compresses like) and
# once as its noise series (the JPEG worst case).
#
# For each: `dcmdisc export` of the folder with `[media] web_content = true` and `= false`
# (one DVD-sized volume, ISO image written and validated), timed; the difference is what the
# web content adds (its rendering stage, from --timings, is also printed on its own), and the
# difference of the two images' sizes is the web content's bytes. Against it, dcmtk's
# `dcmj2pnm +oj +Wi 1 +Jq 85` over the same files (one JPEG per slice at the same window; one
# file per process, <cores> at a time). Wall clock and user+sys CPU seconds of the processes
# (the CPU figures are the ones to read when the machine is shared). Targets: the web content
# adds < 2 s, is < 10 % of the DICOM bytes, and renders >= 5x faster than dcmj2pnm.
#
# Usage: bench/webcontent.sh [--count N] [--out DIR] [--no-build] [--no-noise]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
COUNT=1000; OUT="$ROOT/bench/out/webcontent"; BUILD=1; NOISE=1
while (($#)); do
  case $1 in
    --count) COUNT=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    --no-build) BUILD=0 ;;
    --no-noise) NOISE=0 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "webcontent.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
DCMDISC=${DCMDISC:-$TARGET/release/dcmdisc}
if ((BUILD)); then (cd "$ROOT" && cargo build --release -p dcmdisc >&2); fi
[ -x "$DCMDISC" ] || { echo "webcontent.sh: no dcmdisc binary at $DCMDISC" >&2; exit 1; }
command -v dcmj2pnm >/dev/null || { echo "webcontent.sh: dcmj2pnm missing (apt-get install dcmtk)" >&2; exit 1; }

mkdir -p "$OUT"
gen() { # dir, extra gen_ct.py flags
  if [ "$(find "$1" -name '*.dcm' 2>/dev/null | wc -l)" != "$COUNT" ]; then
    rm -rf "$1"
    python3 "$HERE/gen_ct.py" series "$1" --count "$COUNT" "${@:2}" >&2
  fi
}
SETS=(phantom)
gen "$OUT/phantom$COUNT" --phantom
if ((NOISE)); then SETS+=(noise); gen "$OUT/noise$COUNT"; fi
printf '[media]\nweb_content = false\n' >"$OUT/off.toml"
printf '[media]\nweb_content = true\n' >"$OUT/on.toml"

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)  cores: $(nproc)  slices: $COUNT"
python3 - "$DCMDISC" "$OUT" "$COUNT" "$(nproc)" "${SETS[@]}" <<'PY'
import re, resource, shutil, subprocess, sys, time
from pathlib import Path

dcmdisc, out, count, cores, sets = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:]

def timed(fn):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN); t0 = time.monotonic()
    res = fn()
    t1 = time.monotonic(); r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), res

def export(src, web):
    dst = out / f"export-{src.name}-{web}"
    shutil.rmtree(dst, ignore_errors=True)
    def run():
        r = subprocess.run([dcmdisc, "export", "--config", str(out / f"{web}.toml"), "--from-folder", str(src),
                            "--out", str(dst), "--capacity-mb", "4400", "--timings"],
                           capture_output=True, text=True, check=True)
        m = re.search(r": rendering ([0-9.]+) s", r.stderr)
        return float(m.group(1)) if m else 0.0
    wall, cpu, rendering = timed(run)
    iso = sum(p.stat().st_size for p in dst.rglob("VOL*.iso"))
    return wall, cpu, rendering, iso

def dcmj2pnm(src):
    dst = out / f"dcmtk-{src.name}"
    shutil.rmtree(dst, ignore_errors=True); dst.mkdir()
    files = sorted(str(p) for p in src.glob("*.dcm"))
    def run():
        running, it = [], iter(files)
        while True:
            while len(running) < cores:
                f = next(it, None)
                if f is None:
                    break
                running.append(subprocess.Popen(["dcmj2pnm", "+oj", "+Wi", "1", "+Jq", "85", f,
                                                 str(dst / (Path(f).stem + ".jpg"))], stderr=subprocess.DEVNULL))
            if not running:
                break
            running.pop(0).wait()
    wall, cpu, _ = timed(run)
    return wall, cpu, sum(p.stat().st_size for p in dst.glob("*.jpg"))

for name in sets:
    src = out / f"{name}{count}"
    files = list(src.glob("*.dcm"))
    dicom = sum(p.stat().st_size for p in files)
    for p in files:  # page cache warm for every run
        p.read_bytes()
    w_off, c_off, _, iso_off = export(src, "off")
    w_on, c_on, rendering, iso_on = export(src, "on")
    w_dt, c_dt, dt_bytes = dcmj2pnm(src)
    web = iso_on - iso_off
    added_cpu = c_on - c_off
    print(f"[{name}] {len(files)} slices, {dicom / 1e6:.0f} MB DICOM")
    print(f"  export, web content off     {w_off:7.2f} s wall {c_off:7.2f} s CPU")
    print(f"  export, web content on      {w_on:7.2f} s wall {c_on:7.2f} s CPU  (rendering stage {rendering:.2f} s wall)")
    print(f"  added by the web content    {w_on - w_off:7.2f} s wall {added_cpu:7.2f} s CPU  "
          f"{web / 1e6:.1f} MB = {100 * web / dicom:.1f} % of the DICOM bytes")
    print(f"  dcmj2pnm +oj, {cores} at a time  {w_dt:7.2f} s wall {c_dt:7.2f} s CPU  {dt_bytes / 1e6:.1f} MB of JPEG")
    print(f"  ratio dcmj2pnm / web content: wall {w_dt / max(rendering, 1e-9):.1f}x (rendering stage), "
          f"CPU {c_dt / max(added_cpu, 1e-9):.1f}x (export CPU added)")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
