"""The members' sites a map draws (ui.sites.map_points): the public view of the sites of the
map's communes, cached per version of the registry, of the view and of the publics chosen."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from operators.confidentiality import split_for_public
from operators.schema import PUBLIC_SITE_COLUMNS
from ui import sites

logging.getLogger("streamlit").setLevel(logging.ERROR)  # cached calls outside a server


def _registry(fingerprint: str, extra: list[dict] | None = None) -> sites.RegistrySites:
    rows = [
        {"site_id": "a", "name": "Pension A", "commune_code": "23096", "confidentiality": "public",
         "lon": 1.87, "lat": 46.17, "offer_type": "pension_de_famille",
         "offer_family": "pension_de_famille", "publics": "isoles_exclusion", "capacity": 20.0},
        {"site_id": "b", "name": "Logements B", "commune_code": "23096",
         "confidentiality": "commune", "lon": 1.88, "lat": 46.18, "offer_type": "diffus",
         "offer_family": "diffus", "publics": "familles_monoparentales", "capacity": 6.0},
        {"site_id": "c", "name": "Abri C", "commune_code": "23096",
         "confidentiality": "confidentiel", "lon": 1.86, "lat": 46.16, "offer_type": "hebergement",
         "offer_family": "hebergement", "publics": "femmes_violences", "capacity": 12.0},
        {"site_id": "d", "name": "Pension D", "commune_code": "87085", "confidentiality": "public",
         "lon": 1.26, "lat": 45.83, "offer_type": "pension_de_famille",
         "offer_family": "pension_de_famille", "publics": "isoles_exclusion", "capacity": 25.0},
    ] + (extra or [])
    for row in rows:
        row.update({c: None for c in PUBLIC_SITE_COLUMNS if c not in row},
                   dep_code=row["commune_code"][:2], geocode_method="adresse", fictional=False)
    public, coverage, by_dep = split_for_public(pd.DataFrame(rows), pd.DataFrame())
    return sites.RegistrySites(public, coverage, "test", fingerprint, by_dep)


@pytest.fixture(autouse=True)
def _fresh_cache():
    sites._map_points.clear()
    yield
    sites._map_points.clear()


def test_only_the_view_s_public_sites_with_commune_level_ones_at_the_town_hall():
    points = sites.map_points(_registry("v1"), "creuse", ["23096"], [])
    assert sorted(points["site_id"]) == ["a", "b"]  # neither the shelter nor the Haute-Vienne
    assert "Abri C" not in points.to_csv()
    b = points.set_index("site_id").loc["b"]
    assert (b["lon"], b["lat"]) != (1.88, 46.18)  # a commune-level site is not at its address


def test_the_publics_chosen_and_the_view_are_part_of_the_key():
    registry = _registry("v1")
    chosen = sites.map_points(registry, "creuse", ["23096"], ["familles_monoparentales"])
    assert list(chosen["site_id"]) == ["b"]
    assert sorted(sites.map_points(registry, "creuse", ["23096"], [])["site_id"]) == ["a", "b"]
    assert sorted(sites.map_points(registry, "limousin", ["23096", "87085"], [])["site_id"]) == [
        "a", "b", "d"]


def test_a_new_version_of_the_registry_is_drawn():
    assert len(sites.map_points(_registry("v1"), "creuse", ["23096"], [])) == 2
    new = {"site_id": "e", "name": "Résidence E", "commune_code": "23096",
           "confidentiality": "public", "lon": 1.9, "lat": 46.2, "offer_type": "residence_sociale",
           "offer_family": "residence_sociale", "publics": "jeunes", "capacity": 30.0}
    points = sites.map_points(_registry("v2", [new]), "creuse", ["23096"], [])
    assert sorted(points["site_id"]) == ["a", "b", "e"]
