"""Offline maps: no external request in the generated page."""

from __future__ import annotations

import re

import pandas as pd

from diagnostics import webmap


def _external_links(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["'](https?://[^"']+)""", html)


def test_offline_map_has_no_external_script(store):
    deps = store.read("departements_grossier")
    fmap = webmap.offline_map()
    colours = webmap.class_colours(deps["population"], [5e5, 1e6, 3e6], "neutre")
    webmap.choropleth_layer(deps, "population", colours, ["name"], ["Département"]).add_to(fmap)
    webmap.add_legend(fmap, webmap.legend_html("Population", ["a", "b", "c"], ["#fff", "#888", "#000"]))
    html = fmap.get_root().render()
    assert _external_links(html) == []
    assert "cdn.jsdelivr" not in html and "code.jquery.com" not in html
    assert "data:text/javascript;base64," in html
    assert html.count('"type": "Feature"') + html.count('"type":"Feature"') >= 101


def test_class_colours_keep_missing_grey():
    values = pd.Series([1.0, None, 5.0, 10.0])
    colours = webmap.class_colours(values, [2, 6, 10], "besoin")
    assert colours.iloc[1] == webmap.MISSING_COLOUR
    assert colours.iloc[0] != colours.iloc[3]


def test_legend_escapes_user_text():
    html = webmap.legend_html("<script>x</script>", ["<b>"], ["#fff"])
    assert "<script>" not in html and "&lt;script&gt;" in html
