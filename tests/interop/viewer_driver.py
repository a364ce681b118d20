"""Drives one headless browser (Debian's chromium over the DevTools protocol, firefox-esr
over WebDriver BiDi) through the disc's stack viewer the way a person would: real wheel,
key, mouse and file-picker input delivered by the browser's own input pipeline, not events
made up in the page, so the viewer's listeners, default actions and focus are what a user
gets.

Run as a script inside a network namespace of its own (`unshare -n`, loopback only: the
browser's control channel), so the pages cannot reach any network whatever they ask:

    unshare -n python3 viewer_driver.py chromium|firefox [--no-js]

It then reads one JSON command per line on stdin and answers each with one JSON line on
stdout, `{"ok": true, "value": ...}` or `{"ok": false, "error": "..."}`:

    {"op": "open", "url": U}               navigate, wait for the load event
    {"op": "reload"}                       reload, wait for the load event
    {"op": "eval", "js": E}                value of expression E (promises awaited)
    {"op": "wait", "js": E, "timeout": s}  poll E until truthy (bounded); its value
    {"op": "wheel", "x": X, "y": Y, "dy": D}
    {"op": "key", "key": K}                "End", "Home", "ArrowDown", "PageUp", " ", "1" ...
    {"op": "move", "x": X, "y": Y}
    {"op": "click", "x": X, "y": Y}
    {"op": "drag", "x": X, "y": Y, "x2": X2, "y2": Y2, "button": "left" | "right"}
    {"op": "files", "selector": S, "files": [absolute paths]}   input.files of S
    {"op": "folder", "selector": S, "folder": absolute path}    a folder picked on S
    {"op": "shot", "path": P, "clip": {"x", "y", "width", "height"} | null}   PNG
    {"op": "events"}                       {"problems", "requests"} since the last call
    {"op": "quit"}

Coordinates are CSS pixels of the viewport (what getBoundingClientRect gives).

`--no-js` starts the browser with scripting off (chromium `--blink-settings=scriptEnabled=false`,
firefox `javascript.enabled=false`); "eval" still works there, since both protocols evaluate
outside the page's own script permission.

The Firefox profile is strict about file:// as browsers.py's is (`remote.prefs.recommended`
off, `security.fileuri.strict_origin_policy` on); chromium never gets
`--allow-file-access-from-files`.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from browsers import STEP, BidiBrowser, CdpBrowser

warnings.filterwarnings("ignore", category=DeprecationWarning)

# CDP key events: key -> (code, windowsVirtualKeyCode, text). Text only for keys that type.
CDP_KEYS = {
    "End": ("End", 35, ""), "Home": ("Home", 36, ""), "PageUp": ("PageUp", 33, ""),
    "PageDown": ("PageDown", 34, ""), "ArrowUp": ("ArrowUp", 38, ""), "ArrowDown": ("ArrowDown", 40, ""),
    "ArrowLeft": ("ArrowLeft", 37, ""), "ArrowRight": ("ArrowRight", 39, ""), "Escape": ("Escape", 27, ""),
    " ": ("Space", 32, " "), "+": ("Equal", 187, "+"), "-": ("Minus", 189, "-"),
    **{str(d): (f"Digit{d}", 48 + d, str(d)) for d in range(10)},
}
# WebDriver's code points for the keys that do not type (WebDriver spec, "keyboard actions").
BIDI_KEYS = {
    "End": "\ue010", "Home": "\ue011", "PageUp": "\ue00e", "PageDown": "\ue00f", "ArrowUp": "\ue013",
    "ArrowDown": "\ue015", "ArrowLeft": "\ue012", "ArrowRight": "\ue014", "Escape": "\ue00c",
}


def is_file_url(u: str) -> bool:
    return u.startswith(("file:///", "data:"))


class Chromium(CdpBrowser):
    def __init__(self, profile: Path, js: bool):
        flags = ["--hide-scrollbars"] + ([] if js else ["--blink-settings=scriptEnabled=false"])
        super().__init__(profile, flags, ("Page", "Runtime", "Network", "Log", "DOM"))
        # The viewport the screenshots and coordinates are in, whatever the window decoration.
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False})

    def wait_load(self, what: str):
        deadline = time.monotonic() + STEP
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not load")
            self.events.append(json.loads(self.ws.recv(timeout=STEP)))
        # Later waits must see their own load event only.
        for e in self.events:
            if e.get("method") == "Page.loadEventFired":
                e["method"] = "Page.loadEventFired(seen)"

    def open(self, url):
        self.drain()
        self.events = []
        self.call("Page.navigate", {"url": url})
        self.wait_load(url)

    def reload(self):
        self.call("Page.reload", {})
        self.wait_load("the reload")

    def eval(self, js):
        r = self.call("Runtime.evaluate", {"expression": js, "awaitPromise": True, "returnByValue": True,
                                           "userGesture": True})
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise RuntimeError(f"script failed: {d.get('text')} {d.get('exception', {}).get('description')}")
        return r["result"].get("value")

    def wheel(self, x, y, dy):
        self.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        self.call("Input.dispatchMouseEvent", {"type": "mouseWheel", "x": x, "y": y, "deltaX": 0,
                                               "deltaY": dy})

    def key(self, key):
        code, vk, text = CDP_KEYS[key]
        down = {"type": "keyDown" if text else "rawKeyDown", "key": key, "code": code,
                "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk}
        if text:
            down.update(text=text, unmodifiedText=text)
        self.call("Input.dispatchKeyEvent", down)
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": key, "code": code,
                                             "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk})

    def move(self, x, y):
        self.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})

    def click(self, x, y):
        self.move(x, y)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                   "buttons": 1 if kind == "mousePressed" else 0,
                                                   "clickCount": 1})

    def drag(self, x, y, x2, y2, button):
        name, mask = {"left": ("left", 1), "right": ("right", 2)}[button]
        self.move(x, y)
        self.call("Input.dispatchMouseEvent", {"type": "mousePressed", "x": x, "y": y, "button": name,
                                               "buttons": mask, "clickCount": 1})
        # In steps, as a hand moves: a viewer may act on each move.
        for k in range(1, 6):
            self.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x + (x2 - x) * k / 5,
                                                   "y": y + (y2 - y) * k / 5, "button": name, "buttons": mask})
        self.call("Input.dispatchMouseEvent", {"type": "mouseReleased", "x": x2, "y": y2, "button": name,
                                               "buttons": 0, "clickCount": 1})

    def files(self, selector, files):
        r = self.call("Runtime.evaluate", {"expression": f"document.querySelector({json.dumps(selector)})"})
        oid = r["result"].get("objectId")
        if not oid:
            raise RuntimeError(f"no element {selector}")
        self.call("DOM.setFileInputFiles", {"files": files, "objectId": oid})

    def folder(self, selector, folder):
        # What a user's pick of a folder gives: chromium's DevTools enumerates a directory
        # itself (webkitRelativePath "DICOM/..."); given single files on a webkitdirectory
        # input it drops them.
        self.files(selector, [folder])

    def shot(self, path, clip):
        params = {"format": "png"}
        if clip:
            # CDP's clip is in the document's coordinates, the caller's in the viewport's.
            view = self.call("Page.getLayoutMetrics")["cssVisualViewport"]
            params["clip"] = {**clip, "x": clip["x"] + view["pageX"], "y": clip["y"] + view["pageY"], "scale": 1}
        Path(path).write_bytes(base64.b64decode(self.call("Page.captureScreenshot", params)["data"]))


class Firefox(BidiBrowser):
    def __init__(self, profile: Path, js: bool):
        super().__init__(
            profile,
            # Smooth scrolling would spread one wheel notch over several frames of events.
            'user_pref("general.smoothScroll", false);\n'
            # No first-run page: it would ask the network for its metrics (and log that it could not).
            'user_pref("browser.aboutwelcome.enabled", false);\n'
            'user_pref("browser.startup.page", 0);\n'
            'user_pref("browser.startup.homepage_override.mstone", "ignore");\n'
            'user_pref("startup.homepage_welcome_url", "");\n'
            + ('' if js else 'user_pref("javascript.enabled", false);\n'))
        self.call("browsingContext.setViewport", {"context": self.context,
                                                  "viewport": {"width": 1280, "height": 1000}})

    def settle(self):
        # Right after a load, Firefox loses a wheel now and then (3 of 4 first wheels in a
        # row once; the mousemove before it arrives): the new page's input routing is not
        # up yet. 0.2 s after the load never lost one in 18 tries; 0.4 s, bounded.
        time.sleep(0.4)

    def open(self, url):
        self.drain()
        self.events = []
        self.call("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})
        self.settle()

    def reload(self):
        self.call("browsingContext.reload", {"context": self.context, "wait": "complete"})
        self.settle()

    def evaluate(self, js, ownership="none"):
        r = self.call("script.evaluate", {"expression": js, "target": {"context": self.context},
                                          "awaitPromise": True, "resultOwnership": ownership,
                                          "userActivation": True})
        if r.get("type") == "exception":
            d = r.get("exceptionDetails", {})
            raise RuntimeError(f"script failed: {d.get('text')}")
        return r["result"]

    def eval(self, js):
        # By value: the page's answer goes through JSON in the page, as CDP's returnByValue.
        # Not through an async function: with javascript.enabled off its promise never settles.
        r = self.evaluate(f"(v => v && typeof v.then === 'function' ? v.then(x => JSON.stringify(x))"
                          f" : JSON.stringify(v))(({js}))")
        return None if r.get("type") != "string" else json.loads(r["value"])

    def actions(self, *sources):
        self.call("input.performActions", {"context": self.context, "actions": list(sources)})

    def wheel(self, x, y, dy):
        # The pointer goes there first, as a hand does (and as the CDP side sends mouseMoved).
        self.move(x, y)
        self.actions({"type": "wheel", "id": "wheel", "actions": [
            {"type": "scroll", "x": int(x), "y": int(y), "deltaX": 0, "deltaY": int(dy), "origin": "viewport"}]})

    def key(self, key):
        value = BIDI_KEYS.get(key, key)
        self.actions({"type": "key", "id": "keyboard", "actions": [
            {"type": "keyDown", "value": value}, {"type": "keyUp", "value": value}]})

    def move(self, x, y):
        self.actions({"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
            {"type": "pointerMove", "x": int(x), "y": int(y), "origin": "viewport"}]})

    def click(self, x, y):
        self.actions({"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
            {"type": "pointerMove", "x": int(x), "y": int(y), "origin": "viewport"},
            {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]})

    def drag(self, x, y, x2, y2, button):
        b = {"left": 0, "right": 2}[button]
        self.actions({"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
            {"type": "pointerMove", "x": int(x), "y": int(y), "origin": "viewport"},
            {"type": "pointerDown", "button": b},
            # In steps, as a hand moves: a viewer may act on each move.
            *({"type": "pointerMove", "x": int(x + (x2 - x) * k / 5), "y": int(y + (y2 - y) * k / 5),
               "origin": "viewport"} for k in range(1, 6)),
            {"type": "pointerUp", "button": b}]})

    def files(self, selector, files):
        r = self.evaluate(f"document.querySelector({json.dumps(selector)})", ownership="root")
        if r.get("type") != "node":
            raise RuntimeError(f"no element {selector}: {r}")
        self.call("input.setFiles", {"context": self.context, "element": {"sharedId": r["sharedId"]},
                                     "files": files})

    def folder(self, selector, folder):
        # Firefox's input.setFiles refuses a directory (NS_ERROR_FILE_IS_DIRECTORY): every file
        # under it instead, as a folder pick lists them (webkitRelativePath stays empty).
        self.files(selector, sorted(str(p) for p in Path(folder).rglob("*") if p.is_file()))

    def shot(self, path, clip):
        params = {"context": self.context}
        if clip:
            params["clip"] = {"type": "box", **clip}
        Path(path).write_bytes(base64.b64decode(self.call("browsingContext.captureScreenshot", params)["data"]))


def taken(b) -> dict:
    """What the page showed break and asked for since the last call (then forgotten)."""
    b.drain()
    out = b.seen()
    b.events = []
    return out


def wait(b, js: str, timeout: float):
    """Poll `js` until truthy; every wait here has this bound."""
    deadline = time.monotonic() + min(float(timeout), STEP)
    while True:
        v = b.eval(js)
        if v:
            return v
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {js}: last {v!r}")
        time.sleep(0.05)


def run(b, cmd: dict):
    op = cmd["op"]
    if op == "open":
        return b.open(cmd["url"])
    if op == "reload":
        return b.reload()
    if op == "eval":
        return b.eval(cmd["js"])
    if op == "wait":
        return wait(b, cmd["js"], cmd.get("timeout", 10))
    if op == "wheel":
        return b.wheel(cmd["x"], cmd["y"], cmd.get("dy", 100))
    if op == "key":
        return b.key(cmd["key"])
    if op == "move":
        return b.move(cmd["x"], cmd["y"])
    if op == "click":
        return b.click(cmd["x"], cmd["y"])
    if op == "drag":
        return b.drag(cmd["x"], cmd["y"], cmd["x2"], cmd["y2"], cmd.get("button", "left"))
    if op == "files":
        return b.files(cmd["selector"], cmd["files"])
    if op == "folder":
        return b.folder(cmd["selector"], cmd["folder"])
    if op == "shot":
        return b.shot(cmd["path"], cmd.get("clip"))
    if op == "events":
        return taken(b)
    raise ValueError(f"unknown op {op!r}")


def main():
    which = sys.argv[1]
    js = "--no-js" not in sys.argv[2:]
    # Loopback only, for the browser's own control channel.
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=30)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        b = (Chromium if which == "chromium" else Firefox)(Path(profile), js)
        try:
            print(json.dumps({"ok": True, "value": "ready"}), flush=True)
            for line in sys.stdin:
                if not line.strip():
                    continue
                cmd = json.loads(line)
                if cmd["op"] == "quit":
                    break
                try:
                    out = {"ok": True, "value": run(b, cmd)}
                except (RuntimeError, ValueError, KeyError, TimeoutError, ConnectionClosed) as e:
                    out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
                print(json.dumps(out), flush=True)
        finally:
            b.close()


if __name__ == "__main__":
    main()


class Session:
    """The test's side: one driver process in its own network namespace, one command at a time,
    every answer awaited with a bound."""

    def __init__(self, browser: str, js: bool = True, unshare: str = "unshare"):
        import queue
        import threading

        self.name = browser
        args = [unshare, "-n", sys.executable, str(Path(__file__).resolve()), browser]
        if not js:
            args.append("--no-js")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: "queue.Queue[str | None]" = queue.Queue()
        self.err: list[str] = []

        def pump(stream, sink):
            for line in stream:
                sink(line)
            if stream is self.proc.stdout:
                self.lines.put(None)

        threading.Thread(target=pump, args=(self.proc.stdout, self.lines.put), daemon=True).start()
        threading.Thread(target=pump, args=(self.proc.stderr, self.err.append), daemon=True).start()
        self.answer(STEP * 2)

    def answer(self, timeout: float):
        import queue

        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"the driver did not answer in {timeout}s: {''.join(self.err)[-2000:]}")
        if line is None:
            raise RuntimeError(f"the driver ended: {''.join(self.err)[-3000:]}")
        out = json.loads(line)
        if not out["ok"]:
            raise RuntimeError(out["error"])
        return out["value"]

    def __call__(self, op: str, **kw):
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        return self.answer(STEP * 2 + float(kw.get("timeout", 0)))

    def eval(self, js: str):
        return self("eval", js=js)

    def wait(self, js: str, timeout: float = 10):
        return self("wait", js=js, timeout=timeout)

    def close(self):
        try:
            if self.proc.poll() is None:
                self.proc.stdin.write('{"op": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=STEP)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=STEP)
