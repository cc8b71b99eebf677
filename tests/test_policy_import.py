"""Import of the policy frame CSV (Logement d'abord, délégataires, PLH, PDALHPD): French errors
naming the row and field, every refused row kept, the project's own files valid."""

from __future__ import annotations

import pandas as pd
import pytest

from connectors import policies
from geodata.store import Store

# Hand-made reference: three communes, two EPCI (SIREN), two départements.
REFERENCE = policies.Reference(
    communes=frozenset({"59350", "59512", "80021"}),
    epci=frozenset({"200093201", "200033579"}),
    departements=frozenset({"59", "62"}),
)
HEADER = ";".join(policies.COLUMNS)
GOOD = "plh;epci;200093201;MEL;MEL;2022;2028;https://exemple.fr/plh;2026-12-06;confirmé;"
BAD_ROWS = [
    # line 3: unknown EPCI
    "plh;epci;999999999;EPCI inventé;;2022;2028;https://exemple.fr;2026-12-06;confirmé;",
    # line 4: unknown policy
    "contrat_de_ville;commune;59350;Lille;;2024;2030;https://exemple.fr;2026-12-06;confirmé;",
    # line 5: unreadable start date
    "pdalhpd;departement;59;Nord;;31/02/2019;2024;https://exemple.fr;2026-12-06;confirmé;",
    # line 6: end before start
    "pdalhpd;departement;62;Pas-de-Calais;;2024;2019;https://exemple.fr;2026-12-06;confirmé;",
    # line 7: confirmed without a source
    "logement_d_abord;commune;80021;Amiens;;2018;;;2026-12-06;confirmé;",
]
TO_COMPLETE = "delegataire_aides_pierre;departement;59;Nord;;;;;;à compléter;"


def csv_bytes(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def test_bad_rows_give_french_errors_and_nothing_is_lost():
    result = policies.read_policy_csv(csv_bytes(GOOD, *BAD_ROWS, TO_COMPLETE), REFERENCE,
                                      name="reseau.csv")
    assert result.rows["ligne"].tolist() == [2, 8]  # the good row and the « à compléter » one
    refused = result.rejects.drop_duplicates(["ligne"])
    assert refused["ligne"].tolist() == [3, 4, 5, 6, 7]
    # Nothing lost: every data line is accepted or refused, with its own cells kept.
    assert len(result.rows) + len(refused) == 1 + len(BAD_ROWS) + 1
    assert refused.set_index("ligne").loc[3, "nom_territoire"] == "EPCI inventé"
    by_line = {r.ligne: (r.champ, r.motif) for r in result.rejects.itertuples()}
    assert by_line[3] == ("code_territoire",
                          "EPCI inconnu (SIREN absent de la liste des EPCI)")
    assert by_line[4][0] == "politique" and by_line[4][1].startswith("politique inconnue")
    assert by_line[5][0] == "debut" and "date illisible" in by_line[5][1]
    assert by_line[6] == ("fin", "fin antérieure au début (2024)")
    assert by_line[7][0] == "source" and "adresse de la source manquante" in by_line[7][1]
    messages = result.messages()
    assert "reseau.csv, ligne 3, champ « code_territoire » : EPCI inconnu" in messages[0]


def test_a_missing_column_is_refused_in_french():
    data = b"politique;niveau;code_territoire\nplh;epci;200093201\n"
    with pytest.raises(policies.PolicyFileError, match=r"colonne.*obligatoire.*statut"):
        policies.read_policy_csv(data, REFERENCE, name="x.csv")


def test_dates_in_three_forms():
    assert policies.parse_date("2019") == pd.Timestamp("2019-01-01").date()
    assert policies.parse_date("2024", end=True) == pd.Timestamp("2024-12-31").date()
    assert policies.parse_date("18/12/2019") == pd.Timestamp("2019-12-18").date()
    with pytest.raises(ValueError):
        policies.parse_date("décembre 2019")


def test_duplicate_rows_are_refused_not_merged():
    result = policies.read_policy_csv(csv_bytes(GOOD, GOOD), REFERENCE)
    assert len(result.rows) == 1
    assert result.rejects.iloc[0]["motif"].startswith("doublon de la ligne 2")


def test_project_files_are_valid_and_one_source_per_row(store: Store):
    result = policies.read_policy_files(list(policies.PROJECT_FILES),
                                        policies.Reference.from_store(store))
    assert result.rejects.empty, result.messages()
    lda = result.rows[result.rows["politique"] == "logement_d_abord"]
    # 26 rows for the 24 territories of 2018 (two joint candidatures), 19 for 18 of the 23 of
    # 2021 (catalogues/politiques/LISEZMOI.md)
    assert len(lda) >= 45
    confirmed = lda[lda["statut"] == "confirmé"]
    assert len(confirmed) >= 5 and confirmed["commentaire"].str.len().gt(0).all()
    # every unconfirmed row says why
    assert lda.loc[lda["statut"] == "à confirmer", "commentaire"].str.contains("non lu").all()
    assert (lda["source"].str.startswith("http")).all()
    assert set(lda["statut"]) <= {"confirmé", "à confirmer"}
    assert {"2018", "2021"} == set(lda["debut"])
    frame = result.rows[result.rows["politique"] != "logement_d_abord"]
    # every row of the other policies says what was read, or why it is still « à compléter »
    assert frame["commentaire"].str.len().gt(0).all()
    read = frame[frame["statut"] != "à compléter"]
    assert read["source"].str.startswith("http").all() and read["lu_le"].str.len().gt(0).all()
    # the demo départements (Creuse, Nord) have a row for the délégataire and the PDALHPD
    for dep in ("23", "59"):
        mine = frame[(frame["niveau"] == "departement") & (frame["code_territoire"] == dep)]
        assert {"delegataire_aides_pierre", "pdalhpd"} <= set(mine["politique"]), dep


def test_build_writes_layer_and_rejects_with_provenance(tmp_path, store: Store):
    local = Store(tmp_path)
    for name in ("communes", "epci", "departements"):  # the reference tables only
        (tmp_path / f"{name}.parquet").symlink_to(store.path(name))
    bad = tmp_path / "reseau.csv"
    bad.write_bytes(csv_bytes(GOOD, BAD_ROWS[0]))
    result = policies.build_policy_layer(local, [bad])
    assert len(result.rows) == 1 and len(result.rejects) == 1
    manifest = local.manifest(policies.DATASET)
    assert manifest.extra["fichiers"] == ["reseau.csv"] and manifest.extra["lignes_refusees"] == 1
    assert manifest.input_sha256
    stored = local.read_frame(policies.REJECTS_DATASET)
    assert stored.iloc[0]["motif"].startswith("EPCI inconnu")


def test_command_line_reports_refused_rows_in_french(tmp_path, store: Store, monkeypatch, capsys):
    from connectors import __main__ as cli

    for name in ("communes", "epci", "departements"):
        (tmp_path / f"{name}.parquet").symlink_to(store.path(name))
    monkeypatch.setenv("DIAG_DATA_DIR", str(tmp_path))
    network = tmp_path / "reseau.csv"
    network.write_bytes(csv_bytes(GOOD, *BAD_ROWS[:3]))
    assert cli.main(["politiques", "--fichier", str(network)]) == 1
    out = capsys.readouterr().out
    assert "3 refusée(s)" in out
    assert "refusée — reseau.csv, ligne 3, champ « code_territoire » : EPCI inconnu" in out
    assert "ligne 4, champ « politique » : politique inconnue" in out
    assert "ligne 5, champ « debut » : date illisible" in out
    stored = Store(tmp_path).read_frame(policies.DATASET)
    assert "reseau.csv" in set(stored["fichier"]) and "logement_d_abord.csv" in set(stored["fichier"])
