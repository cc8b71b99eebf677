"""The app names a damaged store file and the command that rebuilds it (no traceback)."""

from __future__ import annotations

import pytest

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
    at = apptest.AppTest.from_file(str(settings.PROJECT_ROOT / "streamlit_app.py"),
                                   default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    message = " ".join(e.value for e in at.error)
    assert str(tmp_path / "communes.parquet") in message
    assert "`python -m geodata build`" in message and "illisible" in message
