"""The crash campaign: kill -9 and a simulated power loss while 4 senders store.

test_recovery.py plays the aftermath of one crash on a quiet server (lost index rows, files
cut short, a kill in the middle of one transfer). These tests crash a busy one: 4 pynetdicom
senders (tests/interop/senders.py) each send a stream of small generated instances with new
SOP Instance UIDs (one to many PDUs each, one in 12 over 1 MiB; 50 per association), the server is killed at a
random moment, restarted (its start-up recovery runs), and then:

- every acknowledged instance (C-STORE-RSP 0000) is indexed (`dcmdisc instances --json`);
- every indexed instance is one that was sent, its file parses with pydicom, and its dataset
  part is byte for byte what was sent (SHA-256), acknowledged or not (a request in flight at
  the kill may or may not have been stored; if it was, it is whole);
- no other file is left in the archive folder (nothing unindexed, nothing cut short);
- no C-STORE was answered with a failure.

Power loss: the data folder is on an ext4 image on a loop device. At the kill the image file
is copied from the host: the copy holds what the guest file system had written to the loop
device, not the dirty pages of its page cache — what a power cut leaves. The copy is mounted
(the journal replays) and the server started on it. Durable mode acknowledges only after
fdatasync of the file and fsync of its folder, which reach the loop device, so no
acknowledged instance may be missing from the copy. The copy is taken right after the kill
and is not an atomic snapshot (the kernel may still write back pages while it is read); the
kill stops the server's own writes first, so only background writeback can race it.

Rounds: DCMDISC_CRASH_ROUNDS (default 5) kill -9 rounds on one archive, and
DCMDISC_POWER_ROUNDS (default 2) power losses, each on the copy the previous one left;
DCMDISC_CRASH_SEED fixes the random kill moments. The counts are printed (pytest's capture
is bypassed for them) and, with DCMDISC_CRASH_REPORT=FILE, appended to FILE as JSON lines.
No timing is asserted: the kill moment is random, every wait is bounded.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import subprocess
import time
from pathlib import Path

import pydicom
import pytest

from helpers import unavailable, wait_until
from senders import Senders

ROUNDS = int(os.environ.get("DCMDISC_CRASH_ROUNDS", "5"))
POWER_ROUNDS = int(os.environ.get("DCMDISC_POWER_ROUNDS", "2"))
SEED = int(os.environ.get("DCMDISC_CRASH_SEED") or random.randrange(1 << 32))
# `false` plays the same power loss on `[archive] durable = false` (no fsync before 0000): that
# run is expected to fail, and shows the test can.
POWER_DURABLE = os.environ.get("DCMDISC_POWER_DURABLE", "true").lower() != "false"
SENDERS = 4
# The random moment of the kill, after the first acknowledgements (seconds).
KILL_AFTER = (0.1, 3.0)
IMAGE_SIZE = 256 << 20
# Pixel data sizes drawn per instance: mostly one to a few PDUs; one in 12 over 1 MiB, so that
# the archive writer has flushed part of it to its file when the kill comes mid-transfer.
CRASH_PIXEL_SIZES = (512,) * 4 + (4096,) * 4 + (40_000,) * 3 + (1_200_000,)


def report(capsys, line: str, record: dict) -> None:
    with capsys.disabled():
        print(f"\n[crash campaign] {line}", flush=True)
    path = os.environ.get("DCMDISC_CRASH_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as fp:
            fp.write(json.dumps(record) + "\n")


def crash_under_load(server, rng: random.Random, at_kill=None) -> Senders:
    """Start the server, 4 senders, SIGKILL the server at a random moment once some
    instances were acknowledged (then `at_kill()`), and stop the senders."""
    server.start()
    # A short DIMSE timeout: after the kill each sender waits that long for the answer it will
    # never get (pynetdicom 3.0); the server answers in milliseconds, a slower answer only
    # leaves one more instance unacknowledged.
    senders = Senders(server, SENDERS, seed=rng.randrange(1 << 32), dimse_timeout=5,
                      pixel_sizes=CRASH_PIXEL_SIZES).start()
    try:
        assert wait_until(lambda: senders.acknowledged() >= 10, timeout=30), \
            f"fewer than 10 instances acknowledged 30 s after the senders started: {senders.errors()[:5]}"
        time.sleep(rng.uniform(*KILL_AFTER))  # the random moment, not a wait for an event
        server.kill()  # SIGKILL
        if at_kill is not None:
            at_kill()
    finally:
        server.kill()
        stuck = senders.stop(timeout=60)
    assert not stuck, f"senders still running 60 s after the kill: {stuck}"
    return senders


def dataset_part(data: bytes) -> bytes:
    """The bytes after the File Meta Information: its group length (0002,0000) says where."""
    assert data[128:132] == b"DICM" and data[132:138] == b"\x02\x00\x00\x00UL", "no File Meta group length"
    return data[144 + int.from_bytes(data[140:144], "little"):]


def check_archive(server, sent: dict, check_uids=None) -> dict:
    """After the restart: every acknowledged instance indexed, every indexed one whole and as
    sent, nothing else in the archive folder. Checks the files of `check_uids` (default all
    indexed). Returns the counts."""
    rows = server.instances_by_uid()
    acknowledged = {uid for uid, s in sent.items() if s.status == 0}
    lost = sorted(acknowledged - rows.keys())
    assert not lost, f"{len(lost)} of {len(acknowledged)} acknowledged instances are not indexed: {lost[:5]}"
    unknown = sorted(rows.keys() - sent.keys())
    assert not unknown, f"indexed instances that were never sent: {unknown[:5]}"
    duplicated = {uid: [r["path"] for r in rs] for uid, rs in rows.items() if len(rs) != 1}
    assert not duplicated, f"instances indexed more than once: {list(duplicated.items())[:3]}"
    checked = 0
    for uid in (rows.keys() if check_uids is None else check_uids & rows.keys()):
        path = Path(rows[uid][0]["path"])
        data = path.read_bytes()
        try:
            ds = pydicom.dcmread(io.BytesIO(data))
            assert str(ds.SOPInstanceUID) == uid
            frames = int(ds.get("NumberOfFrames", 1))
            assert len(ds.PixelData) == int(ds.Rows) * int(ds.Columns) * 2 * frames
        except Exception as exc:
            raise AssertionError(f"indexed file {path} ({uid}) does not parse: {exc}") from exc
        body = dataset_part(data)
        expected = sent[uid]
        assert len(body) == expected.length and hashlib.sha256(body).hexdigest() == expected.digest, \
            f"indexed file {path} ({uid}): dataset differs from the one sent " \
            f"({len(body)} bytes, sent {expected.length}, status {expected.status})"
        checked += 1
    indexed_paths = {Path(rs[0]["path"]) for rs in rows.values()}
    stray = sorted(set(server.archive_files()) - indexed_paths)
    assert not stray, f"files in the archive folder that are not indexed: {stray[:5]}"
    in_flight = {uid for uid, s in sent.items() if s.status is None}
    return {
        "acknowledged": len(acknowledged),
        "lost": len(lost),
        "in_flight": len(in_flight),
        "in_flight_indexed": len(in_flight & rows.keys()),
        "indexed": len(rows),
        "files_checked": checked,
    }


RECOVERED = re.compile(r"index recovered from the archive folder.*?reindexed=(\d+) removed_files=(\d+) dropped_rows=(\d+)")


def restart_and_recover(server) -> dict:
    """Start the server on the crashed archive; what its start-up recovery says it did."""
    mark = len(server.log_text())
    server.start()
    found = RECOVERED.search(server.log_text()[mark:])
    reindexed, removed, dropped = map(int, found.groups()) if found else (0, 0, 0)
    return {"reindexed": reindexed, "removed_files": removed, "dropped_rows": dropped}


def cumulative(counts: dict) -> dict:
    """A round's JSON record: the archive's counts so far, named as such."""
    out = dict(counts)
    out["acknowledged_so_far"] = out.pop("acknowledged")
    out["in_flight_so_far"] = out.pop("in_flight")
    return out


def refusals(senders: Senders) -> dict[str, int]:
    return {f"{k:04X}": v for k, v in senders.refused().items()}


@pytest.mark.timeout(90 + 40 * ROUNDS)
def test_kill_9_under_4_senders_loses_no_acknowledged_instance(dcmdisc_factory, capsys):
    rng = random.Random(SEED)
    server = dcmdisc_factory("kill9", start=False, storage_provider={"max_associations": SENDERS + 4})
    sent: dict = {}
    totals = {"acknowledged": 0, "in_flight": 0, "in_flight_indexed": 0}
    for n in range(ROUNDS):
        senders = crash_under_load(server, rng)
        assert not senders.refused(), f"round {n + 1}: C-STORE failures under load: {refusals(senders)}"
        this_round = senders.sent()
        sent.update(this_round)
        recovered = restart_and_recover(server)
        last = n == ROUNDS - 1
        counts = check_archive(server, sent, None if last else set(this_round))
        counts.update(recovered)
        server.kill()
        acked = sum(1 for s in this_round.values() if s.status == 0)
        flying = sum(1 for s in this_round.values() if s.status is None)
        totals["acknowledged"] += acked
        totals["in_flight"] += flying
        report(capsys, f"kill -9 round {n + 1}/{ROUNDS}: {acked} acknowledged, 0 lost, "
               f"{flying} in flight at the kill; recovery removed {counts['removed_files']} cut-short "
               f"file(s), re-indexed {counts['reindexed']}; archive {counts['indexed']} indexed, all whole",
               {"test": "kill9", "round": n + 1, "seed": SEED, **cumulative(counts),
                "acknowledged": acked, "in_flight": flying})
    final = counts
    report(capsys, f"kill -9: {ROUNDS} rounds (seed {SEED}), {totals['acknowledged']} acknowledged, "
           f"{final['lost']} lost; {totals['in_flight']} in flight at a kill, of which "
           f"{final['in_flight_indexed']} indexed (whole); {final['files_checked']} files checked",
           {"test": "kill9", "total": True, "seed": SEED, "rounds": ROUNDS, **final})


# --------------------------------------------------------------------------- power loss


def run(*cmd, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(list(map(str, cmd)), capture_output=True, text=True, errors="replace", timeout=timeout)


def unmount(mount_point: Path) -> None:
    for args in (["umount", mount_point], ["umount", "-l", mount_point]):
        if run(*args).returncode == 0:
            return


@pytest.fixture
def loop_ext4(tmp_path):
    """An ext4 image (sparse) mounted on a loop device; yields (image, mount point, mount())."""
    image = tmp_path / "power-0.img"
    mount_point = tmp_path / "power-fs"
    mount_point.mkdir()
    with open(image, "wb") as f:
        f.truncate(IMAGE_SIZE)
    made = run("mkfs.ext4", "-q", "-F", image)
    if made.returncode != 0:
        unavailable(f"cannot make an ext4 image here: {made.stderr.strip()}")

    def mount(img: Path) -> None:
        result = run("mount", "-o", "loop", img, mount_point)
        if result.returncode != 0:
            unavailable(f"cannot mount an ext4 image on a loop device here (needs root): {result.stderr.strip()}")

    mount(image)
    yield image, mount_point, mount
    unmount(mount_point)


@pytest.mark.timeout(90 + 50 * POWER_ROUNDS)
def test_power_loss_under_4_senders_loses_no_acknowledged_instance(loop_ext4, dcmdisc_factory, tmp_path, capsys):
    image, mount_point, mount = loop_ext4
    rng = random.Random(SEED ^ 0x5EED)
    server = dcmdisc_factory("power", start=False, data_dir=mount_point / "data",
                             storage_provider={"max_associations": SENDERS + 4}, archive={"durable": POWER_DURABLE})
    # The configuration (remotes) was written long before the power cut, as on a real system.
    assert run("sync").returncode == 0
    sent: dict = {}
    total_acked = 0
    for n in range(POWER_ROUNDS):
        copy = tmp_path / f"power-{n + 1}.img"

        def power_cut():
            # What reached the loop device, not what sits dirty in the guest's page cache.
            result = run("cp", "--sparse=always", image, copy, timeout=120)
            assert result.returncode == 0, f"copying the image failed: {result.stderr}"

        senders = crash_under_load(server, rng, at_kill=power_cut)
        assert not senders.refused(), f"power round {n + 1}: C-STORE failures: {refusals(senders)}"
        this_round = senders.sent()
        sent.update(this_round)
        unmount(mount_point)
        image.unlink()
        image = copy
        mount(image)  # the journal replays here
        recovered = restart_and_recover(server)
        counts = check_archive(server, sent)
        counts.update(recovered)
        server.kill()
        acked = sum(1 for s in this_round.values() if s.status == 0)
        total_acked += acked
        report(capsys, f"power loss round {n + 1}/{POWER_ROUNDS}: {acked} acknowledged, 0 lost, "
               f"{counts['in_flight']} in flight in all; recovery re-indexed {counts['reindexed']} (index rows "
               f"the cut took), removed {counts['removed_files']} cut-short file(s); archive "
               f"{counts['indexed']} indexed, all whole",
               {"test": "power", "round": n + 1, "seed": SEED, **cumulative(counts), "acknowledged": acked})
    report(capsys, f"power loss: {POWER_ROUNDS} rounds (seed {SEED}), {total_acked} acknowledged, "
           f"{counts['lost']} lost; {counts['in_flight_indexed']} of {counts['in_flight']} in flight "
           f"indexed (whole); {counts['files_checked']} files checked",
           {"test": "power", "total": True, "seed": SEED, "rounds": POWER_ROUNDS, **counts})
