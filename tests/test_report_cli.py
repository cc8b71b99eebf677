"""Command line: ``python -m diagnostics report …`` (one file, a batch, French errors)."""

from __future__ import annotations

import pytest

from diagnostics.__main__ import main
from tests import report_support as support


@pytest.fixture
def project_store(monkeypatch, shared_data):
    """Point the command line at the report tests' store."""
    monkeypatch.setenv("DIAG_DATA_DIR", str(support.report_store().root))


def test_one_territory_one_pdf(project_store, tmp_path, capsys):
    out = tmp_path / "rapport_creuse.pdf"
    code = main(["report", "dep:23", "--format", "pdf", "--out", str(out), "--registre",
                 support.registry_url(), "--sans-barre"])
    assert code == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert f"écrit : {out}" in capsys.readouterr().out


def test_batch_of_territories_and_formats(project_store, tmp_path, capsys):
    listing = tmp_path / "territoires.txt"
    listing.write_text("# deux territoires\ncom:23096\n\nepci:200034825  # Grand Guéret\n",
                       encoding="utf-8")
    out = tmp_path / "rapports"
    code = main(["report", "--liste", str(listing), "--format", "html", "-f", "xlsx,csv",
                 "--out", str(out), "--sans-registre", "--sans-modeles", "--sans-barre"])
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([
        "diagnostic_gueret.html", "diagnostic_gueret.xlsx", "diagnostic_gueret.csv",
        "diagnostic_gueret_sources.csv",
        *[f"diagnostic_communaute_d_agglomeration_du_grand_gueret{end}"
          for end in (".html", ".xlsx", ".csv", "_sources.csv")],
    ])
    printed = capsys.readouterr().out
    assert printed.count("données non disponibles") == 2 and "besoin, ecart" in printed


def test_errors_are_french_and_named(project_store, tmp_path, capsys):
    assert main(["report", "dep:23", "--format", "odt", "--sans-barre"]) == 2
    assert "Format « odt » inconnu" in capsys.readouterr().err
    code = main(["report", "dep:999", "--format", "html", "--out", str(tmp_path), "--sans-barre",
                 "--sans-registre", "--sans-modeles"])
    assert code == 1
    assert "Erreur pour « dep:999 » : Département inconnu" in capsys.readouterr().err
    assert main(["report", "--format", "pdf"]) == 2
    assert "indiquez au moins un territoire" in capsys.readouterr().err


def test_report_bytes_for_a_download_button(shared_data):
    from diagnostics.produce import report_bytes

    content, name, mime = report_bytes("com:23096", "xlsx", support.report_store(),
                                       use_registry=False, use_models=False)
    assert content.startswith(b"PK") and name == "diagnostic_gueret.xlsx"
    assert mime.endswith("spreadsheetml.sheet")
    content, name, _ = report_bytes("com:23096", "html", support.report_store(),
                                    use_registry=False, use_models=False)
    assert name == "diagnostic_gueret.html" and b"<!DOCTYPE html>" in content[:100]
