"""The IHE_PDI web content (issue 12 items 3, 9, 10) on the sample corpus (pydicom's files,
corpus.py) and generated Structured Reports in ISO 2022 IR 87, ISO 2022 IR 149, GB18030 and UTF-8, exported as ISO images and extracted with xorriso (a case-sensitive copy), checked by
tools that are not ours: xmllint on every page, the extracted tree's exact names for every
link, pydicom for what the pages must show, and Debian's chromium and
firefox-esr, headless, in a network namespace of their own (browsers.py), for every image
loading from file:// with no console error and no network request. Screenshots land in
target/web-content-screenshots/. (Encapsulated PDF Storage is not among the classes dcmdisc
accepts yet, so its extraction is checked in crates/media, pdi/web/tests.rs.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from corpus import sample_corpus
from helpers import dcmdisc_bin, peer_tool, unavailable
from test_pdi_content import dicomdir_hierarchy, extract, files_of, person_name, source_folder

HERE = Path(__file__).resolve().parent
SHOTS = HERE.parent.parent / "target" / "web-content-screenshots"
XHTML = "{http://www.w3.org/1999/xhtml}"
SERIES_SCRIPTS = ('<script type="text/javascript" src="SERIES.TXT"></script>\r\n'
                  '<script type="text/javascript" src="../../../VIEWER/VIEWER.TXT"></script>\r\n')
NAME_83 = r"[A-Z0-9_]{1,8}(\.[A-Z0-9_]{1,3})?"

# (Specific Character Set, Patient Name, a sentence of the report): each on its own patient.
SR_CHARSETS = {
    "SRIR87": (["", "ISO 2022 IR 87"], "Yamada^Tarou=山田^太郎=やまだ^たろう", "所見: 腫瘤 3 cm を認める"),
    "SRIR149": (["", "ISO 2022 IR 149"], "Hong^Gildong=洪^吉洞=홍^길동", "소견: 종괴 3 cm 관찰됨"),
    "SRGB": ("GB18030", "Wang^XiaoDong=王^小东", "发现：肿块直径 3 厘米"),
    "SRUTF8": ("ISO_IR 192", "Müller^Jürgen=王^小東", "Befund: Raumforderung, Größe 3 cm – 王小東"),
}


def code(value: str, scheme: str, meaning: str):
    c = pydicom.Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def base(path_id: str, sop_class: str, modality: str, charset=None, name="WEB^TEST"):
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    if charset is not None:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID = sop_class
    ds.PatientName, ds.PatientID, ds.PatientBirthDate, ds.PatientSex = name, path_id, "19600101", "O"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20260301", "101500", "1", "A1"
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber = modality, 1, 1
    ds.Manufacturer = "test"
    return ds


def sr(path: Path, pid: str, charset, name: str, sentence: str):
    ds = base(pid, "1.2.840.10008.5.1.4.1.1.88.11", "SR", charset, name)
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = Sequence([code("11528-7", "LN", "Radiology Report")])
    ds.ContinuityOfContent, ds.CompletionFlag, ds.VerificationFlag = "SEPARATE", "COMPLETE", "UNVERIFIED"
    text = pydicom.Dataset()
    text.RelationshipType, text.ValueType = "CONTAINS", "TEXT"
    text.ConceptNameCodeSequence = Sequence([code("121071", "DCM", "Finding")])
    text.TextValue = sentence
    num = pydicom.Dataset()
    num.RelationshipType, num.ValueType = "CONTAINS", "NUM"
    num.ConceptNameCodeSequence = Sequence([code("G-D705", "SRT", "Volume")])
    mv = pydicom.Dataset()
    mv.NumericValue = "12.5"
    mv.MeasurementUnitsCodeSequence = Sequence([code("ml", "UCUM", "milliliter")])
    num.MeasuredValueSequence = Sequence([mv])
    pn = pydicom.Dataset()
    pn.RelationshipType, pn.ValueType = "HAS OBS CONTEXT", "PNAME"
    pn.ConceptNameCodeSequence = Sequence([code("121008", "DCM", "Person Observer Name")])
    pn.PersonName = name
    ds.ContentSequence = Sequence([pn, text, num])
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The corpus and the generated objects exported as ISO images, each extracted."""
    tmp = tmp_path_factory.mktemp("web")
    src = tmp / "src"
    src.mkdir()
    for i, f in enumerate(sample_corpus()):
        shutil.copyfile(f.path, src / f"c{i:03d}.dcm")
    for pid, (charset, name, sentence) in SR_CHARSETS.items():
        sr(src / f"{pid}.dcm", pid, charset, name, sentence)
    out = tmp / "out"
    r = subprocess.run([str(dcmdisc_bin()), "export", "--from-folder", str(src), "--out", str(out),
                        "--leave-out-unreadable"], capture_output=True, text=True, errors="replace",
                       timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    isos = sorted(out.rglob("VOL*.iso"))
    assert len(isos) > 10, isos
    return [(iso, extract(iso, tmp)) for iso in isos]


def pages_of(root: Path) -> list[Path]:
    return [p for p in files_of(root) if p.suffix == ".HTM"]


def links(page: Path) -> list[str]:
    tree = ET.parse(page).getroot()
    return [v for el in tree.iter() for k in ("href", "src") if (v := el.get(k))]


def resolve_exact(root: Path, page: Path, link: str) -> Path:
    """The file `link` on `page` names, each component recorded with exactly that case."""
    assert not re.match(r"[a-z][a-z0-9+.-]*:", link, re.I) and "//" not in link, link
    assert "?" not in link and "#" not in link and not link.startswith("/"), link
    at = page.parent
    for part in link.split("/"):
        if part == "..":
            assert at != root, f"{page}: {link} leaves the volume"
            at = at.parent
            continue
        assert part in os.listdir(at), f"{page.relative_to(root)}: {link}: {part!r} is not recorded so"
        at = at / part
    assert at.is_file(), link
    return at


def check_pages(root: Path):
    xmllint = peer_tool("xmllint")
    pages = pages_of(root)
    r = subprocess.run([xmllint, "--noout", "--nonet", *map(str, pages)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    # Valid, too, against the XHTML 1.0 Strict DTD (Debian w3c-sgml-lib).
    catalog = Path("/etc/xml/catalog")
    if not (catalog.exists() and Path("/usr/share/xml/w3c-sgml-lib").exists()):
        unavailable("the XHTML DTDs (Debian w3c-sgml-lib, which scripts/test.sh installs) are missing")
    r = subprocess.run([xmllint, "--noout", "--nonet", "--valid", *map(str, pages)], capture_output=True,
                       text=True, timeout=300, env={**os.environ, "XML_CATALOG_FILES": str(catalog)})
    assert r.returncode == 0, f"not valid XHTML 1.0 Strict:\n{r.stderr[-3000:]}"
    for page in pages:
        text = page.read_text("utf-8")
        if re.fullmatch(r"IHE_PDI/ST\d{6}/SE\d{6}/INDEX\.HTM", page.relative_to(root).as_posix()):
            # A series page names exactly two classic scripts, its data and the viewer, and
            # holds no script of its own (docs/viewer.md); the rest of it is like every page.
            scripts = SERIES_SCRIPTS.replace("\r\n", "\n")  # read_text() reads CRLF as \n
            assert text.count("<script") == 2 and scripts in text, page
            text = text.replace(scripts, "")
        for banned in ("<style", "style=", "<link", "<script", "<iframe", "<frame", "javascript:"):
            assert banned not in text.lower(), (page, banned)
        body = text.split(">", 1)[1].replace('xmlns="http://www.w3.org/1999/xhtml"', "")
        assert not re.search(r"(https?:|ftp:|//)", body), f"a network URL in {page}"


def check_names(root: Path):
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        assert len(rel.parts) <= 8, rel
        assert re.fullmatch(r"[A-Z0-9_]{1,8}" if p.is_dir() else NAME_83, p.name), rel


def crawl(root: Path) -> set[Path]:
    """Every file reached from INDEX.HTM by following links (exact case)."""
    seen, todo = set(), [root / "INDEX.HTM"]
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        if page.suffix == ".HTM":
            todo.extend(resolve_exact(root, page, l) for l in links(page))
    return seen


def volume_patient(root: Path):
    dd = pydicom.dcmread(root / "DICOMDIR")
    return next(r for r in dd.DirectoryRecordSequence if r.DirectoryRecordType == "PATIENT")


def test_every_volume_has_its_web_content(exported):
    """Section 8's checks on every volume: 8.3 upper-case names, xmllint on every page, no
    CSS and no network URL, every link resolving with its exact case, every web file reached
    from INDEX.HTM, one JPEG per frame of each instance on the volume (or a line saying why
    not), README without patient data, DICOM PLUS WEB on the index, the README and the label."""
    not_shown = 0
    for iso, root in exported:
        assert (root / "IHE_PDI" / "INDEX.HTM").is_file(), root
        check_names(root)
        check_pages(root)
        reached = crawl(root)
        web = {p for p in files_of(root) if p.relative_to(root).parts[0] == "IHE_PDI"}
        assert web <= reached, sorted(str(p.relative_to(root)) for p in web - reached)[:5]
        for f in web:
            assert f.suffix in (".HTM", ".JPG", ".PDF", ".SVG") or f.name == "SERIES.TXT", f
            assert f.read_bytes()[128:132] != b"DICM", f
        # The viewer: the same two files on every volume, reached from every series page.
        viewer = {p for p in files_of(root) if p.relative_to(root).parts[0] == "VIEWER"}
        assert {p.name for p in viewer} == {"VIEWER.TXT", "HELP.HTM"}, viewer
        assert viewer <= reached
        index = (root / "INDEX.HTM").read_text("utf-8")
        assert "Content: DICOM PLUS WEB." in index and 'href="IHE_PDI/INDEX.HTM"' in index
        readme = (root / "README.TXT").read_bytes().decode("ascii")
        assert "Content:      DICOM PLUS WEB" in readme and "IHE_PDI/INDEX.HTM" in readme
        assert all(len(l) <= 78 for l in readme.split("\r\n")), readme
        pat = volume_patient(root)
        for secret in (str(pat.PatientID), str(pat.get("PatientBirthDate", "")) or None,
                       person_name(str(pat.PatientName)) or None):
            if secret and len(secret) > 3:
                assert secret not in readme, f"README.TXT holds {secret!r}"
        label = iso.with_suffix(".svg")
        if label.exists():
            assert "DICOM PLUS WEB" in label.read_text("utf-8")
        # Each instance: as many JPEGs on its series page as it has frames, or "Not shown".
        for series_page in root.glob("IHE_PDI/ST*/SE*/INDEX.HTM"):
            text = series_page.read_text("utf-8")
            data = (series_page.parent / "SERIES.TXT").read_text("utf-8")
            assert data.count("DCMDISC_SERIES.push(") == text.count("<h2>Instance "), series_page
            jpegs = sorted(series_page.parent.glob("F*.JPG"))
            assert len(re.findall(r"<img src=\"F\d{7}\.JPG\"", text)) == len(jpegs)
            for n, j in enumerate(jpegs, 1):
                assert j.name == f"F{n:07d}.JPG"
                assert j.read_bytes()[:3] == b"\xff\xd8\xff", j
            not_shown += text.count("Not shown here:")
        # Frames in instance order: the DICOM files of each series, counted with pydicom.
        for series_dir in sorted((root / "DICOM").glob("P*/S*/R*")):
            st, se = int(series_dir.parent.name[1:]), int(series_dir.name[1:])
            page = root / "IHE_PDI" / f"ST{st:06d}" / f"SE{se:06d}" / "INDEX.HTM"
            blocks = page.read_text("utf-8").split("<h2>Instance ")[1:]
            files = sorted(series_dir.iterdir())
            assert len(blocks) == len(files), page
            for block, f in zip(blocks, files):
                ds = pydicom.dcmread(f, stop_before_pixels=True)
                if "Not shown here:" in block or "PixelData" not in pydicom.dcmread(f):
                    continue
                assert block.count("<img ") == int(ds.get("NumberOfFrames", 1) or 1), (page, f)
    # What cannot be shown (if the corpus has any) got its line, and the disc was made.
    print(f"{not_shown} instances not shown")


def test_an_ecg_is_drawn_as_on_paper(exported):
    """pydicom's 12-lead ECG: one SVG path per channel of the first multiplex group (after the
    two grid paths), 25 mm/s and 10 mm/mV, its points where pydicom's waveform_array puts the
    samples (µV, sensitivity, correction and baseline applied)."""
    found = 0
    for _, root in exported:
        for f in (root / "DICOM").rglob("I*"):
            ds = pydicom.dcmread(f)
            if not str(ds.SOPClassUID).startswith("1.2.840.10008.5.1.4.1.1.9."):
                continue
            st, se, n = int(f.parent.parent.name[1:]), int(f.parent.name[1:]), int(f.name[1:])
            svg = root / "IHE_PDI" / f"ST{st:06d}" / f"SE{se:06d}" / f"I{n:07d}.SVG"
            subprocess.run([peer_tool("xmllint"), "--noout", "--nonet", str(svg)], check=True, timeout=60)
            text = svg.read_text("utf-8")
            assert not re.search(r"(https?:|//)", text.replace('xmlns="http://www.w3.org/2000/svg"', ""))
            assert "<script" not in text and "<style" not in text
            group = ds.WaveformSequence[0]
            fs, nch = float(group.SamplingFrequency), int(group.NumberOfWaveformChannels)
            paths = re.findall(r'<path d="([^"]+)" stroke="#000000"', text)
            assert len(paths) == nch, (len(paths), nch)
            seconds = min(int(group.NumberOfWaveformSamples) / fs, 60)
            assert f'width="{34 + seconds * 25:.1f}mm"' in text
            arr = ds.waveform_array(0)
            step = max(1, int(-(-fs // 500)))
            for c in (0, nch - 1):
                points = re.findall(r"[ML]([0-9.]+) ([0-9.]+)", paths[c])
                units = group.ChannelDefinitionSequence[c].ChannelSensitivityUnitsSequence[0].CodeValue
                to_mv = {"uV": 0.001, "mV": 1.0}[units]
                mid = 30 * (c + 0.5)
                for k in (0, 1, 50, 100):
                    x, y = map(float, points[k])
                    assert abs(x - (34 + k * step / fs * 25)) < 0.01, (c, k, x)
                    want = min(max(mid - arr[k * step, c] * to_mv * 10, mid - 15), mid + 15)
                    assert abs(y - want) < 0.01, (c, k, y, want)
            page = (svg.parent / "INDEX.HTM").read_text("utf-8")
            assert f'src="{svg.name}"' in page and f"{nch} channels" in page
            found += 1
    assert found >= 1


def test_sr_pages_show_the_report_in_its_character_set(exported):
    seen = set()
    for _, root in exported:
        pid = str(volume_patient(root).PatientID)
        if pid not in SR_CHARSETS:
            continue
        _, name, sentence = SR_CHARSETS[pid]
        [page] = list(root.glob("IHE_PDI/ST*/SE*/I0000001.HTM"))
        words = " ".join(ET.parse(page).getroot().itertext())
        shown = person_name(name)
        assert shown in words and sentence in words and "12.5 ml" in words, words
        assert "Radiology Report" in words and "Finding" in words
        # The name is right in the web index and the root index too.
        assert shown in (root / "IHE_PDI" / "INDEX.HTM").read_text("utf-8")
        assert shown in (root / "INDEX.HTM").read_text("utf-8")
        seen.add(pid)
    assert seen == set(SR_CHARSETS)


def need_browser(browser: str) -> str:
    """The browser is installed and a network namespace can be made to run it offline: the
    path of `unshare`."""
    exe = {"chromium": "/usr/bin/chromium", "firefox": "/usr/bin/firefox-esr"}[browser]
    if not Path(exe).exists():
        unavailable(f"{exe} is missing (scripts/test.sh installs it)")
    unshare = shutil.which("unshare")
    if not unshare or subprocess.run([unshare, "-n", "true"], capture_output=True).returncode != 0:
        unavailable("cannot make a network namespace (unshare -n) to run the browser offline")
    return unshare


def browse(browser: str, pages: dict[str, Path]) -> list[dict]:
    unshare = need_browser(browser)
    r = subprocess.run([unshare, "-n", "python3", str(HERE / "browsers.py"), browser, str(SHOTS),
                        *(f"{k}={v.as_uri()}" for k, v in pages.items())],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]


@pytest.mark.parametrize("browser", ["chromium", "firefox"])
def test_the_pages_open_from_file_in_real_browsers(exported, browser):
    """INDEX.HTM, the web index, a study, a series and an SR page from file://, offline:
    every image decoded (naturalWidth > 0), no console error, no request that is not a
    file (or the browser's own data: font), and fetch() of a sibling refused (the canary:
    the browser runs with its strict default file policy)."""
    chosen = {}
    for _, root in exported:
        pid = str(volume_patient(root).PatientID)
        series = sorted(root.glob("IHE_PDI/ST*/SE*/INDEX.HTM"))
        has_images = [s for s in series if list(s.parent.glob("F*.JPG"))]
        ct = [s for s in has_images if re.search(r"<h1>Series \S+ CT:", s.read_text("utf-8"))]
        if "CT" not in chosen and ct:
            chosen["CT"] = (root, ct[0])
        if pid in SR_CHARSETS:
            chosen[pid] = (root, series[0].parent / "I0000001.HTM")
        ecg = [s for s in series if list(s.parent.glob("I*.SVG"))]
        if "ECG" not in chosen and ecg:
            chosen["ECG"] = (root, ecg[0])
    assert set(SR_CHARSETS) | {"CT", "ECG"} <= set(chosen), chosen
    pages = {}
    for key, (root, page) in chosen.items():
        pages[f"{key}-index"] = root / "INDEX.HTM"
        pages[f"{key}-web"] = root / "IHE_PDI" / "INDEX.HTM"
        pages[f"{key}-study"] = page.parent.parent / "INDEX.HTM"
        pages[f"{key}-page"] = page
    results = browse(browser, pages)
    assert [r["name"] for r in results] == list(pages)
    for r in results:
        assert not r["problems"], (r["name"], r["problems"])
        assert all(u.startswith(("file:///", "data:")) for u in r["requests"]), (r["name"], r["requests"])
        assert r["canary"] == "blocked", (r["name"], r["canary"])
        assert all(w > 0 for _, w in r["images"]), (r["name"], r["images"])
    by = {r["name"]: r for r in results}
    assert len(by["CT-page"]["images"]) >= 1
    assert len(by["CT-study"]["images"]) >= 1  # the thumbnail
    assert [src for src, _ in by["ECG-page"]["images"]] == ["I0000001.SVG"], by["ECG-page"]["images"]
    for pid, (_, name, sentence) in SR_CHARSETS.items():
        assert person_name(name) in by[f"{pid}-index"]["text"], by[f"{pid}-index"]["text"]
        assert sentence in by[f"{pid}-page"]["text"] and person_name(name) in by[f"{pid}-page"]["text"]
    for name in pages:
        assert (SHOTS / f"{browser}-{name}.png").stat().st_size > 1000


def test_spanned_volumes_carry_only_their_own_web_content(tmp_path):
    """12 instances of 128 KiB over volumes of 1 MiB: each image within capacity with its web
    content, and each volume's JPEGs exactly its own instances' (one per instance here), in
    the DICOMDIR's series."""
    src = tmp_path / "src"
    source_folder(src, charset_files=False, side=256)
    out = tmp_path / "out"
    r = subprocess.run([str(dcmdisc_bin()), "export", "--from-folder", str(src), "--out", str(out),
                        "--capacity-mb", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    isos = sorted(out.rglob("VOL*.iso"))
    assert len(isos) >= 2, isos
    total = 0
    for iso in isos:
        assert iso.stat().st_size <= 1 << 20, iso
        root = extract(iso, tmp_path)
        _, studies, series = dicomdir_hierarchy(root)
        pages = sorted(root.glob("IHE_PDI/ST*/SE*/INDEX.HTM"))
        assert len(pages) == len(series), (pages, series)
        for page, (_, folder, n) in zip(pages, series):
            assert len(list(page.parent.glob("F*.JPG"))) == n, (page, folder, n)
            assert page.read_text("utf-8").count("<h2>Instance ") == n
        assert len(list(root.glob("IHE_PDI/ST*/INDEX.HTM"))) == len(studies)
        check_pages(root)
        assert crawl(root) >= {p for p in files_of(root) if p.relative_to(root).parts[0] == "IHE_PDI"}
        total += sum(n for _, _, n in series)
    assert total == 12


def test_web_content_off_gives_a_dicom_only_disc(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    sr(src / "a.dcm", "OFF1", "ISO_IR 192", "Off^Web", "nothing")
    cfg = tmp_path / "dcmdisc.toml"
    cfg.write_text("[media]\nweb_content = false\n")
    out = tmp_path / "out"
    r = subprocess.run([str(dcmdisc_bin()), "export", "--config", str(cfg), "--from-folder", str(src),
                        "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    [iso] = list(out.rglob("VOL001.iso"))
    root = extract(iso, tmp_path)
    assert not (root / "IHE_PDI").exists()
    assert "Content: DICOM ONLY." in (root / "INDEX.HTM").read_text("utf-8")
    assert "IHE_PDI" not in (root / "README.TXT").read_text("ascii")
    svg = iso.with_suffix(".svg")
    if svg.exists():
        assert "DICOM ONLY" in svg.read_text("utf-8") and "DICOM PLUS WEB" not in svg.read_text("utf-8")


@pytest.mark.parametrize("browser", ["chromium", "firefox"])
def test_a_failing_script_leaves_the_static_series_page(exported, browser, tmp_path):
    """DRG 3.2.1.10: a script that fails must not make the page unusable. A CT series page
    whose SERIES.TXT does not parse, and one whose data make the viewer throw while it
    builds: both still show every frame of the static page (naturalWidth > 0), and the
    viewer is not left half-built. The same page untouched does turn into the viewer."""
    root, page = next((root, s) for _, root in exported
                      for s in sorted(root.glob("IHE_PDI/ST*/SE*/INDEX.HTM"))
                      if len(list(s.parent.glob("F*.JPG"))) >= 2)
    frames = len(list(page.parent.glob("F*.JPG")))
    cases = {}
    for name, data in (("unparsable", "DCMDISC_SERIES.push({ this is not a script"),
                       ("throwing", 'var DCMDISC_SERIES = [];\r\nDCMDISC_SERIES.push({"uid":"1","frames":1,'
                                    '"presets":5});\r\n')):
        copy = tmp_path / name
        shutil.copytree(root, copy)
        target = copy / page.relative_to(root)
        (target.parent / "SERIES.TXT").write_text(data, "utf-8")
        cases[name] = target
    cases["untouched"] = page
    results = {r["name"]: r for r in browse(browser, cases)}
    for name in ("unparsable", "throwing"):
        r = results[name]
        shown = [w for src, w in r["images"] if re.fullmatch(r"F\d{7}\.JPG", src or "")]
        assert len(shown) == frames and all(w > 0 for w in shown), (name, r["images"])
        assert "Show every frame as a list" not in r["text"], (name, r["text"][:2000])
    # Only the unparsable data may leave an error in the console (the browser's own report).
    assert not results["throwing"]["problems"], results["throwing"]["problems"]
    assert "Show every frame as a list" in results["untouched"]["text"]
    assert not results["untouched"]["problems"], results["untouched"]["problems"]
