"""Import-time destination transfer syntax (statement 4.1.2.1) and `dcmdisc convert`."""

from __future__ import annotations

import subprocess

import pydicom

from corpus import sample_corpus
from helpers import ELE, ILE, LOCALHOST, OUR_AE, STORESCU, dcmdisc_bin, unavailable


def test_explicit_le_on_import(dcmdisc_factory):
    server = dcmdisc_factory("conv", storage_provider={"destination_transfer_syntax": "explicit-le"})
    implicit = [f for f in sample_corpus() if f.transfer_syntax == ILE][:2]
    rle = [f for f in sample_corpus() if f.transfer_syntax == "1.2.840.10008.1.2.5"][:1]
    if not implicit:
        unavailable("no Implicit VR sample in the corpus")
    server.start()
    subprocess.run([STORESCU, "-aec", OUR_AE, "-xi", LOCALHOST, str(server.port), *[str(f.path) for f in implicit]],
                   check=True, capture_output=True, timeout=60)
    if rle:
        subprocess.run([STORESCU, "-aec", OUR_AE, "-xr", LOCALHOST, str(server.port), str(rle[0].path)],
                       check=True, capture_output=True, timeout=60)
    rows = server.instances_by_uid()
    for f in implicit + rle:
        (row,) = rows[f.sop_instance]
        assert row["transfer_syntax"] == ELE
        stored = pydicom.dcmread(row["path"])
        source = pydicom.dcmread(f.path)
        assert stored.file_meta.TransferSyntaxUID == ELE
        # The seal covered the dataset as received; the converted file must not carry it.
        assert 0x00020100 not in stored.file_meta and 0x00020102 not in stored.file_meta
        for elem in source:
            if elem.tag.group in (0x7FE0, 0x0028, 0x0002) or elem.tag == 0x00082111:
                continue
            assert stored[elem.tag].value == elem.value, elem.tag


def test_convert_command(tmp_path):
    implicit = [f for f in sample_corpus() if f.transfer_syntax == ILE][:1]
    if not implicit:
        unavailable("no Implicit VR sample in the corpus")
    out = tmp_path / "out.dcm"
    r = subprocess.run([str(dcmdisc_bin()), "convert", str(implicit[0].path), str(out), "--to", "explicit-le"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert pydicom.dcmread(out).file_meta.TransferSyntaxUID == ELE
    r = subprocess.run([str(dcmdisc_bin()), "convert", str(implicit[0].path), str(out), "--to", "jpeg"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "explicit-le" in r.stderr


def test_converted_files_survive_recovery(dcmdisc_factory):
    """After a power loss took the index rows, converted archive files are re-indexed, not
    mistaken for files a crash cut short."""
    server = dcmdisc_factory("convrec", storage_provider={"destination_transfer_syntax": "explicit-le"})
    implicit = [f for f in sample_corpus() if f.transfer_syntax == ILE][:2]
    if not implicit:
        unavailable("no Implicit VR sample in the corpus")
    server.start()
    subprocess.run([STORESCU, "-aec", OUR_AE, "-xi", LOCALHOST, str(server.port), *[str(f.path) for f in implicit]],
                   check=True, capture_output=True, timeout=60)
    before = {r["sop_instance_uid"]: r["path"] for r in server.instances()}
    assert len(before) == len(implicit)
    assert server.stop() == 0
    server.lose_index_rows()
    server.start()
    after = {r["sop_instance_uid"]: r["path"] for r in server.instances()}
    assert after == before
