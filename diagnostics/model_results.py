"""The need and gap models' results for a territory, or the reason they are not available.

The need index is normalised on all France, so it is computed (or read) for every commune and
then restricted to the territory. Results are looked for in this order:

1. a dataset persisted in the store by the models (``need_index``, ``gap``);
2. the models run on the store (:mod:`models.pipeline`, :mod:`models.gap`), with the national
   need result kept in memory for the process (a batch of reports computes it once).

Any failure becomes a French reason; the report then says « donnée non disponible ».
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

import settings
from diagnostics.inputs import ModelOutput
from geodata.store import Store
from models.build import json_default, parquet_safe

log = logging.getLogger(__name__)

NEED_DATASETS = ("need_index", "need", "besoin")
GAP_DATASETS = ("gap", "ecart")
_CACHE: dict[tuple, Any] = {}


def _stored(store: Store, names: tuple[str, ...]) -> tuple[str, pd.DataFrame] | None:
    for name in names:
        if store.exists(name):
            return name, pd.DataFrame(store.read(name))
    return None


def _need_cache_key(store: Store) -> str:
    """Digest of what the national need depends on: the store's manifests and the model's code
    and weights (a change of any of them recomputes)."""
    digest = hashlib.sha256()
    for path in sorted(store.root.glob("*.manifest.json")):
        if path.name.startswith(("need", "besoin", "gap", "ecart")):
            continue
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    models_dir = settings.PROJECT_ROOT / "models"
    for name in ("pipeline.py", "indicators.py", "weights.yaml", "imputation.py", "sensitivity.py"):
        path = models_dir / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def _cache_paths(key: str) -> tuple[Path, Path]:
    folder = settings.cache_dir() / "diagnostics"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"besoin_{key}.parquet", folder / f"besoin_{key}.json"


def _read_cached_need(key: str) -> ModelOutput | None:
    frame_path, meta_path = _cache_paths(key)
    if not (frame_path.exists() and meta_path.exists()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        frame = pd.read_parquet(frame_path)
    except (OSError, ValueError) as exc:
        log.warning("Cache du modèle de besoin illisible : %s", exc)
        return None
    return ModelOutput(frame=frame, meta=meta["meta"], source=meta["source"],
                       tables={"indicators": pd.DataFrame(meta["indicators"])})


def _write_cached_need(key: str, output: ModelOutput) -> None:
    frame_path, meta_path = _cache_paths(key)
    try:
        tmp = frame_path.with_suffix(".tmp")
        output.frame.to_parquet(tmp, index=False)
        tmp.replace(frame_path)
        text = json.dumps({"meta": output.meta, "source": output.source,
                           "indicators": output.tables["indicators"].to_dict("records")},
                          ensure_ascii=False, default=json_default)
        tmp = meta_path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(meta_path)
        for old in frame_path.parent.glob("besoin_*"):
            if old not in (frame_path, meta_path):
                old.unlink(missing_ok=True)  # results of an older store state
    except OSError as exc:  # a cache that cannot be written only costs time
        log.warning("Cache du modèle de besoin non écrit : %s", exc)


def _stored_need_is_fresh(store: Store, name: str) -> bool:
    """The stored need index matches the store's current inputs (``python -m models build``)."""
    try:
        from models.build import BUILDER_VERSION, inputs_digest
    except ImportError:
        return True
    return store.is_fresh(name, inputs_digest(store), BUILDER_VERSION)


def national_need(store: Store) -> tuple[ModelOutput | None, str | None]:
    """The need model over all France (cached in memory and on disk per store state)."""
    stored = _stored(store, NEED_DATASETS)
    if stored is not None and _stored_need_is_fresh(store, stored[0]):
        name, frame = stored
        manifest = store.manifest(name)
        meta = dict(manifest.extra) if manifest else {}
        indicators = pd.DataFrame(meta.pop("indicators", []))
        return ModelOutput(frame=frame, meta=meta, source=manifest.source if manifest else name,
                           tables={"indicators": indicators}), None
    disk_key = _need_cache_key(store)
    key = ("need", disk_key)
    if key in _CACHE:
        return _CACHE[key]
    cached = _read_cached_need(disk_key)
    if cached is not None:
        _CACHE[key] = (cached, None)
        return _CACHE[key]
    try:
        from models.indicator_matrix import build_matrix
        from models.pipeline import NeedIndex
    except ImportError as exc:
        return None, f"donnée non disponible : modèle de besoin absent ({exc})"
    try:
        matrix = build_matrix(store)
        index = NeedIndex(matrix)
        result = index.run()
    except Exception as exc:  # the report still has its other sections
        log.warning("Modèle de besoin impossible : %s", exc)
        return None, f"donnée non disponible : modèle de besoin non calculable ({exc})"
    specs = pd.DataFrame([
        {"id": s.id, "label": s.label, "unit": s.unit, "direction": s.direction, "source": s.source,
         "vintage": s.vintage, "licence": s.licence}
        for s in matrix.specs.values() if s.id in getattr(index, "aggregated", list(matrix.specs))
    ])
    output = ModelOutput(
        frame=result.frame,
        meta={"log": result.log, "unavailable": dict(matrix.unavailable)},
        tables={"indicators": specs},
        source="modèle de besoin du projet (indice composite, sources INSEE et ANCT citées en annexe)",
    )
    output.frame = parquet_safe(output.frame)
    _write_cached_need(disk_key, output)
    _CACHE[key] = (output, None)
    return output, None


def need_for(store: Store, codes: list[str]) -> tuple[ModelOutput | None, str | None]:
    """The national need result (the caller keeps the territory's rows for display)."""
    return national_need(store)


def gap_for(
    store: Store,
    codes: list[str],
    need: pd.DataFrame | None,
    sites: pd.DataFrame | None,
    coverage: pd.DataFrame | None = None,
) -> tuple[ModelOutput | None, str | None]:
    """The gap model on the territory and its surroundings (catchments cross its border).

    ``need`` is the need frame of every commune (at least those around the territory), ``sites``
    every non-confidential registry site: providers and households beyond the border count. A
    report is public: confidential sites are removed here too, should a caller pass them.
    """
    stored = _stored(store, GAP_DATASETS)
    if stored is not None:
        name, frame = stored
        manifest = store.manifest(name)
        return ModelOutput(frame=frame, meta=dict(manifest.extra) if manifest else {}), None
    if need is None:
        return None, "donnée non disponible : écart non calculable sans le modèle de besoin"
    if sites is None:
        return None, "donnée non disponible : écart non calculable sans le registre des opérateurs"
    try:
        from models import gap as gap_model
    except ImportError as exc:
        return None, f"donnée non disponible : modèle d'écart absent ({exc})"
    try:
        from operators.confidentiality import public_supply

        need_frame = need
        frame_sites = _with_coverage(public_supply(sites), coverage)
        inputs = gap_model.inputs_from_store(need_frame, frame_sites, store)
        model = gap_model.GapModel(inputs)
        frame = model.frame(codes)
        tables: dict[str, pd.DataFrame] = {}
        zones = _zones_blanches(gap_model, model, frame, inputs.communes)
        if zones is not None:
            tables["zones_blanches"] = zones
        siting = _siting(model, codes)
        if siting is not None:
            tables["implantation"] = siting
        meta = model.meta()

        territory_codes = list(codes)

        def writer(path, outlines, _model=model, _codes=territory_codes):
            return gap_model.write_accessibility_raster(path, _model, outlines, _codes)
    except Exception as exc:
        log.warning("Modèle d'écart impossible : %s", exc)
        return None, f"donnée non disponible : modèle d'écart non calculable ({exc})"
    return ModelOutput(frame=frame, meta=meta, tables=tables, source="modèle d'écart du projet",
                       raster_writer=writer), None


def _with_coverage(sites: pd.DataFrame, coverage: pd.DataFrame | None) -> pd.DataFrame:
    """Registry sites with their covered communes as a list column (area services)."""
    frame = pd.DataFrame(sites).copy()
    if coverage is None or coverage.empty or ("coverage_communes" in frame.columns and frame[
        "coverage_communes"
    ].notna().any()):
        return frame
    covered = coverage.groupby("site_id")["commune_code"].agg(list)
    frame["coverage_communes"] = frame["site_id"].map(covered)
    return frame


SITING_TYPE = "pension_de_famille"
SITING_SITES = 4  # an illustrative scenario: four sites of the configured size


def _siting(model, codes: list[str]) -> pd.DataFrame | None:
    """Where a few new pensions de famille would answer the most unmet need (greedy)."""
    try:
        from models.siting import suggest_sites
    except ImportError:
        return None
    size = float(model.config.get("siting", {}).get("site_size", 25))
    try:
        table = suggest_sites(model, SITING_TYPE, SITING_SITES * size, list(codes))
    except Exception as exc:  # a scenario is a bonus, never a reason to fail the report
        log.warning("Scénario d'implantation impossible : %s", exc)
        return None
    table.attrs["places"] = SITING_SITES * size
    return table


def _zones_blanches(gap_model, model, frame: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame | None:
    config = model.config
    params = config.get("zones_blanches", {})
    distance = float(params.get("neighbour_m", 8000))
    members = communes[communes["code"].isin(set(frame["code"]))]
    pairs = gap_model.neighbour_pairs(members, distance)
    parts = []
    for offer_type in ("pension_de_famille", "residence_sociale", "intermediation_locative",
                       "hebergement", "accompagnement"):
        if f"providers_in_reach_{offer_type}" not in frame.columns:
            continue
        _, zones = gap_model.zones_blanches(frame, offer_type, pairs, config)
        parts.append(zones)
    if not parts:
        return None
    return pd.concat(parts, ignore_index=True).sort_values("need_households", ascending=False,
                                                           ignore_index=True)
