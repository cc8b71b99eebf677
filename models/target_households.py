"""Target households: the households each family of the insertion offer exists for.

The need index (``models.pipeline``) ranks communes by intensity; its volume, households ×
poverty rate, counts every poor household, most of whom are housed by HLM or the private
market. The gap needs volumes that match the offer. Per commune, in whole households with a
low / central / high estimate, this module counts (parameters and provenance in
``target_households.yaml``):

* ``isolated_excluded``: isolated adults with very low income in lasting exclusion
  (pension de famille, résidence accueil);
* ``young_low_income``: households whose reference person is under 30 with a low income
  (FJT, résidences sociales jeunes);
* ``private_tenants_tense``: low-income private tenants in tense markets (intermédiation
  locative, logement diffus, accompaniment against eviction);
* ``without_home``: households without a home of their own (SNE, DALO): « non disponible »
  while those sources are not in the store;
* ``poor_owners_degraded``: poor owner-occupiers in old co-ownerships (RNIC when in store).

Conversion of persons to households, stated once: Filosofi's TP60 is a share of *persons*;
poor persons = TP60 / 100 × NBPERSMENFISC; poor households = poor persons / persons per poor
household (a parameter with its own low / high). The bounds combine the 90 % interval of the
poverty rate (published rates have none; imputed ones carry the imputation's) with the low /
high parameters: they are a range of plausible values, not a statistical interval.

A category whose source is absent is missing (``<NA>``) with its reason, never 0.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from catalogues import datasets as ds
from catalogues.sources import read_yaml
from geodata.store import Store

PARAMS_PATH = Path(__file__).with_name("target_households.yaml")
CATEGORIES: tuple[str, ...] = (
    "isolated_excluded",
    "young_low_income",
    "private_tenants_tense",
    "without_home",
    "poor_owners_degraded",
)
BOUNDS = ("central", "low", "high")
UNAVAILABLE_FR = "non disponible"
SNE = "sne"
DALO = "dalo"


class TargetError(ValueError):
    """Unusable inputs or parameters of the target households (French message)."""


# -- parameters -----------------------------------------------------------------------------
def _fr_decimal(value: float) -> str:
    """A parameter as French readers write it (decimal comma)."""
    return f"{float(value):g}".replace(".", ",")


def load_params(path: Path | str | None = None) -> dict[str, Any]:
    """Parameters of ``target_households.yaml`` (a fresh copy the caller may change)."""
    return copy.deepcopy(_load_cached(str(Path(path) if path else PARAMS_PATH)))


@lru_cache(maxsize=4)
def _load_cached(path: str) -> dict[str, Any]:
    params = read_yaml(path, TargetError, "Fichier de paramètres") or {}
    check_params(params, path)
    return params


def check_params(params: Mapping[str, Any], where: str = "paramètres") -> None:
    """French error naming the field when a parameter is missing or out of range."""
    base = params.get("base") or {}
    size = base.get("persons_per_poor_household") or {}
    for bound in BOUNDS:
        value = size.get(bound)
        if not isinstance(value, (int, float)) or value <= 0:
            raise TargetError(
                f"{where} : base.persons_per_poor_household.{bound} doit être un nombre positif."
            )
    if not size["low"] <= size["central"] <= size["high"]:
        raise TargetError(f"{where} : base.persons_per_poor_household : low ≤ central ≤ high.")
    categories = params.get("categories") or {}
    for name in CATEGORIES:
        if name not in categories:
            raise TargetError(f"{where} : catégorie « {name} » absente.")
        spec = categories[name]
        for key in ("label", "families", "provenance", "formula_fr"):
            if not spec.get(key):
                raise TargetError(f"{where} : categories.{name}.{key} est vide.")
        if "share" in spec:
            share = spec["share"]
            for bound in BOUNDS:
                value = share.get(bound)
                if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                    raise TargetError(
                        f"{where} : categories.{name}.share.{bound} doit être entre 0 et 1."
                    )
            if not share["low"] <= share["central"] <= share["high"]:
                raise TargetError(f"{where} : categories.{name}.share : low ≤ central ≤ high.")


def family_categories(params: Mapping[str, Any]) -> dict[str, list[str]]:
    """Categories answered by each family of offer."""
    out: dict[str, list[str]] = {}
    for name in CATEGORIES:
        for family in params["categories"][name]["families"]:
            out.setdefault(family, []).append(name)
    return out


# -- inputs ---------------------------------------------------------------------------------
@dataclass
class TargetInputs:
    """Plain per-commune inputs (Series indexed by commune code, strings).

    Attributes
    ----------
    need
        ``code, households, poverty_rate, poverty_rate_low, poverty_rate_high`` (rates in %,
        shares of persons), optionally ``name, dep_code, poverty_rate_method``.
    fiscal_persons
        NBPERSMENFISC (persons of fiscal households).
    persons_per_household
        Census persons per household (fallback where Filosofi is secret).
    tenant_share
        Share of main residences not occupied by their owner (0–1), census.
    zone_abc, zone_tendue
        Zonage A/B/C (``Abis, A, B1, B2, C``) and the TLV « zone tendue » flag.
    old_condo_share
        Share of main residences in co-ownerships built before 1975 (RNIC), 0–1.
    datasets
        Datasets present in the store (for the ``requires`` of each category).
    """

    need: pd.DataFrame
    fiscal_persons: pd.Series | None = None
    persons_per_household: pd.Series | None = None
    tenant_share: pd.Series | None = None
    zone_abc: pd.Series | None = None
    zone_tendue: pd.Series | None = None
    old_condo_share: pd.Series | None = None
    datasets: set[str] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)


def _series(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.Series(frame[column].to_numpy(), index=frame["code"].astype(str))


def inputs_from_store(need: pd.DataFrame, store: Store | None = None) -> TargetInputs:
    """Read what the categories use from the store (absent datasets are simply absent)."""
    store = store or Store()
    present = set(store.datasets())
    sources: list[str] = []
    inputs = TargetInputs(need=need, datasets=present, sources=sources)
    if ds.FILOSOFI_COMMUNES in present:
        filo = store.read(ds.FILOSOFI_COMMUNES, columns=["code", "fiscal_persons"])
        inputs.fiscal_persons = _series(filo, "fiscal_persons")
        sources.append("INSEE, Filosofi 2021 (revenus 2021) : personnes des ménages fiscaux, TP60")
    if ds.COMPARATEUR in present:
        comp = store.read(ds.COMPARATEUR, columns=[
            "code", "population", "census_households", "main_residences", "owner_occupied"])
        with np.errstate(divide="ignore", invalid="ignore"):
            size = comp["population"] / comp["census_households"].where(
                comp["census_households"] > 0)
            tenants = 1.0 - comp["owner_occupied"] / comp["main_residences"].where(
                comp["main_residences"] > 0)
        codes = comp["code"].astype(str)
        inputs.persons_per_household = pd.Series(size.to_numpy(), index=codes)
        inputs.tenant_share = pd.Series(tenants.clip(0, 1).to_numpy(), index=codes)
        main_residences = pd.Series(comp["main_residences"].to_numpy(), index=codes)
        sources.append("INSEE, recensement 2018 (comparateur de territoires) : ménages, "
                       "statut d'occupation")
    else:
        main_residences = None
    if ds.ZONAGE_ABC in present:
        inputs.zone_abc = _series(store.read(ds.ZONAGE_ABC, columns=["code", "zone_abc"]),
                                  "zone_abc")
        sources.append("DGALN, zonage A/B/C en vigueur au 5 juillet 2024")
    if ds.ZONE_TENDUE in present:
        inputs.zone_tendue = _series(store.read(ds.ZONE_TENDUE, columns=["code", "zone_tendue"]),
                                     "zone_tendue")
        sources.append("Communes en zone tendue (taxe sur les logements vacants)")
    if ds.RNIC in present and main_residences is not None:
        rnic = store.read(ds.RNIC)
        inputs.old_condo_share = old_condo_share(rnic, main_residences)
        sources.append("ANAH, registre national d'immatriculation des copropriétés (RNIC)")
    return inputs


def old_condo_share(rnic: pd.DataFrame, main_residences: pd.Series) -> pd.Series:
    """Share of main residences in co-ownerships built before 1975 (capped at 1).

    Dwelling lots × (co-ownerships built before 1975 / co-ownerships of known period): the
    register gives periods per co-ownership, not per lot, so the share of lots is taken equal
    to the share of co-ownerships.
    """
    frame = rnic.set_index(rnic["code"].astype(str))
    with np.errstate(divide="ignore", invalid="ignore"):
        old = frame["copro_before_1975"] / frame["copro_period_known"].where(
            frame["copro_period_known"] > 0)
        lots = frame["copro_dwelling_lots"] * old
        residences = main_residences.copy()
        residences.index = residences.index.astype(str)
        residences = residences.reindex(frame.index)
        share = lots / residences.where(residences > 0)
    return share.clip(0, 1)


# -- computation ----------------------------------------------------------------------------
@dataclass
class TargetResult:
    """Per-commune targets and what each category rests on."""

    frame: pd.DataFrame
    availability: dict[str, str]  # category → "" when computed, else the French reason
    params: dict[str, Any]
    sources: list[str]

    def available(self, category: str) -> bool:
        return not self.availability.get(category)


def _aligned(values: pd.Series | None, codes: pd.Index) -> np.ndarray:
    if values is None:
        return np.full(len(codes), np.nan)
    series = values.copy()
    series.index = series.index.astype(str)
    series = series[~series.index.duplicated(keep="first")]
    return pd.to_numeric(series, errors="coerce").reindex(codes).to_numpy(dtype=float)


def whole(values: np.ndarray, bound: str) -> np.ndarray:
    """Whole households: central rounded half up, low down, high up (NaN stays NaN)."""
    values = np.asarray(values, dtype=float)
    if bound == "low":
        return np.floor(values + 1e-9)
    if bound == "high":
        return np.ceil(values - 1e-9)
    return np.floor(values + 0.5 + 1e-9)


def poor_households(
    rate: np.ndarray, persons: np.ndarray, persons_per_poor_household: float
) -> np.ndarray:
    """Poor households from a poverty rate of PERSONS (%) and the persons of the commune."""
    return np.asarray(rate, float) / 100.0 * np.asarray(persons, float) / persons_per_poor_household


def _availability(params: Mapping[str, Any], inputs: TargetInputs) -> dict[str, str]:
    out = {}
    for name in CATEGORIES:
        spec = params["categories"][name]
        requires = list(spec.get("requires") or [])
        if name == "without_home":
            # Any of the two sources would do; no formula is implemented without them.
            missing = [] if (inputs.datasets & {SNE, DALO}) else requires
            reason = ("source absente du stock : demande de logement social (SNE) et recours "
                      "DALO") if missing else ("calcul non encore écrit pour la source présente "
                                               "(SNE / DALO)")
            out[name] = reason
            continue
        missing = [r for r in requires if r not in inputs.datasets]
        if name == "poor_owners_degraded" and inputs.old_condo_share is None:
            missing = missing or ["rnic"]
        out[name] = ("source absente du stock : " + ", ".join(missing)) if missing else ""
    return out


def compute_targets(inputs: TargetInputs, params: Mapping[str, Any] | None = None) -> TargetResult:
    """Target households per commune and category (see the module docstring)."""
    params = copy.deepcopy(dict(params)) if params is not None else load_params()
    check_params(params)
    need = inputs.need
    for column in ("code", "households", "poverty_rate"):
        if column not in need.columns:
            raise TargetError(f"Besoin : colonne « {column} » absente.")
    codes = pd.Index(need["code"].astype(str), name="code")
    if codes.has_duplicates:
        raise TargetError("Besoin : codes commune en double : "
                          + ", ".join(codes[codes.duplicated()].unique()[:5]))
    households = pd.to_numeric(need["households"], errors="coerce").to_numpy(dtype=float)
    rate = {"central": pd.to_numeric(need["poverty_rate"], errors="coerce").to_numpy(float)}
    for bound in ("low", "high"):
        column = f"poverty_rate_{bound}"
        rate[bound] = (pd.to_numeric(need[column], errors="coerce").to_numpy(float)
                       if column in need.columns else rate["central"])
    base = params["base"]
    persons = _aligned(inputs.fiscal_persons, codes)
    size = _aligned(inputs.persons_per_household, codes)
    size = np.where(np.isfinite(size) & (size > 0), size,
                    float(base["persons_per_household_fallback"]))
    persons_estimated = np.isnan(persons) & np.isfinite(households)
    persons = np.where(np.isnan(persons), households * size, persons)

    out = pd.DataFrame({"code": codes.to_numpy()})
    for column in ("name", "dep_code"):
        if column in need.columns:
            out[column] = need[column].to_numpy()
    out["households"] = households
    out["persons"] = persons
    out["persons_estimated"] = persons_estimated
    method = (need["poverty_rate_method"].astype(str).to_numpy()
              if "poverty_rate_method" in need.columns else np.full(len(codes), "publié"))
    out["poverty_rate_method"] = method
    out["estimated"] = ~np.isin(method, ["publié"]) | persons_estimated
    sizes = base["persons_per_poor_household"]
    # low bound of households: low rate and MORE persons per household, and conversely.
    size_for = {"central": sizes["central"], "low": sizes["high"], "high": sizes["low"]}
    poor: dict[str, np.ndarray] = {}
    for bound in BOUNDS:
        out[f"poor_persons{_suffix(bound)}"] = rate[bound] / 100.0 * persons
        poor[bound] = poor_households(rate[bound], persons, size_for[bound])
        out[f"poor_households{_suffix(bound)}"] = whole(poor[bound], bound)

    availability = _availability(params, inputs)
    tenants = _aligned(inputs.tenant_share, codes)
    zone = _text(inputs.zone_abc, codes)
    tendue = _aligned(_as_float(inputs.zone_tendue), codes)
    condo = _aligned(inputs.old_condo_share, codes)
    for name in CATEGORIES:
        spec = params["categories"][name]
        for bound in BOUNDS:
            column = f"target_{name}{_suffix(bound)}"
            if availability[name]:
                out[column] = _int_array(np.full(len(codes), np.nan))
                continue
            values = poor[bound] * float(spec["share"][bound]) * _local(
                spec, bound, tenants=tenants, zone=zone, tendue=tendue, condo=condo,
                national_tenants=_national_tenants(tenants, households))
            out[column] = _int_array(whole(values, bound))
    return TargetResult(out, availability, params, list(inputs.sources))


def _int_array(values: np.ndarray) -> pd.arrays.IntegerArray:
    """Whole numbers with ``<NA>`` where unknown (never a 0 for a missing value)."""
    missing = np.isnan(values)
    return pd.arrays.IntegerArray(np.where(missing, 0, values).astype(np.int64), missing)


def _suffix(bound: str) -> str:
    return "" if bound == "central" else f"_{bound}"


def _text(values: pd.Series | None, codes: pd.Index) -> np.ndarray:
    if values is None:
        return np.full(len(codes), None, dtype=object)
    series = values.copy()
    series.index = series.index.astype(str)
    series = series[~series.index.duplicated(keep="first")]
    return series.reindex(codes).to_numpy(dtype=object)


def _as_float(values: pd.Series | None) -> pd.Series | None:
    if values is None:
        return None
    flags = values.astype("boolean").astype("Float64")
    return pd.Series(flags.to_numpy(dtype=float, na_value=np.nan), index=values.index)


def _national_tenants(tenants: np.ndarray, households: np.ndarray) -> float:
    ok = np.isfinite(tenants) & np.isfinite(households) & (households > 0)
    if not ok.any():
        return np.nan
    return float(np.average(tenants[ok], weights=households[ok]))


def _local(
    spec: Mapping[str, Any], bound: str, *, tenants: np.ndarray, zone: np.ndarray,
    tendue: np.ndarray, condo: np.ndarray, national_tenants: float,
) -> np.ndarray | float:
    """Local factor of a category (1 when the category has none)."""
    kind = spec.get("local", "none")
    if kind == "none":
        return 1.0
    if kind == "tenants":
        cap = float(spec.get("tenants_factor_max", 2.5))
        factor = np.clip(tenants / national_tenants, 0.0, cap)
        zones = {str(z) for z in spec["tense_zones_abc"]}
        labels = pd.Series(zone, dtype=object)
        abc = labels.isin(list(zones)).to_numpy()
        abc_known = labels.notna().to_numpy()
        flag = tendue == 1.0
        if bound == "low":
            tense = abc & flag
        elif bound == "high":
            tense = abc | flag
        else:
            tense = abc
        known = abc_known | np.isfinite(tendue)
        return np.where(known, np.where(tense, factor, 0.0), np.nan)
    if kind == "old_condominiums":
        return condo
    raise TargetError(f"Facteur local « {kind} » inconnu.")


# -- families and national totals -----------------------------------------------------------
def family_targets(result: TargetResult) -> dict[str, np.ndarray]:
    """``(N, 3)`` target households (central, low, high) of each family of offer.

    The sum of the family's available categories; a family none of whose categories is
    available is absent from the result (its gap is « non disponible »).
    """
    out: dict[str, np.ndarray] = {}
    for family, names in family_categories(result.params).items():
        names = [n for n in names if result.available(n)]
        if not names:
            continue
        columns = []
        for bound in BOUNDS:
            parts = [result.frame[f"target_{n}{_suffix(bound)}"].astype("Float64")
                     .to_numpy(dtype=float, na_value=np.nan) for n in names]
            columns.append(np.sum(parts, axis=0))
        out[family] = np.column_stack(columns)
    return out


def national_totals(result: TargetResult) -> pd.DataFrame:
    """National total of each category beside the published order of magnitude.

    Rows: the base (poor persons, poor households) and the five categories. ``comparison_fr``
    says how the two compare (a share of poor households, or a count).
    """
    params = result.params
    refs = params.get("national_references") or {}
    frame = result.frame
    poor = {b: float(np.nansum(frame[f"poor_households{_suffix(b)}"])) for b in BOUNDS}
    rows = []
    persons = {b: float(np.nansum(frame[f"poor_persons{_suffix(b)}"])) for b in BOUNDS}
    ref = refs.get("poor_persons", {})
    rows.append({
        "category": "poor_persons", "label": "Personnes pauvres (TP60 × personnes)",
        "unit": "personnes", **{b: round(persons[b]) for b in BOUNDS},
        "reference": ref.get("value"), "reference_label": ref.get("label_fr", ""),
        "reference_source": ref.get("source", ""), "reference_url": ref.get("url", ""),
        "comparison_fr": _count_comparison(persons["central"], ref.get("value"), "personnes")
        + " (le champ diffère : Filosofi couvre aussi la Martinique et La Réunion).",
        "available": True,
    })
    rows.append({
        "category": "poor_households", "label": "Ménages pauvres (conversion explicite)",
        "unit": "ménages", **{b: round(poor[b]) for b in BOUNDS},
        "reference": None, "reference_label": "", "reference_source": "", "reference_url": "",
        "comparison_fr": "Personnes pauvres / personnes par ménage pauvre "
        f"({_fr_decimal(params['base']['persons_per_poor_household']['central'])}, hypothèse de "
        "travail).",
        "available": True,
    })
    for name in CATEGORIES:
        spec = params["categories"][name]
        ref = refs.get(name, {})
        available = result.available(name)
        totals = {b: (float(frame[f"target_{name}{_suffix(b)}"].sum()) if available else np.nan)
                  for b in BOUNDS}
        if not available:
            comparison = f"Non disponible ({result.availability[name]})."
        elif ref.get("unit") == "part des ménages pauvres":
            share = totals["central"] / poor["central"] if poor["central"] else np.nan
            comparison = (f"{_pct(share)} des ménages pauvres estimés ; publié : "
                          f"{_pct(ref['value'])} ({ref.get('label_fr', '')}).")
        else:
            comparison = _count_comparison(totals["central"], ref.get("value"), "ménages")
        rows.append({
            "category": name, "label": spec["label"], "unit": "ménages",
            **{b: (round(totals[b]) if available else None) for b in BOUNDS},
            "reference": ref.get("value"), "reference_label": ref.get("label_fr", ""),
            "reference_source": ref.get("source", ""), "reference_url": ref.get("url", ""),
            "comparison_fr": comparison, "available": available,
        })
    return pd.DataFrame(rows)


def _pct(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    return f"{value * 100:.1f}".replace(".", ",") + " %"


def _count_comparison(total: float, reference: float | None, unit: str) -> str:
    if reference is None or not np.isfinite(total):
        return ""
    return (f"{_thousands(total)} {unit} estimés ; publié : {_thousands(reference)} "
            f"(rapport {total / reference:.2f})".replace(".", ","))


def _thousands(value: float) -> str:
    return f"{round(value):,}".replace(",", "\u202f")
