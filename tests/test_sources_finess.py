"""FINESS shelters and supported housing as points (hand-made extract, published layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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


# -- the asylum family, capacities, the ANS feed -----------------------------------------------
FOLDER = FIXTURE.parent
EQUIPMENTS = FOLDER / "finess_etalab_cs1100505_equipements_fait_main.csv"
ANS_FEED = FOLDER / "finess_ans_structures_fait_main.json"


def test_cph_and_cada_are_kept_as_the_asylum_family(parsed):
    table = parsed.table.set_index("finess_id")
    assert table.at["930000037", "category"] == "442"
    assert table.at["930000037", "family"] == "asile"
    assert table.at["970100019", "family"] == "asile"  # 443 = CADA, not a CHU
    assert table.at["930000011", "family"] == "hebergement"
    assert table.at["930000029", "family"] == "pension_de_famille"
    assert table["family"].notna().all()


def test_equipment_capacities_summed_per_establishment():
    parsed = finess.parse_equipements(EQUIPMENTS)
    table = parsed.table.set_index("finess_id")
    # 40 + 12 installed; the third equipment (8 places) is flagged removed (indsupinst = O).
    assert table.at["930000011", "capacity_installed"] == 52
    assert table.at["930000011", "capacity_authorised"] == 57
    assert table.at["930000011", "equipments"] == 3
    assert table.at["970100019", "capacity_authorised"] == 90
    # A line too short for the authorised capacity: installed read, authorised missing.
    assert table.at["930000037", "capacity_installed"] == 30
    assert np.isnan(table.at["930000037", "capacity_authorised"])
    # « douze » is not a number: missing, not zero, and said.
    assert np.isnan(table.at["010000037", "capacity_installed"])
    motifs = parsed.rejects.frame()
    assert (motifs["valeur"] == "douze").any()
    assert motifs["motif"].str.contains("type inconnu").any()
    assert parsed.notes["date_extraction"] == "2026-05-04"


def test_equipment_file_of_another_kind_is_refused(tmp_path):
    path = tmp_path / "etalab.csv"
    path.write_text("finess;etalab;1;2026-01-01\nstructureet;1;2\n", encoding="utf-8")
    with pytest.raises(ParseError, match="equipementsocial"):
        finess.parse_equipements(path)


def test_ans_json_feed_active_establishments_as_points():
    parsed = finess.parse_ans_json(ANS_FEED)
    table = parsed.table.set_index("finess_id")
    assert set(table.index) == {"930000011", "930000037", "690000012", "010000037"}
    assert "930000045" not in table.index  # closed CADA (etatObjet I, dateFermeture)
    assert "930000052" not in table.index  # EHPAD, out of scope
    assert table.at["930000037", "family"] == "asile"
    assert table.at["010000037", "code"] == "01004"  # "1004": leading zero restored
    point = table.at["930000011", "geometry"]
    assert (point.x, point.y) == pytest.approx((2.3574, 48.9362))  # latitude / longitude
    assert not table.at["690000012", "geolocated"] and table.at["690000012", "geometry"] is None
    assert parsed.rejects.frame()["motif"].str.contains("sans coordonnées").sum() == 1
    assert parsed.notes["etablissements_lus"] == 6


def test_ans_json_not_a_feed(tmp_path):
    path = tmp_path / "finess.json"
    path.write_text('{"structures": []}', encoding="utf-8")
    with pytest.raises(ParseError, match="pmej"):
        finess.parse_ans_json(path)
    path.write_text("{pas du json", encoding="utf-8")
    with pytest.raises(ParseError, match="JSON illisible"):
        finess.parse_ans_json(path)
