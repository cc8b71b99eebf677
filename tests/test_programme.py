"""The production programme (models/programme.py) and its single door to the economic model
(models/programme_costs.py).

The hand-computed case: two communes A and B that do not reach each other, two families
(pension de famille: operations of 25 places, at least 10; diffus: 4 places, at least 1), at
most half of a commune's target households, over two years; the economic model is replaced by
known per-place results (monkeypatched adapter). Every expected figure below is worked out by
hand in the comments.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from models import operation_economics as econ
from models import programme as pg
from models import programme_costs as pc

A, B = "00001", "00002"
# Hand-made missing places (not from a real source).
MISSING = pd.DataFrame([
    # code, name, family, target, missing, low, high
    (A, "Commune A", "pension_de_famille", 100.0, 30.0, 20.0, 45.0),
    (B, "Commune B", "pension_de_famille", 60.0, 20.0, 10.0, 30.0),
    (A, "Commune A", "diffus", 20.0, 4.0, 2.0, 6.0),
    (B, "Commune B", "diffus", 10.0, 6.0, 4.0, 8.0),
], columns=["code", "name", "family", "target", "missing", "missing_low", "missing_high"])


def alone(candidates: list[str], demand: list[str]) -> sparse.csr_matrix:
    """Each commune reaches only itself."""
    return sparse.csr_matrix(np.array([[1.0 if c == d else 0.0 for d in demand]
                                       for c in candidates]))


def options(horizon: int = 2, **overrides) -> pg.ProgrammeOptions:
    return pg.ProgrammeOptions(
        choices={"pension_de_famille": pg.FamilyChoice("pension_famille_neuf", 25, 10),
                 "diffus": pg.FamilyChoice("moi_diffus", 4, 1)},
        horizon=horizon, max_share_of_target=0.5, overrides=dict(overrides))


# Known results per place (euros), for the monkeypatched adapter.
KNOWN = {
    "pension_famille_neuf": {"investment": 100_000.0, "FNAP": 20_000.0,
                             "forfait pension de famille (État)": 7_117.5},
    "moi_diffus": {"investment": 150_000.0, "FNAP": 10_000.0,
                   "accompagnement et gestion locative adaptée": 600.0},
}


def known_costs(kind, commune, size, overrides=None, date=None) -> pc.OperationCosts:
    per = KNOWN[kind]
    return pc.OperationCosts(
        kind=kind, kind_label=kind, code=commune.code, places=size,
        investment=per["investment"] * size,
        subsidies={f: per.get(f, 0.0) * size for f in pc.SUBSIDY_FUNDERS},
        loans=0.0, equity=0.0, unfunded=0.0,
        running={f: per.get(f, 0.0) * size for f in pc.RUNNING_FUNDERS},
        running_costs=0.0, result=-500.0 if kind == "moi_diffus" else 0.0,
        deficit=500.0 if kind == "moi_diffus" else 0.0,
    )


@pytest.fixture()
def hand_programme(monkeypatch) -> pg.ProgrammeResult:
    monkeypatch.setattr(pc, "operation_costs", known_costs)
    terms = {A: pc.CommuneTerms(A), B: pc.CommuneTerms(B)}
    return pg.plan(MISSING, options(), alone, terms, name="A + B")


def test_operations_placed_and_sized_by_hand(hand_programme):
    ops = hand_programme.operations
    pf = ops[ops["family"] == "pension_de_famille"]
    # Step 1: A answers min(25, 30) = 25, B min(25, 20) = 20 → A, 25 places.
    # Step 2: A has 5 left (an operation of 5 < 10 places: none), B 20 (cap 30) → B, 20 places.
    # Step 3: A's 5 places are below the minimum size: left unplaced.
    assert list(zip(pf["code"], pf["places"], pf["year"], strict=True)) == [(A, 25, 1), (B, 20, 2)]
    diffus = ops[ops["family"] == "diffus"]
    # Step 1: A answers 4, B 4 (cap 5): tie, B has more in reach (6) → B, 4 places.
    # Step 2: A 4 (cap 10) against B 1 (cap 5 − 4 = 1) → A, 4. Step 3: B, 1 (its cap).
    # Three operations over two years: years 1 + ⌊i × 2 / 3⌋ = 1, 1, 2.
    assert list(zip(diffus["code"], diffus["places"], diffus["year"], strict=True)) == [
        (B, 4, 1), (A, 4, 1), (B, 1, 2)]
    fam = hand_programme.families.set_index("family")
    assert fam.loc["pension_de_famille", "unplaced"] == pytest.approx(5.0)
    assert fam.loc["diffus", "unplaced"] == pytest.approx(1.0)
    assert any("5 places manquantes non placées" in n for n in hand_programme.notes)


def test_money_by_hand(hand_programme):
    central = hand_programme.totals("central")
    # 45 places of pension de famille, 9 in diffus.
    assert central["places"] == pytest.approx(54)
    assert central["investment"] == pytest.approx(45 * 100_000 + 9 * 150_000)  # 5 850 000
    assert central["subsidy:FNAP"] == pytest.approx(45 * 20_000 + 9 * 10_000)  # 990 000
    assert central["state_subsidy"] == pytest.approx(990_000)
    assert central["running:forfait pension de famille (État)"] == pytest.approx(45 * 7_117.5)
    assert central["running_total"] == pytest.approx(320_287.5 + 5_400)
    assert central["deficit"] == pytest.approx(3 * 500)
    yearly = hand_programme.yearly("central")
    # Year 1: A's 25 places of pension de famille and 8 diffus; year 2: everything.
    assert yearly.loc[1, "investment"] == pytest.approx(25 * 100_000 + 8 * 150_000)
    assert yearly.loc[2, "investment"] == pytest.approx(20 * 100_000 + 1 * 150_000)
    assert yearly.loc[1, "running_total"] == pytest.approx(25 * 7_117.5 + 8 * 600)
    assert yearly.loc[2, "running_total"] == pytest.approx(325_687.5)
    assert central["horizon:running_total"] == pytest.approx(182_737.5 + 325_687.5)
    assert yearly["places_open"].tolist() == [33, 54]


def test_low_and_high_carry_the_need_uncertainty(hand_programme):
    # Pension de famille: low 30 / 50 = 0.6, high 75 / 50 = 1.5; diffus: 6 / 10, 14 / 10.
    low, high = hand_programme.totals("low"), hand_programme.totals("high")
    assert low["investment"] == pytest.approx(4_500_000 * 0.6 + 1_350_000 * 0.6)
    assert high["investment"] == pytest.approx(4_500_000 * 1.5 + 1_350_000 * 1.4)
    assert low["investment"] < hand_programme.totals()["investment"] < high["investment"]


def test_a_share_of_target_households_is_never_exceeded():
    ops = pg.plan(MISSING, options(), alone, {}, costs=known_costs).operations
    placed = ops.groupby(["code", "family"])["places"].sum()
    caps = MISSING.set_index(["code", "family"])["target"] * 0.5
    assert (placed <= caps.reindex(placed.index) + 1e-9).all()


def test_neighbours_answer_each_other():
    # Both communes reach each other: one pension de famille of 25 places at A answers 25 of the
    # 50 missing places, the second 25 at A or B the rest.
    both = lambda c, d: sparse.csr_matrix(np.ones((len(c), len(d))))  # noqa: E731
    result = pg.plan(MISSING, options(), both, {}, costs=known_costs)
    pf = result.operations[result.operations["family"] == "pension_de_famille"]
    assert pf["places"].sum() == pytest.approx(50)
    assert pf["need_answered"].sum() == pytest.approx(50)


def test_changing_the_pension_de_famille_allowance_moves_running_funding():
    """The programme calls the economic model: +1 € per place and day moves the yearly
    running funding by places × 365 €, exactly."""
    terms = {A: pc.CommuneTerms(A, zone_apl=2), B: pc.CommuneTerms(B, zone_apl=3)}
    base = pg.plan(MISSING, options(), alone, terms)
    params = econ.load_parameters()
    allowance = econ.inputs_for("pension_famille_neuf", params, zone_apl=2,
                                overrides={"logements": 25})["forfait_pension_famille_jour"]
    raised = pg.plan(MISSING, options(forfait_pension_famille_jour=allowance + 1), alone, terms)
    key = "running:forfait pension de famille (État)"
    assert raised.totals()[key] - base.totals()[key] == pytest.approx(45 * 365)
    # Year 1 has A's 25 places open, year 2 all 45: the horizon total moves by (25 + 45) × 365.
    assert (raised.totals()[f"horizon:{key}"] - base.totals()[f"horizon:{key}"]
            == pytest.approx(70 * 365))
    # And the base figure is the economic model's own line for the same operation.
    values = econ.inputs_for("pension_famille_neuf", params, zone_apl=2,
                             overrides={"logements": 25})
    line = econ.evaluate("pension_famille_neuf", values, params).value("g_forfait_pf")
    ops = base.operations
    assert ops.loc[(ops["code"] == A) & (ops["family"] == "pension_de_famille"),
                   key].iat[0] == pytest.approx(line)


def test_adapter_splits_funders_and_accounts():
    params = econ.load_parameters()
    commune = pc.CommuneTerms("23096", zone_apl=3, acv_pvd=True)
    costs = pc.operation_costs("pension_famille_neuf", commune, 25, {}, dt.date(2027, 1, 1))
    values = econ.inputs_for("pension_famille_neuf", params, zone_apl=3, acv_pvd=True,
                             overrides={"logements": 25}, day="2027-01-01")
    evaluation = econ.evaluate("pension_famille_neuf", values, params)
    v = evaluation.values
    assert costs.investment == pytest.approx(v["cout_total"])
    assert costs.subsidies["FNAP"] == pytest.approx(v["subv_plai"] + v["subv_plai_adapte"])
    assert costs.subsidies["ACV / PVD"] == pytest.approx(v["bonus_programme"]) and v[
        "bonus_programme"] > 0
    assert costs.subsidies_total == pytest.approx(v["aides_total"])
    assert costs.loans == pytest.approx(v["pret"]) and costs.equity == pytest.approx(
        v["fonds_propres"])
    # Running funding: the manager's income less the residents' redevances; the deficit is
    # the manager's, the owner's result apart (two accounts, issue « money right »).
    assert costs.running_total == pytest.approx(sum(econ.running_funding(evaluation).values()))
    assert costs.running_total == pytest.approx(v["produits_gestionnaire"] - v["g_redevances"])
    assert costs.deficit == pytest.approx(max(0.0, -v["resultat_gestionnaire"]))
    assert costs.owner_result == pytest.approx(v["resultat_proprietaire"])
    assert costs.code == "23096" and costs.date == "2027-01-01"


def test_bad_options_are_refused_in_french():
    with pytest.raises(pg.ProgrammeError, match="Horizon"):
        options(horizon=0)
    with pytest.raises(pg.ProgrammeError, match="type d'opération « chateau » inconnu"):
        pg.load_options(mix=["pension_de_famille=chateau:25"])
    with pytest.raises(pg.ProgrammeError, match="Famille d'offre inconnue"):
        pg.load_options(mix=["hotel=pension_famille_neuf"])
    chosen = pg.load_options(mix=["pension_de_famille=pension_famille_acquisition:20"],
                             horizon=4)
    assert chosen.choices["pension_de_famille"] == pg.FamilyChoice(
        "pension_famille_acquisition", 20.0, 10.0)
    assert chosen.horizon == 4


def _grouped_plan(monkeypatch) -> pg.ProgrammeResult:
    """The hand case as four groups (A and B, each twice under another group's code)."""
    monkeypatch.setattr(pc, "operation_costs", known_costs)
    rows = []
    for group in ("g1", "g2", "g3", "g4"):
        part = MISSING.copy()
        part["code"] = part["code"] + group
        part["group"] = group
        rows.append(part)
    missing = pd.concat(rows, ignore_index=True)
    terms = {code: pc.CommuneTerms(code) for code in missing["code"]}
    return pg.plan(missing, options(), alone, terms,
                   groups={g: g.upper() for g in ("g1", "g2", "g3", "g4")})


def test_groups_placed_in_a_child_give_the_same_programme(monkeypatch):
    """Where a child can be forked, every other group is placed there (models.forked): the
    operations, their order and the families' rows are those placed in one process."""
    from models import forked

    if not forked.can_fork():
        pytest.skip("pas de fork ici")
    calls = []
    original = forked.ForkedCall.__init__

    def counted(self, *args, **kwargs):
        calls.append(kwargs.get("label"))
        original(self, *args, **kwargs)

    monkeypatch.setattr(forked.ForkedCall, "__init__", counted)
    parallel = _grouped_plan(monkeypatch)
    assert calls == ["programme : régions"]
    monkeypatch.setenv(forked.ENV_SWITCH, "0")
    alone_result = _grouped_plan(monkeypatch)
    pd.testing.assert_frame_equal(parallel.operations, alone_result.operations)
    pd.testing.assert_frame_equal(parallel.families, alone_result.families)
    assert list(parallel.operations["group"].drop_duplicates()) == ["g1", "g2", "g3", "g4"]
    assert parallel.notes == alone_result.notes
