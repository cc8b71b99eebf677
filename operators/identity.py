"""Stable identifiers of operators and sites, duplicates within a file and across files.

Identifiers are hashes of what identifies a site for its operator, so that re-importing the same
file (or a corrected version of it) updates the sites instead of adding them again:

* the operator's own site identifier when the file has one;
* otherwise the operator, the offer family, the commune (current COG) and the normalised name
  and address.
"""

from __future__ import annotations

import difflib
import hashlib

import numpy as np
import pandas as pd

from operators.schema import GEO_AREA, GEO_COMMUNE, normalize_text

NAME_SIMILARITY = 0.85
NEAR_M = 30.0


def _digest(*parts: object) -> str:
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def operator_id(name: str) -> str:
    return "op-" + _digest(normalize_text(name))[:12]


def site_key(row: dict) -> tuple:
    """What identifies a site for its operator (see the module docstring)."""
    op = operator_id(row["operator_name"])
    if row.get("source_id"):
        return (op, "id", normalize_text(row["source_id"]))
    place = row.get("commune_code") or row.get("coverage_epci") or row.get("coverage_communes")
    return (
        op, row.get("offer_family"), place, normalize_text(row.get("name")),
        normalize_text(row.get("address")),
    )


def site_id(row: dict) -> str:
    return "site-" + _digest(*site_key(row))[:16]


def duplicates_within(
    rows: pd.DataFrame, first: dict[str, str] | None = None
) -> dict[int, tuple[str, str]]:
    """Rows (by ``pos``) repeating an earlier row's site: (field label, French reason).

    ``first`` (site id -> label of the row that brought it) carries the sites already seen
    from one block of a file to the next; it is updated with this block's new sites.
    """
    first = {} if first is None else first
    out: dict[int, tuple[str, str]] = {}
    columns = ["pos", "site_id", "row_label", "source_id"]
    for pos, sid, row_label, source_id in rows[columns].itertuples(index=False):
        if sid not in first:
            first[sid] = row_label
            continue
        if isinstance(source_id, str) and source_id:
            out[int(pos)] = (
                "identifiant",
                f"« {source_id} » déjà donné {_to(first[sid])} (doublon) ; s'il s'agit de deux "
                "sites distincts, donnez-leur des identifiants différents",
            )
        else:
            out[int(pos)] = (
                "nom du site",
                f"doublon {_of(first[sid])} (même opérateur, nom, adresse, commune et famille "
                "d'offre) ; s'il s'agit de deux sites distincts, donnez-leur un identifiant ou "
                "un nom différent",
            )
    return out


def _of(row_label: str) -> str:
    return f"de l'{row_label}" if row_label.startswith("entité") else f"de la {row_label}"


def _to(row_label: str) -> str:
    return f"à l'{row_label}" if row_label.startswith("entité") else f"à la {row_label}"


def likely_duplicates(new: pd.DataFrame, existing: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """New sites that probably are a site already in the registry under another identifier.

    Same commune and offer family, and either a similar name, the same address, or precise
    points less than ``NEAR_M`` metres apart. Returns ``{new site_id: (existing site_id,
    French description)}``.
    """
    if not len(new) or not len(existing):
        return {}
    existing = existing[~existing["site_id"].isin(new["site_id"])]
    groups = {key: g for key, g in existing.groupby(["commune_code", "offer_family"], sort=False)}
    out: dict[str, tuple[str, str]] = {}
    for row in new.itertuples(index=False):
        group = groups.get((row.commune_code, row.offer_family))
        if group is None:
            continue
        name = normalize_text(row.name)
        address = normalize_text(row.address)
        precise = row.geocode_method not in (GEO_COMMUNE, GEO_AREA) and np.isfinite(row.lon)
        for other in group.itertuples(index=False):
            reason = None
            other_name = normalize_text(other.name)
            if name and other_name and difflib.SequenceMatcher(None, name, other_name).ratio() >= (
                NAME_SIMILARITY
            ):
                reason = "nom semblable"
            elif address and address == normalize_text(other.address):
                reason = "même adresse"
            elif (
                precise
                and other.geocode_method not in (GEO_COMMUNE, GEO_AREA)
                and _distance_m(row.lon, row.lat, other.lon, other.lat) <= NEAR_M
            ):
                reason = f"à moins de {NEAR_M:g} m"
            if reason:
                out[row.site_id] = (
                    other.site_id,
                    f"doublon probable du site « {other.name or other.site_id} » de "
                    f"{other.operator_name} (fichier {other.source_file}) : {reason}, même commune "
                    "et même famille d'offre",
                )
                break
    return out


def _distance_m(lon1, lat1, lon2, lat2) -> float:
    if not all(np.isfinite([lon1, lat1, lon2, lat2])):
        return float("inf")
    k = np.cos(np.radians((lat1 + lat2) / 2))
    return float(np.hypot((lon2 - lon1) * k, lat2 - lat1) * 111_195.0)
