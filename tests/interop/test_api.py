"""The JSON HTTP API and its event stream (issue 10, item 7; docs/api.md), against a real
`dcmdisc serve`: instances sent by dcmtk's storescu, a disc job created through the API and
made by the server's worker on a simulator burner, its states read from `GET /api/events`
in order (each change starting where the one before ended), a stream resumed with
Last-Event-ID getting the rest with no repeat, a pynetdicom association listed with its
instance count while it is open, the listings equal to the CLI's, and a non-loopback web
address refused at start. Every socket has a timeout, every loop a bound.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from helpers import (CT_IMAGE, ELE, LOCALHOST, OUR_AE, STORESCU, Dcmdisc, association, context,
                     make_dataset, port_open, store_file, wait_until, write_config, write_dataset)

SIMULATOR = """
[jobs]
poll_interval_ms = 100

[[burners]]
name = "sim"
kind = "simulator"
dir = "{dir}"
discs = ["written", "blank", "blank", "blank", "blank", "blank"]
"""


# --------------------------------------------------------------------------- HTTP


def call(base: str, method: str, path: str, body=None, timeout: float = 30):
    """(status, JSON) of one request; error statuses are answers too."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def get(base: str, path: str):
    status, value = call(base, "GET", path)
    assert status == 200, (path, status, value)
    return value


class EventStream:
    """A `text/event-stream` reader over one HTTP connection with a socket timeout."""

    def __init__(self, base: str, *, last_event_id=None, after=None, timeout: float = 30):
        url = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        path = "/api/events" + (f"?after={after}" if after is not None else "")
        self.conn.request("GET", path, headers=headers)
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.read()
        assert self.resp.getheader("Content-Type") == "text/event-stream"

    def next(self, timeout: float = 60) -> dict:
        """The next event; keep-alive comments (every 15 s) do not extend `timeout`."""
        deadline = time.monotonic() + timeout
        event, ident, data = "message", None, []
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"no event within {timeout} s")
            raw = self.resp.readline()
            if not raw:
                raise AssertionError("the event stream ended")
            line = raw.decode("utf-8").rstrip("\r\n")
            if line == "":
                if data:
                    return {"event": event, "id": ident, "data": json.loads("\n".join(data))}
                event, ident, data = "message", None, []
                continue
            if line.startswith(":"):
                continue  # keep-alive comment
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "id":
                ident = value
            elif field == "data":
                data.append(value)

    def until(self, predicate, max_events: int = 5000, timeout: float = 100) -> list[dict]:
        out = []
        deadline = time.monotonic() + timeout
        while len(out) < max_events and time.monotonic() < deadline:
            out.append(self.next(timeout=max(0.1, deadline - time.monotonic())))
            if predicate(out[-1]):
                return out
        raise AssertionError(f"no matching event among {len(out)}: {out[-20:]}")

    def close(self):
        self.conn.close()


def durable(events: list[dict]) -> list[dict]:
    return [e for e in events if e["event"] in ("job", "disc")]


def done(job_id: int):
    return lambda e: e["event"] == "job" and e["data"]["job"] == job_id and \
        e["data"]["state"] in ("done", "failed", "cancelled")


# --------------------------------------------------------------------------- fixtures


def api_server(factory, tmp_path: Path) -> tuple[Dcmdisc, str]:
    d = factory("api", start=False)
    with open(d.config_path, "a", encoding="utf-8") as f:
        f.write(SIMULATOR.format(dir=tmp_path / "sim"))
    d.start()
    return d, d.web_url()


def store_collection(d: Dcmdisc, tmp_path: Path, n: int = 3) -> int:
    """storescu sends n CT instances of one patient (400 kB each); answers the collection id."""
    src = tmp_path / "src"
    src.mkdir()
    files = []
    for k in range(n):
        ds = make_dataset(patient_name="API^TEST", patient_id="API-1", study_uid="2.25.5151",
                          series_uid="2.25.5151.1", pixel_bytes=400_000, InstanceNumber=str(k + 1))
        files.append(write_dataset(ds, src / f"{k}.dcm"))
    r = subprocess.run([STORESCU, "-aet", "STORESCU", "-aec", d.ae_title, LOCALHOST, str(d.port),
                        *map(str, files)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    [patient] = d.patients()
    return patient["id"]


# --------------------------------------------------------------------------- tests


def test_a_job_created_through_the_api_streams_its_states_in_order_and_resumes(dcmdisc_factory, tmp_path):
    d, base = api_server(dcmdisc_factory, tmp_path)
    collection = store_collection(d, tmp_path)
    patients = get(base, "/api/patients")
    assert patients == d.patients()
    assert [(p["id"], p["instances"], p["studies"], p["series"]) for p in patients] == [(collection, 3, 1, 1)]

    stream = EventStream(base)
    ready = stream.next()
    assert ready["event"] == "ready" and ready["id"] == str(ready["data"]["last_event_id"])

    status, job = call(base, "POST", "/api/jobs",
                       {"collection": collection, "copies": 1, "burner": "sim", "capacity_mb": 1})
    assert status == 201, job
    job_id = job["id"]
    assert job["state"] == "queued"
    events = stream.until(done(job_id))
    # The burners a poll's disc events touched follow that poll's job and disc events, so the
    # last disc's burner state may come after `done`.
    last_disc = max(i for i, e in enumerate(events) if e["event"] == "disc")
    if not any(e["event"] == "burner" for e in events[last_disc:]):
        events += stream.until(lambda e: e["event"] == "burner", max_events=50)
    stream.close()
    changes = durable(events)
    assert all(e["data"]["job"] == job_id for e in changes)
    ids = [int(e["id"]) for e in changes]
    assert ids == sorted(set(ids)) and ids[0] > int(ready["id"])
    assert all(e["data"]["id"] == int(e["id"]) for e in changes)

    states = [(e["data"]["previous"], e["data"]["state"]) for e in changes if e["event"] == "job"]
    assert states[0] == (None, "queued")
    for before, after in zip(states, states[1:]):
        assert after[0] == before[1], f"a state was skipped: {states}"
    # Each volume is imaged then validated, each disc burned then verified.
    names = " ".join(s for _, s in states)
    assert re.fullmatch(r"queued composing (imaging validating )+(burning verifying )+done", names), names

    final = get(base, f"/api/jobs/{job_id}")
    assert final == d.cli_json("job", "show", str(job_id))
    assert final["volumes"] >= 2, "the collection was meant to span volumes"
    assert final["state"] == "done" and final["progress"] == 1.0
    discs = [(e["data"]["volume"], e["data"]["copy"], e["data"]["outcome"])
             for e in changes if e["event"] == "disc"]
    # The written disc on top of the stack is rejected, then each volume is burned once.
    assert discs[:2] == [(1, 1, "burning"), (1, 1, "rejected")], discs
    finished = [x for x in discs if x[2] != "burning"]
    assert finished == [(x["volume"], x["copy"], x["outcome"]) for x in final["discs"]]
    reasons = [e["data"]["reason"] for e in changes if e["event"] == "disc"]
    assert "already written" in reasons[1], reasons
    burner = [e for e in events if e["event"] == "burner"][-1]["data"]
    assert (burner["name"], burner["state"]) == ("sim", "ready")
    assert [x["outcome"] for x in burner["discs"]][:len(final["discs"])] == \
        [x["outcome"] for x in final["discs"]]

    # A stream lost after the third change and resumed from there: the rest, nothing twice.
    third = changes[2]["id"]
    resumed = EventStream(base, last_event_id=third)
    again = resumed.next()
    assert again["event"] == "ready" and again["id"] == third
    rest = durable(resumed.until(done(job_id)))
    resumed.close()
    assert rest == changes[3:]
    # From the first event on (?after=0): all of them, as the live stream had them.
    whole = EventStream(base, after=0)
    everything = durable(whole.until(done(job_id)))
    whole.close()
    assert everything == changes
    # The CLI reads the same log.
    assert d.cli_json("events", "--after", "0") == [e["data"] for e in changes]

    # A done job cannot be cancelled; an unknown one is not found.
    status, err = call(base, "POST", f"/api/jobs/{job_id}/cancel")
    assert status == 409 and "done" in err["error"], err
    status, err = call(base, "GET", "/api/jobs/99999")
    assert status == 404 and err == {"error": "no job 99999"}
    assert get(base, "/api/jobs") == d.cli_json("jobs")
    assert get(base, "/api/burners") == d.cli_json("burners")


def test_an_open_association_is_listed_with_its_instance_count(dcmdisc_factory, tmp_path):
    d = dcmdisc_factory("assoc")
    base = d.web_url()
    assert get(base, "/api/associations") == []
    paths = [write_dataset(make_dataset(patient_id=f"A-{k}"), tmp_path / f"{k}.dcm") for k in range(2)]
    stream = EventStream(base)
    assert stream.next()["event"] == "ready"
    with association(d, [context(CT_IMAGE, [ELE])]) as assoc:
        for p in paths:
            assert store_file(assoc, p) == 0
        now = {}

        def counted():
            now["list"] = get(base, "/api/associations")
            return len(now["list"]) == 1 and now["list"][0]["instances"] == 2

        assert wait_until(counted, timeout=30, interval=0.1), now
        [a] = now["list"]
        assert (a["calling_ae"], a["called_ae"], a["failures"]) == ("PYNETDICOM", OUR_AE, 0)
        assert a["peer"].startswith("127.0.0.1:")
        assert a["bytes"] >= sum(Path(p).stat().st_size for p in paths) - 2 * 1024
        assert a["since"].endswith("Z")
    # Released: gone from the list; its opening, counts and release were streamed.
    assert wait_until(lambda: get(base, "/api/associations") == [], timeout=30, interval=0.1)
    seen = stream.until(lambda e: e["event"] == "association" and e["data"]["change"] == "closed")
    stream.close()
    mine = [e["data"] for e in seen if e["event"] == "association"]
    assert mine[0]["change"] == "opened" and mine[0]["association"]["calling_ae"] == "PYNETDICOM"
    assert mine[-1]["end"] == "released" and mine[-1]["association"]["instances"] == 2
    assert all(m["association"]["id"] == mine[0]["association"]["id"] for m in mine)

    log = get(base, "/api/log?calling_ae=PYNETDICOM&status=success")
    assert [e["status"] for e in log] == ["0000", "0000"]
    assert log == d.cli_json("log", "--calling-ae", "PYNETDICOM", "--status", "success")
    status, err = call(base, "GET", "/api/log?status=fine")
    assert status == 400 and "status" in err["error"]


@pytest.mark.parametrize("address", ["0.0.0.0", "::"])
def test_a_web_address_off_loopback_is_refused_at_start(tmp_path, address):
    d = Dcmdisc(tmp_path)
    d.config["web"]["bind_address"] = address
    write_config(d.config_path, d.config)
    try:
        r = subprocess.run(d.serve_command(), capture_output=True, text=True, errors="replace", timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("dcmdisc serve with a non-loopback [web] bind_address did not exit within 15 s")
    assert r.returncode != 0
    assert "[web] bind_address" in r.stderr and "login" in r.stderr, r.stderr
    assert not port_open(d.port), "the DICOM port listens although the start was refused"
