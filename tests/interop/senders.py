"""Concurrent C-STORE senders for the crash campaign and the soak benchmark.

Each sender is a pynetdicom requestor on its own thread that sends a stream of small generated
instances, each with a new SOP Instance UID, over associations of a bounded number of
instances, and keeps what it learnt of each one: sent (the request went out, the answer may
never have come), acknowledged (C-STORE-RSP status 0000) or refused (any other status). What
counts as "sent" is the exact dataset bytes pynetdicom put on the wire (the same encoder,
Explicit VR Little Endian), so a stored file can be compared with them byte for byte.

Used by tests/interop/test_crash_campaign.py and bench/soak.sh; nothing here asserts.
"""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass, field

from pydicom.uid import generate_uid

from helpers import CT_IMAGE, ELE, VERIFICATION, associate, context, encode_dataset, make_dataset

STORE_CONTEXTS = [context(CT_IMAGE, [ELE]), context(VERIFICATION, [ELE])]

# Pixel data sizes drawn for each instance: one PDU, a few PDUs, many PDUs at a 16 KiB PDU.
PIXEL_SIZES = (512, 4096, 40_000)


@dataclass
class Sent:
    digest: str  # SHA-256 of the dataset bytes sent
    length: int
    status: int | None = None  # None: no answer (the association died with it in flight)


@dataclass
class SenderStats:
    sent: dict[str, Sent] = field(default_factory=dict)  # SOP Instance UID -> what was sent
    acknowledged: int = 0
    refused: dict[int, int] = field(default_factory=dict)  # status -> count
    errors: list[str] = field(default_factory=list)  # association failures, exceptions
    associations: int = 0


class Senders:
    """`count` sender threads against `server` (a helpers.Dcmdisc), started by `start()`.

    They run until `stop()`; with `stop_on_failure` (the crash tests) each one stops at its
    first failed association, as the server is then gone; otherwise (the soak) a failure is
    counted and the sender carries on. `paused` (a threading.Event, set = pause) makes them
    finish their current instance, release, and wait: the soak measures the idle server then.
    `keep` keeps per-instance records (digest, status); without it only counts are kept.
    """

    def __init__(self, server, count: int = 4, *, per_association: int = 50, keep: bool = True,
                 stop_on_failure: bool = True, seed: int | None = None, ae_title: str = "PYNETDICOM",
                 pixel_sizes=PIXEL_SIZES, dimse_timeout: float | None = None):
        self.server = server
        self.count = count
        self.per_association = per_association
        self.keep = keep
        self.stop_on_failure = stop_on_failure
        self.ae_title = ae_title
        self.pixel_sizes = tuple(pixel_sizes)
        # pynetdicom 3.0 does not wake a sender waiting for a C-STORE-RSP when the connection
        # drops: it waits out its DIMSE timeout. The crash tests shorten it.
        self.dimse_timeout = dimse_timeout
        self.rng = random.Random(seed)
        self.stats = [SenderStats() for _ in range(count)]
        self.stopping = threading.Event()
        self.paused = threading.Event()
        self.threads: list[threading.Thread] = []
        self.lock = threading.Lock()

    # ----------------------------------------------------------------- running

    def start(self) -> "Senders":
        for n in range(self.count):
            t = threading.Thread(target=self._run, args=(n, random.Random(self.rng.random())),
                                 name=f"sender-{n}", daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self, timeout: float = 60.0) -> list[str]:
        """Ask every sender to stop and wait (bounded); the names of those still running."""
        self.stopping.set()
        self.paused.clear()
        for t in self.threads:
            t.join(timeout=timeout)
        return [t.name for t in self.threads if t.is_alive()]

    def _run(self, n: int, rng: random.Random) -> None:
        stats = self.stats[n]
        study, series = generate_uid(), generate_uid()
        while not self.stopping.is_set():
            if self.paused.is_set():
                self.stopping.wait(0.1)
                continue
            try:
                ok = self._one_association(n, rng, stats, study, series)
            except Exception as exc:  # a sender's bug or pynetdicom's: counted, never hidden
                stats.errors.append(f"sender {n}: {type(exc).__name__}: {exc}")
                ok = False
            if not ok and self.stop_on_failure:
                return
            if not ok:
                self.stopping.wait(0.5)

    def _one_association(self, n, rng, stats, study, series) -> bool:
        assoc = associate(self.server, STORE_CONTEXTS, ae_title=self.ae_title)
        if not assoc.is_established:
            stats.errors.append(f"sender {n}: association {stats.associations + 1} not established")
            return False
        stats.associations += 1
        if self.dimse_timeout is not None:
            assoc.dimse_timeout = self.dimse_timeout
        try:
            for _ in range(self.per_association):
                if self.stopping.is_set() or self.paused.is_set():
                    break
                ds = make_dataset(sop_instance=generate_uid(), patient_name=f"CRASH^SENDER{n}",
                                  patient_id=f"CRASH-{n}", study_uid=study, series_uid=series,
                                  pixel_bytes=rng.choice(self.pixel_sizes))
                uid = str(ds.SOPInstanceUID)
                record = None
                if self.keep:
                    data = encode_dataset(ds)
                    record = Sent(hashlib.sha256(data).hexdigest(), len(data))
                    stats.sent[uid] = record  # before the request: it may be stored with no answer
                try:
                    status = assoc.send_c_store(ds)
                except RuntimeError:
                    if assoc.is_established:
                        raise
                    # The association died before this request went out: it was never sent.
                    stats.sent.pop(uid, None)
                    return False
                code = int(status.Status) if status is not None and "Status" in status else None
                if record is not None:
                    record.status = code
                if code == 0:
                    stats.acknowledged += 1
                elif code is not None:
                    stats.refused[code] = stats.refused.get(code, 0) + 1
                if not assoc.is_established:
                    if code is None and not self.stopping.is_set():
                        stats.errors.append(f"sender {n}: association lost")
                    return False
        finally:
            if assoc.is_established:
                assoc.release()
            if assoc.is_alive():
                assoc.abort()
        return True

    # ----------------------------------------------------------------- results

    def sent(self) -> dict[str, Sent]:
        out: dict[str, Sent] = {}
        for s in self.stats:
            out.update(s.sent)
        return out

    def acknowledged(self) -> int:
        return sum(s.acknowledged for s in self.stats)

    def refused(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for s in self.stats:
            for k, v in s.refused.items():
                out[k] = out.get(k, 0) + v
        return out

    def errors(self) -> list[str]:
        return [e for s in self.stats for e in s.errors]
