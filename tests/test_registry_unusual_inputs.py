"""Broken and unusual members' files: each one a French message naming the row and the field,
never a traceback; capacities with their unit, an EPCI SIREN as a service's area, tick marks.

Every input here is hand-made inline (no official file).
"""

from __future__ import annotations

import json
import os
import time

import pytest

from operators import __main__ as cli
from operators.importer import (
    KEEP_REJECTS,
    ImportFileError,
    import_file,
    prepare_import,
    write_rejects,
)
from operators.readers import read_table
from operators.repository import Registry
from tests.account_support import ADMIN

HEADER = "operateur;code_commune;type_offre;capacite;statut;confidentialite"


def _prepare(data: bytes, name: str):
    return prepare_import(data, name, geocoder=None)


def _feature(geometry, properties) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def _collection(*features, crs: str | None = None) -> bytes:
    document = {"type": "FeatureCollection", "features": list(features)}
    if crs:
        document["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(document).encode()


GOOD = {"operateur": "Asso test", "code_commune": "23096", "type_offre": "pension de famille",
        "capacite": "12", "statut": "ouvert", "confidentialite": "public"}


def test_non_zip_file_named_xlsx(store):
    with pytest.raises(ImportFileError, match=r"« faux\.xlsx ».*pas un classeur Excel"):
        _prepare(b"operateur;code\nA;23096\n", "faux.xlsx")


@pytest.mark.parametrize(("feature", "field", "text"), [
    (_feature("POINT(1.87 46.17)", GOOD), "géométrie", "géométrie illisible"),
    (_feature(None, "operateur=Asso test"), "properties", "doit être un objet"),
    (_feature({"type": "Point", "coordinates": {"x": 1.87, "y": 46.17}}, GOOD), "géométrie",
     "une liste [lon, lat] attendue"),
])
def test_malformed_geojson_entities_are_rejected_by_row_and_field(store, feature, field, text):
    good = _feature({"type": "Point", "coordinates": [1.8717, 46.1706]}, GOOD)
    prepared = _prepare(_collection(good, feature), "sites.geojson")
    assert len(prepared.sites) == 1
    assert set(prepared.rejects) == {1}
    reason = prepared.rejects[1]
    assert reason.startswith("entité 2 : ") and f"champ « {field} »" in reason and text in reason


def test_geojson_feature_written_as_a_list(store):
    good = _feature({"type": "Point", "coordinates": [1.8717, 46.1706]}, GOOD)
    data = json.dumps({"type": "FeatureCollection", "features": [good, ["Feature", 1]]}).encode()
    prepared = _prepare(data, "liste.geojson")
    assert prepared.rejects[1].startswith("entité 2 : entité GeoJSON illisible")


def test_geojson_with_an_unknown_epsg(store):
    good = _feature({"type": "Point", "coordinates": [1.8717, 46.1706]}, GOOD)
    with pytest.raises(ImportFileError, match=r"EPSG:999999 inconnu"):
        _prepare(_collection(good, crs="urn:ogc:def:crs:EPSG::999999"), "crs.geojson")
    with pytest.raises(ImportFileError, match=r"non reconnu"):
        _prepare(_collection(good, crs="Lambert maison"), "crs.geojson")


def test_csv_cell_over_128_kb(store):
    long_comment = "x" * 200_000
    data = (f"{HEADER};commentaire\n"
            f"Asso test;23096;pension de famille;12;ouvert;public;\"{long_comment}\"\n").encode()
    # The sniffer no longer crashes on such a cell (geodata.files); the upload bounds of the
    # registry (operators.limits) then refuse the line with a French message naming it.
    with pytest.raises(ImportFileError, match=r"ligne 2 : plus de 100.000 caractères"):
        _prepare(data, "long.csv")


def test_header_only_csv_in_the_cli(store, tmp_path, capsys):
    path = tmp_path / "entete_seule.csv"
    path.write_text(HEADER + "\n", encoding="utf-8")
    code = cli.main(["--base", str(tmp_path / "r.gpkg"), "import", str(path), "--sans-geocodage"])
    err = capsys.readouterr().err
    assert code == 1 and "aucune ligne de données sous l'en-tête (ligne 1)" in err


def test_capacity_written_with_its_unit(store):
    rows = ["Asso;23096;pension de famille;12 places;ouvert;public",
            "Asso;23096;résidence sociale;25 lits;ouvert;public",
            "Asso;23096;pension de famille;douze;ouvert;public"]
    prepared = _prepare((HEADER + "\n" + "\n".join(rows) + "\n").encode(), "unites.csv")
    sites = prepared.sites.set_index("row_label")
    assert sites.loc["ligne 2", "capacity"] == 12 and sites.loc["ligne 3", "capacity"] == 25
    assert sites.loc["ligne 2", "capacity_unit"] == "places"
    assert "« 12 places » lue comme 12" in " ".join(sites.loc["ligne 2", "flags"])
    assert "« 25 lits » lue comme 25" in " ".join(sites.loc["ligne 3", "flags"])
    assert "n'est pas un nombre" in prepared.rejects[2]


def test_epci_siren_in_the_commune_column_of_a_service(store, communes):
    epci = communes.set_index("code").at["23096", "epci_code"]
    members = set(communes.loc[communes["epci_code"] == epci, "code"])
    rows = [f"Asso;{epci};AVDL;40;ouvert;public",
            f"Asso;{epci};pension de famille;12;ouvert;public"]  # a place: still an error
    prepared = _prepare((HEADER + "\n" + "\n".join(rows) + "\n").encode(), "epci.csv")
    site = prepared.sites.iloc[0]
    assert site["coverage_epci"] == epci
    assert "compris comme la zone couverte" in " ".join(site["flags"])
    covered = set(prepared.coverage.loc[prepared.coverage["site_id"] == site["site_id"],
                                        "commune_code"])
    assert covered == members
    assert list(prepared.rejects) == [1] and "code commune" in prepared.rejects[1].lower()


def test_tick_mark_columns_do_not_make_a_data_row_the_header():
    header = "Opérateur;Commune;Type;Capacité;Femmes;Jeunes;Familles;Animaux;PMR"
    rows = ["Asso;23096;pension de famille;12;x;x;x;x;x",
            "Asso;23096;pension de famille;8;x;;x;x;x"]
    table = read_table(("\n".join([header, *rows]) + "\n").encode(), "coches.csv")
    assert table.header_row == 1 and len(table) == 2
    assert list(table.frame.columns)[:2] == ["Opérateur", "Commune"]


def test_rejects_files_do_not_pile_up(store, tmp_path):
    data = (HEADER + "\nAsso;99999;pension de famille;12;ouvert;public\n").encode()
    prepared = _prepare(data, "rejets.csv")
    for index in range(KEEP_REJECTS + 3):  # earlier runs, oldest first
        old = tmp_path / f"rejets_rejets_2020010{index}-000000_abcdef01.csv"
        old.write_text("x", encoding="utf-8")
        os.utime(old, (time.time() - 1000 + index,) * 2)
    other = tmp_path / "autre_rejets_20200101-000000_abcdef01.csv"
    other.write_text("x", encoding="utf-8")
    path = write_rejects(prepared, tmp_path)
    kept = sorted(tmp_path.glob("rejets_rejets_*.csv"))
    assert len(kept) == KEEP_REJECTS and path in kept
    assert tmp_path / f"rejets_rejets_2020010{KEEP_REJECTS + 2}-000000_abcdef01.csv" in kept
    assert tmp_path / "rejets_rejets_20200100-000000_abcdef01.csv" not in kept
    assert other.exists()  # another file's rejects are not touched


def test_import_of_unusual_file_logs_no_traceback(store, tmp_path):
    registry = Registry(tmp_path / "r.gpkg")
    with pytest.raises(ImportFileError):
        import_file(b"pas un classeur", registry, name="x.xlsx", geocoder=None, actor=ADMIN)


NAMED_HEADER = "operateur;commune;code_commune;type_offre;capacite;statut;confidentialite"


@pytest.mark.parametrize("code_cell", ["", "200093201"])
def test_service_naming_an_epci_in_the_commune_column(store, communes, code_cell):
    """« Métropole Européenne de Lille » in the commune column (with or without its SIREN in
    the code column): a service covering that EPCI, flagged — never rejected as an unknown
    commune; a place so described is refused with a French reason that says why."""
    members = set(communes.loc[communes["epci_code"] == "200093201", "code"])
    rows = [f"Asso;Métropole Européenne de Lille;{code_cell};AVDL;40;ouvert;public",
            f"Asso;métropole européenne de lille;{code_cell};pension de famille;12;ouvert;public"]
    prepared = _prepare((NAMED_HEADER + "\n" + "\n".join(rows) + "\n").encode(), "mel.csv")
    assert len(prepared.sites) == 1
    site = prepared.sites.iloc[0]
    assert site["coverage_epci"] == "200093201"
    flags = " ".join(site["flags"])
    assert "compris comme la zone couverte par le service" in flags
    covered = set(prepared.coverage.loc[prepared.coverage["site_id"] == site["site_id"],
                                        "commune_code"])
    assert covered == members
    assert list(prepared.rejects) == [1]  # the place: refused, said why, kept in the rejects
    if not code_cell:
        assert "est un EPCI" in prepared.rejects[1]
