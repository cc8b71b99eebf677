"""FINESS (published by the ANS): shelters, supported housing and the asylum system, as points.

Three published layouts are read here.

**Etalab extract with geolocation** (``etalab-cs1100507-stock-<date>.csv``, :func:`parse`): no
header line; a first line
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

**Etalab « équipements sociaux » extract** (``etalab-cs1100505-stock-<date>.csv``,
:func:`parse_equipements`): same first line, then ``structureet`` lines (establishment →
legal entity, ignored here) and ``equipementsocial`` lines, one per equipment of an
establishment: ``equipementsocial;nofinesset;de;libde;ta;libta;client;libclient;sourceinfo;
capinstot;capinstm;capinstf;capinsthab;ageminiinst;agemaxiinst;indsupinst;datederinst;
datepremautor;capautot;…;indsupaut;…``. The installed capacity of an establishment is the sum
of ``capinstot`` over its equipments not flagged removed (``indsupinst = O``); the authorised
capacity the sum of ``capautot`` over those whose authorisation is not removed
(``indsupaut``). The positions up to ``indsupinst`` (16th field) are those documented for the
Etalab file; ``capautot`` (19th) and ``indsupaut`` (25th) follow the order of the FINESS
equipment record and are read only when the line is long enough (else the authorised
capacity stays missing, reported). Joined to the points on the FINESS number.

**ANS daily JSON feed** (``finess-structures-journalier-<date>.json``, :func:`parse_ans_json`,
successor of the Etalab extracts): ``{"schemaVersion", "generatedAt", "pmej": [legal entity
{"informationsGeneralesPMEJ", "ege": [establishment {"informationsGeneralesEGE":
{"numFinessEge", "nomEgeCourt", "nomEgeLong", "dateOuverture", "dateFermeture"…},
"categorieentiteGeographiqueExercice", "adresse": [{"cogCommune", "ligneQuatre",
"coordonneesGeographique": {"directionLatitude", "directionLongitude"…}}], "etatObjet"}]}]}``.
Active establishments (``etatObjet = A``, no closing date) of the kept categories become
points in WGS84 (the latitude / longitude fields; the X / Y fields are not used).

Categories 442 (CPH) and 443 (CADA) belong to the asylum system, not to the general
insertion offer: they are kept, with their own family, so that the models show them apart.
"""

from __future__ import annotations

import json
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
    "259": "Autre résidence sociale",
    "442": "Centre provisoire d'hébergement (CPH)",
    "443": "Centre d'accueil de demandeurs d'asile (CADA)",
}
# Family of each category, stored with the points (the asylum system apart).
FAMILIES: dict[str, str] = {
    "214": "hebergement", "219": "hebergement",
    "256": "residence_sociale", "257": "residence_sociale", "259": "residence_sociale",
    "258": "pension_de_famille",
    "442": "asile", "443": "asile",
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
            "family": kept["categetab"].map(FAMILIES),
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


# -- équipements sociaux (capacities) ---------------------------------------------------------
EQUIPMENT_FIELDS = [
    "equipementsocial", "nofinesset", "de", "libde", "ta", "libta", "client", "libclient",
    "sourceinfo", "capinstot", "capinstm", "capinstf", "capinsthab", "ageminiinst",
    "agemaxiinst", "indsupinst", "datederinst", "datepremautor", "capautot", "capautm",
    "capautf", "capauthab", "ageminiaut", "agemaxiaut", "indsupaut", "dateautor", "datemajaut",
    "datemajinst",
]
_INSTALLED_MIN_FIELDS = EQUIPMENT_FIELDS.index("indsupinst") + 1
_AUTHORISED_MIN_FIELDS = EQUIPMENT_FIELDS.index("indsupaut") + 1


def parse_equipements(path: Path, member: str | None = None) -> Parsed:
    """Capacities per establishment from the « équipements sociaux » extract.

    Returns one row per FINESS number: ``finess_id``, ``capacity_installed`` (places
    installed), ``capacity_authorised`` (places authorised), ``equipments`` (lines read).
    A capacity that cannot be read is missing, never zero.
    """
    raw, name = read_source_bytes(path, member or r"etalab.*cs1100505.*\.csv$|etalab.*\.csv$")
    encoding = sniff_encoding(raw)
    text = raw.decode(encoding).lstrip("\ufeff")
    rejects = Rejects(name)
    rows: list[dict] = []
    extraction_date = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(";")]
        kind = fields[0].lower()
        if kind == "finess" and number == 1:
            extraction_date = fields[-1] or None
            continue
        if kind == "structureet":
            continue
        if kind != "equipementsocial":
            rejects.add(number, "type d'enregistrement", fields[0][:40],
                        "type inconnu (ni structureet ni equipementsocial), ligne écartée")
            continue
        if len(fields) < _INSTALLED_MIN_FIELDS:
            rejects.add(number, "equipementsocial", line[:80],
                        f"{len(fields)} champs au lieu d'au moins {_INSTALLED_MIN_FIELDS}, "
                        "ligne écartée")
            continue
        record = dict(zip(EQUIPMENT_FIELDS, fields, strict=False))
        installed = _capacity(record.get("capinstot", ""), number, "capinstot", rejects)
        authorised = np.nan
        if len(fields) >= _AUTHORISED_MIN_FIELDS:
            authorised = _capacity(record.get("capautot", ""), number, "capautot", rejects)
        rows.append({
            "finess_id": record["nofinesset"],
            "installed": np.nan if record["indsupinst"].upper() == "O" else installed,
            "authorised": np.nan if record.get("indsupaut", "").upper() == "O" else authorised,
            "installed_removed": record["indsupinst"].upper() == "O",
            "authorised_known": len(fields) >= _AUTHORISED_MIN_FIELDS,
        })
    if not rows:
        raise ParseError(
            f"Fichier « {name} » : aucune ligne « equipementsocial » (extrait FINESS des "
            "équipements sociaux attendu, sans ligne d'en-tête, séparateur « ; »)."
        )
    frame = pd.DataFrame(rows)
    grouped = frame.groupby("finess_id", sort=True)
    table = pd.DataFrame({
        "capacity_installed": grouped["installed"].sum(min_count=1),
        "capacity_authorised": grouped["authorised"].sum(min_count=1),
        "equipments": grouped.size().astype(float),
    }).reset_index()
    # An establishment whose every equipment is removed has no installed place (0, known).
    all_removed = grouped["installed_removed"].all()
    table.loc[table["finess_id"].map(all_removed).to_numpy(), "capacity_installed"] = 0.0
    short = int((~frame["authorised_known"]).sum())
    if short:
        rejects.add(None, "capautot", f"{short} ligne(s)",
                    "ligne trop courte pour la capacité autorisée : laissée manquante")
    return Parsed(
        table=table,
        rejects=rejects,
        columns={"finess_id": "nofinesset", "capacity_installed": "somme de capinstot",
                 "capacity_authorised": "somme de capautot"},
        notes={"date_extraction": extraction_date, "equipements_lus": len(frame),
               "etablissements": len(table), "encodage": encoding},
    )


def _capacity(value: str, line: int, field_name: str, rejects: Rejects) -> float:
    if value == "":
        return np.nan
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        rejects.add(line, field_name, value, "capacité illisible, laissée manquante")
        return np.nan
    if number < 0:
        rejects.add(line, field_name, value, "capacité négative, laissée manquante")
        return np.nan
    return number


# -- ANS daily JSON feed ------------------------------------------------------------------------
def parse_ans_json(path: Path, categories: tuple[str, ...] = tuple(CATEGORIES),
                   member: str | None = None) -> Parsed:
    """Active establishments of ``categories`` from the ANS « structures » JSON feed, as points."""
    raw, name = read_source_bytes(path, member or r"finess.*structures.*\.json$|.*\.json$")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"Fichier « {name} » : JSON illisible ({exc}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("pmej"), list):
        raise ParseError(
            f"Fichier « {name} » : clé « pmej » (liste des entités juridiques) absente : flux "
            "« structures » de l'ANS attendu."
        )
    rejects = Rejects(name)
    rows: list[dict] = []
    read = 0
    for position, entity in enumerate(data["pmej"], start=1):
        general = entity.get("informationsGeneralesPMEJ") or {}
        for establishment in entity.get("ege") or []:
            read += 1
            info = establishment.get("informationsGeneralesEGE") or {}
            category = str(establishment.get("categorieentiteGeographiqueExercice") or "").strip()
            if category not in categories:
                continue
            finess_id = str(info.get("numFinessEge") or "").strip()
            where = f"pmej n° {position} ({finess_id or 'sans numéro'})"
            if establishment.get("etatObjet") != "A" or info.get("dateFermeture"):
                continue
            addresses = establishment.get("adresse") or []
            address = addresses[0] if addresses else {}
            coords = address.get("coordonneesGeographique") or {}
            lat = _float(coords.get("directionLatitude"))
            lon = _float(coords.get("directionLongitude"))
            if lat is None or lon is None:
                rejects.add(None, "coordonneesGeographique", where,
                            "établissement sans coordonnées, gardé sans géométrie")
            code = str(address.get("cogCommune") or "").strip().upper()
            rows.append({
                "finess_id": finess_id,
                "legal_entity_id": str(general.get("numFinessPm") or "").strip() or None,
                "name": str(info.get("nomEgeCourt") or "").strip(),
                "long_name": str(info.get("nomEgeLong") or "").strip() or None,
                "category": category,
                "category_label": CATEGORIES[category],
                "family": FAMILIES[category],
                "code": code or None,
                "address": ", ".join(p for p in (str(address.get("ligneQuatre") or "").strip(),
                                                  str(address.get("ligneAcheminement") or "")
                                                  .strip()) if p),
                "opened": info.get("dateOuverture"),
                "lon": lon, "lat": lat,
            })
    columns = ["finess_id", "legal_entity_id", "name", "long_name", "category",
               "category_label", "family", "code", "address", "opened"]
    frame = pd.DataFrame(rows, columns=[*columns, "lon", "lat"])
    codes, valid = clean_codes(frame["code"].fillna(""))
    for index in frame.index[~valid.to_numpy()]:
        rejects.add(None, "cogCommune", frame.at[index, "code"],
                    f"code commune invalide pour {frame.at[index, 'finess_id']}, gardé sans code")
    frame["code"] = codes
    located = frame["lon"].notna() & frame["lat"].notna()
    frame["geolocated"] = located
    points = gpd.GeoDataFrame(
        frame[[*columns, "geolocated"]],
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=settings.CRS_DISPLAY,
    )
    points.loc[~located.to_numpy(), "geometry"] = None
    return Parsed(
        table=points.reset_index(drop=True),
        rejects=rejects,
        columns={"finess_id": "numFinessEge", "category": "categorieentiteGeographiqueExercice",
                 "code": "adresse.cogCommune"},
        notes={"genere_le": data.get("generatedAt"), "version_schema": data.get("schemaVersion"),
               "etablissements_lus": read, "etablissements_retenus": len(points),
               "sans_coordonnees": int((~located).sum())},
    )


def _float(value: object) -> float | None:
    try:
        number = float(str(value).replace(",", "."))
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None
