"""Benchmarks of the reports (``make bench``): lines ``bench <name> <value> <unit>``.

Target (issue): a département report in PDF in at most 20 s. Measured on Nord (59, 647
communes), end to end (read the store and the registry, need and gap models, sections, static
maps, PDF printing):

* ``report_pdf_dep59_s``: the usual case, national need index already computed (it is kept in
  the store per state of its inputs, so every report after the first one reuses it);
* ``report_pdf_dep59_cold_s``: the first report of the process (imports, parameters, Chromium's
  start), with an empty cache folder (``DIAG_CACHE_DIR``); the need index is recomputed only
  when the store's is not fresh (about 15–20 s more);
* the other formats of the same diagnostic, and Creuse (23) for a small département;
* ``report_cli_dep23_s`` and ``report_pdf_dep23_peak_mb``: ``python -m diagnostics report dep:23
  --format pdf`` run in a child process (imports included), its wall time and its peak resident
  memory read from ``/usr/bin/time -v`` (target: at most 400 MB). GNU time reports the largest
  of the process and its own children (``models.forked``: the territory's gap and the maps
  are computed in forked children), each counting the pages it shares with its parent.

``report_pdf_dep59_s`` is measured as a user gets it on this machine, through
``produce.report_bytes`` (the app's download; the command line goes the same way), after the
cold report in the same process, as in the app: the territory's gap and the maps are computed
on the second core (``models.forked``) while the parent reads the sources; the parameters that
every gap reads again were loaded by the parent before the first report's child was forked
(``results.prepare_gap``); the process's Chromium, started during the first report, is kept
(``pdf_chromium.shared``) and parses the document while the last maps are drawn. The
results kept in memory (the need index) are forgotten before it (``results.clear_memory``):
it reads them from the store again. The breakdown lines below it (build, maps, Chromium printing with
Chromium started, WeasyPrint for comparison) are each measured alone, one after the other, so
they add up to more than the report.

The store is the project's when it holds the sources (``make data``); otherwise the connectors
build them from ``../shared/data`` into a temporary store. The registry is the project's when
it exists, otherwise a temporary one holding the FICTIONAL demo offer.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import settings
from geodata.store import Store
from tests.account_support import ADMIN

NEEDED = (
    "filosofi_2021_com", "filosofi_2019_com", "comparateur", "census_iris_2021",
    "grille_densite_2025", "qpv2024_communes", "anct_programmes", "zonage_abc_2024",
    "tlv_zone_tendue",
)


def _line(name: str, value: float, unit: str) -> str:
    return f"bench {name} {value:.3f} {unit}"


def _store(workdir: Path) -> Store:
    from connectors.refresh import store_with_sources

    source_dir = settings.source_dir() or (settings.PROJECT_ROOT.parent / "shared" / "data")
    return store_with_sources(NEEDED, source_dir, workdir / "stock")


def _registry_url(workdir: Path) -> str:
    from operators.repository import Registry, default_url

    url = default_url()
    if not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).exists():
        return url
    from operators.demo import DEMO_FILE
    from operators.importer import import_file

    url = f"sqlite:///{workdir / 'registre_demo.gpkg'}"
    registry = Registry(url)
    try:
        import_file(DEMO_FILE, registry, fictional=True, geocoder=None, actor=ADMIN)
    finally:
        registry.dispose()
    return url


def _timed(function: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


TIME_V = Path("/usr/bin/time")
PEAK = re.compile(r"Maximum resident set size \(kbytes\):\s*(\d+)")


def cli_report(spec: str, out: Path, store: Store, registry_url: str) -> tuple[float, float | None]:
    """Wall time (s) and peak resident memory (MB) of ``python -m diagnostics report`` in a child.

    The peak is read from GNU time's ``-v`` output (« Maximum resident set size ») when
    ``/usr/bin/time`` exists; otherwise only the time is measured.
    """
    command = [sys.executable, "-m", "diagnostics", "report", spec, "--format", "pdf",
               "--out", str(out), "--registre", registry_url, "--sans-barre"]
    measured = TIME_V.exists()
    if measured:
        command = [str(TIME_V), "-v", *command]
    env = {**os.environ, "DIAG_DATA_DIR": str(store.root)}
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=settings.PROJECT_ROOT, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"report {spec} failed ({done.returncode}): {done.stderr[-2000:]}")
    match = PEAK.search(done.stderr) if measured else None
    return elapsed, (int(match.group(1)) / 1024 if match else None)


def bench_report() -> list[str]:
    from diagnostics import pdf_chromium, report
    from diagnostics.produce import build, report_bytes
    from models import results

    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench_rapport_") as folder:
        workdir = Path(folder)
        store = _store(workdir)
        url = _registry_url(workdir)

        # Cold: the process's first report, with an empty cache folder (the need index is read
        # from the store when it is fresh, computed and stored otherwise).
        previous = os.environ.get("DIAG_CACHE_DIR")
        os.environ["DIAG_CACHE_DIR"] = str(workdir / "cache_froid")
        results.clear_memory()
        try:
            cold, _ = _timed(lambda: report_bytes("dep:59", "pdf", store, registry_url=url))
        finally:
            if previous is None:
                os.environ.pop("DIAG_CACHE_DIR", None)
            else:
                os.environ["DIAG_CACHE_DIR"] = previous
        lines.append(_line("report_pdf_dep59_cold_s", cold, "s"))

        # Usual: need index read from the store (the first call persisted it there).
        results.national_need(store)
        results.clear_memory()
        total, (pdf, _name, _mime) = _timed(
            lambda: report_bytes("dep:59", "pdf", store, registry_url=url))
        lines.append(_line("report_pdf_dep59_s", total, "s"))
        lines.append(_line("report_pdf_dep59_mb", len(pdf) / 1e6, "MB"))

        build_s, diag = _timed(lambda: build("dep:59", store, registry_url=url))
        lines.append(_line("report_build_dep59_s", build_s, "s"))
        maps_s, images = _timed(lambda: report.static_images(diag))
        lines.append(_line("report_static_maps_dep59_s", maps_s, "s"))
        if pdf_chromium.wanted():
            pdf_s, _ = _timed(lambda: report.render_pdf(diag, images))
            lines.append(_line("report_chromium_dep59_s", pdf_s, "s"))
        previous_engine = os.environ.get(pdf_chromium.ENGINE_ENV)
        os.environ[pdf_chromium.ENGINE_ENV] = "weasyprint"
        try:
            pdf_s, _ = _timed(lambda: report.render_pdf(diag, images))
        finally:
            if previous_engine is None:
                os.environ.pop(pdf_chromium.ENGINE_ENV, None)
            else:
                os.environ[pdf_chromium.ENGINE_ENV] = previous_engine
        lines.append(_line("report_weasyprint_dep59_s", pdf_s, "s"))
        html_s, html = _timed(lambda: report.render_html(diag, images))
        lines.append(_line("report_html_dep59_s", html_s, "s"))
        lines.append(_line("report_html_dep59_mb", len(html.encode("utf-8")) / 1e6, "MB"))
        docx_s, _ = _timed(lambda: report.render_docx(diag, images))
        lines.append(_line("report_docx_dep59_s", docx_s, "s"))

        from diagnostics import exports

        xlsx_s, _ = _timed(lambda: exports.xlsx_bytes(diag))
        lines.append(_line("export_xlsx_dep59_s", xlsx_s, "s"))
        gpkg_s, _ = _timed(lambda: exports.write_gpkg(diag, workdir / "nord.gpkg"))
        lines.append(_line("export_gpkg_dep59_s", gpkg_s, "s"))
        if diag.raster_writer is not None:
            tif_s, _ = _timed(lambda: exports.write_geotiff(diag, workdir / "nord.tif"))
            lines.append(_line("export_geotiff_dep59_s", tif_s, "s"))

        creuse, _ = _timed(lambda: report_bytes("dep:23", "pdf", store, registry_url=url))
        lines.append(_line("report_pdf_dep23_s", creuse, "s"))

        # The command line as a user runs it: imports included, in its own process.
        cli_s, peak_mb = cli_report("dep:23", workdir / "creuse.pdf", store, url)
        lines.append(_line("report_cli_dep23_s", cli_s, "s"))
        if peak_mb is not None:
            lines.append(_line("report_pdf_dep23_peak_mb", peak_mb, "MB"))
    return lines


if __name__ == "__main__":
    for text in bench_report():
        print(text, flush=True)
