"""« Feuille pour les instances nationales »: what closing the gap would take and cost, by région
and for France, beside the published orders of magnitude (plans Logement d'abord, the FNAP's
programming), as a 2-page PDF and an XLSX whose totals and comparisons are visible formulas.

Every figure resting on the members' offer says FICTIF when the registry holds the demo offer
(the places missing are measured against that offer, and the money follows the places).

Command line::

    python -m diagnostics.programme_board [--horizon N] --out rapports/
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from diagnostics.formatting import fr_number
from models import programme as pg
from models import programme_costs as pc

FAMILIES = ("pension_de_famille", "residence_sociale", "intermediation_locative", "diffus")
FAMILY_SHORT = {"pension_de_famille": "pensions de famille", "residence_sociale":
                "résidences sociales", "intermediation_locative": "IML", "diffus": "diffus"}
TITLE = "Combler l'écart : ce qu'il faudrait produire et financer"


@dataclass(frozen=True)
class Published:
    """An order of magnitude read in a public text (date, source, address)."""

    key: str
    label: str
    value: float
    unit: str
    years: float  # the value covers this many years (1 for a yearly figure)
    date: str
    source: str
    url: str
    compare: str  # programme measure it stands beside (see ``programme_measures``)


# Read with the project's search tools (public pages); the excerpt holding each figure is
# quoted in the report of issue #26.
PUBLISHED: tuple[Published, ...] = (
    Published("lda2_pf", "Plan Logement d'abord 2 (2023-2027) : places de pension de famille à "
              "ouvrir", 10_000, "places", 5, "20 juin 2023",
              "Banque des Territoires (Localtis), « Plan Logement d'abord 2 : une continuité dans "
              "les ambitions… »",
              "https://www.banquedesterritoires.fr/plan-logement-dabord-2-une-continuite-dans-"
              "les-ambitions-mais-encore-beaucoup-de-flou", "places_pension_de_famille"),
    Published("lda2_iml", "Plan Logement d'abord 2 (2023-2027) : places d'intermédiation "
              "locative à créer", 30_000, "places", 5, "20 juin 2023",
              "Banque des Territoires (Localtis), même article",
              "https://www.banquedesterritoires.fr/plan-logement-dabord-2-une-continuite-dans-"
              "les-ambitions-mais-encore-beaucoup-de-flou", "places_intermediation_locative"),
    Published("lda2_tres_sociaux", "Plan Logement d'abord 2 (2023-2027) : logements très "
              "sociaux (PLAI et PLAI adaptés)", 100_000, "logements", 5, "20 juin 2023",
              "Banque des Territoires (Localtis), même article",
              "https://www.banquedesterritoires.fr/plan-logement-dabord-2-une-continuite-dans-"
              "les-ambitions-mais-encore-beaucoup-de-flou", "places_plai"),
    Published("lda1_pf_realise", "Plan Logement d'abord 1 (2018-2022) : places de pension de "
              "famille effectivement ouvertes (objectif 10 000)", 7_200, "places", 5,
              "20 juin 2023", "Banque des Territoires (Localtis), même article",
              "https://www.banquedesterritoires.fr/plan-logement-dabord-2-une-continuite-dans-"
              "les-ambitions-mais-encore-beaucoup-de-flou", "places_pension_de_famille"),
    Published("lda1_tres_sociaux", "Plan Logement d'abord 1 (2018-2022) : logements très "
              "sociaux par an (objectif)", 40_000, "logements", 1, "plan 2018-2022",
              "DRDJSCS Grand Est, « Le plan quinquennal pour le Logement d'abord »",
              "https://grand-est.drdjscs.gouv.fr/spip.php?article2578", "places_plai"),
    Published("fnap_2023_plai", "FNAP : objectif de programmation 2023, dont PLAI (sur "
              "110 000 agréments)", 38_000, "logements", 1, "CA du FNAP du 15 décembre 2022",
              "AEF info, dépêche 684466 du 19 décembre 2022",
              "https://www.aefinfo.fr/depeche/684466", "places_plai"),
    Published("fnap_2025_enveloppe", "FNAP : enveloppe d'intervention 2025 (budget "
              "rectificatif de mars 2025, crédits de paiement, toutes aides à la pierre)",
              305_183_563, "€", 1,
              "mars 2025", "Sénat, commission des finances, rapport d'information n° 804 "
              "(2024-2025) sur le FNAP", "https://www.senat.fr/rap/r24-804/r24-8044.html",
              "fnap_subsidy"),
)
PLAI_FAMILIES = ("pension_de_famille", "residence_sociale", "diffus")


class BoardError(ValueError):
    """The sheet cannot be produced (French message)."""


@dataclass
class Board:
    title: str
    horizon: int
    fictional: bool
    regions: pd.DataFrame  # one row per région, numbers (French column names)
    france: dict[str, float]
    comparisons: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    offer_used: str = ""
    reference: str = ""
    made: str = ""


REGION_COLUMNS = [
    *[f"Places manquantes — {FAMILY_SHORT[f]}" for f in FAMILIES],
    "Places programmées",
    "Investissement (€)",
    "Subvention de l'État — FNAP (€)",
    "Fonctionnement annuel en régime (€/an)",
    "dont État (€/an)",
    "Déficit annuel des gestionnaires (€/an)",
]


def programme_measures(result: pg.ProgrammeResult) -> dict[str, float]:
    """Per year of the horizon: the programme's places by family and State subsidy."""
    horizon = float(result.options.horizon)
    fam = result.families.groupby("family")[["placed"]].sum()["placed"]
    totals = result.totals("central")
    out = {f"places_{f}": float(fam.get(f, 0.0)) / horizon for f in FAMILIES}
    out["places_plai"] = sum(out[f"places_{f}"] for f in PLAI_FAMILIES)
    out["fnap_subsidy"] = totals["state_subsidy"] / horizon
    return out


def build(result: pg.ProgrammeResult) -> Board:
    """The board sheet of a France programme (by région)."""
    rows = []
    for code, name in result.groups.items():
        fam = result.families[result.families["group"] == code].set_index("family")
        totals = result.totals("central", code)
        rows.append({
            "Code": code, "Région": name,
            **{f"Places manquantes — {FAMILY_SHORT[f]}": float(fam["missing"].get(f, 0.0))
               for f in FAMILIES},
            "Places programmées": totals["places"],
            "Investissement (€)": totals["investment"],
            "Subvention de l'État — FNAP (€)": totals["state_subsidy"],
            "Fonctionnement annuel en régime (€/an)": totals["running_total"],
            "dont État (€/an)": totals["state_running"],
            "Déficit annuel des gestionnaires (€/an)": totals["deficit"],
        })
    regions = pd.DataFrame(rows, columns=["Code", "Région", *REGION_COLUMNS])
    france = {}
    for variant in pg.VARIANTS:
        totals = result.totals(variant)
        france[f"investment_{variant}"] = totals["investment"]
        france[f"state_subsidy_{variant}"] = totals["state_subsidy"]
        france[f"running_{variant}"] = totals["running_total"]
        france[f"state_running_{variant}"] = totals["state_running"]
    missing = result.families.groupby("family")[["missing", "missing_low", "missing_high"]].sum()
    for family in FAMILIES:
        for column in ("missing", "missing_low", "missing_high"):
            france[f"{column}_{family}"] = float(missing[column].get(family, 0.0))
    measures = programme_measures(result)
    comparisons = pd.DataFrame([{
        "Repère publié": p.label,
        "Valeur publiée": p.value,
        "Unité": p.unit,
        "Années couvertes": p.years,
        "Par an (publié)": p.value / p.years,
        "Programme, par an": measures[p.compare],
        "Date": p.date,
        "Source": p.source,
        "Adresse": p.url,
    } for p in PUBLISHED])
    notes = [n for n in result.notes if "non placées" not in n and "non chiffrées" not in n][:6]
    fam = result.families
    uncosted = fam.loc[fam["kind"].isna(), "missing"].sum()
    if uncosted > 0.5:
        labels = ", ".join(sorted({pg.family_label(f) for f in fam.loc[fam["kind"].isna(),
                                                                        "family"]}))
        notes.insert(0, f"{fr_number(uncosted)} places manquantes non chiffrées ({labels} : pas "
                        "de modèle économique).")
    unplaced = fam["unplaced"].sum()
    if unplaced > 0.5:
        notes.insert(0, f"{fr_number(unplaced)} places manquantes non placées (aucune commune à "
                        "portée ne peut recevoir une opération de la taille minimale sans "
                        "dépasser la part retenue de ses ménages cibles) : non chiffrées.")
    return Board(
        title=f"{TITLE} — France, par région",
        horizon=int(result.options.horizon), fictional=bool(result.offer_fictional),
        regions=regions, france=france, comparisons=comparisons, notes=notes,
        offer_used=result.offer_used,
        # The reference's name, whole; its notes per family are in the workbook.
        reference=result.reference_method or "; ".join(sorted(set(result.reference.values()))),
        made=dt.date.today().strftime("%d/%m/%Y"),
    )


# -- PDF ---------------------------------------------------------------------------------------
def _f(value: float, fictional: bool, decimals: int = 0) -> str:
    text = fr_number(value, decimals)
    return f"{text} FICTIF" if fictional else text


def _meur(value: float, fictional: bool) -> str:
    text = fr_number(value / 1e6, 1) + "\u00a0M€"
    return f"{text} FICTIF" if fictional else text


def html(board: Board) -> str:
    from diagnostics.report import environment

    fic = board.fictional
    figures = []
    for family in FAMILIES:
        figures.append((f"Places manquantes — {FAMILY_SHORT[family]}",
                        _f(board.france[f"missing_{family}"], fic),
                        f"{fr_number(board.france[f'missing_low_{family}'])} à "
                        f"{fr_number(board.france[f'missing_high_{family}'])}"))
    figures += [
        ("Investissement", _meur(board.france["investment_central"], fic),
         f"{_meur(board.france['investment_low'], False)} à "
         f"{_meur(board.france['investment_high'], False)}"),
        ("Subvention de l'État (FNAP)", _meur(board.france["state_subsidy_central"], fic),
         f"{_meur(board.france['state_subsidy_low'], False)} à "
         f"{_meur(board.france['state_subsidy_high'], False)}"),
        ("Fonctionnement annuel en régime", _meur(board.france["running_central"], fic) + "/an",
         f"dont État {_meur(board.france['state_running_central'], False)}/an"),
    ]
    region_rows = [
        [row["Région"], *[_f(row[c], fic) for c in REGION_COLUMNS[:5]],
         *[_meur(row[c], fic) for c in REGION_COLUMNS[5:]]]
        for row in board.regions.to_dict("records")
    ]
    region_head = ["Région", *[FAMILY_SHORT[f] for f in FAMILIES], "places programmées",
                   "investissement", "subvention État (FNAP)", "fonctionnement /an",
                   "dont État /an", "déficit gestionnaires /an"]
    comparison_rows = [
        [row["Repère publié"], f"{fr_number(row['Valeur publiée'])} {row['Unité']}",
         fr_number(row["Par an (publié)"]), _f(row["Programme, par an"], fic),
         row["Date"], row["Source"]]
        for row in board.comparisons.to_dict("records")
    ]
    footer = re.sub(r"[\"<>\\']", "", f"Feuille pour les instances nationales — {board.made}")
    return environment().get_template("programme_board.html.j2").render(
        b=board, figures=figures, region_head=region_head, region_rows=region_rows,
        comparison_rows=comparison_rows, footer=footer,
        funders=", ".join(pc.SUBSIDY_FUNDERS))


def pdf_bytes(board: Board) -> bytes:
    import weasyprint

    from diagnostics.report import data_only_fetcher

    return weasyprint.HTML(string=html(board), url_fetcher=data_only_fetcher()).write_pdf()


# -- XLSX --------------------------------------------------------------------------------------
def xlsx_bytes(board: Board) -> bytes:
    """« Lisez-moi », « Régions » (totals as SUM formulas) and « Repères publiés » (per-year
    figures as formulas over « Régions » and the horizon)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    from diagnostics.operation_xlsx import safe_text

    bold = Font(bold=True)
    head = PatternFill("solid", fgColor="DDE6F0")
    wb = Workbook()
    readme = wb.active
    readme.title = "Lisez-moi"
    lines = [("Titre", board.title), ("Horizon (années)", board.horizon),
             ("Établie le", board.made), ("Offre utilisée par l'écart", board.offer_used),
             ("Référence de l'écart", board.reference),
             ("Modèle économique", "models/operation_parameters.yaml, évalué dans la commune de "
              "chaque opération (models/programme_costs.py)")]
    if board.fictional:
        lines.insert(1, ("FICTIF", "L'offre des adhérents est celle de la démonstration : les "
                         "places manquantes et tous les montants de ce classeur sont FICTIFS."))
    lines += [("Note", n) for n in board.notes]
    for r, (key, value) in enumerate(lines, start=1):
        readme.cell(r, 1, key).font = bold
        readme.cell(r, 2, safe_text(value) if isinstance(value, str) else value)
    readme.column_dimensions["A"].width = 28
    readme.column_dimensions["B"].width = 110

    sheet = wb.create_sheet("Régions")
    columns = ["Code", "Région", *REGION_COLUMNS, *(["FICTIF"] if board.fictional else [])]
    for c, name in enumerate(columns, start=1):
        cell = sheet.cell(1, c, name)
        cell.font, cell.fill = bold, head
        sheet.column_dimensions[get_column_letter(c)].width = 16 if c > 2 else 26
    n = len(board.regions)
    for r, row in enumerate(board.regions.to_dict("records"), start=2):
        sheet.cell(r, 1, safe_text(row["Code"]))
        sheet.cell(r, 2, safe_text(row["Région"]))
        for c, name in enumerate(REGION_COLUMNS, start=3):
            cell = sheet.cell(r, c, round(float(row[name]), 2))
            cell.number_format = '#,##0 "€"' if "€" in name else "#,##0.0"
        if board.fictional:
            sheet.cell(r, len(columns), "FICTIF")
    total = n + 2
    sheet.cell(total, 2, "France (somme des régions)").font = bold
    for c in range(3, 3 + len(REGION_COLUMNS)):
        letter = get_column_letter(c)
        cell = sheet.cell(total, c, f"=SUM({letter}2:{letter}{n + 1})")
        cell.font = bold
        cell.number_format = sheet.cell(2, c).number_format if n else "#,##0"
    if board.fictional:
        sheet.cell(total, len(columns), "FICTIF")
    horizon_row = total + 2
    sheet.cell(horizon_row, 2, "Horizon (années)").font = bold
    sheet.cell(horizon_row, 3, board.horizon)
    sheet.freeze_panes = "C2"

    refs = wb.create_sheet("Repères publiés")
    cols = ["Repère publié", "Valeur publiée", "Unité", "Années couvertes", "Par an (publié)",
            "Programme, par an", "Programme / repère", "Date", "Source", "Adresse",
            *(["FICTIF"] if board.fictional else [])]
    for c, name in enumerate(cols, start=1):
        cell = refs.cell(1, c, name)
        cell.font, cell.fill = bold, head
    widths = [60, 14, 10, 10, 14, 16, 12, 26, 60, 50, 8]
    for c, width in enumerate(widths[: len(cols)], start=1):
        refs.column_dimensions[get_column_letter(c)].width = width
    column_of = {name: get_column_letter(3 + i) for i, name in enumerate(REGION_COLUMNS)}
    places_column = column_of["Places programmées"]
    # Programme per year, as formulas over the « Régions » sheet and its horizon.
    family_places = {  # placed places are not per family in « Régions »: use the values
        f"places_{f}": None for f in FAMILIES}
    formulas = {
        "fnap_subsidy": f"='Régions'!{column_of[REGION_COLUMNS[6]]}{total}"
                        f"/'Régions'!C{horizon_row}",
        "places_plai": None, **family_places,
    }
    measures = board.comparisons["Programme, par an"].tolist()
    for r, (published, measure) in enumerate(zip(PUBLISHED, measures, strict=True), start=2):
        refs.cell(r, 1, published.label)
        refs.cell(r, 2, published.value).number_format = "#,##0"
        refs.cell(r, 3, published.unit)
        refs.cell(r, 4, published.years)
        refs.cell(r, 5, f"=B{r}/D{r}").number_format = "#,##0"
        formula = formulas.get(published.compare)
        cell = refs.cell(r, 6, formula if formula else round(float(measure), 1))
        cell.number_format = "#,##0"
        refs.cell(r, 7, f"=IF(E{r}>0,F{r}/E{r},\"\")").number_format = "0.00"
        refs.cell(r, 8, published.date)
        refs.cell(r, 9, published.source)
        refs.cell(r, 10, published.url)
        if board.fictional:
            refs.cell(r, 11, "FICTIF")
    note_row = len(PUBLISHED) + 3
    refs.cell(note_row, 1, "Programme, par an : places programmées de la famille (ou subvention "
              "de l'État) divisées par l'horizon ; la subvention est une formule sur « Régions ». "
              f"Places programmées en tout : ='Régions'!{places_column}{total}.")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# -- command line ------------------------------------------------------------------------------
def write(board: Board, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    stem = "feuille_instances_nationales" + ("_FICTIF" if board.fictional else "")
    pdf, xlsx = folder / f"{stem}.pdf", folder / f"{stem}.xlsx"
    pdf.write_bytes(pdf_bytes(board))
    xlsx.write_bytes(xlsx_bytes(board))
    return [pdf, xlsx]


def main(argv: list[str] | None = None) -> int:
    from geodata.store import StoreError
    from models import programme_run as run
    from models.results import ResultsUnavailable

    parser = argparse.ArgumentParser(prog="python -m diagnostics.programme_board",
                                     description="Feuille pour les instances nationales")
    parser.add_argument("--horizon", type=int, default=None, help="horizon en années")
    parser.add_argument("--out", default="rapports", help="dossier de sortie")
    args = parser.parse_args(argv)
    try:
        result = run.run("france", options=pg.load_options(horizon=args.horizon))
        paths = write(build(result), Path(args.out))
    except (pg.ProgrammeError, pc.ProgrammeCostError, ResultsUnavailable, StoreError,
            OSError, ValueError) as exc:
        print(f"Feuille non produite : {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
