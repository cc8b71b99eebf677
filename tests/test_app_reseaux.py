"""Page « Qui fait quoi où » (AppTest) on the FICTIF demo offer of the Nord: EPCI table,
publics filter, comparison of two snapshots, bilan réseau prepared from the page."""

from __future__ import annotations

import pytest

import settings
from tests.network_support import demo_with_snapshots  # noqa: F401 (fixture)
from ui import navigation

APP = str(settings.PROJECT_ROOT / "streamlit_app.py")
apptest = pytest.importorskip("streamlit.testing.v1")


@pytest.fixture
def app(demo_with_snapshots, monkeypatch):  # noqa: F811
    registry, _ = demo_with_snapshots
    monkeypatch.setenv("DATABASE_URL", registry.url)
    at = apptest.AppTest.from_file(APP, default_timeout=300)
    at.query_params["territoire"] = "dep:59"
    at.run()
    at.switch_page(navigation.script("reseaux"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_shows_every_epci_and_the_evolutions(app, store):
    assert [t.value for t in app.title] == ["Qui fait quoi où"]
    assert not app.error, [e.value for e in app.error]
    communes = store.read("communes", columns=["epci_code", "dep_code"])
    nord_epci = communes.loc[communes["dep_code"] == "59", "epci_code"].dropna().nunique()
    areas = app.dataframe[0].value
    assert len(areas) == nord_epci
    text = " ".join(c.value for c in app.caption)
    assert "FICTIF" in text and "instantané du 2023-12-31 → 2024-12-31" in text
    changes = app.dataframe[-1].value
    assert {"créé", "fermé", "converti"} <= set(changes["Évolution"])


def test_publics_filter_and_bilan(app):
    app.multiselect(key="reseaux_publics").set_value(["migrants_ages"]).run()
    assert not app.exception, [e.value for e in app.exception]
    areas = app.dataframe[0].value
    present = areas["Publics présents"].str.contains("Travailleurs migrants âgés")
    assert present.any()
    assert (areas.loc[areas["Opérateurs"] != "", "Opérateurs"] == "Foyers Fictifs du Nord").all()
    app.button(key="reseaux_bilan_go").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    fmt, content, name = app.session_state["reseaux_bilan"]
    assert fmt == "xlsx" and content[:2] == b"PK" and name.endswith(".xlsx")
