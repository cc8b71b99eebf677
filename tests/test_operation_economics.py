"""Economic model of an operation: hand-computed cases per kind (balanced, unbalanced,
break-even), parameters file, legal checks, sensitivity.

Every input of a case is set explicitly (overrides), so the expected figures below are worked
by hand and do not move when the YAML's values are revised.
"""

from __future__ import annotations

import pytest

from models import operation_economics as oe
from models import operation_formulas as fx


@pytest.fixture(scope="module")
def params() -> oe.Parameters:
    return oe.load_parameters()


COMMON = {"taux_fonds_propres": 0.1, "quotite_pret_max": 0.6, "taux_pret": 0.0, "duree_pret": 40,
          "taux_vacance": 0.05, "taux_impayes": 0.05, "autres_produits_an": 0, "action_logement_logement": 0,
          "bonus_programme_acv_pvd_logement": 2000, "taux_couverture_apl": 0.8}
PENSION = {**COMMON, "logements": 20, "surface_logement": 25, "foncier_logement": 10_000,
           "cout_travaux_m2": 2000, "taux_honoraires": 0.1, "subvention_plai_logement": 10_000,
           "subvention_plai_adapte_logement": 15_000, "subvention_collectivites_logement": 5000,
           "loyer_mensuel": 400, "forfait_pension_famille_jour": 20, "entretien_logement_an": 500,
           "gestion_logement_an": 2000, "etp_par_logement": 0.1, "cout_etp_accompagnement": 40_000}


def run(params, kind, overrides, zone_apl=2, acv_pvd=False):
    values = oe.inputs_for(kind, params, zone_apl=zone_apl, acv_pvd=acv_pvd, overrides=overrides)
    return oe.evaluate(kind, values, params)


# -- pension de famille --------------------------------------------------------------------------
def test_pension_de_famille_balanced_by_hand(params):
    e = run(params, "pension_famille_neuf", PENSION)
    v = e.values
    # cost: land 20×10 000; works 20×25×2 000; fees 10 % of works
    assert v["foncier"] == 200_000 and v["travaux"] == 1_000_000 and v["honoraires"] == 100_000
    assert v["cout_total"] == 1_300_000
    # subsidies 20×(10 000 + 15 000 + 5 000); equity 10 %; loan = the rest (570 000 < 60 % cap)
    assert v["aides_total"] == 600_000 and v["fonds_propres"] == 130_000 and v["pret"] == 570_000
    assert v["ecart_financement"] == 0 and e.funded
    # income: 20×400×12 rents + 20×20 €×365 days
    assert v["loyers"] == 96_000 and v["forfait_pf"] == 146_000 and v["produits_total"] == 242_000
    # costs: 10 000 + 40 000 + 20×0.1×40 000 + 2×5 % of rents + 570 000/40 (rate 0)
    assert v["accompagnement"] == 80_000 and v["provision_vacance"] == 4800 and v["annuite"] == 14_250
    assert v["charges_total"] == 153_850
    assert v["resultat"] == 88_150 and v["resultat_par_logement"] == pytest.approx(4407.5)
    assert e.balanced


def test_pension_de_famille_unbalanced_and_break_even(params):
    e = run(params, "pension_famille_neuf", {**PENSION, "forfait_pension_famille_jour": 5})
    assert e.values["forfait_pf"] == 36_500
    assert e.values["resultat"] == pytest.approx(132_500 - 153_850)  # −21 350
    assert not e.balanced_year and not e.balanced
    # result is linear in the daily allowance: 7 300 € per € a day → 5 + 21 350 / 7 300
    forfait = oe.break_even("pension_famille_neuf", e.inputs, "forfait_pension_famille_jour")
    assert forfait == pytest.approx(5 + 21_350 / 7300, abs=1e-6)
    text = oe.verdict(e).text
    assert text.startswith("Opération non équilibrée") and "21\u202f350\u00a0€" in text


def test_investment_gap_when_the_loan_is_capped(params):
    e = run(params, "pension_famille_neuf", {**PENSION, "quotite_pret_max": 0.3})
    assert e.values["pret"] == 390_000  # 30 % of 1 300 000
    assert e.values["ecart_financement"] == 180_000 and not e.funded
    assert "il manque 180\u202f000\u00a0€" in oe.verdict(e).text


def test_acv_pvd_commune_gets_the_programme_line(params):
    plain = run(params, "pension_famille_neuf", PENSION)
    acv = run(params, "pension_famille_neuf", PENSION, acv_pvd=True)
    assert acv.values["bonus_programme"] == 40_000 and plain.values["bonus_programme"] == 0
    # 40 000 less to borrow, over 40 years at 0 %: 1 000 € a year better
    assert acv.values["resultat"] - plain.values["resultat"] == pytest.approx(1000)


def test_annuity_with_interest(params):
    e = run(params, "pension_famille_neuf", {**PENSION, "taux_pret": 0.05, "duree_pret": 10})
    expected = 570_000 * 0.05 / (1 - 1.05 ** -10)
    assert e.values["annuite"] == pytest.approx(expected)


def test_tornado_orders_by_width(params):
    values = oe.inputs_for("pension_famille_neuf", params, overrides=PENSION)
    swings = oe.tornado("pension_famille_neuf", values)
    assert swings[0].key == "forfait_pension_famille_jour"
    assert swings[0].width == pytest.approx(2 * 0.2 * 146_000)
    assert [s.width for s in swings] == sorted((s.width for s in swings), reverse=True)
    assert "agls_moins_50_logements" not in {s.key for s in swings}  # not read by this kind


# -- résidence sociale ------------------------------------------------------------------------------
@pytest.mark.parametrize(("homes", "expected"), [(40, 12_200), (50, 18_000), (100, 18_000), (101, 25_000)])
def test_residence_sociale_agls_by_size(params, homes, expected):
    overrides = {"logements": homes, "agls_moins_50_logements": 12_200, "agls_50_100_logements": 18_000,
                 "agls_plus_100_logements": 25_000}
    assert run(params, "residence_sociale", overrides).values["agls"] == expected


def test_residence_sociale_break_even_rent(params):
    overrides = {**COMMON, "logements": 40, "surface_logement": 20, "foncier_logement": 0,
                 "cout_travaux_m2": 1000, "taux_honoraires": 0, "subvention_plai_logement": 10_000,
                 "subvention_collectivites_logement": 2000, "loyer_mensuel": 300,
                 "agls_moins_50_logements": 12_000, "entretien_logement_an": 500,
                 "gestion_logement_an": 2000, "etp_par_logement": 0.025, "cout_etp_accompagnement": 40_000}
    e = run(params, "residence_sociale", overrides)
    v = e.values
    # cost 800 000; aids 480 000; equity 80 000; loan 240 000 (cap 480 000) → annuity 6 000
    assert (v["cout_total"], v["aides_total"], v["pret"], v["annuite"]) == (800_000, 480_000, 240_000, 6000)
    # income 144 000 + 12 000; costs 20 000 + 80 000 + 40 000 + 14 400 + 6 000
    assert v["produits_total"] == 156_000 and v["charges_total"] == 160_400
    assert v["resultat"] == pytest.approx(-4400)
    # each € of monthly rent brings 40×12×0.9 = 432 € a year → 300 + 4 400 / 432
    rent = oe.break_even("residence_sociale", e.inputs, "loyer_mensuel")
    assert rent == pytest.approx(300 + 4400 / 432, abs=1e-6)


# -- intermédiation locative -------------------------------------------------------------------------
IML_SUB = {**COMMON, "taux_vacance": 0.03, "taux_impayes": 0.03, "logements": 10, "equipement_logement": 1000,
           "subvention_collectivites_logement": 500, "taux_fonds_propres": 0.5, "quotite_pret_max": 0,
           "loyer_mensuel": 350, "loyer_proprietaire_mensuel": 450, "iml_sous_location_par_logement_an": 2500,
           "entretien_logement_an": 300, "gestion_logement_an": 400, "etp_par_logement": 0.04,
           "cout_etp_accompagnement": 45_000}


def test_iml_sous_location_unbalanced_by_hand(params):
    e = run(params, "iml_sous_location", IML_SUB)
    v = e.values
    assert v["cout_total"] == 10_000 and v["aides_total"] == 5000 and v["fonds_propres"] == 5000
    assert v["pret"] == 0 and v["ecart_financement"] == 0 and v["annuite"] == 0
    assert v["produits_total"] == 42_000 + 25_000
    # owner 54 000; upkeep 3 000; management 4 000; staff 18 000; provisions 2×1 260
    assert v["charges_total"] == pytest.approx(81_520)
    assert v["resultat"] == pytest.approx(-14_520) and not e.balanced


def test_iml_sous_location_break_even(params):
    values = oe.inputs_for("iml_sous_location", params, overrides=IML_SUB)
    measure = oe.break_even("iml_sous_location", values, "iml_sous_location_par_logement_an")
    assert measure == pytest.approx(2500 + 14_520 / 10)
    owner_rent = oe.break_even("iml_sous_location", values, "loyer_proprietaire_mensuel")
    assert owner_rent == pytest.approx(450 - 14_520 / 120)
    balanced = oe.evaluate("iml_sous_location", {**values, "loyer_proprietaire_mensuel": owner_rent})
    assert balanced.balanced


def test_iml_mandat_balanced_by_hand(params):
    overrides = {"logements": 30, "loyer_mensuel": 450, "taux_honoraires_gestion": 0.08,
                 "iml_mandat_par_logement_an": 1200, "gestion_logement_an": 350, "etp_par_logement": 0.02,
                 "cout_etp_accompagnement": 45_000, "autres_produits_an": 0}
    e = run(params, "iml_mandat", overrides)
    v = e.values
    assert v["cout_total"] == 0 and v["ecart_financement"] == 0  # no investment
    assert v["honoraires_gestion"] == pytest.approx(12_960) and v["iml_mandat"] == 36_000
    assert v["charges_total"] == 10_500 + 27_000
    assert v["resultat"] == pytest.approx(11_460) and e.balanced
    assert "annuite" not in v  # nothing to repay


def test_households_side_uses_the_apl_ceiling(params):
    e = run(params, "iml_mandat", {"loyer_mensuel": 300, "apl_plafond": 250, "taux_couverture_apl": 0.8})
    assert e.values["reste_a_charge_mensuel"] == pytest.approx(300 - 0.8 * 250)
    assert e.values["depassement_plafond_apl"] == 50


# -- MOI: diffus, bail à réhabilitation, bail à construction -------------------------------------------
BAIL_REHAB = {**COMMON, "taux_vacance": 0.03, "taux_impayes": 0.03, "logements": 2, "surface_logement": 50,
              "cout_travaux_m2": 1000, "taux_honoraires": 0.1, "taux_anah_travaux": 0.35,
              "plafond_anah_logement": 30_000, "subvention_collectivites_logement": 5000,
              "duree_pret": 15, "duree_bail": 15, "redevance_bail_an": 0, "loyer_mensuel": 350,
              "gla_par_logement_an": 600, "entretien_logement_an": 700, "gestion_logement_an": 900,
              "etp_par_logement": 0}


def test_bail_rehabilitation_by_hand(params):
    e = run(params, "moi_bail_rehabilitation", BAIL_REHAB)
    v = e.values
    assert v["cout_total"] == 110_000 and v["subv_anah"] == 35_000 and v["aides_total"] == 45_000
    assert v["fonds_propres"] == 11_000 and v["pret"] == 54_000 and v["annuite"] == 3600
    assert v["produits_total"] == 8400 + 1200
    assert v["charges_total"] == pytest.approx(1400 + 1800 + 252 + 252 + 3600)
    assert v["resultat"] == pytest.approx(2296) and e.balanced and e.checks == []


def test_anah_subsidy_is_capped_per_dwelling(params):
    e = run(params, "moi_bail_rehabilitation", {**BAIL_REHAB, "taux_anah_travaux": 0.5,
                                                "plafond_anah_logement": 20_000})
    assert e.values["subv_anah"] == 40_000  # min(50 000, 2×20 000)


def test_bail_rehabilitation_legal_checks(params):
    short = run(params, "moi_bail_rehabilitation", {**BAIL_REHAB, "duree_bail": 10, "duree_pret": 10})
    assert any("minimum légal" in n and "12 ans" in n for n in short.checks)
    long_loan = run(params, "moi_bail_rehabilitation", {**BAIL_REHAB, "duree_pret": 20})
    assert any("plus longtemps que le bail" in n for n in long_loan.checks)


def test_bail_construction_break_even_works_cost(params):
    overrides = {**COMMON, "taux_vacance": 0.0, "taux_impayes": 0.0, "logements": 4, "surface_logement": 50,
                 "cout_travaux_m2": 2000, "taux_honoraires": 0.0, "subvention_plai_logement": 20_000,
                 "subvention_plai_adapte_logement": 10_000, "subvention_collectivites_logement": 0,
                 "quotite_pret_max": 1.0, "duree_pret": 40, "duree_bail": 40, "redevance_bail_an": 1000,
                 "loyer_mensuel": 350, "gla_par_logement_an": 500, "entretien_logement_an": 500,
                 "gestion_logement_an": 1000, "etp_par_logement": 0}
    e = run(params, "moi_bail_construction", overrides)
    v = e.values
    # works 400 000; aids 120 000; equity 40 000; loan 240 000 → 6 000 a year
    assert (v["cout_total"], v["aides_total"], v["pret"], v["annuite"]) == (400_000, 120_000, 240_000, 6000)
    assert v["resultat"] == pytest.approx(16_800 + 2000 - 1000 - 2000 - 4000 - 6000)  # 5 800
    # each €/m² of works adds 200 m² × 0.9 / 40 = 4.5 € a year → 2 000 + 5 800 / 4.5
    cost = oe.break_even("moi_bail_construction", e.inputs, "cout_travaux_m2")
    assert cost == pytest.approx(2000 + 5800 / 4.5, rel=1e-9)


def test_break_even_when_the_loan_cap_binds(params):
    values = oe.inputs_for("moi_diffus", params, zone_apl=3)
    rent = oe.break_even("moi_diffus", values, "loyer_mensuel")
    assert rent is not None
    assert abs(oe.compute("moi_diffus", {**values, "loyer_mensuel": rent})["resultat"]) <= oe.TOLERANCE_EUR


def test_break_even_none_when_no_positive_value(params):
    # a pension de famille with a large surplus: no positive rent makes it exactly zero
    rich = {**PENSION, "forfait_pension_famille_jour": 60}
    values = oe.inputs_for("pension_famille_neuf", params, overrides=rich)
    assert oe.break_even("pension_famille_neuf", values, "loyer_mensuel") is None


# -- parameters ------------------------------------------------------------------------------------
def test_every_parameter_has_a_source_or_says_it_is_an_assumption(params):
    assert params.general
    for p in params.general.values():
        assert p.source and p.unit and p.label
        if not p.assumption:
            assert p.url.startswith("http") and p.valid, p.key
    verified = {k for k, p in params.general.items() if not p.assumption}
    assert {"duree_min_bail_rehabilitation", "apl_plafond_foyer_isole_zone_2"} <= verified
    assert params.general["duree_min_bail_rehabilitation"].value == 12
    assert params.describe("logements", "pension_famille_neuf").status == oe.ASSUMPTION_LABEL


def test_every_kind_computes_with_the_file_values(params):
    assert set(params.kinds) == set(oe.KIND_LINES)
    for kind in params.kinds:
        for zone in oe.ZONES_APL:
            e = oe.evaluate(kind, oe.inputs_for(kind, params, zone_apl=zone), params)
            assert all(value == value for value in e.values.values()), kind  # no NaN


def test_bad_parameters_file_names_the_entry_and_field(tmp_path):
    path = tmp_path / "parametres_fait_main.yaml"
    path.write_text("parametres:\n  taux_pret:\n    libelle: Taux\n    valeur: douze\n    unite: taux\n"
                    "    source: hypothèse\n", encoding="utf-8")
    with pytest.raises(oe.OperationError, match=r"taux_pret.*valeur.*douze"):
        oe.load_parameters(path)
    path.write_text("parametres:\n  taux_pret:\n    libelle: Taux\n    valeur: 0.01\n    unite: taux\n",
                    encoding="utf-8")
    with pytest.raises(oe.OperationError, match=r"« source » absent"):
        oe.load_parameters(path)


def test_bad_inputs_are_refused_in_french(params):
    with pytest.raises(oe.OperationError, match="Nombre de logements"):
        oe.inputs_for("pension_famille_neuf", params, overrides={"logements": 0})
    with pytest.raises(oe.OperationError, match=r"Coût des travaux.*positif"):
        oe.inputs_for("pension_famille_neuf", params, overrides={"cout_travaux_m2": -5})
    with pytest.raises(oe.OperationError, match="n'est pas un nombre"):
        oe.inputs_for("pension_famille_neuf", params, overrides={"loyer_mensuel": "beaucoup"})
    with pytest.raises(oe.OperationError, match="Zone APL"):
        oe.inputs_for("pension_famille_neuf", params, zone_apl=4)


def test_saved_operation_round_trip(params):
    ctx = {"code": "23096", "name": "Guéret", "zone_apl": 3, "acv": True, "pvd": False}
    saved = oe.saved_operation("pension_famille_neuf", ctx, PENSION)
    evaluation, verdict = oe.evaluate_saved(saved, params)
    assert evaluation.inputs["zone_apl"] == 3 and evaluation.values["bonus_programme"] == 40_000
    assert verdict.result == pytest.approx(88_150 + 1000)
    rows = oe.used_parameters("pension_famille_neuf", evaluation.inputs, params, PENSION)
    keys = {p.key: changed for p, changed in rows}
    assert keys["loyer_mensuel"] is True and keys["apl_plafond_foyer_isole_zone_3"] is False


# -- formulas ----------------------------------------------------------------------------------------
def test_formulas_translate_to_spreadsheet():
    refs = {"a": "C1", "b": "C2", "c": "C3"}
    assert fx.to_excel("a * b + 12", refs) == "=((C1*C2)+12)"
    assert fx.to_excel("max(0, min(a, b - c))", refs) == "=MAX(0,MIN(C1,(C2-C3)))"
    assert fx.to_excel("a if b < 50 else c ** 2", refs) == "=IF(C2<50,C1,(C3^2))"
    with pytest.raises(fx.FormulaError):
        fx.parse("__import__('os')")


def test_bail_construction_minimum_is_eighteen_years(params):
    short = run(params, "moi_bail_construction", {"duree_bail": 15, "duree_pret": 15})
    assert any("18 ans" in n and "L.251-1" in n for n in short.checks)
    assert run(params, "moi_bail_construction", {"duree_bail": 40, "duree_pret": 40}).checks == []


def test_verdict_says_when_financing_exceeds_the_cost(params):
    e = run(params, "iml_sous_location", {**IML_SUB, "subvention_collectivites_logement": 2000})
    assert e.values["ecart_financement"] == pytest.approx(10_000 - 20_000 - 5000)  # aids above cost
    assert "financements supérieurs au coût de 15\u202f000\u00a0€" in oe.verdict(e).text


def test_moi_diffus_investment_gap_by_hand(params):
    overrides = {**COMMON, "logements": 2, "foncier_logement": 50_000, "surface_logement": 50,
                 "cout_travaux_m2": 1000, "taux_honoraires": 0.1, "subvention_plai_logement": 10_000,
                 "subvention_plai_adapte_logement": 15_000, "subvention_collectivites_logement": 5000,
                 "loyer_mensuel": 350, "gla_par_logement_an": 600, "entretien_logement_an": 700,
                 "gestion_logement_an": 900, "etp_par_logement": 0}
    e = run(params, "moi_diffus", overrides)
    v = e.values
    # cost 100 000 + 100 000 + 10 000; aids 60 000; equity 21 000; loan capped at 60 % = 126 000
    totals = (v["cout_total"], v["aides_total"], v["fonds_propres"], v["pret"])
    assert totals == (210_000, 60_000, 21_000, 126_000)
    assert v["ecart_financement"] == pytest.approx(3000) and not e.funded
    # income 8 400 + 1 200; costs 1 400 + 1 800 + 2×420 + 126 000/40
    assert v["resultat"] == pytest.approx(9600 - (1400 + 1800 + 840 + 3150))
    assert e.balanced_year and not e.balanced


def test_pension_de_famille_acquisition_reads_the_same_lines(params):
    neuf = run(params, "pension_famille_neuf", PENSION)
    acquisition = run(params, "pension_famille_acquisition", PENSION)
    assert acquisition.values == neuf.values  # same structure; only the file's defaults differ
    defaults = params.kinds
    assert defaults["pension_famille_acquisition"].values["foncier_logement"] != \
        defaults["pension_famille_neuf"].values["foncier_logement"]
