"""Page « Scénarios »: what if an offer opened here? Where would new places answer the most
unmet need? Where is there high need and no offer of a type within reach (zones blanches)?

Built on the gap model of ``ui.gap``: a what-if only recomputes the communes within reach of the
added site (``models.scenarios``), siting is a greedy maximum coverage (``models.siting``).
The scenario lives in the session (it is never written to the registry).
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from diagnostics.formatting import fr_number, fr_signed
from ui import classify, data, mapview, state, variables
from ui import sites as sites_mod
from ui.geometry import territory_view
from ui.tables import french
from ui.territory_page import open_with_gap

SCENARIO_KEY = "scenario"
SITING_KEY = "siting_picks"
SUMMARY_LABELS = {
    "communes": "Communes", "need_households": "Ménages pauvres estimés",
    "places_allocated": "Places accessibles allouées",
    "gap_households": "Ménages pauvres estimés sans place à portée",
    "gap_households_low": "Ménages pauvres estimés sans place à portée, borne basse",
    "gap_households_high": "Ménages pauvres estimés sans place à portée, borne haute",
    "missing_total": "Places manquantes pour atteindre la référence",
    "surplus_total": "Places au-delà de la référence",
}
MAP_HEIGHT = 480


def _scenario(bundle):
    """The session's scenario for this gap model (a new one when the model changed)."""
    from models.scenarios import Scenario

    current = st.session_state.get(SCENARIO_KEY)
    if current is None or current[0] != id(bundle.model):
        current = (id(bundle.model), Scenario(bundle.model, "scénario"))
        st.session_state[SCENARIO_KEY] = current
    return current[1]


def _reset() -> None:
    st.session_state.pop(SCENARIO_KEY, None)
    st.session_state.pop(SITING_KEY, None)


def render() -> None:
    opened = open_with_gap("Scénarios", "les scénarios portent sur ses communes.")
    if opened is None:
        return
    territory, bundle = opened
    codes = list(territory.codes)
    scenario = _scenario(bundle)
    names = data.communes_table().set_index("code")["name"]
    labels = sites_mod.offer_labels()
    if st.button("Programme pour combler tout l'écart du territoire", key="scenarios_to_programme",
                 icon=":material/construction:",
                 help="Type et taille des opérations par famille, horizon, coût et financeurs"):
        from ui import navigation

        navigation.go("programme")
    what_if, siting, zones = st.tabs(["Ajouter une offre", "Où implanter ?", "Zones blanches"])
    with what_if:
        _what_if(bundle, scenario, codes, names, labels)
    with siting:
        _siting(bundle, scenario, codes, names, labels)
    with zones:
        _zones(bundle, codes, labels)


def _what_if(bundle, scenario, codes: list[str], names: pd.Series, labels: dict) -> None:
    from models.gap import GapError
    from models.scenarios import Scenario, compare, whole_summary

    st.caption("Ajoutez des places dans une commune du territoire : l'écart est recalculé pour "
               "les communes à portée du nouveau site. Le scénario n'est pas enregistré dans le "
               "registre.")
    with st.form("scenario_add"):
        cols = st.columns([3, 3, 1.4])
        commune = cols[0].selectbox("Commune", sorted(codes, key=lambda c: names.get(c, c)),
                                    format_func=lambda c: f"{names.get(c, c)} ({c})")
        offer = cols[1].selectbox("Type d'offre", list(labels), format_func=labels.get)
        places = cols[2].number_input("Places", min_value=1, max_value=500, value=25, step=5)
        added = st.form_submit_button("Ajouter au scénario", type="primary")
    if added:
        try:
            scenario.add_site(offer, places, commune)
        except GapError as exc:
            st.error(str(exc))
    planned = getattr(bundle.model, "planned_sites", pd.DataFrame())
    buttons = st.columns(3)
    if len(planned) and buttons[0].button(f"Ouvrir les {len(planned)} site(s) en projet du registre"):
        try:
            scenario.open_planned()
        except GapError as exc:
            st.error(str(exc))
    buttons[1].button("Revenir à la situation actuelle", on_click=_reset)
    if not scenario.changes:
        st.info("Aucun changement : le scénario est la situation actuelle.")
        return
    st.markdown("**Changements du scénario** : " + " ; ".join(
        f"{c.action} de {fr_number(c.capacity)} places ({labels.get(c.offer_type, c.offer_type)}) "
        f"à {names.get(c.code, c.code)}" for c in scenario.changes))
    comparison = compare(Scenario(bundle.model, "situation actuelle"), scenario, codes)
    # Whole numbers that add up (models.scenarios.whole_summary): the table and the sentence.
    whole = whole_summary(comparison.summary)
    change = whole.columns[-1]
    summary = whole.rename(index=SUMMARY_LABELS).rename_axis("Indicateur").reset_index()
    st.dataframe(french(summary, {c: 0 for c in summary.columns[1:]})
                 .format({change: lambda v: fr_signed(v, 0)}), hide_index=True, width="stretch")
    sentence = _places_sentence(whole)
    if sentence:
        st.caption(sentence)
    changed = comparison.communes[comparison.communes["delta_gap_households"].abs() > 1e-9]
    st.caption(f"{fr_number(len(changed))} commune(s) voient leur écart changer ; "
               "ménages pauvres estimés sans place à portée : "
               f"{fr_signed(whole.loc['gap_households'].iloc[-1], 0, 'ménages')}.")
    _economics(bundle, scenario, codes, names, labels)
    gap = scenario.gap(codes)
    catalogue = {v.id: v for v in variables.gap_variables(bundle.meta)}
    variable = catalogue["gap:missing_total"]
    view = territory_view(tuple(codes))
    values = gap.set_index("code")["missing_total"].reindex(view.codes)
    styled = mapview.styled_values(variable, values, "quantiles", 5)
    legend = mapview.legend(variable, styled, "communes", next(iter(classify.METHODS)))
    fmap = mapview.base_map(view, MAP_HEIGHT)
    layer = mapview.styler(view, variable, values, styled, legend,
                           [c.code for c in scenario.changes], None)
    st.markdown("**Places manquantes pour atteindre la référence dans le scénario**"
                + (" (FICTIF)" if bundle.meta.get("offer_fictional") else "")
                + " (contour épais : communes où une offre est ajoutée)")
    mapview.show(view, fmap, layer, "scenario", MAP_HEIGHT)


def _places_sentence(whole: pd.DataFrame) -> str | None:
    """Where the added places went, when most of them go beyond the reference; from the
    table's own whole numbers (``whole``: rows of ``models.scenarios.summary``, columns
    current, scenario, change)."""
    if not {"missing_total", "surplus_total"} <= set(whole.index) or whole.shape[1] < 3:
        return None
    fewer = max(int(-whole.loc["missing_total"].iloc[-1]), 0)
    beyond = int(whole.loc["surplus_total"].iloc[-1])
    if beyond <= fewer:
        return None
    closed = ("aucune ne réduit" if fewer == 0 else "une seule réduit" if fewer == 1
              else f"{fr_number(fewer)} seulement réduisent")
    goes = "va" if beyond == 1 else "vont"
    return (f"Sur les places ajoutées, environ {fr_number(beyond)} {goes} au-delà de la "
            f"référence, dans des communes où la famille l'atteint déjà ; {closed} les places "
            "manquantes.")


MAX_ECONOMICS_SITES = 10


def _economics(bundle, scenario, codes: list[str], names: pd.Series, labels: dict) -> None:
    """Each added site: places, unmet need it answers alone, and the economic verdict of the
    matching kind of operation (default parameters of « Montage d'opération »)."""
    from models.gap import GapError
    from models.operation_economics import OperationError
    from models.scenarios import Scenario, compare
    from ui import operations

    added = [c for c in scenario.changes if c.action == "ajout"][:MAX_ECONOMICS_SITES]
    if not added:
        return
    rows = []
    for change in added:
        alone = Scenario(bundle.model, "site seul")
        try:
            alone.add_site(change.offer_type, change.capacity, change.code)
            answered = -compare(Scenario(bundle.model, "situation actuelle"), alone, codes)\
                .communes["delta_gap_households"].sum()
        except GapError:
            answered = float("nan")
        try:
            economics = operations.site_economics(change.offer_type, change.capacity, change.code)
        except (OperationError, ValueError) as exc:
            economics = {"error": str(exc)}
        row = {"Commune": f"{names.get(change.code, change.code)} ({change.code})",
               "Offre": labels.get(change.offer_type, change.offer_type),
               "Places créées": fr_number(change.capacity),
               "Besoin non couvert atteint (ménages)": fr_number(answered, 1)}
        if economics is None:
            row["Verdict économique"] = "hors du modèle économique (hébergement, accompagnement)"
        elif "error" in economics:
            row["Verdict économique"] = economics["error"]
        else:
            row.update({
                "Type d'opération": economics["label"],
                "Reste à financer (€)": fr_number(max(0.0, economics["gap"])),
                "Résultat annuel (€)": fr_signed(economics["result"], 0),
                "Par place (€/an)": fr_signed(economics["result_per_place"], 0),
                "Propriétaire (€/an)": fr_signed(economics["owner_result"], 0),
                "Gestionnaire (€/an)": fr_signed(economics["manager_result"], 0),
                "Verdict économique": "équilibrée" if economics["balanced"] else "non équilibrée",
            })
        rows.append(row)
    st.markdown("**Modèle économique des sites ajoutés** (paramètres par défaut de « Montage d'opération », "
                "dont des hypothèses à confirmer)")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    _montage_link([(c.code, c.offer_type, c.capacity) for c in added],
                  [r["Commune"] + " — " + r["Offre"] for r in rows], "scenario")


def _siting(bundle, scenario, codes: list[str], names: pd.Series, labels: dict) -> None:
    from models.gap import GapError
    from models.siting import suggest_sites

    st.caption("Où de nouvelles places répondraient-elles au plus de besoin non couvert ? "
               "Choix glouton de couverture maximale (à moins de 1 − 1/e de l'optimum), sur le "
               "scénario en cours.")
    cols = st.columns([3, 1.4, 1.4])
    offer = cols[0].selectbox("Type d'offre", list(labels), format_func=labels.get, key="siting_type")
    places = cols[1].number_input("Places à implanter", 5, 2000, 100, step=5, key="siting_places")
    size = cols[2].number_input("Places par site", 5, 200,
                                int(bundle.config.get("siting", {}).get("site_size", 25)),
                                step=5, key="siting_size")
    if st.button("Proposer des implantations", type="primary", key="siting_go"):
        try:
            with st.spinner("Recherche des implantations…"):
                picks = suggest_sites(bundle.model, offer, places, codes, site_size=size, fca=scenario.fca)
        except GapError as exc:
            st.error(str(exc))
            return
        st.session_state[SITING_KEY] = (offer, picks)  # kept for the link to « Montage d'opération »
    if SITING_KEY not in st.session_state:
        return
    offer, picks = st.session_state[SITING_KEY]
    if picks.empty:
        st.info("Aucune implantation ne répond à un besoin non couvert dans ce territoire.")
        return
    table = pd.DataFrame({
        "Ordre": picks["rank"], "Commune": picks["name"], "Code": picks["code"],
        "Places": picks["places"], "Ménages pauvres estimés atteints": picks["need_covered"].round(1),
        "Communes atteintes": picks["communes_reached"],
        "Besoin non couvert restant": picks["unmet_remaining"].round(1),
    })
    table["Résultat annuel (€)"] = [_site_result(offer, row.places, row.code) for row in picks.itertuples()]
    st.dataframe(french(table, {"Ménages pauvres estimés atteints": 1, "Besoin non couvert restant": 1}),
                 hide_index=True, width="stretch")
    st.caption(picks.attrs.get("note_fr", "") + " Résultat annuel : compte d'exploitation du type "
               "d'opération correspondant, paramètres par défaut de « Montage d'opération ».")
    sites = [(row.code, offer, row.places) for row in picks.itertuples()]
    _montage_link(sites, [f"{row.name} ({row.code})" for row in picks.itertuples()], "siting")
    order = [f"{int(r)}. {n}" for r, n in zip(picks["rank"], picks["name"], strict=True)]
    _marked_map(codes, dict(zip(picks["code"], order, strict=True)), order, "siting",
                f"Implantations proposées — {labels.get(offer, offer)}")


def _site_result(offer: str, places: float, code: str) -> str:
    from models.operation_economics import OperationError
    from ui import operations

    try:
        economics = operations.site_economics(offer, places, code)
    except (OperationError, ValueError):
        return "non calculé"
    return "hors modèle" if economics is None else fr_signed(economics["result"], 0)


def _montage_link(sites: list[tuple[str, str, float]], labels: list[str], key: str) -> None:
    """A site to study on « Montage d'opération » (commune, kind and size carried over)."""
    from ui import navigation, operations

    cols = st.columns([3, 2])
    choice = cols[0].selectbox("Étudier le montage d'un site", range(len(sites)),
                               format_func=labels.__getitem__, key=f"{key}_montage_choice")
    if cols[1].button("Ouvrir dans « Montage d'opération »", key=f"{key}_to_montage"):
        code, offer, places = sites[choice]
        kind = operations.KIND_OF_FAMILY.get(offer)
        state.select_commune(code)
        if kind:
            st.session_state["montage_kind"] = kind
            st.session_state.pop("w_montage_kind", None)
            per = operations.parameters().kinds[kind].values.get("personnes_par_logement", 1.0) or 1.0
            # places → dwellings
            st.session_state[f"montage_{kind}_logements"] = max(1, math.ceil(places / per))
        navigation.go("montage")


def _zones(bundle, codes: list[str], labels: dict) -> None:
    from models.gap import neighbour_pairs

    reference = getattr(bundle.model, "reference", None)
    if reference is None:
        st.info("Zones blanches non calculées : ménages cibles indisponibles "
                "(modèle de besoin sans taux de pauvreté).")
        return
    st.caption("Communes, ou groupes de communes voisines, dont les ménages cibles de la famille "
               "dépassent le seuil retenu (page « Méthode »), sans aucune offre de la famille "
               "à portée" + (" (offre FICTIVE de démonstration)."
                             if bundle.meta.get("offer_fictional") else "."))
    families = {k: v for k, v in labels.items() if k in reference.families}
    offer = st.selectbox("Famille d'offre", list(families), format_func=families.get,
                         key="zones_type")
    communes = data.store().read_frame("communes",
                                        columns=["code", "x_metric", "y_metric", "metric_crs"])
    communes = communes[communes["code"].isin(set(codes))]
    neighbours = neighbour_pairs(communes, float(bundle.config["zones_blanches"]["neighbour_m"]))
    _ids, zones = reference.zones_blanches(offer, neighbours, codes)
    if zones.empty:
        st.success(f"Aucune zone blanche pour « {labels.get(offer, offer)} » dans ce territoire.")
        return
    number = {z: f"Zone {i + 1}" for i, z in enumerate(zones["zone_id"])}
    table = pd.DataFrame({
        "Zone": zones["zone_id"].map(number), "Communes": zones["n_communes"],
        "Noms": zones["names"].map(lambda n: ", ".join(n) if isinstance(n, list | tuple) else n),
        "Ménages cibles": zones["target_households"].round(0),
        "Bas": zones["target_households_low"].round(0),
        "Haut": zones["target_households_high"].round(0),
    })
    st.dataframe(french(table, {}), hide_index=True, width="stretch")
    zone_of = {c: number[z] for z, cs in zip(zones["zone_id"], zones["codes"], strict=True)
               for c in cs}
    _marked_map(codes, zone_of, list(number.values()), "zones",
                f"Zones blanches — {labels.get(offer, offer)}")


ZONE_PALETTE = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf",
                "#999999", "#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3"]


def _marked_map(codes: list[str], label_of: dict[str, str], order: list[str], key: str,
                title: str) -> None:
    """The territory's communes, those of ``label_of`` coloured by their label (a zone, a
    suggested site), the others blank."""
    view = territory_view(tuple(codes))
    shown = order[: len(ZONE_PALETTE)]
    categories = tuple((label, ZONE_PALETTE[i]) for i, label in enumerate(shown))
    if len(order) > len(shown):
        categories += (("autres", "#bbbbbb"),)
    values = pd.Series([label_of.get(c) for c in view.codes], index=view.codes, dtype=object)
    if len(order) > len(shown):
        values = values.where(values.isin(shown) | values.isna(), "autres")
    variable = variables.Variable(
        id=f"scenario:{key}", label=title, group="", unit="", kind="categorical",
        citation="Modèle d'écart du projet (INSEE, Filosofi 2021 ; registre des membres).",
        categories=categories)
    styled = mapview.styled_values(variable, values, "quantiles", 5)
    styled.missing = False  # blank communes are outside the zones, not missing data
    legend = mapview.legend(variable, styled, "communes", next(iter(classify.METHODS)))
    fmap = mapview.base_map(view, MAP_HEIGHT)
    layer = mapview.styler(view, variable, values, styled, legend, list(label_of), None)
    mapview.show(view, fmap, layer, key, MAP_HEIGHT)


if __name__ == "__main__":
    render()
