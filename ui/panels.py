"""Blocks shared by several pages: a commune's summary, the quick weights selector."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from diagnostics.formatting import fr_number
from ui import data, navigation, need, state
from ui.variables import format_value

CUSTOM = "personnalisé"


def commune_row(code: str) -> pd.Series | None:
    communes = data.communes_table()
    row = communes[communes["code"] == code]
    return None if row.empty else row.iloc[0]


def ordinal(rank) -> str:
    """A rank in French: « 1er », « 2e », « 1 234e »."""
    value = round(float(rank))
    return "1er" if value == 1 else f"{fr_number(value)}e"


def rate_text(row: pd.Series) -> str:
    """The poverty rate with « (estimé, intervalle a – b %) » when it is a model estimate."""
    rate = row.get("poverty_rate")
    if pd.isna(rate):
        return "donnée absente"
    text = f"{fr_number(rate, 1)} %"
    method = row.get("poverty_rate_method")
    if isinstance(method, str) and method.startswith("modèle"):
        low, high = row.get("poverty_rate_low"), row.get("poverty_rate_high")
        if not pd.isna(low) and not pd.isna(high) and round(low, 1) != round(high, 1):
            text += f" (estimé, intervalle 90 % : {fr_number(low, 1)} – {fr_number(high, 1)} %)"
        else:
            text += " (estimé)"
    return text


def rank_text(row: pd.Series, total: int | None = None, settings_label: str | None = None) -> str:
    """« 1 234e sur 34 800 (intervalle 90 % : 1 000e – 1 500e) ».

    The interval is given only when it was computed for the settings in use
    (``settings_label``); otherwise the text says so.
    """
    if pd.isna(row.get("rank")):
        return "non classée (données insuffisantes)"
    text = ordinal(row["rank"])
    if total:
        text += f" sur {fr_number(total)}"
    same = settings_label is None or row.get("intervals_settings") in (None, settings_label)
    if not pd.isna(row.get("rank_p05")) and not pd.isna(row.get("rank_p95")):
        if same:
            if round(row["rank_p05"]) != round(row["rank_p95"]):
                text += (f" (intervalle 90 % : {ordinal(row['rank_p05'])} – "
                         f"{ordinal(row['rank_p95'])})")
        else:
            text += " (intervalle de rang non recalculé pour ces poids : page « Méthode »)"
    return text


def households_text(row: pd.Series) -> str:
    central = row.get("need_households")
    if pd.isna(central):
        return "donnée absente"
    low, high = row.get("need_households_low"), row.get("need_households_high")
    text = fr_number(central)
    if not pd.isna(low) and not pd.isna(high) and (round(low) != round(high)):
        text += f" (de {fr_number(low)} à {fr_number(high)})"
    return text


def imputed_notes(row: pd.Series) -> list[str]:
    notes = []
    method = row.get("poverty_rate_method")
    if isinstance(method, str) and method.startswith("modèle"):
        notes.append(f"Taux de pauvreté estimé ({method}) : la valeur publiée est couverte par "
                     "le secret statistique.")
    if method == "non imputable":
        notes.append("Taux de pauvreté inconnu et non estimable : pas de volume de besoin.")
    if bool(row.get("imputed_households")):
        notes.append("Nombre de ménages du recensement (Filosofi secret pour cette commune).")
    missing = row.get("missing_indicators")
    if isinstance(missing, str) and missing:
        notes.append(f"Indicateurs absents pour cette commune : {missing}.")
    return notes


def commune_panel(code: str, need_frame: pd.DataFrame | None, gap_frame: pd.DataFrame | None,
                  compact: bool = False) -> None:
    """Summary of one commune: need index, drivers, gap, with links to its full profile."""
    row = commune_row(code)
    if row is None:
        st.warning(f"Commune inconnue : « {code} ».")
        return
    st.subheader(f"{row['name']} ({code})")
    st.caption(f"{row['dep_name']} · {row['epci_name'] if isinstance(row['epci_name'], str) else 'sans EPCI'}"
               f" · {fr_number(row['population'])} habitants")
    model = need.need_model(spinner=False) if need_frame is not None else None
    if need_frame is None:
        st.info(need.NOT_COMPUTED + ".")
    else:
        found = need_frame[need_frame["code"] == code]
        if found.empty:
            st.info("Commune absente du modèle de besoin.")
        else:
            r = found.iloc[0]
            total = int(need_frame["status"].eq("calculé").sum())
            score = "—" if pd.isna(r["score"]) else fr_number(r["score"], 1)
            st.metric("Indice de besoin (sur 100)", score)
            label = need.current_settings(model).label if model is not None else None
            st.markdown(f"**Rang national** : {rank_text(r, total, label)}  \n"
                        f"**Ménages pauvres estimés** : {households_text(r)}  \n"
                        f"**Taux de pauvreté (personnes)** : {rate_text(r)}")
            explanation = need.explanation_of(code)
            if explanation:
                st.markdown(f"> {explanation}")
            for note in imputed_notes(r):
                st.caption(f"⚠️ {note}")
            if isinstance(r.get("cluster_label"), str) and r["cluster_label"]:
                st.caption(f"Typologie : {r['cluster_label']}")
    if gap_frame is not None:
        found = gap_frame[gap_frame["code"] == code]
        if not found.empty:
            g = found.iloc[0]
            if "missing_total" in g.index:
                st.markdown(
                    f"**Écart à la référence** : {format_value(g['missing_total'], 'places', 0)} "
                    f"manquantes — classe « {g['reference_class']} »"
                    + ("" if bool(g.get("reference_class_certain", True)) else " (incertaine)")
                    + (" (FICTIF)" if bool(g.get("_fictional", False)) else "")
                )
    if compact:
        b1, b2 = st.columns(2)
        if b1.button("Fiche complète", key=f"panel_open_{code}", type="primary", width="stretch"):
            state.select_commune(code)
            navigation.go("commune")
        if b2.button("Comparer", key=f"panel_compare_{code}", width="stretch"):
            if state.add_to_compare(f"com:{code}"):
                st.toast(f"{row['name']} ajoutée à la comparaison.")
            else:
                st.toast(f"La comparaison compte déjà {state.MAX_COMPARE} territoires.")


def method_quick_settings(model: need.NeedModel, box=None) -> None:
    """Preset selector (the full sliders are on the « Méthode » page)."""
    box = box or st.sidebar
    current = need.current_settings(model)
    presets = list(model.presets)
    options = [*presets, CUSTOM] if not isinstance(current.weights, str) else presets
    value = current.weights if isinstance(current.weights, str) else CUSTOM
    st.session_state["w_quick_preset"] = value

    def changed() -> None:
        chosen = st.session_state["w_quick_preset"]
        if chosen != CUSTOM:
            need.set_settings(need.NeedSettings(chosen, current.normalisation, current.aggregation))
            for key in [k for k in st.session_state if str(k).startswith("w_weight_")]:
                del st.session_state[key]

    box.selectbox("Pondération de l'indice", options, key="w_quick_preset", on_change=changed,
                  help="Préréglages de models/weights.yaml ; réglage fin sur la page « Méthode ».")
