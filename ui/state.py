"""Session state shared by the pages (the chosen territory survives page changes)."""

from __future__ import annotations

import streamlit as st

from geodata.territory import Territory, TerritoryError, parse_territory
from ui import data

TERRITORY_KEY = "territory_spec"


def current_spec() -> str | None:
    if TERRITORY_KEY not in st.session_state:
        # A shared link (?territoire=dep:59) opens on that territory.
        st.session_state[TERRITORY_KEY] = st.query_params.get("territoire") or None
    return st.session_state.get(TERRITORY_KEY)


def set_spec(spec: str | None) -> None:
    st.session_state[TERRITORY_KEY] = spec
    if spec:
        st.query_params["territoire"] = spec
    else:
        st.query_params.pop("territoire", None)


@st.cache_data(show_spinner=False, max_entries=64)
def resolve(spec: str) -> Territory:
    """Parse a territory specification against the reference layers."""
    communes = data.layer("communes_moyen") if spec.startswith("voisins:") else data.communes_table()
    return parse_territory(
        spec,
        communes,
        departements=data.layer("departements_grossier"),
        regions=data.layer("regions_grossier"),
        epci=data.layer("epci_grossier"),
    )


def current_territory() -> Territory | None:
    spec = current_spec()
    if not spec:
        return None
    try:
        return resolve(spec)
    except TerritoryError as exc:
        st.error(str(exc))
        return None
