"""Accounts the tests write with (hand-made; the checks themselves are in test_accounts.py).

Also the account tests' password (the ``people`` of ``conftest.py`` use it) and an AppTest
session of the « Offre des membres » page logged in from the sidebar, shared by
test_accounts*.py and test_offre_after_import.py.
"""

from __future__ import annotations

from operators.accounts import ROLE_ADMIN, Account

ADMIN = Account("admin-tests", ROLE_ADMIN, "Administrateur des tests")
PASSWORD = "correct horse battery staple"
# The « Offre des membres » page under the sidebar's login box, as AppTest runs it.
OFFER_PAGE = ("from ui.auth import sidebar_login\nfrom ui.pages import offre\n"
              "sidebar_login()\noffre.render()\n")


def app_session(registry, monkeypatch, script: str = OFFER_PAGE, territory: str | None = "dep:23",
                timeout: int = 120):
    """An AppTest session of ``script`` on ``registry``, run once (the territory in its link)."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DATABASE_URL", registry.url)
    at = AppTest.from_string(script, default_timeout=timeout)
    if territory:
        at.query_params["territoire"] = territory
    at.run()
    return at


def log_in(at, login: str, password: str = PASSWORD):
    """Fill the sidebar's login box and run the session again."""
    at.sidebar.text_input(key="compte_identifiant").input(login)
    at.sidebar.text_input(key="compte_mdp").input(password)
    at.sidebar.button[0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
