"""Who may see and change what: accounts, roles and the checks every write goes through.

Roles (``SCHEMA.md``, « Comptes et rôles »):

* ``public`` — anonymous visitor: maps, indicators, the offer aggregated under the
  confidentiality rules; no write, no import log;
* ``delegue`` — a network's delegate: its network's non-confidential detail; no write;
* ``operateur`` — an operator's staff: imports and edits only its own operator's sites, sees
  its own confidential sites and its own imports;
* ``administrateur`` — accounts, every site, every import, the demo data.

Local accounts are stored in the registry database (table ``accounts``, SQLite or PostgreSQL
like the sites) with an Argon2id hash (``argon2-cffi``, the reference implementation's
bindings; no home-made crypto). OpenID Connect (``st.login``) maps a verified e-mail to an
account of this table (:meth:`Accounts.for_identity`), so roles stay in one place.

The checks (:func:`authorize_import`, or its parts :func:`check_writer`,
:func:`lowered_confidentiality` and :func:`disclosure_notes` for a file written by blocks;
:func:`require_admin`) are called by the repository layer itself (``Registry.apply_import``,
``Registry.import_session``), so the app and the command line cannot differ.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from operators.identity import operator_id as operator_id_of
from operators.registry_api import now_iso
from operators.schema import CONF_COMMUNE, CONF_CONFIDENTIAL, CONF_PUBLIC

ROLE_PUBLIC = "public"
ROLE_DELEGATE = "delegue"
ROLE_OPERATOR = "operateur"
ROLE_ADMIN = "administrateur"
ROLES = {
    ROLE_PUBLIC: "public (anonyme)",
    ROLE_DELEGATE: "délégué de réseau",
    ROLE_OPERATOR: "opérateur",
    ROLE_ADMIN: "administrateur",
}
MIN_PASSWORD_LENGTH = 12
# Failed logins, counted in the database (table ``login_failures``) so that every session and
# process shares them: a login is locked LOCK_SECONDS after MAX_FAILURES failed tries, a client
# (address) after CLIENT_MAX_FAILURES (several logins tried from one place).
MAX_FAILURES = 5
CLIENT_MAX_FAILURES = 20
LOCK_SECONDS = 60
FAILURE_WINDOW_SECONDS = 15 * 60
_LOGIN = re.compile(r"[a-z0-9][a-z0-9._@-]{1,62}")
# How much a level hides: a change to a lower rank discloses something.
_SECRECY = {CONF_PUBLIC: 0, CONF_COMMUNE: 1, CONF_CONFIDENTIAL: 2}
_HASHER = PasswordHasher()  # Argon2id, the library's current recommended parameters
_DUMMY_HASH = _HASHER.hash("compte inexistant : même durée de vérification")


class AccessDenied(PermissionError):
    """A write or a reading refused to an account (French message)."""


class AccountError(ValueError):
    """An account that cannot be created or changed (French message)."""


class LoginLocked(AccessDenied):
    """Too many failed logins for this login or client: try again later (French message)."""


@dataclass(frozen=True)
class Account:
    """An authenticated person (or the anonymous public)."""

    login: str
    role: str
    name: str = ""
    operator_id: str | None = None  # for an operator
    operator_name: str | None = None
    network: str | None = None  # for a network delegate

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    @property
    def can_write(self) -> bool:
        return self.role in (ROLE_ADMIN, ROLE_OPERATOR)

    def describe_fr(self) -> str:
        who = self.name or self.login
        extra = f", {self.operator_name}" if self.operator_name else (
            f", réseau {self.network}" if self.network else "")
        return f"{who} ({ROLES.get(self.role, self.role)}{extra})"

    def journal_name(self) -> str:
        """What the import log records: the login and the role (never the server's OS user)."""
        return f"{self.login} ({ROLES.get(self.role, self.role)})"


ANONYMOUS = Account("anonyme", ROLE_PUBLIC)


def accounts_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "accounts", metadata,
        sa.Column("login", sa.Text, primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("operator_id", sa.Text),
        sa.Column("operator_name", sa.Text),
        sa.Column("network", sa.Text),
        sa.Column("password_hash", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, default=True),
        sa.Column("created_at", sa.Text),
        sa.Column("updated_at", sa.Text),
    )


def login_failures_table(metadata: sa.MetaData) -> sa.Table:
    """Failed logins per key (``login:…`` or ``client:…``), shared by every session."""
    return sa.Table(
        "login_failures", metadata,
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_at", sa.Float, nullable=False),
    )


def fresh_actor(conn: sa.Connection, table: sa.Table, actor: Account | None) -> Account | None:
    """``actor`` as the accounts table says it is now, read on ``conn`` (inside the write
    transaction that follows): a deactivated account is refused, a changed role or operator
    is the one used.

    An actor with no row in the table is an identity made by the code itself (the local
    installation of the command line, a test): it is kept as given. The app only ever holds
    accounts read from the table.
    """
    if actor is None or actor.role == ROLE_PUBLIC:
        return actor
    row = conn.execute(sa.select(table).where(table.c.login == actor.login)).mappings().first()
    if row is None:
        return actor
    if not row["active"]:
        raise AccessDenied(f"Compte « {actor.login} » désactivé : aucune écriture possible.")
    return _account(dict(row))


# -- checks ------------------------------------------------------------------------------------
def require_admin(actor: Account | None, action: str) -> None:
    if actor is None or not actor.is_admin:
        raise AccessDenied(f"{action} : réservé aux administrateurs ({_who(actor)}).")


def _who(actor: Account | None) -> str:
    return "visiteur anonyme" if actor is None or actor.role == ROLE_PUBLIC else actor.describe_fr()


def authorize_import(
    actor: Account | None,
    sites: pd.DataFrame,
    existing: dict[str, dict[str, Any]],
    confirm_disclosure: bool = False,
) -> list[str]:
    """Check that ``actor`` may write ``sites`` over the ``existing`` ones.

    Returns the French lines to log about confidentiality lowered (with confirmation).

    Raises
    ------
    AccessDenied
        Anonymous visitors and delegates cannot write; an operator writes only its own
        operator's sites; lowering a site's confidentiality (confidentiel → commune or public,
        commune → public) needs ``confirm_disclosure`` from its operator or an administrator.
    """
    check_writer(actor, sites, existing)
    return disclosure_notes(actor, lowered_confidentiality(sites, existing), confirm_disclosure)


def check_writer(
    actor: Account | None, sites: pd.DataFrame, existing: dict[str, dict[str, Any]]
) -> None:
    """Refuse (:class:`AccessDenied`) a writer who may not write ``sites`` over ``existing``:
    anonymous visitors and delegates; an operator writing another operator's sites."""
    if actor is None or not actor.can_write:
        raise AccessDenied(
            f"Écriture refusée : un import demande un compte opérateur ou administrateur "
            f"({_who(actor)}).")
    if actor.role == ROLE_OPERATOR:
        foreign = sorted(set(sites["operator_id"].dropna()) - {actor.operator_id})
        foreign_names = sorted(set(
            sites.loc[sites["operator_id"].isin(foreign), "operator_name"].dropna()))
        if foreign or sites["operator_id"].isna().any():
            raise AccessDenied(
                f"Écriture refusée : le compte {actor.describe_fr()} ne peut importer que les "
                f"sites de son opérateur ; le fichier en contient d'autres opérateurs : "
                f"{', '.join(foreign_names[:5]) or 'opérateur non renseigné'}.")
        theirs = [s for s, old in existing.items() if old.get("operator_id") != actor.operator_id]
        if theirs:
            raise AccessDenied(
                f"Écriture refusée : {len(theirs)} site(s) du fichier appartiennent à un autre "
                "opérateur.")


def secrecy(level: str | None) -> int:
    """How much a confidentiality level hides (public 0, commune 1, confidentiel 2)."""
    return _SECRECY.get(level, 0)


def lowered_confidentiality(
    sites: pd.DataFrame, existing: dict[str, dict[str, Any]]
) -> list[str]:
    """« name : before → after » for each existing site that ``sites`` make less secret."""
    lowered = []
    new_levels = dict(zip(sites["site_id"], sites["confidentiality"], strict=True))
    names = dict(zip(sites["site_id"], sites["name"], strict=True))
    for site, old in existing.items():
        before, after = old.get("confidentiality"), new_levels.get(site)
        if _SECRECY.get(after, 0) < _SECRECY.get(before, 0):
            lowered.append(f"« {names.get(site) or site} » : {before} → {after}")
    return lowered


def disclosure_notes(actor: Account, lowered: list[str], confirm_disclosure: bool) -> list[str]:
    """Refuse lowering confidentiality without confirmation; else the lines to log."""
    if lowered and not confirm_disclosure:
        raise AccessDenied(
            f"Import refusé : il rendrait moins confidentiel(s) {len(lowered)} site(s) ("
            + "; ".join(lowered[:5]) + "). Confirmez explicitement cette levée de "
            "confidentialité (case à cocher dans l'application, option "
            "--confirmer-levee-confidentialite en ligne de commande).")
    if lowered:
        return [f"Levée de confidentialité confirmée par {actor.journal_name()} : "
                + "; ".join(lowered)]
    return []


def visible_import_log(log: pd.DataFrame, actor: Account | None) -> pd.DataFrame:
    """The import log as ``actor`` may read it.

    Administrators read everything; an operator reads its own imports, without server paths;
    anyone else reads nothing (file names and paths of other operators stay private).
    """
    if actor is None or actor.role in (ROLE_PUBLIC, ROLE_DELEGATE):
        return log.iloc[0:0][["started_at", "status"]]
    if actor.is_admin:
        return log
    mine = log[log["imported_by"].eq(actor.journal_name())]
    return mine.drop(columns=["rejects_path", "message"], errors="ignore").reset_index(drop=True)


# -- the accounts table ----------------------------------------------------------------------
def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"Mot de passe trop court : {MIN_PASSWORD_LENGTH} caractères au moins.")


class Accounts:
    """Local accounts stored in the registry database."""

    def __init__(self, registry) -> None:
        self.registry = registry
        self.table: sa.Table = registry.tables["accounts"]

    def count(self, role: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(self.table).where(
            self.table.c.active.is_(True))
        if role:
            query = query.where(self.table.c.role == role)
        with self.registry.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def add(
        self,
        actor: Account | None,
        login: str,
        role: str,
        password: str,
        *,
        name: str = "",
        email: str | None = None,
        operator: str | None = None,
        network: str | None = None,
    ) -> Account:
        """Create an account. Only an administrator may, except for the very first one (an
        administrator created by whoever holds the database, e.g. at installation)."""
        bootstrap = self.count(ROLE_ADMIN) == 0 and role == ROLE_ADMIN
        if not bootstrap:
            require_admin(actor, "Création de compte")
        login = (login or "").strip().lower()
        if not _LOGIN.fullmatch(login):
            raise AccountError(
                f"Identifiant « {login} » invalide : 2 à 63 caractères, lettres minuscules, "
                "chiffres, « . », « _ », « @ » ou « - ».")
        if role not in ROLES or role == ROLE_PUBLIC:
            raise AccountError(
                f"Rôle « {role} » inconnu : {ROLE_DELEGATE}, {ROLE_OPERATOR} ou {ROLE_ADMIN}.")
        if role == ROLE_OPERATOR and not operator:
            raise AccountError("Un compte opérateur doit nommer son opérateur (--operateur).")
        if role == ROLE_DELEGATE and not network:
            raise AccountError("Un compte de délégué doit nommer son réseau (--reseau).")
        check_password(password)
        stamp = now_iso()
        row = {
            "login": login, "name": name or login, "email": (email or "").strip().lower() or None,
            "role": role, "operator_id": operator_id_of(operator) if operator else None,
            "operator_name": operator, "network": (network or "").upper() or None,
            "password_hash": _HASHER.hash(password), "active": True, "created_at": stamp,
            "updated_at": stamp,
        }
        with self.registry.write_transaction() as conn:
            if not bootstrap:
                require_admin(fresh_actor(conn, self.table, actor), "Création de compte")
            if conn.execute(sa.select(self.table.c.login).where(
                    self.table.c.login == login)).first():
                raise AccountError(f"Le compte « {login} » existe déjà.")
            conn.execute(self.table.insert().values(row))
        return _account(row)

    def set_password(self, actor: Account | None, login: str, password: str) -> None:
        """A new password: by an administrator, or by the account itself."""
        if actor is None or (not actor.is_admin and actor.login != login):
            raise AccessDenied(
                f"Changement de mot de passe refusé ({_who(actor)}) : administrateur ou "
                "titulaire du compte seulement.")
        check_password(password)
        with self.registry.write_transaction() as conn:
            actor = fresh_actor(conn, self.table, actor)
            if not actor.is_admin and actor.login != login:
                raise AccessDenied(f"Changement de mot de passe refusé ({_who(actor)}).")
            done = conn.execute(self.table.update().where(self.table.c.login == login).values(
                password_hash=_HASHER.hash(password), updated_at=now_iso()))
            if done.rowcount == 0:
                raise AccountError(f"Compte « {login} » inconnu.")

    def deactivate(self, actor: Account | None, login: str) -> None:
        require_admin(actor, "Désactivation de compte")
        with self.registry.write_transaction() as conn:
            require_admin(fresh_actor(conn, self.table, actor), "Désactivation de compte")
            conn.execute(self.table.update().where(self.table.c.login == login).values(
                active=False, updated_at=now_iso()))

    def authenticate(self, login: str, password: str, client: str | None = None,
                     now: float | None = None) -> Account | None:
        """The account when the password matches, else None (same work either way).

        Failed tries are counted in the database per login and per ``client`` (the address
        of the browser, when known), shared by every session and process: beyond
        :data:`MAX_FAILURES` for a login (:data:`CLIENT_MAX_FAILURES` for a client) within
        :data:`FAILURE_WINDOW_SECONDS`, every try is refused for :data:`LOCK_SECONDS`
        (:class:`LoginLocked`), the password not even checked.
        """
        login = (login or "").strip().lower()
        now = time.time() if now is None else now
        keys = {f"login:{login}": MAX_FAILURES}
        if client:
            keys[f"client:{client}"] = CLIENT_MAX_FAILURES
        wait = self._locked_for(keys, now)
        if wait > 0:
            raise LoginLocked(
                f"Trop d'essais infructueux : réessayez dans {math.ceil(wait)} secondes.")
        with self.registry.engine.connect() as conn:
            row = conn.execute(sa.select(self.table).where(
                self.table.c.login == login, self.table.c.active.is_(True))).mappings().first()
        try:
            _HASHER.verify(row["password_hash"] if row and row["password_hash"] else _DUMMY_HASH,
                           password or "")
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            self._record_failure(keys, now)
            return None
        if row is None or not row["password_hash"]:
            self._record_failure(keys, now)
            return None
        self._clear_failures([f"login:{login}"])
        if _HASHER.check_needs_rehash(row["password_hash"]):
            with self.registry.write_transaction() as conn:
                conn.execute(self.table.update().where(self.table.c.login == login).values(
                    password_hash=_HASHER.hash(password)))
        return _account(dict(row))

    def _failures(self) -> sa.Table:
        return self.registry.tables["login_failures"]

    def _locked_for(self, keys: dict[str, int], now: float) -> float:
        """Seconds left of the longest lock among ``keys`` (0 when none is locked)."""
        table = self._failures()
        with self.registry.engine.connect() as conn:
            rows = conn.execute(sa.select(table).where(table.c.key.in_(list(keys)))).all()
        wait = 0.0
        for key, failures, last_at in rows:
            if failures >= keys[key]:
                wait = max(wait, LOCK_SECONDS - (now - last_at))
        return wait

    def _record_failure(self, keys: dict[str, int], now: float) -> None:
        table = self._failures()
        with self.registry.write_transaction() as conn:
            for key in keys:
                row = conn.execute(sa.select(table.c.failures, table.c.last_at)
                                   .where(table.c.key == key)).first()
                if row is None:
                    conn.execute(table.insert().values(key=key, failures=1, last_at=now))
                    continue
                failures = 1 if now - row[1] > FAILURE_WINDOW_SECONDS else row[0] + 1
                conn.execute(table.update().where(table.c.key == key).values(
                    failures=failures, last_at=now))

    def _clear_failures(self, keys: list[str]) -> None:
        table = self._failures()
        with self.registry.write_transaction() as conn:
            conn.execute(table.delete().where(table.c.key.in_(keys)))

    def current(self, account: Account) -> Account | None:
        """``account`` as stored now (role, operator, network), None when it was deactivated
        or removed: what the app re-reads at each run of a page."""
        with self.registry.engine.connect() as conn:
            row = conn.execute(sa.select(self.table).where(
                self.table.c.login == account.login)).mappings().first()
        if row is None or not row["active"]:
            return None
        return _account(dict(row))

    def by_email(self, email: str | None) -> Account | None:
        """The active account of an e-mail address, or None (see :meth:`for_identity`)."""
        if not email or not str(email).strip():
            return None
        with self.registry.engine.connect() as conn:
            row = conn.execute(sa.select(self.table).where(
                self.table.c.email == email.strip().lower(),
                self.table.c.active.is_(True))).mappings().first()
        return _account(dict(row)) if row else None

    def for_identity(self, claims: Mapping[str, Any]) -> Account | None:
        """The registry account of an OpenID Connect identity (``st.user``), or None.

        The rule (README, « Comptes et rôles »): the provider proves who the person is, the
        registry says what they may do. An identity maps to the active account whose ``email``
        is the identity's e-mail, and only when the provider declares that address verified
        (``email_verified`` true: a provider that lets anyone type any address must not hand
        out an operator's rights). Anything else — not logged in, no e-mail, an unverified or
        unknown address, a deactivated account — is None: the person stays public.
        """
        if not claims.get("is_logged_in"):
            return None
        verified = claims.get("email_verified")
        if isinstance(verified, str):  # some providers send the JSON string "true"
            verified = verified.strip().lower() == "true"
        if verified is not True:
            return None
        return self.by_email(claims.get("email"))

    def listing(self, actor: Account | None) -> pd.DataFrame:
        require_admin(actor, "Liste des comptes")
        columns = ["login", "name", "email", "role", "operator_name", "network", "active",
                   "created_at", "updated_at"]
        with self.registry.engine.connect() as conn:
            rows = conn.execute(sa.select(*[self.table.c[c] for c in columns]).order_by(
                self.table.c.login)).mappings().all()
        return pd.DataFrame(rows, columns=columns)


def _account(row: dict[str, Any]) -> Account:
    return Account(
        login=row["login"], role=row["role"], name=row.get("name") or "",
        operator_id=row.get("operator_id"), operator_name=row.get("operator_name"),
        network=row.get("network"),
    )
