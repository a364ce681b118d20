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
