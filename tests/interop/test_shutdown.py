"""Graceful shutdown on SIGTERM and SIGINT: stop accepting, let running
associations finish, exit 0."""

import signal

import pytest

from helpers import ELE, VERIFICATION, associate, context, echo_ok, echo_status, port_open, wait_until


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_exits_zero(dcmdisc_factory, sig):
    server = dcmdisc_factory("shutdown")
    assert echo_ok(server)
    code = server.stop(sig, timeout=10)
    assert code == 0, f"exit code {code} (None: still running after 10 s and killed)"


def test_running_association_finishes_after_sigterm(dcmdisc_factory):
    server = dcmdisc_factory("drain")
    assoc = associate(server, [context(VERIFICATION, [ELE])])
    assert assoc.is_established
    try:
        server.send_signal(signal.SIGTERM)
        # The signal is taken and the listener closed: from here on the server is stopping.
        assert wait_until(lambda: "SIGTERM: stopping" in server.log_text(), timeout=10), \
            "no 'SIGTERM: stopping' in the serve log 10 s after the signal"
        assert wait_until(lambda: not port_open(server.port), timeout=10), \
            "the server still accepts connections 10 s after SIGTERM"
        # The association that was running goes on until it is released.
        assert assoc.is_established, "the running association was cut by SIGTERM"
        assert echo_status(assoc) == 0, "the running association was cut by SIGTERM"
        assoc.release()
    finally:
        if assoc.is_alive():
            assoc.abort()
    code = server.wait(timeout=10)
    assert code == 0, f"exit code {code} (None: still running 10 s after the release and killed)"
