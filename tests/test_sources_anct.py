"""ANCT layers: QPV 2024 per commune, programmes, typologies, ORT (real files)."""

from __future__ import annotations

import csv
import json

import pytest

from connectors.builders import get_source
from connectors.refresh import Reference, carry_commune_table
from connectors.sources import anct


@pytest.fixture(scope="module")
def anct_dir(shared_data):
    return shared_data / "anct"


def test_qpv_per_commune(anct_dir):
    path = anct_dir / "qpv2024_communes_centroides.geojson"
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    parsed = anct.parse_qpv_communes(path)
    table = parsed.table.set_index("code")
    assert len(table) == len(features) == 824
    for feature in features[:50]:
        props = feature["properties"]
        codes = [c.strip() for c in props["code_qp"].split(",")]
        assert table.at[props["insee_com"], "qpv_count"] == len(codes)
        assert table.at[props["insee_com"], "qpv_codes"] == ", ".join(codes)
    assert table.at["01053", "qpv_count"] == 2  # "QN00101M, QN00102M" in the file


def test_qpv_list_is_exhaustive_after_carry(anct_dir, store):
    parsed = anct.parse_qpv_communes(anct_dir / "qpv2024_communes_centroides.geojson")
    reference = Reference.from_store(store)
    carried, _ = carry_commune_table(parsed.table, get_source("qpv2024_communes"), reference)
    assert len(carried) == len(reference.current_codes)
    table = carried.set_index("code")
    assert table.at["01001", "qpv_count"] == 0  # absent from the list: no QPV
    assert table["qpv_count"].sum() == parsed.table["qpv_count"].sum()


def test_programmes_booleans_match_non_empty_cells(anct_dir):
    path = anct_dir / "programmes_anct_cog2023.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        raw = {row["insee_com"]: row for row in csv.DictReader(handle)}
    parsed = anct.parse_programmes(path)
    table = parsed.table.set_index("code")
    assert len(table) == len(raw) == 35_039
    for column, variable in [("programme_pvd", "id_pvd"), ("programme_acv", "id_acv"),
                             ("programme_france_services", "id_fs")]:
        expected = sum(bool(row[variable].strip()) for row in raw.values())
        assert int(table[column].sum()) == expected
    assert bool(table.at["01004", "programme_acv"]) is True  # "acv-008"
    assert bool(table.at["01001", "programme_acv"]) is False


def test_programmes_carry_keeps_overseas_collectivities_unmatched(anct_dir, store):
    parsed = anct.parse_programmes(anct_dir / "programmes_anct_cog2023.csv")
    carried, report = carry_commune_table(parsed.table, get_source("anct_programmes"),
                                          Reference.from_store(store))
    # Saint-Pierre-et-Miquelon, Saint-Martin, Polynésie … are not communes of the COG list:
    # kept in the report, never dropped silently.
    assert {"97501", "98735"} <= set(report.unmatched["code"])
    # Every row is accounted for.
    assert report.rows_in == len(parsed.table) == (
        report.unchanged + report.recoded + report.merged + len(report.unmatched)
        + report.arrondissements_redundant
    )
    assert len(carried) == report.unchanged + report.recoded + len(report.merged_codes)
    assert str(carried["programme_pvd"].dtype) == "boolean"


def test_typologies_strip_padding_and_mountain_fill(anct_dir, store):
    rural = anct.parse_ruralite(anct_dir / "anct_grille_ruralite.csv").table.set_index("code")
    assert rural.at["01001", "rural_typology"] == "Les ruralités résidentielles mixtes"
    central = anct.parse_centralite(anct_dir / "anct_grille_centralite.csv").table
    assert len(central) == 34_875
    mountain = anct.parse_montagne(anct_dir / "anct_grille_montagne.csv")
    assert len(mountain.table) == 8_594
    carried, _ = carry_commune_table(mountain.table, get_source("anct_montagne"),
                                     Reference.from_store(store))
    table = carried.set_index("code")
    assert bool(table.at["01001", "mountain"]) is False  # not in the list
    assert bool(table.at["01002", "mountain"]) is True
    assert table.at["01002", "mountain_massif"] == "02 - Massif du Jura"


def test_ort(shared_data):
    path = shared_data / "context" / "ort.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        raw = list(csv.DictReader(handle))
    parsed = anct.parse_ort(path)
    table = parsed.table.set_index("code")
    assert len(table) == len(raw)
    assert int(table["ort_signed"].sum()) == sum(r["Signée ?"] == "Signée" for r in raw)
    assert table.at["29019", "ort_signature_date"] == "2020-06-23"
