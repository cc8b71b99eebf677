"""Demo offer (deterministic, fictional), command line and import benchmark."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import settings
from operators.demo import DEMO_FILE, demo_csv, demo_frame
from operators.importer import import_file
from operators.repository import Registry
from operators.schema import OFFER_TYPES, parse_offer_type
from tests.account_support import ADMIN
from tests.bench_registry import bench_import, measure_import

FIXTURES = Path(__file__).parent / "fixtures" / "registry"
SUMMARY = re.compile(r"^importés : (\d+), mis à jour : (\d+), rejetés : (\d+), doublons : (\d+)$")


def test_demo_file_is_the_seeded_generator_output(store):
    assert DEMO_FILE.exists()
    assert demo_csv(demo_frame(store)) == DEMO_FILE.read_bytes(), (
        "Le fichier de démonstration ne correspond plus au générateur : "
        "python -m operators demo --regenerer"
    )


def test_demo_file_is_fictional_and_covers_every_offer_type(communes):
    assert "FICTIF" in DEMO_FILE.name
    demo = pd.read_csv(DEMO_FILE, sep=";", dtype=str, encoding="utf-8-sig").fillna("")
    assert demo["Fictif"].str.contains("FICTIVES").all()
    assert demo["Opérateur"].str.contains("Fictif|Fictive").all()
    assert set(demo["Réseau"]) == {"FAPIL", "SOLIHA", "UNAFO"}
    codes = demo["Code INSEE"]
    assert codes.isin(set(communes["code"])).all()
    assert set(communes.set_index("code").loc[codes, "dep_code"]) == {"59", "23", "07", "93"}
    types = {parse_offer_type(label) for label in demo["Type d'offre"]}
    assert types == {t.code for t in OFFER_TYPES}
    services = demo[demo["Type d'offre"].isin(["AVDL", "FSL / ASLL", "SAVS"])]
    assert (services["Communes couvertes"] != "").any() and (services["EPCI couvert"] != "").any()
    assert ((services["Communes couvertes"] != "") | (services["EPCI couvert"] != "")).all()
    assert (demo["Confidentialité"] == "confidentiel").sum() >= 3
    assert demo["Identifiant"].is_unique


def test_demo_imports_without_reject_and_is_marked_fictional(store, tmp_path):
    registry = Registry(tmp_path / "demo.gpkg")
    result = import_file(DEMO_FILE, registry, geocoder=None, fictional=True, rejects_dir=tmp_path,
                         actor=ADMIN)
    assert result.rejected == 0 and result.imported == len(pd.read_csv(DEMO_FILE, sep=";"))
    sites = registry.sites()
    assert sites["fictional"].all()
    assert set(sites["confidentiality"]) == {"public", "commune", "confidentiel"}
    assert len(registry.coverage()) > 0
    registry.dispose()


def run_cli(*args: str, database: Path, cwd: Path = settings.PROJECT_ROOT):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.Popen(
        [sys.executable, "-m", "operators", *args], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_cli_import_ends_with_the_summary_line_and_the_rejects_file(store, tmp_path):
    process = run_cli("import", str(FIXTURES / "sites_desordre_latin1_fait_main.csv"),
                      "--sans-geocodage", "--rejets", str(tmp_path), database=tmp_path / "r.gpkg")
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    lines = out.strip().splitlines()
    summary = SUMMARY.match(lines[-2])
    assert summary, lines[-3:]
    assert summary.groups() == ("11", "0", "8", "1")
    assert lines[-1].startswith("lignes rejetées : ")
    assert Path(lines[-1].split(" : ", 1)[1]).exists()
    assert any(line.startswith("  rejet — ligne 8 : champ « capacité »") for line in lines)


def test_two_cli_imports_at_once_into_the_same_file(store, tmp_path):
    database = tmp_path / "partage.gpkg"
    Registry(database).dispose()
    files = ["sites_fait_main.geojson", "sites_virgule_utf8bom_fait_main.csv"]
    processes = [
        run_cli("import", str(FIXTURES / name), "--sans-geocodage", "--rejets", str(tmp_path),
                database=database)
        for name in files
    ]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in outputs]
    imported = [int(SUMMARY.match(out.strip().splitlines()[-2]).group(1)) for out, _ in outputs]
    registry = Registry(database)
    assert registry.count_sites() == sum(imported) == 7 + 5
    assert (registry.import_log()["status"] == "réussi").sum() == 2
    registry.dispose()


def test_cli_without_operator_column_uses_the_option_and_export_works(store, tmp_path):
    path = tmp_path / "sans_operateur.csv"
    path.write_text("Code INSEE;Type;Nb logements;Confidentialité\n23096;CHRS;12;oui\n"
                    "23096;Résidence sociale;30;\n", encoding="utf-8")
    database = tmp_path / "r.gpkg"
    process = run_cli("import", str(path), "--operator", "Asso Creuse", "--sans-geocodage",
                      database=database)
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    assert out.strip().splitlines()[-1] == "importés : 2, mis à jour : 0, rejetés : 0, doublons : 0"
    export = tmp_path / "public.xlsx"
    process = run_cli("export", str(export), "--public", database=database)
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    public = pd.read_excel(export, sheet_name="sites")
    assert public["type_offre"].tolist() == ["residence_sociale"]
    totals = pd.read_excel(export, sheet_name="totaux-communes", dtype=str)
    assert totals["sites"].tolist() == ["< 3"]


def test_cli_errors_are_in_french(store, tmp_path):
    process = run_cli("import", str(tmp_path / "absent.csv"), database=tmp_path / "r.gpkg")
    _, err = process.communicate(timeout=180)
    assert process.returncode == 1
    assert "Erreur : Fichier introuvable" in err
    path = tmp_path / "vide.csv"
    path.write_text("Commune;Nb\n", encoding="utf-8")
    process = run_cli("import", str(path), database=tmp_path / "r.gpkg")
    _, err = process.communicate(timeout=180)
    assert process.returncode == 1 and "Erreur : Fichier « vide.csv »" in err


@pytest.mark.parametrize("n", [300])
def test_bench_import_reports_time_and_memory(store, n):
    figures = measure_import(n)
    assert figures["imported"] == n and figures["rejected"] == 0 and figures["sites"] == n
    lines = bench_import(n)
    assert re.fullmatch(rf"bench registry_import_{n}_s \d+\.\d\d s", lines[0])
    assert re.fullmatch(rf"bench registry_import_{n}_peak_mb \d+ MB", lines[1])
