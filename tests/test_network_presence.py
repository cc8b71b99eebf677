"""« Qui fait quoi où » on a hand-made line of communes (expected tables worked out by hand),
and on the FICTIF demo offer of the Nord."""

from __future__ import annotations

import pandas as pd
import pytest

from models.network_presence import NO_MEMBER, presence
from operators.confidentiality import INTERNAL, PUBLIC
from operators.schema import FAMILIES
from tests.network_support import demo_with_snapshots  # noqa: F401 (fixture)

COMMUNES = pd.DataFrame({
    "code": ["c1", "c2", "c3", "c4"],
    "name": ["Un", "Deux", "Trois", "Quatre"],
    "epci_code": ["E1", "E1", "E1", "E2"],
    "dep_code": ["D", "D", "D", "D"],
})


def _site(sid, operator, offer_type, family, commune, confidentiality="public", publics=None,
          capacity=10.0, unit="places", status="ouvert", network="FAPIL"):
    return {"site_id": sid, "operator_name": operator, "network": network,
            "offer_type": offer_type, "offer_family": family, "commune_code": commune,
            "confidentiality": confidentiality, "publics": publics, "capacity": capacity,
            "capacity_unit": unit, "status": status, "fictional": False,
            "geocode_method": "fournies"}


SITES = pd.DataFrame([
    _site("s1", "Opérateur A", "pension_de_famille", "pension_de_famille", "c1",
          publics="isoles_exclusion"),
    _site("s2", "Opérateur B", "pension_de_famille", "pension_de_famille", "c1",
          publics="sante_psychique", network="UNAFO"),
    _site("s3", "Opérateur C", "chrs", "hebergement", "c2", confidentiality="confidentiel",
          publics="femmes_violences"),
    _site("s4", "Opérateur A", "avdl", "accompagnement", None, publics="menages_dalo",
          unit="mesures"),
    _site("s5", "Opérateur D", "moi", "diffus", "c2", status="en_projet"),
])
COVERAGE = pd.DataFrame({"site_id": ["s4", "s4"], "commune_code": ["c2", "c3"]})


def test_presence_by_hand_public():
    found = presence(SITES, COVERAGE, COMMUNES, "epci", PUBLIC, {"E1": "Epci Un"},
                     areas=["E1", "E2"])
    areas = found.areas.set_index("EPCI")
    e1 = areas.loc["E1"]
    assert e1["Territoire"] == "Epci Un"
    assert e1["Opérateurs"] == "Opérateur A, Opérateur B"  # C runs a confidential site only
    assert e1["Réseaux"] == "FAPIL, UNAFO"
    # c1 (s1, s2), c2 (s3, s4), c3 (s4); the confidential site's commune is not told
    assert e1["Communes avec un adhérent présent"] == 3
    assert e1["Chevauchements"] == 1
    overlap = found.overlaps.iloc[0]
    assert (overlap["Famille d'offre"], overlap["Opérateurs"], overlap["Communes concernées"]) == (
        FAMILIES["pension_de_famille"], "Opérateur A, Opérateur B", "Un")
    blanks = found.blanks[found.blanks["EPCI"] == "E1"]
    family_blanks = set(blanks.loc[blanks["Type"] == "famille d'offre", "Catégorie"])
    # The confidential CHRS is in no public figure: « hébergement » reads « aucun adhérent
    # déclaré » like any family without a public site; the planned MOI is not a presence yet.
    assert family_blanks == {FAMILIES["hebergement"], FAMILIES["residence_sociale"],
                             FAMILIES["intermediation_locative"], FAMILIES["diffus"]}
    public_blanks = set(blanks.loc[blanks["Type"] == "public", "Catégorie"])
    assert "Femmes victimes de violences" in public_blanks
    assert "Jeunes de moins de 30 ans" in public_blanks
    assert (blanks["Constat"].str.startswith(NO_MEMBER)).all()
    e2 = found.blanks[found.blanks["EPCI"] == "E2"]
    assert len(e2[e2["Type"] == "famille d'offre"]) == len(FAMILIES)
    assert e2.loc[e2["Type"] == "communes", "Catégorie"].iat[0] == (
        "1 commune(s) sur 1 sans adhérent présent")
    assert areas.loc["E2", "Opérateurs"] == ""
    totals = found.totals.set_index(["EPCI", "Famille d'offre"])
    assert ("E1", FAMILIES["hebergement"]) not in totals.index
    assert "Opérateur C" not in " ".join(found.operators["Opérateur"])


def test_presence_internal_names_every_operator():
    found = presence(SITES, COVERAGE, COMMUNES, "epci", INTERNAL, areas=["E1"])
    assert found.areas["Opérateurs"].iat[0] == "Opérateur A, Opérateur B, Opérateur C"
    assert found.totals.set_index("Famille d'offre").loc[FAMILIES["hebergement"], "Places"] == 10


def test_presence_by_departement():
    found = presence(SITES, COVERAGE, COMMUNES, "dep", PUBLIC, areas=["D"])
    assert found.areas["Communes"].iat[0] == 4
    assert found.areas["Communes avec un adhérent présent"].iat[0] == 3
    with pytest.raises(ValueError, match="Échelle"):
        presence(SITES, COVERAGE, COMMUNES, "region")


def test_demo_nord_every_epci_described(demo_with_snapshots, store):  # noqa: F811
    registry, _ = demo_with_snapshots
    communes = store.read("communes", columns=["code", "name", "epci_code", "dep_code"])
    nord_epci = sorted(communes.loc[communes["dep_code"] == "59", "epci_code"].dropna().unique())
    sites = pd.DataFrame(registry.sites())
    found = presence(sites, registry.coverage(), communes, "epci", PUBLIC, areas=nord_epci)
    assert found.areas["EPCI"].tolist() == nord_epci
    assert found.fictional
    confidential = sites[sites["confidentiality"] == "confidentiel"]
    assert len(confidential[confidential["dep_code"] == "59"]) > 0
    listed = " ".join(found.operators["Opérateur"]) + " ".join(found.overlaps["Opérateurs"])
    only_confidential = set(confidential["operator_name"]) - set(
        sites.loc[sites["confidentiality"] != "confidentiel", "operator_name"])
    assert not any(name in listed for name in only_confidential)
    # Every open site of the Nord counts once in the per-family totals of its EPCI (internal).
    internal = presence(sites, registry.coverage(), communes, "epci", INTERNAL, areas=nord_epci)
    assert internal.totals["Sites"].astype(int).sum() >= len(
        sites[(sites["dep_code"] == "59") & (sites["status"] == "ouvert")])
