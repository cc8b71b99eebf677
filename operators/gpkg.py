"""The few GeoPackage rules that make the SQLite registry file open as a GeoPackage.

A GeoPackage (OGC 12-128r18) is a SQLite file with an application id, three metadata tables
(spatial reference systems, contents, geometry columns) and geometries stored as a small header
followed by standard WKB. Writing them here keeps the registry one file that QGIS or
``pyogrio.read_dataframe(path, layer="sites")`` open directly, with no GDAL at write time.
"""

from __future__ import annotations

import struct

import numpy as np
import shapely

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10400  # GeoPackage 1.4

WGS84_DEFINITION = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)

METADATA_DDL = (
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT UNIQUE, description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
        srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
)

SRS_ROWS = (
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined",
     "undefined cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined",
     "undefined geographic coordinate reference system"),
    ("WGS 84 geodetic", 4326, "EPSG", 4326, WGS84_DEFINITION,
     "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
)


def point_blobs(lon: np.ndarray, lat: np.ndarray, srs_id: int = 4326) -> list[bytes | None]:
    """GeoPackage binary points (little-endian header, no envelope, then WKB); None if missing."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    out: list[bytes | None] = [None] * len(lon)
    if ok.any():
        wkb = shapely.to_wkb(shapely.points(lon[ok], lat[ok]), byte_order=1)
        header = b"GP" + bytes([0, 0b00000001]) + struct.pack("<i", srs_id)
        for i, blob in zip(np.flatnonzero(ok), wkb, strict=True):
            out[i] = header + blob
    return out


def point_wkb(lon: np.ndarray, lat: np.ndarray) -> list[bytes | None]:
    """Plain WKB points (for PostGIS ``ST_GeomFromWKB``); None if missing."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    ok = np.isfinite(lon) & np.isfinite(lat)
    out: list[bytes | None] = [None] * len(lon)
    if ok.any():
        for i, blob in zip(np.flatnonzero(ok), shapely.to_wkb(shapely.points(lon[ok], lat[ok])),
                           strict=True):
            out[i] = blob
    return out


def register_statements(
    feature_tables: dict[str, str], attribute_tables: dict[str, str]
) -> list[tuple[str, dict]]:
    """(SQL, parameters) declaring the tables in ``gpkg_contents`` (idempotent)."""
    contents = (
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, "
        "srs_id) VALUES (:t, :kind, :t, :d, :srs)"
    )
    statements: list[tuple[str, dict]] = []
    for table, description in feature_tables.items():
        statements.append((contents, {"t": table, "kind": "features", "d": description, "srs": 4326}))
        statements.append((
            "INSERT OR IGNORE INTO gpkg_geometry_columns VALUES (:t, 'geom', 'POINT', 4326, 0, 0)",
            {"t": table},
        ))
    for table, description in attribute_tables.items():
        statements.append((contents, {"t": table, "kind": "attributes", "d": description, "srs": None}))
    return statements
