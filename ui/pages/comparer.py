"""Page « Comparer »: up to five communes or EPCI side by side."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from geodata.territory import search_places
from ui import charts, data, need, profile, state
from ui import gap as gap_mod
from ui.downloads import table_downloads
from ui.panels import ordinal
from ui.variables import format_value


def item_label(item: str) -> str:
    kind, _, code = item.partition(":")
    if kind == "com":
        row = data.communes_table().set_index("code")
        return f"{row.loc[code, 'name']} ({code})" if code in row.index else item
    epci = data.layer("epci_grossier").set_index("code")
    return f"{epci.loc[code, 'name']} (EPCI)" if code in epci.index else item


def item_codes(item: str) -> list[str]:
    kind, _, code = item.partition(":")
    communes = data.communes_table()
    if kind == "com":
        return [code]
    return communes.loc[communes["epci_code"] == code, "code"].tolist()


def comparison_table(items: list[str], need_frame: pd.DataFrame | None,
                     gap_frame: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(formatted table for display, numeric table for charts and downloads)."""
    cache: dict[str, pd.Series | None] = {}

    def getter(ref: str) -> pd.Series | None:
        if ref not in cache:
            cache[ref] = profile.reference_values(ref, need_frame, gap_frame)
        return cache[ref]

    labels = [item_label(i) for i in items]
    shown, numbers = [], []
    estimated = _estimated(need_frame)
    fictional = profile.offer_is_fictional(gap_frame)
    for figure in profile.KEY_FIGURES:
        if getter(figure.numerator) is None:
            continue
        values = [profile.aggregate(figure, item_codes(i), getter) for i in items]
        line = {"Indicateur": figure.label}
        for item, label, value in zip(items, labels, values, strict=True):
            text = format_value(value, figure.unit, figure.decimals)
            if figure.numerator.startswith("need:") and estimated.intersection(item_codes(item)):
                text += ESTIMATED_MARK
            if figure.numerator.startswith(profile.OFFER_BASED) and fictional:
                text += " FICTIF"
            line[label] = text
        line["Source"] = figure.source
        shown.append(line)
        numbers.append({"Indicateur": figure.label, "Unité": figure.unit,
                        **dict(zip(labels, values, strict=True))})
    if need_frame is not None:
        ranks = need_frame.set_index("code")
        line = {"Indicateur": "Rang national (intervalle 90 %)"}
        for item, label in zip(items, labels, strict=True):
            if item.startswith("com:") and item[4:] in ranks.index:
                r = ranks.loc[item[4:]]
                line[label] = ("—" if pd.isna(r["rank"]) else
                               f"{ordinal(r['rank'])} ({_int(r['rank_p05'])}–"
                               f"{_int(r['rank_p95'])})")
            else:
                line[label] = "—"
        line["Source"] = "modèle de besoin, analyse de sensibilité"
        shown.append(line)
    return pd.DataFrame(shown), pd.DataFrame(numbers)


ESTIMATED_MARK = " *"


def _estimated(need_frame: pd.DataFrame | None) -> set[str]:
    """Communes whose poverty rate (or households) is a model estimate (secret)."""
    if need_frame is None:
        return set()
    flags = need_frame.get("imputed_poverty_rate", pd.Series(False, index=need_frame.index))
    flags = flags.fillna(False).astype(bool)
    if "imputed_households" in need_frame.columns:
        flags |= need_frame["imputed_households"].fillna(False).astype(bool)
    return set(need_frame.loc[flags, "code"].astype(str))


def _int(value) -> str:
    return "—" if pd.isna(value) else f"{int(value)}"


def render() -> None:
    st.title("Comparer des communes ou des EPCI")
    st.caption(f"Jusqu'à {state.MAX_COMPARE} territoires : ajoutez-les ici, ou depuis la fiche "
               "d'une commune (bouton « Comparer »).")
    _add_box()
    _quick_add()
    items = state.compare_items()
    if items:
        columns = st.columns(state.MAX_COMPARE)
        for column, item in zip(columns, items, strict=False):
            column.button(f"✕ {item_label(item)}", key=f"compare_remove_{item}", on_click=_remove,
                          args=(item,), help="Retirer de la comparaison", width="stretch")
    if len(items) < 1:
        st.info("Ajoutez au moins une commune ou un EPCI.")
        return
    model = need.need_model()
    need_frame = need.scored(model, need.current_settings(model)) if model else None
    bundle = gap_mod.gap_bundle(model) if model else None
    if model is None:
        st.warning(need.unavailable_reason() or need.NOT_COMPUTED)
    shown, numbers = comparison_table(items, need_frame, bundle.frame if bundle else None)
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption("EPCI : effectifs additionnés, taux recalculés sur les effectifs, indice moyen "
               "pondéré par les ménages. « donnée absente » : secret statistique ou non publié. "
               "« * » : valeur qui repose sur un taux de pauvreté estimé par le modèle (secret "
               "statistique) pour la commune ou au moins une commune de l'EPCI."
               + (" « FICTIF » : chiffre calculé sur l'offre de démonstration."
                  if bundle is not None and bundle.meta.get("offer_fictional") else ""))
    _charts(numbers, bool(bundle is not None and bundle.meta.get("offer_fictional")))
    table_downloads(numbers, "comparaison", "compare_dl", sheet="comparaison")


def _quick_add() -> None:
    """One-click additions: the chosen commune and its EPCI."""
    code = state.selected_commune()
    if not code:
        return
    row = data.communes_table().set_index("code")
    if code not in row.index:
        return
    candidates = [f"com:{code}"]
    if isinstance(row.loc[code, "epci_code"], str):
        candidates.append(f"epci:{row.loc[code, 'epci_code']}")
    missing = [c for c in candidates if c not in state.compare_items()]
    columns = st.columns(3)
    for column, item in zip(columns, missing, strict=False):
        column.button(f"+ {item_label(item)}", key=f"compare_quick_{item}", on_click=state.add_to_compare,
                      args=(item,), width="stretch")


def _remove(item: str) -> None:
    state.set_compare_items([i for i in state.compare_items() if i != item])


def _add_box() -> None:
    left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
    query = left.text_input("Ajouter une commune ou un EPCI", key="compare_query",
                            placeholder="ex. roubaix, grand gueret")
    if not query:
        return
    found = search_places(query, data.communes_table(), epci=data.layer("epci_grossier"), limit=12)
    if found.empty:
        middle.warning(f"Aucun lieu ne correspond à « {query} ».")
        return
    labels = dict(zip(found["label"], found["spec"], strict=True))
    choice = middle.selectbox("Résultats", list(labels), key="compare_result")
    if right.button("Ajouter", key="compare_add", type="primary"):
        if not state.add_to_compare(labels[choice]):
            st.warning(f"La comparaison compte déjà {state.MAX_COMPARE} territoires : retirez-en un.")
        st.rerun()


def offer_based_labels() -> set[str]:
    """Labels of the key figures that rest on the registry's offer (FICTIF with the demo)."""
    return {f.label for f in profile.KEY_FIGURES if f.numerator.startswith(profile.OFFER_BASED)}


def _charts(numbers: pd.DataFrame, fictional: bool) -> None:
    chart = comparison_chart(numbers, fictional)
    if chart is not None:
        st.altair_chart(charts.french(chart))


def comparison_chart(numbers: pd.DataFrame, fictional: bool) -> alt.Chart | None:
    """Bars of the need index, the places missing and the poverty rate by territory; titled
    FICTIF when the places missing rest on the demo offer."""
    wanted = ["Indice de besoin", "Places manquantes pour atteindre la référence",
              "Taux de pauvreté des personnes (publié ou estimé)"]
    rows = numbers[numbers["Indicateur"].isin(wanted)]
    if rows.empty:
        return None
    long = rows.drop(columns="Unité").melt(id_vars="Indicateur", var_name="territoire",
                                             value_name="valeur")
    long = long[np.isfinite(pd.to_numeric(long["valeur"], errors="coerce"))]
    chart = alt.Chart(long).mark_bar().encode(
        x=alt.X("valeur:Q", title=None),
        y=alt.Y("territoire:N", title=None, axis=alt.Axis(labelLimit=320)),
        color=alt.Color("territoire:N", legend=None,
                        scale=alt.Scale(range=["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"])),
        # Each indicator above its bars: the names of the territories keep the width.
        row=alt.Row("Indicateur:N", title=None, header=alt.Header(
            labelAngle=0, labelAlign="left", labelOrient="top", labelAnchor="start",
            labelFontWeight="bold", labelFontSize=12)),
        tooltip=["territoire", "Indicateur", alt.Tooltip("valeur:Q", format=".1f")],
    ).resolve_scale(x="independent").properties(height=24 * long["territoire"].nunique() + 10,
                                                 width=280)
    if fictional and offer_based_labels().intersection(long["Indicateur"]):
        chart = charts.fictif(chart, "les places manquantes")
    return chart


if __name__ == "__main__":
    render()
