"""A deliberately small DICOM Upper Layer (PS3.8) client working on raw bytes.

pynetdicom is the well-behaved peer; this module is the badly-behaved one (and the
one that lets a test see the exact bytes an acceptor answers with): it builds
A-ASSOCIATE-RQ PDUs field by field, sends malformed or oversized PDUs, and reads
the acceptor's PDUs without interpreting more than a test needs.

Everything here is bounded: every socket operation has a timeout, and a PDU whose
declared length is larger than `MAX_ACCEPTED_PDU` is not read into memory.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from io import BytesIO

from pynetdicom.dsutils import decode, encode

DICOM_APP_CONTEXT = "1.2.840.10008.3.1.1.1"
VERIFICATION = "1.2.840.10008.1.1"
ILE = "1.2.840.10008.1.2"
ELE = "1.2.840.10008.1.2.1"

# PDU types (PS3.8 9.3.1)
A_ASSOCIATE_RQ = 0x01
A_ASSOCIATE_AC = 0x02
A_ASSOCIATE_RJ = 0x03
P_DATA_TF = 0x04
A_RELEASE_RQ = 0x05
A_RELEASE_RP = 0x06
A_ABORT = 0x07

PDU_NAMES = {
    A_ASSOCIATE_RQ: "A-ASSOCIATE-RQ",
    A_ASSOCIATE_AC: "A-ASSOCIATE-AC",
    A_ASSOCIATE_RJ: "A-ASSOCIATE-RJ",
    P_DATA_TF: "P-DATA-TF",
    A_RELEASE_RQ: "A-RELEASE-RQ",
    A_RELEASE_RP: "A-RELEASE-RP",
    A_ABORT: "A-ABORT",
}

# We never read a PDU body bigger than this (a test would be reading garbage).
MAX_ACCEPTED_PDU = 64 * 1024 * 1024

TEST_IMPLEMENTATION_UID = "1.2.826.0.1.3680043.10.1.1"  # any syntactically valid UID


class ConnectionClosed(Exception):
    """The peer closed (or reset) the transport connection."""


# --------------------------------------------------------------------------- encoding


def _ae(title: str) -> bytes:
    raw = title.encode("ascii")
    if len(raw) > 16:
        raise ValueError(f"AE title too long: {title!r}")
    return raw.ljust(16, b" ")


def _uid(uid: str) -> bytes:
    return uid.encode("ascii")


def _item(item_type: int, value: bytes) -> bytes:
    return struct.pack(">BBH", item_type, 0, len(value)) + value


def pdu(pdu_type: int, body: bytes) -> bytes:
    """A PDU: type, reserved byte, 4-byte big-endian length, body."""
    return struct.pack(">BBI", pdu_type, 0, len(body)) + body


def presentation_context_item(context_id: int, abstract_syntax: str, transfer_syntaxes) -> bytes:
    value = struct.pack(">BBBB", context_id, 0, 0, 0)
    value += _item(0x30, _uid(abstract_syntax))
    for ts in transfer_syntaxes:
        value += _item(0x40, _uid(ts))
    return _item(0x20, value)


def associate_rq(
    called: str,
    calling: str,
    contexts,
    *,
    app_context: str = DICOM_APP_CONTEXT,
    max_pdu: int = 16384,
    protocol_version: int = 1,
    implementation_uid: str = TEST_IMPLEMENTATION_UID,
) -> bytes:
    """Encode an A-ASSOCIATE-RQ.

    `contexts` is a list of (context_id, abstract_syntax, [transfer_syntax, ...]).
    """
    body = struct.pack(">HH", protocol_version, 0) + _ae(called) + _ae(calling) + bytes(32)
    body += _item(0x10, _uid(app_context))
    for cid, abstract, tss in contexts:
        body += presentation_context_item(cid, abstract, tss)
    user = _item(0x51, struct.pack(">I", max_pdu)) + _item(0x52, _uid(implementation_uid))
    body += _item(0x50, user)
    return pdu(A_ASSOCIATE_RQ, body)


def pdv(context_id: int, payload: bytes, *, command: bool, last: bool = True) -> bytes:
    """One PDV item: 4-byte length, context ID, message control header, fragment."""
    header = (0x01 if command else 0x00) | (0x02 if last else 0x00)
    return struct.pack(">IBB", len(payload) + 2, context_id, header) + payload


def p_data(*pdvs: bytes) -> bytes:
    return pdu(P_DATA_TF, b"".join(pdvs))


def release_rq() -> bytes:
    return pdu(A_RELEASE_RQ, bytes(4))


def abort_pdu(source: int = 0, reason: int = 0) -> bytes:
    return pdu(A_ABORT, struct.pack(">BBBB", 0, 0, source, reason))


def command_set(elements: Dataset) -> bytes:
    """Encode a DIMSE command set (implicit VR LE) with its Command Group Length first."""
    ds = Dataset()
    for elem in elements:
        if elem.tag != 0x00000000:
            ds.add(elem)
    body = encode(ds, True, True)
    group_length = struct.pack("<HHII", 0x0000, 0x0000, 4, len(body))
    return group_length + body


def c_echo_rq(message_id: int) -> bytes:
    ds = Dataset()
    ds.AffectedSOPClassUID = VERIFICATION
    ds.CommandField = 0x0030
    ds.MessageID = message_id
    ds.CommandDataSetType = 0x0101
    return command_set(ds)


def c_store_rq(message_id: int, sop_class: str, sop_instance: str, priority: int = 0) -> bytes:
    ds = Dataset()
    ds.AffectedSOPClassUID = sop_class
    ds.CommandField = 0x0001
    ds.MessageID = message_id
    ds.Priority = priority
    ds.CommandDataSetType = 0x0000
    ds.AffectedSOPInstanceUID = sop_instance
    return command_set(ds)


def decode_command(raw: bytes) -> Dataset:
    return decode(BytesIO(raw), True, True)


# --------------------------------------------------------------------------- decoding


def _read_items(data: bytes, offset: int):
    """Yield (type, value) of 2-byte-length items from `offset` to the end of `data`."""
    while offset + 4 <= len(data):
        item_type, _, length = struct.unpack_from(">BBH", data, offset)
        yield item_type, data[offset + 4 : offset + 4 + length]
        offset += 4 + length


@dataclass
class AssociateAC:
    called: str
    calling: str
    app_context: str = ""
    # context_id -> (result, transfer syntax or "")
    contexts: dict = field(default_factory=dict)
    max_pdu: int | None = None
    implementation_uid: str | None = None
    implementation_version: str | None = None


def parse_associate_ac(body: bytes) -> AssociateAC:
    called = body[4:20].decode("ascii", "replace").strip()
    calling = body[20:36].decode("ascii", "replace").strip()
    ac = AssociateAC(called=called, calling=calling)
    for item_type, value in _read_items(body, 68):
        if item_type == 0x10:
            ac.app_context = value.decode("ascii").rstrip("\0 ")
        elif item_type == 0x21:
            cid, _, result, _ = struct.unpack_from(">BBBB", value, 0)
            ts = ""
            for sub_type, sub_value in _read_items(value, 4):
                if sub_type == 0x40:
                    ts = sub_value.decode("ascii").rstrip("\0 ")
            ac.contexts[cid] = (result, ts)
        elif item_type == 0x50:
            for sub_type, sub_value in _read_items(value, 0):
                if sub_type == 0x51:
                    (ac.max_pdu,) = struct.unpack(">I", sub_value)
                elif sub_type == 0x52:
                    ac.implementation_uid = sub_value.decode("ascii").rstrip("\0 ")
                elif sub_type == 0x55:
                    ac.implementation_version = sub_value.decode("ascii").rstrip("\0 ")
    return ac


def parse_associate_rj(body: bytes) -> tuple[int, int, int]:
    """(result, source, reason/diag) of an A-ASSOCIATE-RJ body."""
    _, result, source, reason = struct.unpack(">BBBB", body[:4])
    return result, source, reason


def parse_pdvs(body: bytes):
    """Yield (context_id, is_command, is_last, fragment) for each PDV of a P-DATA-TF body."""
    offset = 0
    while offset + 6 <= len(body):
        (length,) = struct.unpack_from(">I", body, offset)
        cid = body[offset + 4]
        mch = body[offset + 5]
        yield cid, bool(mch & 1), bool(mch & 2), body[offset + 6 : offset + 4 + length]
        offset += 4 + length


# --------------------------------------------------------------------------- transport


class RawClient:
    """One TCP connection to an acceptor, spoken to in raw PDUs."""

    def __init__(self, host: str, port: int, *, bind: str | None = None, timeout: float = 10.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(timeout)
        if bind:
            self.sock.bind((bind, 0))
        self.sock.connect((host, port))
        self.timeout = timeout

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _recv_exact(self, n: int, deadline: float) -> bytes:
        chunks = []
        while n > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("timed out reading from the acceptor")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(min(n, 1 << 20))
            except (ConnectionResetError, BrokenPipeError) as exc:
                raise ConnectionClosed(str(exc)) from exc
            if not chunk:
                raise ConnectionClosed("connection closed by peer")
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def recv_pdu(self, timeout: float | None = None) -> tuple[int, bytes]:
        """Read one PDU: (type, body). Raises ConnectionClosed or socket.timeout."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        header = self._recv_exact(6, deadline)
        pdu_type, _, length = struct.unpack(">BBI", header)
        if length > MAX_ACCEPTED_PDU:
            raise AssertionError(f"acceptor sent a PDU of type {pdu_type:#04x} declaring {length} bytes")
        return pdu_type, self._recv_exact(length, deadline)

    def wait_closed(self, timeout: float) -> tuple[bool, list[tuple[int, bytes]], float]:
        """Read PDUs until the peer closes the connection or `timeout` passes.

        Returns (closed, pdus received meanwhile, seconds waited).
        """
        start = time.monotonic()
        deadline = start + timeout
        pdus = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False, pdus, time.monotonic() - start
            try:
                pdus.append(self.recv_pdu(timeout=remaining))
            except ConnectionClosed:
                return True, pdus, time.monotonic() - start
            except (socket.timeout, TimeoutError):
                return False, pdus, time.monotonic() - start

    def wait_for_abort(self, timeout: float) -> tuple[bool, bool, list[int]]:
        """Read PDUs until an A-ABORT arrives, the peer closes, or `timeout` passes.

        Returns (A-ABORT received, connection closed, types of the PDUs received).
        After sending A-ABORT an acceptor may keep the transport open until its ARTIM
        timer expires (PS3.8 state Sta13), so this stops at the A-ABORT.
        """
        deadline = time.monotonic() + timeout
        received: list[int] = []
        closed = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                pdu_type, _ = self.recv_pdu(timeout=remaining)
            except ConnectionClosed:
                closed = True
                break
            except (TimeoutError, OSError):
                break
            received.append(pdu_type)
            if pdu_type == A_ABORT:
                break
        return A_ABORT in received, closed, received

    # ----------------------------------------------------------------- conveniences

    def associate(self, called: str, calling: str, contexts, **kwargs) -> tuple[int, object]:
        """Send an A-ASSOCIATE-RQ; return (pdu type, parsed answer).

        The parsed answer is an AssociateAC, an (result, source, reason) tuple for a
        reject, or the raw body for anything else.
        """
        self.send(associate_rq(called, calling, contexts, **kwargs))
        pdu_type, body = self.recv_pdu()
        if pdu_type == A_ASSOCIATE_AC:
            return pdu_type, parse_associate_ac(body)
        if pdu_type == A_ASSOCIATE_RJ:
            return pdu_type, parse_associate_rj(body)
        return pdu_type, body

    def recv_message(self, timeout: float | None = None) -> tuple[Dataset, bytes]:
        """Read P-DATA-TF PDUs until a complete command (and its data set, if any) arrived."""
        command = b""
        data = b""
        have_command = False
        while True:
            pdu_type, body = self.recv_pdu(timeout)
            if pdu_type != P_DATA_TF:
                raise AssertionError(f"expected P-DATA-TF, got {PDU_NAMES.get(pdu_type, hex(pdu_type))}")
            for _cid, is_command, is_last, fragment in parse_pdvs(body):
                if is_command:
                    command += fragment
                    if is_last:
                        have_command = True
                        cmd = decode_command(command)
                        if cmd.get("CommandDataSetType", 0x0101) == 0x0101:
                            return cmd, b""
                else:
                    data += fragment
                    if is_last and have_command:
                        return decode_command(command), data

    def release(self) -> None:
        self.send(release_rq())
        pdu_type, _ = self.recv_pdu()
        if pdu_type != A_RELEASE_RP:
            raise AssertionError(f"expected A-RELEASE-RP, got {PDU_NAMES.get(pdu_type, hex(pdu_type))}")
