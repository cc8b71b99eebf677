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


def _truncate(path, share: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * share)])


def test_truncated_dataset_names_the_file_and_the_command(tmp_path):
    store = Store(tmp_path)
    for name in ("need_index", "communes_moyen", "filosofi_2021_com"):
        store.write(name, _frame(), _manifest())
        _truncate(store.path(name))
    store.write("filosofi_2021_com_rejects", _frame(), _manifest(extra={"of": "filosofi_2021_com"}))
    _truncate(store.path("filosofi_2021_com_rejects"))
    expected = {
        "need_index": "python -m models build",
        "communes_moyen": "python -m geodata build",
        "filosofi_2021_com": "python -m connectors refresh --source filosofi_2021_com",
        "filosofi_2021_com_rejects": "python -m connectors refresh --source filosofi_2021_com",
    }
    for name, command in expected.items():
        for read in (store.read, store.read_frame, store.manifest, store.check):
            with pytest.raises(store_module.CorruptDataset) as caught:
                read(name)
            message = str(caught.value)
            assert str(store.path(name)) in message and f"`{command}`" in message
            assert "illisible" in message and "Supprimez-le" in message
        assert not store.is_fresh(name, "abc") and not store.is_intact(name)
    assert isinstance(caught.value, StoreError)  # callers catching StoreError see it too


def test_wrong_column_is_not_taken_for_a_damaged_file(tmp_path):
    store = Store(tmp_path)
    store.write("plain", pd.DataFrame({"code": ["01001"]}), _manifest())
    assert store.is_intact("plain")
    with pytest.raises(Exception) as caught:
        store.read_frame("plain", columns=["absente"])
    assert not isinstance(caught.value, store_module.CorruptDataset)


def test_refresh_rebuilds_a_damaged_source_dataset(tmp_path, shared_data):
    from connectors.refresh import STATUS_BUILT, refresh
    from tests.test_registry import source_folder

    target = Store(tmp_path / "stock")
    for name in ("communes", "departements", "cog_passage"):
        (target.root / f"{name}.parquet").symlink_to(Store().path(name))
    folder = source_folder(tmp_path / "sources", shared_data)
    (first,) = refresh(["tlv_zone_tendue"], folder, store=target, progress=False)
    assert first.status == STATUS_BUILT
    _truncate(target.path("tlv_zone_tendue"))
    (again,) = refresh(["tlv_zone_tendue"], folder, store=target, progress=False)
    assert again.status == STATUS_BUILT and again.rows == first.rows
    assert len(target.read("tlv_zone_tendue")) == first.rows


def test_refresh_rebuilds_a_damaged_reference_before_the_sources(tmp_path, monkeypatch):
    from connectors import refresh as refresh_module
    from geodata import build

    target = Store(tmp_path)
    for name in ("communes", "departements", "cog_passage"):
        (target.root / f"{name}.parquet").write_bytes(Store().path(name).read_bytes())
    _truncate(target.path("communes"))
    rebuilt = []

    def fake_build(store, force=False):  # the real one takes 40 s: copy the good file back
        rebuilt.append(store.root)
        store.path("communes").write_bytes(Store().path("communes").read_bytes())

    monkeypatch.setattr(build, "build_reference", fake_build)
    reference = refresh_module._reference(target)
    assert rebuilt == [tmp_path] and len(reference.current_codes) > 34000


def test_models_build_says_which_input_is_damaged(tmp_path, monkeypatch, capsys):
    from models import __main__ as cli

    def damaged(*args, **kwargs):
        store = Store(tmp_path)
        store.write("comparateur", _frame(), _manifest())
        _truncate(store.path("comparateur"))
        store.read("comparateur")

    monkeypatch.setattr(cli, "build_need_index", damaged)
    assert cli.cli(["build"]) == 1
    err = capsys.readouterr().err
    assert "comparateur.parquet" in err and "connectors refresh --source comparateur" in err
