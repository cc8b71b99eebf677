"""Uploads that cannot hurt: a workbook bomb, too many rows, a giant cell, an oversized file
are refused before being read, with a French message (files hand-made in this test)."""

from __future__ import annotations

import io
import resource
import zipfile

import pytest

from operators import limits
from operators.importer import ImportFileError, prepare_import
from operators.limits import InputTooLarge, check_input

HEADER = "Opérateur;Nom;Code INSEE;Type;Nb places\n"


def workbook(sheet_xml: bytes, inflated_mb: int = 0) -> bytes:
    """A minimal XLSX-shaped zip (deflated) holding one worksheet, and optionally shared
    strings of ``inflated_mb`` MB written by chunks (the test itself stays small)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", b"<Types/>")
        book.writestr("xl/workbook.xml", b"<workbook/>")
        book.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if inflated_mb:
            with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as entry:
                chunk = b"A" * (1024 * 1024)
                for _ in range(inflated_mb):
                    entry.write(chunk)
    return buffer.getvalue()


def test_workbook_bomb_is_refused_before_inflating(store, monkeypatch):
    # The bound lowered to 40 MB to keep the test quick; the bomb: a few kB inflating to 60.
    monkeypatch.setattr(limits, "MAX_XLSX_UNCOMPRESSED_BYTES", 40 * 1024 * 1024)
    bomb = workbook(b"<worksheet><sheetData/></worksheet>", inflated_mb=60)
    assert len(bomb) < 1024 * 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ImportFileError, match=r"60 Mo une fois décompressé \(au plus 40 Mo\)"):
        prepare_import(bomb, "bombe.xlsx", geocoder=None)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100


def test_too_many_rows_are_refused_for_csv_and_xlsx(store):
    rows = limits.MAX_ROWS + 200
    data = (HEADER + "Asso;Site;23096;CHRS;1\n" * rows).encode()
    with pytest.raises(ImportFileError, match="plus de 200\u202f000 lignes"):
        prepare_import(data, "enorme.csv", geocoder=None)
    sheet = b"<worksheet><sheetData>" + b'<row r="1"><c r="A1"/></row>' * rows + b"</sheetData></worksheet>"
    with pytest.raises(InputTooLarge, match="plus de 200\u202f000 lignes"):
        check_input(workbook(sheet), "enorme.xlsx")


def test_row_counting_in_chunks_is_exact(monkeypatch):
    monkeypatch.setattr(limits, "_CHUNK", 7)  # tags cut across chunks everywhere
    monkeypatch.setattr(limits, "MAX_ROWS", 10)
    monkeypatch.setattr(limits, "_ROW_MARGIN", 0)
    ten = b"<sheetData>" + b'<row r="1"><c/></row>' * 10 + b"<x:row>" * 0 + b"</sheetData>"
    check_input(workbook(ten), "dix.xlsx")  # exactly the bound: accepted
    eleven = ten.replace(b"</sheetData>", b"<x:row r='11'/></sheetData>")
    with pytest.raises(InputTooLarge, match="11 au moins"):
        check_input(workbook(eleven), "onze.xlsx")


def test_a_giant_cell_is_refused(store):
    data = (HEADER + "Asso;" + "N" * (limits.MAX_LINE_CHARS + 10) + ";23096;CHRS;1\n").encode()
    with pytest.raises(ImportFileError, match="ligne 2 : plus de 100\u202f000 caractères"):
        prepare_import(data, "cellule.csv", geocoder=None)


def test_an_oversized_file_is_refused_before_being_read(store, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "gros.csv"
    path.write_bytes((HEADER + "Asso;Site;23096;CHRS;1\n" * 100).encode())
    with pytest.raises(ImportFileError, match="trop volumineux"):
        prepare_import(path, geocoder=None)
