"""The app names a damaged store file and the command that rebuilds it (no traceback)."""

from __future__ import annotations

import pytest
import streamlit as st

import settings
from geodata.store import Store

apptest = pytest.importorskip("streamlit.testing.v1")


def test_truncated_communes_gives_a_french_message(tmp_path, monkeypatch):
    source = Store()
    for suffix in (".parquet", ".manifest.json"):
        data = source.path("communes").with_suffix(suffix).read_bytes()
        (tmp_path / f"communes{suffix}").write_bytes(
            data[: len(data) // 2] if suffix == ".parquet" else data
        )
    monkeypatch.setenv("DIAG_DATA_DIR", str(tmp_path))
    st.cache_data.clear()  # another test's store may be cached in this process
    at = apptest.AppTest.from_file(str(settings.PROJECT_ROOT / "streamlit_app.py"),
                                   default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    message = " ".join(e.value for e in at.error)
    assert str(tmp_path / "communes.parquet") in message
    assert "`python -m geodata build`" in message and "illisible" in message


def test_damaged_source_dataset_is_a_warning_not_a_stop(tmp_path, monkeypatch):
    source = Store()
    for name in ("communes", "departements", "regions", "cog_passage"):
        for suffix in (".parquet", ".manifest.json"):
            path = source.path(name).with_suffix(suffix)
            (tmp_path / path.name).symlink_to(path)
    (tmp_path / "comparateur.parquet").write_bytes(b"PAR1 tronque")
    monkeypatch.setenv("DIAG_DATA_DIR", str(tmp_path))
    st.cache_data.clear()
    at = apptest.AppTest.from_file(str(settings.PROJECT_ROOT / "streamlit_app.py"),
                                   default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = " ".join(w.value for w in at.warning)
    assert "comparateur.parquet" in warnings
    assert "python -m connectors refresh --source comparateur" in warnings
    assert not at.error or all("comparateur" not in e.value for e in at.error)
