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
    # X is in zone A (and zone tendue), Y in zone C: a rural commune with poor tenants.
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
        zone_abc=pd.Series({"X": "A", "Y": "C"}),
        zone_tendue=pd.Series({"X": True, "Y": False}),
        datasets={"comparateur", "zonage_abc_2024", "tlv_zone_tendue"},
    )
    values.update(extra)
    return th.TargetInputs(**values)


def _with_owners(**extra) -> th.TargetInputs:
    """The two communes with Filosofi's owners' and 75+ rates, density and two censuses."""
    values = dict(
        owners_rate=pd.Series({"X": 10.0}),  # Y secret: estimated
        rate_75_over=pd.Series({"X": 14.3}),
        share_65_over=pd.Series({"X": 0.2, "Y": 0.3}),
        density_7=pd.Series({"X": 1, "Y": 6}),
        households_before=pd.Series({"X": 900.0, "Y": 1000.0}),
        households_after=pd.Series({"X": 960.0, "Y": 990.0}),
        datasets={"comparateur", "zonage_abc_2024", "tlv_zone_tendue", "filosofi_2021_com",
                  "census_iris_2021"},
    )
    values.update(extra)
    return _inputs(**values)


@pytest.fixture(scope="module")
def result() -> th.TargetResult:
    return th.compute_targets(_inputs())


@pytest.fixture(scope="module")
def full() -> th.TargetResult:
    return th.compute_targets(_with_owners())


def _bounds(frame: pd.DataFrame, code: str, name: str) -> list:
    return list(frame.loc[code, [f"target_{name}", f"target_{name}_low",
                                 f"target_{name}_high"]])


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
    assert _bounds(frame, "X", "isolated_excluded") == [15, 8, 25]
    # Young: 220 × 0.13 = 28.6 → 29; 201.67 × 0.11 = 22.2 → 22; 242 × 0.16 = 38.7 → 39.
    assert _bounds(frame, "X", "young_low_income") == [29, 22, 39]
    # Private tenants: national tenant share 0.4 (equal households) → factor X 1.5, Y 0.5.
    # X, zone A (factor 1): gross 220 × 0.27 × 1.5 = 89.1; 201.67 × 0.17 × 1.5 = 51.43;
    # 242 × 0.33 × 1.5 = 119.79. Net of the young (24 %) and isolated (13 %) already counted:
    # × 0.63 → 56.13 → 56; 32.40 → 32 (down); 75.47 → 76 (up).
    assert frame.loc["X", "gross_private_tenants"] == pytest.approx(89.1)
    assert _bounds(frame, "X", "private_tenants") == [56, 32, 76]
    # Y is in zone C: never 0 where poor tenants exist (factor 0.6 / 0.45 / 0.8).
    # 100 × 0.27 × 0.5 × 0.6 × 0.63 = 5.10 → 5; 91.67 × 0.17 × 0.5 × 0.45 × 0.63 = 2.21 → 2;
    # 110 × 0.33 × 0.5 × 0.8 × 0.63 = 9.15 → 10.
    assert _bounds(frame, "Y", "private_tenants") == [5, 2, 10]
    # Whole households everywhere.
    assert str(frame["target_isolated_excluded"].dtype) == "Int64"


def test_zone_tendue_and_rents_change_the_tension():
    # Y « zone tendue » (TLV) while in C: the B1 factor (0.9) at least.
    frame = th.compute_targets(_inputs(zone_tendue=pd.Series({"X": True, "Y": True}))) \
        .frame.set_index("code")
    assert frame.loc["Y", "target_private_tenants"] == 8  # 100 × 0.27 × 0.5 × 0.9 × 0.63 = 7.65
    # Local rents known: the rent over the median rent (bounded 0.75–1.5) replaces the zone.
    rents = pd.Series({"X": 20.0, "Y": 10.0})  # median 15 → X 1.333, Y 0.75 (bound)
    frame = th.compute_targets(_inputs(rent_m2=rents)).frame.set_index("code")
    assert frame.loc["X", "gross_private_tenants"] == pytest.approx(89.1 * 20 / 15)
    assert frame.loc["Y", "gross_private_tenants"] == pytest.approx(100 * 0.27 * 0.5 * 0.75)


def test_poor_owners_hand_computed(full):
    frame = full.frame.set_index("code")
    # X publishes TP60TOL1 = 10 %; Y is estimated: TP60 × median TP60TOL1 / TP60 of the
    # communes where both are published (X alone: 10 / 22) = 11 × 0.4545 = 5.0 %.
    assert bool(frame.loc["Y", "owners_rate_estimated"]) and not frame.loc["X",
                                                                          "owners_rate_estimated"]
    # Owner persons: X 2,200 × 0.4 = 880; Y 2,000 × 0.8 = 1,600.
    # Poor owner households: X 10 % × 880 / 1.9 = 46.32; Y 5 % × 1,600 / 1.9 = 42.11.
    assert frame.loc["X", "poor_owner_households"] == pytest.approx(46.3158, rel=1e-4)
    assert frame.loc["Y", "poor_owner_households"] == pytest.approx(42.1053, rel=1e-4)
    # Brick = × 0.25 (central), then net of the young poor owners (2 %): X 46.32 × 0.25 × 0.98
    # = 11.35 → 11; low 880 × 10 % / 2.1 × 0.15 × 0.98 = 6.16 → 6; high 880 × 10 % / 1.7 × 0.4
    # × 0.98 = 20.29 → 21.
    assert _bounds(frame, "X", "poor_owners") == [11, 6, 21]
    assert _bounds(frame, "Y", "poor_owners") == [10, 5, 19]
    # Old ones: share of 65+ × TP60AGE6 / TP60 (X 14.3 / 22 = 0.65; Y the median 0.65).
    assert frame.loc["X", "poor_owners_old"] == pytest.approx(11.347 * 0.2 * 0.65, rel=1e-3)
    assert frame.loc["Y", "poor_owners_old"] == pytest.approx(10.316 * 0.3 * 0.65, rel=1e-3)
    # Rural ones: Y (density 6) all of them, X (density 1) none.
    assert frame.loc["X", "poor_owners_rural"] == 0
    assert frame.loc["Y", "poor_owners_rural"] == pytest.approx(10.316, rel=1e-3)


def test_household_growth_flow(full):
    frame = full.frame.set_index("code")
    # X: +60 main residences in 3 years → 120 in 6 years × poor share 220 / 1,000 = 26.4 → 26;
    # low 201.67 / 1,000 → 24.2 → 24; high 242 / 1,000 → 29.04 → 30. Y lost households: 0.
    assert _bounds(frame, "X", "household_growth") == [26, 24, 30]
    assert _bounds(frame, "Y", "household_growth") == [0, 0, 0]
    # A flow: answered by no family, shown apart from the stock.
    assert all("household_growth" not in names
               for names in th.family_categories(full.params).values())


def test_shelter_exit_with_finess_places():
    inputs = _inputs(shelter_places=pd.Series({"X": 50.0}),
                     datasets={"comparateur", "zonage_abc_2024", "finess"})
    frame = th.compute_targets(inputs).frame.set_index("code")
    # 50 places × 0.90 occupied (DREES 2021) × 0.8 / 0.5 / 1.0 = 36; 22.5 → 22; 45.
    # Y: no shelter, 0.
    assert _bounds(frame, "X", "shelter_exit") == [36, 22, 45]
    assert _bounds(frame, "Y", "shelter_exit") == [0, 0, 0]
    # FINESS without places (the Etalab extract): « non disponible », never 0.
    result = th.compute_targets(_inputs(datasets={"comparateur", "zonage_abc_2024", "finess"}))
    assert "sans places" in result.availability["shelter_exit"]
    assert result.frame["target_shelter_exit"].isna().all()


def test_absent_sources_are_not_zero(result):
    frame = result.frame
    assert frame["target_without_home"].isna().all()
    assert frame["target_poor_owners_degraded"].isna().all()
    assert frame["target_poor_owners"].isna().all()
    assert "SNE" in result.availability["without_home"]
    assert "RNIC" in result.availability["poor_owners_degraded"]
    assert "FINESS" in result.availability["shelter_exit"]
    families = th.family_targets(result)
    assert "hebergement" not in families  # its only categories are unavailable
    # Diffus = half the private tenants (poor owners unavailable): not NaN, not doubled.
    assert families["diffus"][0].tolist() == [28, 16, 38]
    # Résidence sociale answers 40 % of the isolated and the young.
    assert families["residence_sociale"][0].tolist() == pytest.approx(
        [15 * 0.4 + 29, 8 * 0.4 + 22, 25 * 0.4 + 39])


def test_double_counts_never_add_a_household_twice(full):
    """Hand-computed on X: the housing families' targets add up to each brick once."""
    params = full.params
    from models import accessibility as acc

    housing = set(acc.load_config()["gap"]["total_types"])
    for name in th.CATEGORIES:
        shares = th.family_shares_of(params["categories"][name])
        assert sum(v for f, v in shares.items() if f in housing) <= 1 + 1e-9, name
    families = th.family_targets(full)
    x = {f: v[0, 0] for f, v in families.items()}
    # pension 0.6 × 15 = 9; résidence sociale 0.4 × 15 + 29 = 35; IML 0.5 × 56 = 28;
    # diffus 0.5 × 56 + 0.5 × 11 = 33.5: 105.5 = 15 + 29 + 56 + 0.5 × 11, each brick once.
    assert x["pension_de_famille"] == pytest.approx(9.0)
    assert x["residence_sociale"] == pytest.approx(35.0)
    assert x["intermediation_locative"] == pytest.approx(28.0)
    assert x["diffus"] == pytest.approx(33.5)
    assert sum(x[f] for f in housing if f in x) == pytest.approx(15 + 29 + 56 + 5.5)
    # A household housed by the members' IML or diffus is offer, not need: X houses 10.
    housed = th.family_targets(full, housed=np.array([10.0, 0.0]))
    assert housed["intermediation_locative"][0, 0] == pytest.approx(23.0)  # (56 − 10) / 2
    assert housed["diffus"][0, 0] == pytest.approx(23.0 + 5.5)
    assert housed["pension_de_famille"][0, 0] == pytest.approx(9.0)  # outside Filosofi
    # The RNIC brick is a « dont » of the poor owners: never added while they are known.
    rnic = pd.Series({"X": 0.25})
    both = th.compute_targets(_with_owners(old_condo_share=rnic, datasets={
        "comparateur", "zonage_abc_2024", "filosofi_2021_com", "census_iris_2021", "rnic"}))
    assert both.available("poor_owners_degraded")
    assert th.family_targets(both)["diffus"][0, 0] == pytest.approx(33.5)


def test_remove_double_counts_rule():
    gross = {"a": {b: np.array([10.0]) for b in th.BOUNDS},
             "b": {b: np.array([40.0]) for b in th.BOUNDS}}
    rules = {"overlaps": [{"earlier": "a", "later": "b", "share": 0.25},
                          {"earlier": "absent", "later": "b", "share": 0.5}]}
    net = th.remove_double_counts(gross, rules)
    assert net["a"]["central"][0] == 10.0
    assert net["b"]["central"][0] == 30.0  # 40 × (1 − 0.25); the absent brick removes nothing
    with pytest.raises(th.TargetError):
        th.remove_double_counts(gross, {"overlaps": [{"earlier": "a", "later": "b",
                                                      "share": 1.0}]})


def test_brick_table_names_otelo_and_families():
    table = th.brick_table().set_index("category")
    assert table.loc["poor_owners", "brick"] == "B14"
    assert "maîtrise d'ouvrage d'insertion" in table.loc["poor_owners", "offer_fr"]
    assert "pension" not in table.loc["poor_owners", "families_fr"]
    assert table.loc["shelter_exit", "brick"] == "B11"
    assert table.loc["household_growth", "kind"] == "flow"
    assert table.loc["private_tenants", "otelo_fr"].startswith("B13")


def test_old_condominiums_with_rnic():
    rnic = pd.DataFrame({"code": ["X"], "copro_dwelling_lots": [300.0],
                         "copro_before_1975": [3.0], "copro_period_known": [4.0]})
    share = th.old_condo_share(rnic, pd.Series({"X": 900.0}))
    assert share["X"] == pytest.approx(0.25)  # 300 × 3/4 / 900
    inputs = _inputs(old_condo_share=share,
                     datasets={"comparateur", "zonage_abc_2024", "tlv_zone_tendue", "rnic"})
    result = th.compute_targets(inputs)
    frame = result.frame.set_index("code")
    # 220 × 0.30 × 0.25 = 16.5 → 17 (half up); Y has no co-ownership data: unknown, not 0.
    assert frame.loc["X", "target_poor_owners_degraded"] == 17
    assert pd.isna(frame.loc["Y", "target_poor_owners_degraded"])
    # Poor owners unknown (no Filosofi TP60TOL1): the RNIC brick stands in for them.
    assert th.family_targets(result)["accompagnement"][0, 0] == pytest.approx(56 + 17)


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
        assert spec["otelo_fr"] and spec["source_fr"]


def test_national_totals_compare_like_with_like(full):
    totals = th.national_totals(full).set_index("category")
    # Poor owners compared before the share needing an intervention: (46.3 + 42.1) / 320.
    assert "avant la part" in totals.loc["poor_owners", "comparison_fr"]
    assert "27,6 %" in totals.loc["poor_owners", "comparison_fr"]
    # Household growth as a yearly rate: X +60 over 3 years on 2,000 households = 1,0 % a year.
    assert "1,0 % par an" in totals.loc["household_growth", "comparison_fr"]


def test_national_totals_units(result):
    totals = th.national_totals(result).set_index("category")
    assert totals.loc["poor_persons", "unit"] == "personnes"
    assert (totals.drop(index="poor_persons")["unit"] == "ménages").all()
    assert totals.loc["isolated_excluded", "central"] == 15 + 7  # Y: 100 × 0.07 = 7
    assert totals.loc["poor_households", "central"] == 220 + 100
    assert not totals.loc["without_home", "available"]
    assert totals.loc["without_home", "comparison_fr"].startswith("Non disponible")
    assert np.isnan(float(totals.loc["without_home", "central"] or np.nan))
