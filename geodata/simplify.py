"""Display geometries: topology-preserving simplification of the commune coverage.

Plain ``simplify`` treats each polygon alone: neighbouring communes drift apart (gaps, slivers)
and small communes vanish. Here the communes are handled as one coverage: first cleaned
(``coverage_clean`` snaps near-identical vertices and resolves the small overlaps and gaps of the
source outlines), then simplified together (``coverage_simplify``), so a shared border stays one
line. The work is done in each territory's metric CRS (tolerance in metres), then brought back to
WGS84 and rounded to 5 decimals (about 1 m), which is what a web map needs.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import settings

# Gaps narrower than this (metres) between communes in the source outlines are closed.
GAP_WIDTH_M = 20.0
DISPLAY_GRID_DEG = 1e-5


def simplify_coverage(communes: gpd.GeoDataFrame, tolerance_m: float) -> gpd.GeoSeries:
    """Simplified outlines (WGS84), aligned on ``communes.index``.

    ``communes`` must carry a ``metric_crs`` column (see :func:`geodata.reference.add_metrics`).
    Missing geometries stay missing.
    """
    out = pd.Series(np.full(len(communes), None, dtype=object), index=communes.index)
    present = communes.geometry.notna() & ~communes.geometry.is_empty
    for crs, index in communes[present].groupby("metric_crs").groups.items():
        projected = communes.loc[index].geometry.to_crs(crs)
        polygons = shapely.make_valid(projected.values)
        polygons = _polygonal(polygons)
        cleaned = shapely.coverage_clean(polygons, gap_width=GAP_WIDTH_M)
        simple = shapely.coverage_simplify(cleaned, tolerance_m, simplify_boundary=True)
        back = gpd.GeoSeries(simple, index=index, crs=crs).to_crs(settings.CRS_DISPLAY)
        # Pointwise rounding: identical shared vertices round identically, borders stay shared.
        rounded = shapely.set_precision(back.values, DISPLAY_GRID_DEG, mode="pointwise")
        broken = ~shapely.is_valid(rounded)
        rounded[broken] = _polygonal(shapely.make_valid(rounded[broken]))
        out.loc[index] = rounded
    return gpd.GeoSeries(out.values, index=communes.index, crs=settings.CRS_DISPLAY)


def dissolve_simplified(
    simple: gpd.GeoSeries, communes: gpd.GeoDataFrame, key: str
) -> gpd.GeoDataFrame:
    """Outlines of a layer dissolved from already simplified communes (borders stay aligned)."""
    frame = gpd.GeoDataFrame({"code": communes[key].values}, geometry=simple.values, crs=simple.crs)
    frame = frame[frame["code"].notna() & frame.geometry.notna()]
    geoms = frame.groupby("code").geometry.apply(lambda g: _union(g.values))
    return gpd.GeoDataFrame({"code": geoms.index}, geometry=geoms.values, crs=simple.crs)


def _union(polygons: np.ndarray):
    """Fast coverage union; exact overlay union where rounding left a tiny overlap."""
    try:
        return shapely.coverage_union_all(polygons)
    except shapely.errors.GEOSException:
        return shapely.union_all(polygons)


def _polygonal(geometries: np.ndarray) -> np.ndarray:
    """Keep only the polygonal part of each geometry (make_valid may add lines or points)."""
    out = geometries.copy()
    for i, geom in enumerate(geometries):
        if geom is not None and geom.geom_type == "GeometryCollection":
            parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
            out[i] = shapely.union_all(parts) if parts else None
    return out
