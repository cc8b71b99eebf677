"""Fill the holes that absorbed communes leave in the commune coverage.

The reference package gives each current commune the outline IGN published for it; for a
commune that absorbed another one recently, that outline is sometimes the pre-merger one, and
the absorbed commune (no longer a commune) has none. Saint-Denis (93066) absorbed
Pierrefitte-sur-Seine (93059) on 1 January 2025, but its stored outline was the old 12.4 km²
one: Pierrefitte was a hole in France, missing from every map and every catchment.

Each interior ring of the dissolved union of the communes (at least :data:`MIN_HOLE_KM2`) is
given to one bordering current commune, by the first rule that applies:

1. ``contour de commune déléguée`` — an outline of a commune déléguée or associée of the
   package covers most of the hole: it goes to that delegate's parent;
2. then, in this order, bordering communes that absorbed a former commune, the one with the
   longest border on the hole (``absorbers``): ``commune déléguée sans contour`` (the package
   lists the absorbed commune but does not draw it: Pierrefitte-sur-Seine), then ``passage``
   (the COG passage table, former codes of the same département);
3. ``voisine`` — otherwise, the bordering commune with the longest border on the hole.

Foreign enclaves (Llívia, Spain, inside the Pyrénées-Orientales) are holes of France, not of the
coverage, and stay holes. Every filled hole is reported (commune, area, rule) in the
``communes`` manifest and in the commune's ``geometry_source``.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import settings

MIN_HOLE_KM2 = 0.02
# A point inside each foreign enclave (lon, lat, WGS84): these holes are kept.
FOREIGN_ENCLAVES = {"Llívia (Espagne)": (1.9806, 42.4636)}
# Distance (metres) within which a commune counts as bordering a hole.
NEAR_M = 5.0
MIN_DELEGATE_SHARE = 0.5

RULE_DELEGATE = "contour de commune déléguée"
RULE_UNDRAWN = "commune déléguée sans contour"
RULE_PASSAGE = "passage"
RULE_NEIGHBOUR = "voisine"


@dataclass(frozen=True)
class FilledHole:
    """One hole given to a commune."""

    code: str
    area_km2: float
    rule: str
    lon: float
    lat: float


def fill_holes(
    communes: gpd.GeoDataFrame,
    metric_crs: pd.Series,
    absorbers: dict[str, set[str]],
    delegates: gpd.GeoDataFrame | None = None,
    min_km2: float = MIN_HOLE_KM2,
) -> tuple[gpd.GeoDataFrame, list[FilledHole]]:
    """``communes`` (WGS84, ``code`` column) with each coverage hole added to one commune.

    Parameters
    ----------
    metric_crs
        Metric CRS of each commune (aligned on ``communes.index``): holes are found per CRS.
    absorbers
        Rule name → codes of the current communes that absorbed a former commune, by
        decreasing reliability (see the module docstring).
    delegates
        Outlines of communes déléguées / associées (WGS84) with their ``parent_code``.
    """
    out = communes.copy()
    filled: list[FilledHole] = []
    present = out.geometry.notna() & ~out.geometry.is_empty
    for crs, index in out[present].groupby(metric_crs[present]).groups.items():
        keys = list(index)
        geoms = shapely.make_valid(out.loc[keys].geometry.to_crs(crs).values)
        codes = out.loc[keys, "code"].astype(str).to_numpy()
        tree = shapely.STRtree(geoms)  # holes are disjoint: a grown commune needs no re-index
        parts = _delegates_in(delegates, crs)
        changed: set[int] = set()
        for hole in _holes(geoms, crs, min_km2):
            position, rule = _owner(hole, geoms, tree, codes, absorbers, parts)
            if position is None:
                continue
            geoms[position] = shapely.union(geoms[position], hole)
            changed.add(position)
            point = gpd.GeoSeries([hole.representative_point()], crs=crs).to_crs(
                settings.CRS_DISPLAY).iloc[0]
            filled.append(FilledHole(codes[position], hole.area / 1e6, rule,
                                     round(point.x, 5), round(point.y, 5)))
        if changed:
            rows = sorted(changed)
            back = gpd.GeoSeries(geoms[rows], crs=crs).to_crs(out.crs)
            out.loc[[keys[i] for i in rows], out.geometry.name] = back.values
    return out, filled


def _holes(geoms: np.ndarray, crs: str, min_km2: float) -> list[shapely.Polygon]:
    union = shapely.union_all(geoms)
    enclaves = gpd.GeoSeries(
        [shapely.Point(lon, lat) for lon, lat in FOREIGN_ENCLAVES.values()],
        crs=settings.CRS_DISPLAY,
    ).to_crs(crs)
    holes = []
    for polygon in shapely.get_parts(union):
        for ring in getattr(polygon, "interiors", []):
            hole = shapely.Polygon(ring)
            if hole.area >= min_km2 * 1e6 and not any(hole.contains(p) for p in enclaves):
                holes.append(hole)
    return holes


def _owner(
    hole: shapely.Polygon,
    geoms: np.ndarray,
    tree: shapely.STRtree,
    codes: np.ndarray,
    absorbers: dict[str, set[str]],
    delegates: gpd.GeoSeries | None,
) -> tuple[int | None, str]:
    """Position of the commune the hole belongs to, and the rule that chose it."""
    near = hole.buffer(NEAR_M)
    candidates = tree.query(near, predicate="intersects")
    # Area of the commune inside a thin band around the hole ~ length of the shared border.
    border = {int(i): shapely.intersection(geoms[i], near).area for i in candidates}
    border = {i: length for i, length in border.items() if length > 0}
    if not border:
        return None, ""
    if delegates is not None:
        hits = delegates.sindex.query(hole, predicate="intersects")
        if len(hits):
            cover = delegates.iloc[hits].intersection(hole).area / hole.area
            best = int(hits[int(np.argmax(cover.to_numpy()))])
            if cover.max() >= MIN_DELEGATE_SHARE:
                parent = delegates.attrs["parents"][best]
                owners = [i for i in border if codes[i] == parent]
                if owners:
                    return owners[0], RULE_DELEGATE
    for rule, absorbing in absorbers.items():
        merged = {i: length for i, length in border.items() if codes[i] in absorbing}
        if merged:
            return max(merged, key=merged.__getitem__), rule
    return max(border, key=border.__getitem__), RULE_NEIGHBOUR


def _delegates_in(delegates: gpd.GeoDataFrame | None, crs: str) -> gpd.GeoSeries | None:
    if delegates is None or delegates.empty:
        return None
    series = delegates.geometry.to_crs(crs).reset_index(drop=True)
    series = gpd.GeoSeries(shapely.make_valid(series.values), crs=crs)
    series.attrs["parents"] = delegates["parent_code"].astype(str).tolist()
    return series


def summary_fr(filled: list[FilledHole]) -> str:
    """« 51 trous comblés (1 234,5 km²) : 30 par commune déléguée, … »."""
    if not filled:
        return "aucun trou dans la couverture des communes"
    total = sum(f.area_km2 for f in filled)
    counts = pd.Series([f.rule for f in filled]).value_counts()
    rules = ", ".join(f"{n} par règle « {rule} »" for rule, n in counts.items())
    return (f"{len(filled)} trou(s) de la couverture comblé(s) ({total:.1f} km²".replace(".", ",")
            + f") : {rules}")
