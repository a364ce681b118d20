#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, made at run time from the real sample files of pydicom and
pydicom-data (and a few PDUs and JPEG Lossless frames encoded here), so that no large binary is
committed. Writes fuzz/corpus/<target>/seed-*; existing files are left alone.

    python3 fuzz/seeds.py [corpus-dir]
"""

import hashlib
import shutil
import subprocess
import tempfile
import io
import struct
import sys
from pathlib import Path

import pydicom
import pydicom.data
from pydicom.encaps import encapsulate

HERE = Path(__file__).resolve().parent
CORPUS = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "corpus"

SAMPLES = [
    "CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_RLE.dcm",
    "SC_rgb_rle.dcm", "SC_rgb_rle_16bit.dcm", "SC_rgb_rle_32bit.dcm", "rtdose_rle.dcm",
    "rtplan.dcm", "JPEG-lossy.dcm", "SC_rgb_jpeg_gdcm.dcm", "SC_rgb_small_odd_jpeg.dcm",
    "JPEG-LL.dcm", "JPGLosslessP14SV1_1s_1f_8b.dcm", "MR_small_jpeg_ls_lossless.dcm",
    # Explicit VR Big Endian (16-bit OW, 32-bit, an undefined-length sequence) and Deflated:
    # the transcoder's swap and inflate paths.
    "MR_small_bigendian.dcm", "rtdose_expb_1frame.dcm", "ExplVR_BigEnd.dcm", "image_dfl.dcm",
]
IMPLICIT = "1.2.840.10008.1.2"
MAX_SEED = 16 * 1024


def sample(name):
    try:
        path = pydicom.data.get_testdata_file(name)
    except Exception:  # pydicom-data not downloadable: use what is installed
        path = None
    return Path(path) if path else None


def put(target, data, tag=""):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    name = f"seed-{tag}-{hashlib.sha1(data).hexdigest()[:12]}" if tag else \
        f"seed-{hashlib.sha1(data).hexdigest()[:12]}"
    p = d / name
    if not p.exists():
        p.write_bytes(data)


def split_meta(raw):
    """(meta bytes, dataset bytes) of a Part 10 file."""
    assert raw[128:132] == b"DICM"
    (glen,) = struct.unpack_from("<I", raw, 140)
    end = 144 + glen
    return raw[:end], raw[end:]


def fragments(pixel_data):
    """The items of an encapsulated Pixel Data value: (basic offset table, [fragments])."""
    items, pos = [], 0
    while pos + 8 <= len(pixel_data):
        group, elem, length = struct.unpack_from("<HHI", pixel_data, pos)
        pos += 8
        if (group, elem) != (0xFFFE, 0xE000):
            break
        items.append(pixel_data[pos:pos + length])
        pos += length
    return (items[0], items[1:]) if items else (b"", [])


def small_file(ds):
    """The file re-written without its Pixel Data when it is too large to be a seed."""
    out = io.BytesIO()
    if "PixelData" in ds:
        del ds.PixelData
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


# ---------------------------------------------------------------------------- JPEG Lossless

class Bits:
    def __init__(self):
        self.acc, self.n, self.out = 0, 0, bytearray()

    def put(self, v, k):
        self.acc = (self.acc << k) | (v & ((1 << k) - 1))
        self.n += k
        while self.n >= 8:
            b = (self.acc >> (self.n - 8)) & 0xFF
            self.out.append(b)
            if b == 0xFF:
                self.out.append(0)
            self.n -= 8

    def flush(self):
        if self.n:
            pad = 8 - self.n
            self.put((1 << pad) - 1, pad)
        return bytes(self.out)


def lossless(width, height, ncomp, precision, predictor, restart_rows=0):
    """A Process 14 frame: one Huffman table with all 17 categories at 5 bits, interleaved."""
    px = [[[(x * 7 + y * 13 + c * 29) % (1 << precision) for c in range(ncomp)]
           for x in range(width)] for y in range(height)]
    o = bytearray(b"\xff\xd8")
    o += b"\xff\xc4" + struct.pack(">H", 2 + 1 + 16 + 17) + b"\x00"
    o += bytes([0, 0, 0, 0, 17] + [0] * 11) + bytes(range(17))
    o += b"\xff\xc3" + struct.pack(">HBHHB", 8 + 3 * ncomp, precision, height, width, ncomp)
    for c in range(ncomp):
        o += bytes([c + 1, 0x11, 0])
    if restart_rows:
        o += b"\xff\xdd\x00\x04" + struct.pack(">H", restart_rows * width)
    o += b"\xff\xda" + struct.pack(">HB", 6 + 2 * ncomp, ncomp)
    for c in range(ncomp):
        o += bytes([c + 1, 0])
    o += bytes([predictor, 0, 0])
    w, rst = Bits(), 0
    for y in range(height):
        first = y == 0 if not restart_rows else y % restart_rows == 0
        if restart_rows and y and y % restart_rows == 0:
            o += w.flush()
            w = Bits()
            o += bytes([0xFF, 0xD0 + (rst & 7)])
            rst += 1
        for x in range(width):
            for c in range(ncomp):
                if first:
                    pred = (1 << (precision - 1)) if x == 0 else px[y][x - 1][c]
                elif x == 0:
                    pred = px[y - 1][x][c]
                else:
                    ra, rb, rc = px[y][x - 1][c], px[y - 1][x][c], px[y - 1][x - 1][c]
                    pred = [0, ra, rb, rc, ra + rb - rc, ra + ((rb - rc) >> 1),
                            rb + ((ra - rc) >> 1), (ra + rb) // 2][predictor]
                d = (px[y][x][c] - pred) & 0xFFFF
                if d >= 0x8000:
                    d -= 0x10000
                if d == 0:
                    s, extra = 0, 0
                elif d == -32768:
                    s, extra = 16, 0
                else:
                    s = abs(d).bit_length()
                    extra = (d - 1) & ((1 << s) - 1) if d < 0 else d
                w.put(s, 5)
                if 1 <= s < 16:
                    w.put(extra, s)
    o += w.flush() + b"\xff\xd9"
    return bytes(o)


def short_frame(frame, rows=8):
    """The frame with its SOF saying `rows` rows (the marker segments walked from SOI)."""
    f, i = bytearray(frame), 2
    while i + 4 <= len(f) and f[i] == 0xFF:
        marker, seglen = f[i + 1], struct.unpack_from(">H", f, i + 2)[0]
        if marker == 0xC3:
            struct.pack_into(">H", f, i + 5, rows)
            break
        if marker == 0xDA:
            break
        i += 2 + seglen
    return bytes(f)


# ---------------------------------------------------------------------------- PDUs

def ae(title):
    return title.encode().ljust(16)


def item(kind, body):
    return struct.pack(">BBH", kind, 0, len(body)) + body


def associate_rq(calling="FUZZSCU", called="DCMDISC", version=1,
                 context="1.2.840.10008.3.1.1.1", contexts=None, extra=b""):
    if contexts is None:
        contexts = [(1, "1.2.840.10008.1.1", ["1.2.840.10008.1.2"]),
                    (3, "1.2.840.10008.5.1.4.1.1.2", ["1.2.840.10008.1.2.1", IMPLICIT])]
    body = struct.pack(">HH", version, 0) + ae(called) + ae(calling) + bytes(32)
    body += item(0x10, context.encode())
    for cid, abstract, tss in contexts:
        pc = bytes([cid, 0, 0, 0]) + item(0x30, abstract.encode())
        for ts in tss:
            pc += item(0x40, ts.encode())
        body += item(0x20, pc)
    user = item(0x51, struct.pack(">I", 16384)) + item(0x52, b"1.2.3.4") + \
        item(0x55, b"FUZZ") + extra
    body += item(0x50, user)
    return struct.pack(">BBI", 1, 0, len(body)) + body


def element(tag_elem, value):
    if len(value) % 2:
        value += b"\0"
    return struct.pack("<HHI", 0, tag_elem, len(value)) + value


def command(field, sop_class, message_id=1, dataset=False, sop_instance=None):
    els = element(0x0002, sop_class.encode()) + element(0x0100, struct.pack("<H", field)) + \
        element(0x0110, struct.pack("<H", message_id)) + \
        element(0x0800, struct.pack("<H", 0x0000 if dataset else 0x0101))
    if sop_instance:
        els += element(0x1000, sop_instance.encode())
    return element(0x0000, struct.pack("<I", len(els))) + els


def pdata(context_id, is_command, data, chunk=4000):
    """P-DATA-TF PDUs carrying `data` in PDVs of at most `chunk` bytes, two PDVs a PDU."""
    pdvs, pos = [], 0
    while True:
        part = data[pos:pos + chunk]
        pos += chunk
        last = pos >= len(data)
        control = (1 if is_command else 0) | (2 if last else 0)
        pdvs.append(struct.pack(">IBB", len(part) + 2, context_id, control) + part)
        if last:
            break
    out = b""
    for i in range(0, len(pdvs), 2):
        body = b"".join(pdvs[i:i + 2])
        out += struct.pack(">BBI", 4, 0, len(body)) + body
    return out


RELEASE = bytes([5, 0, 0, 0, 0, 4, 0, 0, 0, 0])
ABORT = bytes([7, 0, 0, 0, 0, 4, 0, 0, 0, 0])


def main():
    CT = "1.2.840.10008.5.1.4.1.1.2"
    store_datasets = []
    for name in SAMPLES:
        path = sample(name)
        if path is None:
            print(f"seeds: {name} not installed, skipped", file=sys.stderr)
            continue
        raw = path.read_bytes()
        meta, dataset = split_meta(raw)
        put("file_meta", meta + dataset[:64], name)
        ds = pydicom.dcmread(path)
        ts = str(ds.file_meta.TransferSyntaxUID)
        explicit = ts != IMPLICIT
        whole = raw if len(raw) <= MAX_SEED else small_file(pydicom.dcmread(path))
        put("transcode_file", whole, name)
        _, small_ds = split_meta(whole)
        put("dataset_walk", bytes([1 if explicit else 0]) + small_ds, name)
        if ts in ("1.2.840.10008.1.2.1", IMPLICIT) and len(store_datasets) < 3:
            store_datasets.append(small_ds if explicit else None)
        if getattr(ds, "PixelData", None) is None or not ds.file_meta.TransferSyntaxUID.is_compressed:
            continue
        _, frags = fragments(ds.PixelData)
        if not frags:
            continue
        if ts == "1.2.840.10008.1.2.5":
            pixels = int(ds.Rows) * int(ds.Columns)
            if pixels < 65536:
                samples = int(ds.SamplesPerPixel)
                nbytes = int(ds.BitsAllocated) // 8
                head = bytes([0 if samples == 1 else 1, {1: 0, 2: 1, 4: 2}[nbytes]])
                put("rle", head + struct.pack("<H", pixels) + frags[0][:MAX_SEED], name)
        elif ts in ("1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"):
            mode = 1 if int(ds.BitsAllocated) == 16 else 0
            # The real tables and header, the scan cut short and the frame 8 rows high: the
            # target skips frames over 64 Ki samples (their decoding only costs time).
            put("jpeg_lossless", bytes([mode]) + short_frame(frags[0][:4096]), name)

    # Small lossless frames of every predictor, 8/12/16 bit, grey and colour, restarts.
    for (w, h, nc, prec, pred, rst) in [(16, 16, 1, 8, 1, 0), (9, 7, 3, 8, 4, 0),
                                        (12, 10, 1, 12, 7, 2), (8, 8, 1, 16, 6, 0),
                                        (5, 6, 3, 16, 2, 3), (4, 4, 1, 8, 3, 1)]:
        frame = lossless(w, h, nc, prec, pred, rst)
        put("jpeg_lossless", bytes([1 if prec > 8 else 0]) + frame, f"gen{w}x{h}x{nc}p{pred}")
    # ... and one as a whole JPEG Lossless SV1 file for the transcoder.
    mr = sample("MR_small.dcm")
    if mr is not None:
        ds = pydicom.dcmread(mr)
        ds.PixelData = encapsulate([lossless(16, 16, 1, 16, 1)])
        ds.Rows, ds.Columns, ds.BitsStored, ds.HighBit = 16, 16, 16, 15
        ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.70"
        ds["PixelData"].VR = "OB"
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        put("transcode_file", out.getvalue(), "gen-jpegll")

    # DIMSE command sets.
    echo = command(0x0030, "1.2.840.10008.1.1")
    store = command(0x0001, CT, 2, True, "1.2.3.4.5")
    put("dimse_command", echo, "echo")
    put("dimse_command", store, "store")
    put("dimse_command", command(0x8001, CT, 2, False, "1.2.3.4.5") + element(0x0900, b"\0\0"),
        "store-rsp")

    # A-ASSOCIATE-RQs: accepted, and one per refusal reason; extra user items.
    put("associate_rq", associate_rq(), "ok")
    put("associate_rq", associate_rq(calling="NOBODY"), "unknown-calling")
    put("associate_rq", associate_rq(calling="WRONGHOST"), "wrong-host")
    put("associate_rq", associate_rq(called="OTHER"), "called")
    put("associate_rq", associate_rq(version=2), "version")
    put("associate_rq", associate_rq(context="1.2.3"), "context")
    roles = item(0x54, struct.pack(">H", 25) + b"1.2.840.10008.5.1.4.1.1.2" + b"\x01\x01")
    asyncops = item(0x53, struct.pack(">HH", 1, 1))
    identity = item(0x58, b"\x01\x00" + struct.pack(">H", 4) + b"user" + struct.pack(">H", 0))
    put("associate_rq", associate_rq(extra=roles + asyncops + identity), "user-items")
    many = [(2 * i + 1, f"1.2.840.10008.5.1.4.1.1.{i}", ["1.2.840.10008.1.2.4.70", IMPLICIT])
            for i in range(1, 20)]
    put("associate_rq", associate_rq(contexts=many), "many")

    # P-DATA after the fixed association: echo, stores (copied and in place, refused,
    # failing sink), fragmented commands, release and abort.
    ds_bytes = next((d for d in store_datasets if d), b"")
    put("pdata", pdata(1, True, echo) + RELEASE, "echo")
    put("pdata", pdata(1, True, echo, chunk=7) + RELEASE, "echo-fragmented")
    for uid in ("1.2.3.4.5", "1.2.3.1.5", "1.2.3.7", "1.2.3.9.5"):
        cmd = command(0x0001, CT, 3, True, uid)
        put("pdata", pdata(3, True, cmd) + pdata(3, False, ds_bytes[:MAX_SEED - 400]) + RELEASE,
            f"store-{uid}")
    put("pdata", pdata(1, True, command(0x0FFF, "1.2.840.10008.1.1")) + ABORT, "cancel")
    put("pdata", pdata(1, True, command(0x0020, "1.2.840.10008.1.1")) + RELEASE, "unknown")
    # Storage Commitment N-ACTION data sets (byte 0: 1 Explicit, 0 Implicit VR LE), as
    # pydicom encodes them: two references, one, and a Failed SOP Sequence item for variety.
    from pydicom.dataset import Dataset
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset
    for explicit in (True, False):
        for n in (1, 2):
            req = Dataset()
            req.TransactionUID = "2.25.1234"
            refs = []
            for i in range(n):
                r = Dataset()
                r.ReferencedSOPClassUID = CT
                r.ReferencedSOPInstanceUID = f"1.2.3.4.{i}"
                if i == 1:
                    r.FailureReason = 0x0112
                refs.append(r)
            req.ReferencedSOPSequence = refs
            fp = DicomBytesIO()
            fp.is_little_endian, fp.is_implicit_VR = True, not explicit
            write_dataset(fp, req)
            put("commitment_request", bytes([1 if explicit else 0]) + fp.getvalue(),
                f"{'explicit' if explicit else 'implicit'}-{n}")
    # Volume validation's readers: pydicom's DICOMDIRs, and small ISO 9660 images made by
    # genisoimage (Level 1, with and without Joliet) when it is installed.
    for name in ("DICOMDIR", "DICOMDIR-reverse", "DICOMDIR-nooffset"):
        path = sample(name)
        if path is not None and path.stat().st_size <= 65536:
            put("dicomdir_read", path.read_bytes(), name)
    if shutil.which("genisoimage"):
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp) / "tree"
            (tree / "DICOM" / "P0000001").mkdir(parents=True)
            (tree / "README.TXT").write_bytes(b"volume 1 of 1\r\n")
            (tree / "DICOM" / "P0000001" / "I0000001").write_bytes(bytes(range(256)) * 4)
            for flags, tag in (([], "level1"), (["-J"], "joliet")):
                iso = Path(tmp) / f"{tag}.iso"
                made = subprocess.run(["genisoimage", "-quiet", "-iso-level", "1", *flags, "-o",
                                       str(iso), str(tree)], capture_output=True, timeout=60)
                if made.returncode == 0:
                    put("iso_read", iso.read_bytes(), f"genisoimage-{tag}")
    print(f"seeds: written under {CORPUS}", file=sys.stderr)


if __name__ == "__main__":
    main()
