"""The local data store: one (Geo)Parquet file per dataset, each carrying its manifest.

The manifest (source, URL or package, vintage, licence, sha256 of the inputs, row count, build
time) is written *inside* the Parquet file's metadata, so that data and manifest are replaced
together by a single atomic ``os.replace``: a crash half-way through a write leaves the previous
version whole and readable. A JSON copy of the manifest is written beside the file for humans and
for ``git``-less inspection; the embedded one is the truth.

A file damaged outside the store's control (a copy cut short, a full disk, an editor) is
detected on read: :class:`CorruptDataset` says in French which file to delete and which command
rebuilds it, and :meth:`Store.is_fresh` answers ``False`` so that every builder (``geodata
build``, ``connectors refresh``, ``models build``) rebuilds it by itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

import settings
from catalogues import datasets
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
    # sha256 of the whole stored file: kept in the JSON manifest beside it (the embedded copy
    # cannot hold the digest of the file that holds it) and verified on read.
    file_sha256: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, default=str)

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class StoreError(RuntimeError):
    """A dataset is missing or unreadable in the store (French message)."""


class CorruptDataset(StoreError):
    """A stored file cannot be read (truncated or damaged): French message naming the file and
    the command that rebuilds it."""

    def __init__(self, dataset: str, path: Path, command: str, detail: str,
                 changed: bool = False) -> None:
        self.dataset, self.path, self.command = dataset, path, command
        detail = " ".join(detail.split())
        what = ("a été modifié depuis sa construction (son empreinte sha256 n'est plus celle de "
                "son manifeste)" if changed else "est illisible : tronqué ou abîmé")
        super().__init__(
            f"Le fichier {path} (jeu de données « {dataset} ») {what} "
            f"(détail technique : {detail[:160]}). Supprimez-le puis reconstruisez-le avec "
            f"`{command}` (ou `make data`, qui reconstruit tout ce qui manque)."
        )


# Files whose digest was checked in this process, by (path, size, mtime, ctime, inode): a file
# is hashed once per version, not at every read (about 0,4 s for the whole store here).
_VERIFIED: dict[str, tuple[int, int, int, int]] = {}


# Datasets written by the geography and model builders (everything else is a source's).
MODEL_DATASETS = (datasets.NEED_INDEX, datasets.CONTIGUITY)


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

    def rebuild_command(self, dataset: str) -> str:
        """The command that rebuilds ``dataset``."""
        if dataset in datasets.REFERENCE_DATASETS:
            return "python -m geodata build"
        if dataset in MODEL_DATASETS:
            return "python -m models build"
        source = dataset
        try:  # side tables (``<id>_rejects``…) name their source in the JSON manifest
            extra = json.loads(self.path(dataset).with_suffix(".manifest.json").read_text(
                encoding="utf-8")).get("extra") or {}
            source = str(extra.get("of") or dataset)
        except (OSError, ValueError, AttributeError):
            pass
        return f"python -m connectors refresh --source {source}"

    def check(self, dataset: str) -> None:
        """Raise :class:`CorruptDataset` when the file's Parquet footer cannot be read, or when
        its bytes are not those its manifest's sha256 describes."""
        path = self.path(dataset)
        try:
            pq.read_metadata(path)
        except FileNotFoundError:
            raise
        except Exception as exc:  # pyarrow raises several unrelated types for a broken file
            raise CorruptDataset(dataset, path, self.rebuild_command(dataset), str(exc)) from exc
        self.verify(dataset)

    def verify(self, dataset: str) -> None:
        """Raise :class:`CorruptDataset` when the file's sha256 differs from the one its JSON
        manifest recorded at build time (a byte changed inside a data page goes unnoticed by
        Parquet itself). A file built before digests were recorded is not checked until it is
        rebuilt or sealed (:meth:`seal`)."""
        path = self.path(dataset)
        stat = path.stat()
        version = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
        key = str(path.resolve())
        if _VERIFIED.get(key) == version:
            return
        expected = self._recorded_sha256(dataset)
        if expected:
            actual = sha256_of_files([path])
            if actual != expected:
                try:  # cut short or broken: say so, as for a file without a digest
                    pq.read_metadata(path)
                except Exception as exc:
                    raise CorruptDataset(dataset, path, self.rebuild_command(dataset),
                                         str(exc)) from exc
                raise CorruptDataset(
                    dataset, path, self.rebuild_command(dataset),
                    f"sha256 {actual[:12]}… au lieu de {expected[:12]}…", changed=True)
        _VERIFIED[key] = version

    def _recorded_sha256(self, dataset: str) -> str:
        try:
            data = json.loads(self.path(dataset).with_suffix(".manifest.json").read_text(
                encoding="utf-8"))
        except (OSError, ValueError):
            return ""
        return str(data.get("file_sha256") or "") if isinstance(data, dict) else ""

    def seal(self, dataset: str) -> str:
        """Record the current file's sha256 in its JSON manifest (files built before digests
        were recorded); returns the digest. Only for a file known to be good."""
        self.check(dataset)
        path = self.path(dataset)
        manifest_path = path.with_suffix(".manifest.json")
        try:
            data = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            embedded = self.manifest(dataset)
            data = json.loads(embedded.to_json()) if embedded else {"dataset": dataset}
        data["file_sha256"] = sha256_of_files([path])
        files.atomic_write_text(manifest_path, json.dumps(data, ensure_ascii=False, indent=2))
        return data["file_sha256"]

    def is_intact(self, dataset: str) -> bool:
        """The dataset exists and its file can be opened."""
        try:
            self.check(dataset)
        except (CorruptDataset, FileNotFoundError):
            return False
        return True

    def _raise_if_damaged(self, dataset: str, exc: Exception) -> None:
        """Raise :class:`CorruptDataset` when a read failed because the file itself is broken
        (not because of a wrong column); else return and let the caller re-raise."""
        try:
            self.check(dataset)
        except FileNotFoundError:
            return
        except CorruptDataset as corrupt:
            raise corrupt from exc

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
            digest = sha256_of_files([tmp])
            # The JSON (with the digest) first: a crash between the two leaves a digest that
            # does not match the old file, which is then rebuilt — never a wrong file trusted.
            files.atomic_write_text(target.with_suffix(".manifest.json"),
                                    replace(manifest, file_sha256=digest).to_json())
            files.install(tmp, target, fsync=True)
        return target

    # -- reading -----------------------------------------------------------------------------
    def manifest(self, dataset: str) -> Manifest | None:
        path = self.path(dataset)
        if not path.exists():
            return None
        try:
            metadata = pq.read_schema(path).metadata or {}
        except Exception as exc:
            self._raise_if_damaged(dataset, exc)
            raise
        raw = metadata.get(MANIFEST_KEY)
        self.verify(dataset)
        return Manifest.from_json(raw) if raw else None

    def read(self, dataset: str, columns: list[str] | None = None, bbox=None,
             codes: Iterable[str] | None = None) -> pd.DataFrame:
        """Read a dataset (a GeoDataFrame when it has a geometry).

        ``codes``: keep only the rows whose ``code`` is one of them, filtered while reading
        (a territory's rows without building the national frame and its geometries); rows
        keep the file's order, as ``frame[frame["code"].isin(codes)]`` would.
        """
        path = self.path(dataset)
        if not path.exists():
            raise StoreError(
                f"Le jeu de données « {dataset} » est absent du dossier {self.root}. "
                "Lancez `make data` pour construire le stock local."
            )
        self.verify(dataset)
        try:
            metadata = pq.read_schema(path).metadata or {}
            if b"geo" in metadata:
                geo = json.loads(metadata[b"geo"])
                if columns is None or any(c in columns for c in geo.get("columns", {})):
                    return gpd.read_parquet(path, columns=columns, bbox=bbox,
                                            **_code_filter(path, codes))
            return pd.read_parquet(path, columns=columns, **_code_filter(path, codes))
        except Exception as exc:
            self._raise_if_damaged(dataset, exc)
            raise

    def read_frame(self, dataset: str, columns: list[str] | None = None,
                   codes: Iterable[str] | None = None) -> pd.DataFrame:
        """Read a dataset as a plain table (geometries, if any, stay WKB bytes); ``codes`` as
        in :meth:`read`."""
        path = self.path(dataset)
        if not path.exists():
            raise StoreError(
                f"Le jeu de données « {dataset} » est absent du dossier {self.root}. "
                "Lancez `make data` pour construire le stock local."
            )
        self.verify(dataset)
        try:
            return pd.read_parquet(path, columns=columns, **_code_filter(path, codes))
        except Exception as exc:
            self._raise_if_damaged(dataset, exc)
            raise

    def is_fresh(self, dataset: str, input_sha256: str, builder_version: str = "1") -> bool:
        """True when the stored dataset was built from the same inputs by the same builder
        (``False`` for a damaged file, so that its builder rebuilds it)."""
        try:
            current = self.manifest(dataset)
        except CorruptDataset:
            return False
        return (
            current is not None
            and current.input_sha256 == input_sha256
            and current.builder_version == builder_version
        )


def _code_filter(path: Path, codes: Iterable[str] | None) -> dict[str, Any]:
    """``filters`` keeping the rows of ``codes`` when the file has a text ``code`` column
    (otherwise nothing: the caller filters after reading, as before)."""
    if codes is None:
        return {}
    schema = pq.read_schema(path)
    index = schema.get_field_index("code")
    if index < 0 or not (pa.types.is_string(schema.field(index).type)
                         or pa.types.is_large_string(schema.field(index).type)):
        return {}
    wanted = pa.array(sorted({str(c) for c in codes}), type=schema.field(index).type)
    return {"filters": pc.field("code").isin(wanted)}


def _embed_manifest(path: Path, manifest: Manifest) -> None:
    """Rewrite the Parquet footer with the manifest in the schema metadata."""
    table = pq.read_table(path)
    metadata = dict(table.schema.metadata or {})
    metadata[MANIFEST_KEY] = manifest.to_json().encode("utf-8")
    pq.write_table(table.replace_schema_metadata(metadata), path)

