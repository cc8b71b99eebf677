"""Reports and data exports of a territory's diagnostic.

Data flow (each step takes data and returns data; I/O at the two ends):

``inputs.gather(spec)`` (store, registry, models) → ``territory_diagnostic.build_diagnostic``
(sections as :mod:`document` blocks, public audience only) → ``report`` (HTML, PDF, DOCX with
``static_maps`` and ``interactive``) or ``exports`` (XLSX, CSV, GeoPackage, GeoTIFF).

``produce.produce("dep:59", ["pdf"], Path("rapport.pdf"))`` does it all; the command line is
``python -m diagnostics report dep:59 --format pdf --out rapport_nord.pdf``.
"""
