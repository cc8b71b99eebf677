"""A commune's key figures against its EPCI, its département and France.

Each :class:`Figure` says how communes add up: counts are summed, rates are recomputed from
summed counts (vacant / dwellings), and quantities published only as rates per commune
(poverty, median income) are averaged with households as weights over the communes where they
are known (the table says so). Missing values stay missing: a commune under statistical
secrecy shows « donnée absente », never zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from catalogues import datasets
from ui import data
from ui.variables import format_value

SUM = "sum"
RATIO = "ratio"
WMEAN = "wmean"


@dataclass(frozen=True)
class Figure:
    """One line of the key figures table."""

    label: str
    unit: str
    how: str  # SUM, RATIO (numerator / denominator × scale) or WMEAN (households weights)
    numerator: str  # "store:<dataset>.<column>", "need:<column>", "gap:<column>", "ctx:population"
    denominator: str = ""
    scale: float = 1.0
    decimals: int = 1
    source: str = ""  # short citation
    note: str = ""


KEY_FIGURES: tuple[Figure, ...] = (
    Figure("Population municipale", "habitants", SUM, "ctx:population", decimals=0,
           source="INSEE, population municipale (COG 2025)"),
    Figure("Ménages fiscaux", "ménages", SUM, "store:filosofi_2021_com.households", decimals=0,
           source="INSEE, Filosofi 2021"),
    Figure("Taux de pauvreté (publié ou estimé)", "%", RATIO, "need:need_households",
           "need:households", 100.0, source="INSEE, Filosofi 2021 ; modèle de besoin",
           note="ménages en besoin / ménages"),
    Figure("Niveau de vie médian", "€", WMEAN, "store:filosofi_2021_com.median_income",
           decimals=0, source="INSEE, Filosofi 2021",
           note="au-delà de la commune : moyenne des médianes pondérée par les ménages"),
    Figure("Taux de chômage des 15-64 ans", "%", RATIO, "store:comparateur.unemployed_15_64",
           "store:comparateur.active_15_64", 100.0, source="INSEE, recensement 2018"),
    Figure("Taux de vacance des logements", "%", RATIO, "store:census_iris_2021.vacant_dwellings",
           "store:census_iris_2021.dwellings", 100.0, source="INSEE, recensement 2021"),
    Figure("Part des résidences secondaires", "%", RATIO, "store:census_iris_2021.second_homes",
           "store:census_iris_2021.dwellings", 100.0, source="INSEE, recensement 2021"),
    Figure("Part des 65 ans ou plus", "%", RATIO, "store:census_iris_2021.population_65_plus",
           "store:census_iris_2021.population", 100.0, source="INSEE, recensement 2021"),
    Figure("Quartiers prioritaires 2024", "quartiers", SUM, "store:qpv2024_communes.qpv_count",
           decimals=0, source="ANCT, QPV 2024"),
    Figure("Indice de besoin", "/100", WMEAN, "need:score", decimals=1,
           source="modèle de besoin", note="au-delà de la commune : moyenne pondérée par les ménages"),
    Figure("Ménages en besoin (estimation)", "ménages", SUM, "need:need_households", decimals=0,
           source="modèle de besoin"),
    Figure("Places accessibles allouées", "places", SUM, "gap:places_allocated", decimals=1,
           source="modèle d'écart, registre des membres"),
    Figure("Écart pour 1 000 ménages", "pour 1 000 ménages", RATIO, "gap:gap_households",
           "gap:households", 1000.0, source="modèle d'écart"),
)


def reference_values(ref: str, need: pd.DataFrame | None, gap: pd.DataFrame | None) -> pd.Series | None:
    """Values of a reference (see :class:`Figure`) for every commune, or None if unavailable."""
    kind, _, name = ref.partition(":")
    if kind == "ctx":
        return data.communes_table().set_index("code")["population"]
    if kind == "need":
        if need is None or name not in need.columns:
            return None
        values = need.set_index("code")[name]
        if name == "score":
            values = values.where(need.set_index("code")["status"].eq("calculé"))
        return pd.to_numeric(values, errors="coerce")
    if kind == "gap":
        if gap is None or name not in gap.columns:
            return None
        return pd.to_numeric(gap.set_index("code")[name], errors="coerce")
    dataset, _, column = name.partition(".")
    if not data.available(dataset):
        return None
    try:
        return pd.to_numeric(data.column(dataset, column), errors="coerce")
    except (KeyError, ValueError):
        return None


def aggregate(figure: Figure, codes: Sequence[str], getter: Callable[[str], pd.Series | None]) -> float:
    """The figure over the communes ``codes`` (NaN when nothing is known)."""
    values = getter(figure.numerator)
    if values is None:
        return float("nan")
    index = pd.Index(codes)
    v = values.reindex(index).astype(float)
    if figure.how == SUM:
        return float(v.sum(min_count=1))
    if figure.how == RATIO:
        den = getter(figure.denominator)
        if den is None:
            return float("nan")
        d = den.reindex(index).astype(float)
        ok = v.notna() & d.notna()
        total = d[ok].sum()
        return float(figure.scale * v[ok].sum() / total) if ok.any() and total > 0 else float("nan")
    weights = data.household_weights().reindex(index).astype(float)
    ok = v.notna() & weights.notna()
    if not ok.any() or weights[ok].sum() <= 0:
        return float("nan")
    return float(np.average(v[ok], weights=weights[ok]))


def key_figures(code: str, need: pd.DataFrame | None, gap: pd.DataFrame | None) -> pd.DataFrame:
    """Rows: figures; columns: the commune, its EPCI, its département, France (formatted)."""
    communes = data.communes_table()
    row = communes[communes["code"] == code]
    if row.empty:
        return pd.DataFrame()
    r = row.iloc[0]
    areas = [(f"Commune ({r['name']})", [code])]
    if isinstance(r["epci_code"], str):
        areas.append((f"EPCI ({r['epci_name']})",
                      communes.loc[communes["epci_code"] == r["epci_code"], "code"].tolist()))
    areas.append((f"Département ({r['dep_name']})",
                  communes.loc[communes["dep_code"] == r["dep_code"], "code"].tolist()))
    areas.append(("France", communes["code"].tolist()))
    cache: dict[str, pd.Series | None] = {}

    def getter(ref: str) -> pd.Series | None:
        if ref not in cache:
            cache[ref] = reference_values(ref, need, gap)
        return cache[ref]

    rows = []
    for figure in KEY_FIGURES:
        if getter(figure.numerator) is None:
            continue
        line = {"Indicateur": figure.label}
        for label, codes in areas:
            line[label] = format_value(aggregate(figure, codes, getter), figure.unit, figure.decimals)
        line["Source"] = figure.source + (f" ({figure.note})" if figure.note else "")
        rows.append(line)
    return pd.DataFrame(rows)


def income_history(code: str) -> pd.DataFrame:
    """Median income by Filosofi vintage for the commune, its département and France.

    Long frame ``année, territoire, niveau de vie médian`` (households-weighted mean of the
    communes' medians beyond the commune; vintages absent from the store are skipped).
    """
    communes = data.communes_table()
    row = communes[communes["code"] == code]
    if row.empty:
        return pd.DataFrame(columns=["année", "territoire", "valeur"])
    r = row.iloc[0]
    areas = [(str(r["name"]), [code]),
             (f"{r['dep_name']} (département)",
              communes.loc[communes["dep_code"] == r["dep_code"], "code"].tolist()),
             ("France", communes["code"].tolist())]
    rows = []
    for year in (2019, 2020, 2021):
        dataset = f"filosofi_{year}_com"
        if not data.available(dataset):
            continue
        income = pd.to_numeric(data.column(dataset, "median_income"), errors="coerce")
        households = pd.to_numeric(data.column(dataset, "households"), errors="coerce")
        for label, codes in areas:
            v = income.reindex(codes)
            w = households.reindex(codes)
            ok = v.notna() & w.notna() & (w > 0)
            value = float(np.average(v[ok], weights=w[ok])) if ok.any() else np.nan
            rows.append({"année": str(year), "territoire": label, "valeur": value})
    return pd.DataFrame(rows)


def census_change(code: str) -> pd.DataFrame:
    """Population and vacancy, census 2018 (comparateur) → 2021, for the commune."""
    pairs = [
        ("Population (recensement)", (datasets.COMPARATEUR, "population"),
         (datasets.CENSUS_IRIS, "population"),
         None, "habitants"),
        ("Logements vacants", (datasets.COMPARATEUR, "vacant_dwellings"),
         (datasets.CENSUS_IRIS, "vacant_dwellings"),
         None, "logements"),
        ("Taux de vacance", (datasets.COMPARATEUR, "vacant_dwellings"),
         (datasets.CENSUS_IRIS, "vacant_dwellings"),
         ("dwellings",), "%"),
    ]
    rows = []
    for label, old, new, ratio, unit in pairs:
        if not (data.available(old[0]) and data.available(new[0])):
            continue
        before = pd.to_numeric(data.column(*old), errors="coerce").get(code, np.nan)
        after = pd.to_numeric(data.column(*new), errors="coerce").get(code, np.nan)
        if ratio:
            d0 = pd.to_numeric(data.column(old[0], ratio[0]), errors="coerce").get(code, np.nan)
            d1 = pd.to_numeric(data.column(new[0], ratio[0]), errors="coerce").get(code, np.nan)
            before = 100 * before / d0 if d0 and d0 > 0 else np.nan
            after = 100 * after / d1 if d1 and d1 > 0 else np.nan
        rows.append({"Indicateur": label, "2018": format_value(before, unit, 1),
                     "2021": format_value(after, unit, 1),
                     "Évolution": _change_text(before, after, unit)})
    return pd.DataFrame(rows)


def _change_text(before: float, after: float, unit: str) -> str:
    from diagnostics.formatting import fr_signed

    if pd.isna(before) or pd.isna(after):
        return "donnée absente"
    if unit == "%":
        return fr_signed(after - before, 1, "pt")
    if before == 0:
        return fr_signed(after - before, 0)
    return fr_signed(100 * (after - before) / before, 1, "%")
