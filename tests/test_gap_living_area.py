"""The gap judged at the living area, and the « territoires comparables » reference, hand-computed
on the hand-made line of communes (``tests/fixtures/gap``, fait main)."""

from __future__ import annotations

import pandas as pd
import pytest

from models import gap as g
from models import gap_reference as gr
from tests.gap_support import line_config, line_inputs
from tests.test_gap_reference import _targets

PF = gr.Reference("value", {"pension_de_famille": 250.0})


def _model(**epci) -> g.GapModel:
    inputs = line_inputs()
    for code, value in epci.items():
        inputs.communes.loc[inputs.communes["code"] == code, "epci_code"] = value
    return g.GapModel(inputs, line_config())


def _with_context(targets):
    """Density and market zone per commune (hand-made): 01 urban and tense, 02 rural."""
    frame = targets.frame
    frame["density_7"] = [1, 1, 1, 6, 6, 1, 5, 5]
    frame["zone_abc"] = ["A", "A", "A", "C", "C", "A", "C", "C"]
    return targets


def test_small_commune_takes_its_living_area_class():
    # C (5 isolated → 10 target households over pension de famille and résidence sociale,
    # below 20) is put in A's EPCI E1. Own figures: no place within reach (30 km from A's
    # pension de famille), rate 0, missing 250 × 5 / 1000 = 1.25.
    reference_gap = gr.ReferenceGap(_model(C="E1"), _targets(), regions={})
    frame = reference_gap.frame(PF).set_index("code")
    assert frame.loc["C", "rate_pension_de_famille"] == pytest.approx(0.0)
    assert frame.loc["C", "missing_pension_de_famille"] == pytest.approx(1.25)
    # The range of missing places on the low / high targets (4 and 6 isolated, × 250 / 1000).
    assert frame.loc["C", "missing_pension_de_famille_low"] == pytest.approx(1.0)
    assert frame.loc["C", "missing_pension_de_famille_high"] == pytest.approx(1.5)
    # Class of E1: Σ allocated / Σ expected = (20 + 10 + 0) / (25 + 12.5 + 1.25) = 0.774 → « en
    # dessous » (its own ratio, 0, would have been « très en dessous »).
    assert frame.loc["C", "class_pension_de_famille"] == gr.CLASS_BELOW
    assert frame.loc["C", "class_scale"] == gr.SCALE_LIVING_AREA
    # A (200 target households) is judged on its own: 200 / 250 = 0.8 → « dans la référence ».
    assert frame.loc["A", "class_pension_de_famille"] == gr.CLASS_WITHIN
    assert frame.loc["A", "class_scale"] == gr.SCALE_COMMUNE
    # F has no target household: « pas de ménages cibles mesurés », not the EPCI's class.
    assert frame.loc["F", "class_pension_de_famille"] == gr.CLASS_NO_TARGET
    assert frame.loc["F", "class_scale"] == gr.SCALE_COMMUNE


def test_alone_in_its_epci_the_class_is_its_own():
    reference_gap = gr.ReferenceGap(_model(), _targets(), regions={})
    frame = reference_gap.frame(PF).set_index("code")
    assert frame.loc["C", "class_scale"] == gr.SCALE_LIVING_AREA
    assert frame.loc["C", "class_pension_de_famille"] == gr.CLASS_VERY_BELOW


def test_threshold_is_a_parameter():
    params = gr.load_params()
    params["living_area"]["min_target_households"] = 0
    reference_gap = gr.ReferenceGap(_model(C="E1"), _targets(), regions={}, params=params)
    frame = reference_gap.frame(PF).set_index("code")
    assert frame.loc["C", "class_pension_de_famille"] == gr.CLASS_VERY_BELOW
    assert (frame["class_scale"] == gr.SCALE_COMMUNE).all()


def test_comparable_territories_reference():
    params = gr.load_params()
    assert params["default_method"] == "comparable"
    params["comparable"]["min_territories"] = 1
    reference_gap = gr.ReferenceGap(_model(), _with_context(_targets()), regions={},
                                    params=params)
    groups = pd.Series(reference_gap.comparable_group, index=reference_gap.codes)
    assert groups["A"] == "urbain, marché tendu"
    assert groups["D"] == "rural, marché détendu"
    rates, notes = reference_gap.references(gr.Reference("comparable"))
    # Only département 01 hosts pension de famille places: its rate is 1000 × Σ allocated /
    # Σ targets = 1000 × 30 / (100 + 50 + 5 + 0) = 193.5; the rural group has no hosting
    # département and takes all hosting départements (the same one here), said in the note.
    pf = pd.Series(rates["pension_de_famille"], index=reference_gap.codes)
    assert pf["A"] == pytest.approx(1000 * 30 / 155)
    assert pf["D"] == pytest.approx(1000 * 30 / 155)
    assert "urbain, marché tendu : 1" in notes["pension_de_famille"]
    assert "ensemble des 1 départements" in notes["pension_de_famille"]
    # The upper quartile is selectable, and so is the national median.
    _rates_q3, notes_q3 = reference_gap.references(gr.Reference("comparable_q3"))
    assert "quartile supérieur" in notes_q3["pension_de_famille"]
    _, national = reference_gap.references(gr.Reference("national_median"))
    assert national["pension_de_famille"].startswith("médiane nationale")


def test_housed_by_members_offer_is_offer_not_need():
    """IML and diffus places located in a commune are taken off its private tenants (they are
    offer, not need); places elsewhere or of other families take nothing off."""
    inputs = line_inputs()
    extra = pd.DataFrame([{"site_id": "iml-D", "commune_code": "D", "offer_type": "iml",
                           "capacity": 8, "status": "ouvert", "coverage_communes": "",
                           "confidentiality": "public"}])
    inputs.sites = pd.concat([inputs.sites, extra], ignore_index=True)
    model = g.GapModel(inputs, line_config())
    targets = _targets()
    frame = targets.frame
    for suffix in ("", "_low", "_high"):  # D has 20 poor private tenants, E 20 (fait main)
        frame[f"target_private_tenants{suffix}"] = pd.array([0, 0, 0, 20, 20, 0, 0, None],
                                                           dtype="Int64")
    reference_gap = gr.ReferenceGap(model, targets, regions={})
    housed = pd.Series(reference_gap.housed, index=reference_gap.codes)
    assert housed["D"] == 8 and housed.drop("D").sum() == 0
    out = reference_gap.frame().set_index("code")
    # Intermédiation locative takes half of the private tenants: D (20 − 8) / 2 = 6, E 20 / 2.
    assert out.loc["D", "target_intermediation_locative"] == pytest.approx(6.0)
    assert out.loc["E", "target_intermediation_locative"] == pytest.approx(10.0)


def test_published_reference_says_its_unit():
    """The published national count of résidences sociales is in persons (2016): said beside
    the figure; the hébergement count is in places, the unit of the offer."""
    reference_gap = gr.ReferenceGap(_model(), _targets(), regions={})
    _, notes = reference_gap.references(gr.Reference("yaml"))
    assert "attention : compté en personnes (2016)" in notes["residence_sociale"]
    assert "attention" not in notes["pension_de_famille"]
