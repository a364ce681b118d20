"""One minimal instance of each storage class of presentation-contexts.tsv, as a new user makes them.

Each instance carries what pydicom users typically set (patient, study, series, SOP identity)
plus the few attributes that make its class recognisable: an SR document has a Content
Sequence of CONTAINS items with one HAS CONCEPT MOD item, a key object document likewise, an
image has a tiny pixel matrix, and one image carries a Referenced Image Sequence item that
lacks its SOP Class UID (a macro the DICOMDIR record must not copy as it is). The Stereometric
instance has no Content Identification values, so the record has to generate them.
"""

from __future__ import annotations

from pathlib import Path

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from helpers import load_presentation_contexts

VERIFICATION = "1.2.840.10008.1.1"
SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
KOS = "1.2.840.10008.5.1.4.1.1.88.59"
CT = "1.2.840.10008.5.1.4.1.1.2"
PRESENTATION_STATES = tuple(f"1.2.840.10008.5.1.4.1.1.11.{n}" for n in (1, 2, 3, 4))
BLENDING_PS = "1.2.840.10008.5.1.4.1.1.11.4"
MR_SPECTROSCOPY = "1.2.840.10008.5.1.4.1.1.4.2"


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    c = Dataset()
    c.CodeValue = value
    c.CodingSchemeDesignator = scheme
    c.CodeMeaning = meaning
    return c


def _content_item(relationship: str, value_type: str, name: Dataset, **values) -> Dataset:
    item = Dataset()
    item.RelationshipType = relationship
    item.ValueType = value_type
    item.ConceptNameCodeSequence = Sequence([name])
    for k, v in values.items():
        setattr(item, k, v)
    return item


def _sr_content(ds: Dataset, image_ref: tuple[str, str]):
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = Sequence([_code("11528-7", "LN", "Radiology Report")])
    lang = _content_item("HAS CONCEPT MOD", "CODE", _code("121049", "DCM", "Language of Content Item and Descendants"),
                         ConceptCodeSequence=Sequence([_code("en", "RFC5646", "English")]))
    text = _content_item("CONTAINS", "TEXT", _code("121071", "DCM", "Finding"), TextValue="Nothing to report")
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = image_ref
    image = _content_item("CONTAINS", "IMAGE", _code("121191", "DCM", "Referenced Image"),
                          ReferencedSOPSequence=Sequence([ref]))
    ds.ContentSequence = Sequence([lang, text, image])
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.ContentDate = "20240101"
    ds.ContentTime = "120000"


def make_instance(sop_class: str, number: int, study: str, series: str, image_ref: tuple[str, str]) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.PatientName = "CLASSES^SIXTYEIGHT"
    ds.PatientID = "C68"
    ds.StudyInstanceUID = study
    ds.StudyDate = "20240101"
    ds.StudyTime = "120000"
    ds.StudyID = "1"
    ds.SeriesInstanceUID = series
    ds.SeriesNumber = number
    ds.Modality = "SR" if sop_class.startswith(SR_PREFIX) else "OT"
    if sop_class == KOS:
        ds.Modality = "KO"
    ds.InstanceNumber = 1
    if sop_class.startswith(SR_PREFIX):
        _sr_content(ds, image_ref)
        if sop_class == KOS:
            ds.ConceptNameCodeSequence = Sequence([_code("113000", "DCM", "Of Interest")])
            ds.ContentSequence = Sequence([ds.ContentSequence[2]])
            del ds.CompletionFlag
            del ds.VerificationFlag
    elif sop_class == CT:
        ds.Modality = "CT"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        bad = Dataset()
        bad.ReferencedSOPInstanceUID = image_ref[1]  # no Referenced SOP Class UID
        ds.ReferencedImageSequence = Sequence([bad])
    elif sop_class in PRESENTATION_STATES:
        # Presentation State Relationship (Type 1), or the Blending Sequence of a blending state.
        series_item = Dataset()
        series_item.SeriesInstanceUID = series
        image = Dataset()
        image.ReferencedSOPClassUID, image.ReferencedSOPInstanceUID = image_ref
        series_item.ReferencedImageSequence = Sequence([image])
        if sop_class == BLENDING_PS:
            blend = []
            for _ in range(2):
                b = Dataset()
                b.StudyInstanceUID = study
                b.ReferencedSeriesSequence = Sequence([series_item])
                blend.append(b)
            ds.BlendingSequence = Sequence(blend)
        else:
            ds.ReferencedSeriesSequence = Sequence([series_item])
        ds.ContentLabel = "PS"
        ds.PresentationCreationDate = "20240101"
        ds.PresentationCreationTime = "120000"
    elif sop_class == MR_SPECTROSCOPY:
        ds.ImageType = ["ORIGINAL", "PRIMARY", "SPECTROSCOPY", "NONE"]
        ds.ContentDate = "20240101"
        ds.ContentTime = "120000"
        ds.NumberOfFrames = 1
        ds.Rows = 1
        ds.Columns = 1
        ds.DataPointRows = 1
        ds.DataPointColumns = 2
        # The image it was planned on, and the evidence for it (dciodvfy wants the latter in
        # the record as Type 1; F.5.27 makes it 1C, required if present).
        image = Dataset()
        image.ReferencedSOPClassUID, image.ReferencedSOPInstanceUID = image_ref
        ds.ReferencedImageSequence = Sequence([image])
        evidence_series = Dataset()
        evidence_series.SeriesInstanceUID = generate_uid()
        evidence_series.ReferencedSOPSequence = Sequence([image])
        evidence = Dataset()
        evidence.StudyInstanceUID = study
        evidence.ReferencedSeriesSequence = Sequence([evidence_series])
        ds.ReferencedImageEvidenceSequence = Sequence([evidence])
    if sop_class not in (KOS, MR_SPECTROSCOPY, *PRESENTATION_STATES) and not sop_class.startswith(SR_PREFIX) \
            and not sop_class.startswith("1.2.840.10008.5.1.4.1.1.77.1.5.3"):
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = 2
        ds.Columns = 2
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.PixelData = bytes(8)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


# Standalone Overlay, Curve, Modality LUT and VOI LUT: retired classes (we index them as IMAGE).
RETIRED_STANDALONE = ("1.2.840.10008.5.1.4.1.1.8", "1.2.840.10008.5.1.4.1.1.9", "1.2.840.10008.5.1.4.1.1.10",
                      "1.2.840.10008.5.1.4.1.1.11")


def storage_classes(retired: bool = True) -> list[str]:
    return [uid for uid in load_presentation_contexts()
            if uid != VERIFICATION and (retired or uid not in RETIRED_STANDALONE)]


def write_corpus(folder: Path, retired: bool = True) -> dict[str, Path]:
    """One file per storage class under `folder`; SOP Instance UID -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    study = generate_uid()
    image_ref = (CT, generate_uid())
    written = {}
    for i, sop_class in enumerate(storage_classes(retired), start=1):
        ds = make_instance(sop_class, i, study, generate_uid(), image_ref)
        path = folder / f"C{i:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        written[str(ds.SOPInstanceUID)] = path
    return written
