"""The national need and gap results: the one place that computes, persists, checks freshness
and caches them.

The reports (:mod:`diagnostics`) and the app (:mod:`ui`) call these functions with the store
they hold; nothing else runs the need pipeline or builds the gap model.

Need
    The whole pipeline (imputation, index, sensitivity, typology, hot spots) takes 10–40 s for
    all France. ``python -m models build`` (run by ``make data``) persists its result in the
    store as ``need_index``, whose manifest records :func:`inputs_digest`: the store's source
    manifests plus the model's code and settings. :func:`national_need` reads it when fresh and
    otherwise recomputes and persists it. :func:`prepared_need` also returns the prepared
    :class:`~models.pipeline.NeedIndex` (select → impute → treat, about 10 s) that re-scores all
    France in milliseconds after a weight change; it is kept on disk beside the HTTP cache,
    under the same digest.
Gap
    Depends on the need, the registry's sites and the catchment settings, which change while a
    user works: it is computed on demand (about a second for all France) by :func:`gap_model`
    and, for a report's territory, :func:`territory_gap` (frame, zones blanches, an illustrative
    siting scenario, the accessibility raster writer).

Failures are raised as :class:`ResultsUnavailable` with a French reason the callers show as is.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import pickle
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

import settings
from catalogues import datasets
from geodata.files import atomic_write_bytes
from geodata.store import Manifest, Store
from operators.confidentiality import public_supply

log = logging.getLogger(__name__)

NEED_DATASET = datasets.NEED_INDEX
BUILDER_VERSION = "2"
NEED_SOURCE = "Modèle de besoin du projet (indice composite, préréglage « équilibré »)"
NEED_PRODUCER = ("Calcul du projet d'après INSEE (Filosofi, recensement, grille de densité), "
                 "ANCT et DGALN")

# Stored datasets the need does not depend on: the models' own outputs and display layers.
_DERIVED_PREFIXES = (NEED_DATASET, "gap", datasets.CONTIGUITY, *datasets.REFERENCE_SIMPLIFIED)
_PROJECT = settings.PROJECT_ROOT
# The code and settings the results depend on (a change of any of them recomputes).
_CODE_GLOBS = ("models/*.py", "models/*.yaml", "catalogues/*.py", "catalogues/*.yaml")
_PREPARED_KEEP = 2  # prepared indexes kept on disk (about 20 MB each)


class ResultsUnavailable(RuntimeError):
    """The need or gap result cannot be computed; the message is a French reason."""


# -- freshness ---------------------------------------------------------------------------------
def code_digest() -> str:
    """Digest of the model's code and settings and of the catalogues."""
    digest = hashlib.sha256()
    for pattern in _CODE_GLOBS:
        for path in sorted(_PROJECT.glob(pattern)):
            digest.update(str(path.relative_to(_PROJECT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def inputs_digest(store: Store) -> str:
    """Digest of what the need depends on: the store's source manifests and the model's code.

    A manifest contributes its content digest, builder version and row count, not its build
    time (a rebuild of the same content keeps the results fresh).
    """
    digest = hashlib.sha256()
    for path in sorted(store.root.glob("*.manifest.json")):
        if path.name.startswith(_DERIVED_PREFIXES):
            continue
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {"unreadable": path.stat().st_mtime_ns if path.exists() else 0}
        digest.update(path.name.encode())
        for key in ("input_sha256", "builder_version", "rows", "unreadable"):
            digest.update(str(manifest.get(key, "")).encode())
    digest.update(code_digest().encode())
    return digest.hexdigest()


# -- need --------------------------------------------------------------------------------------
@dataclass
class NeedResults:
    """The national need result (one row per commune) and what it says about itself."""

    frame: pd.DataFrame
    log: list[dict]
    unavailable: dict[str, str]
    indicators: pd.DataFrame  # id, label, unit, direction, source, vintage, licence
    sources: dict[str, str]
    digest: str
    source: str = NEED_SOURCE


@dataclass
class PreparedNeed:
    """The prepared index (for instant re-scoring) and the national result of the defaults."""

    index: Any  # models.pipeline.NeedIndex
    results: NeedResults


@dataclass
class BuildOutcome:
    dataset: str
    rows: int
    skipped: bool
    seconds: float = 0.0


_LOCK = threading.Lock()
_MEMORY: dict[tuple[str, str, str], Any] = {}


def _memo(kind: str, store: Store, digest: str, compute: Callable[[], Any]) -> Any:
    key = (kind, str(store.root), digest)
    with _LOCK:
        if key in _MEMORY:
            return _MEMORY[key]
    value = compute()
    with _LOCK:
        for old in [k for k in _MEMORY if k[:2] == key[:2] and k != key]:
            del _MEMORY[old]  # results of an older state of the same store
        _MEMORY[key] = value
    return value


def clear_memory() -> None:
    """Forget the results kept in this process (tests, benchmarks)."""
    with _LOCK:
        _MEMORY.clear()


def _require_sources(store: Store) -> None:
    if not store.exists(datasets.FILOSOFI_COMMUNES):
        raise ResultsUnavailable(
            "les sources statistiques (Filosofi, recensement…) ne sont pas dans le stock local ; "
            "lancez `make data` (ou `python -m connectors refresh`)."
        )


def _indicator_table(index: Any) -> pd.DataFrame:
    specs = index.matrix.specs
    aggregated = set(index.aggregated)
    return pd.DataFrame([
        {"id": s.id, "label": s.label, "unit": s.unit, "direction": s.direction,
         "source": s.source, "vintage": s.vintage, "licence": s.licence}
        for s in specs.values() if s.id in aggregated
    ], columns=["id", "label", "unit", "direction", "source", "vintage", "licence"])


def _run_pipeline(store: Store, digest: str) -> tuple[Any, NeedResults]:
    """The full pipeline on ``store`` (its own contiguity edges, never the default store's)."""
    from models.hotspots import contiguity
    from models.indicator_matrix import build_matrix
    from models.pipeline import NeedIndex

    _require_sources(store)
    try:
        matrix = build_matrix(store)
        index = NeedIndex(matrix)
        result = index.run(edges=contiguity(store))
    except ResultsUnavailable:
        raise
    except Exception as exc:
        log.warning("Modèle de besoin impossible : %s", exc)
        raise ResultsUnavailable(f"modèle de besoin non calculable ({exc})") from exc
    results = NeedResults(
        frame=parquet_safe(result.frame),
        log=_json_safe(result.log),
        unavailable=dict(matrix.unavailable),
        indicators=_indicator_table(index),
        sources=dict(result.sources),
        digest=digest,
    )
    return index, results


def _persist(store: Store, results: NeedResults) -> None:
    vintages = sorted({str(v) for v in results.indicators.get("vintage", []) if v})
    manifest = Manifest(
        dataset=NEED_DATASET,
        source=NEED_SOURCE,
        producer=NEED_PRODUCER,
        vintage=", ".join(vintages),
        transport="calcul local",
        input_sha256=results.digest,
        builder_version=BUILDER_VERSION,
        extra=_json_safe({
            "log": results.log,
            "unavailable": results.unavailable,
            "indicators": results.indicators.to_dict("records"),
            "sources": results.sources,
        }),
    )
    try:
        store.write(NEED_DATASET, results.frame, manifest)
    except OSError as exc:  # a read-only store only costs a recomputation next time
        log.warning("Indice de besoin non enregistré dans le stock : %s", exc)


def _stored(store: Store, digest: str) -> NeedResults | None:
    if not store.is_fresh(NEED_DATASET, digest, BUILDER_VERSION):
        return None
    manifest = store.manifest(NEED_DATASET)
    frame = pd.DataFrame(store.read(NEED_DATASET))
    frame["code"] = frame["code"].astype(str)
    extra = dict(manifest.extra or {})
    return NeedResults(
        frame=frame,
        log=list(extra.get("log", [])),
        unavailable=dict(extra.get("unavailable", {})),
        indicators=pd.DataFrame(extra.get("indicators", [])),
        sources=dict(extra.get("sources", {})),
        digest=digest,
        source=manifest.source or NEED_SOURCE,
    )


def build_need_index(store: Store | None = None, force: bool = False) -> BuildOutcome:
    """Run the need pipeline on the store and persist ``need_index`` (skipped when fresh)."""
    store = store or Store()
    digest = inputs_digest(store)
    if not force and store.is_fresh(NEED_DATASET, digest, BUILDER_VERSION):
        return BuildOutcome(NEED_DATASET, store.manifest(NEED_DATASET).rows, True)
    start = time.perf_counter()
    _index, results = _run_pipeline(store, digest)
    _persist(store, results)
    seconds = time.perf_counter() - start
    log.info("Indice de besoin calculé pour %s communes en %.1f s", len(results.frame), seconds)
    return BuildOutcome(NEED_DATASET, len(results.frame), False, seconds)


def national_need(store: Store) -> NeedResults:
    """The national need result of ``store``: stored when fresh, else computed and persisted.

    Raises
    ------
    ResultsUnavailable
        With a French reason (sources absent, pipeline failure).
    """
    digest = inputs_digest(store)

    def compute() -> NeedResults:
        _require_sources(store)
        stored = _stored(store, digest)
        if stored is not None:
            return stored
        _index, results = _run_pipeline(store, digest)
        _persist(store, results)
        return results

    return _memo("need", store, digest, compute)


def disk_cached(kind: str, key: str, compute: Callable[[], Any]) -> Any:
    """The result ``kind``/``key`` kept on disk (``<cache>/models``), or ``compute()`` kept there.

    An unreadable file (another version of a library, a truncated write) is recomputed, never
    trusted; the newest few results of a kind are kept.
    """
    folder = settings.cache_dir() / "models"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}_{key[:24]}.pickle"
    if path.exists():
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except Exception:  # any unreadable copy is recomputed
            path.unlink(missing_ok=True)
    value = compute()
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs time
        atomic_write_bytes(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
    for old in sorted(folder.glob(f"{kind}_*.pickle"), key=lambda p: p.stat().st_mtime,
                      reverse=True)[_PREPARED_KEEP:]:
        old.unlink(missing_ok=True)
    return value


def prepared_need(store: Store) -> PreparedNeed:
    """The prepared index of ``store`` with the national result of the default settings.

    The index (select → impute → treat, about 10 s) is kept on disk under the inputs digest
    (:func:`disk_cached`), so that a server restart re-scores at once.
    """
    digest = inputs_digest(store)

    def prepare() -> Any:
        from models.indicator_matrix import build_matrix
        from models.pipeline import NeedIndex

        try:
            index = NeedIndex(build_matrix(store))
            index.prepare()
            index.score(log=True)
        except Exception as exc:
            raise ResultsUnavailable(f"modèle de besoin non calculable ({exc})") from exc
        return index

    def compute() -> PreparedNeed:
        results = national_need(store)
        return PreparedNeed(index=disk_cached("besoin_prepare", digest, prepare), results=results)

    return _memo("prepared", store, digest, compute)


# -- gap ---------------------------------------------------------------------------------------
EMPTY_SITES = pd.DataFrame(columns=["site_id", "commune_code", "offer_type", "capacity", "status"])
SITING_TYPE = "pension_de_famille"
SITING_SITES = 4  # the report's illustrative scenario: four sites of the configured size
ZONE_TYPES = ("pension_de_famille", "residence_sociale", "intermediation_locative", "hebergement",
              "accompagnement")


def with_coverage(sites: pd.DataFrame, coverage: pd.DataFrame | None) -> pd.DataFrame:
    """Registry sites with their covered communes as a list column (area services)."""
    frame = pd.DataFrame(sites).copy()
    if coverage is None or coverage.empty or (
        "coverage_communes" in frame.columns and frame["coverage_communes"].notna().any()
    ):
        return frame
    covered = coverage.groupby("site_id")["commune_code"].agg(list)
    frame["coverage_communes"] = frame["site_id"].map(covered)
    return frame


def gap_model(
    store: Store,
    need_frame: pd.DataFrame,
    sites: pd.DataFrame | None,
    config: dict | None = None,
    coverage: pd.DataFrame | None = None,
) -> Any:
    """The gap model (``models.gap.GapModel``) over all France for these inputs (confidential
    sites left out)."""
    from models import gap

    # The gap and its rasters are public figures: a confidential site never enters them (two
    # communes' gaps could be subtracted to reveal it), whoever the caller is.
    frame_sites = EMPTY_SITES if sites is None else with_coverage(public_supply(sites), coverage)
    try:
        inputs = gap.inputs_from_store(need_frame, frame_sites, store)
        return gap.GapModel(inputs, config)
    except Exception as exc:
        log.warning("Modèle d'écart impossible : %s", exc)
        raise ResultsUnavailable(f"modèle d'écart non calculable ({exc})") from exc


@dataclass
class GapResults:
    """The gap of a territory: per-commune frame, model meta and side tables."""

    frame: pd.DataFrame
    meta: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    raster_writer: Callable[[Any, Any], Any] | None = None  # (path, outlines) -> path
    source: str = "modèle d'écart du projet"
    programme: Any = None  # models.programme.ProgrammeResult of the territory (default mix)


def territory_gap(
    store: Store,
    codes: list[str],
    need_frame: pd.DataFrame,
    sites: pd.DataFrame | None,
    coverage: pd.DataFrame | None = None,
) -> GapResults:
    """The gap on a territory and its surroundings (catchments cross its border).

    ``need_frame`` is the national need frame and ``sites`` every registry site: providers and
    households beyond the border count.
    """
    from models import gap

    if sites is None:
        raise ResultsUnavailable("écart non calculable sans le registre des opérateurs")
    model = gap_model(store, need_frame, sites, coverage=coverage)
    try:
        frame = model.frame(codes)
        meta = model.meta()
    except Exception as exc:
        raise ResultsUnavailable(f"modèle d'écart non calculable ({exc})") from exc
    tables: dict[str, pd.DataFrame] = {}
    zones = _zones_blanches(gap, model, frame)
    if zones is not None:
        tables["zones_blanches"] = zones
    if model.reference is not None:
        tables["zones_blanches_cibles"] = _target_zones_blanches(model, frame)
        targets = model.inputs.targets.frame
        tables["menages_cibles"] = targets[targets["code"].isin(set(frame["code"]))].reset_index(
            drop=True)
        tables["menages_cibles"].attrs["availability"] = dict(model.inputs.targets.availability)
        from models import target_households as th

        tables["briques_nationales"] = th.national_totals(model.inputs.targets)
    siting = _siting(model, codes)
    if siting is not None:
        tables["implantation"] = siting
    territory_codes = list(codes)

    def writer(path, outlines):
        return gap.write_accessibility_raster(path, model, outlines, territory_codes)

    return GapResults(frame=frame, meta=meta, tables=tables, raster_writer=writer,
                      programme=_programme(store, model, codes, frame))


def prepare_gap(store: Store) -> None:
    """Load in this process what every territory's gap reads that depends on no territory:
    its modules, its parameters files and the economic model's (with the values it reads in
    OpenFisca-France), the communes' zone and programmes.

    A report computes its territory's gap in a forked child (:mod:`models.forked`), whose
    caches die with it: without this, every report's child would load them again (about 1 s
    of the Nord's 1.9 s). Loaded in the parent before the fork, the child inherits them: the
    first report takes as long, the next ones do not load them again.
    """
    from catalogues.sources import load_sources
    from models import (  # noqa: F401  (imported for the child)
        accessibility,
        gap,
        gap_reference,
        programme,
        programme_costs,
        siting,
        target_households,
    )

    load_sources()
    accessibility.load_config()
    target_households.load_params()
    gap_reference.load_params()
    programme_costs.prepare(store)


def lazy_raster_writer(
    store: Store,
    codes: list[str],
    need_frame: pd.DataFrame,
    sites: pd.DataFrame | None,
    coverage: pd.DataFrame | None = None,
) -> Callable[[Any, Any], Any]:
    """The territory's raster writer (as :attr:`GapResults.raster_writer`) building its gap
    model only when a raster is asked for: the report's gap may have been computed in another
    process, which cannot send its model back (:mod:`models.forked`)."""
    from models import gap

    territory_codes = list(codes)

    def writer(path, outlines):
        model = gap_model(store, need_frame, sites, coverage=coverage)
        return gap.write_accessibility_raster(path, model, outlines, territory_codes)

    return writer


def _programme(store: Store, model: Any, codes: list[str], frame: pd.DataFrame) -> Any:
    """The production programme of the territory with the default mix (None when it cannot
    be computed: a report section, never a reason to fail the report)."""
    from models import programme

    if model.reference is None:
        return None
    try:
        return programme.build_programme(model, list(codes), store=store, frame=frame)
    except Exception as exc:
        log.warning("Programme de production impossible : %s", exc)
        return None


def _siting(model: Any, codes: list[str]) -> pd.DataFrame | None:
    """Where a few new pensions de famille would answer the most unmet need (greedy)."""
    from models.siting import suggest_sites

    size = float(model.config.get("siting", {}).get("site_size", 25))
    try:
        table = suggest_sites(model, SITING_TYPE, SITING_SITES * size, list(codes))
    except Exception as exc:  # a scenario is a bonus, never a reason to fail the report
        log.warning("Scénario d'implantation impossible : %s", exc)
        return None
    table.attrs["places"] = SITING_SITES * size
    return table


def _zones_blanches(gap: Any, model: Any, frame: pd.DataFrame) -> pd.DataFrame | None:
    config = model.config
    distance = float(config.get("zones_blanches", {}).get("neighbour_m", 8000))
    communes = model.inputs.communes
    members = communes[communes["code"].isin(set(frame["code"]))]
    pairs = gap.neighbour_pairs(members, distance)
    parts = []
    for offer_type in ZONE_TYPES:
        if f"providers_in_reach_{offer_type}" not in frame.columns:
            continue
        _, zones = gap.zones_blanches(frame, offer_type, pairs, config)
        parts.append(zones)
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True).sort_values(
        "need_households", ascending=False, ignore_index=True
    )


def _target_zones_blanches(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """Zones blanches on the target households (``models.gap_reference``), every family."""
    reference = model.reference
    distance = float(model.config.get("zones_blanches", {}).get("neighbour_m", 8000))
    communes = model.inputs.communes
    members = communes[communes["code"].isin(set(frame["code"]))]
    from models import gap

    pairs = gap.neighbour_pairs(members, distance)
    parts = [reference.zones_blanches(family, pairs, frame["code"])[1]
             for family in reference.families]
    columns = ["zone_id", "offer_type", "n_communes", "codes", "names", "target_households",
               "target_households_low", "target_households_high"]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True).sort_values(
        "target_households", ascending=False, ignore_index=True)[columns]


# -- serialisation helpers ---------------------------------------------------------------------
def json_default(value: Any) -> Any:
    """JSON for numpy scalars and arrays (and text for anything else)."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=json_default))


def parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns with mixed values as text (Parquet needs one type per column)."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if column != "code" and values.dtype == object and not values.map(
            lambda v: v is None or isinstance(v, str)
        ).all():
            out[column] = values.map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return out
