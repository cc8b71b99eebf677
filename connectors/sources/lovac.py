"""Cerema / DGFiP LOVAC open data: private-sector vacant dwellings.

Two files share one layout, one column per measure and year, the two-digit year as suffix:
``pp_vacant_<aa>`` (vacant private dwellings on 1 January), ``pp_vacant_plus_2ans_<aa>``
(vacant for more than two years), ``pp_total_<aa>`` or ``ff_pp_total_<aa>`` (all private
dwellings; published one year behind the vacancy counts).

* ``lovac_dep``: per département (``DEP``, ``LIB_DEP``); latin-1, ``;`` padded with spaces,
  thousands separated by spaces (``19 805``).
* ``lovac_com``: per commune (``CODGEO_<aa>``, ``LIBGEO_<aa>``); secret counts are ``s``.

The stored table has the latest value of each measure (``private_vacant`` …) and the whole
series (``private_vacant_2020`` …); the vacancy rate is computed for the latest year where
both the vacant and the total counts exist.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.parsing import (
    Col,
    columns_by_year,
    match_columns,
    normalize_name,
    read_csv_text,
    read_source_bytes,
)
from connectors.sources.base import CarrySpec, Parsed, extract

MEASURES: dict[str, str] = {
    "private_vacant": r"pp_vacant_(?P<year>\d{2})",
    "private_vacant_long": r"pp_vacant_plus_2ans_(?P<year>\d{2})",
    "private_dwellings": r"(?:ff_)?pp_total_(?P<year>\d{2})",
}
LABELS = {
    "private_vacant": "pp_vacant_<aa>",
    "private_vacant_long": "pp_vacant_plus_2ans_<aa>",
    "private_dwellings": "pp_total_<aa>",
}


def _parse(path: Path, member: str | None, level: str) -> Parsed:
    raw, name = read_source_bytes(path, member or r"lovac.*\.csv$")
    frame = read_csv_text(raw, name=name, sep=";")
    if level == "departement":
        ids = {"code": Col(r"dep", "DEP"), "name": Col(r"lib_dep", "LIB_DEP", required=False)}
    else:
        ids = {
            "code": Col(r"codgeo(?:_\d{2})?", "CODGEO_<aa>"),
            "name": Col(r"libgeo(?:_\d{2})?", "LIBGEO_<aa>", required=False),
        }
    # Every measure must be present for at least one year.
    match_columns(
        list(frame.columns),
        {m: Col(p, LABELS[m]) for m, p in MEASURES.items()},
        name,
    )
    series: dict[str, Col] = {}
    for measure, pattern in MEASURES.items():
        for year, column in columns_by_year(list(frame.columns), pattern).items():
            series[f"{measure}_{year}"] = Col(re.escape(normalize_name(column)), column)
    table, rejects, found, _ = extract(
        frame,
        ids | series,
        source=name,
        code_kind=level,
        numbers=tuple(series),
    )
    latest: dict[str, int] = {}
    for measure in MEASURES:
        years = sorted(int(c.rsplit("_", 1)[1]) for c in series if c.rsplit("_", 1)[0] == measure)
        latest[measure] = years[-1]
        table[measure] = table[f"{measure}_{years[-1]}"]
    ordered = ["code", *(["name"] if "name" in table else []), *MEASURES, *sorted(series)]
    return Parsed(
        table=table[ordered],
        rejects=rejects,
        columns={**found, **{m: found[f"{m}_{y}"] for m, y in latest.items()}},
        notes={"annee_la_plus_recente": latest, "lignes_lues": len(frame)},
    )


def parse_departements(path: Path, member: str | None = None) -> Parsed:
    """LOVAC per département."""
    return _parse(path, member, "departement")


def parse_communes(path: Path, member: str | None = None) -> Parsed:
    """LOVAC per commune (secret counts missing)."""
    return _parse(path, member, "commune")


def series_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.rsplit("_", 1)[-1].isdigit()]


def carry_spec(table: pd.DataFrame) -> CarrySpec:
    """All counts are summed over merged communes; the name is the current commune's."""
    return CarrySpec(counts=(*MEASURES, *series_columns(table)), first=("name",))


def derive(table: pd.DataFrame) -> pd.DataFrame:
    """Vacancy rates (percent of private dwellings) for the latest year with both counts."""
    out = table.copy()
    years = sorted(
        {int(c.rsplit("_", 1)[1]) for c in series_columns(out) if c.startswith("private_vacant_2")}
        & {int(c.rsplit("_", 1)[1]) for c in series_columns(out)
           if c.startswith("private_dwellings_")}
    )
    if not years:
        return out
    year = years[-1]
    total = out[f"private_dwellings_{year}"].where(out[f"private_dwellings_{year}"] > 0, np.nan)
    out["private_vacancy_rate"] = 100 * out[f"private_vacant_{year}"] / total
    out["private_vacancy_long_rate"] = 100 * out[f"private_vacant_long_{year}"] / total
    out.attrs["private_vacancy_rate_year"] = year
    return out
