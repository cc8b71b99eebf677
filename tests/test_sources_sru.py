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


def test_missing_rate_column(tmp_path):
    text = (FOLDER / "sru_2025_fait_main.csv").read_bytes().decode("cp1252")
    path = tmp_path / "sru.csv"
    path.write_bytes(text.replace("Taux_SRU_au_01_01_2024", "Taux_2024").encode("cp1252"))
    with pytest.raises(SchemaError, match="Taux_SRU_au_01_01_<aaaa>"):
        sru.parse(path)
