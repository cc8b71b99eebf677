"""Housing aid of a household from OpenFisca-France's dated parameters (models/household_aid.py).

The expected aids below are worked by hand from the parameter values printed in each comment (as
read in openfisca-france 176.1.8); the ceilings are checked against the published values of the
texts they come from, so that a parameter read at the wrong date fails.
"""

from __future__ import annotations

from datetime import date

import pytest

from models import household_aid as ha

DAY = date(2026, 12, 6)


def test_location_ceilings_change_every_first_of_october():
    # personne seule, zone 2: 290.34 € from 1 Oct 2025, 293.68 € from 1 Oct 2026
    # (arrêté du 27/09/2019 as revised)
    assert ha.location_ceiling(date(2026, 9, 30), 2) == pytest.approx(290.34)
    assert ha.location_ceiling(date(2026, 10, 1), 2) == pytest.approx(293.68)
    # a family's ceiling is not a single person's
    assert (
        ha.location_ceiling(DAY, 2, "parent_isole_1_enfant")
        > ha.location_ceiling(DAY, 2, "couple_sans_enfant")
        > ha.location_ceiling(DAY, 2)
    )


def test_foyer_ceiling_matches_the_arrete_read_on_legifrance():
    # 456.15 € (bénéficiaire isolé, zone II, logement-foyer) is the value the project had read in the
    # arrêté du 27 septembre 2019 (LEGIARTI000052233830), in force from 1 Oct 2025
    assert ha.foyer_ceiling(date(2025, 11, 1), 2) == pytest.approx(456.15)
    assert ha.foyer_ceiling(DAY, 2) == pytest.approx(461.40)


def test_location_aid_by_hand_without_resources():
    aid = ha.location_aid(DAY, 2, "personne_seule", rent=250)
    # L = 250; C = 61.29; P0 = max(0.085 × 311.29, 40.01) = 40.01; aid = 311.29 − 40.01 − 5 (minoration)
    assert aid.aid == pytest.approx(250 + 61.29 - 40.01 - 5)
    assert aid.remaining == 0  # the aid exceeds the rent: nothing left to pay (charges aside)
    assert aid.within_ceiling and aid.tres_social


def test_location_aid_by_hand_with_resources():
    aid = ha.location_aid(DAY, 2, "personne_seule", rent=250, resources=10_000)
    # RL = 250 / 293.68 = 85.13 %; TL = 0.0068 × (0.8513 − 0.75) + 0.0045 × 0.30 = 0.00204 (5 decimals)
    # Pp = 40.01 + (0.0283 + 0.00204) × (10 000 − 5 235)
    pp = 40.01 + (0.0283 + 0.00204) * (10_000 - 5235)
    assert aid.aid == pytest.approx(250 + 61.29 - pp - 5, abs=0.01)
    richer = ha.location_aid(DAY, 2, "personne_seule", rent=250, resources=40_000)
    assert richer.aid == 0


def test_rent_above_the_ceiling_is_not_tres_social():
    aid = ha.location_aid(DAY, 2, "personne_seule", rent=400, charges=40)
    assert not aid.within_ceiling
    # the aid is computed on the ceiling, the household pays the rest
    assert aid.aid == pytest.approx(293.68 + 61.29 - 40.01 - 5)
    assert aid.remaining == pytest.approx(400 + 40 - aid.aid)


def test_foyer_aid_by_hand():
    aid = ha.foyer_aid(DAY, 2, "personne_seule", redevance=400)
    # K = min(0.95, 0.95 + 1217.26 / 13393.4) = 0.95; E0 = 45.57 × 1.4 / 12; aid = K × (400 − E0) − 5
    assert aid.aid == pytest.approx(0.95 * (400 - 45.57 * 1.4 / 12) - 5)
    assert aid.remaining == pytest.approx(400 - aid.aid)


def test_every_value_is_dated_and_referenced():
    aid = ha.foyer_aid(DAY, 3, "couple_sans_enfant", redevance=450)
    assert all(r.since <= DAY for r in aid.rules)
    assert aid.rules[0].since == date(2026, 10, 1) and "rrêté" in aid.rules[0].reference


def test_zone_of_a_commune_from_the_package():
    assert ha.zone_apl_of("23096") == 3  # Guéret
    assert ha.zone_apl_of("75056") == 1  # Paris
    assert ha.zone_apl_of("99999") is None


def test_bad_inputs_in_french():
    with pytest.raises(ValueError, match="Zone APL"):
        ha.location_aid(DAY, 4, "personne_seule", 300)
    with pytest.raises(ValueError, match="Type de ménage"):
        ha.location_aid(DAY, 2, "famille_nombreuse", 300)
    with pytest.raises(ValueError, match="finis"):
        ha.location_aid(DAY, 2, "personne_seule", float("inf"))
    with pytest.raises(ha.HouseholdAidUnavailable, match="aucune valeur en vigueur"):
        ha.location_aid(date(1990, 1, 1), 2, "personne_seule", 300)


def test_missing_package_says_so_in_french(monkeypatch):
    ha.package_root.cache_clear()
    monkeypatch.setattr(ha.importlib.util, "find_spec", lambda name: None)
    try:
        with pytest.raises(ha.HouseholdAidUnavailable, match="Paramètres d'OpenFisca-France absents"):
            ha.package_root()
    finally:
        ha.package_root.cache_clear()


def test_minimum_income_read_from_openfisca_parameters():
    # values of openfisca-france 176.1.8 in force at DAY: RSA base 651.69 € (from 1 Apr 2026),
    # majorations 50 % (2nd person), 30 % (3rd), 40 % (further child); forfait logement 12 %,
    # 16 % (× 1.5), 16.5 % (× 1.8) of the base; AAH 1 041.59 € (from 1 Apr 2026)
    single = ha.minimum_income(DAY, "personne_seule")
    assert single.kind == "aah" and single.gross == pytest.approx(1041.59)
    assert single.forfait_logement == 0  # the AAH has no forfait logement
    couple = ha.minimum_income(DAY, "couple_sans_enfant", housing_aid=300)
    assert couple.gross == pytest.approx(651.69 * 1.5)
    assert couple.forfait_logement == pytest.approx(651.69 * 0.16 * 1.5)
    family = ha.minimum_income(DAY, "couple_2_enfants", housing_aid=300)
    assert family.gross == pytest.approx(651.69 * (1 + 0.5 + 0.3 + 0.4))
    assert family.forfait_logement == pytest.approx(651.69 * 0.165 * 1.8)
    # the forfait logement is at most the aid, and nil without aid
    assert ha.minimum_income(DAY, "couple_sans_enfant", housing_aid=40).forfait_logement == 40
    assert ha.minimum_income(DAY, "couple_sans_enfant").forfait_logement == 0
    single_rsa = ha.minimum_income(DAY, "personne_seule", housing_aid=300, kind="rsa")
    assert single_rsa.net == pytest.approx(651.69 * (1 - 0.12))
    # dated: the RSA base in force before its 1 Apr 2026 revaluation was 646.52 €
    assert ha.minimum_income(date(2026, 3, 1), "couple_sans_enfant").gross == pytest.approx(646.52 * 1.5)


def test_aid_shows_the_income_and_the_effort_rate():
    aid = ha.foyer_aid(DAY, 3, "couple_sans_enfant", redevance=401)
    income = aid.income
    assert income.forfait_logement == pytest.approx(min(aid.aid, 651.69 * 0.16 * 1.5))
    assert aid.effort_rate == pytest.approx(aid.remaining / income.net)
    shown = aid.as_dict()["revenu_mensuel"]
    assert shown["montant_percu"] == pytest.approx(round(income.net, 2))
    assert shown["compte_dans_ressources_apl"] is False
    assert any(p["parametre"].endswith("montant_de_base_du_rsa.yaml") for p in shown["parametres_openfisca"])


def test_income_kind_by_dwelling_and_missing_date():
    # a single tenant of a rented dwelling is shown on the RSA, a single resident of a foyer on the AAH
    assert ha.location_aid(DAY, 2, "personne_seule", rent=250).income.kind == "rsa"
    assert ha.foyer_aid(DAY, 2, "personne_seule", redevance=401).income.kind == "aah"
    # before the RSA existed (1 June 2009) the income is not shown, and nothing raises
    old = ha.Aid(ha.HOUSEHOLDS["couple_sans_enfant"], "location", date(2005, 1, 1), 2, 300.0, 0.0, 0.0,
                 300.0, 100.0)
    assert old.income is None and old.effort_rate is None
    assert old.as_dict()["revenu_mensuel"] is None
