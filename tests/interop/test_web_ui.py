"""The operator's pages in a real browser (issue 11 items 1 and 2; docs/web-ui.md): Debian's
chromium, headless, driven by playwright-core (tests/interop/web_ui/drive.mjs, with
executablePath /usr/bin/chromium: no browser download) against a real `dcmdisc serve` with a
simulator burner whose first disc is already written.

What it shows, without a single reload of the pages it watches: a patient appears on the
Patients page, and its association on the dashboard, while a pynetdicom association is still
open; storescu sends the rest and the counts follow; the burner is paused from the Burners
page and the dashboard names the action ("resume it"); "Make disc" shows the media plan and queues the job; the job page shows it held in
`burning` at the paused burner, then (resumed from another tab) its progress bar and state
move until `done`, with the written disc as a REJECT with its reason; a second job is
cancelled by another process while the page's event stream is cut and kept down, and the
page shows it once the stream reconnects. No page logs a console error or asks anything of
another origin. Screenshots of every page land in target/ui-screenshots/.

The script and this test talk over stdio (`WAIT <step> <json>` / one JSON line back). Every
wait on either side is bounded; nothing asserts a duration.
"""

from __future__ import annotations

import html.parser
import json
import os
import queue
import shutil
import subprocess
import threading
import urllib.request
from pathlib import Path

import pydicom
import pytest

from helpers import (CT_IMAGE, ELE, LOCALHOST, STORESCU, associate, context,
                     describe_failed_association, make_dataset, store_file, under_ci,
                     write_dataset)

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "web_ui"
CHROMIUM = Path("/usr/bin/chromium")
SHOTS = HERE.parent.parent / "target" / "ui-screenshots"
PATIENT = "WEB^UI"

SIMULATOR = """
[jobs]
poll_interval_ms = 100

[[burners]]
name = "sim"
kind = "simulator"
dir = "{dir}"
discs = ["written", "blank", "blank", "blank", "blank", "blank"]
speed_mb_s = 2
"""


def need_browser():
    """chromium and playwright-core (installed into web_ui/ from its package.json)."""
    missing = []
    if not CHROMIUM.exists():
        missing.append("chromium (apt-get install chromium)")
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        missing.append("node and npm")
    if not missing and not (DRIVER / "node_modules" / "playwright-core").is_dir():
        r = subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=DRIVER,
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            missing.append(f"playwright-core (npm install failed: {r.stderr[-2000:]})")
    if missing:
        if under_ci():
            pytest.fail("the browser test needs " + ", ".join(missing), pytrace=False)
        pytest.skip("needs " + ", ".join(missing))
    return node


class Driver:
    """The node script, its stdout read by a thread so every read has a timeout."""

    def __init__(self, node: str, base: str):
        env = dict(os.environ, BASE=base, SCREENSHOTS=str(SHOTS), PATIENT=PATIENT)
        self.proc = subprocess.Popen([node, str(DRIVER / "drive.mjs")], cwd=DRIVER, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue = queue.Queue()
        self.out: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def next(self, timeout: float = 300) -> tuple[str, str, dict]:
        """The next `WAIT step {...}` or `DONE {...}`; a FAIL or an exit fails the test."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError("the browser script said nothing for "
                                     f"{timeout} s:\n" + "\n".join(self.out))
            if line is None:
                raise AssertionError("the browser script ended:\n" + "\n".join(self.out))
            self.out.append(line)
            if line.startswith("WAIT "):
                _, step, data = line.split(" ", 2)
                return "WAIT", step, json.loads(data)
            if line.startswith("DONE "):
                return "DONE", "", json.loads(line[5:])
            if line.startswith("FAIL"):
                rest = "\n".join(self.out)
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
                raise AssertionError(f"the browser script failed:\n{rest}\n"
                                     + "\n".join(iter_rest(self.lines)))

    def answer(self, data: dict):
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(data) + "\n")
        self.proc.stdin.flush()

    def close(self):
        """Lets the script close the browser (which removes its temporary profile) before
        anything is killed: its stdin closed, a step it waits on fails and it cleans up."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


def iter_rest(lines: queue.Queue):
    while True:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            return
        if line is None:
            return
        yield line


def post_json(base: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def instance(src: Path, k: int) -> Path:
    ds = make_dataset(patient_name=PATIENT, patient_id="WEB-1", study_uid="2.25.6161",
                      series_uid="2.25.6161.1", pixel_bytes=400_000, InstanceNumber=str(k))
    return write_dataset(ds, src / f"{k}.dcm")


def test_the_pages_follow_arrivals_jobs_and_burners_live_and_resync_after_a_lost_stream(
        dcmdisc_factory, tmp_path):
    node = need_browser()
    d = dcmdisc_factory("webui", start=False, remotes=("STORESCU", "HOLDER"))
    with open(d.config_path, "a", encoding="utf-8") as f:
        f.write(SIMULATOR.format(dir=tmp_path / "sim"))
    d.start()
    base = d.web_url()
    src = tmp_path / "src"
    src.mkdir()
    files = [instance(src, k) for k in range(1, 6)]
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    drv = Driver(node, base)
    holder = None
    try:
        kind, step, data = drv.next()
        assert (kind, step) == ("WAIT", "hold-association-open")
        holder = associate(d, [context(CT_IMAGE, [ELE])], ae_title="HOLDER")
        assert holder.is_established, describe_failed_association(holder)
        assert store_file(holder, files[0]) == 0
        drv.answer({})

        kind, step, data = drv.next()
        assert (kind, step) == ("WAIT", "release-and-send-the-rest")
        assert store_file(holder, files[1]) == 0
        holder.release()
        r = subprocess.run([STORESCU, "-aet", "STORESCU", "-aec", d.ae_title, LOCALHOST,
                            str(d.port), *map(str, files[2:])],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        drv.answer({"instances": len(files)})

        kind, step, data = drv.next()
        assert (kind, step) == ("WAIT", "queue-a-second-job")
        [patient] = d.patients()
        second = post_json(base, "/api/jobs", {"collection": patient["id"], "burner": "sim"})
        drv.answer({"job": second["id"]})

        kind, step, data = drv.next()
        assert (kind, step) == ("WAIT", "cancel-it-while-the-stream-is-down")
        assert data["job"] == second["id"]
        d.cli("job", "cancel", str(second["id"]))
        drv.answer({})

        kind, _, done = drv.next()
        assert kind == "DONE"
        assert "done" in done["seen"]["states"]
        job = d.cli_json("job", "show", str(done["job"]))
        assert job["state"] == "done", job
        outcomes = [x["outcome"] for x in job["discs"]]
        assert outcomes == ["rejected", "burned", "burned"], job["discs"]
        assert d.cli_json("job", "show", str(second["id"]))["state"] == "cancelled"
    finally:
        if holder is not None and holder.is_alive():
            holder.abort()
        drv.close()
    shots = sorted(p.name for p in SHOTS.glob("*.png"))
    for name in ("dashboard", "dashboard-receiving", "dashboard-alert", "patients", "make-disc-plan", "job-done",
                 "jobs", "burners", "store-log", "remote-aes", "configuration"):
        assert f"{name}.png" in shots, shots
    # Every page at a laptop's and a tablet's size (drive.mjs step 6, with its label, heading
    # and focus checks).
    for name in ("dashboard", "patients", "make-disc", "jobs", "job", "burners", "store-log",
                 "remote-aes", "configuration"):
        for viewport in ("1366x768", "tablet-800x1280"):
            assert f"{name}-{viewport}.png" in shots, shots


class PatientCells(html.parser.HTMLParser):
    """The text of the first cell (the name) of each patient row of the Patients page."""

    def __init__(self):
        super().__init__()
        self.names: list[str] = []
        self._in_row = self._in_name = False
        self._text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and "data-collection" in attrs:
            self._in_row = True
        elif tag == "td" and self._in_row and attrs.get("class") == "name":
            self._in_name, self._text = True, ""
        elif tag == "span" and self._in_name:
            # The "pinned" tag after the name.
            self.names.append(self._text)
            self._in_name = False

    def handle_endtag(self, tag):
        if tag == "td" and self._in_name:
            self.names.append(self._text)
            self._in_name = False
        elif tag == "tr":
            self._in_row = False

    def handle_data(self, data):
        if self._in_name:
            self._text += data


NAMES = [
    (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎=やまだ^たろう"),
    (["", "ISO 2022 IR 149"], "Hong^Gildong=洪^吉洞=홍^길동"),
    ("GB18030", "Wang^XiaoDong=王^小东="),
    ("ISO_IR 192", "Gökçe^Ünal"),
    ("ISO_IR 100", "Buc^Jérôme"),
    ("ISO_IR 192", "<script>alert(1)</script>^Évil&Co"),
]


def test_patient_names_show_as_pydicom_decodes_them(dcmdisc_factory, tmp_path):
    """Names in ISO 2022 IR 87 and IR 149, GB18030, UTF-8 and ISO_IR 100 (and one that is
    markup), encoded by pydicom and sent by storescu: the Patients page shows each as pydicom
    reads it back from the file (the page's HTML parsed and unescaped by Python's parser)."""
    d = dcmdisc_factory("webui-names")
    base = d.web_url()
    src = tmp_path / "src"
    src.mkdir()
    files, want = [], []
    for k, (charset, name) in enumerate(NAMES):
        ds = make_dataset(patient_name=name, patient_id=f"CS-{k}", SpecificCharacterSet=charset)
        path = write_dataset(ds, src / f"{k}.dcm")
        files.append(path)
        want.append(str(pydicom.dcmread(path).PatientName))
    r = subprocess.run([STORESCU, "-aet", "STORESCU", "-aec", d.ae_title, LOCALHOST,
                        str(d.port), *map(str, files)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    with urllib.request.urlopen(base + "/patients", timeout=30) as resp:
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        page = resp.read().decode("utf-8")
    cells = PatientCells()
    cells.feed(page)
    assert sorted(cells.names) == sorted(want), (cells.names, want)
    assert "<script>alert" not in page
