"""The gap against a reference rate, family of offer by family of offer.

For each family ``f`` (pension de famille, résidence sociale, intermédiation locative, diffus,
hébergement, accompagnement) and commune ``k``, with ``T_kf`` the target households of the
family (``models.target_households``):

* the floating catchment (``models.accessibility``, same pairs and decay as ``models.gap``) is
  run with ``T_f`` as demand: ``A_kf`` places per target household within reach, and
  ``rate_kf = 1000 · A_kf`` places per 1,000 target households;
* ``allocated_kf = A_kf · T_kf`` places (they sum to the family's places that have target
  households in reach);
* with ``ρ_f`` the reference rate (places per 1,000 target households; see
  ``gap_reference.yaml`` for the four ways of choosing it), ``expected_kf = ρ_f · T_kf / 1000``,
  ``missing_kf = max(0, expected − allocated)`` and ``surplus_kf = max(0, allocated − expected)``;
* the class compares ``rate / ρ``: « très en dessous de la référence », « en dessous de la
  référence », « dans la référence », « au-dessus de la référence »; « pas de ménages cibles
  mesurés » below a threshold, « non calculé » when the target, the reference or the
  location is unknown.

The total sums the families of ``access.yaml`` ``gap.total_types`` that have both a target
and a reference: missing places, surplus, and the class of ``Σ allocated / Σ expected``. The
floating catchment is computed once; changing the reference re-scores arrays only.

Never one ratio of places over all poor households: the denominators are target households.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from catalogues.sources import read_yaml
from models import target_households as th
from models import zones_blanches as zb

PARAMS_PATH = Path(__file__).with_name("gap_reference.yaml")

CLASS_VERY_BELOW = "très en dessous de la référence"
CLASS_BELOW = "en dessous de la référence"
CLASS_WITHIN = "dans la référence"
CLASS_ABOVE = "au-dessus de la référence"
CLASS_NO_TARGET = "pas de ménages cibles mesurés"
CLASS_NOT_COMPUTED = "non calculé"
CLASSES = (CLASS_VERY_BELOW, CLASS_BELOW, CLASS_WITHIN, CLASS_ABOVE, CLASS_NO_TARGET,
           CLASS_NOT_COMPUTED)
# Colours of the classes (red → green; greys for the two without a measure).
CLASS_COLOURS = {
    CLASS_VERY_BELOW: "#b2182b", CLASS_BELOW: "#ef8a62", CLASS_WITHIN: "#d9d9a0",
    CLASS_ABOVE: "#4d9221", CLASS_NO_TARGET: "#e0e0e0", CLASS_NOT_COMPUTED: "#bdbdbd",
}

def definition_fr(params: Mapping[str, Any] | None = None) -> str:
    """The French definition of the reference gap and its classes (from the parameters)."""
    bounds = (params or load_params())["classes"]

    def pct(value: float) -> str:
        return f"{value * 100:.0f} %"

    return (
        "Pour chaque famille d'offre : places à portée (méthode à deux étapes à aire flottante "
        "sur les ménages cibles de la famille) pour 1 000 ménages cibles, comparées à un taux "
        "de référence ; places manquantes = référence × ménages cibles / 1 000 − places "
        "allouées (0 au-delà : excédent). Classes : « très en dessous de la référence » (moins "
        f"de {pct(bounds['very_below'])} de la référence), « en dessous » (moins de "
        f"{pct(bounds['below'])}), « dans la référence » ({pct(bounds['below'])} à "
        f"{pct(bounds['above'])}), « au-dessus » (plus de {pct(bounds['above'])})."
    )


def living_area_note_fr(params: Mapping[str, Any] | None = None) -> str:
    """The legend's sentence on the scale at which the class is judged."""
    minimum = ((params or load_params()).get("living_area") or {}).get("min_target_households", 0)
    if not minimum:
        return "Chaque commune est jugée à son échelle."
    return (f"Une commune de moins de {minimum:g} ménages cibles est jugée à l'échelle de son "
            "EPCI : sa classe est celle de l'EPCI ; ses propres chiffres (places, "
            "ménages cibles, places manquantes) restent affichés, sans classe propre.")


METHODS: dict[str, str] = {
    "comparable": "territoires comparables : médiane des territoires de même densité et de "
                  "même tension du marché",
    "comparable_q3": "territoires comparables : quartile supérieur des territoires de même "
                     "densité et de même tension du marché",
    "yaml": "cible du fichier de paramètres (équipement national publié)",
    "national_median": "médiane nationale des départements",
    "regional_median": "médiane des départements de la région",
    "value": "valeur saisie",
}


class ReferenceError(ValueError):
    """Unusable reference or parameters (French message)."""


def load_params(path: Path | str | None = None) -> dict[str, Any]:
    """Parameters of ``gap_reference.yaml`` (a fresh copy)."""
    return copy.deepcopy(_load_cached(str(Path(path) if path else PARAMS_PATH)))


@lru_cache(maxsize=4)
def _load_cached(path: str) -> dict[str, Any]:
    params = read_yaml(path, ReferenceError, "Fichier de paramètres") or {}
    for key in ("default_method", "families", "classes", "zones_blanches"):
        if key not in params:
            raise ReferenceError(f"Paramètre « {key} » absent du fichier {path}.")
    if params["default_method"] not in METHODS:
        raise ReferenceError(f"{path} : default_method « {params['default_method']} » inconnu.")
    bounds = params["classes"]
    if not 0 < bounds["very_below"] <= bounds["below"] <= 1 <= bounds["above"]:
        raise ReferenceError(f"{path} : classes : 0 < very_below ≤ below ≤ 1 ≤ above attendu.")
    return params


# -- the arithmetic -------------------------------------------------------------------------
def family_access(
    w: Any, wt: Any, supply: np.ndarray, demand: np.ndarray, valid: np.ndarray
) -> np.ndarray:
    """``(N, V)`` places per target household within reach (the floating catchment).

    ``w`` is the ``(P, N)`` sparse weight matrix of provider → commune pairs, ``wt`` its
    transpose (CSR), ``supply`` the ``(P,)`` places of the family, ``demand`` ``(N, V)`` target
    households (NaN = unknown, counted as none in step 1). A provider without demand in reach
    gets a ratio of 0, never inf.
    """
    known = np.nan_to_num(np.asarray(demand, dtype=float), nan=0.0)
    provider_demand = np.asarray(w @ known)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(provider_demand > 0, supply[:, None] / provider_demand, 0.0)
    access = np.asarray(wt @ ratio)
    access[~np.asarray(valid, dtype=bool)] = np.nan
    return access


_LABELS = np.array(CLASSES, dtype=object)
# Scale at which a commune's class is judged (column ``class_scale`` of the frame).
SCALE_COMMUNE = "commune"
SCALE_LIVING_AREA = "EPCI"


def classify(
    rate: np.ndarray, reference: np.ndarray, target: np.ndarray, params: Mapping[str, Any]
) -> np.ndarray:
    """Class of each commune from its rate and reference (places per 1,000 target households)
    and its target households (labels)."""
    return _LABELS[classify_codes(rate, reference, target, params)]


def classify_codes(
    rate: np.ndarray, reference: np.ndarray, target: np.ndarray, params: Mapping[str, Any]
) -> np.ndarray:
    """:func:`classify` as positions in :data:`CLASSES` (int8: fast to re-score)."""
    bounds = params["classes"]
    rate = np.asarray(rate, dtype=float)
    reference = np.broadcast_to(np.asarray(reference, dtype=float), rate.shape)
    target = np.asarray(target, dtype=float)
    unknown = np.isnan(target) | np.isnan(rate) | ~(reference > 0)
    no_target = ~np.isnan(target) & (target < float(bounds["min_target_households"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = rate / reference
    return classify_ratio(ratio, no_target, unknown, params)


def classify_ratio(
    ratio: np.ndarray, no_target: np.ndarray, unknown: np.ndarray, params: Mapping[str, Any]
) -> np.ndarray:
    """Class positions from ``rate / reference`` (« pas de ménages cibles » first, then
    unknown)."""
    bounds = params["classes"]
    out = np.full(np.shape(ratio), 3, dtype=np.int8)  # au-dessus
    with np.errstate(invalid="ignore"):
        out[ratio <= bounds["above"]] = 2
        out[ratio < bounds["below"]] = 1
        out[ratio < bounds["very_below"]] = 0
    out[unknown] = 5
    out[no_target] = 4
    return out


def missing_and_surplus(
    allocated: np.ndarray, target: np.ndarray, reference: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(expected, missing, surplus)`` places: expected = reference × target / 1000."""
    expected = np.asarray(reference, float) * np.asarray(target, float) / 1000.0
    diff = expected - np.asarray(allocated, float)
    return expected, np.where(np.isnan(diff), np.nan, np.maximum(diff, 0.0)), np.where(
        np.isnan(diff), np.nan, np.maximum(-diff, 0.0))


def group_rates(
    allocated: np.ndarray, target: np.ndarray, groups: np.ndarray,
    hosting: Iterable[str] | None = None,
) -> pd.Series:
    """Rate of each group: 1000 × Σ allocated / Σ target, over communes with a known target.

    Only groups in ``hosting`` (those where places of the family are located) are kept when
    given: a département only reached across its border by a neighbour's places would pull a
    median down without any offer of its own being recorded.
    """
    frame = pd.DataFrame({"g": groups, "a": allocated, "t": target}).dropna()
    sums = frame.groupby("g")[["a", "t"]].sum()
    sums = sums[sums["t"] > 0]
    if hosting is not None:
        sums = sums[sums.index.isin(list(hosting))]
    return (1000.0 * sums["a"] / sums["t"]).rename("rate")


# -- the model ------------------------------------------------------------------------------
@dataclass
class Reference:
    """The reference chosen: a method of :data:`METHODS` and, for ``value``, the typed rates."""

    method: str = "yaml"
    values: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ReferenceError(
                f"Référence « {self.method} » inconnue : " + ", ".join(METHODS) + ".")
        for family, value in self.values.items():
            if not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
                raise ReferenceError(
                    f"Référence saisie pour « {family} » : un nombre positif de places pour "
                    f"1 000 ménages cibles est attendu (reçu : {value!r}).")


class ReferenceGap:
    """Families' access computed once on a :class:`models.gap.GapModel`; re-scored for any
    reference in a few milliseconds."""

    def __init__(
        self,
        model: Any,
        targets: th.TargetResult,
        regions: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        """``model``: a :class:`models.gap.GapModel` (its communes, locations, floating
        catchment and types; not imported here, so that the two modules do not import each
        other)."""
        self.params = copy.deepcopy(dict(params)) if params is not None else load_params()
        self.model = model
        self.targets = targets
        codes = model.locations.codes
        self.codes = codes
        self.valid = model.locations.valid
        communes = model.communes
        self.dep = (communes["dep_code"].astype(str).to_numpy() if "dep_code" in communes.columns
                    else np.full(len(codes), "", dtype=object))
        regions = dict(regions or {})
        self.reg = np.array([regions.get(d, "") for d in self.dep], dtype=object)
        frame = targets.frame.set_index(targets.frame["code"].astype(str))
        if frame.index.has_duplicates:
            raise ReferenceError("Ménages cibles : codes commune en double.")
        self.estimated = frame["estimated"].reindex(codes).fillna(False).to_numpy(dtype=bool) \
            if "estimated" in frame.columns else np.zeros(len(codes), dtype=bool)
        frame_codes = targets.frame["code"].astype(str)
        positions = pd.Index(codes).get_indexer(frame_codes)
        self.housed = self._housed_by_offer(model, targets.params)
        housed = np.where(positions >= 0, self.housed[np.maximum(positions, 0)], 0.0)
        by_family = th.family_targets(targets, housed=housed)
        self.families = [f for f in model.types if f in by_family]
        self.unavailable = {f: _unavailable_reason(targets, f) for f in model.types
                            if f not in by_family}
        aligned = pd.Index(targets.frame["code"].astype(str)).get_indexer(codes)
        self.target: dict[str, np.ndarray] = {}
        for family in self.families:
            values = by_family[family]
            target = np.full((len(codes), 3), np.nan)
            target[aligned >= 0] = values[aligned[aligned >= 0]]
            self.target[family] = target
        self.access, self.places, self.providers = self._family_access(model.fca)
        total = set(model.config["gap"]["total_types"])
        self.total_families = [f for f in self.families if f in total]
        self._national_target = {f: float(np.nansum(self.target[f][:, 0])) for f in self.families}
        self._hosting = {f: self._hosting_groups(model.types.index(f)) for f in self.families}
        self._dep_rates: dict[str, pd.Series] = {}
        # Living areas (EPCI) and « territoires comparables ».
        self.epci = (communes["epci_code"].astype("string").fillna("").astype(str).to_numpy()
                     if "epci_code" in communes.columns else np.full(len(codes), "", dtype=object))
        self.epci_index, self.epci_codes = pd.factorize(np.where(self.epci == "", None,
                                                                 self.epci))
        # Comparable territories: départements or EPCI (``comparable.level``).
        level = (self.params.get("comparable") or {}).get("level", "departement")
        self.unit_level = "EPCI" if level == "epci" else "départements"
        self.unit = self.epci if level == "epci" else np.asarray(self.dep, dtype=object)
        self.unit_index, self.unit_codes = pd.factorize(np.where(self.unit == "", None,
                                                                 self.unit))
        self.comparable_group = self._comparable_groups(frame.reindex(codes))
        self._hosting_unit = {f: self._hosting_groups(model.types.index(f), self.unit)
                              for f in self.families}
        self._unit_rates: dict[str, pd.Series] = {}
        self._unit_groups: np.ndarray | None = None
        living = self.params.get("living_area") or {}
        self.living_area_min = float(living.get("min_target_households", 0))
        housing = [self.target[f][:, 0] for f in self.total_families]
        size = np.nansum(housing, axis=0) if housing else np.zeros(len(codes))
        minimum = float(self.params["classes"]["min_target_households"])
        # Communes without target households keep « pas de ménages cibles mesurés ».
        self.small = (self.epci_index >= 0) & (size < self.living_area_min) & (size >= minimum)

    def _family_access(
        self, fca: Any
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Access ``(N, 3)``, places and providers in reach ``(N,)`` of every family for a
        floating-catchment state (the model's, or a scenario's copy of it)."""
        _, places, count = fca.rows(np.arange(len(self.codes)))
        access, in_reach, providers = {}, {}, {}
        for family in self.families:
            t = self.model.types.index(family)
            access[family] = family_access(fca.w, fca.wt, fca.supply[:, t], self.target[family],
                                           self.valid)
            in_reach[family] = places[:, t]
            providers[family] = count[:, t]
        return access, in_reach, providers

    def _hosting_groups(self, t: int, labels: np.ndarray | None = None) -> set[str]:
        """Départements (or the groups of ``labels``) where places of type ``t`` are located
        (area services: the groups of the communes they cover)."""
        labels = self.dep if labels is None else labels
        fca = self.model.fca
        has = fca.supply[:, t] > 0
        located = fca.provider_position[has & (fca.provider_position >= 0)]
        deps = set(labels[located])
        services = np.flatnonzero(has & (fca.provider_position < 0))
        for provider in services:
            deps.update(labels[fca.rows_reached_by(int(provider))])
        return {str(d) for d in deps if str(d)}

    @staticmethod
    def _housed_by_offer(model: Any, params: Mapping[str, Any]) -> np.ndarray:
        """Households housed by the offer in ordinary dwellings (IML, diffus), per commune:
        the places located there (one place = one household; they are offer, not need)."""
        rule = (params.get("double_counts") or {}).get("housed_by_offer") or {}
        fca = model.fca
        n = len(model.locations.codes)
        out = np.zeros(n)
        located = fca.provider_position >= 0
        for family in rule.get("families") or []:
            if family not in model.types:
                continue
            supply = np.nan_to_num(fca.supply[:, model.types.index(family)])
            out += np.bincount(fca.provider_position[located], weights=supply[located],
                               minlength=n)[:n]
        return out

    def _comparable_groups(self, frame: pd.DataFrame) -> np.ndarray:
        """Per commune, the « territoires comparables » group of its territory (département or
        EPCI): density class holding most of its households, and market tension (most
        households in a tense zone). Empty where the territory, density or zone is unknown."""
        spec = self.params.get("comparable") or {}
        n = len(self.codes)
        if "density_7" not in frame.columns or not len(self.unit_codes):
            return np.full(n, "", dtype=object)
        groups = {int(k): str(v) for k, v in (spec.get("density_groups") or {}).items()}
        density = pd.Series(pd.to_numeric(frame["density_7"], errors="coerce").to_numpy())
        density_group = density.map(groups).fillna("").to_numpy(dtype=object)
        zone = (frame["zone_abc"].astype("string").fillna("").to_numpy(dtype=object)
                if "zone_abc" in frame.columns else np.full(n, "", dtype=object))
        tense = np.isin(zone, list(spec.get("tense_zones") or []))
        weight = np.nan_to_num(np.asarray(self.model.households, dtype=float))
        epci = pd.DataFrame({"e": self.unit_index, "d": density_group, "t": tense, "z": zone,
                             "w": weight})
        epci = epci[epci["e"] >= 0]
        by_density = epci[epci["d"] != ""].groupby(["e", "d"])["w"].sum().reset_index()
        dominant = by_density.sort_values("w").drop_duplicates("e", keep="last") \
            .set_index("e")["d"]
        known = epci[epci["z"] != ""]
        tense_share = (known["w"] * known["t"]).groupby(known["e"]).sum() / \
            known.groupby("e")["w"].sum().replace(0, np.nan)
        label = pd.Series("", index=range(len(self.unit_codes)), dtype=object)
        both = dominant.index.intersection(tense_share.dropna().index)
        label[both] = [f"{dominant[e]}, marché {'tendu' if tense_share[e] >= 0.5 else 'détendu'}"
                       for e in both]
        out = np.where(self.unit_index >= 0, label.to_numpy()[np.maximum(self.unit_index, 0)], "")
        return out.astype(object)

    @classmethod
    def from_store(
        cls, model: Any, need: pd.DataFrame, store: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> ReferenceGap:
        """Targets from the store and the need frame, regions from the store's départements."""
        from geodata.store import Store

        store = store or Store()
        targets = th.compute_targets(th.inputs_from_store(need, store))
        regions = {}
        if store.exists("departements"):
            deps = store.read("departements", columns=["code", "reg_code"])
            regions = dict(zip(deps["code"].astype(str), deps["reg_code"].astype(str),
                               strict=True))
        return cls(model, targets, regions, params)

    # -- references ------------------------------------------------------------------------
    def yaml_rate(self, family: str) -> float | None:
        """National places published / national target households × 1000 (None without a
        published count)."""
        spec = self.params["families"].get(family) or {}
        places = spec.get("national_places")
        total = self._national_target.get(family, 0.0)
        if not places or total <= 0:
            return None
        return 1000.0 * float(places) / total

    def department_rates(self, family: str) -> pd.Series:
        """Rate of each département hosting places of the family (central targets); it does
        not depend on the reference, so it is computed once."""
        if family not in self._dep_rates:
            target = self.target[family][:, 0]
            self._dep_rates[family] = group_rates(
                self.access[family][:, 0] * target, target, self.dep, self._hosting[family])
        return self._dep_rates[family]

    def unit_rates(self, family: str) -> pd.Series:
        """Rate of each comparable territory (département or EPCI) hosting places of the
        family (central targets): 1000 × Σ allocated / Σ targets, computed once."""
        if family not in self._unit_rates:
            target = self.target[family][:, 0]
            allocated = self.access[family][:, 0] * target
            index = self.unit_index
            ok = (index >= 0) & np.isfinite(allocated) & np.isfinite(target)
            size = len(self.unit_codes)
            sums_a = np.bincount(index[ok], weights=allocated[ok], minlength=size)
            sums_t = np.bincount(index[ok], weights=target[ok], minlength=size)
            hosting = np.isin(np.asarray(self.unit_codes, dtype=object),
                              list(self._hosting_unit[family]))
            keep = hosting & (sums_t > 0)
            self._unit_rates[family] = pd.Series(
                1000.0 * sums_a[keep] / sums_t[keep],
                index=pd.Index(np.asarray(self.unit_codes, dtype=object)[keep], dtype=object),
                name="rate")
        return self._unit_rates[family]

    def comparable_rates(self, family: str, quantile: float) -> tuple[np.ndarray, str]:
        """The « territoires comparables » reference of each commune and its French note."""
        spec = self.params.get("comparable") or {}
        minimum = int(spec.get("min_territories", 5))
        rates = self.unit_rates(family)
        if not len(rates):
            return (np.full(len(self.codes), np.nan),
                    f"aucun des {self.unit_level} n'a de places situées")
        position = pd.Index(np.asarray(self.unit_codes, dtype=object), dtype=object) \
            .get_indexer(rates.index)
        unit_groups = self.comparable_group_of_unit()
        groups = unit_groups[position]
        values_all = rates.to_numpy()
        national = float(np.quantile(values_all, quantile))
        by_group: dict[str, float] = {}
        counts: dict[str, int] = {}
        for group in np.unique(groups):
            members = values_all[groups == group]
            counts[str(group)] = len(members)
            if group != "" and len(members) >= minimum:
                by_group[str(group)] = float(np.quantile(members, quantile))
        unit_value = np.array([by_group.get(str(g), np.nan) for g in unit_groups], dtype=float)
        index = self.unit_index
        out = np.where(index >= 0, unit_value[np.maximum(index, 0)], np.nan)
        fallback = np.isnan(out)
        out[fallback] = national
        unit = self.unit_level
        described = "; ".join(f"{g} : {counts[g]}" for g in by_group)
        note = (f"{'médiane' if quantile == 0.5 else 'quartile supérieur'} des {unit} où des "
                f"places sont situées, par groupe ({described or 'aucun groupe assez fourni'})")
        if fallback.any():
            note += (f" ; moins de {minimum} {unit} comparables : ensemble des "
                     f"{len(rates)} {unit}")
        return out, note

    def comparable_group_of_unit(self) -> np.ndarray:
        """The comparable group of each territory of :attr:`unit_codes` (computed once)."""
        if self._unit_groups is None:
            out = np.full(len(self.unit_codes), "", dtype=object)
            has = self.unit_index >= 0
            out[self.unit_index[has]] = self.comparable_group[has]
            self._unit_groups = out
        return self._unit_groups

    def references(self, reference: Reference | None = None) -> tuple[dict[str, np.ndarray],
                                                                     dict[str, str]]:
        """Per family, the reference rate of each commune, and a French note per family
        saying which reference it is (and any fallback)."""
        reference = reference or Reference(self.params["default_method"])
        rates: dict[str, np.ndarray] = {}
        notes: dict[str, str] = {}
        n = len(self.codes)
        for family in self.families:
            method = reference.method
            note = METHODS[method]
            if method == "value":
                value = reference.values.get(family)
                if value is None:
                    method, note = "national_median", (
                        METHODS["national_median"] + " (aucune valeur saisie pour cette famille)")
                else:
                    rates[family] = np.full(n, float(value))
                    notes[family] = note
                    continue
            if method == "yaml":
                value = self.yaml_rate(family)
                if value is None:
                    method, note = "national_median", (
                        METHODS["national_median"] + " (pas d'équipement national publié pour "
                        "cette famille : hypothèse à confirmer)")
                else:
                    spec = self.params["families"][family]
                    rates[family] = np.full(n, value)
                    notes[family] = (f"{note} : {spec['national_places']:,} "
                                     f"{spec.get('places_label_fr', 'places')} ({spec['source']})"
                                     ).replace(",", "\u202f", 1)
                    if spec.get("unit", "places") != "places":
                        notes[family] += (f" — attention : compté en {spec['unit']} "
                                          f"({spec.get('year', 'année non précisée')}), l'offre "
                                          "en places : à titre indicatif")
                    continue
            if method in ("comparable", "comparable_q3"):
                rates[family], detail = self.comparable_rates(
                    family, 0.5 if method == "comparable" else 0.75)
                notes[family] = f"{note} ({detail})"
                continue
            deps = self.department_rates(family)
            if method == "national_median":
                value = float(deps.median()) if len(deps) else np.nan
                rates[family] = np.full(n, value)
                notes[family] = note + f" ({len(deps)} département(s) où des places sont situées)"
            else:  # regional_median
                regions = pd.Series(self.reg, index=self.dep).groupby(level=0).first()
                by_region = deps.groupby(regions.reindex(deps.index).to_numpy()).median()
                rates[family] = pd.Series(self.reg).map(by_region).to_numpy(dtype=float)
                notes[family] = note
        return rates, notes

    # -- scoring ---------------------------------------------------------------------------
    def score(self, reference: Reference | None = None, fca: Any = None) -> dict[str, Any]:
        """Arrays of every family and of the total for a reference (no DataFrame).

        ``fca``: a scenario's floating-catchment state (the references stay those of the
        model's state, so that a scenario is measured against the same yardstick)."""
        rates, notes = self.references(reference)
        if fca is None or fca is self.model.fca:
            access_of, places_of, providers_of = self.access, self.places, self.providers
        else:
            access_of, places_of, providers_of = self._family_access(fca)
        out: dict[str, Any] = {"notes": notes, "families": {}, "places": places_of,
                               "providers": providers_of}
        n = len(self.codes)
        total_expected = np.zeros((n, 3))
        total_allocated = np.zeros((n, 3))
        total_target = np.zeros((n, 3))
        total_missing = np.zeros(n)
        total_surplus = np.zeros(n)
        counted = np.zeros(n, dtype=bool)  # at least one family with target and reference
        some_target = np.zeros(n, dtype=bool)
        minimum = float(self.params["classes"]["min_target_households"])
        for family in self.families:
            target = self.target[family]
            access = access_of[family]
            ref = rates[family]
            allocated = access * target
            rate = 1000.0 * access
            expected, missing, surplus = missing_and_surplus(
                allocated[:, 0], target[:, 0], ref)
            classes = [classify_codes(rate[:, v], ref, target[:, v], self.params)
                       for v in range(3)]
            self._living_area_classes(
                classes, allocated, ref[:, None] * target / 1000.0, target)
            # Missing places on the low and high target households (the same access and
            # reference): the range the production « programme » reads.
            bounds = {v: missing_and_surplus(allocated[:, v], target[:, v], ref)[1]
                      for v in (1, 2)}
            out["families"][family] = {
                "target": target, "rate": rate[:, 0], "reference": ref,
                "allocated": allocated[:, 0], "expected": expected, "missing": missing,
                "missing_low": bounds[1], "missing_high": bounds[2],
                "surplus": surplus, "class": classes[0],
                "class_certain": (classes[0] == classes[1]) & (classes[0] == classes[2]),
            }
            if family not in self.total_families:
                continue
            has = ~np.isnan(target[:, 0]) & ~np.isnan(access[:, 0]) & (ref > 0)
            counted |= has
            for v in range(3):
                total_expected[:, v] += np.where(has, ref * np.nan_to_num(target[:, v]) / 1000.0,
                                                 0.0)
                total_allocated[:, v] += np.where(has, np.nan_to_num(allocated[:, v]), 0.0)
                total_target[:, v] += np.where(has, np.nan_to_num(target[:, v]), 0.0)
            total_missing += np.where(has, missing, 0.0)
            total_surplus += np.where(has, surplus, 0.0)
            some_target |= has & (target[:, 0] >= minimum)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(total_expected > 0, total_allocated / total_expected, np.nan)
        no_target = counted & ~some_target
        classes = [classify_ratio(ratio[:, v], no_target, ~counted | np.isnan(ratio[:, v]),
                                  self.params) for v in range(3)]
        counted_3 = counted[:, None]
        self._living_area_classes(
            classes, np.where(counted_3, total_allocated, np.nan),
            np.where(counted_3, total_expected, np.nan),
            np.where(counted_3, total_target, np.nan))
        out["total"] = {
            "expected": np.where(counted, total_expected[:, 0], np.nan),
            "allocated": np.where(counted, total_allocated[:, 0], np.nan),
            "missing": np.where(counted, total_missing, np.nan),
            "surplus": np.where(counted, total_surplus, np.nan),
            "ratio": ratio[:, 0], "class": classes[0],
            "class_certain": (classes[0] == classes[1]) & (classes[0] == classes[2]),
        }
        out["living_area"] = self.small.copy()
        return out

    def _living_area_classes(
        self, classes: list[np.ndarray], allocated: np.ndarray, expected: np.ndarray,
        target: np.ndarray,
    ) -> None:
        """Replace, in place, the class of the small communes (:attr:`small`) by the class of
        their EPCI: Σ allocated / Σ expected over the EPCI's communes where both are known;
        « pas de ménages cibles » when the EPCI's targets are below the threshold."""
        if not self.small.any():
            return
        index = self.epci_index
        size = len(self.epci_codes)
        minimum = float(self.params["classes"]["min_target_households"])
        for v in range(3):
            ok = (index >= 0) & np.isfinite(allocated[:, v]) & np.isfinite(expected[:, v])
            sums_a = np.bincount(index[ok], weights=allocated[ok, v], minlength=size)
            sums_e = np.bincount(index[ok], weights=expected[ok, v], minlength=size)
            known = (index >= 0) & np.isfinite(target[:, v])
            sums_t = np.bincount(index[known], weights=target[known, v], minlength=size)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(sums_e > 0, sums_a / sums_e, np.nan)
            epci_class = classify_ratio(ratio, (sums_t < minimum) & (sums_e > 0),
                                        ~(sums_e > 0), self.params)
            small = self.small
            classes[v][small] = epci_class[index[small]]

    def frame(
        self, reference: Reference | None = None, codes: Iterable[str] | None = None,
        fca: Any = None,
    ) -> pd.DataFrame:
        """The reference gap per commune (all communes, or ``codes``).

        Public shape, per family ``f`` (read by the reports and the production programme):
        ``target_f``, ``target_f_low``, ``target_f_high`` (target households, net of double
        counts and of households housed by the members' IML and diffus), ``missing_f`` and
        ``missing_f_low`` / ``missing_f_high`` (places missing to reach the reference on the
        central / low / high targets), ``surplus_f``, ``rate_f``, ``reference_f``,
        ``allocated_f``, ``expected_f``, ``class_f``; for the total, ``missing_total``,
        ``reference_class``; ``class_scale`` says whether the class is the commune's or its
        EPCI's (:data:`SCALE_LIVING_AREA`), ``comparable_group`` the commune's group of
        « territoires comparables ».
        """
        scored = self.score(reference, fca)
        rows = self.model.positions(codes)
        out = pd.DataFrame({"code": self.codes[rows]})
        communes = self.model.communes
        for column in ("name", "dep_code"):
            if column in communes.columns:
                out[column] = communes[column].to_numpy()[rows]
        out["estimated"] = self.estimated[rows]
        for family in self.families:
            arrays = scored["families"][family]
            target = arrays["target"][rows]
            out[f"target_{family}"] = target[:, 0]
            out[f"target_{family}_low"] = target[:, 1]
            out[f"target_{family}_high"] = target[:, 2]
            out[f"places_in_reach_{family}"] = scored["places"][family][rows]
            out[f"providers_in_reach_{family}"] = scored["providers"][family][rows]
            for key in ("rate", "reference", "allocated", "expected", "missing", "surplus",
                        "class_certain"):
                out[f"{key}_{family}"] = arrays[key][rows]
            out[f"missing_{family}_low"] = arrays["missing_low"][rows]
            out[f"missing_{family}_high"] = arrays["missing_high"][rows]
            out[f"class_{family}"] = _LABELS[arrays["class"][rows]]
        out["class_scale"] = np.where(scored["living_area"][rows], SCALE_LIVING_AREA,
                                      SCALE_COMMUNE)
        out["comparable_group"] = self.comparable_group[rows]
        for key, values in scored["total"].items():
            if key == "class":
                out["reference_class"] = _LABELS[values[rows]]
            else:
                out[f"{key}_total"] = values[rows]
        out = out.rename(columns={"class_certain_total": "reference_class_certain"})
        out.attrs["reference_notes"] = scored["notes"]
        out.attrs["unavailable"] = dict(self.unavailable)
        return out

    # -- zones blanches --------------------------------------------------------------------
    def zones_blanches(
        self, family: str, neighbours: pd.DataFrame, codes: Iterable[str] | None = None
    ) -> tuple[pd.Series, pd.DataFrame]:
        """Communes, or groups of neighbouring communes, with target households of the family
        above the YAML threshold and no provider of the family within reach."""
        if family not in self.families:
            raise ReferenceError(f"Famille « {family} » sans ménages cibles disponibles.")
        rows = self.model.positions(codes)
        target = self.target[family][rows]
        frame = pd.DataFrame({
            "code": self.codes[rows],
            f"providers_in_reach_{family}": self.providers[family][rows],
            "need_households": target[:, 0],
            "need_households_low": target[:, 1],
            "need_households_high": target[:, 2],
        })
        if "name" in self.model.communes.columns:
            frame["name"] = self.model.communes["name"].to_numpy()[rows]
        params = self.params["zones_blanches"]
        config = {"zones_blanches": {
            "min_score": np.inf,
            "min_need_households": params["min_target_households"],
            "min_group_need_households": params["min_group_target_households"],
        }}
        series, zones = zb.zones_blanches(frame, family, neighbours, config)
        zones = zones.rename(columns=lambda c: c.replace("need_households", "target_households"))
        return series, zones.drop(columns="score_max")

    def neighbours(self) -> pd.DataFrame:
        distance = float(self.model.config["zones_blanches"]["neighbour_m"])
        return zb.neighbour_pairs(self.model.communes, distance)


def _unavailable_reason(targets: th.TargetResult, family: str) -> str:
    names = th.family_categories(targets.params).get(family, [])
    if not names:
        return "aucune catégorie de ménages cibles pour cette famille"
    reasons = {targets.availability.get(n) for n in names} - {""}
    return th.UNAVAILABLE_FR + " : " + " ; ".join(sorted(r for r in reasons if r))


def class_shares(classes: pd.Series) -> pd.Series:
    """Share of communes in each class (all classes listed, in order)."""
    counts = classes.value_counts(normalize=True)
    return counts.reindex(list(CLASSES), fill_value=0.0)


__all__ = [
    "CLASSES",
    "CLASS_ABOVE",
    "CLASS_BELOW",
    "CLASS_NOT_COMPUTED",
    "CLASS_NO_TARGET",
    "CLASS_VERY_BELOW",
    "CLASS_WITHIN",
    "METHODS",
    "SCALE_COMMUNE",
    "SCALE_LIVING_AREA",
    "Reference",
    "ReferenceError",
    "ReferenceGap",
    "class_shares",
    "classify",
    "family_access",
    "group_rates",
    "load_params",
    "missing_and_surplus",
]
