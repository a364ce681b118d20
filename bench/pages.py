#!/usr/bin/env python3
"""The operator pages' benchmark (issue 11 item 7): a control database with 1,000 patient
collections (3 instances each) and 10,000 disc jobs (with their discs and events' worth of
rows), written in SQL that matches the schema the server itself created, then `dcmdisc
serve` on it and each page fetched over plain HTTP on 127.0.0.1: time to the first byte of
the answer and to its last byte (the whole HTML; the page's one script and style sheet are
cached after the first page). Median and worst of --runs fetches; prints a table. No verdict:
the figures go to docs/performance.md with the machine's load at the time.

    python3 bench/pages.py                    # 1,000 collections, 10,000 jobs, 7 runs a page
    python3 bench/pages.py --collections 100 --jobs 1000 --runs 3
"""

from __future__ import annotations

import argparse
import http.client
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "interop"))

import helpers  # noqa: E402

STATES = [("done", 0.80), ("failed", 0.08), ("cancelled", 0.07), ("queued", 0.03), ("waiting", 0.02)]


def config(data: Path, port: int) -> dict:
    cfg = helpers.base_config(port, data)
    cfg["archive"]["durable"] = False
    # The worker would start on the queued jobs: the benchmark measures the pages alone.
    cfg["jobs"] = {"worker": False}
    return cfg


def burner(data: Path) -> str:
    return (f'\n[[burners]]\nname = "sim"\nkind = "simulator"\ndir = "{data.parent / "sim"}"\n'
            'discs = ["blank", "blank", "blank", "blank"]\n')


def fill(db: Path, collections: int, jobs: int) -> None:
    con = sqlite3.connect(db)
    cur = con.cursor()
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    cur.execute("BEGIN")
    for c in range(1, collections + 1):
        name = f"PATIENT^NUMBER{c:04d}".encode()
        cur.execute("INSERT INTO patient (id, patient_name, patient_id, patient_id_generated, charset)"
                    " VALUES (?, ?, ?, 0, 'ISO_IR 192')", (c, name, f"P{c:05d}"))
        for k in range(1, 4):
            # The start-up recovery drops index rows whose file is missing: a stand-in file
            # (the listings read the index, not the files).
            f = db.parent / "archive" / str(c) / f"{k}.dcm"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(b"DICM")
            cur.execute(
                "INSERT INTO instance (sop_instance_uid, sop_class_uid, transfer_syntax, patient,"
                " patient_name, charset, patient_id, patient_id_generated, study_instance_uid,"
                " series_instance_uid, instance_number, size, path, received, calling_ae, keys)"
                " VALUES (?, '1.2.840.10008.5.1.4.1.1.2', '1.2.840.10008.1.2.1', ?, ?, 'ISO_IR 192',"
                " ?, 0, ?, ?, ?, 530000, ?, ?, 'CT1', X'')",
                (f"2.25.{c}.{k}", c, name, f"P{c:05d}", f"2.25.{c}", f"2.25.{c}.0", str(k),
                 f"archive/{c}/{k}.dcm", now))
    bounds, acc = [], 0.0
    for state, share in STATES:
        acc += share
        bounds.append((acc * jobs, state))
    for j in range(1, jobs + 1):
        state = next(s for b, s in bounds if j <= b)
        collection = (j - 1) % collections + 1
        err = "the burner rejected every disc" if state == "failed" else None
        starts = int(time.time() * 1000) + 60_000 if state == "waiting" else None
        cur.execute(
            "INSERT INTO job (id, collection, state, priority, copies, burner, error, next_action,"
            " stage, volumes, created, updated, start_mode, starts_at_ms)"
            " VALUES (?, ?, ?, 'normal', 1, 'sim', ?, ?, '', 1, ?, ?, ?, ?)",
            (j, collection, state, err, "load discs" if err else None, now, now,
             "quiet" if starts else None, starts))
        if state in ("done", "failed"):
            cur.execute("INSERT INTO job_disc (job, volume, copy, burner, outcome, reason, time)"
                        " VALUES (?, 1, 1, 'sim', ?, ?, ?)",
                        (j, "burned" if state == "done" else "rejected",
                         "" if state == "done" else "written disc", now))
    for i in range(5000):
        cur.execute("INSERT INTO store_log (time, status, calling_ae, peer, sop_class_uid,"
                    " sop_instance_uid, reason) VALUES (?, ?, 'CT1', '127.0.0.1:1', '1.2', ?, ?)",
                    (now, 0 if i % 50 else 42752, f"2.25.9.{i}", "" if i % 50 else "cannot parse"))
    con.commit()
    con.close()


def fetch(port: int, path: str) -> tuple[float, float, int, int]:
    conn = http.client.HTTPConnection(helpers.LOCALHOST, port, timeout=60)
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Accept": "text/html"})
    resp = conn.getresponse()  # returns once the status line and headers arrived
    t1 = time.perf_counter()
    body = resp.read()
    t2 = time.perf_counter()
    conn.close()
    return (t1 - t0) * 1000, (t2 - t0) * 1000, resp.status, len(body)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collections", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    binary = helpers.dcmdisc_bin()
    with tempfile.TemporaryDirectory(prefix="dcmdisc-bench-pages-") as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        cfg_path = helpers.write_config(tmp / "dcmdisc.toml", config(data, helpers.free_port()))
        with open(cfg_path, "a") as f:
            f.write(burner(data))
        # The schema: the server's own, made by the binary, then filled.
        subprocess.run([str(binary), "--config", str(cfg_path), "remote", "add", "CT1", "--host", "any"],
                       check=True, capture_output=True)
        db = data / "control.sqlite"
        t = time.perf_counter()
        fill(db, args.collections, args.jobs)
        print(f"filled {db.name}: {args.collections} collections, {args.jobs} jobs "
              f"in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        log = open(tmp / "serve.log", "w")
        web_port = helpers.free_port()
        proc = subprocess.Popen([str(binary), "--config", str(cfg_path), "serve", "--web-port", str(web_port)],
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            if not helpers.wait_until(lambda: helpers.port_open(web_port), 30):
                print((tmp / "serve.log").read_text(), file=sys.stderr)
                return 1
            body = http.client.HTTPConnection(helpers.LOCALHOST, web_port, timeout=60)
            body.request("GET", "/patients")
            text = body.getresponse().read().decode()
            if "PATIENT^NUMBER" not in text:
                print(f"/patients does not list the collections:\n{text[:2000]}", file=sys.stderr)
            pages = ["/", "/patients", "/jobs", "/jobs?page=100", f"/jobs/{args.jobs}", "/jobs/1", "/burners", "/log",
                     "/remotes", "/config", "/patients/1/disc?copies=1&profile=STD-GEN-CD", "/static/app.js"]
            print(f"{'page':32} {'status':>6} {'KiB':>7} {'TTFB median':>12} {'worst':>7} "
                  f"{'full median':>12} {'worst':>7}  (ms)")
            for page in pages:
                fetch(web_port, page)  # warm: the first fetch of the run pays for SQLite's cache
                got = [fetch(web_port, page) for _ in range(args.runs)]
                ttfb = [g[0] for g in got]
                full = [g[1] for g in got]
                print(f"{page:32} {got[0][2]:>6} {got[0][3] / 1024:>7.0f} {statistics.median(ttfb):>12.1f} "
                      f"{max(ttfb):>7.1f} {statistics.median(full):>12.1f} {max(full):>7.1f}")
            cpu = os.times()
            print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
                  f"this script's CPU {cpu.user + cpu.system:.1f} s", file=sys.stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
