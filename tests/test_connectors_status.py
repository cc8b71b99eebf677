"""Source status for the app: missing sources and old copies are said, in French."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from connectors.status import freshness_note, source_status
from geodata.store import Manifest, Store


def test_status_lists_every_source_and_missing_ones(tmp_path):
    store = Store(tmp_path)
    store.write("filosofi_2021_com", pd.DataFrame({"code": ["01001"]}), Manifest(
        dataset="", source="Filosofi", producer="INSEE", vintage="2021",
        transport="local:/x", url="https://www.insee.fr/x.zip",
        extra={"stale": False, "retrieved_at": "2026-11-01T00:00:00+00:00"},
    ))
    status = source_status(store).set_index("source")
    assert status.loc["filosofi_2021_com", "état"] == "à jour"
    assert status.loc["filosofi_2021_com", "obtenu"] == "dossier local"
    assert status.loc["filosofi_2021_com", "lignes"] == 1
    assert status.loc["rnic", "état"].startswith("absente du stock")
    assert "téléchargement en ligne" in status.loc["rnic", "état"]
    assert len(status) >= 23


def test_old_copy_says_how_old():
    now = datetime(2026, 11, 27, tzinfo=UTC)
    note = freshness_note(
        {"stale": True, "retrieved_at": "2026-11-17T00:00:00+00:00", "stale_note": ""}, now
    )
    assert note.startswith("copie ancienne (10 jour(s))")
    assert "injoignable" in note
    assert freshness_note({"stale": False}, now) == "à jour"
