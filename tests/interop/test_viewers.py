"""The third-party viewer folder (issue 12 item 6, `[media] viewer_folder`): copied opaque to
VIEWERS/ on every volume, names upper-cased and nothing else (strict Level 1 with a Joliet tree
of the same names); read back with isoinfo (-l, -J) and extracted with xorriso -osirrox, every
file byte-identical to the source; counted in the volume's capacity before instances are
placed, so a viewer that makes the volume too full splits the patient over more volumes; a
missing folder or a name the disc cannot carry stops the export with the file named."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

from helpers import dcmdisc_bin, peer_tool
from test_export import make_instance, volumes
from test_joliet import names, run


NO_WEB = "[media]\nweb_content = false\n"


def viewer_folder(root: Path, big: int = 0) -> dict[str, bytes]:
    """A viewer as its maker ships it: mixed-case names, a lib folder, programs. Returns the
    expected name on the volume of each file and its bytes."""
    files = {
        "Viewer.exe": b"MZ\x90\x00" + os.urandom(3000),
        "lib/Qt5Core.dll": b"MZ\x90\x00" + os.urandom(70_000),
        "lib/plugins/qjpeg.dll": b"MZ" + os.urandom(100),
        "run.sh": b"#!/bin/sh\nexec ./viewer\n",
        "ReadMe.txt": b"A viewer.\r\n",
        "EMPTY.DAT": b"",
    }
    if big:
        files["data/blob.bin"] = os.urandom(big)
    out = {}
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        out["VIEWERS/" + rel.upper()] = data
    return out


def export(tmp: Path, config: str, *args, check=True) -> subprocess.CompletedProcess:
    cfg = tmp / "c.toml"
    cfg.write_text(config)
    r = subprocess.run([str(dcmdisc_bin()), "--config", str(cfg), "export", *map(str, args)],
                       capture_output=True, text=True, errors="replace", timeout=600)
    if check:
        assert r.returncode == 0, f"export exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    return r


def instances(src: Path, n: int, size: int) -> None:
    src.mkdir(parents=True, exist_ok=True)
    study, series = generate_uid(), generate_uid()
    for i in range(n):
        make_instance(src / f"i{i:03d}.dcm", "VIEWER1", study, series, i + 1, size)


def test_viewer_folder_on_the_volume_byte_identical(tmp_path: Path):
    expected = viewer_folder(tmp_path / "viewer")
    instances(tmp_path / "src", 3, 20_000)
    out = tmp_path / "out"
    export(tmp_path, '[media]\nviewer_folder = "viewer"\n', "--from-folder", tmp_path / "src", "--out", out,
           "--tree")
    (tree, iso), = volumes(out)
    isoinfo = peer_tool("isoinfo")
    primary = names(run(isoinfo, "-l", "-i", iso), joliet=False)
    joliet = names(run(isoinfo, "-J", "-l", "-i", iso), joliet=True)
    want = {"/" + n for n in expected}
    assert want <= primary and want <= joliet, (want - primary, want - joliet)
    assert primary == joliet
    # Extracted through the Joliet tree (the names a Windows or Linux mount shows) and through
    # the Level 1 tree alone: every file as the viewer's maker shipped it.
    for joliet_on in (True, False):
        how = ["-read_fs", "norock"] + ([] if joliet_on else ["-joliet", "off"])
        ext = tmp_path / f"ext-{joliet_on}"
        run(peer_tool("xorriso"), *how, "-osirrox", "on", "-indev", iso, "-extract", "/", ext)
        # Through Joliet the names are exactly as recorded; the Level 1 tree alone may be shown
        # in another case by the reader.
        got = {}
        for p in ext.rglob("*"):
            rel = str(p.relative_to(ext))
            if p.is_file() and rel.upper().startswith("VIEWERS/"):
                got[rel if joliet_on else rel.upper()] = p.read_bytes()
        assert got == expected, sorted(set(got) ^ set(expected))
    assert {str(p.relative_to(tree)): p.read_bytes()
            for p in (tree / "VIEWERS").rglob("*") if p.is_file()} == expected
    # Listed by README.TXT and INDEX.HTM, hashed in MANIFEST.TXT (sha256sum -c on the tree).
    assert "VIEWERS/" in (tree / "README.TXT").read_text()
    assert "VIEWERS/" in (tree / "INDEX.HTM").read_text()
    subprocess.run(["xmllint", "--noout", tree / "INDEX.HTM"], check=True, timeout=60)
    manifest = (tree / "MANIFEST.TXT").read_bytes().decode("ascii")
    for name, data in expected.items():
        assert f"{hashlib.sha256(data).hexdigest()}  {name}\r\n" in manifest, name
    subprocess.run(["sha256sum", "--quiet", "-c", "MANIFEST.TXT"], cwd=tree, check=True, timeout=120)
    # The DICOM File-set does not see it.
    ds = pydicom.dcmread(tree / "DICOMDIR")
    assert all("VIEWERS" not in str(r.get("ReferencedFileID", "")) for r in ds.DirectoryRecordSequence)


def test_viewer_counted_before_instances_are_placed(tmp_path: Path):
    """Instances that fit one 1 MB volume alone; with a 600 kB viewer they need two, each
    within the capacity and each with the whole viewer. The web content is off: its own
    reserve (pages, thumbnails) would leave a 1 MB volume no room beside this viewer, and it
    is counted in test_web_content.py."""
    instances(tmp_path / "src", 6, 100_000)
    alone = tmp_path / "alone"
    export(tmp_path, NO_WEB, "--from-folder", tmp_path / "src", "--out", alone, "--capacity-mb", 1)
    assert len(volumes(alone)) == 1
    expected = viewer_folder(tmp_path / "viewer", big=600_000)
    out = tmp_path / "out"
    export(tmp_path, NO_WEB + 'viewer_folder = "viewer"\n', "--from-folder", tmp_path / "src", "--out", out,
           "--tree", "--capacity-mb", 1)
    vols = volumes(out)
    assert len(vols) >= 2, vols
    for tree, iso in vols:
        assert iso.stat().st_size <= 1024 * 1024, iso
        assert {str(p.relative_to(tree)): p.read_bytes()
                for p in (tree / "VIEWERS").rglob("*") if p.is_file()} == expected
    # A viewer bigger than the volume itself: a clear error, nothing left behind.
    viewer_folder(tmp_path / "huge", big=1_200_000)
    r = export(tmp_path, NO_WEB + 'viewer_folder = "huge"\n', "--from-folder", tmp_path / "src", "--out",
               tmp_path / "out-huge", "--capacity-mb", 1, check=False)
    assert r.returncode != 0 and not list((tmp_path / "out-huge").glob("VOL*")), r.stderr
    assert "the viewer folder" in r.stderr and "huge" in r.stderr, r.stderr


def test_missing_folder_or_long_name_is_refused_with_the_file_named(tmp_path: Path):
    instances(tmp_path / "src", 1, 1000)
    r = export(tmp_path, '[media]\nviewer_folder = "nowhere"\n', "--from-folder", tmp_path / "src", "--out",
               tmp_path / "o1", check=False)
    assert r.returncode != 0 and "[media] viewer_folder" in r.stderr and "nowhere" in r.stderr, r.stderr
    viewer_folder(tmp_path / "viewer")
    (tmp_path / "viewer" / "lib" / "Qt5Widgets.dll").write_bytes(b"MZ")
    r = export(tmp_path, '[media]\nviewer_folder = "viewer"\n', "--from-folder", tmp_path / "src", "--out",
               tmp_path / "o2", check=False)
    assert r.returncode != 0 and "Qt5Widgets.dll" in r.stderr and "8.3" in r.stderr, r.stderr
    assert not (tmp_path / "o2").exists() or not list((tmp_path / "o2").iterdir())
