"""Retention of the temporary store (issue 10, item 6), from outside: four patients stored by
dcmtk storescu into a running `dcmdisc serve` whose retention keeps a done collection for no
time at all and sweeps every second. A collection whose job is done on the simulator burner
disappears from `dcmdisc patients` and from the disk (its archive files and its job folder);
a pinned one, one whose job is still burning, and one never burned stay, and
`dcmdisc retention --dry-run` says why each is kept. Another copy of the removed
collection's job is refused with the reason.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from helpers import STORESCU, make_dataset, wait_until, write_dataset

FINAL = {"done", "failed", "cancelled"}


def retention_server(factory, tmp_path: Path, keep_hours: int = 0, high_water_percent: int = 100):
    """high_water_percent = 100: the test machine's disk is as full as it is, a mark it cannot
    reach; 1: one it is always above."""
    d = factory("retention", start=False)
    with open(d.config_path, "a", encoding="utf-8") as f:
        f.write(f"""
[jobs]
poll_interval_ms = 100

[retention]
keep_forever = false
keep_hours = {keep_hours}
interval_secs = 1
high_water_percent = {high_water_percent}

[[burners]]
name = "sim"
kind = "simulator"
dir = "{tmp_path / 'sim'}"
discs = {["blank"] * 8!r}

[[burners]]
name = "slow"
kind = "simulator"
dir = "{tmp_path / 'slow'}"
discs = {["blank"] * 99!r}
speed_mb_s = 1
""".replace("'", '"'))
    d.start()
    return d


def store_patients(d, tmp_path: Path, names) -> dict[str, int]:
    """storescu sends 2 CT instances of each patient; answers patient id -> collection."""
    src = tmp_path / "src"
    src.mkdir()
    files = []
    for p in names:
        study = f"2.25.5151{len(files)}"
        for k in range(2):
            ds = make_dataset(patient_name=f"RET^{p}", patient_id=p, study_uid=study,
                              series_uid=study + ".1", pixel_bytes=300_000,
                              InstanceNumber=str(k + 1))
            files.append(write_dataset(ds, src / f"{p}-{k}.dcm"))
    r = subprocess.run([STORESCU, "-aet", "STORESCU", "-aec", d.ae_title, "127.0.0.1", str(d.port),
                        *map(str, files)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    by_id = {p["patient_id"]: p["id"] for p in d.patients()}
    assert sorted(by_id) == sorted(names), by_id
    return by_id


def job_state(d, job_id: int) -> dict:
    return d.cli_json("job", "show", str(job_id))


def wait_state(d, job_id: int, states, timeout: float = 120) -> dict:
    seen = {}

    def check():
        seen["job"] = job_state(d, job_id)
        return seen["job"]["state"] in states

    assert wait_until(check, timeout=timeout, interval=0.2), seen.get("job")
    return seen["job"]


def create_job(d, collection: int, burner: str, copies: int = 1) -> int:
    r = d.cli("job", "create", str(collection), "--burner", burner, "--copies", str(copies))
    return int(r.stdout.strip())


def test_a_done_collection_is_removed_and_pinned_busy_and_unburned_ones_stay(dcmdisc_factory,
                                                                             tmp_path):
    d = retention_server(dcmdisc_factory, tmp_path)
    c = store_patients(d, tmp_path, ["DONE", "PINNED", "BUSY", "NEVER"])
    files = {p: [Path(i["path"]) for i in d.instances() if i["patient_id"] == p] for p in c}
    assert all(len(v) == 2 and all(f.is_file() for f in v) for v in files.values()), files
    # A job's discs count as holding the collection only when its composing started at least
    # 2 s after the last arrival (crates/archive/src/retention.rs, ARRIVAL_MARGIN_MS): wait
    # that long before making the jobs, as a real quiet period would.
    time.sleep(2.2)
    d.cli("patient", "pin", str(c["PINNED"]))
    done_job = create_job(d, c["DONE"], "sim")
    pinned_job = create_job(d, c["PINNED"], "sim")
    assert wait_state(d, done_job, FINAL)["state"] == "done"
    assert wait_state(d, pinned_job, FINAL)["state"] == "done"
    job_folder = d.data_dir / "jobs" / f"job{done_job}"
    # BUSY's job burns 99 copies at 1 MB/s: minutes, far longer than this test waits.
    busy_job = create_job(d, c["BUSY"], "slow", copies=99)
    wait_state(d, busy_job, {"burning", "verifying"})

    assert wait_until(lambda: c["DONE"] not in {p["id"] for p in d.patients()}, timeout=60,
                      interval=0.2), d.cli("retention", "--dry-run").stdout
    left = {p["patient_id"]: p for p in d.patients()}
    assert sorted(left) == ["BUSY", "NEVER", "PINNED"], left
    assert left["PINNED"]["pinned"] is True
    for f in files["DONE"]:
        assert not f.exists(), f"{f} of the removed collection is still on disk"
    assert not job_folder.exists(), "the done job's folder goes with its collection"
    assert not any(i["patient_id"] == "DONE" for i in d.instances())
    for p in ("PINNED", "BUSY", "NEVER"):
        assert all(f.is_file() for f in files[p]), p
    assert (d.data_dir / "jobs" / f"job{pinned_job}").is_dir()
    assert job_state(d, busy_job)["state"] not in FINAL, "the busy job must still be running"

    report = d.cli_json("retention", "--dry-run")
    assert report["dry_run"] is True and report["keep_forever"] is False
    reasons = {x["patient_id"]: (x["action"], x["reason"]) for x in report["decisions"]}
    assert reasons["PINNED"] == ("keep", "pinned"), reasons
    assert reasons["BUSY"][0] == "keep" and f"job {busy_job} is" in reasons["BUSY"][1], reasons
    assert reasons["NEVER"] == ("keep", "never burned: no job of it is done"), reasons
    assert "DONE" not in reasons
    text = d.cli("retention", "--dry-run").stdout
    assert "pinned" in text and "never burned" in text

    # Another copy of the removed collection's job: refused, saying why.
    r = d.cli("job", "copy", str(done_job), check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "retention removed collection" in r.stderr, r.stderr
    # The server noted the removal; unpinned, the pinned one goes at the next pass.
    d.cli("patient", "unpin", str(c["PINNED"]))
    assert wait_until(lambda: c["PINNED"] not in {p["id"] for p in d.patients()}, timeout=60,
                      interval=0.2)
    assert sorted(p["patient_id"] for p in d.patients()) == ["BUSY", "NEVER"]
    assert "collection removed from the temporary store" in d.log_text()


def test_a_done_job_is_copied_from_its_images(dcmdisc_factory, tmp_path):
    d = retention_server(dcmdisc_factory, tmp_path)
    c = store_patients(d, tmp_path, ["COPY"])
    time.sleep(2.2)
    d.cli("patient", "pin", str(c["COPY"]))
    first = create_job(d, c["COPY"], "sim")
    job = wait_state(d, first, FINAL)
    assert job["state"] == "done" and job["eta_secs"] == 0, job
    second = int(d.cli("job", "copy", str(first), "--copies", "2").stdout.strip())
    again = wait_state(d, second, FINAL)
    assert again["state"] == "done", again
    # Burning records its progress as the stage "burning"; a compose leaves an export stage.
    assert again["copies"] == 2 and again["stage"] in ("", "burning"), "burned from the images"
    want = {x["sha256"] for x in job["discs"] if x["outcome"] == "burned"}
    got = [x for x in again["discs"] if x["outcome"] == "burned"]
    assert len(got) == 2 * job["volumes"] and {x["sha256"] for x in got} == want
    for x in got:
        assert Path(x["image"]).is_file()


def test_at_the_high_water_mark_done_collections_go_early_and_never_burned_ones_raise_an_alert(
        dcmdisc_factory, tmp_path):
    # Kept 1000 h, but the disk is above a 1 % mark: the done collection goes at once.
    d = retention_server(dcmdisc_factory, tmp_path, keep_hours=1000, high_water_percent=1)
    c = store_patients(d, tmp_path, ["DONE", "NEVER"])
    time.sleep(2.2)  # the arrival margin, as above
    job = create_job(d, c["DONE"], "sim")
    assert wait_state(d, job, FINAL)["state"] == "done"
    assert wait_until(lambda: c["DONE"] not in {p["id"] for p in d.patients()}, timeout=60,
                      interval=0.2), d.cli("retention", "--dry-run").stdout
    assert [p["patient_id"] for p in d.patients()] == ["NEVER"]
    report = d.cli_json("retention", "--dry-run")
    assert report["above_high_water"] is True and report["disk_percent"] >= 1, report
    (never,) = report["decisions"]
    assert (never["action"], never["never_burned"]) == ("keep", True)
    assert f"never burned: {c['NEVER']}" in report["alert"], report["alert"]
    assert "ALERT:" in d.cli("retention", "--dry-run").stdout
    assert wait_until(lambda: "retention: disk" in d.log_text(), timeout=30, interval=0.2)
    assert " WARN " in next(line for line in d.log_text().splitlines() if "retention: disk" in line)
