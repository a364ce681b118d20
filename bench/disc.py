#!/usr/bin/env python3
"""Disc production benchmark (issue 10): from the last C-STORE-RSP to a verified disc image.

In one run, on one generated CT series of N slices (bench/gen_ct.py), sent by dcmtk's storescu:

  dcmdisc   `dcmdisc serve` (job worker inside, folder burner); after storescu has its last
            C-STORE-RSP a job is queued (`dcmdisc job create`, or with --rule by an automatic
            rule after the quiet period) and the time runs until the job is `done`: composed,
            imaged, validated by our reader, copied to the folder burner and verified by
            re-reading the copy (SHA-256). The phases are read from the control database.
  dcmtk     over the same files: `dcmmkdir` + `genisoimage -iso-level 1` + a read-back hash
            of the image (`openssl dgst -sha256`, the fast one here); once with the files
            evicted from the page cache first (dcmdisc's archive writes with O_DIRECT, so its
            job reads them from disk), once with them cached.
  orthanc   Orthanc (Debian package) holding the same instances: GET /patients/{id}/media
            (a ZIP with a DICOMDIR), to the end of the download.

Prints each side's seconds and the ratios. A script, not a test: no assertion on time.

  python3 bench/disc.py [--count 1000] [--rounds 3] [--skip-orthanc] [--web-content]
"""

import argparse
import json
import resource
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("DCMDISC_BIN") or REPO / "target" / "release" / "dcmdisc")


def cpu_split(pid):
    """(user, system) CPU seconds of process `pid` so far (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` so far: the figure a shared machine's load
    changes less than wall time (system time still grows when the kernel has to reclaim
    page cache for the image, so it is printed apart too)."""
    return sum(cpu_split(pid))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"{what} did not listen on {port} within {timeout} s")


def storescu(port, ae, files_dir):
    # One association, every file; -xs would propose only Explicit LE: the default proposal
    # (Explicit and Implicit LE) is what a modality sends.
    subprocess.run(
        ["/usr/bin/storescu", "-aec", ae, "+sd", "127.0.0.1", str(port), str(files_dir)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def data(count):
    out = REPO / "bench" / "out" / f"disc-{count}"
    if not (out / ".complete").exists():
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run(
            [sys.executable, str(REPO / "bench" / "gen_ct.py"), "series", str(out / "ct"),
             "--count", str(count)],
            check=True,
        )
        # dcmmkdir wants names of at most 8 upper-case characters: hard links, made once.
        mk = out / "mk" / "DICOM"
        mk.mkdir(parents=True)
        for i, f in enumerate(sorted((out / "ct").iterdir())):
            os.link(f, mk / f"I{i:07d}")
        (out / ".complete").touch()
    return out


class Dcmdisc:
    def __init__(self, work, rule, web):
        self.work = work
        self.port = free_port()
        self.rule = rule
        cfg = work / "dcmdisc.toml"
        rules = ""
        if rule:
            rules = ('\n[[rules]]\nname = "bench"\ncalled_ae = "CDP_AUTO"\n'
                     'start = "quiet"\n')
        cfg.write_text(
            f'[storage_provider]\nae_titles = ["CDP_PRINTER", "CDP_AUTO"]\nport = {self.port}\n'
            f'bind_address = "127.0.0.1"\nmax_pdu_length = 131072\n'
            f'[archive]\ndata_dir = "{work / "data"}"\n'
            f'[jobs]\nworker = true\npoll_interval_ms = 50\n'
            + ("quiet_period_secs = 1\n" if rule else "")
            + f'[media]\nweb_content = {"true" if web else "false"}\n'
            + f'[[burners]]\nname = "folder"\nkind = "folder"\ndir = "{work / "discs"}"\n'
            + rules
        )
        self.cfg = cfg
        self.cli("remote", "add", "STORESCU", "--host", "127.0.0.1")
        self.log = open(work / "serve.log", "w")
        self.proc = subprocess.Popen(
            [str(BIN), "serve", "--config", str(cfg)],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        wait_port(self.port, self.proc, "dcmdisc serve")

    def cli(self, *args):
        r = subprocess.run([str(BIN), *args, "--config", str(self.cfg)], check=True,
                           capture_output=True, text=True)
        return r.stdout

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()

    def round(self, files):
        ae = "CDP_AUTO" if self.rule else "CDP_PRINTER"
        storescu(self.port, ae, files)
        t0 = time.monotonic()
        c0 = cpu_seconds(self.proc.pid)
        u0, s0 = cpu_split(self.proc.pid)
        db = self.work / "data" / "control.sqlite"
        if not self.rule:
            collections = json.loads(self.cli("patients", "--json"))
            coll = max(c["id"] for c in collections)
            job = int(self.cli("job", "create", str(coll)).split()[-1])
        seen, cpu = {}, {}
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        deadline = time.monotonic() + 300
        job_id = None if self.rule else job
        while time.monotonic() < deadline:
            row = None
            if job_id is None:
                row = conn.execute("SELECT id, state FROM job ORDER BY id DESC LIMIT 1").fetchone()
                if row:
                    job_id = row[0]
            else:
                row = conn.execute("SELECT id, state FROM job WHERE id = ?", (job_id,)).fetchone()
            if row:
                state = row[1]
                if state not in seen:
                    seen[state] = time.monotonic() - t0
                    cpu[state] = cpu_seconds(self.proc.pid) - c0
                if state in ("done", "failed", "cancelled"):
                    break
            time.sleep(0.005)
        conn.close()
        u1, s1 = cpu_split(self.proc.pid)
        cpu["user"], cpu["sys"] = u1 - u0, s1 - s0
        if "done" not in seen:
            sys.exit(f"dcmdisc job {job_id} did not finish: {seen}; see {self.work}/serve.log")
        return seen, cpu


def phases(seen):
    def at(*states):
        return min((seen[s] for s in states if s in seen), default=None)
    start = at("composing")
    validating = at("validating")
    # With the image linked into the folder burner, `burning` may last less than one poll
    # of the database: then burning+verifying starts where `verifying` was first seen.
    burning = at("burning", "verifying")
    done = seen["done"]
    return {
        "wait": start,
        "building": (validating or burning) - start,
        "validating": (burning - validating) if validating is not None else 0.0,
        "burn+verify": done - burning,
        "total": done,
    }


def evict(files_dir):
    """Drops the files' pages from the page cache: dcmdisc's archive writes with O_DIRECT, so
    its job reads the instances from disk; dcmtk then reads them from disk too."""
    for f in files_dir.iterdir():
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def dcmtk_round(data_dir, work, cold):
    if cold:
        evict(data_dir / "ct")
    out = work / "dcmtk"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    stage = out / "stage"
    shutil.copytree(data_dir / "mk", stage, copy_function=os.link)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(["dcmmkdir", "-Pgp", "-A", "+D", str(stage / "DICOMDIR"), "+id", str(stage),
                    "+r", "DICOM"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t1 = time.monotonic()
    img = out / "disc.iso"
    subprocess.run(["genisoimage", "-quiet", "-iso-level", "1", "-V", "DCMTK", "-o", str(img),
                    str(stage)], check=True)
    t2 = time.monotonic()
    subprocess.run(["openssl", "dgst", "-sha256", str(img)], check=True,
                   stdout=subprocess.DEVNULL)
    t3 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"dcmmkdir": t1 - t0, "genisoimage": t2 - t1, "hash": t3 - t2, "total": t3 - t0,
            "cpu": cpu}


class Orthanc:
    def __init__(self, work):
        self.work = work
        self.dicom = free_port()
        self.http = free_port()
        cfg = {
            "Name": "bench", "StorageDirectory": str(work / "orthanc-db"),
            "IndexDirectory": str(work / "orthanc-db"), "DicomAet": "ORTHANC",
            "DicomPort": self.dicom, "HttpPort": self.http, "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False, "DicomCheckCalledAet": False,
            "StorageCompression": False, "Plugins": [],
        }
        (work / "orthanc.json").write_text(json.dumps(cfg))
        self.log = open(work / "orthanc.log", "w")
        self.proc = subprocess.Popen(["Orthanc", str(work / "orthanc.json")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(self.http, self.proc, "Orthanc")
        wait_port(self.dicom, self.proc, "Orthanc DICOM")

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http}{path}", timeout=600) as r:
            return r.read()

    def round(self):
        (pid,) = json.loads(self.get("/patients"))
        t0 = time.monotonic()
        body = self.get(f"/patients/{pid}/media")
        t1 = time.monotonic()
        return {"media": t1 - t0, "bytes": len(body)}

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rule", action="store_true",
                    help="an automatic rule with the minimal quiet period queues the job")
    ap.add_argument("--skip-orthanc", action="store_true")
    ap.add_argument("--web-content", action="store_true",
                    help="discs with the IHE_PDI web content (JPEG renderings); off by default, "
                         "so both sides make the same DICOM File-set")
    a = ap.parse_args()
    print(f"dcmdisc [media] web_content = {str(a.web_content).lower()}")
    if not BIN.exists():
        subprocess.run(["cargo", "build", "--release", "-p", "dcmdisc"], cwd=REPO, check=True)
    d = data(a.count)
    files = d / "ct"
    subprocess.run(["cat"] + [str(p) for p in sorted(files.iterdir())], stdout=subprocess.DEVNULL,
                   check=True)
    ours, dcmtk, dcmtk_hot, orth = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="disc-bench.", dir="/tmp") as tmp:
        tmp = Path(tmp)
        for r in range(a.rounds):
            work = tmp / f"dcmdisc-{r}"
            work.mkdir()
            srv = Dcmdisc(work, a.rule, a.web_content)
            try:
                seen, cpu = srv.round(files)
                p = phases(seen)
                c = phases(cpu)
                p["cpu"] = c["total"]
                p["cpu_building"] = c["building"]
                p["cpu_validating"] = c["validating"]
                p["cpu_burn+verify"] = c["burn+verify"]
                p["cpu_user"], p["cpu_sys"] = cpu["user"], cpu["sys"]
            finally:
                srv.stop()
            ours.append(p)
            shutil.rmtree(work)
            t = dcmtk_round(d, tmp, cold=True)
            dcmtk.append(t)
            hot = dcmtk_round(d, tmp, cold=False)
            dcmtk_hot.append(hot)
            print(f"round {r + 1}: dcmdisc " + ", ".join(f"{k} {v:.3f}" for k, v in p.items())
                  + " s | dcmtk (cold) " + ", ".join(f"{k} {v:.3f}" for k, v in t.items())
                  + f" s | dcmtk (hot) total {hot['total']:.3f} s",
                  flush=True)
        if not a.skip_orthanc:
            work = tmp / "orthanc"
            work.mkdir()
            o = Orthanc(work)
            try:
                storescu(o.dicom, "ORTHANC", files)
                for r in range(a.rounds):
                    res = o.round()
                    orth.append(res)
                    print(f"round {r + 1}: orthanc /patients/{{id}}/media {res['media']:.3f} s "
                          f"({res['bytes']} bytes)", flush=True)
            finally:
                o.stop()
    med = lambda xs: statistics.median(xs)
    ot = med([p["total"] for p in ours])
    obuild = med([p["building"] for p in ours])
    oval = med([p["validating"] for p in ours])
    over = med([p["burn+verify"] for p in ours])
    owait = med([p["wait"] for p in ours])
    dt = med([t["total"] for t in dcmtk])
    print(f"\nN={a.count}, median of {a.rounds}:")
    print(f"dcmdisc  {ot:.3f} s from the last C-STORE-RSP to a verified image (queue {owait:.3f}, "
          f"building {obuild:.3f}, validating {oval:.3f}, burning+verifying {over:.3f})")
    print(f"dcmdisc  CPU (user+sys of the server) {med([p['cpu'] for p in ours]):.2f} s (building "
          f"{med([p['cpu_building'] for p in ours]):.2f}, validating "
          f"{med([p['cpu_validating'] for p in ours]):.2f}, burning+verifying "
          f"{med([p['cpu_burn+verify'] for p in ours]):.2f}; user "
          f"{med([p['cpu_user'] for p in ours]):.2f}, sys {med([p['cpu_sys'] for p in ours]):.2f})")
    print(f"dcmtk    {dt:.3f} s (dcmmkdir {med([t['dcmmkdir'] for t in dcmtk]):.3f}, genisoimage "
          f"{med([t['genisoimage'] for t in dcmtk]):.3f}, hash {med([t['hash'] for t in dcmtk]):.3f})"
          f"  -> dcmtk/dcmdisc = {dt / ot:.2f}x (files read from disk, as dcmdisc's job reads)")
    print(f"dcmtk    CPU (user+sys) cold {med([t['cpu'] for t in dcmtk]):.2f} s, hot "
          f"{med([t['cpu'] for t in dcmtk_hot]):.2f} s")
    dh = med([t["total"] for t in dcmtk_hot])
    print(f"dcmtk    {dh:.3f} s with the files in the page cache -> dcmtk/dcmdisc = {dh / ot:.2f}x")
    if orth:
        om = med([o["media"] for o in orth])
        print(f"orthanc  {om:.3f} s  -> orthanc/dcmdisc = {om / ot:.2f}x")


if __name__ == "__main__":
    main()
