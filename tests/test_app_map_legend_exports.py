"""The map's legend, classes and exports, on hand-made values (no store, no app).

Legend: the unit said once, the weighting named, an entry for estimated values, the national
classes said; classes: national classes applied to a territory, Fisher-Jenks exact and stable;
exports: the map's table in French CSV under its header, the PNG with its legend.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from ui import classify, downloads, map_exports, mapview
from ui.geometry import ViewGeometry
from ui.variables import Variable

GAP = Variable("gap:gap_per_1000", "Écart pour 1 000 ménages", "Écart", "pour 1 000 ménages",
               "Modèle d'écart du projet (INSEE, Filosofi 2021).", palette="ecart",
               short_source="INSEE, Filosofi 2021")
SCORE = Variable("need:score", "Indice de besoin", "Besoin", "/100",
                 "Indice de besoin du projet (INSEE, Filosofi 2021).", palette="besoin",
                 short_source="INSEE, Filosofi 2021 ; projet")
POOR = Variable("ind:poor_households", "Ménages pauvres", "Revenus", "ménages",
                "INSEE, Filosofi 2021.", decimals=0, aggregate="sum",
                short_source="INSEE, Filosofi 2021")


def test_legend_says_the_unit_once_and_names_the_weighting():
    styled = mapview.styled_values(GAP, pd.Series([-3.0, 1.0, 5.0, 9.0, np.nan]), "quantiles", 4)
    html = mapview.legend(GAP, styled, "communes", "Quantiles")
    assert html.count("pour 1 000 ménages") == 1
    assert "INSEE, Filosofi 2021" in html  # source and vintage
    scored = mapview.styled_values(SCORE, pd.Series([10.0, 20.0, 30.0, 40.0]), "quantiles", 3)
    preset = mapview.weighting_text(SCORE, "préréglage « ruralité »")
    custom = mapview.weighting_text(SCORE, "poids personnalisés")
    assert preset == "Pondération : préréglage « ruralité »"
    assert custom == "Pondération personnalisée"
    assert mapview.weighting_text(POOR, "préréglage « ruralité »") == ""  # not weighted
    html = mapview.legend(SCORE, scored, "communes", "Quantiles", weighting=custom,
                          estimated=True, national_classes=True, font_px=18)
    assert "Pondération personnalisée" in html
    assert mapview.ESTIMATED_LABEL in html and "repeating-linear-gradient" in html
    assert "Classes : quantiles de toutes les communes de France" in html
    assert "font:18px" in html
    # How to read it: the direction of the colours, the index's scale, whose quantiles.
    assert "Plus foncé = besoin plus fort" in html and "Échelle de 0 à 100" in html
    own = mapview.legend(SCORE, scored, "communes", "Quantiles")
    assert "Classes : quantiles des communes de la carte" in own
    assert "Plus foncé" not in mapview.legend(GAP, styled, "communes", "Quantiles")  # diverging


def test_national_classes_colour_a_territory_like_france():
    france = pd.Series(np.arange(1.0, 101.0))
    territory = pd.Series([5.0, 95.0, np.nan])
    styled = mapview.styled_values(SCORE, territory, "quantiles", 5, reference=france)
    assert styled.classes.tolist() == [0, 4, -1]
    assert styled.labels == mapview.styled_values(SCORE, france, "quantiles", 5).labels
    alone = mapview.styled_values(SCORE, territory, "quantiles", 5)
    assert alone.labels != styled.labels  # the territory's own classes differ


def test_fisher_jenks_is_exact_and_stable():
    mapclassify = pytest.importorskip("mapclassify")
    values = np.random.default_rng(3).gamma(2.0, 10.0, 300)
    ours = classify.fisher_jenks_bins(values, 4)
    theirs = [float(b) for b in mapclassify.FisherJenks(values, k=4).bins]
    assert ours == pytest.approx(theirs)
    big = np.random.default_rng(4).gamma(2.0, 10.0, 20_000)
    assert classify.fisher_jenks_bins(big, 5) == classify.fisher_jenks_bins(big.copy(), 5)


def test_csv_cells_are_french():
    frame = pd.DataFrame({"Rang": [647.0, np.nan], "Taux": [12.5, 3.25], "QPV": [True, False],
                          "Note": [None, "x"]})
    out = downloads.french_csv(frame).decode("utf-8-sig")
    assert out.splitlines()[1] == "647;12,5;oui;"
    assert "True" not in out and "None" not in out and "nan" not in out and "647,0" not in out


def _view() -> ViewGeometry:
    squares = [shapely.box(2.0 + i * 0.1, 48.0, 2.1 + i * 0.1, 48.1) for i in range(3)]
    frame = gpd.GeoDataFrame({"code": ["75101", "75102", "75103"],
                              "name": ["Un", "Deux", "Trois"]}, geometry=squares, crs="EPSG:4326")
    return ViewGeometry(key="k", level="communes", frame=frame, text="", bounds=(2.0, 48.0, 2.3, 48.1),
                        national=False)


def test_map_table_and_png():
    view = _view()
    values = pd.Series([120.0, np.nan, 3.0], index=view.codes)
    styled = mapview.styled_values(POOR, values, "quantiles", 2)
    table = map_exports.map_table(view, POOR, values, styled, "communes")
    assert list(table.columns) == ["Code", "Commune", "Ménages pauvres",
                                   "Classe sur la carte"]
    assert table.iloc[1]["Classe sur la carte"] == "donnée absente ou secrète"
    text = map_exports.table_csv(table, map_exports.header_lines(
        POOR, "Paris", "")).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0] == "Indicateur;Ménages pauvres"  # the unit is in the label
    assert lines[1] == "Source;INSEE, Filosofi 2021"
    assert "75101;Un;120;" in text  # a count, not « 120,0 »
    png = map_exports.map_png(view, POOR, styled, "Ménages pauvres — Paris", "Source : INSEE")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_classes_whose_bounds_read_the_same_are_merged():
    # Places mostly under one at 0 decimals once gave « 0 / 0 – 0 / 0 – 0 / 0 – 0 / 0 – 4 ».
    from ui.classify import classify

    found = classify(pd.Series([0, 0, 0, 0.2, 0.3, 0.4, 0.6, 0.8, 1.5, 4]), "quantiles", 5, 0)
    assert found.labels == ["0", "0 – 1", "1 – 4"]
    assert len(set(found.labels)) == len(found.labels) and sum(found.counts) == 10
