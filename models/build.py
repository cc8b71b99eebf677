"""Persist the national need index in the store (``need_index``), rebuilt only when needed.

The whole pipeline (imputation, index, sensitivity, typology, hot spots) takes 10–20 s for all
France. Reports and the app start from its stored result; they re-score in milliseconds when a
user changes the weights. The stored dataset is rebuilt when any input dataset's manifest or the
model's code or weights change (the digest of both is the manifest's ``input_sha256``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from geodata.store import Manifest, Store, StoreError

log = logging.getLogger(__name__)

NEED_DATASET = "need_index"
BUILDER_VERSION = "1"
# Datasets the need index does not depend on (its own output, display layers, side tables).
_IGNORED_PREFIXES = (NEED_DATASET, "communes_fin", "communes_grossier", "departements", "regions",
                     "epci", "gap")
_MODEL_FILES = ("pipeline.py", "indicators.py", "weights.py", "weights.yaml", "imputation.py",
                "normalise.py", "treatment.py", "aggregate.py", "sensitivity.py", "typology.py",
                "hotspots.py", "explain.py")


@dataclass
class BuildOutcome:
    dataset: str
    rows: int
    skipped: bool
    seconds: float = 0.0


def inputs_digest(store: Store) -> str:
    """Digest of what the need index depends on: store manifests and the model's code."""
    digest = hashlib.sha256()
    for path in sorted(store.root.glob("*.manifest.json")):
        if path.name.startswith(_IGNORED_PREFIXES):
            continue
        manifest = json.loads(path.read_text(encoding="utf-8"))
        # The build time changes at every rebuild even when the content does not.
        digest.update(path.name.encode())
        digest.update(str(manifest.get("input_sha256", "")).encode())
        digest.update(str(manifest.get("builder_version", "")).encode())
        digest.update(str(manifest.get("rows", "")).encode())
    models_dir = Path(__file__).resolve().parent
    for name in _MODEL_FILES:
        path = models_dir / name
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=json_default))


def json_default(value: Any) -> Any:
    """JSON for numpy scalars and arrays (and text for anything else)."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


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


def build_need_index(store: Store | None = None, force: bool = False) -> BuildOutcome:
    """Run the need pipeline on the store and write ``need_index`` (skipped when fresh)."""
    import time

    from models.indicator_matrix import build_matrix
    from models.pipeline import NeedIndex

    store = store or Store()
    digest = inputs_digest(store)
    if not force and store.is_fresh(NEED_DATASET, digest, BUILDER_VERSION):
        return BuildOutcome(NEED_DATASET, store.manifest(NEED_DATASET).rows, True)
    start = time.perf_counter()
    matrix = build_matrix(store)
    index = NeedIndex(matrix)
    from models.hotspots import contiguity

    result = index.run(edges=contiguity(store))
    aggregated = set(getattr(index, "aggregated", list(matrix.specs)))
    indicators = [
        {"id": s.id, "label": s.label, "unit": s.unit, "direction": s.direction,
         "source": s.source, "vintage": s.vintage, "licence": s.licence}
        for s in matrix.specs.values() if s.id in aggregated
    ]
    vintages = sorted({str(s["vintage"]) for s in indicators if s.get("vintage")})
    manifest = Manifest(
        dataset=NEED_DATASET,
        source="Modèle de besoin du projet (indice composite, préréglage « équilibré »)",
        producer="Calcul du projet d'après INSEE (Filosofi, recensement, grille de densité), "
                 "ANCT et DGALN",
        vintage=", ".join(vintages),
        transport="calcul local",
        input_sha256=digest,
        builder_version=BUILDER_VERSION,
        extra=_json_safe({
            "log": result.log,
            "unavailable": dict(matrix.unavailable),
            "indicators": indicators,
            "sources": result.sources,
        }),
    )
    store.write(NEED_DATASET, parquet_safe(result.frame), manifest)
    seconds = time.perf_counter() - start
    log.info("Indice de besoin calculé pour %s communes en %.1f s", len(result.frame), seconds)
    return BuildOutcome(NEED_DATASET, len(result.frame), False, seconds)


def main(force: bool = False) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        outcome = build_need_index(force=force)
    except StoreError as exc:  # a missing or damaged input: say which and how to rebuild it
        print(f"Erreur : {exc}", file=sys.stderr)
        return 1
    state = "à jour" if outcome.skipped else f"calculé en {outcome.seconds:.1f} s"
    print(f"  {outcome.dataset:<24} {outcome.rows:>7} lignes  ({state})")
    return 0
