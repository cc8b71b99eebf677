"""The command lines print French tables, never a pandas repr nor a traceback."""

from __future__ import annotations

import pandas as pd

from operators.__main__ import accounts_table

COLUMNS = ["login", "name", "email", "role", "operator_name", "network", "active", "created_at",
           "updated_at"]


def test_no_account_says_so_in_french():
    assert accounts_table(pd.DataFrame(columns=COLUMNS)) == "Aucun compte."


def test_accounts_table_is_french():
    listing = pd.DataFrame([
        ["alice", "Alice Martin", "alice@asso.test", "operateur", "Asso A", None, True,
         "2026-12-01T10:00:00", None],
        ["bob", "", None, "delegue", None, "FAPIL", False, "2026-12-02T08:30:00",
         "2026-12-03T09:15:00"],
    ], columns=COLUMNS)
    text = accounts_table(listing)
    header = text.splitlines()[0]
    for word in ("Identifiant", "Rôle", "Opérateur", "Réseau", "Actif", "Créé le"):
        assert word in header
    for raw in ("Empty DataFrame", "None", "NaN", "True", "False", "operator_name", "2026-12-01T"):
        assert raw not in text
    assert "opérateur" in text and "délégué de réseau" in text
    assert "01/12/2026 10:00" in text and " non" in text and " oui" in text
