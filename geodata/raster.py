"""Rasters: 1 km accessibility surfaces as GeoTIFF, and zonal statistics of any raster.

The grid is aligned on whole multiples of its resolution in the metric CRS (Lambert-93 in
metropolitan France, the local UTM overseas), so that rasters of neighbouring territories line
up pixel for pixel, as the INSEE 1 km grid does. Every GeoTIFF is written with its CRS, its
transform, a nodata value, band descriptions and tags naming sources and vintages, to a
temporary file moved into place (atomic), so QGIS users get a self-describing file.

This module knows nothing of the models: distance-decay functions and ratios are passed in
as data (``models`` builds the layers, ``geodata`` draws them).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio import features, windows
from rasterio.transform import Affine
from scipy.spatial import cKDTree

import settings
from geodata import files

DEFAULT_NODATA = -9999.0


class RasterError(ValueError):
    """Invalid raster input (French message)."""


@dataclass(frozen=True)
class Grid:
    """A north-up grid of square pixels."""

    x_min: float
    y_max: float
    width: int
    height: int
    resolution: float
    crs: str

    @property
    def transform(self) -> Affine:
        return Affine(self.resolution, 0.0, self.x_min, 0.0, -self.resolution, self.y_max)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (
            self.x_min,
            self.y_max - self.height * self.resolution,
            self.x_min + self.width * self.resolution,
            self.y_max,
        )

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y of every pixel centre, arrays of ``shape``."""
        xs = self.x_min + (np.arange(self.width) + 0.5) * self.resolution
        ys = self.y_max - (np.arange(self.height) + 0.5) * self.resolution
        return np.meshgrid(xs, ys)

    def index(self, x: float, y: float) -> tuple[int, int]:
        """(row, col) of the pixel holding the point (x, y)."""
        col = math.floor((x - self.x_min) / self.resolution)
        row = math.floor((self.y_max - y) / self.resolution)
        return row, col


def grid_for_bounds(
    bounds: Sequence[float], resolution: float = 1000.0, crs: str = settings.CRS_METRIC
) -> Grid:
    """Smallest grid aligned on multiples of ``resolution`` covering ``(xmin, ymin, xmax, ymax)``."""
    x_min, y_min, x_max, y_max = map(float, bounds)
    if not all(map(math.isfinite, (x_min, y_min, x_max, y_max))) or x_max < x_min or y_max < y_min:
        raise RasterError(f"Emprise invalide pour la grille : {tuple(bounds)}")
    if resolution <= 0:
        raise RasterError("La résolution de la grille doit être positive.")
    left = math.floor(x_min / resolution) * resolution
    top = math.ceil(y_max / resolution) * resolution
    right = math.ceil(x_max / resolution) * resolution
    bottom = math.floor(y_min / resolution) * resolution
    width = max(1, round((right - left) / resolution))
    height = max(1, round((top - bottom) / resolution))
    return Grid(left, top, width, height, float(resolution), crs)


def territory_mask(grid: Grid, geometries: gpd.GeoSeries) -> np.ndarray:
    """True for pixels whose centre lies in one of the geometries (reprojected to the grid CRS)."""
    shapes = geometries.to_crs(grid.crs) if geometries.crs else geometries
    shapes = [g for g in shapes if g is not None and not g.is_empty]
    if not shapes:
        return np.zeros(grid.shape, dtype=bool)
    return features.geometry_mask(shapes, grid.shape, grid.transform, invert=True)


def burn_values(
    grid: Grid, geometries: gpd.GeoSeries, values: Sequence[float], fill: float = np.nan
) -> np.ndarray:
    """Each pixel takes the value of the geometry holding its centre (e.g. a commune's ratio)."""
    shapes = geometries.to_crs(grid.crs) if geometries.crs else geometries
    pairs = [
        (geometry, float(value))
        for geometry, value in zip(shapes, values, strict=True)
        if geometry is not None and not geometry.is_empty and np.isfinite(value)
    ]
    if not pairs:
        return np.full(grid.shape, fill, dtype="float64")
    return features.rasterize(
        pairs, out_shape=grid.shape, transform=grid.transform, fill=fill, dtype="float64"
    )


def nearest_distance(grid: Grid, points: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Distance (metres) from each pixel centre to the nearest point; NaN outside the mask or
    when there is no point."""
    out = np.full(grid.shape, np.nan)
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    points = points[np.isfinite(points).all(axis=1)]
    if len(points) == 0:
        return out
    xs, ys = grid.centres()
    inside = np.ones(grid.shape, dtype=bool) if mask is None else mask
    distance, _ = cKDTree(points).query(np.column_stack([xs[inside], ys[inside]]), workers=1)
    out[inside] = distance
    return out


def floating_catchment_surface(
    grid: Grid,
    points: np.ndarray,
    ratios: np.ndarray,
    catchment: np.ndarray,
    weight: Callable[[np.ndarray, np.ndarray], np.ndarray],
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Second step of a floating catchment at every pixel: ``Σ_j w(d_pj, d0_p) R_j``.

    Parameters
    ----------
    points, ratios
        Provider locations ``(P, 2)`` and their ratios ``R_j`` (places per household in need).
    catchment
        Catchment of each pixel (metres, array of the grid's shape: the catchment of the
        commune the pixel lies in); NaN = no value.
    weight
        Decay function ``weight(distance, catchment)`` (``models.decay``).
    """
    out = np.full(grid.shape, np.nan)
    inside = np.isfinite(catchment) if mask is None else (mask & np.isfinite(catchment))
    if not inside.any():
        return out
    xs, ys = grid.centres()
    pixel_xy = np.column_stack([xs[inside], ys[inside]])
    pixel_catchment = catchment[inside]
    values = np.zeros(len(pixel_xy))
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    ratios = np.asarray(ratios, dtype=float)
    keep = np.isfinite(points).all(axis=1) & (ratios > 0)
    if keep.any():
        tree = cKDTree(points[keep])
        found = cKDTree(pixel_xy).sparse_distance_matrix(
            tree, float(pixel_catchment.max()), output_type="ndarray"
        )
        w = weight(found["v"], pixel_catchment[found["i"]])
        values = np.bincount(
            found["i"], weights=w * ratios[keep][found["j"]], minlength=len(pixel_xy)
        )
    out[inside] = values
    return out


def write_geotiff(
    path: Path | str,
    bands: Mapping[str, np.ndarray],
    grid: Grid,
    nodata: float = DEFAULT_NODATA,
    descriptions: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Path:
    """Write float32 bands (NaN → nodata) with CRS, transform and descriptions, atomically."""
    if not bands:
        raise RasterError("Aucune bande à écrire.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for name, array in bands.items():
        if array.shape != grid.shape:
            raise RasterError(f"Bande « {name} » : dimensions {array.shape} ≠ grille {grid.shape}.")
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": len(bands),
        "dtype": "float32",
        "crs": grid.crs,
        "transform": grid.transform,
        "nodata": nodata,
        "compress": "deflate",
    }
    with files.atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        for index, (name, array) in enumerate(bands.items(), start=1):
            data = np.where(np.isfinite(array), array, nodata).astype("float32")
            dst.write(data, index)
            dst.set_band_description(index, (descriptions or {}).get(name, name))
            dst.update_tags(index, name=name)
        if tags:
            dst.update_tags(**{k: str(v) for k, v in tags.items()})
    return path


# -- zonal statistics -----------------------------------------------------------------------
ZONAL_STATS = ("count", "mean", "min", "max", "sum", "std")


def zonal_stats(
    raster_path: Path | str,
    zones: gpd.GeoDataFrame,
    id_column: str = "code",
    band: int = 1,
    stats: Iterable[str] = ZONAL_STATS,
    block_rows: int = 2048,
) -> pd.DataFrame:
    """Statistics of a raster band per zone (e.g. per commune) of any user raster.

    Pixels are assigned to the zone holding their centre (zones are reprojected to the
    raster's CRS); nodata and NaN pixels are ignored. A zone smaller than a pixel gets no pixel:
    its statistics are then the value of the pixel under its representative point
    (``method = "point représentatif"``). The raster is read by blocks of rows over the zones'
    extent only, so a large raster need not fit in memory.

    Returns one row per zone: ``id_column``, the requested statistics, ``method``.
    """
    stats = list(stats)
    unknown = [s for s in stats if s not in ZONAL_STATS]
    if unknown:
        raise RasterError(f"Statistiques inconnues : {', '.join(unknown)} (connues : "
                          f"{', '.join(ZONAL_STATS)}).")
    if id_column not in zones.columns:
        raise RasterError(f"Colonne « {id_column} » absente des zones.")
    path = Path(raster_path)
    if not path.exists():
        raise RasterError(f"Raster introuvable : {path}")
    with rasterio.open(path) as src:
        if src.crs is None:
            raise RasterError(f"Le raster {path.name} n'a pas de système de coordonnées (CRS).")
        if not 1 <= band <= src.count:
            raise RasterError(f"Le raster {path.name} n'a pas de bande {band} ({src.count} bandes).")
        shapes = zones.to_crs(src.crs) if zones.crs else zones.set_crs(src.crs)
        geometries = shapes.geometry.to_numpy()
        n = len(shapes)
        count = np.zeros(n)
        total = np.zeros(n)
        total_sq = np.zeros(n)
        minimum = np.full(n, np.inf)
        maximum = np.full(n, -np.inf)
        full = windows.Window(0, 0, src.width, src.height)
        x0, y0, x1, y1 = shapes.total_bounds
        window = (
            windows.from_bounds(x0, y0, x1, y1, transform=src.transform)
            .round_offsets(op="floor")
            .round_lengths(op="ceil")
        )
        try:
            window = window.intersection(full)
        except rasterio.errors.WindowError:
            window = None
        nodata = src.nodatavals[band - 1]
        if window is not None:
            row_off, height = int(window.row_off), int(window.height)
            for start in range(row_off, row_off + height, block_rows):
                block = windows.Window(
                    int(window.col_off), start, int(window.width),
                    min(block_rows, row_off + height - start),
                )
                data = src.read(band, window=block).astype("float64")
                transform = _window_transform(src.transform, block)
                labels = features.rasterize(
                    (
                        (geometry, i + 1)
                        for i, geometry in enumerate(geometries)
                        if geometry is not None and not geometry.is_empty
                    ),
                    out_shape=data.shape,
                    transform=transform,
                    fill=0,
                    dtype="int32",
                )
                ok = (labels > 0) & np.isfinite(data)
                if nodata is not None:
                    ok &= data != nodata
                zone = labels[ok] - 1
                value = data[ok]
                count += np.bincount(zone, minlength=n)
                total += np.bincount(zone, weights=value, minlength=n)
                total_sq += np.bincount(zone, weights=value * value, minlength=n)
                np.minimum.at(minimum, zone, value)
                np.maximum.at(maximum, zone, value)
        method = np.where(count > 0, "pixels", "point représentatif")
        out = pd.DataFrame({id_column: shapes[id_column].to_numpy()})
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(count > 0, total / count, np.nan)
            variance = np.where(count > 0, total_sq / count - mean**2, np.nan)
        columns = {
            "count": count,
            "mean": mean,
            "min": np.where(count > 0, minimum, np.nan),
            "max": np.where(count > 0, maximum, np.nan),
            "sum": np.where(count > 0, total, np.nan),
            "std": np.sqrt(np.clip(variance, 0, None)),
        }
        empty = np.flatnonzero(count == 0)
        if len(empty):
            values = _values_at_points(src, band, geometries[empty], shapes.crs)
            inside = ~np.isnan(values)
            for name in ("mean", "min", "max", "sum"):
                columns[name][empty] = values
            columns["std"][empty] = np.where(inside, 0.0, np.nan)
            method[empty] = np.where(inside, "point représentatif", "aucune valeur")
        for name in stats:
            out[name] = columns[name]
        out["method"] = method
    return out


def _values_at_points(src, band: int, geometries: np.ndarray, crs) -> np.ndarray:
    """Band value under the representative point of each geometry (NaN outside or nodata)."""
    values = np.full(len(geometries), np.nan)
    points = gpd.GeoSeries(geometries, crs=crs).representative_point()
    nodata = src.nodatavals[band - 1]
    x0, y0, x1, y1 = src.bounds
    for i, point in enumerate(points):
        if point is None or point.is_empty or not (x0 <= point.x < x1 and y0 < point.y <= y1):
            continue
        row, col = src.index(point.x, point.y)
        value = src.read(band, window=windows.Window(col, row, 1, 1))[0, 0]
        if np.isfinite(value) and (nodata is None or value != nodata):
            values[i] = float(value)
    return values


def _window_transform(transform: Affine, window: windows.Window) -> Affine:
    """Transform of a window (what ``rasterio.windows.transform`` does, without its
    deprecated ``*`` on affines)."""
    col, row = float(window.col_off), float(window.row_off)
    return Affine(
        transform.a, transform.b, transform.c + transform.a * col + transform.b * row,
        transform.d, transform.e, transform.f + transform.d * col + transform.e * row,
    )
