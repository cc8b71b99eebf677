"""Who runs a command line: ``--compte LOGIN`` (or ``REGISTRE_COMPTE``), the password read from
``REGISTRE_MOT_DE_PASSE`` or asked without echo, checked against the registry's accounts.

Shared by ``python -m operators`` and ``python -m diagnostics.network_report`` so that both
authenticate the same way (failed tries counted in the database, ``operators.accounts``).
"""

from __future__ import annotations

import getpass
import os
import sys

from operators.accounts import (
    ANONYMOUS,
    ROLE_ADMIN,
    AccessDenied,
    Account,
    AccountError,
    Accounts,
)

INSTALLATION = Account("installation", ROLE_ADMIN,
                       "installation locale (aucun compte administrateur encore créé)")


def secret(variable: str, prompt: str) -> str:
    """A password from ``variable``, else typed at the terminal without echo."""
    value = os.environ.get(variable)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        raise AccountError(f"Mot de passe attendu : variable {variable} ou saisie au terminal.")
    return getpass.getpass(prompt)


def cli_actor(login: str | None, registry, allow_installation: bool = True) -> Account:
    """The account running the command.

    With ``login``: that account once its password is checked (refused otherwise). Without:
    the installation (an administrator) while the registry has no administrator account and
    ``allow_installation``, else the anonymous public.
    """
    accounts = Accounts(registry)
    if login:
        password = secret("REGISTRE_MOT_DE_PASSE", f"Mot de passe de {login} : ")
        actor = accounts.authenticate(login, password, client="ligne de commande")
        if actor is None:
            raise AccessDenied("Identifiant ou mot de passe incorrect.")
        return actor
    if allow_installation and accounts.count(ROLE_ADMIN) == 0:
        return INSTALLATION
    return ANONYMOUS
