"""Page logic with Streamlit's AppTest: widgets, shared state, re-scoring, map arguments.

AppTest runs the real script (``streamlit_app.py`` and the page scripts of ``ui/pages``) on
the local store; the map component is not drawn (that is the end-to-end test's job) but its
arguments are read: the outlines it will load, the colours of every commune, no external link.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import settings
from ui import navigation

APP = str(settings.PROJECT_ROOT / "streamlit_app.py")
TIMEOUT = 300
CREUSE = "dep:23"
CREUSE_COMMUNES = 255  # COG 2025
GUERET = "23096"

apptest = pytest.importorskip("streamlit.testing.v1")


@pytest.fixture(scope="module")
def need_ready(store):
    """The need model needs the statistical sources in the store (``make data``)."""
    if not store.exists("filosofi_2021_com"):
        pytest.skip("sources statistiques absentes du stock : lancez `make data`")
    return True


def run_app(query: dict | None = None, page: str | None = None):
    at = apptest.AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(navigation.script(page))
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def element_protos(at, keep) -> list:
    """The protos of every element of the page (in the order drawn) for which ``keep(proto)``
    holds: components and charts, which AppTest does not list by kind."""
    found = []

    def walk(node):
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else children or []):
            walk(child)
        proto = getattr(node, "proto", None)
        if proto is not None and keep(proto):
            found.append(proto)

    walk(at._tree)
    return found


def folium_args(at, index: int | None = None) -> dict:
    """Arguments of the st_folium component (the map script, its links, the styling); the
    page's only map, or its ``index``-th one."""
    found = [json.loads(proto.json_args) for proto in element_protos(
        at, lambda proto: getattr(proto, "component_name", "") == "streamlit_folium.st_folium")]
    if index is not None:
        return found[index]
    assert len(found) == 1, f"{len(found)} cartes sur la page"
    return found[0]


def styler_values(args: dict, name: str):
    match = re.search(rf"e\.state\.{name} = (.*?);\n", args["feature_group"])
    assert match, f"« {name} » absent du script de style"
    return json.loads(match.group(1))


def outline_features(args: dict) -> int:
    """Number of features in the main outlines (static script or inlined data)."""
    texts = []
    for link in args["js_links"]:
        if "/app/static/" in link:
            path = settings.PROJECT_ROOT / "static" / link.split("/app/static/", 1)[1]
            texts.append(path.read_text(encoding="utf-8"))
    texts.append(args["script"])
    for text in texts:
        match = re.search(r'window\.__diag_data\["geo_[0-9a-f]+"\] = (\{.*?\});\n', text, re.S)
        if match:
            return len(json.loads(match.group(1))["features"])
    raise AssertionError("contours introuvables")


def titles(at) -> list[str]:
    return [t.value for t in at.title]


# -- every page ------------------------------------------------------------------------------------
@pytest.mark.parametrize("page", list(navigation.PAGES))
def test_every_page_renders_without_error(page, need_ready):
    at = run_app({"territoire": CREUSE, "commune": GUERET}, None if page == "carte" else page)
    assert not at.error, [e.value for e in at.error]
    text = " ".join([*titles(at), *(m.value for m in at.markdown)])
    if page == "presentation":
        assert "Creuse" in text
        assert not at.sidebar.selectbox  # no controls on screen
    elif page == "commune":
        assert titles(at) == ["Guéret (23096)"]
    elif page in ("carte", "classement"):
        assert "Creuse" in " ".join(titles(at))


def test_france_map_by_departement_without_external_links(need_ready):
    at = run_app()
    assert titles(at) == ["Carte de France"]
    args = folium_args(at)
    links = [*args["js_links"], *args["css_links"]]
    assert all(link.startswith(("data:", "/app/static/")) for link in links), links
    assert "http://" not in args["script"] and "https://" not in args["script"]
    assert outline_features(args) == 101
    classes = styler_values(args, "classes")
    assert len(classes) == 101 and max(classes) >= 3  # the need index in several classes


def test_france_by_commune_is_a_picture_with_its_outlines_left_for_later(need_ready):
    """France by commune: the styler sends the picture of the classes (written once, named by
    its content); the map's scripts hold the départements' outlines only, the communes' 10 MB
    are named for later (zoom), and the numbers' picture and the names for the tooltips."""
    at = run_app({"echelle": "communes"})
    assert titles(at) == ["Carte de France"]
    args = folium_args(at)
    links = [*args["js_links"], *args["css_links"]]
    assert all(link.startswith(("data:", "/app/static/")) for link in links), links
    assert "http://" not in args["script"] and "https://" not in args["script"]
    assert not any("/generated/view_" in link for link in links)  # not loaded with the map
    assert any("/generated/ctx_" in link for link in links)
    image = styler_values(args, "image")
    assert image.startswith("/app/static/generated/img_") and image.endswith(".png")
    picture = settings.PROJECT_ROOT / "static" / image.split("/app/static/", 1)[1]
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    classes = styler_values(args, "classes")
    assert len(classes) == 34_875 and max(classes) >= 3
    options = re.findall(r"var opts = (\{.*?\});\n", args["script"])
    main = next(json.loads(o) for o in options if json.loads(o)["key"] == "main")
    assert "/generated/view_" in main["lazy"]
    assert main["picture"]["width"] == 2000
    assert main["picture"]["index_url"].endswith(".png") and "names_" in main["picture"]["names_url"]
    # The same colouring again: the same picture, not a new one.
    again = run_app({"echelle": "communes"})
    assert styler_values(folium_args(again), "image") == image


# -- picker and shared state -------------------------------------------------------------------------
def test_cascade_picks_region_then_departement(need_ready):
    at = run_app()
    region = next(o for o in at.selectbox(key="picker_reg").options if o.endswith("(75)"))
    at.selectbox(key="picker_reg").select(region).run()
    assert at.session_state["territory_spec"] == "reg:75"
    assert at.query_params["territoire"] == ["reg:75"] or at.query_params["territoire"] == "reg:75"
    at.selectbox(key="picker_dep").select("Creuse (23)").run()
    assert at.session_state["territory_spec"] == CREUSE
    assert titles(at) == ["Creuse"]
    assert outline_features(folium_args(at)) == CREUSE_COMMUNES
    epci = at.selectbox(key="picker_epci")
    choice = next(o for o in epci.options if "Grand Guéret" in o)
    epci.select(choice).run()
    assert at.session_state["territory_spec"].startswith("epci:")
    assert at.selectbox(key="picker_dep").value == "Creuse (23)"  # the cascade follows


def test_search_ignores_accents_and_case(need_ready):
    at = run_app()
    at.text_input(key="picker_search").input("GUERET").run()
    results = at.selectbox(key="picker_search_result").options
    assert results[0] == "Guéret (23)"
    at.button(key="picker_search_go").click().run()
    # The commune is shown inside its département: highlighted, the map zoomed to it.
    assert at.session_state["territory_spec"] == CREUSE
    assert at.session_state["selected_commune"] == GUERET
    assert titles(at) == ["Creuse"]
    args = folium_args(at)
    assert outline_features(args) == CREUSE_COMMUNES
    assert styler_values(args, "highlight") == [GUERET]
    assert at.session_state["map_zoom"][2] == 12


def test_territory_and_map_settings_survive_page_changes(need_ready):
    at = run_app({"territoire": CREUSE})
    variable = at.selectbox(key="w_map_variable")
    wanted = "ctx:density"
    variable.select(wanted).run()
    at.switch_page(navigation.script("classement")).run()
    assert "Creuse" in titles(at)[0]
    at.switch_page(navigation.script("carte")).run()
    assert titles(at) == ["Creuse"]
    assert at.selectbox(key="w_map_variable").value == wanted
    args = folium_args(at)
    assert styler_values(args, "label") == "Densité de population"


# -- re-scoring ---------------------------------------------------------------------------------------
def test_preset_change_recolours_the_map_in_place(need_ready):
    at = run_app({"territoire": CREUSE})
    before = folium_args(at)
    preset = at.selectbox(key="w_quick_preset")
    other = next(o for o in preset.options if o != preset.value)
    preset.select(other).run()
    after = folium_args(at)
    assert after["script"] == before["script"]  # same outlines: the map is not reloaded
    assert styler_values(after, "classes") != styler_values(before, "classes")
    assert at.session_state["need_settings"].weights == other


def test_weight_slider_rescores_and_the_map_follows(need_ready):
    at = run_app({"territoire": CREUSE}, "methode")
    sliders = [s for s in at.select_slider if s.key.startswith("w_weight_")]
    assert len(sliders) >= 5
    first = next(s for s in sliders if s.value > 0)
    first.set_value(0.0).run()
    chosen = at.session_state["need_settings"]
    assert not isinstance(chosen.weights, str)  # custom weights
    assert dict(chosen.weights)[first.key.removeprefix("w_weight_")] == 0.0
    assert at.selectbox(key="w_method_preset").value == "personnalisé"
    effect = at.dataframe[0].value
    assert (effect["Rang"] != effect["Rang avec les réglages par défaut"]).any()
    at.switch_page(navigation.script("carte")).run()
    labels = styler_values(folium_args(at), "label")
    assert labels == "Indice de besoin"
    assert at.selectbox(key="w_quick_preset").value == "personnalisé"


# -- other pages ----------------------------------------------------------------------------------------
def test_commune_profile_flags_imputed_values(need_ready, store):
    need = pd.read_parquet(store.path("communes"), columns=["code", "dep_code"])
    from ui import need as need_mod

    model = need_mod._load(need_mod.fingerprint())
    frame = model.frame[model.frame["code"].isin(need.loc[need["dep_code"] == "23", "code"])]
    imputed = frame[frame["poverty_rate_method"].astype(str).str.startswith("modèle")]
    code = imputed["code"].iat[0]
    at = run_app({"territoire": CREUSE, "commune": code}, "commune")
    warnings = " ".join(w.value for w in at.warning)
    assert "Taux de pauvreté estimé" in warnings
    table = at.dataframe[-1].value if at.dataframe else pd.DataFrame()
    assert any("Chiffres clés" in s.value for s in at.subheader)
    assert not table.empty


def test_ranking_filters_by_qpv(need_ready):
    at = run_app({"territoire": "dep:59"}, "classement")
    at.radio(key="rank_qpv").set_value("avec QPV").run()
    shown = at.dataframe[0].value
    assert len(shown) > 0 and (shown["QPV"] > 0).all()
    at.radio(key="rank_qpv").set_value("sans QPV").run()
    assert (at.dataframe[0].value["QPV"] == 0).all()
    assert len(at.get("download_button")) == 2


def test_compare_refuses_a_sixth_territory(need_ready):
    at = run_app(page="comparer")
    for query in ("gueret", "roubaix", "aubusson", "tulle", "brive"):
        at.text_input(key="compare_query").input(query).run()
        at.button(key="compare_add").click().run()
    assert len(at.session_state["compare_items"]) == 5
    at.text_input(key="compare_query").input("limoges").run()
    at.button(key="compare_add").click().run()
    assert len(at.session_state["compare_items"]) == 5
    table = at.dataframe[0].value
    assert table.shape[1] == 1 + 5 + 1  # indicator, five territories, source


def test_presentation_shows_three_messages(need_ready):
    at = run_app({"territoire": CREUSE}, "presentation")
    blocks = [m.value for m in at.markdown if 'class="diag-message"' in m.value]
    assert len(blocks) == 3
    assert not at.sidebar.selectbox and not at.sidebar.text_input


def test_rank_intervals_recomputed_for_custom_weights(need_ready):
    at = run_app({"territoire": CREUSE}, "methode")
    slider = next(s for s in at.select_slider if s.key.startswith("w_weight_") and s.value > 0)
    slider.set_value(0.0).run()
    effect = at.dataframe[0].value
    assert set(effect["Intervalles calculés pour"]) == {"préréglage « équilibré »"}
    button = next(b for b in at.button if b.label.startswith("Recalculer les intervalles"))
    button.click().run()
    effect = at.dataframe[0].value
    assert set(effect["Intervalles calculés pour"]) == {"poids personnalisés"}


def test_catchment_sizes_change_the_gap(need_ready):
    at = run_app({"territoire": CREUSE}, "methode")
    before = next(c.value for c in at.caption if c.value.startswith("Classes d'écart"))
    for level in range(1, 8):
        at.number_input(key=f"w_catch_{level}").set_value(90)
    next(b for b in at.button if b.label.startswith("Appliquer")).click().run()
    assert at.session_state["gap_catchment"] == {level: 90_000.0 for level in range(1, 8)}
    after = next(c.value for c in at.caption if c.value.startswith("Classes d'écart"))
    assert after != before


def test_what_if_adds_places_and_lowers_the_gap(need_ready):
    at = run_app({"territoire": CREUSE}, "scenarios")
    assert "Aucun changement" in " ".join(i.value for i in at.info)
    at.number_input[0].set_value(40)
    next(b for b in at.button if b.label == "Ajouter au scénario").click().run()
    summary = at.dataframe[0].value.set_index("Indicateur")
    assert summary.loc["Ménages pauvres estimés sans place à portée"].iloc[-1] == pytest.approx(
        -40.0)
    assert summary.loc["Places manquantes pour atteindre la référence"].iloc[-1] <= 0
    assert summary.loc["Places accessibles allouées"].iloc[-1] == pytest.approx(40.0)
    folium_args(at, 0)  # the scenario's map is drawn (the zones blanches' one after it)


REFERENCE_PREFIXES = ("communes", "departements", "regions", "epci", "cog_passage")


def test_pages_say_what_is_missing_without_the_models(store, tmp_path, monkeypatch):
    """A store with the reference geography only: the map shows the density, the pages say in
    French that the need model is not computed, nothing fails."""
    for path in store.root.iterdir():
        if path.name.startswith(REFERENCE_PREFIXES) and path.suffix in (".parquet", ".json"):
            (tmp_path / path.name).symlink_to(path)
    monkeypatch.setenv("DIAG_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    at = run_app({"territoire": CREUSE, "commune": GUERET})
    assert titles(at) == ["Creuse"]
    assert any("Le modèle de besoin n'est pas encore calculé" in w.value for w in at.warning)
    args = folium_args(at)
    assert styler_values(args, "label") == "Densité de population"
    assert outline_features(args) == CREUSE_COMMUNES
    for page in ("commune", "classement", "methode", "scenarios", "presentation"):
        at.switch_page(navigation.script(page)).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        shown = " ".join([*(w.value for w in at.warning), *(i.value for i in at.info),
                          *(m.value for m in at.markdown)])
        assert "n'est pas encore calculé" in shown, page


def test_online_basemap_only_on_request(need_ready):
    at = run_app({"territoire": CREUSE})
    assert "tile.openstreetmap.org" not in folium_args(at)["script"]
    at.toggle(key="w_map_basemap").set_value(True).run()
    assert "tile.openstreetmap.org" in folium_args(at)["script"]


def test_commune_page_searches_when_the_territory_is_large(need_ready):
    at = run_app(page="commune")
    assert titles(at) == ["Profil d'une commune"]
    assert "commune_choice" not in [s.key for s in at.selectbox]  # no list of 34,875 communes
    at.text_input(key="commune_query").input("gueret").run()
    at.button(key="commune_go").click().run()
    assert titles(at) == ["Guéret (23096)"]


def test_methode_lists_sources_and_says_which_are_missing(need_ready):
    at = run_app({"territoire": CREUSE}, "methode")
    status = next(df.value for df in at.dataframe if "état" in df.value.columns)
    from catalogues.sources import load_sources

    titles_ = load_sources()
    assert "source" not in status.columns  # titles, never identifiers
    states = status.groupby("titre")["état"].agg(set)
    assert "à jour" in states[titles_["filosofi_2021_com"].title]
    assert any(s.startswith("absente du stock") for s in states[titles_["rnic"].title])
    assert any("source(s) absente(s) du stock" in info.value for info in at.info)


def test_outline_notes_on_the_commune_and_methode_pages(need_ready):
    at = run_app({"territoire": "dep:15", "commune": "15141"}, "commune")
    notes = " ".join(c.value for c in at.caption)
    assert "15031, 15035, 15047, 15171" in notes and "92 km²" in notes
    at = run_app({"territoire": CREUSE}, "methode")
    text = " ".join([*(h.value for h in at.header), *(m.value for m in at.markdown)])
    assert "Géographie de référence" in text and "Llívia" in text and "15171" in text
