"""Joliet on export volumes (issue 12, item 6): the image carries a Joliet tree with exactly
the names of its Level 1 tree (upper case), read by isoinfo -J and xorriso (-read_fs norock:
Joliet); `[media] joliet = false` leaves it out. Linux mounts without Joliet show Level 1 names
lower-case (the kernel's map=normal); with it, the names as recorded.
"""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

from helpers import dcmdisc_bin, peer_tool
from test_source_syntaxes import generated


def run(*args) -> str:
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, errors="replace",
                       timeout=300)
    assert r.returncode == 0, f"{args[0]} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    return r.stdout + r.stderr


def names(listing: str, joliet: bool) -> set[str]:
    """Every file as PATH/NAME, its version and (Level 1) lone dot stripped."""
    out, here = set(), ""
    for line in listing.splitlines():
        if line.startswith("Directory listing of "):
            here = line[len("Directory listing of "):].strip()
        elif line.startswith("-"):
            name = line.split()[-1].rsplit(";", 1)[0]
            name = name if joliet else name.rstrip(".")
            out.add(here + name)
    return out


def export(tmp: Path, config: str | None = None) -> Path:
    src = tmp / "src"
    src.mkdir(exist_ok=True)
    for i in range(3):
        ds = generated(16, "OW")
        ds.InstanceNumber = i + 1
        ds.save_as(src / f"i{i}.dcm", enforce_file_format=True)
    out = tmp / ("out" if config is None else "out-cfg")
    args = [dcmdisc_bin()]
    if config is not None:
        cfg = tmp / "c.toml"
        cfg.write_text(config)
        args += ["--config", cfg]
    run(*args, "export", "--from-folder", src, "--out", out, "--tree")
    return out


def test_export_volume_has_joliet_with_the_same_names(tmp_path: Path):
    out = export(tmp_path)
    iso = out / "VOL001.iso"
    isoinfo = peer_tool("isoinfo")
    assert "Joliet with UCS level 3 found" in run(isoinfo, "-d", "-i", iso)
    primary = names(run(isoinfo, "-l", "-i", iso), joliet=False)
    joliet = names(run(isoinfo, "-J", "-l", "-i", iso), joliet=True)
    assert primary == joliet and "/DICOMDIR" in joliet and "/README.TXT" in joliet, (primary, joliet)
    assert all(n == n.upper() for n in joliet), joliet
    # Extracted through the Joliet tree, the files equal the --tree output byte for byte.
    ext = tmp_path / "ext"
    run(peer_tool("xorriso"), "-read_fs", "norock", "-osirrox", "on", "-indev", iso, "-extract", "/",
        ext)
    tree = out / "VOL001"
    rel = sorted(p.relative_to(tree) for p in tree.rglob("*") if p.is_file())
    assert rel == sorted(p.relative_to(ext) for p in ext.rglob("*") if p.is_file())
    for r in rel:
        assert filecmp.cmp(tree / r, ext / r, shallow=False), r


def test_joliet_false_leaves_it_out(tmp_path: Path):
    out = export(tmp_path, "[media]\njoliet = false\n")
    d = run(peer_tool("isoinfo"), "-d", "-i", out / "VOL001.iso")
    assert "NO Joliet present" in d, d
