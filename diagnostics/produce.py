"""One call from a territory specification to files: used by the command line and the app.

``produce("dep:59", ["pdf", "xlsx"], Path("sortie"))`` gathers the inputs once, builds the
diagnostic once, draws the static maps once, and writes each requested format.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from diagnostics import exports, report
from diagnostics.document import Diagnostic
from diagnostics.inputs import gather
from diagnostics.territory_diagnostic import build_diagnostic
from geodata.store import Store

REPORT_FORMATS = ("pdf", "html", "docx")
DATA_FORMATS = ("xlsx", "csv", "gpkg", "tif")
FORMATS = REPORT_FORMATS + DATA_FORMATS
MIME_TYPES = {
    "pdf": "application/pdf",
    "html": "text/html",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
    "gpkg": "application/geopackage+sqlite3",
    "tif": "image/tiff",
}
# Steps reported to a progress bar: gathering (6), building, maps, then one per format.
GATHER_STEPS = 6


class FormatError(ValueError):
    """Unknown output format (French message)."""


def check_formats(formats: Iterable[str]) -> list[str]:
    chosen = []
    for item in formats:
        for fmt in re.split(r"[,\s]+", str(item).strip().lower()):
            if not fmt:
                continue
            fmt = {"tiff": "tif", "geotiff": "tif", "htm": "html", "geopackage": "gpkg"}.get(fmt, fmt)
            if fmt not in FORMATS:
                raise FormatError(
                    f"Format « {fmt} » inconnu : formats possibles {', '.join(FORMATS)}."
                )
            chosen.append(fmt)
    if not chosen:
        raise FormatError(f"Aucun format demandé (formats possibles : {', '.join(FORMATS)}).")
    return list(dict.fromkeys(chosen))


def default_file_name(diag: Diagnostic, fmt: str) -> str:
    return f"diagnostic_{diag.slug}.{fmt}"


@dataclass
class Produced:
    spec: str
    diagnostic: Diagnostic
    files: dict[str, list[Path]] = field(default_factory=dict)


def build(
    spec: str,
    store: Store | None = None,
    progress: Callable[[str], None] | None = None,
    when_gathered: Callable[[object], object] | None = None,
    **gather_options,
) -> Diagnostic:
    """Gather the inputs of ``spec`` and build its diagnostic (``operations``: the saved
    operations of « Montage d'opération », for the section « Modèle économique »;
    ``when_gathered``: called with the inputs before the sections are built, returns the
    sections built while the gap was computed or None,
    :class:`~diagnostics.territory_diagnostic.GapFreeSections`)."""
    step = progress or (lambda _label: None)
    operations = gather_options.pop("operations", None)
    inputs = gather(spec, store, progress=step, **gather_options)
    early = when_gathered(inputs) if when_gathered is not None else None
    step("Assemblage du diagnostic")
    return build_diagnostic(inputs, operations=operations, early=early)


def render(diag: Diagnostic, fmt: str, images: dict[str, bytes] | None = None,
           printer=None) -> bytes:
    """The bytes of one report format (pdf, html, docx) or of an export (xlsx, csv)
    (``printer``: the PDF's Chromium when the caller started it, :func:`pdf_printer`)."""
    if fmt == "pdf":
        return report.render_pdf(diag, images, printer)
    if fmt == "html":
        return report.render_html(diag, images).encode("utf-8")
    if fmt == "docx":
        return report.render_docx(diag, images)
    if fmt == "xlsx":
        return exports.xlsx_bytes(diag)
    if fmt == "csv":
        return exports.csv_bytes(diag.exports["communes"])
    raise FormatError(f"Le format « {fmt} » s'écrit dans un fichier (utilisez write).")


def write(diag: Diagnostic, fmt: str, path: Path, images: dict[str, bytes] | None = None,
          printer=None) -> list[Path]:
    """Write one format to ``path``; return the files written."""
    path = Path(path)
    if fmt in REPORT_FORMATS:
        exports._atomic_bytes(path, render(diag, fmt, images, printer))
        return [path]
    return exports.WRITERS[fmt](diag, path)


def produce(
    spec: str,
    formats: Iterable[str],
    out: Path,
    *,
    store: Store | None = None,
    out_is_dir: bool | None = None,
    progress: Callable[[str], None] | None = None,
    **gather_options,
) -> Produced:
    """Build the diagnostic of ``spec`` and write every format.

    ``out`` is the file to write when one format is asked and ``out_is_dir`` is false; it is a
    folder otherwise (files named ``diagnostic_<territoire>.<format>``).
    """
    formats = check_formats(formats)
    step = progress or (lambda _label: None)
    maps = any(f in REPORT_FORMATS for f in formats)
    with pdf_printer("pdf" in formats) as printer, _Meanwhile(printer, maps) as meanwhile:
        diag = build(spec, store, progress=step, while_waiting=meanwhile,
                     when_gathered=meanwhile.gathered, **gather_options)
        images = None
        if maps:
            step("Cartes")
            images = report.background_images(diag, early=meanwhile.early)  # other cores
        out = Path(out)
        as_dir = out_is_dir if out_is_dir is not None else (len(formats) > 1 or out.is_dir())
        produced = Produced(spec, diag)
        for fmt in formats:
            step(f"Écriture {fmt.upper()}")
            target = out / default_file_name(diag, fmt) if as_dir else out
            produced.files[fmt] = write(diag, fmt, target, images, printer)
    return produced


class _Meanwhile:
    """What the build does while it waits for the territory's gap (``gather``'s
    ``while_waiting``): where maps will be drawn, load matplotlib (the children inherit it),
    then build the sections that need no gap and draw their maps in a child
    (:class:`~diagnostics.background_maps.EarlyMaps`), which sends the sections first; start
    the PDF's Chromium.
    Once the gap is known (:meth:`gathered`), draw the gap's maps in a child while the other
    sections are built."""

    def __init__(self, printer, maps: bool) -> None:
        self.printer, self.maps = printer, maps
        self.early: list = []

    def __call__(self, known) -> None:
        if self.maps:
            from diagnostics.background_maps import EarlyMaps
            from diagnostics.static_maps import warm_up

            warm_up()
            self.early.append(EarlyMaps(known))
        if self.printer is not None:  # the child is at work meanwhile
            self.printer.start()

    def gathered(self, inputs):
        """Start the gap's maps; return the sections built meanwhile (or None)."""
        if not self.early:
            return None
        if inputs.gap is not None:
            from diagnostics.background_maps import GAP, EarlyMaps

            self.early.append(EarlyMaps(inputs, stage=GAP))
        return self.early[0].sections()

    def __enter__(self) -> _Meanwhile:
        return self

    def __exit__(self, *_exc) -> None:
        for early in self.early:
            early.close()


@contextlib.contextmanager
def pdf_printer(wanted: bool):
    """The PDF's Chromium (:func:`diagnostics.pdf_chromium.shared`: kept for the process's
    next documents) when a PDF is to be printed by it, started by whoever calls its ``start``
    first (the build, while it waits for the territory's gap; otherwise the PDF itself);
    None otherwise."""
    from diagnostics import pdf_chromium

    yield pdf_chromium.shared() if wanted and pdf_chromium.wanted() else None


def report_bytes(spec: str, fmt: str, store: Store | None = None, **gather_options) -> tuple[bytes, str, str]:
    """``(content, file name, MIME type)`` of one format, for a download button."""
    (fmt,) = check_formats([fmt])
    with pdf_printer(fmt == "pdf") as printer, _Meanwhile(
            printer, fmt in REPORT_FORMATS) as meanwhile:
        diag = build(spec, store, while_waiting=meanwhile, when_gathered=meanwhile.gathered,
                     **gather_options)
        if fmt in ("gpkg", "tif"):
            import tempfile

            with tempfile.TemporaryDirectory() as folder:
                files = write(diag, fmt, Path(folder) / default_file_name(diag, fmt))
                return files[0].read_bytes(), default_file_name(diag, fmt), MIME_TYPES[fmt]
        images = (report.background_images(diag, early=meanwhile.early)
                  if fmt in REPORT_FORMATS else None)
        return (render(diag, fmt, images, printer), default_file_name(diag, fmt),
                MIME_TYPES[fmt])
