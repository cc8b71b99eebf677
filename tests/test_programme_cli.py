"""``python -m models programme`` on the project's store (need index, FICTIF demo registry):
French keys, FICTIF beside every figure that rests on the demo offer, régions for France, and
French errors without a traceback."""

from __future__ import annotations

import json

import pytest

from models import programme_costs as pc
from models.__main__ import cli

FUNDERS = {"FNAP", "Anah", "collectivités", "Action Logement"}


def run_json(capsys, *args: str) -> dict:
    assert cli(["programme", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _fictif_everywhere(node, path="") -> list[str]:
    """Paths of the figure blocks (centrale / basse / haute) without « FICTIF »."""
    missing = []
    if isinstance(node, dict):
        if "centrale" in node and not node.get("FICTIF"):
            missing.append(path)
        for key, value in node.items():
            missing += _fictif_everywhere(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            missing += _fictif_everywhere(value, f"{path}[{i}]")
    return missing


def test_creuse_programme_json(capsys, store):
    out = run_json(capsys, "dep:23", "--horizon", "4")
    assert out["territoire"] == "Creuse" and out["horizon_annees"] == 4
    assert set(out["subventions"]) >= FUNDERS
    assert set(out["investissement"]) >= {"centrale", "basse", "haute"}
    assert [y["annee"] for y in out["fonctionnement"]["par_an"]] == [1, 2, 3, 4]
    families = {f["code_famille"]: f for f in out["familles"]}
    assert "pension_de_famille" in families
    for family in families.values():
        assert {"places_manquantes", "operations", "investissement", "subventions",
                "fonctionnement_annuel_en_regime"} <= set(family)
        low, central, high = (family["places_manquantes"][k] for k in ("basse", "centrale",
                                                                        "haute"))
        assert low <= central <= high
    # The total is the sum of the operations listed (one figure, one computation).
    ops = [op for f in out["familles"] for op in f["operations"]]
    assert out["investissement"]["centrale"] == pytest.approx(
        sum(op["investissement"] for op in ops), abs=len(ops))
    if out["FICTIF"]:  # the demo registry: every figure says so
        assert "FICTIF" in out["avertissement"] and "FICTIF" in out["offre_utilisee"]
        assert _fictif_everywhere({k: v for k, v in out.items() if k != "reference"}) == []


def test_france_programme_by_region(capsys, store):
    out = run_json(capsys, "france")
    names = {r["nom"] for r in out["regions"]}
    assert {"Nouvelle-Aquitaine", "Hauts-de-France", "Île-de-France"} <= names
    total = sum(r["investissement"]["centrale"] for r in out["regions"])
    assert out["investissement"]["centrale"] == pytest.approx(total, abs=len(out["regions"]))
    fnap = sum(r["subventions"]["FNAP"]["centrale"] for r in out["regions"])
    assert out["subventions"]["FNAP"]["centrale"] == pytest.approx(fnap, abs=len(out["regions"]))
    assert "operations" not in out["familles"][0]


def test_the_allowance_moves_the_running_funding(capsys, store):
    """Through the command line: +1 € per place and day moves the pension de famille
    allowance by places × 365 € a year."""
    base = run_json(capsys, "france")
    allowance = pc._parameters().general["forfait_pension_famille_jour"].value
    raised = run_json(capsys, "france", "--set", f"forfait_pension_famille_jour={allowance + 1}")
    key = "forfait pension de famille (État)"
    places = next(f for f in base["familles"] if f["code_famille"] == "pension_de_famille")[
        "places_programmees"]["centrale"]
    delta = (raised["fonctionnement_annuel_en_regime"]["par_financeur"][key]["centrale"]
             - base["fonctionnement_annuel_en_regime"]["par_financeur"][key]["centrale"])
    assert places > 0
    assert delta == pytest.approx(places * 365, abs=2)


@pytest.mark.parametrize(("args", "message"), [
    (["dep:99"], "Département inconnu"),
    (["dep:23", "--horizon", "0"], "Horizon"),
    (["dep:23", "--famille", "pension_de_famille=chateau"], "type d'opération « chateau »"),
    (["dep:23", "--set", "forfait_pension_famille_jour"], "nom=valeur"),
])
def test_errors_in_french_without_traceback(capsys, store, args, message):
    assert cli(["programme", *args]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
