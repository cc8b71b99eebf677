"""Everything a territory's report reads, gathered once (the I/O edge of the reports).

The report is built from the local store (reference geography and one dataset per source), the
need and gap models, and the operators' registry. Any of these may be missing on a given
machine: a missing input is recorded with a French reason (« donnée non disponible : source …
absente du stock ») and the sections that depend on it say so instead of failing.

Nothing here formats or decides: :mod:`diagnostics.territory_diagnostic` turns the gathered
frames into sections.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

import settings
from catalogues import datasets
from geodata.store import Manifest, Store
from geodata.territory import Territory, parse_territory
from models import results
from operators.repository import Registry, default_url

log = logging.getLogger(__name__)

# Display outlines: the medium level for large territories (a département, a région), the fine
# one below (an EPCI, a commune and its neighbours).
FINE_LEVEL_MAX_COMMUNES = 400


@dataclass(frozen=True)
class DatasetSpec:
    """Columns taken from one store dataset, renamed for the report's commune table.

    ``fill`` gives the value of communes absent from an exhaustive list (a commune absent
    from the QPV list has no QPV); elsewhere an absent commune stays missing.
    """

    dataset: str
    columns: dict[str, str]
    fill: dict[str, Any] = field(default_factory=dict)
    theme: str = ""


# Source datasets of the portrait, by store id (see catalogues/sources.yaml).
DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec(
        datasets.FILOSOFI_COMMUNES,
        {
            "households": "households_fiscal",
            "median_income": "median_income",
            "poverty_rate": "poverty_rate",
            "poverty_rate_tenants": "poverty_rate_tenants",
            "d1_income": "d1_income",
            "minimum_income_share": "minimum_income_share",
            "housing_benefits_share": "housing_benefits_share",
        },
        theme="revenus",
    ),
    DatasetSpec(
        datasets.FILOSOFI_COMMUNES_EARLIER,
        {
            "households": "households_fiscal_2019",
            "median_income": "median_income_2019",
            "poverty_rate": "poverty_rate_2019",
        },
        theme="revenus",
    ),
    DatasetSpec(
        datasets.CENSUS_IRIS,
        {
            "population": "population_rp",
            "population_65_plus": "population_65_plus",
            "dwellings": "dwellings",
            "main_residences": "main_residences",
            "vacant_dwellings": "vacant_dwellings",
            "second_homes": "second_homes",
            "flats": "flats",
        },
        theme="logement",
    ),
    DatasetSpec(
        datasets.COMPARATEUR,
        {
            "census_households": "census_households",
            "main_residences": "main_residences_2018",
            "owner_occupied": "owner_occupied",
            "unemployed_15_64": "unemployed_15_64",
            "active_15_64": "active_15_64",
        },
        theme="emploi",
    ),
    DatasetSpec(
        datasets.DENSITY_GRID,
        {"density_3": "density_3", "density_3_label": "density_3_label",
         "density_7": "density_7", "density_7_label": "density_7_label"},
        theme="densité",
    ),
    DatasetSpec(
        datasets.QPV_COMMUNES,
        {"qpv_count": "qpv_count", "qpv_names": "qpv_names"},
        fill={"qpv_count": 0.0},
        theme="quartiers prioritaires",
    ),
    DatasetSpec(
        datasets.ANCT_PROGRAMMES,
        {"programme_pvd": "pvd", "programme_acv": "acv", "programme_acv2": "acv2"},
        fill={"pvd": False, "acv": False, "acv2": False},
        theme="programmes",
    ),
    DatasetSpec(datasets.ORT, {"ort": "ort", "ort_signed": "ort_signed"},
                fill={"ort": False, "ort_signed": False}, theme="programmes"),
    DatasetSpec(datasets.ZONAGE_ABC, {"zone_abc": "zone_abc"}, theme="marché"),
    DatasetSpec(datasets.ZONE_TENDUE, {"zone_tendue": "zone_tendue"}, fill={"zone_tendue": False},
                theme="marché"),
    DatasetSpec(
        datasets.LOVAC_COMMUNES,
        {"private_vacant": "private_vacant", "private_vacant_long": "private_vacant_long",
         "private_dwellings": "private_dwellings"},
        theme="logement",
    ),
    DatasetSpec(
        datasets.RNIC,
        {"copro_count": "copro_count", "copro_dwelling_lots": "copro_dwelling_lots",
         "copro_period_known": "copro_period_known", "copro_before_1949": "copro_before_1949",
         "copro_before_1975": "copro_before_1975", "copro_in_qpv": "copro_in_qpv",
         "copro_aided": "copro_aided"},
        theme="logement",
    ),
    DatasetSpec(
        datasets.RPLS,
        {"social_dwellings": "social_dwellings", "social_dwellings_plai": "social_dwellings_plai",
         "social_dwellings_associations": "social_dwellings_associations",
         "social_vacancy_rate": "social_vacancy_rate",
         "social_mobility_rate": "social_mobility_rate"},
        theme="logement",
    ),
    DatasetSpec(
        datasets.SRU,
        {"sru_subject": "sru_subject", "sru_rate": "sru_rate", "sru_target": "sru_target",
         "sru_deficit": "sru_deficit", "sru_carence": "sru_carence",
         "sru_missing_dwellings": "sru_missing_dwellings"},
        fill={"sru_subject": False},
        theme="logement",
    ),
    DatasetSpec("loyers_appartements", {"rent_m2_app": "rent_m2_app"}, theme="marché"),
    DatasetSpec(datasets.ANCT_RURALITE, {"rural_typology": "rural_typology"}, theme="typologies"),
    DatasetSpec(datasets.ANCT_CENTRALITE, {"centrality_level": "centrality_level"}, theme="typologies"),
)

@dataclass
class SourceRef:
    """One dataset used by the report, as cited in « Méthode et sources »."""

    dataset: str
    title: str
    producer: str
    vintage: str
    licence: str
    url: str = ""
    rows: int | None = None
    built_at: str = ""

    def citation(self) -> str:
        return f"{self.producer}, {self.title}, {self.vintage} — {self.licence}"


@dataclass
class ModelOutput:
    """A model's per-commune frame and what it says about itself (log, meta)."""

    frame: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    source: str = ""
    raster_writer: Callable[[Any, Any], Any] | None = None  # (path, outlines) -> path
    programme: Any = None  # models.programme.ProgrammeResult (gap output only)


@dataclass
class ReportInputs:
    """The frames a report is built from.

    Attributes
    ----------
    territory
        The parsed territory.
    communes
        One row per commune of the territory, WGS84 display outlines, reference columns and
        every source column of :data:`DATASETS` found in the store (missing stays NaN).
    context
        Outlines of the départements around the territory (map background).
    sources
        Datasets used, in reading order (reference first).
    missing
        ``{dataset: French reason}`` for each input that could not be had.
    need, gap
        Model outputs restricted to the territory's communes, or None.
    sites
        Registry sites of the territory, confidential ones removed (a report is public: they
        never enter a figure over the territory, nor the gap model; see
        :mod:`operators.confidentiality`).
    coverage
        ``site_id, commune_code`` rows of area services.
    national
        National reference values (same indicators over all communes) for comparisons.
    raster_writer
        Writes the accessibility GeoTIFF of the territory (``path -> path``) when the gap
        model was computed.
    """

    territory: Territory
    communes: gpd.GeoDataFrame
    context: gpd.GeoDataFrame
    sources: list[SourceRef]
    missing: dict[str, str]
    need: ModelOutput | None = None
    gap: ModelOutput | None = None
    sites: pd.DataFrame | None = None
    coverage: pd.DataFrame | None = None
    national: dict[str, float] = field(default_factory=dict)
    raster_writer: Callable[[Any], Any] | None = None
    public_offer: Any = None  # models.supply.PublicEstablishments of the territory, or None
    notes: list[str] = field(default_factory=list)
    confidential: Any = None  # ConfidentialFigure (whole départements or régions) or None
    policies: pd.DataFrame | None = None  # connectors.policies layer (policy frame), or None

    @property
    def codes(self) -> list[str]:
        return list(self.territory.codes)


# -- catalogue and manifests --------------------------------------------------------------------
def _catalogue_titles() -> dict[str, tuple[str, str, str]]:
    """``{id: (title, producer, vintage)}`` from the connectors' catalogue when readable."""
    try:
        from catalogues.sources import load_sources

        return {k: (e.title, e.producer, e.vintage) for k, e in load_sources().items()}
    except Exception as exc:  # the catalogue is optional for a report
        log.warning("Catalogue des sources illisible : %s", exc)
        return {}


def source_ref(dataset: str, manifest: Manifest | None, titles: dict | None = None) -> SourceRef:
    """Citation of a stored dataset from its manifest (catalogue title when known)."""
    titles = titles if titles is not None else _catalogue_titles()
    title, producer, vintage = titles.get(dataset, (dataset, "", ""))
    if manifest is None:
        return SourceRef(dataset, title, producer, vintage, "Licence Ouverte / Etalab 2.0")
    return SourceRef(
        dataset=dataset,
        title=title if title != dataset else (manifest.source or dataset),
        producer=manifest.producer or producer,
        vintage=manifest.vintage or vintage,
        licence=manifest.licence,
        url=manifest.url,
        rows=manifest.rows,
        built_at=manifest.built_at,
    )


def missing_reason(dataset: str, titles: dict | None = None) -> str:
    """« donnée non disponible : source « titre (producteur, millésime) » absente du stock »."""
    who = dataset_title(dataset, titles, with_vintage=True)
    return f"donnée non disponible : source « {who} » absente du stock"


def dataset_title(dataset: str, titles: dict | None = None, with_vintage: bool = False) -> str:
    """How a report names a dataset: its catalogue title and producer (never its identifier,
    unless the catalogue does not know it)."""
    titles = titles if titles is not None else _catalogue_titles()
    title, producer, vintage = titles.get(dataset, (dataset, "", ""))
    if not producer:
        return title
    return f"{title} ({producer}, {vintage})" if with_vintage and vintage else f"{title} ({producer})"


# -- reading ------------------------------------------------------------------------------------
def load_territory(spec: str | Territory, store: Store) -> Territory:
    """Parse a specification against the store's reference layers."""
    if isinstance(spec, Territory):
        return spec
    needs_geometry = "voisins" in str(spec)
    columns = ["code", "name", "dep_code", "reg_code", "epci_code"]
    communes = store.read("communes", columns=[*columns, "geometry"] if needs_geometry else columns)
    return parse_territory(
        str(spec),
        communes,
        departements=store.read("departements", columns=["code", "name"]),
        regions=store.read("regions", columns=["code", "name"]),
        epci=store.read("epci", columns=["code", "name"]),
    )


def _reference(store: Store, codes: list[str]) -> gpd.GeoDataFrame:
    level = "communes_fin" if len(codes) <= FINE_LEVEL_MAX_COMMUNES else "communes_moyen"
    # Only the territory's rows are read (a filter on ``code`` while reading the Parquet file):
    # the national outlines are never built as geometries.
    outlines = store.read(level, columns=["code", "geometry"], codes=codes)
    outlines = outlines[outlines["code"].isin(codes)]
    attributes = pd.DataFrame(store.read(
        "communes",
        columns=["code", "name", "dep_code", "dep_name", "epci_code", "epci_name", "population",
                 "area_km2", "metric_crs", "x_metric", "y_metric", "rep_lon", "rep_lat"],
        codes=codes,
    ))
    attributes = attributes[attributes["code"].isin(codes)]
    frame = attributes.merge(outlines, on="code", how="left")
    frame["population"] = pd.to_numeric(frame["population"], errors="coerce").astype(float)
    order = {c: i for i, c in enumerate(codes)}
    frame = frame.sort_values("code", key=lambda s: s.map(order)).reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=settings.CRS_DISPLAY)


def _context(store: Store, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    deps = store.read("departements_moyen", columns=["code", "name", "geometry"])
    if communes.empty:
        return deps.iloc[0:0]
    minx, miny, maxx, maxy = communes.total_bounds
    pad_x, pad_y = (maxx - minx) * 0.15 + 0.05, (maxy - miny) * 0.15 + 0.05
    return deps.cx[minx - pad_x: maxx + pad_x, miny - pad_y: maxy + pad_y].reset_index(drop=True)


def _dataset_columns(store: Store, spec: DatasetSpec, codes: list[str]) -> pd.DataFrame | None:
    frame = store.read_frame(spec.dataset, codes=codes)  # the territory's rows only
    if "code" not in frame.columns:
        log.warning("Jeu « %s » sans colonne « code » : ignoré.", spec.dataset)
        return None
    present = {src: dst for src, dst in spec.columns.items() if src in frame.columns}
    if not present:
        log.warning("Jeu « %s » : aucune des colonnes attendues.", spec.dataset)
        return None
    frame = frame.assign(code=frame["code"].astype(str))
    frame = frame[frame["code"].isin(codes)].drop_duplicates("code")
    out = frame[["code", *present]].rename(columns=present)
    return out


def gather_sources(
    store: Store, communes: pd.DataFrame, titles: dict
) -> tuple[pd.DataFrame, list[SourceRef], dict[str, str]]:
    """Join every available source dataset onto the territory's communes."""
    codes = communes["code"].tolist()
    frame = pd.DataFrame({"code": codes})
    used: list[SourceRef] = []
    missing: dict[str, str] = {}
    for spec in DATASETS:
        if not store.exists(spec.dataset):
            missing[spec.dataset] = missing_reason(spec.dataset, titles)
            continue
        try:
            part = _dataset_columns(store, spec, codes)
        except Exception as exc:  # an unreadable dataset must not stop the report
            log.warning("Jeu « %s » illisible : %s", spec.dataset, exc)
            named = dataset_title(spec.dataset, titles)
            missing[spec.dataset] = f"donnée non disponible : source « {named} » illisible ({exc})"
            continue
        if part is None:
            missing[spec.dataset] = (
                f"donnée non disponible : source « {dataset_title(spec.dataset, titles)} » sans les "
                "colonnes attendues"
            )
            continue
        frame = frame.merge(part, on="code", how="left")
        for column, value in spec.fill.items():
            if column in frame.columns:
                frame[column] = frame[column].astype(object).where(frame[column].notna(), value)
                if isinstance(value, bool):
                    frame[column] = frame[column].astype(bool)
                else:
                    frame[column] = pd.to_numeric(frame[column], errors="coerce")
        used.append(source_ref(spec.dataset, store.manifest(spec.dataset), titles))
    return derive_rates(frame), used, missing


def _share(part: pd.Series, whole: pd.Series, scale: float = 100.0) -> pd.Series:
    part = pd.to_numeric(part, errors="coerce")
    whole = pd.to_numeric(whole, errors="coerce")
    return (scale * part / whole.where(whole > 0)).astype(float)


def derive_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Rates computed from counts (never from rates), missing where a count is missing."""
    out = frame.copy()
    if {"vacant_dwellings", "dwellings"} <= set(out.columns):
        out["vacancy_rate"] = _share(out["vacant_dwellings"], out["dwellings"])
    if {"second_homes", "dwellings"} <= set(out.columns):
        out["second_home_share"] = _share(out["second_homes"], out["dwellings"])
    if {"owner_occupied", "main_residences_2018"} <= set(out.columns):
        out["owner_share"] = _share(out["owner_occupied"], out["main_residences_2018"])
    if {"flats", "dwellings"} <= set(out.columns):
        out["flat_share"] = _share(out["flats"], out["dwellings"])
    if {"unemployed_15_64", "active_15_64"} <= set(out.columns):
        out["unemployment_rate"] = _share(out["unemployed_15_64"], out["active_15_64"])
    if {"private_vacant", "private_dwellings"} <= set(out.columns):
        out["private_vacancy_rate"] = _share(out["private_vacant"], out["private_dwellings"])
    if {"private_vacant_long", "private_dwellings"} <= set(out.columns):
        out["private_vacancy_long_rate"] = _share(out["private_vacant_long"],
                                                  out["private_dwellings"])
    if {"copro_before_1975", "copro_period_known"} <= set(out.columns):
        out["copro_before_1975_share"] = _share(out["copro_before_1975"],
                                                out["copro_period_known"])
    if {"social_dwellings", "main_residences"} <= set(out.columns):
        out["social_share"] = _share(out["social_dwellings"], out["main_residences"])
    if {"poverty_rate", "poverty_rate_2019"} <= set(out.columns):
        out["poverty_rate_change"] = out["poverty_rate"] - out["poverty_rate_2019"]
    if {"median_income", "median_income_2019"} <= set(out.columns):
        out["median_income_change"] = _share(
            out["median_income"] - out["median_income_2019"], out["median_income_2019"]
        )
    return out


def national_references(store: Store) -> dict[str, float]:
    """Metropolitan-and-overseas totals used as comparison points (over all communes).

    Rates are computed from summed counts where the counts exist; for rates published only
    per commune (poverty), the households-weighted mean over the communes where the rate is
    published, which the report labels as such.
    """
    out: dict[str, float] = {}
    communes = store.read_frame("communes", columns=["population", "area_km2"])
    population = pd.to_numeric(communes["population"], errors="coerce")
    out["population"] = float(population.sum())
    out["communes"] = float(len(communes))
    out["density"] = float(population.sum() / communes["area_km2"].sum())
    if store.exists(datasets.CENSUS_IRIS):
        census = _read_present(store, datasets.CENSUS_IRIS, ["vacant_dwellings", "dwellings"])
        if {"vacant_dwellings", "dwellings"} <= set(census.columns):
            out["vacancy_rate"] = float(
                100 * census["vacant_dwellings"].sum() / census["dwellings"].sum()
            )
    if store.exists(datasets.COMPARATEUR):
        comp = _read_present(store, datasets.COMPARATEUR, ["unemployed_15_64", "active_15_64"])
        if {"unemployed_15_64", "active_15_64"} <= set(comp.columns):
            out["unemployment_rate"] = float(
                100 * comp["unemployed_15_64"].sum() / comp["active_15_64"].sum()
            )
    if store.exists(datasets.FILOSOFI_COMMUNES):
        filo = _read_present(store, datasets.FILOSOFI_COMMUNES,
                             ["poverty_rate", "households", "median_income"])
        if {"poverty_rate", "households"} <= set(filo.columns):
            known = filo["poverty_rate"].notna() & filo["households"].notna()
            weights = filo.loc[known, "households"]
            out["poverty_rate_published"] = float(
                np.average(filo.loc[known, "poverty_rate"], weights=weights)
            )
        if "median_income" in filo.columns and "households" in filo.columns:
            out["median_income_households_median"] = weighted_median(
                filo["median_income"], filo["households"]
            )
    return out


def _read_present(store: Store, dataset: str, wanted: list[str]) -> pd.DataFrame:
    """The columns of ``wanted`` that ``dataset`` has (not the whole national table)."""
    try:
        present = set(pq.read_schema(store.path(dataset)).names)
    except Exception:  # a broken file: the store's read says so in French
        return store.read_frame(dataset)
    return store.read_frame(dataset, columns=[c for c in wanted if c in present])


def weighted_median(values: pd.Series, weights: pd.Series) -> float:
    """Median of ``values`` weighted by ``weights`` over the rows where both are known."""
    frame = pd.DataFrame({"v": pd.to_numeric(values, errors="coerce"),
                          "w": pd.to_numeric(weights, errors="coerce")}).dropna()
    frame = frame[frame["w"] > 0].sort_values("v")
    if frame.empty:
        return float("nan")
    cumulative = frame["w"].cumsum()
    return float(frame["v"].iloc[int(np.searchsorted(cumulative, cumulative.iloc[-1] / 2))])


# -- registry -----------------------------------------------------------------------------------
def registry_sites(url: str | None = None) -> tuple[pd.DataFrame | None, pd.DataFrame | None, str | None]:
    """All sites of the operators' registry (internal view) and their coverage, or why not."""
    url = url or default_url()
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        from pathlib import Path

        if not Path(path).exists():
            # Opening would create an empty registry: say it is absent instead.
            return None, None, (
                f"donnée non disponible : registre des opérateurs absent ({path} ; importez les "
                "fichiers des adhérents avec `make import`)"
            )
    try:
        registry = Registry(url)
        try:
            sites = pd.DataFrame(registry.sites())
            coverage = registry.coverage()
        finally:
            registry.dispose()
    except Exception as exc:  # the report still has its other sections
        return None, None, f"donnée non disponible : registre des opérateurs illisible ({exc})"
    return sites, coverage, None


def sites_of_territory(
    sites: pd.DataFrame, coverage: pd.DataFrame | None, codes: list[str]
) -> pd.DataFrame:
    """Sites located in the territory, or area services covering one of its communes."""
    codes_set = set(codes)
    inside = sites["commune_code"].astype(str).isin(codes_set)
    if coverage is not None and len(coverage):
        covering = coverage.loc[coverage["commune_code"].astype(str).isin(codes_set), "site_id"]
        inside |= sites["site_id"].isin(set(covering))
    return sites[inside].reset_index(drop=True)


# -- models -------------------------------------------------------------------------------------
ModelProvider = Callable[[Store, list[str]], "ModelOutput | None"]


def gather(
    spec: str | Territory,
    store: Store | None = None,
    *,
    sites: pd.DataFrame | None = None,
    coverage: pd.DataFrame | None = None,
    confidential: pd.DataFrame | None = None,
    need: ModelOutput | pd.DataFrame | None = None,
    gap: ModelOutput | pd.DataFrame | None = None,
    use_registry: bool = True,
    registry_url: str | None = None,
    use_models: bool = True,
    progress: Callable[[str], None] | None = None,
    while_waiting: Callable[[ReportInputs], object] | None = None,
) -> ReportInputs:
    """Read everything the report of ``spec`` needs.

    Parameters
    ----------
    spec
        A territory specification (``"dep:59"``) or a parsed :class:`Territory`.
    sites, coverage
        Registry sites and the area coverage, when the caller already has them (tests, the
        app); otherwise read from the registry when ``use_registry``. Confidential sites are
        removed here, before anything else sees them.
    confidential
        Per-département figures of the confidential sites
        (``operators.confidentiality.confidential_by_departement``), when the caller removed
        them already; otherwise computed from ``sites``.
    need, gap
        Model outputs when the caller has them; otherwise obtained from the models' owner of
        the national results (:mod:`models.results`) when ``use_models``.
    progress
        Called with a short French label at each step (progress bars).
    while_waiting
        Called once when the territory's gap, computed in a child, is about to be waited for,
        with the inputs known so far (``gap`` None): work that needs no gap can use this time
        (the PDF's printer starts there, and the maps that need no gap are drawn).
    """
    store = store or Store()
    step = progress or (lambda _label: None)
    titles = _catalogue_titles()
    step("Territoire")
    territory = load_territory(spec, store)

    # The registry and the need first: the territory's gap (the longest step) needs only them,
    # and runs on the other core (models.forked) while the sources are read.
    step("Registre des opérateurs")
    registry_reason = None
    if sites is None and use_registry:
        sites, coverage, registry_reason = registry_sites(registry_url)
    # Every non-confidential site feeds the gap model (catchments cross the territory's
    # border); the report shows those of the territory and the services covering it. The
    # confidential ones are only known by their per-département bins from here on.
    all_sites = None
    by_departement = None
    if sites is not None:
        from operators import confidentiality as conf

        all_sites, coverage, by_departement = conf.split_for_public(pd.DataFrame(sites), coverage)
        if confidential is not None and by_departement.empty:
            by_departement = confidential

    step("Modèle de besoin")
    need_out = _as_output(need)
    need_reason = None
    if need_out is None and use_models:
        need_out, need_reason = national_need_output(store)
    elif need_out is None:
        need_reason = "donnée non disponible : modèle de besoin non calculé"
    # The gap model reads the need of the neighbouring communes too (catchments cross the
    # border): it gets the full frame, the report the territory's rows.
    need_full = need_out.frame if need_out is not None else None
    gap_out = _as_output(gap)
    gap_call = None
    if gap_out is None and use_models:
        from models.forked import ForkedCall, can_fork

        if need_full is not None and all_sites is not None and can_fork():
            results.prepare_gap(store)  # inherited by the child, kept for the next report
        gap_call = ForkedCall(territory_gap_output, store, territory.codes, need_full,
                              all_sites, coverage, with_writer=False, label="écart du territoire")

    step("Géographie de référence")
    reference = _reference(store, territory.codes)
    context = _context(store, reference)
    step("Sources statistiques")
    table, used, missing = gather_sources(store, reference, titles)
    communes = reference.merge(table, on="code", how="left")
    communes = gpd.GeoDataFrame(communes, geometry="geometry", crs=settings.CRS_DISPLAY)
    sources = [source_ref("communes", store.manifest("communes"), titles), *used]
    step("Offre publique (FINESS)")
    public_offer = _public_offer(store, territory.codes)
    if not public_offer.available:
        missing[datasets.FINESS] = missing_reason(datasets.FINESS, titles)
    national = national_references(store)
    notes: list[str] = []
    step("Cadre des politiques publiques")
    policies = _policy_layer(store, sources, titles)

    if registry_reason:
        missing["registre"] = registry_reason
    confidential_figure = None
    if by_departement is not None:
        from operators import confidentiality as conf

        confidential_figure = conf.confidential_for_territory(
            by_departement, territory.parts, reference["dep_code"].dropna().unique())
    if all_sites is not None:
        sites = sites_of_territory(all_sites, coverage, territory.codes)
    if sites is None and "registre" not in missing:
        missing["registre"] = "donnée non disponible : registre des opérateurs non consulté"

    if need_reason:
        missing["besoin"] = need_reason
    if need_out is not None:
        need_out = replace(need_out, frame=_restrict(need_out.frame, territory.codes))

    known = dict(territory=territory, communes=communes, context=context, sources=sources,
                 need=need_out, sites=sites, coverage=coverage, national=national, notes=notes,
                 public_offer=public_offer, confidential=confidential_figure,
                 policies=policies)
    step("Modèle d'écart")
    if gap_call is not None:
        if while_waiting is not None and gap_call.forked:
            while_waiting(ReportInputs(**known, missing=dict(missing), gap=None,
                                       raster_writer=None))
        gap_out, reason = gap_call.result()
        if reason:
            missing["ecart"] = reason
        if gap_out is not None:
            gap_out = replace(gap_out, raster_writer=results.lazy_raster_writer(
                store, territory.codes, need_full, all_sites, coverage))
    elif gap_out is None:
        missing["ecart"] = "donnée non disponible : modèle d'écart non calculé"
    if gap_out is not None:
        gap_out = replace(gap_out, frame=_restrict(gap_out.frame, territory.codes))
    raster = None
    if gap_out is not None and gap_out.raster_writer is not None:
        writer, outlines = gap_out.raster_writer, communes[["code", "geometry"]]

        def raster(path, _writer=writer, _outlines=outlines):
            return _writer(path, _outlines)

    return ReportInputs(**known, missing=missing, gap=gap_out, raster_writer=raster)


def _policy_layer(store: Store, sources: list[SourceRef], titles: dict) -> pd.DataFrame | None:
    """The stored policy frame layer (``make data`` builds it from the project's and the
    networks' files), cited; None when it is not in the store (the section says so)."""
    from catalogues.policies import DATASET

    if not store.exists(DATASET):
        return None
    try:
        layer, manifest = store.read_frame(DATASET), store.manifest(DATASET)
    except (OSError, ValueError) as exc:
        log.warning("Cadre des politiques publiques illisible : %s", exc)
        return None
    sources.append(SourceRef(
        dataset=DATASET, title="Cadre des politiques publiques (Logement d'abord, délégataires "
        "des aides à la pierre, PLH, PDALHPD) : compilation du projet, une page publique lue "
        "par ligne", producer="Projet et réseaux", vintage=manifest.vintage if manifest else
        "fichiers du projet", licence="sans objet (chaque ligne cite sa source)",
        rows=len(layer), built_at=manifest.built_at if manifest else ""))
    return layer


def national_need_output(store: Store) -> tuple[ModelOutput | None, str | None]:
    """The national need result as a report input, or the French reason it is not available."""
    try:
        need = results.national_need(store)
    except results.ResultsUnavailable as exc:
        return None, f"donnée non disponible : {exc}"
    meta = {"log": need.log, "unavailable": need.unavailable, "sources": need.sources}
    return ModelOutput(frame=need.frame, meta=meta, tables={"indicators": need.indicators},
                       source=need.source), None


def territory_gap_output(
    store: Store,
    codes: list[str],
    need: pd.DataFrame | None,
    sites: pd.DataFrame | None,
    coverage: pd.DataFrame | None,
    with_writer: bool = True,
) -> tuple[ModelOutput | None, str | None]:
    """The gap of the territory as a report input, or the French reason it is not available.

    ``with_writer`` False leaves out the raster writer: a closure over the gap model, which a
    child process cannot send back (:func:`gather` then gives a lazy one).
    """
    if need is None:
        return None, "donnée non disponible : écart non calculable sans le modèle de besoin"
    try:
        gap = results.territory_gap(store, codes, need, sites, coverage)
    except results.ResultsUnavailable as exc:
        return None, f"donnée non disponible : {exc}"
    return ModelOutput(frame=gap.frame, meta=gap.meta, tables=gap.tables, source=gap.source,
                       raster_writer=gap.raster_writer if with_writer else None,
                       programme=gap.programme), None


def _public_offer(store: Store, codes: list[str]) -> Any:
    """FINESS establishments of the territory (``available`` False when FINESS is absent)."""
    from models import supply

    offer = supply.public_establishments(store)
    points = offer.points[offer.points["code"].astype(str).isin(set(codes))]
    return replace(offer, points=points.reset_index(drop=True))


def _as_output(value: ModelOutput | pd.DataFrame | None) -> ModelOutput | None:
    if value is None or isinstance(value, ModelOutput):
        return value
    return ModelOutput(frame=pd.DataFrame(value))


def _restrict(frame: pd.DataFrame, codes: list[str]) -> pd.DataFrame:
    if "code" not in frame.columns:
        return frame
    out = frame.assign(code=frame["code"].astype(str))
    return out[out["code"].isin(set(codes))].reset_index(drop=True)
