"""Import of members' files: one deliberately messy file per format, each row's exact outcome.

Each fixture in ``tests/fixtures/registry`` (hand-made, « fait main ») has a companion
``*.attendu.csv`` listing, for every data row, the expected outcome (importé / rejeté / ignorée),
the field a rejection must name, the commune on the current COG and the geocoding method
(offline: no geocoder), and a text the row's flags or reason must contain.
"""

from __future__ import annotations

import pandas as pd
import pytest

from operators.columns import ColumnMappingError, field_for_column, match_columns
from operators.communes import repair_code
from operators.importer import ImportFileError, import_file, prepare_import
from operators.repository import Registry
from operators.schema import parse_confidentiality, parse_offer_type, parse_status
from operators.validation import Defaults
from tests.account_support import ADMIN
from tests.registry_support import FIXTURES, MESSY


def expected_for(name: str) -> pd.DataFrame:
    stem = name[: -len(".csv")] if name.endswith(".csv") else name
    return pd.read_csv(FIXTURES / f"{stem}.attendu.csv", sep=";", dtype=str).fillna("")


@pytest.fixture
def registry(tmp_path, store) -> Registry:
    return Registry(tmp_path / "registre.gpkg")


@pytest.mark.parametrize("name", MESSY)
def test_every_row_has_its_expected_outcome(name, registry, tmp_path):
    result = import_file(
        FIXTURES / name, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    expected = expected_for(name)
    ignored = expected[expected["issue"] == "ignorée"]
    assert [f"ligne {n}" for n in result.empty_rows] == ignored["ligne"].tolist()
    expected = expected[expected["issue"] != "ignorée"].reset_index(drop=True)
    outcomes = result.outcomes
    assert outcomes["ligne"].tolist() == expected["ligne"].tolist()
    for got, want in zip(outcomes.to_dict("records"), expected.to_dict("records"), strict=True):
        where = f"{name}, {want['ligne']}"
        assert got["issue"] == want["issue"], (where, got)
        if want["issue"] == "rejeté":
            assert got["detail"].startswith(f"{want['ligne']} : "), where
            if want["champ"]:
                assert f"champ « {want['champ']} »" in got["detail"], (where, got["detail"])
            assert want["signalement"] in got["detail"], (where, got["detail"])
        else:
            assert (got["commune_code"] or "") == want["commune_code"], (where, got)
            assert got["geocode_method"] == want["geocode_method"], (where, got)
            assert want["signalement"] in got["signalements"], (where, got["signalements"])
    rejected = int((expected["issue"] == "rejeté").sum())
    imported = int((expected["issue"] == "importé").sum())
    assert (result.imported, result.updated, result.rejected) == (imported, 0, rejected)
    assert result.summary_line() == (
        f"importés : {imported}, mis à jour : 0, rejetés : {rejected}, doublons : {result.duplicates}"
    )
    assert registry.count_sites() == imported


@pytest.mark.parametrize("name", MESSY)
def test_rejected_rows_file_keeps_original_cells_and_reasons(name, registry, tmp_path):
    result = import_file(FIXTURES / name, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    assert result.rejects_path is not None and result.rejects_path.exists()
    rejects = pd.read_csv(result.rejects_path, sep=";", dtype=str, encoding="utf-8-sig")
    expected = expected_for(name)
    assert rejects["ligne_source"].tolist() == expected.loc[
        expected["issue"] == "rejeté", "ligne"
    ].tolist()
    for line, reason in zip(rejects["ligne_source"], rejects["motif_rejet"], strict=True):
        assert reason.startswith(f"{line} : ")
    log = registry.import_log().iloc[-1]
    assert log["rejects_path"] == str(result.rejects_path)


def test_reimport_is_idempotent(registry, tmp_path):
    path = FIXTURES / "sites_desordre_latin1_fait_main.csv"
    first = import_file(path, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    before = registry.sites().drop(columns="geometry")
    second = import_file(path, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    after = registry.sites().drop(columns="geometry")
    assert second.imported == 0
    assert second.updated == first.imported
    assert second.unchanged == first.imported
    assert second.rejected == first.rejected
    pd.testing.assert_frame_equal(before, after)
    assert any("déjà été importé" in m for m in second.messages)
    log = registry.import_log()
    assert log["file_sha256"].nunique() == 1 and len(log) == 2
    assert log["imported"].tolist() == [first.imported, 0]


def test_changed_row_is_updated_not_duplicated(registry, tmp_path):
    path = FIXTURES / "sites_desordre_latin1_fait_main.csv"
    first = import_file(path, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    text = path.read_bytes().decode("cp1252").replace(";40;;Jeunes et familles;", ";45;;Jeunes;")
    changed = tmp_path / "sites_v2.csv"
    changed.write_bytes(text.encode("cp1252"))
    second = import_file(changed, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    assert registry.count_sites() == first.imported
    assert (second.imported, second.updated, second.unchanged) == (
        0, first.imported, first.imported - 1
    )
    site = registry.sites().set_index("source_id").loc["TN-02"]
    assert site["capacity"] == 45 and site["public"] == "Jeunes"
    assert second.outcomes.set_index("ligne").loc["ligne 4", "detail"] == "modifié"


def test_corrected_rejects_file_can_be_reimported(registry, tmp_path):
    result = import_file(
        FIXTURES / "sites_desordre_latin1_fait_main.csv", registry, geocoder=None,
        rejects_dir=tmp_path, actor=ADMIN)
    rejects = pd.read_csv(result.rejects_path, sep=";", dtype=str, encoding="utf-8-sig")
    rejects = rejects.fillna("")
    fix = rejects["ligne_source"] == "ligne 8"
    rejects.loc[fix, "Nombre de places"] = "12"
    fix = rejects["ligne_source"] == "ligne 10"
    rejects.loc[fix, "Type d'offre"] = "Résidence sociale"
    corrected = tmp_path / "corrige.csv"
    rejects.to_csv(corrected, sep=";", index=False, encoding="utf-8-sig")
    again = import_file(corrected, registry, geocoder=None, rejects_dir=tmp_path / "bis", actor=ADMIN)
    # The two corrected rows are new; the duplicate of TN-01 now updates TN-01 (unchanged).
    assert (again.imported, again.updated, again.unchanged) == (2, 1, 1)
    assert again.rejected == len(rejects) - 3
    names = set(registry.sites()["name"])
    assert {"CHU de la Gare", "Foyer des Lilas"} <= names
    # The reasons of the other rows are the same as the first time, on their original lines.
    reasons = pd.read_csv(again.rejects_path, sep=";", dtype=str, encoding="utf-8-sig")
    assert set(reasons.columns) == set(rejects.columns)


def test_likely_duplicate_across_files_is_flagged(registry, tmp_path):
    base = FIXTURES / "sites_desordre_latin1_fait_main.csv"
    import_file(base, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    other = tmp_path / "autre_reseau.csv"
    other.write_text(
        "Opérateur;Nom;Code INSEE;Type;Nb places\n"
        "Autre Association;Pension de famille les Tilleuls;59350;Pension de famille;25\n"
        "Autre Association;Résidence toute neuve;59350;Pension de famille;10\n",
        encoding="utf-8",
    )
    result = import_file(other, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    assert result.imported == 2 and result.duplicates == 1
    flagged = result.outcomes.set_index("ligne")
    tilleuls = registry.sites().set_index("source_id").loc["TN-01", "site_id"]
    assert flagged.loc["ligne 2", "doublon_de"] == tilleuls
    assert "doublon probable" in flagged.loc["ligne 2", "signalements"]
    assert flagged.loc["ligne 3", "doublon_de"] is None


def test_operator_option_fills_a_file_without_operator_column(registry, tmp_path):
    path = tmp_path / "sans_operateur.csv"
    path.write_text("Code INSEE;Type;Nb logements\n23096;Résidence sociale;12\n", encoding="utf-8")
    result = import_file(path, registry, geocoder=None, operator="Asso Creuse",
                         network="soliha", rejects_dir=tmp_path, actor=ADMIN)
    assert result.imported == 1
    site = registry.sites().iloc[0]
    assert (site["operator_name"], site["network"]) == ("Asso Creuse", "SOLIHA")


def test_file_without_type_column_is_refused_in_french_and_logged(registry, tmp_path):
    path = tmp_path / "incomplet.csv"
    path.write_text("Opérateur;Code INSEE;Nb logements\nA;23096;3\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="aucune colonne pour le champ « type d'offre »"):
        import_file(path, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    assert registry.count_sites() == 0
    log = registry.import_log()
    assert log["status"].tolist() == ["échoué"]
    assert "type d'offre" in log["message"].iloc[0]


def test_explicit_mapping_wins_and_unknown_column_is_refused(store, tmp_path):
    path = tmp_path / "colonnes.csv"
    path.write_text(
        "Structure porteuse;Lieu;Genre;Taille\nAsso;23096;CHRS;10\n", encoding="utf-8"
    )
    mapping = {"Structure porteuse": "opérateur", "Lieu": "code commune", "Genre": "type d'offre",
               "Taille": "capacity"}
    prepared = prepare_import(path, mapping=mapping, geocoder=None)
    assert not prepared.rejects
    site = prepared.sites.iloc[0]
    assert (site["operator_name"], site["commune_code"], site["offer_type"], site["capacity"]) == (
        "Asso", "23096", "chrs", 10.0
    )
    with pytest.raises(ImportFileError, match="la colonne « Inexistante » n'existe pas"):
        prepare_import(path, mapping={"Inexistante": "opérateur"}, geocoder=None)


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("Code INSEE", "commune_code"), ("code_insee", "commune_code"), ("CODGEO", "commune_code"),
        ("Commune", "commune_name"), ("Nb logements", "capacity"),
        ("Nombre de places", "capacity"), ("Capacité totale (places)", "capacity"),
        ("NOMBRE DE LOGEMENTS", "capacity"), ("Type d'offre", "offer_type"),
        ("Année d'ouverture", "opening_year"), ("Confidentialité", "confidentiality"),
        ("Latitude", "lat"), ("Longitude", "lon"), ("Gestionnaire", "operator_name"),
        ("Code postal", "postcode"), ("Nom de la structure", "name"), ("Adresse", "address"),
        ("Couleur préférée", None),
    ],
)
def test_column_names_are_matched_flexibly(column, field):
    assert field_for_column(column) == field


def test_two_capacity_columns_are_both_read():
    match = match_columns(["Nb logements", "Nombre de places", "Type"])
    assert match.multi["capacity"] == ["Nb logements", "Nombre de places"]
    assert not match.ambiguous
    with pytest.raises(ColumnMappingError, match="champ « couleur » inconnu"):
        match_columns(["Type"], {"Type": "couleur"})


@pytest.mark.parametrize(
    ("cell", "code", "repaired"),
    [
        ("1001", "01001", True), ("1001.0", "01001", True), (" 01001 ", "01001", False),
        ("2a004", "2A004", False), ("2B033", "2B033", False), ("59350", "59350", False),
        ("ABC", None, False), ("123", None, False), ("", None, False),
    ],
)
def test_commune_codes_are_repaired_only_when_certain(cell, code, repaired):
    got, repair = repair_code(cell)
    assert got == code
    assert (repair is not None) == repaired


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Maison relais", "pension_de_famille"), ("PENSION DE FAMILLE", "pension_de_famille"),
        ("Résidence sociale", "residence_sociale"), ("FJT", "fjt"), ("Résidence sociale - FTM", "ftm"),
        ("IML - sous-location", "iml_sous_location"), ("Mandat de gestion", "iml_mandat_gestion"),
        ("Maîtrise d'ouvrage d'insertion", "moi"), ("Conventionné Anah", "anah"),
        ("CHRS", "chrs"), ("Hébergement d'urgence", "chu"), ("ALT", "hebergement_autre"),
        ("AVDL", "avdl"), ("ASLL", "fsl"), ("SAVS", "savs"), ("Foyer logement", None),
    ],
)
def test_offer_types_use_the_sector_names(text, code):
    assert parse_offer_type(text) == code


def test_status_and_confidentiality_vocabularies():
    assert parse_status("") == "ouvert" and parse_status("En projet") == "en_projet"
    assert parse_status("fermé") == "ferme"  # closed sites stay, for the snapshots' comparisons
    assert parse_status("fermé provisoirement") is None
    assert parse_confidentiality("") == "public"
    assert parse_confidentiality("Oui") == "confidentiel"
    assert parse_confidentiality("à la commune") == "commune"
    assert parse_confidentiality("peut-être") is None


def test_defaults_mark_a_whole_file_fictional(store):
    data = "Opérateur;Code INSEE;Type;Nb logements\nA;23096;CHRS;4\n".encode()
    prepared = prepare_import(data, "demo.csv", defaults=Defaults(fictional=True), geocoder=None)
    assert prepared.sites["fictional"].tolist() == [True]
