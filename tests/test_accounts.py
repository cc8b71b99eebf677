"""Accounts and roles: the attacks of an anonymous visitor and of an operator, mounted against
the repository (what the app and the command line both call), the command line and the page.

Files are hand-made in this test: two operators' sites in Guéret and Lille.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
import sqlalchemy as sa

import settings
from operators.accounts import (
    ANONYMOUS,
    ROLE_ADMIN,
    ROLE_OPERATOR,
    AccessDenied,
    Account,
    AccountError,
    Accounts,
)
from operators.demo import load_demo
from operators.importer import import_file
from operators.repository import Registry
from tests.account_support import PASSWORD, app_session, log_in

HEADER = "Opérateur;Identifiant;Nom;Code INSEE;Type;Nb places;Statut;Confidentialité"
ASSO_A = [
    "Asso A;A1;Pension Guéret;23096;Pension de famille;25;ouvert;public",
    "Asso A;A2;Refuge Guéret;23096;CHRS;12;ouvert;confidentiel",
]
ASSO_B = ["Asso B;B1;Résidence Lille;59350;Résidence sociale;40;ouvert;public"]


def csv(rows: list[str]) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def sites_of(registry) -> pd.DataFrame:
    return pd.DataFrame(registry.sites()).set_index("source_id")


def test_passwords_are_argon2id_hashes_and_checked(registry, people):
    with registry.engine.connect() as conn:
        hashes = [r[0] for r in conn.execute(sa.text("SELECT password_hash FROM accounts"))]
    assert all(h.startswith("$argon2id$") for h in hashes) and PASSWORD not in "".join(hashes)
    accounts = Accounts(registry)
    assert accounts.authenticate("alice", PASSWORD) == people["alice"]
    assert accounts.authenticate("ALICE ", PASSWORD) == people["alice"]
    assert accounts.authenticate("alice", PASSWORD + "x") is None
    assert accounts.authenticate("personne", PASSWORD) is None
    with pytest.raises(AccountError, match="trop court"):
        accounts.add(people["admin"], "eve", ROLE_ADMIN, "court")
    with pytest.raises(AccessDenied, match="réservé aux administrateurs"):
        accounts.add(people["alice"], "eve", ROLE_ADMIN, PASSWORD)
    with pytest.raises(AccessDenied, match="refusé"):
        accounts.set_password(people["alice"], "bob", "un autre mot de passe")
    accounts.set_password(people["alice"], "alice", "un autre mot de passe")
    assert accounts.authenticate("alice", "un autre mot de passe") == people["alice"]
    accounts.deactivate(people["admin"], "bob")
    assert accounts.authenticate("bob", PASSWORD) is None


def test_first_account_must_be_an_administrator(registry):
    with pytest.raises(AccessDenied):
        Accounts(registry).add(None, "alice", ROLE_OPERATOR, PASSWORD, operator="Asso A")


def test_anonymous_and_delegate_cannot_write_anything(registry, people):
    import_file(csv(ASSO_A), registry, name="a.csv", geocoder=None, actor=people["alice"])
    before = sites_of(registry)
    # The attack of the issue: capacity 25 → 0, status → en projet, by an anonymous visitor.
    attack = csv(["Asso A;A1;Pension Guéret;23096;Pension de famille;0;en projet;public"])
    for who in (None, ANONYMOUS, people["dora"]):
        with pytest.raises(AccessDenied, match="Écriture refusée"):
            import_file(attack, registry, name="attaque.csv", geocoder=None, actor=who)
        with pytest.raises(AccessDenied, match="réservé aux administrateurs"):
            load_demo(registry, who)
    pd.testing.assert_frame_equal(sites_of(registry), before)
    assert registry.import_log()["status"].tolist() == ["réussi"]


def test_an_operator_writes_only_its_own_sites(registry, people, tmp_path):
    import_file(csv(ASSO_A), registry, name="a.csv", geocoder=None, actor=people["alice"])
    before = sites_of(registry)
    attack = csv(["Asso A;A1;Pension Guéret;23096;Pension de famille;0;en projet;public"])
    with pytest.raises(AccessDenied, match="que les sites de son opérateur"):
        import_file(attack, registry, name="b.csv", geocoder=None, actor=people["bob"])
    pd.testing.assert_frame_equal(sites_of(registry), before)
    log = registry.import_log()
    assert log["status"].tolist() == ["réussi", "échoué"]
    assert log["imported_by"].tolist() == ["alice (opérateur)", "bob (opérateur)"]
    with pytest.raises(AccessDenied):
        load_demo(registry, people["bob"])
    # Its own file, without an operator column: its operator's sites.
    own = "Identifiant;Nom;Code INSEE;Type;Nb places\nB1;Résidence Lille;59350;Résidence sociale;40\n"
    result = import_file(own.encode(), registry, name="b.csv", geocoder=None, actor=people["bob"])
    assert result.imported == 1
    assert sites_of(registry).loc["B1", "operator_name"] == "Asso B"


def test_confidential_to_public_needs_an_explicit_confirmation_and_is_logged(registry, people):
    import_file(csv(ASSO_A), registry, name="a.csv", geocoder=None, actor=people["alice"])
    disclose = csv([ASSO_A[0], ASSO_A[1].replace("confidentiel", "public")])
    with pytest.raises(AccessDenied, match=r"moins confidentiel.*Refuge Guéret"):
        import_file(disclose, registry, name="a2.csv", geocoder=None, actor=people["alice"])
    assert sites_of(registry).loc["A2", "confidentiality"] == "confidentiel"
    result = import_file(disclose, registry, name="a2.csv", geocoder=None, actor=people["alice"],
                         confirm_disclosure=True)
    assert result.updated == 2
    assert sites_of(registry).loc["A2", "confidentiality"] == "public"
    message = registry.import_log()["message"].iloc[-1]
    assert "Levée de confidentialité confirmée par alice (opérateur)" in message
    assert "confidentiel → public" in message


def test_each_user_reads_only_its_own_journal(registry, people, tmp_path):
    rejects = csv([*ASSO_A, "Asso A;A3;Mauvais;23096;CHRS;douze;ouvert;public"])
    import_file(rejects, registry, name="secret_nom_de_fichier_a.csv", geocoder=None,
                actor=people["alice"], rejects_dir=tmp_path)
    import_file(csv(ASSO_B), registry, name="fichier_b.csv", geocoder=None, actor=people["bob"])
    full = registry.import_log()
    assert len(full) == 2 and full["rejects_path"].notna().any()
    assert registry.visible_import_log(people["admin"]).equals(full)
    mine = registry.visible_import_log(people["bob"])
    assert mine["file_name"].tolist() == ["fichier_b.csv"]
    assert "rejects_path" not in mine.columns
    for who in (None, ANONYMOUS, people["dora"]):
        shown = registry.visible_import_log(who)
        assert shown.empty and "file_name" not in shown.columns


def run_cli(*args: str, database, password: str | None = None, new_password: str | None = None):
    env = {k: v for k, v in os.environ.items()
           if k not in ("REGISTRE_COMPTE", "REGISTRE_MOT_DE_PASSE")}
    env["DATABASE_URL"] = f"sqlite:///{database}"
    if password is not None:
        env["REGISTRE_MOT_DE_PASSE"] = password
    if new_password is not None:
        env["REGISTRE_NOUVEAU_MOT_DE_PASSE"] = new_password
    return subprocess.run([sys.executable, "-m", "operators", *args], cwd=settings.PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


def test_an_oidc_identity_gets_the_role_of_its_verified_email_only(registry, people):
    accounts = Accounts(registry)
    alice = accounts.add(people["admin"], "alice.oidc", ROLE_OPERATOR, PASSWORD,
                         name="Alice Martin", email="Alice@Asso-A.test", operator="Asso A")
    claims = {"is_logged_in": True, "email": "alice@asso-a.TEST", "email_verified": True,
              "sub": "abc", "name": "Alice"}
    found = accounts.for_identity(claims)
    assert found == alice and found.operator_name == "Asso A"
    assert accounts.for_identity({**claims, "email_verified": "true"}) == alice
    # The provider must vouch for the address; anything else stays public.
    assert accounts.for_identity({**claims, "email_verified": False}) is None
    assert accounts.for_identity({**claims, "email_verified": "false"}) is None
    unverified = dict(claims)
    del unverified["email_verified"]
    assert accounts.for_identity(unverified) is None
    assert accounts.for_identity({**claims, "is_logged_in": False}) is None
    assert accounts.for_identity({**claims, "email": "eve@ailleurs.test"}) is None
    assert accounts.for_identity({**claims, "email": "  "}) is None
    assert accounts.for_identity({"is_logged_in": True, "email_verified": True}) is None
    accounts.deactivate(people["admin"], "alice.oidc")
    assert accounts.for_identity(claims) is None


def test_command_line_checks_the_account_as_the_app_does(store, tmp_path):
    database = tmp_path / "cli.gpkg"
    path = tmp_path / "a.csv"
    path.write_bytes(csv(ASSO_A))
    # Installation: no administrator yet, the first one is created without logging in.
    done = run_cli("comptes", "ajouter", "admin", "--role", "administrateur", database=database,
                   new_password=PASSWORD)
    assert done.returncode == 0, done.stderr
    done = run_cli("--compte", "admin", "accounts", "add", "alice", "--role", "operateur",
                   "--operateur", "Asso A", database=database, password=PASSWORD,
                   new_password=PASSWORD)
    assert done.returncode == 0, done.stderr
    # From now on an anonymous command line cannot write, export everything nor add accounts.
    refused = run_cli("import", str(path), "--sans-geocodage", database=database)
    assert refused.returncode == 1 and "Écriture refusée" in refused.stderr
    refused = run_cli("export", str(tmp_path / "tout.csv"), "--interne", database=database)
    assert refused.returncode == 1 and "réservé aux administrateurs" in refused.stderr
    refused = run_cli("comptes", "ajouter", "eve", "--role", "administrateur",
                      database=database, new_password=PASSWORD)
    assert refused.returncode == 1 and "réservé aux administrateurs" in refused.stderr
    refused = run_cli("demo", database=database)
    assert refused.returncode == 1 and "réservé aux administrateurs" in refused.stderr
    wrong = run_cli("--compte", "alice", "import", str(path), "--sans-geocodage",
                    database=database, password="mauvais mot de passe")
    assert wrong.returncode == 1 and "Identifiant ou mot de passe incorrect" in wrong.stderr
    done = run_cli("--compte", "alice", "import", str(path), "--sans-geocodage",
                   database=database, password=PASSWORD)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("importés : 2")
    registry = Registry(database)
    assert registry.import_log()["imported_by"].tolist() == ["alice (opérateur)"]
    registry.dispose()
    done = run_cli("--compte", "admin", "comptes", "mot-de-passe", "alice", database=database,
                   password=PASSWORD, new_password="nouveau mot de passe long")
    assert done.returncode == 0, done.stderr
    listing = run_cli("--compte", "admin", "comptes", "liste", database=database,
                      password=PASSWORD)
    assert "alice" in listing.stdout and "argon2" not in listing.stdout


def test_offer_page_lets_an_anonymous_visitor_change_nothing(registry, people, monkeypatch):

    import_file(csv(ASSO_A), registry, name="a.csv", geocoder=None, actor=people["alice"])
    at = app_session(registry, monkeypatch)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("file_uploader")
    assert not [b for b in at.button if "démonstration" in str(b.label)]
    assert any("Consultation publique" in i.value for i in at.info)
    assert not [e for e in at.expander if "Journal" in e.label]
    assert "registre.gpkg" not in " ".join(c.value for c in at.caption)
    # Alice logs in from the sidebar: she may import, sees her journal, not the demo button.
    log_in(at, "alice")
    assert at.get("file_uploader")
    assert [e for e in at.expander if "Journal" in e.label]
    assert [e for e in at.expander if "Vos sites" in e.label]
    assert not [b for b in at.button if "démonstration" in str(b.label)]
    assert isinstance(at.session_state["compte_connecte"], Account)


def test_the_public_description_of_the_registry_names_no_server_location():
    from ui.pages.offre import public_description

    assert public_description("registre SQLite/GeoPackage /srv/data/registre.gpkg") == (
        "Registre SQLite/GeoPackage")
    assert public_description(
        "registre PostgreSQL/PostGIS postgresql+psycopg://registre@/r_0?host=/tmp/pg/sock") == (
        "Registre PostgreSQL/PostGIS")


@pytest.mark.parametrize("email, shown", [
    ("alice@asso-a.test", "Connecté : Alice Martin (opérateur, Asso A)"),
    ("eve@ailleurs.test", "Aucun compte du registre ne correspond"),
])
def test_the_sidebar_names_an_oidc_identity_and_its_role(registry, people, monkeypatch, email,
                                                         shown):
    """``st.user`` itself is filled by Streamlit's OIDC routes (see test_oidc_e2e.py); here the
    identity is given to the page to check what it makes of it."""
    from streamlit.testing.v1 import AppTest

    from ui import auth

    Accounts(registry).add(people["admin"], "alice.oidc", ROLE_OPERATOR, PASSWORD,
                           name="Alice Martin", email="alice@asso-a.test", operator="Asso A")
    monkeypatch.setenv("DATABASE_URL", registry.url)
    monkeypatch.setattr(auth, "oidc_configured", lambda: True)
    monkeypatch.setattr(auth, "oidc_identity", lambda: {
        "is_logged_in": True, "email": email, "email_verified": True, "name": "Personne"})
    at = AppTest.from_string("from ui.auth import sidebar_login\nsidebar_login()\n",
                             default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert shown in captions
    assert [b.label for b in at.sidebar.button] == ["Se déconnecter"]
    assert ("compte_connecte" in at.session_state) == email.startswith("alice")


def test_a_delegate_reads_and_exports_its_network_without_confidential_sites(
        registry, people, monkeypatch):

    from ui.pages.offre import own_sites_table

    rows = ["Asso A;A1;=Pension Guéret;23096;Pension de famille;25;ouvert;public;FAPIL",
            "Asso A;A2;Refuge Guéret;23096;CHRS;12;ouvert;confidentiel;FAPIL",
            "Asso A;A3;Foyer Aubusson;23008;Résidence sociale;30;ouvert;public;Autre réseau"]
    data = ("\n".join([HEADER + ";Réseau", *rows]) + "\n").encode("utf-8")
    import_file(data, registry, name="a.csv", geocoder=None, actor=people["alice"])
    title, table = own_sites_table(registry, people["dora"])
    assert title == "Sites non confidentiels du réseau FAPIL (détail)"
    assert table["Site"].tolist() == ["=Pension Guéret"]  # neither the shelter nor another network
    assert table.loc[0, "Capacité"] == 25 and table.loc[0, "Statut"] == "Ouvert"
    assert own_sites_table(registry, Account("visiteur", "public")) is None
    # The page gives the delegate a CSV of that table (formula prefix neutralised by csv_bytes).
    from diagnostics.exports import csv_bytes

    assert "'=Pension Guéret" in csv_bytes(table).decode("utf-8-sig")
    at = log_in(app_session(registry, monkeypatch), "dora")
    assert [e for e in at.expander if e.label.startswith("Sites non confidentiels du réseau FAPIL")]
    assert [b for b in at.get("download_button") if "Télécharger ce tableau" in str(b.proto.label)]
    assert not at.get("file_uploader")  # a delegate never imports
