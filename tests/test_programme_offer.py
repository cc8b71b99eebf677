"""The whole known offer counted once: members' sites carrying their FINESS number and the
public establishments (FINESS) of the same family; the optional « numéro FINESS » column of
the registry's import.

FINESS is online-only: the establishments here are a hand-made fixture
(``tests/fixtures/programme/finess_fait_main.csv``, invented numbers).
"""

from __future__ import annotations

import pandas as pd
import pytest

from models import gap as g
from models import supply as sup
from operators.importer import import_file
from operators.repository import Registry
from operators.validation import parse_finess
from tests import gap_support
from tests.account_support import ADMIN

FIXTURES = gap_support.FIXTURES.parent / "programme"


def finess() -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "finess_fait_main.csv", comment="#",
                       dtype={"finess_id": str, "category": str, "code": str})


def model(sites: pd.DataFrame, public: pd.DataFrame | None) -> g.GapModel:
    inputs = gap_support.line_inputs()
    inputs.sites = sites
    inputs.public = public
    return g.GapModel(inputs, gap_support.line_config())


def test_member_site_with_its_finess_number_is_counted_once():
    sites = gap_support.read_fixture("sites_fait_main.csv")
    sites["finess_id"] = None
    sites.loc[sites["site_id"] == "pf-A", "finess_id"] = "010000001"  # the same maison relais
    ids = sup.registry_finess_ids(sites)
    assert ids == {"010000001"}
    public = sup.finess_supply(finess(), "FINESS (fait main)", ids)
    assert public.attrs["counted_once"] == 1
    # Left: B's résidence sociale and D's CHRS; A's maison relais is the member's pf-A.
    assert sorted(public["code"]) == ["B", "D"]
    both = model(sites, public)
    places = both.point_sites.groupby("offer_type")["capacity"].sum()
    # Members: pf-A 30 (pension de famille), chrs-C 10; public: 40 (résidence sociale), 15 (CHRS).
    assert places["pension_de_famille"] == pytest.approx(30)
    assert places["residence_sociale"] == pytest.approx(40)
    assert places["hebergement"] == pytest.approx(10 + 15)
    twice = model(sites, sup.finess_supply(finess(), "FINESS (fait main)"))
    assert twice.point_sites.groupby("offer_type")["capacity"].sum()[
        "pension_de_famille"] == pytest.approx(55)  # what counting it twice would give


def test_capacity_joined_from_the_equipments_extract():
    frame = finess().drop(columns="capacity")
    equipments = pd.DataFrame({"finess_id": ["010000001", "010000002"],
                               "capacity_installed": [25.0, None],
                               "capacity_authorised": [30.0, 42.0]})
    joined = sup.finess_with_capacity(frame, equipments)
    assert joined["capacity"].tolist()[:2] == [25.0, 42.0]
    assert pd.isna(joined["capacity"].iloc[2])


@pytest.mark.parametrize(("text", "commune", "expected", "message"), [
    ("230780012", "23096", "230780012", None),
    ("23 078 001 2", "23096", "230780012", None),
    ("2A0000019", "2A004", "2A0000019", None),
    ("2307800", "23096", None, "n'est pas un numéro FINESS"),
    ("590780012", "23096", None, "département « 23 »"),
    ("23-078-0012", "23096", None, "n'est pas un numéro FINESS"),
    ("", "23096", None, None),
])
def test_finess_number_is_checked(text, commune, expected, message):
    problems: list = []
    assert parse_finess(text, commune, problems) == expected
    if message:
        assert problems and problems[0][0] == "numéro FINESS" and message in problems[0][1]
    else:
        assert problems == []


def test_registry_import_reads_and_checks_the_finess_column(tmp_path, store):
    registry = Registry(tmp_path / "registre.gpkg")
    result = import_file(FIXTURES / "sites_finess_fait_main.csv", registry, geocoder=None,
                         rejects_dir=tmp_path, actor=ADMIN)
    outcomes = result.outcomes.set_index("ligne")
    rejected = outcomes[outcomes["issue"] == "rejeté"]
    assert sorted(rejected.index) == ["ligne 4", "ligne 5", "ligne 6"]
    for line in rejected.index:
        assert "champ « numéro FINESS »" in rejected.loc[line, "detail"]
    sites = pd.DataFrame(registry.sites())
    registry.dispose()
    by_name = sites.set_index("name")["finess_id"]
    assert by_name["Maison relais du Pont"] == "230780012"
    assert pd.isna(by_name["Résidence Lambert"])
