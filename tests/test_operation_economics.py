"""Economic model of an operation: the owner's and the manager's accounts worked by hand, their
link, dated parameters, legal rules, break-even values, the public entry point and the CLI.

Every input of a case is set explicitly (overrides), so the expected figures below are worked
by hand and do not move when the YAML's values are revised. The APL ceiling, the only figure read
from OpenFisca-France, is compared with :mod:`models.household_aid`.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from models import household_aid as ha
from models import operation_economics as oe
from models import operation_formulas as fx

DAY = "2026-12-06"


@pytest.fixture(scope="module")
def params() -> oe.Parameters:
    return oe.load_parameters()


RISKS = {
    "taux_vacance": 0.05,
    "taux_impayes": 0.05,
    "autres_produits_an": 0,
    "action_logement_logement": 0,
    "bonus_programme_acv_pvd_logement": 2000,
    "taux_fonds_propres": 0.1,
    "quotite_pret_max": 0.8,
    "taux_pret": 0.0,
    "duree_pret": 40,
    "taux_frais_siege": 0.1,
}
PENSION = {
    **RISKS,
    "logements": 20,
    "personnes_par_logement": 1,
    "surface_logement": 20,
    "surface_collective_m2": 100,
    "foncier_logement": 10_000,
    "cout_travaux_m2": 2000,
    "taux_honoraires": 0.1,
    "equipement_logement": 0,
    "subvention_plai_logement": 10_000,
    "subvention_plai_adapte_logement": 5000,
    "subvention_collectivites_logement": 5000,
    "loyer_mensuel": 400,
    "loyer_proprietaire_mensuel": 250,
    "provision_gros_entretien_logement_an": 400,
    "taxe_fonciere_logement_an": 0,
    "frais_proprietaire_logement_an": 300,
    "forfait_pension_famille_jour": 20,
    "charges_locatives_logement_an": 1000,
    "cout_espaces_collectifs_m2_an": 40,
    "etp_par_logement": 0.1,
    "cout_etp_accompagnement": 40_000,
    "budget_activites_place_an": 300,
    "renouvellement_mobilier_logement_an": 250,
    "gestion_logement_an": 600,
}


def run(params, kind, overrides, zone_apl=2, acv_pvd=False, day=DAY):
    values = oe.inputs_for(kind, params, zone_apl=zone_apl, acv_pvd=acv_pvd, overrides=overrides, day=day)
    return oe.evaluate(kind, values, params)


# -- pension de famille: two accounts ------------------------------------------------------------
def test_pension_de_famille_two_accounts_by_hand(params):
    e = run(params, "pension_famille_neuf", PENSION)
    v = e.values
    # plan: land 20×10 000; works (20×20 + 100 m² collective)×2 000; fees 10 %
    assert (v["foncier"], v["travaux"], v["honoraires"], v["cout_total"]) == (
        200_000,
        1_000_000,
        100_000,
        1_300_000,
    )
    # redevance 400 € ≤ the foyer ceiling (zone 2) → PLAI adapté granted
    assert v["subv_plai_adapte"] == 100_000 and v["aides_total"] == 400_000
    assert (v["fonds_propres"], v["pret"], v["ecart_financement"]) == (130_000, 770_000, 0)
    # owner: 20×250×12 received; annuity 770 000/40 (rate 0); PGE 8 000; insurance 6 000
    assert v["p_loyer_gestionnaire"] == 60_000 and v["p_annuite"] == 19_250
    assert v["resultat_proprietaire"] == pytest.approx(60_000 - 19_250 - 8000 - 6000)  # 26 750
    # manager: redevances 96 000 + allowance 20 places × 20 € × 365
    assert v["g_redevances"] == 96_000 and v["g_forfait_pf"] == 146_000
    # costs: owner's rent 60 000; fluids 20 000; collective rooms 100 m² × 40; staff 2 ETP × 40 000;
    # activities 6 000; furniture 5 000; running 12 000; vacancy+unpaid 10 % of 96 000;
    # head office 10 % of everything but the owner's rent
    structure = 20_000 + 4000 + 80_000 + 6000 + 5000 + 12_000 + 9600
    assert v["g_siege"] == pytest.approx(0.1 * structure)
    assert v["charges_gestionnaire"] == pytest.approx(60_000 + structure * 1.1)
    assert v["resultat_gestionnaire"] == pytest.approx(242_000 - 60_000 - structure * 1.1)  # 31 740
    assert v["resultat"] == pytest.approx(v["resultat_proprietaire"] + v["resultat_gestionnaire"])
    assert e.balanced


def test_the_redevance_links_the_accounts(params):
    e = run(params, "pension_famille_neuf", PENSION)
    assert e.values["g_loyer_proprietaire"] == e.values["p_loyer_gestionnaire"]
    more = run(params, "pension_famille_neuf", {**PENSION, "loyer_proprietaire_mensuel": 300})
    moved = 20 * 50 * 12
    assert more.values["resultat_proprietaire"] - e.values["resultat_proprietaire"] == pytest.approx(moved)
    assert more.values["resultat_gestionnaire"] - e.values["resultat_gestionnaire"] == pytest.approx(-moved)
    assert more.values["resultat"] == pytest.approx(e.values["resultat"])  # a transfer, not a gain


def test_owner_surplus_does_not_hide_the_manager_deficit(params):
    e = run(params, "pension_famille_neuf", {**PENSION, "forfait_pension_famille_jour": 15})
    v = e.values
    assert v["resultat_gestionnaire"] == pytest.approx(31_740 - 5 * 7300)  # −4 760
    assert v["resultat"] > 0 and e.owner_balanced and not e.manager_balanced
    assert not e.balanced_year and not e.balanced
    verdict = oe.verdict(e)
    assert verdict.text.startswith("Opération non équilibrée")
    assert "le gestionnaire perd 4\u202f760\u00a0€ par an (238\u00a0€ par place et par an)" in verdict.text
    assert "le propriétaire dégage 26\u202f750\u00a0€ par an" in verdict.text
    evens = {(acc, key): be for acc, key, _, be in verdict.break_evens}
    # each € a day of allowance brings 20 × 365 = 7 300 € → 15 + 4 760 / 7 300
    assert evens[("gestionnaire", "forfait_pension_famille_jour")] == pytest.approx(
        15 + 4760 / 7300, abs=1e-6
    )
    assert evens[("proprietaire", "loyer_proprietaire_mensuel")] == pytest.approx(
        250 - 26_750 / 240, abs=1e-6
    )


def test_plai_adapte_only_within_the_household_apl_ceiling(params):
    e = run(params, "pension_famille_neuf", {**PENSION, "loyer_mensuel": 500})
    ceiling = ha.foyer_ceiling(date(2026, 12, 6), 2, "personne_seule")
    assert e.inputs["apl_plafond"] == pytest.approx(ceiling) and 400 < ceiling < 500
    assert e.values["subv_plai_adapte"] == 0
    assert any("PLAI adapté non retenu" in note for note in e.checks)


def test_the_household_aid_comes_from_openfisca(params):
    e = run(params, "pension_famille_neuf", PENSION)
    aid = ha.foyer_aid(date(2026, 12, 6), 2, "personne_seule", 400)
    assert e.inputs["apl_menage_mensuelle"] == pytest.approx(aid.aid)
    assert e.values["apl_estimee"] == pytest.approx(20 * 12 * aid.aid)
    assert e.values["reste_a_charge_mensuel"] == pytest.approx(400 - aid.aid)


# -- dated parameters --------------------------------------------------------------------------------
def test_loan_rate_follows_the_livret_a_in_force(params):
    for day, livret in (("2025-09-01", 0.017), ("2026-03-01", 0.015), ("2025-03-01", 0.024)):
        values = oe.inputs_for("pension_famille_neuf", params, day=day)
        assert values["taux_livret_a"] == livret
        assert values["taux_pret"] == pytest.approx(livret + values["marge_pret_plai"])
    forced = oe.inputs_for("pension_famille_neuf", params, overrides={"taux_pret": 0.02}, day=DAY)
    assert forced["taux_pret"] == 0.02
    with pytest.raises(oe.OperationError, match="aucune valeur en vigueur le 01/01/2020"):
        oe.inputs_for("pension_famille_neuf", params, day="2020-01-01")


def test_allowance_series_is_dated(params):
    old = oe.inputs_for("pension_famille_neuf", params, day="2020-06-01", overrides={"taux_pret": 0.01})
    assert old["forfait_pension_famille_jour"] == 16
    assert oe.inputs_for("pension_famille_neuf", params, day=DAY)["forfait_pension_famille_jour"] == 18
    # 12 € from 1 Jan 2005 (note d'information DGAS/DGUHC of 13 April 2005, as summarised by ASH)
    assert params.general["forfait_pension_famille_jour"].at(date(2006, 6, 1)).value == 12


def test_sizing_labels_are_whole_and_read_sources_shown(params):
    """A label with a comma inside the YAML flow mapping was cut at the comma (« Personnel (hôtes »);
    a kind's sizing value read in a publication shows that source instead of « hypothèse »."""
    for key, (label, _unit) in params.sizing.items():
        assert label.count("(") == label.count(")"), key
    staff_label = "Personnel (hôtes, gestion locative sociale, accompagnement)"
    assert params.sizing["etp_par_logement"][0] == staff_label
    shown = params.describe("surface_logement", "pension_famille_neuf")
    assert shown.value == 23 and not shown.assumption and shown.url.startswith("https://ash.tm.fr")
    staff = params.describe("etp_par_logement", "residence_accueil")
    assert staff.assumption and "couple d'hôtes" in staff.source  # read, yet still to confirm
    assert params.describe("surface_logement", "residence_sociale").assumption  # nothing read there


def test_kind_source_without_text_is_refused(tmp_path):
    anchor = "    sources: &pension_sources\n"
    text = oe.PARAMETERS_FILE.read_text(encoding="utf-8").replace(
        anchor, anchor + "      cout_travaux_m2: {url: x}\n", 1
    )
    path = tmp_path / "parametres_fait_main.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(oe.OperationError, match=r"pension_famille_neuf.*cout_travaux_m2.*source"):
        oe.load_parameters(path)


def test_no_undated_parameter_in_a_default_operation(params):
    """Every parameter a default operation uses has a date (AAAA-MM-JJ) and a source read, or says
    « hypothèse à confirmer »."""
    for kind in params.kinds:
        values = oe.inputs_for(kind, params, zone_apl=2, day=DAY)
        rows = oe.used_parameters(kind, values, params, day=DAY)
        assert rows, kind
        for p, _ in rows:
            assert p.valid, (kind, p.key)
            date.fromisoformat(p.valid)  # raises on anything but a date
            assert date.fromisoformat(p.valid) <= date(2026, 12, 6), (kind, p.key)
            assert p.status in ("vérifié", oe.ASSUMPTION_LABEL), (kind, p.key)
            if p.status == "vérifié":
                assert p.source and p.url.startswith("http"), (kind, p.key)
            else:
                assert p.source, (kind, p.key)


def test_undated_parameter_is_refused(tmp_path):
    path = tmp_path / "parametres_fait_main.yaml"
    path.write_text(
        "parametres:\n  taux_pret:\n    libelle: Taux\n    valeur: 0.01\n    unite: taux\n"
        "    validite: bientôt\n    source: hypothèse\n",
        encoding="utf-8",
    )
    with pytest.raises(oe.OperationError, match=r"taux_pret.*validite.*AAAA-MM-JJ"):
        oe.load_parameters(path)
    path.write_text(
        "parametres:\n  taux_pret:\n    libelle: Taux\n    valeur: douze\n    unite: taux\n"
        "    source: hypothèse\n",
        encoding="utf-8",
    )
    with pytest.raises(oe.OperationError, match=r"taux_pret.*valeur.*douze"):
        oe.load_parameters(path)


# -- other kinds -------------------------------------------------------------------------------------
def test_residence_sociale_agls_per_dwelling_and_fjt_bonus(params):
    rs = run(params, "residence_sociale", {"logements": 40, "agls_par_logement_an": 300})
    assert rs.values["g_agls"] == 12_000
    fjt = run(
        params, "residence_sociale_fjt", {"logements": 40, "agls_par_logement_an": 300, "pse_caf_an": 50_000}
    )
    # flat amount per dwelling + 30 % of the CAF's PSE (circular of 9 May 2025)
    assert fjt.values["g_agls"] == 12_000 and fjt.values["g_agls_fjt"] == pytest.approx(15_000)
    assert fjt.values["g_pse_caf"] == 50_000


IML_SUB = {
    **RISKS,
    "taux_vacance": 0.03,
    "taux_impayes": 0.03,
    "logements": 10,
    "personnes_par_logement": 2,
    "equipement_logement": 1000,
    "subvention_collectivites_logement": 500,
    "taux_fonds_propres": 0.5,
    "quotite_pret_max": 0,
    "loyer_mensuel": 350,
    "loyer_proprietaire_mensuel": 450,
    "iml_sous_location_par_place_an": 1250,
    "etp_par_logement": 0.04,
    "cout_etp_accompagnement": 45_000,
    "renouvellement_mobilier_logement_an": 100,
    "gestion_logement_an": 400,
    "taux_frais_siege": 0.0,
    "taxe_fonciere_logement_an": 600,
    "frais_proprietaire_logement_an": 300,
    "provision_gros_entretien_logement_an": 300,
}


def test_iml_sous_location_counts_places(params):
    e = run(params, "iml_sous_location", IML_SUB)
    v = e.values
    assert v["places"] == 20 and v["g_iml_sous_location"] == 25_000  # the State pays per place
    assert v["g_loyer_proprietaire"] == v["p_loyer_gestionnaire"] == 54_000
    # manager: 42 000 + 25 000 − 54 000 − 18 000 − 1 000 − 4 000 − 6 % of 42 000
    assert v["resultat_gestionnaire"] == pytest.approx(67_000 - 54_000 - 18_000 - 1000 - 4000 - 2520)
    # private owner: rent received − tax, insurance, upkeep
    assert v["resultat_proprietaire"] == pytest.approx(54_000 - 6000 - 3000 - 3000)
    assert not e.balanced


def test_iml_sous_location_rules(params):
    values = oe.inputs_for("iml_sous_location", params, overrides={**IML_SUB, "loyer_mensuel": 500}, day=DAY)
    notes = oe.legal_checks("iml_sous_location", values, params, {"market_rent_m2": 10.0})
    assert any("dépasse le loyer principal" in n for n in notes)
    # Loc'Avantages approached by the Carte des loyers: 10 €/m² × 40 m² × (1 − 0.30) = 280 € < 450 €
    values = oe.inputs_for(
        "iml_sous_location", params, overrides={**IML_SUB, "surface_logement": 40}, day=DAY
    )
    assert any(
        "Loc'Avantages" in n and "280.00" in n
        for n in oe.legal_checks("iml_sous_location", values, params, {"market_rent_m2": 10.0})
    )
    assert not any(
        "Loc'Avantages : le loyer" in n
        for n in oe.legal_checks("iml_sous_location", values, params, {"market_rent_m2": 20.0})
    )


def test_iml_mandat_fees_link_owner_and_manager(params):
    e = run(
        params,
        "iml_mandat",
        {
            "logements": 30,
            "loyer_mensuel": 450,
            "taux_honoraires_gestion": 0.08,
            "personnes_par_logement": 2,
            "iml_mandat_par_place_an": 600,
        },
    )
    v = e.values
    assert v["p_honoraires_mandat"] == v["g_honoraires_mandat"] == pytest.approx(30 * 450 * 12 * 0.08)
    assert v["g_iml_mandat"] == 36_000 and v["cout_total"] == 0 and "p_annuite" not in v


def test_anah_subsidy_uses_the_excl_vat_base_and_the_m2_cap(params):
    base = {
        "logements": 2,
        "surface_logement": 60,
        "cout_travaux_m2": 1200,
        "taux_tva_travaux": 0.1,
        "taux_anah_travaux": 0.35,
        "plafond_travaux_anah_m2": 1000,
        "surface_max_anah_m2": 80,
    }
    e = run(params, "moi_bail_rehabilitation", base)
    # works 144 000 TTC = 130 909 HT, capped at 2 × 60 m² × 1 000 € = 120 000 → 35 %
    assert e.values["subv_anah"] == pytest.approx(0.35 * 120_000)
    small = run(params, "moi_bail_rehabilitation", {**base, "cout_travaux_m2": 800})
    assert small.values["subv_anah"] == pytest.approx(0.35 * 2 * 60 * 800 / 1.1)
    big = run(params, "moi_bail_rehabilitation", {**base, "surface_logement": 100})
    assert big.values["subv_anah"] == pytest.approx(0.35 * 2 * 80 * 1000)


def test_lease_rules(params):
    short = run(params, "moi_bail_rehabilitation", {"duree_bail": 10, "duree_pret": 10})
    assert any("minimum légal" in n and "12 ans" in n for n in short.checks)
    long_loan = run(params, "moi_bail_rehabilitation", {"duree_bail": 15, "duree_pret": 20})
    assert any("plus longtemps que le bail" in n for n in long_loan.checks)
    assert any("L.252-4" in n for n in long_loan.checks)
    construction = run(params, "moi_bail_construction", {"duree_bail": 40, "duree_pret": 40})
    notes = " ".join(construction.checks)
    assert "L.251-2" in notes and "le bailleur en devient propriétaire" in notes and "L.252" not in notes
    assert any(
        "18 ans" in n
        for n in run(params, "moi_bail_construction", {"duree_bail": 15, "duree_pret": 15}).checks
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"logements": 1e12}, "hors de portée"),
        ({"logements": 0}, "au moins 1"),
        ({"taux_pret": float("inf")}, "infinie"),
        ({"taux_vacance": float("nan")}, "manquante"),
        ({"taux_vacance": 3}, "entre 0 et 1"),
        ({"cout_travaux_m2": -5}, "positif"),
        ({"cout_travaux_m2": 1e15}, "absurde"),
        ({"loyer_mensuel": "beaucoup"}, "n'est pas un nombre"),
    ],
)
def test_absurd_inputs_are_refused_in_french(params, overrides, message):
    with pytest.raises(oe.OperationError, match=message):
        oe.inputs_for("pension_famille_neuf", params, overrides=overrides, day=DAY)


def test_every_kind_computes_in_every_zone(params):
    for kind in params.kinds:
        for zone in oe.ZONES_APL:
            e = oe.evaluate(kind, oe.inputs_for(kind, params, zone_apl=zone, day=DAY), params)
            assert all(value == value for value in e.values.values()), kind
            assert e.values["resultat"] == pytest.approx(
                e.values["resultat_proprietaire"] + e.values["resultat_gestionnaire"]
            )


def test_tornado_orders_by_width(params):
    values = oe.inputs_for("pension_famille_neuf", params, overrides=PENSION, day=DAY)
    swings = oe.tornado("pension_famille_neuf", values)
    assert swings[0].key == "forfait_pension_famille_jour"
    assert swings[0].width == pytest.approx(2 * 0.2 * 146_000)
    assert [s.width for s in swings] == sorted((s.width for s in swings), reverse=True)


def test_formulas_translate_to_spreadsheet():
    refs = {"a": "C1", "b": "C2", "c": "C3"}
    assert fx.to_excel("a * b + 12", refs) == "=((C1*C2)+12)"
    assert fx.to_excel("a if b < 50 else c ** 2", refs) == "=IF(C2<50,C1,(C3^2))"


# -- the public entry point and the CLI -------------------------------------------------------------
CONTEXT = {"code": "23096", "name": "Guéret", "zone_apl": 3, "acv": False, "pvd": False}


def test_run_operation_for_the_programme_module(params):
    result = oe.run_operation(
        "pension_famille_neuf",
        "23096",
        places=30,
        overrides={"forfait_pension_famille_jour": 18},
        day=DAY,
        params=params,
        context=CONTEXT,
    )
    assert result.homes == 30 and result.places == 30 and result.evaluation.inputs["zone_apl"] == 3
    v = result.evaluation.values
    assert sum(result.subsidies_by_funder.values()) == pytest.approx(v["aides_total"])
    assert set(result.subsidies_by_funder) >= {"État (FNAP) — PLAI", "Collectivités", "Action Logement"}
    assert (
        result.loan == v["pret"]
        and result.equity == v["fonds_propres"]
        and result.investment == v["cout_total"]
    )
    assert result.running_funding_by_funder["État — forfait pension de famille"] == pytest.approx(
        30 * 18 * 365
    )
    assert result.manager_deficit == max(0.0, -v["resultat_gestionnaire"])
    assert [a.household.key for a in result.households] == ["personne_seule", "couple_sans_enfant"]


def test_cli_prints_both_accounts_in_json(capsys):
    from models.__main__ import cli

    assert (
        cli(
            [
                "operation",
                "pension_famille_neuf",
                "--commune",
                "23096",
                "--date",
                DAY,
                "--json",
                "--set",
                "logements=22",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    owner, manager = doc["propriétaire"], doc["gestionnaire"]
    assert doc["logements"] == 22 and doc["commune"]["zone_apl"] == 3
    assert all("montant" in line for line in owner["produits"] + owner["charges"] + manager["charges"])
    assert doc["resultat_operation"] == pytest.approx(owner["resultat"] + manager["resultat"], abs=0.02)
    assert {e["compte"] for e in doc["points_equilibre"]} == {"propriétaire", "gestionnaire"}
    assert "OpenFisca-France" in doc["aides_menages"]["source"]
    assert doc["menages"][0]["aide_mensuelle"] > 0
    assert all(p["validite"] and p["source"] and p["statut"] for p in doc["parametres"])
    logements = next(p for p in doc["parametres"] if p["cle"] == "logements")
    assert logements["statut"] == "saisi par l'utilisateur"


def test_cli_errors_are_french_and_without_traceback(capsys):
    from models.__main__ import cli

    assert cli(["operation", "pension_famille_neuf", "--commune", "23096", "--set", "logements=1e12"]) == 2
    assert cli(["operation", "pension_famille_neuf", "--commune", "23096", "--set", "taux_pret=inf"]) == 2
    assert cli(["operation", "pension_famille_neuf", "--commune", "23096", "--set", "inconnu=3"]) == 2
    assert cli(["operation", "pension_famille_neuf", "--commune", "23096", "--date", "demain"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("Erreur :") == 4 and "AAAA-MM-JJ" in err
