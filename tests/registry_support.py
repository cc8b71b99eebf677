"""The hand-made operators' files of ``tests/fixtures/registry``, shared by the import tests."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "registry"
# One deliberately messy file per format (« fait main »), each with its ``*.attendu.csv``.
MESSY = [
    "sites_desordre_latin1_fait_main.csv",
    "sites_virgule_utf8bom_fait_main.csv",
    "sites_desordre_fait_main.xlsx",
    "sites_fait_main.geojson",
]
