"""The explorer's logic without a browser: classes, French formats, aggregation, clicks, cache,
and the explanation sentences written for a few communes after a weight change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from diagnostics import webmap
from ui import classify, profile
from ui.geometry import ViewGeometry
from ui.variables import Variable, format_value


def test_numeric_classes_keep_missing_out_and_label_in_french():
    values = pd.Series([1.5, 2.5, np.nan, 1234.5, 10.0, 20.0, 30.0])
    styled = classify.numeric_style(values, "besoin", "quantiles", k=3)
    assert styled.classes[2] == -1 and styled.missing
    assert (styled.classes[[0, 1, 3]] >= 0).all()
    assert styled.classes[3] == len(styled.palette) - 1  # the largest value, the darkest class
    assert any("1\u202f234,5" in label for label in styled.labels)
    assert len(styled.labels) == len(styled.palette) == 3


def test_diverging_gap_colours_blue_below_zero_red_above():
    values = pd.Series([-40.0, -10.0, 0.0, 5.0, 50.0, 120.0, 300.0])
    styled = classify.numeric_style(values, "ecart", "equal_interval", k=4)
    negative = styled.palette[styled.classes[0]]
    positive = styled.palette[styled.classes[-1]]
    assert negative in classify.DIVERGING_NEGATIVE
    assert positive in classify.DIVERGING_POSITIVE


def test_reversed_palette_darkens_low_values():
    values = pd.Series([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    plain = classify.numeric_style(values, "besoin", k=3)
    reverse = classify.numeric_style(values, "besoin", k=3, reverse=True)
    assert plain.palette == reverse.palette[::-1]


def test_categorical_style_only_present_categories():
    values = pd.Series(["couvert", None, "besoin non couvert", "couvert", "inconnu"])
    categories = (("besoin non couvert", "#b2182b"), ("couvert", "#2166ac"), ("autre", "#000"))
    styled = classify.categorical_style(values, categories)
    assert styled.labels == ["besoin non couvert", "couvert"]
    assert styled.classes.tolist() == [1, -1, 0, 1, -1]
    assert styled.missing


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (12.345, "%", "12,3\u00a0%"),
        (21450.4, "€ par an et par unité de consommation", "21\u202f450\u00a0€"),
        (1234.0, "ménages", "1\u202f234 ménages"),
        (1.0, "quartiers", "1 quartier"),
        (np.nan, "%", "donnée absente"),
        (35.72, "/100", "35,7\u00a0/\u00a0100"),
        (1.0, "oui / non", "oui"),
    ],
)
def test_format_value_in_french(value, unit, expected):
    assert format_value(value, unit, 1) == expected


def test_ratio_figures_sum_counts_before_dividing():
    figure = profile.Figure("Taux de vacance", "%", profile.RATIO, "a", "b", 100.0)
    values = {"a": pd.Series({"1": 10.0, "2": 0.0, "3": np.nan}),
              "b": pd.Series({"1": 100.0, "2": 900.0, "3": 50.0})}
    # (10 + 0) / (100 + 900): commune 3 is left out (its count is secret, not zero)
    assert profile.aggregate(figure, ["1", "2", "3"], values.get) == pytest.approx(1.0)
    assert profile.aggregate(figure, ["3"], values.get) != profile.aggregate(figure, ["3"], values.get)


def test_sum_figure_keeps_missing_as_missing():
    figure = profile.Figure("QPV", "quartiers", profile.SUM, "a")
    values = {"a": pd.Series({"1": np.nan, "2": np.nan})}
    assert np.isnan(profile.aggregate(figure, ["1", "2"], values.get))


def test_click_finds_the_commune_under_the_point():
    frame = pd.DataFrame({"code": ["A", "B"], "name": ["a", "b"]})
    geometry = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]
    import geopandas as gpd

    gdf = gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
    view = ViewGeometry("k", "communes", gdf, "", (0, 0, 2, 1), national=False)
    assert view.code_at(0.5, 0.5) == "A"
    assert view.code_at(1.5, 0.2) == "B"
    assert view.code_at(1.505, 1.003) == "B"  # just outside: the nearest within 1 km
    assert view.code_at(10, 10) is None


def test_compact_geojson_rounds_and_indexes(store):
    deps = store.read("departements_grossier").head(3)
    text = webmap.compact_geojson(deps, 3, {"name": "n", "code": "c"})
    import json

    data = json.loads(text)
    assert [f["properties"]["i"] for f in data["features"]] == [0, 1, 2]
    assert data["features"][0]["properties"]["c"] == deps["code"].iat[0]
    first = data["features"][0]["geometry"]["coordinates"]
    flat = np.asarray(first[0][0] if data["features"][0]["geometry"]["type"] == "MultiPolygon" else first[0])
    assert np.allclose(flat, np.round(flat, 3))


def test_variable_legend_title_names_the_unit():
    variable = Variable("ind:x", "Taux de pauvreté", "g", "%", "Source : INSEE")
    assert variable.legend_title() == "Taux de pauvreté (%)"
    assert "pondérée par les ménages" in variable.aggregate_note("departements")
    assert variable.aggregate_note("communes") == ""


@pytest.fixture(scope="module")
def need_model(store):
    if not store.exists("filosofi_2021_com"):
        pytest.skip("sources statistiques absentes du stock : lancez `make data`")
    from ui import need

    model = need._load(need.fingerprint())
    if isinstance(model, str):
        pytest.fail(model)
    return model


def test_explanations_of_a_few_communes_match_the_national_sentences(need_model):
    from models.explain import sentences
    from ui import need

    chosen = need.NeedSettings(next(p for p in need_model.presets if p != need_model.default.weights))
    frame = need.scored(need_model, chosen).set_index("code")
    columns = [c for c in frame.columns if c.startswith("contrib_")]
    ids = [c.removeprefix("contrib_") for c in columns]
    full = sentences(
        frame[columns].set_axis(ids, axis=1), need_model.index.imputed_values[ids],
        need_model.index.imputed_flags[ids], {i: need_model.specs[i].label for i in ids},
        {i: need_model.specs[i].unit for i in ids}, frame["score"], frame["status"],
        frame["missing_indicators"], directions={i: need_model.specs[i].direction for i in ids},
        weights=need_model.index.matrix.context["households"],
    )
    codes = ["23096", "59350", "93066", "75056", "2A004", "01001"]
    some = need.explanations(need_model, chosen, codes)
    assert list(some.index) == codes
    for code in codes:
        assert some[code] == full[code]


def test_rescoring_changes_ranks_without_touching_the_default(need_model):
    from ui import need

    default = need.scored(need_model).set_index("code")
    other = need.NeedSettings(tuple((i, 1.0 if i == "rurality" else 0.0) for i in need_model.aggregated))
    if "rurality" not in need_model.aggregated:
        pytest.skip("indicateur de ruralité indisponible")
    rescored = need.scored(need_model, other).set_index("code")
    assert not rescored["rank"].equals(default["rank"])
    assert rescored["intervals_settings"].iat[0] == need_model.default.label
    assert need.scored(need_model).set_index("code")["rank"].equals(default["rank"])


def test_indexed_map_renders_standalone_without_external_links(store):
    import re

    deps = store.read("departements_grossier").head(5)
    fmap = webmap.offline_map()
    text = webmap.compact_geojson(deps, 3, {"name": "n", "code": "c"})
    webmap.IndexedGeoJson("main", data=text).add_to(fmap)
    webmap.add_legend_slot(fmap)
    styler = webmap.LayerStyler("main", [0, 1, -1, 2, None], webmap.PALETTES["besoin"][:3],
                                ["1,0", "2,0", None, "3,0", None], "Essai", "<b>Légende</b>")
    webmap.IndexedOverlay("main", [0, None, None, None, 0], ["#000000"]).add_to(styler)
    styler.add_to(fmap)
    html = fmap.get_root().render()
    assert re.findall(r"""(?:src|href)\s*=\s*["'](https?://[^"']+)""", html) == []
    assert html.count('"type":"Feature"') == 5
    assert "e.state.classes = [0, 1, -1, 2, null]" in html
    assert "diag-legend-slot" in html


def _site(site_id: str, name: str, level: str, lon: float = 1.87, lat: float = 46.17) -> dict:
    from operators import schema

    return {
        "site_id": site_id, "operator_id": "op", "operator_name": "Association (fait main)",
        "network": "FAPIL", "operator_siren": None, "source_id": site_id, "name": name,
        "address": "1 rue de l'Essai", "postcode": "23000", "commune_code": "23096",
        "commune_name": "Guéret", "dep_code": "23", "commune_code_source": "23096",
        "lon": lon, "lat": lat, "geocode_method": schema.GEO_GIVEN, "geocode_score": None,
        "geocode_label": None, "offer_type": "pension_de_famille",
        "offer_family": "pension_de_famille", "capacity": 20.0, "capacity_unit": schema.UNIT_PLACES,
        "public": None, "opening_year": None, "status": schema.STATUS_OPEN,
        "confidentiality": level, "coverage_epci": None, "coverage_communes": None,
        "fictional": True, "flags": [], "duplicate_of": None,
    }


def test_confidential_sites_are_never_shown_and_small_totals_masked(store):
    from operators import schema
    from ui import sites as sites_mod

    sites = pd.DataFrame([
        _site("s1", "Pension publique", schema.CONF_PUBLIC),
        _site("s2", "Refuge secret", schema.CONF_CONFIDENTIAL),
    ])
    view = sites_mod.public(sites)
    assert list(view.listed["name"]) == ["Pension publique"]
    assert list(view.points["name"]) == ["Pension publique"]
    assert view.confidential is None  # no figure about confidential sites for a commune
    assert sites_mod.commune_total(view, "23096") == "< 3"
    assert view.totals["sites_n"].isna().all() and len(view.totals) == 1  # the public site only
    assert sites_mod.count_text(3) == "3"
