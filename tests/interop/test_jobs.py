"""Disc jobs (issue 10): instances stored into a running `dcmdisc serve` by a real peer
(dcmtk storescu), a job created with the CLI, made by the server's worker, its discs checked
from outside: the folder burner's images by SHA-256 against the job's discs and read by
isoinfo; and a kill -9 while a slow simulator burns, after which the job finishes with the
interrupted disc rejected and each copy burned exactly once.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import STORESCU, make_dataset, wait_until, write_dataset

def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def jobs_server(factory, extra_toml: str = ""):
    d = factory("jobs", start=False)
    if extra_toml:
        with open(d.config_path, "a", encoding="utf-8") as f:
            f.write("\n" + extra_toml + "\n")
    d.start()
    return d


def store_collection(d, tmp_path: Path, n: int = 3, pixel_bytes: int = 400_000) -> int:
    """storescu sends n CT instances of one patient; answers the collection id."""
    src = tmp_path / "src"
    src.mkdir()
    files = []
    for k in range(n):
        ds = make_dataset(patient_name="JOBS^TEST", patient_id="JOBS-1", study_uid="2.25.4242",
                          series_uid="2.25.4242.1", pixel_bytes=pixel_bytes, InstanceNumber=str(k + 1))
        files.append(write_dataset(ds, src / f"{k}.dcm"))
    r = subprocess.run([STORESCU, "-aet", "STORESCU", "-aec", d.ae_title, "127.0.0.1", str(d.port),
                        *map(str, files)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    patients = d.patients()
    assert len(patients) == 1 and patients[0]["instances"] == n, patients
    return patients[0]["id"]


def show(d, job_id: int) -> dict:
    return d.cli_json("job", "show", str(job_id))


def wait_state(d, job_id: int, states, timeout: float = 120) -> dict:
    seen = {}

    def check():
        seen["job"] = show(d, job_id)
        return seen["job"]["state"] in states

    if not wait_until(check, timeout=timeout, interval=0.2):
        raise AssertionError(f"job {job_id} not in {states} within {timeout} s: {seen.get('job')}")
    return seen["job"]


def test_a_job_made_by_serve_lands_verified_images_in_the_folder_burner(dcmdisc_factory, tmp_path):
    d = jobs_server(dcmdisc_factory)
    collection = store_collection(d, tmp_path)
    r = d.cli("job", "create", str(collection), "--copies", "2", "--capacity-mb", "1")
    job_id = int(r.stdout.strip())
    job = wait_state(d, job_id, {"done", "failed"})
    assert job["state"] == "done", job
    assert job["progress"] == 1.0
    assert job["volumes"] >= 2, "the collection was meant to span volumes"
    assert job["error"] is None
    burned = [x for x in job["discs"] if x["outcome"] == "burned"]
    assert sorted((x["volume"], x["copy"]) for x in burned) == [
        (v, c) for v in range(1, job["volumes"] + 1) for c in (1, 2)]
    discs_dir = d.data_dir / "discs"
    on_disk = sorted(p.name for p in discs_dir.iterdir())
    assert on_disk == sorted(f"job{job_id}-vol{x['volume']}-copy{x['copy']}.iso" for x in burned)
    for x in burned:
        image = Path(x["image"])
        assert image.parent == discs_dir
        assert sha256(image) == x["sha256"], image
    # Copies of one volume are the same bytes; volumes differ.
    by_volume = {}
    for x in burned:
        by_volume.setdefault(x["volume"], set()).add(x["sha256"])
    assert all(len(s) == 1 for s in by_volume.values())
    assert len({next(iter(s)) for s in by_volume.values()}) == job["volumes"]
    isoinfo = shutil.which("isoinfo")
    if isoinfo:
        listing = subprocess.run([isoinfo, "-i", burned[0]["image"], "-f"], capture_output=True,
                                 text=True, timeout=60)
        assert listing.returncode == 0
        assert "/DICOMDIR" in listing.stdout
    listed = d.cli_json("jobs")
    assert [j["id"] for j in listed] == [job_id]
    burners = d.cli_json("burners")
    assert [(b["name"], b["kind"], b["state"]) for b in burners] == [("folder", "folder", "ready")]


def test_kill_9_while_burning_then_restart_finishes_without_loss_or_doubles(dcmdisc_factory, tmp_path):
    sim_dir = tmp_path / "sim"
    d = jobs_server(dcmdisc_factory, f"""
[jobs]
poll_interval_ms = 100

[[burners]]
name = "slow"
kind = "simulator"
dir = "{sim_dir}"
discs = ["blank", "blank", "blank", "blank", "blank", "blank", "blank", "blank"]
speed_mb_s = 1
""")
    collection = store_collection(d, tmp_path)
    job_id = int(d.cli("job", "create", str(collection), "--copies", "2", "--capacity-mb", "1")
                 .stdout.strip())

    def burning_second_disc():
        job = show(d, job_id)
        return any(x["outcome"] == "burning" for x in job["discs"]) and len(job["discs"]) >= 2

    assert wait_until(burning_second_disc, timeout=120, interval=0.05), show(d, job_id)
    d.kill()  # SIGKILL: no chance to record anything
    before = show(d, job_id)
    assert before["state"] in ("burning", "verifying"), before
    interrupted = [(x["volume"], x["copy"]) for x in before["discs"] if x["outcome"] == "burning"]
    assert len(interrupted) == 1

    d.start()
    job = wait_state(d, job_id, {"done", "failed"}, timeout=180)
    assert job["state"] == "done", job
    rejected = [x for x in job["discs"] if x["outcome"] == "rejected"]
    assert [(x["volume"], x["copy"], x["reason"]) for x in rejected] == [(*interrupted[0], "interrupted")]
    burned = [x for x in job["discs"] if x["outcome"] == "burned"]
    pairs = sorted((x["volume"], x["copy"]) for x in burned)
    assert pairs == [(v, c) for v in range(1, job["volumes"] + 1) for c in (1, 2)], "lost or doubled"
    for x in burned:
        assert sha256(Path(x["image"])) == x["sha256"]
    # The interrupted disc is the next one after the burned ones before it; the simulator's
    # stack shows one taken disc per job_disc row.
    slow = d.cli_json("burners")[0]
    taken = [s for s in slow["discs"] if s["outcome"] != "unused"]
    assert len(taken) == len(job["discs"])
    assert sum(1 for s in taken if s["outcome"] == "rejected") == 1
