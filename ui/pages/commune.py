"""Page « Commune »: one commune against its EPCI, its département and France.

The need index with its main drivers in a sentence and the contribution of each indicator,
imputed values flagged, the offer within reach by type, the members' sites (public view) and
the change since 2019.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from diagnostics.formatting import fr_number
from geodata import reference
from ui import charts, data, navigation, need, profile, state
from ui import gap as gap_mod
from ui import policies as policies_mod
from ui import sites as sites_mod
from ui.panels import households_text, imputed_notes, ordinal, rank_text, rate_text
from ui.picker import communes_of
from ui.tables import french
from ui.variables import format_value


def render() -> None:
    code = _choose_commune()
    if code is None:
        return
    communes = data.communes_table()
    row = communes[communes["code"] == code].iloc[0]
    model = need.need_model()
    need_frame = need.scored(model, need.current_settings(model)) if model else None
    bundle = gap_mod.gap_bundle(model) if model else None
    gap_frame = bundle.frame if bundle else None

    st.title(f"{row['name']} ({code})")
    epci = row["epci_name"] if isinstance(row["epci_name"], str) else "sans EPCI"
    st.caption(f"{row['dep_name']} ({row['dep_code']}) · {epci} · {row['reg_name']} · "
               f"{fr_number(row['population'])} habitants (population municipale)")
    outline = reference.outline_note(code, row.get("geometry_source"))
    if outline:
        st.caption(outline)
    actions = st.columns([1.2, 1, 1.6, 2.5])
    if actions[0].button("Voir sur la carte", key="commune_to_map"):
        navigation.go("carte")
    if actions[1].button("Comparer", key="commune_compare"):
        added = state.add_to_compare(f"com:{code}")
        st.toast("Ajoutée à la comparaison." if added else
                 f"La comparaison compte déjà {state.MAX_COMPARE} territoires.")
    _report_button(actions[2], code, str(row["name"]))
    if actions[3].button("Montage d'opération", key="commune_to_montage", icon=":material/calculate:",
                         help="Une opération ici s'équilibrerait-elle ? Plan de financement et compte "
                              "d'exploitation"):
        navigation.go("montage")
    if st.button("Programme pour combler l'écart", key="commune_to_programme",
                 icon=":material/construction:",
                 help="Les opérations qui combleraient les places manquantes du territoire, "
                      "et leur coût"):
        navigation.go("programme")

    _need_block(code, model, need_frame)
    _gap_block(code, gap_frame, bundle, model)
    st.subheader("Chiffres clés")
    table = profile.key_figures(code, need_frame, gap_frame)
    if table.empty:
        st.info("Aucun indicateur disponible dans le stock local.")
    else:
        st.dataframe(table, hide_index=True, width="stretch", height=36 * (len(table) + 1) + 4)
        st.caption("Les taux au-delà de la commune sont recalculés à partir des effectifs "
                   "additionnés (ménages pauvres estimés / ménages, logements vacants / logements…). "
                   "« donnée absente » : valeur couverte par le secret statistique ou non "
                   "publiée, jamais comptée comme zéro.")
    policies_mod.commune_block(code, row)
    _history_block(code)
    _sites_block(code)


MAX_LISTED = 1500  # beyond (a région, France), the commune is found by a search


def _choose_commune() -> str | None:
    """The chosen commune, or a way to choose one: a list of the territory's communes, or a
    search box for a large territory."""
    spec = state.current_spec()
    code = state.selected_commune()
    if spec and spec.startswith("com:") and code is None:
        code = spec.removeprefix("com:")
    candidates = communes_of(spec)
    known = set(data.communes_table()["code"])
    if code is not None and code not in known:
        code = None
    if len(candidates) > MAX_LISTED:
        return code if code is not None else _search_commune()
    candidates = candidates.sort_values("name")
    options = dict(zip(candidates["code"], candidates["name"] + " (" + candidates["code"] + ")",
                       strict=True))
    if code is not None and code not in options:
        row = data.communes_table().set_index("code").loc[code]
        options = {code: f"{row['name']} ({code})", **options}
    if not options:
        st.info("Aucune commune dans ce territoire.")
        return None
    keys = list(options)
    box = st.sidebar if code is not None else st
    if code is None:
        st.title("Profil d'une commune")
    else:
        box.markdown("### Commune")
    chosen = box.selectbox(
        "Commune affichée", keys, index=keys.index(code) if code in options else None,
        format_func=options.get, placeholder="Choisissez une commune du territoire",
        key="commune_choice",
    )
    if chosen is None:
        st.info("Choisissez une commune ci-dessus, ou cliquez une commune sur la carte.")
        return None
    if chosen != code:
        state.select_commune(chosen)
    return chosen


def _search_commune() -> str | None:
    from geodata.territory import search_places

    st.title("Profil d'une commune")
    query = st.text_input("Rechercher une commune", key="commune_query",
                          placeholder="ex. saint etienne, gueret")
    if not query:
        st.info("Tapez le nom d'une commune, ou cliquez une commune sur la carte.")
        return None
    found = search_places(query, data.communes_table(), limit=15)
    if found.empty:
        st.warning(f"Aucune commune ne correspond à « {query} ».")
        return None
    labels = dict(zip(found["label"], found["code"], strict=True))
    choice = st.selectbox("Résultats", list(labels), key="commune_result")
    if st.button("Afficher", key="commune_go", type="primary"):
        state.select_commune(labels[choice])
        st.rerun()
    return None


def _need_block(code: str, model, need_frame: pd.DataFrame | None) -> None:
    st.subheader("Besoin")
    if need_frame is None:
        st.info(need.unavailable_reason() or need.NOT_COMPUTED)
        return
    found = need_frame[need_frame["code"] == code]
    if found.empty:
        st.info("Commune absente du modèle de besoin.")
        return
    r = found.iloc[0]
    total = int(need_frame["status"].eq("calculé").sum())
    columns = st.columns(4)
    columns[0].metric("Indice de besoin (sur 100)", "—" if pd.isna(r["score"]) else fr_number(r["score"], 1))
    columns[1].metric("Rang national", "—" if pd.isna(r["rank"]) else ordinal(r["rank"]),
                      help="1 = le besoin le plus fort de France.")
    columns[2].metric("Ménages pauvres estimés", fr_number(r["need_households"]),
                      help="Ménages fiscaux × taux de pauvreté (part de personnes, appliquée aux "
                      "ménages : approximation) ; intervalle ci-dessous.")
    estimated = str(r.get("poverty_rate_method", "")).startswith("modèle")
    columns[3].metric("Taux de pauvreté (personnes)" + (" — estimé" if estimated else ""),
                      format_value(r["poverty_rate"], "%", 1),
                      help=f"Origine : {r.get('poverty_rate_method', '—')}.")
    explanation = need.explanation_of(code)
    if explanation:
        st.info(explanation, icon=":material/lightbulb:")
    settings = need.current_settings(model)
    st.markdown(f"**Rang** : {rank_text(r, total, settings.label)} · **Ménages pauvres "
                f"estimés** : {households_text(r)} · **Taux de pauvreté** : {rate_text(r)}")
    st.caption(f"Pondération : {settings.label} ; intervalles de rang : "
               f"{r.get('intervals_settings', settings.label)} (analyse de sensibilité, "
               "1 000 tirages de poids et de normalisation).")
    for note in imputed_notes(r):
        st.warning(note, icon=":material/info:")
    contributions = _contributions(model, need_frame, r)
    if contributions is not None:
        chart = alt.Chart(contributions).mark_bar().encode(
            x=alt.X("points:Q", title="Points d'indice"),
            y=alt.Y("indicateur:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
            color=alt.Color("série:N", title=None,
                            scale=alt.Scale(range=["#e6550d", "#bdbdbd"])),
            yOffset="série:N",
            tooltip=["indicateur", "série", alt.Tooltip("points:Q", format=".1f")],
        ).properties(height=28 * contributions["indicateur"].nunique() + 40)
        st.markdown("**Contribution de chaque indicateur à l'indice** (commune et moyenne des "
                    "communes de France)")
        st.altair_chart(charts.french(chart), width="stretch")


def _contributions(model, need_frame: pd.DataFrame, row: pd.Series) -> pd.DataFrame | None:
    columns = [c for c in need_frame.columns if c.startswith("contrib_")]
    if not columns or pd.isna(row["score"]):
        return None
    scored = need_frame[need_frame["status"].eq("calculé")]
    rows = []
    for column in columns:
        indicator = column.removeprefix("contrib_")
        label = model.specs[indicator].label if indicator in model.specs else indicator
        rows.append({"indicateur": label, "série": "commune", "points": float(row[column])})
        rows.append({"indicateur": label, "série": "moyenne France",
                     "points": float(scored[column].mean())})
    return pd.DataFrame(rows).fillna(0.0)


def _gap_block(code: str, gap_frame: pd.DataFrame | None, bundle, model) -> None:
    st.subheader("Offre à portée")
    if gap_frame is None:
        st.info(gap_mod.unavailable_reason(model) if model else gap_mod.NOT_COMPUTED)
        return
    found = gap_frame[gap_frame["code"] == code]
    if found.empty:
        st.info("Commune absente du modèle d'écart.")
        return
    g = found.iloc[0]
    fictional = " (FICTIF)" if bundle.meta.get("offer_fictional") else ""
    reference = getattr(bundle.model, "reference", None)
    in_total = set(getattr(reference, "total_families", []) or [])
    # A commune too small to be judged alone takes its EPCI's class (models.gap_reference): the
    # headline, the table and their labels say so, beside the commune's own figures.
    by_epci = str(g.get("class_scale", "")) == "EPCI"
    class_label = "Classe d'écart de l'EPCI" if by_epci else "Classe d'écart"
    labels = sites_mod.offer_labels()
    rows = []
    for offer, label in labels.items():
        if f"places_in_reach_{offer}" not in gap_frame.columns:
            continue
        row = {
            "Type d'offre": label,
            "Structures à portée": fr_number(g[f"providers_in_reach_{offer}"]),
            "Places des structures à portée" + fictional: places_text(g[f"places_in_reach_{offer}"]),
        }
        if f"target_{offer}" in gap_frame.columns:
            row["Places allouées à la commune"] = places_text(g.get(f"allocated_{offer}"))
            row["Ménages cibles (bas – haut)"] = (
                f"{fr_number(g[f'target_{offer}'])} ({fr_number(g[f'target_{offer}_low'])} – "
                f"{fr_number(g[f'target_{offer}_high'])})")
            row["Places pour 1 000 ménages cibles"] = fr_number(g[f"rate_{offer}"], 1)
            row["Référence"] = fr_number(g[f"reference_{offer}"], 1)
            row["Places manquantes"] = fr_number(g[f"missing_{offer}"], 0)
            row[class_label] = g[f"class_{offer}"]
            row["Compté dans le total"] = "oui" if offer in in_total else "non"
        else:
            row["Ménages cibles (bas – haut)"] = "non disponible"
        rows.append(row)
    columns = st.columns(3)
    if "missing_total" in gap_frame.columns:
        columns[0].metric("Places allouées à la commune" + fictional,
                          places_text(g["allocated_total"]),
                          help="Somme des places allouées à la commune, familles comptées dans le "
                          "total (tableau ci-dessous) : une structure à portée partage ses places "
                          "entre toutes les communes qu'elle dessert.")
        columns[1].metric("Places manquantes" + fictional, fr_number(g["missing_total"], 0),
                          help="Référence × ménages cibles / 1 000 − places allouées, famille par "
                          "famille (0 au-delà de la référence), familles comptées dans le total.")
        certain = bool(g.get("reference_class_certain", True))
        note = ("<br><small>commune de moins de "
                f"{fr_number(_living_area_threshold(reference))} ménages cibles : jugée avec son "
                "EPCI ; ses propres chiffres sont à gauche et dans le tableau</small>"
                if by_epci else "")
        columns[2].markdown(f"{class_label}{fictional}<br>**{g['reference_class']}**"
                            + ("" if certain else "<br><small>(incertaine : change selon la borne "
                                                  "basse ou haute des ménages cibles)</small>")
                            + note, unsafe_allow_html=True)
    st.dataframe(pd.DataFrame(rows).fillna("—"), hide_index=True, width="stretch")
    radius = fr_number(g["catchment_m"] / 1000, 0)
    st.caption(f"Rayon d'accès : {radius} km ({g.get('catchment_source', '')}). "
               f"Méthode : {bundle.meta.get('method_fr', '')}, décroissance "
               f"{bundle.meta.get('decay', '')}. Sources : " + " ; ".join(bundle.meta.get("sources", [])))
    for note in bundle.meta.get("notes", []):
        st.caption(f"ℹ️ {note}")


def places_text(value) -> str:
    """Places as whole numbers; « moins de 1 » rather than a misleading 0 or 1 (a structure's
    places are shared between the communes it serves, so a commune often gets a fraction)."""
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iat[0]
    if pd.isna(number):
        return "—"
    if 0 < number < 1:
        return "moins de 1"
    return fr_number(number, 0)


def _living_area_threshold(reference) -> float:
    params = getattr(reference, "params", {}) or {}
    living = params.get("living_area", {}) if isinstance(params, dict) else {}
    return float(living.get("min_target_households", 20)) if isinstance(living, dict) else 20.0


def _history_block(code: str) -> None:
    st.subheader("Évolution depuis 2019")
    history = profile.income_history(code)
    known = history.dropna(subset=["valeur"]) if len(history) else history
    left, right = st.columns([3, 2])
    with left:
        if known.empty:
            st.info("Niveau de vie médian non publié pour cette commune (secret statistique) ou "
                    "millésimes Filosofi absents du stock.")
        else:
            chart = alt.Chart(known).mark_line(point=True).encode(
                x=alt.X("année:N", title="Revenus de l'année"),
                y=alt.Y("valeur:Q", title="Niveau de vie médian (€)", scale=alt.Scale(zero=False)),
                color=alt.Color("territoire:N", title=None,
                                scale=alt.Scale(range=["#d95f02", "#7570b3", "#1b9e77"])),
                tooltip=["territoire", "année", alt.Tooltip("valeur:Q", format=",.0f")],
            ).properties(height=240)
            st.altair_chart(charts.french(chart), width="stretch")
            st.caption("Source : INSEE, Filosofi 2019, 2020 et 2021 (euros courants) — Licence "
                       "Ouverte / Etalab 2.0. Département et France : moyenne des médianes "
                       "communales pondérée par les ménages.")
    with right:
        change = profile.census_change(code)
        if change.empty:
            st.info("Recensements 2018 et 2021 absents du stock.")
        else:
            st.dataframe(change, hide_index=True, width="stretch")
            st.caption("Source : INSEE, recensements 2018 (base du comparateur) et 2021 — "
                       "Licence Ouverte / Etalab 2.0.")


def _sites_block(code: str) -> None:
    st.subheader("Sites des membres dans la commune")
    registry = sites_mod.registry_sites()
    if registry is None:
        st.info(sites_mod.unavailable_reason() or sites_mod.NOT_AVAILABLE)
        return
    inside = sites_mod.in_territory(registry.sites, registry.coverage, [code])
    view = sites_mod.public(inside)
    if view is None or inside.empty:
        st.caption("Aucun site des membres enregistré dans cette commune.")
        return
    shown = view.listed.copy()
    # The table lists the sites located here and the services that cover the commune (an area
    # service is counted apart, never as a site of the commune): the caption counts both, so
    # that its figures add up to the table's rows.
    from operators.schema import GEO_AREA

    service = (shown.get("geocode_method", pd.Series("", index=shown.index)).eq(GEO_AREA)
               | ~shown["commune_code"].astype(str).eq(code)) if len(shown) else pd.Series(dtype=bool)
    services = int(service.sum())
    st.caption(f"Sites non confidentiels situés dans la commune : "
               f"{sites_mod.commune_total(view, code)} (« < 3 » sous trois sites) ; "
               + (f"{services} service{'s' if services > 1 else ''} d'accompagnement ou de gestion "
                  "couvrant la commune ; " if services else "")
               + "les sites confidentiels ne sont jamais comptés à l'échelle de la commune.")
    if len(shown):
        shown["name"] = [f"[{sites_mod.FICTIONAL_LABEL}] {n}" if f else n
                         for n, f in zip(shown["name"], shown["fictional"].fillna(False), strict=True)]
        shown["presence"] = np.where(service, "service couvrant la commune",
                                     "situé dans la commune")
        table = shown[["name", "presence", "operator_name", "offer_type_label", "capacity",
                       "capacity_unit", "status"]].rename(columns={
            "name": "Site", "presence": "Présence", "operator_name": "Opérateur",
            "offer_type_label": "Type", "capacity": "Capacité", "capacity_unit": "Unité",
            "status": "Statut"})
        st.dataframe(french(table), hide_index=True, width="stretch")
    if view.fictional:
        st.caption("FICTIF : sites de démonstration, pas des données réelles.")


def _report_button(container, code: str, name: str) -> None:
    """Download the commune's report when the reports module is installed."""
    from ui.downloads import report_download

    report_download(container, f"com:{code}", name)


if __name__ == "__main__":
    render()
