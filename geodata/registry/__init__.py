"""The members' offer: operators' sites imported, located, stored and shown safely.

Public interface (see ``SCHEMA.md`` for the schema, in French):

* :func:`import_file` / :func:`prepare_import` + :func:`write_prepared` — import a CSV, XLSX or
  GeoJSON file (every row imported or rejected with a French reason);
* :class:`Registry` — the database (SQLite/GeoPackage file, or PostgreSQL/PostGIS with
  ``DATABASE_URL``): ``sites()``, ``coverage()``, ``operators()``, ``import_log()``;
* :func:`sites_for`, :func:`map_points`, :func:`area_totals`, :func:`coverage_totals` — what an
  audience (``"public"`` or ``"interne"``) may see; every map, table and export goes through them;
* :func:`export_registry` — CSV, XLSX, GeoPackage exports;
* :data:`DEMO_FILE` — the fictional demo offer;
* :func:`geodata.registry.bench.bench_import` — the import benchmark.
"""

from geodata.registry.confidentiality import (
    INTERNAL,
    PUBLIC,
    area_totals,
    coverage_totals,
    map_points,
    sites_for,
)
from geodata.registry.demo import DEMO_FILE
from geodata.registry.exports import export_registry, export_tables
from geodata.registry.importer import (
    ImportFileError,
    ImportResult,
    field_labels,
    import_file,
    prepare_import,
    write_prepared,
)
from geodata.registry.repository import Registry, RegistryError

__all__ = [
    "DEMO_FILE", "INTERNAL", "PUBLIC", "ImportFileError", "ImportResult", "Registry",
    "RegistryError", "area_totals", "coverage_totals", "export_registry",
    "export_tables", "field_labels", "import_file", "map_points", "prepare_import", "sites_for",
    "write_prepared",
]
