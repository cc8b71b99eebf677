"""Target households: hand-computed on two hand-made communes, « non disponible » for absent
sources, parameters checked, national totals labelled in persons or households."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from models import target_households as th


def _inputs(**extra) -> th.TargetInputs:
    # Hand-made (fait main): X publishes its rate and persons; Y's persons are secret.
    need = pd.DataFrame({
        "code": ["X", "Y"], "dep_code": ["01", "01"], "households": [1000.0, 1000.0],
        "poverty_rate": [22.0, 11.0], "poverty_rate_low": [22.0, 11.0],
        "poverty_rate_high": [22.0, 11.0], "poverty_rate_method": ["publié", "publié"],
    })
    values = dict(
        need=need,
        fiscal_persons=pd.Series({"X": 2200.0}),
        persons_per_household=pd.Series({"X": 2.2, "Y": 2.0}),
        tenant_share=pd.Series({"X": 0.6, "Y": 0.2}),
        zone_abc=pd.Series({"X": "A", "Y": "B2"}),
        zone_tendue=pd.Series({"X": True, "Y": True}),
        datasets={"comparateur", "zonage_abc_2024", "tlv_zone_tendue"},
    )
    values.update(extra)
    return th.TargetInputs(**values)


@pytest.fixture(scope="module")
def result() -> th.TargetResult:
    return th.compute_targets(_inputs())


def test_persons_converted_to_households(result):
    frame = result.frame.set_index("code")
    # X: 22 % of 2,200 persons = 484 poor persons; / 2.2 persons per poor household = 220.
    assert frame.loc["X", "poor_persons"] == pytest.approx(484.0)
    assert frame.loc["X", "poor_households"] == 220
    assert frame.loc["X", "poor_households_low"] == 201  # 484 / 2.4 = 201.7, rounded down
    assert frame.loc["X", "poor_households_high"] == 242  # 484 / 2.0
    # Y: persons secret → households × census persons per household (2.0) = 2,000, flagged.
    assert frame.loc["Y", "persons"] == pytest.approx(2000.0)
    assert frame.loc["Y", "estimated"] and not frame.loc["X", "estimated"]
    assert frame.loc["Y", "poor_households"] == 100  # 220 / 2.2


def test_categories_hand_computed(result):
    frame = result.frame.set_index("code")
    # Isolated: 220 × 0.07 = 15.4 → 15; low 201.67 × 0.04 = 8.07 → 8; high 242 × 0.10 = 24.2 → 25.
    assert list(frame.loc["X", ["target_isolated_excluded", "target_isolated_excluded_low",
                                "target_isolated_excluded_high"]]) == [15, 8, 25]
    # Young: 220 × 0.13 = 28.6 → 29; 201.67 × 0.11 = 22.2 → 22; 242 × 0.16 = 38.7 → 39.
    assert list(frame.loc["X", ["target_young_low_income", "target_young_low_income_low",
                                "target_young_low_income_high"]]) == [29, 22, 39]
    # Private tenants: national tenant share 0.4 (equal households) → factor X 1.5.
    # Zone A and zone tendue: 220 × 0.27 × 1.5 = 89.1 → 89; 201.67 × 0.17 × 1.5 = 51.4 → 51;
    # 242 × 0.33 × 1.5 = 119.8 → 120.
    assert list(frame.loc["X", ["target_private_tenants_tense",
                                "target_private_tenants_tense_low",
                                "target_private_tenants_tense_high"]]) == [89, 51, 120]
    # Y is B2 (not tense by A/B) but zone tendue: only the high bound counts it.
    # 220 / 2.0 = 110 × 0.33 × 0.5 = 18.15 → 19.
    assert list(frame.loc["Y", ["target_private_tenants_tense",
                                "target_private_tenants_tense_low",
                                "target_private_tenants_tense_high"]]) == [0, 0, 19]
    # Whole households everywhere.
    assert str(frame["target_isolated_excluded"].dtype) == "Int64"


def test_absent_sources_are_not_zero(result):
    frame = result.frame
    assert frame["target_without_home"].isna().all()
    assert frame["target_poor_owners_degraded"].isna().all()
    assert "SNE" in result.availability["without_home"]
    assert "rnic" in result.availability["poor_owners_degraded"]
    families = th.family_targets(result)
    assert "hebergement" not in families  # its only category is unavailable
    # Diffus = private tenants (poor owners unavailable): not NaN, not doubled.
    assert families["diffus"][0].tolist() == [89, 51, 120]
    # Résidence sociale answers the isolated and the young.
    assert families["residence_sociale"][0].tolist() == [15 + 29, 8 + 22, 25 + 39]


def test_old_condominiums_with_rnic():
    rnic = pd.DataFrame({"code": ["X"], "copro_dwelling_lots": [300.0],
                         "copro_before_1975": [3.0], "copro_period_known": [4.0]})
    share = th.old_condo_share(rnic, pd.Series({"X": 900.0}))
    assert share["X"] == pytest.approx(0.25)  # 300 × 3/4 / 900
    inputs = _inputs(old_condo_share=share,
                     datasets={"comparateur", "zonage_abc_2024", "tlv_zone_tendue", "rnic"})
    frame = th.compute_targets(inputs).frame.set_index("code")
    # 220 × 0.30 × 0.25 = 16.5 → 17 (half up); Y has no co-ownership data: unknown, not 0.
    assert frame.loc["X", "target_poor_owners_degraded"] == 17
    assert pd.isna(frame.loc["Y", "target_poor_owners_degraded"])


def test_parameters_checked():
    params = th.load_params()
    bad = copy.deepcopy(params)
    bad["categories"]["young_low_income"]["share"]["high"] = 1.5
    with pytest.raises(th.TargetError, match=r"young_low_income\.share\.high"):
        th.compute_targets(_inputs(), bad)
    bad = copy.deepcopy(params)
    bad["categories"]["isolated_excluded"]["provenance"] = ""
    with pytest.raises(th.TargetError, match="provenance"):
        th.check_params(bad)
    for name in th.CATEGORIES:
        spec = params["categories"][name]
        assert spec["provenance"] and "working_assumption" in spec


def test_national_totals_units(result):
    totals = th.national_totals(result).set_index("category")
    assert totals.loc["poor_persons", "unit"] == "personnes"
    assert (totals.drop(index="poor_persons")["unit"] == "ménages").all()
    assert totals.loc["isolated_excluded", "central"] == 15 + 7  # Y: 100 × 0.07 = 7
    assert totals.loc["poor_households", "central"] == 220 + 100
    assert not totals.loc["without_home", "available"]
    assert totals.loc["without_home", "comparison_fr"].startswith("Non disponible")
    assert np.isnan(float(totals.loc["without_home", "central"] or np.nan))
