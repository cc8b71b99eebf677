"""The Commune page's « Cadre des politiques publiques » (Streamlit AppTest on the local store):
a commune of a Logement d'abord territory says so, with the source it was read from."""

from __future__ import annotations

import pandas as pd
import pytest

import settings
from connectors import policies
from ui import navigation

APP = str(settings.PROJECT_ROOT / "streamlit_app.py")
apptest = pytest.importorskip("streamlit.testing.v1")


def run_commune(territory: str, code: str):
    at = apptest.AppTest.from_file(APP, default_timeout=300)
    at.query_params["territoire"] = territory
    at.query_params["commune"] = code
    at.run()
    at.switch_page(navigation.script("commune"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_commune_of_a_logement_d_abord_territory_says_so_with_its_source(store):
    layer, _ = policies.policy_layer(store)
    mel = layer[(layer["politique"] == "logement_d_abord")
                & (layer["code_territoire"] == "200093201")].iloc[0]
    at = run_commune("dep:59", "59350")  # Lille, in the Métropole Européenne de Lille
    assert "Cadre des politiques publiques" in [s.value for s in at.subheader]
    success = " ".join(s.value for s in at.success)
    assert "Territoire de mise en œuvre accélérée du plan Logement d'abord" in success
    assert "appel 2018" in success
    assert mel["source"] in success and "lu le " + pd.Timestamp(mel['lu_le']).strftime('%d/%m/%Y') in success
    tables = [getattr(d.value, "data", d.value) for d in at.dataframe]
    frame = next(t for t in tables if "Politique" in t.columns)
    assert "Programme local de l'habitat (PLH)" in set(frame["Politique"])
    assert mel["source"] in set(frame["Source"])


def test_commune_outside_the_compiled_list_is_not_told_no(store):
    at = run_commune("dep:23", "23096")  # Guéret
    assert "Cadre des politiques publiques" in [s.value for s in at.subheader]
    assert not at.success or all("Logement d'abord" not in s.value for s in at.success)
    captions = " ".join(c.value for c in at.caption)
    assert "Logement d'abord : non recensé dans la liste compilée" in captions


def test_departement_map_shows_the_frame_and_offers_the_layer(store):
    at = apptest.AppTest.from_file(APP, default_timeout=300)
    at.query_params["territoire"] = "dep:59"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [e.label for e in at.expander]
    assert any(label.startswith("Cadre des politiques publiques") for label in labels)
    tables = [getattr(d.value, "data", d.value) for d in at.dataframe]
    frame = next(t for t in tables if "Politique" in t.columns and "Échelle" in t.columns)
    mel = frame[(frame["Territoire"] == "Métropole Européenne de Lille")
                & frame["Politique"].str.contains("Logement d'abord")]
    assert mel["Situation"].iloc[0].startswith("oui")
    layers = next(m for m in at.multiselect if m.label == "Couches")
    assert "Territoires Logement d'abord" in layers.options
