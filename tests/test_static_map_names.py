"""Names of the main communes on the report's maps (issue « chiffres qui s'accordent »: a map
a meeting can read names its main communes). Hand-made squares in a metric CRS."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from diagnostics.static_maps import main_communes, map_base, render_map
from tests.test_app_pages import need_ready  # noqa: F401


def _communes(populations: list[float | None], step: float = 10_000) -> gpd.GeoDataFrame:
    """One 9 km square per commune in a row, 10 km apart (Lambert-93)."""
    geometry = [box(i * step, 0, i * step + 9_000, 9_000) for i in range(len(populations))]
    return gpd.GeoDataFrame({
        "code": [f"0000{i}" for i in range(len(populations))],
        "name": [f"Commune {i}" for i in range(len(populations))],
        "population": pd.array(populations, dtype="Float64"),
    }, geometry=geometry, crs="EPSG:2154")


def test_the_most_populous_come_first_and_spread_out():
    communes = _communes([500, 90_000, 80_000, 300, 20_000, None])
    bounds = (0.0, 0.0, 60_000.0, 9_000.0)  # a tenth of the width: 6 km, communes 10 km apart
    names = [name for _, _, name in main_communes(communes, bounds, count=3)]
    assert names == ["Commune 1", "Commune 2", "Commune 4"]
    # Wider frame: neighbours closer than a tenth of its width are skipped.
    wide = (0.0, 0.0, 300_000.0, 9_000.0)  # 30 km: communes 1 and 2 are 10 km apart
    names = [name for _, _, name in main_communes(communes, wide, count=3)]
    assert names == ["Commune 1", "Commune 4"]  # 4 is 30 km from 1; 2 and 0, 3 too close


def test_each_name_sits_inside_its_commune():
    communes = _communes([1_000, 2_000, 3_000])
    for x, y, name in main_communes(communes, (0.0, 0.0, 30_000.0, 9_000.0), count=3):
        row = communes[communes["name"] == name].iloc[0]
        assert row.geometry.contains(gpd.points_from_xy([x], [y])[0])


def test_no_population_no_names():
    communes = _communes([1_000, 2_000]).drop(columns="population")
    assert main_communes(communes, (0.0, 0.0, 20_000.0, 9_000.0)) == []
    assert main_communes(_communes([None, None]), (0.0, 0.0, 20_000.0, 9_000.0)) == []


def test_a_map_with_names_is_drawn(tmp_path):
    from diagnostics.document import MapSpec

    communes = _communes([5_000, 40_000, 1_000]).to_crs("EPSG:4326")
    communes["metric_crs"] = "EPSG:2154"
    base = map_base(communes, communes.iloc[0:0])
    assert [name for _, _, name in base.labels] == ["Commune 1", "Commune 0", "Commune 2"][
        :len(base.labels)]
    spec = MapSpec(key="essai", title="Essai", legend_title="Essai",
                   colours=pd.Series({"00000": "#fee5d9", "00001": "#a50f15"}),
                   legend=[("faible", "#fee5d9"), ("fort", "#a50f15")], source="essai")
    png = render_map(spec, base)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    assert np.isfinite([x for x, _, _ in base.labels]).all()


# -- the app's maps ------------------------------------------------------------------------------
def test_spread_largest_on_kilometres():
    from geodata.main_places import lonlat_to_km, spread_largest

    frame = pd.DataFrame({"code": ["a", "b", "c", "d"], "population": [100, 5_000, 4_000, None],
                          "lon": [2.00, 2.35, 2.36, 2.50], "lat": [46.0, 46.0, 46.0, 46.0]})
    x, y = lonlat_to_km(frame["lon"], frame["lat"])
    assert abs((x[2] - x[1]) - 0.01 * 111.32 * np.cos(np.deg2rad(46.0))) < 1e-6  # about 770 m
    chosen = spread_largest(frame.assign(x=x, y=y), spacing=5.0)
    assert chosen["code"].tolist() == ["b", "a"]  # c is 770 m from b; d has no population


def test_the_territory_map_names_its_main_communes(need_ready):  # noqa: F811
    from tests.test_app_pages import folium_args, run_app

    at = run_app({"territoire": "dep:23"}, "carte")
    script = folium_args(at, 0)["script"]
    assert script.count("diag-nom") >= 5
    assert "Aubusson" in script
    assert "Guéret" in script or "Gu\\u00e9ret" in script  # folium escapes accents in its JS
    assert "pointer-events:none" in script  # a click on a name reaches the commune beneath
