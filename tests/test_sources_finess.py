"""FINESS shelters and supported housing as points (hand-made extract, published layout)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyproj import Transformer

from connectors.parsing import ParseError
from connectors.refresh import Reference, recode
from connectors.sources import finess

FIXTURE = Path(__file__).parent / "fixtures" / "sources" / "finess_etalab_cs1100507_fait_main.csv"


@pytest.fixture(scope="module")
def parsed():
    return finess.parse(FIXTURE)


def test_categories_codes_and_extraction_date(parsed):
    table = parsed.table.set_index("finess_id")
    assert set(table["category"]) <= set(finess.CATEGORIES)
    assert "750000018" not in table.index  # EHPAD, out of scope
    assert table.at["930000011", "code"] == "93066"
    assert table.at["970100019", "code"] == "97101"  # "9A" + "101"
    assert table.at["2A0000013", "code"] == "2A004"
    assert table.at["930000011", "category_label"].startswith("Centre Hébergement")
    assert table.at["970100019", "category_label"] == finess.CATEGORIES["443"]  # none in file
    assert parsed.notes["date_extraction"] == "2026-05-04"


def test_coordinates_reprojected_from_the_named_projection(parsed):
    table = parsed.table.set_index("finess_id")
    for finess_id, crs, x, y in [("010000037", "EPSG:2154", 870262.2, 6571540.8),
                                 ("970100019", "EPSG:5490", 657242.9, 1795384.4)]:
        lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
        point = table.at[finess_id, "geometry"]
        assert table.at[finess_id, "source_crs"] == crs
        assert point.x == pytest.approx(lon) and point.y == pytest.approx(lat)
    assert table.at["930000029", "source_crs"] == "EPSG:2154"  # "LAMBERT_93" keyword


def test_no_coordinates_kept_and_reported(parsed):
    table = parsed.table.set_index("finess_id")
    for finess_id in ["690000012", "010000052"]:
        assert not table.at[finess_id, "geolocated"]
        assert table.at[finess_id, "geometry"] is None
    motifs = parsed.rejects.frame()
    assert (motifs["motif"].str.contains("sans coordonnées")).sum() == 2
    assert motifs["motif"].str.contains("9 champs au lieu de 32").any()


def test_crs_of():
    assert finess.crs_of("2,ATLASANTE,100,BDADRESSE,EPSG:4471 RGM04/UTM zone 38S") == "EPSG:4471"
    assert finess.crs_of("1,ATLASANTE,100,IGN,BD_ADRESSE,V2.2,UTM_N22") == "EPSG:2972"
    assert finess.crs_of("", "9D") == "EPSG:2975"  # Réunion by département
    assert finess.crs_of("", "01") == "EPSG:2154"


def test_lyon_arrondissement_recoded(parsed, store):
    table, unmatched, recoded = recode(parsed.table, Reference.from_store(store))
    by_id = table.set_index("finess_id")
    assert by_id.at["690000012", "code"] == "69123"
    assert by_id.at["690000012", "code_source"] == "69388"
    assert by_id.at["930000029", "code"] == "93066"
    assert recoded == 2 and len(unmatched) == 0


def test_not_a_finess_file(tmp_path):
    path = tmp_path / "etalab.csv"
    path.write_text("a;b\n1;2\n", encoding="utf-8")
    with pytest.raises(ParseError, match="structureet"):
        finess.parse(path)
