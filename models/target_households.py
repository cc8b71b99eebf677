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
* ``private_tenants``: low-income private tenants everywhere, weighted by market tension
  (never 0 outside tense zones; intermédiation locative, diffus, accompaniment);
* ``without_home``: households without a home of their own (SNE, DALO): « non disponible »
  while those sources are not in the store;
* ``poor_owners_degraded``: poor owner-occupiers in old co-ownerships (RNIC when in store), a
  « dont » of ``poor_owners``;
* ``shelter_exit``: shelter occupants who need a housing exit (FINESS places × occupancy ×
  share, as OTELO's brick 1.1; only where FINESS gives places);
* ``poor_owners``: poor owner-occupiers to keep in their homes (Filosofi TP60TOL1, census
  owner-occupied main residences), old and rural ones shown apart;
* ``household_growth``: a flow, household growth 2018-2021 carried to a six-year horizon
  (OTELO brick 2.1), shown apart from the stock.

Each category is a « brick » with its OTELO counterpart (``brick``, ``otelo_fr``), its source
(``source_fr``) and the families of offer that answer it with the share of the brick each
takes (``families``: a household is split, never counted twice in a total). Double counts
between bricks are removed in the order of ``double_counts`` (as OTELO's brick 1.6): the
``target_*`` columns are net; ``gross_*`` keep the brick before the removal.

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
import pyarrow.parquet as pq

from catalogues import datasets as ds
from catalogues.sources import read_yaml
from geodata.store import Store
from models import supply as sup

PARAMS_PATH = Path(__file__).with_name("target_households.yaml")
CATEGORIES: tuple[str, ...] = (
    "shelter_exit",
    "isolated_excluded",
    "young_low_income",
    "private_tenants",
    "poor_owners",
    "poor_owners_degraded",
    "without_home",
    "household_growth",
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
        for key in ("label", "provenance", "formula_fr", "otelo_fr", "source_fr"):
            if not spec.get(key):
                raise TargetError(f"{where} : categories.{name}.{key} est vide.")
        for family, value in family_shares_of(spec).items():
            if not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise TargetError(f"{where} : categories.{name}.families.{family} doit être "
                                  "une part entre 0 et 1.")
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


def family_shares_of(spec: Mapping[str, Any]) -> dict[str, float]:
    """``{family: share of the brick}`` of a category (a plain list means 1 each)."""
    families = spec.get("families") or {}
    if isinstance(families, Mapping):
        return {str(k): float(v) for k, v in families.items()}
    return {str(f): 1.0 for f in families}


def family_categories(params: Mapping[str, Any]) -> dict[str, list[str]]:
    """Categories answered by each family of offer (subsets, « dont », excluded)."""
    out: dict[str, list[str]] = {}
    for name in CATEGORIES:
        spec = params["categories"][name]
        for family in family_shares_of(spec):
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
    owners_rate, rate_75_over
        Filosofi TP60TOL1 and TP60AGE6 (%, shares of persons; missing where secret).
    share_65_over
        Share of the population aged 65 or over (census 2021), 0–1.
    density_7
        Level of INSEE's density grid 2025 (1–7).
    households_before, households_after, growth_years
        Main residences at two censuses ``growth_years`` apart (household growth).
    rent_m2
        Local rent per m² (Carte des loyers), where in the store.
    shelter_places
        Shelter places (FINESS 214, 219) per commune, where FINESS gives places.
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
    owners_rate: pd.Series | None = None
    rate_75_over: pd.Series | None = None
    share_65_over: pd.Series | None = None
    density_7: pd.Series | None = None
    households_before: pd.Series | None = None
    households_after: pd.Series | None = None
    growth_years: float = 3.0
    rent_m2: pd.Series | None = None
    shelter_places: pd.Series | None = None
    datasets: set[str] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)


def _series(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column keyed by commune code; the columns of one frame share one Index object (so
    that its alignment on the need's codes is computed once, see ``_Context.get``)."""
    index = frame.attrs.get("_code_index")
    if index is None:
        index = _object_index(frame["code"])
        frame.attrs["_code_index"] = index
    return pd.Series(frame[column].to_numpy(), index=index)


def _object_index(codes: pd.Series) -> pd.Index:
    """Commune codes as a plain object Index: aligning two of them is a hash lookup (a
    pyarrow string Index is several times slower to align)."""
    values = np.asarray(codes.astype(str).to_numpy(dtype=object), dtype=object)
    return pd.Index(values, dtype=object, name="code")


def inputs_from_store(need: pd.DataFrame, store: Store | None = None) -> TargetInputs:
    """Read what the categories use from the store (absent datasets are simply absent)."""
    store = store or Store()
    present = set(store.datasets())
    sources: list[str] = []
    inputs = TargetInputs(need=need, datasets=present, sources=sources)
    if ds.FILOSOFI_COMMUNES in present:
        wanted = ("code", "fiscal_persons", "poverty_rate_owners", "poverty_rate_75_over")
        stored = set(pq.read_schema(store.path(ds.FILOSOFI_COMMUNES)).names)
        filo = store.read(ds.FILOSOFI_COMMUNES, columns=[c for c in wanted if c in stored])
        inputs.fiscal_persons = _series(filo, "fiscal_persons")
        if "poverty_rate_owners" in filo.columns:
            inputs.owners_rate = _series(filo, "poverty_rate_owners")
        if "poverty_rate_75_over" in filo.columns:
            inputs.rate_75_over = _series(filo, "poverty_rate_75_over")
        sources.append("INSEE, Filosofi 2021 (revenus 2021) : personnes des ménages fiscaux, "
                       "TP60, TP60TOL1 (propriétaires), TP60AGE6 (75 ans ou plus)")
    if ds.DENSITY_GRID in present:
        inputs.density_7 = _series(store.read(ds.DENSITY_GRID, columns=["code", "density_7"]),
                                   "density_7")
        sources.append("INSEE, grille communale de densité 2025")
    if ds.CENSUS_IRIS in present:
        census = store.read(ds.CENSUS_IRIS, columns=["code", "population", "population_65_plus",
                                                     "main_residences"])
        with np.errstate(divide="ignore", invalid="ignore"):
            old = census["population_65_plus"] / census["population"].where(
                census["population"] > 0)
        inputs.share_65_over = pd.Series(old.to_numpy(), index=_series(census, "code").index)
        inputs.households_after = _series(census, "main_residences")
        sources.append("INSEE, recensement 2021 par IRIS : résidences principales, 65 ans ou plus")
    if ds.RENTS_FLATS in present:
        rents = store.read(ds.RENTS_FLATS)
        if "rent_m2_app" in rents.columns:
            inputs.rent_m2 = _series(rents, "rent_m2_app")
            sources.append("ANIL/DHUP, Carte des loyers (appartements)")
    if ds.FINESS in present:
        table = sup.public_supply(store).table
        shelters = table[(table["offer_type"] == "hebergement") & table["capacity"].notna()]
        if len(shelters):
            inputs.shelter_places = shelters.groupby(shelters["code"].astype(str))[
                "capacity"].sum()
            sources.append("FINESS (ANS) : places d'hébergement social")
    if ds.COMPARATEUR in present:
        comp = store.read(ds.COMPARATEUR, columns=[
            "code", "population", "census_households", "main_residences", "owner_occupied"])
        with np.errstate(divide="ignore", invalid="ignore"):
            size = comp["population"] / comp["census_households"].where(
                comp["census_households"] > 0)
            tenants = 1.0 - comp["owner_occupied"] / comp["main_residences"].where(
                comp["main_residences"] > 0)
        codes = _series(comp, "code").index
        inputs.persons_per_household = pd.Series(size.to_numpy(), index=codes)
        inputs.tenant_share = pd.Series(tenants.clip(0, 1).to_numpy(), index=codes)
        main_residences = pd.Series(comp["main_residences"].to_numpy(), index=codes)
        inputs.households_before = main_residences
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
        if name == "shelter_exit" and not missing and inputs.shelter_places is None:
            out[name] = ("FINESS présent mais sans places d'hébergement publiées (extrait sans "
                         "capacités)")
            continue
        if name == "poor_owners" and not missing and inputs.owners_rate is None:
            missing = ["Filosofi TP60TOL1"]
        if name == "household_growth" and not missing and (
                inputs.households_before is None or inputs.households_after is None):
            missing = ["résidences principales à deux recensements"]
        out[name] = ("source absente du stock : " + ", ".join(dataset_names(missing))
                     if missing else "")
    return out


def dataset_names(datasets: list[str]) -> list[str]:
    """How a sentence names the datasets: the catalogue's short names, never their ids."""
    try:
        from catalogues.sources import load_sources

        catalogue = load_sources()
    except Exception:  # the catalogue is optional: the ids are still a name
        catalogue = {}
    short = {"finess": "FINESS (établissements sociaux)", "rnic": "RNIC (copropriétés)",
             "sne": "SNE (demande de logement social)", "dalo": "recours DALO"}
    return [short.get(d) or (catalogue[d].title if d in catalogue else d) for d in datasets]


def compute_targets(inputs: TargetInputs, params: Mapping[str, Any] | None = None) -> TargetResult:
    """Target households per commune and category (see the module docstring)."""
    params = copy.deepcopy(dict(params)) if params is not None else load_params()
    check_params(params)
    need = inputs.need
    for column in ("code", "households", "poverty_rate"):
        if column not in need.columns:
            raise TargetError(f"Besoin : colonne « {column} » absente.")
    codes = _object_index(need["code"])
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
    ctx = _Context(codes=codes, inputs=inputs)
    persons = ctx.get("fiscal_persons").copy()
    size = ctx.get("persons_per_household")
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
    ctx.households, ctx.poor, ctx.rate = households, poor, rate
    ctx.persons, ctx.size_for = persons, size_for
    gross: dict[str, dict[str, np.ndarray]] = {}
    for name in CATEGORIES:
        if availability[name]:
            continue
        spec = params["categories"][name]
        gross[name] = {bound: _brick(name, spec, bound, ctx) for bound in BOUNDS}
    net = remove_double_counts(gross, params.get("double_counts") or {})
    for name in CATEGORIES:
        for bound in BOUNDS:
            column = f"target_{name}{_suffix(bound)}"
            if name not in net:
                out[column] = _int_array(np.full(len(codes), np.nan))
                continue
            out[column] = _int_array(whole(net[name][bound], bound))
        if name in gross:
            out[f"gross_{name}"] = gross[name]["central"]
    # Context of the reference gap's « territoires comparables » (density class, market zone).
    if inputs.density_7 is not None:
        out["density_7"] = ctx.get("density_7")
    if inputs.zone_abc is not None:
        out["zone_abc"] = ctx.text("zone_abc")
    if "poor_owners" in net:
        # « dont » of the net brick: old owners (65 or over) and owners in rural communes.
        central = net["poor_owners"]["central"]
        out["poor_owners_old"] = central * ctx.extra.pop("poor_owners_old_share")
        out["poor_owners_rural"] = central * ctx.extra.pop("poor_owners_rural_flag")
    for column, values in ctx.extra.items():
        if column != "owners_ratio":
            out[column] = values
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


@dataclass
class _Context:
    """What the bricks of one computation share."""

    codes: pd.Index
    inputs: TargetInputs
    households: np.ndarray | None = None
    poor: dict[str, np.ndarray] = field(default_factory=dict)
    rate: dict[str, np.ndarray] = field(default_factory=dict)
    persons: np.ndarray | None = None
    size_for: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    _cache: dict[str, np.ndarray] = field(default_factory=dict)

    _indexers: dict[int, tuple[pd.Index, np.ndarray]] = field(default_factory=dict)

    def text(self, name: str) -> np.ndarray:
        """A text input Series aligned on the codes (``None`` where unknown)."""
        key = f"text:{name}"
        if key not in self._cache:
            values = getattr(self.inputs, name)
            if values is None:
                self._cache[key] = np.full(len(self.codes), None, dtype=object)
            else:
                position = self._position(values.index)
                if position is None:
                    self._cache[key] = _text(values, self.codes)
                else:
                    labels = values.to_numpy(dtype=object, na_value=None)
                    out = np.full(len(self.codes), None, dtype=object)
                    found = position >= 0
                    out[found] = labels[position[found]]
                    self._cache[key] = out
        return self._cache[key]

    def _position(self, index: pd.Index) -> np.ndarray | None:
        """Positions of the codes in ``index`` (-1 where absent); None for a duplicated index."""
        key = id(index)
        if key not in self._indexers:
            if not index.is_unique:
                return None
            aligned = index if index.dtype == object else _object_index(pd.Series(index))
            self._indexers[key] = (index, aligned.get_indexer(self.codes))
        return self._indexers[key][1]

    def get(self, name: str) -> np.ndarray:
        """An input Series of :class:`TargetInputs` aligned on the codes (computed once; one
        alignment per distinct Index object)."""
        if name not in self._cache:
            values = getattr(self.inputs, name)
            if values is None:
                self._cache[name] = np.full(len(self.codes), np.nan)
                return self._cache[name]
            if name == "zone_tendue":
                values = _as_float(values)
            position = self._position(values.index)
            if position is None:
                self._cache[name] = _aligned(values, self.codes)
                return self._cache[name]
            numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float,
                                                                       na_value=np.nan)
            self._cache[name] = np.where(position >= 0, numbers[np.maximum(position, 0)],
                                         np.nan)
        return self._cache[name]


def _brick(name: str, spec: Mapping[str, Any], bound: str, ctx: _Context) -> np.ndarray:
    """Gross households (float) of a brick for one bound (see the YAML's ``formula_fr``)."""
    kind = spec.get("local", "none")
    share = float(spec["share"][bound]) if "share" in spec else 1.0
    if kind == "none":
        return ctx.poor[bound] * share
    if kind == "tenants_tension":
        tenants = ctx.get("tenant_share")
        factor = np.clip(tenants / _national_tenants(tenants, ctx.households), 0.0,
                         float(spec.get("tenants_factor_max", 2.5)))
        return ctx.poor[bound] * share * factor * tension_factor(spec, bound, ctx)
    if kind == "old_condominiums":
        return ctx.poor[bound] * share * ctx.get("old_condo_share")
    if kind == "finess_shelter":
        places = ctx.get("shelter_places")
        places = np.where(np.isnan(places), 0.0, places)  # no shelter recorded: none
        return places * float(spec["occupancy"]) * share
    if kind == "owners":
        return _poor_owners(spec, bound, ctx) * share
    if kind == "growth":
        before = ctx.get("households_before")
        after = ctx.get("households_after")
        years = float(spec.get("horizon_years", 6))
        with np.errstate(divide="ignore", invalid="ignore"):
            poor_share = np.clip(ctx.poor[bound] / np.where(ctx.households > 0, ctx.households,
                                                            np.nan), 0, 1)
        growth = np.maximum(after - before, 0.0) / float(ctx.inputs.growth_years) * years
        ctx.extra["household_growth_all"] = growth
        return growth * poor_share
    raise TargetError(f"Facteur local « {kind} » inconnu.")


def tension_factor(spec: Mapping[str, Any], bound: str, ctx: _Context) -> np.ndarray:
    """Market-tension factor of the private tenants (never 0 where the zone is known).

    By zone A/B/C (``tension_factor``), a « zone tendue » (TLV) commune at least the factor of
    ``tendue_zone``; where the local rent is known, the rent relative to the national median
    rent of the communes (bounded by ``rent_factor_bounds``) replaces the zone's factor.
    """
    table = spec["tension_factor"]
    zone = ctx.text("zone_abc")
    factor = np.full(len(zone), np.nan)
    for label, values in table.items():
        factor[zone == label] = float(values[bound])
    tendue = ctx.get("zone_tendue") == 1.0
    floor = float(table[spec.get("tendue_zone", "B1")][bound])
    factor = np.where(tendue, np.fmax(factor, floor), factor)
    rent = ctx.get("rent_m2")
    if np.isfinite(rent).any():
        low, high = (float(v) for v in spec.get("rent_factor_bounds", [0.75, 1.5]))
        relative = np.clip(rent / np.nanmedian(rent), low, high)
        factor = np.where(np.isfinite(rent), relative, factor)
    return factor


def owner_rate_ratios(
    owners: np.ndarray, rate: np.ndarray, density: np.ndarray, min_count: int = 20
) -> dict[str, np.ndarray]:
    """Per commune, TP60TOL1 / TP60 of the communes of the same density level where both are
    published: first quartile (low), median (central), third quartile (high); all communes
    pooled where a level has fewer than ``min_count`` such communes."""
    ok = np.isfinite(owners) & np.isfinite(rate) & (rate > 0)
    ratio = np.where(ok, owners / np.where(rate > 0, rate, np.nan), np.nan)
    quantiles = {"low": 25, "central": 50, "high": 75}
    pooled = {b: (np.nanpercentile(ratio[ok], q) if ok.any() else np.nan)
              for b, q in quantiles.items()}
    out = {b: np.full(len(rate), pooled[b]) for b in quantiles}
    for level in np.unique(density[np.isfinite(density)]):
        members = density == level
        if (ok & members).sum() < min_count:
            continue
        for b, q in quantiles.items():
            out[b][members] = np.nanpercentile(ratio[ok & members], q)
    return out


def _poor_owners(spec: Mapping[str, Any], bound: str, ctx: _Context) -> np.ndarray:
    """Poor owner-occupier households (before the share needing an intervention)."""
    if "owners_ratio" not in ctx.extra:
        owners = ctx.get("owners_rate")
        density = ctx.get("density_7")
        ctx.extra["owners_ratio"] = owner_rate_ratios(owners, ctx.rate["central"], density)
        ctx.extra["owners_rate_published"] = np.isfinite(owners)
    owners = ctx.get("owners_rate")
    published = np.isfinite(owners)
    rate = np.where(published, owners, ctx.rate[bound] * ctx.extra["owners_ratio"][bound])
    tenants = ctx.get("tenant_share")
    persons = ctx.persons * (1.0 - tenants)
    sizes = spec["persons_per_poor_owner_household"]
    size = {"central": sizes["central"], "low": sizes["high"], "high": sizes["low"]}[bound]
    households = rate / 100.0 * persons / float(size)
    if bound == "central":
        density = ctx.get("density_7")
        rate_75 = ctx.get("rate_75_over")
        with np.errstate(divide="ignore", invalid="ignore"):
            age_ratio = rate_75 / ctx.rate["central"]
        known = np.isfinite(age_ratio)
        median_ratio = float(np.nanmedian(age_ratio)) if known.any() else 1.0
        age_ratio = np.where(known, age_ratio, median_ratio)
        old_share = np.clip(ctx.get("share_65_over") * age_ratio, 0.0, 1.0)
        ctx.extra["poor_owner_households"] = households
        ctx.extra["poor_owners_old_share"] = old_share
        ctx.extra["poor_owners_rural_flag"] = np.where(
            density >= 5, 1.0, np.where(np.isfinite(density), 0.0, np.nan))
        ctx.extra["owners_rate_estimated"] = ~published
    return households


def remove_double_counts(
    gross: Mapping[str, Mapping[str, np.ndarray]], rules: Mapping[str, Any]
) -> dict[str, dict[str, np.ndarray]]:
    """Bricks net of double counts (OTELO brick 1.6), never below 0.

    For each overlap, ``share`` is the part of the LATER brick's households also counted in
    the earlier one; they stay in the earlier brick and leave the later one:
    ``later_net = later × (1 − Σ share)`` over the overlaps whose earlier brick is computed (an
    absent earlier brick removes nothing). The removal scales with the later brick, so a brick
    is never emptied where its households exist.
    """
    net = {name: {b: np.asarray(v, float).copy() for b, v in bounds.items()}
           for name, bounds in gross.items()}
    removed: dict[str, float] = {}
    for overlap in rules.get("overlaps") or []:
        earlier, later = overlap["earlier"], overlap["later"]
        if earlier in gross and later in net:
            removed[later] = removed.get(later, 0.0) + float(overlap["share"])
    for later, share in removed.items():
        if share >= 1:
            raise TargetError(f"double_counts : parts retirées de « {later} » ≥ 1.")
        for bound in BOUNDS:
            net[later][bound] = np.maximum(net[later][bound] * (1.0 - share), 0.0)
    return net


# -- families and national totals -----------------------------------------------------------
def family_targets(
    result: TargetResult, housed: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """``(N, 3)`` target households (central, low, high) of each family of offer.

    Each available brick is split between the families that answer it (``families`` shares),
    so a household is counted once over the housing families. A « dont » brick (``subset_of``)
    enters only when the brick it belongs to is not available. ``housed`` (rows of
    ``result.frame``): households already housed by the members' offer in ordinary dwellings,
    taken off the brick named in ``double_counts.housed_by_offer`` (offer, not need). A family
    none of whose bricks is available is absent (its gap is « non disponible »).
    """
    params = result.params
    rule = (params.get("double_counts") or {}).get("housed_by_offer") or {}
    out: dict[str, np.ndarray] = {}
    for family, names in family_categories(params).items():
        names = [n for n in names if result.available(n) and not _covered_by_parent(result, n)]
        if not names:
            continue
        columns = []
        for bound in BOUNDS:
            parts = []
            for name in names:
                values = result.frame[f"target_{name}{_suffix(bound)}"].astype("Float64") \
                    .to_numpy(dtype=float, na_value=np.nan)
                if housed is not None and name == rule.get("brick"):
                    values = np.maximum(values - np.nan_to_num(np.asarray(housed, float)), 0.0)
                share = family_shares_of(params["categories"][name])[family]
                parts.append(values * share)
            columns.append(np.sum(parts, axis=0))
        out[family] = np.column_stack(columns)
    return out


def _covered_by_parent(result: TargetResult, name: str) -> bool:
    parent = result.params["categories"][name].get("subset_of")
    return bool(parent) and result.available(parent)


def brick_table(params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per brick: label, OTELO counterpart, source, families (with their share),
    kind (stock or flow), whether it is a « dont » of another brick."""
    params = params or load_params()
    labels = {"pension_de_famille": "pension de famille", "residence_sociale": "résidence sociale",
              "intermediation_locative": "intermédiation locative", "diffus": "diffus (MOI)",
              "hebergement": "hébergement", "accompagnement": "accompagnement"}
    rows = []
    for name in CATEGORIES:
        spec = params["categories"][name]
        shares = family_shares_of(spec)
        rows.append({
            "category": name, "label": spec["label"], "short_label": spec.get("short_label", ""),
            "brick": spec.get("brick", ""), "otelo_fr": spec["otelo_fr"],
            "source_fr": spec["source_fr"], "kind": spec.get("kind", "stock"),
            "subset_of": spec.get("subset_of", ""), "offer_fr": spec.get("offer_fr", ""),
            "families_fr": ", ".join(
                f"{labels.get(f, f)} ({_fr_decimal(v * 100)} %)" for f, v in shares.items())
            or "aucune (flux montré à part)",
            "formula_fr": spec["formula_fr"],
        })
    return pd.DataFrame(rows)


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
            column = ref.get("compare_column")
            base = (float(np.nansum(frame[column])) if column and column in frame.columns
                    else totals["central"])
            share = base / poor["central"] if poor["central"] else np.nan
            what = ("ménages pauvres propriétaires, avant la part ayant besoin d'une "
                    "intervention : " if column else "")
            comparison = (f"{what}{_pct(share)} des ménages pauvres estimés ; publié : "
                          f"{_pct(ref['value'])} ({ref.get('label_fr', '')}).")
        elif ref.get("unit") == "croissance annuelle des ménages":
            growth = float(np.nansum(frame.get("household_growth_all", np.nan)))
            base = float(np.nansum(frame["households"]))
            years = float(spec.get("horizon_years", 6))
            rate = growth / years / base if base else np.nan
            comparison = (f"croissance brute des ménages des communes en hausse, 2018-2021 : "
                          f"{_pct(rate)} par an ; publié : {_pct(ref['value'])} par an "
                          f"({ref.get('label_fr', '')}).")
        elif ref.get("unit") == "places":
            comparison = (_count_comparison(totals["central"], ref.get("value"), "ménages")
                          + " (places publiées, dont 90 % occupées ; le total estimé compte la "
                          "part des hébergés ayant vocation à un logement).")
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
