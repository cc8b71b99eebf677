"""2SFCA / E2SFCA: hand-computed cases, the grid cases of PySAL ``access``'s own tests, and a
cross-check against ``access`` itself on the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import accessibility as acc
from models import decay


def grid_communes(n: int = 5, crs: str = "EPSG:2154") -> pd.DataFrame:
    """The n×n unit grid of PySAL access's tests (``util.create_nxn_grid``): id = x*n + y + 1."""
    rows = [
        {"code": str(x * n + y + 1), "x_metric": float(x), "y_metric": float(y), "metric_crs": crs}
        for x in range(n)
        for y in range(n)
    ]
    return pd.DataFrame(rows)


def line_communes() -> pd.DataFrame:
    """Three communes on a line: A at 0, B at 10 km, C at 30 km (hand-made)."""
    return pd.DataFrame(
        {
            "code": ["A", "B", "C"],
            "x_metric": [0.0, 10_000.0, 30_000.0],
            "y_metric": [0.0, 0.0, 0.0],
            "metric_crs": ["EPSG:2154"] * 3,
        }
    )


# -- hand-computed ----------------------------------------------------------------------------
def test_2sfca_hand_computed_line():
    # Provider A (30 places) reaches A (d=0) and B (d=10 km ≤ 15 km), not C (30 km).
    # Provider C (10 places) reaches only C (B–C = 20 km). R_A = 30/(100+50) = 0.2, R_C = 10/20.
    demand = pd.Series({"A": 100.0, "B": 50.0, "C": 20.0})
    supply = pd.DataFrame({"pf": [30.0, 10.0]}, index=["A", "C"])
    out = acc.two_step_fca(line_communes(), demand, supply, 15_000, "2sfca")
    assert out["access_pf"].tolist() == pytest.approx([0.2, 0.2, 0.5])
    assert out["places_in_reach_pf"].tolist() == pytest.approx([30.0, 30.0, 10.0])
    assert out["providers_in_reach_pf"].tolist() == [1.0, 1.0, 1.0]
    # Allocated places (A·D) add up to the supply.
    assert (out["access_pf"] * out["demand"]).sum() == pytest.approx(40.0)


def test_e2sfca_hand_computed_step_decay():
    # Zones: up to half the catchment weight 1, then 0.5. d(A,B)/15 km = 0.67 → weight 0.5.
    # R_A = 30 / (100 + 0.5·50) = 0.24; A_B = 0.5 · 0.24 = 0.12.
    weight = decay.make_decay("step", breaks=[0.5, 1.0], weights=[1.0, 0.5])
    demand = pd.Series({"A": 100.0, "B": 50.0, "C": 20.0})
    supply = pd.DataFrame({"pf": [30.0, 10.0]}, index=["A", "C"])
    out = acc.two_step_fca(line_communes(), demand, supply, 15_000, weight)
    assert out["access_pf"].tolist() == pytest.approx([0.24, 0.12, 0.5])
    assert (out["access_pf"] * out["demand"]).sum() == pytest.approx(40.0)


def test_catchment_per_demand_commune():
    # B's catchment shrinks to 5 km: it no longer reaches provider A, which then serves A alone.
    demand = pd.Series({"A": 100.0, "B": 50.0, "C": 20.0})
    supply = pd.DataFrame({"pf": [30.0]}, index=["A"])
    catchment = pd.Series({"A": 15_000.0, "B": 5_000.0, "C": 15_000.0})
    out = acc.two_step_fca(line_communes(), demand, supply, catchment, "2sfca")
    assert out["access_pf"].tolist() == pytest.approx([0.3, 0.0, 0.0])


def test_zero_demand_gives_zero_ratio_not_infinity():
    demand = pd.Series({"A": 0.0, "B": 0.0, "C": 20.0})
    supply = pd.DataFrame({"pf": [30.0]}, index=["A"])
    communes = line_communes()
    locations = acc.Locations.from_communes(communes, 15_000)
    pairs = acc.distance_pairs(locations, locations.positions(["A"]))
    result = acc.fca(demand.reindex(locations.codes).to_numpy(), supply.to_numpy(), pairs)
    assert np.isfinite(result.access).all()
    assert result.provider_ratio[0, 0, 0] == 0.0
    assert result.provider_demand[0, 0] == 0.0
    # The places are still counted within reach (offer without measured need).
    assert result.places_in_reach[:, 0].tolist() == [30.0, 30.0, 0.0]


def test_missing_demand_is_flagged_not_zeroed():
    demand = np.array([100.0, np.nan, 20.0])
    locations = acc.Locations.from_communes(line_communes(), 15_000)
    pairs = acc.distance_pairs(locations, locations.positions(["A"]))
    result = acc.fca(demand, np.array([[30.0]]), pairs)
    assert result.provider_missing.tolist() == [1.0]
    # Known demand only in step 1, and the commune of unknown demand still has an access.
    assert result.access[:, 0, 0] == pytest.approx([0.3, 0.3, 0.0])


def test_crs_never_mixed():
    # Same coordinates, different metric CRS (e.g. Guyane and Réunion): never paired.
    communes = pd.DataFrame(
        {
            "code": ["97302", "97411"],
            "x_metric": [350_000.0, 350_000.0],
            "y_metric": [500_000.0, 500_000.0],
            "metric_crs": ["EPSG:2972", "EPSG:2975"],
        }
    )
    demand = pd.Series({"97302": 10.0, "97411": 10.0})
    supply = pd.DataFrame({"pf": [5.0]}, index=["97302"])
    out = acc.two_step_fca(communes, demand, supply, 50_000, "2sfca")
    assert out.loc["97302", "access_pf"] == pytest.approx(0.5)
    assert out.loc["97411", "access_pf"] == 0.0
    assert out.loc["97411", "providers_in_reach_pf"] == 0.0


def test_commune_without_coordinates_gets_missing_access():
    communes = line_communes()
    communes.loc[1, ["x_metric", "y_metric"]] = np.nan
    demand = pd.Series({"A": 100.0, "B": 50.0, "C": 20.0})
    supply = pd.DataFrame({"pf": [30.0, 5.0]}, index=["A", "B"])
    out = acc.two_step_fca(communes, demand, supply, 15_000, "2sfca")
    assert np.isnan(out.loc["B", "access_pf"])
    assert out.loc["A", "access_pf"] == pytest.approx(0.3)


def test_unknown_supply_commune_is_a_french_error():
    supply = pd.DataFrame({"pf": [1.0]}, index=["Z"])
    with pytest.raises(acc.AccessibilityError, match="communes inconnues : Z"):
        acc.two_step_fca(line_communes(), pd.Series({"A": 1.0}), supply, 1000)


def test_catchment_from_density_classes_and_default():
    config = acc.load_config()
    table = acc.catchment_from_density(
        ["01001", "01002", "01004"], pd.Series({"01001": 1, "01002": 7}), config
    )
    by_class = config["catchment_m"]["by_density_7"]
    assert table.loc["01001", "catchment_m"] == by_class[1]
    assert table.loc["01002", "catchment_m"] == by_class[7]
    assert table.loc["01004", "catchment_m"] == config["catchment_m"]["default"]
    assert table.loc["01004", "catchment_source"].startswith("valeur par défaut")
    assert by_class[7] > by_class[1]  # a rural household travels farther


# -- PySAL access grid cases ----------------------------------------------------------------
# test_floating_catchment_area.py: supply 1 at every point of a 5×5 grid, demand 1 at five
# points; Euclidean costs.
DEMAND_IDS = ["3", "7", "12", "18", "25"]


def grid_case(catchment: float, weight=decay.uniform) -> pd.DataFrame:
    communes = grid_communes()
    demand = pd.Series(0.0, index=communes["code"])
    demand[DEMAND_IDS] = 1.0
    supply = pd.DataFrame({"value": 1.0}, index=communes["code"])
    return acc.two_step_fca(communes, demand, supply, catchment, weight)


def test_pysal_grid_large_catchment():
    # Every supply point sees the 5 demand points: R = 1/5; each demand point sees 25 → 5.
    out = grid_case(100.0)
    assert out.loc[DEMAND_IDS, "access_value"].tolist() == pytest.approx([5.0] * 5)


def test_pysal_grid_small_catchment():
    # 0.9 < grid step: each demand point sees only its own supply, R = 1/1.
    out = grid_case(0.9)
    assert out.loc[DEMAND_IDS, "access_value"].tolist() == pytest.approx([1.0] * 5)
    # Supply points without demand: ratio 0 where PySAL returns inf; access stays finite.
    assert np.isfinite(out["access_value"]).all()


def test_pysal_grid_zero_catchment():
    # Nothing in reach: PySAL returns NaN, we return no access (0), never NaN nor inf.
    out = grid_case(-1.0)
    assert (out["access_value"] == 0).all()
    assert (out["providers_in_reach_value"] == 0).all()


def test_pysal_grid_e2sfca_small_catchment():
    weight = decay.make_decay("step", breaks=[10, 20, 30], weights=[1, 0.68, 0.22],
                              relative=False)
    out = grid_case(0.9, weight)
    assert out.loc[DEMAND_IDS, "access_value"].tolist() == pytest.approx([1.0] * 5)


def test_pysal_grid_weighted_catchment_gravity():
    # test_weighted_catchment.py: Σ_j (d_ij / 60) over the grid (gravity scale 60, alpha 1).
    communes = grid_communes()
    locations = acc.Locations.from_communes(communes, 100.0)

    def gravity(d, d0):
        return np.where(d <= d0, d / 60.0, 0.0)

    pairs = acc.distance_pairs(locations, np.arange(25), gravity)
    result = acc.fca(np.ones(25), np.ones((25, 1)), pairs)
    got = pd.Series(result.places_in_reach[:, 0], index=locations.codes)
    xy = communes[["x_metric", "y_metric"]].to_numpy()
    by_hand = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)).sum(1) / 60.0
    assert got.to_numpy() == pytest.approx(by_hand)
    published = {"1": 1.322340210, "5": 1.322340210, "13": 0.780985109, "19": 0.925540119,
                 "24": 1.133733026}
    for code, value in published.items():
        assert got[code] == pytest.approx(value)


@pytest.mark.filterwarnings("ignore:The inplace keyword")
@pytest.mark.parametrize("method", ["2sfca", "e2sfca"])
def test_same_as_pysal_access_on_random_grid(method):
    access = pytest.importorskip("access")
    rng = np.random.default_rng(7)
    communes = grid_communes(8)
    demand = pd.Series(rng.integers(1, 200, len(communes)).astype(float), index=communes["code"])
    supply = pd.DataFrame(
        {"doc": rng.integers(0, 5, len(communes)).astype(float)}, index=communes["code"]
    )
    xy = communes[["x_metric", "y_metric"]].to_numpy()
    distance = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    origin, dest = np.nonzero(distance <= 1e9)
    cost = pd.DataFrame(
        {"origin": communes["code"].to_numpy()[origin], "dest": communes["code"].to_numpy()[dest],
         "cost": distance[origin, dest]}
    )
    if method == "2sfca":
        ours_weight, theirs_weight = decay.uniform, None
    else:
        ours_weight = decay.make_decay("step", breaks=[1, 2, 3], weights=[1, 0.68, 0.22],
                                       relative=False)
        theirs_weight = access.weights.step_fn({1: 1, 2: 0.68, 3: 0.22})
    model = access.Access(
        demand_df=demand.rename("pop").reset_index(), demand_index="code", demand_value="pop",
        supply_df=supply.reset_index(), supply_index="code", supply_value="doc",
        cost_df=cost, cost_origin="origin", cost_dest="dest", cost_name="cost",
    )
    theirs = model.two_stage_fca(max_cost=3.0, weight_fn=theirs_weight)["2sfca_doc"]
    ours = acc.two_step_fca(communes, demand, supply, 3.0, ours_weight)["access_doc"]
    assert ours.to_numpy() == pytest.approx(theirs.reindex(ours.index).to_numpy(), rel=1e-12)


def test_conservation_on_real_communes(communes):
    # All France, sites at communes: allocated places add up to the places with demand in reach.
    frame = pd.DataFrame(communes.drop(columns="geometry"))
    rng = np.random.default_rng(3)
    population = frame["population"].astype(float).fillna(0).to_numpy()
    demand = pd.Series(population * 0.01, index=frame["code"])
    chosen = rng.choice(len(frame), 500, p=population / population.sum())
    supply = (
        pd.DataFrame({"code": frame["code"].to_numpy()[chosen], "x": rng.integers(1, 30, 500)})
        .groupby("code")[["x"]].sum()
    )
    out = acc.two_step_fca(frame, demand, supply, 20_000, "e2sfca")
    assert not np.isinf(out["access_x"]).any()
    allocated = np.nansum(out["access_x"] * out["demand"])
    locatable = frame.set_index("code")["x_metric"].notna()
    assert allocated == pytest.approx(supply["x"][locatable.reindex(supply.index)].sum())
    # Overseas communes use their own CRS and still get an access where an offer is near.
    assert set(frame["metric_crs"]) > {"EPSG:2154"}
