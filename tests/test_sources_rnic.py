"""RNIC co-ownerships aggregated per commune (hand-made fixture, published column names)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from connectors.builders import get_source
from connectors.parsing import SchemaError
from connectors.refresh import Reference, carry_commune_table
from connectors.sources import rnic

FIXTURE = Path(__file__).parent / "fixtures" / "sources" / "rnic_fait_main.csv"


@pytest.fixture(scope="module")
def parsed():
    return rnic.parse(FIXTURE)


def test_streaming_in_chunks_gives_the_same_table(parsed):
    for size in (1, 3, 5):
        pd.testing.assert_frame_equal(rnic.parse(FIXTURE, chunksize=size).table, parsed.table)
    assert parsed.notes["coproprietes_lues"] == 13


def test_counts_per_commune(parsed):
    table = parsed.table.set_index("code")
    row = table.loc["93066"]
    assert row["copro_count"] == 3
    assert row["copro_lots"] == 120 + 40 + 12
    assert row["copro_dwelling_lots"] == 96 + 30 + 10
    assert row["copro_before_1949"] == 1 and row["copro_before_1975"] == 2
    assert row["copro_in_qpv"] == 1 and row["copro_aided"] == 1
    # An unreadable lot count makes the commune's total missing, not smaller.
    assert np.isnan(table.at["01053", "copro_lots"])
    assert table.at["01053", "copro_dwelling_lots"] == 15 + 12
    assert table.at["01053", "copro_period_known"] == 1  # "ENTRE_XX" counted as unknown


def test_rejects_keep_line_field_and_reason(parsed):
    rejects = parsed.rejects.frame()
    by_field = rejects.set_index("champ")
    assert by_field.at["code_officiel_commune", "valeur"] == "ABCDE"
    assert by_field.at["code_officiel_commune", "ligne"] == 12
    assert by_field.at["nombre_total_lots", "valeur"] == "beaucoup"
    assert "illisible" in by_field.at["periode_construction", "motif"]


def test_period_end():
    values = pd.Series(["AVANT_1949", "DE_1961_A_1974", "DE_1975_A_1993", "A_COMPTER_DE_2011",
                        "NON_CONNUE", ""])
    assert rnic.period_end(values).tolist()[:4] == [1948, 1974, 1993, 9999]
    assert rnic.period_end(values).iloc[4:].isna().all()


def test_carry_and_shares(parsed, store):
    carried, report = carry_commune_table(parsed.table, get_source("rnic"),
                                          Reference.from_store(store))
    table = rnic.derive(carried).set_index("code")
    # 93059 Pierrefitte is part of 93066 Saint-Denis; Paris arrondissements form 75056.
    saint_denis = table.loc["93066"]
    assert saint_denis["copro_count"] == 5
    assert saint_denis["copro_share_before_1975"] == pytest.approx(100 * 3 / 4)  # 1 unknown
    assert saint_denis["copro_share_qpv"] == pytest.approx(100 * 2 / 5)
    assert saint_denis["copro_share_aided"] == pytest.approx(100 * 2 / 5)
    assert table.at["75056", "copro_dwelling_lots"] == 40 + 70
    assert report.arrondissements_used == 2
    assert table.at["2A004", "copro_share_qpv"] == 100


def test_missing_column_is_named(tmp_path):
    text = FIXTURE.read_text(encoding="utf-8").replace("code_officiel_commune", "code_commune")
    path = tmp_path / "rnic.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SchemaError, match="code_officiel_commune"):
        rnic.parse(path)
