"""Hostile-peer regression tests (issue 13): the attacks tried against `dcmdisc serve` that it
already survived — a connection flood, a TCP reset in the middle of a dataset, a PDV on a
context that was never accepted, lying group lengths, a release in the middle of a dataset —
kept as tests so that it goes on surviving them. Each checks that the attack costs only the
attacker's own association: nothing half-received is stored, and the next association is
served.

127.0.0.1 only; every socket operation has a timeout and every loop a bound; nothing here
measures time."""

import socket
import struct

from pydicom.uid import generate_uid

import rawdul
from helpers import (CT_IMAGE, ELE, LOCALHOST, VERIFICATION, association, context, echo_ok, echo_status,
                     encode_dataset, make_dataset, store_file, wait_until, write_raw_part10)

CT_CONTEXT = (1, CT_IMAGE, [ELE])
ECHO_CONTEXT = (3, VERIFICATION, [ELE])


def established(server, contexts=(CT_CONTEXT, ECHO_CONTEXT)) -> rawdul.RawClient:
    client = rawdul.RawClient(LOCALHOST, server.port)
    pdu_type, ac = client.associate(server.ae_title, "RAWSCU", list(contexts))
    assert pdu_type == rawdul.A_ASSOCIATE_AC, f"association not accepted: {ac}"
    return client


def assert_aborted(client, timeout=10.0):
    aborted, closed, received = client.wait_for_abort(timeout)
    names = [rawdul.PDU_NAMES.get(t, hex(t)) for t in received]
    assert aborted, f"no A-ABORT within {timeout} s ({'closed' if closed else 'open'}, received {names})"


def half_a_dataset(client, uid: str) -> None:
    """C-STORE-RQ, then the first half of the dataset, not marked last."""
    dataset = encode_dataset(make_dataset(sop_instance=uid))
    client.send(rawdul.p_data(rawdul.pdv(1, rawdul.c_store_rq(1, CT_IMAGE, uid), command=True)))
    client.send(rawdul.p_data(rawdul.pdv(1, dataset[: len(dataset) // 2], command=False, last=False)))


def nothing_kept(server, uid: str) -> None:
    """No index row and no archive file of `uid`, once the server has dropped the attempt."""
    needle = uid.encode()
    gone = wait_until(lambda: not any(needle in p.read_bytes() for p in server.archive_files()), 10)
    assert gone, f"an archive file of the half-received {uid} remains"
    assert uid not in server.instances_by_uid(), f"the half-received {uid} was indexed"


def test_connection_flood_is_shed_and_service_goes_on(server):
    """200 connections opened at once and left silent: the server stays up, sheds them, and
    serves the next association as soon as they are gone."""
    flood = []
    try:
        for _ in range(200):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            try:
                s.connect((LOCALHOST, server.port))
            except OSError:
                s.close()  # a full backlog refusing us is shedding too
                continue
            flood.append(s)
        assert server.running, "the server died under the flood"
    finally:
        for s in flood:
            s.close()
    assert wait_until(lambda: echo_ok(server), 30, interval=0.5), "no association served after the flood"
    assert server.running


def test_reset_in_the_middle_of_a_dataset_keeps_nothing(server):
    uid = generate_uid()
    client = established(server)
    half_a_dataset(client, uid)
    # SO_LINGER 0: close() sends a TCP RST instead of a FIN.
    client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()
    nothing_kept(server, uid)
    assert echo_ok(server), "the next association is not served"


def test_release_in_the_middle_of_a_dataset_keeps_nothing(server):
    """The half-received instance is dropped; the association ends (released or aborted: the
    peer broke the message, either answer is fair) and the next one is served."""
    uid = generate_uid()
    with established(server) as client:
        half_a_dataset(client, uid)
        client.send(rawdul.release_rq())
        pdu_type, _ = client.recv_pdu(timeout=10)
        assert pdu_type in (rawdul.A_RELEASE_RP, rawdul.A_ABORT), rawdul.PDU_NAMES.get(pdu_type)
    nothing_kept(server, uid)
    assert echo_ok(server)


def test_pdv_on_a_context_never_accepted_aborts_only_that_association(server):
    with association(server, [context(VERIFICATION, [ELE])]) as bystander:
        with established(server, contexts=(ECHO_CONTEXT,)) as client:
            # Context 5 was never proposed.
            client.send(rawdul.p_data(rawdul.pdv(5, rawdul.c_echo_rq(1), command=True)))
            assert_aborted(client)
        assert echo_status(bystander) == 0, "another association was disturbed"
    assert echo_ok(server)


def test_lying_group_lengths_are_harmless(server, tmp_path):
    """Group lengths are not structure (PS3.5 7.2): a command set whose (0000,0000) is wrong is
    answered, and a dataset whose group lengths are wrong is stored as received."""
    uid = generate_uid()
    # (0008,0000) = 7, far too short for group 0008, put in front of the group's elements
    # (encoders drop group lengths, so the lie is spliced into the bytes).
    lie = struct.pack("<HH2sHI", 0x0008, 0x0000, b"UL", 4, 7)
    payload = lie + encode_dataset(make_dataset(sop_instance=uid))
    assert payload[len(lie):len(lie) + 2] == b"\x08\x00", "the dataset does not start with group 0008"
    path = write_raw_part10(tmp_path / "lying.dcm", sop_class=CT_IMAGE, sop_instance=uid,
                            transfer_syntax=ELE, payload=payload)
    with association(server, [context(CT_IMAGE, [ELE])]) as assoc:
        assert store_file(assoc, path) == 0x0000
    stored = [p for p in server.archive_files() if uid.encode() in p.read_bytes()]
    assert len(stored) == 1 and stored[0].read_bytes().endswith(payload), "not stored as received"

    command = bytearray(rawdul.c_echo_rq(7))
    assert command[:4] == b"\x00\x00\x00\x00", "the command set does not start with (0000,0000)"
    struct.pack_into("<I", command, 8, 3)  # its group length: 3 bytes instead of the rest
    with established(server, contexts=(ECHO_CONTEXT,)) as client:
        client.send(rawdul.p_data(rawdul.pdv(3, bytes(command), command=True)))
        response, _ = client.recv_message(timeout=10)
        assert response.Status == 0, f"C-ECHO with a lying group length: {response}"
        client.release()
