"""Work-arounds for two races in pynetdicom 3.0 (the requestor side), so that a
failure of this suite is dcmdisc's and not the test peer's.

Both are made likely by an acceptor that answers in microseconds, and more so on
a loaded 2-core machine; both were reproduced against pynetdicom's own SCP too.

1. Lost DIMSE responses. `Association.run` (the reactor thread) takes complete
   DIMSE messages off the queue with `get_msg(block=False)` and serves them as
   requests; `send_c_echo()` & co. pause the reactor with a flag handshake that
   can let the reactor take one more message: the response the sender waits for
   is then dropped, and the sender times out (about 1 in 500 C-ECHOs under load).
   A requestor in these tests never serves requests, so for requestor
   associations the reactor's non-blocking read returns nothing and responses
   stay queued for the sender.

2. A-ASSOCIATE-RJ reported as an abort. After sending the A-ASSOCIATE-RQ the
   requestor waits for the transport to be ready and then checks that it is
   still connected; when the RJ arrived and the DUL closed the socket in between,
   it aborts instead of reading the RJ, which is still queued. `recover_rejection`
   takes that RJ primitive from the queue.
"""

from __future__ import annotations

from pynetdicom.dimse import DIMSEServiceProvider
from pynetdicom.pdu_primitives import A_ASSOCIATE

_original_get_msg = DIMSEServiceProvider.get_msg


def _get_msg(self, block: bool = False):
    if not block and self.assoc.is_requestor:
        return None, None
    return _original_get_msg(self, block)


def install() -> None:
    DIMSEServiceProvider.get_msg = _get_msg


def recover_rejection(assoc) -> None:
    """Turn a pynetdicom 'aborted' that really was an A-ASSOCIATE-RJ back into a rejection."""
    if assoc.is_established or assoc.is_rejected or not assoc.is_aborted:
        return
    queued = [p for p in list(assoc.dul.to_user_queue.queue)
              if isinstance(p, A_ASSOCIATE) and p.result in (0x01, 0x02)]
    if queued:
        assoc.acceptor.primitive = queued[0]
        assoc.is_rejected = True
        assoc.is_aborted = False
