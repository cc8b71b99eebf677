"""Supply: site checks with French reasons, capacity by commune, services spread, rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geodata.store import Manifest, Store
from models import supply as sup

CODES = ["01001", "01002", "01004", "59350", "59009"]


def hand_made_sites() -> pd.DataFrame:
    """Registry-like rows (hand-made), one problem per rejected row."""
    return pd.DataFrame(
        [
            {"site_id": "s1", "commune_code": "1001", "offer_type": "Maison relais",
             "capacity": 20, "status": "ouvert"},
            {"site_id": "s2", "commune_code": "01002", "offer_type": "fjt", "capacity": "",
             "status": "ouvert"},
            {"site_id": "s3", "commune_code": "99999", "offer_type": "chrs", "capacity": 10,
             "status": "ouvert"},
            {"site_id": "s4", "commune_code": "01004", "offer_type": "boulangerie",
             "capacity": 10, "status": "ouvert"},
            {"site_id": "s5", "commune_code": "01004", "offer_type": "chrs", "capacity": -3,
             "status": "ouvert"},
            {"site_id": "s6", "commune_code": "01004", "offer_type": "chrs", "capacity": 12,
             "status": "peut-être"},
            {"site_id": "s7", "commune_code": "59350", "offer_type": "iml_sous_location",
             "capacity": 8, "status": "en projet"},
            {"site_id": "s8", "commune_code": "59350", "offer_type": "AVDL", "capacity": 40,
             "status": "ouvert", "coverage_communes": "59350;59009"},
            {"site_id": "s1", "commune_code": "01002", "offer_type": "chrs", "capacity": 5,
             "status": "ouvert"},
            {"site_id": "s9", "commune_code": "59009", "offer_type": "savs", "capacity": 6,
             "status": "ouvert", "coverage_epci": "200093201"},
        ]
    )


def test_check_sites_keeps_or_rejects_every_row_with_a_french_reason():
    check = sup.check_sites(hand_made_sites(), current_codes=CODES,
                            epci_members={"200093201": ["59350", "59009"]})
    assert len(check.valid) + len(check.rejected) == len(hand_made_sites())
    reasons = dict(zip(check.rejected["site_id"], check.rejected["motif"], strict=True))
    assert reasons["s2"].startswith("ligne 2 (site s2)") and "« capacité »" in reasons["s2"]
    assert "99999 n'est pas une commune" in reasons["s3"]
    assert "« type d'offre »" in reasons["s4"] and "boulangerie" in reasons["s4"]
    assert "négatif" in reasons["s5"]
    assert "« statut »" in reasons["s6"]
    assert "identifiant en double" in check.rejected["motif"].iloc[-1]
    valid = check.valid.set_index("site_id")
    assert valid.loc["s1", "code"] == "01001"  # Excel's lost leading zero repaired
    assert valid.loc["s1", "offer_type"] == "pension_de_famille"
    assert valid.loc["s7", "offer_type"] == "intermediation_locative"
    assert valid.loc["s7", "status"] == sup.STATUS_PLANNED
    assert valid.loc["s8", "area"] and valid.loc["s8", "covered"] == ("59350", "59009")
    assert valid.loc["s9", "covered"] == ("59350", "59009")  # EPCI expanded


def test_missing_columns_is_a_french_error():
    with pytest.raises(sup.SupplyError, match="capacité"):
        sup.check_sites(pd.DataFrame({"site_id": ["a"], "code": ["01001"], "offer_type": ["pf"]}))


def test_point_supply_counts_open_sites_only():
    check = sup.check_sites(hand_made_sites(), current_codes=CODES)
    table = sup.point_supply(check.valid)
    assert table[["code", "offer_type", "capacity"]].values.tolist() == [
        ["01001", "pension_de_famille", 20.0]
    ]
    planned = sup.point_supply(check.valid, statuses=[sup.STATUS_PLANNED])
    assert planned["capacity"].tolist() == [8.0]


def test_services_spread_by_households():
    check = sup.check_sites(hand_made_sites(), current_codes=CODES,
                            epci_members={"200093201": ["59350", "59009"]})
    services = sup.area_services(check.valid)
    households = pd.Series({"59350": 300.0, "59009": 100.0})
    spread, notes = sup.spread_services(services, households)
    by = spread.set_index(["code", "offer_type"])["capacity"]
    # AVDL 40 and SAVS 6 (both accompaniment) → 3/4 and 1/4 each.
    assert by[("59350", "accompagnement")] == pytest.approx(0.75 * 46)
    assert by[("59009", "accompagnement")] == pytest.approx(0.25 * 46)
    assert notes == []
    spread, notes = sup.spread_services(services, pd.Series({"59350": 300.0}))
    assert spread["capacity"].tolist() == pytest.approx([23.0, 23.0])
    assert "parts égales" in notes[0]


def test_supply_by_commune_and_rates_keep_missing_missing():
    check = sup.check_sites(hand_made_sites(), current_codes=CODES)
    spread, _ = sup.spread_services(sup.area_services(check.valid), pd.Series(1.0, index=CODES))
    table = sup.supply_by_commune([sup.point_supply(check.valid), spread], CODES)
    assert table.loc["01001", "capacity_pension_de_famille"] == 20.0
    assert table.loc["01001", "capacity_housing"] == 20.0
    assert table.loc["59350", "capacity_housing"] == 0.0
    assert table.loc["59350", "capacity_total"] == pytest.approx(20.0)
    households = pd.Series({"01001": 400.0, "01002": 0.0, "01004": np.nan, "59350": 1000.0,
                            "59009": 500.0})
    need = pd.Series({"01001": 10.0, "01002": 1.0, "01004": 2.0, "59350": 50.0, "59009": 5.0})
    rates = sup.supply_rates(table, households, need)
    assert rates.loc["01001", "per_1000_households_pension_de_famille"] == pytest.approx(50.0)
    assert rates.loc["01001", "per_100_need_pension_de_famille"] == pytest.approx(200.0)
    assert np.isnan(rates.loc["01002", "per_1000_households_total"])  # 0 households: no rate
    assert np.isnan(rates.loc["01004", "per_1000_households_total"])  # unknown: no rate
    assert not np.isinf(rates.select_dtypes("number")).any().any()
    by_dep = sup.supply_rates(table, households, need, by=pd.Series(
        {"01001": "01", "01002": "01", "01004": "01", "59350": "59", "59009": "59"}))
    assert np.isnan(by_dep.loc["01", "per_1000_households_total"])  # one commune unknown
    assert by_dep.loc["59", "per_1000_households_total"] == pytest.approx(40 / 1500 * 1000)


def test_finess_categories_and_unknown_capacity():
    finess = pd.DataFrame(
        {"code": ["59350", "59350", "59009", "59009"], "category": ["214", "258", "443", "101"]}
    )
    table = sup.finess_supply(finess, "FINESS test").set_index(["code", "offer_type"])
    assert table.loc[("59350", "hebergement"), "n_sites"] == 1
    assert table.loc[("59350", "pension_de_famille"), "n_sites"] == 1
    # 443 is a CADA: the asylum family, never hébergement.
    assert ("59009", "hebergement") not in table.index
    assert np.isnan(table.loc[("59009", "asile"), "capacity"])  # unknown, not zero
    assert len(table) == 3  # category 101 is not an insertion offer


def test_public_supply_from_store(tmp_path):
    store = Store(tmp_path)
    empty = sup.public_supply(store)
    assert empty.table.empty and any("FINESS absent" in n for n in empty.notes)
    finess = pd.DataFrame({"code": ["59350"], "category": ["258"], "capacity": [25.0]})
    store.write("finess", finess, Manifest(dataset="finess", source="FINESS (fait main)",
                                           producer="DREES", vintage="2025"))
    public = sup.public_supply(store)
    assert public.table["capacity"].tolist() == [25.0]
    assert "2025" in public.sources[0] and "Licence Ouverte" in public.sources[0]


def test_registry_site_columns_are_accepted():
    # A frame shaped like the registry's ``sites`` table (operators.schema.SITE_COLUMNS).
    from operators import schema

    rows = [
        {"site_id": "r1", "commune_code": "59350", "offer_type": "iml_mandat_gestion",
         "offer_family": "intermediation_locative", "capacity": 12.0,
         "status": schema.STATUS_OPEN, "confidentiality": schema.CONF_CONFIDENTIAL},
        {"site_id": "r2", "commune_code": None, "offer_type": "fsl",
         "offer_family": "accompagnement", "capacity": 30.0, "status": schema.STATUS_OPEN,
         "coverage_communes": "59350, 59009"},
    ]
    frame = pd.DataFrame(rows).reindex(columns=list(schema.SITE_COLUMNS))
    check = sup.check_sites(frame, current_codes=CODES)
    assert check.rejected.empty
    valid = check.valid.set_index("site_id")
    assert valid.loc["r1", "offer_type"] == "intermediation_locative"
    assert valid.loc["r1", "confidentiality"] == schema.CONF_CONFIDENTIAL
    # An area service needs no commune of its own when it lists the communes it covers.
    assert valid.loc["r2", "area"] and valid.loc["r2", "covered"] == ("59350", "59009")


def test_attach_coverage_from_the_registry_table():
    sites = pd.DataFrame({"site_id": ["a", "b"], "coverage_communes": [None, "01001"]})
    coverage = pd.DataFrame({"site_id": ["a", "a"], "commune_code": ["59350", "59009"]})
    out = sup.attach_coverage(sites, coverage)
    assert out["coverage_communes"].tolist() == [("59350", "59009"), "01001"]


# -- public establishments (FINESS) and the members' share --------------------------------------
def _finess_points() -> pd.DataFrame:
    from shapely.geometry import Point

    return pd.DataFrame({
        "finess_id": ["1", "2", "3", "4", "5"],
        "name": ["CHRS", "PF", "CADA", "CPH", "EHPAD"],
        "category": ["214", "258", "443", "442", "500"],
        "category_label": ["CHRS", "Maison relais", "CADA", "CPH", "EHPAD"],
        "code": ["59350", "59350", "59009", "59350", "59350"],
        "geolocated": [True, True, False, True, True],
        "geometry": [Point(3.06, 50.63), Point(3.07, 50.64), None, Point(3.05, 50.62),
                     Point(3.0, 50.6)],
    })


def _equipments() -> pd.DataFrame:
    return pd.DataFrame({"finess_id": ["1", "2", "3"],
                         "capacity_installed": [40.0, np.nan, 80.0],
                         "capacity_authorised": [45.0, 25.0, 90.0]})


def test_establishments_with_family_and_capacity():
    points = sup.establishments_from(_finess_points(), _equipments()).set_index("finess_id")
    assert "5" not in points.index  # EHPAD: not kept
    assert points.at["1", "family"] == "hebergement" and points.at["1", "capacity"] == 40
    assert points.at["2", "capacity"] == 25 and points.at["2", "capacity_basis"] == "autorisée"
    assert points.at["3", "family"] == "asile" and points.at["4", "family"] == "asile"
    assert np.isnan(points.at["4", "capacity"])  # no equipment line: unknown, not zero
    assert points.at["1", "lon"] == pytest.approx(3.06) and np.isnan(points.at["3", "lon"])


def test_public_establishments_from_the_store(tmp_path):
    import geopandas as gpd

    store = Store(tmp_path)
    absent = sup.public_establishments(store)
    assert not absent.available and "non disponible" in absent.notes[0]
    finess = gpd.GeoDataFrame(_finess_points(), geometry="geometry", crs="EPSG:4326")
    store.write("finess_ans", finess, Manifest(dataset="finess_ans", source="FINESS (fait main)",
                                               producer="ANS", vintage="2026"))
    only_ans = sup.public_establishments(store)
    assert only_ans.available and "ANS" in only_ans.source
    assert only_ans.points["capacity"].isna().all()
    assert any("équipements sociaux" in n for n in only_ans.notes)
    store.write("finess_equipements", _equipments(),
                Manifest(dataset="finess_equipements", source="Équipements (fait main)",
                         producer="ANS", vintage="2026"))
    joined = sup.public_establishments(store).points.set_index("finess_id")
    assert joined.at["1", "capacity"] == 40


def test_public_by_family_keeps_the_asylum_system_apart():
    points = sup.establishments_from(_finess_points(), _equipments())
    table = sup.public_by_family(points).set_index("family")
    assert table.at["asile", "n_establishments"] == 2
    assert table.at["asile", "capacity"] == 80 and table.at["asile", "n_capacity_unknown"] == 1
    assert table.at["hebergement", "capacity"] == 40
    assert list(table.index) == ["hebergement", "pension_de_famille", "asile"]
    by_dep = sup.public_by_family(points, by=pd.Series({"59350": "59", "59009": "59"}))
    assert set(by_dep["group"]) == {"59"}


def test_members_share_per_family_and_what_cannot_be_computed():
    points = sup.establishments_from(_finess_points(), _equipments())
    public = sup.public_by_family(points)
    members = pd.DataFrame({
        "group": ["territoire"] * 4,
        "family": ["hebergement", "pension_de_famille", "intermediation_locative", "diffus"],
        "n_sites": [3, 1, 5, 2],
        "capacity": [30.0, np.nan, 40.0, 8.0],  # pension: withheld (fewer than 3 sites)
    })
    share = sup.members_share(members, public).set_index("family")
    assert share.at["hebergement", "share"] == pytest.approx(100 * 30 / 40)
    assert np.isnan(share.at["pension_de_famille", "share"])
    assert "non publiée" in share.at["pension_de_famille", "status"]
    assert np.isnan(share.at["intermediation_locative", "share"])
    assert "absente de FINESS" in share.at["intermediation_locative", "status"]
    assert "asile" not in share.index  # never in the total
    absent = sup.members_share(members, public.iloc[0:0], public_available=False)
    assert absent.set_index("family").at["hebergement", "status"].startswith("non disponible")
    over = sup.members_share(members.assign(capacity=[90.0, 1, 1, 1]), public)
    assert "au-delà de FINESS" in over.set_index("family").at["hebergement", "status"]
