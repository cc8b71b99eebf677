"""Local store: round trip, manifests, atomic writes, skipped rebuilds."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geodata import store as store_module
from geodata.store import Manifest, Store, StoreError


def _manifest(**kwargs) -> Manifest:
    base = dict(dataset="", source="test", producer="INSEE", vintage="2021", input_sha256="abc")
    base.update(kwargs)
    return Manifest(**base)


def _frame(n: int = 3) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"code": [f"{i:05d}" for i in range(1, n + 1)], "value": [float(i) for i in range(n)]},
        geometry=[shapely.Point(i, i) for i in range(n)],
        crs="EPSG:4326",
    )


def test_round_trip_keeps_codes_geometry_and_manifest(tmp_path):
    store = Store(tmp_path)
    frame = _frame()
    frame.loc[1, "value"] = float("nan")
    store.write("demo", frame, _manifest(url="https://example.org/f.csv"))
    back = store.read("demo")
    assert isinstance(back, gpd.GeoDataFrame)
    assert back.crs.to_epsg() == 4326
    assert list(back["code"]) == ["00001", "00002", "00003"]
    assert back["value"].isna().tolist() == [False, True, False]
    manifest = store.manifest("demo")
    assert manifest.rows == 3 and manifest.dataset == "demo" and manifest.url == "https://example.org/f.csv"
    assert manifest.licence.startswith("Licence Ouverte")
    assert (tmp_path / "demo.manifest.json").exists()
    only_codes = store.read("demo", columns=["code"])
    assert list(only_codes.columns) == ["code"] and not isinstance(only_codes, gpd.GeoDataFrame)


def test_plain_table_round_trip(tmp_path):
    store = Store(tmp_path)
    store.write("plain", pd.DataFrame({"code": ["2A004"], "n": [pd.NA]}).astype({"n": "Int64"}), _manifest())
    back = store.read("plain")
    assert back["code"].iat[0] == "2A004" and back["n"].isna().all()


def test_missing_dataset_has_french_error(tmp_path):
    with pytest.raises(StoreError, match="make data"):
        Store(tmp_path).read("absent")


def test_is_fresh_skips_rebuild_only_for_same_inputs(tmp_path):
    store = Store(tmp_path)
    store.write("demo", _frame(), _manifest(input_sha256="sha-1", builder_version="2"))
    assert store.is_fresh("demo", "sha-1", "2")
    assert not store.is_fresh("demo", "sha-2", "2")
    assert not store.is_fresh("demo", "sha-1", "3")
    assert not store.is_fresh("other", "sha-1", "2")


def test_write_interrupted_half_way_keeps_previous_version(tmp_path, monkeypatch):
    store = Store(tmp_path)
    store.write("demo", _frame(3), _manifest(vintage="2020"))

    def crash(path, manifest):
        # The new data is half-written in the temporary file when the process dies.
        with open(path, "r+b") as handle:
            handle.truncate(os.path.getsize(path) // 2)
        raise KeyboardInterrupt("coupure simulée")

    monkeypatch.setattr(store_module, "_embed_manifest", crash)
    with pytest.raises(KeyboardInterrupt):
        store.write("demo", _frame(10), _manifest(vintage="2021"))
    back = store.read("demo")
    assert len(back) == 3
    assert store.manifest("demo").vintage == "2020"
    assert not list(tmp_path.glob(".demo.*.tmp"))  # no temporary file left behind


def test_process_killed_during_write_keeps_previous_version(tmp_path):
    """A real crash: the writing process is killed with SIGKILL in the middle of the write."""
    store = Store(tmp_path)
    store.write("big", _frame(3), _manifest(vintage="ancien"))
    script = textwrap.dedent(
        f"""
        import os, signal
        import geopandas as gpd, shapely
        from geodata import store as sm
        def die(path, manifest):
            os.kill(os.getpid(), signal.SIGKILL)
        sm._embed_manifest = die
        frame = gpd.GeoDataFrame({{"code": ["x"] * 1000}},
            geometry=[shapely.Point(0, 0)] * 1000, crs="EPSG:4326")
        sm.Store({str(tmp_path)!r}).write("big", frame, sm.Manifest("", "s", "p", "nouveau"))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd())
    assert result.returncode != 0
    assert len(store.read("big")) == 3
    assert store.manifest("big").vintage == "ancien"
