"""The operations saved on « Montage d'opération »: kept in the session (never written to the
registry), shown on « Scénarios » and carried into the territory report's download.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from models import operation_economics as oe

OPERATIONS_KEY = "saved_operations"


@st.cache_resource(show_spinner=False, max_entries=4)
def _parameters(path: str, mtime: float) -> oe.Parameters:
    return oe.load_parameters(path)


def parameters() -> oe.Parameters:
    """The parameters file (re-read when it changes on disk)."""
    path = Path(oe.PARAMETERS_FILE)
    return _parameters(str(path), path.stat().st_mtime)


def saved() -> list[dict]:
    return list(st.session_state.get(OPERATIONS_KEY, []))


def add(operation: dict) -> None:
    st.session_state[OPERATIONS_KEY] = [*saved(), operation]


def remove(index: int) -> None:
    items = saved()
    if 0 <= index < len(items):
        items.pop(index)
    st.session_state[OPERATIONS_KEY] = items


def in_territory(codes: set[str]) -> list[dict]:
    """The saved operations located in a territory (the report carries those)."""
    return [op for op in saved() if op.get("code") in codes]
