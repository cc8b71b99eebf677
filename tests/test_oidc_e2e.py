"""End-to-end: logging in through a real OpenID Connect flow, in a headless Chromium.

The test starts its own throw-away provider (``tests/oidc_provider.py``: discovery, login form,
authorization code with PKCE and nonce, RS256 id_token) and a Streamlit server whose
``secrets.toml`` (a temporary file given with ``--secrets.files``) points ``[auth]`` at it.
Streamlit's own ``st.login`` (Authlib) drives the flow; nothing of it is stubbed except the
app's landing page after the redirects (``/``, the national map), replaced by a blank page to
spare the CPU — the cookies are set by the redirect responses themselves.

An operator whose verified e-mail is an account of the registry gets its role: the page names
her and her role, offers the import for her operator only (another operator's rows are refused
by the server) and her imports are logged under her account. An identity the registry does not
know stays public. Both log out through the provider's end-session endpoint.

Files are hand-made in this test (two operators' sites in Guéret).
"""

from __future__ import annotations

import secrets

import pytest

from tests import e2e_support as e2e
from tests.oidc_provider import RunningProvider, secrets_toml

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("authlib", reason="Authlib absent : st.login en a besoin")

PASSWORD = "un mot de passe de test assez long"
CLIENT_ID = "diagnostic-e2e"
HEADER = "Opérateur;Identifiant;Nom;Code INSEE;Type;Nb places;Statut;Confidentialité"
PRELOADED = [
    "Asso A;A1;Pension Guéret A;23096;Pension de famille;25;ouvert;public",
    "Asso A;A2;Refuge Guéret A;23096;CHRS;12;ouvert;confidentiel",
    "Asso B;B1;Abri secret B;23096;CHRS;9;ouvert;confidentiel",
]
ALICE_FILE = ["Asso A;A3;Maison relais Guéret A;23096;Pension de famille;18;ouvert;public"]
FOREIGN_FILE = ["Asso B;B5;Tentative sur B;23096;CHRS;5;ouvert;public"]
OFFER = "/offre?territoire=dep:23"


def write_csv(path, rows: list[str]):
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def oidc_app(store, tmp_path_factory):
    if not e2e.chromium_available():
        pytest.skip("Chromium absent : lancez `make system`")
    if not store.exists("communes"):
        pytest.skip("stock de référence absent : lancez `make data`")
    from operators.accounts import ROLE_ADMIN, ROLE_OPERATOR, Accounts
    from operators.importer import import_file
    from operators.repository import Registry

    folder = tmp_path_factory.mktemp("oidc")
    url = f"sqlite:///{folder / 'registre.gpkg'}"
    registry = Registry(url)
    accounts = Accounts(registry)
    admin = accounts.add(None, "admin", ROLE_ADMIN, PASSWORD)
    accounts.add(admin, "alice", ROLE_OPERATOR, PASSWORD, name="Alice Martin",
                 email="alice@asso-a.test", operator="Asso A")
    accounts.add(admin, "bruno", ROLE_OPERATOR, PASSWORD, name="Bruno Petit",
                 email="bruno@asso-b.test", operator="Asso B")
    import_file(write_csv(folder / "depart.csv", PRELOADED), registry, geocoder=None,
                rejects_dir=folder, actor=admin)
    registry.dispose()
    running = RunningProvider()
    with running as provider:
        provider.add_user("alice", email="alice@asso-a.test", name="Alice Martin")
        provider.add_user("eve", email="eve@inconnue.test", name="Ève Inconnue")
        port = e2e.free_port()
        client_secret = secrets.token_urlsafe(24)
        provider.add_client(CLIENT_ID, client_secret, f"http://127.0.0.1:{port}/oauth2callback")
        secrets_file = folder / "secrets.toml"
        secrets_file.write_text(secrets_toml(provider.issuer, CLIENT_ID, client_secret))
        with e2e.streamlit_server(env={"DATABASE_URL": url}, port=port,
                                  args=["--secrets.files", str(secrets_file)]) as app:
            yield {"url": app, "provider": provider, "database": url, "folder": folder}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        browser = e2e.launch_browser(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, oidc_app):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    # The landing page after the redirects (the national map) is not what is tested here.
    page.route(f"{oidc_app['url']}/", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<p>accueil</p>"))
    yield page
    context.close()


def login_with_provider(page, app, username: str) -> None:
    """From the sidebar to the provider's form and back, as a person would."""
    provider = app["provider"]
    e2e.open_account_box(page)
    page.get_by_role("button", name="Se connecter avec le fournisseur d'identité").click()
    page.wait_for_url(f"{provider.issuer}/authorize?**", timeout=90_000)
    page.get_by_label("Identifiant").fill(username)
    with page.expect_response(lambda r: "/oauth2callback?" in r.url, timeout=90_000) as answer:
        page.get_by_role("button", name="Autoriser").click()
    assert answer.value.status == 302  # Streamlit set its identity cookie and went home
    page.wait_for_url(f"{app['url']}/", timeout=90_000)
    cookies = {c["name"] for c in page.context.cookies()}
    assert "_streamlit_user" in cookies, cookies
    page.goto(f"{app['url']}{OFFER}")
    e2e.wait_rendered(page)


def logout(page, app) -> None:
    events = len(app["provider"].events)
    e2e.wait_rendered(page)
    e2e.open_account_box(page)
    page.get_by_role("button", name="Se déconnecter").click()
    # Through the provider's end-session endpoint and back home. (A rerun right after
    # st.logout once dropped that redirect now and then, leaving the person logged in: the
    # sidebar no longer reruns after an OIDC logout.)
    page.wait_for_url(f"{app['url']}/", timeout=90_000)
    assert "logout" in app["provider"].events[events:]
    assert "_streamlit_user" not in {c["name"] for c in page.context.cookies()}
    page.goto(f"{app['url']}{OFFER}")
    e2e.wait_rendered(page)
    e2e.open_account_box(page)
    assert page.get_by_text("Vous consultez en public (anonyme)").is_visible()
    assert page.locator('input[type="file"]').count() == 0


def test_an_operator_logs_in_with_the_provider_and_imports_for_her_operator_only(oidc_app, page):
    from operators.repository import Registry

    app = oidc_app
    page.goto(f"{app['url']}{OFFER}")
    e2e.wait_rendered(page)
    assert page.locator('input[type="file"]').count() == 0  # anonymous: no import
    login_with_provider(page, app, "alice")
    assert app["provider"].events[-2:] == ["authorize alice", "token alice"]
    e2e.open_account_box(page)
    assert page.get_by_text("Connecté : Alice Martin (opérateur, Asso A)").is_visible()
    # Her own sites, confidential one included, and not the other operator's.
    assert page.get_by_text("Vos sites (Asso A), confidentiels compris : 2").is_visible()
    e2e.screenshot(page, "oidc_operatrice_connectee")

    # Another operator's rows: refused by the server when the file is checked, before any
    # address is geocoded (issue #23), nothing written.
    foreign = write_csv(app["folder"] / "autre_operateur.csv", FOREIGN_FILE)
    page.locator('input[type="file"]').set_input_files(str(foreign))
    page.get_by_role("button", name="Vérifier le fichier").wait_for(timeout=60_000)
    e2e.wait_rendered(page)
    assert page.get_by_label("Opérateur (votre compte)").input_value() == "Asso A"
    assert page.get_by_label("Opérateur (votre compte)").is_disabled()
    page.get_by_role("button", name="Vérifier le fichier").click()
    page.get_by_text("Import refusé, rien n'a été écrit").wait_for(timeout=60_000)
    assert page.get_by_text("ne peut importer que les sites de son opérateur").is_visible()

    # Her own file goes in, under her account.
    e2e.check_file(page, write_csv(app["folder"] / "asso_a.csv", ALICE_FILE))
    page.get_by_role("button", name="Importer 1 site(s) dans le registre").click()
    page.get_by_text("importés : 1").wait_for(timeout=60_000)
    e2e.screenshot(page, "oidc_operatrice_import")
    registry = Registry(app["database"])
    try:
        log = registry.import_log()
        sites = registry.sites()
    finally:
        registry.dispose()
    assert log["imported_by"].tolist()[-1] == "alice (opérateur)"
    assert sorted(sites["source_id"]) == ["A1", "A2", "A3", "B1"]
    page.goto(f"{app['url']}{OFFER}")
    e2e.wait_rendered(page)
    assert page.get_by_text("Vos sites (Asso A), confidentiels compris : 3").is_visible()
    assert page.get_by_text("Journal des imports (les vôtres)").is_visible()
    logout(page, app)
    assert page.errors == [], page.errors


def test_an_identity_without_account_stays_public(oidc_app, page):
    app = oidc_app
    page.goto(f"{app['url']}{OFFER}")
    e2e.wait_rendered(page)
    login_with_provider(page, app, "eve")
    assert app["provider"].events[-1] == "token eve"
    e2e.open_account_box(page)
    assert page.get_by_text("Connecté par le fournisseur d'identité : Ève Inconnue").is_visible()
    assert page.get_by_text("Aucun compte du registre").first.is_visible()
    assert page.locator('input[type="file"]').count() == 0
    assert page.get_by_text("Consultation publique").first.is_visible()
    assert page.get_by_text("Vos sites").count() == 0
    e2e.screenshot(page, "oidc_identite_sans_compte")
    logout(page, app)
    assert page.errors == [], page.errors
