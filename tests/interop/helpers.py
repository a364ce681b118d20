"""Shared helpers of the interoperability suite: the dcmdisc process, its CLI,
the presentation-context table, pynetdicom peers and DICOM test objects.

Tests import these directly (`from helpers import ...`); the fixtures built on
them live in conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import generate_uid
from pynetdicom import AE, _config
from pynetdicom.dsutils import split_dataset
from pynetdicom.presentation import PresentationContext

import pynetdicom_fixes

pynetdicom_fixes.install()

REPO = Path(__file__).resolve().parents[2]
TSV_PATH = REPO / "crates" / "net" / "data" / "presentation-contexts.tsv"

# dcmtk's tools, by full path: pynetdicom installs console scripts with the same names.
STORESCU = "/usr/bin/storescu"
ECHOSCU = "/usr/bin/echoscu"
DCMDUMP = "/usr/bin/dcmdump"

LOCALHOST = "127.0.0.1"
OUR_AE = "CDP_PRINTER"
# Calling AE titles registered on every test server (host 127.0.0.1).
DEFAULT_REMOTES = ("STORESCU", "ECHOSCU", "PYNETDICOM", "RAWSCU")

VERIFICATION = "1.2.840.10008.1.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"

ELE = "1.2.840.10008.1.2.1"
ILE = "1.2.840.10008.1.2"
EBE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
JPEG_LOSSLESS_SV1 = "1.2.840.10008.1.2.4.70"
RLE = "1.2.840.10008.1.2.5"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
JPEG_EXTENDED = "1.2.840.10008.1.2.4.51"
JPEG2000_LOSSLESS = "1.2.840.10008.1.2.4.90"
JPEG_LS_LOSSLESS = "1.2.840.10008.1.2.4.80"

# The six transfer syntaxes of conformance statement Table 13, and three it never accepts.
TABLE_13_TS = (ELE, ILE, JPEG_LOSSLESS_SV1, RLE, JPEG_BASELINE, JPEG_EXTENDED)
NEVER_ACCEPTED_TS = (EBE, JPEG2000_LOSSLESS, DEFLATED)

PHILIPS_IMPLEMENTATION_UID = "1.2.826.0.1.3680043.8.195.0.20041017"

# SQLite's companion files of a database (write-ahead log, shared memory, rollback journal).
SQLITE_COMPANION = re.compile(r"-(wal|shm|journal)$")


def is_sqlite_file(path: Path) -> bool:
    """The control database (recognised by its header) or one of its companion files."""
    if SQLITE_COMPANION.search(path.name):
        return True
    try:
        with open(path, "rb") as fp:
            return fp.read(16) == b"SQLite format 3\0"
    except OSError:
        return False


# --------------------------------------------------------------------------- table


def load_presentation_contexts(path: Path = TSV_PATH) -> dict[str, list[str]]:
    """Abstract syntax UID -> accepted transfer syntax UIDs, in file order."""
    table: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        uid, _name, syntaxes = line.split("\t")
        table[uid.strip()] = [ts.strip() for ts in syntaxes.split(",") if ts.strip()]
    return table


# --------------------------------------------------------------------------- processes


def dcmdisc_bin() -> Path:
    return Path(os.environ.get("DCMDISC_BIN") or REPO / "target" / "release" / "dcmdisc")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOCALHOST, 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = LOCALHOST) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def write_config(path: Path, config: dict) -> Path:
    """Write {section: {key: value}} as TOML."""
    lines = []
    for section, keys in config.items():
        lines.append(f"[{section}]")
        for key, value in keys.items():
            lines.append(f"{key} = {_toml_value(value)}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def base_config(port: int, data_dir: Path) -> dict:
    return {
        "storage_provider": {
            "ae_titles": [OUR_AE],
            "port": port,
            "bind_address": LOCALHOST,
            "max_pdu_length": 16384,
            "max_associations": 5,
            "artim_timeout_secs": 10,
            "dimse_timeout_secs": 30,
        },
        "archive": {"data_dir": str(data_dir), "durable": True},
        # Port 0: every server gets a free web port, read from its log (Dcmdisc.web_url).
        "web": {"bind_address": LOCALHOST, "port": 0},
    }


def dcmdump_ok(path) -> subprocess.CompletedProcess:
    return subprocess.run([DCMDUMP, "-q", str(path)], capture_output=True, text=True, errors="replace", timeout=60)


# Every server the suite starts, so that a failing test can show their logs.
SERVERS: list["Dcmdisc"] = []


class Dcmdisc:
    """One dcmdisc installation: a config file, a data directory, maybe a running server."""

    def __init__(self, workdir: Path, *, storage_provider: dict | None = None,
                 archive: dict | None = None, data_dir: Path | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir = Path(data_dir) if data_dir else self.workdir / "data"
        self.port = free_port()
        self.config = base_config(self.port, self.data_dir)
        self.config["storage_provider"].update(storage_provider or {})
        self.config["archive"].update(archive or {})
        self.port = self.config["storage_provider"]["port"]
        self.ae_title = self.config["storage_provider"]["ae_titles"][0]
        self.config_path = write_config(self.workdir / "dcmdisc.toml", self.config)
        self.log_path = self.workdir / "dcmdisc-serve.log"
        self.proc: subprocess.Popen | None = None
        self.log_start = 0
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        SERVERS.append(self)

    # ----------------------------------------------------------------- CLI

    def common_args(self) -> list[str]:
        return ["--config", str(self.config_path), "--data-dir", str(self.data_dir)]

    def cli(self, *args, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run `dcmdisc ARGS --config F --data-dir D`."""
        cmd = [str(dcmdisc_bin()), *map(str, args), *self.common_args()]
        result = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def cli_json(self, *args, timeout: float = 60):
        result = self.cli(*args, "--json", timeout=timeout)
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"dcmdisc {' '.join(map(str, args))} --json printed no JSON: "
                                 f"{exc}\nstdout:\n{result.stdout[:4000]}") from exc

    def add_remote(self, ae_title: str, host: str = LOCALHOST, port: int | None = None):
        args = ["remote", "add", ae_title, "--host", host]
        if port is not None:
            args += ["--port", str(port)]
        return self.cli(*args)

    def instances(self) -> list[dict]:
        return self.cli_json("instances")

    def instances_by_uid(self) -> dict[str, list[dict]]:
        rows: dict[str, list[dict]] = {}
        for row in self.instances():
            rows.setdefault(row["sop_instance_uid"], []).append(row)
        return rows

    def patients(self) -> list[dict]:
        return self.cli_json("patients")

    def log(self, limit: int | None = None) -> list[dict]:
        args = ["log"] + (["--limit", str(limit)] if limit is not None else [])
        return self.cli_json(*args)

    # ----------------------------------------------------------------- process

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def serve_command(self, *extra) -> list[str]:
        return [str(dcmdisc_bin()), "serve", *self.common_args(), "--port", str(self.port), *extra]

    def start(self, *extra, timeout: float = 10.0) -> "Dcmdisc":
        """Start `dcmdisc serve` and wait (bounded) until it accepts TCP connections.

        Starting a server that is already running does nothing.
        """
        if self.running:
            return self
        if not dcmdisc_bin().exists():
            raise AssertionError(f"dcmdisc binary not found at {dcmdisc_bin()} "
                                 "(run cargo build --release or set DCMDISC_BIN)")
        # A restarted server appends to the same log: only what it writes now counts.
        log_start = len(self.log_text())
        self.log_start = log_start
        log = open(self.log_path, "ab")
        env = dict(os.environ)
        env.setdefault("RUST_BACKTRACE", "1")
        self.proc = subprocess.Popen(self.serve_command(*extra), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, env=env, start_new_session=True)
        log.close()
        self.started_at = time.time()
        self.stopped_at = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"dcmdisc serve exited with {self.proc.returncode} before "
                                     f"listening:\n{self.log_text()[-4000:]}")
            if "listening on" in self.log_text()[log_start:] or port_open(self.port):
                return self
            time.sleep(0.05)
        self.kill()
        raise AssertionError(f"dcmdisc serve did not listen on port {self.port} within "
                             f"{timeout} s:\n{self.log_text()[-4000:]}")

    def send_signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        """Signal the server and wait for it; returns its exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        self.stopped_at = time.time()
        return self.proc.returncode

    def lose_index_rows(self, sop_instance_uid: str | None = None) -> None:
        """With the server stopped, delete index rows (all, or one instance's) as a power loss
        would have: the files stay, and recovery at the next start has to rebuild the rows."""
        import sqlite3
        assert self.proc is None or self.proc.poll() is not None, "stop the server first"
        db = sqlite3.connect(self.data_dir / "control.sqlite")
        if sop_instance_uid is None:
            db.execute("DELETE FROM instance")
        else:
            db.execute("DELETE FROM instance WHERE sop_instance_uid = ?", (sop_instance_uid,))
        db.commit()
        db.close()

    def wait(self, timeout: float = 10.0) -> int | None:
        """Wait for the server to exit by itself; its exit code, or None (then it is killed)."""
        assert self.proc is not None
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None
        self.stopped_at = time.time()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.stopped_at = time.time()

    def web_url(self, timeout: float = 10.0) -> str:
        """`http://127.0.0.1:PORT` of the running server's web API, as its log announces it
        ("web API at http://ADDR/api/"; the helpers' config asks for port 0)."""
        found = {}

        def announced():
            m = re.search(r"web API at (http://[0-9.:\[\]]+)/api/", self.log_text()[self.log_start:])
            if m:
                found["url"] = m.group(1)
            return bool(m) or not self.running

        wait_until(announced, timeout=timeout)
        if "url" not in found:
            raise AssertionError(f"no web API address in the log within {timeout} s:\n"
                                 f"{self.log_text()[-4000:]}")
        return found["url"]

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    # ----------------------------------------------------------------- files

    def archive_files(self) -> list[Path]:
        """Every regular file under the data directory that is not the SQLite control DB, nor an
        empty spare (files the server makes ahead of need, see crates/archive/src/spares.rs)."""
        if not self.data_dir.exists():
            return []
        return sorted(p for p in self.data_dir.rglob("*")
                      if p.is_file() and not is_sqlite_file(p) and p.stat().st_size > 0)


def create_dcmdisc(workdir, *, start: bool = True, remotes=DEFAULT_REMOTES, serve_args=(),
                   **config) -> Dcmdisc:
    """A Dcmdisc in `workdir` with `remotes` registered (host 127.0.0.1), started unless told not.

    `config` takes storage_provider={...}, archive={...} and data_dir=PATH.
    """
    import pytest

    if not dcmdisc_bin().exists():
        pytest.fail(f"dcmdisc binary not found at {dcmdisc_bin()}: build it with "
                    "`cargo build --release` or set DCMDISC_BIN", pytrace=False)
    d = Dcmdisc(workdir, storage_provider=config.pop("storage_provider", None),
                archive=config.pop("archive", None), data_dir=config.pop("data_dir", None))
    assert not config, f"unknown arguments: {sorted(config)}"
    for ae in remotes:
        d.add_remote(ae)
    if start:
        d.start(*serve_args)
    return d


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str):
    """This test cannot run here for want of a tool, a sample or a privilege: it is skipped,
    saying why (pytest -ra lists it); under CI (CI=true) it fails instead, as a test that
    does not run proves nothing."""
    import pytest

    if under_ci():
        pytest.fail(f"{reason} (CI=true: what a test needs must be there)", pytrace=False)
    pytest.skip(reason)


def peer_tool(name: str) -> str:
    """The full path of a peer tool the test needs, or `unavailable`."""
    import shutil

    path = shutil.which(name)
    if not path:
        unavailable(f"{name} not found (scripts/test.sh installs it)")
    return path


def wait_until(predicate, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


# --------------------------------------------------------------------------- pynetdicom


def context(abstract_syntax: str, transfer_syntaxes, context_id: int | None = None) -> PresentationContext:
    cx = PresentationContext()
    cx.abstract_syntax = abstract_syntax
    cx.transfer_syntax = list(transfer_syntaxes) if not isinstance(transfer_syntaxes, str) else [transfer_syntaxes]
    if context_id is not None:
        cx.context_id = context_id
    return cx


def make_ae(ae_title: str = "PYNETDICOM") -> AE:
    ae = AE(ae_title)
    ae.acse_timeout = 15
    ae.dimse_timeout = 60
    ae.network_timeout = 15
    ae.connection_timeout = 5
    return ae


def associate(server: Dcmdisc, contexts, *, ae_title: str = "PYNETDICOM", called: str | None = None,
              bind: str | None = None, max_pdu: int = 16382, evt_handlers=None):
    """Request an association from `server`; returns the pynetdicom Association (maybe rejected)."""
    ae = make_ae(ae_title)
    kwargs = {}
    if bind:
        kwargs["bind_address"] = (bind, 0)
    assoc = ae.associate(LOCALHOST, server.port, contexts=contexts, ae_title=called or server.ae_title,
                         max_pdu=max_pdu, evt_handlers=evt_handlers, **kwargs)
    pynetdicom_fixes.recover_rejection(assoc)
    return assoc


@contextlib.contextmanager
def association(server: Dcmdisc, contexts, **kwargs):
    """An established pynetdicom association, released (or aborted) afterwards."""
    assoc = associate(server, contexts, **kwargs)
    assert assoc.is_established, describe_failed_association(assoc)
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
        if assoc.is_alive():
            assoc.abort()


def describe_failed_association(assoc) -> str:
    if assoc.is_rejected:
        p = assoc.acceptor.primitive
        return f"association rejected: result={p.result} source={p.result_source} reason={p.diagnostic}"
    if assoc.is_aborted:
        return "association aborted"
    return "association not established (no answer or connection refused)"


def rejection(assoc) -> tuple[int, int, int]:
    assert assoc.is_rejected, describe_failed_association(assoc)
    p = assoc.acceptor.primitive
    return int(p.result), int(p.result_source), int(p.diagnostic)


@contextlib.contextmanager
def chunked_store():
    """Make pynetdicom send a file's dataset bytes exactly as they are on disk."""
    previous = _config.STORE_SEND_CHUNKED_DATASET
    _config.STORE_SEND_CHUNKED_DATASET = True
    try:
        yield
    finally:
        _config.STORE_SEND_CHUNKED_DATASET = previous


def store_file(assoc, path) -> int:
    """C-STORE the dataset bytes of a Part 10 file unchanged; return the status (or -1)."""
    with chunked_store():
        status = assoc.send_c_store(Path(path))
    return int(status.Status) if status is not None and "Status" in status else -1


def echo_status(assoc) -> int:
    status = assoc.send_c_echo()
    return int(status.Status) if status is not None and "Status" in status else -1


def echo_ok(server: Dcmdisc, ae_title: str = "PYNETDICOM") -> bool:
    """A fresh association, one C-ECHO, release: True when all of it worked."""
    assoc = associate(server, [context(VERIFICATION, [ELE, ILE])], ae_title=ae_title)
    if not assoc.is_established:
        return False
    try:
        return echo_status(assoc) == 0
    finally:
        if assoc.is_established:
            assoc.release()


# --------------------------------------------------------------------------- DICOM objects


def dataset_offset(path) -> int:
    """Offset of the first byte after the File Meta Information (what a C-STORE sends)."""
    _meta, offset = split_dataset(Path(path))
    return offset


def read_meta(path) -> Dataset:
    return pydicom.filereader.read_file_meta_info(str(path))


def dataset_bytes(path) -> bytes:
    data = Path(path).read_bytes()
    return data[dataset_offset(path):]


def make_dataset(*, sop_class: str = CT_IMAGE, sop_instance: str | None = None,
                 patient_name: str | None = "INTEROP^TEST", patient_id: str | None = "INTEROP-1",
                 study_uid: str | None = None, series_uid: str | None = None,
                 accession: str | None = None, pixel_bytes: int = 64 * 64 * 2,
                 transfer_syntax: str = ELE, **extra) -> Dataset:
    """A small but valid image instance with file meta (16-bit monochrome pixels)."""
    ds = Dataset()
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance or generate_uid()
    ds.StudyDate = "20240101"
    ds.StudyTime = "120000"
    ds.Modality = "CT" if sop_class == CT_IMAGE else "OT"
    if patient_name is not None:
        ds.PatientName = patient_name
    if patient_id is not None:
        ds.PatientID = patient_id
    if accession is not None:
        ds.AccessionNumber = accession
    ds.StudyInstanceUID = study_uid or generate_uid()
    ds.SeriesInstanceUID = series_uid or generate_uid()
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    for key, value in extra.items():
        setattr(ds, key, value)
    if pixel_bytes:
        columns = 64 if pixel_bytes <= 64 * 4096 * 2 else 512
        rows = max(1, pixel_bytes // (columns * 2))
        if rows > 512 and columns == 512:  # large: 512x512 frames
            ds.NumberOfFrames = rows // 512
            rows = 512
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = rows
        ds.Columns = columns
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        size = rows * columns * 2 * int(ds.get("NumberOfFrames", 1))
        ds.PixelData = bytes(range(256)) * (size // 256) + bytes(size % 256)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    ds.file_meta = meta
    return ds


def write_dataset(ds: Dataset, path) -> Path:
    path = Path(path)
    ds.save_as(path, enforce_file_format=True)
    return path


def write_raw_part10(path, *, sop_class: str, sop_instance: str, transfer_syntax: str,
                     payload: bytes) -> Path:
    """A Part 10 file whose File Meta says (class, instance, TS) and whose dataset is `payload`."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = "1.2.826.0.1.3680043.10.1.1"
    path = Path(path)
    with open(path, "wb") as fp:
        fp.write(bytes(128) + b"DICM")
        write_file_meta_info(fp, meta, enforce_standard=True)
        fp.write(payload)
    return path


def encode_dataset(ds: Dataset, transfer_syntax: str = ELE) -> bytes:
    """The bytes of a dataset (no meta) in an uncompressed transfer syntax."""
    from pynetdicom.dsutils import encode
    uid = pydicom.uid.UID(transfer_syntax)
    body = Dataset()
    body.update(ds)
    return encode(body, uid.is_implicit_VR, uid.is_little_endian)
