"""Render a :class:`~diagnostics.document.Diagnostic` as HTML, PDF or DOCX.

* HTML: one self-contained file (styles, static maps as data URIs, the interactive Leaflet map
  inlined in an ``iframe srcdoc``); it makes no external request.
* PDF: the same HTML in print mode through WeasyPrint (A4, page numbers, table of contents with
  page numbers, static maps with legend, scale bar and north arrow). WeasyPrint is given a URL
  fetcher that refuses anything but ``data:`` URIs: the PDF never reaches the network either.
* DOCX (python-docx): the same sections, tables and maps, for delegates to edit.

Jinja2 autoescaping and python-docx's plain-text runs keep users' names (operators, sites) as
text: ``<script>alert(1)</script>`` prints as such.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

import jinja2

from diagnostics import document as doc
from diagnostics.document import Diagnostic

TEMPLATES = Path(__file__).with_name("templates")
log = logging.getLogger(__name__)


class ReportError(RuntimeError):
    """A report cannot be rendered (French message)."""


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["kind"] = lambda block: type(block).__name__
    env.filters["css_string"] = css_string
    return env


def css_string(text: str) -> jinja2.utils.markupsafe.Markup:
    """``text`` as the inside of a double-quoted CSS string in a ``<style>`` element: quotes,
    backslashes, line ends and ``<`` written as CSS escapes (no ``</style>`` can close it)."""
    escaped = "".join(
        f"\\{ord(c):X} " if c in '"\\<>&\n\r\'' else c for c in str(text)
    )
    return jinja2.utils.markupsafe.Markup(escaped)


# Printed at the top of every page (PDF) and of the HTML when the demo offer enters the report.
FICTIF_BANNER = "OFFRE FICTIVE DE DÉMONSTRATION — sites, offre et écarts inventés (FICTIF)"


def stylesheet() -> str:
    return (TEMPLATES / "report.css").read_text(encoding="utf-8")


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def static_images(diag: Diagnostic, dpi: int = 150) -> dict[str, bytes]:
    """Every static map of the report, drawn now."""
    from diagnostics.static_maps import render_maps

    return render_maps(diag.maps(), diag.geo, diag.context, dpi=dpi)


def background_images(diag: Diagnostic, dpi: int = 150, early=None):
    """The same maps, drawn on another core while the caller goes on (a mapping whose values
    wait for the drawing; :mod:`diagnostics.background_maps`; ``early``: the maps drawn while
    the gap was computed, :class:`~diagnostics.background_maps.EarlyMaps`)."""
    from diagnostics.background_maps import BackgroundMaps

    return BackgroundMaps(diag, dpi=dpi, early=early)


def render_html(
    diag: Diagnostic,
    images: dict[str, bytes] | None = None,
    interactive: bool = True,
    mode: str = "html",
    uris: dict[str, str] | None = None,
    engine: str = "weasyprint",
) -> str:
    """The report as one HTML document (``mode`` "html" for screen, "pdf" for print).

    ``uris``: each map's address when it is not its data URI (the PDF's placeholders).
    ``engine``: the PDF engine the print mode is written for ("weasyprint" or "chromium":
    :mod:`diagnostics.pdf_chromium`).
    """
    if uris is None:
        uris = {k: png_data_uri(v) for k, v in (static_images(diag) if images is None
                                                 else images).items()}
    map_page = ""
    if interactive:
        from diagnostics.interactive import interactive_map_html

        map_page = interactive_map_html(diag)
    template = environment().get_template("report.html.j2")
    return template.render(
        d=diag,
        css=jinja2.utils.markupsafe.Markup(stylesheet()),
        images=uris,
        interactive=map_page,
        mode=mode,
        fictif_banner=FICTIF_BANNER,
        engine=engine,
        territory_name=diag.title.split(" — ")[-1],
    )


def data_only_fetcher(maps=None):
    """WeasyPrint URL fetcher allowing only ``data:`` URIs (the PDF makes no network request),
    and the ``diagmap:`` placeholders of maps still being drawn (``maps``)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    from diagnostics.background_maps import SCHEME

    class ReportFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            if maps is not None and url.startswith(f"{SCHEME}:"):
                return URLFetcherResponse(url, maps[url.removeprefix(f"{SCHEME}:")],
                                          {"Content-Type": "image/png"})
            return super().fetch(url, headers)

    return ReportFetcher(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=True)


def render_pdf(diag: Diagnostic, images=None, printer=None) -> bytes:
    """The report as PDF bytes (A4, paginated, with table of contents).

    Printed by Chromium where it is installed (:mod:`diagnostics.pdf_chromium`; ``printer``:
    a :class:`~diagnostics.pdf_chromium.Printer` the caller started early; otherwise the
    process's, :func:`~diagnostics.pdf_chromium.shared`), by
    WeasyPrint otherwise or if Chromium fails (the same document, slower). Without ``images``,
    or with maps still being drawn (:func:`background_images`), the document is parsed while
    the maps are drawn: each engine reads a map through its address when it needs its pixels.
    """
    from diagnostics import pdf_chromium
    from diagnostics.background_maps import BackgroundMaps

    maps = background_images(diag) if images is None else images  # forked before Chromium
    try:
        if pdf_chromium.wanted():
            try:
                return _chromium_pdf(diag, maps, printer or pdf_chromium.shared())
            except Exception as exc:  # any failure of the fast engine: the slow one prints
                log.warning("PDF : Chromium n'a pas imprimé le rapport (%s) ; impression par "
                            "WeasyPrint.", exc, exc_info=not isinstance(exc, pdf_chromium.ChromiumError))
        return _weasyprint_pdf(diag, maps)
    finally:
        if isinstance(maps, BackgroundMaps):
            maps.close()


def _chromium_pdf(diag: Diagnostic, maps, printer) -> bytes:
    from diagnostics import pdf_chromium

    drawing = getattr(maps, "drawing", None)
    if drawing is None:  # drawn already: a map repeated under another key has the same bytes
        first: dict[bytes, str] = {}
        same = {key: first.setdefault(png, key) for key, png in maps.items()}
        drawing = same.__getitem__
    uris = {key: f"{pdf_chromium.MAP_ORIGIN}{drawing(key)}.png" for key in maps}
    html = render_html(diag, images=maps, interactive=False, mode="pdf", uris=uris,
                       engine="chromium")
    return printer.print(html, maps, [(s.id, s.title) for s in diag.sections])


def _weasyprint_pdf(diag: Diagnostic, maps) -> bytes:
    import weasyprint

    from diagnostics.background_maps import BackgroundMaps

    if isinstance(maps, BackgroundMaps):
        html = render_html(diag, images=maps, interactive=False, mode="pdf",
                           uris={key: maps.uri(key) for key in maps})
        return weasyprint.HTML(string=html, url_fetcher=data_only_fetcher(maps)).write_pdf()
    html = render_html(diag, images=maps, interactive=False, mode="pdf")
    return weasyprint.HTML(string=html, url_fetcher=data_only_fetcher()).write_pdf()


# -- DOCX ---------------------------------------------------------------------------------------
def _docx_table(document, table: doc.Table) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document.add_paragraph(table.title, style="Caption")
    grid = document.add_table(rows=1, cols=len(table.columns))
    grid.style = "Table Grid"
    for cell, text in zip(grid.rows[0].cells, table.columns, strict=True):
        cell.text = ""
        run = cell.paragraphs[0].add_run(str(text))
        run.bold = True
        run.font.size = Pt(8)
    for row in table.rows:
        cells = grid.add_row().cells
        for i, (cell, text) in enumerate(zip(cells, row, strict=True)):
            cell.text = ""
            run = cell.paragraphs[0].add_run(str(text))
            run.font.size = Pt(8)
            if table.numeric[i]:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for extra in (table.note, table.source):
        if extra:
            paragraph = document.add_paragraph()
            run = paragraph.add_run(extra)
            run.italic = True
            run.font.size = Pt(7.5)


def _docx_toc(document) -> None:
    """A Word table-of-contents field (updated by Word: « Mettre à jour la table »)."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph = document.add_paragraph()
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    instruction = OxmlElement("w:instrText")
    instruction.set(qn("xml:space"), "preserve")
    instruction.text = 'TOC \\o "1-2" \\h \\z \\u'
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    placeholder = OxmlElement("w:t")
    placeholder.text = "Sommaire : clic droit puis « Mettre à jour les champs » dans Word."
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    for element in (begin, instruction, separate, placeholder, end):
        run._r.append(element)


def render_docx(diag: Diagnostic, images: dict[str, bytes] | None = None) -> bytes:
    """The report as an editable Word document."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, Pt

    if images is None:
        images = static_images(diag)
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.8))
    document.styles["Normal"].font.size = Pt(9.5)
    document.core_properties.title = diag.title
    document.core_properties.language = "fr-FR"
    document.add_heading(diag.title, level=0)
    document.add_paragraph(diag.subtitle)
    document.add_paragraph(
        "Document destiné à un public large. Données publiques sous Licence Ouverte / Etalab 2.0 ; "
        "chaque figure cite son producteur et son millésime."
    )
    document.add_heading("Sommaire", level=1)
    _docx_toc(document)
    for number, part in enumerate(diag.sections, start=1):
        document.add_page_break()
        document.add_heading(f"{number}. {part.title}", level=1)
        for block in part.blocks:
            _docx_block(document, block, images)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _docx_block(document, block, images: dict[str, bytes]) -> None:
    from docx.shared import Cm, Pt

    if isinstance(block, doc.Subtitle):
        document.add_heading(block.text, level=2)
    elif isinstance(block, doc.Paragraph):
        if block.text:
            document.add_paragraph(block.text)
    elif isinstance(block, doc.Notice):
        run = document.add_paragraph().add_run(block.text)
        run.italic = True
    elif isinstance(block, doc.Bullets):
        if block.title:
            document.add_paragraph().add_run(block.title).bold = True
        for item in block.items:
            document.add_paragraph(item, style="List Bullet")
    elif isinstance(block, doc.KeyFigure):
        paragraph = document.add_paragraph()
        paragraph.add_run(block.value).bold = True
        paragraph.add_run(f" {block.label}")
    elif isinstance(block, doc.KeyMessage):
        paragraph = document.add_paragraph()
        if block.figure:
            run = paragraph.add_run(f"{block.figure}  ")
            run.bold = True
            run.font.size = Pt(13)
        paragraph.add_run(block.title).bold = True
        document.add_paragraph(block.text)
    elif isinstance(block, doc.Table):
        _docx_table(document, block)
    elif isinstance(block, doc.Chart):
        document.add_paragraph(block.title, style="Caption")
        document.add_picture(io.BytesIO(block.png), width=Cm(16.5))
        for extra in (block.note, block.source):
            if extra:
                run = document.add_paragraph().add_run(extra)
                run.italic = True
                run.font.size = Pt(7.5)
    elif isinstance(block, doc.MapSpec):
        document.add_paragraph(block.title, style="Caption")
        png = images.get(block.key)
        if png:
            document.add_picture(io.BytesIO(png), width=Cm(16.5))
        for extra in (block.note, block.source):
            if extra:
                run = document.add_paragraph().add_run(extra)
                run.italic = True
                run.font.size = Pt(7.5)


RENDERERS: dict[str, Callable[..., bytes | str]] = {
    "html": render_html,
    "pdf": render_pdf,
    "docx": render_docx,
}
