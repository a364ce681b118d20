"""Deterministic output (issue 12 item 10): the same input and clock give byte-identical volumes —
ISO images, trees, labels, everything the export writes. The export takes its clock from
`DCMDISC_TEST_CLOCK` (Unix seconds) when set (app/src/export.rs `clock`), so two exports at
different moments are compared byte for byte; a different clock must change the image (the
dates in it), so the comparison is not of two empty things."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from helpers import dcmdisc_bin
from test_export import make_instance
from test_viewers import viewer_folder

CLOCK = "1796131800"  # 2026-12-01 14:10:00 UTC


def export(tmp: Path, out: Path, clock: str) -> dict[str, bytes]:
    cfg = tmp / "c.toml"
    cfg.write_text('[media]\nviewer_folder = "viewer"\n')
    env = dict(os.environ, DCMDISC_TEST_CLOCK=clock)
    r = subprocess.run([str(dcmdisc_bin()), "--config", str(cfg), "export", "--from-folder",
                        str(tmp / "src"), "--out", str(out), "--tree", "--capacity-mb", "1"],
                       capture_output=True, text=True, errors="replace", timeout=600, env=env)
    assert r.returncode == 0, r.stderr
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_same_input_and_clock_give_byte_identical_output(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    for patient, count in (("DET1", 10), ("DET2", 3)):
        study, series = f"1.2.826.0.1.3680043.9.7433.{patient[-1]}.1", f"1.2.826.0.1.3680043.9.7433.{patient[-1]}.2"
        for i in range(count):
            make_instance(src / f"{patient}-{i}.dcm", patient, study, series, i + 1, 120_000)
    viewer_folder(tmp_path / "viewer")
    first = export(tmp_path, tmp_path / "a", CLOCK)
    second = export(tmp_path, tmp_path / "b", CLOCK)
    isos = [n for n in first if n.endswith(".iso")]
    assert len(isos) >= 3, sorted(first)  # two patients, one of them over two volumes
    assert sorted(first) == sorted(second)
    differ = [n for n in first if first[n] != second[n]]
    assert not differ, differ
    later = export(tmp_path, tmp_path / "c", str(int(CLOCK) + 86400))
    assert all(later[n] != first[n] for n in isos)
