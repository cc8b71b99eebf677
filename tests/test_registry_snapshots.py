"""Dated snapshots and the comparison of an offer between two dates.

The pure comparison runs on hand-made frames whose expected changes are worked out by hand; the
registry round trip uses the FICTIF demo offer of the Nord and a hand-made follow-up file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from operators import snapshots as snap
from operators.confidentiality import INTERNAL, PUBLIC
from operators.repository import Registry
from tests.account_support import ADMIN
from tests.network_support import demo_with_snapshots, nord_codes  # noqa: F401 (fixture)


def _site(sid, status, offer_type, family, capacity, name="", operator="op-x", commune="59350",
          unit="places", confidentiality="public"):
    return {
        "site_id": sid, "operator_id": operator, "operator_name": operator, "network": "FAPIL",
        "source_id": None, "name": name or sid, "commune_code": commune, "dep_code": "59",
        "offer_type": offer_type, "offer_family": family, "capacity": capacity,
        "capacity_unit": unit, "publics": None, "status": status,
        "confidentiality": confidentiality, "coverage_epci": None, "coverage_communes": None,
        "opening_year": 2000, "fictional": False,
    }


def test_compare_by_hand():
    before = pd.DataFrame([
        _site("a1", "ouvert", "pension_de_famille", "pension_de_famille", 20),
        _site("a2", "ouvert", "chrs", "hebergement", 30),
        _site("a3", "ouvert", "ftm", "residence_sociale", 100, unit="logements"),
        _site("a4", "ouvert", "hebergement_autre", "hebergement", 10, name="Le Relais"),
        _site("a6", "en_projet", "pension_de_famille", "pension_de_famille", 15),
        _site("a8", "ouvert", "moi", "diffus", 4, unit="logements"),
    ])
    after = pd.DataFrame([
        _site("a1", "ouvert", "pension_de_famille", "pension_de_famille", 25),
        _site("a3", "ouvert", "residence_sociale", "residence_sociale", 100, unit="logements"),
        _site("a5", "ouvert", "pension_de_famille", "pension_de_famille", 12, name="Le  relais"),
        _site("a6", "ouvert", "pension_de_famille", "pension_de_famille", 15),
        _site("a7", "en_projet", "chu", "hebergement", 40),
        _site("a8", "ferme", "moi", "diffus", 4, unit="logements"),
    ])
    changes = snap.compare(before, after).set_index("site_id")
    assert changes["change"].to_dict() == {
        "a6": snap.CREATED, "a2": snap.CLOSED, "a8": snap.CLOSED, "a3": snap.CONVERTED,
        "a5": snap.CONVERTED, "a1": snap.RESIZED, "a7": snap.PLANNED,
    }
    assert changes.loc["a1", "places_delta"] == 5
    assert changes.loc["a2", "places_delta"] == -30 and changes.loc["a8", "places_delta"] == -4
    assert changes.loc["a6", "places_delta"] == 15
    # a4 closed and a5 opened by the same operator, commune and name: one conversion.
    assert changes.loc["a5", "offer_family_before"] == "hebergement"
    assert changes.loc["a5", "offer_family"] == "pension_de_famille"
    assert changes.loc["a5", "places_delta"] == 2
    assert changes.loc["a3", "offer_type_before"] == "ftm"
    assert "a4" not in changes.index


def test_summary_follows_the_confidentiality_rules():
    changes = pd.DataFrame([
        {"site_id": f"s{i}", "change": snap.CREATED, "offer_family": "hebergement",
         "offer_family_before": None, "capacity": 10.0, "capacity_before": np.nan,
         "places_delta": 10.0, "capacity_unit": "places",
         "confidentiality": "confidentiel" if i == 0 else "public"}
        for i in range(4)
    ])
    public = snap.summary(changes, PUBLIC).iloc[0]
    # the confidential site is in no public figure: neither counted nor able to hide a capacity
    assert public["sites"] == "3" and public["capacite_places"] == 30
    internal = snap.summary(changes, INTERNAL).iloc[0]
    assert internal["capacite_places"] == 40
    small = snap.summary(changes.iloc[1:3], PUBLIC).iloc[0]
    assert small["sites"] == "< 3"


def test_no_snapshot_before_a_date_is_a_french_error(tmp_path, store):
    registry = Registry(tmp_path / "vide.gpkg")
    with pytest.raises(snap.SnapshotError, match="Aucun instantané du registre au 2020-01-01"):
        snap.sites_at(registry, "2020-01-01")
    with pytest.raises(snap.SnapshotError, match="AAAA-MM-JJ"):
        snap.take_snapshot(registry, ADMIN, "31/12/2024")
    registry.dispose()


def test_demo_nord_between_two_dates(demo_with_snapshots, store):  # noqa: F811
    registry, expected = demo_with_snapshots
    listed = snap.list_snapshots(registry)
    assert listed["snapshot_date"].tolist() == ["2023-12-31", "2024-12-31"]
    first, second, changes = snap.compare_dates(registry, "2024-06-30", "2025-03-01",
                                                nord_codes(store))
    assert (first, second) == ("2023-12-31", "2024-12-31")
    got = changes.set_index("site_id")["change"].to_dict()
    assert got == expected
    # Dates given in any order, same answer; a date before any snapshot says so.
    assert snap.compare_dates(registry, "2025-01-01", "2024-01-01",
                              nord_codes(store))[2]["site_id"].tolist() == changes[
                                  "site_id"].tolist()
    with pytest.raises(snap.SnapshotError):
        snap.compare_dates(registry, "2020-01-01", "2024-12-31")


def test_taking_a_snapshot_again_replaces_it(demo_with_snapshots):  # noqa: F811
    registry, _ = demo_with_snapshots
    before = snap.list_snapshots(registry)
    info = snap.take_snapshot(registry, ADMIN, "2024-12-31", label="repris")
    after = snap.list_snapshots(registry)
    assert len(after) == len(before)
    assert after.set_index("snapshot_date").loc["2024-12-31", "label"] == "repris"
    assert info.site_count == len(registry.sites(include_closed=True))


def test_cli_takes_and_compares_snapshots(demo_with_snapshots, capsys, tmp_path):  # noqa: F811
    from operators.__main__ import main

    registry, expected = demo_with_snapshots
    assert main(["--base", registry.url, "comparer", "2023-12-31", "2024-12-31",
                 "--territoire", "dep:59"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Offre de Nord : instantané du 2023-12-31 → instantané du 2024-12-31"
    kinds = {line.split(" : ")[0] for line in out[1:]}
    assert kinds == set(expected.values())
    assert not any(line.startswith("  ") for line in out)  # public: no site listed
    assert main(["--base", registry.url, "comparer", "2023-12-31", "2024-12-31",
                 "--territoire", "dep:59", "--interne"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")]
    assert len(listed) == len(expected)
    other = f"sqlite:///{tmp_path / 'autre.gpkg'}"  # the shared demo registry stays as it is
    assert main(["--base", other, "instantane", "--date", "2025-06-30"]) == 0
    assert capsys.readouterr().out.startswith("instantané du 2025-06-30 : 0 sites")
    assert main(["--base", registry.url, "comparer", "2019-01-01", "2019-12-31"]) == 1
    assert "Aucun instantané du registre au 2019-01-01" in capsys.readouterr().err


def test_an_anonymous_visitor_or_an_operator_cannot_take_or_replace_a_snapshot(
    demo_with_snapshots,  # noqa: F811
):
    """The attack: replace the dated snapshot of 2024 (the base of a year's bilan) from the app
    without an account, or as an operator."""
    from operators.accounts import ANONYMOUS, ROLE_OPERATOR, AccessDenied, Account

    registry, _ = demo_with_snapshots
    before = snap.list_snapshots(registry)
    operator = Account("op-tests", ROLE_OPERATOR, "Opérateur des tests", operator_name="Asso Nord")
    for actor in (None, ANONYMOUS, operator):
        with pytest.raises(AccessDenied, match="administrateurs"):
            snap.take_snapshot(registry, actor, "2024-12-31", label="écrasé")
    assert snap.list_snapshots(registry).equals(before)
