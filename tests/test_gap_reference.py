"""The gap against a reference rate: hand-computed on the hand-made line of communes
(``tests/fixtures/gap``), reference methods, classes, missing places, zones blanches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import gap as g
from models import gap_reference as gr
from models import target_households as th
from tests.gap_support import line_config, line_inputs

CODES = ["A", "B", "C", "D", "E", "F", "G", "H"]
# Hand-made targets (fait main): isolated adults as in the need of the line, nothing else.
ISOLATED = {"A": (100, 80, 130), "B": (50, 40, 60), "C": (5, 4, 6), "D": (40, 30, 50),
            "E": (30, 20, 40), "F": (0, 0, 0), "G": (0, 0, 0), "H": (None, None, None)}


def _targets() -> th.TargetResult:
    params = th.load_params()
    # Hand-made parameters: the isolated answered whole by pension de famille and résidence
    # sociale (the gap's arithmetic is tested here; the split of a brick between families in
    # tests/test_target_households.py).
    params["categories"]["isolated_excluded"]["families"] = {
        "pension_de_famille": 1.0, "residence_sociale": 1.0}
    frame = pd.DataFrame({"code": CODES, "estimated": [False] * 7 + [True]})
    for name in th.CATEGORIES:
        for i, suffix in enumerate(("", "_low", "_high")):
            if name == "isolated_excluded":
                values = [ISOLATED[c][i] for c in CODES]
            elif name in ("without_home", "poor_owners_degraded", "shelter_exit"):
                values = [None] * len(CODES)
            else:
                values = [0] * 7 + [None]
            frame[f"target_{name}{suffix}"] = pd.array(values, dtype="Int64")
    availability = {n: "" for n in th.CATEGORIES}
    availability["without_home"] = "source absente du stock : SNE, DALO"
    availability["poor_owners_degraded"] = "source absente du stock : rnic"
    availability["shelter_exit"] = "source absente du stock : finess"
    return th.TargetResult(frame, availability, params, ["fait main"])


@pytest.fixture(scope="module")
def line() -> gr.ReferenceGap:
    model = g.GapModel(line_inputs(), line_config())
    return gr.ReferenceGap(model, _targets(), regions={"01": "R1", "02": "R1", "03": "R2"},
                           params=_commune_scale())


def _commune_scale() -> dict:
    """Parameters judging every commune at its own scale (the arithmetic of the line); the
    living area is tested in tests/test_gap_living_area.py."""
    params = gr.load_params()
    params["living_area"]["min_target_households"] = 0
    params["default_method"] = "national_median"
    return params


def test_families_and_unavailable(line):
    assert "hebergement" not in line.families
    assert line.unavailable["hebergement"].startswith("non disponible")
    assert "pension_de_famille" in line.total_families


def test_rate_and_missing_places_hand_computed(line):
    frame = line.frame(gr.Reference("value", {"pension_de_famille": 250.0}))
    frame = frame.set_index("code")
    # Pension de famille at A (30 places) reaches A, B (10 km), F (10 km; no target):
    # R = 30 / (100 + 50) = 0.2 → 200 places per 1,000 target households at A and B.
    assert frame.loc["A", "rate_pension_de_famille"] == pytest.approx(200.0)
    assert frame.loc["B", "rate_pension_de_famille"] == pytest.approx(200.0)
    assert frame.loc["C", "rate_pension_de_famille"] == pytest.approx(0.0)
    # Reference 250: expected A = 250 × 100 / 1000 = 25, allocated 20, missing 5.
    assert frame.loc["A", "expected_pension_de_famille"] == pytest.approx(25.0)
    assert frame.loc["A", "allocated_pension_de_famille"] == pytest.approx(20.0)
    assert frame.loc["A", "missing_pension_de_famille"] == pytest.approx(5.0)
    assert frame.loc["A", "surplus_pension_de_famille"] == pytest.approx(0.0)
    assert frame.loc["B", "missing_pension_de_famille"] == pytest.approx(2.5)
    assert frame.loc["D", "missing_pension_de_famille"] == pytest.approx(10.0)
    # Classes: A 200/250 = 0.8 → dans la référence; C and D have nothing → très en dessous.
    assert frame.loc["A", "class_pension_de_famille"] == gr.CLASS_WITHIN
    assert frame.loc["D", "class_pension_de_famille"] == gr.CLASS_VERY_BELOW
    assert frame.loc["F", "class_pension_de_famille"] == gr.CLASS_NO_TARGET
    assert frame.loc["G", "class_pension_de_famille"] == gr.CLASS_NO_TARGET
    assert frame.loc["H", "class_pension_de_famille"] == gr.CLASS_NOT_COMPUTED
    assert np.isnan(frame.loc["H", "missing_pension_de_famille"])
    # Low targets (80, 40): R = 30/120 → 250 → ratio 1 (dans) ; high (130, 60): R = 30/190 →
    # 157.9 → ratio 0.63 (en dessous): the class of A is not stable.
    assert not frame.loc["A", "class_certain_pension_de_famille"]
    assert frame.loc["D", "class_certain_pension_de_famille"]


def test_other_references(line):
    for value, expected in ((100.0, gr.CLASS_ABOVE), (300.0, gr.CLASS_BELOW),
                            (500.0, gr.CLASS_VERY_BELOW)):
        frame = line.frame(gr.Reference("value", {"pension_de_famille": value})).set_index("code")
        assert frame.loc["A", "class_pension_de_famille"] == expected
    frame = line.frame(gr.Reference("value", {"pension_de_famille": 100.0})).set_index("code")
    assert frame.loc["A", "surplus_pension_de_famille"] == pytest.approx(10.0)  # 20 − 10


def test_median_of_departements(line):
    # Département 01 hosts the 30 places: (20 + 10 + 0 + 0) / (100 + 50 + 5 + 0) × 1000.
    rates = line.department_rates("pension_de_famille")
    assert list(rates.index) == ["01"]  # 02 and 03 host no place of the family
    assert rates["01"] == pytest.approx(30 / 155 * 1000)
    refs, notes = line.references(gr.Reference("national_median"))
    assert refs["pension_de_famille"][0] == pytest.approx(30 / 155 * 1000)
    assert "1 département" in notes["pension_de_famille"]
    refs, _ = line.references(gr.Reference("regional_median"))
    positions = {c: i for i, c in enumerate(CODES)}
    assert refs["pension_de_famille"][positions["D"]] == pytest.approx(30 / 155 * 1000)  # R1
    assert np.isnan(refs["pension_de_famille"][positions["G"]])  # R2: no place recorded


def test_group_rates_hosting_filter():
    allocated = np.array([20.0, 10.0, 0.0, 0.0])
    target = np.array([100.0, 50.0, 40.0, np.nan])
    groups = np.array(["01", "01", "02", "02"])
    every = gr.group_rates(allocated, target, groups)
    assert every["02"] == 0.0 and every["01"] == pytest.approx(200.0)
    assert list(gr.group_rates(allocated, target, groups, hosting={"01"}).index) == ["01"]


def test_yaml_reference_is_published_places_over_targets(line):
    # 21,704 places / national target households of the family (here the line: 225) × 1000.
    assert line.yaml_rate("pension_de_famille") == pytest.approx(21704 / 225 * 1000)
    assert line.yaml_rate("diffus") is None
    _, notes = line.references(gr.Reference("yaml"))
    assert "21" in notes["pension_de_famille"] and "Dihal" in notes["pension_de_famille"]
    assert "hypothèse à confirmer" in notes["diffus"]


def test_total_over_families(line):
    frame = line.frame(gr.Reference("value", {f: 250.0 for f in line.families}))
    frame = frame.set_index("code")
    # Only the pension de famille has places; résidence sociale (same targets, no place) is
    # très en dessous; the total sums both: allocated 20, expected 25 + 25 → ratio 0.4.
    assert frame.loc["A", "class_residence_sociale"] == gr.CLASS_VERY_BELOW
    assert frame.loc["A", "expected_total"] == pytest.approx(50.0)
    assert frame.loc["A", "allocated_total"] == pytest.approx(20.0)
    assert frame.loc["A", "missing_total"] == pytest.approx(5.0 + 25.0)
    assert frame.loc["A", "reference_class"] == gr.CLASS_VERY_BELOW
    assert frame.loc["G", "reference_class"] == gr.CLASS_NO_TARGET
    assert frame.loc["H", "reference_class"] == gr.CLASS_NOT_COMPUTED


def test_classify_bounds():
    params = gr.load_params()
    rate = np.array([0.0, 49.0, 50.0, 79.9, 80.0, 125.0, 125.1, np.nan, 10.0])
    target = np.array([10, 10, 10, 10, 10, 10, 10, 10, 0.0])
    assert list(gr.classify(rate, 100.0, target, params)) == [
        gr.CLASS_VERY_BELOW, gr.CLASS_VERY_BELOW, gr.CLASS_BELOW, gr.CLASS_BELOW,
        gr.CLASS_WITHIN, gr.CLASS_WITHIN, gr.CLASS_ABOVE, gr.CLASS_NOT_COMPUTED,
        gr.CLASS_NO_TARGET]
    # A reference of 0 or unknown gives no class.
    assert set(gr.classify(rate[:3], 0.0, target[:3], params)) == {gr.CLASS_NOT_COMPUTED}


def test_typed_reference_checked():
    with pytest.raises(gr.ReferenceError, match="nombre positif"):
        gr.Reference("value", {"pension_de_famille": -3})
    with pytest.raises(gr.ReferenceError, match="inconnue"):
        gr.Reference("moyenne")


def test_zones_blanches_on_targets(line):
    neighbours = line.neighbours()
    series, zones = line.zones_blanches("pension_de_famille", neighbours)
    # D (40) and E (30) are 4 km apart, no pension de famille within reach: one zone of 70.
    assert len(zones) == 1
    assert zones.loc[0, "codes"] == ["D", "E"]
    assert zones.loc[0, "target_households"] == pytest.approx(70.0)
    assert set(series.index) == {"D", "E"}
    # C (5 target households) is below the threshold of 20.
    assert "C" not in series.index


def test_model_frame_and_scenario_carry_the_reference_gap():
    from models import scenarios as sc

    inputs = line_inputs()
    inputs.targets = _targets()
    inputs.regions = {"01": "R1", "02": "R1", "03": "R2"}
    model = g.GapModel(inputs, line_config())
    model.set_reference(gr.Reference("value", {"pension_de_famille": 250.0}))
    frame = model.frame().set_index("code")
    assert frame.loc["D", "missing_pension_de_famille"] == pytest.approx(10.0)
    assert model.meta()["reference_method"] == "value"
    scenario = sc.Scenario(model, "ajout")
    scenario.add_site("pension_de_famille", 20, "D", site_id="ajout-D")
    after = scenario.gap(["D", "E"]).set_index("code")
    # 20 places at D reach D (40) and E (30, 4 km): R = 20 / 70; D gets 40 × 20/70 = 11.4 places,
    # expected 10 → nothing missing; E expected 7.5, allocated 8.6 → nothing missing.
    assert after.loc["D", "missing_pension_de_famille"] == pytest.approx(0.0)
    assert after.loc["D", "allocated_pension_de_famille"] == pytest.approx(40 * 20 / 70)
    # The model's own state is untouched by the scenario.
    assert model.frame(["D"]).set_index("code").loc["D", "missing_pension_de_famille"] == \
        pytest.approx(10.0)
