"""BAN geocoder (Base adresse nationale), served by the Géoplateforme.

The former ``api-adresse.data.gouv.fr`` was shut down at the end of January 2026; the service now
answers at :data:`BAN_URL` with the same GeoCodeJSON envelope. Endpoints used:

* ``GET /search`` (``q``, ``citycode``, ``postcode``, ``limit``, ``type``) and ``GET /reverse``;
* ``POST /search/csv`` (multipart: ``data`` = the CSV, ``columns`` = address columns, optional
  ``citycode`` / ``postcode`` columns), which echoes the input columns and appends ``latitude``,
  ``longitude`` and the ``result_*`` columns.

The service allows 50 requests per second (HTTP 429 above); the shared session of
:mod:`connectors.http` limits the rate and retries. Batch geocoding sends each distinct address
once, in chunks, and remembers the addresses already geocoded in a small SQLite file, so that
re-importing a list of operators does not geocode it again.
"""

from __future__ import annotations

import io
import json
import math
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests

import settings
from connectors import http

BAN_URL = "https://data.geopf.fr/geocodage"
CHUNK_ROWS = 5000
CACHE_FILE_NAME = "ban_geocode.sqlite"
RESULT_TYPES = frozenset({"housenumber", "street", "locality", "municipality"})

# Columns appended by /search/csv, in the documented order.
RESULT_COLUMNS: tuple[str, ...] = (
    "latitude", "longitude", "result_label", "result_score", "result_score_next", "result_type",
    "result_id", "result_housenumber", "result_name", "result_street", "result_postcode",
    "result_city", "result_context", "result_citycode", "result_oldcitycode", "result_oldcity",
    "result_district", "result_status",
)
NUMERIC_RESULT_COLUMNS = ("latitude", "longitude", "result_score", "result_score_next")
ROW_KEY = "_diag_row"
LICENCE = "Licence Ouverte / Etalab 2.0 (Base adresse nationale)"


class BanError(RuntimeError):
    """The geocoder could not answer, or the input is unusable (French message)."""


@dataclass(frozen=True)
class BanResult:
    """One candidate address returned by ``/search`` or ``/reverse``."""

    label: str
    score: float
    type: str
    lon: float
    lat: float
    citycode: str
    postcode: str
    city: str
    id: str
    housenumber: str = ""
    street: str = ""
    context: str = ""
    distance: float | None = None  # metres, on /reverse

    @classmethod
    def from_feature(cls, feature: dict[str, Any]) -> BanResult:
        props = feature.get("properties") or {}
        coords = (feature.get("geometry") or {}).get("coordinates") or [math.nan, math.nan]
        distance = props.get("distance")
        return cls(
            label=str(props.get("label", "")),
            score=float(props.get("score", math.nan)),
            type=str(props.get("type", "")),
            lon=float(coords[0]),
            lat=float(coords[1]),
            citycode=str(props.get("citycode", "")),
            postcode=str(props.get("postcode", "")),
            city=str(props.get("city", "")),
            id=str(props.get("id", "")),
            housenumber=str(props.get("housenumber", "")),
            street=str(props.get("street", "")),
            context=str(props.get("context", "")),
            distance=float(distance) if distance is not None else None,
        )


def parse_geocodejson(data: Any) -> list[BanResult]:
    """Candidates of a GeoCodeJSON answer (empty list when nothing was found)."""
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise BanError("Réponse du géocodeur BAN inattendue : pas de liste « features ».")
    return [BanResult.from_feature(f) for f in data["features"]]


class GeocodeCache:
    """Addresses already geocoded by the batch service, kept in SQLite."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS geocoded ("
                " key TEXT PRIMARY KEY, result TEXT NOT NULL, geocoded_at TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(keys)
        found: dict[str, dict[str, Any]] = {}
        with self._connect() as db:
            for start in range(0, len(keys), 500):
                part = keys[start : start + 500]
                marks = ",".join("?" * len(part))
                rows = db.execute(
                    f"SELECT key, result FROM geocoded WHERE key IN ({marks})", part
                ).fetchall()
                found.update({key: json.loads(result) for key, result in rows})
        return found

    def put_many(self, results: dict[str, dict[str, Any]]) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO geocoded (key, result, geocoded_at) VALUES (?, ?, ?)",
                [(k, json.dumps(v, ensure_ascii=False), now) for k, v in results.items()],
            )

    def __len__(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM geocoded").fetchone()[0])


def address_key(parts: Sequence[Any]) -> str:
    """Normalised key of an address (case, accents and spaces do not matter)."""
    text = " | ".join("" if _missing(p) else str(p) for p in parts)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(text.split())


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


class BanClient:
    """Client of the BAN geocoder.

    Parameters
    ----------
    session
        HTTP session (default: the shared cached API session).
    base_url
        Service root (default :data:`BAN_URL`).
    chunk_rows
        Rows per ``/search/csv`` request.
    cache_path
        SQLite file of already geocoded addresses; default in ``settings.cache_dir()``;
        ``use_cache=False`` disables it.
    """

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        base_url: str = BAN_URL,
        chunk_rows: int = CHUNK_ROWS,
        cache_path: Path | None = None,
        use_cache: bool = True,
    ) -> None:
        self.session = session or http.default_session()
        self.base_url = base_url.rstrip("/")
        self.chunk_rows = chunk_rows
        self.cache = (
            GeocodeCache(cache_path or settings.cache_dir() / CACHE_FILE_NAME) if use_cache else None
        )
        self.requests_sent = 0  # batch requests, for reports and tests

    # -- single queries ------------------------------------------------------------------------
    def search(
        self,
        q: str,
        citycode: str | None = None,
        postcode: str | None = None,
        limit: int = 5,
        type: str | None = None,
    ) -> list[BanResult]:
        """Candidates for a free-text address, best first."""
        query = (q or "").strip()
        if len(query) < 3 or not query[0].isalnum():
            raise BanError(
                f"Adresse à géocoder invalide : « {q} » (au moins 3 caractères, commençant par "
                "une lettre ou un chiffre)."
            )
        if type is not None and type not in RESULT_TYPES:
            raise BanError(
                f"Type de résultat BAN inconnu : « {type} » (attendu : "
                f"{', '.join(sorted(RESULT_TYPES))})."
            )
        params: dict[str, Any] = {"q": query, "limit": int(limit)}
        if citycode:
            params["citycode"] = str(citycode)
        if postcode:
            params["postcode"] = str(postcode)
        if type:
            params["type"] = type
        data = http.get_json(
            self.session, f"{self.base_url}/search", params=params,
            what=f"le géocodage BAN de « {query} »",
        )
        return parse_geocodejson(data)

    def reverse(self, lon: float, lat: float) -> list[BanResult]:
        """Addresses nearest to a WGS84 point."""
        if not (-180 <= float(lon) <= 180 and -90 <= float(lat) <= 90):
            raise BanError(f"Coordonnées invalides pour le géocodage inverse : lon={lon}, lat={lat}.")
        data = http.get_json(
            self.session, f"{self.base_url}/reverse", params={"lon": lon, "lat": lat},
            what=f"le géocodage inverse BAN du point ({lon}, {lat})",
        )
        return parse_geocodejson(data)

    # -- batch ---------------------------------------------------------------------------------
    def geocode_csv(
        self,
        frame: pd.DataFrame,
        address_columns: Sequence[str],
        citycode_column: str | None = None,
        postcode_column: str | None = None,
    ) -> pd.DataFrame:
        """Geocode every row of ``frame`` with ``/search/csv``.

        Returns
        -------
        The input rows (same index, same columns) followed by :data:`RESULT_COLUMNS`; codes stay
        strings, ``latitude``, ``longitude`` and the scores are floats. A row whose address is
        empty is not sent and gets ``result_status = "skipped"``.
        """
        address_columns = list(address_columns)
        if not address_columns:
            raise BanError("Géocodage : indiquez au moins une colonne d'adresse.")
        wanted = list(
            dict.fromkeys([*address_columns, *(c for c in (citycode_column, postcode_column) if c)])
        )
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise BanError(
                f"Géocodage : colonne(s) absente(s) du tableau : {', '.join(missing)} "
                f"(colonnes présentes : {', '.join(map(str, frame.columns))})."
            )
        if ROW_KEY in frame.columns:
            raise BanError(f"Géocodage : la colonne « {ROW_KEY} » est réservée.")

        parts = frame[wanted].astype("string")
        keys = pd.Series(
            [address_key(row) for row in parts.itertuples(index=False)], index=frame.index
        )
        blank = parts[address_columns].fillna("").apply(lambda s: s.str.strip()).eq("").all(axis=1)
        unique = pd.unique(keys[~blank])
        known = self.cache.get_many(unique) if self.cache is not None else {}
        todo = [k for k in unique if k not in known]
        first_row = parts.loc[~blank].assign(_key=keys[~blank]).drop_duplicates("_key")
        first_row = first_row.set_index("_key")
        fresh: dict[str, dict[str, Any]] = {}
        for start in range(0, len(todo), self.chunk_rows):
            chunk_keys = todo[start : start + self.chunk_rows]
            batch = first_row.loc[chunk_keys].reset_index(drop=True)
            batch.insert(0, ROW_KEY, range(len(batch)))
            answer = self._post_csv(batch, address_columns, citycode_column, postcode_column)
            chunk = {key: answer.get(i) or _error_result() for i, key in enumerate(chunk_keys)}
            if self.cache is not None:  # chunk by chunk: a later failure loses nothing
                self.cache.put_many(
                    {k: v for k, v in chunk.items() if v.get("result_status") == "ok"}
                )
            fresh.update(chunk)
        results = {**known, **fresh}
        rows = [
            _skipped_result() if is_blank else results.get(key, _error_result())
            for key, is_blank in zip(keys, blank, strict=True)
        ]
        out = pd.DataFrame(rows, index=frame.index, columns=list(RESULT_COLUMNS))
        for column in RESULT_COLUMNS:
            if column in NUMERIC_RESULT_COLUMNS:
                out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
            else:
                out[column] = out[column].astype("string")
        return pd.concat([frame, out], axis=1)

    def _post_csv(
        self,
        batch: pd.DataFrame,
        address_columns: list[str],
        citycode_column: str | None,
        postcode_column: str | None,
    ) -> dict[int, dict[str, Any]]:
        """POST one chunk; return the result columns by position in the chunk."""
        body = batch.to_csv(index=False).encode("utf-8")
        form: list[tuple[str, str]] = [("columns", c) for c in address_columns]
        if citycode_column:
            form.append(("citycode", citycode_column))
        if postcode_column:
            form.append(("postcode", postcode_column))
        url = f"{self.base_url}/search/csv"
        try:
            response = self.session.post(
                url, data=form, files={"data": ("adresses.csv", body, "text/csv")}
            )
        except requests.exceptions.RequestException as exc:
            raise BanError(
                f"Géocodage par lot BAN impossible ({len(batch)} adresses) : "
                f"{http.describe_exception(exc)}. Les adresses déjà géocodées sont conservées ; "
                "relancez plus tard."
            ) from exc
        self.requests_sent += 1
        if not response.ok:
            raise BanError(
                f"Géocodage par lot BAN refusé ({len(batch)} adresses) : "
                f"{http.describe_status(response)}. Les adresses déjà géocodées sont conservées ; "
                "relancez plus tard."
            )
        try:
            answer = pd.read_csv(
                io.BytesIO(response.content), dtype=str, keep_default_na=False, na_values=[""]
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise BanError(f"Réponse CSV du géocodeur BAN illisible ({exc}).") from exc
        if ROW_KEY not in answer.columns or "result_status" not in answer.columns:
            raise BanError(
                "Réponse CSV du géocodeur BAN inattendue : colonnes "
                f"{', '.join(answer.columns[:20])}."
            )
        present = [c for c in RESULT_COLUMNS if c in answer.columns]
        results: dict[int, dict[str, Any]] = {}
        for record in answer[[ROW_KEY, *present]].to_dict("records"):
            try:
                position = int(record.pop(ROW_KEY))
            except (TypeError, ValueError):
                continue
            results[position] = {
                k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in record.items()
            }
        return results


def _skipped_result() -> dict[str, Any]:
    return {"result_status": "skipped"}


def _error_result() -> dict[str, Any]:
    return {"result_status": "error"}


def best_match(results: list[BanResult], min_score: float = 0.0) -> BanResult | None:
    """The best candidate when its score reaches ``min_score``."""
    if not results:
        return None
    best = max(results, key=lambda r: r.score)
    return best if best.score >= min_score else None
