"""Validation before burning (issue 10, item 2): every volume `dcmdisc export` writes is read
back by dcmdisc's own reader before it is reported. The SHA-256 printed at the end of each
volume line is the image's as coreutils `sha256sum` computes it; a volume that fails
validation is not left behind and the export says why.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from helpers import LOCALHOST, OUR_AE, STORESCU, dcmdisc_bin

# `<label>: volume n/m <fsid> — k instances, x MB, <path>[, sha256 <hex>]`
LINE = re.compile(
    r"^(?P<label>.*): volume (?P<n>\d+)/(?P<m>\d+) (?P<fsid>\S+) — (?P<count>\d+) instances, "
    r"(?P<mb>[\d.]+) MB, (?P<path>.+?)(?:, sha256 (?P<sha>[0-9a-f]{64}))?$"
)


def sha256sum(path: Path) -> str:
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True, timeout=120)
    return out.stdout.split()[0]


def instance(path: Path, patient: str, study: str, series: str, number: int, side: int = 200) -> str:
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.PatientName, ds.PatientID = "VALIDATE^TEST", patient
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20260101", "120000", "1", ""
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "OT", 1, number
    ds.ConversionType = "WSD"
    ds.Rows = ds.Columns = side
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = (np.arange(side * side, dtype=np.uint16) * number).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return ds.SOPInstanceUID


def collection(src: Path, patient: str = "VAL1", studies: int = 2, per_series: int = 6) -> dict[str, Path]:
    src.mkdir(parents=True, exist_ok=True)
    made = {}
    n = 0
    for _ in range(studies):
        study = generate_uid()
        for _ in range(2):
            series = generate_uid()
            for i in range(per_series):
                n += 1
                p = src / f"i{n:03d}.dcm"
                made[instance(p, patient, study, series, i + 1)] = p
    return made


def volume_lines(stdout: str) -> list[re.Match]:
    lines = [LINE.match(l) for l in stdout.splitlines() if " volume " in l]
    assert lines and all(lines), stdout
    return lines


def check_hashes(lines: list[re.Match], out: Path):
    isos = sorted(out.rglob("VOL*.iso"))
    assert len(isos) == len(lines), (isos, [m.group(0) for m in lines])
    for m in lines:
        path = Path(m["path"])
        assert path.suffix == ".iso" and path.is_file(), m.group(0)
        assert m["sha"], f"no sha256 on {m.group(0)!r}"
        assert m["sha"] == sha256sum(path), f"{path}: reported {m['sha']}"


def test_archive_collection_volumes_report_their_sha256(server, tmp_path):
    """A collection received over the network, exported on several volumes: each line's
    SHA-256 equals sha256sum of the image, and --timings shows the validating stage."""
    made = collection(tmp_path / "src")
    subprocess.run([STORESCU, "-aec", OUR_AE, LOCALHOST, str(server.port), *map(str, made.values())],
                   check=True, capture_output=True, timeout=120)
    pats = server.patients()
    assert len(pats) == 1
    out = tmp_path / "out"
    r = server.cli("export", pats[0]["id"], "--out", out, "--capacity-mb", 1, "--timings", timeout=300)
    lines = volume_lines(r.stdout)
    assert len(lines) >= 2, r.stdout
    assert sum(int(m["count"]) for m in lines) == len(made)
    check_hashes(lines, out)
    assert re.search(r"^timing .*: validating \d+\.\d{3} s$", r.stderr, re.M), r.stderr
    # The stages bench/media.sh adds up are still printed as before.
    assert re.search(r"^timing .*: dicomdir \d+\.\d{3} s$", r.stderr, re.M), r.stderr


def test_folder_export_with_tree_reports_the_image_sha256(tmp_path):
    made = collection(tmp_path / "src", studies=1, per_series=3)
    out = tmp_path / "out"
    r = subprocess.run([str(dcmdisc_bin()), "export", "--from-folder", str(tmp_path / "src"), "--out", str(out),
                        "--tree"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = volume_lines(r.stdout)
    assert len(lines) == 1 and int(lines[0]["count"]) == len(made)
    check_hashes(lines, out)
    assert (out / "VOL001" / "DICOMDIR").is_file()


def test_usb_volume_is_a_tree_without_hash(tmp_path):
    collection(tmp_path / "src", studies=1, per_series=2)
    out = tmp_path / "out"
    r = subprocess.run([str(dcmdisc_bin()), "export", "--from-folder", str(tmp_path / "src"), "--out", str(out),
                        "--profile", "STD-GEN-USB-JPEG"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (m,) = volume_lines(r.stdout)
    assert m["sha"] is None and Path(m["path"]).is_dir(), m.group(0)


def test_a_volume_that_fails_validation_is_not_left(tmp_path):
    """An instance whose File Meta names another SOP Instance than its data set: the
    DICOMDIR record (from the data set) disagrees with the file on the volume, so the
    volume fails the checks made before imaging, is not written, and the export exits
    non-zero naming both UIDs."""
    src = tmp_path / "src"
    collection(src, studies=1, per_series=2)
    study, series = generate_uid(), generate_uid()
    path = src / "liar.dcm"
    real = instance(path, "VAL1", study, series, 9)
    # pydicom keeps the two UIDs equal, so the File Meta's is changed in the bytes: its
    # first occurrence, (0002,0003), gets another last digit (same length).
    data = path.read_bytes()
    at = data.index(real.encode())
    assert at < 300, at
    liar = real[:-1] + ("1" if real[-1] != "1" else "2")
    path.write_bytes(data[:at] + liar.encode() + data[at + len(real):])
    assert pydicom.dcmread(path).file_meta.MediaStorageSOPInstanceUID == liar
    out = tmp_path / "out"
    r = subprocess.run([str(dcmdisc_bin()), "export", "--from-folder", str(src), "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0, r.stdout
    assert "failed the checks before imaging and was not written" in r.stderr, r.stderr
    assert f"SOP Instance UID {liar}" in r.stderr and real in r.stderr, r.stderr
    assert not list(out.rglob("VOL*.iso")), list(out.rglob("*"))
