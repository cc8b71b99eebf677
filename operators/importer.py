"""Import a member file into the registry: read, match columns, validate, locate, store.

Every data row of the file ends either imported (new or updated) or rejected with a French
reason naming the row and the field. Rejected rows are written, with their original cells, a
``ligne_source`` and a ``motif_rejet`` column, to a CSV file that can be corrected and imported
again. The database write is one transaction: a file is imported whole or not at all.

``prepare_import`` does everything but the write (the app uses it for a preview with an explicit
column mapping); ``import_file`` prepares and writes.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import itertools
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TextIO

import pandas as pd
import pyarrow

import settings
from geodata import files
from geodata.store import Store
from operators import activity
from operators.accounts import ROLE_OPERATOR, Account, authorize_import, check_writer, secrecy
from operators.cells import safe_frame
from operators.columns import ColumnMatch, match_columns
from operators.communes import CommuneIndex, carry_codes, parse_code_list
from operators.geocoding import CommuneShapes, Geocoder, GeocodeReport, geocode_sites
from operators.identity import duplicates_within, operator_id, site_id
from operators.limits import InputTooLarge, check_input, check_path, check_stream
from operators.readers import (
    DEFAULT_BLOCK_ROWS,
    RawTable,
    ReadError,
    TableStream,
    open_table,
    opener_for,
    read_table,
)
from operators.repository import ImportBatch, ImportCounts, Registry, now_iso
from operators.schema import (
    INPUT_FIELD_BY_NAME,
    REJECT_REASON_COLUMN,
    REJECT_ROW_COLUMN,
    SITE_COLUMNS,
)
from operators.validation import Defaults, reason_fr, validate

log = logging.getLogger(__name__)

AUTO = "auto"
OUTCOME_NEW = "importé"
OUTCOME_UPDATED = "mis à jour"
OUTCOME_REJECTED = "rejeté"
OUTCOME_COLUMNS = ["ligne", "issue", "site_id", "detail", "commune_code", "geocode_method",
                   "doublon_de", "signalements"]
_STATUS_LABEL = {"nouveau": OUTCOME_NEW, "modifié": OUTCOME_UPDATED, "inchangé": OUTCOME_UPDATED}
# Rejected-rows files kept per imported file name (the older ones are removed).
KEEP_REJECTS = 5


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (French message); nothing was written."""


@dataclass
class PreparedImport:
    """A file read, validated and located, not yet written."""

    file_name: str
    file_sha256: str
    raw: RawTable
    match: ColumnMatch
    sites: pd.DataFrame  # SITE_COLUMNS (without timestamps) + row_label, pos
    coverage: pd.DataFrame
    rejects: dict[int, str]  # row position -> French reason
    duplicates_within: int
    geocoding: GeocodeReport

    @property
    def rows_read(self) -> int:
        return len(self.raw)

    def rejects_frame(self) -> pd.DataFrame:
        """Rejected rows with their original cells, their source row and the reason."""
        return rejects_frame(self.raw, self.rejects)


def rejects_frame(raw: RawTable, rejects: dict[int, str]) -> pd.DataFrame:
    """Rejected rows of ``raw`` (a file or a block of it) with their original cells, their
    source row and the reason."""
    positions = sorted(rejects)
    original = [c for c in raw.frame.columns if not c.startswith("_geometrie_")]
    frame = raw.frame.iloc[positions][original].copy()
    frame = frame.drop(
        columns=[c for c in (REJECT_ROW_COLUMN, REJECT_REASON_COLUMN) if c in frame]
    )
    if raw.forced_columns:  # GeoJSON: keep the point so the row can be re-imported
        frame["longitude"] = raw.frame.iloc[positions]["_geometrie_lon"].to_numpy()
        frame["latitude"] = raw.frame.iloc[positions]["_geometrie_lat"].to_numpy()
    frame.insert(0, REJECT_ROW_COLUMN, [raw.row_labels[p] for p in positions])
    frame[REJECT_REASON_COLUMN] = [rejects[p] for p in positions]
    return frame.reset_index(drop=True)


@dataclass
class ImportResult:
    """What happened to the file and to each of its rows."""

    file_name: str
    file_sha256: str
    rows_read: int
    imported: int
    updated: int
    unchanged: int
    rejected: int
    duplicates: int
    rejects_path: Path | None
    outcomes: pd.DataFrame  # one row per data row of the file
    import_id: int | None = None
    messages: list[str] = field(default_factory=list)
    empty_rows: list[int] = field(default_factory=list)

    def summary_line(self) -> str:
        return (
            f"importés : {self.imported}, mis à jour : {self.updated}, "
            f"rejetés : {self.rejected}, doublons : {self.duplicates}"
        )


@lru_cache(maxsize=2)
def _reference(root: str, stamp: float) -> tuple[CommuneIndex, CommuneShapes]:
    store = Store(root)
    reference = CommuneIndex.from_store(store), CommuneShapes.from_store(store)
    # The Arrow buffers the outlines were read through are freed but kept by Arrow's allocator
    # (about 60 MB): hand them back, an import of 200,000 rows has a 500 MB budget.
    pyarrow.default_memory_pool().release_unused()
    return reference


def reference_for(store: Store | None = None) -> tuple[CommuneIndex, CommuneShapes]:
    """Commune lookups and outlines from the store (cached while the store is unchanged)."""
    store = store or Store()
    path = store.path("communes")
    if not path.exists():
        raise ImportFileError(
            f"Géographie de référence absente de {store.root} : lancez `make data` d'abord."
        )
    stamp = path.stat().st_mtime + store.path("cog_passage").stat().st_mtime
    return _reference(str(store.root), stamp)


def default_geocoder() -> Geocoder | None:
    """The BAN client of ``connectors.ban`` (the address search of the Base adresse nationale)."""
    from connectors.ban import BanClient

    return BanClient()


def prepare_import(
    source: Path | str | bytes,
    name: str | None = None,
    *,
    defaults: Defaults | None = None,
    mapping: dict[str, str] | None = None,
    sheet: str | None = None,
    geocoder: Geocoder | None = None,
    cache=None,
    store: Store | None = None,
    registry: Registry | None = None,
    actor: Account | None = None,
) -> PreparedImport:
    """Read, validate and locate a file (no database write).

    With ``registry``, the sites it already holds are consulted before geocoding
    (:func:`apply_stored`): ``actor``, when given, is checked against them first, and a
    stored site keeps its level when the file says nothing of it.

    The file is first checked against the bounds of :mod:`operators.limits` (size, inflated
    size of a workbook, rows, line length): beyond them it is refused before being read.
    """
    name = name or (Path(source).name if not isinstance(source, bytes) else "fichier")
    try:
        if not isinstance(source, bytes):
            check_path(source, name)
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        check_input(data, name)
    except InputTooLarge as error:
        raise ImportFileError(str(error)) from error
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        raw = read_table(data, name, sheet, frozenset(mapping or {}))
    except ReadError as error:
        raise ImportFileError(str(error)) from error
    if not len(raw):
        raise ImportFileError(
            f"Fichier « {name} » : aucune ligne de données sous l'en-tête (ligne "
            f"{raw.header_row}) : rien à importer."
        )
    explicit = {column: f for f, column in raw.forced_columns.items()}
    explicit.update(mapping or {})
    try:
        match = match_columns(list(raw.frame.columns), explicit)
    except ValueError as error:
        raise ImportFileError(str(error)) from error
    defaults = defaults or Defaults()
    _check_columns(name, raw, match, defaults)
    index, shapes = reference_for(store)
    stored = None if registry is None else StoredSites(registry.existing_sites, actor)
    block = _prepare_block(raw, match, defaults, index, shapes, _carrier(index), geocoder,
                           cache, name, sha256, first={}, stored=stored)
    return PreparedImport(
        file_name=name, file_sha256=sha256, raw=raw, match=match, sites=block.sites,
        coverage=block.coverage, rejects=block.rejects, duplicates_within=block.duplicates,
        geocoding=block.geocoding,
    )


@dataclass
class StoredSites:
    """What the registry already holds, consulted for each block before anything of it
    leaves the machine (the geocoder): ``lookup(ids)`` gives the stored sites, ``actor`` (when
    known) is checked against them first (:func:`operators.accounts.check_writer`)."""

    lookup: Callable[[list[str]], dict[str, dict[str, Any]]]
    actor: Account | None = None


def apply_stored(rows: pd.DataFrame, stored: StoredSites | None) -> pd.Series | None:
    """Check the writer and settle the confidentiality of a block's valid rows against the
    stored sites, before geocoding (issue #23).

    * the writer is refused (:class:`AccessDenied`) before any address is sent anywhere;
    * a row whose file says nothing of its confidentiality (no column, empty cell) keeps the
      stored level of its site;
    * a row whose file gives a lower level than the stored one is geocoded at the stored,
      stricter level (the address of a stored confidential site is never sent to the BAN);
      the file's level is given back afterwards, for the import's own check (lowering needs
      an explicit confirmation).

    Returns the levels to put back after geocoding (by row), None when nothing was stored.
    """
    if stored is None or rows.empty:
        return None
    records = rows.to_dict("records")
    ids = [site_id(r) for r in records]
    existing = stored.lookup(sorted(set(ids)))
    if stored.actor is not None:
        check_writer(stored.actor, pd.DataFrame({
            "site_id": ids, "operator_id": [operator_id(r["operator_name"]) for r in records],
            "operator_name": rows["operator_name"].tolist()}), existing)
    if not existing:
        return None
    levels = rows["confidentiality"].tolist()
    given = rows["confidentiality_given"].tolist() if "confidentiality_given" in rows else (
        [True] * len(rows))
    settled, for_geocoding = list(levels), list(levels)
    for i, sid in enumerate(ids):
        old = existing.get(sid)
        if old is None or old.get("confidentiality") is None:
            continue
        before = old["confidentiality"]
        if not given[i]:
            settled[i] = for_geocoding[i] = before
        elif secrecy(before) > secrecy(levels[i]):
            for_geocoding[i] = before
    rows["confidentiality"] = for_geocoding
    return pd.Series(settled, index=rows["pos"].to_numpy())


@dataclass
class _Block:
    """One block of a file validated, located and checked for repeated sites."""

    sites: pd.DataFrame
    coverage: pd.DataFrame
    rejects: dict[int, str]  # row position in the block -> French reason
    duplicates: int
    geocoding: GeocodeReport


def _carrier(index: CommuneIndex):
    """Current COG code of any code, remembered for the whole file."""
    carried: dict[str, str | None] = {}

    def carry(code: str) -> str | None:
        if code not in carried:
            mapping_, _, _ = carry_codes([code], index)
            carried[code] = mapping_.get(code)
        return carried[code]

    return carry


def _prepare_block(
    raw: RawTable, match: ColumnMatch, defaults: Defaults, index: CommuneIndex,
    shapes: CommuneShapes, carry, geocoder: Geocoder | None, cache, name: str, sha256: str,
    first: dict[str, str], carried_codes: dict[str, tuple[str | None, str | None]] | None = None,
    stored: StoredSites | None = None,
) -> _Block:
    """Validate, locate and identify the rows of ``raw`` (a whole file or one block).

    ``first`` (site id -> label of its first row) carries the sites of earlier blocks, so
    that a site repeated anywhere in the file is rejected as a duplicate.
    """
    validated = validate(raw, match, index, defaults, carried_codes=carried_codes)
    settled = apply_stored(validated.rows, stored)
    located, geo_rejects, report = geocode_sites(
        validated.rows, shapes, carry, geocoder=geocoder, cache=cache,
        learnt=getattr(cache, "pending", None),
    )
    if settled is not None and len(located):
        located["confidentiality"] = located["pos"].map(settled).fillna(
            located["confidentiality"]).to_numpy()
    del validated.rows
    sites = _site_table(located, index, name, sha256)
    del located
    duplicates = duplicates_within(sites, first)
    if duplicates:
        sites = sites[~sites["pos"].isin(list(duplicates))].reset_index(drop=True)

    rejects: dict[int, str] = {}
    for position, problems in {**validated.rejects, **geo_rejects}.items():
        rejects[position] = reason_fr(raw.row_labels[position], problems)
    for position, problem in duplicates.items():
        rejects[position] = reason_fr(raw.row_labels[position], [problem])
    return _Block(sites=sites, coverage=_coverage_table(sites, index), rejects=rejects,
                  duplicates=len(duplicates), geocoding=report)


def import_file(
    source: Path | str | bytes,
    registry: Registry | None = None,
    *,
    name: str | None = None,
    operator: str | None = None,
    network: str | None = None,
    siren: str | None = None,
    fictional: bool = False,
    mapping: dict[str, str] | None = None,
    sheet: str | None = None,
    geocoder: Geocoder | str | None = AUTO,
    actor: Account | None,
    confirm_disclosure: bool = False,
    rejects_dir: Path | None = None,
    store: Store | None = None,
    block_rows: int = DEFAULT_BLOCK_ROWS,
) -> ImportResult:
    """Import one file into the registry (all or nothing) and return what happened per row.

    The file is read, validated, located and written ``block_rows`` rows at a time, in one
    transaction: memory follows the block, not the file (a file of 200,000 rows stays under
    500 MB). A site repeated in another block is still a duplicate; every message names the
    file's own row.

    ``actor`` is the authenticated account: refused at once unless it may write
    (``operators.accounts``); its sites and confidentiality changes are checked again by the
    repository, inside the write transaction. An operator's file without an operator column
    is its own operator's.
    """
    if actor is None or not actor.can_write:
        authorize_import(actor, pd.DataFrame(columns=["site_id", "operator_id", "operator_name",
                                                      "confidentiality", "name"]), {})
    if actor.role == ROLE_OPERATOR:
        operator = operator or actor.operator_name
    registry = registry or Registry()
    user = actor.journal_name()
    started = now_iso()
    if geocoder == AUTO:
        geocoder = default_geocoder()
    defaults = Defaults(operator_name=operator, network=network, operator_siren=siren,
                        fictional=fictional)
    file_name = name or (Path(source).name if not isinstance(source, bytes) else "fichier")
    try:
        sha256, stream = _open_checked(source, file_name, sheet, mapping, block_rows)
    except ImportFileError as error:
        registry.log_failure(_failed_batch(user, file_name, _sha256(source), operator),
                             started, error)
        raise
    try:
        try:
            blocks, match, index, shapes = _start(stream, file_name, mapping, defaults, store)
        except ImportFileError as error:
            registry.log_failure(_failed_batch(user, file_name, sha256, operator), started,
                                 error)
            raise
        return _import_blocks(
            blocks, stream.head, match, index, shapes, registry, actor=actor,
            defaults=defaults, geocoder=geocoder, file_name=file_name, sha256=sha256,
            operator=operator, started=started, confirm_disclosure=confirm_disclosure,
            rejects_dir=rejects_dir,
        )
    finally:
        stream.close()


def _failed_batch(user: str, file_name: str, sha256: str, operator: str | None) -> ImportBatch:
    return ImportBatch(
        sites=pd.DataFrame(), coverage=pd.DataFrame(), imported_by=user, file_name=file_name,
        file_sha256=sha256, file_format="", rows_read=0, rejected=0, duplicates_within=0,
        operator_hint=operator,
    )


def _open_checked(
    source: Path | str | bytes, name: str, sheet: str | None, mapping: dict[str, str] | None,
    block_rows: int,
) -> tuple[str, TableStream]:
    """The file's fingerprint and its rows to come, once the bounds of
    :mod:`operators.limits` are checked (in chunks: a file on disk is never loaded whole)."""
    try:
        if not isinstance(source, bytes):
            check_path(source, name)
        with opener_for(source)() as handle:
            check_stream(handle, name)
            handle.seek(0)
            sha256 = hashlib.file_digest(handle, "sha256").hexdigest()
    except InputTooLarge as error:
        raise ImportFileError(str(error)) from error
    except OSError as error:
        raise ImportFileError(f"Fichier « {name} » illisible : {error}") from error
    try:
        return sha256, open_table(source, name, sheet, frozenset(mapping or {}), block_rows)
    except ReadError as error:
        raise ImportFileError(str(error)) from error


def _start(stream: TableStream, name: str, mapping: dict[str, str] | None, defaults: Defaults,
           store: Store | None):
    """The first block read, the columns matched and checked, the reference geography."""
    first = next(_read_blocks(stream), None)
    if first is None:
        raise ImportFileError(
            f"Fichier « {name} » : aucune ligne de données sous l'en-tête (ligne "
            f"{stream.head.header_row}) : rien à importer."
        )
    explicit = {column: f for f, column in stream.head.forced_columns.items()}
    explicit.update(mapping or {})
    try:
        match = match_columns(list(stream.head.frame.columns), explicit)
    except ValueError as error:
        raise ImportFileError(str(error)) from error
    _check_columns(name, stream.head, match, defaults)
    index, shapes = reference_for(store)
    return itertools.chain([first], _read_blocks(stream)), match, index, shapes


def _read_blocks(stream: TableStream) -> Iterator[RawTable]:
    """The blocks of ``stream``; a fault further down the file is an :class:`ImportFileError`."""
    while True:
        try:
            block = next(stream.blocks)
        except StopIteration:
            return
        except ReadError as error:
            raise ImportFileError(str(error)) from error
        yield block


def _import_blocks(
    blocks: Iterator[RawTable], head: RawTable, match: ColumnMatch, index: CommuneIndex,
    shapes: CommuneShapes, registry: Registry, *, actor: Account, defaults: Defaults,
    geocoder: Geocoder | None, file_name: str, sha256: str, operator: str | None,
    started: str, confirm_disclosure: bool, rejects_dir: Path | None,
) -> ImportResult:
    """Validate, locate and write each block in turn, in one transaction.

    What is kept for the whole file is small: the site ids seen (to reject a site repeated in
    another block), one outcome line per row, the geocoding counts. Rejected rows go to a
    temporary file as they come; it becomes the rejects file once the import succeeded.
    """
    final_rejects = _rejects_path(file_name, sha256, rejects_dir)
    batch = _failed_batch(actor.journal_name(), file_name, sha256, operator)
    batch.file_format = head.file_format
    cache = _BufferedCache(registry)
    carry = _carrier(index)
    seen: dict[str, str] = {}
    carried_codes: dict[str, tuple[str | None, str | None]] = {}
    report = GeocodeReport()
    outcomes = _Outcomes()
    rejected = duplicates = 0
    with contextlib.ExitStack() as stack:
        rejects_out: TextIO | None = None
        try:
            with registry.import_session(batch, actor, started, confirm_disclosure) as session:
                # Read in the import's transaction, with the account as stored now.
                stored = StoredSites(
                    lambda ids: registry.existing_sites(ids, session.conn), session.actor)
                for raw in blocks:
                    block = _prepare_block(raw, match, defaults, index, shapes, carry, geocoder,
                                           cache, file_name, sha256, first=seen,
                                           carried_codes=carried_codes, stored=stored)
                    if block.geocoding.geocoder_error:
                        geocoder = None  # unreachable: the next blocks are not sent either
                    report.merge(block.geocoding)
                    statuses, probable = session.write(
                        block.sites[_BATCH_COLUMNS], block.coverage,
                        activity.batch_frame(block.sites), exclude=seen,
                    )
                    if block.rejects:
                        if rejects_out is None:
                            tmp = stack.enter_context(files.temporary_path(
                                final_rejects.parent, final_rejects.name, ".en-cours"))
                            rejects_out = stack.enter_context(
                                open(tmp, "w", encoding="utf-8-sig", newline=""))
                            header = True
                        safe_frame(rejects_frame(raw, block.rejects)).to_csv(
                            rejects_out, sep=";", index=False, header=header)
                        header = False
                    outcomes.add(raw.row_labels, block.rejects, block.sites, statuses, probable)
                    rejected += len(block.rejects)
                    duplicates += block.duplicates
                session.batch.rows_read = len(head)
                session.batch.rejected = rejected
                session.batch.duplicates_within = duplicates
                session.batch.rejects_path = str(final_rejects) if rejected else None
        finally:
            cache.flush()
        counts = session.counts
        outcomes.correct(counts.corrected)
        if rejects_out is not None:
            rejects_out.close()
            files.install(tmp, final_rejects, mode=files.PRIVATE_MODE)
            _prune_rejects(final_rejects.parent, final_rejects.name.split("_rejets_")[0],
                           keep=final_rejects)
    messages = [
        f"Fichier « {file_name} » : {head.describe_fr()}.",
        match.describe_fr() + ".",
        report.summary_fr() + ".",
    ]
    messages.extend(_count_messages(counts))
    return ImportResult(
        file_name=file_name, file_sha256=sha256, rows_read=len(head), imported=counts.inserted,
        updated=counts.updated, unchanged=counts.unchanged, rejected=rejected,
        duplicates=duplicates + session.likely_duplicates,
        rejects_path=final_rejects if rejected else None,
        outcomes=outcomes.frame(), import_id=counts.import_id, messages=messages,
        empty_rows=list(head.empty_rows),
    )


_BATCH_COLUMNS = [c for c in SITE_COLUMNS if c not in ("created_at", "updated_at", "import_id")]


class _BufferedCache:
    """The registry's geocoding cache, read through; what is learnt is kept until the import
    transaction is over (the cache is written in a transaction of its own, which would wait
    for the import's)."""

    def __init__(self, cache) -> None:
        self.cache = cache
        self.pending: dict[str, dict] = {}

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        # What earlier blocks learnt is not "from the cache": geocode_sites reads it as
        # ``learnt``, as the geocoder's own answers for this file.
        return self.cache.get_many(keys)

    def put_many(self, entries: dict[str, dict]) -> None:
        self.pending.update(entries)

    def flush(self) -> None:
        if not self.pending:
            return
        try:
            self.cache.put_many(self.pending)
        except Exception as error:  # a cache: the import's own outcome matters more
            log.warning("Cache de géocodage non enregistré : %s", error)
        self.pending = {}


class _Outcomes:
    """One line per data row of the file, kept as columns of shared strings."""

    def __init__(self) -> None:
        self.columns: dict[str, list] = {c: [] for c in OUTCOME_COLUMNS}
        self._texts: dict[str, str] = {}

    def add(self, row_labels: list[str], rejects: dict[int, str], sites: pd.DataFrame,
            statuses: dict[str, str], probable: dict[str, tuple[str, str]]) -> None:
        columns, texts = self.columns, self._texts
        for row in _block_outcomes(row_labels, rejects, sites, statuses, probable):
            # Texts repeated from row to row (flags, commune codes, methods) are kept once.
            for name in ("signalements", "commune_code", "geocode_method"):
                value = row[name]
                if value is not None:
                    row[name] = texts.setdefault(value, value)
            for name in OUTCOME_COLUMNS:
                columns[name].append(row[name])

    def correct(self, corrected: dict[str, tuple[str, tuple[str, str] | None, list[str]]]) -> None:
        """Outcomes of the sites whose probable duplicate was settled at the end."""
        if not corrected:
            return
        columns = self.columns
        for i, sid in enumerate(columns["site_id"]):
            if sid not in corrected:
                continue
            status, duplicate, own = corrected[sid]
            columns["issue"][i] = _STATUS_LABEL[status]
            columns["detail"][i] = status
            columns["doublon_de"][i] = duplicate[0] if duplicate else None
            columns["signalements"][i] = " | ".join(own + ([duplicate[1]] if duplicate else []))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns, columns=OUTCOME_COLUMNS, dtype=object)


def _count_messages(counts: ImportCounts) -> list[str]:
    messages = []
    if counts.unchanged:
        messages.append(f"Sites déjà présents et inchangés : {counts.unchanged}.")
    if counts.previous_import_of_same_file:
        previous = counts.previous_import_of_same_file
        messages.append(
            f"Ce fichier (même empreinte) avait déjà été importé le {previous['started_at']} "
            f"par {previous['imported_by']} : les sites ont été mis à jour, sans doublon."
        )
    return messages


def write_prepared(
    prepared: PreparedImport,
    registry: Registry,
    *,
    actor: Account | None,
    confirm_disclosure: bool = False,
    rejects_dir: Path | None = None,
    operator: str | None = None,
    started: str | None = None,
) -> ImportResult:
    """Write a prepared file into the registry (one transaction) and its rejects file.

    ``actor`` is checked by the repository (``Registry.apply_import``) before anything is
    written; the rejects file is written only once the import succeeded.
    """
    user = actor.journal_name() if actor else "anonyme"
    rejects_path = None
    batch = ImportBatch(
        sites=prepared.sites[[c for c in SITE_COLUMNS if c not in ("created_at", "updated_at",
                                                                    "import_id")]],
        coverage=prepared.coverage,
        imported_by=user,
        file_name=prepared.file_name,
        file_sha256=prepared.file_sha256,
        file_format=prepared.raw.file_format,
        rows_read=prepared.rows_read,
        rejected=len(prepared.rejects),
        duplicates_within=prepared.duplicates_within,
        rejects_path=None,
        operator_hint=operator,
        activity=activity.batch_frame(prepared.sites),
    )
    if prepared.rejects:
        rejects_path = _rejects_path(prepared.file_name, prepared.file_sha256, rejects_dir)
        batch.rejects_path = str(rejects_path)
    counts = registry.apply_import(batch, actor, started_at=started,
                                   confirm_disclosure=confirm_disclosure)
    if rejects_path is not None:
        write_rejects(prepared, rejects_dir, path=rejects_path)
    outcomes = _outcomes(prepared, counts)
    messages = [
        f"Fichier « {prepared.file_name} » : {prepared.raw.describe_fr()}.",
        prepared.match.describe_fr() + ".",
        prepared.geocoding.summary_fr() + ".",
    ]
    messages.extend(_count_messages(counts))
    return ImportResult(
        file_name=prepared.file_name,
        file_sha256=prepared.file_sha256,
        rows_read=prepared.rows_read,
        imported=counts.inserted,
        updated=counts.updated,
        unchanged=counts.unchanged,
        rejected=len(prepared.rejects),
        duplicates=prepared.duplicates_within + len(counts.likely_duplicates),
        rejects_path=rejects_path,
        outcomes=outcomes,
        import_id=counts.import_id,
        messages=messages,
        empty_rows=list(prepared.raw.empty_rows),
    )


def _rejects_path(file_name: str, sha256: str, folder: Path | None = None) -> Path:
    folder = Path(folder) if folder else settings.data_dir() / "registre_rejets"
    stem = re.sub(r"[^\w.-]+", "_", Path(file_name).stem)[:80] or "fichier"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return folder / f"{stem}_rejets_{stamp}_{sha256[:8]}.csv"


def write_rejects(prepared: PreparedImport, folder: Path | None = None,
                  path: Path | None = None) -> Path:
    """The rejected rows as a CSV (UTF-8 with BOM, ``;``) that Excel opens and the importer
    re-reads (its ``ligne_source`` and ``motif_rejet`` columns are ignored on re-import)."""
    path = path or _rejects_path(prepared.file_name, prepared.file_sha256, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    with files.atomic_path(path, mode=files.PRIVATE_MODE) as tmp:
        safe_frame(prepared.rejects_frame()).to_csv(tmp, sep=";", index=False, encoding="utf-8-sig")
    _prune_rejects(path.parent, path.name.split("_rejets_")[0], keep=path)
    return path


def _prune_rejects(folder: Path, stem: str, keep: Path, limit: int = KEEP_REJECTS) -> None:
    """Keep the ``limit`` newest rejected-rows files of one imported file name."""
    older = sorted(folder.glob(f"{glob.escape(stem)}_rejets_*.csv"),
                   key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    for path in [p for p in older if p != keep][max(limit - 1, 0):]:
        path.unlink(missing_ok=True)


def _check_columns(name: str, raw: RawTable, match: ColumnMatch, defaults: Defaults) -> None:
    columns = ", ".join(f"« {c} »" for c in raw.frame.columns if not c.startswith("_"))
    problems = []
    if "offer_type" not in match.fields:
        problems.append("aucune colonne pour le champ « type d'offre »")
    if "operator_name" not in match.fields and not defaults.operator_name:
        problems.append(
            "aucune colonne pour le champ « opérateur » (ajoutez-en une ou donnez l'option "
            "--operator)"
        )
    if not any(f in match.fields for f in ("commune_code", "commune_name", "lon", "address",
                                           "coverage_communes", "coverage_epci")):
        problems.append(
            "aucune colonne pour situer les sites (code commune, commune, coordonnées ou adresse)"
        )
    if problems:
        raise ImportFileError(
            f"Fichier « {name} » : " + " ; ".join(problems) + f". Colonnes lues : {columns}. "
            "Vous pouvez indiquer la correspondance des colonnes (--colonne "
            "\"Nom de colonne=champ\")."
        )


def _site_table(rows: pd.DataFrame, index: CommuneIndex, file_name: str, sha256: str):
    out = rows.copy()
    out["operator_id"] = [operator_id(n) for n in out["operator_name"]]
    codes = out["commune_code"].tolist()
    out["commune_name"] = [index.name_of(c) if isinstance(c, str) else None for c in codes]
    out["dep_code"] = [index.dep_of(c) if isinstance(c, str) else None for c in codes]
    records = out.to_dict("records")
    # Plain Python strings (not Arrow ones): the ids and row labels kept for the whole file
    # (repeated sites, outcomes) are then the same objects, not a copy made per use.
    out["site_id"] = pd.Series([site_id(r) for r in records], index=out.index, dtype=object)
    out["row_label"] = pd.Series(list(out["row_label"]), index=out.index, dtype=object)
    out["duplicate_of"] = None
    out["source_file"] = file_name
    out["source_sha256"] = sha256
    out["source_row"] = out["row_number"]
    out["opening_year"] = pd.array(out["opening_year"], dtype="Int64") if len(out) else []
    out["capacity"] = pd.to_numeric(out["capacity"], errors="coerce").astype(float)
    for column in SITE_COLUMNS:
        if column not in out:
            out[column] = None
    for column in activity.INPUT_COLUMNS:
        if column not in out:
            out[column] = None
    return out[[*SITE_COLUMNS, *activity.INPUT_COLUMNS, "pos", "row_label"]]


def _coverage_table(sites: pd.DataFrame, index: CommuneIndex) -> pd.DataFrame:
    rows = []
    for sid, communes, epci in sites[["site_id", "coverage_communes", "coverage_epci"]].itertuples(
        index=False
    ):
        codes = set(parse_code_list(communes) if isinstance(communes, str) else [])
        if isinstance(epci, str) and epci:
            codes.update(index.epci_members(epci))
        rows.extend((sid, code) for code in sorted(codes))
    return pd.DataFrame(rows, columns=["site_id", "commune_code"]).drop_duplicates()


def _outcomes(prepared: PreparedImport, counts: ImportCounts) -> pd.DataFrame:
    rows = _block_outcomes(prepared.raw.row_labels, prepared.rejects, prepared.sites,
                           counts.statuses, counts.likely_duplicates)
    return pd.DataFrame(list(rows), columns=OUTCOME_COLUMNS, dtype=object)


def _block_outcomes(
    row_labels: list[str], rejects: dict[int, str], sites: pd.DataFrame,
    statuses: dict[str, str], probable: dict[str, tuple[str, str]],
) -> Iterator[dict]:
    """One outcome per row of a file or a block, in the order of its rows."""
    by_position = {
        pos: (sid, flags, code, method, label)
        for pos, sid, flags, code, method, label in sites[
            ["pos", "site_id", "flags", "commune_code", "geocode_method", "row_label"]
        ].itertuples(index=False)
    }
    status_label = _STATUS_LABEL
    for position, row_label in enumerate(row_labels):
        if position in rejects:
            yield {
                "ligne": row_label, "issue": OUTCOME_REJECTED, "site_id": None,
                "detail": rejects[position], "commune_code": None,
                "geocode_method": None, "doublon_de": None, "signalements": "",
            }
            continue
        sid, site_flags, code, method, label = by_position[position]
        duplicate = probable.get(sid)
        flags = list(site_flags) + ([duplicate[1]] if duplicate else [])
        yield {
            "ligne": label,
            "issue": status_label[statuses[sid]],
            "site_id": sid,
            "detail": statuses[sid],
            "commune_code": code if isinstance(code, str) else None,
            "geocode_method": method,
            "doublon_de": duplicate[0] if duplicate else None,
            "signalements": " | ".join(flags),
        }


def _sha256(source: Path | str | bytes) -> str:
    """Fingerprint of a file, read in chunks (a refused huge file is not loaded whole)."""
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest()
    try:
        with open(source, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return ""


def field_labels() -> dict[str, str]:
    """Schema field → French label (for the app's column-mapping form)."""
    return {name: spec.label for name, spec in INPUT_FIELD_BY_NAME.items()}

