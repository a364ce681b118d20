"""No executable anywhere on a volume but VIEWERS/ (issue 12 item 6, DRG 2.2/2.3): over the
tree xorriso extracts from the image (and the --tree copy), no file outside VIEWERS/ starts as
a PE (MZ), ELF, Mach-O or Java class file or with `#!`, none has a program's extension, none
has an execute bit in the --tree copy (the image has no Rock Ridge, so no modes); AUTORUN.INF only opens INDEX.HTM (no open=, no icon from a
program, nothing but shellexecute and label). The viewer folder given here holds one of each
kind, so a file of it copied anywhere else is caught.

The web content (IHE_PDI/, a script under VIEWER/) is another change's: only what exists today
is checked, plus VIEWERS/."""

from __future__ import annotations

import configparser
import os
import stat
from pathlib import Path

from helpers import peer_tool
from test_joliet import run
from test_export import volumes
from test_viewers import export, instances, viewer_folder

MAGIC = {
    b"MZ": "PE/DOS executable",
    b"\x7fELF": "ELF executable",
    b"\xfe\xed\xfa\xce": "Mach-O", b"\xfe\xed\xfa\xcf": "Mach-O",
    b"\xce\xfa\xed\xfe": "Mach-O", b"\xcf\xfa\xed\xfe": "Mach-O",
    b"\xca\xfe\xba\xbe": "Mach-O universal or Java class",
    b"#!": "script",
}
# Windows runs or scripts these by their extension alone.
EXTENSIONS = {".EXE", ".BAT", ".CMD", ".COM", ".SCR", ".JS", ".JSE", ".VBS", ".VBE", ".WSF", ".WSH",
              ".PS1", ".MSI", ".MSP", ".LNK", ".PIF", ".CPL", ".DLL", ".HTA", ".JAR", ".SH", ".APP"}


def executables(root: Path, modes: bool = False) -> list[str]:
    """Every file under root, outside VIEWERS/, that is or looks like a program. `modes`:
    also an execute bit (only a tree we wrote has modes: the image has no Rock Ridge, so
    xorriso gives every extracted file the same default mode)."""
    found = []
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        rel = p.relative_to(root)
        if rel.parts[0].upper() == "VIEWERS":
            continue
        head = p.read_bytes()[:4]
        kinds = [k for m, k in MAGIC.items() if head.startswith(m)]
        if p.suffix.upper() in EXTENSIONS:
            kinds.append(f"extension {p.suffix}")
        if modes and p.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
            kinds.append("execute bit")
        if kinds:
            found.append(f"{rel}: {', '.join(kinds)}")
    return found


def check_autorun(root: Path) -> None:
    inf = configparser.ConfigParser(interpolation=None)
    inf.read_string((root / "AUTORUN.INF").read_text(encoding="ascii"))
    assert inf.sections() == ["autorun"], inf.sections()
    keys = dict(inf["autorun"])
    assert set(keys) <= {"shellexecute", "label"}, keys
    assert keys["shellexecute"] == "INDEX.HTM" and (root / "INDEX.HTM").is_file(), keys


def test_no_executable_outside_viewers(tmp_path: Path):
    viewer_folder(tmp_path / "viewer")
    (tmp_path / "viewer" / "macos.bin").write_bytes(b"\xcf\xfa\xed\xfe" + os.urandom(64))
    (tmp_path / "viewer" / "linux").write_bytes(b"\x7fELF" + os.urandom(64))
    (tmp_path / "viewer" / "START.BAT").write_bytes(b"@echo off\r\n")
    instances(tmp_path / "src", 3, 20_000)
    out = tmp_path / "out"
    export(tmp_path, '[media]\nviewer_folder = "viewer"\n', "--from-folder", tmp_path / "src", "--out", out,
           "--tree")
    (tree, iso), = volumes(out)
    ext = tmp_path / "ext"
    run(peer_tool("xorriso"), "-read_fs", "norock", "-osirrox", "on", "-indev", iso, "-extract", "/", ext)
    for root, modes in ((ext, False), (tree, True)):
        # The check sees the viewer's programs where they belong...
        assert len(list((root / "VIEWERS").rglob("*"))) >= 9
        # ...and none elsewhere.
        assert not executables(root, modes), executables(root, modes)
        check_autorun(root)
    # The check itself finds a program put anywhere else.
    (ext / "DICOM" / "RUN.EXE").write_bytes(b"MZ\x90\x00")
    (ext / "NOTES.TXT").write_bytes(b"#!/bin/sh\n")
    assert len(executables(ext)) == 2
