"""Session state shared by the pages: the territory, the chosen commune, the comparison list,
the method settings and the map preferences survive page changes.

Streamlit forgets a widget's value when a page that does not draw it is shown; values that must
survive are kept under a plain key and copied into the widget's key before it is drawn
(:func:`kept`). The territory and the commune are also in the address (``?territoire=dep:59``,
``&commune=59350``), so that a view can be shared as a link.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from geodata.territory import Territory, TerritoryError, parse_territory
from ui import data

TERRITORY_KEY = "territory_spec"
COMMUNE_KEY = "selected_commune"
COMPARE_KEY = "compare_items"
MAX_COMPARE = 5


# -- territory ---------------------------------------------------------------------------------
LINK_NOTICES_KEY = "_links_notices"  # read and shown by ui.links (notices of a shared link)


def current_spec() -> str | None:
    if TERRITORY_KEY not in st.session_state:
        # A shared link (?territoire=dep:59) opens on that territory; one that names no
        # territory is set aside with a French notice, and the page opens on all France.
        spec = (st.query_params.get("territoire") or "").strip()[:500] or None
        if spec is not None:
            try:
                resolve(spec)
            except TerritoryError as exc:
                st.session_state.setdefault(LINK_NOTICES_KEY, []).append(
                    f"« territoire={spec[:40]} » : {exc} France entière affichée.")
                spec = None
                st.query_params.pop("territoire", None)
        st.session_state[TERRITORY_KEY] = spec
    return st.session_state.get(TERRITORY_KEY)


def set_spec(spec: str | None) -> None:
    if spec != st.session_state.get(TERRITORY_KEY):
        st.session_state.pop("map_zoom", None)  # a zoom asked by a link was for the old view
    st.session_state[TERRITORY_KEY] = spec
    if spec:
        st.query_params["territoire"] = spec
    else:
        st.query_params.pop("territoire", None)


@st.cache_data(show_spinner=False, max_entries=64)
def _resolve(spec: str, store_key: str) -> Territory:
    communes = data.layer("communes_moyen") if "voisins:" in spec else data.communes_table()
    return parse_territory(
        spec,
        communes,
        departements=data.layer("departements_grossier"),
        regions=data.layer("regions_grossier"),
        epci=data.layer("epci_grossier"),
    )


def resolve(spec: str) -> Territory:
    """Parse a territory specification against the reference layers (French errors)."""
    return _resolve(spec, data.store_key())


def current_territory() -> Territory | None:
    spec = current_spec()
    if not spec:
        return None
    try:
        return resolve(spec)
    except TerritoryError as exc:
        st.error(str(exc))
        return None


# -- chosen commune ----------------------------------------------------------------------------
def selected_commune() -> str | None:
    if COMMUNE_KEY not in st.session_state:
        code = st.query_params.get("commune") or None
        known = code is not None and bool((data.communes_table()["code"] == code).any())
        st.session_state[COMMUNE_KEY] = code if known else None
    return st.session_state.get(COMMUNE_KEY)


def select_commune(code: str | None) -> None:
    st.session_state[COMMUNE_KEY] = code
    if code:
        st.query_params["commune"] = code
    else:
        st.query_params.pop("commune", None)


# -- comparison ----------------------------------------------------------------------------------
def compare_items() -> list[str]:
    return list(st.session_state.get(COMPARE_KEY, []))


def set_compare_items(items: Sequence[str]) -> None:
    st.session_state[COMPARE_KEY] = list(dict.fromkeys(items))[:MAX_COMPARE]


def add_to_compare(item: str) -> bool:
    """Add a commune (``com:…``) or EPCI (``epci:…``); False when the list is full."""
    items = compare_items()
    if item in items:
        return True
    if len(items) >= MAX_COMPARE:
        return False
    set_compare_items([*items, item])
    return True


# -- widgets whose value survives page changes ---------------------------------------------------
def kept(name: str, default: Any, options: Sequence[Any] | None = None) -> str:
    """Key of a widget showing the kept value ``name``.

    While the widget is on screen its own value is the truth (copied under ``name``); after a
    page that did not draw it, Streamlit has forgotten it and it is restored from ``name``.
    ``default`` is used the first time, or when the value is no longer among ``options``.
    """
    widget = f"w_{name}"
    value = st.session_state[widget] if widget in st.session_state else st.session_state.get(name, default)
    if options is not None and value not in options:
        value = default
    st.session_state[widget] = value
    st.session_state[name] = value
    return widget


def value_of(name: str, default: Any, options: Sequence[Any] | None = None) -> Any:
    """The value :func:`kept` will give the widget ``name``, without drawing anything (a page
    can use its settings before drawing their widgets)."""
    widget = f"w_{name}"
    value = st.session_state[widget] if widget in st.session_state else st.session_state.get(name, default)
    if options is not None and value not in options:
        value = default
    return value


def remembered(name: str, default: Any = None) -> Any:
    """A kept value (the widget's when it is on screen)."""
    widget = f"w_{name}"
    if widget in st.session_state:
        return st.session_state[widget]
    return st.session_state.get(name, default)
