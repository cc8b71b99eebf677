"""ANCT (Agence nationale de la cohésion des territoires) commune layers.

* ``qpv2024_communes``: GeoJSON, one point per commune holding at least one quartier
  prioritaire 2024 (``code_qp`` is a comma-separated list). Exhaustive: a commune absent from
  it holds none.
* ``anct_programmes``: programme memberships per commune (COG 2023), one identifier column per
  programme (``id_pvd``, ``id_acv`` …); an empty cell means "not in the programme".
* ``anct_ruralite`` / ``anct_centralite`` / ``anct_montagne``: commune typologies (UTF-8
  with BOM, ``,``). The mountain grid lists only communes of a massif.
* ``ort``: Opérations de revitalisation de territoire, one row per commune of a convention.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from connectors.parsing import (
    LINE_COLUMN,
    Col,
    ParseError,
    Rejects,
    read_csv_text,
    read_source_bytes,
)
from connectors.sources.base import CarrySpec, Parsed, extract

# -- QPV 2024 by commune -------------------------------------------------------------------
QPV_CARRY = CarrySpec(counts=("qpv_count",), first=("qpv_codes", "qpv_names"))
QPV_FILL = {"qpv_count": 0.0}


def parse_qpv_communes(path: Path, member: str | None = None) -> Parsed:
    """Number and codes of the QPV 2024 of each commune."""
    raw, name = read_source_bytes(path, member or r"qpv.*\.geojson$")
    try:
        collection = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"Fichier « {name} » : GeoJSON illisible ({exc}).") from exc
    features = collection.get("features")
    if not isinstance(features, list):
        raise ParseError(f"Fichier « {name} » : pas de liste « features » (GeoJSON attendu).")
    rows = []
    for index, feature in enumerate(features, start=1):
        props = dict(feature.get("properties") or {})
        props[LINE_COLUMN] = index  # feature number, for messages
        rows.append(props)
    frame = pd.DataFrame(rows)
    frame = frame.astype(object).where(frame.notna(), "")
    spec = {
        "code": Col(r"insee_com", "insee_com"),
        "qpv_codes": Col(r"code_qp", "code_qp"),
        "qpv_names": Col(r"lib_qp", "lib_qp"),
    }
    table, rejects, found, _ = extract(frame, spec, source=name)
    codes = table["qpv_codes"].fillna("").str.split(",")
    codes = codes.map(lambda items: [c.strip() for c in items if c.strip()])
    table["qpv_count"] = codes.map(len).astype(float)
    table["qpv_codes"] = codes.map(", ".join)
    table = table[["code", "qpv_count", "qpv_codes", "qpv_names"]]
    return Parsed(
        table=table,
        rejects=rejects,
        columns={**found, "qpv_count": found["qpv_codes"]},
        notes={"communes_lues": len(frame), "qpv_total": int(table["qpv_count"].sum()),
               "liste_exhaustive": "commune absente = aucun QPV"},
    )


# -- programmes ----------------------------------------------------------------------------
# Identifier column → stored boolean column.
PROGRAMMES: dict[str, tuple[str, str]] = {
    "pvd": ("id_pvd", "Petites villes de demain"),
    "acv": ("id_acv", "Action cœur de ville"),
    "acv2": ("id_acv2", "Action cœur de ville 2"),
    "territoires_industrie": ("id_ti", "Territoires d'industrie"),
    "crte": ("id_crte", "Contrat pour la réussite de la transition écologique"),
    "france_services": ("id_fs", "France Services"),
    "villages_avenir": ("id_va", "Villages d'avenir"),
    "habitat_inclusif": ("id_habinclus", "Habitat inclusif"),
    "cites_educatives": ("id_cite", "Cités éducatives"),
    "manufactures_proximite": ("id_ami", "Manufactures de proximité"),
    "fabriques_prospectives": ("id_fabp", "Fabriques prospectives"),
    "avenir_montagnes": ("id_amm", "Avenir montagnes mobilités"),
    "campus_connectes": ("id_cde", "Campus connectés"),
    "sites_patrimoniaux": ("id_site", "Sites patrimoniaux"),
}
PROGRAMME_FLAGS = tuple(f"programme_{key}" for key in PROGRAMMES)
PROGRAMME_CARRY = CarrySpec(flags=PROGRAMME_FLAGS)


def parse_programmes(path: Path, member: str | None = None) -> Parsed:
    """One boolean per programme: the commune holds a non-empty identifier."""
    raw, name = read_source_bytes(path, member or r"programmes.*\.csv$")
    frame = read_csv_text(raw, name=name, sep=",")
    spec = {"code": Col(r"insee_com", "insee_com")}
    spec |= {
        f"programme_{key}": Col(rf"{column}", column, required=key in {"pvd", "acv"})
        for key, (column, _) in PROGRAMMES.items()
    }
    table, rejects, found, _ = extract(frame, spec, source=name)
    for column in found:
        if column != "code":
            table[column] = table[column].notna()
    return Parsed(
        table=table,
        rejects=rejects,
        columns=found,
        notes={
            "lignes_lues": len(frame),
            "programmes": {f"programme_{k}": label for k, (_, label) in PROGRAMMES.items()},
        },
    )


# -- typologies ----------------------------------------------------------------------------
def _typology(path: Path, member: str, column: str, target: str) -> Parsed:
    raw, name = read_source_bytes(path, member)
    frame = read_csv_text(raw, name=name, sep=",")
    spec = {"code": Col(r"insee_com", "insee_com"), target: Col(column, column)}
    table, rejects, found, _ = extract(frame, spec, source=name)
    return Parsed(table=table, rejects=rejects, columns=found, notes={"lignes_lues": len(frame)})


TYPOLOGY_CARRY = {
    "anct_ruralite": CarrySpec(first=("rural_typology",)),
    "anct_centralite": CarrySpec(first=("centrality_level",)),
    "anct_montagne": CarrySpec(first=("mountain_massif",), flags=("mountain",)),
}


def parse_ruralite(path: Path, member: str | None = None) -> Parsed:
    """ANCT rural typology (« Les ruralités … », or out of scope for urban communes)."""
    return _typology(path, member or r"ruralite.*\.csv$", "niveau_ruralite", "rural_typology")


def parse_centralite(path: Path, member: str | None = None) -> Parsed:
    """ANCT level of centrality of equipment and services."""
    return _typology(
        path, member or r"centralite.*\.csv$", "niveau_centralite", "centrality_level"
    )


def parse_montagne(path: Path, member: str | None = None) -> Parsed:
    """Mountain massif of the communes of a massif (the list is exhaustive)."""
    parsed = _typology(path, member or r"montagne.*\.csv$", "niveau_montagne", "mountain_massif")
    parsed.table["mountain"] = True
    parsed.notes["liste_exhaustive"] = "commune absente = hors massif"
    return parsed


MONTAGNE_FILL = {"mountain": False}


# -- ORT -----------------------------------------------------------------------------------
ORT_COLUMNS: dict[str, Col] = {
    "code": Col(r"code_commune", "Code commune"),
    "ort_status": Col(r"signee", "Signée ?"),
    "ort_signature_date": Col(r"si_signee_date_de_signature", "Si signée, date de signature"),
    "ort_commune_role": Col(r"statut_de_la_commune", "Statut de la commune"),
    "ort_progress": Col(r"avancement", "Avancement", required=False),
}
ORT_CARRY = CarrySpec(
    first=("ort_status", "ort_signature_date", "ort_commune_role", "ort_progress"),
    flags=("ort", "ort_signed"),
)
ORT_FILL = {"ort": False, "ort_signed": False}


def parse_ort(path: Path, member: str | None = None) -> Parsed:
    """Communes in an ORT convention: whether signed, and when."""
    raw, name = read_source_bytes(path, member or r"ort.*\.csv$")
    frame = read_csv_text(raw, name=name, sep=",")
    table, rejects, found, _ = extract(frame, ORT_COLUMNS, source=name)
    table["ort"] = True
    table["ort_signed"] = table["ort_status"].str.lower().eq("signée").fillna(False)
    _check_dates(table, "ort_signature_date", rejects, name)
    return Parsed(
        table=table,
        rejects=rejects,
        columns={**found, "ort": found["code"], "ort_signed": found["ort_status"]},
        notes={"lignes_lues": len(frame), "liste_exhaustive": "commune absente = pas d'ORT"},
    )


def _check_dates(table: pd.DataFrame, column: str, rejects: Rejects, name: str) -> None:
    """Keep ISO dates as text; report (and blank) the unreadable ones."""
    values = table[column]
    parsed = pd.to_datetime(values, format="%Y-%m-%d", errors="coerce")
    bad = values.notna() & parsed.isna()
    for index in table.index[bad.to_numpy()]:
        rejects.add(None, column, values.loc[index], f"date illisible ({name}), laissée manquante")
    table[column] = values.where(~bad)
