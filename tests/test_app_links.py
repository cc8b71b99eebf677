"""Links that rebuild the view: the address of every page carries the whole view, and opening
it in a new session (AppTest, no shared state) draws the same thing.

The view is built with the widgets (territory, commune, indicator, classes, national classes,
layers, weighting), then every page is opened from the menu; its address is read, and the
same page is opened from that address alone in a fresh session: titles, figures, tables and
the map's colours, legend and zoom must be the same.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e_support import ARTIFACTS
from tests.test_app_pages import (
    APP,
    CREUSE,
    GUERET,
    TIMEOUT,
    apptest,
    folium_args,
    need_ready,  # noqa: F401 (fixture)
    run_app,
)
from ui import links, navigation


# -- reading and writing the address (no app) ------------------------------------------------------
def test_zoom_and_weights_are_read_or_refused():
    assert links.parse_zoom("50.63,3.06,11") == (50.63, 3.06, 11)
    assert links.parse_zoom("50.63,3.06,11.5") == (50.63, 3.06, 11.5)
    assert links.parse_zoom("50.6;3") is None
    assert links.parse_zoom("95,3,11") is None
    assert links.parse_weights("poverty_rate:3,median_income:1") == (
        ("median_income", 1.0), ("poverty_rate", 3.0))
    assert links.parse_weights("poverty_rate:trois") is None
    assert links.parse_weights("poverty_rate:-1") is None


def test_settings_from_a_link():
    got = links.settings_from({"indicateur": "ctx:density", "nb": "4", "classes": "fisher_jenks",
                               "couches": "qpv,densite,inconnue", "nationales": "1",
                               "zoom": "46.17,1.87,12"})
    assert got == {
        "map_variable": "ctx:density", "map_k": 4, "map_method": "Seuils naturels (Fisher-Jenks)",
        "map_layers": ["Quartiers prioritaires (QPV)", "Classes de densité"],
        "map_national_classes": True, "map_zoom": (46.17, 1.87, 12),
    }
    assert "map_k" not in links.settings_from({"nb": "cinq"})


# -- what a page draws --------------------------------------------------------------------------------
def _plain(value) -> str:
    return re.sub(r"\s+", " ", str(value))


def drawn(at) -> dict:
    """What a page shows: texts, figures, tables, and the map's colours, legend and view."""
    out = {
        "titles": [t.value for t in at.title],
        "headers": [h.value for h in [*at.header, *at.subheader]],
        "metrics": [(m.label, m.value) for m in at.metric],
        "tables": [(tuple(df.value.columns), df.value.shape,
                    _plain(df.value.head(5).to_dict("list"))) for df in at.dataframe],
        "captions": [c.value for c in at.caption],
    }
    try:
        args = folium_args(at)
    except AssertionError:
        return out
    script = re.sub(r"_[0-9a-f]{32}", "_", args["script"])
    style = re.sub(r"_[0-9a-f]{32}", "_", args["feature_group"])
    view = re.findall(r"fitBounds\(\s*(\[\[.*?\]\])|center: (\[.*?\])|\"zoom\": ([0-9.]+)", script)
    out["map"] = {"style": style, "view": view, "outlines": args["js_links"]}
    return out


def query_of(at) -> dict[str, str]:
    """The address parameters after a run (AppTest keeps lists or strings)."""
    out = {}
    for key in links.PARAMETERS:
        if key in at.query_params:
            value = at.query_params[key]
            out[key] = value[0] if isinstance(value, list) else value
    return out


def open_link(query: dict[str, str], page: str):
    """A fresh session opened on ``page`` with the address ``query`` only."""
    at = apptest.AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    if page != "carte":
        at.switch_page(navigation.script(page))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(scope="module")
def built_view(need_ready):  # noqa: F811
    """A view built with the widgets: the Creuse, Guéret (zoomed on), the need index in 4
    Fisher-Jenks classes with national classes, the QPV layer, the « ruralité » weighting."""
    at = run_app()
    at.selectbox(key="picker_dep").select("Creuse (23)").run()
    commune = at.selectbox(key="picker_com")
    commune.select(next(o for o in commune.options if o.endswith(f"({GUERET})"))).run()
    at.selectbox(key="w_map_method").select("Seuils naturels (Fisher-Jenks)").run()
    at.slider(key="w_map_k").set_value(4).run()
    at.toggle(key="w_map_national_classes").set_value(True).run()
    at.multiselect(key="w_map_layers").set_value(["Quartiers prioritaires (QPV)"]).run()
    preset = at.selectbox(key="w_quick_preset")
    preset.select(next(o for o in preset.options if o.startswith("ruralit"))).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_address_carries_the_view(built_view):
    query = query_of(built_view)
    assert query["territoire"] == CREUSE  # the commune is shown inside its département
    assert query["commune"] == GUERET
    assert query["classes"] == "fisher_jenks" and query["nb"] == "4"
    assert query["nationales"] == "1" and query["couches"] == "qpv"
    assert query["ponderation"].startswith("ruralit")
    assert query["zoom"].endswith(",12")


@pytest.mark.parametrize("page", list(navigation.PAGES))
def test_every_page_link_rebuilds_the_same_view(built_view, page):
    at = built_view
    at.switch_page(navigation.script(page)).run()
    assert not at.exception, [e.value for e in at.exception]
    query = query_of(at)
    # The menu changes page without the address: the page writes it back in full.
    for key in ("territoire", "commune", "indicateur", "classes", "nb", "couches", "nationales",
                "ponderation"):
        assert key in query, (page, key, query)
    expected = drawn(at)
    fresh = open_link(query, page)
    assert drawn(fresh) == expected
    assert query_of(fresh) == query


def test_map_table_and_image_of_the_view_on_screen(need_ready):  # noqa: F811
    at = run_app({"territoire": CREUSE})
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Tableau de la carte (CSV)" in labels
    at.button(key="carte_png_make").click().run()
    assert not at.exception, [e.value for e in at.exception]
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Image de la carte (PNG)" in labels
    _key, png = at.session_state["_carte_png"]
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "carte_creuse_export.png").write_bytes(png)  # for a human to look at
