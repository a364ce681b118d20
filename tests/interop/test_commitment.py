"""Storage Commitment Push Model SCP (PS3.4 J.3) against pynetdicom: its N-ACTION as the
SCU, its N-EVENT-REPORT handling on the requesting association and, when the requester
released first, as the SCP of a new association dcmdisc opens to the remote AE's port.

Committed means in the archive index with durable mode on (the default of these servers).
Every wait is bounded; everything is on 127.0.0.1.
"""

from __future__ import annotations

import threading

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import evt
from pynetdicom.dsutils import encode
from pynetdicom.sop_class import StorageCommitmentPushModel

import rawdul
from helpers import (CT_IMAGE, ELE, ILE, LOCALHOST, MR_IMAGE, association, context, free_port, make_ae,
                     make_dataset, wait_until)

SC = "1.2.840.10008.1.20.1"
SC_INSTANCE = "1.2.840.10008.1.20.1.1"
NO_SUCH_OBJECT_INSTANCE = 0x0112
CLASS_INSTANCE_CONFLICT = 0x0119


def store_instances(server, n: int = 2) -> list[str]:
    uids = []
    with association(server, [context(CT_IMAGE, [ELE])]) as assoc:
        for i in range(n):
            ds = make_dataset(pixel_bytes=512, InstanceNumber=i + 1)
            status = assoc.send_c_store(ds)
            assert status is not None and status.Status == 0x0000
            uids.append(str(ds.SOPInstanceUID))
    return uids


def commitment_request(transaction: str, refs) -> Dataset:
    ds = Dataset()
    ds.TransactionUID = transaction
    items = []
    for sop_class, sop_instance in refs:
        item = Dataset()
        item.ReferencedSOPClassUID = sop_class
        item.ReferencedSOPInstanceUID = sop_instance
        items.append(item)
    ds.ReferencedSOPSequence = items
    return ds


def request_on_same_association(server, refs, ts=ELE):
    """N-ACTION as pynetdicom's SCU, the report taken on the same association: (event type,
    event information)."""
    reports = []

    def on_report(event):
        reports.append((event.event_type, event.event_information))
        return 0x0000, None

    transaction = generate_uid()
    with association(server, [context(SC, [ts])], ae_title="PYNETDICOM",
                     evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)]) as assoc:
        status, reply = assoc.send_n_action(commitment_request(transaction, refs), 1, StorageCommitmentPushModel,
                                            SC_INSTANCE)
        assert status is not None, "no N-ACTION-RSP"
        assert status.Status == 0x0000
        assert wait_until(lambda: reports, timeout=30), "no N-EVENT-REPORT on the requesting association"
    [(event_type, info)] = reports
    assert info.TransactionUID == transaction
    return event_type, info


def refs_of(seq) -> list[tuple[str, str]]:
    return [(str(i.ReferencedSOPClassUID), str(i.ReferencedSOPInstanceUID)) for i in seq]


def test_stored_instances_are_committed_on_the_same_association(server):
    uids = store_instances(server)
    for ts in (ELE, ILE):
        event_type, info = request_on_same_association(server, [(CT_IMAGE, u) for u in uids], ts)
        assert event_type == 1
        assert refs_of(info.ReferencedSOPSequence) == [(CT_IMAGE, u) for u in uids]
        assert "FailedSOPSequence" not in info


def test_unknown_and_mismatched_instances_fail_with_their_reason(server):
    [stored] = store_instances(server, 1)
    unknown = generate_uid()
    event_type, info = request_on_same_association(
        server, [(CT_IMAGE, stored), (CT_IMAGE, unknown), (MR_IMAGE, stored)])
    assert event_type == 2
    assert refs_of(info.ReferencedSOPSequence) == [(CT_IMAGE, stored)]
    failed = [(str(i.ReferencedSOPClassUID), str(i.ReferencedSOPInstanceUID), int(i.FailureReason))
              for i in info.FailedSOPSequence]
    assert failed == [(CT_IMAGE, unknown, NO_SUCH_OBJECT_INSTANCE), (MR_IMAGE, stored, CLASS_INSTANCE_CONFLICT)]


def n_action_rq(message_id: int) -> bytes:
    ds = Dataset()
    ds.RequestedSOPClassUID = SC
    ds.CommandField = 0x0130
    ds.MessageID = message_id
    ds.CommandDataSetType = 0x0000
    ds.RequestedSOPInstanceUID = SC_INSTANCE
    ds.ActionTypeID = 1
    return rawdul.command_set(ds)


def test_a_requester_that_released_first_gets_the_report_on_a_new_association(server):
    """The requester sends its N-ACTION-RQ and its A-RELEASE-RQ together; the report then goes
    to the remote AE's configured port, where a pynetdicom SCP takes it."""
    uids = store_instances(server)
    reports = []
    got = threading.Event()

    def on_report(event):
        reports.append((event.assoc.requestor.ae_title, event.event_type, event.event_information))
        got.set()
        return 0x0000, None

    port = free_port()
    scp = make_ae("COMMITSCU")
    # dcmdisc proposes to be the SCP of Storage Commitment on this association (role selection).
    scp.add_supported_context(StorageCommitmentPushModel, [ELE, ILE], scu_role=False, scp_role=True)
    listener = scp.start_server((LOCALHOST, port), block=False,
                                evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
    try:
        server.add_remote("COMMITSCU", port=port)
        transaction = generate_uid()
        data = encode(commitment_request(transaction, [(CT_IMAGE, u) for u in uids]), True, True)
        with rawdul.RawClient(LOCALHOST, server.port) as client:
            pdu_type, ac = client.associate(server.ae_title, "COMMITSCU", [(1, SC, [ILE])])
            assert pdu_type == rawdul.A_ASSOCIATE_AC, ac
            assert ac.contexts[1] == (0, ILE)
            client.send(rawdul.p_data(rawdul.pdv(1, n_action_rq(3), command=True),
                                      rawdul.pdv(1, data, command=False)) + rawdul.release_rq())
            cmd, _ = client.recv_message()
            assert cmd.CommandField == 0x8130 and cmd.Status == 0x0000
            pdu_type, _ = client.recv_pdu()
            assert pdu_type == rawdul.A_RELEASE_RP, "the report must not come on the released association"
        assert got.wait(timeout=30), "no N-EVENT-REPORT on a new association"
    finally:
        listener.shutdown()
    [(calling, event_type, info)] = reports
    assert calling.strip() == server.ae_title
    assert event_type == 1
    assert info.TransactionUID == transaction
    assert refs_of(info.ReferencedSOPSequence) == [(CT_IMAGE, u) for u in uids]


def test_the_storage_commitment_context_takes_little_endian_only(shared_server):
    with association(shared_server, [context(SC, [ELE, ILE])]) as assoc:
        [cx] = assoc.accepted_contexts
        assert cx.transfer_syntax[0] == ELE
    from helpers import associate
    assoc = associate(shared_server, [context(SC, ["1.2.840.10008.1.2.2"]), context("1.2.840.10008.1.1", [ELE])])
    try:
        assert [cx.abstract_syntax for cx in assoc.rejected_contexts] == [SC]
    finally:
        if assoc.is_established:
            assoc.release()


def commitment_events(server) -> list[str]:
    """The states of the `commitment` events, as `dcmdisc events` lists them."""
    return [e["state"] for e in server.cli_json("events")
            if e.get("kind") == "other" and e.get("name") == "commitment"]


def request_and_release(server, calling: str, uids) -> str:
    """N-ACTION-RQ and A-RELEASE-RQ together: the report cannot go on this association."""
    transaction = generate_uid()
    data = encode(commitment_request(transaction, [(CT_IMAGE, u) for u in uids]), True, True)
    with rawdul.RawClient(LOCALHOST, server.port) as client:
        pdu_type, ac = client.associate(server.ae_title, calling, [(1, SC, [ILE])])
        assert pdu_type == rawdul.A_ASSOCIATE_AC, ac
        client.send(rawdul.p_data(rawdul.pdv(1, n_action_rq(3), command=True),
                                  rawdul.pdv(1, data, command=False)) + rawdul.release_rq())
        cmd, _ = client.recv_message()
        assert cmd.CommandField == 0x8130 and cmd.Status == 0x0000
        pdu_type, _ = client.recv_pdu()
        assert pdu_type == rawdul.A_RELEASE_RP
    return transaction


def retrying_server(factory, **commitment):
    d = factory("commit-retry", start=False)
    with open(d.config_path, "a", encoding="utf-8") as f:
        f.write("\n[commitment]\n" + "".join(f"{k} = {v}\n" for k, v in commitment.items()))
    return d.start()


def test_a_report_whose_peer_is_down_is_retried_across_a_restart_and_delivered_once(
        dcmdisc_factory):
    """The report peer is not listening when the report is due: the report is kept, tried
    again, survives a kill -9 of serve, and reaches the peer (a pynetdicom SCP) once it
    listens: exactly one N-EVENT-REPORT, then nothing is left to send."""
    server = retrying_server(dcmdisc_factory, retry_max_interval_secs=1)
    uids = store_instances(server)
    port = free_port()
    server.add_remote("LATESCU", port=port)
    transaction = request_and_release(server, "LATESCU", uids)
    # Nobody listens: attempts fail and are recorded.
    assert wait_until(lambda: "retry" in commitment_events(server), timeout=30), \
        server.log_text()[-3000:]
    assert "not delivered" in server.log_text()
    server.kill()
    server.start()
    reports = []

    def on_report(event):
        reports.append((event.event_type, event.event_information))
        return 0x0000, None

    scp = make_ae("LATESCU")
    scp.add_supported_context(StorageCommitmentPushModel, [ELE, ILE], scu_role=False, scp_role=True)
    listener = scp.start_server((LOCALHOST, port), block=False,
                                evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report)])
    try:
        assert wait_until(lambda: "delivered" in commitment_events(server), timeout=60), \
            server.log_text()[-3000:]
        # Delivered means removed: nothing is left to send, so a stop and a start send nothing.
        server.stop()
        server.start()
        assert server.stop() == 0
    finally:
        listener.shutdown()
    [(event_type, info)] = reports
    assert event_type == 1 and info.TransactionUID == transaction
    assert refs_of(info.ReferencedSOPSequence) == [(CT_IMAGE, u) for u in uids]
    states = commitment_events(server)
    assert states[0] == "pending" and states.count("delivered") == 1 and "given_up" not in states


def test_a_report_nobody_takes_is_given_up_visibly_when_its_time_is_over(dcmdisc_factory):
    server = retrying_server(dcmdisc_factory, retry_for_secs=2, retry_max_interval_secs=1)
    uids = store_instances(server, 1)
    server.add_remote("GONESCU", port=free_port())
    request_and_release(server, "GONESCU", uids)
    assert wait_until(lambda: "given_up" in commitment_events(server), timeout=60), \
        server.log_text()[-3000:]
    assert "storage commitment report given up" in server.log_text()
    states = commitment_events(server)
    assert states[0] == "pending" and "delivered" not in states
