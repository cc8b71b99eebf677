"""The local data store: one (Geo)Parquet file per dataset, each carrying its manifest.

The manifest (source, URL or package, vintage, licence, sha256 of the inputs, row count, build
time) is written *inside* the Parquet file's metadata, so that data and manifest are replaced
together by a single atomic ``os.replace``: a crash half-way through a write leaves the previous
version whole and readable. A JSON copy of the manifest is written beside the file for humans and
for ``git``-less inspection; the embedded one is the truth.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq

import settings
from geodata import files

MANIFEST_KEY = b"diag_manifest"
LICENCE_OUVERTE = "Licence Ouverte / Etalab 2.0"


@dataclass
class Manifest:
    """What a stored dataset is, where it comes from and how it was built."""

    dataset: str
    source: str
    producer: str
    vintage: str
    licence: str = LICENCE_OUVERTE
    url: str = ""
    transport: str = ""  # "download", "local:<dir>", "package:<name>==<version>"
    input_sha256: str = ""
    rows: int = 0
    built_at: str = ""
    builder_version: str = "1"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, default=str)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class StoreError(RuntimeError):
    """A dataset is missing or unreadable in the store (French message)."""


def sha256_of_files(paths: Iterable[Path]) -> str:
    """One sha256 over the bytes of several input files (in the given order)."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def sha256_of_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Store:
    """A folder of datasets. ``Store()`` uses :func:`settings.data_dir`."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else settings.data_dir()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, dataset: str) -> Path:
        return self.root / f"{dataset}.parquet"

    def exists(self, dataset: str) -> bool:
        return self.path(dataset).exists()

    def datasets(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*.parquet"))

    # -- writing -----------------------------------------------------------------------------
    def write(self, dataset: str, frame: pd.DataFrame, manifest: Manifest) -> Path:
        """Write ``frame`` atomically with its manifest; return the file path."""
        manifest.dataset = dataset
        manifest.rows = len(frame)
        manifest.built_at = datetime.now(UTC).isoformat(timespec="seconds")
        target = self.path(dataset)
        with files.temporary_path(self.root, dataset) as tmp:
            if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
                frame.to_parquet(tmp, index=False, write_covering_bbox=True)
            else:
                pd.DataFrame(frame).to_parquet(tmp, index=False)
            _embed_manifest(tmp, manifest)
            files.install(tmp, target, fsync=True)
        files.atomic_write_text(target.with_suffix(".manifest.json"), manifest.to_json())
        return target

    # -- reading -----------------------------------------------------------------------------
    def manifest(self, dataset: str) -> Manifest | None:
        path = self.path(dataset)
        if not path.exists():
            return None
        metadata = pq.read_schema(path).metadata or {}
        raw = metadata.get(MANIFEST_KEY)
        return Manifest.from_json(raw) if raw else None

    def read(self, dataset: str, columns: list[str] | None = None, bbox=None) -> pd.DataFrame:
        """Read a dataset (a GeoDataFrame when it has a geometry)."""
        path = self.path(dataset)
        if not path.exists():
            raise StoreError(
                f"Le jeu de données « {dataset} » est absent du dossier {self.root}. "
                "Lancez `make data` pour construire le stock local."
            )
        metadata = pq.read_schema(path).metadata or {}
        if b"geo" in metadata:
            geo = json.loads(metadata[b"geo"])
            if columns is None or any(c in columns for c in geo.get("columns", {})):
                return gpd.read_parquet(path, columns=columns, bbox=bbox)
        return pd.read_parquet(path, columns=columns)

    def is_fresh(self, dataset: str, input_sha256: str, builder_version: str = "1") -> bool:
        """True when the stored dataset was built from the same inputs by the same builder."""
        current = self.manifest(dataset)
        return (
            current is not None
            and current.input_sha256 == input_sha256
            and current.builder_version == builder_version
        )


def _embed_manifest(path: Path, manifest: Manifest) -> None:
    """Rewrite the Parquet footer with the manifest in the schema metadata."""
    table = pq.read_table(path)
    metadata = dict(table.schema.metadata or {})
    metadata[MANIFEST_KEY] = manifest.to_json().encode("utf-8")
    pq.write_table(table.replace_schema_metadata(metadata), path)

