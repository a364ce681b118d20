"""Start-up recovery: the archive folder is the durable record, the index follows it.

A power loss can take the last index commits (they are not synced per instance) but never an
acknowledged archive file. Files are written in place, so a crash can also leave files that
were still arriving, cut short anywhere (even at an element boundary, where they still parse):
the seal in their File Meta (dataset length + XXH3-64, written last) tells them apart. These
tests play the aftermath: index rows lost, a row whose file is gone, a file that is not a valid
instance, files a crash cut short.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pydicom
from pydicom.uid import generate_uid

import rawdul
from helpers import LOCALHOST, association, encode_dataset, make_dataset, store_file, wait_until, write_dataset
from test_robustness import STORE_CONTEXTS
from test_streaming import send_half_a_store


def test_lost_index_rows_are_rebuilt_from_the_archive(server, tmp_path):
    datasets = [make_dataset(pixel_bytes=4096) for _ in range(3)]
    paths = [write_dataset(ds, tmp_path / f"i{n}.dcm") for n, ds in enumerate(datasets)]
    with association(server, STORE_CONTEXTS) as assoc:
        for p in paths:
            assert store_file(assoc, p) == 0
    before = {r["sop_instance_uid"]: r for r in server.instances()}
    assert len(before) == 3
    assert server.stop() == 0

    lost = str(datasets[0].SOPInstanceUID)
    gone = str(datasets[1].SOPInstanceUID)
    server.lose_index_rows(lost)  # a commit the power loss took
    Path(before[gone]["path"]).unlink()  # a file removed after its row was written
    junk_dir = server.data_dir / "archive" / "zz"
    junk_dir.mkdir(exist_ok=True)
    junk = junk_dir / "junk.dcm"
    junk.write_bytes(b"\0" * 128 + b"DICM" + b"garbage")  # not a complete instance

    server.start()
    after = {r["sop_instance_uid"]: r for r in server.instances()}
    assert lost in after and after[lost]["path"] == before[lost]["path"]
    assert after[lost]["calling_ae"] == before[lost]["calling_ae"]
    assert gone not in after
    assert str(datasets[2].SOPInstanceUID) in after
    assert not junk.exists()
    assert any("re-indexed" in e["reason"] for e in server.log())


def test_the_newest_copy_wins_when_both_are_unindexed(server, tmp_path):
    uid = make_dataset().SOPInstanceUID
    old = write_dataset(make_dataset(sop_instance=str(uid), StudyDescription="OLD"), tmp_path / "old.dcm")
    new = write_dataset(make_dataset(sop_instance=str(uid), StudyDescription="NEW"), tmp_path / "new.dcm")
    with association(server, STORE_CONTEXTS) as assoc:
        assert store_file(assoc, old) == 0
    (row,) = server.instances()
    old_copy = Path(row["path"]).with_name("oldcopy.dcm")
    shutil.copy2(row["path"], old_copy)  # as if the replaced file's removal was lost
    with association(server, STORE_CONTEXTS) as assoc:
        assert store_file(assoc, new) == 0
    assert server.stop() == 0
    server.lose_index_rows()
    server.start()
    rows = server.instances()
    assert len(rows) == 1
    assert b"NEW" in Path(rows[0]["path"]).read_bytes()
    assert not old_copy.exists()


SEAL_CREATOR = "2.25.267312939302375511414433714362251802968.1"


def test_stored_files_carry_a_seal_of_their_dataset(server, tmp_path):
    src = write_dataset(make_dataset(pixel_bytes=300_000), tmp_path / "a.dcm")
    with association(server, STORE_CONTEXTS) as assoc:
        assert store_file(assoc, src) == 0
    (row,) = server.instances()
    meta = pydicom.filereader.read_file_meta_info(row["path"])
    assert meta[0x00020100].value == SEAL_CREATOR
    seal = meta[0x00020102].value
    assert len(seal) == 16
    data = Path(row["path"]).read_bytes()
    dataset_len = int.from_bytes(seal[:8], "little")
    assert dataset_len == len(data) - data.index(bytes(seal)) - 16


def test_files_a_crash_cut_short_are_removed_not_indexed(server, tmp_path):
    ds = make_dataset(pixel_bytes=200_000)
    src = write_dataset(ds, tmp_path / "a.dcm")
    with association(server, STORE_CONTEXTS) as assoc:
        assert store_file(assoc, src) == 0
    (row,) = server.instances()
    assert server.stop() == 0
    stored = Path(row["path"])
    data = stored.read_bytes()
    seal_at = data.index(SEAL_CREATOR.encode()) + len(SEAL_CREATOR) + 12  # UI value, then (0002,0102) OB header
    pixel_at = data.rindex(b"\xe0\x7f\x10\x00")  # (7FE0,0010): cutting here leaves a dataset that parses
    cut = stored.with_name("cut.dcm")
    cut.write_bytes(data[:pixel_at])
    unset = stored.with_name("unset.dcm")
    unset.write_bytes(data[:seal_at] + b"\xff" * 16 + data[seal_at + 16 :])
    flipped = stored.with_name("flipped.dcm")
    flipped.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    server.lose_index_rows()

    server.start()
    rows = server.instances()
    assert [r["path"] for r in rows] == [str(stored)]
    for f in (cut, unset, flipped):
        assert not f.exists(), f


def test_a_crash_mid_transfer_leaves_nothing_after_restart(server):
    """SIGKILL while an instance is arriving: its file is in the archive folder, unsealed;
    the next start removes it and indexes nothing."""
    uid = generate_uid()
    data = encode_dataset(make_dataset(sop_instance=uid, pixel_bytes=2 * 1024 * 1024))
    before = server.archive_files()
    piece = data[4096:8192]

    def holds_part_of_the_dataset():
        # Some of what was sent is in the new file (written in place; where its File Meta
        # and first bytes go is the writer's business): the crash leaves a file with content.
        return any(piece in p.read_bytes() for p in set(server.archive_files()) - set(before))

    with rawdul.RawClient(LOCALHOST, server.port) as client:
        send_half_a_store(client, server, uid, data)
        assert wait_until(holds_part_of_the_dataset, timeout=10), \
            "no new archive file holds the dataset's second 4 KiB 10 s after 1 MiB of it was sent"
        server.kill()
    partial = set(server.archive_files()) - set(before)
    assert partial, "the crash left no partial file: nothing to recover"
    server.start()
    assert server.archive_files() == before, f"left after restart: {sorted(set(server.archive_files()) - set(before))}"
    assert uid not in server.instances_by_uid()
