#!/usr/bin/env python3
"""Generate the benchmark data for bench/store.sh.

  gen_ct.py series OUTDIR [--count 1000]
      A CT series: COUNT CT Image Storage files, 512x512, 16-bit, Explicit VR
      Little Endian, one patient/study/series, unique SOP Instance UIDs,
      about 0.5 MB each.

  gen_ct.py series OUTDIR --phantom
      The same series with anatomy-like content instead of noise: a body of soft
      tissue with lungs, a spine and vessels that move from slice to slice, and
      CT-like noise of a few HU (what a disc's JPEG renderings of a real CT
      compress like; the noise series is their worst case).

  gen_ct.py big OUTFILE [--frames 2048]
      One Multi-frame Grayscale Word Secondary Capture instance of FRAMES
      512x512 16-bit frames (2048 frames = 1 GiB of Pixel Data), written in
      chunks so that generating it needs little memory.

Pixel data are pseudo-random (fixed seed) but cheap: one random slice is
generated once and each slice is a rolled copy of it, so the files do not
compress to nothing and are not all identical. UIDs are deterministic
(derived from the seed), so a regenerated series is the same series.
"""

import argparse
import hashlib
import os
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MF_GRAYSCALE_WORD_SC = "1.2.840.10008.5.1.4.1.1.7.3"
IMPL_CLASS_UID = "2.25.1958143186914406283126426130361744977"  # fixed, bench-only
ROWS = COLS = 512


def uid(*parts):
    """A deterministic 2.25 UID (UUID-style integer) from the given parts."""
    h = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()[:16]
    n = int.from_bytes(h, "big") & ~(0xF << 76) | (0x4 << 76)  # version nibble 4
    return "2.25." + str(n)


def file_meta(sop_class, sop_instance):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPL_CLASS_UID
    meta.ImplementationVersionName = "DCMDISC_BENCH"
    return meta


def common(ds, seed):
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = "BENCH^STORE"
    ds.PatientID = "BENCH-0001"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyInstanceUID = uid(seed, "study")
    ds.StudyDate = "20250101"
    ds.StudyTime = "120000"
    ds.ReferringPhysicianName = ""
    ds.StudyID = "1"
    ds.AccessionNumber = "BENCH0001"
    ds.StudyDescription = "dcmdisc store benchmark"
    ds.Manufacturer = "dcmdisc bench"
    ds.InstitutionName = "bench"


def phantom_slice(i, count, rng):
    """Stored values (HU + 1024) of slice `i`: soft tissue, two lungs, a spine, an aorta
    whose size changes along the series, and noise of sigma 12 HU."""
    y, x = np.mgrid[0:ROWS, 0:COLS].astype(np.float32)
    cx, cy = COLS / 2, ROWS / 2
    t = i / max(count - 1, 1)
    hu = np.full((ROWS, COLS), -1000.0, dtype=np.float32)
    body = ((x - cx) / 220) ** 2 + ((y - cy) / 160) ** 2 < 1
    hu[body] = 40
    fat = body & (((x - cx) / 205) ** 2 + ((y - cy) / 145) ** 2 >= 1)
    hu[fat] = -90
    for side in (-1, 1):
        lung = ((x - cx - side * 95) / (70 + 10 * np.sin(np.pi * t))) ** 2 + ((y - cy + 10) / 100) ** 2 < 1
        hu[lung] = -850
    spine = (x - cx) ** 2 + (y - cy - 110) ** 2 < 28 ** 2
    hu[spine] = 700
    aorta = (x - cx - 30) ** 2 + (y - cy - 60) ** 2 < (14 + 4 * t) ** 2
    hu[aorta] = 180
    hu += rng.normal(0, 12, size=(ROWS, COLS)).astype(np.float32)
    return np.clip(np.rint(hu + 1024), 0, 4095).astype("<u2")


def write_series(outdir, count, seed, phantom=False):
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(seed)
    # Soft body-like base image plus noise, values in 0..4095 (12 bits stored).
    y, x = np.mgrid[0:ROWS, 0:COLS]
    r2 = (x - COLS / 2) ** 2 + (y - ROWS / 2) ** 2
    base = np.where(r2 < (0.45 * COLS) ** 2, 1040, 24).astype(np.int32)
    base = base + rng.integers(0, 1024, size=(ROWS, COLS), dtype=np.int32)
    base = np.clip(base, 0, 4095).astype("<u2")

    series_uid = uid(seed, "series")
    for_uid = uid(seed, "frame-of-reference")
    width = len(str(count))
    for i in range(count):
        sop_uid = uid(seed, "ct", i)
        ds = Dataset()
        ds.file_meta = file_meta(CT_IMAGE_STORAGE, sop_uid)
        ds.preamble = b"\0" * 128
        common(ds, seed)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.SOPClassUID = CT_IMAGE_STORAGE
        ds.SOPInstanceUID = sop_uid
        ds.ContentDate = "20250101"
        ds.ContentTime = "120000"
        ds.Modality = "CT"
        ds.SeriesInstanceUID = series_uid
        ds.SeriesNumber = 1
        ds.SeriesDescription = "bench %d slices" % count
        ds.BodyPartExamined = "CHEST"
        ds.FrameOfReferenceUID = for_uid
        ds.PositionReferenceIndicator = ""
        ds.InstanceNumber = i + 1
        ds.AcquisitionNumber = 1
        ds.PatientPosition = "HFS"
        ds.KVP = "120"
        ds.SliceThickness = "1.0"
        ds.PixelSpacing = ["0.7", "0.7"]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.ImagePositionPatient = ["-179.2", "-179.2", "%.1f" % (-i * 1.0)]
        ds.SliceLocation = "%.1f" % (-i * 1.0)
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ROWS
        ds.Columns = COLS
        ds.BitsAllocated = 16
        ds.BitsStored = 12
        ds.HighBit = 11
        ds.PixelRepresentation = 0
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"
        ds.RescaleType = "HU"
        ds.WindowCenter = "40"
        ds.WindowWidth = "400"
        if phantom:
            ds.PixelData = phantom_slice(i, count, rng).tobytes()
        else:
            ds.PixelData = np.roll(base, (i * 7) % ROWS, axis=0).tobytes()
        name = os.path.join(outdir, "CT%0*d.dcm" % (width, i + 1))
        ds.save_as(name, enforce_file_format=True)


def write_big(outfile, frames, seed):
    d = os.path.dirname(os.path.abspath(outfile))
    os.makedirs(d, exist_ok=True)
    sop_uid = uid(seed, "big", frames)
    ds = Dataset()
    ds.file_meta = file_meta(MF_GRAYSCALE_WORD_SC, sop_uid)
    ds.preamble = b"\0" * 128
    common(ds, seed)
    ds.ImageType = ["DERIVED", "SECONDARY"]
    ds.SOPClassUID = MF_GRAYSCALE_WORD_SC
    ds.SOPInstanceUID = sop_uid
    ds.ContentDate = "20250101"
    ds.ContentTime = "120000"
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.SeriesInstanceUID = uid(seed, "big-series")
    ds.SeriesNumber = 2
    ds.SeriesDescription = "bench one large instance"
    ds.BodyPartExamined = "CHEST"
    ds.InstanceNumber = 1
    ds.PatientOrientation = ""
    ds.BurnedInAnnotation = "NO"
    ds.FrameTime = "33.3"
    ds.NumberOfFrames = frames
    ds.FrameIncrementPointer = 0x00181063  # Frame Time
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ROWS
    ds.Columns = COLS
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    ds.PresentationLUTShape = "IDENTITY"

    frame_bytes = ROWS * COLS * 2
    total = frames * frame_bytes
    if total >= 0xFFFFFFFF:
        sys.exit("too many frames: Pixel Data length must fit in 32 bits")
    tmp = outfile + ".part"
    ds.save_as(tmp, enforce_file_format=True)
    # Pixel Data is the last element: append it (Explicit VR LE, OW, 4-byte length).
    rng = np.random.default_rng(seed + 1)
    chunk_frames = 64
    block = rng.integers(0, 65536, size=chunk_frames * frame_bytes // 2, dtype=np.uint16)
    block = block.astype("<u2").tobytes()
    with open(tmp, "ab") as f:
        f.write(b"\xe0\x7f\x10\x00OW\x00\x00" + total.to_bytes(4, "little"))
        written = 0
        k = 0
        while written < total:
            n = min(len(block), total - written)
            # Rotate the block a little per chunk so chunks are not identical.
            off = (k * 4096) % len(block)
            buf = (block[off:] + block[:off])[:n]
            f.write(buf)
            written += n
            k += 1
    os.replace(tmp, outfile)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("series")
    s.add_argument("outdir")
    s.add_argument("--count", type=int, default=1000)
    s.add_argument("--seed", type=int, default=20250101)
    s.add_argument("--phantom", action="store_true")
    b = sub.add_parser("big")
    b.add_argument("outfile")
    b.add_argument("--frames", type=int, default=2048)
    b.add_argument("--seed", type=int, default=20250101)
    a = p.parse_args()
    if a.what == "series":
        write_series(a.outdir, a.count, a.seed, a.phantom)
    else:
        write_big(a.outfile, a.frames, a.seed)


if __name__ == "__main__":
    main()
