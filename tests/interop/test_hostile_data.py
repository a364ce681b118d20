"""Hostile data (issue 13, defects 3 to 5): a structurally broken dataset, an unknown DIMSE
command, invalid UIDs. Each gets a clear failure answer, and nothing is stored."""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

import rawdul
from helpers import (CT_IMAGE, ELE, LOCALHOST, VERIFICATION, association, context, dataset_bytes,
                     dcmdump_ok, echo_status, encode_dataset, make_dataset, store_file, wait_until,
                     write_raw_part10)

STORE_CONTEXTS = [context(CT_IMAGE, [ELE]), context(VERIFICATION, [ELE])]


def files_containing(server, needle: bytes) -> list[Path]:
    return [p for p in server.archive_files() if needle in p.read_bytes()]


# --------------------------------------------------------------------------- encoding by hand

ITEM = 0xFFFEE000
ITEM_DELIMITER = 0xFFFEE00D
SEQUENCE_DELIMITER = 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
LONG_VRS = {b"OB", b"OW", b"OF", b"SQ", b"UN", b"UT", b"UC", b"UR"}


def tag_bytes(tag: int) -> bytes:
    return struct.pack("<HH", tag >> 16, tag & 0xFFFF)


def element(tag: int, vr: bytes, value: bytes) -> bytes:
    """One Explicit VR Little Endian element, value padded to even length."""
    if len(value) % 2:
        value += b"\0" if vr in (b"UI", b"OB", b"UN") else b" "
    if vr in LONG_VRS:
        return tag_bytes(tag) + vr + b"\0\0" + struct.pack("<I", len(value)) + value
    return tag_bytes(tag) + vr + struct.pack("<H", len(value)) + value


def sequence(tag: int, items: bytes, *, defined: bool, delimited: bool = True) -> bytes:
    if defined:
        return tag_bytes(tag) + b"SQ\0\0" + struct.pack("<I", len(items)) + items
    tail = tag_bytes(SEQUENCE_DELIMITER) + bytes(4) if delimited else b""
    return tag_bytes(tag) + b"SQ\0\0" + struct.pack("<I", UNDEFINED) + items + tail


def item(content: bytes, *, defined: bool) -> bytes:
    if defined:
        return tag_bytes(ITEM) + struct.pack("<I", len(content)) + content
    return tag_bytes(ITEM) + struct.pack("<I", UNDEFINED) + content + tag_bytes(ITEM_DELIMITER) + bytes(4)


# --------------------------------------------------------------------------- defect 3

REQUEST_ATTRIBUTES_SEQUENCE = 0x00400275  # not one of the sequences the index keeps
REFERENCED_STUDY_SEQUENCE = 0x00081110


def nested_dataset(sop_instance: str, *, outer: str, closed: bool) -> bytes:
    """A valid small instance, then (0040,0275) SQ { item of defined length { SQ of undefined
    length { item } [sequence delimiter only when `closed`] } }.

    `outer`: "defined-small" (a defined-length sequence the header walk keeps as a value),
    "defined-large" (one it skips: over 1 KiB) or "undefined"."""
    ds = make_dataset(sop_instance=sop_instance, pixel_bytes=0)
    base = encode_dataset(ds)
    inner_item = item(element(0x00081150, b"UI", CT_IMAGE.encode()) + element(0x00081155, b"UI", b"1.2.3"),
                      defined=False)
    inner = sequence(REFERENCED_STUDY_SEQUENCE, inner_item, defined=False, delimited=closed)
    padding = 2000 if outer == "defined-large" else 10
    content = element(0x00400007, b"LO", b"STEP") + inner + element(0x00401400, b"LT", b"x" * padding)
    outer_item = item(content, defined=True)
    # (0040,0275) sorts after every element make_dataset writes without pixels.
    return base + sequence(REQUEST_ATTRIBUTES_SEQUENCE, outer_item, defined=outer != "undefined")


OUTER_FORMS = ["defined-small", "defined-large", "undefined"]


@pytest.mark.parametrize("outer", OUTER_FORMS)
def test_sequence_left_open_inside_a_defined_item_gets_c000_and_nothing_is_stored(server, tmp_path, outer):
    uid = generate_uid()
    path = write_raw_part10(tmp_path / "open.dcm", sop_class=CT_IMAGE, sop_instance=uid, transfer_syntax=ELE,
                            payload=nested_dataset(uid, outer=outer, closed=False))
    # Really broken: dcmtk refuses the file.
    dumped = dcmdump_ok(path)
    assert dumped.returncode != 0, f"dcmdump read the broken dataset:\n{dumped.stdout[-2000:]}"
    with pytest.raises(Exception):
        list(pydicom.dcmread(path).iterall())
    with association(server, STORE_CONTEXTS) as assoc:
        assert store_file(assoc, path) == 0xC000
        assert echo_status(assoc) == 0, "C-ECHO after C000 failed"
    assert uid not in server.instances_by_uid(), "the broken instance was indexed"
    assert not files_containing(server, uid.encode()), "a file of the broken instance remains"
    entries = [e for e in server.log() if e.get("sop_instance_uid") == uid]
    assert entries and entries[-1]["status"].upper() == "C000", entries


@pytest.mark.parametrize("outer", OUTER_FORMS)
def test_the_same_nesting_closed_is_stored_byte_for_byte(server, tmp_path, outer):
    uid = generate_uid()
    payload = nested_dataset(uid, outer=outer, closed=True)
    path = write_raw_part10(tmp_path / "closed.dcm", sop_class=CT_IMAGE, sop_instance=uid, transfer_syntax=ELE,
                            payload=payload)
    dumped = dcmdump_ok(path)
    assert dumped.returncode == 0, f"dcmdump refused the valid dataset:\n{dumped.stderr[-2000:]}"
    with association(server, STORE_CONTEXTS) as assoc:
        assert store_file(assoc, path) == 0x0000
    rows = server.instances_by_uid().get(uid, [])
    assert len(rows) == 1, rows
    assert dataset_bytes(rows[0]["path"]) == payload, "the stored dataset differs from the one sent"


# --------------------------------------------------------------------------- raw DIMSE

def raw_command(elements: list[tuple[int, bytes]]) -> bytes:
    """A command set (Implicit VR LE, group 0000) of raw values, its group length first."""
    body = b""
    for elem, value in elements:
        if len(value) % 2:
            value += b"\0"
        body += struct.pack("<HHI", 0, elem, len(value)) + value
    return struct.pack("<HHII", 0, 0, 4, len(body)) + body


def u16(v: int) -> bytes:
    return struct.pack("<H", v)


def store_command(message_id: int, sop_class: bytes, sop_instance: bytes) -> bytes:
    return raw_command([(0x0002, sop_class), (0x0100, u16(0x0001)), (0x0110, u16(message_id)),
                        (0x0700, u16(0)), (0x0800, u16(0)), (0x1000, sop_instance)])


def raw_established(server, contexts) -> rawdul.RawClient:
    client = rawdul.RawClient(LOCALHOST, server.port, timeout=10)
    pdu_type, ac = client.associate(server.ae_title, "RAWSCU", contexts)
    assert pdu_type == rawdul.A_ASSOCIATE_AC, f"association not accepted: {ac}"
    return client


def send_message(client, context_id: int, command: bytes, dataset: bytes | None = None) -> None:
    client.send(rawdul.p_data(rawdul.pdv(context_id, command, command=True)))
    if dataset is not None:
        client.send(rawdul.p_data(rawdul.pdv(context_id, dataset, command=False)))


# --------------------------------------------------------------------------- defect 4

# The response command fields of PS3.7 E.1-1.
RESPONSE_FIELDS = {0x8001, 0x8010, 0x8020, 0x8021, 0x8030, 0x8100, 0x8110, 0x8120, 0x8130, 0x8140, 0x8150}


def answer_or_abort(client, timeout: float = 5.0):
    """The acceptor's first reaction to a command: ("abort", None) or ("response", command);
    ("silence", None) when nothing came within `timeout` (the connection left open)."""
    try:
        pdu_type, body = client.recv_pdu(timeout=timeout)
    except (TimeoutError, OSError):
        return "silence", None
    except rawdul.ConnectionClosed:
        return "closed", None
    if pdu_type == rawdul.A_ABORT:
        return "abort", None
    assert pdu_type == rawdul.P_DATA_TF, f"unexpected {rawdul.PDU_NAMES.get(pdu_type, hex(pdu_type))}"
    command = b"".join(fragment for _cid, is_command, _last, fragment in rawdul.parse_pdvs(body) if is_command)
    return "response", rawdul.decode_command(command)


@pytest.mark.parametrize("field", [0x0FFF, 0x1234, 0x8001], ids=["c-cancel-0fff", "undefined-1234",
                                                                 "a-response-8001"])
def test_command_without_a_sensible_response_is_aborted_at_once(server, field):
    """0x0FFF (C-CANCEL: it has no response, and nothing of ours can be cancelled), an
    undefined field, a response sent to us: within a few seconds, far short of the DIMSE
    timeout (30 s here), an A-ABORT, or at least a 0211 with a real response field."""
    with raw_established(server, [(1, VERIFICATION, [ELE])]) as client:
        send_message(client, 1, raw_command([(0x0100, u16(field)), (0x0120, u16(1)), (0x0800, u16(0x0101))]))
        what, rsp = answer_or_abort(client)
        assert what in ("abort", "response"), f"command field {field:#06x}: {what} within 5 s"
        if what == "response":
            # Only a request has a response; a response answered with one makes no sense.
            assert not field & 0x8000, f"a response ({field:#06x}) was answered with {rsp.CommandField:#06x}"
            assert rsp.Status == 0x0211, rsp
            assert rsp.CommandField in RESPONSE_FIELDS, f"response command field {rsp.CommandField:#06x}"


@pytest.mark.parametrize("with_dataset", [False, True])
def test_request_we_do_not_provide_gets_its_response_with_0211(server, with_dataset):
    """A C-FIND-RQ on an accepted context: C-FIND-RSP 0211 at once (after its dataset, if
    one follows), and the association goes on."""
    with raw_established(server, [(1, VERIFICATION, [ELE])]) as client:
        command = raw_command([(0x0002, VERIFICATION.encode()), (0x0100, u16(0x0020)), (0x0110, u16(7)),
                               (0x0700, u16(0)), (0x0800, u16(0 if with_dataset else 0x0101))])
        send_message(client, 1, command, element(0x00100010, b"PN", b"DOE") if with_dataset else None)
        what, rsp = answer_or_abort(client)
        assert what == "response", what
        assert (rsp.CommandField, rsp.MessageIDBeingRespondedTo, rsp.Status) == (0x8020, 7, 0x0211), rsp
        send_message(client, 1, rawdul.c_echo_rq(8))
        echo, _ = client.recv_message(timeout=5)
        assert (echo.CommandField, echo.Status) == (0x8030, 0)
        client.release()


# --------------------------------------------------------------------------- defect 5

def escaped(raw: bytes) -> str:
    """How the server prints a received value (Rust's escape_ascii), trailing padding removed."""
    raw = raw.rstrip(b"\0 ")
    names = {9: "\\t", 10: "\\n", 13: "\\r", 0x22: '\\"', 0x27: "\\'", 0x5C: "\\\\"}
    return "".join(names.get(b) or (chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in raw)[:96]


def raw_instance(*, sop_class: bytes, sop_instance: bytes, study: bytes, series: bytes) -> bytes:
    return b"".join([
        element(0x00080016, b"UI", sop_class),
        element(0x00080018, b"UI", sop_instance),
        element(0x00080060, b"CS", b"CT"),
        element(0x00100010, b"PN", b"HOSTILE^UID"),
        element(0x00100020, b"LO", b"HOSTILE-1"),
        element(0x0020000D, b"UI", study),
        element(0x0020000E, b"UI", series),
        element(0x00200013, b"IS", b"1"),
    ])


def unique_root() -> bytes:
    return generate_uid(prefix="1.2.826.0.1.3680043.10.543.")[:40].rstrip(".").encode()


# name -> (where the bad value goes, its suffix after a unique root, expected status, location)
BAD_UIDS = {
    "slash": ("instance", b"/4", 0x0117, "(0000,1000)"),
    "dot-dot": ("instance", b"..4", 0x0117, "(0000,1000)"),
    "path": ("instance", b"/../../etc", 0x0117, "(0000,1000)"),
    "control-byte": ("instance", b".\x01", 0x0117, "(0000,1000)"),
    "newline": ("instance", b".4\n", 0x0117, "(0000,1000)"),
    "0xff": ("instance", b".\xff", 0x0117, "(0000,1000)"),
    "65-bytes": ("instance", None, 0x0117, "(0000,1000)"),
    "dataset-instance-leading-space": ("dataset-instance", b"", 0x0117, "(0008,0018)"),
    "study-slash": ("study", b"/4", 0xC000, "(0020,000D)"),
    "study-dot-dot": ("study", b"..4", 0xC000, "(0020,000D)"),
    "study-over-1-KiB": ("study", b"." + b"7" * 1100, 0xC000, "(0020,000D)"),
    "series-0xff": ("series", b".\xff", 0xC000, "(0020,000E)"),
    "series-control-byte": ("series", b".\x1b[2J", 0xC000, "(0020,000E)"),
    "dataset-class-leading-space": ("dataset-class", None, 0xC000, "(0008,0016)"),
    "command-class-tab": ("command-class", None, 0xC000, "(0000,0002)"),
}


@pytest.mark.parametrize("case", list(BAD_UIDS))
def test_invalid_uid_is_refused_named_and_not_stored(server, case):
    where, suffix, expected, location = BAD_UIDS[case]
    root = unique_root()
    ct = CT_IMAGE.encode()
    good = {"sop_class": ct, "sop_instance": root + b".1", "study": root + b".2", "series": root + b".3"}
    command_class, command_instance = ct, good["sop_instance"]
    dataset = dict(good)
    if where == "instance":
        bad = root + suffix if suffix is not None else (root + b"." + b"1" * 64)[:65]
        assert len(bad) == 65 or suffix is not None
        command_instance = bad
        dataset["sop_instance"] = bad
    elif where == "dataset-instance":
        bad = b" " + good["sop_instance"]
        dataset["sop_instance"] = bad
    elif where in ("study", "series"):
        bad = root + b".9" + suffix
        dataset[where] = bad
    elif where == "dataset-class":
        bad = b" " + ct
        dataset["sop_class"] = bad
    else:  # command-class
        bad = ct + b"\t"
        command_class = bad
    with raw_established(server, [(1, CT_IMAGE, [ELE]), (3, VERIFICATION, [ELE])]) as client:
        send_message(client, 1, store_command(1, command_class, command_instance), raw_instance(**dataset))
        rsp, _ = client.recv_message(timeout=10)
        assert (rsp.CommandField, rsp.MessageIDBeingRespondedTo) == (0x8001, 1), rsp
        assert rsp.Status == expected, f"{case}: status {rsp.Status:#06x}, expected {expected:#06x}"
        # The association goes on.
        send_message(client, 3, rawdul.c_echo_rq(2))
        echo, _ = client.recv_message(timeout=5)
        assert echo.Status == 0
        client.release()
    rows = [uid for uid in server.instances_by_uid() if root.decode() in uid]
    assert not rows, f"indexed: {rows}"
    assert not files_containing(server, root), "an archive file of the refused instance remains"
    shown = escaped(bad)
    entries = [e for e in server.log() if root.decode() in e.get("sop_instance_uid", "") + e.get("reason", "")]
    assert entries, "no store-log entry"
    assert entries[-1]["status"].upper() == f"{expected:04X}", entries[-1]
    assert shown in entries[-1]["reason"] and location in entries[-1]["reason"], entries[-1]
    assert wait_until(lambda: any(shown in line and location in line for line in server.log_text().splitlines()),
                      timeout=10), f"no serve log line naming {shown} at {location}"


# Leading-zero components are what real modalities send; trailing space padding too.
GOOD_UIDS = {
    "leading-zero": b".040.0",
    "leading-zeros": b".02.003",
    "space-padded": b".5 ",
    "nul-padded": b".5\0",
}


@pytest.mark.parametrize("case", list(GOOD_UIDS))
def test_laxer_uids_real_senders_use_are_stored(server, case):
    root = unique_root()
    instance = root + GOOD_UIDS[case]
    payload = raw_instance(sop_class=CT_IMAGE.encode(), sop_instance=instance, study=root + b".02",
                           series=root + b".3")
    with raw_established(server, [(1, CT_IMAGE, [ELE])]) as client:
        send_message(client, 1, store_command(1, CT_IMAGE.encode(), instance), payload)
        rsp, _ = client.recv_message(timeout=10)
        assert rsp.Status == 0, f"{case}: status {rsp.Status:#06x} ({rsp.get('ErrorComment', '')})"
        client.release()
    uid = instance.rstrip(b"\0 ").decode()
    rows = server.instances_by_uid().get(uid, [])
    assert len(rows) == 1, rows
    assert dataset_bytes(rows[0]["path"]) == payload
