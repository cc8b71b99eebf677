"""Yearly activity: imported with per-row French reasons, stored per year, never shown for a
confidential site. Hand-made file: tests/fixtures/registry/activite_fait_main.csv."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from operators import activity as act
from operators.confidentiality import INTERNAL, PUBLIC
from operators.importer import import_file
from operators.repository import Registry
from tests.account_support import ADMIN

FILE = Path(__file__).parent / "fixtures" / "registry" / "activite_fait_main.csv"


@pytest.fixture(scope="module")
def imported(store, tmp_path_factory):
    folder = tmp_path_factory.mktemp("activite")
    registry = Registry(folder / "registre.gpkg")
    result = import_file(FILE, registry, geocoder=None, rejects_dir=folder, actor=ADMIN)
    yield registry, result
    registry.dispose()


def _outcome(result, line: int) -> dict:
    rows = result.outcomes[result.outcomes["ligne"] == f"ligne {line}"]
    assert len(rows) == 1
    return rows.iloc[0].to_dict()


def test_wrong_activity_values_reject_the_row_naming_the_field(imported):
    _, result = imported
    expected = {
        5: ("taux d'occupation", "« douze » n'est pas un nombre"),
        6: ("sorties vers le logement ordinaire", "4 sorties vers le logement ordinaire pour 3"),
        7: ("année d'activité", "« 2031 » n'est pas une année d'activité passée"),
        9: ("taux d'occupation", "un taux entre 0 et 100 % est attendu"),
    }
    for line, (field, message) in expected.items():
        row = _outcome(result, line)
        assert row["issue"] == "rejeté", row
        assert row["detail"].startswith(f"ligne {line} : champ « {field} » : "), row["detail"]
        assert message in row["detail"], row["detail"]
    assert result.rejected == 4 and result.imported == 5


def test_activity_is_stored_per_site_and_year_with_flags(imported):
    registry, result = imported
    assert "lu comme 80,0 %" in _outcome(result, 3)["signalements"]
    supposed = dt.date.today().year - 1
    assert f"année d'activité non renseignée : {supposed} supposée" in _outcome(
        result, 8)["signalements"]
    stored = act.read(registry)
    sites = pd.DataFrame(registry.sites(include_closed=True))
    by_source = stored.merge(sites[["site_id", "source_id"]], on="site_id").set_index("source_id")
    assert sorted(by_source.index) == ["AM-01", "AM-02", "AM-03", "AM-07"]
    first = by_source.loc["AM-01"]
    assert (first["activity_year"], first["occupancy_rate"], first["households_entered"],
            first["households_left"], first["exits_to_housing"], first["average_stay_months"],
            first["waiting_list"]) == (2024, 90.0, 4, 2, 1, 60.0, 10)
    assert by_source.loc["AM-02", "occupancy_rate"] == pytest.approx(80.0)
    assert by_source.loc["AM-07", "activity_year"] == supposed


def test_closed_site_stays_for_snapshots_but_leaves_current_views(imported):
    registry, _ = imported
    assert "AM-09" not in set(registry.sites()["source_id"])
    closed = pd.DataFrame(registry.sites(include_closed=True)).set_index("source_id")
    assert closed.loc["AM-09", "status"] == "ferme"


def test_publics_of_the_file_are_read(imported):
    registry, _ = imported
    publics = registry.sites().set_index("source_id")["publics"]
    assert publics["AM-02"] == "jeunes;sortants_ase"
    assert publics["AM-01"] == "isoles_exclusion"


def test_indicators_by_hand_and_confidential_activity_never_public(imported):
    registry, _ = imported
    sites = pd.DataFrame(registry.sites())
    stored = act.read(registry)
    internal = act.indicators(sites, stored, INTERNAL, 2024).iloc[0]
    # AM-01 (20 places, 90 %), AM-02 (60 logements, 80 %), AM-03 (30 places, 100 %).
    assert internal["sites_declarants_n"] == 3
    assert internal["taux_occupation"] == pytest.approx(9600 / 110)
    assert internal["menages_entres"] == 59 and internal["menages_sortis"] == 46
    assert internal["sorties_logement_ordinaire"] == 19
    assert internal["part_sorties_logement"] == pytest.approx(100 * 19 / 46)
    assert internal["duree_moyenne_sejour_mois"] == pytest.approx(504 / 46)
    assert internal["liste_attente"] == 23
    confidential = set(sites.loc[sites["confidentiality"] == "confidentiel", "site_id"])
    assert confidential and confidential <= set(stored["site_id"])
    shown = act.activity_for(sites, stored, PUBLIC)
    assert not confidential & set(shown["site_id"])
    public = act.indicators(sites, stored, PUBLIC, 2024).iloc[0]
    assert public["sites_declarants"] == "< 3"  # two public sites left: not published
    assert pd.isna(public["taux_occupation"]) and pd.isna(public["menages_entres"])


def test_reimport_next_year_adds_a_year(imported, tmp_path):
    registry, _ = imported
    text = FILE.read_text(encoding="utf-8").replace(";2024;90;4;2;1;60;10", ";2025;85;3;3;2;50;7")
    path = tmp_path / "activite_2025_fait_main.csv"
    path.write_text(text, encoding="utf-8")
    import_file(path, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    stored = act.read(registry)
    sites = pd.DataFrame(registry.sites())
    first = sites.loc[sites["source_id"] == "AM-01", "site_id"].iat[0]
    years = stored.loc[stored["site_id"] == first].set_index("activity_year")
    assert sorted(years.index) == [2024, 2025]
    assert years.loc[2024, "occupancy_rate"] == 90.0 and years.loc[2025, "occupancy_rate"] == 85.0
