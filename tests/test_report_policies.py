"""« Politiques publiques » and « Qui fait quoi où » in the territory report: the policy frame
(models.policy_frame), the levers' addressees, the sections and sheets of dep:59, and the
registry's confidentiality rules in the per-EPCI table."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date

import pandas as pd
import pytest

from connectors import policies
from diagnostics import levers as lv
from models import policy_frame as pf
from tests import report_support as support

TODAY = date(2026, 12, 6)
LAYER = pd.DataFrame([
    {"politique": "logement_d_abord", "niveau": "epci", "code_territoire": "200093201",
     "porteur": "Métropole européenne de Lille", "debut": "2018", "fin": "",
     "source": "https://exemple.fr/lda", "lu_le": "2026-12-06", "statut": "confirmé"},
    {"politique": "plh", "niveau": "epci", "code_territoire": "200093201", "porteur": "MEL",
     "debut": "2022", "fin": "2028", "source": "https://exemple.fr/plh", "lu_le": "2026-12-06",
     "statut": "confirmé"},
    {"politique": "pdalhpd", "niveau": "departement", "code_territoire": "59",
     "porteur": "État et Département du Nord", "debut": "2019-12-18", "fin": "2024-12-31",
     "source": "https://exemple.fr/pdalhpd", "lu_le": "2026-12-06", "statut": "à confirmer"},
])
LILLE = pf.Place("59350", "Lille", "200093201", "Métropole Européenne de Lille", "59", "Nord")
CAMBRAI = pf.Place("59122", "Cambrai", "200068500", "CA de Cambrai", "59", "Nord")


def _frame(place: pf.Place, values: dict | None = None) -> pd.DataFrame:
    return pf.commune_frame(place, values or {}, LAYER, TODAY).set_index("_policy")


def test_a_commune_is_in_a_logement_d_abord_territory_through_its_epci():
    frame = _frame(LILLE)
    lda = frame.loc[pf.LDA]
    assert lda["Situation"].startswith("oui : Métropole européenne de Lille (appel 2018")
    assert lda["Source"] == "https://exemple.fr/lda" and lda["Lu le"] == "06/12/2026"
    assert frame.loc[pf.PLH, "Validité"] == "2022 – 2028 (en vigueur)"
    assert frame.loc[pf.PDALHPD, "Validité"] == "18/12/2019 – 31/12/2024 (échu)"
    # No row for the délégataire: « à compléter », never « non ».
    assert frame.loc[pf.DELEGATAIRE, "Situation"] == "à compléter"


def test_absence_from_the_compiled_list_is_not_a_no():
    lda = _frame(CAMBRAI).loc[pf.LDA]
    assert lda["Situation"].startswith("non recensé dans la liste compilée")
    assert lda["Statut"] == "liste incomplète"


def test_a_territory_retained_in_2018_and_extended_in_2021_reads_its_first_call():
    # Both rows confirmed and read the same day, the 2021 one listed first (as in the
    # project's file, where the extension comes after the 2018 list).
    rows = [{"politique": "logement_d_abord", "niveau": "departement", "code_territoire": "62",
             "porteur": "Département du Pas-de-Calais", "debut": debut, "fin": "",
             "source": f"https://exemple.fr/lda{debut}", "lu_le": "2026-12-06",
             "statut": "confirmé"} for debut in ("2021", "2018")]
    arras = pf.Place("62041", "Arras", "200033579", "CU d'Arras", "62", "Pas-de-Calais")
    lda = pf.commune_frame(arras, {}, pd.DataFrame(rows), TODAY).set_index("_policy").loc[pf.LDA]
    assert "(appel 2018, au titre du département)" in lda["Situation"]
    assert lda["Source"] == "https://exemple.fr/lda2018"


def test_the_absence_notice_counts_the_territories_still_missing():
    assert f"{pf.LDA_2021_MISSING} des 23 territoires de 2021" in pf.LDA_ABSENT


def test_sru_is_context_never_need():
    frame = _frame(LILLE, {"sru_subject": True, "sru_carence": True, "sru_rate": 12.34,
                           "sru_target": 25.0, "acv": True, "qpv_count": 0.0})
    sru = frame.loc["Loi SRU (art. 55)", "Situation"]
    assert sru.startswith("commune carencée ; taux de logements sociaux 12,3 % pour un taux "
                          "cible de 25 %")
    assert "obligation de la commune, pas un besoin des ménages" in sru
    assert frame.loc["Action cœur de ville", "Situation"] == "oui"
    assert frame.loc["Quartiers prioritaires 2024", "Situation"] == "0 quartier(s)"
    absent = _frame(LILLE).loc["Loi SRU (art. 55)", "Situation"]
    assert absent == "inventaire SRU absent du stock local"


def test_in_logement_d_abord_by_commune_epci_or_departement():
    communes = pd.DataFrame({"code": ["59350", "59122", "62041", "80021"],
                             "epci_code": ["200093201", "200068500", "200033579", "248000531"],
                             "dep_code": ["59", "59", "62", "80"]})
    layer = pd.concat([LAYER, pd.DataFrame([
        {"politique": "logement_d_abord", "niveau": "departement", "code_territoire": "62"},
        {"politique": "logement_d_abord", "niveau": "commune", "code_territoire": "80021"},
    ])], ignore_index=True)
    assert pf.in_logement_d_abord(communes, layer).tolist() == [True, False, True, True]


def _lever(lever_id: str, codes: list[str]) -> lv.Lever:
    return lv.Lever(lever_id, lever_id, "", pd.DataFrame({"code": codes}))


COMMUNES = pd.DataFrame([
    {"code": "59350", "name": "Lille", "epci_code": "200093201",
     "epci_name": "Métropole Européenne de Lille", "dep_code": "59", "dep_name": "Nord"},
    {"code": "59122", "name": "Cambrai", "epci_code": "200068500", "epci_name": "CA de Cambrai",
     "dep_code": "59", "dep_name": "Nord"},
])


def test_levers_say_whom_to_address_from_the_frame():
    carence = lv.addressees(_lever("carence", ["59350"]), COMMUNES, LAYER, TODAY)
    assert carence[0].startswith("le préfet") and "L. 302-9-1" in carence[0]
    assert "programme local de l'habitat en vigueur : MEL, 2022 – 2028 (en vigueur)" in carence
    tense = lv.addressees(_lever("marche_tendu", ["59350", "59122"]), COMMUNES, LAYER, TODAY)
    plai = next(t for t in tense if t.startswith("programmation des PLAI"))
    assert "à compléter pour" in plai  # no délégataire verified: said so, not guessed
    support_ = lv.addressees(_lever("accompagnement", ["59350"]), COMMUNES, LAYER, TODAY)
    assert any("PDALHPD" in t and "(à confirmer)" in t for t in support_)
    assert any("Logement d'abord : Métropole européenne de Lille" in t for t in support_)


# -- the report of dep:59 -----------------------------------------------------------------------
IDENTIFIER = re.compile(r"^[a-z0-9_]+$")


@pytest.fixture(scope="module")
def nord(shared_data):
    return support.diagnostic("dep:59")


def test_report_has_both_sections_and_french_sheets(nord):
    from diagnostics.exports import xlsx_bytes

    ids = [s.id for s in nord.sections]
    assert "politiques" in ids and "qui_fait_quoi" in ids
    assert nord.section("politiques").title == "Politiques publiques"
    assert nord.section("qui_fait_quoi").title == "Qui fait quoi où"
    sheets = pd.read_excel(io.BytesIO(xlsx_bytes(nord)), sheet_name=None)
    assert {"Politiques publiques", "Qui fait quoi où"} <= set(sheets)
    assert not [name for name in sheets if IDENTIFIER.match(name)], list(sheets)
    frame = sheets["Politiques publiques"]
    mel = frame[(frame["Code"].astype(str) == "200093201")
                & frame["Politique"].str.contains("Logement d'abord")]
    assert mel["Situation"].iloc[0].startswith("oui") and mel["Source"].iloc[0].startswith("http")
    who = sheets["Qui fait quoi où"]
    assert len(who) == nord.geo.merge(
        support.report_store().read_frame("communes", columns=["code", "epci_code"]),
        on="code")["epci_code"].nunique()


def test_qui_fait_quoi_keeps_confidential_sites_out(nord):
    from diagnostics.exports import xlsx_bytes

    sheets = pd.read_excel(io.BytesIO(xlsx_bytes(nord)), sheet_name=None)
    text = " ".join(sheets[name].astype(str).to_csv() for name in sheets
                    if name.startswith("Qui fait quoi"))
    for word in support.CONFIDENTIAL_WORDS:
        assert word not in text


def test_qui_fait_quoi_is_the_same_with_or_without_confidential_sites(shared_data):
    """The attack: compare the table built from every site with the one built without the
    confidential ones — any difference would locate them."""
    from diagnostics.inputs import gather
    from diagnostics.sections.presence import presence_section
    from operators.repository import Registry

    registry = Registry(support.registry_url())
    try:
        sites = pd.DataFrame(registry.sites())
        coverage = registry.coverage()
    finally:
        registry.dispose()
    assert (sites["confidentiality"] == "confidentiel").any()
    public = sites[sites["confidentiality"] != "confidentiel"]
    tables = []
    for chosen in (sites, public):
        inputs = gather("dep:59", support.report_store(), sites=chosen, coverage=coverage,
                        use_models=False)
        tables.append(presence_section(inputs)[1]["qui_fait_quoi"])
    pd.testing.assert_frame_equal(tables[0], tables[1])


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils absent")
def test_pdf_shows_the_two_sections(nord, tmp_path):
    path = tmp_path / "nord.pdf"
    path.write_bytes(support.rendered("dep:59")["pdf"])
    text = support.normalise_spaces(subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout)
    assert "Politiques publiques" in text and "Qui fait quoi où, par EPCI" in text
    assert "Cadre des politiques publiques par territoire" in text
    assert "lillemetropole.fr" in text  # a source address, read and cited
    assert policies.POLICIES["plh"] not in text or "PLH" in text


def test_a_verified_network_row_wins_over_a_row_to_complete():
    layer = pd.concat([LAYER, pd.DataFrame([
        {"politique": "delegataire_aides_pierre", "niveau": "epci", "code_territoire": "200093201",
         "statut": "à compléter", "lu_le": "", "porteur": "", "debut": "", "fin": "", "source": ""},
        {"politique": "delegataire_aides_pierre", "niveau": "epci", "code_territoire": "200093201",
         "statut": "confirmé", "lu_le": "2026-11-30", "porteur": "Métropole Européenne de Lille",
         "debut": "2021", "fin": "2026", "source": "https://exemple.fr/delegation"},
    ])], ignore_index=True)
    frame = pf.commune_frame(LILLE, {}, layer, TODAY).set_index("_policy")
    assert frame.loc[pf.DELEGATAIRE, "Situation"] == "délégataire : Métropole Européenne de Lille"
    assert frame.loc[pf.DELEGATAIRE, "Validité"] == "2021 – 2026 (en vigueur)"


def test_section_reads_the_sru_inventory_as_context(shared_data):
    """With SRU columns (hand-set here: the inventory is an online source, absent offline), the
    section names the communes carencées, says the deficit is not a need, and maps them."""
    from diagnostics.inputs import gather
    from diagnostics.sections.policies import policies_section

    inputs = gather("epci:200093201", support.report_store(), use_registry=False,
                    use_models=False)
    c = inputs.communes
    c["sru_subject"] = c["code"].isin(["59350", "59512", "59599"])
    c["sru_carence"] = c["code"].eq("59599")
    section, rows = policies_section(inputs, TODAY)
    texts = support.normalise_spaces(" ".join(getattr(b, "text", "") for b in section.blocks))
    name = c.loc[c["code"] == "59599", "name"].iloc[0]
    assert f"3 communes soumise(s), dont 1 commune carencée(s) : {name}" in texts
    assert "pas un besoin de ses ménages" in texts
    spec = section.maps()[0]
    assert spec.colours[spec.colours.index == "59599"].iloc[0] == "#7570b3"  # LdA + carencée
    assert ("Logement d'abord et commune carencée (SRU)", "#7570b3") in spec.legend
    assert set(rows["Code"]) >= {"200093201", "59"}


def test_every_table_key_has_a_french_sheet_name():
    """No sheet named after an identifier: every key a section gives its tables is named."""
    import ast
    from pathlib import Path

    from diagnostics.exports import SHEET_NAMES

    keys = set()
    for path in Path(support.settings.PROJECT_ROOT, "diagnostics", "sections").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Table"):
                keys |= {k.value.value for k in node.keywords
                         if k.arg == "key" and isinstance(k.value, ast.Constant)}
    assert keys and not keys - set(SHEET_NAMES), sorted(keys - set(SHEET_NAMES))


def test_a_commune_level_logement_d_abord_territory_reaches_the_levers():
    layer = pd.concat([LAYER, pd.DataFrame([
        {"politique": "logement_d_abord", "niveau": "commune", "code_territoire": "59122",
         "porteur": "Ville de Cambrai", "debut": "2021", "fin": "", "source": "https://x.fr",
         "lu_le": "2026-12-06", "statut": "à confirmer"}])], ignore_index=True)
    communes = pd.concat([COMMUNES, COMMUNES.iloc[[1]].assign(code="59999", name="Voisine")])
    found = lv.addressees(_lever("accompagnement", ["59999", "59122"]), communes, layer, TODAY)
    assert any("Ville de Cambrai, depuis 2021 (à confirmer)" in t for t in found)
