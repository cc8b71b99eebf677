"""INSEE Filosofi per commune (2019, 2020, 2021) and per IRIS (2021), on the real files."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from connectors.builders import get_source
from connectors.parsing import COMMUNE_CODE, ParseError, SchemaError
from connectors.refresh import Reference, carry_commune_table
from connectors.sources import filosofi

FILES = {
    2019: "cc_filosofi_2019_COM.CSV",
    2020: "cc_filosofi_2020_COM.csv",
    2021: "cc_filosofi_2021_COM.csv",
}


def raw_rows(path) -> dict[str, dict[str, str]]:
    """The official file read independently (csv module), keyed by CODGEO."""
    with open(path, encoding="ascii", newline="") as handle:
        return {row["CODGEO"]: row for row in csv.DictReader(handle, delimiter=";")}


NOT_PUBLISHED = ("", "s", "nd")  # secret ("s", or empty in 2019) and not available ("nd")


def official_number(cell: str) -> float:
    return np.nan if cell in NOT_PUBLISHED else float(cell.replace(",", "."))


@pytest.fixture(scope="module")
def parsed(shared_data):
    folder = shared_data / "insee" / "filosofi"
    return {year: filosofi.parse_commune(folder / name, year) for year, name in FILES.items()}


@pytest.mark.parametrize("year", sorted(FILES))
def test_values_equal_the_official_file(parsed, shared_data, year):
    raw = raw_rows(shared_data / "insee" / "filosofi" / FILES[year])
    table = parsed[year].table.set_index("code")
    yy = str(year)[2:]
    assert len(table) == len(raw)
    assert len(parsed[year].rejects) == 0
    for code in ["01004", "2A004", "93066", "75056", "13055"]:
        for column, variable in [("households", "NBMENFISC"), ("median_income", "MED"),
                                 ("poverty_rate", "TP60"), ("d1_income", "D1"),
                                 ("d9_income", "D9"), ("social_benefits_share", "PPSOC")]:
            expected = official_number(raw[code][f"{variable}{yy}"])
            np.testing.assert_equal(table.at[code, column], expected, err_msg=f"{code} {column}")


@pytest.mark.parametrize("year", sorted(FILES))
def test_secret_cells_are_missing_not_zero(parsed, shared_data, year):
    raw = raw_rows(shared_data / "insee" / "filosofi" / FILES[year])
    table = parsed[year].table.set_index("code")
    yy = str(year)[2:]
    secret = [code for code, row in raw.items() if row[f"TP60{yy}"] in NOT_PUBLISHED]
    assert len(secret) > 25_000  # the poverty rate is published for a few thousand communes
    assert table.loc[secret, "poverty_rate"].isna().all()
    assert table["poverty_rate"].notna().sum() == len(raw) - len(secret)
    assert (table["poverty_rate"] == 0).sum() == sum(
        row[f"TP60{yy}"] in ("0", "0,0", "0.0") for row in raw.values()
    )


def test_known_counts_of_2021(parsed):
    table = parsed[2021].table
    # As documented with the shared files: 34,909 communes, MED21 known for 31,304.
    assert len(table) == 34_909
    assert table["median_income"].notna().sum() == 31_304
    assert table["poverty_rate"].notna().sum() == 4_397
    assert parsed[2021].notes["millesime_revenus"] == 2021


def test_codes_are_strings_including_corsica(parsed):
    codes = parsed[2021].table["code"]
    assert pd.api.types.is_string_dtype(codes)
    assert codes.str.fullmatch(COMMUNE_CODE.pattern).all()
    assert {"2A004", "2B033", "01001"} <= set(codes)


def test_2019_decimal_point_and_empty_secret(parsed, shared_data):
    raw = raw_rows(shared_data / "insee" / "filosofi" / FILES[2019])
    table = parsed[2019].table.set_index("code")
    assert raw["01004"]["PPSOC19"] == "7.7"
    assert table.at["01004", "social_benefits_share"] == 7.7
    assert raw["01001"]["TP6019"] == "" and np.isnan(table.at["01001", "poverty_rate"])


def test_wrong_vintage_is_refused(shared_data):
    with pytest.raises(ParseError, match=r"millésime 2020 trouvé.*2021 attendu"):
        filosofi.parse_commune(shared_data / "insee" / "filosofi" / FILES[2020], 2021)


def test_schema_change_names_the_missing_column(shared_data, tmp_path):
    lines = (shared_data / "insee" / "filosofi" / FILES[2021]).read_text().splitlines()
    header = lines[0].split(";")
    drop = header.index("MED21")
    edited = [";".join(c for i, c in enumerate(line.split(";")) if i != drop) for line in lines[:50]]
    path = tmp_path / "cc_filosofi_2021_COM.csv"
    path.write_text("\n".join(edited))
    with pytest.raises(SchemaError) as error:
        filosofi.parse_commune(path, 2021)
    assert "MED<aa>" in str(error.value) and "cc_filosofi_2021_COM.csv" in str(error.value)


def test_carry_2021_pierrefitte_into_saint_denis(parsed, store, shared_data):
    """Filosofi 2021 is on the 2023 geography: 93059 Pierrefitte is now part of 93066."""
    raw = raw_rows(shared_data / "insee" / "filosofi" / FILES[2021])
    reference = Reference.from_store(store)
    carried, report = carry_commune_table(
        parsed[2021].table, get_source("filosofi_2021_com"), reference
    )
    row = carried.set_index("code").loc["93066"]
    parts = [raw["93066"], raw["93059"]]
    households = [float(p["NBMENFISC21"]) for p in parts]
    persons = [float(p["NBPERSMENFISC21"]) for p in parts]
    rates = [official_number(p["TP6021"]) for p in parts]
    assert row["households"] == sum(households)
    # A poverty rate is a share of persons: re-weighted by the persons of fiscal households.
    assert row["poverty_rate"] == pytest.approx(np.dot(rates, persons) / sum(persons))
    assert row["poverty_rate"] != pytest.approx(np.dot(rates, households) / sum(households))
    assert bool(row["cog_merged"]) is True
    assert "93059" not in set(carried["code"])
    assert report.merged_codes["93066"] == ["93059", "93066"]
    # A secret rate in any part keeps the merged rate missing.
    merged_secret = [c for c, parts in report.merged_codes.items()
                     if any(raw[p]["TP6021"] == "s" for p in parts if p in raw)]
    assert carried.set_index("code").loc[merged_secret, "poverty_rate"].isna().all()
    assert len(report.unmatched) == 0
    assert set(carried["code"]) <= set(reference.current_codes)


def test_iris_file_and_honest_commune_aggregate(shared_data):
    path = shared_data / "insee" / "filosofi" / "BASE_TD_FILO_IRIS_2021_DEC.csv"
    parsed = filosofi.parse_iris(path)
    detail = parsed.details["detail"]
    with open(path, encoding="ascii", newline="") as handle:
        raw = list(csv.DictReader(handle, delimiter=";"))
    assert len(detail) == len(raw) == 16_026
    assert detail["code"].nunique() == 1_887
    assert parsed.table["iris_count"].sum() == len(raw)
    # "ns", "nd", "so" mean not published / not applicable: missing, and not reported as errors.
    assert len(parsed.rejects) == 0
    published = [float(r["DEC_MED21"]) for r in raw if r["IRIS"].startswith("01053")
                 and r["DEC_MED21"] not in ("ns", "nd", "so", "s", "")]
    row = parsed.table.set_index("code").loc["01053"]
    assert row["iris_median_income_min"] == min(published)
    assert row["iris_median_income_max"] == max(published)
    unpublished = [r["IRIS"] for r in raw if r["DEC_MED21"] in ("ns", "nd")]
    assert unpublished and detail.set_index("iris").loc[unpublished, "median_income"].isna().all()
