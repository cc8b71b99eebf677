"""An import read, validated and written block by block gives what a whole-file import gives.

The files are the hand-made fixtures of ``tests/fixtures/registry`` and small files written by
the tests themselves (fictional operators, real commune codes). A block of two or three rows
makes every boundary case happen: a site repeated in another block, rejected rows in several
blocks, an access refused in a later block.
"""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from operators.accounts import ROLE_OPERATOR, AccessDenied, Account
from operators.identity import operator_id
from operators.importer import ImportFileError, import_file
from operators.readers import open_table, read_table
from operators.repository import Registry
from tests.account_support import ADMIN
from tests.registry_support import FIXTURES, MESSY

HEADER = "Identifiant;Opérateur;Nom du site;Code INSEE;Type d'offre;Nombre de places;Confidentialité"


@pytest.fixture
def registry(tmp_path, store) -> Registry:
    return Registry(tmp_path / "registre.gpkg")


def comparable_sites(registry: Registry) -> pd.DataFrame:
    sites = pd.DataFrame(registry.sites(include_closed=True)).drop(columns="geometry")
    return sites.drop(columns=["created_at", "updated_at", "import_id"]).set_index("site_id")


def csv_file(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("name", MESSY)
def test_tiny_blocks_give_the_whole_file_result(name, store, tmp_path):
    whole_registry = Registry(tmp_path / "entier.gpkg")
    blocks_registry = Registry(tmp_path / "blocs.gpkg")
    whole = import_file(FIXTURES / name, whole_registry, geocoder=None,
                        rejects_dir=tmp_path / "entier", actor=ADMIN, block_rows=10_000)
    blocks = import_file(FIXTURES / name, blocks_registry, geocoder=None,
                         rejects_dir=tmp_path / "blocs", actor=ADMIN, block_rows=2)
    assert whole.rows_read > 4  # the file spans several blocks of two rows
    pd.testing.assert_frame_equal(blocks.outcomes, whole.outcomes)
    assert (blocks.imported, blocks.updated, blocks.unchanged, blocks.rejected,
            blocks.duplicates, blocks.rows_read, blocks.empty_rows) == (
        whole.imported, whole.updated, whole.unchanged, whole.rejected, whole.duplicates,
        whole.rows_read, whole.empty_rows)
    assert blocks.messages == whole.messages
    pd.testing.assert_frame_equal(comparable_sites(blocks_registry),
                                  comparable_sites(whole_registry))
    if whole.rejects_path is not None:
        assert blocks.rejects_path.read_bytes() == whole.rejects_path.read_bytes()
    log = blocks_registry.import_log().iloc[-1]
    assert (log["status"], log["rows_read"], log["rejected"]) == (
        "réussi", whole.rows_read, whole.rejected)


def test_duplicate_identifier_in_another_block_names_the_files_rows(registry, tmp_path):
    path = csv_file(tmp_path / "doublons.csv", [
        "A-1;Asso Test;Foyer Un;59350;CHRS;10;public",
        "A-2;Asso Test;Foyer Deux;59350;CHRS;12;public",
        "",  # an empty line: later rows keep their own line numbers
        "A-3;Asso Test;Foyer Trois;59350;CHRS;douze;public",
        "A-1;Asso Test;Foyer Un bis;59350;CHRS;10;public",
        "A-4;Asso Test;Foyer Quatre;59350;CHRS;8;public",
        "A-2;Asso Test;Foyer Deux bis;59350;CHRS;8;public",
    ])
    result = import_file(path, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN,
                         block_rows=2)
    assert (result.imported, result.rejected) == (3, 3)
    outcomes = result.outcomes.set_index("ligne")
    assert outcomes.loc["ligne 6", "detail"].startswith("ligne 6 : champ « identifiant » : « A-1 »"
                                                        " déjà donné à la ligne 2")
    assert "déjà donné à la ligne 3" in outcomes.loc["ligne 8", "detail"]
    assert outcomes.loc["ligne 5", "detail"].startswith(
        "ligne 5 : champ « capacité » : « douze » n'est pas un nombre")
    assert result.empty_rows == [4]
    assert registry.count_sites() == 3
    rejects = pd.read_csv(result.rejects_path, sep=";", dtype=str, encoding="utf-8-sig")
    assert rejects["ligne_source"].tolist() == ["ligne 5", "ligne 6", "ligne 8"]


def test_rejected_rows_of_every_block_are_kept_and_neutralised(registry, tmp_path):
    rows = []
    for k in range(7):
        kind = "CHRS" if k % 2 else "Hôtel de luxe"  # even rows rejected: not an insertion offer
        name = f'"=HYPERLINK(""http://x"",""site {k}"")"'
        rows.append(f"B-{k};Asso Test;{name};59350;{kind};5;public")
    path = csv_file(tmp_path / "formules.csv", rows)
    result = import_file(path, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN,
                         block_rows=3)
    assert (result.imported, result.rejected) == (3, 4)
    text = result.rejects_path.read_text(encoding="utf-8-sig")
    assert text.count("\n") == 5  # one header, four rows: every block's rejects, once each
    rejects = pd.read_csv(io.StringIO(text), sep=";", dtype=str)
    assert rejects["ligne_source"].tolist() == ["ligne 2", "ligne 4", "ligne 6", "ligne 8"]
    assert all(name.startswith("'=HYPERLINK") for name in rejects["Nom du site"])
    assert not list(tmp_path.glob(".*en-cours"))  # no temporary file left


def test_xlsx_read_in_blocks_gives_the_csv_result(store, tmp_path):
    rows = [
        "C-1;Asso Test;Foyer Un;59350;CHRS;10;public",
        "C-2;Asso Test;Foyer Deux;59350;Pension de famille;;confidentiel",
        "C-3;Asso Test;Foyer Trois;23096;CHRS;-4;public",
        "C-1;Asso Test;Foyer Un encore;59350;CHRS;10;public",
        "C-5;Asso Test;Foyer Cinq;59999;CHRS;3;public",
        "C-6;Asso Test;Foyer Six;23096;Résidence sociale;30;commune",
    ]
    csv_path = csv_file(tmp_path / "sites.csv", rows)
    book = openpyxl.Workbook()
    sheet = book.active
    for line in [HEADER, *rows]:
        sheet.append([int(c) if c.lstrip("-").isdigit() and len(c) < 4 else c
                      for c in line.split(";")])
    xlsx_path = tmp_path / "sites.xlsx"
    book.save(xlsx_path)
    from_csv = import_file(csv_path, Registry(tmp_path / "csv.gpkg"), geocoder=None,
                           rejects_dir=tmp_path / "csv", actor=ADMIN, block_rows=100)
    from_xlsx = import_file(xlsx_path, Registry(tmp_path / "xlsx.gpkg"), geocoder=None,
                            rejects_dir=tmp_path / "xlsx", actor=ADMIN, block_rows=2)
    assert from_csv.rejected == 3  # the repeated identifier, the negative capacity, the commune
    columns = ["ligne", "issue", "site_id", "detail", "commune_code", "signalements"]
    pd.testing.assert_frame_equal(from_xlsx.outcomes[columns], from_csv.outcomes[columns])


def test_a_foreign_site_in_a_later_block_refuses_the_whole_file(registry, tmp_path):
    other = csv_file(tmp_path / "autre.csv", ["D-9;Autre Asso;Foyer Autre;59350;CHRS;4;public"])
    import_file(other, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    mine = Account("op", ROLE_OPERATOR, operator_id=operator_id("Asso Test"),
                   operator_name="Asso Test")
    rows = [f"D-{k};Asso Test;Foyer {k};59350;CHRS;4;public" for k in range(5)]
    rows.append("D-9;Autre Asso;Foyer Autre;59350;CHRS;0;public")  # in the third block
    path = csv_file(tmp_path / "melange.csv", rows)
    with pytest.raises(AccessDenied, match="autres opérateurs : Autre Asso"):
        import_file(path, registry, geocoder=None, rejects_dir=tmp_path / "r", actor=mine,
                    block_rows=2)
    assert registry.count_sites() == 1  # the blocks written before were rolled back
    log = registry.import_log().iloc[-1]
    assert log["status"] == "échoué" and "AccessDenied" in log["message"]


def test_confidentiality_lowered_in_a_later_block_needs_confirmation(registry, tmp_path):
    rows = [f"E-{k};Asso Test;Foyer {k};59350;CHRS;4;confidentiel" for k in range(5)]
    import_file(csv_file(tmp_path / "v1.csv", rows), registry, geocoder=None,
                rejects_dir=tmp_path, actor=ADMIN)
    rows[4] = rows[4].replace("confidentiel", "public")
    path = csv_file(tmp_path / "v2.csv", rows)
    with pytest.raises(AccessDenied, match=r"moins confidentiel\(s\) 1 site"):
        import_file(path, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN,
                    block_rows=2)
    assert set(registry.sites()["confidentiality"]) == {"confidentiel"}
    result = import_file(path, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN,
                         block_rows=2, confirm_disclosure=True)
    assert (result.updated, result.unchanged) == (5, 4)
    assert "Levée de confidentialité" in registry.import_log().iloc[-1]["message"]


def test_probable_duplicates_are_settled_once_the_whole_file_is_seen(store, tmp_path):
    """A site of block 1 resembling a registry site that block 3 re-imports is no probable
    duplicate (that site is the file's own), as in a whole-file import; one resembling a
    registry site absent from the file is."""
    first = [f"H-{k};Asso Test;Foyer {k};59350;CHRS;4;public" for k in range(5)]
    first.append("H-9;Asso Test;Maison Relais des Près;59350;Pension de famille;9;public")
    later = [
        "X-1;Autre Asso;Foyer 3;59350;CHRS;6;public",  # like H-3, which the file brings again
        "X-2;Autre Asso;Maison Relais des Prés;59350;Pension de famille;7;public",  # like H-9
        *first[:5],  # re-imported: H-0…H-4 are the file's own sites
    ]
    results = {}
    for rows_per_block in (2, 100):
        registry = Registry(tmp_path / f"r{rows_per_block}.gpkg")
        import_file(csv_file(tmp_path / "v1.csv", first), registry, geocoder=None,
                    rejects_dir=tmp_path, actor=ADMIN)
        results[rows_per_block] = (import_file(
            csv_file(tmp_path / "v2.csv", later), registry, geocoder=None, rejects_dir=tmp_path,
            actor=ADMIN, block_rows=rows_per_block), comparable_sites(registry))
    (blocks, blocks_sites), (whole, whole_sites) = results[2], results[100]
    assert (whole.imported, whole.unchanged, whole.duplicates) == (2, 5, 1)
    pd.testing.assert_frame_equal(blocks.outcomes, whole.outcomes)
    assert (blocks.imported, blocks.updated, blocks.unchanged, blocks.duplicates) == (
        whole.imported, whole.updated, whole.unchanged, whole.duplicates)
    pd.testing.assert_frame_equal(blocks_sites, whole_sites)
    flagged = blocks.outcomes.set_index("ligne")
    assert flagged.loc["ligne 2", "doublon_de"] is None
    assert "doublon probable" in flagged.loc["ligne 3", "signalements"]


def test_an_empty_body_is_refused_in_french(registry, tmp_path):
    path = tmp_path / "vide.csv"
    path.write_text(HEADER + "\n\n;;;\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="aucune ligne de données sous l'en-tête"):
        import_file(path, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN,
                    block_rows=2)
    assert registry.import_log().iloc[-1]["status"] == "échoué"


def test_streamed_blocks_hold_the_files_line_numbers(tmp_path):
    text = (
        "Registre des sites (titre)\n\n"
        + HEADER + "\n"
        + 'G-1;Asso Test;"Foyer sur\ndeux lignes";59350;CHRS;4;public\n'
        + "\n"
        + "G-2;Asso Test;Foyer;59350;CHRS;4;public\n"
        + "G-3;Asso Test;Foyer;59350;CHRS;4;public;en trop\n"
        + "G-4;Asso Test;Foyer;59350;CHRS;4;public\n"
    )
    data = text.encode("cp1252")
    stream = open_table(data, "lignes.csv", block_rows=2)
    try:
        blocks = list(stream.blocks)
    finally:
        stream.close()
    whole = read_table(data, "lignes.csv")
    assert [b.row_numbers for b in blocks] == [[4, 7], [8, 9]]
    assert [n for b in blocks for n in b.row_numbers] == whole.row_numbers
    assert blocks[1].row_errors == {0: whole.row_errors[2]}  # positions are the block's
    assert stream.head.header_row == whole.header_row == 3
    assert stream.head.empty_rows == whole.empty_rows == [6]  # below the header only
    assert stream.head.encoding == whole.encoding == "latin-1 (Windows-1252)"
    assert stream.head.describe_fr() == whole.describe_fr()
    pd.testing.assert_frame_equal(
        pd.concat([b.frame for b in blocks], ignore_index=True), whole.frame)
