"""Explicit VR Big Endian and Deflated Explicit VR LE sources (issue 12, item 2).

`dcmdisc convert` turns both into Explicit VR LE, checked against real peers:
- every Big Endian and Deflated sample of pydicom and pydicom-data: pydicom reads our output
  equal to the source element by element (values as pydicom decodes them; the OB/OW/OF/OD/
  OL/OV values pydicom leaves as raw bytes are compared with dcmtk's `dcmconv +te` output),
  and the pixels equal (pydicom's `pixel_array`);
- files generated here with everything a swap can get wrong (US SS UL SL FL FD AT OF OD OL,
  OW LUT data, nested sequences and items of defined and undefined length, odd lengths, an
  8-bit OW and a 32-bit image), made Big Endian and Deflated by dcmtk (`dcmconv +tb`/`+td`,
  with explicit and undefined sequence lengths): our output equals the Little Endian
  original element by element;
- what cannot be converted exactly (UN in a Big Endian data set) is refused, naming it.

`dcmdisc export --from-folder` puts such files on the disc converted, and fails, naming the
file, for an instance that cannot go on it, unless `--leave-out-unreadable`; then the
volume's README lists what was left out. A foreign DICOMDIR is reported as one.
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from helpers import dcmdisc_bin

DCMCONV = "/usr/bin/dcmconv"
ELE = "1.2.840.10008.1.2.1"
BE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
# pydicom keeps these values as bytes, in the file's byte order.
RAW_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN", "OB or OW", "US or OW"}


def read(path, **kw) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, **kw)


def run(*args, check=True) -> subprocess.CompletedProcess:
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, errors="replace",
                       timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"{args[0]} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
    return r


def convert(src: Path, out: Path) -> subprocess.CompletedProcess:
    return run(dcmdisc_bin(), "convert", src, out, "--to", "explicit-le", check=False)


def sample_paths() -> list[Path]:
    roots = [Path(pydicom.data.__file__).parent / "test_files"]
    try:
        import data_store  # the pydicom-data package

        roots.append(Path(data_store.__file__).parent / "data")
    except ImportError:
        pass
    found = []
    for root in roots:
        for p in sorted(root.glob("*.dcm")):
            try:
                ts = str(read(p, stop_before_pixels=True).file_meta.TransferSyntaxUID)
            except Exception:
                continue
            if ts in (BE, DEFLATED):
                found.append(p)
    return found


SAMPLES = sample_paths()


def compare(src: Dataset, ours: Dataset, raw_ref: Dataset | None, path: str = ""):
    """Same elements (group lengths aside), same VRs, same values; sequences item by item.
    Raw-byte VRs are compared with `raw_ref` (a Little Endian reference) when given."""
    ta = [t for t in src.keys() if t.element != 0]
    tb = [t for t in ours.keys() if t.element != 0]
    assert ta == tb, f"{path}: tags differ: {sorted(set(ta) ^ set(tb))}"
    for t in ta:
        ea, eb = src[t], ours[t]
        here = f"{path}{ea.tag}"
        assert ea.VR == eb.VR, f"{here}: VR {eb.VR}, source {ea.VR}"
        if ea.VR == "SQ":
            assert len(ea.value) == len(eb.value), f"{here}: item count"
            refs = raw_ref[t].value if raw_ref is not None else [None] * len(ea.value)
            for n, (ia, ib, ir) in enumerate(zip(ea.value, eb.value, refs)):
                compare(ia, ib, ir, f"{here}[{n}].")
            continue
        if t == 0x7FE00010:
            continue  # compared as pixels
        if ea.VR in RAW_VRS:
            if raw_ref is None:
                continue
            va, vb = bytes(raw_ref[t].value or b""), bytes(eb.value or b"")
        else:
            va, vb = ea.value, eb.value
        assert va == vb, f"{here} {ea.VR}: ours {vb!r:.80}, expected {va!r:.80}"


@pytest.mark.parametrize("src", SAMPLES, ids=lambda p: p.name)
def test_sample_converts_exactly(src: Path, tmp_path: Path):
    out = tmp_path / "ours.dcm"
    r = convert(src, out)
    assert r.returncode == 0, r.stderr
    ours, orig = read(out), read(src)
    assert ours.file_meta.TransferSyntaxUID == ELE
    assert ours.file_meta.MediaStorageSOPInstanceUID == orig.file_meta.MediaStorageSOPInstanceUID
    ref = tmp_path / "dcmtk.dcm"
    run(DCMCONV, "+te", src, ref)
    compare(orig, ours, read(ref))
    if "PixelData" in orig:
        assert np.array_equal(orig.pixel_array, ours.pixel_array), "pixels differ"


def test_samples_present():
    names = {p.name for p in SAMPLES}
    assert {"MR_small_bigendian.dcm", "image_dfl.dcm"} <= names, names


def generated(bits: int, pixel_vr: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID = "Big^Endian", "BE1"
    ds.Modality = "OT"
    ds.StudyDate, ds.StudyTime, ds.StudyID = "20260101", "120000", "1"
    ds.SeriesNumber, ds.InstanceNumber = 1, 1
    ds.add_new(0x00181063, "DS", "33.3")                     # odd-length string
    ds.add_new(0x00209165, "AT", [0x00100010, 0x7FE00010])   # Dimension Index Pointer
    ds.add_new(0x00209157, "UL", [1, 70000])
    ds.add_new(0x00189219, "SS", [-2, 300])                  # Tag Angle Second Axis
    ds.add_new(0x00186020, "SL", [-100000])                  # Reference Pixel X0
    ds.add_new(0x00189087, "FD", [1234.5678])                # Diffusion b-value
    ds.add_new(0x00189241, "FL", [0.25, -7.5])               # Chemical Shift Minimum...
    ds.add_new(0x00660016, "OF", np.array([1.5, -2.25], "<f4").tobytes())
    ds.add_new(0x00720068, "OD", np.array([3.125], "<f8").tobytes())
    ds.add_new(0x00660040, "OL", np.array([7, 70000], "<u4").tobytes())
    inner = Dataset()
    inner.add_new(0x00189087, "FD", [9.0])
    inner.add_new(0x00280010, "US", 7)
    deeper = Dataset()
    deeper.add_new(0x00209157, "UL", [42])
    deeper.CodeValue = "X1"
    inner.add_new(0x00400260, "SQ", Sequence([deeper]))
    item = Dataset()
    item.add_new(0x00282000, "OB", b"\x01\x02\x03\x04")      # ICC Profile (OB: no swap)
    item.add_new(0x00081150, "UI", ds.SOPClassUID)
    item.add_new(0x00081155, "UI", generate_uid())
    item.add_new(0x00082112, "SQ", Sequence([inner, Dataset()]))
    ds.add_new(0x00081140, "SQ", Sequence([item]))
    ds.Rows, ds.Columns = 2, 3
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, bits, bits - 1
    ds.PixelRepresentation = 0
    dtype = {8: "<u1", 16: "<u2", 32: "<u4"}[bits]
    ds.PixelData = (np.arange(6, dtype=dtype) * (2 ** (bits - 4) + 1)).tobytes()
    ds["PixelData"].VR = pixel_vr
    return ds


@pytest.mark.parametrize("bits,pixel_vr", [(8, "OW"), (8, "OB"), (16, "OW"), (32, "OW")])
@pytest.mark.parametrize("syntax,length", [("+tb", "+e"), ("+tb", "-e"), ("+td", "+e"), ("+td", "-e")])
def test_generated_round_trip(tmp_path: Path, bits: int, pixel_vr: str, syntax: str, length: str):
    le = tmp_path / "le.dcm"
    generated(bits, pixel_vr).save_as(le, enforce_file_format=True)
    src = tmp_path / "src.dcm"
    run(DCMCONV, syntax, length, le, src)
    assert str(read(src).file_meta.TransferSyntaxUID) == (BE if syntax == "+tb" else DEFLATED)
    out = tmp_path / "ours.dcm"
    r = convert(src, out)
    assert r.returncode == 0, r.stderr
    a, b = read(le), read(out)
    compare(a, b, a)
    if bits == 32 and syntax == "+tb":
        # dcmtk writes 32-bit OW as 16-bit words, pydicom reads Big Endian pixels by Bits
        # Allocated (and so do we): ours equal what pydicom reads from the source.
        assert np.array_equal(read(src).pixel_array, b.pixel_array)
        return
    assert a.PixelData == b.PixelData[: len(a.PixelData)]
    assert np.array_equal(a.pixel_array, b.pixel_array)


def test_big_endian_un_is_refused(tmp_path: Path):
    ds = generated(16, "OW")
    ds.add_new(0x00091010, "UN", b"\x00\x01\x02\x03")
    ds.add_new(0x00090010, "LO", "ACME")
    ds.file_meta.TransferSyntaxUID = BE
    src = tmp_path / "un.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(src, enforce_file_format=True, little_endian=False, implicit_vr=False)
    out = tmp_path / "ours.dcm"
    r = convert(src, out)
    assert r.returncode != 0
    assert "cannot be converted exactly" in r.stderr and "(0009,1010) UN" in r.stderr, r.stderr
    assert not out.exists()


def test_broken_deflate_stream_is_refused(tmp_path: Path):
    le = tmp_path / "le.dcm"
    generated(16, "OW").save_as(le, enforce_file_format=True)
    src = tmp_path / "dfl.dcm"
    run(DCMCONV, "+td", le, src)
    data = bytearray(src.read_bytes())
    start = 132 + 12 + int.from_bytes(data[140:144], "little")
    data[start + 3: start + 40] = b"\xff" * 37
    src.write_bytes(bytes(data))
    r = convert(src, tmp_path / "ours.dcm")
    assert r.returncode != 0 and "inflate" in r.stderr.lower(), r.stderr
    assert not (tmp_path / "ours.dcm").exists()
    assert not list(tmp_path.glob(".*inflated")), "scratch file left behind"


# --------------------------------------------------------------------------- export


def export(*args) -> subprocess.CompletedProcess:
    return run(dcmdisc_bin(), "export", *args, check=False)


def sample(name: str) -> Path:
    for p in SAMPLES:
        if p.name == name:
            return p
    pytest.skip(f"{name} not installed")


def volume_id(iso: Path) -> str:
    out = run("isoinfo", "-d", "-i", iso).stdout
    return next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Volume id:"))


def test_export_converts_big_endian_and_deflated(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    names = {"MR_small_bigendian.dcm": "be.dcm", "image_dfl.dcm": "dfl.dcm"}
    for name, to in names.items():
        shutil.copy(sample(name), src / to)
    le = tmp_path / "le.dcm"
    generated(16, "OW").save_as(le, enforce_file_format=True)
    run(DCMCONV, "+tb", "-e", le, src / "gen_be.dcm")
    out = tmp_path / "out"
    r = export("--from-folder", src, "--out", out, "--tree")
    assert r.returncode == 0, r.stderr
    assert "skipped" not in r.stderr and "warning" not in r.stderr, r.stderr
    trees = sorted(out.rglob("VOL001"))
    on_disc = {}
    for tree in trees:
        for f in (tree / "DICOM").rglob("*"):
            if f.is_file():
                ds = read(f)
                assert ds.file_meta.TransferSyntaxUID == ELE, f
                on_disc[str(ds.SOPInstanceUID)] = f
    sources = [src / n for n in (*names.values(), "gen_be.dcm")]
    assert len(on_disc) == len(sources), (on_disc, r.stdout)
    for s in sources:
        orig = read(s)
        ours = read(on_disc[str(orig.SOPInstanceUID)])
        ref = tmp_path / f"{s.stem}.dcmtk.dcm"
        run(DCMCONV, "+te", s, ref)
        compare(orig, ours, read(ref))
        assert np.array_equal(orig.pixel_array, ours.pixel_array), s
    for iso in out.rglob("VOL001.iso"):
        assert read(iso.with_suffix("") / "DICOMDIR").DirectoryRecordSequence


def test_export_fails_naming_an_instance_that_cannot_go_on_the_disc(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(sample("MR_small_bigendian.dcm"), src / "good.dcm")
    bad = src / "bad.dcm"
    data = sample("MR_small_bigendian.dcm").read_bytes()
    ds = generated(16, "OW")
    ds.file_meta.TransferSyntaxUID = BE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.add_new(0x00091010, "UN", b"\x00\x01\x02\x03")
        ds.add_new(0x00090010, "LO", "ACME")
        ds.save_as(bad, enforce_file_format=True, little_endian=False, implicit_vr=False)
    (src / "notes.txt").write_text("not DICOM")
    out = tmp_path / "out"
    r = export("--from-folder", src, "--out", out)
    assert r.returncode != 0, r.stdout
    assert str(bad) in r.stderr and "cannot be converted exactly" in r.stderr, r.stderr
    assert "--leave-out-unreadable" in r.stderr, r.stderr
    assert not out.exists() or not any(out.iterdir())
    assert data  # the good file was not the reason

    out2 = tmp_path / "out2"
    r = export("--from-folder", src, "--out", out2, "--tree", "--leave-out-unreadable")
    assert r.returncode == 0, r.stderr
    assert f"left out {bad}" in r.stderr, r.stderr
    readmes = list(out2.rglob("README.TXT"))
    assert readmes
    listed = [p for p in readmes if "LEFT OUT OF THIS DISC" in p.read_text()]
    # The conversion refused the bad file, so its patient is not known: every volume lists it.
    assert listed, [p.read_text() for p in readmes]
    text = listed[0].read_text()
    # The README wraps its lines at 78 columns.
    flat = " ".join(text.split())
    assert f"SOP Instance UID {ds.SOPInstanceUID}" in flat and "bad.dcm" not in text, text


def test_a_foreign_dicomdir_is_reported_as_one(tmp_path: Path):
    src = tmp_path / "src"
    (src / "IMG").mkdir(parents=True)
    le = src / "IMG" / "IM1"
    generated(16, "OW").save_as(le, enforce_file_format=True)
    run("dcmmkdir", "-Pgp", "--output-file", src / "DICOMDIR", "+id", src, "IMG/IM1")
    assert (src / "DICOMDIR").exists()
    out = tmp_path / "out"
    r = export("--from-folder", src, "--out", out, "--tree")
    assert r.returncode == 0, r.stderr
    assert f"{src / 'DICOMDIR'} is a DICOMDIR of another File-set" in r.stderr, r.stderr
    files = [f for f in (out / "VOL001" / "DICOM").rglob("*") if f.is_file()]
    assert len(files) == 1, files


def test_volume_ids_tell_discs_apart_without_patient_data(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    generated(16, "OW").save_as(src / "a.dcm", enforce_file_format=True)
    out = tmp_path / "out"
    r = export("--from-folder", src, "--out", out)
    assert r.returncode == 0, r.stderr
    vid = volume_id(out / "VOL001.iso")
    import re
    assert re.fullmatch(r"\d{6}T\d{4}_1OF1", vid), vid
    assert "BIG" not in vid and "BE1" not in vid


def test_a_volume_id_pattern_that_could_be_invalid_is_refused_at_start(tmp_path: Path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[media]\nvolume_id = "DISC-{n}"\n')
    src = tmp_path / "src"
    src.mkdir()
    generated(16, "OW").save_as(src / "a.dcm", enforce_file_format=True)
    r = run(dcmdisc_bin(), "--config", cfg, "export", "--from-folder", src, "--out", tmp_path / "o",
            check=False)
    assert r.returncode != 0 and "[media] volume_id" in r.stderr, r.stderr
    cfg.write_text('[media]\nvolume_id = "WARD7_{date}_{n}"\n')
    r = run(dcmdisc_bin(), "--config", cfg, "export", "--from-folder", src, "--out", tmp_path / "o")
    vid = volume_id(tmp_path / "o" / "VOL001.iso")
    assert vid.startswith("WARD7_20") and vid.endswith("_1"), vid
