"""The national board sheet (diagnostics/programme_board.py) on the project's store and the
FICTIF demo registry: 2 pages, FICTIF beside every figure resting on the demo offer, the
published orders of magnitude with date and source, an XLSX whose totals are formulas."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest
from openpyxl import load_workbook

from diagnostics import programme_board as pb
from models import programme_run as run

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                reason="poppler-utils absent : lancez `make system`")


@pytest.fixture(scope="module")
def board(store_module):
    result = run.run("france", store_module)
    return result, pb.build(result)


@pytest.fixture(scope="module")
def store_module():
    from geodata.store import Store

    return Store()


@pytest.fixture(scope="module")
def pdf(board, tmp_path_factory):
    path = tmp_path_factory.mktemp("board") / "feuille.pdf"
    path.write_bytes(pb.pdf_bytes(board[1]))
    return path


def test_two_pages_with_sources_and_dates(pdf, board):
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"Pages:\s+2\b", info.stdout)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    for published in pb.PUBLISHED:
        assert published.date.split()[0] in text
    assert "Banque des Territoires" in text and "Sénat" in text and "AEF info" in text
    for name in board[1].regions["Région"].head(5):
        assert name.split("-")[0] in text


def test_fictif_beside_every_figure(pdf, board):
    _, sheet = board
    if not sheet.fictional:
        pytest.skip("registre réel : pas d'offre de démonstration")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    page1 = text.split("\f")[0]
    # Every figure of the regions' table (places and amounts) carries FICTIF: one per cell.
    rows = [line for line in page1.splitlines()
            if any(line.strip().startswith(name[:12]) for name in sheet.regions["Région"])]
    assert len(rows) == len(sheet.regions)
    for line in rows:
        assert line.count("FICTIF") == len(pb.REGION_COLUMNS), line
    # The key figures too (value then FICTIF), and the banner.
    assert "FICTIF — l'offre des adhérents est celle de la démonstration" in page1
    assert page1.count("FICTIF") >= len(rows) * len(pb.REGION_COLUMNS) + 7 + 1
    page2 = text.split("\f")[1]
    programme_cells = [line for line in page2.splitlines() if "Plan Logement" in line
                       or "FNAP :" in line]
    assert programme_cells and all("FICTIF" in line for line in programme_cells)


def test_figures_are_the_programme_s(board):
    result, sheet = board
    totals = result.totals("central")
    assert sheet.regions["Investissement (€)"].sum() == pytest.approx(totals["investment"])
    assert sheet.regions["Subvention de l'État — FNAP (€)"].sum() == pytest.approx(
        totals["state_subsidy"])
    assert sheet.france["investment_low"] <= sheet.france["investment_central"] <= sheet.france[
        "investment_high"]


def test_xlsx_totals_and_comparisons_are_formulas(board):
    _, sheet = board
    book = load_workbook(io.BytesIO(pb.xlsx_bytes(sheet)))
    regions = book["Régions"]
    last = len(sheet.regions) + 2
    assert str(regions.cell(last, 3).value).startswith("=SUM(C2:C")
    refs = book["Repères publiés"]
    assert refs.cell(2, 5).value == "=B2/D2"
    fnap = next(r for r in range(2, refs.max_row + 1)
                if refs.cell(r, 1).value and "FNAP : enveloppe" in refs.cell(r, 1).value)
    assert str(refs.cell(fnap, 6).value).startswith("='Régions'!")
    if sheet.fictional:
        assert "FICTIF" in book["Lisez-moi"]["A2"].value
        assert regions.cell(2, len(pb.REGION_COLUMNS) + 3).value == "FICTIF"
