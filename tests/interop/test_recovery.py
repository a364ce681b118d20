"""Start-up recovery: the archive folder is the durable record, the index follows it.

A power loss can take the last index commits (they are not synced per instance) but never an
archive file, which is renamed into place only once its data is on disk. These tests play the
aftermath: index rows lost, a row whose file is gone, a file that is not a valid instance.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from helpers import association, make_dataset, store_file, write_dataset
from test_robustness import STORE_CONTEXTS


def test_lost_index_rows_are_rebuilt_from_the_archive(server, tmp_path):
    datasets = [make_dataset(pixel_bytes=4096) for _ in range(3)]
    paths = [write_dataset(ds, tmp_path / f"i{n}.dcm") for n, ds in enumerate(datasets)]
    with association(server, STORE_CONTEXTS) as assoc:
        for p in paths:
            assert store_file(assoc, p) == 0
    before = {r["sop_instance_uid"]: r for r in server.instances()}
    assert len(before) == 3
    assert server.stop() == 0

    db = sqlite3.connect(server.data_dir / "control.sqlite")
    lost = str(datasets[0].SOPInstanceUID)
    gone = str(datasets[1].SOPInstanceUID)
    db.execute("DELETE FROM instance WHERE sop_instance_uid = ?", (lost,))  # a commit the power loss took
    db.commit()
    db.close()
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
    db = sqlite3.connect(server.data_dir / "control.sqlite")
    db.execute("DELETE FROM instance")
    db.commit()
    db.close()
    server.start()
    rows = server.instances()
    assert len(rows) == 1
    assert b"NEW" in Path(rows[0]["path"]).read_bytes()
    assert not old_copy.exists()
