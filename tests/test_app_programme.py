"""Page « Programme » with Streamlit's AppTest on the local store (Creuse): the totals are the
programme's, changing the horizon or the mix moves them, FICTIF is said on the demo offer, and
the page is reached from Carte, Commune and Scénarios."""

from __future__ import annotations

import pytest

from tests.test_app_pages import CREUSE, GUERET, run_app

apptest = pytest.importorskip("streamlit.testing.v1")


@pytest.fixture(scope="module")
def page(store):
    if not store.exists("filosofi_2021_com"):
        pytest.skip("sources statistiques absentes du stock : lancez `make data`")
    return run_app({"territoire": CREUSE, "commune": GUERET}, "programme")


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label.startswith(label))


def test_programme_page_shows_totals_and_fictif(page):
    assert page.title[0].value.startswith("Programme")
    invest = _metric(page, "Investissement")
    assert "€" in invest
    if any("FICTIF" in e.value for e in page.warning):
        assert all("(FICTIF)" in m.label for m in page.metric)


def test_changing_the_mix_and_the_horizon_moves_the_totals(page):
    before = _metric(page, "Investissement")
    page.selectbox(key="programme_kind_residence_sociale").set_value("pension_famille_acquisition")
    page.run()
    assert not page.exception, [e.value for e in page.exception]
    after = _metric(page, "Investissement")
    assert after != before  # the résidence sociale places now cost as a pension de famille
    page.slider(key="programme_horizon").set_value(2)
    page.run()
    assert not page.exception
    years = page.dataframe[2].value  # « Année par année »
    assert list(years["Année"]) == [1, 2]


@pytest.mark.parametrize(("source", "button"), [
    ("commune", "commune_to_programme"), ("scenarios", "scenarios_to_programme"),
])
def test_reached_from_other_pages(store, source, button):
    at = run_app({"territoire": CREUSE, "commune": GUERET}, source)
    at.button(key=button).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Programme")
