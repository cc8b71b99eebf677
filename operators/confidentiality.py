"""What a public audience may see of the registry. The app, the reports and the exports all
call these functions; none of them filters the sites by itself.

Rules (see ``SCHEMA.md``):

* a **confidential** site (e.g. a shelter for women victims of violence) never appears as a
  point, an address or a name: it only counts in area totals;
* a site located **at the commune** level shows its name and commune, never its address; its
  point, when shown, is the commune's representative point;
* in public totals, any count below 3 sites is shown as « < 3 » and its capacity is hidden;
  the capacity of a total is also hidden when it holds one or two confidential sites, since the
  public sites' own capacities would otherwise reveal theirs by difference;
* internal audiences (the network's staff) see everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import settings
from operators.schema import (
    CONF_COMMUNE,
    CONF_CONFIDENTIAL,
    GEO_AREA,
    GEO_COMMUNE,
    PUBLIC_SITE_COLUMNS,
    UNIT_DWELLINGS,
    UNIT_MEASURES,
    UNIT_PLACES,
)

PUBLIC = "public"
INTERNAL = "interne"
AUDIENCES = {PUBLIC: "public (diffusion large)", INTERNAL: "interne (réseau)"}
SMALL_COUNT = 3
SMALL_LABEL = "< 3"
# Confidential sites: per-département bins of this width (1–5, 6–10 …), capacity rounded to
# the nearest CONF_CAPACITY_STEP and published only above the first bin.
CONF_BIN = 5
CONF_CAPACITY_STEP = 10
# Territory kinds made of whole départements: the only ones where confidential sites show.
FIXED_KINDS = frozenset({"dep", "reg"})
# Columns a public table may show (a safe list, not a list of columns to drop).
PUBLIC_COLUMNS = PUBLIC_SITE_COLUMNS
CAPACITY_COLUMNS = {
    UNIT_DWELLINGS: "capacite_logements",
    UNIT_PLACES: "capacite_places",
    UNIT_MEASURES: "capacite_mesures",
}


def check_audience(audience: str) -> str:
    if audience not in AUDIENCES:
        raise ValueError(
            f"Public visé « {audience} » inconnu : « {PUBLIC} » ou « {INTERNAL} » attendu."
        )
    return audience


def sites_for(
    sites: pd.DataFrame, audience: str = PUBLIC, rep_points: pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """The sites an audience may see, one row per site, as points (WGS84).

    Parameters
    ----------
    sites
        The registry's sites (``Registry.sites()``), confidential ones included.
    audience
        ``"public"`` or ``"interne"``.
    rep_points
        ``code, rep_lon, rep_lat`` of the communes: where a site located at the commune level is
        drawn for the public (no point at all when not given).
    """
    check_audience(audience)
    frame = pd.DataFrame(sites).drop(columns="geometry", errors="ignore").copy()
    if audience == INTERNAL:
        return _as_points(frame)
    frame = frame[frame["confidentiality"] != CONF_CONFIDENTIAL]
    frame = frame[[c for c in PUBLIC_COLUMNS if c in frame.columns]].copy()
    at_commune = frame["confidentiality"] == CONF_COMMUNE
    frame.loc[at_commune, ["address", "postcode"]] = None
    frame.loc[at_commune, ["lon", "lat"]] = np.nan
    if rep_points is not None and at_commune.any():
        rep = pd.DataFrame(rep_points).set_index("code")
        codes = frame.loc[at_commune, "commune_code"]
        frame.loc[at_commune, "lon"] = codes.map(rep["rep_lon"]).to_numpy(dtype=float)
        frame.loc[at_commune, "lat"] = codes.map(rep["rep_lat"]).to_numpy(dtype=float)
    frame.loc[at_commune, "geocode_method"] = GEO_COMMUNE
    return _as_points(frame.reset_index(drop=True))


def map_points(
    sites: pd.DataFrame, audience: str = PUBLIC, rep_points: pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """The points a map may draw for an audience (sites without a point left out)."""
    frame = sites_for(sites, audience, rep_points)
    return frame[frame["lon"].notna() & frame["lat"].notna()].reset_index(drop=True)


def area_totals(
    sites: pd.DataFrame,
    audience: str = PUBLIC,
    by: str = "commune_code",
    groups: list[str] | None = None,
) -> pd.DataFrame:
    """Number of sites and capacity per area (commune by default), for an audience.

    For the public, confidential sites are left out (they would be isolated by subtracting two
    areas); for an internal audience every site that is a place counts in the area of its
    commune. Accompaniment services, which cover an area, are counted by
    :func:`coverage_totals`.

    Returns
    -------
    One row per area (and group): ``sites_n`` (the count, missing when hidden), ``sites``
    (the count as shown: « < 3 » under 3 for the public), and the known capacity per unit
    (``capacite_logements``, ``capacite_places``, ``capacite_mesures``; missing when unknown
    or hidden). An unknown capacity is not zero: a total whose sites all lack a capacity is
    missing, and ``capacite_incomplete`` says when some sites of the total lack one.
    """
    check_audience(audience)
    keys = [by, *(groups or [])]
    frame = pd.DataFrame(sites).drop(columns="geometry", errors="ignore")
    frame = frame[frame[by].notna() & (frame["geocode_method"] != GEO_AREA)]
    if audience == PUBLIC:
        frame = public_supply(frame)
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "sites_n", "sites", *CAPACITY_COLUMNS.values(),
                                     "capacite_incomplete"])
    capacity = pd.to_numeric(frame["capacity"], errors="coerce")
    parts = {"sites_n": frame.groupby(keys).size()}
    for unit, column in CAPACITY_COLUMNS.items():
        values = capacity.where(frame["capacity_unit"] == unit)
        parts[column] = values.groupby([frame[k] for k in keys]).sum(min_count=1)
    parts["capacite_incomplete"] = capacity.isna().groupby([frame[k] for k in keys]).any()
    totals = pd.DataFrame(parts).reset_index()
    totals["sites_n"] = totals["sites_n"].astype("Int64")
    if audience == PUBLIC:
        small = totals["sites_n"] < SMALL_COUNT
        hide_capacity = small
        for column in CAPACITY_COLUMNS.values():
            totals[column] = totals[column].where(~hide_capacity)
        totals["capacite_incomplete"] = totals["capacite_incomplete"].where(~hide_capacity)
        totals["sites"] = np.where(small, SMALL_LABEL, totals["sites_n"].astype(str))
        totals["sites_n"] = totals["sites_n"].where(~small)
    else:
        totals["sites"] = totals["sites_n"].astype(str)
    return totals[[*keys, "sites_n", "sites", *CAPACITY_COLUMNS.values(), "capacite_incomplete"]]


def coverage_totals(
    sites: pd.DataFrame, coverage: pd.DataFrame, audience: str = PUBLIC
) -> pd.DataFrame:
    """Number of accompaniment services covering each commune (same « < 3 » rule; confidential
    services left out for the public)."""
    check_audience(audience)
    services = pd.DataFrame(sites)
    if audience == PUBLIC:
        services = public_supply(services)
    services = services[["site_id", "offer_type"]]
    frame = coverage.merge(services, on="site_id", how="inner")
    counts = frame.groupby("commune_code").size().rename("services_n").reset_index()
    counts["services_n"] = counts["services_n"].astype("Int64")
    if audience == PUBLIC:
        small = counts["services_n"] < SMALL_COUNT
        counts["services"] = np.where(small, SMALL_LABEL, counts["services_n"].astype(str))
        counts["services_n"] = counts["services_n"].where(~small)
    else:
        counts["services"] = counts["services_n"].astype(str)
    return counts


def public_coverage(sites: pd.DataFrame, coverage: pd.DataFrame) -> pd.DataFrame:
    """Coverage rows of the services a public audience may see (confidential ones removed)."""
    visible = set(sites_for(sites, PUBLIC)["site_id"])
    return coverage[coverage["site_id"].isin(visible)].reset_index(drop=True)


def public_supply(sites: pd.DataFrame) -> pd.DataFrame:
    """The sites that may enter a figure shown to the public: all but the confidential ones.

    This is what the public gap model, its rasters, and every total over a territory are
    computed from.
    """
    frame = pd.DataFrame(sites)
    if "confidentiality" not in frame.columns:
        return frame
    return frame[frame["confidentiality"].ne(CONF_CONFIDENTIAL)]


def split_for_public(
    sites: pd.DataFrame, coverage: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """What may feed public figures, taken from the registry's internal view.

    Returns the non-confidential sites, their coverage rows, and the per-département figures
    of the confidential sites (:func:`confidential_by_departement`). Callers keep only these:
    no public code path downstream ever holds a confidential row.
    """
    frame = pd.DataFrame(sites)
    by_departement = confidential_by_departement(frame)
    public = public_supply(frame).reset_index(drop=True)
    if coverage is not None and len(coverage) and "site_id" in public.columns:
        coverage = coverage[coverage["site_id"].isin(set(public["site_id"]))].reset_index(drop=True)
    return public, coverage, by_departement


@dataclass(frozen=True)
class ConfidentialFigure:
    """What the public may know of the confidential sites of whole départements.

    ``low``–``high``: the bin of the count (0–0 when none); ``capacity``: rounded, None when
    withheld (a département with five or fewer confidential sites withholds it).
    """

    low: int
    high: int
    capacity: float | None

    def sites_text(self) -> str:
        if self.high == 0:
            return "aucun"
        return f"{self.low} à {self.high}"

    def capacity_text(self) -> str:
        if self.high == 0:
            return "0"
        if self.capacity is None:
            return "non diffusée"
        return f"environ {int(self.capacity)}"


def confidential_by_departement(sites: pd.DataFrame) -> pd.DataFrame:
    """Per-département published figures of the confidential sites (open or planned alike).

    Returns ``dep_code, low, high, capacity``: the count's bin (``CONF_BIN`` wide: 1–5, 6–10 …)
    and the capacity rounded to ``CONF_CAPACITY_STEP``, missing when the bin is the first one
    (it would describe one or a few sites) or when a capacity is unknown. The exact count never
    leaves this function.
    """
    frame = pd.DataFrame(sites)
    columns = ["dep_code", "low", "high", "capacity"]
    if frame.empty or "confidentiality" not in frame.columns:
        return pd.DataFrame(columns=columns)
    frame = frame[frame["confidentiality"].eq(CONF_CONFIDENTIAL) & frame["dep_code"].notna()]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    capacity = pd.to_numeric(frame["capacity"], errors="coerce")
    grouped = pd.DataFrame({
        "n": frame.groupby("dep_code").size(),
        "capacity": capacity.groupby(frame["dep_code"]).sum(min_count=1),
        "unknown": capacity.isna().groupby(frame["dep_code"]).any(),
    })
    high = (np.ceil(grouped["n"] / CONF_BIN) * CONF_BIN).astype(int)
    out = pd.DataFrame({
        "dep_code": grouped.index.astype(str),
        "low": (high - CONF_BIN + 1).to_numpy(),
        "high": high.to_numpy(),
        "capacity": (np.round(grouped["capacity"] / CONF_CAPACITY_STEP) * CONF_CAPACITY_STEP)
        .where((high > CONF_BIN) & ~grouped["unknown"]).to_numpy(dtype=float),
    })
    return out.reset_index(drop=True)


def is_fixed_level(parts: Iterable[tuple[str, str]] | None) -> bool:
    """True when a territory is made only of whole départements or régions."""
    kinds = [kind for kind, _ in (parts or [])]
    return bool(kinds) and all(kind in FIXED_KINDS for kind in kinds)


def confidential_for_territory(
    by_departement: pd.DataFrame,
    parts: Iterable[tuple[str, str]] | None,
    departements: Iterable[str],
) -> ConfidentialFigure | None:
    """The confidential sites of a territory as the public may know them, or None.

    None unless the territory is made of whole départements or régions (``parts``); then the
    sum of the per-département bins of ``departements`` (the départements of its communes).
    The capacity is published only when every département holding confidential sites
    publishes its own.
    """
    if not is_fixed_level(parts):
        return None
    wanted = {str(d) for d in departements}
    table = pd.DataFrame(by_departement)
    rows = table[table["dep_code"].astype(str).isin(wanted)] if len(table) else table
    if rows.empty:
        return ConfidentialFigure(0, 0, 0.0)
    capacity = pd.to_numeric(rows["capacity"], errors="coerce")
    return ConfidentialFigure(
        low=int(rows["low"].sum()),
        high=int(rows["high"].sum()),
        capacity=None if capacity.isna().any() else float(capacity.sum()),
    )


def _as_points(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    lon = pd.to_numeric(frame["lon"], errors="coerce").to_numpy(dtype=float)
    lat = pd.to_numeric(frame["lat"], errors="coerce").to_numpy(dtype=float)
    located = np.isfinite(lon) & np.isfinite(lat)
    geometry = np.full(len(frame), None, dtype=object)
    geometry[located] = shapely.points(lon[located], lat[located])
    return gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(geometry, index=frame.index, crs=settings.CRS_DISPLAY),
        crs=settings.CRS_DISPLAY,
    )
