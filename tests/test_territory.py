"""Territory specifications and name search."""

from __future__ import annotations

import pytest

from geodata.territory import TerritoryError, normalise_name, parse_territory, search_places


@pytest.fixture(scope="module")
def layers(store):
    return {
        "departements": store.read("departements_grossier"),
        "regions": store.read("regions_grossier"),
        "epci": store.read("epci_grossier"),
    }


def test_departement(communes, layers):
    nord = parse_territory("dep:59", communes, **layers)
    assert nord.name == "Nord"
    assert len(nord) == 647
    assert "59350" in nord.codes
    corse = parse_territory("dep:2a", communes, **layers)
    assert corse.name == "Corse-du-Sud" and all(c.startswith("2A") for c in corse.codes)


def test_region_epci_commune_and_lists(communes, layers):
    hdf = parse_territory("reg:32", communes, **layers)
    assert hdf.name == "Hauts-de-France"
    assert len(hdf) == (communes["reg_code"] == "32").sum()
    mel = parse_territory("epci:200093201", communes, **layers)
    assert "Lille" in mel.name and "59350" in mel.codes and len(mel) == 95
    lille = parse_territory("com:59350", communes, **layers)
    assert lille.codes == ["59350"] and lille.name == "Lille"
    both = parse_territory("dep:59, dep:62 + com:59350", communes, **layers)
    assert len(both) == 647 + (communes["dep_code"] == "62").sum()
    assert both.name == "Nord + Pas-de-Calais + Lille"
    assert both.parts == [("dep", "59"), ("dep", "62"), ("com", "59350")]


def test_commune_and_neighbours(communes, layers):
    around = parse_territory("voisins:23096", communes, **layers)  # Guéret
    assert around.codes[0] == "23096"
    assert 5 <= len(around) <= 15
    assert around.name == "Guéret et communes voisines"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("dep:99", "Département inconnu : « 99 »"),
        ("reg:77", "Région inconnue"),
        ("epci:123456789", "EPCI inconnu"),
        ("com:59999", "Commune inconnue : « 59999 »"),
        ("departement:59", "Terme de territoire incompris"),
        ("", "Territoire vide"),
        ("dep:59, nimporte", "« nimporte »"),
    ],
)
def test_errors_are_clear_and_french(communes, layers, spec, message):
    with pytest.raises(TerritoryError, match=message):
        parse_territory(spec, communes, **layers)


def test_excel_lost_leading_zero_in_commune_code(communes, layers):
    assert parse_territory("com:1001", communes, **layers).codes == ["01001"]


def test_name_search_ignores_accents_and_case(communes, layers):
    found = search_places("saint etienne", communes, departements=layers["departements"])
    assert found.iloc[0]["code"] == "42218"
    assert found.iloc[0]["name"] == "Saint-Étienne"
    assert search_places("CREUSE", communes, departements=layers["departements"]).iloc[0]["spec"] == "dep:23"
    assert search_places("st etienne", communes).iloc[0]["code"] == "42218"
    assert search_places("l'abergement clemenciat", communes).iloc[0]["code"] == "01001"
    assert search_places("zzzz", communes).empty
    assert normalise_name("Saint-Étienne-du-Rouvray") == "saint etienne du rouvray"


def test_long_territory_list_has_a_bounded_unique_file_name(communes, layers):
    from diagnostics.produce import default_file_name

    deps = [f"dep:{d:02d}" for d in range(1, 96) if d != 20]
    many = parse_territory(", ".join(deps), communes, **layers)
    fewer = parse_territory(", ".join(deps[:-1]), communes, **layers)
    assert len(many.slug) <= 80 and len(fewer.slug) <= 80 and many.slug != fewer.slug
    assert parse_territory("dep:59", communes, **layers).slug == "nord"

    class _Doc:
        slug = many.slug

    assert len(default_file_name(_Doc(), "pdf").encode()) < 255
