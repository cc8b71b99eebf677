"""RPLS results per commune (hand-made workbook with the published sheet layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook

from connectors.builders import get_source
from connectors.parsing import ParseError, SchemaError
from connectors.refresh import Reference, carry_commune_table
from connectors.sources import rpls

FIXTURE = Path(__file__).parent / "fixtures" / "sources" / "rpls_communes_fait_main.xlsx"


@pytest.fixture(scope="module")
def parsed():
    return rpls.parse(FIXTURE)


def test_title_lines_codes_and_values(parsed):
    table = parsed.table.set_index("code")
    assert parsed.notes["onglet"] == "COMMUNES"
    assert "01053" in table.index  # stored as the number 1053 in the workbook
    assert table.at["01004", "social_dwellings"] == 1200
    assert table.at["01004", "social_dwellings_plai"] == 150
    assert table.at["01004", "social_vacancy_rate"] == 2.5
    assert np.isnan(table.at["2A004", "social_vacancy_3m_rate"])  # "s" in the workbook
    rejects = parsed.rejects.frame()
    assert rejects["valeur"].tolist() == ["TOTAL"]  # the total line is not a commune


def test_carry_reweights_rates_by_stock(parsed, store):
    carried, _report = carry_commune_table(parsed.table, get_source("rpls"),
                                          Reference.from_store(store))
    table = rpls.derive(carried).set_index("code")
    assert table.at["93066", "social_dwellings"] == 24_000
    assert table.at["93066", "social_vacancy_rate"] == pytest.approx((1.0 * 20_000 + 2.0 * 4_000)
                                                                     / 24_000)
    assert table.at["93066", "social_mobility_rate"] == pytest.approx((6 * 20_000 + 8 * 4_000)
                                                                      / 24_000)
    assert np.isnan(table.at["93066", "social_density"])  # no weight: missing, not guessed
    assert table.at["75056", "social_dwellings"] == 35_000
    assert table.at["01004", "social_plai_share"] == pytest.approx(12.5)


def test_renamed_stock_column_is_named(tmp_path):
    workbook = load_workbook(FIXTURE)
    sheet = workbook["COMMUNES"]
    for cell in sheet[6]:  # technical names on row 6, as published
        if cell.value == "nb_ls":
            cell.value = "nombre_ls"
    path = tmp_path / "rpls.xlsx"
    workbook.save(path)
    with pytest.raises(SchemaError, match="« nb_ls »"):
        rpls.parse(path)


ZIP_2025 = FIXTURE.parent / "rpls_2025_territoires_fait_main.zip"


def test_technical_names_on_row_6_under_french_labels(parsed):
    # Row 5 holds « Code commune », « Nombre de logements sociaux »…: never taken as header.
    assert parsed.columns["code"] == "DEPCOM_ARM"
    assert parsed.columns["social_dwellings_associations"] == "nb_asso"
    table = parsed.table.set_index("code")
    assert table.at["01004", "social_dwellings_associations"] == 24
    assert np.isnan(table.at["2A004", "social_dwellings_associations"])  # "s": secret


def test_associations_summed_over_arrondissements(parsed, store):
    carried, _ = carry_commune_table(parsed.table, get_source("rpls"), Reference.from_store(store))
    table = rpls.derive(carried).set_index("code")
    assert table.at["75056", "social_dwellings_associations"] == 300 + 200  # Paris 12e + 15e
    assert table.at["75056", "social_associations_share"] == pytest.approx(100 * 500 / 35_000)
    assert table.at["75056", "social_dwellings_qpv"] == 4_000


def test_2025_zip_of_territory_workbooks():
    parsed = rpls.parse(ZIP_2025)
    table = parsed.table.set_index("code")
    assert parsed.notes["classeurs"] == 2
    assert set(table.index) == {"01004", "01053", "93066", "93059", "75112", "75115"}
    assert table.at["93066", "social_dwellings_associations"] == 400
    rejects = parsed.rejects.frame()
    duplicate = rejects[rejects["motif"].str.contains("autre classeur")]
    assert duplicate["valeur"].tolist() == ["01004"]
    assert duplicate["champ"].str.contains("resultats_rpls_2025_").all()  # names its workbook


def test_zip_without_workbook_is_a_french_error(tmp_path):
    import zipfile

    path = tmp_path / "rpls_2025.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("LISEZMOI.txt", "rien")
    with pytest.raises(ParseError, match="aucun classeur"):
        rpls.parse(path)
