"""Opens pages from file:// in Debian's headless chromium (over the DevTools protocol) and
firefox-esr (over WebDriver BiDi, Firefox's own remote protocol: no geckodriver), with
their default file:// policy, and reports what a person would see break: images that did
not load, console errors, requests that are not file://, and a screenshot.

Run as a script inside a network namespace of its own (`unshare -n`, loopback only), so
that the pages cannot reach any network at all whatever they ask:

    unshare -n python3 browsers.py chromium|firefox SHOTS_DIR NAME=FILE_URL...

prints one JSON object per page (`{"name", "images": [[src, naturalWidth]], "problems",
"requests", "canary"}`) and writes SHOTS_DIR/<browser>-<NAME>.png.

Firefox: a WebDriver client normally sets Firefox's "recommended" preferences, among them
`security.fileuri.strict_origin_policy=false`, which lets file:// pages read their
siblings; this profile turns that off (`remote.prefs.recommended=false`) and pins the
strict policy, and each page's canary (`fetch()` of a file it links) proves it: it must
fail in both browsers. Chromium never gets `--allow-file-access-from-files`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from websockets.sync.client import connect

# One connection for the whole run, closed at its end.
warnings.filterwarnings("ignore", category=DeprecationWarning)

STEP = 60  # seconds any one answer may take
PORT = 9222  # inside the page's own network namespace: nothing else listens there

# What every page reports (evaluated after the load event; file:// images are complete by
# then, or broken).
PROBE = """JSON.stringify({
  images: Array.from(document.images).map(i => [i.getAttribute('src'), i.naturalWidth]),
  title: document.title,
  text: document.body ? document.body.innerText.slice(0, 20000) : ''})"""
# Run after the problems so far are collected: its refusal is logged as an error.
CANARY = """(async () => {
  // A sibling file the page links (never the page itself: a file may read itself).
  const other = Array.from(document.querySelectorAll('a[href]')).map(a => a.href)
    .find(h => h.split('#')[0] !== location.href);
  if (!other) return 'no-link';
  try { await fetch(other); return 'fetched ' + other; } catch (e) { return 'blocked'; }
})()"""


def wait_line(proc, pattern: str) -> str:
    deadline = time.monotonic() + STEP
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return m.group(1)
    raise RuntimeError(f"the browser did not say {pattern!r}: {''.join(seen)[-3000:]}")


class Connection:
    """A browser process and its remote-protocol websocket: one command at a time, its answer
    awaited (bounded), events arriving meanwhile kept in `events`."""

    proc: subprocess.Popen
    ws = None
    n = 0

    def request(self, method: str, msg: dict, failed) -> dict:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, **msg}))
        deadline = time.monotonic() + STEP
        while time.monotonic() < deadline:
            m = json.loads(self.ws.recv(timeout=STEP))
            if m.get("id") == self.n:
                why = failed(m)
                if why:
                    raise RuntimeError(f"{method}: {why}")
                return m.get("result", {})
            self.events.append(m)
        raise RuntimeError(f"{method}: no answer")

    def drain(self):
        """Events that arrived while nobody asked (an image's load, a late error)."""
        while True:
            try:
                self.events.append(json.loads(self.ws.recv(timeout=0.05)))
            except TimeoutError:
                return

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.kill()
            self.proc.wait(timeout=STEP)


class CdpBrowser(Connection):
    """Debian's chromium, headless, driven over the DevTools protocol: launched with its strict
    default file:// policy (never --allow-file-access-from-files), one page target attached.
    `flags`: more command-line switches; `domains`: the CDP domains whose events are kept."""

    def __init__(self, profile: Path, flags=(), domains=("Page", "Runtime", "Network", "Log")):
        self.proc = subprocess.Popen(
            ["/usr/bin/chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", f"--remote-debugging-port={PORT}",
             "--window-size=1280,1000", *flags, "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        url = wait_line(self.proc, r"DevTools listening on (ws://\S+)")
        self.ws = connect(url, open_timeout=STEP, max_size=None)
        self.n = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in domains:
            self.call(f"{domain}.enable")

    def call(self, method, params=None, session=True):
        """One command (to the page's session unless `session` is false), its result; events
        that arrive meanwhile are kept in `events`."""
        msg = {"method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        return self.request(method, msg, lambda m: m.get("error"))

    def seen(self) -> dict:
        """What a person would see break since `events` was last cleared: exceptions, console
        errors, failed loads; and every request made."""
        problems, requests = [], []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Network.requestWillBeSent":
                requests.append(p["request"]["url"])
            elif m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                problems.append(f"exception: {d.get('text')} {d.get('exception', {}).get('description', '')}")
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                problems.append(f"console: {[a.get('value', a.get('description')) for a in p.get('args', [])]}")
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                problems.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        return {"problems": problems, "requests": requests}

class BidiBrowser(Connection):
    """Debian's firefox-esr, headless, driven over WebDriver BiDi (no geckodriver), with the
    strict file:// policy a WebDriver client would otherwise relax (module docstring).
    `prefs`: more user.js lines."""

    def __init__(self, profile: Path, prefs: str = ""):
        (profile / "user.js").write_text(
            'user_pref("remote.prefs.recommended", false);\n'
            'user_pref("security.fileuri.strict_origin_policy", true);\n'
            'user_pref("browser.shell.checkDefaultBrowser", false);\n'
            'user_pref("datareporting.policy.dataSubmissionEnabled", false);\n'
            'user_pref("app.update.enabled", false);\n' + prefs)
        self.proc = subprocess.Popen(
            ["/usr/bin/firefox-esr", "--headless", "--no-remote", "--profile", str(profile),
             f"--remote-debugging-port={PORT}", "--width=1280", "--height=1000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "MOZ_HEADLESS": "1"})
        url = wait_line(self.proc, r"WebDriver BiDi listening on (ws://\S+)")
        self.ws = connect(url.rstrip("/") + "/session", open_timeout=STEP, max_size=None)
        self.n = 0
        self.events: list[dict] = []
        self.call("session.new", {"capabilities": {}})
        self.call("session.subscribe", {"events": ["log.entryAdded", "network.beforeRequestSent"]})
        self.context = self.call("browsingContext.getTree", {})["contexts"][0]["context"]

    def call(self, method, params):
        failed = lambda m: m.get("type") == "error" and f"{m.get('error')}: {m.get('message')}"
        return self.request(method, {"method": method, "params": params}, failed)

    def seen(self) -> dict:
        """As CdpBrowser.seen (Firefox reports no file:// request over BiDi)."""
        problems, requests = [], []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "network.beforeRequestSent":
                requests.append(p["request"]["url"])
            elif m == "log.entryAdded" and p.get("level") == "error":
                problems.append(f"log: {p.get('type')}: {p.get('text')}")
        return {"problems": problems, "requests": requests}


class Chromium(CdpBrowser):
    def open(self, url: str, shot: Path) -> dict:
        self.events = []
        self.call("Page.navigate", {"url": url})
        deadline = time.monotonic() + STEP
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not load")
            self.events.append(json.loads(self.ws.recv(timeout=STEP)))
        r = self.call("Runtime.evaluate", {"expression": PROBE, "returnByValue": True})
        out = json.loads(r["result"]["value"])
        out.update(self.seen())
        r = self.call("Runtime.evaluate", {"expression": CANARY, "awaitPromise": True,
                                           "returnByValue": True})
        out["canary"] = r["result"]["value"]
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        png = self.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": min(size["width"], 1600),
                     "height": min(size["height"], 4000), "scale": 1}})["data"]
        shot.write_bytes(base64.b64decode(png))
        return out


class Firefox(BidiBrowser):
    def open(self, url: str, shot: Path) -> dict:
        self.events = []
        self.call("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})
        out = json.loads(self.evaluate(url, PROBE))
        out.update(self.seen())
        out["canary"] = self.evaluate(url, CANARY)
        png = self.call("browsingContext.captureScreenshot", {"context": self.context, "origin": "document"})
        shot.write_bytes(base64.b64decode(png["data"]))
        return out

    def evaluate(self, url: str, expression: str):
        r = self.call("script.evaluate", {"expression": expression, "target": {"context": self.context},
                                          "awaitPromise": True})
        if r.get("type") == "exception":
            raise RuntimeError(f"script failed on {url}: {r}")
        return r["result"]["value"]


def main():
    which, shots, pages = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    shots.mkdir(parents=True, exist_ok=True)
    # Loopback only, for the browser's own control channel.
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=30)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        b = (Chromium if which == "chromium" else Firefox)(Path(profile))
        try:
            for spec in pages:
                name, url = spec.split("=", 1)
                out = b.open(url, shots / f"{which}-{name}.png")
                out["name"] = name
                print(json.dumps(out), flush=True)
        finally:
            b.close()


if __name__ == "__main__":
    main()
