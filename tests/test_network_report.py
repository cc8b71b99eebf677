"""« Bilan réseau » of the FICTIF demo offer of the Nord (PDF and XLSX): confidential sites are
counted only under the registry's rules, activity never shows them, the EPCI sheet describes
every EPCI of the Nord, and the evolutions come from the two dated snapshots."""

from __future__ import annotations

import io
import shutil
import subprocess

import pandas as pd
import pytest

from diagnostics import network_report as nr
from operators import activity as act
from operators.confidentiality import INTERNAL, SMALL_COUNT
from operators.schema import FAMILIES
from tests.network_support import demo_with_snapshots  # noqa: F401 (fixture)
from tests.report_support import normalise_spaces


@pytest.fixture(scope="module")
def reports(demo_with_snapshots, store):  # noqa: F811
    registry, _ = demo_with_snapshots
    public = nr.from_registry(registry, store, network=None, territory="dep:59", year=2024)
    internal = nr.from_registry(registry, store, network=None, territory="dep:59", year=2024,
                                audience=INTERNAL)
    return registry, public, internal


def _table(report, key) -> pd.DataFrame:
    return next(t.frame for t in report.tables if t.key == key)


def _nord_open(registry) -> pd.DataFrame:
    """Open sites in the Nord or (services) covering one of its communes."""
    sites = pd.DataFrame(registry.sites())
    coverage = registry.coverage()
    covering = set(coverage.loc[coverage["commune_code"].str.startswith("59"), "site_id"])
    inside = (sites["dep_code"] == "59") | sites["site_id"].isin(covering)
    return sites[inside & (sites["status"] == "ouvert")]


def test_families_count_confidential_sites_only_under_the_rules(reports):
    registry, public, internal = reports
    open_nord = _nord_open(registry)
    families = _table(public, "offre_familles").set_index("Famille d'offre")
    shelters = open_nord[open_nord["offer_family"] == "hebergement"]
    confidential = int((shelters["confidentiality"] == "confidentiel").sum())
    assert confidential > 0
    row = families.loc[FAMILIES["hebergement"]]
    public_shelters = shelters[shelters["confidentiality"] != "confidentiel"]
    if len(public_shelters) < SMALL_COUNT:
        assert row["Sites"] == "< 3"
    else:  # confidential ones are in no public figure (SCHEMA.md: per-département bins only)
        assert row["Sites"] == str(len(public_shelters))
        assert row["Places"] == public_shelters["capacity"].sum()
    internal_row = _table(internal, "offre_familles").set_index("Famille d'offre").loc[
        FAMILIES["hebergement"]]
    assert internal_row["Places"] == shelters["capacity"].sum()
    # Every site of the Nord counts once (services too, once each).
    in_scope = _table(internal, "offre_familles").set_index("Famille d'offre")
    assert int(in_scope.loc["Total", "Sites"]) == len(open_nord)
    assert int(_table(public, "offre_familles").set_index("Famille d'offre").loc[
        "Total", "Sites"]) == int((open_nord["confidentiality"] != "confidentiel").sum())


def test_activity_leaves_confidential_sites_out(reports):
    registry, public, internal = reports
    stored = act.read(registry)
    sites = _nord_open(registry)
    year = stored[stored["activity_year"] == 2024].merge(sites, on="site_id")
    hidden = year["confidentiality"] == "confidentiel"
    assert hidden.any()
    column = "Sites ayant déclaré une activité"
    public_total = _table(public, "activite").set_index("Famille d'offre").loc["Total", column]
    internal_total = _table(internal, "activite").set_index("Famille d'offre").loc["Total", column]
    assert int(public_total) == int((~hidden).sum())
    assert int(internal_total) == len(year)
    entered = _table(public, "activite").set_index("Famille d'offre").loc["Total", "Ménages entrés"]
    assert entered == year.loc[~hidden, "households_entered"].sum()


def test_evolutions_come_from_the_snapshots(reports):
    _, public, _ = reports
    changes = _table(public, "evolutions")
    assert {"créé", "fermé", "converti", "capacité modifiée"} <= set(changes["Évolution"])
    converted = changes[changes["Évolution"] == "converti"].iloc[0]
    assert converted["Depuis (conversion)"] == FAMILIES["residence_sociale"]


def test_epci_sheet_and_network_filter(reports, store):
    registry, public, _ = reports
    communes = store.read("communes", columns=["code", "epci_code", "dep_code"])
    nord_epci = sorted(communes.loc[communes["dep_code"] == "59", "epci_code"].dropna().unique())
    assert _table(public, "epci")["EPCI"].tolist() == nord_epci
    fapil = nr.from_registry(registry, store, network="FAPIL", territory="dep:59", year=2024,
                             audience=INTERNAL)
    sites = _nord_open(registry)
    assert fapil.scope.startswith("FAPIL")
    total = _table(fapil, "offre_familles").set_index("Famille d'offre").loc["Total", "Sites"]
    assert int(total) == int((sites["network"] == "FAPIL").sum())


def test_xlsx_has_every_sheet_and_no_confidential_name(reports):
    registry, public, _ = reports
    book = pd.read_excel(io.BytesIO(nr.xlsx_bytes(public)), sheet_name=None, dtype=str)
    for name in ("Lisez-moi", "Chiffres clés", "Offre par famille", "Offre par public",
                 "Créations de l'année", "Évolutions (instantanés)", "Activité",
                 "Qui fait quoi où (EPCI)", "Opérateurs par EPCI", "Chevauchements", "Blancs"):
        assert name in book, name
    text = " ".join(" ".join(frame.fillna("").astype(str).to_numpy().ravel())
                    + " ".join(frame.columns) for frame in book.values())
    assert "FICTIF" in text
    sites = pd.DataFrame(registry.sites())
    for name in sites.loc[sites["confidentiality"] == "confidentiel", "name"]:
        assert name not in text


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) absent")
def test_pdf_is_readable_and_says_fictif(reports, tmp_path):
    registry, public, _ = reports
    path = tmp_path / "bilan.pdf"
    path.write_bytes(nr.pdf_bytes(public))
    assert path.read_bytes().startswith(b"%PDF")
    text = normalise_spaces(subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout)
    assert "Bilan réseau 2024" in text and "FICTIF" in text
    assert "Qui fait quoi où : EPCI" in text and "200093201" in text  # MEL
    sites = pd.DataFrame(registry.sites())
    for name in sites.loc[sites["confidentiality"] == "confidentiel", "name"]:
        assert name not in text


def test_cli_writes_the_bilan(demo_with_snapshots, tmp_path):  # noqa: F811
    registry, _ = demo_with_snapshots
    code = nr.main(["--base", registry.url, "--territoire", "dep:59", "--annee", "2024",
                    "--format", "xlsx", "--out", str(tmp_path)])
    assert code == 0
    assert list(tmp_path.glob("*.xlsx"))
    assert nr.main(["--base", registry.url, "--reseau", "inconnu", "--format", "xlsx",
                    "--out", str(tmp_path)]) == 1
    assert nr.main(["--base", registry.url, "--format", "docx", "--out", str(tmp_path)]) == 1


def test_unknown_network_is_a_french_error(reports):
    registry, _, _ = reports
    with pytest.raises(nr.NetworkReportError, match="Réseau « XYZ » non reconnu"):
        nr.build(pd.DataFrame(registry.sites()), registry.coverage(), pd.DataFrame(),
                 network="XYZ")
