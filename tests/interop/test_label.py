"""`dcmdisc label`: the disc label's PDF read by poppler and its SVG by xmllint, for names
decoded by pydicom (not by us) from PS3.5's character-set examples; a custom template from the
config, with markup in the data; a name no configured font covers refused, not boxed."""

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pydicom.charset import decode_element
from pydicom.dataelem import DataElement

from helpers import dcmdisc_bin, peer_tool, write_config

NAMES = {
    "ir87": (b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
             ["", "ISO 2022 IR 87"], ["Yamada", "山田", "太郎", "やまだ", "たろう"], "NotoSansCJKjp"),
    "ir149": (b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf",
              ["", "ISO 2022 IR 149"], ["Hong", "洪", "吉洞", "홍", "길동"], "NotoSansCJKkr"),
    "gb18030": (b"Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", ["GB18030"], ["Wang", "王", "小东"], "NotoSansCJKsc"),
    "cyrillic": ("Люкceмбypг^Иван".encode(), ["ISO_IR 192"], ["Люкceмбypг", "Иван"], None),
    "greek": ("Διονυσιος".encode(), ["ISO_IR 192"], ["Διονυσιος"], None),
}


def decoded(raw: bytes, charsets) -> str:
    elem = DataElement(0x00100010, "PN", raw)
    decode_element(elem, charsets)
    return str(elem.value)


def label(tmp_path: Path, name: str, *extra, config: dict | None = None, check=True):
    cmd = [str(dcmdisc_bin())]
    if config is not None:
        cmd += ["--config", str(write_config(tmp_path / "dcmdisc.toml", config))]
    cmd += ["label", "--name", name, "--birth-date", "19700102", "--study", "20261130:CT,SR",
            "--institution", "Example <Hospital> & Co", "--web", "--disc", "1", "--discs", "2",
            "--created", "20261201", "--job", "9", "--out", str(tmp_path / "out"), *extra]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.mark.parametrize("tag", list(NAMES))
def test_label_pdf_has_the_name_in_glyphs_and_text(tmp_path, tag):
    pdftoppm, pdffonts, pdftotext = (peer_tool(t) for t in ("pdftoppm", "pdffonts", "pdftotext"))
    xmllint = peer_tool("xmllint")
    raw, charsets, words, face = NAMES[tag]
    name = decoded(raw, charsets)
    label(tmp_path, name, "--stem", tag)
    pdf, svg = tmp_path / "out" / f"{tag}.pdf", tmp_path / "out" / f"{tag}.svg"
    subprocess.run([xmllint, "--noout", str(svg)], check=True)

    fonts = subprocess.run([pdffonts, str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(r.split()[-5] == "yes" for r in rows), f"a font not embedded:\n{fonts}"
    if face:
        assert face in fonts, f"{face} (the name's regional face) not used:\n{fonts}"

    text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    for word in words + ["Example <Hospital> & Co", "DICOM PLUS WEB", "Disc 1 of 2", "Job 9"]:
        assert word in text, f"{word!r} not in the PDF's text:\n{text}"

    # Rasterised, the page is not blank: some dark pixels, mostly white.
    subprocess.run([pdftoppm, "-gray", "-r", "72", "-singlefile", str(pdf), str(tmp_path / tag)], check=True)
    pgm = (tmp_path / f"{tag}.pgm").read_bytes()
    header = pgm.split(b"\n", 3)
    width, height = map(int, header[1].split())
    pixels = header[3][-width * height:]
    dark = sum(1 for p in pixels if p < 128) / (width * height)
    assert 0.005 < dark < 0.3, dark


def test_custom_template_from_config_escapes_the_data(tmp_path):
    xmllint = peer_tool("xmllint")
    template = tmp_path / "mine.svg.j2"
    template.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="60mm" height="30mm" viewBox="0 0 60 30">'
        '<text x="2" y="10" font-family="{{ font_family }}" font-size="{{ fit(patient_name, 6, 56) }}">'
        '{{ patient_name }}</text><text x="2" y="20" font-size="4">{{ institution }} / {{ disc_text }}</text></svg>',
        encoding="utf-8")
    label(tmp_path, '<b>Evil</b>&^"Name"', config={"label": {"template": "mine.svg.j2"}})
    svg = (tmp_path / "out" / "label.svg").read_text(encoding="utf-8")
    subprocess.run([xmllint, "--noout", str(tmp_path / "out" / "label.svg")], check=True)
    texts = [t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ['<b>Evil</b>&, "Name"', "Example <Hospital> & Co / Disc 1 of 2"], texts
    assert "<b>" not in svg, svg
    assert (tmp_path / "out" / "label.pdf").read_bytes().startswith(b"%PDF-")


def test_a_name_no_configured_font_covers_is_refused(tmp_path):
    config = {"label": {"system_fonts": False, "font_paths": ["/usr/share/fonts/truetype/dejavu"]}}
    result = label(tmp_path, decoded(*NAMES["ir87"][:2]), config=config, check=False)
    assert result.returncode != 0
    assert "no font covers" in result.stderr and "山" in result.stderr, result.stderr
    assert not (tmp_path / "out" / "label.pdf").exists()
