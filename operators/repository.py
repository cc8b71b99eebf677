"""The registry database behind a small repository interface (SQLAlchemy Core).

* SQLite by default: one file ``registre.gpkg`` in the data folder, WAL journal, a busy timeout
  and ``BEGIN IMMEDIATE`` write transactions, so that two imports at once queue rather than
  corrupt each other. The file is a valid GeoPackage (sites as a point layer).
* PostgreSQL/PostGIS when ``DATABASE_URL`` is set (``postgresql://…``): the same tables, the
  point in a ``geometry(Point, 4326)`` column, imports serialised by an advisory lock.

An import is one transaction: all its sites, coverage rows, operators and its log entry are
written together or not at all. A failed import is logged in a transaction of its own.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.types import UserDefinedType

import settings
from operators import activity as activity_mod
from operators import gpkg
from operators import publics as publics_mod
from operators import snapshots as snapshots_mod
from operators.accounts import (
    Account,
    accounts_table,
    check_writer,
    disclosure_notes,
    fresh_actor,
    login_failures_table,
    lowered_confidentiality,
    visible_import_log,
)
from operators.identity import likely_duplicates
from operators.registry_api import now_iso
from operators.schema import SITE_COLUMNS, STATUS_CLOSED

DEFAULT_FILE_NAME = "registre.gpkg"
_ADVISORY_LOCK = 7_318_204_551  # any constant: "the registry import lock"
_CHUNK = 500
_WRITE_BLOCK = 5_000

# Columns compared to decide whether a re-imported site changed.
_TRACKED = [
    c for c in SITE_COLUMNS
    if c not in ("site_id", "created_at", "updated_at", "import_id", "source_file",
                 "source_sha256", "source_row")
]
_UNTRACKED = [c for c in SITE_COLUMNS if c not in _TRACKED]
_FLOAT = {"lon", "lat", "geocode_score", "capacity"}
_INT = {"opening_year", "source_row", "import_id"}
_BOOL = {"fictional"}


class RegistryError(RuntimeError):
    """The registry database cannot be opened or written (French message)."""


class _GpkgPoint(UserDefinedType):
    """A GeoPackage point column (bytes already encoded by :func:`gpkg.point_blobs`)."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "POINT"


class _PostgisPoint(UserDefinedType):
    """A PostGIS point column, written from WKB bytes."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "geometry(Point,4326)"

    def bind_expression(self, bindvalue):
        return sa.func.ST_GeomFromWKB(bindvalue, 4326)


def _site_column(name: str) -> sa.Column:
    if name in _FLOAT:
        return sa.Column(name, sa.Float)
    if name in _INT:
        return sa.Column(name, sa.Integer)
    if name in _BOOL:
        return sa.Column(name, sa.Boolean, nullable=False, default=False)
    return sa.Column(name, sa.Text)


def build_tables(dialect: str) -> tuple[sa.MetaData, dict[str, sa.Table]]:
    metadata = sa.MetaData()
    point = _PostgisPoint() if dialect == "postgresql" else _GpkgPoint()
    operators = sa.Table(
        "operators", metadata,
        sa.Column("operator_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("network", sa.Text),
        sa.Column("siren", sa.Text),
        sa.Column("created_at", sa.Text),
        sa.Column("updated_at", sa.Text),
    )
    sites = sa.Table(
        "sites", metadata,
        sa.Column("fid", sa.Integer, primary_key=True, autoincrement=True),
        *[
            sa.Column("site_id", sa.Text, nullable=False, unique=True) if c == "site_id"
            else _site_column(c)
            for c in SITE_COLUMNS
        ],
        sa.Column("geom", point),
    )
    coverage = sa.Table(
        "site_coverage", metadata,
        sa.Column("site_id", sa.Text, primary_key=True),
        sa.Column("commune_code", sa.Text, primary_key=True),
    )
    imports = sa.Table(
        "imports", metadata,
        sa.Column("import_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("imported_by", sa.Text),
        sa.Column("started_at", sa.Text),
        sa.Column("finished_at", sa.Text),
        sa.Column("file_name", sa.Text),
        sa.Column("file_sha256", sa.Text),
        sa.Column("file_format", sa.Text),
        sa.Column("operator_hint", sa.Text),
        sa.Column("rows_read", sa.Integer),
        sa.Column("imported", sa.Integer),
        sa.Column("updated", sa.Integer),
        sa.Column("unchanged", sa.Integer),
        sa.Column("rejected", sa.Integer),
        sa.Column("duplicates", sa.Integer),
        sa.Column("rejects_path", sa.Text),
        sa.Column("status", sa.Text),
        sa.Column("message", sa.Text),
    )
    cache = sa.Table(
        "geocode_cache", metadata,
        sa.Column("cache_key", sa.Text, primary_key=True),
        sa.Column("longitude", sa.Float),
        sa.Column("latitude", sa.Float),
        sa.Column("result_label", sa.Text),
        sa.Column("result_score", sa.Float),
        sa.Column("result_type", sa.Text),
        sa.Column("result_id", sa.Text),
        sa.Column("result_citycode", sa.Text),
        sa.Column("result_status", sa.Text),
        sa.Column("fetched_at", sa.Text),
    )
    accounts = accounts_table(metadata)
    login_failures = login_failures_table(metadata)
    sa.Index("ix_sites_commune", sites.c.commune_code)
    sa.Index("ix_coverage_commune", coverage.c.commune_code)
    return metadata, {
        "operators": operators, "sites": sites, "site_coverage": coverage, "imports": imports,
        "geocode_cache": cache, "accounts": accounts, "login_failures": login_failures,
        activity_mod.TABLE: activity_mod.define_table(metadata),
        **snapshots_mod.define_tables(metadata),
    }


def default_url() -> str:
    """``DATABASE_URL`` when set, else the SQLite/GeoPackage file in the data folder."""
    url = settings.database_url()
    if url:
        return url
    return f"sqlite:///{settings.data_dir() / DEFAULT_FILE_NAME}"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given without a driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass
class ImportBatch:
    """What one file brings, ready to be written."""

    sites: pd.DataFrame  # SITE_COLUMNS except created_at, updated_at, import_id
    coverage: pd.DataFrame  # site_id, commune_code
    imported_by: str
    file_name: str
    file_sha256: str
    file_format: str
    rows_read: int
    rejected: int
    duplicates_within: int
    rejects_path: str | None = None
    operator_hint: str | None = None
    activity: pd.DataFrame | None = None  # site_id, activity_year, values (operators.activity)


@dataclass
class ImportCounts:
    import_id: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    likely_duplicates: dict[str, tuple[str, str]] = field(default_factory=dict)
    statuses: dict[str, str] = field(default_factory=dict)  # site_id -> nouveau/modifié/inchangé
    previous_import_of_same_file: dict[str, Any] | None = None
    # Sites of a file written in blocks whose probable duplicate, or status, was settled once
    # the whole file was seen: site_id -> (status, (duplicate id, note) or None, own flags)
    corrected: dict[str, tuple[str, tuple[str, str] | None, list[str]]] = field(
        default_factory=dict)


class Registry:
    """The operators' sites, their coverage, the import log and the geocoding cache."""

    def __init__(self, url: str | Path | None = None, echo: bool = False) -> None:
        if isinstance(url, Path):
            url = f"sqlite:///{url}"
        self.url = normalize_url(url or default_url())
        self.dialect = sa.engine.make_url(self.url).get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise RegistryError(
                f"Base du registre : « {self.dialect} » non prise en charge (SQLite ou PostgreSQL)."
            )
        if self.dialect == "sqlite":
            database = sa.engine.make_url(self.url).database
            if database and database != ":memory:":
                _private_file(Path(database))
            self.engine = sa.create_engine(
                self.url, echo=echo, connect_args={"timeout": 120}, poolclass=sa.pool.NullPool
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = sa.create_engine(self.url, echo=echo, pool_pre_ping=True)
        self.metadata, self.tables = build_tables(self.dialect)
        self.ensure_schema()

    @property
    def path(self) -> Path | None:
        """The SQLite/GeoPackage file, None on PostgreSQL."""
        if self.dialect != "sqlite":
            return None
        return Path(sa.engine.make_url(self.url).database)

    def describe_fr(self) -> str:
        if self.dialect == "sqlite":
            return f"registre SQLite/GeoPackage {self.path}"
        safe = sa.engine.make_url(self.url).render_as_string(hide_password=True)
        return f"registre PostgreSQL/PostGIS {safe}"

    def dispose(self) -> None:
        self.engine.dispose()

    # -- transactions --------------------------------------------------------------------------
    @contextmanager
    def write_transaction(self) -> Iterator[sa.Connection]:
        """One write transaction, serialised with every other writer of the registry."""
        connection = self.engine.connect()  # an unreachable base is said by the caller
        try:
            with connection as conn:
                conn.execution_options(registry_write=True)
                with conn.begin():
                    if self.dialect == "postgresql":
                        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                                     {"k": _ADVISORY_LOCK})
                    yield conn
        except sa.exc.DBAPIError as error:
            # Never the SQL statement nor its parameters (rows of sites): the database's own
            # reason only, in a French sentence (a full disk, a lost server…).
            raise RegistryError(self.write_error_fr(error)) from None

    def write_error_fr(self, error: sa.exc.DBAPIError) -> str:
        """French sentence for a failed write, without the statement or its data."""
        reason = " ".join(str(error.orig).split())[:200] if error.orig is not None else ""
        full = any(w in reason.lower() for w in ("disk is full", "no space", "disk full",
                                                 "could not extend", "espace"))
        what = ("le disque est plein (libérez de la place, puis recommencez)" if full
                else "la base a refusé l'écriture")
        return (f"Écriture impossible dans le {self.describe_fr()} : {what} ; rien n'a été "
                f"écrit (raison donnée par la base : {reason or type(error).__name__}).")

    def schema_is_current(self) -> bool:
        """Whether every table and site column of this version is already there (read only:
        opening a current registry to read it — a report, a bilan — writes nothing to it)."""
        try:
            with self.engine.connect() as conn:
                if self.dialect == "sqlite":
                    version = conn.exec_driver_sql("PRAGMA user_version").scalar()
                    application = conn.exec_driver_sql("PRAGMA application_id").scalar()
                    if version != gpkg.USER_VERSION or application != gpkg.APPLICATION_ID:
                        return False
                inspector = sa.inspect(conn)
                tables = set(inspector.get_table_names())
                if not set(self.metadata.tables) <= tables:
                    return False
                # The column names only (reflecting their types warns on PostGIS geometry).
                present = set(conn.exec_driver_sql("SELECT * FROM sites LIMIT 0").keys())
                return all(c in present for c in SITE_COLUMNS)
        except sa.exc.SQLAlchemyError:
            return False

    def ensure_schema(self) -> None:
        if self.schema_is_current():
            return
        try:
            with self.write_transaction() as conn:
                if self.dialect == "postgresql":
                    conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
                else:
                    for ddl in gpkg.METADATA_DDL:
                        conn.exec_driver_sql(ddl)
                    conn.exec_driver_sql(f"PRAGMA application_id = {gpkg.APPLICATION_ID}")
                    conn.exec_driver_sql(f"PRAGMA user_version = {gpkg.USER_VERSION}")
                    for row in gpkg.SRS_ROWS:
                        conn.exec_driver_sql(
                            "INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
                            row,
                        )
                self.metadata.create_all(conn)
                self._add_missing_site_columns(conn)
                if self.dialect == "sqlite":
                    statements = gpkg.register_statements(
                        {"sites": "Sites des opérateurs (registre de l'offre)"},
                        {
                            "operators": "Opérateurs", "site_coverage": "Communes couvertes",
                            "imports": "Journal des imports",
                            "geocode_cache": "Cache du géocodage BAN",
                            activity_mod.TABLE: "Activité annuelle des sites",
                            snapshots_mod.SNAPSHOTS: "Instantanés datés du registre",
                            snapshots_mod.SNAPSHOT_SITES: "Sites de chaque instantané",
                            "accounts": "Comptes (mots de passe hachés Argon2id)",
                            "login_failures": "Essais de connexion infructueux",
                        },
                    )
                    for sql, params in statements:
                        conn.execute(sa.text(sql), params)
        except sa.exc.OperationalError as error:
            raise RegistryError(
                f"Impossible d'ouvrir le {self.describe_fr()} : {error.orig}"
            ) from error
        except sa.exc.SQLAlchemyError as error:
            hint = ""
            if self.dialect == "postgresql" and "postgis" in str(error).lower():
                hint = (
                    " L'extension PostGIS est-elle installée sur le serveur (paquet Debian "
                    "postgresql-15-postgis-3) ?"
                )
            raise RegistryError(
                f"Impossible de préparer le {self.describe_fr()} : {error}.{hint}"
            ) from error

    def _add_missing_site_columns(self, conn: sa.Connection) -> None:
        """A registry made by an older version gains the new site columns (empty), and the
        publics of its sites are read from their free text (``operators.publics``)."""
        present = set(conn.exec_driver_sql("SELECT * FROM sites LIMIT 0").keys())
        missing = [c for c in SITE_COLUMNS if c not in present]
        for name in missing:
            column = _site_column(name)
            kind = column.type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f'ALTER TABLE sites ADD COLUMN "{name}" {kind}')
        if "publics" in missing:
            table = self.tables["sites"]
            rows = conn.execute(
                sa.select(table.c.site_id, table.c.public).where(table.c.public.is_not(None))
            ).all()
            updates = [
                {"b_site_id": sid, "publics": publics_mod.parse_publics(text).text}
                for sid, text in rows
            ]
            if updates:
                conn.execute(
                    table.update().where(table.c.site_id == sa.bindparam("b_site_id"))
                    .values(publics=sa.bindparam("publics")),
                    updates,
                )

    # -- import ----------------------------------------------------------------------------------
    def apply_import(
        self,
        batch: ImportBatch,
        actor: Account | None,
        started_at: str | None = None,
        confirm_disclosure: bool = False,
    ) -> ImportCounts:
        """Write a file's sites in one transaction and log it; nothing is written on error.

        ``actor`` is checked here, inside the transaction, against the sites already stored
        (``operators.accounts``): the app and the command line cannot differ. The log records
        ``actor``, never the server's OS user.
        """
        with self.import_session(batch, actor, started_at, confirm_disclosure) as session:
            statuses, duplicates = session.write(
                batch.sites, batch.coverage, batch.activity, exclude=set(batch.sites["site_id"]))
        counts = session.counts
        counts.statuses, counts.likely_duplicates = statuses, duplicates
        return counts

    @contextmanager
    def import_session(
        self,
        batch: ImportBatch,
        actor: Account | None,
        started_at: str | None = None,
        confirm_disclosure: bool = False,
    ) -> Iterator[ImportSession]:
        """One import written block by block (:meth:`ImportSession.write`), in one transaction.

        ``batch`` gives the file (its ``sites`` are not used); its counts (``rows_read``,
        ``rejected``, ``duplicates_within``, ``rejects_path``) may be filled in, on
        ``session.batch``, until the block ends. Every block's writer is checked against the
        sites it overwrites; confidentiality lowered anywhere in the file is refused at the end
        unless ``confirm_disclosure``. On any error nothing is written and the failure is
        logged.
        """
        started_at = started_at or now_iso()
        batch = replace(batch, imported_by=actor.journal_name() if actor else "anonyme")
        try:
            with self.write_transaction() as conn:
                session = ImportSession(self, conn, batch, actor, confirm_disclosure,
                                        started_at)
                yield session
                session.finish()
        except Exception as error:
            self.log_failure(batch, started_at, error)
            raise

    def log_failure(self, batch: ImportBatch, started_at: str, error: BaseException) -> None:
        """Record a failed import in its own transaction (best effort)."""
        try:
            with self.write_transaction() as conn:
                self._insert_log(
                    conn, batch, started_at, status="échoué",
                    message=f"{type(error).__name__} : {str(error)[:500]}",
                )
        except Exception:  # the database itself is unreachable: the caller reports the error
            pass

    def _insert_log(self, conn, batch: ImportBatch, started_at: str, status: str,
                    message: str | None = None) -> int:
        table = self.tables["imports"]
        result = conn.execute(
            table.insert().values(
                imported_by=batch.imported_by, started_at=started_at, finished_at=now_iso(),
                file_name=batch.file_name, file_sha256=batch.file_sha256,
                file_format=batch.file_format, operator_hint=batch.operator_hint,
                rows_read=batch.rows_read, imported=0, updated=0, unchanged=0,
                rejected=batch.rejected, duplicates=batch.duplicates_within,
                rejects_path=batch.rejects_path, status=status, message=message,
            ).returning(table.c.import_id)
        )
        return int(result.scalar_one())

    def _previous_import(self, conn, sha256: str) -> dict[str, Any] | None:
        table = self.tables["imports"]
        row = conn.execute(
            sa.select(table.c.import_id, table.c.started_at, table.c.imported_by)
            .where(table.c.file_sha256 == sha256, table.c.status == "réussi")
            .order_by(table.c.import_id.desc()).limit(1)
        ).mappings().first()
        return dict(row) if row else None

    def existing_sites(self, ids: list[str],
                       conn: sa.Connection | None = None) -> dict[str, dict[str, Any]]:
        """The stored sites of ``ids`` (site id -> stored fields), read on ``conn`` (inside an
        import's transaction) or on a connection of their own."""
        if conn is not None:
            return self._existing(conn, ids)
        with self.engine.connect() as own:
            return self._existing(own, ids)

    def _existing(self, conn, ids: list[str]) -> dict[str, dict[str, Any]]:
        table = self.tables["sites"]
        columns = [table.c[c] for c in [*_TRACKED, *_UNTRACKED]]
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for row in conn.execute(sa.select(*columns).where(table.c.site_id.in_(chunk))).mappings():
                out[row["site_id"]] = dict(row)
        return out

    def _sites_in_communes(self, conn, communes: list[str],
                           skip_import: int | None = None) -> pd.DataFrame:
        """Sites of ``communes`` (those written by import ``skip_import`` left out)."""
        table = self.tables["sites"]
        wanted = ["site_id", "operator_name", "name", "address", "commune_code", "offer_family",
                  "lon", "lat", "geocode_method", "source_file"]
        rows: list[dict] = []
        for start in range(0, len(communes), _CHUNK):
            chunk = communes[start : start + _CHUNK]
            query = sa.select(*[table.c[c] for c in wanted]).where(table.c.commune_code.in_(chunk))
            if skip_import is not None:
                query = query.where(sa.or_(table.c.import_id.is_(None),
                                           table.c.import_id != skip_import))
            rows.extend(dict(r) for r in conn.execute(query).mappings())
        frame = pd.DataFrame(rows, columns=wanted)
        frame["lon"] = pd.to_numeric(frame["lon"], errors="coerce")
        frame["lat"] = pd.to_numeric(frame["lat"], errors="coerce")
        return frame

    def _write_coverage(self, conn, ids: list[str], coverage: pd.DataFrame) -> None:
        table = self.tables["site_coverage"]
        for start in range(0, len(ids), _CHUNK):
            conn.execute(table.delete().where(table.c.site_id.in_(ids[start : start + _CHUNK])))
        if len(coverage):
            conn.execute(table.insert(), coverage[["site_id", "commune_code"]].to_dict("records"))

    def _upsert_operators(self, conn, frame: pd.DataFrame, stamp: str) -> None:
        table = self.tables["operators"]
        ops = frame.drop_duplicates("operator_id")[
            ["operator_id", "operator_name", "network", "operator_siren"]
        ]
        ids = ops["operator_id"].tolist()
        known = {
            r[0] for r in conn.execute(
                sa.select(table.c.operator_id).where(table.c.operator_id.in_(ids))
            )
        } if ids else set()
        fresh = [
            {"operator_id": o, "name": n, "network": w, "siren": _none(s),
             "created_at": stamp, "updated_at": stamp}
            for o, n, w, s in ops.itertuples(index=False) if o not in known
        ]
        if fresh:
            conn.execute(table.insert(), fresh)
        for o, _, w, s in ops.itertuples(index=False):
            if o in known:
                values = {"network": w, "updated_at": stamp}
                if _none(s):
                    values["siren"] = s
                conn.execute(table.update().where(table.c.operator_id == o).values(values))

    def _geometry(self, frame: pd.DataFrame) -> list[bytes | None]:
        lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float)
        lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float)
        if self.dialect == "postgresql":
            return gpkg.point_wkb(lon, lat)
        return gpkg.point_blobs(lon, lat)

    # -- geocoding cache -------------------------------------------------------------------------
    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        table = self.tables["geocode_cache"]
        out: dict[str, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(keys), _CHUNK):
                query = sa.select(table).where(table.c.cache_key.in_(keys[start : start + _CHUNK]))
                for row in conn.execute(query).mappings():
                    entry = dict(row)
                    out[entry.pop("cache_key")] = entry
        return out

    def put_many(self, entries: dict[str, dict[str, Any]]) -> None:
        if not entries:
            return
        table = self.tables["geocode_cache"]
        stamp = now_iso()
        with self.write_transaction() as conn:
            keys = list(entries)
            for start in range(0, len(keys), _CHUNK):
                conn.execute(table.delete().where(table.c.cache_key.in_(keys[start : start + _CHUNK])))
            conn.execute(table.insert(), [
                {"cache_key": k, **{c.name: v.get(c.name) for c in table.columns
                                    if c.name not in ("cache_key", "fetched_at")},
                 "fetched_at": stamp}
                for k, v in entries.items()
            ])

    # -- reading ---------------------------------------------------------------------------------
    def sites(
        self, where: sa.ColumnElement | None = None, include_closed: bool = False
    ) -> gpd.GeoDataFrame:
        """All sites (internal view, confidential ones included) as points in WGS84.

        Closed sites (status « fermé ») stay in the registry for the dated snapshots
        (``operators.snapshots``) but are left out unless ``include_closed``.
        """
        table = self.tables["sites"]
        query = sa.select(*[table.c[c] for c in SITE_COLUMNS]).order_by(table.c.site_id)
        if where is not None:
            query = query.where(where)
        if not include_closed:
            query = query.where(sa.or_(table.c.status.is_(None), table.c.status != STATUS_CLOSED))
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=list(SITE_COLUMNS))
        for column in _FLOAT:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
        for column in ("opening_year", "source_row", "import_id"):
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("Int64")
        frame["fictional"] = frame["fictional"].fillna(False).astype(bool)
        geometry = gpd.points_from_xy(frame["lon"], frame["lat"], crs=settings.CRS_DISPLAY)
        return gpd.GeoDataFrame(frame, geometry=geometry, crs=settings.CRS_DISPLAY)

    def coverage(self) -> pd.DataFrame:
        table = self.tables["site_coverage"]
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(table).order_by(table.c.site_id, table.c.commune_code)
            ).mappings().all()
        return pd.DataFrame(rows, columns=["site_id", "commune_code"])

    def operators(self) -> pd.DataFrame:
        return self._read_table("operators", "operator_id")

    def import_log(self) -> pd.DataFrame:
        """The whole import log (administration; see :meth:`visible_import_log`)."""
        return self._read_table("imports", "import_id")

    def visible_import_log(self, actor: Account | None) -> pd.DataFrame:
        """The import log as ``actor`` may read it (others' file names and paths withheld)."""
        return visible_import_log(self.import_log(), actor)

    def _read_table(self, name: str, order: str) -> pd.DataFrame:
        table = self.tables[name]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c[order])).mappings().all()
        return pd.DataFrame(rows, columns=[c.name for c in table.columns])

    def count_sites(self) -> int:
        table = self.tables["sites"]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


class ImportSession:
    """An import under way in its write transaction (see :meth:`Registry.import_session`)."""

    def __init__(self, registry: Registry, conn: sa.Connection, batch: ImportBatch,
                 actor: Account | None, confirm_disclosure: bool, started_at: str) -> None:
        # The account as stored now, read inside the write transaction: a session opened
        # before a deactivation or a change of role cannot write with its old rights.
        actor = fresh_actor(conn, registry.tables["accounts"], actor)
        self.registry, self.conn, self.batch, self.actor = registry, conn, batch, actor
        if actor is None or not actor.can_write:  # refused before anything is read or written
            check_writer(actor, pd.DataFrame(columns=["operator_id", "operator_name"]), {})
        self.confirm_disclosure = confirm_disclosure
        self.stamp = now_iso()
        self.lowered: list[str] = []
        self.likely_duplicates = 0
        self._operators: set[str] = set()
        self._exclude: Any = ()
        # site_id -> (record written, record before, own flags, status given)
        self._flagged: dict[str, tuple[dict[str, Any], dict[str, Any] | None, list[str], str]] = {}
        self._previous = registry._previous_import(conn, batch.file_sha256)
        self.log_id = registry._insert_log(conn, batch, started_at, status="en cours")
        self.counts = ImportCounts(import_id=self.log_id,
                                   previous_import_of_same_file=self._previous)
        sites_t = registry.tables["sites"]
        self._update = (
            sites_t.update()
            .where(sites_t.c.site_id == sa.bindparam("b_site_id"))
            .values({c: sa.bindparam(c) for c in [*SITE_COLUMNS, "geom"] if c != "site_id"})
        )

    def write(
        self,
        sites: pd.DataFrame,
        coverage: pd.DataFrame,
        activity: pd.DataFrame | None,
        exclude: Collection[str] = (),
    ) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
        """Write one block of sites (with their coverage and activity rows).

        ``exclude``: site ids of the file seen so far (this block's included), never taken for
        a probable duplicate of one of its sites. Returns ``({site_id: nouveau/modifié/
        inchangé}, {site_id: (probable duplicate's id, French note)})`` for this block.
        """
        registry, conn = self.registry, self.conn
        ids = sites["site_id"].tolist()
        existing = registry._existing(conn, ids)
        check_writer(self.actor, sites, existing)
        self.lowered.extend(lowered_confidentiality(sites, existing))
        communes = sorted({c for c in sites["commune_code"] if isinstance(c, str)})
        # The file's sites written by earlier blocks are left out in the query itself (the
        # registry may hold many in these communes); those re-imported unchanged, here.
        neighbours = registry._sites_in_communes(conn, communes, skip_import=self.log_id)
        neighbours = neighbours.loc[np.array([s not in exclude for s in neighbours["site_id"]],
                                             dtype=bool)]
        duplicates = likely_duplicates(sites, neighbours)
        self.likely_duplicates += len(duplicates)
        self._exclude = exclude
        own_flags = {sid: list(f) if isinstance(f, list | tuple) else []
                     for sid, f in zip(sites["site_id"], sites["flags"], strict=True)
                     if sid in duplicates}
        frame = sites.copy()
        frame["duplicate_of"] = [duplicates.get(s, (None, None))[0] for s in frame["site_id"]]
        frame["flags"] = [
            _join_flags(f, duplicates.get(s, (None, None))[1])
            for f, s in zip(frame["flags"], frame["site_id"], strict=True)
        ]
        frame["import_id"] = self.log_id
        frame["updated_at"] = self.stamp
        statuses: dict[str, str] = {}
        counts = self.counts
        # Rows are turned into parameters and written block by block (one transaction
        # still): memory stays that of one block, not of the file.
        for start in range(0, len(frame), _WRITE_BLOCK):
            block = frame.iloc[start : start + _WRITE_BLOCK]
            new_rows, changed_rows = [], []
            for record, geom in zip(_records(block), registry._geometry(block), strict=True):
                record["geom"] = geom
                old = existing.get(record["site_id"])
                if old is None:
                    record["created_at"] = self.stamp
                    new_rows.append(record)
                    statuses[record["site_id"]] = "nouveau"
                elif _changed(old, record):
                    record["created_at"] = old["created_at"]
                    changed_rows.append(record)
                    statuses[record["site_id"]] = "modifié"
                else:
                    counts.unchanged += 1
                    statuses[record["site_id"]] = "inchangé"
                if record["site_id"] in duplicates:
                    # Its probable duplicate may be a site of a later block: settled at the end.
                    self._flagged[record["site_id"]] = (
                        record, old, own_flags[record["site_id"]], statuses[record["site_id"]])
            if new_rows:
                conn.execute(registry.tables["sites"].insert(), new_rows)
            if changed_rows:
                conn.execute(self._update, [{**r, "b_site_id": r["site_id"]}
                                            for r in changed_rows])
            counts.inserted += len(new_rows)
            counts.updated += len(changed_rows)
        registry._write_coverage(conn, ids, coverage)
        activity_mod.write(conn, registry.tables[activity_mod.TABLE], activity, self.log_id,
                           self.stamp)
        # An operator is written once per import (from its first row), as for a whole file.
        fresh = frame[~frame["operator_id"].isin(self._operators)]
        if len(fresh):
            registry._upsert_operators(conn, fresh, self.stamp)
            self._operators.update(fresh["operator_id"])
        return statuses, duplicates

    def _settle_duplicates(self) -> None:
        """Re-decide the probable duplicates that turned out to be sites of the file itself.

        A block is compared with the registry's sites not seen in the file so far; a site
        flagged as the probable duplicate of one that a later block brings is compared again,
        with every site of the file set aside, as a whole-file import would have done; its row
        and its status follow.
        """
        seen = self._exclude
        wrong = {sid: v for sid, v in self._flagged.items() if v[0]["duplicate_of"] in seen}
        self._flagged = {}
        registry, conn, counts = self.registry, self.conn, self.counts
        ids = list(wrong)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            frame = pd.DataFrame([wrong[sid][0] for sid in chunk])
            frame["lon"] = pd.to_numeric(frame["lon"], errors="coerce")
            frame["lat"] = pd.to_numeric(frame["lat"], errors="coerce")
            communes = sorted({c for c in frame["commune_code"] if isinstance(c, str)})
            neighbours = registry._sites_in_communes(conn, communes, skip_import=self.log_id)
            neighbours = neighbours.loc[np.array([s not in seen for s in neighbours["site_id"]],
                                                 dtype=bool)]
            found = likely_duplicates(frame, neighbours)
            self.likely_duplicates += len(found) - len(chunk)
            for sid in chunk:
                record, old, own, given = wrong[sid]
                duplicate = found.get(sid)
                record = {**record, "duplicate_of": duplicate[0] if duplicate else None,
                          "flags": _db_value("flags", _join_flags(
                              own, duplicate[1] if duplicate else None))}
                status = "nouveau" if old is None else (
                    "modifié" if _changed(old, record) else "inchangé")
                tally = {"nouveau": "inserted", "modifié": "updated", "inchangé": "unchanged"}
                setattr(counts, tally[given], getattr(counts, tally[given]) - 1)
                setattr(counts, tally[status], getattr(counts, tally[status]) + 1)
                if status == "inchangé":  # as it was before this import
                    record = {**record, **{k: old[k] for k in _UNTRACKED}}
                if status != "inchangé" or given != "inchangé":
                    conn.execute(self._update, [{**record, "b_site_id": sid}])
                counts.corrected[sid] = (status, duplicate, own)

    def finish(self) -> None:
        """Refuse lowered confidentiality without confirmation; settle the probable duplicates
        across blocks; complete the log entry."""
        notes = disclosure_notes(self.actor, self.lowered, self.confirm_disclosure)
        self._settle_duplicates()
        batch, counts, registry = self.batch, self.counts, self.registry
        counts.updated += counts.unchanged
        table = registry.tables["imports"]
        self.conn.execute(
            table.update().where(table.c.import_id == self.log_id).values(
                finished_at=now_iso(), imported=counts.inserted, updated=counts.updated,
                unchanged=counts.unchanged, rows_read=batch.rows_read, rejected=batch.rejected,
                file_format=batch.file_format, rejects_path=batch.rejects_path,
                duplicates=batch.duplicates_within + self.likely_duplicates,
                message=" | ".join(notes) or None, status="réussi",
            )
        )
        if registry.dialect == "sqlite":
            self.conn.exec_driver_sql(
                "UPDATE gpkg_contents SET last_change = "
                "strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = 'sites'"
            )


def _private_file(path: Path) -> None:
    """Create the registry file readable by its owner only (0600: it holds password hashes
    and confidential addresses), or narrow an existing one that others could read. SQLite
    gives its ``-wal`` and ``-shm`` files the database file's permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
    except PermissionError:  # another user's file: SQLite says whether it can be opened
        pass
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists() and extra.stat().st_mode & 0o077:
            with suppress(PermissionError):
                os.chmod(extra, 0o600)


def _configure_sqlite(engine: sa.Engine) -> None:
    """WAL, busy timeout, foreign keys; ``BEGIN IMMEDIATE`` for writes (SQLAlchemy recipe)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 120000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        if conn.get_execution_options().get("registry_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    columns = [c for c in SITE_COLUMNS if c not in ("created_at",)]
    out = []
    for values in frame.reindex(columns=columns).itertuples(index=False, name=None):
        record = {}
        for column, value in zip(columns, values, strict=True):
            record[column] = _db_value(column, value)
        out.append(record)
    return out


def _db_value(column: str, value: Any) -> Any:
    if column == "flags":
        if isinstance(value, list | tuple):
            return " | ".join(value) or None
        return _none(value)
    value = _none(value)
    if value is None:
        return None
    if column in _FLOAT:
        return float(value)
    if column in _INT:
        return int(value)
    if column in _BOOL:
        return bool(value)
    return str(value) if not isinstance(value, str) else value


def _none(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _join_flags(flags: Any, extra: str | None) -> list[str]:
    items = list(flags) if isinstance(flags, list | tuple) else ([] if flags is None else [flags])
    return [*items, extra] if extra else items


def _changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    for column in _TRACKED:
        a, b = _none(old.get(column)), new.get(column)
        if column in _FLOAT and a is not None and b is not None:
            if not np.isclose(float(a), float(b), rtol=0, atol=1e-9):
                return True
        elif column in _BOOL:
            if bool(a) != bool(b):
                return True
        elif a != b:
            return True
    return False

