"""LOVAC private vacant dwellings: per département (real file), per commune (hand-made)."""

from __future__ import annotations

import numpy as np
import pytest

from connectors.builders import get_source
from connectors.parsing import SchemaError
from connectors.refresh import Reference, carry_commune_table
from connectors.sources import lovac

COMMUNES = "lovac_communes_fait_main.csv"  # hand-made, structure of lovac-opendata-communes


def raw_departements(path) -> dict[str, list[str]]:
    lines = path.read_bytes().decode("latin-1").splitlines()
    header = [c.strip() for c in lines[0].split(";")]
    return {cells[0]: dict(zip(header, cells, strict=True)) for cells in
            ([c.strip() for c in line.split(";")] for line in lines[1:])}


def test_departements_thousands_separated_by_spaces(shared_data):
    path = shared_data / "context" / "lovac_opendata_dep.csv"
    raw = raw_departements(path)
    parsed = lovac.parse_departements(path)
    table = lovac.derive(parsed.table).set_index("code")
    assert len(table) == len(raw) == 101
    assert raw["01"]["pp_vacant_25"] == "19 805"
    for code in ["01", "2A", "976"]:
        assert table.at[code, "private_vacant"] == float(raw[code]["pp_vacant_25"].replace(" ", ""))
        assert table.at[code, "private_dwellings"] == float(raw[code]["pp_total_24"].replace(" ", ""))
        assert table.at[code, "private_vacant_2020"] == float(
            raw[code]["pp_vacant_20"].replace(" ", ""))
    assert table.at["07", "name"] == "Ardèche"  # latin-1 decoded
    assert parsed.notes["annee_la_plus_recente"] == {
        "private_vacant": 2025, "private_vacant_long": 2025, "private_dwellings": 2024}
    # The rate uses the latest year where both counts exist (2024), not 2025 over 2024.
    assert table.at["01", "private_vacancy_rate"] == pytest.approx(100 * 31_661 / 293_837)


def test_communes_secret_and_carry(fixtures_dir, store):
    parsed = lovac.parse_communes(fixtures_dir / COMMUNES)
    table = parsed.table.set_index("code")
    assert np.isnan(table.at["01001", "private_vacant"])  # "s": secret, missing not zero
    assert table.at["01001", "private_vacant_2024"] == 21
    assert "01053" in table.index  # "1053": leading zero restored
    assert table.at["93066", "private_dwellings"] == 37_400
    reference = Reference.from_store(store)
    carried, _report = carry_commune_table(parsed.table, get_source("lovac_com"), reference)
    out = lovac.derive(carried).set_index("code")
    assert out.at["93066", "private_vacant"] == 2_950 + 610
    assert out.at["93066", "private_vacant_2023"] == 3_200 + 670
    assert out.at["93066", "private_vacancy_rate"] == pytest.approx(
        100 * (3_120 + 650) / (37_400 + 9_700))
    assert np.isnan(out.at["01001", "private_vacancy_long_rate"])


def test_missing_measure_is_a_schema_error(tmp_path, fixtures_dir):
    text = (fixtures_dir / COMMUNES).read_bytes().decode("latin-1")
    broken = tmp_path / "lovac.csv"
    broken.write_bytes(text.replace("pp_vacant_plus_2ans", "pp_vac_longue").encode("latin-1"))
    with pytest.raises(SchemaError, match="pp_vacant_plus_2ans_<aa>"):
        lovac.parse_communes(broken)


@pytest.fixture(scope="module")
def fixtures_dir():
    from pathlib import Path

    return Path(__file__).parent / "fixtures" / "sources"


def test_communes_columns_of_the_published_layout(fixtures_dir):
    # CODGEO_25, pp_vacant_25, pp_vacant_plus_2ans_25, pp_total_24 (issue layout).
    parsed = lovac.parse_communes(fixtures_dir / COMMUNES)
    assert parsed.columns["code"] == "CODGEO_25"
    assert parsed.columns["private_vacant"] == "pp_vacant_25"
    assert parsed.columns["private_vacant_long"] == "pp_vacant_plus_2ans_25"
    assert parsed.columns["private_dwellings"] == "pp_total_24"
