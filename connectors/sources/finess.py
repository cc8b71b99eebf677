"""FINESS (Etalab extract with geolocation): shelters and supported housing, as points.

File ``etalab-cs1100507-stock-<date>.csv``: no header line; a first line
``finess;etalab;<n>;<extraction date>``, then two record types told apart by their first
field:

* ``structureet``: 32 fields (``nofinesset``, ``nofinessej``, ``rs``, ``rslongue`` … ``commune``
  (3 digits), ``departement`` (``01`` … ``2A`` … ``9A`` for Guadeloupe …), ``categetab``,
  ``libcategetab`` … ``dateouv`` …);
* ``geolocalisation``: ``nofinesset``, ``coordxet``, ``coordyet``, ``sourcecoordet`` (which
  names the projection: Lambert-93 in metropolitan France, UTM overseas), ``datemaj``.

Only the categories of the "accueil, hébergement, insertion" and supported housing sector
are kept. The commune code is rebuilt as ``departement + commune`` (``9A`` + ``101`` →
``97101``). An establishment without usable coordinates is kept with an empty geometry and
``geolocated = False``, never dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

import settings
from connectors.parsing import (
    ParseError,
    Rejects,
    clean_codes,
    read_source_bytes,
    sniff_encoding,
    to_number,
)
from connectors.sources.base import Parsed

STRUCTURE_FIELDS = [
    "structureet", "nofinesset", "nofinessej", "rs", "rslongue", "complrs", "compldistrib",
    "numvoie", "typvoie", "voie", "compvoie", "lieuditbp", "commune", "departement",
    "libdepartement", "ligneacheminement", "telephone", "telecopie", "categetab",
    "libcategetab", "categagretab", "libcategagretab", "siret", "codeape", "codemft", "libmft",
    "codesph", "libsph", "dateouv", "dateautor", "datemaj", "numuai",
]
GEO_FIELDS = ["geolocalisation", "nofinesset", "coordxet", "coordyet", "sourcecoordet", "datemaj"]

# Categories kept (FINESS "catégorie d'établissement"); the label stored is the one read in
# the file, these are used only when the file gives none.
CATEGORIES: dict[str, str] = {
    "214": "Centre d'hébergement et de réinsertion sociale (CHRS)",
    "219": "Autre centre d'accueil",
    "256": "Foyer de travailleurs migrants",
    "257": "Foyer de jeunes travailleurs",
    "258": "Maison relais – pension de famille",
    "259": "Résidence sociale (hors maison relais)",
    "443": "Centre d'hébergement (catégorie 443)",
}

# FINESS département codes of the overseas départements → INSEE prefix "97".
_OVERSEAS = {"9A": "97", "9B": "97", "9C": "97", "9D": "97", "9E": "97", "9F": "97"}
_OVERSEAS_DEP = {"9A": "971", "9B": "972", "9C": "973", "9D": "974", "9E": "975", "9F": "976"}
# Projection named in ``sourcecoordet`` (older extracts use keywords, newer ones EPSG codes).
_CRS_KEYWORDS = [
    (re.compile(r"EPSG:(\d{4,5})"), None),
    (re.compile(r"LAMBERT[_ ]?93|RGF93", re.I), "EPSG:2154"),
    (re.compile(r"UTM[_ ]?(?:ZONE[_ ]?)?N?20N?|ANTILLES|RGAF09", re.I), "EPSG:5490"),
    (re.compile(r"UTM[_ ]?(?:ZONE[_ ]?)?N?22N?|GUYANE|RGFG95", re.I), "EPSG:2972"),
    (re.compile(r"UTM[_ ]?(?:ZONE[_ ]?)?S?40S?|REUNION|RGR92", re.I), "EPSG:2975"),
    (re.compile(r"UTM[_ ]?(?:ZONE[_ ]?)?S?38S?|MAYOTTE|RGM04", re.I), "EPSG:4471"),
    (re.compile(r"UTM[_ ]?(?:ZONE[_ ]?)?N?21N?|MIQUELON", re.I), "EPSG:4467"),
]


def crs_of(source: str, departement: str | None = None) -> str:
    """Projection of a ``sourcecoordet`` value; by département when it names none."""
    text = source or ""
    for regex, crs in _CRS_KEYWORDS:
        match = regex.search(text)
        if match:
            return crs or f"EPSG:{match.group(1)}"
    dep = _OVERSEAS_DEP.get(departement or "", departement or "")
    return settings.CRS_METRIC_OVERSEAS.get(dep, settings.CRS_METRIC)


def insee_code(departement: pd.Series, commune: pd.Series) -> pd.Series:
    """INSEE commune code from FINESS ``departement`` + 3-digit ``commune``."""
    dep = departement.str.strip().str.upper()
    com = commune.str.strip().str.zfill(3)
    prefix = dep.map(lambda d: _OVERSEAS.get(d, d.zfill(2) if d.isdigit() else d))
    return prefix + com


def parse(path: Path, categories: tuple[str, ...] = tuple(CATEGORIES),
          member: str | None = None) -> Parsed:
    """Parse the FINESS extract; return the establishments of ``categories`` as points."""
    raw, name = read_source_bytes(path, member or r"etalab.*\.csv$")
    encoding = sniff_encoding(raw)
    text = raw.decode(encoding).lstrip("\ufeff")
    rejects = Rejects(name)
    structures: list[list[str]] = []
    geo: list[list[str]] = []
    extraction_date = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split(";")
        kind = fields[0].strip().lower()
        if kind == "finess" and number == 1:
            extraction_date = fields[-1].strip() or None
        elif kind == "structureet":
            if len(fields) != len(STRUCTURE_FIELDS):
                rejects.add(number, "structureet", line[:80],
                            f"{len(fields)} champs au lieu de {len(STRUCTURE_FIELDS)}, ligne écartée")
                continue
            structures.append([*fields, str(number)])
        elif kind == "geolocalisation":
            fields = (fields + [""] * len(GEO_FIELDS))[: len(GEO_FIELDS)]
            geo.append([*fields, str(number)])
        else:
            rejects.add(number, "type d'enregistrement", fields[0][:40],
                        "type inconnu (ni structureet ni geolocalisation), ligne écartée")
    if not structures:
        raise ParseError(
            f"Fichier « {name} » : aucune ligne « structureet » (extrait FINESS attendu, "
            "sans ligne d'en-tête, séparateur « ; »)."
        )
    frame = pd.DataFrame(structures, columns=[*STRUCTURE_FIELDS, "_line"])
    frame = frame.apply(lambda s: s.str.strip())
    kept = frame[frame["categetab"].isin(categories)].copy()
    geo_frame = pd.DataFrame(geo, columns=[*GEO_FIELDS, "_geo_line"]).apply(lambda s: s.str.strip())
    geo_frame = geo_frame.drop_duplicates("nofinesset", keep="last")
    kept = kept.merge(
        geo_frame[["nofinesset", "coordxet", "coordyet", "sourcecoordet", "_geo_line"]],
        on="nofinesset", how="left",
    )
    kept["_line"] = kept["_line"].astype(int)

    codes, valid = clean_codes(insee_code(kept["departement"], kept["commune"]))
    for index in kept.index[~valid.to_numpy()]:
        rejects.add(int(kept.at[index, "_line"]), "commune",
                    f"{kept.at[index, 'departement']}+{kept.at[index, 'commune']}",
                    "code commune invalide, établissement gardé sans code")
    kept["code"] = codes

    geo_lines = pd.to_numeric(kept["_geo_line"], errors="coerce")
    x = to_number(kept["coordxet"].fillna(""), field_name="coordxet", rejects=rejects,
                  lines=geo_lines)
    y = to_number(kept["coordyet"].fillna(""), field_name="coordyet", rejects=rejects,
                  lines=geo_lines)
    kept["source_crs"] = [
        crs_of(s if isinstance(s, str) else "", d)
        for s, d in zip(kept["sourcecoordet"], kept["departement"], strict=True)
    ]
    lon = pd.Series(np.nan, index=kept.index)
    lat = pd.Series(np.nan, index=kept.index)
    usable = x.notna() & y.notna()
    for crs, index in kept[usable].groupby("source_crs").groups.items():
        points = gpd.GeoSeries(gpd.points_from_xy(x[index], y[index]), crs=crs)
        wgs84 = points.to_crs(settings.CRS_DISPLAY)
        lon[index] = wgs84.x.to_numpy()
        lat[index] = wgs84.y.to_numpy()
    missing_geo = ~usable
    for index in kept.index[missing_geo.to_numpy()]:
        rejects.add(int(kept.at[index, "_line"]), "coordxet/coordyet",
                    kept.at[index, "nofinesset"],
                    "établissement sans coordonnées, gardé sans géométrie")

    label = kept["libcategetab"].where(kept["libcategetab"] != "", kept["categetab"].map(CATEGORIES))
    address = (
        kept[["numvoie", "typvoie", "voie"]].agg(" ".join, axis=1).str.split().str.join(" ")
        + ", " + kept["ligneacheminement"]
    ).str.strip(", ")
    table = pd.DataFrame(
        {
            "finess_id": kept["nofinesset"],
            "legal_entity_id": kept["nofinessej"],
            "name": kept["rs"],
            "long_name": kept["rslongue"].replace("", None),
            "category": kept["categetab"],
            "category_label": label,
            "code": kept["code"],
            "departement": kept["departement"],
            "address": address,
            "opened": kept["dateouv"].replace("", None),
            "x_source": x,
            "y_source": y,
            "source_crs": kept["source_crs"],
            "coord_source": kept["sourcecoordet"].fillna("").replace("", None),
            "geolocated": usable,
        }
    )
    geometry = gpd.points_from_xy(lon, lat)
    points = gpd.GeoDataFrame(table, geometry=geometry, crs=settings.CRS_DISPLAY)
    points.loc[~usable.to_numpy(), "geometry"] = None
    return Parsed(
        table=points.reset_index(drop=True),
        rejects=rejects,
        columns={"finess_id": "nofinesset", "category": "categetab", "code":
                 "departement + commune", "x_source": "coordxet", "y_source": "coordyet"},
        notes={
            "date_extraction": extraction_date,
            "etablissements_lus": len(frame),
            "etablissements_retenus": len(points),
            "sans_coordonnees": int(missing_geo.sum()),
            "categories": {c: CATEGORIES[c] for c in categories if c in CATEGORIES},
            "encodage": encoding,
        },
    )
