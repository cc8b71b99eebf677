"""The report printed by headless Chromium (diagnostics.pdf_chromium), and WeasyPrint's fallback.

Hand-made documents: a cover, a table of contents and three sections whose lengths are known
(the second one fills three pages), so the contents' page numbers can be checked by hand; the
attacks are an external image, an external stylesheet and a script in the page.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pypdf
import pytest

from diagnostics import pdf_chromium, report
from diagnostics.report import css_string

pytestmark = pytest.mark.skipif(
    not pdf_chromium.wanted() or shutil.which("pdftotext") is None,
    reason="Chromium, Playwright ou pdftotext absent : lancez `make system`",
)

SECTIONS = [("un", "Un"), ("deux", "Deux"), ("trois", "Trois")]
PNG = (  # a 1×1 red pixel
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
    b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)
CSS = """@page { size: A4; margin: 20mm;
  @bottom-right { content: "Page " counter(page) " sur " counter(pages); } }
.cover, .toc { break-after: page; } .section { break-before: page; }
.toc a { display: flex; } .toc .toc-fill { flex: 1; } .toc .toc-page { min-width: 2em; }"""


def _document(extra: str = "") -> str:
    sections = {"un": 1, "deux": 130, "trois": 1}  # paragraphs: « deux » fills three pages
    toc = "".join(
        f'<li><a href="#{key}"><span class="toc-label">Section {key}</span>'
        f'<span class="toc-fill"></span><span class="toc-page" data-cible="{key}"></span></a></li>'
        for key in sections)
    body = "".join(
        f'<section class="section" id="{key}"><h2>Titre {key}</h2>'
        + "".join(f"<p>Paragraphe {i} de la section {key}.</p>" for i in range(count))
        + "</section>"
        for key, count in sections.items())
    return (f"<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'><style>{CSS}</style>"
            f"</head><body><section class='cover'><h1>Couverture</h1></section>"
            f"<nav class='toc'><h2>Sommaire</h2><ol>{toc}</ol></nav>{body}{extra}</body></html>")


def _pages(pdf: bytes, tmp_path) -> list[str]:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         text=True, check=True)
    return out.stdout.split("\f")[:-1]


def test_contents_give_the_page_of_each_section(tmp_path):
    pdf = pdf_chromium.print_pdf(_document(), {}, SECTIONS)
    pages = _pages(pdf, tmp_path)
    starts = {key: next(i + 1 for i, page in enumerate(pages) if f"Titre {key}" in page)
              for key in ("un", "deux", "trois")}
    assert starts["un"] == 3 and starts["trois"] - starts["deux"] >= 3  # « deux » is long
    for key, number in starts.items():
        assert f"Section {key}" in pages[1]
        line = next(line for line in pages[1].splitlines() if f"Section {key}" in line)
        assert line.split()[-1] == str(number)
    assert f"Page 2 sur {len(pages)}" in pages[1]
    # The contents' links still lead to the sections after their page was printed again.
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    destinations = {str(a.get_object()["/Dest"]).lstrip("/")
                    for a in reader.pages[1].get("/Annots", [])}
    assert destinations == {"un", "deux", "trois"}
    assert [(item.title, reader.get_destination_page_number(item) + 1)
            for item in reader.outline] == [(f"{rank}. {title}", starts[key])
                                            for rank, (key, title) in enumerate(SECTIONS, 1)]


def test_nothing_but_the_reports_maps_is_requested_and_no_script_runs(tmp_path):
    attack = ('<img src="http://example.com/pixel.png"><link rel="stylesheet" '
              'href="https://example.org/x.css"><script>document.body.innerHTML = "PIRATE";'
              '</script>'
              f'<img src="{pdf_chromium.MAP_ORIGIN}besoin.png">'
              f'<img src="{pdf_chromium.MAP_ORIGIN}inconnue.png">')
    refused: list[str] = []
    pdf = pdf_chromium.print_pdf(_document(attack), {"besoin": PNG}, SECTIONS,
                                 refused=refused)
    assert set(refused) == {"http://example.com/pixel.png", "https://example.org/x.css",
                            f"{pdf_chromium.MAP_ORIGIN}inconnue.png"}
    text = "".join(_pages(pdf, tmp_path))
    assert "PIRATE" not in text and "Titre trois" in text
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    sizes = [image.image.size for page in reader.pages for image in page.images]
    assert sizes.count((1, 1)) == 1, sizes  # the map served (refused images: an icon at most)


def test_one_printer_prints_one_document_after_another_with_the_same_guards(tmp_path):
    """The first document goes to the page opened when Chromium started (its renderer ready
    before the document is), the next ones to new pages: each refuses the same requests, and
    the second document shows nothing of the first."""
    attack = '<img src="http://example.com/pixel.png"><script>document.title = "x";</script>'
    with pdf_chromium.Printer() as printer:
        assert printer._opened is not None  # opened while something else was computed
        refused: list[str] = []
        first = printer.print(_document(attack + "<p>PREMIER</p>"), {}, SECTIONS, refused)
        assert printer._opened is None
        second_refused: list[str] = []
        second = printer.print(_document(attack), {}, SECTIONS, second_refused)
    assert refused == second_refused == ["http://example.com/pixel.png"]
    assert "PREMIER" in "".join(_pages(first, tmp_path))
    assert "PREMIER" not in "".join(_pages(second, tmp_path))
    assert _pages(second, tmp_path)[1].split() == _pages(first, tmp_path)[1].split()


def test_css_string_cannot_close_the_style_element():
    escaped = css_string('Côtes-d\'Armor "x" </style><script>')
    assert "<" not in escaped and ">" not in escaped and '"' not in escaped
    assert escaped.startswith("Côtes-d\\27 Armor")


@pytest.fixture(scope="module")
def creuse(shared_data):
    from tests import report_support as support

    return support.diagnostic("dep:23")


def test_weasyprint_prints_when_chromium_is_missing(creuse, monkeypatch):
    monkeypatch.setenv(pdf_chromium.EXECUTABLE_ENV, "/nulle/part/chromium")
    pdf = report.render_pdf(creuse, report.static_images(creuse))
    assert "WeasyPrint" in pypdf.PdfReader(io.BytesIO(pdf)).metadata.producer


def test_weasyprint_prints_when_chromium_fails(creuse, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise pdf_chromium.ChromiumError("panne simulée")

    monkeypatch.setattr(pdf_chromium.Printer, "print", broken)
    with caplog.at_level(logging.WARNING, logger="diagnostics.report"):
        pdf = report.render_pdf(creuse, report.static_images(creuse))
    assert "WeasyPrint" in pypdf.PdfReader(io.BytesIO(pdf)).metadata.producer
    assert "panne simulée" in caplog.text


def _tokens(text: str) -> set[str]:
    """Words split at spaces and hyphens (a line may end on any hyphen), soft hyphens dropped,
    in lower case (the cover's kicker is printed in capitals)."""
    words = re.split(r"[\s\-\u2010\u2011\u2013]+", text.replace("\u00ad", "").lower())
    return {word for word in words if word}


HIDDEN = ("style", "script", "title", "footer")  # the colophon is left out of print (report.css)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in HIDDEN

    def handle_endtag(self, tag):
        self._skip -= tag in HIDDEN

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def test_chromium_prints_every_word_of_the_report(creuse, tmp_path):
    """Every word of the document Chromium is given is on its pages: whole, or cut in two at
    the end of a line of a narrow table cell."""
    images = report.static_images(creuse)
    pdf = report.render_pdf(creuse, images)
    assert "Skia" in pypdf.PdfReader(io.BytesIO(pdf)).metadata.producer
    html = report.render_html(creuse, images=images, interactive=False, mode="pdf",
                              engine="chromium")
    parser = _Text()
    parser.feed(html)
    expected = _tokens(" ".join(parser.parts))
    printed = _tokens(" ".join(_pages(pdf, tmp_path)))
    missing = {word for word in expected - printed
               if not any(word[:cut] in printed and word[cut:] in printed
                          for cut in range(1, len(word)))}
    assert not missing, sorted(missing)[:30]
    assert len({image.name for page in pypdf.PdfReader(io.BytesIO(pdf)).pages
                for image in page.images}) >= 5  # the maps, each drawn once


def test_the_apps_download_is_printed_by_chromium_from_a_script_thread(shared_data):
    """The app prepares a PDF in Streamlit's script thread (no event loop there, other threads
    around, so no child is forked): Playwright's synchronous API runs there too."""
    import threading

    from diagnostics.produce import report_bytes
    from tests import report_support as support

    found = {}

    def prepare() -> None:
        try:
            pdf, name, _mime = report_bytes("dep:23", "pdf", support.report_store(),
                                            registry_url=support.registry_url())
            found["producer"] = pypdf.PdfReader(io.BytesIO(pdf)).metadata.producer
            found["name"] = name
        except Exception as exc:  # reported below
            found["error"] = repr(exc)

    thread = threading.Thread(target=prepare, name="ScriptRunner.scriptThread")
    thread.start()
    thread.join(300)
    assert "error" not in found, found
    assert "Skia" in found["producer"] and found["name"] == "diagnostic_creuse.pdf"
