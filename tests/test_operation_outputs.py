"""Outputs of the operation model: the XLSX with visible formulas (recomputed here cell by cell
and compared with the app's figures), formula-injection neutralisation, the report section, and
real communes of the Nord and the Creuse read from the store."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from diagnostics import operation_xlsx as ox
from diagnostics.document import Bullets, Chart, Notice, Table
from diagnostics.sections.economics import economics_section
from geodata.store import Store
from models import operation_economics as oe
from models.operation_context import estimated_apl_zone, local_context

CONTEXT_FAIT_MAIN = {"code": "99999", "name": "Commune fictive", "dep_code": "59", "zone_abc": "B1",
                     "zone_apl": 2, "acv": True, "pvd": False, "qpv_count": 0.0}


@pytest.fixture(scope="module")
def params() -> oe.Parameters:
    return oe.load_parameters()


def _sheet_values(ws) -> dict[int, float]:
    """Recompute column C of a sheet from its formulas (a tiny spreadsheet engine)."""
    cells = {row: ws.cell(row=row, column=3).value for row in range(1, ws.max_row + 1)}
    done: dict[int, float] = {}

    def value(row: int) -> float:
        if row in done:
            return done[row]
        raw = cells[row]
        if isinstance(raw, str) and raw.startswith("="):
            code = re.sub(r"\$C\$(\d+)", r"value(\1)", raw[1:]).replace("^", "**").replace("<>", "!=")
            result = float(eval(code, {"value": value, "MIN": min, "MAX": max,  # test-only engine
                                       "IF": lambda t, a, b: a if t else b}))
        else:
            result = float(raw)
        done[row] = result
        return result

    out = {}
    for row in range(1, ws.max_row + 1):
        key = ws.cell(row=row, column=1).value
        raw = cells[row]
        if key is None or raw is None or (isinstance(raw, str) and not raw.startswith("=")):
            continue
        if isinstance(raw, str) and raw.startswith("=IF(AND"):
            continue
        out[key] = value(row)
    return out


@pytest.mark.parametrize("kind", list(oe.KIND_LINES))
def test_workbook_formulas_give_the_app_figures(params, kind):
    saved = oe.saved_operation(kind, CONTEXT_FAIT_MAIN, {"loyer_mensuel": 410})
    workbook = openpyxl.load_workbook(io.BytesIO(ox.operations_xlsx([saved], params)))
    ws = workbook.worksheets[0]
    formulas = [c.value for c in ws["C"] if isinstance(c.value, str) and c.value.startswith("=")]
    assert len(formulas) >= 8  # formulas, not only values
    recomputed = _sheet_values(ws)
    evaluation, _ = oe.evaluate_saved(saved, params)
    for key in ("cout_total", "ecart_financement", "produits_proprietaire", "charges_gestionnaire",
                "resultat_proprietaire", "resultat_gestionnaire", "resultat", "apl_estimee"):
        assert recomputed[key] == pytest.approx(evaluation.values[key], abs=0.01), key
    assert recomputed["loyer_mensuel"] == 410
    statuses = {ws.cell(row=r, column=1).value: ws.cell(row=r, column=5).value
                for r in range(1, ws.max_row + 1)}
    assert statuses["loyer_mensuel"] == "valeur saisie par l'utilisateur"
    assert statuses["cout_etp_accompagnement"] in ("vérifié", oe.ASSUMPTION_LABEL)


def test_changing_a_parameter_cell_recomputes(params):
    saved = oe.saved_operation("iml_mandat", CONTEXT_FAIT_MAIN)
    ws = openpyxl.load_workbook(io.BytesIO(ox.operations_xlsx([saved], params))).worksheets[0]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(row=r, column=1).value == "logements")
    before = _sheet_values(ws)["resultat"]
    ws.cell(row=row, column=3).value = 60  # twice the dwellings: the result doubles (all per dwelling)
    assert _sheet_values(ws)["resultat"] == pytest.approx(2 * before)


def test_user_text_cannot_become_a_formula(params):
    ctx = {**CONTEXT_FAIT_MAIN, "name": "=HYPERLINK(\"http://x\")"}
    saved = oe.saved_operation("iml_mandat", ctx, label="+cmd|' /C calc'!A0")
    ws = openpyxl.load_workbook(io.BytesIO(ox.operations_xlsx([saved], params))).worksheets[0]
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert all(not t.startswith(("+", "@", "-")) for t in texts)
    risky = [t for t in texts if t.startswith("=") and "HYPERLINK" in t]
    assert risky == []
    assert ws["A1"].value.startswith("'+cmd")
    assert ox.safe_text("@SUM(A1)") == "'@SUM(A1)" and ox.safe_text("Lille") == "Lille"


def test_section_lists_plan_account_verdict_and_parameters(params):
    ops = [oe.saved_operation("pension_famille_neuf", CONTEXT_FAIT_MAIN, label="PF centre"),
           oe.saved_operation("moi_bail_rehabilitation", CONTEXT_FAIT_MAIN, {"duree_bail": 10})]
    section = economics_section(ops, params)
    assert section.title == "Modèle économique"
    titles = [t.title for t in section.tables()]
    assert titles.count("Plan de financement de l'investissement") == 2
    assert titles.count("Compte annuel du gestionnaire") == 2
    assert titles.count("Compte annuel du propriétaire") == 2
    assert titles.count("Paramètres utilisés") == 2
    summary = next(t for t in section.tables() if t.key == "modele_economique")
    assert list(summary.data["Opération"]) == ["PF centre", "Logement diffus en MOI — bail à réhabilitation"]
    params_table = next(t for t in section.tables() if t.title == "Paramètres utilisés")
    assert any(row[2] == oe.ASSUMPTION_LABEL for row in params_table.rows)
    assert any(row[2] == "vérifié" for row in params_table.rows)
    notices = " ".join(b.text for b in section.blocks if isinstance(b, Notice))
    assert "minimum légal" in notices and "hypothèses à confirmer" in notices
    bullets = [b for b in section.blocks if isinstance(b, Bullets)]
    assert any("Action cœur de ville" in item for b in bullets for item in b.items)
    assert economics_section([], params) is None
    assert all(isinstance(t, Table) for t in section.tables())
    charts = [b for b in section.blocks if isinstance(b, Chart)]
    assert len(charts) == 2 and all(c.png.startswith(b"\x89PNG") for c in charts)


def test_apl_zone_estimate():
    assert estimated_apl_zone("A", "75") == 1 and estimated_apl_zone("B1", "93") == 2
    assert estimated_apl_zone("A", "59") == 2 and estimated_apl_zone("C", "23") == 3
    assert estimated_apl_zone(None, "23") == 3


@pytest.mark.skipif(not Store().exists("zonage_abc_2024"), reason="stock local sans zonage A/B/C")
@pytest.mark.parametrize(("code", "zone"), [("59350", "A"), ("59178", "B1"), ("23096", "C")])
def test_real_communes_compute_every_kind(params, code, zone):
    ctx = local_context(code)
    assert ctx.zone_abc == zone
    if not Store().exists("carte_loyers"):
        assert ctx.market_rent_m2 is None and "non disponible" in ctx.missing["carte_loyers"]
    ops = [oe.saved_operation(kind, ctx.to_dict()) for kind in params.kinds]
    for saved in ops:
        evaluation, verdict = oe.evaluate_saved(saved, params)
        assert verdict.text.startswith("Opération")
        assert evaluation.inputs["apl_plafond"] > 0
    section = economics_section(ops, params)
    assert len(section.tables()) > len(ops)
    workbook = openpyxl.load_workbook(io.BytesIO(ox.operations_xlsx(ops, params)))
    assert len(workbook.worksheets) == len(ops)


@pytest.mark.skipif(not Store().exists("zonage_abc_2024"), reason="stock local incomplet")
def test_report_carries_the_saved_operations(params):
    from diagnostics import report
    from diagnostics.produce import build

    ops = [oe.saved_operation("iml_sous_location", local_context("23096").to_dict(), label="IML Guéret")]
    diag = build("com:23096", operations=ops, use_registry=False, use_models=False)
    ids = [s.id for s in diag.sections]
    assert ids.index("modele_economique") == ids.index("leviers") + 1
    assert "modele_economique" in diag.exports
    html = report.render_html(diag, images={}, interactive=False)
    assert "Modèle économique" in html and "IML Guéret" in html and "hypothèse à confirmer" in html
    assert "Sensibilité du résultat annuel" in html and "data:image/png;base64" in html
    without = build("com:23096", use_registry=False, use_models=False)
    assert "modele_economique" not in [s.id for s in without.sections]


def test_context_from_a_hand_made_store_with_a_rent_map(tmp_path, params):
    """A store holding only communes and a hand-made Carte des loyers: the rent comparison is
    made, every other datum is said « non disponible » (never zero)."""
    import pandas as pd

    from catalogues import datasets
    from geodata.store import Manifest
    from models.operation_context import market_for_inputs, market_text

    store = Store(tmp_path)
    communes = pd.DataFrame({"code": ["59999"], "name": ["Fictive-sur-Deûle"], "dep_code": ["59"]})
    store.write("communes", communes, Manifest("communes", "fait_main", "test", "2025"))
    store.write(datasets.CARTE_LOYERS, pd.DataFrame({"code": ["59999"], "loypredm2": [12.0]}),
                Manifest(datasets.CARTE_LOYERS, "fait_main", "ANIL (fictif)", "2024"))
    ctx = local_context("59999", store)
    assert ctx.market_rent_m2 == 12.0 and "carte_loyers" not in ctx.missing
    assert ctx.zone_abc is None and ctx.zone_apl == 3 and ctx.qpv_count is None and ctx.acv is None
    assert {"zone_abc", "qpv", "programmes", "lovac"} <= set(ctx.missing)
    overrides = {"surface_logement": 40, "loyer_proprietaire_mensuel": 400, "apl_plafond": 300}
    saved = oe.saved_operation("iml_sous_location", ctx.to_dict(), overrides)
    evaluation, _ = oe.evaluate_saved(saved, params)
    comparison = market_for_inputs(ctx, evaluation.inputs)
    # market 12 × 40 = 480 €/month; owner gets 400: forgoes 80 × 12; 180 above the APL ceiling
    assert comparison.market_rent == 480 and comparison.owner_forgoes_year == 960
    assert comparison.above_apl_ceiling == 180
    assert "960" in market_text(comparison) and "180" in market_text(comparison)
    assert "non disponible" in market_text(None)
    section = economics_section([saved], params)
    assert any("Carte des loyers" in getattr(b, "text", "") and "960" in b.text for b in section.blocks)
    with pytest.raises(ValueError, match="introuvable"):
        local_context("00000", store)


def test_operations_file_for_the_command_line(tmp_path, params):
    import pandas as pd

    from geodata.store import Manifest
    from models.operation_file import read_operations_file

    store = Store(tmp_path / "stock")
    store.root.mkdir(exist_ok=True)
    communes = pd.DataFrame({"code": ["23999"], "name": ["Fictive"], "dep_code": ["23"]})
    store.write("communes", communes, Manifest("communes", "fait_main", "test", "2025"))
    path = tmp_path / "operations_fait_main.yaml"
    path.write_text("operations:\n  - type: moi_diffus\n    commune: '23999'\n    nom: Diffus\n"
                    "    parametres: {logements: 3}\n", encoding="utf-8")
    (saved,) = read_operations_file(path, params, store)
    assert saved["label"] == "Diffus" and saved["overrides"] == {"logements": 3.0} and saved["zone_apl"] == 3
    path.write_text("operations:\n  - type: moi_diffus\n    commune: '23999'\n    date: '2026-03-01'\n",
                    encoding="utf-8")
    (dated,) = read_operations_file(path, params, store)
    assert dated["date"] == "2026-03-01"
    assert oe.evaluate_saved(dated, params)[0].inputs["taux_livret_a"] == 0.015  # in force on 1 March 2026
    bad = {
        "type: chateau": r"opération 1, champ « type » : « chateau » inconnu",
        "type: moi_diffus\n    commune: '00000'": r"opération 1, champ « commune » : Commune « 00000 »",
        "type: moi_diffus\n    commune: '23999'\n    parametres: {forfait_pension_famille_jour: 3}":
            r"paramètre\(s\) inconnu\(s\) pour ce type : forfait_pension_famille_jour",
        "type: moi_diffus\n    commune: '23999'\n    parametres: {logements: 0}":
            r"opération 1 : Nombre de logements",
        "type: moi_diffus\n    commune: '23999'\n    date: demain":
            r"opération 1, champ « date » : .*AAAA-MM-JJ",
    }
    for body, message in bad.items():
        path.write_text(f"operations:\n  - {body}\n", encoding="utf-8")
        with pytest.raises(oe.OperationError, match=message):
            read_operations_file(path, params, store)
