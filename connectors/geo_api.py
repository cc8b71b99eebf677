"""geo.api.gouv.fr: communes of a département with their outlines.

``GET /departements/{code}/communes?fields=…&format=geojson&geometry=contour`` answers a GeoJSON
FeatureCollection whose ``properties`` hold the requested fields (OpenAPI definition, « API
Géo » 1.1). Asking ``fields=contour`` alone does not return the polygon as geometry: the
``format=geojson&geometry=contour`` pair does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import pandas as pd
import requests
import shapely.geometry

import settings
from connectors import http

GEO_API_URL = "https://geo.api.gouv.fr"
LICENCE = "Licence Ouverte / Etalab 2.0"
SOURCE = "geo.api.gouv.fr (Etalab, d'après INSEE COG et IGN Admin Express)"

# Fields of a commune in the OpenAPI definition (definitions/Commune).
COMMUNE_FIELDS = frozenset({
    "nom", "code", "codeParent", "codesPostaux", "siren", "centre", "surface", "contour", "mairie",
    "bbox", "codeEpci", "epci", "codeDepartement", "departement", "codeRegion", "region",
    "population", "anciensCodes", "deleguees", "associees", "zone",
})
DEFAULT_FIELDS: tuple[str, ...] = (
    "nom", "code", "codesPostaux", "siren", "codeEpci", "codeDepartement", "codeRegion",
    "population",
)
STRING_FIELDS = ("nom", "code", "codeParent", "siren", "codeEpci", "codeDepartement",
                 "codeRegion", "zone")
_DEP_CODE = re.compile(r"^(0[1-9]|1\d|2[1-9]|[3-8]\d|9[0-5]|2A|2B|97[1-6])$")  # no "20"


class GeoApiError(RuntimeError):
    """geo.api.gouv.fr could not answer (French message)."""


def communes_of_departement(
    dep: str,
    *,
    fields: Sequence[str] = DEFAULT_FIELDS,
    session: requests.Session | None = None,
    base_url: str = GEO_API_URL,
) -> gpd.GeoDataFrame:
    """Communes of département ``dep`` with their outline, in WGS84.

    Parameters
    ----------
    dep
        Département code as a string (``"01"``, ``"2A"``, ``"974"``).
    fields
        Fields of the OpenAPI definition to ask for (``code`` is always added).

    Returns
    -------
    One row per commune: the requested fields (codes as strings, ``population`` and ``surface``
    numeric, missing kept missing) and the outline as geometry (EPSG:4326).
    """
    code = str(dep).strip().upper()
    if not _DEP_CODE.match(code):
        raise GeoApiError(
            f"Code de département invalide : « {dep} » (attendu : 01 à 95 sauf 20, 2A, 2B ou 971 à 976)."
        )
    unknown = [f for f in fields if f not in COMMUNE_FIELDS]
    if unknown:
        raise GeoApiError(f"Champ(s) inconnu(s) de l'API Géo : {', '.join(unknown)}.")
    asked = list(dict.fromkeys([*(f for f in fields if f != "contour"), "code"]))
    session = session or http.default_session()
    data = http.get_json(
        session,
        f"{base_url.rstrip('/')}/departements/{code}/communes",
        params={"fields": ",".join(asked), "format": "geojson", "geometry": "contour"},
        what=f"les communes du département {code} (geo.api.gouv.fr)",
        not_found=f"Département « {code} » introuvable sur geo.api.gouv.fr (404).",
    )
    return features_to_frame(data, ["code", *(f for f in asked if f != "code")])


def features_to_frame(data: Any, fields: Sequence[str]) -> gpd.GeoDataFrame:
    """GeoDataFrame of a geo.api GeoJSON answer (one column per requested field)."""
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise GeoApiError("Réponse de geo.api.gouv.fr inattendue : pas de FeatureCollection.")
    records: list[dict[str, Any]] = []
    geometries = []
    for position, feature in enumerate(data["features"]):
        props = feature.get("properties") or {}
        if not props.get("code"):
            raise GeoApiError(f"Réponse de geo.api.gouv.fr : entité n° {position + 1} sans code.")
        records.append({f: props.get(f) for f in fields})
        geometry = feature.get("geometry")
        geometries.append(shapely.geometry.shape(geometry) if geometry else None)
    frame = pd.DataFrame.from_records(records, columns=list(fields))
    for column in STRING_FIELDS:
        if column in frame:
            frame[column] = frame[column].astype("string")
    if "population" in frame:
        frame["population"] = pd.to_numeric(frame["population"], errors="coerce").astype("Int64")
    if "surface" in frame:  # hectares
        frame["surface"] = pd.to_numeric(frame["surface"], errors="coerce").astype(float)
    return gpd.GeoDataFrame(frame, geometry=geometries, crs=settings.CRS_DISPLAY)
