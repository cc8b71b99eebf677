"""DHUP « Communes et inventaire SRU »: communes subject to the SRU law (art. 55).

One CSV per edition, whose layout changes every year: ``;`` or ``,``, Windows-1252 or UTF-8,
sometimes an empty line before the header, the year inside column names
(``Taux_SRU_au_01_01_2024``, ``Commune_déficitaire_2024`` / ``commune_deficitaire``,
``Commune_carencée`` / ``Commune_carencee_2023_2025``, ``Nombre_lls_ Inventaire_au_…`` with a
stray space). Columns are therefore matched by pattern on accent-free names, and the
inventory year read from the rate column's name.

Only communes subject to the law are listed (≈ 2,200): a commune absent from the file has no
SRU obligation, which the stored table states with ``sru_subject`` for every commune.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from connectors.parsing import Col, read_csv_text, read_source_bytes
from connectors.sources.base import CarrySpec, Parsed, extract

COLUMNS: dict[str, Col] = {
    "code": Col(r"code_insee(?:_commune)?|code_commune(?:_insee)?", "Code_INSEE_commune"),
    "name": Col(r"nom_commune", "Nom_commune", required=False),
    "sru_population": Col(r"population_municipale.*", "Population_municipale_…", required=False),
    "sru_social_dwellings": Col(r"nombre_(?:de_)?lls.*", "Nombre_lls_ Inventaire_au_…"),
    "sru_rate": Col(r"taux_sru_au_\d{2}_\d{2}_(?P<year>\d{4})", "Taux_SRU_au_01_01_<aaaa>"),
    "sru_target": Col(r"taux_cible.*", "Taux_cible_commune_…"),
    "sru_missing_dwellings": Col(
        r"(?:nombre_(?:de_)?)?(?:logements|lls)_manquants.*", "logements manquants",
        required=False,
    ),
    "sru_deficit": Col(r"commune_deficitaire.*", "Commune_deficitaire_…"),
    "sru_carence": Col(r"commune_carencee.*", "Commune_carencée_…"),
    "sru_exempt": Col(r"commune_exemptee.*", "Commune_exemptée_…", required=False),
    "sru_levy": Col(r"prelevement_net.*", "Prélèvement_net_…", required=False),
}
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


def parse(path: Path, member: str | None = None) -> Parsed:
    """Parse one edition of the SRU inventory file."""
    raw, name = read_source_bytes(path, member or r"sru.*\.csv$")
    frame = read_csv_text(raw, name=name, header=r"code_insee(?:_commune)?|code_commune.*")
    table, rejects, found, years = extract(
        frame, COLUMNS, source=name, numbers=NUMBERS, flags=FLAGS
    )
    for column in COLUMNS:
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
    year = years.get("sru_rate")
    return Parsed(
        table=table[[*COLUMNS, "sru_subject"]],
        rejects=rejects,
        columns={**found, "sru_subject": found["code"]},
        notes={"inventaire_au": f"01/01/{year}" if year else None,
               "colonnes_absentes": [c for c in COLUMNS if c not in found],
               "lignes_lues": len(frame), "fichier": name},
    )


def derive(table: pd.DataFrame) -> pd.DataFrame:
    """Gap between the legal target and the rate, in percentage points (≥ 0)."""
    out = table.copy()
    out["sru_gap_points"] = (out["sru_target"] - out["sru_rate"]).clip(lower=0)
    return out
