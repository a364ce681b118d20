"""Automatic disc jobs by rules (issue 10, triggers), against a running `dcmdisc serve`:
instances sent by real peers (dcmtk storescu, pynetdicom) to the AE title a rule names make
a job that waits (its countdown shown) and starts only once the quiet period since the
patient's last instance has passed; more instances while it is being composed send it back
to composing; instances after its burning started make a supplement job holding exactly the
new ones; a `start = "release"` rule starts at A-RELEASE. The discs' contents are read from
outside: isoinfo extracts each image's DICOMDIR, pydicom reads its records.

Assertions are on states, their order and the discs' contents, never on durations.
"""

from __future__ import annotations

import io
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pydicom
from helpers import (CT_IMAGE, ELE, STORESCU, associate, association, context, make_dataset,
                     peer_tool, wait_until, write_dataset)

AUTO = "CDP_AUTO"
ORDER = ["waiting", "queued", "composing", "imaging", "validating", "burning", "verifying", "done"]


def rules_server(factory, tmp_path: Path, *, quiet: int, start: str = "quiet", speed_mb_s: int = 0):
    d = factory("rules", start=False, storage_provider={"ae_titles": ["CDP_PRINTER", AUTO]})
    sim = tmp_path / "sim"
    with open(d.config_path, "a", encoding="utf-8") as f:
        f.write(f"""
[jobs]
poll_interval_ms = 100
quiet_period_secs = {quiet}

[[burners]]
name = "sim"
kind = "simulator"
dir = "{sim}"
discs = [{", ".join(['"blank"'] * 12)}]
speed_mb_s = {speed_mb_s}

[[rules]]
called_ae = "{AUTO}"
modality = "CT"
burner = "sim"
start = "{start}"
""")
    d.start()
    return d


def datasets(tmp_path: Path, name: str, pid: str, n: int, pixel_bytes: int = 64 * 64 * 2,
             first: int = 1) -> list[Path]:
    folder = tmp_path / f"{pid}-{first}"
    folder.mkdir()
    study = f"2.25.{abs(hash(pid)) % 10**12}"
    return [write_dataset(make_dataset(patient_name=name, patient_id=pid, study_uid=study,
                                       series_uid=study + ".1", pixel_bytes=pixel_bytes,
                                       InstanceNumber=str(k)), folder / f"{k}.dcm")
            for k in range(first, first + n)]


def storescu(d, called: str, files) -> None:
    r = subprocess.run([STORESCU, "-aet", "STORESCU", "-aec", called, "127.0.0.1", str(d.port),
                        *map(str, files)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def pynetdicom_store(d, files, called: str = AUTO) -> None:
    with association(d, [context(CT_IMAGE, [ELE])], called=called) as assoc:
        for f in files:
            status = assoc.send_c_store(Path(f))
            assert status and status.Status == 0, status


def uids(files) -> set[str]:
    return {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}


def collection_of(d, pid: str) -> int:
    return next(p["id"] for p in d.patients() if p["patient_id"] == pid)


def jobs_of(d, collection: int) -> list[dict]:
    return [j for j in d.cli_json("jobs") if j["collection"] == collection]


def show(d, job_id: int) -> dict:
    return d.cli_json("job", "show", str(job_id))


def millis(rfc3339: str) -> int:
    t = datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return round(t.timestamp() * 1000)


def follow(d, job_id: int, until=("done", "failed", "cancelled"), timeout: float = 180):
    """Polls the job until it is in one of `until`; answers the states seen in order (each
    with the wall-clock time it was first seen, in Unix milliseconds) and the last view."""
    seen: list[tuple[str, int]] = []
    last = {}

    def step():
        last["job"] = show(d, job_id)
        state = last["job"]["state"]
        if not seen or seen[-1][0] != state:
            seen.append((state, round(time.time() * 1000)))
        return state in until

    assert wait_until(step, timeout=timeout, interval=0.05), (seen, last.get("job"))
    return seen, last["job"]


def uids_on_disc(image: str) -> set[str]:
    """The SOP Instance UIDs the image's DICOMDIR references, read with isoinfo and pydicom."""
    r = subprocess.run([peer_tool("isoinfo"), "-i", image, "-x", "/DICOMDIR.;1"], capture_output=True,
                       timeout=60)
    assert r.returncode == 0 and r.stdout, r.stderr
    ds = pydicom.dcmread(io.BytesIO(r.stdout))
    return {str(rec.ReferencedSOPInstanceUIDInFile) for rec in ds.DirectoryRecordSequence
            if rec.DirectoryRecordType == "IMAGE"}


def burned_uids(job: dict) -> set[str]:
    burned = [x for x in job["discs"] if x["outcome"] == "burned"]
    assert len(burned) == job["volumes"] * job["copies"], job
    out: set[str] = set()
    for x in burned:
        out |= uids_on_disc(x["image"])
    return out


def test_a_rule_job_waits_for_the_quiet_period_since_the_last_instance_then_burns(dcmdisc_factory, tmp_path):
    d = rules_server(dcmdisc_factory, tmp_path, quiet=3)
    # To CDP_PRINTER: only collected.
    printed = datasets(tmp_path, "PRINT^ONLY", "PRINT-1", 2)
    storescu(d, "CDP_PRINTER", printed)
    # To CDP_AUTO, in two associations: one job, its start pushed back by the second.
    first = datasets(tmp_path, "AUTO^BURN", "AUTO-1", 2)
    storescu(d, AUTO, first)
    collection = collection_of(d, "AUTO-1")
    assert wait_until(lambda: jobs_of(d, collection), timeout=30), d.cli_json("jobs")
    job = jobs_of(d, collection)[0]
    assert job["state"] == "waiting", job
    assert job["start"] == "quiet" and job["rule"] == 1 and job["starts_in_secs"] is not None
    second = datasets(tmp_path, "AUTO^BURN", "AUTO-1", 2, first=3)
    storescu(d, AUTO, second)

    seen, job = follow(d, job["id"])
    assert job["state"] == "done", (seen, job)
    states = [s for s, _ in seen]
    assert states[0] == "waiting", states
    assert [ORDER.index(s) for s in states] == sorted(ORDER.index(s) for s in states), states
    # The start was the quiet period after the patient's last instance (its receipt time as
    # the server recorded it), and the job left `waiting` only after it (same clock).
    received = [millis(i["received"]) for i in d.cli_json("instances", "--collection", str(collection))]
    assert len(received) == 4
    starts_at = max(received) + 3000
    left_waiting = seen[1][1]
    assert left_waiting >= starts_at, (seen, starts_at)
    # Every instance of the patient is on the disc; nothing of the other patient, no job
    # for it.
    assert burned_uids(job) == uids(first + second)
    assert jobs_of(d, collection_of(d, "PRINT-1")) == []
    assert len(d.cli_json("jobs")) == 1


def test_instances_arriving_while_the_job_is_composed_make_it_compose_again(dcmdisc_factory, tmp_path):
    d = rules_server(dcmdisc_factory, tmp_path, quiet=1)
    # Enough bytes that composing (reading, imaging, validating) outlasts one more store.
    first = datasets(tmp_path, "LATE^COMPOSE", "LATE-1", 60, pixel_bytes=3 * 1024 * 1024)
    storescu(d, AUTO, first)
    collection = collection_of(d, "LATE-1")
    assert wait_until(lambda: jobs_of(d, collection), timeout=30)
    job_id = jobs_of(d, collection)[0]["id"]
    composing = ("composing", "imaging", "validating")
    assert wait_until(lambda: show(d, job_id)["state"] in composing + ("burning", "done"),
                      timeout=120, interval=0.02)
    before = show(d, job_id)
    assert before["state"] in composing, f"composing ended before the test could send: {before}"
    late = datasets(tmp_path, "LATE^COMPOSE", "LATE-1", 2, first=61)
    pynetdicom_store(d, late)

    seen, job = follow(d, job_id)
    assert job["state"] == "done", (seen, job)
    assert job["replans"] >= 1, (seen, job)
    # Composed again from scratch: the disc holds every instance, and there is no
    # supplement.
    assert burned_uids(job) == uids(first + late)
    assert [j["id"] for j in jobs_of(d, collection)] == [job_id]


def test_instances_arriving_after_burning_started_make_a_supplement_with_exactly_them(dcmdisc_factory, tmp_path):
    # A slow simulator: burning lasts seconds.
    d = rules_server(dcmdisc_factory, tmp_path, quiet=1, speed_mb_s=1)
    first = datasets(tmp_path, "LATE^BURN", "LATE-2", 6, pixel_bytes=400_000)
    storescu(d, AUTO, first)
    collection = collection_of(d, "LATE-2")
    assert wait_until(lambda: jobs_of(d, collection), timeout=30)
    job_id = jobs_of(d, collection)[0]["id"]
    assert wait_until(lambda: show(d, job_id)["state"] in ("burning", "verifying", "done"),
                      timeout=120, interval=0.02)
    assert show(d, job_id)["state"] == "burning", show(d, job_id)
    late = datasets(tmp_path, "LATE^BURN", "LATE-2", 2, first=7)
    pynetdicom_store(d, late)
    # One of the burned instances sent again: it is on the disc, not a late arrival.
    pynetdicom_store(d, first[:1])

    def supplement():
        js = jobs_of(d, collection)
        return js[1] if len(js) > 1 else None

    assert wait_until(supplement, timeout=30), d.cli_json("jobs")
    sup = supplement()
    assert sup["supplement_of"] == job_id, sup
    table = d.cli("jobs").stdout
    assert f"supplement of job {job_id}" in table, table
    _, job = follow(d, job_id)
    assert job["state"] == "done" and job["replans"] == 0, job
    _, sup = follow(d, sup["id"])
    assert sup["state"] == "done", sup
    assert burned_uids(job) == uids(first)
    assert burned_uids(sup) == uids(late)
    assert len(jobs_of(d, collection)) == 2


def test_a_release_rule_starts_at_a_release_and_not_before(dcmdisc_factory, tmp_path):
    # The quiet period is a day: only the release can start the job here.
    d = rules_server(dcmdisc_factory, tmp_path, quiet=86400, start="release")
    files = datasets(tmp_path, "ON^RELEASE", "REL-1", 3)
    with association(d, [context(CT_IMAGE, [ELE])], called=AUTO) as assoc:
        for f in files:
            assert assoc.send_c_store(Path(f)).Status == 0
        collection = collection_of(d, "REL-1")
        assert wait_until(lambda: jobs_of(d, collection), timeout=30)
        job = jobs_of(d, collection)[0]
        # While the association is open: waiting, no countdown.
        assert (job["state"], job["start"], job["starts_at"]) == ("waiting", "release", None), job
        assert "release" in d.cli("jobs").stdout
    # Released (the context manager's A-RELEASE): the job runs.
    seen, job = follow(d, job["id"])
    assert job["state"] == "done", (seen, job)
    assert burned_uids(job) == uids(files)
    # An association that is aborted instead falls back to the quiet period (a day here).
    other = datasets(tmp_path, "ON^ABORT", "REL-2", 1)
    assoc = associate(d, [context(CT_IMAGE, [ELE])], called=AUTO)
    assert assoc.is_established
    assert assoc.send_c_store(Path(other[0])).Status == 0
    assoc.abort()
    collection2 = collection_of(d, "REL-2")

    def has_deadline():
        js = jobs_of(d, collection2)
        return js and js[0]["starts_at"] is not None

    assert wait_until(has_deadline, timeout=30), jobs_of(d, collection2)
    aborted = jobs_of(d, collection2)[0]
    assert aborted["state"] == "waiting" and aborted["starts_in_secs"] > 3600, aborted


def test_a_waiting_job_survives_kill_9_and_starts_after_the_restart(dcmdisc_factory, tmp_path):
    d = rules_server(dcmdisc_factory, tmp_path, quiet=5)
    files = datasets(tmp_path, "KILL^WAIT", "KILL-1", 3)
    storescu(d, AUTO, files)
    collection = collection_of(d, "KILL-1")
    assert wait_until(lambda: jobs_of(d, collection), timeout=30)
    job = jobs_of(d, collection)[0]
    assert job["state"] == "waiting", job
    d.kill()  # SIGKILL while it waits
    assert show(d, job["id"])["state"] == "waiting"
    d.start()
    seen, done = follow(d, job["id"])
    assert done["state"] == "done", (seen, done)
    assert done["starts_at"] is None and job["starts_at"] is not None
    assert burned_uids(done) == uids(files)
    # Caught up at the restart, nothing acted on twice: still one job.
    assert [j["id"] for j in d.cli_json("jobs")] == [job["id"]]
