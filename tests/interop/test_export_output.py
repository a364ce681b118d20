"""The output folder of `dcmdisc export` (issue 10, "output folders never mix jobs"): an export
writes into a staging folder and moves it into place only when complete, into a folder that is
new or empty. Exporting patient A on three volumes and then patient B into the same folder used
to leave A's VOL002.iso and VOL003.iso beside B's VOL001.iso, with exit status 0."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydicom.uid import generate_uid

from test_export import export, make_instance


def patient_folder(root: Path, patient: str, count: int, size: int) -> Path:
    src = root / f"src-{patient}"
    src.mkdir()
    study, series = generate_uid(), generate_uid()
    for i in range(count):
        make_instance(src / f"{i:03d}.dcm", patient, study, series, i + 1, size)
    return src


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_second_export_into_the_same_folder_is_refused_and_changes_nothing(tmp_path):
    a = patient_folder(tmp_path, "PAT-A", 6, 400_000)
    b = patient_folder(tmp_path, "PAT-B", 1, 10_000)
    out = tmp_path / "out"
    export("--from-folder", a, "--out", out, "--capacity-mb", 1)
    first = digests(out)
    assert {"VOL001.iso", "VOL002.iso", "VOL003.iso"} <= set(first), f"A did not span: {sorted(first)}"

    r = export("--from-folder", b, "--out", out, check=False)
    assert r.returncode != 0, f"the second export into a full folder exited 0:\n{r.stdout}{r.stderr}"
    assert "not empty" in r.stderr and str(out) in r.stderr, r.stderr
    assert digests(out) == first, "the refused export changed the folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src-PAT-A", "src-PAT-B"], \
        "a staging folder was left beside the output"


def test_an_empty_existing_folder_is_used_and_nothing_is_left_beside_it(tmp_path):
    b = patient_folder(tmp_path, "PAT-B", 2, 10_000)
    out = tmp_path / "out"
    out.mkdir()
    r = export("--from-folder", b, "--out", out)
    assert (out / "VOL001.iso").is_file(), r.stdout
    assert str(out / "VOL001.iso") in r.stdout, "the printed path is not the final one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src-PAT-B"]
