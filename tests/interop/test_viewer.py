"""The disc's stack viewer (`VIEWER/VIEWER.TXT`, docs/viewer.md; shared/research/pdi-viewer.md
section 8 items 8-12) in Debian's headless chromium and firefox-esr, offline in a network
namespace of their own, driven with real wheel, key, mouse and folder-pick input
(viewer_driver.py), and checked only through the interface docs/viewer.md states.

The disc is made here: a CT series of six 64x64 slices (signed, Rescale Intercept -1024,
Pixel Spacing 0.5\\0.5, two windows SOFT 40/400 and LUNG -600/1500, a gradient and a bright
square that moves with the slice), an 8-frame Multi-frame Grayscale Word SC instance and a
Structured Report (a series with no image), exported with `dcmdisc export --from-folder` and
extracted with xorriso. The value exact mode shows under the cursor is compared with
`dcmdisc pixel` (Rust) and with the value the test wrote. Screenshots land in
target/viewer-screenshots/.

Run: DCMDISC_BIN=target/release/dcmdisc python3 -m pytest tests/interop/test_viewer.py
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from helpers import dcmdisc_bin, unavailable
from test_pdi_content import extract
from test_web_content import base, need_browser, sr

HERE = Path(__file__).resolve().parent
SHOTS = HERE.parent.parent / "target" / "viewer-screenshots"

# The whole module drives browsers: each test opens pages and waits (each wait bounded).
pytestmark = pytest.mark.timeout(300)

SIDE = 64
SLICES = 6
MF_FRAMES = 8
SPACING = 0.5  # mm, rows and columns alike
WINDOWS = [(40, 400, "SOFT"), (-600, 1500, "LUNG")]
CT_CLASS = "1.2.840.10008.5.1.4.1.1.2"
WORD_SC_CLASS = "1.2.840.10008.5.1.4.1.1.7.3"  # Multi-frame Grayscale Word SC
PATIENT = "VIEWER^STACK"


def hu(s: int) -> np.ndarray:
    """Slice s in Hounsfield units, [y, x]: a gradient whose every neighbour differs (x by 1,
    y by 30: a pixel off by one in either direction reads another value) and a 12-pixel
    square of 1500 + 100 s whose place moves with the slice (frames look different)."""
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    img = -1000 + 30 * y + x
    at = 6 + 7 * s
    img[at:at + 12, at:at + 12] = 1500 + 100 * s
    return img.astype(np.int16)


def mf_frame(f: int) -> np.ndarray:
    """Frame f of the multi-frame instance: a ramp and a bright bar at column 6 f."""
    y, x = np.mgrid[0:SIDE, 0:SIDE]
    img = 16 * (x + y)
    img[:, 6 * f:6 * f + 5] = 4000
    return img.astype(np.uint16)


def header(ds_class: str, study: str, series: str, number: int, modality: str) -> pydicom.Dataset:
    ds = base("VIEW-1", ds_class, modality, name=PATIENT)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber = "20260401", "093000", "V1"
    ds.StudyDescription, ds.InstanceNumber = "Viewer test", number
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = SIDE
    return ds


def ct_slice(path: Path, study: str, series: str, frame_of_reference: str, s: int):
    ds = header(CT_CLASS, study, series, s + 1, "CT")
    ds.SeriesNumber, ds.SeriesDescription = 1, "Stack"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = frame_of_reference, ""
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SliceLocation = -50.0 + 5 * s
    ds.ImagePositionPatient = [-16, -16, ds.SliceLocation]
    ds.SliceThickness = 5
    ds.PixelSpacing = [SPACING, SPACING]
    ds.KVP, ds.AcquisitionNumber = 120, 1
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    ds.WindowCenter = [c for c, _, _ in WINDOWS]
    ds.WindowWidth = [w for _, w, _ in WINDOWS]
    ds.WindowCenterWidthExplanation = [e for _, _, e in WINDOWS]
    ds.PixelData = (hu(s).astype(np.int32) + 1024).astype(np.int16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def multiframe(path: Path, study: str):
    ds = header(WORD_SC_CLASS, study, generate_uid(), 1, "OT")
    ds.SeriesNumber, ds.SeriesDescription = 2, "Cine"
    ds.ConversionType = "WSD"
    ds.NumberOfFrames = MF_FRAMES
    ds.FrameIncrementPointer = pydicom.tag.Tag(0x0018, 0x1063)  # Frame Time
    ds.FrameTime = 100
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.PixelData = np.stack([mf_frame(f) for f in range(MF_FRAMES)]).tobytes()
    ds.save_as(path, enforce_file_format=True)


def series_js(folder: Path) -> list[dict]:
    """The entries of a series' SERIES.TXT, in the page's order (docs/viewer.md, Files)."""
    entries = []
    for line in (folder / "SERIES.TXT").read_text("utf-8").splitlines():
        m = re.match(r"\s*DCMDISC_SERIES\.push\((\{.*\})\);?\s*$", line)
        if m:
            entries.append(json.loads(m.group(1)))
    return entries


@dataclass
class Series:
    page: Path
    entries: list[dict]

    @property
    def frames(self) -> int:
        return sum(e["frames"] for e in self.entries)

    def instance_of(self, frame: int) -> tuple[dict, int]:
        """The SERIES.TXT entry that frame (0-based, through the series) belongs to, and the
        frame's index within that instance."""
        for e in self.entries:
            if frame < e["frames"]:
                return e, frame
            frame -= e["frames"]
        raise IndexError(frame)

    def jpeg(self, letter: str, frame: int) -> Path:
        return self.page.parent / f"{letter}{frame + 1:07d}.JPG"


@dataclass
class Disc:
    root: Path
    ct: Series
    cine: Series
    files: dict[str, Path]  # SOP Instance UID -> the DICOM file, through the DICOMDIR
    report: Path  # the series page of the SR (no image)


@pytest.fixture(scope="module")
def disc(tmp_path_factory) -> Disc:
    """The CT stack and the multi-frame instance on one disc, extracted."""
    tmp = tmp_path_factory.mktemp("viewer")
    src = tmp / "src"
    src.mkdir()
    study, series, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
    # Written in reverse, so the page's order comes from the slices, not from the folder.
    for s in reversed(range(SLICES)):
        ct_slice(src / f"ct{s}.dcm", study, series, frame_of_reference, s)
    multiframe(src / "mf.dcm", study)
    # A report: a series with no image, whose page the viewer leaves static.
    sr(src / "sr.dcm", "VIEW-SR", "ISO_IR 192", "REPORT^ONLY", "No image here.")
    out = tmp / "out"
    r = subprocess.run([str(dcmdisc_bin()), "export", "--from-folder", str(src), "--out", str(out)],
                       capture_output=True, text=True, errors="replace", timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    found, files, reports = [], {}, []
    for iso in sorted(out.rglob("VOL*.iso")):
        root = extract(iso, tmp)
        dd = pydicom.dcmread(root / "DICOMDIR")
        files.update({str(rec.ReferencedSOPInstanceUIDInFile): root.joinpath(*rec.ReferencedFileID)
                      for rec in dd.DirectoryRecordSequence if "ReferencedSOPInstanceUIDInFile" in rec})
        for page in sorted(root.glob("IHE_PDI/ST*/SE*/INDEX.HTM")):
            entries = series_js(page.parent) if (page.parent / "SERIES.TXT").exists() else []
            found.append(Series(page, entries))
            if not any(e.get("frames") for e in entries):
                reports.append(page)
    ct = [s for s in found if s.entries and s.entries[0].get("modality") == "CT"]
    cine = [s for s in found if len(s.entries) == 1 and s.entries[0].get("frames") == MF_FRAMES]
    assert len(ct) == 1 and len(cine) == 1 and len(reports) == 1, [(s.page, s.entries) for s in found]
    assert ct[0].frames == SLICES, ct[0].entries
    assert ct[0].page.parents[3] == cine[0].page.parents[3], "the stack and the cine on two volumes"
    return Disc(ct[0].page.parents[3], ct[0], cine[0], files, reports[0])


def session(browser: str, js: bool = True):
    from viewer_driver import Session

    need_browser(browser)
    return Session(browser, js=js)


@pytest.fixture(scope="module", params=["chromium", "firefox"])
def browser(request):
    """One browser for the module's tests in it; each test opens its page afresh."""
    s = session(request.param)
    yield s
    s.close()


# ----------------------------------------------------------------------- page helpers

STATE = """(() => {
  const v = window.dcmdiscViewer || {};
  const img = document.getElementById('dv-image');
  const pressed = Array.from(document.querySelectorAll('button.dv-preset'))
    .filter(b => b.getAttribute('aria-pressed') === 'true').map(b => b.getAttribute('data-preset'));
  const text = id => { const e = document.getElementById(id); return e ? e.textContent.trim() : null; };
  return {frame: v.frame, frames: v.frames, preset: v.preset, mode: v.mode,
          src: img ? img.src : null, complete: img ? img.complete : null,
          natural: img ? img.naturalWidth : null, pressed: pressed,
          counter: text('dv-frame'), modeText: text('dv-mode'), hash: location.hash,
          viewer: document.documentElement.getAttribute('data-viewer')};
})()"""

# An element's box in the viewport, brought into it first as a user scrolls to what they
# use: the viewer is taller than a 1000-pixel window (its slider is below the fold).
RECT = """(sel => {
  const e = document.querySelector(sel);
  if (!e) return null;
  e.scrollIntoView({block: 'nearest', inline: 'nearest'});
  const r = e.getBoundingClientRect();
  return {left: r.left, top: r.top, width: r.width, height: r.height,
          naturalWidth: e.naturalWidth || e.width, naturalHeight: e.naturalHeight || e.height,
          visible: r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden'};
})"""

# A file beside the page, read with fetch(): file:// must refuse it in both browsers (the
# canary that proves the profile is the strict default, browsers.py).
CANARY = """(async () => {
  try { await fetch(new URL('F0000001.JPG', location.href).href); return 'fetched'; }
  catch (e) { return 'blocked'; }
})()"""


def state(s) -> dict:
    return s.eval(STATE)


def rect(s, selector: str) -> dict:
    r = s.eval(f"{RECT}({json.dumps(selector)})")
    assert r is not None, f"no {selector} on the page"
    return r


def centre(r: dict) -> tuple[int, int]:
    return int(r["left"] + r["width"] / 2), int(r["top"] + r["height"] / 2)


def open_viewer(s, series: Series) -> dict:
    """Open a series page and wait (bounded) for the viewer to be built and its image decoded."""
    s("open", url=series.page.as_uri())
    return wait_viewer(s)


def wait_viewer(s) -> dict:
    viewer = s.wait("document.documentElement.getAttribute('data-viewer')", timeout=15)
    assert viewer == "ready", f"data-viewer is {viewer!r}, not 'ready'"
    s.wait("(i => i && i.complete && i.naturalWidth > 0)(document.getElementById('dv-image'))", timeout=15)
    return state(s)


def wait_state(s, js_condition: str, timeout: float = 10) -> dict:
    """The state once `js_condition` (over `v`, window.dcmdiscViewer, and `img`) holds, and the
    image shown is decoded; failing after `timeout` with the state it was in."""
    try:
        s.wait(f"(v => {{ const img = document.getElementById('dv-image'); return !!({js_condition}) "
               f"&& img.complete && img.naturalWidth > 0; }})(window.dcmdiscViewer || {{}})", timeout=timeout)
    except RuntimeError:
        raise AssertionError(f"not within {timeout}s: {js_condition}; the viewer is at {state(s)}") from None
    return state(s)


def settle(s):
    """Two animation frames and 300 ms: enough for an input event the viewer would act on to
    have acted (a bounded wait, used where the check is that nothing changes)."""
    s.eval("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 300))))")


def shown(series: Series, letter: str, frame: int) -> str:
    return series.jpeg(letter, frame).as_uri()


def shot(s, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{s.name}-{name}.png"
    s("shot", path=str(path), clip=None)
    assert path.stat().st_size > 1000, path
    return path


def image_point(r: dict, width: int, height: int, x: float, y: float, at: float = 0.5) -> tuple[int, int]:
    """Viewport pixel (whole CSS pixels) over image pixel (x, y) of an element showing a
    width x height image in rect r: `at` of the way into it (0.5: its centre)."""
    return (round(r["left"] + (x + at) * r["width"] / width), round(r["top"] + (y + at) * r["height"] / height))


# ----------------------------------------------------------------------------- tests


def test_the_series_page_becomes_the_viewer(browser, disc):
    """With scripting on, the CT series page is upgraded: data-viewer="ready", img#dv-image
    showing F0000001.JPG decoded, "1 / 6", dcmdiscViewer {frame 0, frames 6, preset 0, mode
    jpeg}, the first preset pressed, the annotation with the patient and "Not for diagnosis";
    no console error or exception, no request that is not file: or data:, and fetch() of a
    sibling refused."""
    st = open_viewer(browser, disc.ct)
    seen = browser("events")
    assert st["src"] == shown(disc.ct, "F", 0), st
    assert (st["frame"], st["frames"], st["preset"], st["mode"]) == (0, SLICES, 0, "jpeg"), st
    assert re.fullmatch(r"1\s*/\s*6", st["counter"] or ""), st["counter"]
    assert st["modeText"] == "jpeg", st
    assert st["pressed"] == ["0"], st["pressed"]
    slider = browser.eval("(e => e && [e.type, e.min, e.max, e.value])(document.getElementById('dv-slider'))")
    assert slider == ["range", "1", str(SLICES), "1"], slider
    annot = browser.eval("(e => e && e.textContent)(document.getElementById('dv-annot'))") or ""
    assert "Not for diagnosis" in annot and "VIEWER" in annot.upper() and "STACK" in annot.upper(), annot
    labels = browser.eval("Array.from(document.querySelectorAll('button.dv-preset')).map(b => b.textContent)")
    assert len(labels) == len(WINDOWS), labels
    assert "LUNG" in labels[1], labels
    assert not seen["problems"], seen["problems"]
    assert all(u.startswith(("file:///", "data:")) for u in seen["requests"]), seen["requests"]
    assert browser.eval(CANARY) == "blocked"


ORIENT = "['left', 'right', 'top', 'bottom'].map(k => (document.getElementById('dv-orient-' + k) || {}).textContent)"


def test_the_edges_say_the_patient_directions(browser, disc):
    """The axial CT (Image Orientation (Patient) 1\\0\\0\\0\\1\\0: rows run to the patient's
    left, columns to posterior) has R at its left edge, L at its right, A at the top and P at
    the bottom; the multi-frame Secondary Capture, which has no orientation, has none."""
    open_viewer(browser, disc.ct)
    assert browser.eval(ORIENT) == ["R", "L", "A", "P"]
    open_viewer(browser, disc.cine)
    assert browser.eval(ORIENT) == ["", "", "", ""]


def test_the_wheel_and_keys_move_through_the_stack(browser, disc):
    """A wheel notch down over the image moves to the next frame (frame 1, F0000002.JPG,
    "2 / 6"); more notches reach the last frame and stop there; Home goes to the first and
    End to the last, with no console error on the way."""
    open_viewer(browser, disc.ct)
    browser("events")
    x, y = centre(rect(browser, "#dv-image"))
    browser("wheel", x=x, y=y, dy=100)
    st = wait_state(browser, "v.frame !== 0")
    assert st["frame"] == 1 and st["src"] == shown(disc.ct, "F", 1), st
    assert re.fullmatch(r"2\s*/\s*6", st["counter"] or ""), st["counter"]
    # The annotation follows the frame: its position (SERIES.TXT) and "Not for diagnosis".
    entry, within = disc.ct.instance_of(1)
    annot = browser.eval("document.getElementById('dv-annot').textContent")
    assert f"{entry['positions'][within]:g}" in annot and "Not for diagnosis" in annot, (annot, entry)
    # At most one notch per frame left, and three past the end.
    for n in range(SLICES + 2):
        before = state(browser)["frame"]
        browser("wheel", x=x, y=y, dy=100)
        if before == SLICES - 1:
            settle(browser)
        else:
            wait_state(browser, f"v.frame === {before + 1}")
    st = state(browser)
    assert st["frame"] == SLICES - 1 and st["src"] == shown(disc.ct, "F", SLICES - 1), st
    browser("key", key="Home")
    st = wait_state(browser, "v.frame === 0")
    assert st["src"] == shown(disc.ct, "F", 0), st
    browser("key", key="End")
    st = wait_state(browser, f"v.frame === {SLICES - 1}")
    assert st["src"] == shown(disc.ct, "F", SLICES - 1), st
    seen = browser("events")
    assert not seen["problems"], seen["problems"]
    assert all(u.startswith(("file:///", "data:")) for u in seen["requests"]), seen["requests"]


def test_the_other_keys_and_the_slider(browser, disc):
    """docs/viewer.md's keys: ArrowDown/ArrowUp and PageDown/PageUp move through the stack,
    2 chooses the second preset (A… JPEG) and 1 the first again; a click at the right end of
    input#dv-slider goes to the last frame, at its left end to the first."""
    open_viewer(browser, disc.ct)
    for key, want in (("ArrowDown", 1), ("ArrowDown", 2), ("ArrowUp", 1), ("PageDown", None), ("PageUp", None)):
        before = state(browser)["frame"]
        browser("key", key=key)
        cond = f"v.frame === {want}" if want is not None else f"v.frame !== {before}"
        st = wait_state(browser, cond)
        assert st["src"] == shown(disc.ct, "F", st["frame"]), (key, st)
    browser("key", key="2")
    st = wait_state(browser, "v.preset === 1")
    assert st["src"] == shown(disc.ct, "A", st["frame"]) and st["pressed"] == ["1"], st
    browser("key", key="1")
    st = wait_state(browser, "v.preset === 0")
    assert st["src"] == shown(disc.ct, "F", st["frame"]) and st["pressed"] == ["0"], st
    r = rect(browser, "#dv-slider")
    browser("click", x=int(r["left"] + r["width"] - 2), y=int(r["top"] + r["height"] / 2))
    st = wait_state(browser, f"v.frame === {SLICES - 1}")
    assert browser.eval("document.getElementById('dv-slider').value") == str(SLICES), st
    browser("click", x=int(r["left"] + 2), y=int(r["top"] + r["height"] / 2))
    st = wait_state(browser, "v.frame === 0")
    assert st["src"] == shown(disc.ct, "F", 0), st
    assert not browser("events")["problems"]


def test_a_preset_button_shows_its_own_rendering(browser, disc):
    """Clicking the second button.dv-preset shows A0000001.JPG (a file on the disc, other
    bytes than F0000001.JPG), presses that button only, sets preset 1, and changes the pixels
    on the screen; the next frame then comes in the same preset (A0000002.JPG)."""
    open_viewer(browser, disc.ct)
    r = rect(browser, "#dv-image")
    clip = {k: r[k] for k in ("width", "height")} | {"x": r["left"], "y": r["top"]}
    SHOTS.mkdir(parents=True, exist_ok=True)
    before, after = SHOTS / f"{browser.name}-preset-0.png", SHOTS / f"{browser.name}-preset-1.png"
    browser("shot", path=str(before), clip=clip)
    x, y = centre(rect(browser, "button.dv-preset[data-preset='1']"))
    browser("click", x=x, y=y)
    st = wait_state(browser, "v.preset === 1 && img.src.split('/').pop()[0] === 'A'")
    assert st["src"] == shown(disc.ct, "A", 0), st
    assert st["pressed"] == ["1"], st["pressed"]
    assert disc.ct.jpeg("A", 0).read_bytes() != disc.ct.jpeg("F", 0).read_bytes()
    browser("shot", path=str(after), clip=clip)
    assert before.read_bytes() != after.read_bytes(), "the screen did not change with the preset"
    x, y = centre(rect(browser, "#dv-image"))
    browser("wheel", x=x, y=y, dy=100)
    st = wait_state(browser, "v.frame === 1")
    assert st["src"] == shown(disc.ct, "A", 1) and st["preset"] == 1, st


def test_the_frame_and_preset_survive_a_reload(browser, disc):
    """Frame 3 of 6 (index 2) in preset 1, then a reload: the page comes back at frame 3 in
    preset 1 (A0000003.JPG, "3 / 6", the second button pressed), from the page's #."""
    st = open_viewer(browser, disc.ct)
    initial = st["hash"]
    x, y = centre(rect(browser, "#dv-image"))
    for n in (1, 2):
        browser("wheel", x=x, y=y, dy=100)
        wait_state(browser, f"v.frame === {n}")
    x, y = centre(rect(browser, "button.dv-preset[data-preset='1']"))
    browser("click", x=x, y=y)
    wait_state(browser, "v.preset === 1")
    # The viewer may write the # a little later (it throttles its writes to 250 ms): the
    # reload comes once the # has stayed the same for a second, as a hand's would.
    hashes = []
    for _ in range(10):
        hashes.append(browser.eval("new Promise(r => setTimeout(() => r(location.hash), 500))"))
        if len(hashes) >= 3 and hashes[-1] == hashes[-2] == hashes[-3]:
            break
    assert hashes[-1] and hashes[-1] != initial, f"the page's # did not change from {initial!r}: {hashes}"
    browser("reload")
    st = wait_viewer(browser)
    assert (st["frame"], st["preset"]) == (2, 1), st
    assert st["src"] == shown(disc.ct, "A", 2), st
    assert re.fullmatch(r"3\s*/\s*6", st["counter"] or ""), st["counter"]
    assert st["pressed"] == ["1"], st["pressed"]
    assert not browser("events")["problems"]


def test_cine_plays_the_multiframe_instance(browser, disc):
    """On the 8-frame instance's page, button#dv-cine starts playing (the frame advances
    within 10 s, and again after that, each shown as its own F… JPEG) and a second click
    stops it (the frame stays put for a second); Space does the same."""
    st = open_viewer(browser, disc.cine)
    assert (st["frame"], st["frames"]) == (0, MF_FRAMES), st
    x, y = centre(rect(browser, "#dv-cine"))
    browser("click", x=x, y=y)
    st = wait_state(browser, "v.frame !== 0")
    first = st["frame"]
    assert st["src"] == shown(disc.cine, "F", first), st
    st = wait_state(browser, f"v.frame !== {first}")
    assert st["src"] == shown(disc.cine, "F", st["frame"]), st
    browser("click", x=x, y=y)
    settle(browser)
    stopped = state(browser)["frame"]
    browser.eval("new Promise(r => setTimeout(r, 1000))")
    assert state(browser)["frame"] == stopped, "cine did not stop"
    # Space plays and stops as the button does; focus first off the button (a click on the
    # annotation), where Space would press the button itself.
    x, y = centre(rect(browser, "#dv-annot"))
    browser("click", x=x, y=y)
    browser("key", key=" ")
    st = wait_state(browser, f"v.frame !== {stopped}")
    browser("key", key=" ")
    settle(browser)
    stopped = state(browser)["frame"]
    browser.eval("new Promise(r => setTimeout(r, 1000))")
    assert state(browser)["frame"] == stopped, "Space did not stop cine"
    assert not browser("events")["problems"]


def test_measure_gives_millimetres(browser, disc):
    """#dv-measure, then two clicks on the image 30 and 40 image pixels apart (50 pixels):
    #dv-distance says 25.0 mm (Pixel Spacing 0.5 mm), the distance taken from where the
    clicks landed in the displayed image (its rect and natural size)."""
    open_viewer(browser, disc.ct)
    entry = disc.ct.entries[0]
    r = rect(browser, "#dv-image")
    assert abs(r["width"] / r["height"] - r["naturalWidth"] / r["naturalHeight"]) < 0.02, \
        f"the image's box is not its picture's shape: {r}"
    x, y = centre(rect(browser, "#dv-measure"))
    browser("click", x=x, y=y)
    a = image_point(r, r["naturalWidth"], r["naturalHeight"], 10, 12)
    b = image_point(r, r["naturalWidth"], r["naturalHeight"], 40, 52)
    for px, py in (a, b):
        browser("click", x=px, y=py)
    text = browser.wait("(e => e && /\\d/.test(e.textContent) && e.textContent.trim())"
                        "(document.getElementById('dv-distance'))", timeout=5)
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*mm", text)
    assert m, f"#dv-distance says {text!r}"
    # Image pixels from CSS pixels (the displayed scale), then JPEG to stored pixels, then mm.
    sx = r["naturalWidth"] / r["width"] * entry["columns"] / entry["width"]
    sy = r["naturalHeight"] / r["height"] * entry["rows"] / entry["height"]
    row_mm, col_mm = entry["spacing"]
    assert (row_mm, col_mm) == (SPACING, SPACING), entry["spacing"]
    want = (((b[0] - a[0]) * sx * col_mm) ** 2 + ((b[1] - a[1]) * sy * row_mm) ** 2) ** 0.5
    assert abs(want - 25.0) < 0.5, want  # the clicks are where the test meant them
    assert abs(float(m.group(1)) - want) <= 0.06, (text, want)


def stage_shot(browser, name: str, r: dict) -> bytes:
    """A screenshot of the box r (the stage), as PNG bytes."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{browser.name}-{name}.png"
    browser("shot", path=str(path), clip={"x": r["left"], "y": r["top"], "width": r["width"],
                                          "height": r["height"]})
    return path.read_bytes()


# The image's box relative to the stage's (#dv-stage, else the viewer), in one evaluation:
# no scroll between the two.
IN_STAGE = """(() => {
  const st = (document.getElementById('dv-stage') || document.getElementById('dv-viewer'));
  st.scrollIntoView({block: 'nearest', inline: 'nearest'});
  const s = st.getBoundingClientRect(), r = document.getElementById('dv-image').getBoundingClientRect();
  return {left: r.left - s.left, top: r.top - s.top, width: r.width, height: r.height,
          stage: {left: s.left, top: s.top, width: s.width, height: s.height},
          naturalWidth: document.getElementById('dv-image').naturalWidth};
})()"""


def test_zoom_pan_contrast_and_reset(browser, disc):
    """"+" zooms (the image's box grows 1.25 times), a left drag pans (the box moves with the
    mouse), a right drag changes brightness/contrast (the box stays, the pixels on the screen
    change), #dv-reset brings the box and the pixels back to the start; a measure on the
    zoomed image still gives millimetres of the patient."""
    open_viewer(browser, disc.ct)
    r0 = browser.eval(IN_STAGE)
    start = stage_shot(browser, "reset-0", r0["stage"])
    browser("key", key="+")
    browser.wait(f"document.getElementById('dv-image').getBoundingClientRect().width > {r0['width'] * 1.2}",
                 timeout=5)
    r1 = browser.eval(IN_STAGE)
    assert abs(r1["width"] / r0["width"] - 1.25) < 0.01, (r0, r1)
    x, y = int(r1["stage"]["left"] + r1["stage"]["width"] / 2), int(r1["stage"]["top"] + r1["stage"]["height"] / 2)
    # Small enough to keep the image in the stage, where the viewer may stop a pan.
    browser("drag", x=x, y=y, x2=x + 20, y2=y + 30, button="left")
    r2 = browser.eval(IN_STAGE)
    assert abs(r2["left"] - r1["left"] - 20) <= 1 and abs(r2["top"] - r1["top"] - 30) <= 1, (r1, r2)
    panned = stage_shot(browser, "reset-1", r2["stage"])
    browser("drag", x=x, y=y, x2=x + 80, y2=y + 50, button="right")
    settle(browser)
    r3 = browser.eval(IN_STAGE)
    assert (r3["left"], r3["top"], r3["width"]) == (r2["left"], r2["top"], r2["width"]), (r2, r3)
    assert stage_shot(browser, "reset-2", r3["stage"]) != panned, "a right drag changed nothing on the screen"
    x, y = centre(rect(browser, "#dv-reset"))
    browser("click", x=x, y=y)
    settle(browser)
    r4 = browser.eval(IN_STAGE)
    assert all(abs(r4[k] - r0[k]) < 0.5 for k in ("left", "top", "width", "height")), (r0, r4)
    assert stage_shot(browser, "reset-3", r4["stage"]) == start, "#dv-reset did not bring the picture back"
    # Measure while zoomed twice: 15 by 20 image pixels are still 12.5 mm.
    for _ in range(2):
        browser("key", key="+")
    browser.wait(f"document.getElementById('dv-image').getBoundingClientRect().width > {r0['width'] * 1.5}",
                 timeout=5)
    x, y = centre(rect(browser, "#dv-measure"))
    browser("click", x=x, y=y)
    r = browser.eval(IN_STAGE)
    st = r["stage"]
    scale = r["width"] / r["naturalWidth"]
    # Two points inside the image, the stage and the window.
    a = (int(st["left"] + max(r["left"], 0) + 20), int(st["top"] + max(r["top"], 0) + 20))
    b = (int(a[0] + 15 * scale), int(a[1] + 20 * scale))
    assert b[0] < st["left"] + min(r["left"] + r["width"], st["width"]) and \
        b[1] < min(st["top"] + min(r["top"] + r["height"], st["height"]), 1000), (r, b)
    for px, py in (a, b):
        browser("click", x=px, y=py)
    text = browser.wait("(e => e && /\\d/.test(e.textContent) && e.textContent.trim())"
                        "(document.getElementById('dv-distance'))", timeout=5)
    want = (((b[0] - a[0]) / scale * SPACING) ** 2 + ((b[1] - a[1]) / scale * SPACING) ** 2) ** 0.5
    assert abs(want - 12.5) < 0.5, want
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*mm", text)
    assert m and abs(float(m.group(1)) - want) <= 0.06, (text, want)
    assert not browser("events")["problems"]


def test_a_series_without_images_keeps_its_static_page(browser, disc):
    """The report's series page (no image): data-viewer="static", no #dv-viewer, the report's
    page linked as before, and no console error."""
    browser("open", url=disc.report.as_uri())
    viewer = browser.wait("document.documentElement.getAttribute('data-viewer')", timeout=15)
    assert viewer == "static", viewer
    assert browser.eval("!!document.getElementById('dv-viewer')") is False
    assert browser.eval("Array.from(document.links).some(a => /I0000001\\.HTM$/.test(a.href))"), \
        browser.eval("document.body.innerHTML.slice(0, 2000)")
    seen = browser("events")
    assert not seen["problems"], seen["problems"]
    assert all(u.startswith(("file:///", "data:")) for u in seen["requests"]), seen["requests"]


def dcmdisc_pixel(path: Path, x: int, y: int, frame: int) -> float:
    r = subprocess.run([str(dcmdisc_bin()), "pixel", str(path), "--x", str(x), "--y", str(y),
                        "--frame", str(frame)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return float(r.stdout.split()[0])


def pick_disc(browser, disc):
    """The disc's DICOM folder picked on input#dv-pick; #dv-mode "exact" within 30 s."""
    browser("folder", selector="#dv-pick", folder=str(disc.root / "DICOM"))
    try:
        browser.wait("(e => e && e.textContent.trim() === 'exact')(document.getElementById('dv-mode'))",
                     timeout=30)
    except RuntimeError:
        raise AssertionError(f"no exact mode within 30 s: {state(browser)}, "
                             f"{browser('events')['problems']}") from None
    assert state(browser)["mode"] == "exact"


def shown_element(browser) -> str:
    return "#dv-canvas" if rect(browser, "#dv-canvas")["visible"] else "#dv-image"


def go_to(browser, frame: int):
    """Frame `frame` (0-based) by wheel notches from the first."""
    x, y = centre(rect(browser, shown_element(browser)))
    for n in range(1, frame + 1):
        browser("wheel", x=x, y=y, dy=100)
        try:
            browser.wait(f"window.dcmdiscViewer.frame === {n}", timeout=10)
        except RuntimeError:
            raise AssertionError(f"the wheel did not reach frame {n}: {state(browser)}") from None


def value_under_mouse(browser, entry: dict, px: int, py: int, at: float) -> list:
    """#dv-value's [data-x, data-y, data-value, text] with the mouse over image pixel (px, py),
    `at` of the way into it from its top left corner."""
    r = rect(browser, shown_element(browser))
    vx, vy = image_point(r, entry["columns"], entry["rows"], px, py, at)
    browser("move", x=vx, y=vy)
    value = ("(e => e && [e.getAttribute('data-x'), e.getAttribute('data-y'), e.getAttribute('data-value'),"
             " e.textContent])(document.getElementById('dv-value'))")
    try:
        browser.wait(f"(v => v && v[0] === '{px}' && v[1] === '{py}' && v[2] !== null)({value})", timeout=5)
    except RuntimeError:
        pass  # the assertion below says what it shows instead
    got = browser.eval(value)
    assert got and got[:2] == [str(px), str(py)], \
        f"the mouse over image pixel ({px}, {py}) at ({vx}, {vy}) in {r}: #dv-value is {got}"
    return got


def test_exact_mode_shows_the_stored_value(browser, disc):
    """The disc's DICOM folder picked on input#dv-pick: #dv-mode says "exact" (within 30 s),
    and with the mouse over image pixels of frame 3, #dv-value's data-x/data-y are those
    pixels and data-value is their modality value: the same number `dcmdisc pixel` computes
    in Rust from that slice's DICOM file (found through the DICOMDIR by its SOP Instance
    UID), and the Hounsfield value the test wrote."""
    open_viewer(browser, disc.ct)
    pick_disc(browser, disc)
    frame = 2
    go_to(browser, frame)
    entry, within = disc.ct.instance_of(frame)
    dicom = disc.files[entry["uid"]]
    s = round((float(pydicom.dcmread(dicom).SliceLocation) + 50) / 5)
    at = 6 + 7 * s
    # A gradient pixel, one in the slice's square, a corner.
    # Near both corners of each pixel: the value is the pixel's the cursor is in, not its
    # neighbour's (a half-pixel slip reads the next one).
    for (px, py), near in itertools.product(((20, 37), (at + 3, at + 5), (SIDE - 1, 0)), (0.2, 0.8)):
        got = value_under_mouse(browser, entry, px, py, near)
        rust = dcmdisc_pixel(dicom, px, py, within + 1)
        assert float(got[2]) == rust, (px, py, got, rust)
        assert rust == float(hu(s)[py, px]), (px, py, rust, int(hu(s)[py, px]))
    shot(browser, "exact")
    assert not browser("events")["problems"]


def test_exact_mode_reads_the_right_frame_of_a_multiframe_instance(browser, disc):
    """Exact mode on the 8-frame instance's page, at frame 4: on the bar (4000) and beside it
    (the ramp), data-value equals `dcmdisc pixel --frame 4` and the value the test wrote."""
    open_viewer(browser, disc.cine)
    pick_disc(browser, disc)
    frame = 3
    go_to(browser, frame)
    entry, within = disc.cine.instance_of(frame)
    dicom = disc.files[entry["uid"]]
    for (px, py), near in itertools.product(((6 * frame + 2, 10), (6 * frame + 6, 10), (1, SIDE - 2)), (0.2, 0.8)):
        got = value_under_mouse(browser, entry, px, py, near)
        rust = dcmdisc_pixel(dicom, px, py, within + 1)
        assert float(got[2]) == rust, (px, py, got, rust)
        assert rust == float(mf_frame(frame)[py, px]), (px, py, rust, int(mf_frame(frame)[py, px]))
    assert not browser("events")["problems"]


def test_screenshots_of_the_stack(browser, disc):
    """The viewer at the first, middle and last frame, written to target/viewer-screenshots/
    (looked at by a person; here: each a real PNG, and the three differ)."""
    open_viewer(browser, disc.ct)
    paths = [shot(browser, "first")]
    x, y = centre(rect(browser, "#dv-image"))
    for n in range(1, SLICES // 2):
        browser("wheel", x=x, y=y, dy=100)
        wait_state(browser, f"v.frame === {n}")
    paths.append(shot(browser, "middle"))
    browser("key", key="End")
    wait_state(browser, f"v.frame === {SLICES - 1}")
    paths.append(shot(browser, "last"))
    assert len({p.read_bytes() for p in paths}) == 3


@pytest.mark.parametrize("which", ["chromium", "firefox"])
def test_without_javascript_the_static_page_stays(disc, which):
    """With scripting off (chromium --blink-settings=scriptEnabled=false, firefox
    javascript.enabled=false) each series page is the static page: every frame's JPEG
    decoded (naturalWidth > 0), F0000001..F000000N in order, no #dv-viewer and no data-viewer."""
    s = session(which, js=False)
    try:
        for series in (disc.ct, disc.cine):
            s("open", url=series.page.as_uri())
            images = s.eval("Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, "
                            "i.naturalWidth])")
            frames = [src for src, _, _ in images if re.fullmatch(r"F\d{7}\.JPG", src or "")]
            assert frames == [f"F{n:07d}.JPG" for n in range(1, series.frames + 1)], images
            assert all(done and w > 0 for _, done, w in images), images
            assert s.eval("!!document.getElementById('dv-viewer')") is False
            assert s.eval("document.documentElement.getAttribute('data-viewer')") is None
            seen = s("events")
            assert not seen["problems"], seen["problems"]
            assert all(u.startswith(("file:///", "data:")) for u in seen["requests"]), seen["requests"]
        s("open", url=disc.ct.page.as_uri())
        shot(s, "no-js")
    finally:
        s.close()
