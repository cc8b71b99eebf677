"""Page « Montage d'opération » with Streamlit's AppTest (the page script alone, on the local
store): verdict and figures on screen, a slider move recomputes, parameters say their status,
a saved operation is listed and offered as XLSX."""

from __future__ import annotations

import pytest

import settings
from geodata.store import Store
from models import operation_economics as oe

apptest = pytest.importorskip("streamlit.testing.v1")
PAGE = str(settings.PROJECT_ROOT / "ui" / "pages" / "montage.py")
GUERET = "23096"


@pytest.fixture(scope="module")
def store_ready():
    if not Store().exists("communes") or not Store().exists("zonage_abc_2024"):
        pytest.skip("stock local incomplet : lancez `make data`")
    return True


def run_page(query: dict):
    at = apptest.AppTest.from_file(PAGE, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_page_computes_recomputes_and_saves(store_ready):
    at = run_page({"commune": GUERET})
    assert [t.value for t in at.title] == ["Montage d'opération"]
    verdicts = [*(s.value for s in at.success), *(e.value for e in at.error)]
    assert verdicts and verdicts[0].startswith("Opération")
    assert at.selectbox(key="montage_commune").value == GUERET
    assert at.selectbox(key=f"montage_zone_{GUERET}").value == 3  # OpenFisca-France's APL zoning
    tabs = [t.label for t in at.tabs]
    assert {"Compte du propriétaire", "Compte du gestionnaire", "Ménages (APL)"} <= set(tabs)
    assert any(m.label == "Gestionnaire, par place et par an" for m in at.metric)
    labels = [w.label for w in (*at.number_input, *at.slider)]
    assert any(label.endswith("hypothèse à confirmer") for label in labels)
    assert any("Coût employeur" in label and "hypothèse" not in label for label in labels)  # verified
    at.radio(key="montage_tornado_target").set_value("resultat_gestionnaire").run()
    assert not at.exception
    import datetime

    at.date_input(key="montage_date").set_value(datetime.date(2020, 1, 1)).run()  # before the livret A series
    assert not at.exception and any("aucune valeur en vigueur" in e.value for e in at.error)
    at.date_input(key="montage_date").set_value(datetime.date(2026, 3, 1)).run()
    assert not at.exception
    before = metric(at, "Résultat annuel")
    at.slider(key="montage_pension_famille_neuf_loyer_mensuel").set_value(300).run()
    assert metric(at, "Résultat annuel") != before
    at.button(key="montage_save").click().run()
    assert "Opérations enregistrées (1)" in [s.value for s in at.subheader]
    assert at.session_state["saved_operations"][0]["overrides"] == {"loyer_mensuel": 300.0}


def test_every_kind_renders(store_ready):
    at = run_page({"commune": "59178"})
    kinds = list(oe.load_parameters().kinds)
    assert len(at.selectbox(key="w_montage_kind").options) == len(kinds) == 10
    for index, kind in enumerate(kinds):
        at.selectbox(key="w_montage_kind").select_index(index).run()
        assert not at.exception, kind
        assert at.session_state["w_montage_kind"] == kind
        assert at.slider(key=f"montage_{kind}_logements") is not None  # the kind's own widgets
        assert [*at.success, *at.error], kind


def test_tornado_chart_is_a_valid_vega_lite_spec(store_ready):
    from ui.pages.montage import tornado_chart

    params = oe.load_parameters()
    values = oe.inputs_for("residence_sociale", params, zone_apl=2)
    evaluation = oe.evaluate("residence_sociale", values, params)
    verdict = oe.verdict(evaluation)
    spec = tornado_chart(verdict, params, "residence_sociale", verdict.result).to_dict()
    bars = spec["layer"][0]
    assert bars["mark"]["type"] == "bar" and bars["encoding"]["x2"]["field"] == "haut"
    data = spec["datasets"][next(iter(spec["datasets"]))]
    assert len(data) == min(10, len(verdict.swings)) and data[0]["haut"] - data[0]["bas"] == pytest.approx(
        verdict.swings[0].width)


def test_scenarios_show_the_economic_verdict_of_added_sites(store_ready):
    from tests.test_app_pages import run_app

    if not Store().exists("filosofi_2021_com"):
        pytest.skip("sources statistiques absentes du stock : lancez `make data`")
    at = run_app({"territoire": "dep:23"}, "scenarios")
    at.number_input[0].set_value(25)
    next(b for b in at.button if b.label == "Ajouter au scénario").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "Verdict économique" in d.value.columns)
    assert list(table["Places créées"]) == ["25"]
    assert table["Verdict économique"].iloc[0] in ("équilibrée", "non équilibrée",
                                                   "hors du modèle économique (hébergement, accompagnement)")
    assert "Besoin non couvert atteint (ménages)" in table.columns
    at.button(key="siting_go").click().run()  # siting suggestions carry a yearly result too
    assert not at.exception, [e.value for e in at.exception]
    picks = next(d.value for d in at.dataframe if "Résultat annuel (€)" in d.value.columns
                 and "Ordre" in d.value.columns)
    assert len(picks) and picks["Résultat annuel (€)"].notna().all()
    at.button(key="scenario_to_montage").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Montage d'opération" in [t.value for t in at.title]


def test_every_parameter_of_every_kind_has_a_widget():
    from ui.pages.montage import GROUPS

    grouped = {key for _, keys in GROUPS for key in keys}
    for kind in oe.KIND_LINES:
        missing = set(oe.kind_inputs(kind)) - set(oe.LOCAL_INPUTS) - grouped
        assert not missing, (kind, missing)
