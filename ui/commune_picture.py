"""France by commune as a picture: the classed communes rendered on the server, once per colouring.

Drawn as vectors, the 34,875 communes cost the browser 10 MB of outlines to parse and as many
canvas paths to build before the map of France showed (3.3 s from the navigation on a quiet
machine here, 8 s loaded, against 1.9 s for a bare Streamlit page). The map now shows a PNG
picture of the classes (an image overlay, about 0.2 MB), whose pixels are the communes' colours;
the outlines still come afterwards, invisible, for the tooltips and the hover outline, and draw
the colours themselves once the user zooms in beyond the picture's resolution
(:class:`diagnostics.webmap.IndexedGeoJson`). A click is resolved on the server
(:meth:`ui.geometry.ViewGeometry.code_at`), as on every map.

The communes are burnt once per view into an index grid (feature number per pixel, in Web
Mercator like the map, 1.4 s here, cached); a colouring is then a table look-up and a palette
PNG (about 0.2 s), written under ``static/generated/`` named by a digest of its content.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from PIL import Image
from pyproj import Transformer
from rasterio import features
from rasterio.transform import from_bounds

from diagnostics import webmap
from diagnostics.palettes import MISSING_COLOUR
from ui.geometry import GENERATED, ViewGeometry, script_file, static_serving, static_url
from ui.variables import Variable, format_series

PICTURE_WIDTH = 2000  # px: about 3.5 × France's width on the map at its national zoom
KEEP_PICTURES = 120
TIPS_VERSION = "1"  # change when the tooltips' formatting changes (their files are reused)
_MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)


@dataclass(frozen=True)
class CommuneGrid:
    """Feature number under each pixel of the picture (-1: no commune), and the picture's
    edges in degrees (west, south, east, north)."""

    index: np.ndarray
    bounds: tuple[float, float, float, float]


def commune_grid(frame: gpd.GeoDataFrame, width: int = PICTURE_WIDTH) -> CommuneGrid:
    """Burn the outlines of ``frame`` (WGS84, row ``i`` is feature ``i``) into a grid laid out in
    Web Mercator, so that Leaflet's image overlay puts each pixel where the map draws it."""
    geoms = frame.geometry.values
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    projected = shapely.transform(
        geoms[keep], lambda xy: np.column_stack(_MERCATOR.transform(xy[:, 0], xy[:, 1])))
    minx, miny, maxx, maxy = shapely.total_bounds(projected)
    height = max(1, round(width * (maxy - miny) / (maxx - minx)))
    index = features.rasterize(
        zip(projected, np.flatnonzero(keep).astype("int32"), strict=True),
        out_shape=(height, width), transform=from_bounds(minx, miny, maxx, maxy, width, height),
        fill=-1, dtype="int32",
    )
    west, south = _MERCATOR.transform(minx, miny, direction="INVERSE")
    east, north = _MERCATOR.transform(maxx, maxy, direction="INVERSE")
    return CommuneGrid(index=index, bounds=(west, south, east, north))


@st.cache_resource(show_spinner=False, max_entries=4)
def view_grid(view_key: str, _view: ViewGeometry) -> CommuneGrid:
    """:func:`commune_grid` of a view, once per view (``view_key`` names its outlines), kept
    on disk beside the pictures: a server that starts again reads it (0.02 s) instead of
    burning the communes again (1.4 s)."""
    path = GENERATED / f"grid_{view_key}_{PICTURE_WIDTH}.npz"
    if path.exists():
        try:
            with np.load(path) as saved:
                return CommuneGrid(index=saved["index"], bounds=tuple(saved["bounds"].tolist()))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # unreadable: made again below
    grid = commune_grid(_view.frame)
    GENERATED.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    np.savez_compressed(out, index=grid.index, bounds=np.asarray(grid.bounds))
    _write(path, out.getvalue())
    return grid


def _rgb(colour: str) -> tuple[int, int, int]:
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def picture_png(grid: CommuneGrid, classes: Sequence[int | None], palette: Sequence[str],
                missing: str = MISSING_COLOUR) -> bytes:
    """The communes coloured by ``classes`` (palette index per feature; -1: missing value,
    grey; None: not drawn) as a palette PNG, transparent where there is no commune."""
    if len(palette) > 250:
        raise ValueError("Trop de couleurs pour une image à palette.")
    codes = np.array([-2 if c is None else int(c) for c in classes], dtype=np.int32)
    clear = len(palette) + 1  # palette entries: the classes, the missing grey, transparent
    lut = np.where(codes >= 0, codes, np.where(codes == -1, len(palette), clear))
    lut = np.append(lut, clear).astype(np.uint8)  # index -1 (no commune) reads the last entry
    pixels = lut[grid.index]
    image = Image.fromarray(pixels, mode="P")
    colours = [*(_rgb(c) for c in palette), _rgb(missing), (255, 255, 255)]
    image.putpalette([v for rgb in colours for v in rgb])
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=clear, compress_level=6)
    return out.getvalue()


def picture_url(view: ViewGeometry, classes: Sequence[int | None], palette: Sequence[str]) -> str:
    """Address of the view's picture for this colouring: a static file written once (named by
    a digest of the view, the classes and the palette), or a data URI without static serving."""
    codes = np.array([-2 if c is None else int(c) for c in classes], dtype=np.int16)
    digest = hashlib.sha256(
        view.key.encode() + codes.tobytes() + "|".join([*palette, MISSING_COLOUR]).encode()
    ).hexdigest()[:20]
    if not static_serving():
        png = picture_png(view_grid(view.key, view), classes, palette)
        return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    name = f"img_{digest}.png"
    target = GENERATED / name
    if not target.exists():
        GENERATED.mkdir(parents=True, exist_ok=True)
        _write(target, picture_png(view_grid(view.key, view), classes, palette))
        _prune()
    return static_url(f"generated/{name}")


def _prune() -> None:
    pictures = sorted(GENERATED.glob("img_*.png"), key=lambda p: p.stat().st_mtime)
    for old in pictures[:-KEEP_PICTURES]:
        old.unlink(missing_ok=True)


def index_png(grid: CommuneGrid) -> bytes:
    """The grid as an RGB PNG whose pixel holds the feature number + 1 (0: no commune) on its
    24 bits: the browser reads the commune under the pointer in it (tooltips)."""
    value = (grid.index.astype(np.int64) + 1).astype(np.uint32)
    rgb = np.stack([(value >> 16) & 255, (value >> 8) & 255, value & 255], axis=-1)
    out = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8), mode="RGB").save(out, format="PNG", compress_level=6)
    return out.getvalue()


def picture_option(view: ViewGeometry) -> dict:
    """The ``picture`` option of the view's interactive layer: the picture's edges and width,
    and (with static serving) the addresses of the numbers' picture and of the names."""
    grid = view_grid(view.key, view)
    west, south, east, north = grid.bounds
    option = {"bounds": [[south, west], [north, east]], "width": int(grid.index.shape[1])}
    if static_serving():
        option.update(_hover_files(view.key, view))
    return option


@st.cache_resource(show_spinner=False, max_entries=4)
def _hover_files(view_key: str, _view: ViewGeometry) -> dict:
    """Numbers' picture and names of a view, written once under ``static/generated/``."""
    name = f"idx_{view_key}.png"
    target = GENERATED / name
    if not target.exists():
        GENERATED.mkdir(parents=True, exist_ok=True)
        _write(target, index_png(view_grid(view_key, _view)))
    names_key = f"names_{view_key}"
    pairs = [[str(n), str(c)] for n, c in zip(_view.frame["name"], _view.frame["code"], strict=True)]
    names_url = script_file(names_key, {names_key: json.dumps(pairs, ensure_ascii=False)})
    return {"index_url": static_url(f"generated/{name}"), "names_url": names_url,
            "names_key": names_key}


def tips_script(view: ViewGeometry, variable: Variable, values: pd.Series) -> tuple[str, str] | None:
    """(address, data key) of a static script holding the tooltips' values of this colouring
    (35,000 formatted values: 0.1 s to format and 0.6 MB that the map's styling message no
    longer carries), written once, named by a digest of the values; None without static
    serving (the styler then carries them)."""
    if not static_serving():
        return None
    hashed = pd.util.hash_pandas_object(values.reset_index(drop=True), index=False)
    digest = hashlib.sha256("|".join(
        [TIPS_VERSION, view.key, variable.id, variable.unit, str(variable.decimals),
         variable.kind]).encode() + hashed.to_numpy().tobytes()).hexdigest()[:20]
    key = f"tips_{digest}"
    target = GENERATED / f"{key}.js"
    if not target.exists():
        GENERATED.mkdir(parents=True, exist_ok=True)
        text = json.dumps(format_series(values, variable), ensure_ascii=False)
        _write(target, webmap.geojson_script(key, text).encode("utf-8"))
    return static_url(f"generated/{key}.js"), key


def _write(target, content: bytes) -> None:
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    partial.write_bytes(content)
    partial.replace(target)
