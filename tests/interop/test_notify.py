"""Notifications (issue 11, item 4): `dcmdisc serve` tells a webhook (a Python HTTP receiver)
and a mailbox (aiosmtpd, a real SMTP server) on 127.0.0.1 of a failed job, a paused or empty
burner, the disk over its high-water mark and refused stores; a receiver that is down gets
the notice once it is up, a restart does not repeat it, and a storm of refused stores is one
notice with a count. `dcmdisc notify test` reaches every target and names what failed.
"""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from pynetdicom import AE

from helpers import CT_IMAGE, ELE, STORESCU, free_port, make_dataset, wait_until, write_dataset

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")


class Receiver:
    """A webhook receiver: records each POST's headers and JSON body."""

    def __init__(self, port: int | None = None, status: int = 200):
        self.port = port or free_port()
        self.status = status
        self.posts: list[dict] = []
        self.headers: list[dict] = []
        self.server = None

    def start(self) -> "Receiver":
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                if outer.status == 200:
                    outer.posts.append(json.loads(body))
                    outer.headers.append({k.lower(): v for k, v in self.headers.items()})
                self.send_response(outer.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no" if outer.status != 200 else b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def of_kind(self, kind: str) -> list[dict]:
        return [p for p in self.posts if p["kind"] == kind]


class Mailbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    box = Mailbox()
    port = free_port()
    c = aiosmtpd_controller.Controller(box, hostname="127.0.0.1", port=port)
    c.start()
    box.port = port
    yield box
    c.stop()


def server_with(factory, extra_toml: str, name: str = "notify"):
    d = factory(name, start=False)
    with open(d.config_path, "a", encoding="utf-8") as f:
        f.write("\n" + extra_toml + "\n")
    return d


def store(d, tmp_path: Path, n: int, pixel_bytes: int, sub: str = "src", check: bool = True):
    src = tmp_path / sub
    src.mkdir()
    files = []
    for k in range(n):
        ds = make_dataset(patient_name="NOTIFY^PATIENT", patient_id="NOTE-1", study_uid="2.25.777",
                          series_uid="2.25.777.1", pixel_bytes=pixel_bytes, InstanceNumber=str(k + 1))
        files.append(write_dataset(ds, src / f"{k}.dcm"))
    r = subprocess.run([STORESCU, "-aet", "STORESCU", "-aec", d.ae_title, "127.0.0.1", str(d.port),
                        *map(str, files)], capture_output=True, text=True, timeout=120)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def failing_job(d, tmp_path: Path) -> int:
    """A job whose second copy finds the simulator's one-disc stack empty: it fails."""
    store(d, tmp_path, n=2, pixel_bytes=50_000)
    [p] = d.patients()
    job_id = int(d.cli("job", "create", str(p["id"]), "--copies", "2").stdout.strip())
    assert wait_until(lambda: d.cli_json("job", "show", str(job_id))["state"] == "failed",
                      timeout=120, interval=0.2), d.cli_json("job", "show", str(job_id))
    return job_id


def sim_toml(tmp_path: Path) -> str:
    return f"""
[jobs]
poll_interval_ms = 100

[[burners]]
name = "sim"
kind = "simulator"
dir = "{tmp_path / 'sim'}"
discs = ["blank"]
"""


def test_a_failed_job_posts_the_webhook_and_sends_the_mail(dcmdisc_factory, tmp_path, smtp):
    hook = Receiver().start()
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    d = server_with(dcmdisc_factory, sim_toml(tmp_path) + f"""
[[notify]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:{hook.port}/dcmdisc"
bearer_token_file = "{token}"
include_patient = true

[[notify]]
name = "mail"
kind = "email"
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from = "dcmdisc <dcmdisc@example.org>"
to = ["operator@example.org"]
events = ["job_failed"]
""")
    d.start()
    try:
        job_id = failing_job(d, tmp_path)
        assert wait_until(lambda: hook.of_kind("job_failed") and smtp.messages, timeout=60), \
            (hook.posts, smtp.messages, d.log_text()[-3000:])
        [n] = hook.of_kind("job_failed")
        assert n["job"] == job_id and n["burner"] == "sim"
        assert n["id"] == f"dcmdisc-event-{n['event_id']}" and n["count"] == 1
        assert "has no disc to take" in n["summary"], n
        assert n["action"] == f"load discs into sim, then `dcmdisc job retry {job_id}`"
        assert n["patient"] == {"name": "NOTIFY^PATIENT", "id": "NOTE-1"}
        assert hook.headers[0]["authorization"] == "Bearer s3cret-token"
        assert hook.headers[0]["content-type"] == "application/json"
        # The burner's own notice: out of discs.
        assert wait_until(lambda: hook.of_kind("burner_out_of_discs"), timeout=60), hook.posts
        [m] = smtp.messages
        assert m["To"] == "operator@example.org"
        assert m["Subject"].startswith(f"dcmdisc: Disc job {job_id} failed:"), m["Subject"]
        body = m.get_content()
        assert f"What to do: load discs into sim, then `dcmdisc job retry {job_id}`" in body
        assert f"Notice id: {n['id']}" in body
        # The mail target wants job failures only, and patient data only when asked.
        assert "Patient" not in body
    finally:
        d.stop()
        hook.stop()


def test_a_receiver_down_then_up_gets_the_notice_once_across_restarts(dcmdisc_factory, tmp_path):
    port = free_port()
    hook = Receiver(port)
    d = server_with(dcmdisc_factory, sim_toml(tmp_path) + f"""
[[notify]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:{port}/"
events = ["job_failed", "burner"]
""")
    d.start()
    failing_job(d, tmp_path)
    # Nothing listens: the notice fails (connection refused) and is retried.
    assert wait_until(lambda: "notice not delivered" in d.log_text()[d.log_start:],
                      timeout=60), d.log_text()[-3000:]
    assert "connection refused" in d.log_text()[d.log_start:]
    # The operator's dashboard shows the failing target as an alert.
    import urllib.request
    page = urllib.request.urlopen(d.web_url() + "/", timeout=10).read().decode()
    assert "Notifications to hook are failing" in page and "connection refused" in page, page[-3000:]
    d.stop()
    hook.start()
    try:
        d.start()
        assert wait_until(lambda: hook.of_kind("job_failed") and hook.of_kind("burner_out_of_discs"),
                          timeout=60), (hook.posts, d.log_text()[-3000:])
        d.stop()
        d.start()
        # A later event is told after a restart: by then every earlier one has been passed.
        d.cli("burner", "pause", "sim", "--reason", "new stack")
        assert wait_until(lambda: hook.of_kind("burner_paused"), timeout=60), hook.posts
        assert hook.of_kind("burner_paused")[0]["summary"] == "Burner sim is paused: new stack."
        ids = [p["id"] for p in hook.posts]
        assert len(ids) == len(set(ids)) == 3, hook.posts
    finally:
        d.stop()
        hook.stop()


def test_notify_test_reports_each_target(dcmdisc_factory, tmp_path, smtp):
    hook = Receiver().start()
    bad = Receiver(status=503).start()
    closed = free_port()
    d = server_with(dcmdisc_factory, f"""
[[notify]]
name = "ok"
kind = "webhook"
url = "http://127.0.0.1:{hook.port}/"

[[notify]]
name = "busy"
kind = "webhook"
url = "http://127.0.0.1:{bad.port}/"

[[notify]]
name = "nobody"
kind = "webhook"
url = "http://127.0.0.1:{closed}/"

[[notify]]
name = "mail"
kind = "email"
host = "127.0.0.1"
port = {smtp.port}
security = "none"
from = "dcmdisc@example.org"
to = ["a@example.org", "b@example.org"]

[[notify]]
name = "notls"
kind = "webhook"
url = "https://127.0.0.1:{hook.port}/"

[[notify]]
name = "nostarttls"
kind = "email"
host = "127.0.0.1"
port = {smtp.port}
from = "dcmdisc@example.org"
to = ["a@example.org"]
""")
    try:
        r = d.cli("notify", "test", check=False)
        out = r.stdout
        assert r.returncode != 0 and "4 of 6 targets failed" in r.stderr, (out, r.stderr)
        assert "ok (webhook): sent: HTTP 200" in out, out
        assert "busy (webhook): FAILED: webhook" in out and "HTTP 503" in out, out
        assert "nobody (webhook): FAILED:" in out and "connection refused" in out, out
        assert "mail (email): sent: SMTP 250" in out, out
        # HTTPS to a plain HTTP server: a TLS error, named as such.
        assert "notls (webhook): FAILED: webhook https://" in out and "TLS" in out, out
        # STARTTLS required, but aiosmtpd (without TLS) does not offer it: the SMTP error.
        assert "nostarttls (email): FAILED: SMTP" in out, out
        [p] = hook.posts
        assert p["kind"] == "test"
        [m] = smtp.messages
        assert m["To"] == "a@example.org, b@example.org"
    finally:
        hook.stop()
        bad.stop()


def test_the_disk_over_its_high_water_mark_is_told_once(dcmdisc_factory, tmp_path):
    hook = Receiver().start()
    d = server_with(dcmdisc_factory, f"""
[retention]
high_water_percent = 1
interval_secs = 1

[[notify]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:{hook.port}/"
""")
    d.start()
    try:
        assert wait_until(lambda: hook.of_kind("disk_high_water"), timeout=60), d.log_text()[-2000:]
        # Several more sweeps, one notice: the event is written when the mark is crossed.
        assert wait_until(lambda: d.log_text()[d.log_start:].count("retention: disk") >= 3,
                          timeout=60)
        d.stop()
        d.start()
        assert wait_until(lambda: d.log_text()[d.log_start:].count("retention: disk") >= 2,
                          timeout=60)
        assert len(hook.of_kind("disk_high_water")) == 1, hook.posts
        [n] = hook.of_kind("disk_high_water")
        assert "high-water mark (1%)" in n["summary"] and "dcmdisc retention" in n["action"], n
    finally:
        d.stop()
        hook.stop()


def test_a_storm_of_refused_stores_is_one_notice_with_a_count(dcmdisc_factory, tmp_path):
    hook = Receiver().start()
    d = server_with(dcmdisc_factory, f"""
[[notify]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:{hook.port}/"
coalesce_secs = 10
""")
    # The archive's files on a 1 MiB tmpfs, the database beside it on the real disk: stores
    # fail with A700 (no space) while the event log can still be written.
    archive = d.data_dir / "archive"
    archive.mkdir(parents=True)
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(archive)],
                       capture_output=True, text=True)
    if m.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {m.stderr.strip()}")
    try:
        d.start()
        # pynetdicom goes on after a failure (storescu halts): 30 stores on one association.
        ae = AE(ae_title="PYNETDICOM")
        ae.add_requested_context(CT_IMAGE, ELE)
        assoc = ae.associate("127.0.0.1", d.port, ae_title=d.ae_title)
        assert assoc.is_established
        statuses = []
        for k in range(30):
            ds = make_dataset(patient_name="STORM^PATIENT", patient_id="STORM-1",
                              study_uid="2.25.778", series_uid="2.25.778.1", pixel_bytes=200_000,
                              InstanceNumber=str(k + 1))
            ds.file_meta.TransferSyntaxUID = ELE
            statuses.append(assoc.send_c_store(ds).Status)
        assoc.release()
        refused = [e for e in d.log() if e["status"].startswith("A7")]
        assert len(refused) >= 20 and statuses.count(0xA700) == len(refused), statuses
        assert wait_until(lambda: hook.of_kind("store_refused"), timeout=90), d.log_text()[-3000:]
        [n] = hook.of_kind("store_refused")
        assert n["count"] == len(refused), (n, len(refused))
        assert f"{len(refused)} instances could not be stored" in n["summary"], n
        assert "disk full" in n["summary"], n
    finally:
        d.stop()
        hook.stop()
        subprocess.run(["umount", "-l", str(archive)], capture_output=True)


def test_the_mail_logs_in_with_the_password_from_its_file(dcmdisc_factory, tmp_path):
    box = Mailbox()
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult
        logins.append((mechanism, auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"pa55-word")

    port = free_port()
    c = aiosmtpd_controller.Controller(box, hostname="127.0.0.1", port=port,
                                       authenticator=authenticator, auth_require_tls=False)
    c.start()
    try:
        secret = tmp_path / "smtp-password"
        secret.write_text("pa55-word\n")
        wrong = tmp_path / "wrong-password"
        wrong.write_text("nope\n")
        d = server_with(dcmdisc_factory, f"""
[[notify]]
name = "mail"
kind = "email"
host = "127.0.0.1"
port = {port}
security = "none"
user = "dcmdisc"
password_file = "{secret}"
from = "dcmdisc@example.org"
to = ["a@example.org"]

[[notify]]
name = "badlogin"
kind = "email"
timeout_secs = 3
host = "127.0.0.1"
port = {port}
security = "none"
user = "dcmdisc"
password_file = "{wrong}"
from = "dcmdisc@example.org"
to = ["a@example.org"]
""")
        r = d.cli("notify", "test", check=False)
        assert "mail (email): sent: SMTP 250" in r.stdout, (r.stdout, r.stderr)
        # A refused login fails the target (aiosmtpd answers 535, or lettre waits for more
        # and the attempt times out: both are failures said in words).
        assert "badlogin (email): FAILED: SMTP" in r.stdout, r.stdout
        assert "535" in r.stdout or "timed out" in r.stdout, r.stdout
        assert (b"dcmdisc", b"pa55-word") in [(lg, pw) for _, lg, pw in logins], logins
        assert len(box.messages) == 1
    finally:
        c.stop()
