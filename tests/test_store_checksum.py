"""Stored data proven intact (issue #23): one byte changed inside a data page of a stored
Parquet file — which Parquet itself does not notice — is a French error naming the file and
the command that rebuilds it; the digest is checked once per file version, not at every read.

The table written here is a slice of the real reference communes (read from the local store).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from geodata import store as store_mod
from geodata.store import CorruptDataset, Manifest, Store


@pytest.fixture
def local(tmp_path, store):
    communes = pd.DataFrame(store.read_frame("communes", columns=["code", "name",
                                                                  "population"]))
    target = Store(tmp_path / "stock")
    target.write("filosofi_essai", communes.head(5000), Manifest(
        dataset="", source="essai", producer="tests", vintage="2021"))
    return target, communes.head(5000)


def _flip(path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def test_the_manifest_records_the_file_digest(local):
    target, _ = local
    recorded = json.loads(target.path("filosofi_essai").with_suffix(".manifest.json")
                          .read_text(encoding="utf-8"))["file_sha256"]
    assert recorded == store_mod.sha256_of_files([target.path("filosofi_essai")])


@pytest.mark.parametrize("share", np.linspace(0.02, 0.98, 21).round(3).tolist())
def test_one_byte_changed_anywhere_is_a_french_error(local, share):
    target, frame = local
    path = target.path("filosofi_essai")
    pd.testing.assert_frame_equal(target.read("filosofi_essai"), frame)  # read once: cached
    _flip(path, int(path.stat().st_size * share))
    with pytest.raises(CorruptDataset) as caught:
        target.read("filosofi_essai", columns=["population"])
    message = str(caught.value)
    assert str(path) in message and "a été modifié" in message and "sha256" in message
    assert "python -m connectors refresh --source filosofi_essai" in message
    assert not target.is_fresh("filosofi_essai", "")
    assert not target.is_intact("filosofi_essai")


def test_the_digest_is_checked_once_per_file_version(local, monkeypatch):
    target, _ = local
    calls = []
    real = store_mod.sha256_of_files
    monkeypatch.setattr(store_mod, "sha256_of_files", lambda paths: calls.append(1) or real(
        paths))
    store_mod._VERIFIED.clear()
    for _ in range(5):
        target.read("filosofi_essai", columns=["code"])
        target.manifest("filosofi_essai")
    assert len(calls) == 1
    target.write("filosofi_essai", pd.DataFrame({"code": ["01001"]}), Manifest(
        dataset="", source="essai", producer="tests", vintage="2022"))
    calls.clear()
    assert target.read("filosofi_essai")["code"].tolist() == ["01001"]
    assert len(calls) == 1  # the new version is checked anew


def test_a_file_built_before_digests_is_read_then_sealed(local):
    target, frame = local
    manifest_path = target.path("filosofi_essai").with_suffix(".manifest.json")
    data = json.loads(manifest_path.read_text(encoding="utf-8"))
    data.pop("file_sha256")
    manifest_path.write_text(json.dumps(data), encoding="utf-8")
    store_mod._VERIFIED.clear()
    assert len(target.read("filosofi_essai")) == len(frame)  # unsealed: still readable
    target.seal("filosofi_essai")
    path = target.path("filosofi_essai")
    _flip(path, path.stat().st_size // 2)
    with pytest.raises(CorruptDataset, match="a été modifié"):
        target.read_frame("filosofi_essai")


def test_the_seal_command_seals_files_without_a_digest(tmp_path, store, monkeypatch, capsys):
    from geodata.__main__ import main

    target = Store(tmp_path / "stock")
    monkeypatch.setenv("DIAG_DATA_DIR", str(target.root))
    target.write("a", pd.DataFrame({"code": ["01001"]}), Manifest(
        dataset="", source="s", producer="p", vintage="v"))
    manifest_path = target.path("a").with_suffix(".manifest.json")
    data = json.loads(manifest_path.read_text(encoding="utf-8"))
    data.pop("file_sha256")
    manifest_path.write_text(json.dumps(data), encoding="utf-8")
    assert main(["sceller"]) == 0
    assert "1 fichier(s)" in capsys.readouterr().out
    assert target._recorded_sha256("a")
