"""Territory picker: région → département → EPCI → commune, plus a name search."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geodata.territory import search_places
from ui import data, state

ALL = "— toute la sélection —"


def _options(frame: pd.DataFrame, label_column: str = "name") -> dict[str, str]:
    ordered = frame.sort_values(label_column)
    return {f"{row[label_column]} ({row['code']})": row["code"] for _, row in ordered.iterrows()}


def territory_picker(container=None) -> str | None:
    """Draw the picker; store and return the chosen territory specification (or None)."""
    box = container or st.sidebar
    regions = data.layer("regions_grossier")
    deps = data.layer("departements_grossier")
    epci = data.layer("epci_grossier")
    communes = data.communes_table()

    box.markdown("### Territoire")
    query = box.text_input(
        "Rechercher un lieu",
        key="picker_search",
        placeholder="ex. saint etienne, creuse, métropole lille",
        help="Accents, majuscules et tirets sont ignorés.",
    )
    if query:
        found = search_places(query, communes, departements=deps, epci=epci, limit=15)
        if found.empty:
            box.warning(f"Aucun lieu ne correspond à « {query} ».")
        else:
            labels = dict(zip(found["label"], found["spec"], strict=True))
            choice = box.selectbox("Résultats", list(labels), key="picker_search_result")
            if box.button("Afficher ce lieu", key="picker_search_go", width="stretch"):
                state.set_spec(labels[choice])

    reg_options = {ALL: None, **_options(regions)}
    reg_label = box.selectbox("Région", list(reg_options), key="picker_reg")
    reg = reg_options[reg_label]
    dep_frame = deps if reg is None else deps[deps["reg_code"] == reg]
    dep_options = {ALL: None, **_options(dep_frame)}
    dep_label = box.selectbox("Département", list(dep_options), key="picker_dep")
    dep = dep_options[dep_label]
    epci_options: dict[str, str | None] = {ALL: None}
    com_options: dict[str, str | None] = {ALL: None}
    epci_code = None
    if dep is not None:
        in_dep = communes[communes["dep_code"] == dep]
        epci_frame = epci[epci["code"].isin(in_dep["epci_code"].dropna().unique())]
        epci_options.update(_options(epci_frame))
        epci_label = box.selectbox("EPCI", list(epci_options), key="picker_epci")
        epci_code = epci_options[epci_label]
        com_frame = in_dep if epci_code is None else in_dep[in_dep["epci_code"] == epci_code]
        com_options.update(_options(com_frame))
        com_label = box.selectbox("Commune", list(com_options), key="picker_com")
        com = com_options[com_label]
    else:
        com = None

    picked = (
        f"com:{com}" if com else f"epci:{epci_code}" if epci_code else f"dep:{dep}" if dep
        else f"reg:{reg}" if reg else None
    )
    signature = (reg, dep, epci_code, com)
    if st.session_state.get("_picker_signature") != signature:
        # The cascade changed: it decides the territory (a search result decides until then).
        st.session_state["_picker_signature"] = signature
        if picked is not None or st.session_state.get("_picker_initialised"):
            state.set_spec(picked)
        st.session_state["_picker_initialised"] = True
    if state.current_spec() and box.button("Revenir à la France entière", key="picker_reset"):
        state.set_spec(None)
        st.session_state["_picker_signature"] = (None, None, None, None)
        for key in ("picker_reg", "picker_dep", "picker_epci", "picker_com"):
            st.session_state.pop(key, None)
        st.rerun()
    return state.current_spec()
