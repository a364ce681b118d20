"""Association acceptance policy, conformance statement 4.2.1.4: each refusal is an
A-ASSOCIATE-RJ with the result/source/reason of PS3.8 9.3.4."""

import pytest

import rawdul
from helpers import (ELE, LOCALHOST, VERIFICATION, associate, context, create_dcmdisc, echo_ok,
                     echo_status, rejection, wait_until)

PERMANENT, TRANSIENT = 1, 2
SERVICE_USER, SERVICE_PROVIDER_ACSE, SERVICE_PROVIDER_PRESENTATION = 1, 2, 3
APP_CONTEXT_NOT_SUPPORTED = 2
CALLING_AE_NOT_RECOGNIZED = 3
CALLED_AE_NOT_RECOGNIZED = 7
LOCAL_LIMIT_EXCEEDED = 2

ECHO_CONTEXT = [(1, VERIFICATION, [ELE])]


@pytest.fixture(scope="module")
def policy_server(tmp_path_factory):
    """A server with remotes that exercise the host check."""
    d = create_dcmdisc(tmp_path_factory.mktemp("policy"), start=False)
    d.add_remote("ANYHOST", host="any")
    d.add_remote("BYNAME", host="localhost")
    d.add_remote("ELSEWHERE", host="127.0.0.3", port=11112)
    d.start()
    yield d
    d.kill()


def raw_associate(server, *, called=None, calling="RAWSCU", bind=None, **kwargs):
    with rawdul.RawClient(LOCALHOST, server.port, bind=bind) as client:
        return client.associate(called or server.ae_title, calling, ECHO_CONTEXT, **kwargs)


def assert_rejected(answer, expected):
    pdu_type, parsed = answer
    assert pdu_type == rawdul.A_ASSOCIATE_RJ, \
        f"expected A-ASSOCIATE-RJ {expected}, got {rawdul.PDU_NAMES.get(pdu_type, pdu_type)} {parsed}"
    assert parsed == expected


def assert_accepted(answer):
    pdu_type, parsed = answer
    assert pdu_type == rawdul.A_ASSOCIATE_AC, \
        f"expected A-ASSOCIATE-AC, got {rawdul.PDU_NAMES.get(pdu_type, pdu_type)} {parsed}"
    assert parsed.contexts[1][0] == 0


def test_wrong_application_context(policy_server):
    answer = raw_associate(policy_server, app_context="1.2.840.10008.3.1.1.2")
    assert_rejected(answer, (PERMANENT, SERVICE_USER, APP_CONTEXT_NOT_SUPPORTED))


def test_unknown_calling_ae(policy_server):
    answer = raw_associate(policy_server, calling="NOBODY")
    assert_rejected(answer, (PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNIZED))


def test_unknown_calling_ae_pynetdicom(policy_server):
    assoc = associate(policy_server, [context(VERIFICATION, [ELE])], ae_title="STRANGER")
    assert rejection(assoc) == (PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNIZED)


def test_calling_ae_from_wrong_host(policy_server):
    """RAWSCU is registered with host 127.0.0.1; the same title from 127.0.0.2 is refused."""
    answer = raw_associate(policy_server, bind="127.0.0.2")
    assert_rejected(answer, (PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNIZED))
    # Every refusal is logged with the peer address.
    assert wait_until(lambda: "127.0.0.2" in policy_server.log_text(), timeout=10), \
        "the refusal of a peer at 127.0.0.2 is not in the server log"


def test_calling_ae_from_wrong_host_pynetdicom(policy_server):
    assoc = associate(policy_server, [context(VERIFICATION, [ELE])], bind="127.0.0.2")
    assert rejection(assoc) == (PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNIZED)


def test_calling_ae_registered_for_another_host(policy_server):
    answer = raw_associate(policy_server, calling="ELSEWHERE")
    assert_rejected(answer, (PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNIZED))


def test_called_ae_not_ours(policy_server):
    answer = raw_associate(policy_server, called="NOT_CDP")
    assert_rejected(answer, (PERMANENT, SERVICE_USER, CALLED_AE_NOT_RECOGNIZED))


def test_host_any_accepts_other_address(policy_server):
    assert_accepted(raw_associate(policy_server, calling="ANYHOST", bind="127.0.0.2"))


def test_host_name_is_resolved(policy_server):
    assert_accepted(raw_associate(policy_server, calling="BYNAME"))


def test_protocol_version_only_bit_0_is_tested(policy_server):
    assert_accepted(raw_associate(policy_server, protocol_version=0x0003))


def test_refusals_do_not_disturb_service(policy_server):
    for _ in range(3):
        raw_associate(policy_server, calling="NOBODY")
    assert echo_ok(policy_server)


def test_pool_limit(dcmdisc_factory):
    """max_associations=5: the 6th simultaneous association gets the transient
    local-limit refusal; the 5 others go on and release normally."""
    server = dcmdisc_factory("pool", storage_provider={"max_associations": 5})
    held = []
    try:
        for i in range(5):
            assoc = associate(server, [context(VERIFICATION, [ELE])])
            assert assoc.is_established, f"association {i + 1} of 5 refused"
            held.append(assoc)
        answer = raw_associate(server)
        assert_rejected(answer, (TRANSIENT, SERVICE_PROVIDER_PRESENTATION, LOCAL_LIMIT_EXCEEDED))
        sixth = associate(server, [context(VERIFICATION, [ELE])])
        assert rejection(sixth) == (TRANSIENT, SERVICE_PROVIDER_PRESENTATION, LOCAL_LIMIT_EXCEEDED)
        for assoc in held:
            assert echo_status(assoc) == 0
            assoc.release()
            assert assoc.is_released
    finally:
        for assoc in held:
            if assoc.is_alive():
                assoc.abort()
    # Slots are given back: a new association works (bounded retry: release is asynchronous).
    assert wait_until(lambda: echo_ok(server), timeout=10, interval=0.2)
