"""Explanation sentences and weight presets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import weights as wts
from models.explain import drivers, format_number, format_value, inline_label, sentences


def test_french_number_formatting():
    assert format_number(12345.67) == "12\u202f345,7"
    assert format_number(float("nan")) == "n.d."
    assert format_value(14420, "€ par an et par unité de consommation") == "14\u202f420\u202f€"
    assert format_value(24.04, "%") == "24,0\u202f%"
    assert format_value(1.0, "oui / non") == "oui"
    assert format_value(7, "niveau") == "niveau 7"
    assert inline_label("Présence d'un quartier prioritaire (QPV 2024)") == (
        "présence d'un quartier prioritaire"
    )
    assert inline_label("QPV 2024") == "QPV 2024"


def test_drivers_by_hand():
    contributions = np.array([[10.0, 5.0, 4.0, np.nan], [2.0, 2.0, 2.0, 2.0]])
    reference = np.array([4.0, 2.0, 3.0, 1.0])
    # row 1: excess 6, 3, 1 -> third kept only if >= 0.5 * 3 : no
    # row 2: excess -2, 0, -1, 1 -> one driver (>= 0.25) only
    assert drivers(contributions, reference) == [[0, 1], [3]]
    assert drivers(np.array([[10.0, 8.0, 7.0]]), np.zeros(3)) == [[0, 1, 2]]


def test_sentences_name_the_drivers_with_values_and_flags():
    index = pd.Index(["00001", "00002", "00003"], name="code")
    contrib = pd.DataFrame(
        {"poverty_rate": [30.0, 10.0, np.nan], "vacancy_rate": [12.0, 10.0, np.nan],
         "rurality": [1.0, 10.0, np.nan]},
        index=index,
    )
    raw = pd.DataFrame(
        {"poverty_rate": [31.2, 12.0, np.nan], "vacancy_rate": [17.5, 8.0, np.nan],
         "rurality": [7.0, 3.0, np.nan]},
        index=index,
    )
    imputed = pd.DataFrame({"poverty_rate": [True, False, False]}, index=index)
    labels = {"poverty_rate": "Taux de pauvreté", "vacancy_rate": "Taux de vacance",
              "rurality": "Ruralité (grille de densité)"}
    units = {"poverty_rate": "%", "vacancy_rate": "%", "rurality": "niveau"}
    text = sentences(
        contrib, raw, imputed, labels, units,
        score=pd.Series([43.0, 30.0, np.nan], index=index),
        status=pd.Series(["calculé", "calculé", "données insuffisantes"], index=index),
        missing_note=pd.Series(["", "", "Taux de pauvreté"], index=index),
    )
    # France values without weights: plain means, 21,6 % and 12,75 % ; niveau 5.
    assert text["00001"] == (
        "Score 43/100, surtout dû à deux facteurs plus défavorables qu'en France : "
        "taux de pauvreté (31,2\u202f%, estimé ; France : 21,6\u202f%) et taux de vacance "
        "(17,5\u202f% ; France : 12,8\u202f%)."
    )
    # What sets 00002's score apart is a value below France's: never called unfavourable.
    assert text["00002"] == (
        "Score 30/100. Ce qui distingue la commune : ruralité (niveau 3 ; France : niveau 5 : "
        "plus favorable)."
    )
    assert text["00003"] == (
        "Données insuffisantes pour classer cette commune (manquent : Taux de pauvreté)."
    )


def test_sentence_compares_with_the_france_value_shown():
    # Hand-made: a poverty rate of 15,1 % against a France value of 16,0 % (households-weighted)
    # is « plus favorable »; households are whole numbers.
    index = pd.Index(["A", "B"], name="code")
    contrib = pd.DataFrame({"poverty_rate": [9.0, 1.0], "poor_households": [8.0, 1.0]},
                           index=index)
    raw = pd.DataFrame({"poverty_rate": [15.1, 16.1], "poor_households": [54.7, 10.2]},
                       index=index)
    units = {"poverty_rate": "%", "poor_households": "ménages"}
    labels = {"poverty_rate": "Taux de pauvreté", "poor_households": "Ménages pauvres"}
    weights = pd.Series([100.0, 900.0], index=index)  # (15,1 × 100 + 16,1 × 900) / 1000 = 16,0
    text = sentences(contrib, raw, pd.DataFrame(index=index), labels, units,
                     score=pd.Series([25.0, 10.0], index=index),
                     status=pd.Series(["calculé", "calculé"], index=index),
                     directions={"poverty_rate": 1, "poor_households": 1}, weights=weights)
    assert "taux de pauvreté (15,1\u202f% ; France : 16,0\u202f% : plus favorable)" in text["A"]
    # A count's France value is the mean commune's, and the sentence says so (never « France :
    # 133 ménages » next to a city's 15 708).
    assert ("ménages pauvres (55\u202fménages ; moyenne des communes de France : 32\u202fménages : "
            "plus défavorable)") in text["A"]
    assert "plus défavorables qu'en France" not in text["A"]
    assert format_value(54.7, "ménages") == "55\u202fménages"


def test_presets_file_has_the_four_named_presets():
    presets = wts.load_presets()
    assert {"équilibré", "ruralité", "copropriétés dégradées", "pauvreté urbaine"} <= set(presets)
    for preset in presets.values():
        assert preset.description and sum(preset.weights.values()) > 0


def test_resolve_reports_unavailable_indicators():
    presets = {"p": wts.Preset("p", "", {"a": 2.0, "b": 1.0, "absent": 1.0})}
    weights, info = wts.resolve("p", ["a", "b", "c"], presets)
    assert weights == {"a": pytest.approx(2 / 3), "b": pytest.approx(1 / 3), "c": 0.0}
    assert info["indicateurs_indisponibles"] == ["absent"]
    assert info["part_du_poids_indisponible"] == 0.25


def test_bad_preset_file_is_a_french_error(tmp_path):
    path = tmp_path / "poids_fait_main.yaml"
    path.write_text("presets:\n  vide:\n    description: x\n", encoding="utf-8")
    with pytest.raises(wts.WeightsError, match="« vide » : la clé « weights » manque"):
        wts.load_presets(path)
    path.write_text("presets:\n  p:\n    weights: {a: abc}\n", encoding="utf-8")
    with pytest.raises(wts.WeightsError, match="« a » n'est pas un nombre"):
        wts.load_presets(path)
