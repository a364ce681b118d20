"""The viewer's exact mode reads DICOM files in the browser (VIEWER/VIEWER.TXT, a parser of
outside bytes: files a user picks). Run under Node.js over pydicom's sample files, its
modality values must equal those dcmdisc's renderer computes (`dcmdisc pixel`), at several
pixels of every grayscale file it reads; what it cannot read it refuses with its own error
(compressed syntaxes, colour models it does not draw); and over thousands of damaged copies
of those files it never fails any other way (no TypeError, RangeError, hang)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import pydicom
import pytest

from corpus import sample_corpus
from helpers import ELE, ILE, dcmdisc_bin, unavailable

HERE = Path(__file__).resolve().parent
FUZZ_CASES = 3000


def node() -> str:
    exe = shutil.which("node")
    if not exe:
        unavailable("node is missing (scripts/test.sh installs nodejs)")
    return exe


def read(jobs: list[dict], timeout: int = 600) -> list[dict]:
    r = subprocess.run([node(), str(HERE / "viewer_reader.js")], input=json.dumps(jobs),
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    # "\n" only: a refusal may quote damaged bytes that splitlines() would break at (\x85…).
    return [json.loads(l) for l in r.stdout.split("\n") if l]


def rust_value(path: Path, frame: int, x: int, y: int) -> float | None:
    r = subprocess.run([str(dcmdisc_bin()), "pixel", str(path), "--x", str(x), "--y", str(y),
                        "--frame", str(frame + 1)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (path, r.stderr)
    out = r.stdout.strip()
    return None if out == "padding" else float(out)


def points(rows: int, columns: int, frames: int, rng: random.Random) -> list[list[int]]:
    fixed = [(0, 0), (columns - 1, rows - 1), (columns // 2, rows // 2)]
    some = [(rng.randrange(columns), rng.randrange(rows)) for _ in range(3)]
    return [[rng.randrange(frames), x, y] for x, y in fixed + some]


def test_exact_mode_values_equal_the_renderers_on_the_sample_files():
    rng = random.Random(12)
    jobs, gray = [], 0
    for f in sample_corpus():
        ds = pydicom.dcmread(f.path, stop_before_pixels=True)
        rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        if not rows or not cols or "PixelData" not in pydicom.dcmread(f.path):
            continue
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        mono = str(ds.get("PhotometricInterpretation", "")).startswith("MONOCHROME")
        native = f.transfer_syntax in (ELE, ILE)
        jobs.append({"path": str(f.path), "points": points(rows, cols, frames, rng) if mono and native else [],
                     "draw": True, "native": native, "mono": mono})
    results = read(jobs)
    assert len(results) == len(jobs)
    for job, r in zip(jobs, results):
        if not job["native"]:
            assert not r["ok"] and r["refused"] and "transfer syntax" in r["error"], r
            continue
        assert r["ok"] or r["refused"], r
        if not r["ok"]:
            # Only what the viewer says it does not draw (e.g. a bit depth or palette kind).
            assert "not drawn here" in r["error"] or "not read here" in r["error"], r
            continue
        if not job["mono"]:
            continue
        gray += 1
        for (frame, x, y), ours in zip(job["points"], r["values"]):
            assert ours == rust_value(Path(job["path"]), frame, x, y), (job["path"], frame, x, y, ours)
    # The corpus has CT, MR and other grayscale images in both little-endian syntaxes.
    assert gray >= 10, gray


def mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0 and len(b) > 140:  # cut short
        return bytes(b[:rng.randrange(132, len(b))])
    if kind == 1:  # flip bytes in the header, where lengths and VRs are
        for _ in range(rng.randrange(1, 8)):
            i = rng.randrange(128, min(len(b), 2048))
            b[i] = rng.randrange(256)
        return bytes(b)
    if kind == 2 and len(b) > 200:  # a length set to undefined or huge
        i = rng.randrange(132, min(len(b), 2048) - 4)
        b[i:i + 4] = rng.choice([b"\xff\xff\xff\xff", b"\xfe\xff\xff\x7f", b"\x00\x00\x00\x00"])
        return bytes(b)
    if kind == 3:  # an item or delimiter tag dropped in
        i = rng.randrange(132, min(len(b), 2048))
        b[i:i] = rng.choice([b"\xfe\xff\x00\xe0\xff\xff\xff\xff", b"\xfe\xff\xdd\xe0\x00\x00\x00\x00",
                             b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"])
        return bytes(b)
    for _ in range(rng.randrange(1, 32)):  # anywhere
        b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def test_damaged_files_are_refused_never_crash_the_reader(tmp_path):
    rng = random.Random(7)
    seeds = [f.path for f in sample_corpus() if f.transfer_syntax in (ELE, ILE)
             and f.path.stat().st_size < 2_000_000][:40]
    assert seeds
    jobs = []
    for n in range(FUZZ_CASES):
        p = tmp_path / f"m{n:05d}"
        p.write_bytes(mutate(rng.choice(seeds).read_bytes(), rng))
        jobs.append({"path": str(p), "points": [[0, 0, 0]], "draw": True})
    crashes = [r for r in read(jobs, timeout=1200) if not r["ok"] and not r["refused"]]
    # A point outside a damaged image may read past its buffer: the reader must say so
    # with its own error, like every other defect of the file.
    assert not crashes, crashes[:5]
