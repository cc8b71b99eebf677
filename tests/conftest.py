"""Shared test fixtures.

Tests read the real official files in ``../shared/data`` (never copied into the repository) and
the reference geography from the local store built by ``make data``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import settings
from geodata.store import Store

PROJECT_ROOT = settings.PROJECT_ROOT
SHARED = (PROJECT_ROOT / ".." / "shared").resolve()
SHARED_DATA = SHARED / "data"
API_FIXTURES = SHARED / "fixtures" / "api"
LOCAL_FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
# AppTest runs pages in this process with no browser to wait for; the app servers of the
# end-to-end tests (their own processes) keep the first map's pause (ui.mapview).
settings.FIRST_MAP_PAUSE_S = 0.0

# Property and fuzz tests (hypothesis): on CI the examples are derived from each test alone, so
# a run is the same every time (a failure found elsewhere is fixed and kept as an explicit test);
# on a developer's machine they stay random and keep exploring.
try:
    import os

    from hypothesis import settings as hypothesis_settings

    hypothesis_settings.register_profile("ci", derandomize=True, database=None)
    if os.environ.get("CI"):
        hypothesis_settings.load_profile("ci")
except ImportError:  # hypothesis is in requirements.txt; without it the property tests skip
    pass


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip("../shared/data absent : fichiers officiels indisponibles")
    return SHARED_DATA


@pytest.fixture(scope="session")
def api_fixtures() -> Path:
    return API_FIXTURES


@pytest.fixture(scope="session")
def store() -> Store:
    """The project's local store (built by `make data`, which `make test` runs first)."""
    store = Store()
    if not store.exists("communes"):
        from geodata.build import build_reference

        build_reference(store)
    return store


@pytest.fixture(scope="session")
def communes(store):
    return store.read("communes")


@pytest.fixture(scope="session")
def passage(store):
    return store.read("cog_passage")


# -- a registry of its own and its accounts (test_accounts*.py, test_import_stored_*.py…) -------
@pytest.fixture
def registry(tmp_path, store):
    """A fresh registry in the test's temporary folder (a module may define its own)."""
    from operators.repository import Registry

    registry = Registry(tmp_path / "registre.gpkg")
    yield registry
    registry.dispose()


@pytest.fixture
def people(registry):
    """An administrator (the first account), two operators (« alice » of Asso A, « bob » of
    Asso B), a delegate (« dora », FAPIL); password ``account_support.PASSWORD``."""
    from operators.accounts import ROLE_ADMIN, ROLE_DELEGATE, ROLE_OPERATOR, Accounts
    from tests.account_support import PASSWORD

    accounts = Accounts(registry)
    admin = accounts.add(None, "admin", ROLE_ADMIN, PASSWORD, name="Administratrice")
    alice = accounts.add(admin, "alice", ROLE_OPERATOR, PASSWORD, operator="Asso A")
    bob = accounts.add(admin, "bob", ROLE_OPERATOR, PASSWORD, operator="Asso B")
    dora = accounts.add(admin, "dora", ROLE_DELEGATE, PASSWORD, network="FAPIL")
    return {"admin": admin, "alice": alice, "bob": bob, "dora": dora}
