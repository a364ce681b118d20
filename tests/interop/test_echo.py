"""Verification SOP Class (C-ECHO SCP), conformance statement 4.2.1.4.1."""

import subprocess

from pynetdicom import evt

import rawdul
from helpers import ECHOSCU, ELE, ILE, LOCALHOST, VERIFICATION, association, context


def test_dcmtk_echoscu(shared_server):
    result = subprocess.run(
        [ECHOSCU, "-aet", "ECHOSCU", "-aec", shared_server.ae_title, "-to", "10", "-ta", "10",
         "-td", "10", LOCALHOST, str(shared_server.port)],
        capture_output=True, text=True, errors="replace", timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


def test_pynetdicom_echo_response(shared_server):
    responses = []

    def on_dimse_recv(event):
        responses.append(event.message)

    with association(shared_server, [context(VERIFICATION, [ELE, ILE])],
                     evt_handlers=[(evt.EVT_DIMSE_RECV, on_dimse_recv)]) as assoc:
        status = assoc.send_c_echo(msg_id=42)
        assert status is not None, "no C-ECHO response"
        assert status.Status == 0x0000
    assert responses, "no DIMSE message received"
    cmd = responses[-1].command_set
    assert cmd.CommandField == 0x8030
    assert cmd.MessageIDBeingRespondedTo == 42
    assert cmd.AffectedSOPClassUID == VERIFICATION


def test_raw_echo_response_fields(shared_server):
    with rawdul.RawClient(LOCALHOST, shared_server.port) as client:
        pdu_type, ac = client.associate(shared_server.ae_title, "RAWSCU",
                                        [(1, VERIFICATION, [ILE, ELE])])
        assert pdu_type == rawdul.A_ASSOCIATE_AC, ac
        assert ac.app_context == rawdul.DICOM_APP_CONTEXT
        result, ts = ac.contexts[1]
        assert result == 0 and ts == ELE, "Explicit VR LE is preferred over Implicit VR LE"
        client.send(rawdul.p_data(rawdul.pdv(1, rawdul.c_echo_rq(7), command=True)))
        cmd, data = client.recv_message()
        assert data == b""
        assert cmd.CommandField == 0x8030
        assert cmd.MessageIDBeingRespondedTo == 7
        assert cmd.AffectedSOPClassUID == VERIFICATION
        assert cmd.CommandDataSetType == 0x0101
        assert cmd.Status == 0x0000
        client.release()


def test_echo_with_unlimited_peer_max_pdu(shared_server):
    """A requestor's Maximum Length 0 means "no limit" (PS3.8 D.1)."""
    with association(shared_server, [context(VERIFICATION, [ELE])], max_pdu=0) as assoc:
        assert assoc.send_c_echo().Status == 0


def test_raw_echo_fragmented_command(shared_server):
    """A command set split over two PDVs in two P-DATA-TF PDUs is reassembled."""
    command = rawdul.c_echo_rq(9)
    with rawdul.RawClient(LOCALHOST, shared_server.port) as client:
        pdu_type, ac = client.associate(shared_server.ae_title, "RAWSCU", [(1, VERIFICATION, [ELE])])
        assert pdu_type == rawdul.A_ASSOCIATE_AC, ac
        client.send(rawdul.p_data(rawdul.pdv(1, command[:20], command=True, last=False)))
        client.send(rawdul.p_data(rawdul.pdv(1, command[20:], command=True, last=True)))
        cmd, _ = client.recv_message()
        assert (cmd.MessageIDBeingRespondedTo, cmd.Status) == (9, 0)
        client.release()
