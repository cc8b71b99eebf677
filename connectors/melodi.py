"""INSEE Melodi API: statistical datasets as tidy tables.

INSEE's former « données locales » API is no longer updated; Melodi (no key, about 30 requests
per minute) serves the newest editions (``DS_FILOSOFI_CC``, ``DS_RP_LOGEMENT_PRINC``…).

``GET /data/{DS}?<dimension>=<code>&...`` answers a JSON page of observations::

    {"identifier": "DS_…", "title": {"fr": …}, "observations": [
        {"dimensions": {"GEO": "2025-COM-44109", "FREQ": "A", "TIME_PERIOD": "2023", …},
         "measures": {"OBS_VALUE_NIVEAU": {"value": 327734.0}},
         "attributes": {"OBS_STATUS": "A", "CONF_STATUS": "F"}}, …],
     "paging": {"first": …, "next": …, "count": …}}

A first call with ``totalCount=TRUE&maxResult=0`` gives the number of observations; the data
call then follows ``paging.next`` until the last page. Observations are flattened into one row
per observation and measure: one column per dimension (codes as strings), ``GEO`` split into
``geo_vintage``, ``geo_level`` and ``geo_code``, the measure's name in ``measure`` and its value
as a float in ``OBS_VALUE`` (missing — e.g. secret — stays missing, never zero).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
import requests

from connectors import http

log = logging.getLogger(__name__)

MELODI_URL = "https://api.insee.fr/melodi"
MAX_RESULT = 100_000
MAX_PAGES = 1_000  # a guard against a paging loop
LICENCE = "Licence Ouverte / Etalab 2.0"


class MelodiError(RuntimeError):
    """A Melodi dataset could not be read (French message naming the dataset)."""

    def __init__(self, message: str, dataset: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.dataset = dataset
        self.status = status


def split_geo(values: pd.Series) -> pd.DataFrame:
    """Split ``"2025-COM-44109"`` into ``geo_vintage``, ``geo_level``, ``geo_code`` (strings)."""
    parts = values.astype("string").str.split("-", n=2, expand=True)
    parts = parts.reindex(columns=range(3))
    parts.columns = ["geo_vintage", "geo_level", "geo_code"]
    return parts.astype("string")


def observations_to_frame(observations: list[dict[str, Any]]) -> pd.DataFrame:
    """Tidy table of Melodi observations (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    for observation in observations:
        dimensions = {k: _code(v) for k, v in (observation.get("dimensions") or {}).items()}
        attributes = {k: _code(v) for k, v in (observation.get("attributes") or {}).items()}
        measures = observation.get("measures") or {}
        if not measures:
            rows.append({**dimensions, **attributes, "measure": pd.NA, "OBS_VALUE": np.nan})
        for name, measure in measures.items():
            value = measure.get("value") if isinstance(measure, dict) else measure
            rows.append(
                {**dimensions, **attributes, "measure": name, "OBS_VALUE": _number(value)}
            )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(
            {
                "geo_vintage": pd.Series(dtype="string"),
                "geo_level": pd.Series(dtype="string"),
                "geo_code": pd.Series(dtype="string"),
                "measure": pd.Series(dtype="string"),
                "OBS_VALUE": pd.Series(dtype=float),
            }
        )
    value = frame.pop("OBS_VALUE").astype(float)
    for column in frame.columns:
        frame[column] = frame[column].astype("string")
    if "GEO" in frame.columns:
        geo = split_geo(frame.pop("GEO"))
        frame = pd.concat([geo, frame], axis=1)
    frame["OBS_VALUE"] = value
    return frame


def _code(value: Any) -> Any:
    return pd.NA if value is None else str(value)


def _number(value: Any) -> float:
    if value is None or value == "":
        return np.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


class MelodiClient:
    """Client of the Melodi API (shared cached session by default)."""

    def __init__(
        self, session: requests.Session | None = None, *, base_url: str = MELODI_URL
    ) -> None:
        self.session = session or http.default_session()
        self.base_url = base_url.rstrip("/")

    def _get(self, url: str, params: dict[str, Any] | None, dataset: str) -> dict[str, Any]:
        try:
            response = self.session.get(url, params=params)
        except requests.exceptions.RequestException as exc:
            raise MelodiError(
                f"Jeu INSEE Melodi « {dataset} » inaccessible : {http.describe_exception(exc)}.",
                dataset=dataset,
            ) from exc
        if response.status_code == 404:
            raise MelodiError(
                f"Jeu INSEE Melodi « {dataset} » introuvable (404) : vérifiez son identifiant "
                "dans le catalogue Melodi (MelodiClient.catalog()).",
                dataset=dataset,
                status=404,
            )
        if response.status_code >= 500:
            # Melodi answers 500, not 404, for an unknown dataset.
            raise MelodiError(
                f"Jeu INSEE Melodi « {dataset} » : {http.describe_status(response)}. Si l'erreur "
                "persiste, vérifiez que ce jeu existe dans le catalogue Melodi "
                "(MelodiClient.catalog()) et que les filtres sont valides.",
                dataset=dataset,
                status=response.status_code,
            )
        if not response.ok:
            raise MelodiError(
                f"Jeu INSEE Melodi « {dataset} » : {http.describe_status(response)} "
                f"({response.url}).",
                dataset=dataset,
                status=response.status_code,
            )
        try:
            data = response.json()
        except ValueError as exc:
            raise MelodiError(
                f"Jeu INSEE Melodi « {dataset} » : réponse JSON invalide ({exc}).", dataset=dataset
            ) from exc
        if not isinstance(data, dict):
            raise MelodiError(f"Jeu INSEE Melodi « {dataset} » : réponse inattendue.", dataset=dataset)
        return data

    def count(self, dataset: str, **filters: str) -> int:
        """Number of observations matching ``filters`` (``totalCount=TRUE&maxResult=0``)."""
        data = self._get(
            f"{self.base_url}/data/{dataset}",
            {**_filters(filters), "totalCount": "TRUE", "maxResult": 0},
            dataset,
        )
        count = (data.get("paging") or {}).get("count")
        if count is None:
            raise MelodiError(
                f"Jeu INSEE Melodi « {dataset} » : le nombre d'observations n'est pas indiqué.",
                dataset=dataset,
            )
        return int(count)

    def data(self, dataset: str, *, max_result: int = MAX_RESULT, **filters: str) -> pd.DataFrame:
        """All observations of ``dataset`` matching ``filters``, as a tidy table.

        Parameters
        ----------
        dataset
            Melodi identifier, e.g. ``"DS_POPULATIONS_REFERENCE"``.
        max_result
            Observations per page.
        filters
            Dimension filters, e.g. ``GEO="COM-44109"``, ``GEO="EPCI-244400404*COM"`` (every
            commune of an EPCI), ``FREQ="A"``, ``POPREF_MEASURE="PMUN"``.

        Returns
        -------
        Tidy table; ``frame.attrs`` holds ``dataset``, ``title``, ``count`` and ``source``.
        """
        total = self.count(dataset, **filters)
        if total == 0:
            frame = observations_to_frame([])
            frame.attrs.update(dataset=dataset, title="", count=0, source=self.source(dataset))
            return frame
        url: str | None = f"{self.base_url}/data/{dataset}"
        params: dict[str, Any] | None = {
            **_filters(filters), "idTerritoire": "TRUE", "maxResult": int(max_result)
        }
        observations: list[dict[str, Any]] = []
        title = ""
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            if url is None:
                break
            page = self._get(url, params, dataset)
            title = title or _title_fr(page.get("title"))
            observations.extend(page.get("observations") or [])
            next_url = (page.get("paging") or {}).get("next")
            if not next_url or next_url in seen:
                url = None
            else:
                seen.add(next_url)
                url, params = next_url, None  # the next link carries every parameter
        if len(observations) != total:
            log.warning(
                "Melodi %s : %d observations reçues pour %d annoncées", dataset, len(observations),
                total,
            )
        frame = observations_to_frame(observations)
        frame.attrs.update(dataset=dataset, title=title, count=total, source=self.source(dataset))
        return frame

    def catalog(self) -> pd.DataFrame:
        """Datasets of the Melodi catalogue (``/catalog/all``): one row each."""
        data = self._get_list(f"{self.base_url}/catalog/all")
        rows = []
        for item in data:
            rows.append(
                {
                    "identifier": str(item.get("identifier", "")),
                    "title": _title_fr(item.get("title")),
                    "subtitle": _title_fr(item.get("subtitle")),
                    "issued": item.get("issued"),
                    "modified": item.get("modified"),
                    "num_observations": item.get("numObservations"),
                    "spatial_levels": ",".join(
                        str(level.get("id")) for level in item.get("spatialResolution") or []
                        if isinstance(level, dict)
                    ),
                }
            )
        frame = pd.DataFrame(rows)
        for column in ("identifier", "title", "subtitle", "spatial_levels"):
            if column in frame:
                frame[column] = frame[column].astype("string")
        for column in ("issued", "modified"):
            if column in frame:
                frame[column] = pd.to_datetime(frame[column], errors="coerce")
        if "num_observations" in frame:
            frame["num_observations"] = pd.to_numeric(frame["num_observations"]).astype("Int64")
        return frame

    def _get_list(self, url: str) -> list[dict[str, Any]]:
        data = http.get_json(self.session, url, what="le catalogue INSEE Melodi")
        if not isinstance(data, list):
            raise MelodiError("Catalogue INSEE Melodi : réponse inattendue (liste attendue).")
        return [item for item in data if isinstance(item, dict)]

    def source(self, dataset: str) -> str:
        """Citation of a Melodi dataset."""
        return f"INSEE, API Melodi, jeu {dataset} ({self.base_url}/data/{dataset}) — {LICENCE}"


def _filters(filters: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in filters.items() if v is not None}


def _title_fr(value: Any) -> str:
    """French text of a Melodi label (``{"fr": …}`` or ``[{"lang": "fr", "content": …}]``)."""
    if isinstance(value, dict):
        return str(value.get("fr") or value.get("en") or "")
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item.get("lang") == "fr":
                return str(item.get("content", ""))
    return "" if value is None else str(value)
