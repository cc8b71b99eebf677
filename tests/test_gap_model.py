"""The gap per commune: hand-computed on a hand-made line of communes, classes, uncertainty,
zones blanches, and a run on the real geography."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models import accessibility as acc
from models import gap as g
from tests.gap_support import line_config, line_inputs, read_fixture


@pytest.fixture(scope="module")
def line_result() -> g.GapResult:
    return g.compute_gap(line_inputs(), line_config())


def test_gap_hand_computed(line_result):
    frame = line_result.communes.set_index("code")
    # Pension de famille at A (30 places) reaches A, B (10 km) and F (10 km, no need):
    # R = 30 / (100 + 50 + 0) = 0.2 → allocated A 20, B 10.
    assert frame.loc["A", "access_pension_de_famille"] == pytest.approx(0.2)
    assert frame.loc["A", "places_allocated_pension_de_famille"] == pytest.approx(20.0)
    assert frame.loc["B", "places_allocated_pension_de_famille"] == pytest.approx(10.0)
    # CHRS at C (10 places) reaches only C (need 5): allocated 10.
    assert frame.loc["C", "places_allocated_hebergement"] == pytest.approx(10.0)
    # AVDL covering A and B: R = 12 / 150; accompaniment is outside the total.
    assert frame.loc["A", "places_allocated_accompagnement"] == pytest.approx(8.0)
    assert frame.loc["A", "places_allocated"] == pytest.approx(20.0)
    assert frame.loc["A", "gap_households"] == pytest.approx(80.0)
    assert frame.loc["B", "gap_households"] == pytest.approx(40.0)
    assert frame.loc["C", "gap_households"] == pytest.approx(-5.0)
    assert frame.loc["D", "gap_households"] == pytest.approx(40.0)
    assert frame.loc["A", "gap_per_1000"] == pytest.approx(80.0)
    assert np.isnan(frame.loc["G", "gap_per_1000"])  # 0 households: no rate, never inf
    # Every allocated place comes from a provider: 30 + 10 (housing).
    assert frame["places_allocated"].sum() == pytest.approx(40.0)


def test_uncertainty_carried(line_result):
    frame = line_result.communes.set_index("code")
    # Low: R = 30 / (80 + 40) → A allocated 20, gap 60. High: R = 30 / (130 + 60).
    assert frame.loc["A", "gap_households_low"] == pytest.approx(80 - 80 * 30 / 120)
    assert frame.loc["A", "gap_households_high"] == pytest.approx(130 - 130 * 30 / 190)
    computed = frame.dropna(subset=["gap_households"])
    assert (computed["gap_households_low"] <= computed["gap_households"] + 1e-9).all()
    assert (computed["gap_households"] <= computed["gap_households_high"] + 1e-9).all()
    assert frame.loc["A", "class_certain"]


def test_classes(line_result):
    classes = line_result.communes.set_index("code")["gap_class"]
    assert classes["A"] == g.CLASS_UNCOVERED
    assert classes["C"] == g.CLASS_COVERED
    assert classes["D"] == g.CLASS_UNCOVERED
    assert classes["F"] == g.CLASS_OFFER_NO_NEED
    assert classes["G"] == g.CLASS_NOTHING
    assert classes["H"] == g.CLASS_NOT_COMPUTED
    assert set(classes) <= set(g.CLASSES)


def test_rejected_sites_and_meta(line_result):
    assert line_result.rejected_sites["site_id"].tolist() == ["sans-capacite"]
    assert "« capacité »" in line_result.rejected_sites["motif"].iloc[0]
    meta = line_result.meta
    assert meta["method"] == "2sfca" and "Besoin : fichier fait main" in meta["sources"]
    providers = line_result.providers.set_index("provider")
    assert providers.loc["A", "ratio_pension_de_famille"] == pytest.approx(0.2)
    assert providers.loc["avdl-AB", "kind"] == "service"
    # The planned site at G is not part of the current offer.
    assert "G" not in providers.index


def test_offer_without_measured_need_is_flagged_not_infinite():
    inputs = line_inputs()
    inputs.sites = pd.DataFrame(
        [{"site_id": "x", "commune_code": "G", "offer_type": "chrs", "capacity": 5,
          "status": "ouvert"}]
    )
    result = g.compute_gap(inputs, line_config())
    providers = result.providers.set_index("provider")
    assert providers.loc["G", "flag"] == "offre sans besoin mesuré dans son aire"
    assert providers.loc["G", "ratio_hebergement"] == 0.0
    assert np.isfinite(result.communes.select_dtypes("number").to_numpy()[
        ~np.isnan(result.communes.select_dtypes("number").to_numpy())]).all()


def test_e2sfca_decay_lowers_far_allocation():
    flat = g.compute_gap(line_inputs(), line_config("2sfca")).communes.set_index("code")
    decayed = g.compute_gap(line_inputs(), line_config("e2sfca")).communes.set_index("code")
    # With a decay, the nearer commune A gets a larger share of A's places than B.
    assert decayed.loc["A", "places_allocated_pension_de_famille"] > flat.loc[
        "A", "places_allocated_pension_de_famille"]
    assert decayed["places_allocated"].sum() == pytest.approx(40.0)


def test_zones_blanches(line_result):
    neighbours = g.neighbour_pairs(read_fixture("communes_ligne_fait_main.csv"), 8_000)
    by_code, zones = g.zones_blanches(line_result.communes, "pension_de_famille", neighbours,
                                      line_config())
    # D and E (4 km apart) have high need and no pension de famille in reach: one zone.
    # C (score 90) has none either but its need (5) is below the zone minimum (10).
    assert len(zones) == 1
    assert zones.loc[0, "codes"] == ["D", "E"]
    assert zones.loc[0, "need_households"] == pytest.approx(70.0)
    assert zones.loc[0, "need_households_low"] == pytest.approx(50.0)
    assert by_code.to_dict() == {"D": zones.loc[0, "zone_id"], "E": zones.loc[0, "zone_id"]}
    # No shelter within reach of A, B, D, E (C's is 20 km from B): A and B are 10 km apart,
    # farther than the 8 km of neighbourhood, so they form zones of their own; largest first.
    _, hebergement = g.zones_blanches(line_result.communes, "hebergement", neighbours,
                                      line_config())
    assert hebergement["codes"].tolist() == [["A"], ["D", "E"], ["B"]]
    assert hebergement["zone_id"].tolist() == ["hebergement-001", "hebergement-002",
                                               "hebergement-003"]


def test_unknown_need_columns_are_french_errors():
    inputs = line_inputs()
    inputs.need = inputs.need.rename(columns={"need_households": "besoin"})
    with pytest.raises(g.GapError, match="need_households"):
        g.GapModel(inputs, line_config())


def test_real_geography_creuse(store):
    communes = pd.read_parquet(store.path("communes"))
    creuse = communes[communes["dep_code"] == "23"]
    rng = np.random.default_rng(11)
    population = creuse["population"].astype(float).to_numpy()
    need = pd.DataFrame({"code": creuse["code"], "need_households": population * 0.02,
                         "need_households_low": population * 0.015,
                         "need_households_high": population * 0.03})
    chosen = rng.choice(len(creuse), 15, replace=False)
    sites = pd.DataFrame({
        "site_id": [f"s{i}" for i in range(15)],
        "commune_code": creuse["code"].to_numpy()[chosen],
        "offer_type": rng.choice(["pension de famille", "chrs", "moi"], 15),
        "capacity": rng.integers(5, 30, 15), "status": "ouvert",
    })
    inputs = g.GapInputs(communes=creuse, need=need,
                         households=pd.Series(population / 2.1, index=creuse["code"]),
                         sites=sites)
    result = g.compute_gap(inputs)
    frame = result.communes
    assert len(frame) == len(creuse)
    assert not np.isinf(frame.select_dtypes("number")).any().any()
    assert frame["places_allocated"].sum() == pytest.approx(float(sites["capacity"].sum()))
    assert set(frame["gap_class"]) <= set(g.CLASSES)


def test_supply_table_per_commune_and_territory(line_result):
    model = g.GapModel(line_inputs(), line_config())
    table = model.supply_table()
    assert table.loc["A", "capacity_pension_de_famille"] == 30.0
    assert table.loc["C", "capacity_hebergement"] == 10.0
    # AVDL (12) spread over A and B in proportion to their households (1,000 each).
    assert table.loc["A", "capacity_accompagnement"] == pytest.approx(6.0)
    assert table.loc["A", "per_1000_households_housing"] == pytest.approx(30.0)
    assert table.loc["A", "per_100_need_housing"] == pytest.approx(30.0)
    assert np.isnan(table.loc["G", "per_1000_households_housing"])  # 0 households
    by_dep = model.supply_table(by="dep_code")
    assert by_dep.loc["01", "capacity_housing"] == 40.0
    # Département 01 has communes A, B, C, F: 4,000 households.
    assert by_dep.loc["01", "per_1000_households_housing"] == pytest.approx(10.0)


def test_inputs_from_store(tmp_path):
    from geodata.store import Manifest, Store

    store = Store(tmp_path)
    communes = read_fixture("communes_ligne_fait_main.csv")
    store.write("communes", communes, Manifest("communes", "fait main", "test", "2025"))
    store.write("grille_densite_2025",
                pd.DataFrame({"code": ["A", "D"], "density_7": [1, 7]}),
                Manifest("grille_densite_2025", "fait main", "INSEE", "2025"))
    store.write("filosofi_2021_com",
                pd.DataFrame({"code": ["A", "B"], "households": [900.0, np.nan]}),
                Manifest("filosofi_2021_com", "Filosofi 2021 (fait main)", "INSEE", "2021"))
    store.write("comparateur", pd.DataFrame({"code": ["B"], "households": [480.0]}),
                Manifest("comparateur", "Comparateur (fait main)", "INSEE", "2022"))
    need = read_fixture("besoin_fait_main.csv").drop(columns="households")
    inputs = g.inputs_from_store(need, read_fixture("sites_fait_main.csv"), store)
    assert inputs.households["A"] == 900.0 and inputs.households["B"] == 480.0
    assert any("FINESS absent" in n for n in inputs.notes)
    assert any("Filosofi 2021" in s for s in inputs.sources)
    frame = g.GapModel(inputs).frame().set_index("code")
    by_class = acc.load_config()["catchment_m"]["by_density_7"]
    assert frame.loc["A", "catchment_m"] == by_class[1]
    assert frame.loc["D", "catchment_m"] == by_class[7]
    assert frame.loc["B", "catchment_source"].startswith("valeur par défaut")


def test_public_offer_in_supply_and_gap():
    inputs = line_inputs()
    inputs.public = pd.DataFrame([
        # FINESS with places (a future extract) enters the gap; without places, only counted.
        {"code": "D", "offer_type": "hebergement", "capacity": 20.0, "n_sites": 1,
         "source": "FINESS (fait main)"},
        {"code": "E", "offer_type": "residence_sociale", "capacity": np.nan, "n_sites": 2,
         "source": "FINESS (fait main)"},
        {"code": "A", "offer_type": "logement_social_plai", "capacity": 150.0, "n_sites": np.nan,
         "source": "RPLS (fait main)"},
    ])
    model = g.GapModel(inputs, line_config())
    frame = model.frame().set_index("code")
    assert frame.loc["D", "places_allocated_hebergement"] == pytest.approx(20 * 40 / 70)
    assert frame["places_allocated"].sum() == pytest.approx(60.0)  # PLAI never in the gap
    table = model.supply_table()
    assert table.loc["E", "n_sites_residence_sociale"] == 2
    assert table.loc["E", "capacity_unknown_sites"] == 2
    assert table.loc["A", "capacity_logement_social_plai"] == 150.0
    assert table.loc["A", "capacity_total"] == pytest.approx(36.0)  # 30 + 6 AVDL, no PLAI
    assert table.loc["A", "per_1000_households_logement_social_plai"] == pytest.approx(150.0)


def test_commune_without_coordinates_is_reported_not_guessed():
    inputs = line_inputs()
    inputs.communes = inputs.communes.copy()
    inputs.communes.loc[inputs.communes["code"] == "B", ["x_metric", "y_metric"]] = np.nan
    inputs.sites = pd.DataFrame([{"site_id": "b1", "commune_code": "B", "offer_type": "chrs",
                                  "capacity": 9, "status": "ouvert"}])
    model = g.GapModel(inputs, line_config())
    providers = model.providers().set_index("provider")
    assert providers.loc["B", "flag"].startswith("commune sans coordonnées")
    frame = model.frame().set_index("code")
    assert frame.loc["B", "gap_class"] == g.CLASS_NOT_COMPUTED
    assert np.isnan(frame.loc["B", "gap_households"])
    assert frame["places_allocated"].sum() == 0.0
