"""INSEE « base du comparateur de territoires » (census counts, area, employment).

One row per commune plus the 45 municipal arrondissements of Paris, Lyon and Marseille
(the COG carry ignores them since the three communes are present). ``;``, CRLF, decimal
point; census counts are weighted estimates (non-integer) and kept as published. The
year suffix of the census variables changes with each edition (``P18_LOG`` in the 2022
edition, ``P21_LOG`` later): columns are matched by pattern and the most recent census year
is used. Rates (unemployment, vacancy …) are computed *after* the COG carry from the summed
counts, so that merged communes get exact rates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from connectors.parsing import Col, ParseError, read_csv_text, read_source_bytes
from connectors.sources.base import CarrySpec, Parsed, extract

_P = r"p(?P<year>\d{2})"

COLUMNS: dict[str, Col] = {
    "code": Col(r"codgeo", "CODGEO"),
    "population": Col(rf"{_P}_pop", "P<aa>_POP"),
    "census_households": Col(rf"{_P}_men", "P<aa>_MEN"),
    "dwellings": Col(rf"{_P}_log", "P<aa>_LOG"),
    "main_residences": Col(rf"{_P}_rp", "P<aa>_RP"),
    "second_homes": Col(rf"{_P}_rsecocc", "P<aa>_RSECOCC"),
    "vacant_dwellings": Col(rf"{_P}_logvac", "P<aa>_LOGVAC"),
    "owner_occupied": Col(rf"{_P}_rp_prop", "P<aa>_RP_PROP"),
    "unemployed_15_64": Col(rf"{_P}_chom1564", "P<aa>_CHOM1564"),
    "active_15_64": Col(rf"{_P}_act1564", "P<aa>_ACT1564"),
    "area_km2": Col(r"superf", "SUPERF"),
}

COUNTS = tuple(c for c in COLUMNS if c != "code")
CARRY = CarrySpec(counts=COUNTS)


def parse(path: Path, member: str | None = None) -> Parsed:
    """Parse ``base_cc_comparateur.CSV`` (or the INSEE zip holding it)."""
    raw, name = read_source_bytes(path, member or r"^base_cc_comparateur\.csv$")
    frame = read_csv_text(raw, name=name, sep=";")
    table, rejects, found, years = extract(frame, COLUMNS, source=name, numbers=COUNTS)
    census_years = sorted(set(years.values()))
    if len(census_years) != 1:
        raise ParseError(
            f"Fichier « {name} » : variables du recensement de millésimes différents "
            f"({census_years})."
        )
    return Parsed(
        table=table,
        rejects=rejects,
        columns=found,
        notes={"millesime_recensement": census_years[0], "lignes_lues": len(frame)},
    )


def derive(table: pd.DataFrame) -> pd.DataFrame:
    """Rates computed from the (carried) counts, in percent."""
    out = table.copy()
    out["unemployment_rate"] = _percent(out["unemployed_15_64"], out["active_15_64"])
    out["vacancy_rate"] = _percent(out["vacant_dwellings"], out["dwellings"])
    out["second_home_share"] = _percent(out["second_homes"], out["dwellings"])
    out["owner_share"] = _percent(out["owner_occupied"], out["main_residences"])
    out["census_density"] = out["population"] / out["area_km2"].where(out["area_km2"] > 0)
    return out


def _percent(part: pd.Series, whole: pd.Series) -> pd.Series:
    return 100 * part / whole.where(whole > 0, np.nan)
