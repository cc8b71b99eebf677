"""Shared setup of the report tests: a store with the real sources, a registry of hand-made
sites, and the Nord / Creuse diagnostics built once per test session.

* The store is the project's (``make data`` builds it from ``../shared/data``); when it lacks a
  source dataset, the connectors build them from ``../shared/data`` into a temporary store
  beside a copy of the reference geography (as the need model's benchmark does).
* The registry is a temporary GeoPackage holding ``tests/fixtures/reports/
  sites_rapport_fait_main.csv`` (hand-made, fictional): public sites, a site located at the
  commune only, confidential sites, an accompaniment service covering an EPCI, and two sites
  called ``<script>alert(1)</script>``.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from functools import cache
from pathlib import Path

import settings
from geodata.store import Store
from tests.account_support import ADMIN
from tests.bench_report import NEEDED  # the sources a report reads

SHARED_DATA = (settings.PROJECT_ROOT / ".." / "shared" / "data").resolve()
SITES_FILE = settings.PROJECT_ROOT / "tests" / "fixtures" / "reports" / "sites_rapport_fait_main.csv"

XSS_NAME = "<script>alert(1)</script>"
CONFIDENTIAL_NAMES = ("Refuge Confidentiel Zéphyrin", "Abri Confidentiel Faustine")
CONFIDENTIAL_WORDS = ("Zéphyrin", "Faustine", "impasse Secrète", "chemin Faustine")
COMMUNE_LEVEL = {"59": ("Logement Communal Bérénice", "5 rue Bérénice"),
                 "23": ("Maîtrise d'ouvrage Gaspard", "4 rue Gaspard")}
PUBLIC_NAMES = {"59": "Résidence Publique Ambroise", "23": "Pension Creusoise Eugénie"}


def _temporary_folder(prefix: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@cache
def report_store() -> Store:
    """A store holding the reference geography and the real sources the reports read."""
    store = Store()
    if not store.exists("communes"):
        from geodata.build import build_reference

        build_reference(store)
    from connectors.refresh import store_with_sources

    return store_with_sources(NEEDED, SHARED_DATA, _temporary_folder("rapport_stock_"), store)


@cache
def registry_url() -> str:
    """A temporary registry holding the hand-made sites."""
    from operators.importer import import_file
    from operators.repository import Registry

    path = _temporary_folder("rapport_registre_") / "registre.gpkg"
    registry = Registry(f"sqlite:///{path}")
    try:
        result = import_file(SITES_FILE, registry, fictional=True, geocoder=None,
                             store=report_store(), actor=ADMIN)
    finally:
        registry.dispose()
    assert "rejetés : 0" in result.summary_line(), result.summary_line()
    return f"sqlite:///{path}"


@cache
def diagnostic(spec: str):
    """The full diagnostic of ``spec`` (models computed, registry of hand-made sites)."""
    from diagnostics.produce import build

    return build(spec, report_store(), registry_url=registry_url())


@cache
def rendered(spec: str) -> dict[str, object]:
    """Static maps, PDF bytes and HTML text of ``spec``, rendered once."""
    from diagnostics import report

    diag = diagnostic(spec)
    images = report.static_images(diag)
    return {
        "images": images,
        "pdf": report.render_pdf(diag, images),
        "html": report.render_html(diag, images),
    }


def normalise_spaces(text: str) -> str:
    """pdftotext and our formats use narrow/no-break spaces: compare with plain spaces."""
    return text.replace("\u202f", " ").replace("\u00a0", " ")
