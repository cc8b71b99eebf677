"""Shared reading helpers: encodings, separators, header offsets, French numbers, codes."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest

from connectors.parsing import (
    Col,
    ParseError,
    Rejects,
    SchemaError,
    clean_codes,
    columns_by_year,
    find_header_line,
    keep_valid_codes,
    match_columns,
    normalize_name,
    read_csv_text,
    read_header,
    read_source_bytes,
    sniff_encoding,
    sniff_separator,
    to_bool,
    to_number,
)


def test_sniff_encoding_bom_utf8_and_latin1():
    assert sniff_encoding("\ufeffcode;nom\n".encode()) == "utf-8-sig"
    assert sniff_encoding("code;Ambérieu\n".encode()) == "utf-8"
    assert sniff_encoding("code;Ambérieu\n".encode("latin-1")) == "cp1252"
    # A probe cut in the middle of a multi-byte character is still UTF-8.
    assert sniff_encoding("abc é".encode()[:-1]) == "utf-8"


def test_sniff_separator_and_error():
    assert sniff_separator("a;b;c") == ";"
    assert sniff_separator("a,b,c") == ","
    with pytest.raises(ParseError, match="Séparateur"):
        sniff_separator("abc")


def test_read_csv_text_title_lines_padding_and_line_numbers():
    raw = (
        '"Titre du fichier","",""\n'
        '"","",""\n'
        '"Code Insee","Libellé","Valeur"\n'
        '"CODGEO","LIBGEO","VAL"\n'
        '"01001"," Ambérieu ","  12,5 "\n'
        '"2A004","Ajaccio","s"\n'
        '"","",""\n'
    ).encode("latin-1")
    frame = read_csv_text(raw, name="essai.csv", header=r"codgeo")
    assert list(frame.columns) == ["CODGEO", "LIBGEO", "VAL", "_line"]
    assert frame["CODGEO"].tolist() == ["01001", "2A004"]
    assert frame["LIBGEO"].tolist() == ["Ambérieu", "Ajaccio"]  # stripped, latin-1 decoded
    assert frame["VAL"].tolist() == ["12,5", "s"]
    assert frame["_line"].tolist() == [5, 6]  # file line numbers; the empty last row is gone


def test_read_csv_text_bom_and_padded_separator():
    raw = "\ufeff DEP ; LIB_DEP ; pp_vacant_25 \n 01 ; Ain ; 19 805   \n".encode()
    frame = read_csv_text(raw, name="lovac.csv")
    assert list(frame.columns[:3]) == ["DEP", "LIB_DEP", "pp_vacant_25"]
    assert frame.iloc[0, :3].tolist() == ["01", "Ain", "19 805"]


def test_find_header_line_missing():
    with pytest.raises(ParseError, match="en-tête introuvable"):
        find_header_line(["a;b", "c;d"], ";", r"codgeo")


def test_to_number_french_formats_secret_and_rejects():
    values = pd.Series(["1 234,5", "12,3 %", "s", "", "nd", "abc", "19\u00a0805", "-14,8", "7"])
    lines = pd.Series(range(2, 2 + len(values)))
    rejects = Rejects("f.csv")
    numbers = to_number(values, field_name="X", rejects=rejects, lines=lines)
    expected = [1234.5, 12.3, np.nan, np.nan, np.nan, np.nan, 19805.0, -14.8, 7.0]
    np.testing.assert_array_equal(numbers.to_numpy(), np.array(expected))
    # Secret and empty cells are missing without complaint; "abc" is reported with its line.
    frame = rejects.frame()
    assert frame[["ligne", "champ", "valeur"]].values.tolist() == [[7, "X", "abc"]]
    assert "non numérique" in frame["motif"].iloc[0]


def test_to_bool():
    values = pd.Series(["Oui", "non", "1", "0", "", "peut-être", "TRUE"])
    rejects = Rejects("f.csv")
    out = to_bool(values, field_name="F", rejects=rejects)
    assert out.tolist() == [True, False, True, False, pd.NA, pd.NA, True]
    assert rejects.frame()["valeur"].tolist() == ["peut-être"]


def test_clean_codes_restores_zeros_and_corsica():
    codes, valid = clean_codes(pd.Series(["1001", "01001", "2a004", "2B033", "1053.0", "ABCDE",
                                          " 75056 ", None]))
    assert codes.tolist()[:6] == ["01001", "01001", "2A004", "2B033", "01053", None]
    assert valid.tolist() == [True, True, True, True, True, False, True, False]
    deps, valid = clean_codes(pd.Series(["1", "2A", "971", "9A"]), kind="departement")
    assert deps.tolist()[:3] == ["01", "2A", "971"] and valid.tolist() == [True, True, True, False]


def test_keep_valid_codes_moves_invalid_rows_to_rejects():
    frame = pd.DataFrame({"code": ["01001", "TOTAL"], "_line": [2, 3]})
    rejects = Rejects("f.csv")
    out = keep_valid_codes(frame, "code", field_name="CODGEO", rejects=rejects)
    assert out["code"].tolist() == ["01001"]
    assert rejects.frame()[["ligne", "valeur"]].values.tolist() == [[3, "TOTAL"]]


def test_match_columns_latest_year_and_schema_error():
    columns = ["CODGEO", "P13_POP", "P18_POP", "MED21"]
    found, years = match_columns(
        columns,
        {"code": Col("codgeo", "CODGEO"), "pop": Col(r"p(?P<year>\d\d)_pop", "P<aa>_POP")},
        "base.csv",
    )
    assert found == {"code": "CODGEO", "pop": "P18_POP"} and years == {"pop": 2018}
    with pytest.raises(SchemaError) as error:
        match_columns(
            ["CODGEO", "MEDIANE21"],
            {"med": Col(r"med(?P<year>\d\d)", "MED21"), "opt": Col("x", "X", required=False)},
            "cc_filosofi_2021_COM.csv",
        )
    message = str(error.value)
    assert "cc_filosofi_2021_COM.csv" in message and "« MED21 »" in message
    assert "renommée" in message and "MEDIANE21" in message  # the renamed column is named
    assert error.value.missing == ["MED21"]


def test_columns_by_year_and_normalize():
    assert normalize_name(" Commune_carencée ") == "commune_carencee"
    assert normalize_name("Nombre_lls_ Inventaire_au_01_01_2024") == (
        "nombre_lls_inventaire_au_01_01_2024"
    )
    found = columns_by_year(["pp_vacant_25", "pp_vacant_24", "pp_vacant_plus_2ans_25"],
                            r"pp_vacant_(?P<year>\d{2})")
    assert found == {2024: "pp_vacant_24", 2025: "pp_vacant_25"}


def test_read_source_bytes_from_zip_skips_meta(tmp_path):
    archive = tmp_path / "base_CSV.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("meta_cc_filosofi_2021_COM.csv", "COD_VAR;LIB\n")
        handle.writestr("cc_filosofi_2021_COM.csv", "CODGEO;MED21\n01001;25820\n")
    raw, name = read_source_bytes(archive, r"cc_filosofi_\d{4}_com\.csv$")
    assert name == "cc_filosofi_2021_COM.csv" and raw.startswith(b"CODGEO")
    with pytest.raises(ParseError, match="ne contient pas"):
        read_source_bytes(archive, r"^absent\.csv$")
    with pytest.raises(ParseError, match="introuvable"):
        read_source_bytes(tmp_path / "nope.csv")


def test_read_header_of_large_file(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    assert read_header(path) == (["a", "b", "c"], ",", "utf-8")
