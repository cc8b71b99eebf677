"""INSEE base du comparateur de territoires, on the real file."""

from __future__ import annotations

import csv

import pytest

from connectors.builders import get_source
from connectors.parsing import SchemaError
from connectors.refresh import Reference, carry_commune_table
from connectors.sources import comparateur


@pytest.fixture(scope="module")
def path(shared_data):
    return shared_data / "insee" / "comparateur" / "base_cc_comparateur.CSV"


@pytest.fixture(scope="module")
def raw(path):
    with open(path, encoding="ascii", newline="") as handle:
        return {row["CODGEO"]: row for row in csv.DictReader(handle, delimiter=";")}


@pytest.fixture(scope="module")
def parsed(path):
    return comparateur.parse(path)


def test_rows_arrondissements_and_values(parsed, raw):
    table = parsed.table.set_index("code")
    assert len(table) == len(raw) == 35_010
    assert sum(code.startswith(("751", "6938", "132")) and code not in ("75056", "13055")
               for code in table.index) >= 45
    assert parsed.notes["millesime_recensement"] == 2018
    assert parsed.columns["dwellings"] == "P18_LOG"
    for code in ["01001", "2A004", "75101"]:
        for column, variable in [("dwellings", "P18_LOG"), ("vacant_dwellings", "P18_LOGVAC"),
                                 ("unemployed_15_64", "P18_CHOM1564"), ("area_km2", "SUPERF")]:
            assert table.at[code, column] == float(raw[code][variable])


def test_year_suffix_matched_by_pattern(path, tmp_path):
    """A later edition renames P18_* into P21_*: same stored columns, year noted."""
    lines = path.read_text(encoding="ascii").splitlines()[:20]
    renamed = tmp_path / "base_cc_comparateur.CSV"
    renamed.write_text("\n".join([lines[0].replace("P18_", "P21_"), *lines[1:]]))
    parsed = comparateur.parse(renamed)
    assert parsed.notes["millesime_recensement"] == 2021
    assert parsed.columns["dwellings"] == "P21_LOG"
    missing = tmp_path / "sans_log.CSV"
    missing.write_text("\n".join([lines[0].replace("P18_LOGVAC", "P18_VACANTS"), *lines[1:]]))
    with pytest.raises(SchemaError, match="P<aa>_LOGVAC"):
        comparateur.parse(missing)


def test_carry_uses_communes_not_arrondissements_and_derives_rates(parsed, raw, store):
    carried, report = carry_commune_table(parsed.table, get_source("comparateur"),
                                          Reference.from_store(store))
    assert report.arrondissements_redundant == 45
    derived = comparateur.derive(carried).set_index("code")
    assert derived.at["75056", "dwellings"] == float(raw["75056"]["P18_LOG"])
    paris = raw["75056"]
    assert derived.at["75056", "unemployment_rate"] == pytest.approx(
        100 * float(paris["P18_CHOM1564"]) / float(paris["P18_ACT1564"])
    )
    merged = derived.loc["93066"]
    assert merged["dwellings"] == pytest.approx(
        float(raw["93066"]["P18_LOG"]) + float(raw["93059"]["P18_LOG"])
    )
    assert merged["vacancy_rate"] == pytest.approx(
        100 * merged["vacant_dwellings"] / merged["dwellings"]
    )
