"""Confidential sites never reach a public audience: map data, tables and every export format.

The sites are written in a hand-made file (in this test) whose confidential rows carry
distinctive names, addresses and coordinates; the tests look for them in everything a public
audience could receive.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest

from operators.confidentiality import (
    INTERNAL,
    PUBLIC,
    area_totals,
    coverage_totals,
    map_points,
    sites_for,
)
from operators.exports import export_registry, export_tables
from operators.importer import import_file
from operators.repository import Registry
from tests.account_support import ADMIN

SECRET_NAMES = ["Refuge Violette SECRET", "Abri Lilas SECRET", "Maison Iris SECRET"]
SECRET_ADDRESSES = ["99 rue Cachée", "7 impasse Discrète"]
SECRET_POINTS = [(3.0601234, 50.6312345), (3.1498765, 50.6356789)]
COLUMNS = (
    "Opérateur;Nom;Adresse;Code INSEE;Type;Nb logements;Nb places;Longitude;Latitude;"
    "Confidentialité;Communes couvertes"
)
ROWS = [
    # Lille: 3 public sites and 1 confidential one
    "Asso A;Public Lille 1;1 rue Haute;59350;Résidence sociale;10;;;;;",
    "Asso A;Public Lille 2;2 rue Haute;59350;Résidence sociale;20;;;;;",
    "Asso A;Public Lille 3;3 rue Haute;59350;Résidence sociale;30;;;;public;",
    f"Asso A;{SECRET_NAMES[0]};{SECRET_ADDRESSES[0]};59350;CHRS;;12;{SECRET_POINTS[0][0]};"
    f"{SECRET_POINTS[0][1]};confidentiel;",
    # Villeneuve-d'Ascq: one confidential site only
    f"Asso A;{SECRET_NAMES[1]};{SECRET_ADDRESSES[1]};59009;CHU;;6;{SECRET_POINTS[1][0]};"
    f"{SECRET_POINTS[1][1]};oui;",
    # Guéret: 2 public sites
    "Asso B;Public Guéret 1;;23096;Pension de famille;;15;;;;",
    "Asso B;Public Guéret 2;;23096;Pension de famille;;25;;;;",
    # Saint-Denis: 3 public and 3 confidential sites
    "Asso C;Public Saint-Denis 1;;93066;FJT;10;;;;;",
    "Asso C;Public Saint-Denis 2;;93066;FJT;10;;;;;",
    "Asso C;Public Saint-Denis 3;;93066;FJT;10;;;;;",
    f"Asso C;{SECRET_NAMES[2]};;93066;CHRS;;5;;;confidentiel;",
    "Asso C;Autre secret SECRET;;93066;CHRS;;5;;;confidentiel;",
    "Asso C;Encore secret SECRET;;93066;CHRS;;5;;;confidentiel;",
    # Privas: a site located at the commune only
    "Asso D;Logements diffus Privas;12 rue Privée-Adresse;07186;MOI;4;;4.6;44.73;commune;",
    # a confidential accompaniment service
    "Asso D;Service SECRET;;07186;AVDL;;;;;confidentiel;07186, 07010",
    "Asso D;Service public;;07186;SAVS;;;;;;07186",
]


@pytest.fixture
def registry(tmp_path, store) -> Registry:
    path = tmp_path / "confidentiel.csv"
    path.write_text("\n".join([COLUMNS, *ROWS]) + "\n", encoding="utf-8")
    registry = Registry(tmp_path / "registre.gpkg")
    result = import_file(path, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    assert result.rejected == 0, result.outcomes["detail"].tolist()
    yield registry
    registry.dispose()


@pytest.fixture
def rep_points(store):
    return store.read("communes", columns=["code", "rep_lon", "rep_lat"])


def assert_no_secret(text: str) -> None:
    assert "SECRET" not in text
    for address in SECRET_ADDRESSES:
        assert address not in text
    for lon, lat in SECRET_POINTS:
        assert str(lon) not in text and str(lat) not in text
        assert f"{lon:.6f}" not in text and f"{lat:.6f}" not in text


def assert_no_secret_point(lon: np.ndarray, lat: np.ndarray) -> None:
    for x, y in SECRET_POINTS:
        near = np.isclose(lon, x, atol=1e-4) & np.isclose(lat, y, atol=1e-4)
        assert not near.any()


def test_public_sites_hide_confidential_ones_and_commune_level_addresses(registry, rep_points):
    internal = registry.sites()
    assert internal["name"].str.contains("SECRET").sum() == 6  # the registry keeps them all
    public = sites_for(internal, PUBLIC, rep_points)
    assert_no_secret(public.to_csv())
    assert len(public) == len(internal) - 6
    assert "geocode_label" not in public and "flags" not in public and "source_file" not in public
    privas = public.set_index("name").loc["Logements diffus Privas"]
    rep = rep_points.set_index("code").loc["07186"]
    assert pd.isna(privas["address"]) and pd.isna(privas["postcode"])
    assert (privas["lon"], privas["lat"]) == (rep["rep_lon"], rep["rep_lat"])
    assert "12 rue Privée-Adresse" not in public.to_csv()
    assert len(sites_for(internal, INTERNAL)) == len(internal)


def test_map_points_hold_no_confidential_site(registry, rep_points):
    points = map_points(registry.sites(), PUBLIC, rep_points)
    geojson = points.to_json()
    assert_no_secret(geojson)
    assert_no_secret_point(points.geometry.x.to_numpy(), points.geometry.y.to_numpy())
    internal = map_points(registry.sites(), INTERNAL)
    assert internal["name"].str.contains("SECRET").sum() == 5  # all but the service (no point)


def test_public_commune_totals_leave_confidential_sites_out_and_mask_small_ones(registry):
    sites = registry.sites()
    public = area_totals(sites, PUBLIC).set_index("commune_code")
    # Villeneuve-d'Ascq's only site is confidential: the commune has no public total at all.
    assert public["sites"].to_dict() == {
        "07186": "< 3", "23096": "< 3", "59350": "3", "93066": "3",
    }
    assert public.loc["59350", "capacite_logements"] == 60
    assert pd.isna(public.loc["59350", "capacite_places"])  # the confidential CHRS is left out
    assert public.loc["93066", "capacite_logements"] == 30
    assert pd.isna(public.loc["93066", "capacite_places"])
    assert public.loc[["07186", "23096"], "capacite_places"].isna().all()
    internal = area_totals(sites, INTERNAL).set_index("commune_code")
    assert internal["sites_n"].to_dict() == {
        "07186": 1, "23096": 2, "59009": 1, "59350": 4, "93066": 6,
    }
    assert internal.loc["59350", "capacite_logements"] == 60
    assert internal.loc["59350", "capacite_places"] == 12


def test_service_coverage_counts_are_masked_too(registry):
    counts = coverage_totals(registry.sites(), registry.coverage(), PUBLIC).set_index(
        "commune_code"
    )
    assert counts["services"].to_dict() == {"07186": "< 3"}  # the confidential service: nowhere
    internal = coverage_totals(registry.sites(), registry.coverage(), INTERNAL)
    assert internal.set_index("commune_code")["services_n"].to_dict() == {"07010": 1, "07186": 2}


def test_public_export_tables_hold_no_secret(registry, rep_points):
    tables = export_tables(registry.sites(), registry.coverage(), PUBLIC, rep_points)
    for name, table in tables.items():
        assert_no_secret(pd.DataFrame(table).to_csv()), name


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".gpkg"])
def test_each_public_export_format_holds_no_secret(registry, rep_points, tmp_path, suffix):
    paths = export_registry(registry, tmp_path / f"export{suffix}", PUBLIC, rep_points)
    for path in paths:
        assert path.exists()
        if suffix == ".csv":
            text = path.read_text(encoding="utf-8-sig")
        elif suffix == ".xlsx":
            book = openpyxl.load_workbook(path, read_only=True)
            text = "\n".join(
                str(cell) for sheet in book for row in sheet.iter_rows(values_only=True)
                for cell in row
            )
            assert book.sheetnames == ["lisez-moi", "sites", "totaux-communes", "services-communes",
                                       "confidentiels-departements"]
        else:
            with sqlite3.connect(path) as conn:
                tables = [r[0] for r in conn.execute("SELECT table_name FROM gpkg_contents")]
                text = "\n".join(
                    str(row) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"')
                )
            sites = pyogrio.read_dataframe(path, layer="sites")
            located = sites.geometry.notna()
            assert_no_secret_point(sites.geometry[located].x.to_numpy(),
                                   sites.geometry[located].y.to_numpy())
            assert set(tables) >= {"sites", "totaux_communes", "lisez_moi"}
        assert_no_secret(text)
        assert "Public Lille 1" in text or path.name.endswith("_totaux_communes.csv")
    if suffix == ".csv":
        sites = pd.read_csv(paths[0], sep=";", dtype=str, encoding="utf-8-sig")
        assert_no_secret_point(sites["longitude"].astype(float).to_numpy(),
                               sites["latitude"].astype(float).to_numpy())
        assert sites["source"].str.startswith("Registre de l'offre des opérateurs").all()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".gpkg"])
def test_internal_export_keeps_everything(registry, tmp_path, suffix):
    paths = export_registry(registry, tmp_path / f"interne{suffix}", INTERNAL)
    if suffix == ".csv":
        text = paths[0].read_text(encoding="utf-8-sig")
    elif suffix == ".xlsx":
        text = pd.read_excel(paths[0], sheet_name="sites").to_csv()
    else:
        text = pyogrio.read_dataframe(paths[0], layer="sites").to_csv()
    for name in SECRET_NAMES:
        assert name in text


def test_internal_csv_export_can_be_imported_again(registry, tmp_path, store):
    (path, _) = export_registry(registry, tmp_path / "interne.csv", INTERNAL)
    other = Registry(tmp_path / "copie.gpkg")
    result = import_file(path, other, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    assert result.rejected == 0
    assert result.imported == registry.count_sites()
    mine = registry.sites().sort_values("name").reset_index(drop=True)
    theirs = other.sites().sort_values("name").reset_index(drop=True)
    for column in ["name", "commune_code", "offer_type", "confidentiality", "coverage_communes"]:
        assert mine[column].tolist() == theirs[column].tolist(), column
    assert np.allclose(mine["lon"], theirs["lon"], equal_nan=True)
    other.dispose()


def test_unknown_audience_is_refused_in_french(registry):
    with pytest.raises(ValueError, match="Public visé « presse » inconnu"):
        sites_for(registry.sites(), "presse")
