"""SRU inventory: two editions with different layouts (hand-made fixtures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from connectors.builders import get_source
from connectors.parsing import SchemaError
from connectors.refresh import Reference, carry_commune_table
from connectors.sources import sru

FOLDER = Path(__file__).parent / "fixtures" / "sources"


def test_edition_2025_windows_1252_semicolon():
    parsed = sru.parse(FOLDER / "sru_2025_fait_main.csv")
    table = parsed.table.set_index("code")
    assert parsed.notes["inventaire_au"] == "01/01/2024"
    assert table.at["42218", "name"] == "SAINT-ÉTIENNE"  # Windows-1252 decoded
    assert table.at["93066", "sru_rate"] == 45.12
    assert table.at["06088", "sru_levy"] == 1_234_567.89  # "1 234 567,89"
    assert bool(table.at["2A004", "sru_carence"]) and bool(table.at["2A004", "sru_deficit"])
    assert np.isnan(table.at["01053", "sru_rate"])  # "nd": not available
    # A rate above 100 % is kept as published and reported.
    assert table.at["05061", "sru_rate"] == 2126
    motifs = parsed.rejects.frame()["motif"].tolist()
    assert any("supérieur à 100 %" in m for m in motifs)
    assert any("ni oui ni non" in m for m in motifs)


def test_edition_2024_comma_blank_line_and_other_names():
    parsed = sru.parse(FOLDER / "sru_2024_fait_main.csv")
    table = parsed.table.set_index("code")
    assert parsed.notes["inventaire_au"] == "01/01/2023"
    assert parsed.columns["sru_deficit"] == "Commune_déficitaire_2024"
    assert table.at["93066", "sru_rate"] == 44.9
    assert bool(table.at["2A004", "sru_carence"]) is True
    assert list(table.columns) == list(sru.parse(FOLDER / "sru_2025_fait_main.csv").table
                                       .set_index("code").columns)


def test_carry_fill_and_gap(store):
    parsed = sru.parse(FOLDER / "sru_2025_fait_main.csv")
    reference = Reference.from_store(store)
    carried, _ = carry_commune_table(parsed.table, get_source("sru"), reference)
    table = sru.derive(carried).set_index("code")
    assert len(table) == len(reference.current_codes)
    assert bool(table.at["01001", "sru_subject"]) is False  # not in the inventory
    assert np.isnan(table.at["01001", "sru_rate"])
    assert table.at["93066", "sru_social_dwellings"] == 35_000
    assert table.at["93066", "sru_rate"] == pytest.approx((45.12 * 150_000 + 40.5 * 31_000)
                                                          / 181_000)
    assert table.at["2A004", "sru_gap_points"] == pytest.approx(20 - 14.3)
    assert table.at["93066", "sru_gap_points"] == 0


def test_renamed_rate_column_is_an_unknown_layout(tmp_path):
    text = (FOLDER / "sru_2025_fait_main.csv").read_bytes().decode("cp1252")
    path = tmp_path / "sru.csv"
    path.write_bytes(text.replace("Taux_SRU_au_01_01_2024", "Taux_2024").encode("cp1252"))
    with pytest.raises(SchemaError, match=r"mise en forme de l'inventaire SRU inconnue.*"
                                          r"la plus proche : 2025.*« Taux_SRU_au_01_01_2024 »"):
        sru.parse(path)


def test_edition_2023_comma_no_levy():
    parsed = sru.parse(FOLDER / "sru_2023_fait_main.csv")
    table = parsed.table.set_index("code")
    assert parsed.notes["edition"] == 2023 and parsed.notes["inventaire_au"] == "01/01/2022"
    assert parsed.columns["sru_carence"] == "Commune_carencee_2023_2025"
    assert table.at["93066", "sru_rate"] == 44.1
    assert bool(table.at["2A004", "sru_carence"]) is True
    assert table.at["42218", "name"] == "SAINT-ÉTIENNE"  # Windows-1252
    assert table["sru_levy"].isna().all()  # no levy column in 2023: missing, not zero


def test_edition_2026_semicolon_new_names():
    parsed = sru.parse(FOLDER / "sru_2026_fait_main.csv")
    table = parsed.table.set_index("code")
    assert parsed.notes["edition"] == 2026 and parsed.notes["inventaire_au"] == "01/01/2025"
    assert parsed.columns["sru_target"] == "Taux_cible_commune"
    assert parsed.columns["sru_deficit"] == "commune_deficitaire_au_01-01-2025"
    assert table.at["2A004", "sru_levy"] == 260_000.5
    assert bool(table.at["06088", "sru_deficit"]) and not bool(table.at["06088", "sru_carence"])


@pytest.mark.parametrize("edition", [2023, 2024, 2025, 2026])
def test_each_layout_is_mapped_explicitly(edition):
    layout = sru.LAYOUTS[edition]
    assert layout.separator == ("," if edition <= 2024 else ";")
    assert layout.blank_line_before_header is (edition == 2024)
    parsed = sru.parse(FOLDER / f"sru_{edition}_fait_main.csv")
    assert parsed.notes["edition"] == edition
    raw = (FOLDER / f"sru_{edition}_fait_main.csv").read_bytes()
    raw.decode("cp1252")  # every fixture is Windows-1252, as published


def test_a_file_that_is_not_the_inventory(tmp_path):
    path = tmp_path / "sru.csv"
    path.write_bytes("Code_INSEE_commune;Autre\n93066;1\n".encode("cp1252"))
    with pytest.raises(SchemaError, match="éditions connues : 2023, 2024, 2025, 2026"):
        sru.parse(path)
