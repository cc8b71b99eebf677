"""Accounts the tests write with (hand-made; the checks themselves are in test_accounts.py)."""

from __future__ import annotations

from operators.accounts import ROLE_ADMIN, Account

ADMIN = Account("admin-tests", ROLE_ADMIN, "Administrateur des tests")
