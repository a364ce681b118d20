#!/usr/bin/env bash
# Decompression benchmark: dcmdisc's transcoder (crates/transcode, through its `convert`
# example) against dcmtk's dcmdjpeg / dcmdrle on the same files, in one run, alternating
# (ours, dcmtk, ours, dcmtk, ...). Prints MB of decoded pixels per second for both, by wall
# clock and by CPU time (user+sys of the process, less sensitive to a busy machine), and the
# ratios ours/dcmtk (> 1: we are faster). One more row compares Implicit → Explicit VR
# re-encoding with `dcmconv +te`.
#
# Usage: bench/transcode.sh [--rounds N] [--frames N] [--out DIR] [--no-build]
#   --rounds N   timed runs per tool and case (default 5; the median is reported)
#   --frames N   frames of the generated 512x512 CT-like multi-frame (default 100 = 50 MiB)
#   --out DIR    generated data and outputs (default bench/out/transcode)
#   --no-build   do not run cargo build first
# Environment: CONVERT=path overrides the convert example binary.
#
# Cases (each one instance; MB = 10^6 bytes of decoded Pixel Data):
#   ct-jpeg-ll-sv1   CT-like 512x512x16 (12 bits used), JPEG Lossless SV1 (.4.70), dcmcjpeg +e1
#   ct-jpeg-ll-sv6   same, JPEG Lossless predictor 6 (.4.57), dcmcjpeg +el +sv 6
#   ct-jpeg-ext12    same, JPEG Extended 12-bit (.4.51), dcmcjpeg +ee
#   ct-rle16         same, RLE Lossless 16-bit (.5), dcmcrle
#   us-jpeg-base     pydicom-data color3d_jpeg_baseline.dcm: 120 frames 640x480 YBR_FULL_422
#                    JPEG Baseline (.4.50), real ultrasound
#   us-rle-rgb       the same frames decoded by dcmdjpeg, re-encoded by dcmcrle (RLE RGB 8-bit)
#   ct-implicit      the CT-like file in Implicit VR LE → Explicit VR LE (vs dcmconv +te)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROUNDS=5; FRAMES=100; OUT="$ROOT/bench/out/transcode"; BUILD=1
while (($#)); do
  case $1 in
    --rounds) ROUNDS=${2:?}; shift ;;
    --frames) FRAMES=${2:?}; shift ;;
    --out) OUT=${2:?}; shift ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "transcode.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CONVERT=${CONVERT:-$TARGET/release/examples/convert}
if ((BUILD)) && [ -z "${CONVERT_SET:-}" ]; then
  (cd "$ROOT" && cargo build --release -p dcmdisc-transcode --example convert >&2)
fi
[ -x "$CONVERT" ] || { echo "transcode.sh: no convert binary at $CONVERT" >&2; exit 1; }
mkdir -p "$OUT"

python3 - "$CONVERT" "$OUT" "$ROUNDS" "$FRAMES" <<'PY'
import os, statistics, subprocess, sys, time, warnings
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
from pydicom.dataset import Dataset, FileMetaDataset

convert, out, rounds, frames = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
DCMDJPEG, DCMDRLE, DCMCJPEG, DCMCRLE, DCMCONV = (f"/usr/bin/{t}" for t in
                                                 ("dcmdjpeg", "dcmdrle", "dcmcjpeg", "dcmcrle", "dcmconv"))
warnings.filterwarnings("ignore")


def sh(*args):
    subprocess.run([str(a) for a in args], check=True, stdout=subprocess.DEVNULL)


def ct_source(path: Path, implicit: bool):
    """CT-like: pydicom's CT_small (128x128) tiled to 512x512 plus a little noise, 12 bits
    stored, FRAMES frames each shifted so that they differ."""
    base = pydicom.dcmread(pydicom.data.get_testdata_file("CT_small.dcm")).pixel_array.astype(np.int32)
    img = np.tile(base, (4, 4))[:512, :512]
    img = img - img.min()
    img = (img * 4000 // max(1, img.max())).astype(np.int32)
    rng = np.random.default_rng(7)
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7.3"
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.8.498.424242"
    ds.PatientName = "Bench^Transcode"
    ds.PatientID = "BENCH"
    ds.Modality = "OT"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = 512
    ds.NumberOfFrames = frames
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    planes = [np.clip(np.roll(img, 3 * i, axis=1) + rng.integers(0, 16, img.shape), 0, 4095).astype(np.uint16)
              for i in range(frames)]
    ds.PixelData = np.stack(planes).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2" if implicit else "1.2.840.10008.1.2.1"
    ds.save_as(path, implicit_vr=implicit, little_endian=True, enforce_file_format=True)


data = out / "data"
data.mkdir(parents=True, exist_ok=True)
tag = f"f{frames}"
ct = data / f"ct-{tag}.dcm"
if not ct.exists():
    ct_source(ct, implicit=False)
cases = []  # (name, file, dcmtk command prefix)
made = {
    "ct-jpeg-ll-sv1": (DCMCJPEG, "+e1"),
    "ct-jpeg-ll-sv6": (DCMCJPEG, "+el", "+sv", "6"),
    "ct-jpeg-ext12": (DCMCJPEG, "+ee"),
    "ct-rle16": (DCMCRLE,),
}
for name, cmd in made.items():
    f = data / f"{name}-{tag}.dcm"
    if not f.exists():
        sh(*cmd, ct, f)
    cases.append((name, f, [DCMDRLE if "rle" in name else DCMDJPEG]))
us = Path(pydicom.data.get_testdata_file("color3d_jpeg_baseline.dcm"))
cases.append(("us-jpeg-base", us, [DCMDJPEG]))
us_rle = data / "us-rle-rgb.dcm"
if not us_rle.exists():
    sh(DCMDJPEG, us, data / "us-native.dcm")
    sh(DCMCRLE, data / "us-native.dcm", us_rle)
cases.append(("us-rle-rgb", us_rle, [DCMDRLE]))
ct_ile = data / f"ct-implicit-{tag}.dcm"
if not ct_ile.exists():
    ct_source(ct_ile, implicit=True)
cases.append(("ct-implicit", ct_ile, [DCMCONV, "+te"]))


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(map(str, cmd))}: {p.stderr.read().decode()[:500]}")
    return wall, ru.ru_utime + ru.ru_stime


res_dir = out / "runs"
res_dir.mkdir(exist_ok=True)
rows = []
for name, f, dcmtk in cases:
    ds = pydicom.dcmread(f, stop_before_pixels=True)
    mb = (ds.Rows * ds.Columns * ds.SamplesPerPixel * (ds.BitsAllocated // 8) * int(ds.get("NumberOfFrames", 1))) / 1e6
    ts = str(ds.file_meta.TransferSyntaxUID)
    o_ours, o_ref = res_dir / "ours.dcm", res_dir / "dcmtk.dcm"
    timed([convert, f, o_ours])  # warm the page cache
    timed(dcmtk + [str(f), str(o_ref)])
    ours, ref = [], []
    for _ in range(rounds):
        ours.append(timed([convert, str(f), str(o_ours)]))
        ref.append(timed(dcmtk + [str(f), str(o_ref)]))
    w_o = statistics.median(x[0] for x in ours); c_o = statistics.median(x[1] for x in ours)
    w_r = statistics.median(x[0] for x in ref); c_r = statistics.median(x[1] for x in ref)
    rows.append((name, ts, mb, mb / w_o, mb / w_r, w_r / w_o, mb / c_o, mb / c_r, c_r / c_o, os.path.basename(dcmtk[0])))

print(f"\n{'case':16} {'transfer syntax':24} {'MB':>7} | {'ours MB/s':>9} {'dcmtk MB/s':>10} {'ratio':>6} | "
      f"{'ours MB/cpu-s':>13} {'dcmtk MB/cpu-s':>14} {'ratio':>6} | vs")
for r in rows:
    print(f"{r[0]:16} {r[1]:24} {r[2]:7.1f} | {r[3]:9.1f} {r[4]:10.1f} {r[5]:6.2f} | {r[6]:13.1f} {r[7]:14.1f} {r[8]:6.2f} | {r[9]}")
print(f"\nmedian of {rounds} alternating runs per tool; MB = 10^6 bytes of decoded pixel data; "
      f"ratio = ours / dcmtk throughput (> 1: faster); {os.cpu_count()} CPUs")
PY
