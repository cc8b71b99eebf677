"""INSEE Filosofi: disposable income, poverty and income structure.

* ``cc_filosofi_<yyyy>_COM`` (vintages 2019, 2020, 2021): one row per commune of the
  geography of the year after next (2021 → communes of 1 January 2023). ``;``; decimal comma
  from 2020 (``50,0``), decimal point in 2019; secrecy is ``s`` (2020, 2021) or an empty cell
  (2019). Variables are suffixed by the two-digit year (``MED21``).
* ``BASE_TD_FILO_IRIS_2021_DEC``: deciles of disposable income by IRIS (IRIS of 1 January
  2022). The file holds no household counts, so medians and rates cannot be averaged into a
  commune figure; per commune we keep only what is honest: the number of IRIS, the lowest
  and highest IRIS median income and the highest IRIS poverty rate (intra-commune contrasts).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from connectors.parsing import Col, ParseError, read_csv_text, read_source_bytes
from connectors.sources.base import CarrySpec, Parsed, extract

_Y = r"(?P<year>\d{2})"

COMMUNE_COLUMNS: dict[str, Col] = {
    "code": Col(r"codgeo", "CODGEO"),
    "households": Col(rf"nbmenfisc{_Y}", "NBMENFISC<aa>"),
    "fiscal_persons": Col(rf"nbpersmenfisc{_Y}", "NBPERSMENFISC<aa>"),
    "median_income": Col(rf"med{_Y}", "MED<aa>"),
    "poverty_rate": Col(rf"tp60{_Y}", "TP60<aa>"),
    "poverty_rate_tenants": Col(rf"tp60tol2{_Y}", "TP60TOL2<aa>"),
    # Poverty rate of persons in owner-occupier households (TOL1), of households whose
    # reference person is under 30 (AGE1) or 75 and over (AGE6): mostly secret (published where
    # TP60 is), kept missing elsewhere.
    "poverty_rate_owners": Col(rf"tp60tol1{_Y}", "TP60TOL1<aa>", required=False),
    "poverty_rate_under_30": Col(rf"tp60age1{_Y}", "TP60AGE1<aa>", required=False),
    "poverty_rate_75_over": Col(rf"tp60age6{_Y}", "TP60AGE6<aa>", required=False),
    "d1_income": Col(rf"d1{_Y}", "D1<aa>"),
    "d9_income": Col(rf"d9{_Y}", "D9<aa>"),
    "interdecile_ratio": Col(rf"rd{_Y}", "RD<aa>"),
    "taxed_households_share": Col(rf"pimp{_Y}", "PIMP<aa>"),
    "social_benefits_share": Col(rf"ppsoc{_Y}", "PPSOC<aa>"),
    "minimum_income_share": Col(rf"ppmini{_Y}", "PPMINI<aa>"),
    "housing_benefits_share": Col(rf"pplogt{_Y}", "PPLOGT<aa>"),
}

_WEIGHTED = (
    "median_income", "poverty_rate", "poverty_rate_tenants", "poverty_rate_owners",
    "poverty_rate_under_30", "poverty_rate_75_over", "d1_income", "d9_income",
    "interdecile_ratio", "taxed_households_share", "social_benefits_share",
    "minimum_income_share", "housing_benefits_share",
)

# Poverty rates are shares of *persons*: weighted by the persons of fiscal households.
_PERSON_RATES = ("poverty_rate", "poverty_rate_tenants", "poverty_rate_owners",
                 "poverty_rate_under_30", "poverty_rate_75_over")

# Merged communes: counts summed; poverty rates weighted by persons, other rates and income
# levels by fiscal households. For medians and deciles that weighted mean is an approximation:
# such rows carry ``cog_merged = True`` and the manifest says so.
COMMUNE_CARRY = CarrySpec(
    counts=("households", "fiscal_persons"),
    rates=tuple(
        (column, "fiscal_persons" if column in _PERSON_RATES else "households")
        for column in _WEIGHTED
    ),
)
APPROXIMATE_ON_MERGE = ("median_income", "d1_income", "d9_income", "interdecile_ratio")

IRIS_COLUMNS: dict[str, Col] = {
    "iris": Col(r"iris", "IRIS"),
    "median_income": Col(rf"dec_med{_Y}", "DEC_MED<aa>"),
    "poverty_rate": Col(rf"dec_tp60{_Y}", "DEC_TP60<aa>"),
    "d1_income": Col(rf"dec_d1{_Y}", "DEC_D1<aa>"),
    "d9_income": Col(rf"dec_d9{_Y}", "DEC_D9<aa>"),
    "interdecile_ratio": Col(rf"dec_rd{_Y}", "DEC_RD<aa>"),
    "gini": Col(rf"dec_gi{_Y}", "DEC_GI<aa>"),
    "taxed_households_share": Col(rf"dec_pimp{_Y}", "DEC_PIMP<aa>"),
    "quality_note": Col(rf"dec_note{_Y}", "DEC_NOTE<aa>", required=False),
}
IRIS_CARRY = CarrySpec(counts=("iris_count", "iris_with_median"))


def _check_vintage(years: dict[str, int], expected: int | None, name: str) -> int:
    found = sorted(set(years.values()))
    if len(found) != 1:
        raise ParseError(f"Fichier « {name} » : colonnes de millésimes différents ({found}).")
    if expected is not None and found[0] != expected:
        raise ParseError(
            f"Fichier « {name} » : millésime {found[0]} trouvé dans les noms de colonnes, "
            f"{expected} attendu."
        )
    return found[0]


def parse_commune(path: Path, vintage: int | None = None, member: str | None = None) -> Parsed:
    """Parse ``cc_filosofi_<yyyy>_COM`` (CSV, or the INSEE zip holding it)."""
    raw, name = read_source_bytes(path, member or r"^cc_filosofi_\d{4}_com\.csv$")
    frame = read_csv_text(raw, name=name, sep=";")
    numbers = tuple(c for c in COMMUNE_COLUMNS if c != "code")
    table, rejects, found, years = extract(frame, COMMUNE_COLUMNS, source=name, numbers=numbers)
    year = _check_vintage(years, vintage, name)
    return Parsed(
        table=table,
        rejects=rejects,
        columns=found,
        notes={"millesime_revenus": year, "lignes_lues": len(frame)},
    )


def parse_iris(path: Path, vintage: int | None = 2021, member: str | None = None) -> Parsed:
    """Parse ``BASE_TD_FILO_IRIS_<yyyy>_DEC``; aggregate what is honest per commune."""
    raw, name = read_source_bytes(path, member or r"^base_td_filo_iris_\d{4}_dec\.csv$")
    frame = read_csv_text(raw, name=name, sep=";")
    numbers = tuple(c for c in IRIS_COLUMNS if c != "iris")
    detail, rejects, found, years = extract(
        frame, IRIS_COLUMNS, source=name, code="iris", code_kind="iris", numbers=numbers
    )
    year = _check_vintage(years, vintage, name)
    detail.insert(1, "code", detail["iris"].str[:5])
    grouped = detail.groupby("code")
    table = pd.DataFrame(
        {
            "iris_count": grouped.size().astype(float),
            "iris_with_median": grouped["median_income"].count().astype(float),
            "iris_median_income_min": grouped["median_income"].min(),
            "iris_median_income_max": grouped["median_income"].max(),
            "iris_poverty_rate_max": grouped["poverty_rate"].max(),
        }
    ).reset_index()
    return Parsed(
        table=table,
        rejects=rejects,
        details={"detail": detail},
        columns={
            "iris_count": found["iris"],
            "iris_with_median": found["median_income"],
            "iris_median_income_min": found["median_income"],
            "iris_median_income_max": found["median_income"],
            "iris_poverty_rate_max": found["poverty_rate"],
        },
        notes={"millesime_revenus": year, "iris_lus": len(detail)},
    )
