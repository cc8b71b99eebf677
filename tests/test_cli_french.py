"""The command lines print French tables, never a pandas repr nor a traceback."""

from __future__ import annotations

import pandas as pd

from operators.__main__ import accounts_table

COLUMNS = ["login", "name", "email", "role", "operator_name", "network", "active", "created_at",
           "updated_at"]


def test_no_account_says_so_in_french():
    assert accounts_table(pd.DataFrame(columns=COLUMNS)) == "Aucun compte."


def test_accounts_table_is_french():
    listing = pd.DataFrame([
        ["alice", "Alice Martin", "alice@asso.test", "operateur", "Asso A", None, True,
         "2026-12-01T10:00:00", None],
        ["bob", "", None, "delegue", None, "FAPIL", False, "2026-12-02T08:30:00",
         "2026-12-03T09:15:00"],
    ], columns=COLUMNS)
    text = accounts_table(listing)
    header = text.splitlines()[0]
    for word in ("Identifiant", "Rôle", "Opérateur", "Réseau", "Actif", "Créé le"):
        assert word in header
    for raw in ("Empty DataFrame", "None", "NaN", "True", "False", "operator_name", "2026-12-01T"):
        assert raw not in text
    assert "opérateur" in text and "délégué de réseau" in text
    assert "01/12/2026 10:00" in text and " non" in text and " oui" in text


def test_network_report_base_file_missing_or_not_a_registry(tmp_path, capsys):
    # « --base FICHIER.gpkg » once ended in a SQLAlchemy traceback; a missing file must not be
    # created by a report.
    from diagnostics.network_report import main

    missing = tmp_path / "absent.gpkg"
    assert main(["--territoire", "dep:23", "--base", str(missing), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Registre introuvable" in err and "Traceback" not in err and not missing.exists()
    garbage = tmp_path / "pas_un_registre.gpkg"
    garbage.write_text("ceci n'est pas une base\n", encoding="utf-8")
    assert main(["--territoire", "dep:23", "--base", str(garbage), "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Erreur : ") and "Traceback" not in err


def test_making_a_report_never_writes_to_the_registry(store, tmp_path):
    # A report, from the command line, reads the registry: its file must keep its bytes and its
    # modification time (the registry was rewritten at every opening before).
    import hashlib
    import os
    import shutil
    import subprocess
    import sys

    import settings
    from operators.repository import Registry

    registry = tmp_path / "registre.gpkg"
    source = store.root / "registre.gpkg"
    if source.exists():
        shutil.copy(source, registry)
    else:
        Registry(f"sqlite:///{registry}").dispose()
    Registry(f"sqlite:///{registry}").dispose()  # brought to the current schema once
    before = (hashlib.sha256(registry.read_bytes()).hexdigest(), registry.stat().st_mtime_ns)
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{registry}"}
    done = subprocess.run([sys.executable, "-m", "diagnostics", "report", "com:23096", "--format",
                           "html", "--out", str(tmp_path / "rapport.html")],
                          cwd=settings.PROJECT_ROOT, env=env, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    after = (hashlib.sha256(registry.read_bytes()).hexdigest(), registry.stat().st_mtime_ns)
    assert after == before
