"""Overseas départements brought next to metropolitan France for national maps.

On a national map the five overseas départements (Guadeloupe, Martinique, Guyane, La Réunion,
Mayotte) are thousands of kilometres away and invisible. As in INSEE's and IGN's maps, they are
moved into boxes in the Atlantic, west of Brittany, scaled so that each is readable. This is for
display only: areas and distances always come from the true geometries.

The y scale is corrected for the Web Mercator stretch at the box's latitude, so the shapes keep
their true proportions on a Leaflet map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geopandas as gpd
import shapely
from shapely import affinity


@dataclass(frozen=True)
class Inset:
    dep_code: str
    name: str
    target_lon: float  # centre of the inset box
    target_lat: float
    scale: float  # linear scale applied in longitude degrees


INSETS: tuple[Inset, ...] = (
    Inset("971", "Guadeloupe", -7.6, 48.9, 1.2),
    Inset("972", "Martinique", -7.6, 47.6, 1.6),
    Inset("973", "Guyane", -7.6, 45.9, 0.5),
    Inset("974", "La Réunion", -7.6, 44.2, 1.6),
    Inset("976", "Mayotte", -7.6, 42.9, 2.2),
)
_BY_DEP = {inset.dep_code: inset for inset in INSETS}


def _transform(geometry, inset: Inset, centre: shapely.Point):
    sx = inset.scale
    sy = inset.scale * math.cos(math.radians(inset.target_lat)) / math.cos(math.radians(centre.y))
    moved = affinity.scale(geometry, xfact=sx, yfact=abs(sy), origin=centre)
    return affinity.translate(moved, inset.target_lon - centre.x, inset.target_lat - centre.y)


def with_overseas_insets(frame: gpd.GeoDataFrame, dep_column: str = "dep_code") -> gpd.GeoDataFrame:
    """Copy of ``frame`` (WGS84) whose overseas geometries are moved into the inset boxes.

    ``dep_column`` holds the département code of each row (for a département layer, its own code).
    """
    out = frame.copy()
    for dep_code, inset in _BY_DEP.items():
        mask = out[dep_column] == dep_code
        if not mask.any():
            continue
        geoms = out.loc[mask].geometry
        present = geoms.dropna()
        if present.empty:
            continue
        centre = shapely.union_all(present.values).envelope.centroid
        out.loc[mask, out.geometry.name] = [
            None if g is None else _transform(g, inset, centre) for g in geoms.values
        ]
    return out


def inset_frames(moved: gpd.GeoDataFrame, dep_column: str = "dep_code") -> gpd.GeoDataFrame:
    """Rectangles around each inset of an already moved frame (drawn as thin outlines)."""
    rows = []
    for inset in INSETS:
        part = moved[moved[dep_column] == inset.dep_code].geometry.dropna()
        if part.empty:
            continue
        minx, miny, maxx, maxy = part.total_bounds
        pad = 0.12
        rows.append({
            "dep_code": inset.dep_code,
            "name": inset.name,
            "geometry": shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad),
        })
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=moved.crs)
