"""DHUP « Communes et inventaire SRU »: communes subject to the SRU law (art. 55).

One CSV per edition, all in Windows-1252, about 2,200 communes keyed by ``Code_INSEE_commune``,
whose layout changes every year. Each known layout is mapped explicitly (:data:`LAYOUTS`):

========  =====  ==================================================================
edition   sep.   particulars
========  =====  ==================================================================
2023      ``,``  ``Taux_SRU_au_01_01_2022``, ``Commune_deficitaire_2023``,
                 ``Commune_carencee_2023_2025``; no levy column
2024      ``,``  an empty line before the header; ``Code_Département``,
                 ``Commune_déficitaire_2024``, ``Commune_carencée_2023_2025``
2025      ``;``  ``commune_deficitaire``, ``Commune_carencée``,
                 ``Nombre_lls_ Inventaire_au_01_01_2024`` (stray space)
2026      ``;``  ``Taux_cible_commune``, ``commune_deficitaire_au_01-01-2025``,
                 ``Commune_exemptee_2026_2028``, ``Prelevement_net_2026_dont_majoration``
========  =====  ==================================================================

Names are compared without accents or case (one file may spell a name with and without its
accent); the social-dwelling count is found by its prefix ``Nombre_lls`` in every edition. A
file matching none of the layouts is refused with a French message naming the closest layout
and the columns it lacks: a new edition is mapped here, never guessed.

Only communes subject to the law are listed: a commune absent from the file has no SRU
obligation, which the stored table states with ``sru_subject`` for every commune.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from connectors.parsing import (
    Col,
    SchemaError,
    normalize_name,
    read_csv_text,
    read_source_bytes,
)
from connectors.sources.base import CarrySpec, Parsed, extract

COUNT_PREFIX = "Nombre_lls"


@dataclass(frozen=True)
class Layout:
    """One published edition: separator and the exact name of each column."""

    edition: int
    separator: str
    blank_line_before_header: bool
    columns: dict[str, str]  # target → published name (sru_social_dwellings: by prefix)


_COMMON = {"code": "Code_INSEE_commune", "name": "Nom_commune",
           "sru_social_dwellings": COUNT_PREFIX}
LAYOUTS: dict[int, Layout] = {
    2023: Layout(2023, ",", False, {
        **_COMMON,
        "sru_population": "Population_municipale_01_01_2023",
        "sru_rate": "Taux_SRU_au_01_01_2022",
        "sru_target": "Taux_cible_commune_2023_2025",
        "sru_deficit": "Commune_deficitaire_2023",
        "sru_carence": "Commune_carencee_2023_2025",
        "sru_exempt": "Commune_exemptee_2023_2025",
    }),
    2024: Layout(2024, ",", True, {
        **_COMMON,
        "sru_population": "Population_municipale_01_01_2024",
        "sru_rate": "Taux_SRU_au_01_01_2023",
        "sru_target": "Taux_cible_commune_2023_2025",
        "sru_deficit": "Commune_déficitaire_2024",
        "sru_carence": "Commune_carencée_2023_2025",
        "sru_exempt": "Commune_exemptée_2023_2025",
        "sru_levy": "Prélèvement_net_2024_dont_majoration",
    }),
    2025: Layout(2025, ";", False, {
        **_COMMON,
        "sru_population": "Population_municipale_01_01_2025",
        "sru_rate": "Taux_SRU_au_01_01_2024",
        "sru_target": "Taux_cible_commune_2023_2025",
        "sru_deficit": "commune_deficitaire",
        "sru_carence": "Commune_carencée",
        "sru_exempt": "Commune_exemptée_2023_2025",
        "sru_levy": "Prélèvement_net_2025_dont_majoration",
    }),
    2026: Layout(2026, ";", False, {
        **_COMMON,
        "sru_population": "Population_municipale_01_01_2026",
        "sru_rate": "Taux_SRU_au_01_01_2025",
        "sru_target": "Taux_cible_commune",
        "sru_deficit": "commune_deficitaire_au_01-01-2025",
        "sru_carence": "Commune_carencee_2023_2025",
        "sru_exempt": "Commune_exemptee_2026_2028",
        "sru_levy": "Prelevement_net_2026_dont_majoration",
    }),
}
TARGETS = ("code", "name", "sru_population", "sru_social_dwellings", "sru_rate", "sru_target",
           "sru_missing_dwellings", "sru_deficit", "sru_carence", "sru_exempt", "sru_levy")
NUMBERS = ("sru_population", "sru_social_dwellings", "sru_rate", "sru_target",
           "sru_missing_dwellings", "sru_levy")
FLAGS = ("sru_deficit", "sru_carence", "sru_exempt")
# Rates of merged communes weighted by population (the main-residence counts they are a share
# of are not in the file); flags are true when any part is.
CARRY = CarrySpec(
    counts=("sru_population", "sru_social_dwellings", "sru_missing_dwellings", "sru_levy"),
    rates=(("sru_rate", "sru_population"), ("sru_target", "sru_population")),
    first=("name",),
    flags=(*FLAGS, "sru_subject"),
)
FILL = {"sru_subject": False}


def _spec(layout: Layout) -> dict[str, Col]:
    spec = {}
    for target, published in layout.columns.items():
        if published == COUNT_PREFIX:
            spec[target] = Col(r"nombre_lls.*", "Nombre_lls_…")
        else:
            spec[target] = Col(re.escape(normalize_name(published)), published)
    return spec


def _missing(layout: Layout, names: set[str]) -> list[str]:
    missing = []
    for target, col in _spec(layout).items():
        if not any(re.fullmatch(col.pattern, n) for n in names):
            missing.append(layout.columns[target] if target != "sru_social_dwellings"
                           else "Nombre_lls_…")
    return missing


def detect_layout(columns: list[str], name: str) -> Layout:
    """The known layout whose every column is present, else a French :class:`SchemaError`."""
    names = {normalize_name(c) for c in columns}
    gaps = {edition: _missing(layout, names) for edition, layout in LAYOUTS.items()}
    complete = [e for e, missing in gaps.items() if not missing]
    if complete:
        return LAYOUTS[max(complete)]
    closest = min(gaps, key=lambda e: (len(gaps[e]), -e))
    known = ", ".join(str(e) for e in LAYOUTS)
    raise SchemaError(
        f"{name} (mise en forme de l'inventaire SRU inconnue ; éditions connues : {known} ; "
        f"la plus proche : {closest})",
        gaps[closest],
        [c for c in columns if not c.startswith("_")],
    )


def parse(path: Path, member: str | None = None) -> Parsed:
    """Parse one edition of the SRU inventory file (2023 to 2026 layouts)."""
    raw, name = read_source_bytes(path, member or r"sru.*\.csv$")
    frame = read_csv_text(raw, name=name, header=r"code_insee_commune")
    layout = detect_layout(list(frame.columns), name)
    table, rejects, found, _ = extract(
        frame, _spec(layout), source=name, numbers=NUMBERS, flags=FLAGS
    )
    for column in TARGETS:
        if column not in table.columns:
            table[column] = (
                pd.Series(pd.NA, index=table.index, dtype="boolean")
                if column in FLAGS else float("nan")
            )
    table["sru_subject"] = True
    # A rate above 100 % is kept as published but reported (a known slip of the 2025 file).
    for index in table.index[(table["sru_rate"] > 100).fillna(False).to_numpy()]:
        rejects.add(None, found["sru_rate"], table.at[index, "sru_rate"],
                    f"taux SRU supérieur à 100 % pour {table.at[index, 'code']} "
                    "(conservé tel que publié, à vérifier)")
    year = re.search(r"(\d{4})$", found["sru_rate"])
    return Parsed(
        table=table[[*TARGETS, "sru_subject"]],
        rejects=rejects,
        columns={**found, "sru_subject": found["code"]},
        notes={"edition": layout.edition,
               "inventaire_au": f"01/01/{year.group(1)}" if year else None,
               "colonnes_absentes": [c for c in TARGETS if c not in found],
               "lignes_lues": len(frame), "fichier": name},
    )


def derive(table: pd.DataFrame) -> pd.DataFrame:
    """Gap between the legal target and the rate, in percentage points (≥ 0)."""
    out = table.copy()
    out["sru_gap_points"] = (out["sru_target"] - out["sru_rate"]).clip(lower=0)
    return out
