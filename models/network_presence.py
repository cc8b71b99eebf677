"""Who does what where: the members present in each EPCI (or département), their families of
offer and publics, the overlaps and the blanks — to prepare a joint answer to a call for projects.

A site is present in the communes where it stands (a place) or that it covers (a service:
AVDL, FSL, SAVS, through ``site_coverage``). Per area:

* **present**: operators and networks, families of offer, publics;
* **overlaps**: several operators with the same family of offer on the same communes;
* **blanks**: families of offer — the neutral stand-in for the need categories, read against
  the publics through ``operators.publics.PUBLIC_FAMILIES`` — and publics with no member
  present, and communes where no member is present. The registry only knows its members: a
  blank reads « aucun adhérent déclaré », never « aucune offre ».

Confidentiality (``operators.confidentiality``): for the public, confidential sites are in no
figure of this module (no operator, public, commune, family, overlap, blank or total): they are
published only as the per-département bins of the registry's rule (``operators/SCHEMA.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from operators import confidentiality as conf
from operators import publics as pub
from operators.schema import FAMILIES, STATUS_OPEN

LEVELS = {"epci": ("epci_code", "EPCI"), "dep": ("dep_code", "Département")}
NO_MEMBER = "aucun adhérent déclaré"
MAX_LISTED = 12


@dataclass
class Presence:
    """The tables of « qui fait quoi où » for some areas (French column names)."""

    level: str
    audience: str
    areas: pd.DataFrame  # one row per area
    operators: pd.DataFrame  # one row per area and operator
    overlaps: pd.DataFrame  # one row per area, family and set of operators
    blanks: pd.DataFrame  # one row per area and family or public without member
    totals: pd.DataFrame  # sites and capacity per area and family (confidentiality rules)
    fictional: bool


def site_communes(sites: pd.DataFrame, coverage: pd.DataFrame | None) -> pd.DataFrame:
    """``site_id, commune_code``: where each site is present (its commune, covered communes)."""
    located = sites.loc[sites["commune_code"].notna(), ["site_id", "commune_code"]]
    parts = [located]
    if coverage is not None and len(coverage):
        parts.append(coverage[coverage["site_id"].isin(set(sites["site_id"]))][
            ["site_id", "commune_code"]])
    return pd.concat(parts, ignore_index=True).drop_duplicates().reset_index(drop=True)


def presence(
    sites: pd.DataFrame,
    coverage: pd.DataFrame | None,
    communes: pd.DataFrame,
    level: str = "epci",
    audience: str = conf.PUBLIC,
    area_names: dict[str, str] | None = None,
    areas: list[str] | None = None,
    statuses: tuple[str, ...] = (STATUS_OPEN,),
) -> Presence:
    """« Qui fait quoi où » per area.

    Parameters
    ----------
    sites, coverage
        The registry's sites (internal view) and the services' covered communes.
    communes
        ``code, name, epci_code, dep_code`` of the reference communes.
    level
        ``"epci"`` or ``"dep"``.
    areas
        Area codes to describe (all areas where a site is present, by default); an area given
        here without any member is described as a blank.
    statuses
        Sites counted (open ones by default; planned sites are not a presence yet).
    """
    conf.check_audience(audience)
    if level not in LEVELS:
        raise ValueError(f"Échelle « {level} » inconnue : « epci » ou « dep » attendu.")
    key, level_label = LEVELS[level]
    area_names = area_names or {}
    frame = pd.DataFrame(sites).drop(columns="geometry", errors="ignore")
    frame = frame[frame["status"].isin(statuses)].reset_index(drop=True)
    if audience != conf.INTERNAL:
        # For the public a confidential site is in no figure at all — nor in the choice of
        # the areas described: a family, a public, a commune « present », an EPCI listed or
        # an EPCI total would locate it (the rule of SCHEMA.md; issue #23).
        frame = conf.public_supply(frame).reset_index(drop=True)
    frame["_publics"] = [frozenset(pub.split_codes(c)) for c in frame["publics"]]
    frame = _plain_strings(frame)
    communes = _plain_strings(communes[["code", "name", key]])
    where = site_communes(frame, coverage).merge(
        communes[["code", "name", key]].rename(columns={"code": "commune_code",
                                                         "name": "commune_name_ref",
                                                         key: "area"}),
        on="commune_code", how="inner",
    )
    where = where.merge(frame, on="site_id", how="inner", suffixes=("", "_site"))
    wanted = list(dict.fromkeys(areas)) if areas else sorted(where["area"].dropna().unique())
    where = where[where["area"].isin(wanted)]
    visible = where
    communes_per_area = communes[communes[key].isin(wanted)].groupby(key)["code"].apply(list)

    operators = _operators(visible)
    overlaps = _overlaps(visible)
    blanks = _blanks(where, communes_per_area, communes)
    totals = _totals(where, audience)
    rows = []
    empty = where.iloc[0:0]
    where_by = dict(tuple(where.groupby("area"))) if len(where) else {}
    visible_by = dict(tuple(visible.groupby("area"))) if len(visible) else {}
    overlaps_n = overlaps["area"].value_counts() if len(overlaps) else pd.Series(dtype=int)
    blanks_by = dict(tuple(blanks.groupby("area"))) if len(blanks) else {}
    for area in wanted:
        here, seen = where_by.get(area, empty), visible_by.get(area, empty)
        codes = communes_per_area.get(area, [])
        area_blanks = blanks_by.get(area, blanks.iloc[0:0])
        rows.append({
            "area": area,
            "Territoire": area_names.get(area, area),
            "Communes": len(codes),
            "Communes avec un adhérent présent": int(here["commune_code"].nunique()),
            "Opérateurs": _listing(sorted(seen["operator_name"].dropna().unique())),
            "Réseaux": ", ".join(sorted(seen["network"].dropna().unique())),
            "Familles d'offre présentes": _listing(
                [FAMILIES[f] for f in FAMILIES if f in set(here["offer_family"])]),
            "Publics présents": _listing(_public_labels(_codes(seen))),
            "Chevauchements": int(overlaps_n.get(area, 0)),
            "Familles sans adhérent": _listing(
                area_blanks.loc[area_blanks["kind"] == "famille", "Catégorie"].tolist()),
            "Publics sans adhérent": _listing(
                area_blanks.loc[area_blanks["kind"] == "public", "Catégorie"].tolist()),
        })
    table = pd.DataFrame(rows)
    for frame_ in (operators, overlaps, blanks, totals):
        if len(frame_):
            frame_.insert(1, "Territoire", frame_["area"].map(lambda a: area_names.get(a, a)))
    fictional = bool(frame.get("fictional", pd.Series(dtype=bool)).fillna(False).astype(bool).any())
    table = table.rename(columns={"area": level_label})
    return Presence(level, audience, table, _rename(operators, level_label),
                    _rename(overlaps, level_label), _rename(blanks, level_label),
                    _rename(totals, level_label), fictional)


def _rename(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    return frame.rename(columns={"area": label}).drop(columns=["kind"], errors="ignore")


def _plain_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as Python objects (Arrow-backed strings are slow to iterate row by row)."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].astype(object)
    return out


def _public_labels(codes: set[str]) -> list[str]:
    return [label for code, label in pub.LABELS.items() if code in codes]


def _codes(frame: pd.DataFrame) -> set[str]:
    """Publics of some sites (their ``_publics`` column, computed once per site)."""
    return set().union(*set(frame["_publics"])) if len(frame) else set()


def _listing(items: list[str]) -> str:
    if len(items) > MAX_LISTED:
        return ", ".join(items[:MAX_LISTED]) + f"… (+{len(items) - MAX_LISTED})"
    return ", ".join(items)


def _operators(visible: pd.DataFrame) -> pd.DataFrame:
    columns = ["area", "Opérateur", "Réseau", "Familles d'offre", "Publics",
               "Communes où il est présent", "Sites"]
    if visible.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    for (area, operator), group in visible.groupby(["area", "operator_name"], sort=True):
        rows.append({
            "area": area,
            "Opérateur": operator,
            "Réseau": ", ".join(sorted(group["network"].dropna().unique())),
            "Familles d'offre": ", ".join(FAMILIES[f] for f in FAMILIES
                                          if f in set(group["offer_family"])),
            "Publics": ", ".join(_public_labels(_codes(group))),
            "Communes où il est présent": int(group["commune_code"].nunique()),
            "Sites": int(group["site_id"].nunique()),
        })
    return pd.DataFrame(rows, columns=columns)


def _overlaps(visible: pd.DataFrame) -> pd.DataFrame:
    """Families offered by two operators or more on the same communes."""
    columns = ["area", "Famille d'offre", "Opérateurs", "Communes concernées", "Nombre de communes"]
    if visible.empty:
        return pd.DataFrame(columns=columns)
    per_commune = (
        visible.groupby(["area", "offer_family", "commune_code"])["operator_name"]
        .agg(lambda names: tuple(sorted(set(names))))
        .reset_index()
    )
    shared = per_commune[per_commune["operator_name"].map(len) >= 2]
    names = dict(zip(visible["commune_code"], visible["commune_name_ref"], strict=False))
    rows = []
    for (area, family, ops), group in shared.groupby(["area", "offer_family", "operator_name"]):
        codes = sorted(group["commune_code"])
        rows.append({
            "area": area,
            "Famille d'offre": FAMILIES.get(family, family),
            "Opérateurs": ", ".join(ops),
            "Communes concernées": _listing([names.get(c, c) for c in codes]),
            "Nombre de communes": len(codes),
        })
    return pd.DataFrame(rows, columns=columns)


def _blanks(where: pd.DataFrame, communes_per_area: pd.Series,
            communes: pd.DataFrame) -> pd.DataFrame:
    """Families (need categories) and publics without member, and communes without member."""
    columns = ["area", "kind", "Type", "Catégorie", "Publics ou familles concernés", "Constat"]
    answered_by: dict[str, list[str]] = {f: [] for f in FAMILIES}
    for code, families in pub.PUBLIC_FAMILIES.items():
        if code == "tout_public":
            continue
        for family in families:
            answered_by[family].append(pub.LABELS[code])
    names = dict(zip(communes["code"], communes["name"], strict=False))
    rows = []
    by_area = dict(tuple(where.groupby("area"))) if len(where) else {}
    for area, codes in communes_per_area.items():
        here = by_area.get(area, where.iloc[0:0])
        families = set(here["offer_family"])
        present_publics = _codes(here)
        for family, label in FAMILIES.items():
            if family not in families:
                rows.append({"area": area, "kind": "famille", "Type": "famille d'offre",
                             "Catégorie": label,
                             "Publics ou familles concernés": ", ".join(answered_by[family]),
                             "Constat": NO_MEMBER})
        general = "tout_public" in present_publics
        for code, label in pub.LABELS.items():
            if code != "tout_public" and code not in present_publics:
                rows.append({
                    "area": area, "kind": "public", "Type": "public", "Catégorie": label,
                    "Publics ou familles concernés": ", ".join(
                        FAMILIES[f] for f in pub.PUBLIC_FAMILIES[code]),
                    "Constat": NO_MEMBER + (" pour ce public (offre « tout public » présente)"
                                            if general else ""),
                })
        present_communes = set(here["commune_code"])
        empty = [c for c in codes if c not in present_communes]
        if empty:
            rows.append({
                "area": area, "kind": "communes", "Type": "communes",
                "Catégorie": f"{len(empty)} commune(s) sur {len(codes)} sans adhérent présent",
                "Publics ou familles concernés": _listing([names.get(c, c) for c in empty]),
                "Constat": NO_MEMBER,
            })
    return pd.DataFrame(rows, columns=columns)


def _totals(where: pd.DataFrame, audience: str) -> pd.DataFrame:
    """Sites and capacity per area and family, by ``confidentiality.area_totals``.

    A service covering several communes of an area counts once in that area.
    """
    per_area = where.drop_duplicates(["area", "site_id"]).copy()
    per_area["geocode_method"] = "presence"  # services count in the areas they cover
    per_area["famille"] = per_area["offer_family"].map(FAMILIES)
    totals = conf.area_totals(per_area, audience, by="area", groups=["famille"])
    return totals.rename(columns={
        "famille": "Famille d'offre", "sites": "Sites", "capacite_logements": "Logements",
        "capacite_places": "Places", "capacite_mesures": "Mesures",
        "capacite_incomplete": "Capacité incomplète",
    }).drop(columns=["sites_n"])
