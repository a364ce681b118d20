"""Streaming C-STORE: large instances in bounded memory, and transfers cut short."""

import hashlib
from pathlib import Path

import pytest
from pydicom.uid import generate_uid

import rawdul
from helpers import (CT_IMAGE, ELE, LOCALHOST, association, context, dataset_offset, echo_ok, encode_dataset,
                     make_dataset, store_file, wait_until, write_dataset)

LARGE_PIXELS = 128 * 1024 * 1024
RSS_LIMIT_KB = 64 * 1024


def vm_hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/PID/status")


def sha256_from(path: Path, offset: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        fp.seek(offset)
        for block in iter(lambda: fp.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def test_large_instance_stored_exactly_in_bounded_memory(dcmdisc_factory, tmp_path):
    server = dcmdisc_factory("large", storage_provider={"max_pdu_length": 65536})
    ds = make_dataset(pixel_bytes=LARGE_PIXELS)
    path = write_dataset(ds, tmp_path / "large.dcm")
    del ds
    with association(server, [context(CT_IMAGE, [ELE])], max_pdu=65536) as assoc:
        assert store_file(assoc, path) == 0
    peak = vm_hwm_kb(server.proc.pid)
    [row] = server.instances_by_uid()[read_uid(path)]
    stored = Path(row["path"])
    assert sha256_from(stored, dataset_offset(stored)) == sha256_from(path, dataset_offset(path))
    assert peak < RSS_LIMIT_KB, (f"peak RSS {peak // 1024} MiB while receiving a "
                                 f"{LARGE_PIXELS >> 20} MiB instance (limit {RSS_LIMIT_KB // 1024} MiB)")


def read_uid(path) -> str:
    from helpers import read_meta
    return str(read_meta(path).MediaStorageSOPInstanceUID)


def send_half_a_store(client: rawdul.RawClient, server, uid: str, data: bytes) -> None:
    """Associate, send a C-STORE-RQ for `uid` and the first half of its dataset `data`."""
    pdu_type, ac = client.associate(server.ae_title, "RAWSCU", [(1, CT_IMAGE, [ELE])])
    assert pdu_type == rawdul.A_ASSOCIATE_AC and ac.contexts[1][0] == 0, ac
    client.send(rawdul.p_data(rawdul.pdv(1, rawdul.c_store_rq(1, CT_IMAGE, uid), command=True)))
    chunk = 16000
    for offset in range(0, len(data) // 2, chunk):
        client.send(rawdul.p_data(rawdul.pdv(1, data[offset:offset + chunk], command=False, last=False)))


@pytest.mark.parametrize("how", ["a-abort", "tcp-close", "silence"])
def test_transfer_cut_short_leaves_nothing(dcmdisc_factory, how):
    """Half a dataset, then the peer aborts, drops the connection, or goes silent past
    the DIMSE timeout: no row, no file."""
    # Only the silent peer needs a short DIMSE timeout; the others get a long one, so that a
    # loaded machine cannot time the association out before the test sees the file started.
    dimse = 2 if how == "silence" else 60
    server = dcmdisc_factory("cut", storage_provider={"dimse_timeout_secs": dimse})
    uid = generate_uid()
    data = encode_dataset(make_dataset(sop_instance=uid, pixel_bytes=512 * 1024))
    before = server.archive_files()
    with rawdul.RawClient(LOCALHOST, server.port) as client:
        send_half_a_store(client, server, uid, data)
        # The server has started writing the instance: the cut comes in the middle of it. (The
        # silent peer's 2 s timer may remove the file before a busy test looks: not required.)
        started = wait_until(lambda: len(server.archive_files()) > len(before), timeout=10)
        assert started or how == "silence", \
            "no archive file was started 10 s after half the dataset was sent"
        if how == "a-abort":
            client.send(rawdul.abort_pdu())
        elif how == "silence":
            aborted, closed, _ = client.wait_for_abort(8)
            assert aborted or closed, \
                "the association was neither aborted nor closed 8 s into a 2 s DIMSE timeout"
    assert wait_until(lambda: server.archive_files() == before, timeout=20), \
        f"files left: {sorted(set(server.archive_files()) - set(before))}"
    assert uid not in server.instances_by_uid()
    assert echo_ok(server)


def odd_pdus(command: bytes, data: bytes, max_pdu: int) -> list[bytes]:
    """P-DATA-TF PDUs (each within `max_pdu`) that carry the command and the first dataset
    fragments together, then several dataset PDVs per PDU in irregular sizes (1 byte, odd
    lengths, block multiples), the last one alone."""
    sizes = [1, 4095, 7, 3000, 4096, 9999, 13, 65536, 2, 511]
    pdvs = [rawdul.pdv(1, command, command=True)]
    offset, i = 0, 0
    while offset < len(data) - 100:
        n = min(sizes[i % len(sizes)], len(data) - 100 - offset, max_pdu - 6 - 6)
        pdvs.append(rawdul.pdv(1, data[offset:offset + n], command=False, last=False))
        offset, i = offset + n, i + 1
    pdvs.append(rawdul.pdv(1, data[offset:], command=False, last=True))
    pdus, body = [], b""
    for item in pdvs:
        if body and len(body) + len(item) > max_pdu:
            pdus.append(rawdul.p_data(body))
            body = b""
        body += item
    return pdus + [rawdul.p_data(body)]


def test_odd_pdv_framing_stored_exactly(dcmdisc_factory):
    """Dataset bytes split over PDVs of any size, several to a PDU and sharing the first PDU
    with the command, are stored exactly; a second instance on the same association too."""
    max_pdu = 16384
    server = dcmdisc_factory("framing", storage_provider={"max_pdu_length": max_pdu})
    sent = {}
    with rawdul.RawClient(LOCALHOST, server.port) as client:
        pdu_type, ac = client.associate(server.ae_title, "RAWSCU", [(1, CT_IMAGE, [ELE])])
        assert pdu_type == rawdul.A_ASSOCIATE_AC and ac.contexts[1][0] == 0, ac
        for message_id, pixels in ((1, 300 * 1024 + 6), (2, 64 * 64 * 2)):
            uid = generate_uid()
            data = encode_dataset(make_dataset(sop_instance=uid, pixel_bytes=pixels))
            command = rawdul.c_store_rq(message_id, CT_IMAGE, uid)
            for pdu in odd_pdus(command, data, max_pdu):
                client.send(pdu)
            rsp, _ = client.recv_message()
            assert rsp.Status == 0, f"status {rsp.Status:04X}: {rsp.get('ErrorComment')}"
            sent[uid] = data
        client.release()
    rows = server.instances_by_uid()
    for uid, data in sent.items():
        [row] = rows[uid]
        stored = Path(row["path"]).read_bytes()
        assert stored[dataset_offset(row["path"]):] == data
