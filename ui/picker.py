"""Territory picker: région → département → EPCI → commune, plus a name search.

The chosen territory (``ui.state``) is the truth: the cascade is redrawn from it on every run,
so a territory chosen by the search box, a map click or a shared link shows in the cascade too.
Changing a list sets the territory in a callback (before the page runs again).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geodata.codes import is_among
from geodata.territory import search_places
from ui import data, state

ALL = "— toute la sélection —"
LEVEL_KEYS = ("picker_reg", "picker_dep", "picker_epci", "picker_com")
COMMUNE_ZOOM = 12  # Leaflet zoom of a commune found by the search


@st.cache_data(show_spinner=False, max_entries=256)
def _options(kind: str, parent: str | None, store_key: str) -> dict[str, str]:
    """``{label: code}`` of the regions, départements of a region, EPCI or communes of a
    département (and EPCI), sorted by name."""
    if kind == "reg":
        frame = data.layer("regions_grossier")[["code", "name"]]
    elif kind == "dep":
        deps = data.layer("departements_grossier")
        frame = deps if parent is None else deps[deps["reg_code"] == parent]
    elif kind == "epci":
        communes = data.communes_table()
        codes = communes.loc[communes["dep_code"] == parent, "epci_code"].dropna().unique()
        epci = data.layer("epci_grossier")
        frame = epci[epci["code"].isin(codes)]
    else:
        dep, _, epci_code = (parent or "").partition("|")
        communes = data.communes_table()
        frame = communes[communes["dep_code"] == dep]
        if epci_code:
            frame = frame[frame["epci_code"] == epci_code]
    ordered = frame.sort_values("name")
    return {f"{n} ({c})": c for n, c in zip(ordered["name"], ordered["code"], strict=True)}


def options(kind: str, parent: str | None = None) -> dict[str, str]:
    return _options(kind, parent, data.store_key())


@st.cache_data(show_spinner=False, max_entries=512)
def cascade_of(spec: str | None, store_key: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(région, département, EPCI, commune) codes that show ``spec`` in the cascade."""
    if not spec or any(sep in spec for sep in ",;+") or ":" not in spec:
        return None, None, None, None
    kind, _, code = spec.partition(":")
    communes = data.communes_table()
    if kind == "reg":
        return code, None, None, None
    if kind == "dep":
        deps = data.layer("departements_grossier")
        row = deps[deps["code"] == code]
        return (str(row["reg_code"].iat[0]) if len(row) else None), code, None, None
    if kind == "epci":
        members = communes[communes["epci_code"] == code]
        if members.empty:
            return None, None, None, None
        dep = members["dep_code"].mode().iat[0]
        reg = members.loc[members["dep_code"] == dep, "reg_code"].iat[0]
        return str(reg), str(dep), code, None
    if kind in ("com", "voisins"):
        row = communes[communes["code"] == code]
        if row.empty:
            return None, None, None, None
        r = row.iloc[0]
        epci = r["epci_code"] if isinstance(r["epci_code"], str) else None
        return str(r["reg_code"]), str(r["dep_code"]), epci, (code if kind == "com" else None)
    return None, None, None, None


def _label_of(choices: dict[str, str], code: str | None) -> str:
    for label, value in choices.items():
        if value == code:
            return label
    return ALL


# -- callbacks ---------------------------------------------------------------------------------
def _picked(key: str, choices: dict[str, str]) -> str | None:
    return choices.get(st.session_state.get(key, ALL))


def _on_reg() -> None:
    code = _picked("picker_reg", options("reg"))
    state.set_spec(f"reg:{code}" if code else None)


def _on_dep(reg: str | None) -> None:
    code = _picked("picker_dep", options("dep"))
    state.set_spec(f"dep:{code}" if code else (f"reg:{reg}" if reg else None))


def _on_epci(reg: str | None, dep: str) -> None:
    code = _picked("picker_epci", options("epci", dep))
    state.set_spec(f"epci:{code}" if code else f"dep:{dep}")


def focus_commune(code: str, parent: str | None = None) -> None:
    """Show a commune inside its territory: the département (or ``parent``) stays on the map,
    the commune is highlighted and the map zooms to it."""
    row = data.communes_table().set_index("code").loc[code]
    state.set_spec(parent or f"dep:{row['dep_code']}")
    state.select_commune(code)
    if not pd.isna(row["rep_lat"]) and not pd.isna(row["rep_lon"]):
        st.session_state["map_zoom"] = (round(float(row["rep_lat"]), 4),
                                        round(float(row["rep_lon"]), 4), COMMUNE_ZOOM)


def _on_com(dep: str, epci: str | None) -> None:
    code = _picked("picker_com", options("com", f"{dep}|{epci or ''}"))
    if code:
        focus_commune(code, f"epci:{epci}" if epci else f"dep:{dep}")
    else:
        state.select_commune(None)
        st.session_state.pop("map_zoom", None)  # back to the whole territory
        state.set_spec(f"epci:{epci}" if epci else f"dep:{dep}")


def _on_search_go(labels: dict[str, str]) -> None:
    choice = st.session_state.get("picker_search_result")
    if choice in labels:
        spec = labels[choice]
        if spec.startswith("com:"):
            focus_commune(spec.removeprefix("com:"))
        else:
            state.set_spec(spec)


def _on_reset() -> None:
    state.set_spec(None)
    st.session_state["picker_search"] = ""


# -- drawing -------------------------------------------------------------------------------------
def territory_picker(container=None) -> str | None:
    """Draw the picker; return the chosen territory specification (or None for France)."""
    box = container or st.sidebar
    spec = state.current_spec()
    reg, dep, epci, com = cascade_of(spec, data.store_key())

    box.markdown("### Territoire")
    query = box.text_input(
        "Rechercher un lieu",
        key="picker_search",
        placeholder="ex. saint etienne, creuse, métropole lille",
        help="Accents, majuscules et tirets sont ignorés.",
    )
    if query:
        found = search_places(
            query, data.communes_table(), departements=data.layer("departements_grossier"),
            epci=data.layer("epci_grossier"), limit=15,
        )
        if found.empty:
            box.warning(f"Aucun lieu ne correspond à « {query} ».")
        else:
            labels = dict(zip(found["label"], found["spec"], strict=True))
            box.selectbox("Résultats", list(labels), key="picker_search_result")
            box.button("Afficher ce lieu", key="picker_search_go", width="stretch",
                       on_click=_on_search_go, args=(labels,))

    reg_choices = options("reg")
    st.session_state["picker_reg"] = _label_of(reg_choices, reg)
    box.selectbox("Région", [ALL, *reg_choices], key="picker_reg", on_change=_on_reg)
    # Every département, whatever the région: after the Nord, the Creuse is one choice away.
    dep_choices = options("dep")
    st.session_state["picker_dep"] = _label_of(dep_choices, dep)
    box.selectbox("Département", [ALL, *dep_choices], key="picker_dep", on_change=_on_dep,
                  args=(reg,))
    if dep is not None:
        epci_choices = options("epci", dep)
        st.session_state["picker_epci"] = _label_of(epci_choices, epci)
        box.selectbox("EPCI", [ALL, *epci_choices], key="picker_epci", on_change=_on_epci,
                      args=(reg, dep))
        com_choices = options("com", f"{dep}|{epci or ''}")
        st.session_state["picker_com"] = _label_of(com_choices, com or state.selected_commune())
        box.selectbox("Commune", [ALL, *com_choices], key="picker_com", on_change=_on_com,
                      args=(dep, epci))
    territory = state.current_territory() if spec else None
    if territory is not None and reg is None:
        box.caption(f"Territoire composé : {territory.name} ({len(territory)} communes).")
    if spec:
        box.button("Revenir à la France entière", key="picker_reset", on_click=_on_reset)
    return state.current_spec()


def territory_label(spec: str | None) -> str:
    """« France entière » or the territory's name."""
    if not spec:
        return "France entière"
    try:
        return state.resolve(spec).name
    except Exception:  # an unreadable link: the page shows the error
        return spec


def communes_of(spec: str | None) -> pd.DataFrame:
    """The communes table restricted to the territory (all France for None)."""
    communes = data.communes_table()
    if not spec:
        return communes
    return communes[is_among(communes["code"], state.resolve(spec).codes)]
