"""ANCT quartiers prioritaires de la politique de la ville 2024: outlines.

The national archive holds ``QP2024_France_Hexagonale_Outre_Mer_WGS84.geojson`` (≈ 1,584
features, WGS84) with properties ``code_qp``, ``lib_qp``, ``insee_reg``, ``insee_dep``,
``insee_com`` (main commune), ``lib_com``, ``siren_epci``. The file (or the zip holding it) is
read with pyogrio; invalid outlines are repaired with ``make_valid`` and counted.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import geopandas as gpd
import shapely

import settings
from connectors.parsing import Col, ParseError, Rejects, clean_codes, match_columns, read_source_bytes
from connectors.sources.base import Parsed

MEMBER = r"^qp2024.*wgs84\.geojson$"
COLUMNS: dict[str, Col] = {
    "qpv_code": Col(r"code_qp", "code_qp"),
    "qpv_name": Col(r"lib_qp", "lib_qp"),
    "code": Col(r"insee_com", "insee_com"),
    "commune_name": Col(r"lib_com", "lib_com", required=False),
    "dep_code": Col(r"insee_dep", "insee_dep", required=False),
    "epci_siren": Col(r"siren_epci", "siren_epci", required=False),
}
QPV_CODE = re.compile(r"^Q[NP][0-9A-Z]{5,7}$")


def parse(path: Path, member: str | None = None) -> Parsed:
    """Parse the QPV 2024 outlines (GeoJSON, or the ANCT zip holding it)."""
    raw, name = read_source_bytes(path, member or MEMBER)
    try:
        frame = gpd.read_file(io.BytesIO(raw))
    except Exception as exc:  # pyogrio raises several error types for unreadable data
        raise ParseError(f"Fichier « {name} » : couche géographique illisible ({exc}).") from exc
    found, _ = match_columns([c for c in frame.columns if c != "geometry"], COLUMNS, name)
    rejects = Rejects(name)
    table = gpd.GeoDataFrame(
        {target: frame[actual].astype(str).str.strip() for target, actual in found.items()},
        geometry=frame.geometry.values,
        crs=frame.crs or settings.CRS_DISPLAY,
    ).to_crs(settings.CRS_DISPLAY)
    codes, valid = clean_codes(table["code"])
    for index in table.index[~valid.to_numpy()]:
        rejects.add(index + 1, found["code"], table.at[index, "code"],
                    "code commune invalide, quartier gardé sans code")
    table["code"] = codes
    bad_qpv = ~table["qpv_code"].str.fullmatch(QPV_CODE.pattern).fillna(False)
    for index in table.index[bad_qpv.to_numpy()]:
        rejects.add(index + 1, found["qpv_code"], table.at[index, "qpv_code"],
                    "code de quartier inattendu (gardé)")
    invalid = ~table.geometry.is_valid & table.geometry.notna()
    table.loc[invalid, "geometry"] = shapely.make_valid(table.geometry[invalid].values)
    return Parsed(
        table=table,
        rejects=rejects,
        columns=found,
        notes={"quartiers_lus": len(table), "contours_repares": int(invalid.sum())},
    )
