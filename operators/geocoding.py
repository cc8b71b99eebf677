"""Place each site on the map: given coordinates, else the BAN geocoder, else the commune.

Order of trust, for each site that is a place (services covering an area get no point):

1. Coordinates given in the file, kept when they fall inside the stated commune (within a
   tolerance, since outlines are generalised). Latitude and longitude swapped are detected and
   corrected; Lambert-93 metres are converted; a point outside France or in another commune is
   set aside and said so.
2. The address, sent in one CSV batch to the BAN geocoder (an injectable object with
   ``geocode_csv``, or a callable with the same signature, e.g. ``connectors.ban.BanClient``),
   through a cache so that a re-import asks nothing twice. A result is kept when its status is
   ``ok``, its score high enough and it lies in the stated commune.
3. The commune's representative point (``rep_lon, rep_lat``), flagged as approximate.

The address of a **confidential** site never leaves the machine: step 2 is skipped for it
(neither the BAN nor its cache is asked), so it is placed by its given coordinates or at its
commune's point.

When the geocoder cannot be reached the import goes on with step 3 and the report says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

import settings
from operators.schema import (
    CONF_CONFIDENTIAL,
    GEO_AREA,
    GEO_BAN,
    GEO_CACHE,
    GEO_COMMUNE,
    GEO_GIVEN,
    GEO_LAMBERT93,
    GEO_SHORT,
    GEO_SWAPPED,
    normalize_text,
)

MIN_SCORE = 0.5
TOLERANCE_M = 250.0
# Communes the BAN splits into arrondissements: no citycode filter, the result is carried.
_SPLIT_COMMUNES = {"75056", "69123", "13055"}
RESULT_COLUMNS = (
    "latitude", "longitude", "result_label", "result_score", "result_type", "result_id",
    "result_citycode", "result_status",
)


class GeocodeCache(Protocol):
    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]: ...

    def put_many(self, entries: dict[str, dict[str, Any]]) -> None: ...


class MemoryCache:
    """A geocoding cache in a dict (tests, previews)."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return {k: self.entries[k] for k in keys if k in self.entries}

    def put_many(self, entries: dict[str, dict[str, Any]]) -> None:
        self.entries.update(entries)


Geocoder = Any  # an object with geocode_csv(...) or a callable with the same signature


@dataclass
class GeocodeReport:
    """What the geocoding step did, for the import summary."""

    methods: dict[str, int] = field(default_factory=dict)
    sent_to_geocoder: int = 0
    from_cache: int = 0
    geocoder_message: str | None = None  # French, when the geocoder failed or was absent
    not_geocoded: int = 0  # addresses left without an answer (geocoder absent or failed)
    geocoder_error: str | None = None  # why the geocoder failed

    def merge(self, other: GeocodeReport) -> None:
        """Add the report of a later block of the same file."""
        for method, count in other.methods.items():
            self.methods[method] = self.methods.get(method, 0) + count
        self.sent_to_geocoder += other.sent_to_geocoder
        self.from_cache += other.from_cache
        if other.not_geocoded:
            self.not_geocoded += other.not_geocoded
            self.geocoder_error = self.geocoder_error or other.geocoder_error
            self.geocoder_message = _not_geocoded_fr(self.not_geocoded, self.geocoder_error)

    def summary_fr(self) -> str:
        parts = [
            f"{count} {GEO_SHORT.get(method, method)}" for method, count in sorted(self.methods.items())
        ]
        text = "Localisation : " + (", ".join(parts) or "aucun site")
        if self.sent_to_geocoder or self.from_cache:
            text += (
                f" ; {self.sent_to_geocoder} adresses envoyées au géocodeur BAN, "
                f"{self.from_cache} lues dans le cache"
            )
        if self.geocoder_message:
            text += f". {self.geocoder_message}"
        return text


class CommuneShapes:
    """Commune outlines with their representative points, and a spatial index on demand."""

    def __init__(self, communes: gpd.GeoDataFrame) -> None:
        frame = communes.reset_index(drop=True)
        self.codes = frame["code"].astype(str).to_numpy()
        self.geometry = np.asarray(frame.geometry.values, dtype=object)
        self.rep = frame[["rep_lon", "rep_lat"]].to_numpy(dtype=float)
        crs = frame["metric_crs"] if "metric_crs" in frame else pd.Series(
            settings.CRS_METRIC, index=frame.index
        )
        self.metric_crs = crs.fillna(settings.CRS_METRIC).astype(str).to_numpy()
        self.position = {code: i for i, code in enumerate(self.codes)}
        self._tree: shapely.STRtree | None = None

    @classmethod
    def from_store(cls, store=None) -> CommuneShapes:
        from geodata.store import Store

        store = store or Store()
        return cls(
            store.read("communes", columns=["code", "rep_lon", "rep_lat", "metric_crs", "geometry"])
        )

    def inside(self, codes: list[str], lon: np.ndarray, lat: np.ndarray, tolerance_m: float):
        """Whether each point lies in (or within ``tolerance_m`` of) its commune."""
        result = np.zeros(len(codes), dtype=bool)
        index = np.array([self.position.get(c, -1) for c in codes])
        known = (index >= 0) & np.isfinite(lon) & np.isfinite(lat)
        if not known.any():
            return result
        geoms = self.geometry[index[known]]
        result[known] = shapely.contains_xy(geoms, lon[known], lat[known])
        near = np.flatnonzero(known & ~result)
        for i in near:
            geom = self.geometry[index[i]]
            if geom is None or shapely.is_missing(geom):
                continue
            crs = self.metric_crs[index[i]]
            result[i] = self._distance_m(geom, lon[i], lat[i], crs) <= tolerance_m
        return result

    @staticmethod
    def _distance_m(geom, lon: float, lat: float, crs: str) -> float:
        transformer = _transformer(crs)
        metric = shapely.transform(geom, lambda xy: np.column_stack(transformer.transform(
            xy[:, 0], xy[:, 1])))
        x, y = transformer.transform(lon, lat)
        return float(shapely.distance(metric, shapely.Point(x, y)))

    def commune_at(self, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
        """Code of the commune containing each point (None outside France)."""
        if self._tree is None:
            self._tree = shapely.STRtree(self.geometry)
        out: list[str | None] = [None] * len(lon)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not ok.any():
            return out
        points = shapely.points(lon[ok], lat[ok])
        hits = self._tree.query(points, predicate="intersects")
        rows = np.flatnonzero(ok)
        for point_i, geom_i in zip(hits[0], hits[1], strict=True):
            if out[rows[point_i]] is None:
                out[rows[point_i]] = str(self.codes[geom_i])
        return out

    def rep_point(self, code: str) -> tuple[float, float]:
        i = self.position[code]
        return float(self.rep[i, 0]), float(self.rep[i, 1])


_TRANSFORMERS: dict[str, Transformer] = {}


def _transformer(crs: str) -> Transformer:
    if crs not in _TRANSFORMERS:
        _TRANSFORMERS[crs] = Transformer.from_crs(settings.CRS_DISPLAY, crs, always_xy=True)
    return _TRANSFORMERS[crs]


def _from_lambert93(x: float, y: float) -> tuple[float, float]:
    key = "L93->WGS84"
    if key not in _TRANSFORMERS:
        _TRANSFORMERS[key] = Transformer.from_crs(
            settings.CRS_METRIC, settings.CRS_DISPLAY, always_xy=True
        )
    lon, lat = _TRANSFORMERS[key].transform(x, y)
    return float(lon), float(lat)


def _looks_lambert93(x: float, y: float) -> bool:
    return 50_000 <= x <= 1_300_000 and 6_000_000 <= y <= 7_200_000


def address_key(address: str, postcode: str | None, commune_code: str | None) -> str:
    """Cache key of an address (normalised text, postcode, commune)."""
    return "|".join([normalize_text(address), postcode or "", commune_code or ""])


def geocode_sites(
    rows: pd.DataFrame,
    shapes: CommuneShapes,
    carry: Callable[[str], str | None],
    geocoder: Geocoder | None = None,
    cache: GeocodeCache | None = None,
    min_score: float = MIN_SCORE,
    tolerance_m: float = TOLERANCE_M,
    learnt: dict[str, dict[str, Any]] | None = None,
) -> tuple[pd.DataFrame, dict[int, list[tuple[str, str]]], GeocodeReport]:
    """Locate validated rows.

    Parameters
    ----------
    rows
        Output of :func:`validation.validate` (``pos``, ``commune_code``, ``commune_pending``,
        ``lon_in``, ``lat_in``, ``address``, ``postcode``, ``area_based``, ``flags``…).
    shapes
        Commune outlines (:class:`CommuneShapes`).
    carry
        Current COG code of any code (a BAN ``citycode`` may be an arrondissement or a former
        commune), None when unknown.
    geocoder
        ``BanClient`` or a callable ``(frame, address_columns, citycode_column, postcode_column)``
        returning the BAN CSV batch columns; None when offline.
    learnt
        Answers the geocoder gave for earlier blocks of the same file: used as its own
        answers (not sent again, not counted as read from the cache).

    Returns
    -------
    (rows with ``lon, lat, geocode_method, geocode_score, geocode_label`` and the commune filled
    in, rejects per row position, report).
    """
    out = rows.copy()
    n = len(out)
    out["flags"] = [list(f) for f in out["flags"]]
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    method: list[str | None] = [None] * n
    score = np.full(n, np.nan)
    glabel: list[str | None] = [None] * n
    codes: list[str | None] = [c if isinstance(c, str) else None for c in out["commune_code"]]
    flags: list[list[str]] = out["flags"].tolist()
    area = np.array(out["area_based"], dtype=bool)
    report = GeocodeReport()

    for i in np.flatnonzero(area):
        method[i] = GEO_AREA

    # 1. given coordinates --------------------------------------------------------------------
    lon_in = np.array(pd.to_numeric(out["lon_in"], errors="coerce"), dtype=float)
    lat_in = np.array(pd.to_numeric(out["lat_in"], errors="coerce"), dtype=float)
    given = ~area & np.isfinite(lon_in) & np.isfinite(lat_in)
    for i in np.flatnonzero(given):
        x, y = lon_in[i], lat_in[i]
        if abs(x) > 180 or abs(y) > 180:
            if _looks_lambert93(x, y) or _looks_lambert93(y, x):
                if not _looks_lambert93(x, y):
                    x, y = y, x
                lon_in[i], lat_in[i] = _from_lambert93(x, y)
                flags[i].append("coordonnées en Lambert-93 converties en WGS84")
                method[i] = GEO_LAMBERT93
            else:
                flags[i].append(
                    f"coordonnées ({x:g}, {y:g}) hors de toute plage (ni WGS84 ni Lambert-93) : "
                    "écartées"
                )
                given[i] = False
    idx = np.flatnonzero(given)
    if len(idx):
        stated = [codes[i] or "" for i in idx]
        straight = shapes.inside(stated, lon_in[idx], lat_in[idx], tolerance_m)
        swapped = shapes.inside(stated, lat_in[idx], lon_in[idx], tolerance_m)
        misses = [k for k in range(len(idx)) if not straight[k] and not swapped[k]]
        where = dict(zip(
            misses,
            shapes.commune_at(lon_in[idx[misses]], lat_in[idx[misses]]),
            strict=True,
        )) if misses else {}
        where_swapped = dict(zip(
            misses,
            shapes.commune_at(lat_in[idx[misses]], lon_in[idx[misses]]),
            strict=True,
        )) if misses else {}
        for k, i in enumerate(idx):
            x, y = lon_in[i], lat_in[i]
            if straight[k]:
                _set(i, x, y, method[i] or GEO_GIVEN, lon, lat, method)
            elif swapped[k]:
                _set(i, y, x, GEO_SWAPPED, lon, lat, method)
                flags[i].append(f"latitude et longitude inversées, corrigées ({y:.6f}, {x:.6f})")
            elif codes[i] is None and (where[k] or where_swapped[k]):
                found = where[k] or where_swapped[k]
                if where[k]:
                    _set(i, x, y, method[i] or GEO_GIVEN, lon, lat, method)
                else:
                    _set(i, y, x, GEO_SWAPPED, lon, lat, method)
                    flags[i].append(f"latitude et longitude inversées, corrigées ({y:.6f}, {x:.6f})")
                codes[i] = found
                flags[i].append(f"commune déduite des coordonnées ({found})")
            elif where[k] or where_swapped[k]:
                found = where[k] or where_swapped[k]
                flags[i].append(
                    f"coordonnées ({x:.6f}, {y:.6f}) situées dans la commune {found}, pas dans la "
                    f"commune déclarée {codes[i]} : écartées"
                )
                method[i] = None
            else:
                flags[i].append(f"coordonnées ({x:.6f}, {y:.6f}) hors de France : écartées")
                method[i] = None

    # 2. addresses through the cache and the BAN batch -----------------------------------------
    confidential = (
        out["confidentiality"].eq(CONF_CONFIDENTIAL).tolist() if "confidentiality" in out.columns
        else [False] * n
    )
    for i in range(n):
        if confidential[i] and method[i] is None and _text(out["address"].iat[i]):
            flags[i].append("site confidentiel : adresse jamais envoyée au géocodeur, placé au "
                            "point représentatif de sa commune")
    todo = [
        i for i in range(n)
        if method[i] is None and not confidential[i]
        and isinstance(out["address"].iat[i], str) and out["address"].iat[i]
    ]
    if todo:
        keys = {
            i: address_key(out["address"].iat[i], _text(out["postcode"].iat[i]), codes[i])
            for i in todo
        }
        cached = cache.get_many(sorted(set(keys.values()))) if cache is not None else {}
        fresh: dict[str, dict[str, Any]] = {
            k: (learnt or {})[k] for k in set(keys.values()) if k in (learnt or {})
            and k not in cached
        }
        missing = [i for i in todo if keys[i] not in cached and keys[i] not in fresh]
        if missing and geocoder is None:
            report.not_geocoded = len(missing)
            report.geocoder_message = _not_geocoded_fr(len(missing), None)
        elif missing:
            answers, error = _run_geocoder(geocoder, out, missing, codes, keys)
            report.sent_to_geocoder = len({keys[i] for i in missing})
            if error:
                report.not_geocoded, report.geocoder_error = len(missing), error
                report.geocoder_message = _not_geocoded_fr(len(missing), error)
            elif answers and cache is not None:
                cache.put_many(answers)
            fresh.update(answers)
        for i in todo:
            key = keys[i]
            result = cached.get(key) or fresh.get(key)
            if result is None:
                if geocoder is not None and report.geocoder_message is None:
                    flags[i].append("adresse non trouvée par la BAN")
                continue
            if key in cached:
                report.from_cache += 1
            accepted, message, found = _check_result(
                result, codes[i], shapes, carry, min_score, tolerance_m
            )
            if not accepted:
                flags[i].append(f"géocodage BAN écarté : {message}")
                continue
            _set(i, result["longitude"], result["latitude"],
                 GEO_CACHE if key in cached else GEO_BAN, lon, lat, method)
            score[i] = result.get("result_score", np.nan)
            glabel[i] = result.get("result_label")
            if codes[i] is None:
                codes[i] = found
                flags[i].append(f"commune déduite de l'adresse géocodée ({found})")
            if result.get("result_type") == "municipality":
                flags[i].append("adresse trouvée à la commune seulement par la BAN")

    # 3. the commune's representative point, or a reject ---------------------------------------
    rejects: dict[int, list[tuple[str, str]]] = {}
    positions = out["pos"].tolist()
    errors = out["commune_error"].tolist()
    for i in range(n):
        if method[i] is not None:
            continue
        code = codes[i]
        if code is not None and code in shapes.position:
            x, y = shapes.rep_point(code)
            _set(i, x, y, GEO_COMMUNE, lon, lat, method)
            flags[i].append("placé au point représentatif de la commune (localisation approximative)")
        else:
            rejects[positions[i]] = [(
                "code commune",
                (errors[i] or "commune introuvable")
                + " ; ni les coordonnées ni l'adresse n'ont permis de la retrouver",
            )]
    out["commune_code"] = codes
    out["lon"] = lon
    out["lat"] = lat
    out["geocode_method"] = method
    out["geocode_score"] = score
    out["geocode_label"] = glabel
    out["flags"] = flags
    kept = ~out["pos"].isin(list(rejects))
    for name, count in pd.Series([m for m, k in zip(method, kept, strict=True) if k]).value_counts(
    ).items():
        report.methods[str(name)] = int(count)
    return out[kept].reset_index(drop=True), rejects, report


def _not_geocoded_fr(count: int, error: str | None) -> str:
    if error is None:
        return (f"Géocodage désactivé : {count} adresses non géocodées, sites placés au point "
                "représentatif de leur commune")
    return (f"Géocodeur BAN injoignable ({error}) : {count} adresses non géocodées, sites "
            "placés au point représentatif de leur commune")


def _set(i, x, y, how, lon, lat, method) -> None:
    lon[i], lat[i], method[i] = float(x), float(y), how


def _run_geocoder(geocoder, rows, missing, codes, keys):
    """One batch call for the distinct addresses; ({key: result}, error text or None)."""
    unique: dict[str, int] = {}
    for i in missing:
        unique.setdefault(keys[i], i)
    batch = pd.DataFrame({
        "cle": list(unique),
        "adresse": [_text(rows["address"].iat[i]) for i in unique.values()],
        "code_postal": [_text(rows["postcode"].iat[i]) for i in unique.values()],
        "commune": [_text(rows["commune_name_input"].iat[i]) for i in unique.values()],
        "code_insee": [
            "" if codes[i] in _SPLIT_COMMUNES or codes[i] is None else codes[i]
            for i in unique.values()
        ],
    })
    call = getattr(geocoder, "geocode_csv", None)
    function = call if callable(call) else geocoder
    try:
        answer = function(
            batch,
            address_columns=["adresse", "code_postal", "commune"],
            citycode_column="code_insee",
            postcode_column=None,
        )
    except Exception as error:  # offline, timeout, server error: fall back, never fail the import
        return {}, f"{type(error).__name__} : {str(error)[:160]}"
    if answer is None or len(answer) != len(batch):
        return {}, "réponse du géocodeur incomplète"
    answer = answer.reset_index(drop=True)
    if "cle" in answer.columns:
        answer = answer.set_index("cle").reindex(batch["cle"]).reset_index()
    results: dict[str, dict[str, Any]] = {}
    for k, key in enumerate(batch["cle"]):
        row = answer.iloc[k]
        entry = {column: _plain(row.get(column)) for column in RESULT_COLUMNS}
        if entry["result_status"] == "ok":
            results[key] = entry
    return results, None


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _plain(value):
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _check_result(result, code, shapes, carry, min_score, tolerance_m):
    """(accepted, reason if not, commune found)."""
    try:
        x, y = float(result["longitude"]), float(result["latitude"])
        s = float(result.get("result_score") or 0.0)
    except (TypeError, ValueError):
        return False, "coordonnées absentes de la réponse", None
    if not (math.isfinite(x) and math.isfinite(y)):
        return False, "coordonnées absentes de la réponse", None
    if s < min_score:
        return False, f"score {s:.2f} inférieur au seuil {min_score:.2f}", None
    city = result.get("result_citycode")
    found = carry(str(city)) if city else None
    if code is not None:
        if found == code:
            return True, None, found
        if shapes.inside([code], np.array([x]), np.array([y]), tolerance_m)[0]:
            return True, None, code
        return False, f"résultat dans une autre commune ({city})", found
    if found is None:
        found = shapes.commune_at(np.array([x]), np.array([y]))[0]
    if found is None:
        return False, "résultat hors de France", None
    return True, None, found
