"""INSEE grille communale de densité 2025 (XLSX, header on the fifth line)."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from connectors.parsing import ParseError, read_excel_text
from connectors.sources import density


@pytest.fixture(scope="module")
def path(shared_data):
    return shared_data / "insee" / "grille_densite" / "fichier_diffusion_2025.xlsx"


@pytest.fixture(scope="module")
def raw(path):
    workbook = load_workbook(path, read_only=True)
    rows = list(workbook["Maille communale"].iter_rows(values_only=True))
    workbook.close()
    header = list(rows[4])
    return {row[0]: dict(zip(header, row, strict=True)) for row in rows[5:] if row[0]}


@pytest.fixture(scope="module")
def parsed(path):
    return density.parse(path)


def test_all_communes_with_levels_and_labels(parsed, raw):
    table = parsed.table.set_index("code")
    assert len(table) == len(raw) == 34_875
    for code in ["01001", "01004", "2A004", "75056", "97617"]:
        cells = raw[code]
        assert table.at[code, "density_7"] == cells["DENS7"]
        assert table.at[code, "density_7_label"] == cells["LIBDENS7"]
        assert table.at[code, "density_4"] == cells["DENS_AAV"]
        assert table.at[code, "density_4_label"] == cells["LIBDENS_AAV"]
        assert table.at[code, "density_3"] == cells["DENS"]
        assert table.at[code, "population_municipale"] == cells["PMUN22"]
    assert set(table["density_7"]) == set(range(1, 8))
    assert set(table["density_4"]) == {1, 2, 3, 4}
    assert parsed.notes["millesime_population"] == 2022


def test_missing_sheet_or_header(path):
    with pytest.raises(ParseError, match="en-tête introuvable"):
        read_excel_text(path, sheet="Documentation", header=r"codgeo")
