"""SDES RPLS, répertoire des logements locatifs des bailleurs sociaux: results per commune.

Workbook ``resultats_rpls_<yyyy>.xlsx``, sheet « COMMUNES » (found by pattern): title lines,
then one row per commune (Paris, Lyon and Marseille by arrondissement, ``DEPCOM_ARM``). The
variables kept: social dwellings (``nb_ls``), of which financed by a PLAI loan
(``nb_ls_plai``), in a QPV (``nb_ls_en_qpv``), vacant (``nb_vacants``); vacancy rate
(``tx_vac``), vacancy over three months (``tx_vac3``), mobility rate (``tx_mob``), density
per 100 main residences (``densite``). Rates are in percent, as published. A code stored as a
number by the spreadsheet (``1004``) gets its leading zero back.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from connectors.parsing import Col, find_sheet, read_excel_text
from connectors.sources.base import CarrySpec, Parsed, extract

COLUMNS: dict[str, Col] = {
    "code": Col(r"depcom(?:_arm)?|codgeo|code_commune", "DEPCOM_ARM"),
    "name": Col(r"libcom", "LIBCOM", required=False),
    "social_dwellings": Col(r"nb_ls", "nb_ls"),
    "social_dwellings_plai": Col(r"nb_ls_plai", "nb_ls_plai", required=False),
    "social_dwellings_qpv": Col(r"nb_ls_en_qpv", "nb_ls_en_qpv", required=False),
    "social_vacant": Col(r"nb_vacants", "nb_vacants", required=False),
    "social_vacancy_rate": Col(r"tx_vac", "tx_vac"),
    "social_vacancy_3m_rate": Col(r"tx_vac_?3", "tx_vac3", required=False),
    "social_mobility_rate": Col(r"tx_mob", "tx_mob"),
    "social_density": Col(r"densite", "densite", required=False),
}
NUMBERS = tuple(c for c in COLUMNS if c not in {"code", "name"})
COUNTS = ("social_dwellings", "social_dwellings_plai", "social_dwellings_qpv", "social_vacant")
# Vacancy and mobility rates are shares of the social stock: weighted by it on merges.
# The density (per 100 main residences) has no weight here: missing on merged communes.
CARRY = CarrySpec(
    counts=COUNTS,
    rates=(
        ("social_vacancy_rate", "social_dwellings"),
        ("social_vacancy_3m_rate", "social_dwellings"),
        ("social_mobility_rate", "social_dwellings"),
    ),
    first=("name",),
)


def parse(path: Path) -> Parsed:
    """Parse the commune sheet of the RPLS results workbook."""
    name = Path(path).name
    sheet = find_sheet(path, r".*communes?.*")
    frame = read_excel_text(path, sheet=sheet, header=COLUMNS["code"].pattern, name=name)
    frame = frame.astype(object).where(frame.notna(), "")
    table, rejects, found, _ = extract(frame, COLUMNS, source=f"{name} / {sheet}", numbers=NUMBERS)
    missing = [c for c in COLUMNS if c not in table.columns]
    for column in missing:
        table[column] = float("nan") if column != "name" else None
    return Parsed(
        table=table[list(COLUMNS)],
        rejects=rejects,
        columns=found,
        notes={"onglet": sheet, "lignes_lues": len(frame), "colonnes_absentes": missing},
    )


def derive(table: pd.DataFrame) -> pd.DataFrame:
    """Share of PLAI-financed dwellings in the social stock, in percent."""
    out = table.copy()
    stock = out["social_dwellings"].where(out["social_dwellings"] > 0)
    out["social_plai_share"] = 100 * out["social_dwellings_plai"] / stock
    return out
