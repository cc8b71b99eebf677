"""Who is using the app: anonymous (public) unless logged in.

Two ways in, both ending on an account of the registry's ``accounts`` table (roles live in one
place, ``operators.accounts``):

* a local account (login and password, Argon2id hash), from the sidebar form;
* OpenID Connect through Streamlit's own ``st.login`` when ``[auth]`` is configured in
  ``.streamlit/secrets.toml`` (see the README): the provider's verified e-mail is matched to
  an account's ``email`` (``Accounts.for_identity``). An identity with no matching account
  stays public, and is told so.

The account is kept in the server-side session state only, and read again from the registry at
each run of a page (:func:`current_account`): a deactivated account, or one whose role or
operator changed, does not keep its old rights in an open session. Every write is checked again
by the repository inside its transaction (``operators.accounts.fresh_actor``): hiding a button is
a courtesy, not the protection. Failed logins are counted in the registry database, per login
and per client address, shared by every session and process (``Accounts.authenticate``).
"""

from __future__ import annotations

import streamlit as st

from operators.accounts import ANONYMOUS, ROLES, Account, LoginLocked

SESSION_KEY = "compte_connecte"


def oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _accounts():
    from operators.accounts import Accounts
    from ui import sites as sites_mod

    registry = sites_mod.registry()
    return None if registry is None else Accounts(registry)


def oidc_identity() -> dict:
    """The OpenID Connect identity of this session (``st.user``), empty when none."""
    if not oidc_configured():
        return {}
    try:
        claims = dict(st.user.to_dict())
    except Exception:  # st.user unavailable (no auth configured after all)
        return {}
    return claims if claims.get("is_logged_in") else {}


def current_account() -> Account:
    """The logged-in account, or :data:`ANONYMOUS`.

    An OpenID Connect identity counts only through its registry account
    (:meth:`operators.accounts.Accounts.for_identity`: verified e-mail of an active account).
    """
    account = st.session_state.get(SESSION_KEY)
    if isinstance(account, Account):
        accounts = _accounts()
        fresh = accounts.current(account) if accounts is not None else None
        if fresh is None:  # deactivated (or the registry is gone): back to the public
            st.session_state.pop(SESSION_KEY, None)
            return ANONYMOUS
        if fresh != account:
            st.session_state[SESSION_KEY] = fresh
        return fresh
    identity = oidc_identity()
    if identity:
        accounts = _accounts()
        found = accounts.for_identity(identity) if accounts else None
        if found is not None:
            st.session_state[SESSION_KEY] = found
            return found
    return ANONYMOUS


def sign_out() -> bool:
    """End the session; True when the identity provider's logout was started.

    ``st.logout`` sends the browser through the provider's end-session address; a
    ``st.rerun`` right after it could win the race and drop that redirect, leaving the person
    logged in (seen in the end-to-end test): callers rerun only when it returns False.
    """
    st.session_state.pop(SESSION_KEY, None)
    if oidc_configured():
        try:
            if st.user.get("is_logged_in"):
                st.logout()
                return True
        except Exception:  # nothing to log out from
            pass
    return False


def client_address() -> str | None:
    """The browser's address as the server sees it (behind a reverse proxy, the proxy's:
    the per-client count then adds up every visitor's tries, which only locks sooner)."""
    try:
        return st.context.ip_address or None
    except Exception:  # no request context (bare script run)
        return None


def try_login(login: str, password: str) -> str | None:
    """Log in with a local account; a French error or None on success."""
    accounts = _accounts()
    if accounts is None:
        return "Registre indisponible : connexion impossible."
    try:
        account = accounts.authenticate(login, password, client=client_address())
    except LoginLocked as error:
        return str(error)
    if account is None:
        return "Identifiant ou mot de passe incorrect."
    st.session_state[SESSION_KEY] = account
    return None


def sidebar_login(container=None) -> None:
    """The « Compte » box of the sidebar."""
    box = (container or st.sidebar).expander("Compte", expanded=False)
    account = current_account()
    if account.role != ANONYMOUS.role:
        box.caption(f"Connecté : {account.describe_fr()}")
        if box.button("Se déconnecter", key="compte_sortie") and not sign_out():
            st.rerun()
        return
    identity = oidc_identity()
    if identity:  # a person the provider knows, with no account of this registry
        who = identity.get("name") or identity.get("email") or identity.get("sub")
        box.caption(f"Connecté par le fournisseur d'identité : {who}. Aucun compte du registre "
                    "ne correspond à cette identité (adresse électronique vérifiée par le "
                    "fournisseur) : consultation publique, rien ne peut être modifié.")
        if box.button("Se déconnecter", key="compte_sortie"):
            sign_out()
        return
    box.caption(f"Vous consultez en {ROLES[ANONYMOUS.role]} : rien ne peut être modifié.")
    with box.form("compte_connexion", clear_on_submit=True):
        login = st.text_input("Identifiant", key="compte_identifiant")
        password = st.text_input("Mot de passe", type="password", key="compte_mdp")
        submitted = st.form_submit_button("Se connecter")
    if submitted:
        error = try_login(login, password)
        if error:
            box.error(error)
        else:
            st.rerun()
    if oidc_configured() and box.button("Se connecter avec le fournisseur d'identité",
                                        key="compte_oidc"):
        st.login()
