"""Report building blocks on small hand-made frames: levers, public sites, classes, sections
whose inputs are missing, DOCX."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from diagnostics import classes, levers
from diagnostics.formatting import fr_number
from diagnostics.public_sites import SMALL_LABEL, public_view
from diagnostics.sections.synthesis import concentration
from diagnostics.webmap import MISSING_COLOUR
from tests import report_support as support


# -- levers -----------------------------------------------------------------------------------
def _communes() -> pd.DataFrame:
    """Five hand-made communes: a vacant small town, a tense city, a needless village…"""
    return pd.DataFrame({
        "code": ["00001", "00002", "00003", "00004", "00005"],
        "name": ["Bourg-Vacant", "Ville-Tendue", "Village-Aisé", "Centre-Rural", "Inconnue"],
        "population": [3000, 90000, 400, 5000, 800],
        "density_7": [5, 1, 7, 3, np.nan],  # 3 = petites villes (INSEE grid)
        "vacancy_rate": [16.0, 6.0, 20.0, 7.0, np.nan],
        "vacant_dwellings": [250, 3000, 40, 150, np.nan],
        "dwellings": [1560, 50000, 200, 2140, np.nan],
        "zone_abc": ["C", "A", "C", "B2", None],
        "pvd": [False, False, False, True, False],
        "need_households": [120.0, 4000.0, 2.0, 90.0, np.nan],
        "providers_in_reach_pension_de_famille": [0, 3, 0, 0, 0],
        "providers_in_reach_accompagnement": [1, 2, 0, 0, 0],
    })


def test_levers_follow_the_data_not_boilerplate():
    found = {lv.id: lv for lv in levers.derive_levers(_communes(), {"vacancy_rate": 8.0})}
    assert found["vacance"].communes["code"].tolist() == ["00001"]  # vacant and needy only
    assert "250 logements vacants" in found["vacance"].figures.replace("\u202f", " ")
    assert set(found["pension_de_famille"].communes["code"]) == {"00001", "00004"}
    assert found["marche_tendu"].communes["code"].tolist() == ["00002"]
    assert set(found["accompagnement"].communes["code"]) == {"00004"}
    copro = found["coproprietes"]
    assert not copro.evaluable and copro.count == 0  # no RNIC: said, not guessed


def test_levers_need_an_offer_source_to_judge_reach():
    frame = _communes().drop(columns=["providers_in_reach_pension_de_famille",
                                      "providers_in_reach_accompagnement"])
    found = {lv.id: lv for lv in levers.derive_levers(frame, {"vacancy_rate": 8.0},
                                                      missing={"registre": "registre absent"})}
    assert not found["pension_de_famille"].evaluable
    assert "registre absent" in found["pension_de_famille"].reason
    assert found["vacance"].evaluable


def test_levers_by_type_groups_communes_by_density():
    frame = _communes()
    table = levers.levers_by_type(levers.derive_levers(frame, {"vacancy_rate": 8.0}), frame)
    assert table["commune_type"].tolist() == ["Pôles urbains", "Petites villes et bourgs",
                                              "Rural dispersé", "Type inconnu"]
    small_towns = table.set_index("commune_type").loc["Petites villes et bourgs"]
    assert small_towns["communes"] == 2 and "Pensions de famille" in small_towns["levers"]


# -- public view of the sites -----------------------------------------------------------------
def _sites() -> pd.DataFrame:
    base = {"operator_name": "Opérateur fictif", "network": "FAPIL", "commune_name": "X",
            "capacity_unit": "places", "status": "ouvert", "fictional": True,
            "geocode_method": "fournies", "address": "1 rue", "postcode": "00000"}
    rows = [
        {"site_id": "a", "name": "Public A", "commune_code": "00001", "offer_type": "pension_de_famille",
         "capacity": 20, "confidentiality": "public", "lon": 1.0, "lat": 45.0},
        {"site_id": "b", "name": "Secret B", "commune_code": "00001", "offer_type": "chrs",
         "capacity": 30, "confidentiality": "confidentiel", "lon": 1.1, "lat": 45.1},
        {"site_id": "c", "name": "Commune C", "commune_code": "00002", "offer_type": "moi",
         "capacity": 5, "confidentiality": "commune", "lon": 1.2, "lat": 45.2},
        {"site_id": "d", "name": "Public D", "commune_code": "00002", "offer_type": "moi",
         "capacity": 6, "confidentiality": "public", "lon": 1.3, "lat": 45.3},
        {"site_id": "e", "name": "Public E", "commune_code": "00002", "offer_type": "moi",
         "capacity": 7, "confidentiality": "public", "lon": 1.4, "lat": 45.4},
    ]
    return pd.DataFrame([{**base, **r} for r in rows])


def test_public_view_hides_confidential_sites_and_small_totals():
    view = public_view(_sites(), codes=["00001", "00002"])
    assert "Secret B" not in view.listed["name"].tolist()
    assert view.points["name"].tolist() == ["Public A", "Public D", "Public E"]  # no commune-level point
    assert pd.isna(view.listed.set_index("name").loc["Commune C", "address"])
    assert view.confidential is None
    totals = view.commune_totals.set_index("code")
    assert totals.loc["00001", "n_sites_text"] == SMALL_LABEL and pd.isna(totals.loc["00001", "capacity"])
    assert totals.loc["00002", "n_sites_text"] == "3" and totals.loc["00002", "capacity"] == 18
    family = view.by_family.set_index("offer_family")
    assert "hebergement" not in family.index  # the confidential CHRS alone: never counted


# -- classes ----------------------------------------------------------------------------------
def test_diverging_classes_split_at_zero_and_keep_missing_grey():
    values = pd.Series([-30.0, -5.0, 0.0, 2.0, 10.0, 50.0, np.nan])
    colours, legend = classes.diverging_classes(values)
    assert colours.iloc[-1] == MISSING_COLOUR
    assert colours.iloc[0] in classes.SURPLUS_COLOURS and colours.iloc[5] in classes.DEFICIT_COLOURS
    assert colours.iloc[2] in classes.SURPLUS_COLOURS  # no gap is not a deficit
    assert len(legend) == len({c for c in colours if c != MISSING_COLOUR})


def test_quantile_labels_are_french():
    values = pd.Series([1000.5, 2000.0, 3000.0, 4000.0, 5000.0, 6000.0])
    _, legend = classes.numeric_classes(values, "besoin", k=3, decimals=0, unit="€")
    assert legend[0][0].startswith(fr_number(1000.5, 0)) and legend[0][0].endswith("\u00a0€")


def test_concentration_counts_communes_holding_half():
    n, names = concentration(pd.Series([50.0, 30.0, 10.0, 10.0, np.nan]), pd.Series(list("abcde")))
    assert n == 1 and names == ["a"]
    n, _ = concentration(pd.Series([25.0, 25.0, 25.0, 25.0]), pd.Series(list("abcd")))
    assert n == 2


# -- missing inputs and DOCX on the real Creuse ------------------------------------------------
def test_sections_without_models_or_registry_say_so(shared_data):
    from diagnostics.inputs import gather
    from diagnostics.territory_diagnostic import build_diagnostic

    inputs = gather("dep:23", support.report_store(), use_registry=False, use_models=False)
    diag = build_diagnostic(inputs)
    for section_id in ("besoins", "offre", "ecarts"):
        notices = [b.text for b in diag.section(section_id).blocks if type(b).__name__ == "Notice"]
        assert notices and "non disponible" in notices[0].lower()
    assert diag.section("portrait").tables()  # the rest of the report is there
    assert "besoin" in diag.missing and "registre" in diag.missing


def test_docx_is_editable_and_public(shared_data):
    from docx import Document

    from diagnostics import report

    diag = support.diagnostic("dep:23")
    document = Document(io.BytesIO(report.render_docx(diag, support.rendered("dep:23")["images"])))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    # « Méthode et sources » comes last (8th with the « Programme » section).
    assert "1. Synthèse" in text and "8. Méthode et sources" in text
    assert support.XSS_NAME in cells
    for word in support.CONFIDENTIAL_WORDS:
        assert word not in text and word not in cells
    assert len(document.inline_shapes) >= 5


@pytest.mark.parametrize("spec", ["com:23096", "epci:200034825"])
def test_small_territories_render(spec, shared_data):
    from diagnostics import report
    from diagnostics.produce import build

    diag = build(spec, support.report_store(), registry_url=support.registry_url())
    html = report.render_html(diag)
    assert diag.geo["code"].str.startswith("23").all()
    assert "Synthèse" in html and "srcdoc=" in html


# -- public offer (FINESS) in the offer section -------------------------------------------------
def _public_inputs(available: bool = True):
    from types import SimpleNamespace

    from models import supply

    points = supply.establishments_from(
        pd.DataFrame({"finess_id": ["1", "2", "3"], "name": ["CHRS A", "CADA B", "PF C"],
                      "category": ["214", "443", "258"],
                      "category_label": ["CHRS", "CADA", "Maison relais"],
                      "code": ["93066", "93066", "93059"], "lon": [2.35, 2.36, np.nan],
                      "lat": [48.93, 48.94, np.nan]}),
        pd.DataFrame({"finess_id": ["1", "2"], "capacity_installed": [40.0, 90.0],
                      "capacity_authorised": [40.0, 90.0]}),
    )
    offer = supply.PublicEstablishments(points=points if available else points.iloc[0:0],
                                        available=available, source="FINESS (fait main), ANS")
    communes = pd.DataFrame({"code": ["93066", "93059"], "name": ["Saint-Denis", "Pierrefitte"]})
    missing = {} if available else {"finess": "donnée non disponible : FINESS absent"}
    return SimpleNamespace(public_offer=offer, communes=communes, missing=missing)


def test_offer_section_shows_public_establishments_with_the_asylum_system_apart():
    from diagnostics.document import MapSpec, Table
    from diagnostics.sections.offer import public_offer_blocks

    blocks = public_offer_blocks(_public_inputs(), None)
    table = next(b for b in blocks if isinstance(b, Table) and b.key == "offre_publique")
    families = [row[0] for row in table.rows]
    assert families[-1].startswith("Dispositif national d'asile")
    assert "Hébergement (CHRS, autres centres d'accueil)" in families
    assert any("CADA" in b.text for b in blocks if type(b).__name__ == "Paragraph")
    layer = next(b for b in blocks if isinstance(b, MapSpec))
    assert layer.key == "offre_publique" and len(layer.points) == 2  # PF C has no coordinates
    assert any("Dispositif national d'asile" in label for label, _ in layer.points_legend)
    # Without the registry the members' share is said not computable, never guessed.
    assert any("non calculable" in b.text for b in blocks if type(b).__name__ == "Notice")


def test_offer_section_says_public_offer_not_available_without_finess():
    from diagnostics.sections.offer import public_offer_blocks

    blocks = public_offer_blocks(_public_inputs(available=False), None)
    notices = [b.text for b in blocks if type(b).__name__ == "Notice"]
    assert notices and "non disponible" in notices[0]
