#!/usr/bin/env python3
"""Generate a collection of N small Secondary Capture instances (one patient, 10 studies,
10 series each) for the media benchmark. Usage: gen_collection.py OUTDIR N"""
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

out, n = Path(sys.argv[1]), int(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
pixels = (np.arange(64 * 64, dtype=np.uint16) % 4096).tobytes()
studies = [generate_uid() for _ in range(10)]
series = [[generate_uid() for _ in range(10)] for _ in range(10)]
for i in range(n):
    st, se = (i // 10) % 10, i % 10
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = "BENCH^MEDIA", "BM0001", "19700101", "O"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = studies[st], series[st][se]
    ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20260101", "120000", str(st + 1), f"A{st:04d}"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "OT", se + 1, i + 1
    ds.ConversionType, ds.ImageType = "WSD", ["DERIVED", "SECONDARY"]
    ds.Rows = ds.Columns = 64
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = pixels
    ds.save_as(out / f"IM{i:06d}.dcm", enforce_file_format=True)
