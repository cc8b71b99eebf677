"""Static maps for the PDF and DOCX reports (matplotlib + geopandas).

Each map is drawn in the territory's metric CRS (Lambert-93, or the official local projection
overseas) so that the scale bar (``matplotlib-scalebar``) is true; it has its legend (with the
grey « donnée absente » class), a north arrow and the neighbouring départements in light grey
for context. The result is PNG bytes, embedded in the documents. Figures are made without
``pyplot`` (no global state): the app may draw several reports at once.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib_scalebar.scalebar import ScaleBar

import settings
from diagnostics.background_maps import drawing_of
from diagnostics.document import MapSpec
from diagnostics.palettes import MISSING_COLOUR
from geodata.main_places import LABELLED_COMMUNES, spread_largest

DPI = 150
WIDTH_IN = 6.9  # A4 text width at 2 cm margins
HEIGHT_IN = 4.6
LEGEND_CHARS = 36  # legend labels wrapped to stay inside the figure
CONTEXT_FILL = "#eeeeee"
CONTEXT_EDGE = "#9e9e9e"
HATCH = "//////"
HATCH_COLOUR = "#555555"
HATCH_WIDTH = 0.7  # points
HATCH_PER_INCH = 12  # lines an inch of map, along its width


def metric_crs(geo: gpd.GeoDataFrame) -> str:
    """The territory's metric CRS: the most frequent ``metric_crs`` of its communes."""
    if "metric_crs" in geo.columns and geo["metric_crs"].notna().any():
        return str(geo["metric_crs"].mode().iat[0])
    return settings.CRS_METRIC


@dataclass
class MapBase:
    """The geometry every map of a report shares, projected once."""

    communes: gpd.GeoDataFrame  # code, geometry (metric)
    context: gpd.GeoDataFrame
    outline: gpd.GeoSeries
    crs: str
    bounds: tuple[float, float, float, float]
    labels: list[tuple[float, float, str]] = field(default_factory=list)  # main communes
    _paths: dict = field(default_factory=dict, repr=False)

    def paths(self, which: str) -> tuple[list, np.ndarray]:
        """Matplotlib paths of the polygons of ``communes`` or ``context`` (built once for all
        the report's maps) and the row each path belongs to."""
        if which not in self._paths:
            self._paths[which] = polygon_paths(getattr(self, which).geometry)
        return self._paths[which]


    def union_of(self, codes: set[str]):
        """The communes ``codes`` as one geometry (None when none has one), kept for the
        report's other maps hatching the same communes."""
        key = ("union", frozenset(codes))
        if key not in self._paths:
            chosen = self.communes.geometry[self.communes["code"].isin(codes).to_numpy()]
            chosen = np.asarray(chosen[~(chosen.isna() | chosen.is_empty)].values)
            if not len(chosen):
                self._paths[key] = None
            else:
                # Communes share their borders (a coverage): its union is much faster.
                try:
                    union = shapely.coverage_union_all(chosen)
                except shapely.errors.GEOSException:
                    union = None
                if union is None or not shapely.is_valid(union):  # not a clean coverage
                    union = shapely.union_all(chosen)
                self._paths[key] = union
        return self._paths[key]


def polygon_paths(geometry: gpd.GeoSeries) -> tuple[list, np.ndarray]:
    """One compound path per polygon (exterior and holes, winding normalised as geopandas
    does), and the row of ``geometry`` it comes from; empty geometries have none."""
    from matplotlib.path import Path

    paths, rows = [], []
    oriented = shapely.orient_polygons(np.asarray(geometry.values)) if hasattr(
        shapely, "orient_polygons") else np.asarray(geometry.values)
    for row, geom in enumerate(oriented):
        if geom is None or geom.is_empty:
            continue
        parts = [geom] if geom.geom_type == "Polygon" else getattr(geom, "geoms", [])
        for part in parts:
            if part.geom_type != "Polygon" or part.is_empty:
                continue
            rings = [Path(np.asarray(part.exterior.coords)[:, :2], closed=True)]
            rings += [Path(np.asarray(r.coords)[:, :2], closed=True) for r in part.interiors]
            paths.append(Path.make_compound_path(*rings))
            rows.append(row)
    return paths, np.asarray(rows, dtype=int)


def _fill(ax, base: MapBase, which: str, colours, edge: str, width: float) -> None:
    paths, rows = base.paths(which)
    if not paths:
        return
    faces = np.asarray(colours, dtype=object)[rows] if not isinstance(colours, str) else colours
    ax.add_collection(PathCollection(paths, facecolors=list(faces) if not isinstance(
        faces, str) else faces, edgecolors=edge, linewidths=width))


def _hatch(ax, base: MapBase, codes: set[str], axes_width_in: float) -> None:
    """Estimated values: diagonal lines over the colour (the colour stays readable).

    One set of parallel lines across the map, cut to the hatched communes by shapely and drawn
    as one collection: matplotlib's per-polygon ``hatch`` drew each commune's pattern apart,
    and a clip path made Agg mask the whole frame (0.35 s and 0.15 s a map of the Nord).
    """
    from matplotlib.collections import LineCollection

    minx, _miny, maxx, _maxy = base.bounds
    step = (maxx - minx) / max(axes_width_in, 0.1) / HATCH_PER_INCH
    key = ("hatch", frozenset(codes), round(step, 3))
    if key not in base._paths:  # the need's maps hatch the same communes
        base._paths[key] = _hatch_segments(base, codes, step)
    segments = base._paths[key]
    if segments:
        ax.add_collection(LineCollection(segments, colors=HATCH_COLOUR, linewidths=HATCH_WIDTH,
                                         zorder=2))


def _hatch_segments(base: MapBase, codes: set[str], step: float) -> list[np.ndarray]:
    """The hatching's segments over the communes ``codes``, ``step`` apart (map units): about
    0.1 s for the Nord, so kept for the report's other maps hatching the same communes."""
    area = base.union_of(codes)
    if area is None:
        return []
    minx, miny, maxx, maxy = base.bounds
    height = maxy - miny
    starts = np.arange(minx - height, maxx + step, step)
    # « / » lines from (x, miny) to (x + height, maxy), enough of them to cover the frame.
    lines = shapely.linestrings(np.stack([
        np.column_stack([starts, np.full_like(starts, miny)]),
        np.column_stack([starts + height, np.full_like(starts, maxy)])], axis=1))
    cut = shapely.intersection(lines, area)
    parts = shapely.get_parts(cut[~shapely.is_empty(cut)])
    return [np.asarray(shapely.get_coordinates(part)) for part in parts
            if part.geom_type == "LineString"]


def map_base(geo: gpd.GeoDataFrame, context: gpd.GeoDataFrame) -> MapBase:
    crs = metric_crs(geo)
    communes = geo[[c for c in ("code", "name", "population", "geometry")
                    if c in geo.columns]].to_crs(crs)
    outline = gpd.GeoSeries([communes.geometry.union_all()], crs=crs)
    minx, miny, maxx, maxy = communes.total_bounds
    pad_x, pad_y = (maxx - minx) * 0.04 + 500, (maxy - miny) * 0.04 + 500
    bounds = (minx - pad_x, miny - pad_y, maxx + pad_x, maxy + pad_y)
    ctx = context.to_crs(crs) if len(context) else context
    return MapBase(communes, ctx, outline, crs, bounds, labels=main_communes(communes, bounds))


def main_communes(communes: gpd.GeoDataFrame, bounds: tuple[float, float, float, float],
                  count: int = LABELLED_COMMUNES) -> list[tuple[float, float, str]]:
    """``(x, y, name)`` of the territory's communes to name on the maps
    (:func:`geodata.main_places.spread_largest`, a tenth of the map's width apart), each at a
    point inside the commune (``representative_point``). None without population or names."""
    if not {"name", "population"} <= set(communes.columns) or communes.empty:
        return []
    present = communes[communes.geometry.notna() & ~communes.geometry.is_empty]
    points = present.geometry.representative_point()
    frame = pd.DataFrame({"code": present["code"].to_numpy(), "name": present["name"].to_numpy(),
                          "population": present["population"].to_numpy(),
                          "x": points.x.to_numpy(), "y": points.y.to_numpy()})
    chosen = spread_largest(frame, (bounds[2] - bounds[0]) / 10, count)
    return [(float(r.x), float(r.y), str(r.name)) for r in chosen.itertuples()]


def _names(ax, base: MapBase) -> None:
    """The main communes' names, dark on a white halo, above the colours and hatching."""
    from matplotlib import patheffects

    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    for x, y, name in base.labels:
        ax.plot([x], [y], marker="o", markersize=2.2, color="#111111", zorder=6)
        ax.annotate(name, (x, y), xytext=(0, 3.5), textcoords="offset points", ha="center",
                    va="bottom", fontsize=6.5, color="#111111", zorder=7, path_effects=halo)


def _aspect_size(bounds: tuple[float, float, float, float]) -> tuple[float, float]:
    """Figure size keeping the territory's shape, the legend on the right."""
    minx, miny, maxx, maxy = bounds
    ratio = (maxy - miny) / max(maxx - minx, 1.0)
    map_width = WIDTH_IN * 0.62
    height = min(max(map_width * ratio, 3.2), 6.2)
    return WIDTH_IN, height


def _north_arrow(ax) -> None:
    ax.annotate(
        "N", xy=(0.95, 0.95), xytext=(0.95, 0.83), xycoords="axes fraction",
        ha="center", va="center", fontsize=10, fontweight="bold",
        arrowprops={"facecolor": "black", "width": 3, "headwidth": 9, "headlength": 8},
    )


def render_map(spec: MapSpec, base: MapBase, dpi: int = DPI) -> bytes:
    """PNG bytes of one map: choropleth, context, outline, points, legend, scale, north."""
    fig = Figure(figsize=_aspect_size(base.bounds), dpi=dpi)
    ax = fig.add_axes((0.0, 0.0, 0.62, 1.0))
    minx, miny, maxx, maxy = base.bounds
    if len(base.context):
        _fill(ax, base, "context", CONTEXT_FILL, CONTEXT_EDGE, 0.4)
    colours = base.communes["code"].map(spec.colours).fillna(MISSING_COLOUR)
    # The commune polygons' paths are built once for all the maps (geopandas would rebuild a
    # patch per polygon for each map).
    _fill(ax, base, "communes", colours.tolist(), "#ffffff", 0.15)
    hatched = spec.hatched_codes()
    if hatched:
        _hatch(ax, base, hatched, fig.get_size_inches()[0] * 0.62)
    base.outline.boundary.plot(ax=ax, color="#222222", linewidth=0.8)
    _names(ax, base)
    if spec.points is not None and len(spec.points):
        pts = gpd.GeoDataFrame(
            spec.points, geometry=gpd.points_from_xy(spec.points["lon"], spec.points["lat"]),
            crs=settings.CRS_DISPLAY,
        ).to_crs(base.crs)
        ax.scatter(pts.geometry.x, pts.geometry.y, s=14, c=pts["colour"].tolist(),
                   edgecolors="#000000", linewidths=0.4, zorder=5)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.add_artist(ScaleBar(1, "m", location="lower left", box_alpha=0.7, font_properties={"size": 7},
                           length_fraction=0.25))
    _north_arrow(ax)

    handles = [Patch(facecolor=c, edgecolor="#777777", linewidth=0.5, label=_wrap(label, LEGEND_CHARS))
               for label, c in spec.legend]
    if hatched:
        handles.append(Patch(facecolor="#ffffff", edgecolor=HATCH_COLOUR, hatch=HATCH, linewidth=0.5,
                             label=_wrap(f"{spec.hatched_label} ({len(hatched)} communes)",
                                         LEGEND_CHARS)))
    if spec.missing_label:
        handles.append(Patch(facecolor=MISSING_COLOUR, edgecolor="#777777", linewidth=0.5,
                             label=_wrap(spec.missing_label, LEGEND_CHARS)))
    handles += [Line2D([0], [0], marker="o", linestyle="", markerfacecolor=c, markeredgecolor="#000",
                       markersize=5, label=_wrap(label, LEGEND_CHARS)) for label, c in spec.points_legend]
    legend_ax = fig.add_axes((0.63, 0.05, 0.37, 0.9))
    legend_ax.set_axis_off()
    legend_ax.legend(
        handles=handles, loc="center left", frameon=False, fontsize=7,
        title=_wrap(spec.legend_title, 34), title_fontsize=8, alignment="left",
        labelspacing=0.5, handlelength=1.6,
    )
    return opaque_png(fig, dpi)


def opaque_png(fig: Figure, dpi: int) -> bytes:
    """PNG bytes of ``fig`` in RGB, without the alpha channel ``savefig`` writes.

    The maps are opaque: an alpha channel only made WeasyPrint split it off into a soft mask,
    decoding and re-encoding each map twice. Compression level 3 gives a file a tenth larger
    than the default in half the time (eleven maps a report).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig.set_facecolor("white")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=3, dpi=(dpi, dpi))
    return buffer.getvalue()


def warm_up() -> None:
    """Load what every map needs first (matplotlib's fonts and renderer, the scale bar, the
    PNG encoder) by drawing a tiny map here.

    Called in the process that will fork the maps' children, while it waits for something
    else: each child otherwise loads it again, about 0.4 s of a child's second.
    """
    from matplotlib import patheffects
    from matplotlib.collections import LineCollection

    fig = Figure(figsize=(1.0, 1.0), dpi=30)
    ax = fig.add_axes((0.0, 0.0, 0.62, 1.0))
    ax.add_collection(LineCollection([[(0, 0), (1, 1)]], linewidths=0.3))
    ax.text(0.5, 0.5, "Aé", fontsize=6,
            path_effects=[patheffects.withStroke(linewidth=2, foreground="white")])
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.add_artist(ScaleBar(1, "m", location="lower left", font_properties={"size": 7}))
    ax.legend(handles=[Patch(facecolor="#ffffff", hatch=HATCH, label="a")], title="b",
              fontsize=7, title_fontsize=8, alignment="left")
    opaque_png(fig, 30)


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def render_maps(specs: list[MapSpec], geo: gpd.GeoDataFrame, context: gpd.GeoDataFrame,
                dpi: int = DPI) -> dict[str, bytes]:
    """PNG of every map, keyed by ``MapSpec.key`` (the base geometry projected once; a map
    repeated under another key drawn once)."""
    base = map_base(geo, context)
    same = drawing_of(specs)
    drawn = {spec.key: render_map(spec, base, dpi) for spec in specs if same[spec.key] == spec.key}
    return {spec.key: drawn[same[spec.key]] for spec in specs}
