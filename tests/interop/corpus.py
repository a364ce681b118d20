"""The sample corpus: every valid sample file shipped by pydicom and pydicom-data
whose SOP class and transfer syntax the presentation-context table accepts.

"Valid" means all of:
- pydicom reads the whole file without an error or a warning, with File Meta that
  names the SOP class, SOP instance and transfer syntax;
- the dataset's SOP Class/Instance UIDs equal the File Meta's (otherwise the
  right answer to the file is A900, which test_robustness covers);
- the dataset is really encoded in the transfer syntax the meta names;
- dcmtk's dcmdump reads it with exit code 0.
"""

from __future__ import annotations

import collections
import functools
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pydicom.data
from pydicom.uid import UID

from helpers import (DCMDUMP, ELE, ILE, JPEG_BASELINE, JPEG_EXTENDED, JPEG_LOSSLESS_SV1, RLE,
                     load_presentation_contexts)

# dcmtk storescu only proposes a compressed transfer syntax when told which one.
STORESCU_PROPOSAL_FLAG = {
    ELE: "-xe",
    ILE: "-xe",
    JPEG_LOSSLESS_SV1: "-xs",
    RLE: "-xr",
    JPEG_BASELINE: "-xy",
    JPEG_EXTENDED: "-xx",
}


@dataclass(frozen=True)
class SampleFile:
    path: Path
    sop_class: str
    sop_instance: str
    transfer_syntax: str

    @property
    def name(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}"


def candidate_paths() -> list[Path]:
    paths = set(pydicom.data.get_testdata_files())
    paths |= set(pydicom.data.get_charset_files())
    # The package directories themselves, in case a file is not in the index.
    data_root = Path(pydicom.data.__file__).parent
    for sub in ("test_files", "charset_files"):
        paths |= {str(p) for p in (data_root / sub).rglob("*") if p.is_file()}
    try:
        import data_store  # the pydicom-data package

        paths |= {str(p) for p in (Path(data_store.__file__).parent / "data").rglob("*") if p.is_file()}
    except ImportError:
        pass
    return sorted(Path(p) for p in paths if not p.endswith((".py", ".pyc", ".json", ".txt", ".gz", ".bz2")))


def _classify(path: Path, table: dict[str, list[str]]) -> SampleFile | None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            ds = pydicom.dcmread(path)
            ds.walk(lambda _ds, elem: elem.value)  # touch every element
        except Exception:
            return None
    meta = getattr(ds, "file_meta", None)
    if not meta or any(k not in meta for k in
                       ("MediaStorageSOPClassUID", "MediaStorageSOPInstanceUID", "TransferSyntaxUID")):
        return None
    sop_class = str(meta.MediaStorageSOPClassUID)
    sop_instance = str(meta.MediaStorageSOPInstanceUID)
    ts = UID(str(meta.TransferSyntaxUID))
    if ts not in table.get(sop_class, []):
        return None
    if str(ds.get("SOPClassUID", "")) != sop_class or str(ds.get("SOPInstanceUID", "")) != sop_instance:
        return None
    if not UID(sop_instance).is_valid or not UID(sop_class).is_valid:
        return None
    if ds.original_encoding != (ts.is_implicit_VR, ts.is_little_endian):
        return None
    return SampleFile(path, sop_class, sop_instance, str(ts))


@functools.lru_cache(maxsize=1)
def sample_corpus() -> tuple[SampleFile, ...]:
    table = load_presentation_contexts()
    files = [f for f in (_classify(p, table) for p in candidate_paths()) if f is not None]
    valid = []
    for f in files:
        result = subprocess.run([DCMDUMP, "-q", str(f.path)], capture_output=True, timeout=60)
        if result.returncode == 0:
            valid.append(f)
    return tuple(valid)


def storescu_groups(files) -> dict[str, list[SampleFile]]:
    """Files grouped by the storescu proposal flag that offers their transfer syntax."""
    groups: dict[str, list[SampleFile]] = collections.defaultdict(list)
    for f in files:
        groups[STORESCU_PROPOSAL_FLAG[f.transfer_syntax]].append(f)
    return dict(groups)


def rounds_by_instance(files) -> list[list[SampleFile]]:
    """Split files into rounds in which every SOP Instance UID appears at most once.

    Some samples share a SOP Instance UID (the same image in several transfer
    syntaxes); the archive keeps only the latest copy, so each round is checked
    before the next one replaces it.
    """
    by_uid: dict[str, list[SampleFile]] = collections.defaultdict(list)
    for f in files:
        by_uid[f.sop_instance].append(f)
    depth = max((len(v) for v in by_uid.values()), default=0)
    return [[v[i] for v in by_uid.values() if len(v) > i] for i in range(depth)]
