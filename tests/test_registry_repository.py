"""The registry database: the same tests on SQLite/GeoPackage and on a throw-away PostgreSQL.

The PostgreSQL server is started for this module by ``tests/postgres_support.py`` (Debian
binaries, a temporary folder, a unix socket only). The PostgreSQL tests are skipped, with the
reason, when the binaries or PostGIS are absent.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from operators.accounts import ROLE_ADMIN, Account
from operators.importer import import_file, prepare_import, write_prepared
from operators.repository import Registry, RegistryError
from tests.account_support import ADMIN
from tests.postgres_support import throwaway_postgres

FIXTURES = Path(__file__).parent / "fixtures" / "registry"
LATIN1 = FIXTURES / "sites_desordre_latin1_fait_main.csv"
GEOJSON = FIXTURES / "sites_fait_main.geojson"


@pytest.fixture(scope="module")
def postgres_server():
    """A throw-away PostgreSQL cluster (``tests/postgres_support.py``); yields a function
    making a fresh database URL."""
    with throwaway_postgres() as new_database:
        yield new_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, store) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registre.gpkg'}"
    return request.getfixturevalue("postgres_server")()


def test_import_and_reimport_are_idempotent(database_url, tmp_path):
    registry = Registry(database_url)
    alice = Account("alice", ROLE_ADMIN)
    bob = Account("bob", ROLE_ADMIN)
    first = import_file(LATIN1, registry, geocoder=None, rejects_dir=tmp_path, actor=alice)
    sites = registry.sites()
    second = import_file(LATIN1, registry, geocoder=None, rejects_dir=tmp_path, actor=bob)
    assert (second.imported, second.updated, second.unchanged) == (0, first.imported,
                                                                   first.imported)
    assert registry.count_sites() == first.imported
    pd.testing.assert_frame_equal(registry.sites(), sites)
    assert sorted(registry.sites()["site_id"]) == sorted(
        first.outcomes.dropna(subset=["site_id"])["site_id"]
    )
    log = registry.import_log()
    assert log["imported_by"].tolist() == ["alice (administrateur)", "bob (administrateur)"]
    assert log["status"].tolist() == ["réussi", "réussi"]
    assert log["file_sha256"].tolist() == [first.file_sha256] * 2
    assert log[["imported", "updated", "rejected"]].values.tolist() == [
        [first.imported, 0, first.rejected], [0, first.imported, first.rejected]
    ]
    assert log["started_at"].notna().all() and log["finished_at"].notna().all()
    coverage = registry.coverage()
    avdl = sites.set_index("source_id").loc["TN-11", "site_id"]
    lille_metropole = coverage[coverage["site_id"] == avdl]["commune_code"]
    assert "59350" in set(lille_metropole) and len(lille_metropole) > 90
    registry.dispose()


def test_a_failing_import_writes_nothing(database_url, tmp_path, monkeypatch):
    registry = Registry(database_url)
    import_file(GEOJSON, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    before = registry.sites()
    coverage_before = registry.coverage()

    def broken(self, conn, ids, coverage):
        raise RuntimeError("panne simulée au milieu de l'import")

    monkeypatch.setattr(Registry, "_write_coverage", broken)
    with pytest.raises(RuntimeError, match="panne simulée"):
        import_file(LATIN1, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(registry.sites(), before)
    pd.testing.assert_frame_equal(registry.coverage(), coverage_before)
    log = registry.import_log()
    assert log["status"].tolist() == ["réussi", "échoué"]
    assert "panne simulée" in log["message"].iloc[-1]
    assert log["file_name"].iloc[-1] == LATIN1.name
    again = import_file(LATIN1, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    assert again.imported > 0
    registry.dispose()


def test_two_imports_at_once_do_not_corrupt_each_other(database_url, tmp_path):
    # Prepared first (reading and geocoding need no lock), then written at the same time by two
    # threads with their own connections; the same file twice must not create duplicates.
    prepared = {
        "latin1": prepare_import(LATIN1, geocoder=None),
        "geojson": prepare_import(GEOJSON, geocoder=None),
        "latin1_bis": prepare_import(LATIN1, geocoder=None),
    }
    Registry(database_url).dispose()  # schema created once before the race
    barrier = threading.Barrier(len(prepared))
    results, errors = {}, []

    def write(key):
        registry = Registry(database_url)
        try:
            barrier.wait()
            results[key] = write_prepared(prepared[key], registry, rejects_dir=tmp_path / key, actor=ADMIN)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            registry.dispose()

    threads = [threading.Thread(target=write, args=(key,)) for key in prepared]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    registry = Registry(database_url)
    n_latin1 = len(prepared["latin1"].sites)
    n_geojson = len(prepared["geojson"].sites)
    assert registry.count_sites() == n_latin1 + n_geojson
    pair = sorted([results["latin1"].imported, results["latin1_bis"].imported])
    assert pair == [0, n_latin1]
    assert results["geojson"].imported == n_geojson
    log = registry.import_log()
    assert (log["status"] == "réussi").sum() == 3
    assert registry.sites()["site_id"].is_unique
    registry.dispose()


def test_sqlite_registry_is_a_geopackage_in_wal_mode(tmp_path, store):
    import pyogrio

    path = tmp_path / "registre.gpkg"
    registry = Registry(path)
    import_file(GEOJSON, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    layers = dict(pyogrio.list_layers(path))
    assert layers["sites"] == "Point"
    frame = pyogrio.read_dataframe(path, layer="sites")
    assert frame.crs.to_epsg() == 4326
    ours = registry.sites().set_index("site_id")
    frame = frame.set_index("site_id").loc[ours.index]
    located = ours["lon"].notna()
    assert (frame.geometry[located].x.round(9) == ours.loc[located, "lon"].round(9)).all()
    assert (frame.geometry[located].y.round(9) == ours.loc[located, "lat"].round(9)).all()
    assert frame.geometry[~located].isna().all()
    registry.dispose()


def test_postgis_stores_the_points(postgres_server, tmp_path, store):
    url = postgres_server()
    registry = Registry(url)
    import_file(GEOJSON, registry, geocoder=None, rejects_dir=tmp_path, actor=ADMIN)
    with registry.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT site_id, ST_X(geom), ST_Y(geom), ST_SRID(geom), lon, lat FROM sites "
            "WHERE geom IS NOT NULL"
        )).all()
    assert rows
    for _, x, y, srid, lon, lat in rows:
        assert (x, y, srid) == (pytest.approx(lon), pytest.approx(lat), 4326)
    assert registry.describe_fr().startswith("registre PostgreSQL/PostGIS")
    registry.dispose()


def test_unreachable_database_gives_a_french_error(tmp_path):
    url = f"postgresql://personne@/registre?host={tmp_path / 'pas-de-serveur'}"
    with pytest.raises(RegistryError, match="Impossible d'ouvrir le registre PostgreSQL"):
        Registry(url)
    with pytest.raises(RegistryError, match="« mysql » non prise en charge"):
        Registry("mysql://x@localhost/y")


def test_two_operators_importing_at_once_each_see_only_their_own(database_url, tmp_path):
    """Two operators write at the same time (own connections, as two app processes would);
    a third write, by one of them over the other's site, is refused; each reads its journal."""
    from operators.accounts import ROLE_OPERATOR, AccessDenied, Accounts
    from operators.validation import Defaults

    header = "Identifiant;Nom;Code INSEE;Type;Nb places;Confidentialité\n"
    files = {
        "a": header + "A1;Pension A;23096;Pension de famille;25;\nA2;Refuge A;23096;CHRS;9;oui\n",
        "b": header + "B1;Résidence B;59350;Résidence sociale;40;\n",
        "b_over_a": "Opérateur;" + header.replace("\n", "") + "\nAsso A;A1;Pension A;23096;"
                    "Pension de famille;0;\n",
    }
    registry = Registry(database_url)
    accounts = Accounts(registry)
    admin = accounts.add(None, "admin", ROLE_ADMIN, "mot de passe de test")
    alice = accounts.add(admin, "alice", ROLE_OPERATOR, "mot de passe de test", operator="Asso A")
    bob = accounts.add(admin, "bob", ROLE_OPERATOR, "mot de passe de test", operator="Asso B")
    registry.dispose()
    who = {"a": alice, "b": bob, "b_over_a": bob}
    prepared = {
        key: prepare_import(text.encode(), f"{key}.csv", geocoder=None,
                            defaults=Defaults(operator_name=who[key].operator_name))
        for key, text in files.items()
    }
    barrier = threading.Barrier(2)
    results, errors = {}, {}

    def write(key):
        own = Registry(database_url)
        try:
            barrier.wait()
            results[key] = write_prepared(prepared[key], own, actor=who[key],
                                          rejects_dir=tmp_path / key)
        except Exception as error:  # reported below
            errors[key] = error
        finally:
            own.dispose()

    threads = [threading.Thread(target=write, args=(key,)) for key in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    registry = Registry(database_url)
    with pytest.raises(AccessDenied):
        write_prepared(prepared["b_over_a"], registry, actor=bob, rejects_dir=tmp_path)
    sites = registry.sites().set_index("source_id")
    assert sites.loc["A1", "capacity"] == 25 and sites.loc["A1", "operator_name"] == "Asso A"
    assert registry.count_sites() == 3
    assert registry.visible_import_log(alice)["file_name"].tolist() == ["a.csv"]
    assert registry.visible_import_log(bob)["file_name"].tolist() == ["b.csv", "b_over_a.csv"]
    assert registry.visible_import_log(bob)["status"].tolist() == ["réussi", "échoué"]
    assert len(registry.visible_import_log(admin)) == 3
    registry.dispose()
