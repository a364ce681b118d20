"""The IHE PDI frame of every volume (issue 12 items 3, 6, 7, 9): README.TXT, INDEX.HTM,
AUTORUN.INF, VALIDATE.TXT and MANIFEST.TXT beside DICOMDIR, DICOM/ and IHE_PDI/, checked on the ISO image
extracted with xorriso (a case-sensitive copy) by tools that are not ours: xmllint (well-formed,
and valid against the XHTML 1.0 Strict DTD from w3c-sgml-lib), sha256sum, pydicom's DICOMDIR
reader and character set decoders, isoinfo. The checks are those of
shared/research/pdi-viewer.md section 8 on the root files; the web content's are in
test_web_content.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from helpers import dcmdisc_bin, peer_tool, unavailable

XHTML = "{http://www.w3.org/1999/xhtml}"
OWN_FILES = {"README.TXT", "INDEX.HTM", "AUTORUN.INF", "VALIDATE.TXT", "MANIFEST.TXT"}
INSTITUTION = "Example Hospital & <Radiology>"
CONTACT = "Imaging desk, +1 555 0100"
# The generated patient: none of this may appear in README.TXT or VALIDATE.TXT.
PATIENT = {"name": "PDISECRET^PATIENT", "id": "PDI-ID-777", "birth": "19451231"}
# pydicom's character set test files: ISO 2022 IR 87, ISO 2022 IR 149, GB18030, UTF-8.
CHARSET_FILES = ("chrH31.dcm", "chrI2.dcm", "chrX2.dcm", "chrX1.dcm")
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",
                    b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!")
EXECUTABLE_SUFFIX = (".EXE", ".DLL", ".BAT", ".CMD", ".COM", ".HTA", ".VBS", ".SCR", ".PS1", ".JS", ".SH")


def instance(path: Path, study: str, series: str, series_no: int, number: int, study_desc: str,
             series_desc: str, side: int):
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = PATIENT["name"], PATIENT["id"], PATIENT["birth"]
    ds.PatientSex = "O"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20260101", "120000", "7", "ACC7"
    ds.StudyDescription, ds.SeriesDescription = study_desc, series_desc
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "OT", series_no, number
    ds.ConversionType = "WSD"
    ds.Rows = ds.Columns = side
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = (np.arange(side * side, dtype=np.uint16) * number).tobytes()
    ds.save_as(path, enforce_file_format=True)


def source_folder(src: Path, charset_files: bool, side: int = 64) -> None:
    src.mkdir(parents=True)
    n = 0
    for s in range(2):
        study = generate_uid()
        for r in range(2):
            series = generate_uid()
            for i in range(3):
                n += 1
                instance(src / f"i{n:03d}.dcm", study, series, r + 1, i + 1,
                         f"Study {s} & <more>", f"Series \"{r}\"", side)
    if charset_files:
        for name in CHARSET_FILES:
            (src / name).write_bytes(Path(pydicom.data.get_charset_files(name)[0]).read_bytes())


def export(tmp: Path, src: Path, *extra) -> Path:
    cfg = tmp / "dcmdisc.toml"
    cfg.write_text(f'[media]\ninstitution = "{INSTITUTION}"\ncontact = "{CONTACT}"\n')
    out = tmp / "out"
    r = subprocess.run([str(dcmdisc_bin()), "export", "--config", str(cfg), "--from-folder", str(src),
                        "--out", str(out), *map(str, extra)], capture_output=True, text=True,
                       errors="replace", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return out


def extract(iso: Path, tmp: Path) -> Path:
    ext = tmp / ("x-" + "-".join(iso.relative_to(tmp).with_suffix("").parts))
    subprocess.run([peer_tool("xorriso"), "-osirrox", "on", "-indev", str(iso), "-extract", "/", str(ext)],
                   capture_output=True, check=True, timeout=300)
    return ext


def files_of(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def sha256sum(path: Path) -> str:
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.split()[0]


def person_name(decoded: str) -> str:
    """How INDEX.HTM shows a decoded Person Name: components by spaces, groups by ' = '."""
    groups = [" ".join(c.strip() for c in g.split("^") if c.strip()) for g in decoded.split("=")]
    return " = ".join(g for g in groups if g)


def dicomdir_hierarchy(root: Path):
    """(patients, studies, series) of the volume's DICOMDIR as pydicom reads it, with each
    series' folder and instance count."""
    dd = pydicom.dcmread(root / "DICOMDIR")
    at = {r.seq_item_tell: r for r in dd.DirectoryRecordSequence}

    def chain(offset):
        while offset:
            r = at[offset]
            yield r
            offset = r.OffsetOfTheNextDirectoryRecord

    def children(r):
        return list(chain(r.OffsetOfReferencedLowerLevelDirectoryEntity))

    patients, studies, series = [], [], []
    for p in chain(dd.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity):
        patients.append(p)
        for st in children(p):
            studies.append((st, children(st)))
            for se in children(st):
                leaves = [x for x in children(se) if "ReferencedFileID" in x]
                folder = "/".join(list(leaves[0].ReferencedFileID)[:4])
                series.append((se, folder, len(leaves)))
    return patients, studies, series


def check_names_and_tree(iso: Path, root: Path):
    # The primary tree as isoinfo lists it: 8.3 upper-case names with version ;1.
    listing = subprocess.run([peer_tool("isoinfo"), "-l", "-i", str(iso)], capture_output=True, text=True,
                             timeout=60).stdout
    names = [l.split()[-1] for l in listing.splitlines() if l.startswith("-")]
    assert names, listing
    for n in names:
        assert re.fullmatch(r"[A-Z0-9_]{1,8}\.[A-Z0-9_]{0,3};1", n), n
    for d in re.findall(r"^Directory listing of (\S+)", listing, re.M):
        for part in [p for p in d.split("/") if p]:
            assert re.fullmatch(r"[A-Z0-9_]{1,8}", part), d
    # The extracted copy: the same rules, depth at most 8.
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        assert len(rel.parts) <= 8, rel
        pattern = r"[A-Z0-9_]{1,8}" if p.is_dir() else r"[A-Z0-9_]{1,8}(\.[A-Z0-9_]{1,3})?"
        assert re.fullmatch(pattern, p.name), rel
    top = {p.name for p in root.iterdir()}
    # `[media] web_content` is on by default: the IHE_PDI folder (test_web_content.py).
    assert top == OWN_FILES | {"DICOMDIR", "DICOM", "IHE_PDI", "VIEWER"}, top


def check_no_executable(root: Path):
    for f in files_of(root):
        assert not f.name.upper().endswith(EXECUTABLE_SUFFIX), f
        head = f.read_bytes()[:4]
        assert not head.startswith(EXECUTABLE_MAGIC), f
        is_dicom = f.read_bytes()[128:132] == b"DICM"
        # DICOM/ holds DICOM files only, and nothing else is one.
        assert is_dicom == (f.relative_to(root).parts[0] == "DICOM" or f.name == "DICOMDIR"), f
    lines = (root / "AUTORUN.INF").read_bytes().decode("ascii").split("\r\n")
    assert lines[0] == "[autorun]" and lines[-1] == "", lines
    assert lines[1] == "shellexecute=INDEX.HTM", lines
    assert all(re.fullmatch(r"label=[A-Z0-9_ ]{1,32}", l) for l in lines[2:-1]), lines


def check_text_without_patient_data(root: Path, secrets: list[str]):
    for name in ("README.TXT", "VALIDATE.TXT", "AUTORUN.INF", "MANIFEST.TXT"):
        data = (root / name).read_bytes()
        assert data.isascii(), name
        text = data.decode("ascii")
        assert "\n" not in text.replace("\r\n", ""), f"{name}: a line not ended by CRLF"
        for s in secrets:
            assert s not in text, f"{name} holds patient data {s!r}"
    readme = (root / "README.TXT").read_bytes().decode("ascii")
    assert all(len(l) <= 78 for l in readme.split("\r\n")), readme
    for want in (f"Institution:  {INSTITUTION}", f"Contact:      {CONTACT}", "Written by:   dcmdisc ",
                 "HOW THE DISC IS ORGANISED", "DICOMDIR", "DICOM/", "INDEX.HTM", "MANIFEST.TXT",
                 "CONFORMANCE", "STD-GEN-CD"):
        assert want in readme, f"README.TXT lacks {want!r}:\n{readme}"


def check_index(root: Path, number: int, count: int) -> ET.Element:
    index = root / "INDEX.HTM"
    subprocess.run([peer_tool("xmllint"), "--noout", "--nonet", str(index)], check=True, timeout=60)
    catalog = Path("/etc/xml/catalog")
    if not (catalog.exists() and Path("/usr/share/xml/w3c-sgml-lib").exists()):
        unavailable("the XHTML DTDs (Debian w3c-sgml-lib, which scripts/test.sh installs) are missing")
    r = subprocess.run([peer_tool("xmllint"), "--noout", "--nonet", "--valid", str(index)],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "XML_CATALOG_FILES": str(catalog)})
    assert r.returncode == 0, f"INDEX.HTM is not valid XHTML 1.0 Strict:\n{r.stderr}"
    text = index.read_text("utf-8")
    # No CSS, no script (DRG 3.2.1.10), no frames.
    for banned in ("<style", "style=", "<link", "<script", "<iframe", "<frame", "javascript:"):
        assert banned not in text.lower(), banned
    tree = ET.parse(index).getroot()
    assert tree.tag == f"{XHTML}html"
    # No network reference: in no attribute (the namespace is a name, not a reference) and
    # nowhere in the text. The DOCTYPE's system identifier is the only other place with one.
    for el in tree.iter():
        for k, v in el.attrib.items():
            assert "//" not in v and not re.match(r"\s*[a-z][a-z0-9+.-]*:", v, re.I), (el.tag, k, v)
    body = text.split(">", 1)[1]
    assert not re.search(r"(https?:|ftp:|//)", body.replace('xmlns="http://www.w3.org/1999/xhtml"', "")), \
        "a network URL in INDEX.HTM"
    # Every link resolves on this case-sensitive copy, written exactly as the recorded name.
    hrefs = [el.get("href") or el.get("src") for el in tree.iter() if el.get("href") or el.get("src")]
    assert {"README.TXT", "MANIFEST.TXT", "VALIDATE.TXT"} <= set(hrefs), hrefs
    for h in hrefs:
        assert not h.startswith("/") and ".." not in h and "?" not in h and "#" not in h, h
        target = root / h
        assert target.is_file(), f"{h} does not resolve in {root}"
        parent = root
        for part in Path(h).parts:
            assert part in os.listdir(parent), f"{h}: {part} is not recorded with that case"
            parent = parent / part
    words = " ".join(tree.itertext())
    assert f"Disc {number} of {count}" in words, words
    assert INSTITUTION in words and CONTACT in words
    return tree


def check_manifest_of_volume(tree: ET.Element, root: Path):
    """INDEX.HTM lists exactly this volume's patients, studies and series, with their counts."""
    patients, studies, series = dicomdir_hierarchy(root)
    words = " ".join(tree.itertext())
    rows = [[("".join(td.itertext())) for td in tr.findall(f"{XHTML}td")] for tr in tree.iter(f"{XHTML}tr")]
    series_rows = [r for r in rows if len(r) == 5]
    assert len(series_rows) == len(series), (series_rows, series)
    for (se, folder, n), row in zip(series, series_rows):
        assert row[1] == se.Modality and row[3] == str(n) and row[4] == folder, (row, folder, n)
        assert (root / folder).is_dir()
    assert len(tree.findall(f".//{XHTML}h3")) == len(studies)
    by_series = {id(se): n for se, _, n in series}
    for _, st_series in studies:
        n_series = len(st_series)
        n_inst = sum(by_series[id(se)] for se in st_series)
        assert f"{n_series} series, {n_inst} instances on this disc" in words, words
    assert len(patients) == 1
    report = (root / "VALIDATE.TXT").read_text("ascii")
    assert "RESULT: PASSED" in report, report
    counts = Counter(r.DirectoryRecordType for r in pydicom.dcmread(root / "DICOMDIR").DirectoryRecordSequence)
    for rt, n in counts.items():
        assert f"{n} {rt}" in report, (rt, n, report)


def check_sha256_manifest(root: Path):
    lines = (root / "MANIFEST.TXT").read_bytes().decode("ascii").split("\r\n")
    assert lines[-1] == ""
    listed = dict(reversed(l.split("  ", 1)) for l in lines[:-1])
    on_disc = {str(f.relative_to(root)) for f in files_of(root)} - {"MANIFEST.TXT"}
    assert set(listed) == on_disc, set(listed) ^ on_disc
    for rel, h in listed.items():
        assert h == sha256sum(root / rel), rel
    r = subprocess.run(["sha256sum", "--strict", "-c", "MANIFEST.TXT"], cwd=root, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_volume_carries_its_pdi_frame(tmp_path):
    """Several patients (pydicom's ISO 2022 IR 87 / IR 149, GB18030 and UTF-8 names among
    them), each on its own volume: every check of section 8 that applies, on each extracted
    image; the names decoded in INDEX.HTM as pydicom decodes them."""
    src = tmp_path / "src"
    source_folder(src, charset_files=True)
    out = export(tmp_path, src)
    isos = sorted(out.rglob("VOL*.iso"))
    assert len(isos) == 1 + len(CHARSET_FILES), isos
    names = {}
    for name in CHARSET_FILES:
        ds = pydicom.dcmread(pydicom.data.get_charset_files(name)[0])
        names[str(ds.PatientID)] = person_name(str(ds.PatientName))
    names[PATIENT["id"]] = person_name(PATIENT["name"])
    secrets = [PATIENT["name"], "PDISECRET", PATIENT["id"], PATIENT["birth"], "1945-12-31"]
    secrets += [s for pid, n in names.items() for s in (pid, n)]
    seen = set()
    for iso in isos:
        root = extract(iso, tmp_path)
        check_names_and_tree(iso, root)
        check_no_executable(root)
        check_text_without_patient_data(root, secrets)
        tree = check_index(root, 1, 1)
        check_manifest_of_volume(tree, root)
        check_sha256_manifest(root)
        pid = str(dicomdir_hierarchy(root)[0][0].PatientID)
        cells = ["".join(td.itertext()) for td in tree.iter(f"{XHTML}td")]
        assert names[pid] in cells, (pid, names[pid], cells[:4])
        seen.add(pid)
    assert seen == set(names)


def test_a_patient_on_several_volumes_lists_only_each_volumes_part(tmp_path):
    """Split by capacity: each volume's INDEX.HTM says "Disc n of m" and lists only the
    studies and series of its own DICOMDIR; each MANIFEST.TXT holds its own files."""
    src = tmp_path / "src"
    # 128 KiB of pixel data each: 12 instances need two volumes of 1 MiB.
    source_folder(src, charset_files=False, side=256)
    out = export(tmp_path, src, "--capacity-mb", 1)
    isos = sorted(out.rglob("VOL*.iso"))
    assert len(isos) >= 2, isos
    total = 0
    for n, iso in enumerate(isos, 1):
        assert iso.stat().st_size <= 1 << 20
        root = extract(iso, tmp_path)
        check_names_and_tree(iso, root)
        tree = check_index(root, n, len(isos))
        check_manifest_of_volume(tree, root)
        check_sha256_manifest(root)
        total += sum(n for _, _, n in dicomdir_hierarchy(root)[2])
    assert total == 12
