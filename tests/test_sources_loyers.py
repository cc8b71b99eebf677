"""Carte des loyers (ANIL / DHUP): four hand-made files with the published layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from connectors.builders import get_source
from connectors.parsing import SchemaError
from connectors.refresh import Reference, carry_commune_table
from connectors.sources import loyers

FOLDER = Path(__file__).parent / "fixtures" / "sources"


def test_decimal_comma_and_columns():
    parsed = loyers.parse(FOLDER / "pred-app-mef-dhup_fait_main.csv", "app")
    table = parsed.table.set_index("code")
    assert table.at["93066", "rent_m2_app"] == 17.85
    assert table.at["93066", "rent_m2_low_app"] == 16.2
    assert table.at["93066", "rent_m2_high_app"] == 19.6
    assert table.at["93066", "rent_level_app"] == "commune"
    assert table.at["93066", "rent_observations_app"] == 420
    assert "01053" in table.index  # "1053": leading zero restored
    assert np.isnan(table.at["07186", "rent_m2_app"])  # 0 €/m²: not a rent, reported
    assert parsed.rejects.frame()["motif"].str.contains("nul ou négatif").any()


@pytest.mark.parametrize("source_id, kind", [
    ("loyers_appartements", "app"), ("loyers_maisons", "mai"),
    ("loyers_appartements_t1_t2", "app12"), ("loyers_appartements_t3_plus", "app3"),
])
def test_four_files_registered(source_id, kind):
    parsed = get_source(source_id).parse(FOLDER / f"pred-{kind}-mef-dhup_fait_main.csv")
    assert f"rent_m2_{kind}" in parsed.table.columns
    assert parsed.table[f"rent_m2_{kind}"].notna().any()


def test_arrondissements_weighted_by_observations(store):
    parsed = loyers.parse(FOLDER / "pred-app-mef-dhup_fait_main.csv", "app")
    carried, _ = carry_commune_table(parsed.table, get_source("loyers_appartements"),
                                     Reference.from_store(store))
    table = carried.set_index("code")
    assert table.at["75056", "rent_m2_app"] == pytest.approx((30.10 * 900 + 31.30 * 1100) / 2000)
    assert table.at["93066", "rent_m2_app"] == pytest.approx((17.85 * 420 + 15.95 * 140) / 560)


def test_missing_rent_column(tmp_path):
    text = (FOLDER / "pred-app-mef-dhup_fait_main.csv").read_bytes().decode("cp1252")
    path = tmp_path / "pred-app-mef-dhup.csv"
    path.write_bytes(text.replace("loypredm2", "loyer").encode("cp1252"))
    with pytest.raises(SchemaError, match="loypredm2"):
        loyers.parse(path, "app")
