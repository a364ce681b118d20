"""Failure handling: timeouts, malformed and oversized PDUs, bad datasets, a full
disk, and the same instance sent twice."""

import struct
import subprocess
import time
from pathlib import Path

import pytest
from pydicom.uid import generate_uid

import rawdul
from helpers import (CT_IMAGE, ELE, LOCALHOST, MR_IMAGE, VERIFICATION, association, context, echo_ok,
                     echo_status, encode_dataset, make_dataset, store_file, unavailable, wait_until, write_dataset,
                     write_raw_part10)

STORE_CONTEXTS = [context(CT_IMAGE, [ELE]), context(VERIFICATION, [ELE])]


def raw_established(server, contexts=((1, VERIFICATION, [ELE]),)) -> rawdul.RawClient:
    client = rawdul.RawClient(LOCALHOST, server.port)
    pdu_type, ac = client.associate(server.ae_title, "RAWSCU", list(contexts))
    assert pdu_type == rawdul.A_ASSOCIATE_AC, f"association not accepted: {ac}"
    return client


def assert_aborted(client, timeout=5.0, require_abort_pdu=True):
    """The acceptor answers with an A-ABORT (or, where allowed, just closes) within `timeout`."""
    aborted, closed, received = client.wait_for_abort(timeout)
    names = [rawdul.PDU_NAMES.get(t, hex(t)) for t in received]
    assert all(t == rawdul.A_ABORT for t in received), f"unexpected PDUs instead of A-ABORT: {names}"
    if require_abort_pdu:
        assert aborted, (f"no A-ABORT within {timeout} s "
                         f"({'connection closed' if closed else 'connection open'}, received {names})")
    else:
        assert aborted or closed, f"neither A-ABORT nor close within {timeout} s"


def log_entries(server, sop_instance_uid):
    return [e for e in server.log() if e.get("sop_instance_uid") == sop_instance_uid]


def files_containing(server, needle: bytes) -> list[Path]:
    return [p for p in server.archive_files() if needle in p.read_bytes()]


# --------------------------------------------------------------------------- timeouts


# Timers are checked by what they do, with bounds no load can break: a lower bound measured
# from before the connection (the server's timer starts later, and a slow test only observes
# later), and an upper bound far from the configured time but short of the next timer that
# could have closed the connection instead.


@pytest.fixture
def fast_timeouts(dcmdisc_factory):
    return dcmdisc_factory("timeouts", storage_provider={"artim_timeout_secs": 1, "dimse_timeout_secs": 2})


@pytest.fixture
def artim_only(dcmdisc_factory):
    """ARTIM 1 s, DIMSE 30 s: a connection closed within 15 s was closed by the ARTIM timer."""
    return dcmdisc_factory("artim", storage_provider={"artim_timeout_secs": 1, "dimse_timeout_secs": 30})


@pytest.mark.parametrize("sent", ["nothing", "half-associate-rq"])
def test_artim_closes_silent_connection(artim_only, sent):
    connecting = time.monotonic()
    with rawdul.RawClient(LOCALHOST, artim_only.port) as client:
        if sent == "half-associate-rq":
            rq = rawdul.associate_rq(artim_only.ae_title, "RAWSCU", [(1, VERIFICATION, [ELE])])
            client.send(rq[: len(rq) // 2])
        closed, pdus, _ = client.wait_closed(15)
        after = time.monotonic() - connecting
    assert closed, f"a connection that sent {sent} is still open after 15 s (artim_timeout_secs=1)"
    assert after >= 0.5, f"closed {after:.2f} s after connecting: not left the ARTIM time of 1 s"
    assert echo_ok(artim_only)


def test_artim_closes_after_release_when_peer_lingers(artim_only):
    """After A-RELEASE-RP the acceptor waits for the requestor to close, at most ARTIM."""
    with raw_established(artim_only) as client:
        client.release()
        closed, _, _ = client.wait_closed(15)
    assert closed, "the connection is still open 15 s after the release (artim_timeout_secs=1)"


def test_dimse_timeout_drops_idle_association(fast_timeouts):
    """Dropped by the DIMSE timer (2 s), not before: not by ARTIM (1 s) nor at once. Timed
    at the A-ABORT (or the close, if it comes first): after the A-ABORT the server lingers
    up to ARTIM for the peer to close."""
    connecting = time.monotonic()
    client = raw_established(fast_timeouts)
    try:
        aborted, closed, _ = client.wait_for_abort(15)
        after = time.monotonic() - connecting
    finally:
        client.close()
    assert aborted or closed, "an idle association is still open after 15 s (dimse_timeout_secs=2)"
    assert after >= 1.5, f"dropped {after:.2f} s after connecting, before the DIMSE timeout of 2 s"
    assert echo_ok(fast_timeouts)


# --------------------------------------------------------------------------- malformed PDUs


def check_only_that_association_fails(server, misbehave):
    """Hold one good association, misbehave on another connection, then check the
    good one still works and a new one is served."""
    with association(server, [context(VERIFICATION, [ELE])]) as bystander:
        misbehave()
        assert echo_status(bystander) == 0, "another association was disturbed"
    assert echo_ok(server), "the next association is not served"


def test_unknown_pdu_type_aborts(server):
    def misbehave():
        with raw_established(server) as client:
            client.send(rawdul.pdu(0x09, bytes(4)))
            assert_aborted(client)
    check_only_that_association_fails(server, misbehave)


def test_garbage_instead_of_associate_rq(server):
    def misbehave():
        with rawdul.RawClient(LOCALHOST, server.port) as client:
            client.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert_aborted(client, require_abort_pdu=False)
    check_only_that_association_fails(server, misbehave)


def test_huge_associate_rq_length_aborts(server):
    """An A-ASSOCIATE-RQ header declaring 4 GiB: refused without reading (or allocating) it."""
    def misbehave():
        with rawdul.RawClient(LOCALHOST, server.port) as client:
            client.send(struct.pack(">BBI", rawdul.A_ASSOCIATE_RQ, 0, 0xFFFFFFFF))
            assert_aborted(client, require_abort_pdu=False)
    check_only_that_association_fails(server, misbehave)


def test_pdv_longer_than_its_pdu_aborts(server):
    def misbehave():
        with raw_established(server) as client:
            bad_pdv = struct.pack(">IBB", 1000, 1, 0x03) + b"\0" * 10
            client.send(rawdul.pdu(rawdul.P_DATA_TF, bad_pdv))
            assert_aborted(client)
    check_only_that_association_fails(server, misbehave)


@pytest.mark.parametrize("declared", [16384 + 1000, 0xFFFFFFFF], ids=["max+1000", "4GiB"])
def test_oversized_pdu_aborts(server, declared):
    """Only the P-DATA-TF header is sent: the acceptor must abort on the declared length
    alone, without waiting for (or allocating) the body."""
    assert server.config["storage_provider"]["max_pdu_length"] == 16384

    def misbehave():
        with raw_established(server) as client:
            client.send(struct.pack(">BBI", rawdul.P_DATA_TF, 0, declared))
            assert_aborted(client)
    check_only_that_association_fails(server, misbehave)


def test_ac_announces_our_max_pdu(dcmdisc_factory):
    server = dcmdisc_factory("maxpdu", storage_provider={"max_pdu_length": 65536})
    with rawdul.RawClient(LOCALHOST, server.port) as client:
        _, ac = client.associate(server.ae_title, "RAWSCU", [(1, VERIFICATION, [ELE])])
        assert ac.max_pdu == 65536
        client.release()


# --------------------------------------------------------------------------- bad datasets


def truncated_pixel_data() -> bytes:
    """A valid dataset cut short inside its Pixel Data value."""
    raw = encode_dataset(make_dataset(sop_instance=TRUNCATED_UID))
    return raw[:-100]


TRUNCATED_UID = generate_uid()
GARBAGE = {
    "element-longer-than-dataset": b"\x08\x00\x16\x00UI\xf0\xff1.2.3",
    "deadbeef": b"\xde\xad\xbe\xef" * 256,
    "truncated-pixel-data": None,  # built lazily: needs the dataset encoder
}


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_unparseable_dataset_gets_c000_and_association_goes_on(server, tmp_path, kind):
    uid = TRUNCATED_UID if kind == "truncated-pixel-data" else generate_uid()
    payload = GARBAGE[kind] if GARBAGE[kind] is not None else truncated_pixel_data()
    garbage = write_raw_part10(tmp_path / "garbage.dcm", sop_class=CT_IMAGE, sop_instance=uid,
                               transfer_syntax=ELE, payload=payload)
    good_ds = make_dataset()
    good = write_dataset(good_ds, tmp_path / "good.dcm")
    with association(server, STORE_CONTEXTS) as assoc:
        assert store_file(assoc, garbage) == 0xC000
        assert echo_status(assoc) == 0, "C-ECHO after C000 failed"
        assert store_file(assoc, good) == 0x0000, "C-STORE after C000 failed"
    rows = server.instances_by_uid()
    assert uid not in rows, "the unparseable instance was indexed"
    assert str(good_ds.SOPInstanceUID) in rows
    assert not files_containing(server, uid.encode()), "a file of the refused instance remains"
    statuses = [e["status"] for e in log_entries(server, uid)]
    assert statuses and statuses[-1].upper() == "C000", f"extended log for {uid}: {statuses}"


@pytest.mark.parametrize("mismatch", ["sop-instance", "sop-class"])
def test_uid_mismatch_gets_a900(server, tmp_path, mismatch):
    command_uid = generate_uid()
    if mismatch == "sop-instance":
        ds = make_dataset(sop_instance=generate_uid())
    else:
        ds = make_dataset(sop_class=MR_IMAGE, sop_instance=command_uid)
    path = write_raw_part10(tmp_path / "mismatch.dcm", sop_class=CT_IMAGE, sop_instance=command_uid,
                            transfer_syntax=ELE, payload=encode_dataset(ds))
    with association(server, STORE_CONTEXTS) as assoc:
        assert store_file(assoc, path) == 0xA900
        assert echo_status(assoc) == 0, "C-ECHO after A900 failed"
    rows = server.instances_by_uid()
    assert command_uid not in rows and str(ds.SOPInstanceUID) not in rows
    assert not files_containing(server, command_uid.encode())
    statuses = [e["status"] for e in log_entries(server, command_uid)]
    assert statuses and statuses[-1].upper() == "A900", f"extended log for {command_uid}: {statuses}"


# --------------------------------------------------------------------------- full disk


@pytest.fixture(params=["tmpfs", "ext4"])
def small_filesystem(request, tmp_path):
    """A real, small file system: a 2 MiB tmpfs (no O_DIRECT there: the buffered path) and a
    6 MiB ext4 image on a loop device (the O_DIRECT path). Yields (mount point, size)."""
    mount_point = tmp_path / "small-fs"
    mount_point.mkdir()
    if request.param == "tmpfs":
        size = 2 << 20
        cmd = ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)]
    else:
        size = 6 << 20
        image = tmp_path / "small-fs.img"
        with open(image, "wb") as f:
            f.truncate(size)
        made = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True,
                              errors="replace", timeout=60)
        if made.returncode != 0:
            unavailable(f"cannot make an ext4 image here: {made.stderr.strip()}")
        cmd = ["mount", "-o", "loop", str(image), str(mount_point)]
    result = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=30)
    if result.returncode != 0:
        unavailable(f"cannot mount a small {request.param} here (needs root): {result.stderr.strip()}")
    yield mount_point, size
    for args in (["umount", str(mount_point)], ["umount", "-l", str(mount_point)]):
        if subprocess.run(args, capture_output=True, timeout=30).returncode == 0:
            break


def test_full_disk_gets_a700_and_leaves_nothing(small_filesystem, dcmdisc_factory, tmp_path):
    mount_point, size = small_filesystem
    server = dcmdisc_factory("fulldisk", data_dir=mount_point / "data")
    before = server.archive_files()
    big_ds = make_dataset(pixel_bytes=size + (1 << 20))
    big = write_dataset(big_ds, tmp_path / "big.dcm")
    small_ds = make_dataset()
    small = write_dataset(small_ds, tmp_path / "small.dcm")
    with association(server, STORE_CONTEXTS) as assoc:
        assert store_file(assoc, big) == 0xA700
        leftovers = wait_until(lambda: server.archive_files() == before, timeout=10)
        assert leftovers, f"files left after A700: {sorted(set(server.archive_files()) - set(before))}"
        # The space is really given back: a small instance fits again.
        assert store_file(assoc, small) == 0x0000
    rows = server.instances_by_uid()
    assert str(big_ds.SOPInstanceUID) not in rows
    assert str(small_ds.SOPInstanceUID) in rows
    statuses = [e["status"] for e in log_entries(server, str(big_ds.SOPInstanceUID))]
    assert statuses and statuses[-1].upper() == "A700", statuses


# --------------------------------------------------------------------------- resend


def test_same_sop_instance_twice_keeps_one_row_the_newest(server, tmp_path):
    uid = generate_uid()
    versions = [make_dataset(sop_instance=uid, StudyDescription=f"VERSION-{n}", pixel_bytes=4096 * (n + 1))
                for n in range(3)]
    paths = [write_dataset(ds, tmp_path / f"v{n}.dcm") for n, ds in enumerate(versions)]
    with association(server, STORE_CONTEXTS) as assoc:
        assert store_file(assoc, paths[0]) == 0
    with association(server, STORE_CONTEXTS) as assoc:
        assert store_file(assoc, paths[1]) == 0
        assert store_file(assoc, paths[2]) == 0
    rows = server.instances_by_uid().get(uid, [])
    assert len(rows) == 1, f"{len(rows)} rows for one SOP Instance UID"
    stored = Path(rows[0]["path"]).read_bytes()
    assert b"VERSION-2" in stored, "the stored file is not the newest one"
    holders = [p.resolve() for p in files_containing(server, uid.encode())]
    assert holders == [Path(rows[0]["path"]).resolve()], f"files holding the instance: {holders}"
