"""Honest headlines: no screen or report calls a rate of persons a count of households, puts
places over all poor households, or prints a degenerate interval; demo-based figures say FICTIF.

The scan reads the French text of the app and the reports (``ui/``, ``diagnostics/``); the
helpers are run on hand-made frames (fait main)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import settings
from diagnostics.sections.common import count_interval
from diagnostics.sections.synthesis import target_message
from models import target_households as th
from ui.pages.presentation import _interval, key_messages

ROOT = settings.PROJECT_ROOT
FORBIDDEN = {
    r"ménages (?:qui )?(?:vivent |vivant )?sous le seuil": "un taux de personnes appelé ménages",
    r"Pauvreté : \" \+ pct\([^)]*\) \+ \" des ménages": "un taux de personnes appelé ménages",
    r"quelle que soit la pondération": "la sensibilité dit ce qui a été mesuré (tirages)",
    r"du besoin couvert": "des places rapportées à tous les ménages pauvres",
    r"couvre \{share\} du besoin": "des places rapportées à tous les ménages pauvres",
    r"Part du besoin couverte": "des places rapportées à tous les ménages pauvres",
    r"\"Ménages en besoin": "volume de ménages pauvres présenté comme un besoin mesuré",
}


def _texts():
    for folder in ("ui", "diagnostics"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in {".py", ".html", ".j2", ".css"} and path.is_file():
                yield path, path.read_text(encoding="utf-8")


@pytest.mark.parametrize("pattern", list(FORBIDDEN))
def test_no_screen_or_report_uses_a_forbidden_wording(pattern):
    found = [f"{path.relative_to(ROOT)}:{text[:m.start()].count(chr(10)) + 1}"
             for path, text in _texts() for m in re.finditer(pattern, text)]
    assert not found, f"{FORBIDDEN[pattern]} : {found}"


def _need() -> pd.DataFrame:
    return pd.DataFrame({
        "code": ["A", "B"], "name": ["Alpha", "Beta"],
        "need_households": [600.0, 400.0], "need_households_low": [600.0, 400.0],
        "need_households_high": [600.0, 400.0], "status": ["calculé"] * 2, "rank": [1, 2],
        "top_decile_robust": [True, False],
    })


def test_presentation_says_persons_and_fictif():
    gap = pd.DataFrame({"code": ["A", "B"], "missing_total": [12.4, 3.0],
                        "reference_class": ["très en dessous de la référence", "dans la référence"]})
    messages = key_messages(["A", "B"], _need(), gap,
                            {"offer_fictional": True, "reference_method_fr": "médiane"})
    need, robust, places = messages
    assert need["title"] == "ménages pauvres estimés"
    assert "part des personnes" in need["source"]
    assert "Intervalle" not in need["text"]  # equal bounds: no degenerate interval
    assert "1 000 tirages" in robust["text"] and "quelle que soit" not in robust["text"]
    assert places["figure"].endswith("FICTIF")
    assert "ménages pauvres" not in places["text"]  # places are never set against them


def test_degenerate_interval_not_printed():
    assert count_interval(169224, 169224, 169224) == "169\u202f224"
    assert count_interval(10, 8, 12) == "10 (8 – 12)"
    assert _interval(5.0, 5.0) == ""


def test_synthesis_target_message_counts_households_not_persons():
    params = th.load_params()
    frame = pd.DataFrame({"code": ["A"], "estimated": [True]})
    for name in th.CATEGORIES:
        for suffix in ("", "_low", "_high"):
            value = None if name in ("without_home", "poor_owners_degraded") else 10
            frame[f"target_{name}{suffix}"] = pd.array([value], dtype="Int64")
    frame.attrs["availability"] = {n: ("source absente" if n in ("without_home",
                                                                   "poor_owners_degraded")
                                       else "") for n in th.CATEGORIES}
    message = target_message(frame)
    assert "ménages" in message.text and "sous le seuil" not in message.text
    assert "Non disponible" in message.text
    assert params["categories"]["without_home"]["short_label"].lower() in message.text
    assert "ne s'additionnent pas" in message.text
