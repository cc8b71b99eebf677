"""Results kept on disk between server starts (the full need model takes about half a minute).

A result is stored under a *fingerprint*: a hash of everything it was computed from (the
manifests of the stored datasets, the source of the model code and its YAML settings, and the
parameters). When any of them changes the fingerprint changes and the result is recomputed; a
stale file is never read. Files are written atomically in ``settings.cache_dir() / "app"``.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import settings
from geodata import files

T = TypeVar("T")
KEEP_FILES = 3  # older results of the same kind are removed (a need model is ~40 MB)


def cache_folder() -> Path:
    folder = settings.cache_dir() / "app"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# Datasets computed from the others (their rebuild does not change the inputs).
DERIVED_PREFIXES = ("need", "besoin", "gap", "ecart")


def store_fingerprint(root: Path | None = None) -> str:
    """Hash of the manifests of the store's source and reference datasets (any rebuilt
    dataset changes it; the models' own outputs are left out)."""
    root = root or settings.data_dir()
    digest = hashlib.sha256()
    for path in sorted(root.glob("*.manifest.json")):
        if path.name.startswith(DERIVED_PREFIXES):
            continue
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def code_fingerprint(paths: Iterable[Path]) -> str:
    """Hash of source files (the model code and its settings)."""
    digest = hashlib.sha256()
    for path in sorted(set(paths)):
        if path.is_file():
            digest.update(str(path.relative_to(settings.PROJECT_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def fingerprint(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cached(kind: str, key: str, compute: Callable[[], T]) -> T:
    """The stored result ``kind``/``key``, or ``compute()`` stored for next time.

    An unreadable file (another version of a library, a truncated write) is recomputed.
    """
    path = cache_folder() / f"{kind}_{key}.pickle"
    if path.exists():
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except Exception:  # any unreadable cache is recomputed, never trusted
            path.unlink(missing_ok=True)
    value = compute()
    _write_atomic(path, value)
    _prune(kind)
    return value


def _write_atomic(path: Path, value: Any) -> None:
    with files.atomic_writer(path, "wb") as handle:
        pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _prune(kind: str) -> None:
    files = sorted(cache_folder().glob(f"{kind}_*.pickle"), key=lambda p: p.stat().st_mtime)
    for old in files[:-KEEP_FILES]:
        old.unlink(missing_ok=True)
