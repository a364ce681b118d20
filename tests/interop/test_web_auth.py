"""The web login (issue 11, item 3; docs/security.md) against a real `dcmdisc serve` on
127.0.0.1 with users made by `dcmdisc user add` (passwords on standard input, never on the
command line): anonymous requests get 401 (API) or the login page (pages); a login sets an
HttpOnly, SameSite=Strict session cookie; a change with that cookie needs the session's CSRF
token; an operator's API token works without cookie or CSRF token and gets 403 on admin
routes; the audit log (`dcmdisc audit --json`) names who did what from where; /metrics
answers Prometheus text to a logged-in user; the sixth login in a minute gets 429.
Plain http.client, every socket with a timeout.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import urllib.parse

from helpers import (CT_IMAGE, ELE, Dcmdisc, association, context, create_dcmdisc, dcmdisc_bin,
                     make_dataset, store_file, write_config, write_dataset)

ADMIN_PW = "admin password 1"
OPERATOR_PW = "operator password"


def request(base, method, path, headers=None, body=None):
    """(status, headers as a dict of lists with lower-case names, body text)."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        data = body.encode() if isinstance(body, str) else body
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        hdrs: dict[str, list[str]] = {}
        for k, v in resp.getheaders():
            hdrs.setdefault(k.lower(), []).append(v)
        return resp.status, hdrs, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def login(base, user, password):
    body = urllib.parse.urlencode({"user": user, "password": password})
    return request(base, "POST", "/login",
                   {"Content-Type": "application/x-www-form-urlencoded"}, body)


def add_user(d: Dcmdisc, name: str, role: str, password: str):
    cmd = [str(dcmdisc_bin()), "user", "add", name, "--role", role, "--password-stdin",
           *d.common_args()]
    r = subprocess.run(cmd, input=password + "\n", capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert password not in r.stdout + r.stderr


def test_login_cookie_csrf_token_audit_and_rate_limit(tmp_path):
    d = Dcmdisc(tmp_path)
    add_user(d, "ann", "admin", ADMIN_PW)
    add_user(d, "otto", "operator", OPERATOR_PW)
    # A password too short is refused, and nothing is added.
    cmd = [str(dcmdisc_bin()), "user", "add", "eve", "--role", "admin", *d.common_args()]
    r = subprocess.run(cmd, input="short\n", capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "at least 8" in r.stderr, r.stderr
    users = d.cli_json("users")
    assert [(u["name"], u["role"]) for u in users] == [("ann", "admin"), ("otto", "operator")]
    token = d.cli("user", "token", "otto").stdout.strip()
    assert re.fullmatch(r"dcmd_[0-9a-f]{64}", token), token

    d.start()
    base = d.web_url()

    # Anonymous: 401 with the API, the login form for a page.
    status, hdrs, body = request(base, "GET", "/api/jobs")
    assert status == 401 and "www-authenticate" in hdrs, body
    assert "log in" in json.loads(body)["error"]
    status, hdrs, _ = request(base, "GET", "/jobs")
    assert status == 303 and hdrs["location"] == ["/login?next=%2Fjobs"]
    status, _, page = request(base, "GET", "/login")
    assert status == 200 and 'name="password"' in page and "<script" not in page

    # A wrong password: 401, no cookie.
    status, hdrs, _ = login(base, "ann", "not the password")
    assert status == 401 and "set-cookie" not in hdrs

    # The operator logs in: the cookie and its attributes.
    status, hdrs, _ = login(base, "otto", OPERATOR_PW)
    assert status == 303, hdrs
    (set_cookie,) = hdrs["set-cookie"]
    attrs = [a.strip() for a in set_cookie.split(";")]
    assert re.fullmatch(r"dcmdisc_session=[0-9a-f]{64}", attrs[0]), set_cookie
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs, set_cookie
    cookie = {"Cookie": attrs[0]}
    status, _, body = request(base, "GET", "/api/session", cookie)
    me = json.loads(body)
    assert status == 200 and me["user"] == "otto" and me["role"] == "operator"
    csrf = me["csrf"]

    # A change with the cookie: refused without the CSRF token or with a wrong one ...
    json_ct = {"Content-Type": "application/json"}
    for extra in ({}, {"X-CSRF-Token": "0" * 64}):
        status, _, body = request(base, "POST", "/api/jobs/999/cancel", {**cookie, **json_ct, **extra})
        assert status == 403 and "CSRF" in body, body
    # ... and past the check with it (the job does not exist: 404 from the handler).
    status, _, body = request(base, "POST", "/api/jobs/999/cancel",
                              {**cookie, **json_ct, "X-CSRF-Token": csrf})
    assert status == 404, body
    # An operator may not read the audit log.
    status, _, _ = request(base, "GET", "/api/audit", cookie)
    assert status == 403

    # The API token: no cookie, no CSRF token; the same role.
    bearer = {"Authorization": f"Bearer {token}"}
    status, _, body = request(base, "GET", "/api/jobs", bearer)
    assert status == 200 and json.loads(body) == []
    status, _, body = request(base, "POST", "/api/jobs/998/retry", {**bearer, **json_ct})
    assert status == 404, body
    status, _, _ = request(base, "GET", "/api/audit", bearer)
    assert status == 403
    status, _, _ = request(base, "GET", "/api/jobs", {"Authorization": "Bearer dcmd_" + "0" * 64})
    assert status == 401

    # /metrics for a logged-in user: Prometheus text.
    status, hdrs, text = request(base, "GET", "/metrics", cookie)
    assert status == 200 and hdrs["content-type"][0].startswith("text/plain; version=0.0.4")
    assert re.search(r"^dcmdisc_associations_open 0$", text, re.M), text
    assert "# TYPE dcmdisc_store_seconds histogram" in text

    # Logout ends the session (a form post with the token).
    status, _, _ = request(base, "POST", "/logout",
                           {**cookie, "Content-Type": "application/x-www-form-urlencoded"},
                           urllib.parse.urlencode({"csrf": csrf}))
    assert status == 303
    status, _, _ = request(base, "GET", "/api/jobs", cookie)
    assert status == 401

    # The audit log, as the admin reads it through the API and the CLI.
    status, hdrs, _ = login(base, "ann", ADMIN_PW)
    admin = {"Cookie": hdrs["set-cookie"][0].split(";")[0]}
    status, _, body = request(base, "GET", "/api/audit", admin)
    assert status == 200
    rows = d.cli_json("audit")
    assert json.loads(body) == rows
    seen = {(r["actor"], r["action"], r["outcome"], r["peer"]) for r in rows}
    assert ("otto", "POST /api/jobs/999/cancel", "404", "127.0.0.1") in seen, rows
    assert ("otto", "POST /api/jobs/999/cancel", "403", "127.0.0.1") in seen, \
        "a change refused for want of the CSRF token is recorded too"
    assert ("otto", "POST /api/jobs/998/retry", "404", "127.0.0.1") in seen
    assert ("ann", "login", "401", "127.0.0.1") in seen
    assert ("otto", "login", "ok", "127.0.0.1") in seen
    assert any(r["action"] == "user add ann --role admin" and r["peer"] == "local" for r in rows)

    # Five logins a minute from one address (three so far): the sixth is 429 with
    # Retry-After, even with the right password.
    statuses = [login(base, "ann", "wrong guess")[0] for _ in range(2)]
    assert statuses == [401, 401], statuses
    status, hdrs, _ = login(base, "ann", ADMIN_PW)
    assert status == 429, status
    assert 1 <= int(hdrs["retry-after"][0]) <= 60
    assert "set-cookie" not in hdrs
    d.stop()


def metric_samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value of each sample line (every family declared by # TYPE)."""
    declared = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, value = line.rsplit(" ", 1)
        name = key.split("{")[0]
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in declared or family in declared, line
        samples[key] = float(value)
    return samples


def test_metrics_count_what_pynetdicom_stored_for_the_metrics_token(tmp_path):
    token = "scraper-token-0123456789"
    d = create_dcmdisc(tmp_path / "mc", start=False)
    d.config["web"]["metrics_token"] = token
    write_config(d.config_path, d.config)
    add_user(d, "ann", "admin", ADMIN_PW)
    d.start()
    base = d.web_url()
    paths = [write_dataset(make_dataset(patient_id=f"M-{k}"), tmp_path / f"{k}.dcm") for k in range(2)]
    with association(d, [context(CT_IMAGE, [ELE])]) as assoc:
        for p in paths:
            assert store_file(assoc, p) == 0
    status, _, _ = request(base, "GET", "/metrics")
    assert status == 401
    status, _, body = request(base, "GET", "/api/jobs", {"Authorization": f"Bearer {token}"})
    assert status == 401, "the metrics token reads /metrics only"
    status, _, text = request(base, "GET", "/metrics", {"Authorization": f"Bearer {token}"})
    assert status == 200, text
    m = metric_samples(text)
    assert m["dcmdisc_instances_stored"] == 2
    assert m["dcmdisc_stored_bytes"] > 2 * 64 * 64 * 2
    assert m["dcmdisc_associations_total"] == 1
    assert m["dcmdisc_store_seconds_count"] == 2
    assert m['dcmdisc_store_seconds_bucket{le="+Inf"}'] == 2
    assert m['dcmdisc_store_log_total{status="0000"}'] == 2
    d.stop()
