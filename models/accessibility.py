"""Supply within reach: two-step floating catchment (2SFCA) and its enhanced variant (E2SFCA).

Method (Luo & Wang 2003; Luo & Qi 2009 for the decay)
-------------------------------------------------------
Demand sits at commune representative points (households in need, ``D_k``); supply sits at
*providers*: a commune hosting places of some offer type (its representative point), or an
accompaniment service covering an explicit list of communes. A pair ``(j, k)`` is *in reach*
when the distance between the provider and commune ``k`` is at most the catchment of ``k``
(catchments are set per demand commune by density class: a rural household travels farther),
or, for an area service, when ``k`` is in its covered list. With ``w_jk`` the decay weight of
the pair (1 for the classic 2SFCA and for covered communes):

1. ``R_j = S_j / Σ_k w_jk D_k`` — places per household in need competing for provider ``j``;
2. ``A_k = Σ_j w_jk R_j`` — places per household in need accessible from commune ``k``.

Because the same pairs and weights serve both steps, ``Σ_k A_k D_k = Σ_j S_j`` over providers
that have demand in reach: ``A_k · D_k`` is the share of the places *allocated* to commune ``k``,
and need minus allocation is the gap (``models.gap``).

Unlike PySAL's ``access`` (which returns ``inf`` where a facility has no demand in reach), a
provider whose catchment holds no measured demand gets ``R_j = 0`` and is reported (its places
serve nobody measured: "offre sans besoin mesuré"); a missing demand (secret, not computed)
counts as nothing in step 1 but the provider is flagged ``demand_incomplete``. Communes without
coordinates are never paired and get a missing ratio.

Distances are Euclidean between representative points in each commune's *metric* CRS
(``metric_crs``: Lambert-93 in metropolitan France, local UTM overseas). Pairs are only ever
formed inside one CRS: two points in different CRSs are never compared. Neighbour search uses
``scipy.spatial.cKDTree``; the weights live in ``scipy.sparse`` matrices so that both steps are
sparse products, and so that a scenario can update a few rows exactly (``FloatingCatchment``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from scipy import sparse
from scipy.spatial import cKDTree

from models import decay as decay_module

CONFIG_PATH = Path(__file__).with_name("access.yaml")
REQUIRED_COMMUNE_COLUMNS = ("code", "x_metric", "y_metric", "metric_crs")


class AccessibilityError(ValueError):
    """Invalid inputs to the accessibility model (French message)."""


# -- configuration --------------------------------------------------------------------------
def load_config(path: Path | str | None = None) -> dict[str, Any]:
    """Parameters of ``models/access.yaml`` (or another file of the same shape); a fresh copy
    that the caller may change."""
    return copy.deepcopy(_load_config_cached(str(Path(path) if path else CONFIG_PATH)))


@lru_cache(maxsize=8)
def _load_config_cached(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            config = yaml.safe_load(handle) or {}
    except FileNotFoundError as exc:
        raise AccessibilityError(f"Fichier de paramètres introuvable : {path}") from exc
    for key in ("catchment_m", "decay", "gap", "zones_blanches", "siting", "raster"):
        if key not in config:
            raise AccessibilityError(f"Paramètre « {key} » absent du fichier {path}.")
    by_class = config["catchment_m"].get("by_density_7") or {}
    if sorted(int(k) for k in by_class) != list(range(1, 8)):
        raise AccessibilityError(
            f"Fichier {path} : catchment_m.by_density_7 doit donner une distance pour chacune "
            "des 7 classes de la grille de densité (1 à 7)."
        )
    return config


def decay_for(method: str, config: Mapping[str, Any] | None = None) -> decay_module.DecayFunction:
    """Decay of a method: ``"2sfca"`` → uniform, ``"e2sfca"`` → the configured decay."""
    config = config or load_config()
    if method == "2sfca":
        return decay_module.uniform
    if method == "e2sfca":
        return decay_module.from_config(config["decay"])
    raise AccessibilityError(f"Méthode « {method} » inconnue : « 2sfca » ou « e2sfca ».")


def catchment_from_density(
    codes: Sequence[str] | pd.Series,
    density_7: pd.Series | None,
    config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Catchment size (metres) of each commune from its density class.

    Returns a frame indexed like ``codes`` with ``catchment_m`` and ``catchment_source``
    ("grille de densité" or "valeur par défaut (classe inconnue)").
    """
    config = config or load_config()
    by_class = {int(k): float(v) for k, v in config["catchment_m"]["by_density_7"].items()}
    default = float(config["catchment_m"]["default"])
    codes = pd.Index(pd.Series(codes, dtype=str), name="code")
    if density_7 is None:
        classes = pd.Series(np.nan, index=codes)
    else:
        density = density_7.copy()
        density.index = density.index.astype(str)
        classes = pd.to_numeric(density, errors="coerce").reindex(codes)
    metres = classes.map(lambda c: by_class.get(int(c), np.nan) if pd.notna(c) else np.nan)
    known = metres.notna()
    return pd.DataFrame(
        {
            "catchment_m": metres.where(known, default).astype(float),
            "catchment_source": np.where(
                known, "grille de densité", "valeur par défaut (classe inconnue)"
            ),
        },
        index=codes,
    )


# -- locations ------------------------------------------------------------------------------
@dataclass
class Locations:
    """Commune representative points in their metric CRS, with a catchment size each."""

    codes: pd.Index
    x: np.ndarray
    y: np.ndarray
    crs: np.ndarray
    catchment: np.ndarray
    valid: np.ndarray = field(init=False)
    _trees: dict[str, tuple[cKDTree, np.ndarray]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.x = np.asarray(self.x, dtype=float)
        self.y = np.asarray(self.y, dtype=float)
        self.crs = np.asarray(self.crs, dtype=object)
        self.catchment = np.asarray(self.catchment, dtype=float)
        self.valid = (
            np.isfinite(self.x)
            & np.isfinite(self.y)
            & np.isfinite(self.catchment)
            & pd.notna(self.crs)
        )

    def __len__(self) -> int:
        return len(self.codes)

    @classmethod
    def from_communes(
        cls, communes: pd.DataFrame, catchment: float | pd.Series | np.ndarray
    ) -> Locations:
        """From a frame with ``code, x_metric, y_metric, metric_crs`` (the store's communes).

        ``catchment`` is one distance for all, or a Series indexed by code (metres).
        """
        missing = [c for c in REQUIRED_COMMUNE_COLUMNS if c not in communes.columns]
        if missing:
            raise AccessibilityError(
                "Table des communes incomplète : colonne(s) manquante(s) " + ", ".join(missing)
            )
        codes = pd.Index(communes["code"].astype(str), name="code")
        if codes.has_duplicates:
            duplicated = codes[codes.duplicated()].unique()[:5].tolist()
            raise AccessibilityError(f"Codes commune en double : {', '.join(duplicated)}")
        if isinstance(catchment, pd.Series):
            values = catchment.copy()
            values.index = values.index.astype(str)
            catchment_values = values.reindex(codes).to_numpy(dtype=float)
        else:
            catchment_values = np.broadcast_to(np.asarray(catchment, dtype=float), len(codes))
        return cls(
            codes=codes,
            x=communes["x_metric"].to_numpy(dtype=float),
            y=communes["y_metric"].to_numpy(dtype=float),
            crs=communes["metric_crs"].to_numpy(dtype=object),
            catchment=np.array(catchment_values, dtype=float),
        )

    def positions(self, codes: Sequence[str] | pd.Series) -> np.ndarray:
        """Positions of ``codes`` (-1 for unknown codes)."""
        return self.codes.get_indexer(pd.Index(pd.Series(codes, dtype=str)))

    def groups(self) -> dict[str, np.ndarray]:
        """Positions of the valid points of each metric CRS."""
        if "_groups" not in self.__dict__:
            valid = np.flatnonzero(self.valid)
            crs = self.crs[valid]
            self.__dict__["_groups"] = {str(c): valid[crs == c] for c in pd.unique(crs)}
        return self.__dict__["_groups"]

    def tree(self, crs: str) -> tuple[cKDTree, np.ndarray]:
        """KD-tree of the valid points of one CRS, and their positions (built once)."""
        if crs not in self._trees:
            members = self.groups().get(crs, np.array([], dtype=int))
            points = np.column_stack([self.x[members], self.y[members]])
            self._trees[crs] = (cKDTree(points), members)
        return self._trees[crs]


@dataclass
class Pairs:
    """Provider → demand-commune pairs in reach, with their decay weight."""

    provider: np.ndarray  # provider index (0..n_providers-1)
    demand: np.ndarray  # commune position
    distance: np.ndarray  # metres (0 for covered communes of an area service)
    weight: np.ndarray

    @classmethod
    def empty(cls) -> Pairs:
        return cls(
            np.array([], dtype=np.int64),
            np.array([], dtype=np.int64),
            np.array([], dtype=float),
            np.array([], dtype=float),
        )

    def __len__(self) -> int:
        return len(self.provider)

    def shifted(self, offset: int) -> Pairs:
        return Pairs(self.provider + offset, self.demand, self.distance, self.weight)

    @staticmethod
    def concat(parts: Sequence[Pairs]) -> Pairs:
        parts = [p for p in parts if len(p)] or [Pairs.empty()]
        return Pairs(
            np.concatenate([p.provider for p in parts]),
            np.concatenate([p.demand for p in parts]),
            np.concatenate([p.distance for p in parts]),
            np.concatenate([p.weight for p in parts]),
        )


def distance_pairs(
    locations: Locations,
    provider_positions: np.ndarray,
    weight: decay_module.DecayFunction = decay_module.uniform,
) -> Pairs:
    """Pairs between providers located at communes and the communes whose catchment reaches them.

    Provider ``i`` sits at commune ``provider_positions[i]``; a provider at an invalid position
    (no coordinates, unknown code) has no pair.
    """
    provider_positions = np.asarray(provider_positions, dtype=np.int64)
    parts: list[Pairs] = []
    ok = provider_positions >= 0
    ok[ok] = locations.valid[provider_positions[ok]]
    if not ok.any():
        return Pairs.empty()
    provider_crs = np.full(len(provider_positions), None, dtype=object)
    provider_crs[ok] = locations.crs[provider_positions[ok]]
    for crs in pd.unique(provider_crs[ok]):
        tree, members = locations.tree(str(crs))
        providers = np.flatnonzero(ok & (provider_crs == crs))
        at = provider_positions[providers]
        radius = float(locations.catchment[members].max())
        if radius < 0:
            continue
        provider_tree = cKDTree(np.column_stack([locations.x[at], locations.y[at]]))
        found = provider_tree.sparse_distance_matrix(tree, radius, output_type="ndarray")
        demand = members[found["j"]]
        distance = found["v"]
        keep = distance <= locations.catchment[demand]
        provider = providers[found["i"][keep]]
        demand = demand[keep]
        distance = distance[keep]
        parts.append(
            Pairs(provider, demand, distance, weight(distance, locations.catchment[demand]))
        )
    return Pairs.concat(parts)


def coverage_pairs(covered_positions: Sequence[np.ndarray]) -> Pairs:
    """Pairs of area services: provider ``i`` reaches exactly its covered communes (weight 1)."""
    providers, demands = [], []
    for index, positions in enumerate(covered_positions):
        positions = np.unique(np.asarray(positions, dtype=np.int64))
        positions = positions[positions >= 0]
        providers.append(np.full(len(positions), index, dtype=np.int64))
        demands.append(positions)
    if not providers:
        return Pairs.empty()
    provider = np.concatenate(providers)
    demand = np.concatenate(demands)
    return Pairs(provider, demand, np.zeros(len(provider)), np.ones(len(provider)))


# -- the two steps --------------------------------------------------------------------------
@dataclass
class FcaResult:
    """Arrays of one floating-catchment computation.

    Shapes: ``N`` communes, ``P`` providers, ``T`` offer types, ``V`` demand variants (e.g.
    central, low, high estimates of the need).
    """

    access: np.ndarray  # (N, T, V) places per household in need within reach (A_k)
    provider_ratio: np.ndarray  # (P, T, V) R_j (0 when no demand in reach)
    provider_demand: np.ndarray  # (P, V) weighted demand in reach Σ w D
    provider_missing: np.ndarray  # (P,) communes in reach whose demand is missing
    places_in_reach: np.ndarray  # (N, T) Σ_j w_jk S_j (gross: a place counts in every catchment)
    providers_in_reach: np.ndarray  # (N, T) number of providers of the type within reach


class FloatingCatchment:
    """2SFCA / E2SFCA state over sparse weights, updatable provider by provider.

    Parameters
    ----------
    demand
        ``(N,)`` or ``(N, V)`` households in need per commune (NaN = unknown).
    supply
        ``(P, T)`` places per provider and offer type.
    pairs
        Provider → commune pairs in reach with weights (:func:`distance_pairs`,
        :func:`coverage_pairs`).
    valid
        ``(N,)`` communes that can be located; the others get a missing access.
    provider_position
        ``(P,)`` commune position of each provider located at a commune, -1 for area services
        (used to draw providers, e.g. on a raster).
    """

    def __init__(
        self,
        demand: np.ndarray,
        supply: np.ndarray,
        pairs: Pairs,
        valid: np.ndarray | None = None,
        provider_position: np.ndarray | None = None,
    ) -> None:
        demand = np.asarray(demand, dtype=float)
        self.demand = demand[:, None] if demand.ndim == 1 else demand
        self.n = self.demand.shape[0]
        self.supply = np.array(supply, dtype=float, ndmin=2)
        if self.supply.shape[0] == 0:
            self.supply = self.supply.reshape(0, max(self.supply.shape[1], 1))
        self.valid = np.ones(self.n, dtype=bool) if valid is None else np.asarray(valid, bool)
        if np.any(self.supply < 0) or not np.all(np.isfinite(self.supply)):
            raise AccessibilityError("Les capacités doivent être des nombres positifs ou nuls.")
        self.provider_position = (
            np.full(self.supply.shape[0], -1, dtype=np.int64)
            if provider_position is None
            else np.asarray(provider_position, dtype=np.int64)
        )
        if len(self.provider_position) != self.supply.shape[0]:
            raise AccessibilityError("Une position par fournisseur d'offre est attendue.")
        self._known_demand = np.where(np.isnan(self.demand), 0.0, self.demand)
        self._missing_demand = np.isnan(self.demand).any(axis=1).astype(float)
        self._set_pairs(pairs)
        self._compute_all()

    # shapes
    @property
    def n_providers(self) -> int:
        return self.supply.shape[0]

    @property
    def n_types(self) -> int:
        return self.supply.shape[1]

    @property
    def n_variants(self) -> int:
        return self.demand.shape[1]

    def _set_pairs(self, pairs: Pairs) -> None:
        p = self.n_providers
        self.w = sparse.csr_matrix(
            (pairs.weight, (pairs.provider, pairs.demand)), shape=(p, self.n)
        )
        self.w.sum_duplicates()
        self.w.sort_indices()
        self.wt = self.w.T.tocsr()
        self.wt.sort_indices()
        binary = self.w.copy()
        # A pair exists even when its decay weight is 0 (at the very edge): count it in reach
        # only when the weight is positive.
        binary.data = (self.w.data > 0).astype(float)
        self.binary = binary
        self.binary_t = binary.T.tocsr()

    def _ratio(self, provider_demand: np.ndarray, supply: np.ndarray) -> np.ndarray:
        """``S / ΣwD`` with 0 where there is no demand (never inf)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = supply[:, :, None] / provider_demand[:, None, :]
        positive = provider_demand[:, None, :] > 0
        return np.where(positive, ratio, 0.0)

    def _compute_all(self) -> None:
        self.provider_demand = np.asarray(self.w @ self._known_demand)
        self.provider_missing = np.asarray(self.binary @ self._missing_demand).ravel()
        self.provider_ratio = self._ratio(self.provider_demand, self.supply)
        flat = self.provider_ratio.reshape(self.n_providers, self.n_types * self.n_variants)
        self._access = np.asarray(self.wt @ flat)
        self._places = np.asarray(self.wt @ self.supply)
        self._count = np.asarray(self.binary_t @ (self.supply > 0).astype(float))

    def _recompute_rows(self, rows: np.ndarray) -> None:
        if len(rows) == 0:
            return
        flat = self.provider_ratio.reshape(self.n_providers, self.n_types * self.n_variants)
        sub = self.wt[rows]
        self._access[rows] = sub @ flat
        self._places[rows] = sub @ self.supply
        self._count[rows] = self.binary_t[rows] @ (self.supply > 0).astype(float)

    def rows_reached_by(self, provider: int) -> np.ndarray:
        start, end = self.w.indptr[provider], self.w.indptr[provider + 1]
        return self.w.indices[start:end]

    def set_supply(self, provider: int, supply_row: np.ndarray) -> np.ndarray:
        """Replace the places of one provider; return the commune positions recomputed."""
        row = np.asarray(supply_row, dtype=float)
        if np.any(row < 0) or not np.all(np.isfinite(row)):
            raise AccessibilityError("Les capacités doivent être des nombres positifs ou nuls.")
        self.supply[provider] = row
        self.provider_ratio[provider] = self._ratio(
            self.provider_demand[provider : provider + 1], row[None, :]
        )[0]
        rows = self.rows_reached_by(provider)
        self._recompute_rows(rows)
        return rows

    def add_provider(self, pairs: Pairs, supply_row: np.ndarray, position: int = -1) -> int:
        """Append a provider with its pairs (``pairs.provider`` ignored); return its index.

        ``position`` is the commune where it is located (-1 for an area service)."""
        index = self.n_providers
        self.provider_position = np.append(self.provider_position, np.int64(position))
        column = sparse.csr_matrix(
            (pairs.weight, (np.zeros(len(pairs), dtype=np.int64), pairs.demand)),
            shape=(1, self.n),
        )
        column.sum_duplicates()
        column.sort_indices()
        binary = column.copy()
        binary.data = (column.data > 0).astype(float)
        self.w = sparse.vstack([self.w, column], format="csr")
        self.binary = sparse.vstack([self.binary, binary], format="csr")
        # Appending a column keeps each row's entries sorted (the new index is the largest).
        self.wt = sparse.hstack([self.wt, column.T.tocsr()], format="csr")
        self.binary_t = sparse.hstack([self.binary_t, binary.T.tocsr()], format="csr")
        self.supply = np.vstack([self.supply, np.zeros((1, self.n_types))])
        demand = np.asarray(column @ self._known_demand)
        self.provider_demand = np.vstack([self.provider_demand, demand])
        missing = np.asarray(binary @ self._missing_demand).ravel()
        self.provider_missing = np.append(self.provider_missing, missing)
        self.provider_ratio = np.concatenate(
            [self.provider_ratio, np.zeros((1, self.n_types, self.n_variants))]
        )
        self.set_supply(index, supply_row)
        return index

    def result(self) -> FcaResult:
        access, places, count = self.rows(np.arange(self.n))
        return FcaResult(
            access=access,
            provider_ratio=self.provider_ratio.copy(),
            provider_demand=self.provider_demand.copy(),
            provider_missing=self.provider_missing.copy(),
            places_in_reach=places,
            providers_in_reach=count,
        )

    def rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Access ``(R, T, V)``, places in reach ``(R, T)`` and providers in reach ``(R, T)``
        for some communes (NaN where the commune cannot be located)."""
        rows = np.asarray(rows, dtype=np.int64)
        invalid = ~self.valid[rows]
        access = self._access[rows].reshape(len(rows), self.n_types, self.n_variants)
        places = self._places[rows]
        count = self._count[rows]
        access[invalid] = np.nan
        places[invalid] = np.nan
        count[invalid] = np.nan
        return access, places, count


def fca(
    demand: np.ndarray,
    supply: np.ndarray,
    pairs: Pairs,
    valid: np.ndarray | None = None,
) -> FcaResult:
    """One floating-catchment computation on prepared arrays (see :class:`FloatingCatchment`)."""
    return FloatingCatchment(demand, supply, pairs, valid).result()


# -- convenience on DataFrames --------------------------------------------------------------
def two_step_fca(
    communes: pd.DataFrame,
    demand: pd.Series,
    supply: pd.DataFrame,
    catchment: float | pd.Series,
    decay: decay_module.DecayFunction | str = "2sfca",
    config: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """2SFCA / E2SFCA on DataFrames.

    Parameters
    ----------
    communes
        ``code, x_metric, y_metric, metric_crs`` (one row per demand location).
    demand
        Households in need indexed by commune code (missing codes → unknown demand).
    supply
        Places indexed by commune code (duplicates summed), one column per offer type.
    catchment
        Metres, one value or a Series by commune code.
    decay
        ``"2sfca"``, ``"e2sfca"`` (configured decay) or a decay function.

    Returns
    -------
    Frame indexed by code: for each type ``access_<type>`` (places per household in need within
    reach, never infinite), ``places_in_reach_<type>``, ``providers_in_reach_<type>``; and
    ``demand``.
    """
    weight = decay_for(decay, config) if isinstance(decay, str) else decay
    locations = Locations.from_communes(communes, catchment)
    demand_values = _aligned(demand, locations.codes)
    grouped = supply.copy()
    grouped.index = grouped.index.astype(str)
    grouped = grouped.groupby(level=0).sum(min_count=1).fillna(0.0)
    positions = locations.positions(grouped.index)
    unknown = grouped.index[positions < 0]
    if len(unknown):
        raise AccessibilityError(
            "Offre située dans des communes inconnues : " + ", ".join(unknown[:10].tolist())
        )
    pairs = distance_pairs(locations, positions, weight)
    result = fca(demand_values, grouped.to_numpy(dtype=float), pairs, locations.valid)
    out = pd.DataFrame(index=locations.codes)
    out["demand"] = demand_values
    for t, name in enumerate(grouped.columns):
        out[f"access_{name}"] = result.access[:, t, 0]
        out[f"places_in_reach_{name}"] = result.places_in_reach[:, t]
        out[f"providers_in_reach_{name}"] = result.providers_in_reach[:, t]
    return out


def _aligned(values: pd.Series, codes: pd.Index) -> np.ndarray:
    series = values.copy()
    series.index = series.index.astype(str)
    if series.index.has_duplicates:
        raise AccessibilityError("Demande : codes commune en double.")
    return pd.to_numeric(series, errors="coerce").reindex(codes).to_numpy(dtype=float)
