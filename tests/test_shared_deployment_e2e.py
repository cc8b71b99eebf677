"""End-to-end: the shared deployment — one throw-away PostgreSQL/PostGIS, two Streamlit
processes, two operators importing at the same moment, each seeing only what it may.

The accounts are created with the command line (``python -m operators comptes …``), as at an
installation. Each operator logs in (local account) in its own browser context on its own
Streamlit process; both files are checked, then both « Importer » buttons are clicked back to
back (a few milliseconds apart), so the two processes write into the database at the same time
(the database's lock serialises the two transactions). Then: both imports are in the database
and in the import log under their authors; each operator's page shows its own sites,
confidential one included, and not the other's; an anonymous visitor sees public figures only.

Files are hand-made in this test (two operators' sites in Guéret), three rows each.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import pytest

import settings
from tests import e2e_support as e2e
from tests.postgres_support import throwaway_postgres

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")

PASSWORD = "un mot de passe de test assez long"
HEADER = "Opérateur;Identifiant;Nom;Code INSEE;Type;Nb places;Statut;Confidentialité"
FILES = {
    "alice": ("Asso A", [
        "Asso A;A1;Pension Alpha;23096;Pension de famille;20;ouvert;public",
        "Asso A;A2;Résidence Alpha;23096;Résidence sociale;30;ouvert;public",
        "Asso A;A3;Refuge Alpha;23096;CHRS;10;ouvert;confidentiel",
    ]),
    "bruno": ("Asso B", [
        "Asso B;B1;Pension Bravo;23096;Pension de famille;15;ouvert;public",
        "Asso B;B2;Résidence Bravo;23096;Résidence sociale;25;ouvert;public",
        "Asso B;B3;Abri Bravo;23096;CHRS;8;ouvert;confidentiel",
    ]),
}
OFFER = "/offre?territoire=dep:23"
# The text of the page's tables (st.dataframe draws on a canvas and keeps an accessible copy
# of the cells it shows in the page).
TABLES_TEXT_JS = """() => Array.from(document.querySelectorAll('[data-testid="stDataFrame"]'))
  .map(t => t.textContent).join(' | ')"""


def cli(*args: str, database: str, password: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRE_")}
    env.update(DATABASE_URL=database, REGISTRE_NOUVEAU_MOT_DE_PASSE=PASSWORD)
    if password:
        env["REGISTRE_MOT_DE_PASSE"] = password
    done = subprocess.run([sys.executable, "-m", "operators", *args], cwd=settings.PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def deployment(store, tmp_path_factory):
    if not e2e.chromium_available():
        pytest.skip("Chromium absent : lancez `make system`")
    if not store.exists("communes"):
        pytest.skip("stock de référence absent : lancez `make data`")
    folder = tmp_path_factory.mktemp("partage")
    with throwaway_postgres() as new_database, contextlib.ExitStack() as servers:
        database = new_database()
        cli("comptes", "ajouter", "admin", "--role", "administrateur", database=database)
        for login, (operator, _) in FILES.items():
            cli("--compte", "admin", "comptes", "ajouter", login, "--role", "operateur",
                "--operateur", operator, database=database, password=PASSWORD)
        env = {"DATABASE_URL": database}
        urls = [servers.enter_context(e2e.streamlit_server(env=env)) for _ in range(2)]
        yield {"database": database, "urls": urls, "folder": folder}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = e2e.launch_browser(playwright)
        yield browser
        browser.close()


def new_page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def tables_text(page, waiting_for: str) -> str:
    """The text of the page's tables once ``waiting_for`` is drawn in one of them."""
    page.locator('[data-testid="stDataFrame"]').first.scroll_into_view_if_needed()
    page.wait_for_function(f"() => ({TABLES_TEXT_JS})().includes({waiting_for!r})",
                           timeout=30_000)
    return page.evaluate(TABLES_TEXT_JS)


def test_two_processes_two_operators_importing_at_once(deployment, browser):
    from operators.repository import Registry
    from ui.sites import count_text

    pages = {}
    for (login, (operator, rows)), url in zip(FILES.items(), deployment["urls"], strict=True):
        page = pages[login] = new_page(browser)
        page.goto(f"{url}{OFFER}")
        e2e.wait_rendered(page)
        e2e.log_in_locally(page, login, PASSWORD)
        assert page.get_by_text(f"Connecté : {login} (opérateur, {operator})").is_visible()
        path = deployment["folder"] / f"{login}.csv"
        path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
        e2e.check_file(page, path)
    buttons = [p.get_by_role("button", name="Importer 3 site(s) dans le registre")
               for p in pages.values()]
    for button in buttons:
        button.wait_for(timeout=60_000)
    for button in buttons:  # back to back: both processes write at the same time
        button.click()
    for login, page in pages.items():
        page.get_by_text("importés : 3").wait_for(timeout=120_000)
        e2e.screenshot(page, f"partage_import_{login}")

    registry = Registry(deployment["database"])
    try:
        sites = registry.sites()
        log = registry.import_log()
    finally:
        registry.dispose()
    assert sorted(sites["source_id"]) == ["A1", "A2", "A3", "B1", "B2", "B3"]
    assert sorted(log["imported_by"]) == ["alice (opérateur)", "bruno (opérateur)"]
    assert log["status"].tolist() == ["réussi", "réussi"]
    assert log["imported"].tolist() == [3, 3]

    # Each operator, on its own process, sees its own sites and not the other's confidential one.
    own = {"alice": ("Asso A", "Refuge Alpha", "Abri Bravo"),
           "bruno": ("Asso B", "Abri Bravo", "Refuge Alpha")}
    for login, page in pages.items():
        operator, mine, theirs = own[login]
        # A page link of the app, not a reload: the login lives in this browser session.
        page.get_by_role("link", name="Offre des membres").click()
        e2e.wait_rendered(page)
        title = f"Vos sites ({operator}), confidentiels compris : 3"
        page.get_by_text(title).click()
        page.get_by_text("Journal des imports (les vôtres)").click()
        e2e.wait_rendered(page)
        text = tables_text(page, mine)
        assert mine in text and theirs not in text, text
        assert f"{login}.csv" in text and ("bruno.csv" if login == "alice" else "alice.csv") \
            not in text
        e2e.screenshot(page, f"partage_vue_{login}")
        assert page.errors == [], page.errors
        page.context.close()

    # An anonymous visitor: public sites and figures only, no import, no journal.
    page = new_page(browser)
    page.goto(f"{deployment['urls'][1]}{OFFER}")
    e2e.wait_rendered(page)
    assert page.locator('input[type="file"]').count() == 0
    assert page.get_by_text("Vos sites").count() == 0
    assert page.get_by_text("Journal des imports").count() == 0
    body = page.locator("body").inner_text()
    assert "Registre PostgreSQL/PostGIS" in body and "postgresql+" not in body  # no server URL
    named = page.locator('[data-testid="stMetric"]', has_text="Sites nommés")
    assert named.locator('[data-testid="stMetricValue"]').inner_text() == count_text(4)
    text = tables_text(page, "Pension Alpha")
    for public in ("Pension Alpha", "Résidence Alpha", "Pension Bravo", "Résidence Bravo"):
        assert public in text, text
    assert "Refuge Alpha" not in text and "Abri Bravo" not in text
    e2e.screenshot(page, "partage_anonyme")
    assert page.errors == [], page.errors
    page.context.close()
