"""Accounts held on the server (issue #23): the attacks of a fresh browser session, of a
deactivated account left open, and of a local user reading the registry's files, mounted.

Hand-made accounts and files (written in this test).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
import sqlalchemy as sa

import settings
from operators import snapshots as snap
from operators.accounts import (
    CLIENT_MAX_FAILURES,
    LOCK_SECONDS,
    MAX_FAILURES,
    ROLE_ADMIN,
    ROLE_DELEGATE,
    ROLE_OPERATOR,
    AccessDenied,
    Accounts,
    LoginLocked,
)
from operators.importer import import_file
from operators.repository import Registry
from tests.account_support import PASSWORD, app_session, log_in

HEADER = "Opérateur;Identifiant;Nom;Code INSEE;Type;Nb places;Statut;Confidentialité"
ROWS = ["Asso A;A1;Pension Guéret;23096;Pension de famille;25;ouvert;public",
        "Asso A;A2;Refuge Guéret;23096;CHRS;12;ouvert;confidentiel",
        "Asso A;A3;Sans commune;;CHRS;12;ouvert;public"]


def csv(rows: list[str]) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


# -- failed logins ---------------------------------------------------------------------------
def test_failed_logins_are_counted_per_login_across_sessions_and_processes(registry, people):
    # Each try from a new « session » (a new Accounts object, a new Registry connection).
    for _ in range(MAX_FAILURES):
        other = Registry(registry.url)
        assert Accounts(other).authenticate("alice", "mauvais") is None
        other.dispose()
    with pytest.raises(LoginLocked, match="Trop d'essais infructueux"):
        Accounts(registry).authenticate("alice", PASSWORD)
    # Another process sees the same lock (the count is in the database, not in a session).
    code = ("import sys\nfrom operators.repository import Registry\n"
            "from operators.accounts import Accounts, LoginLocked\n"
            f"r = Registry({registry.url!r})\n"
            "try:\n    Accounts(r).authenticate('alice', sys.argv[1])\n"
            "except LoginLocked:\n    print('verrouille')\n")
    done = subprocess.run([sys.executable, "-c", code, PASSWORD], capture_output=True, text=True,
                          cwd=settings.PROJECT_ROOT, timeout=120)
    assert done.stdout.strip() == "verrouille", done.stderr
    # Another login is not locked by alice's failures; alice is again after the lock.
    assert Accounts(registry).authenticate("admin", PASSWORD) == people["admin"]
    import time

    later = time.time() + LOCK_SECONDS + 1
    assert Accounts(registry).authenticate("alice", PASSWORD, now=later) == people["alice"]
    # A success clears the count.
    assert Accounts(registry).authenticate("alice", "mauvais", now=later) is None
    assert Accounts(registry).authenticate("alice", PASSWORD, now=later) == people["alice"]


def test_failed_logins_are_counted_per_client_across_logins(registry, people):
    for i in range(CLIENT_MAX_FAILURES):
        assert Accounts(registry).authenticate(f"inconnu{i}", "x", client="203.0.113.9") is None
    with pytest.raises(LoginLocked):
        Accounts(registry).authenticate("admin", PASSWORD, client="203.0.113.9")
    assert Accounts(registry).authenticate("admin", PASSWORD, client="198.51.100.4") \
        == people["admin"]


def test_the_sidebar_lock_holds_in_a_fresh_session(registry, people, monkeypatch):
    """The lock of issue #23: a new browser session used to get five more tries."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DATABASE_URL", registry.url)
    script = "from ui.auth import sidebar_login\nsidebar_login()\n"

    def try_once(password: str):
        at = AppTest.from_string(script, default_timeout=60)  # a new session each time
        at.run()
        at.sidebar.text_input(key="compte_identifiant").input("alice")
        at.sidebar.text_input(key="compte_mdp").input(password)
        at.sidebar.button[0].click()
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    for _ in range(MAX_FAILURES):
        at = try_once("mauvais")
        assert any("incorrect" in e.value for e in at.sidebar.error)
    at = try_once(PASSWORD)
    assert any("Trop d'essais infructueux" in e.value for e in at.sidebar.error)
    assert "compte_connecte" not in at.session_state


# -- accounts re-read ------------------------------------------------------------------------
def test_a_deactivated_account_cannot_write_with_its_open_session(registry, people):
    alice = Accounts(registry).authenticate("alice", PASSWORD)  # the session's cached account
    Accounts(registry).deactivate(people["admin"], "alice")
    with pytest.raises(AccessDenied, match="désactivé"):
        import_file(csv(ROWS[:1]), registry, name="a.csv", geocoder=None, actor=alice)
    assert registry.count_sites() == 0
    assert Accounts(registry).current(alice) is None


def test_a_demoted_administrator_loses_its_rights_inside_the_transaction(registry, people):
    admin = people["admin"]
    with registry.write_transaction() as conn:
        conn.execute(sa.text("UPDATE accounts SET role = :r, network = 'FAPIL' "
                             "WHERE login = 'admin'"), {"r": ROLE_DELEGATE})
    with pytest.raises(AccessDenied):
        snap.take_snapshot(registry, admin, "2024-12-31")
    with pytest.raises(AccessDenied):
        import_file(csv(ROWS[:1]), registry, name="a.csv", geocoder=None, actor=admin)
    with pytest.raises(AccessDenied):
        Accounts(registry).add(admin, "eve", ROLE_OPERATOR, PASSWORD, operator="Asso E")
    assert snap.list_snapshots(registry).empty


def test_the_page_rereads_the_account_at_each_run(registry, people, monkeypatch):

    at = log_in(app_session(registry, monkeypatch), "alice")
    assert at.get("file_uploader")
    Accounts(registry).deactivate(people["admin"], "alice")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("file_uploader")  # back to the public at the next run
    assert "compte_connecte" not in at.session_state


# -- files readable by the owner only --------------------------------------------------------
def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_registry_and_rejects_files_are_private(tmp_path, store):
    old = os.umask(0o022)
    try:
        path = tmp_path / "registre.gpkg"
        registry = Registry(path)
        accounts = Accounts(registry)
        admin = accounts.add(None, "admin", ROLE_ADMIN, PASSWORD)
        result = import_file(csv(ROWS), registry, name="a.csv", geocoder=None, actor=admin,
                             rejects_dir=tmp_path / "rejets")
        assert result.rejected == 1 and result.rejects_path is not None
        assert _mode(path) == 0o600
        for extra in (path.with_name("registre.gpkg-wal"), path.with_name("registre.gpkg-shm")):
            if extra.exists():
                assert _mode(extra) == 0o600, extra
        assert _mode(result.rejects_path) == 0o600
        registry.dispose()
        # A registry made world-readable by an older version is narrowed when opened.
        os.chmod(path, 0o644)
        Registry(path).dispose()
        assert _mode(path) == 0o600
    finally:
        os.umask(old)
