"""France by commune as a picture (ui/commune_picture.py): each pixel is the colour of the
commune under it, laid out in Web Mercator as Leaflet draws it; the numbers' picture gives the
commune back; the view uses it only for France by commune. Outlines here are hand-made squares
(and the real communes of the store for the last test)."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image
from pyproj import Transformer

from ui import commune_picture as cp
from ui.geometry import ViewGeometry

# Three hand-made « communes »: two squares side by side near Paris, one far south; a fourth
# without outline (as 8 communes of France).
SQUARES = gpd.GeoDataFrame(
    {"code": ["A", "B", "C", "D"], "name": ["Alpha", "Bêta", "Gamma", "Delta"]},
    geometry=[shapely.box(2.0, 48.0, 2.5, 48.5), shapely.box(2.5, 48.0, 3.0, 48.5),
              shapely.box(2.0, 43.0, 2.5, 43.5), None],
    crs="EPSG:4326",
)
PALETTE = ["#ffeeaa", "#aa3300"]
MERCATOR = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)


def pixel_of(grid: cp.CommuneGrid, lon: float, lat: float) -> tuple[int, int]:
    """Row and column of a point in the picture, by Web Mercator (as Leaflet places it)."""
    west, south, east, north = grid.bounds
    x0, y0 = MERCATOR.transform(west, north)
    x1, y1 = MERCATOR.transform(east, south)
    x, y = MERCATOR.transform(lon, lat)
    height, width = grid.index.shape
    return int((y0 - y) / (y0 - y1) * height), int((x - x0) / (x1 - x0) * width)


def test_each_pixel_holds_the_commune_under_it_in_web_mercator():
    grid = cp.commune_grid(SQUARES, width=200)
    west, south, east, north = grid.bounds
    assert (west, south, east, north) == pytest.approx((2.0, 43.0, 3.0, 48.5))
    height, width = grid.index.shape
    assert width == 200 and height > 200  # tall: Mercator stretches the north
    for lon, lat, feature in ((2.25, 48.25, 0), (2.75, 48.1, 1), (2.2, 43.2, 2), (2.75, 45.0, -1)):
        row, col = pixel_of(grid, lon, lat)
        assert grid.index[row, col] == feature
    assert not (grid.index == 3).any()  # the commune without outline is nowhere


def test_rows_follow_mercator_not_degrees():
    """A thin band at 46° N lands on the row Mercator gives (Leaflet stretches the picture
    linearly between its corners in Mercator), about 19 rows from where degrees would."""
    band = gpd.GeoDataFrame({"code": ["A", "E"]}, crs="EPSG:4326",
                            geometry=[shapely.box(2.0, 43.0, 3.0, 48.5),
                                      shapely.box(2.0, 45.99, 3.0, 46.01)])
    grid = cp.commune_grid(band, width=200)
    height = grid.index.shape[0]
    rows = np.flatnonzero((grid.index == 1).any(axis=1))
    def merc(lat: float) -> float:
        return float(np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)))
    expected = (merc(48.5) - merc(46.0)) / (merc(48.5) - merc(43.0)) * height
    in_degrees = (48.5 - 46.0) / 5.5 * height
    assert abs(rows.mean() + 0.5 - expected) < 1.5
    assert abs(expected - in_degrees) > 10


def test_picture_colours_classes_missing_grey_and_transparent_outside():
    grid = cp.commune_grid(SQUARES, width=200)
    png = cp.picture_png(grid, [1, -1, 0, 0], PALETTE, missing="#cccccc")
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    assert image.size == (200, grid.index.shape[0])
    pixels = np.asarray(image)
    for (lon, lat), colour in (((2.25, 48.25), (0xAA, 0x33, 0x00, 255)),
                               ((2.75, 48.25), (0xCC, 0xCC, 0xCC, 255)),
                               ((2.25, 43.25), (0xFF, 0xEE, 0xAA, 255))):
        row, col = pixel_of(grid, lon, lat)
        assert tuple(pixels[row, col]) == colour
    row, col = pixel_of(grid, 2.75, 45.0)
    assert pixels[row, col][3] == 0  # no commune: transparent
    # A feature that is not styled (None) is not drawn.
    unstyled = np.asarray(Image.open(io.BytesIO(
        cp.picture_png(grid, [None, 1, 0, 0], PALETTE))).convert("RGBA"))
    row, col = pixel_of(grid, 2.25, 48.25)
    assert unstyled[row, col][3] == 0


def test_numbers_picture_gives_the_feature_back():
    grid = cp.commune_grid(SQUARES, width=120)
    rgb = np.asarray(Image.open(io.BytesIO(cp.index_png(grid))).convert("RGB")).astype(np.int64)
    numbers = (rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2]) - 1
    assert np.array_equal(numbers, grid.index)


def test_only_france_by_commune_is_a_picture():
    frame = SQUARES.iloc[:3]
    view = ViewGeometry("k", "communes", frame, "", (2.0, 43.0, 3.0, 48.5), national=True)
    assert view.as_picture
    assert not ViewGeometry("k", "communes", frame, "", (2.0, 43.0, 3.0, 48.5),
                            national=False).as_picture
    assert not ViewGeometry("k", "departements", frame, "", (2.0, 43.0, 3.0, 48.5),
                            national=True).as_picture


def test_picture_url_is_a_static_file_named_by_its_content(tmp_path, monkeypatch):
    view = ViewGeometry("picture-test", "communes", SQUARES, "", (2.0, 43.0, 3.0, 48.5),
                        national=True)
    monkeypatch.setattr(cp, "GENERATED", tmp_path)
    monkeypatch.setattr(cp, "static_serving", lambda: True)
    first = cp.picture_url(view, [0, 1, -1, None], PALETTE)
    assert first.endswith(".png") and "/app/static/generated/img_" in first
    written = tmp_path / first.rsplit("/", 1)[1]
    assert Image.open(written).size[0] == cp.PICTURE_WIDTH
    assert cp.picture_url(view, [0, 1, -1, None], PALETTE) == first  # same colouring
    assert cp.picture_url(view, [1, 1, -1, None], PALETTE) != first
    assert cp.picture_url(view, [0, 1, -1, None], ["#000000", "#ffffff"]) != first
    assert len(list(tmp_path.glob("img_*.png"))) == 3
    assert not list(tmp_path.glob("*.part"))
    monkeypatch.setattr(cp, "static_serving", lambda: False)  # no static serving: inline
    assert cp.picture_url(view, [0, 1, -1, None], PALETTE).startswith("data:image/png;base64,")


def test_real_communes_of_france_each_found_at_a_point_inside(store):
    """All the communes of France (simplified outlines) at the app's width: a point inside a
    commune large enough for a pixel (over 2 pixels wide) reads that commune back."""
    frame = store.read("communes_grossier", columns=["code", "geometry"])
    frame = frame[frame["code"].str[:2] != "97"].reset_index(drop=True)  # mainland, Corsica
    grid = cp.commune_grid(frame)
    metres = frame.to_crs("EPSG:3857")
    west, south, east, north = grid.bounds
    x0, _ = MERCATOR.transform(west, north)
    x1, _ = MERCATOR.transform(east, south)
    pixel = (x1 - x0) / grid.index.shape[1]
    wide = metres.geometry.minimum_bounding_radius() > 2 * pixel
    sample = frame[wide.to_numpy()].sample(500, random_state=3)
    points = shapely.point_on_surface(sample.geometry.values)
    found = [grid.index[pixel_of(grid, p.x, p.y)] for p in points]
    hits = np.mean(np.asarray(found) == sample.index.to_numpy())
    assert hits >= 0.97, hits  # a point on the surface may sit on a pixel of a neighbour
    assert (grid.index >= 0).sum() > 0.3 * grid.index.size


def test_tooltips_script_holds_the_formatted_values_and_is_reused(tmp_path, monkeypatch):
    from ui.variables import Variable, format_series

    score = Variable("need:score", "Indice de besoin", "Besoin", "/100",
                     "Indice de besoin du projet (INSEE, Filosofi 2021).", palette="besoin")
    view = ViewGeometry("tips-test", "communes", SQUARES, "", (2.0, 43.0, 3.0, 48.5),
                        national=True)
    values = pd.Series([12.34, None, 56.0, 7.0], index=SQUARES["code"])
    monkeypatch.setattr(cp, "GENERATED", tmp_path)
    monkeypatch.setattr(cp, "static_serving", lambda: True)
    url, key = cp.tips_script(view, score, values)
    assert url == f"/app/static/generated/{key}.js"
    text = (tmp_path / f"{key}.js").read_text(encoding="utf-8")
    assert text.startswith("window.__diag_data")
    held = json.loads(text.strip().splitlines()[-1].split(" = ", 1)[1].rstrip(";"))
    assert held == format_series(values, score) and held[1] is None and "," in held[0]
    assert cp.tips_script(view, score, values) == (url, key)  # same values: same file
    assert cp.tips_script(view, score, values * 2)[1] != key
    monkeypatch.setattr(cp, "static_serving", lambda: False)
    assert cp.tips_script(view, score, values) is None  # the styler carries them


def test_grid_is_kept_on_disk_and_read_back(tmp_path, monkeypatch):
    real = cp.commune_grid
    monkeypatch.setattr(cp, "GENERATED", tmp_path)
    monkeypatch.setattr(cp, "PICTURE_WIDTH", 150)
    monkeypatch.setattr(cp, "commune_grid", lambda frame: real(frame, width=150))
    view = ViewGeometry("grid-test", "communes", SQUARES, "", (2.0, 43.0, 3.0, 48.5),
                        national=True)
    made = cp.view_grid.__wrapped__(view.key, view)
    saved = tmp_path / "grid_grid-test_150.npz"
    assert saved.exists() and made.index.shape[1] == 150
    monkeypatch.setattr(cp, "commune_grid", lambda frame: pytest.fail("communes burnt again"))
    again = cp.view_grid.__wrapped__(view.key, view)
    assert np.array_equal(again.index, made.index) and again.bounds == pytest.approx(made.bounds)
    saved.write_bytes(b"abime")  # a damaged file is made again, not an error
    monkeypatch.setattr(cp, "commune_grid", lambda frame: real(frame, width=150))
    assert np.array_equal(cp.view_grid.__wrapped__(view.key, view).index, made.index)
