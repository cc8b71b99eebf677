"""``Store.read(..., codes=...)`` keeps the same rows as filtering the national frame after
reading, without building it (the report reads a territory's communes this way)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from geodata.store import Store


def _store(tmp_path: Path) -> Store:
    store = Store(tmp_path)
    codes = ["01001", "2A004", "59350", "23001", "59350", "97101"]
    geo = gpd.GeoDataFrame(
        {"code": codes, "name": list("abcdef"), "population": [1, 2, 3, 4, 5, None]},
        geometry=[Point(i, i) for i in range(len(codes))], crs="EPSG:4326")
    geo.to_parquet(store.path("communes"))
    pd.DataFrame({"code": [1001, 59350], "value": [1.0, 2.0]}).to_parquet(store.path("numeric"))
    return store


def test_geo_read_with_codes_equals_filter_after_read(tmp_path: Path) -> None:
    store = _store(tmp_path)
    wanted = ["59350", "2A004", "99999"]
    full = store.read("communes")
    expected = full[full["code"].isin(wanted)].reset_index(drop=True)
    got = store.read("communes", codes=wanted)
    assert isinstance(got, gpd.GeoDataFrame)
    assert got.crs == full.crs
    assert got.reset_index(drop=True).equals(expected)
    assert got["code"].tolist() == ["2A004", "59350", "59350"]  # file order, duplicates kept


def test_plain_read_with_codes_and_columns(tmp_path: Path) -> None:
    store = _store(tmp_path)
    got = store.read_frame("communes", columns=["code", "population"], codes=["97101", "01001"])
    assert got["code"].tolist() == ["01001", "97101"]
    assert got["population"].isna().tolist() == [False, True]
    assert store.read("communes", columns=["code", "name"], codes=[]).empty


def test_non_text_code_is_not_filtered_while_reading(tmp_path: Path) -> None:
    # A numeric ``code`` column cannot be compared with text codes: read whole, caller filters.
    store = _store(tmp_path)
    assert len(store.read_frame("numeric", codes=["59350"])) == 2
