"""Siting suggestions (greedy maximum coverage) on small cases with a known optimum."""

from __future__ import annotations

import copy
from itertools import combinations_with_replacement

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from models import accessibility as acc
from models import gap as g
from models import siting as si

# Five communes every 10 km on a line; catchment 12 km: each reaches its two neighbours.
UNMET = {"P0": 6.0, "P1": 0.0, "P2": 6.0, "P3": 0.0, "P4": 8.0}


def line_model() -> g.GapModel:
    codes = list(UNMET)
    communes = pd.DataFrame({
        "code": codes, "name": [f"Commune {c}" for c in codes], "dep_code": "01",
        "x_metric": [700_000.0 + 10_000 * i for i in range(5)], "y_metric": 6_600_000.0,
        "metric_crs": "EPSG:2154",
    })
    need = pd.DataFrame({"code": codes, "need_households": list(UNMET.values())})
    sites = pd.DataFrame(columns=["site_id", "commune_code", "offer_type", "capacity", "status"])
    config = copy.deepcopy(acc.load_config())
    config["catchment_m"]["default"] = 12_000
    inputs = g.GapInputs(communes=communes, need=need,
                         households=pd.Series(100.0, index=codes), sites=sites)
    return g.GapModel(inputs, config)


def reach_sets() -> dict[str, set[str]]:
    codes = list(UNMET)
    return {c: {codes[j] for j in range(max(0, i - 1), min(5, i + 2))}
            for i, c in enumerate(codes)}


def brute_force_best(k: int) -> float:
    """Largest need covered by k sites big enough for any reach set (union of reaches)."""
    sets = reach_sets()
    return max(
        sum(UNMET[c] for c in set().union(*(sets[s] for s in chosen)))
        for chosen in combinations_with_replacement(UNMET, k)
    )


def test_one_site_known_optimum():
    result = si.suggest_sites(line_model(), "pension de famille", 20, list(UNMET), site_size=20)
    # P3 reaches P2, P3, P4: 6 + 0 + 8 = 14, the most.
    assert result["code"].tolist() == ["P3"]
    assert result["need_covered"].tolist() == pytest.approx([14.0])
    assert result["need_covered"].sum() == pytest.approx(brute_force_best(1))


def test_two_sites_reach_the_optimum():
    result = si.suggest_sites(line_model(), "pension de famille", 40, list(UNMET), site_size=20)
    # P3 first (14); then P0 and P1 both reach P0's 6: the first in code order, P0.
    assert result["code"].tolist() == ["P3", "P0"]
    assert result["need_covered"].tolist() == pytest.approx([14.0, 6.0])
    assert result["need_covered"].sum() == pytest.approx(brute_force_best(2))
    assert result["unmet_remaining"].iloc[-1] == pytest.approx(0.0)


def test_site_size_caps_each_site_and_ties_go_to_densest_need():
    result = si.suggest_sites(line_model(), "pension de famille", 20, list(UNMET), site_size=10)
    # P1 (12 in reach) and P3 (14) both answer 10: P3 wins, taking 10/14 of P2 and P4's need;
    # then P1 reaches P0 (6) + what is left of P2 (6 · 4/14).
    assert result["code"].tolist() == ["P3", "P1"]
    assert result["need_covered"].tolist() == pytest.approx([10.0, 6 + 6 * 4 / 14])
    assert result["places"].tolist() == [10.0, 10.0]


def test_stops_when_no_unmet_need_is_left():
    result = si.suggest_sites(line_model(), "chrs", 200, list(UNMET), site_size=20)
    assert result["need_covered"].sum() == pytest.approx(sum(UNMET.values()))
    assert len(result) == 2
    assert "places sur 200 placées" in result.attrs["note_fr"]


def test_greedy_core_on_arrays():
    reach = np.array([[1, 1, 0], [0, 1, 1]])
    picks = si.greedy_max_coverage(np.array([5.0, np.nan, 3.0]), sparse.csr_matrix(reach), 5, 5)
    assert [p.candidate for p in picks] == [0]  # NaN need counts as nothing
    with pytest.raises(g.GapError, match="places"):
        si.greedy_max_coverage(np.ones(3), sparse.csr_matrix(reach), 0, 5)


def test_planner_limits_spread_and_size_operations(monkeypatch):
    # With target households known, no commune gets more places of the family than the stated
    # share of its own targets, no site below the family's smallest operation, and a site is
    # sized to the need in its reach (issue « chiffres qui s'accordent »: 4 × 25 places stacked
    # in one village). Hand-made: P3 may host 0,5 × 30 = 15 places, P1 0,5 × 8 = 4 (< 10: none).
    model = line_model()
    targets = {"P0": 2.0, "P1": 8.0, "P2": 10.0, "P3": 30.0, "P4": 12.0}
    original = model.frame

    def with_targets(codes=None, fca=None):
        frame = original(codes, fca=fca)
        frame["target_pension_de_famille"] = frame["code"].map(targets)
        return frame

    monkeypatch.setattr(model, "frame", with_targets)
    monkeypatch.setattr(si, "planner_limits", lambda family: (0.5, 10.0))
    result = si.suggest_sites(model, "pension de famille", 100, list(UNMET), site_size=25)
    assert result["code"].tolist() == ["P3"]
    assert result["places"].tolist() == [14.0]  # the need in P3's reach (6 + 0 + 8), under 15
    assert "ne sont pas placées" in result.attrs["note_fr"] and "50" in result.attrs["note_fr"]
