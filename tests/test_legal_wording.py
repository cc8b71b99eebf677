"""Words and legal bases a préfecture checks: the wrong wording cannot come back.

Each test guards one text fix of the "offre publique et leviers" issue: the asylum system
(CPH 442, CADA 443) kept apart from the insertion offer, the density levels as INSEE publishes
them, Loc'Avantages / Solibail / Visale / contingents, FSL and AVDL, vacancy and the SRU deficit
outside the need index, no « 360° » claim, FINESS published by the ANS, Loc1 outside the
insertion offer, and levers citing only the articles that were read.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from catalogues.indicators import indicator, load_indicators
from connectors.sources import finess
from diagnostics import levers
from models import supply
from models import weights as wts
from operators import schema

ROOT = Path(__file__).resolve().parents[1]
# Everything a user, an elected official or a préfecture may read: code (texts live in it),
# catalogues, README, the operators' schema, report templates.
TEXT_FILES = [
    *sorted(p for folder in ("catalogues", "connectors", "models", "diagnostics", "operators", "ui")
            for p in (ROOT / folder).rglob("*")
            if p.suffix in {".py", ".yaml", ".md", ".html", ".j2"}),
    ROOT / "README.md", ROOT / "streamlit_app.py",
]


def _occurrences(pattern: str, flags: int = re.IGNORECASE) -> list[str]:
    regex = re.compile(pattern, flags)
    found = []
    for path in TEXT_FILES:
        text = path.read_text(encoding="utf-8")
        for match in regex.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)!r}")
    return found


# -- CADA and CPH are the asylum system, not hébergement ---------------------------------------
def test_cada_and_cph_form_the_asylum_family_apart():
    assert supply.FINESS_CATEGORIES["443"] == supply.ASYLUM_TYPE == "asile"
    assert supply.FINESS_CATEGORIES["442"] == supply.ASYLUM_TYPE
    assert supply.ASYLUM_TYPE not in supply.HOUSING_TYPES and supply.ASYLUM_TYPE not in supply.TYPES
    assert "CADA" in finess.CATEGORIES["443"] and "demandeurs d'asile" in finess.CATEGORIES["443"]
    assert "CPH" in finess.CATEGORIES["442"]
    assert finess.FAMILIES["442"] == finess.FAMILIES["443"] == "asile"
    # The connector and the supply model agree on the categories and their families.
    assert set(finess.CATEGORIES) == set(supply.FINESS_CATEGORIES)
    assert all(supply.FINESS_CATEGORIES[c] == f for c, f in finess.FAMILIES.items())
    table = supply.finess_supply(pd.DataFrame({"code": ["59350", "59350"],
                                               "category": ["443", "214"]}))
    assert set(table["offer_type"]) == {"asile", "hebergement"}
    assert table.set_index("offer_type").at["hebergement", "n_sites"] == 1


def test_no_text_calls_category_443_a_chu():
    assert not _occurrences(r"443[^\n]{0,40}\bCHU\b|\bCHU\b[^\n]{0,40}443")
    assert not _occurrences(r"Centre d'hébergement \(catégorie 443\)")


# -- density levels as INSEE publishes them -----------------------------------------------------
def test_density_levels_follow_the_insee_file(store):
    grid = store.read("grille_densite_2025", columns=["density_7", "density_7_label"])
    labels = grid.dropna().groupby("density_7")["density_7_label"].first()
    labels.index = labels.index.astype(int)
    assert labels[3] == "Petites villes" and labels[4] == "Ceintures urbaines"
    # The catalogue lists the levels in the file's order…
    definition = indicator("density_7").definition.lower()
    positions = [definition.index(f"{level} {labels[level].lower()}") for level in range(1, 8)]
    assert positions == sorted(positions)
    # … the levers group them by their label, and the Méthode page shows the same labels.
    assert levers.COMMUNE_TYPES[3] == "Petites villes et bourgs"
    assert levers.COMMUNE_TYPES[5] == "Petites villes et bourgs"
    assert levers.COMMUNE_TYPES[4] == "Ceintures urbaines"
    # The Méthode page and the report read the labels from one table (catalogues/density.py).
    from catalogues.density import DENSITY7_LABELS

    assert {level: labels[level] for level in range(1, 8)} == DENSITY7_LABELS


# -- programmes and words -------------------------------------------------------------------------
def test_louer_abordable_only_as_the_former_name_of_locavantages():
    for hit in _occurrences(r"[^\n]*louer abordable[^\n]*"):
        assert re.search(r"remplac|loc'avantages", hit, re.IGNORECASE), hit


def test_solibail_is_never_called_a_guarantee():
    assert not _occurrences(r"garanties?\s*\(\s*Solibail|Solibail[^.\n]{0,60}garantie(?! de loyer est)")


def test_there_is_no_contingent_plai():
    assert not _occurrences(r"contingents?\s+(?:du\s+|de\s+)?PLAI")


def test_loc1_is_not_an_insertion_offer():
    assert schema.parse_offer_type("Loc'Avantages Loc1") is None
    assert schema.parse_offer_type("Loc'Avantages") is None  # level required
    assert "intermédiaire" in schema.not_insertion_reason("Loc'Avantages Loc1")
    assert schema.parse_offer_type("Loc'Avantages Loc3") == "anah"
    assert schema.parse_offer_type("Solibail") == "iml"  # an IML programme
    text = (ROOT / "operators" / "SCHEMA.md").read_text(encoding="utf-8")
    assert re.search(r"Loc1[^.]*n'est pas une offre d'insertion", text)
    row = next(line for line in text.splitlines() if line.startswith("| `anah`"))
    assert not re.search(r"Loc'Avantages(?! Loc[23])", row)


# -- the registry cannot say a service is absent --------------------------------------------------
def _lever_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "code": ["00001", "00002", "00003"],
        "name": ["Bourg", "Ville", "Carencée"],
        "population": [3000, 90000, 20000],
        "density_7": [5, 1, 4],
        "vacancy_rate": [16.0, 6.0, 5.0],
        "vacant_dwellings": [250, 3000, 300],
        "dwellings": [1560, 50000, 9000],
        "zone_abc": ["C", "A", "B1"],
        "sru_carence": [False, False, True],
        "sru_rate": [np.nan, 30.0, 9.5],
        "need_households": [120.0, 4000.0, 15.0],
        "providers_in_reach_pension_de_famille": [0, 3, 1],
        "providers_in_reach_accompagnement": [0, 2, 1],
    })


def test_accompaniment_lever_says_no_member_declared_never_no_service():
    found = {lv.id: lv for lv in levers.derive_levers(_lever_frame(), {"vacancy_rate": 8.0})}
    text = found["accompagnement"].figures
    assert "aucun adhérent déclaré" in text
    assert "existe dans chaque département" in text
    assert "loi n° 90-449 du 31 mai 1990, art. 6" in found["accompagnement"].legal_basis
    assert not _occurrences(r"aucun service d'accompagnement(?! d'un adhérent)|"
                            r"sans service d'accompagnement|pas de FSL|aucun FSL")


def test_tense_market_lever_uses_the_right_programmes():
    found = {lv.id: lv for lv in levers.derive_levers(_lever_frame(), {"vacancy_rate": 8.0})}
    text = found["marche_tendu"].figures
    assert "Loc'Avantages" in text and "Visale" in text
    assert "contingent préfectoral" in text and "PLAI" in text
    assert "contingent PLAI" not in text and "Solibail" not in text


def test_carence_lever_uses_sru_carence_and_cites_its_basis():
    found = {lv.id: lv for lv in levers.derive_levers(_lever_frame(), {"vacancy_rate": 8.0})}
    carence = found["carence"]
    assert carence.communes["code"].tolist() == ["00003"]
    assert "L. 302-9-1" in carence.legal_basis and "L. 210-1" in carence.legal_basis
    assert "pas comptée comme un besoin" in carence.figures


def test_every_lever_says_its_legal_basis_and_local_needs():
    for rule in levers.RULES:
        assert rule.legal_basis and rule.local_needs, rule.id


# Articles whose text was read while writing the levers (search corpora: Légifrance and
# public pages): CCH L.252-1, L.365-2 to L.365-4, L.302-9-1; Code de l'urbanisme L.210-1;
# loi n° 90-449 art. 6. A new citation must be read first, then added here.
VERIFIED_ARTICLES = {"L. 252-1", "L. 365-2", "L. 365-3", "L. 365-4", "L. 302-9-1", "L. 210-1"}


def test_levers_cite_only_articles_that_were_read():
    text = (ROOT / "diagnostics" / "levers.py").read_text(encoding="utf-8")
    cited = set(re.findall(r"L\. ?\d{3}-\d+(?:-\d+)?", text))
    assert cited <= VERIFIED_ARTICLES, cited - VERIFIED_ARTICLES
    laws = set(re.findall(r"loi n° [\d-]+", text))
    assert laws <= {"loi n° 90-449"}, laws


# -- vacancy and the SRU deficit are not need ---------------------------------------------------
LEVER_INPUTS = ("vacancy_rate", "vacant_dwellings", "private_vacancy_rate",
                "private_vacancy_long_rate", "private_vacant", "private_vacant_long",
                "sru_gap_points", "sru_deficit", "sru_carence")


@pytest.mark.parametrize("preset", list(wts.load_presets()))
def test_no_preset_weighs_vacancy_or_the_sru_obligation(preset):
    weights = wts.load_presets()[preset].weights
    assert not set(weights) & set(LEVER_INPUTS), preset


def test_vacancy_and_sru_are_context_in_the_catalogue():
    catalogue = load_indicators()
    for name in LEVER_INPUTS:
        assert catalogue[name].direction == 0, name
    assert "compte donc comme besoin" not in catalogue["vacancy_rate"].definition


# -- what the report is -----------------------------------------------------------------------------
def test_no_claim_to_follow_the_360_diagnostic():
    assert not _occurrences(r"suit la logique du diagnostic|reading grid of the State|"
                            r"grille de lecture du diagnostic")
    for hit in _occurrences(r"[^\n]*360\s*°[^\n]*"):
        assert re.search(r"ne remplace pas|repose sur|qui repose", hit), hit


def test_finess_is_published_by_the_ans():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if line.startswith("| FINESS"))
    assert "ANS" in row
    assert not _occurrences(r"DREES \(FINESS\)|FINESS[^\n]{0,80}\| DREES")


def test_levers_use_rents_and_the_hlm_partnership_when_known():
    frame = _lever_frame().assign(rent_m2_app=[9.5, 21.0, 14.0],
                                  social_dwellings_associations=[5.0, 320.0, 10.0])
    found = {lv.id: lv for lv in levers.derive_levers(frame, {"vacancy_rate": 8.0})}
    assert "Carte des loyers" in found["vacance"].figures
    assert "330 logements loués à des associations" in found["marche_tendu"].figures.replace(
        "\u202f", " ")
