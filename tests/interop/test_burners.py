"""Burners (issue 10): `dcmdisc serve` with a `drive` burner on a real xorriso `stdio:`
pseudo-drive (a file as the disc), read back from outside by isoinfo and xorriso; the same
burner on the scripted xorriso stand-in (tests/fixtures/xorriso_standin.py) for a written
disc, which is rejected and ejected, the blank one after it taken; and `dcmdisc burner
pause` holding a job until `dcmdisc burner resume`.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from helpers import REPO, peer_tool, wait_until
from test_jobs import jobs_server, show, store_collection, wait_state

STANDIN = REPO / "tests" / "fixtures" / "xorriso_standin.py"


def sha256_prefix(path: Path, length: int) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read(length)).hexdigest()


def drive_toml(device: str, xorriso: str | None = None) -> str:
    extra = f'xorriso = "{xorriso}"\n' if xorriso else ""
    return f"""
[jobs]
poll_interval_ms = 100

[[burners]]
name = "dvd"
kind = "drive"
device = "{device}"
{extra}"""


def standin(tmp_path: Path, discs: list[str]) -> Path:
    """A wrapper program in place of xorriso, its drive holding `discs`."""
    state = tmp_path / "standin"
    state.mkdir()
    (state / "discs").write_text("\n".join(discs) + "\n")
    wrapper = tmp_path / "xorriso-standin"
    wrapper.write_text(f"#!/bin/sh\nexec python3 '{STANDIN}' '{state}' \"$@\"\n")
    wrapper.chmod(0o755)
    return wrapper


def test_a_drive_burner_burns_and_verifies_a_stdio_pseudo_drive_read_by_isoinfo(
        dcmdisc_factory, tmp_path):
    xorriso = peer_tool("xorriso")
    isoinfo = peer_tool("isoinfo")
    disc = tmp_path / "disc.img"
    d = jobs_server(dcmdisc_factory, drive_toml(f"stdio:{disc}"))
    collection = store_collection(d, tmp_path, n=2, pixel_bytes=100_000)
    job_id = int(d.cli("job", "create", str(collection)).stdout.strip())
    job = wait_state(d, job_id, {"done", "failed"})
    assert job["state"] == "done", job
    assert job["volumes"] == 1
    [burned] = job["discs"]
    assert burned["outcome"] == "burned" and burned["burner"] == "dvd"
    assert Path(burned["image"]) == disc
    # The job's validated image, byte for byte at the start of the pseudo-drive's file.
    images = sorted((d.data_dir / "jobs" / f"job{job_id}" / "images").rglob("*.iso"))
    assert len(images) == 1
    length = images[0].stat().st_size
    assert disc.stat().st_size >= length
    assert sha256_prefix(disc, length) == burned["sha256"]
    assert hashlib.sha256(images[0].read_bytes()).hexdigest() == burned["sha256"]
    # Read by other tools as a disc.
    listing = subprocess.run([isoinfo, "-i", str(disc), "-f"], capture_output=True,
                             text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "/DICOMDIR" in listing.stdout
    toc = subprocess.run([xorriso, "-indev", f"stdio:{disc}", "-toc"], capture_output=True,
                         text=True, timeout=60)
    assert "is written" in toc.stdout + toc.stderr
    [b] = d.cli_json("burners")
    assert (b["name"], b["kind"], b["state"], b["device"]) == ("dvd", "drive", "ready",
                                                               f"stdio:{disc}")
    # The pseudo-drive is now a written disc: the next job's disc is refused, not overwritten.
    before = disc.read_bytes()
    second = int(d.cli("job", "create", str(collection)).stdout.strip())

    def rejected():
        return any(x["outcome"] == "rejected" for x in show(d, second)["discs"])

    assert wait_until(rejected, timeout=120, interval=0.2), show(d, second)
    reason = show(d, second)["discs"][0]["reason"]
    assert "already written" in reason, reason
    assert disc.read_bytes() == before
    d.cli("job", "cancel", str(second))


def test_the_stand_ins_written_disc_is_rejected_and_the_next_blank_one_taken(
        dcmdisc_factory, tmp_path):
    wrapper = standin(tmp_path, ["written", "blank"])
    disc = tmp_path / "disc.img"
    d = jobs_server(dcmdisc_factory, drive_toml(f"stdio:{disc}", str(wrapper)))
    collection = store_collection(d, tmp_path, n=2, pixel_bytes=100_000)
    job_id = int(d.cli("job", "create", str(collection)).stdout.strip())
    job = wait_state(d, job_id, {"done", "failed"})
    assert job["state"] == "done", job
    rejected, burned = job["discs"]
    assert rejected["outcome"] == "rejected"
    assert "already written (closed, CD-R)" in rejected["reason"], rejected
    assert burned["outcome"] == "burned"
    images = sorted((d.data_dir / "jobs" / f"job{job_id}" / "images").rglob("*.iso"))
    assert sha256_prefix(disc, images[0].stat().st_size) == burned["sha256"]
    calls = (tmp_path / "standin" / "calls.log").read_text().splitlines()
    assert sum('"-eject"' in c for c in calls) == 2, "the rejected disc is ejected too"
    assert (tmp_path / "standin" / "position").read_text() == "2"


def test_a_paused_burner_holds_the_job_until_resumed(dcmdisc_factory, tmp_path):
    sim_dir = tmp_path / "sim"
    d = jobs_server(dcmdisc_factory, f"""
[jobs]
poll_interval_ms = 100

[[burners]]
name = "sim"
kind = "simulator"
dir = "{sim_dir}"
discs = ["blank", "blank"]
""")
    collection = store_collection(d, tmp_path, n=2, pixel_bytes=100_000)
    d.cli("burner", "pause", "sim", "--reason", "loading new discs")
    [b] = d.cli_json("burners")
    assert (b["state"], b["reason"]) == ("paused", "loading new discs")
    job_id = int(d.cli("job", "create", str(collection)).stdout.strip())

    def held():
        job = show(d, job_id)
        return job["state"] == "burning" and "paused" in (job["next_action"] or "")

    assert wait_until(held, timeout=120, interval=0.2), show(d, job_id)
    job = show(d, job_id)
    assert job["discs"] == [], "no disc taken from a paused burner"
    assert "loading new discs" in job["next_action"]
    assert "dcmdisc burner resume sim" in job["next_action"]
    text = d.cli("burners").stdout
    assert "paused: loading new discs" in text, text
    bad = d.cli("burner", "pause", "nope", check=False)
    assert bad.returncode != 0 and "nope" in bad.stderr

    d.cli("burner", "resume", "sim")
    job = wait_state(d, job_id, {"done", "failed"})
    assert job["state"] == "done", job
    assert job["next_action"] is None
    assert [x["outcome"] for x in job["discs"]] == ["burned"]
    [b] = d.cli_json("burners")
    assert (b["state"], b["reason"]) == ("ready", "")


ROBOT = """#!/usr/bin/env python3
# A disc robot's client: the first disc fails its media check (exit 2), later ones get the
# image copied into OUT, with progress lines.
import shutil, sys
from pathlib import Path
image, label, name, out = sys.argv[1:5]
count = Path(out) / "count"
n = int(count.read_text()) if count.exists() else 0
count.write_text(str(n + 1))
if n == 0:
    print("REJECT: media check failed in bin 1", file=sys.stderr)
    sys.exit(2)
print("PROGRESS 0.5", flush=True)
shutil.copyfile(image, Path(out) / name)
Path(out, name + ".label").write_text(Path(label).read_text())
print("PROGRESS 1", flush=True)
"""

CHECK = """#!/usr/bin/env python3
import hashlib, sys
path, want = sys.argv[1:3]
got = hashlib.sha256(open(path, "rb").read()).hexdigest()
if got != want:
    print(f"read back {got}", file=sys.stderr)
    sys.exit(1)
"""


def test_a_command_burner_runs_the_robot_per_disc_and_its_reject_takes_the_next(
        dcmdisc_factory, tmp_path):
    out = tmp_path / "robot-out"
    out.mkdir()
    robot, check = tmp_path / "robot", tmp_path / "check"
    for path, text in ((robot, ROBOT), (check, CHECK)):
        path.write_text(text)
        path.chmod(0o755)
    d = jobs_server(dcmdisc_factory, f"""
[jobs]
poll_interval_ms = 100

[[burners]]
name = "robot"
kind = "command"
argv = ["{robot}", "{{image}}", "{{label}}", "{{name}}", "{out}"]
verify = ["{check}", "{out}/{{name}}", "{{sha256}}"]
timeout_secs = 120
""")
    collection = store_collection(d, tmp_path, n=2, pixel_bytes=100_000)
    job_id = int(d.cli("job", "create", str(collection)).stdout.strip())
    job = wait_state(d, job_id, {"done", "failed"})
    assert job["state"] == "done", job
    rejected, burned = job["discs"]
    assert (rejected["outcome"], rejected["reason"]) == ("rejected",
                                                         "REJECT: media check failed in bin 1")
    assert burned["outcome"] == "burned"
    copy = out / f"job{job_id}-vol1-copy1.iso"
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == burned["sha256"]
    label = (out / f"job{job_id}-vol1-copy1.iso.label").read_text()
    assert label == f"dcmdisc job {job_id} volume 1 copy 1\n"
    [b] = d.cli_json("burners")
    assert (b["kind"], b["state"], b["device"]) == ("command", "ready", str(robot))
