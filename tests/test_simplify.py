"""Display geometries: shared borders stay shared, nothing vanishes, sizes fit the targets."""

from __future__ import annotations

import geopandas as gpd
import shapely

import settings


def test_levels_exist_with_all_communes(store, communes):
    for level in settings.SIMPLIFY_LEVELS_M:
        simple = store.read(f"communes_{level}")
        assert len(simple) == 34_875
        present = simple[simple.geometry.notna()]
        assert len(present) == communes.geometry.notna().sum()  # no commune vanished
        assert not present.geometry.is_empty.any()
        assert present.geometry.is_valid.mean() > 0.999


def test_coarser_levels_have_fewer_vertices(store):
    counts = {
        level: int(shapely.get_num_coordinates(store.read(f"communes_{level}").geometry.values).sum())
        for level in settings.SIMPLIFY_LEVELS_M
    }
    assert counts["fin"] > counts["moyen"] > counts["grossier"]


def test_neighbours_still_share_their_border(store):
    """No gaps or slivers: the coverage of a département is valid after simplification."""
    simple = store.read("communes_moyen")
    for dep in ["59", "23", "2A"]:
        part = simple[simple["dep_code"] == dep].to_crs(settings.CRS_METRIC)
        invalid = shapely.coverage_invalid_edges(part.geometry.values)
        assert shapely.is_empty(invalid).all(), dep
        # Lille and Lomme/Lambersart touch along a line, not a point or a gap.
    lille = simple.set_index("code").loc["59350"].geometry
    lambersart = simple.set_index("code").loc["59328"].geometry
    assert lille.intersection(lambersart).length > 0.001


def test_small_communes_keep_their_shape(store, communes):
    """The smallest communes (Castelmoron-d'Albret, Plaine-de-Walsch…) do not collapse."""
    smallest = communes.nsmallest(20, "area_km2")
    simple = store.read("communes_moyen").set_index("code").loc[smallest["code"]]
    assert not simple.geometry.is_empty.any()
    area_ratio = (
        gpd.GeoSeries(simple.geometry.values, crs=4326).to_crs(2154).area.values / 1e6
        / smallest["area_km2"].values
    )
    assert (area_ratio > 0.5).all(), area_ratio.round(2)
    coarse = store.read("communes_grossier").set_index("code").loc[smallest["code"]]
    assert not coarse.geometry.is_empty.any() and (shapely.area(coarse.geometry.values) > 0).all()


def test_geojson_sizes_meet_targets(store):
    coarse = store.read("communes_grossier")
    size_all = len(coarse[["code", "name", "geometry"]].to_json(drop_id=True).encode())
    assert size_all <= 15_000_000
    medium = store.read("communes_moyen")
    size_dep = len(medium[medium["dep_code"] == "59"][["code", "name", "geometry"]].to_json().encode())
    assert size_dep <= 500_000
