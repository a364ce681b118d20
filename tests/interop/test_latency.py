"""No per-message stall on stock loopback (issue 2 performance targets).

Linux delays ACKs up to 40 ms. A peer that writes one message in two segments with
Nagle on then waits for that ACK once per message: 100 messages take 4 s instead of
a fraction of a second. dcmdisc must not cause that stall, neither for its own
responses nor for a stock dcmtk sender (TCP_NODELAY and TCP_QUICKACK are the
levers). Measured without the stall here: 100 C-ECHOs ~0.5 s (pynetdicom's own
pace), 100 storescu C-STOREs ~0.1 s; with it: ~4.4 s each.
"""

import subprocess
import time

from helpers import ELE, LOCALHOST, STORESCU, VERIFICATION, association, context, make_dataset, write_dataset


def test_no_stall_on_c_echo(shared_server):
    """100 C-ECHOs on stock loopback: a response written in two segments with Nagle on
    stalls ~40 ms each (4 s in all); without the stall this takes well under a second."""
    with association(shared_server, [context(VERIFICATION, [ELE])]) as assoc:
        assert assoc.send_c_echo().Status == 0  # warm-up
        start = time.monotonic()
        for i in range(100):
            sent = time.monotonic()
            status = assoc.send_c_echo(msg_id=i + 2)
            assert "Status" in status, (
                f"C-ECHO {i + 1}/100 got no response after {time.monotonic() - sent:.1f} s "
                f"(association established: {assoc.is_established}, aborted: {assoc.is_aborted})")
            assert status.Status == 0
        elapsed = time.monotonic() - start
    assert elapsed < 2.5, f"100 C-ECHO round trips took {elapsed:.2f} s (delayed-ACK stall?)"


def test_no_stall_with_stock_storescu(dcmdisc_factory, tmp_path):
    """100 small instances from dcmtk storescu on one association (durability off, so
    that only the network is measured)."""
    server = dcmdisc_factory("latency", archive={"durable": False})
    files = [str(write_dataset(make_dataset(pixel_bytes=2048), tmp_path / f"{i}.dcm")) for i in range(100)]
    start = time.monotonic()
    result = subprocess.run([STORESCU, "-aet", "STORESCU", "-aec", server.ae_title, "-to", "10", "-ta", "30",
                             "-td", "60", LOCALHOST, str(server.port), *files],
                            capture_output=True, text=True, errors="replace", timeout=120)
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(server.instances()) == 100
    assert elapsed < 2.0, (f"100 C-STOREs from storescu took {elapsed:.2f} s on stock loopback "
                           f"(about 40 ms each: a delayed-ACK stall)")
