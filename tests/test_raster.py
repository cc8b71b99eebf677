"""Rasters: georeferencing read back from the GeoTIFF, distances, floating-catchment surface,
zonal statistics; and the accessibility raster of a real territory."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from pyproj import Transformer

from geodata import raster
from models import decay
from models import gap as g

L93 = "EPSG:2154"


def test_grid_is_aligned_on_whole_kilometres():
    grid = raster.grid_for_bounds((652_123.4, 6_861_500.2, 655_900.0, 6_863_999.0), 1000)
    assert (grid.x_min, grid.y_max, grid.width, grid.height) == (652_000, 6_864_000, 4, 3)
    assert grid.bounds == (652_000, 6_861_000, 656_000, 6_864_000)
    with pytest.raises(raster.RasterError, match="Emprise invalide"):
        raster.grid_for_bounds((1, 1, 0, 0))


def test_known_point_lands_in_the_right_pixel_and_georeferencing_reads_back(tmp_path):
    # Notre-Dame de Paris (2.349902 E, 48.852968 N) is at about x 652 300, y 6 861 630 in
    # Lambert-93: on a grid starting at (600 000, 6 900 000) it is in column 52, row 38.
    x, y = Transformer.from_crs("EPSG:4326", L93, always_xy=True).transform(2.349902, 48.852968)
    assert 652_000 <= x < 653_000 and 6_861_000 <= y < 6_862_000
    grid = raster.grid_for_bounds((600_000, 6_800_000, 700_000, 6_900_000), 1000, L93)
    assert grid.index(x, y) == (38, 52)
    distance = raster.nearest_distance(grid, np.array([[x, y]]))
    mask = np.ones(grid.shape, dtype=bool)
    mask[0, 0] = False
    distance[~mask] = np.nan
    path = raster.write_geotiff(
        tmp_path / "acces.tif", {"distance": distance}, grid,
        descriptions={"distance": "Distance (m)"}, tags={"source": "test fait main"},
    )
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 2154
        assert src.transform == grid.transform
        assert src.transform.a == 1000 and src.transform.e == -1000
        assert (src.transform.c, src.transform.f) == (600_000, 6_900_000)
        assert src.nodata == raster.DEFAULT_NODATA
        assert src.descriptions == ("Distance (m)",)
        assert src.tags()["source"] == "test fait main"
        assert src.index(x, y) == (38, 52)
        band = src.read(1, masked=True)
        assert band.mask[0, 0]  # NaN written as nodata
        row, col = np.unravel_index(np.argmin(band), band.shape)
        assert (row, col) == (38, 52)
        # Distance from that pixel's centre, by hand.
        assert band[38, 52] == pytest.approx(np.hypot(652_500 - x, 6_861_500 - y), abs=0.01)
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write left no temporary file


def test_floating_catchment_surface_by_hand():
    grid = raster.grid_for_bounds((0, 0, 5000, 1000), 1000)  # 5 pixels in a row
    centres_x = np.array([500, 1500, 2500, 3500, 4500])
    catchment = np.full(grid.shape, 1500.0)
    surface = raster.floating_catchment_surface(
        grid, np.array([[500.0, 500.0]]), np.array([0.5]), catchment, decay.uniform
    )
    expected = np.where(np.abs(centres_x - 500) <= 1500, 0.5, 0.0)
    assert surface[0].tolist() == pytest.approx(expected.tolist())


def hand_made_raster(tmp_path):
    """4×4 pixels of 1 km, values 1..16, one nodata pixel (hand-made)."""
    grid = raster.grid_for_bounds((700_000, 6_600_000, 704_000, 6_604_000), 1000, L93)
    values = np.arange(1, 17, dtype=float).reshape(4, 4)
    values[0, 0] = np.nan
    return raster.write_geotiff(tmp_path / "valeurs_fait_main.tif", {"v": values}, grid), values


def test_zonal_stats_by_hand(tmp_path):
    path, values = hand_made_raster(tmp_path)
    zones = gpd.GeoDataFrame(
        {"code": ["ouest", "est", "minuscule"]},
        geometry=[
            shapely.box(700_000, 6_600_000, 702_000, 6_604_000),
            shapely.box(702_000, 6_600_000, 704_000, 6_604_000),
            shapely.box(703_100, 6_600_100, 703_300, 6_600_300),  # smaller than a pixel
        ],
        crs=L93,
    ).to_crs("EPSG:4326")  # any CRS: reprojected to the raster's
    stats = raster.zonal_stats(path, zones).set_index("code")
    west = values[:, :2][~np.isnan(values[:, :2])]
    east = values[:, 2:].ravel()
    assert stats.loc["ouest", "count"] == 7  # the nodata pixel is ignored
    assert stats.loc["ouest", "mean"] == pytest.approx(west.mean())
    assert stats.loc["ouest", "sum"] == pytest.approx(west.sum())
    assert stats.loc["est", "min"] == east.min() and stats.loc["est", "max"] == east.max()
    assert stats.loc["est", "std"] == pytest.approx(east.std())
    assert stats.loc["minuscule", "method"] == "point représentatif"
    assert stats.loc["minuscule", "mean"] == values[3, 3]
    with pytest.raises(raster.RasterError, match="inconnues"):
        raster.zonal_stats(path, zones, stats=["median"])


@pytest.fixture(scope="module")
def creuse_model(store):
    communes = pd.read_parquet(store.path("communes"))
    creuse = communes[communes["dep_code"] == "23"]
    population = creuse["population"].astype(float).to_numpy()
    need = pd.DataFrame({"code": creuse["code"], "need_households": population * 0.02})
    sites = pd.DataFrame({
        "site_id": ["a", "b", "c"], "commune_code": ["23096", "23079", "23176"],
        "offer_type": ["pension de famille", "chrs", "pension de famille"],
        "capacity": [25, 30, 10], "status": "ouvert",
    })
    inputs = g.GapInputs(communes=creuse, need=need,
                         households=pd.Series(population / 2, index=creuse["code"]), sites=sites)
    geo = gpd.read_parquet(store.path("communes"), columns=["code", "geometry"],
                           filters=[("dep_code", "=", "23")])
    return g.GapModel(inputs), geo


def test_accessibility_raster_of_a_territory(creuse_model, tmp_path):
    model, geo = creuse_model
    codes = geo["code"].tolist()
    path = g.write_accessibility_raster(tmp_path / "creuse.tif", model, geo, codes)
    names = [f"distance_{t}" for t in model.types] + ["ratio"]
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 2154 and src.res == (1000.0, 1000.0)
        assert src.transform.c % 1000 == 0 and src.transform.f % 1000 == 0
        assert [src.tags(i + 1)["name"] for i in range(src.count)] == names
        assert "E2SFCA" in src.tags()["methode"]
        pension = src.read(1, masked=True)
        hebergement = src.read(names.index("distance_hebergement") + 1, masked=True)
        ratio = src.read(src.count, masked=True)
        # The pixel holding Guéret's representative point is nearest to its pension de famille.
        x, y = model.locations.x[model.positions(["23096"])[0]], model.locations.y[
            model.positions(["23096"])[0]]
        row, col = src.index(x, y)
        assert pension[row, col] <= 710  # at most half a pixel's diagonal
        assert hebergement.max() > pension[row, col]
        assert src.read(names.index("distance_diffus") + 1, masked=True).mask.all()  # none
        assert ratio.min() >= 0 and np.isfinite(ratio.compressed()).all()
        assert ratio.mask[0, 0] or ratio.mask[-1, -1]  # outside the territory: nodata
    stats = raster.zonal_stats(path, geo, band=len(names)).set_index("code")
    frame = model.frame(codes).set_index("code")
    # A commune's mean pixel ratio follows its commune-level access (same providers, same
    # decay, distances from pixels instead of the representative point).
    total = frame[[f"access_{t}" for t in g.acc.load_config()["gap"]["total_types"]]].sum(axis=1)
    correlation = np.corrcoef(stats["mean"].reindex(total.index), total)[0, 1]
    assert correlation > 0.8
