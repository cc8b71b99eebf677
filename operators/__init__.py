"""The members' offer: operators' sites imported, located, stored and shown safely.

Public interface (see ``SCHEMA.md`` for the schema, in French):

* :func:`import_file` / :func:`prepare_import` + :func:`write_prepared` — import a CSV, XLSX or
  GeoJSON file (every row imported or rejected with a French reason);
* :class:`Registry` — the database (SQLite/GeoPackage file, or PostgreSQL/PostGIS with
  ``DATABASE_URL``): ``sites()``, ``coverage()``, ``operators()``, ``import_log()``;
* :func:`sites_for`, :func:`map_points`, :func:`area_totals`, :func:`coverage_totals` — what an
  audience (``"public"`` or ``"interne"``) may see; every map, table and export goes through them;
* :func:`export_registry` — CSV, XLSX, GeoPackage exports;
* :mod:`operators.publics` (vocabulary of publics), :mod:`operators.activity` (yearly activity
  per site), :mod:`operators.snapshots` (dated snapshots and their comparison);
* :data:`DEMO_FILE` — the fictional demo offer;
* :func:`tests.bench_registry.bench_import` — the import benchmark.
"""

from operators.confidentiality import (
    INTERNAL,
    PUBLIC,
    area_totals,
    coverage_totals,
    map_points,
    sites_for,
)
from operators.demo import DEMO_FILE
from operators.exports import export_registry, export_tables
from operators.importer import (
    ImportFileError,
    ImportResult,
    field_labels,
    import_file,
    prepare_import,
    write_prepared,
)
from operators.repository import Registry, RegistryError

__all__ = [
    "DEMO_FILE", "INTERNAL", "PUBLIC", "ImportFileError", "ImportResult", "Registry",
    "RegistryError", "area_totals", "coverage_totals", "export_registry",
    "export_tables", "field_labels", "import_file", "map_points", "prepare_import", "sites_for",
    "write_prepared",
]
