"""Graceful shutdown on SIGTERM and SIGINT: stop accepting, let running
associations finish, exit 0."""

import signal
import time

import pytest

from helpers import ELE, VERIFICATION, associate, context, echo_ok, echo_status


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_exits_zero(dcmdisc_factory, sig):
    server = dcmdisc_factory("shutdown")
    assert echo_ok(server)
    start = time.monotonic()
    code = server.stop(sig, timeout=10)
    assert code == 0, f"exit code {code} (None: still running after 10 s and killed)"
    assert time.monotonic() - start < 10


def test_running_association_finishes_after_sigterm(dcmdisc_factory):
    server = dcmdisc_factory("drain")
    assoc = associate(server, [context(VERIFICATION, [ELE])])
    assert assoc.is_established
    try:
        server.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        # The association that was running goes on until it is released.
        assert echo_status(assoc) == 0, "the running association was cut by SIGTERM"
        assoc.release()
    finally:
        if assoc.is_alive():
            assoc.abort()
    code = server.wait(timeout=10)
    assert code == 0, f"exit code {code} (None: still running 10 s after the release and killed)"
