"""Hostile peers (issue 13, defects 1, 2 and 6): a request dribbled under ARTIM, connections
that never send a request, a flood from one address, a dataset trickled inside an
association. Each must cost the server at most a bounded wait, and the configured senders
must be served meanwhile.

Bounds are generous and measured from before connecting: only the defect exceeds them.
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass

import pytest

import rawdul
from helpers import (CT_IMAGE, ELE, LOCALHOST, VERIFICATION, associate, context, echo_status,
                     encode_dataset, make_dataset, rejection, store_file, write_dataset)

MODALITY = "MODALITY"
MODALITY_HOST = "127.0.0.2"
TRANSIENT, SERVICE_PROVIDER_PRESENTATION, LOCAL_LIMIT_EXCEEDED = 2, 3, 2


@dataclass
class Dribbled:
    """What the server did while we sent bytes one at a time."""
    closed: bool        # it closed the connection
    answer: bytes       # what it sent first (b"" if nothing)
    sent: int           # bytes we got to send
    seconds: float      # from the start of the dribble to the server's move (or our giving up)


def dribble(sock: socket.socket, data: bytes, *, gap: float, limit: float) -> Dribbled:
    """Send `data` one byte every `gap` seconds until the server sends something or closes,
    the data runs out, or `limit` seconds pass."""
    start = time.monotonic()
    sent = 0
    for byte in data:
        if time.monotonic() - start > limit:
            break
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return Dribbled(True, b"", sent, time.monotonic() - start)
        sent += 1
        sock.settimeout(gap)
        try:
            chunk = sock.recv(4096)
        except (socket.timeout, TimeoutError):
            continue
        except ConnectionResetError:
            return Dribbled(True, b"", sent, time.monotonic() - start)
        return Dribbled(not chunk, chunk, sent, time.monotonic() - start)
    return Dribbled(False, b"", sent, time.monotonic() - start)


def silent_connections(server, n: int, source: str = LOCALHOST) -> list[socket.socket]:
    """`n` connections from `source` that never send a byte."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.bind((source, 0))
        s.connect((LOCALHOST, server.port))
        socks.append(s)
    return socks


def count_closed(socks: list[socket.socket], want: int, timeout: float) -> int:
    """How many of `socks` the server closes within `timeout` (stops once `want` are)."""
    deadline = time.monotonic() + timeout
    open_ = list(socks)
    closed = 0
    while open_ and closed < want:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        readable, _, _ = select.select(open_, [], [], min(remaining, 0.5))
        for s in readable:
            try:
                gone = s.recv(1024) == b""
            except (ConnectionResetError, OSError):
                gone = True
            if gone:
                closed += 1
                open_.remove(s)
    return closed


def close_all(socks):
    for s in socks:
        s.close()


@pytest.fixture
def modality_server(dcmdisc_factory):
    """Pool of 2, ARTIM long enough (30 s) that nothing a test sees is ARTIM's doing, and a
    configured sender at 127.0.0.2."""
    server = dcmdisc_factory("hostile", start=False,
                             storage_provider={"max_associations": 2, "artim_timeout_secs": 30})
    server.add_remote(MODALITY, host=MODALITY_HOST)
    return server.start()


def modality_association(server):
    return associate(server, [context(VERIFICATION, [ELE])], ae_title=MODALITY, bind=MODALITY_HOST)


def assert_modality_served(server):
    assoc = modality_association(server)
    try:
        assert assoc.is_established, (
            "the configured sender at 127.0.0.2 was not served: "
            + (f"rejected {rejection(assoc)}" if assoc.is_rejected else "no association"))
        assert echo_status(assoc) == 0
        assoc.release()
    finally:
        if assoc.is_alive():
            assoc.abort()


# --------------------------------------------------------------------------- defect 1: ARTIM


def test_artim_is_a_deadline_for_a_dribbled_request(dcmdisc_factory):
    """ARTIM 2 s, the A-ASSOCIATE-RQ sent one byte every 0.5 s (about 100 s for all of it):
    closed within 8 s of connecting, not kept open by each byte."""
    server = dcmdisc_factory("artim-deadline",
                             storage_provider={"artim_timeout_secs": 2, "dimse_timeout_secs": 30})
    rq = rawdul.associate_rq(server.ae_title, "RAWSCU", [(1, VERIFICATION, [ELE])])
    connecting = time.monotonic()
    with rawdul.RawClient(LOCALHOST, server.port) as client:
        got = dribble(client.sock, rq, gap=0.5, limit=15)
    after = time.monotonic() - connecting
    assert got.closed, (f"still open {after:.1f} s after connecting ({got.sent} of {len(rq)} bytes "
                        f"sent, answer {got.answer[:8]!r}; artim_timeout_secs=2)")
    assert after < 8, f"closed only {after:.1f} s after connecting (artim_timeout_secs=2)"
    assert got.sent < len(rq)


@pytest.mark.parametrize("end", ["release", "rejection"])
def test_artim_after_our_last_pdu_is_a_deadline(dcmdisc_factory, end):
    """After A-RELEASE-RP or A-ASSOCIATE-RJ the server waits for the peer to close at most
    ARTIM (2 s), however it keeps dribbling bytes."""
    server = dcmdisc_factory("artim-linger",
                             storage_provider={"artim_timeout_secs": 2, "dimse_timeout_secs": 30})
    with rawdul.RawClient(LOCALHOST, server.port) as client:
        calling = "RAWSCU" if end == "release" else "NOBODY"
        pdu_type, _ = client.associate(server.ae_title, calling, [(1, VERIFICATION, [ELE])])
        if end == "release":
            assert pdu_type == rawdul.A_ASSOCIATE_AC
            client.release()
        else:
            assert pdu_type == rawdul.A_ASSOCIATE_RJ
        answered = time.monotonic()
        got = dribble(client.sock, bytes(60), gap=0.5, limit=15)
        after = time.monotonic() - answered
    assert got.closed, f"still open {after:.1f} s after our {end} (artim_timeout_secs=2)"
    assert after < 8, f"closed only {after:.1f} s after our {end} (artim_timeout_secs=2)"


# --------------------------------------------------------------------------- defect 2: pending


def test_silent_connections_do_not_lock_out_a_configured_sender(modality_server):
    """Pool of 2; 4 connections from 127.0.0.1 that never send a request. The configured
    sender at 127.0.0.2 is served, and the pool, once really full, still answers the
    transient local-limit refusal."""
    silent = silent_connections(modality_server, 2 + 2)
    try:
        time.sleep(0.3)  # let the server accept them first
        assert_modality_served(modality_server)
        held = [modality_association(modality_server) for _ in range(2)]
        try:
            assert all(a.is_established for a in held), "the pool of 2 did not take 2 associations"
            third = modality_association(modality_server)
            assert rejection(third) == (TRANSIENT, SERVICE_PROVIDER_PRESENTATION, LOCAL_LIMIT_EXCEEDED)
            for a in held:
                assert echo_status(a) == 0
                a.release()
        finally:
            for a in held:
                if a.is_alive():
                    a.abort()
    finally:
        close_all(silent)


def test_flood_from_one_address_does_not_block_another(modality_server):
    """20 silent connections from 127.0.0.1: those beyond the per-address limit (default 4)
    are closed at once (ARTIM is 30 s), and the sender at 127.0.0.2 is served meanwhile."""
    flood = silent_connections(modality_server, 20)
    try:
        closed = count_closed(flood, want=16, timeout=10)
        assert closed >= 16, (f"{closed} of 20 silent connections from one address closed within "
                              "10 s (max_pending_per_address = 4, ARTIM 30 s)")
        assert_modality_served(modality_server)
    finally:
        close_all(flood)


# --------------------------------------------------------------------------- defect 6: progress


def store_command_and_dataset(instance: str) -> tuple[bytes, bytes]:
    ds = make_dataset(sop_instance=instance)
    data = encode_dataset(ds)
    command = rawdul.p_data(rawdul.pdv(1, rawdul.c_store_rq(1, CT_IMAGE, instance), command=True))
    return command, rawdul.p_data(rawdul.pdv(1, data, command=False, last=True))


def raw_store_association(server) -> rawdul.RawClient:
    client = rawdul.RawClient(LOCALHOST, server.port)
    pdu_type, ac = client.associate(server.ae_title, "RAWSCU", [(1, CT_IMAGE, [ELE])])
    assert pdu_type == rawdul.A_ASSOCIATE_AC, f"association not accepted: {ac}"
    return client


def test_trickling_dataset_is_aborted(dcmdisc_factory):
    """DIMSE 3 s; a C-STORE dataset sent one byte every 0.5 s never trips the DIMSE timer,
    but 2 bytes/s is far under the minimum (1024 B/s): aborted within 15 s, not held."""
    server = dcmdisc_factory("trickle", storage_provider={"artim_timeout_secs": 2, "dimse_timeout_secs": 3})
    command, dataset_pdu = store_command_and_dataset("1.2.826.0.1.3680043.10.1.13.6")
    with raw_store_association(server) as client:
        client.send(command)
        got = dribble(client.sock, dataset_pdu, gap=0.5, limit=20)
    assert got.closed or got.answer, (f"a dataset trickled at 2 bytes/s still held its association "
                                      f"after {got.seconds:.1f} s ({got.sent} bytes sent)")
    assert got.seconds < 15, f"dropped only after {got.seconds:.1f} s (dimse_timeout_secs=3)"
    if got.answer:
        assert got.answer[0] == rawdul.A_ABORT, f"expected A-ABORT, got {got.answer[:10]!r}"
    assert "too slow" in server.log_text()
    assert not server.instances()
    assert_echo(server)


def assert_echo(server):
    assoc = associate(server, [context(VERIFICATION, [ELE])])
    try:
        assert assoc.is_established
        assert echo_status(assoc) == 0
        assoc.release()
    finally:
        if assoc.is_alive():
            assoc.abort()


def test_minimum_progress_zero_keeps_only_the_dimse_timer(dcmdisc_factory):
    """min_receive_bytes_per_sec = 0: a dataset dribbled for three DIMSE timeouts (never
    silent for one) is received."""
    server = dcmdisc_factory("no-minimum", storage_provider={"dimse_timeout_secs": 3,
                                                             "min_receive_bytes_per_sec": 0})
    instance = "1.2.826.0.1.3680043.10.1.13.7"
    command, dataset_pdu = store_command_and_dataset(instance)
    with raw_store_association(server) as client:
        client.send(command)
        got = dribble(client.sock, dataset_pdu[:16], gap=0.5, limit=30)
        assert not got.closed and not got.answer, f"dropped after {got.sent} bytes: {got.answer[:10]!r}"
        client.send(dataset_pdu[16:])
        rsp, _ = client.recv_message(timeout=15)
        assert rsp.Status == 0
        client.release()


def test_real_sender_is_never_too_slow(dcmdisc_factory, tmp_path):
    """The minimum progress (default) with a short DIMSE timeout does not disturb a real
    sender's multi-megabyte instance."""
    server = dcmdisc_factory("fast", storage_provider={"dimse_timeout_secs": 2})
    ds = make_dataset(pixel_bytes=4 * 1024 * 1024)
    path = write_dataset(ds, tmp_path / "big.dcm")
    assoc = associate(server, [context(CT_IMAGE, [ELE])])
    try:
        assert assoc.is_established
        assert store_file(assoc, path) == 0
        assoc.release()
    finally:
        if assoc.is_alive():
            assoc.abort()
