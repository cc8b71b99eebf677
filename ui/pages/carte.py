"""Page « Carte »: a choropleth of any indicator, the need index, the offer or the gap.

France by département, EPCI or commune, or the communes of the chosen territory. Clicking a
commune opens its profile beside the map (clicking a département or an EPCI of the national
map zooms to it).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from diagnostics.formatting import fr_number
from geodata import reference
from geodata.codes import is_among
from ui import classify, data, links, mapview, need, state, variables
from ui import gap as gap_mod
from ui import sites as sites_mod
from ui.downloads import report_download
from ui.geometry import NATIONAL_LEVELS, ViewGeometry, national_view, territory_view
from ui.map_exports import map_exports
from ui.panels import commune_panel, method_quick_settings

MAP_HEIGHT = 600


def render() -> None:
    spec = state.current_spec()
    territory = state.current_territory() if spec else None
    model = need.need_model()
    need_frame = need.scored(model, need.current_settings(model)) if model else None
    bundle = gap_mod.gap_bundle(model) if model else None
    catalogue = variables.available_variables(model, bundle)

    # The map is sent to the browser first (it takes the longest to draw); the title, the
    # figures and the controls are written after it into places reserved above and beside it.
    head = st.container()
    notices = st.container()
    left, right = st.columns([3, 1.1], gap="medium")
    controls = _settings(catalogue, territory is None)
    variable = catalogue[controls["variable"]]
    level = controls["level"] if territory is None else "communes"
    if variable.kind == "categorical" and level != "communes":
        notices.info(f"« {variable.label} » se lit commune par commune : la carte passe à "
                     "l'échelle des communes.")
        level = "communes"

    view = national_view(level) if territory is None else territory_view(tuple(territory.codes))
    values = _values(view, variable, level, need_frame, bundle, model)
    national_classes = controls["national_classes"] and territory is not None
    france = _national_values(variable, need_frame, bundle, model) if national_classes else None
    styled = mapview.styled_values(variable, values, controls["method"], controls["k"], france)
    overlays = _overlays(view, controls["layers"], territory is None)
    estimated = mapview.estimated_mask(variable, need_frame) if territory is not None else None
    settings_label = need.current_settings(model).label if model is not None else None
    legend = mapview.legend(
        variable, styled, level, controls["method_label"],
        mapview.overlay_legend(overlays, sites_mod.offer_labels()),
        weighting=mapview.weighting_text(variable, settings_label),
        estimated=estimated is not None and bool(estimated.reindex(view.codes).fillna(False).any()),
        national_classes=national_classes,
    )
    chosen = state.selected_commune()
    highlight = [chosen] if chosen and level == "communes" else []
    fmap = mapview.base_map(view, MAP_HEIGHT, basemap=controls["basemap"],
                            zoom=st.session_state.get(links.ZOOM_KEY))
    layer = mapview.styler(view, variable, values, styled, legend, highlight, overlays, estimated)
    # The same layout with or without a chosen commune: the map keeps its place in the page, so
    # choosing a commune re-styles it instead of reloading it.
    with left:
        clicked = mapview.show(view, fmap, layer, "carte", MAP_HEIGHT)
        st.caption(mapview.map_note(variable, level, controls["method_label"])
                   + " Cliquez sur une commune pour ouvrir son profil.")
        if territory is not None and reference.RESTORED_FROM in territory.codes:
            st.caption(reference.outline_note(reference.RESTORED_FROM))
        map_exports(view, variable, values, styled, legend_title=variable.legend_title(),
                    territory_name=territory.name if territory else "France",
                    weighting=mapview.weighting_text(variable, settings_label), level=level)
        if territory is not None:
            report_download(st, territory.spec, territory.name, key="carte_report")

    _controls(catalogue, territory is None, model)
    with head:
        _header(territory, need_frame, bundle)
        if territory is not None and territory.spec.split(":")[0] in ("dep", "epci"):
            from ui.policies import territory_block

            territory_block(territory.codes)
    if model is None:
        notices.warning(need.unavailable_reason() or need.NOT_COMPUTED)
    elif bundle is None:
        notices.info(gap_mod.unavailable_reason(model))
    with right:
        if chosen:
            commune_panel(chosen, need_frame, bundle.frame if bundle else None, compact=True)
        else:
            st.markdown("#### Profil d'une commune")
            st.caption("Cliquez sur une commune de la carte (ou choisissez-la dans le panneau de "
                       "gauche) : son indice, ses facteurs principaux et l'offre à portée "
                       "s'affichent ici.")
    if clicked:
        _on_click(clicked, view)


DEFAULT_LAYERS = [mapview.LAYER_SITES]


def _options(catalogue: dict) -> dict:
    """Choices and defaults of the map settings."""
    ids = list(catalogue)
    asked = st.query_params.get("echelle")  # a link may ask for a scale (?echelle=communes)
    levels = list(NATIONAL_LEVELS)
    return {
        "ids": ids,
        "variable": "need:score" if "need:score" in catalogue else "ctx:density",
        "methods": list(classify.METHODS),
        "levels": levels,
        "level": asked if asked in levels else "departements",
    }


def _settings(catalogue: dict, national: bool) -> dict:
    """The map settings as the sidebar widgets will show them (read before drawing them)."""
    o = _options(catalogue)
    method_label = state.value_of("map_method", o["methods"][0], o["methods"])
    return {
        "variable": state.value_of("map_variable", o["variable"], o["ids"]),
        "method": classify.METHODS[method_label],
        "method_label": method_label,
        "k": int(state.value_of("map_k", 5)),
        "level": state.value_of("map_level", o["level"], o["levels"]) if national else "departements",
        "layers": [x for x in state.value_of("map_layers", DEFAULT_LAYERS) if x in mapview.LAYERS],
        "basemap": bool(state.value_of("map_basemap", False)),
        "national_classes": bool(state.value_of("map_national_classes", False)),
    }


def _controls(catalogue: dict, national: bool, model) -> None:
    """Map settings in the sidebar (kept when moving between pages)."""
    o = _options(catalogue)
    box = st.sidebar
    box.markdown("### Carte")
    variable = box.selectbox(
        "Indicateur affiché", o["ids"], key=state.kept("map_variable", o["variable"], o["ids"]),
        format_func=lambda i: f"{catalogue[i].group} — {catalogue[i].label}",
        help="Toutes les couches du stock local : indice de besoin, offre et écart, "
             "indicateurs des sources.",
    )
    box.selectbox("Classes", o["methods"], key=state.kept("map_method", o["methods"][0], o["methods"]))
    box.slider("Nombre de classes", 3, 7, key=state.kept("map_k", 5))
    if not national:
        box.toggle("Classes nationales", key=state.kept("map_national_classes", False),
                   help="Les classes de toutes les communes de France plutôt que celles du "
                        "territoire : deux territoires se comparent alors par la couleur.")
    if national:
        box.radio(
            "Échelle de la carte de France", o["levels"], horizontal=True,
            format_func=NATIONAL_LEVELS.get, key=state.kept("map_level", o["level"], o["levels"]),
        )
    box.multiselect(
        "Couches", list(mapview.LAYERS), key=state.kept("map_layers", DEFAULT_LAYERS),
        placeholder="aucune couche",
        help="Sites des membres (regroupés, jamais les sites confidentiels), établissements "
             "publics de FINESS (carrés ; CADA et CPH à part), quartiers "
             "prioritaires, communes des programmes Petites villes de demain et Action cœur de "
             "ville, classes de la grille de densité.",
    )
    labels = sites_mod.publics_labels()
    box.multiselect(
        "Publics accueillis (sites)", list(labels), format_func=labels.get,
        key=state.kept("map_publics", []), placeholder="tous les publics",
        help="Ne montrer que les sites des membres qui accueillent au moins un de ces publics.",
    )
    box.toggle("Fond de carte en ligne (OpenStreetMap)", key=state.kept("map_basemap", False),
               help="Nécessite une connexion à internet ; sans elle, la carte reste lisible avec "
                    "les seuls contours des communes et des départements.")
    if model is not None and catalogue[variable].group == variables.GROUP_NEED:
        method_quick_settings(model, box)


def _column_by_code(frame: pd.DataFrame, column: str) -> pd.Series:
    """One column indexed by commune code (``set_index`` would copy the whole frame)."""
    return pd.Series(frame[column].to_numpy(), index=frame["code"].to_numpy(), name=column)


def _header(territory, need_frame: pd.DataFrame | None, bundle) -> None:
    communes = data.communes_table()
    if territory is None:
        st.title("Carte de France")
        st.caption("Choisissez un territoire dans le panneau de gauche (ou cliquez un "
                   "département) pour voir ses communes.")
        codes = communes["code"]
    else:
        st.title(territory.name)
        codes = pd.Index(territory.codes)
    chosen = communes if territory is None else communes[is_among(communes["code"], codes)]
    columns = st.columns(4)
    columns[0].metric("Communes", fr_number(len(chosen)))
    columns[1].metric("Population municipale", fr_number(chosen["population"].sum(min_count=1)))
    if need_frame is not None:
        households = _column_by_code(need_frame, "need_households").reindex(chosen["code"])
        columns[2].metric("Ménages pauvres estimés", fr_number(households.sum(min_count=1)),
                          help="Ménages fiscaux × taux de pauvreté (part de personnes, appliquée "
                          "aux ménages : approximation), taux publié ou estimé.")
    if bundle is not None and "missing_total" in bundle.frame.columns:
        missing = _column_by_code(bundle.frame, "missing_total").reindex(chosen["code"])
        fictional = " (FICTIF)" if bundle.meta.get("offer_fictional") else ""
        columns[3].metric("Places manquantes" + fictional,
                          fr_number(missing.sum(min_count=1)),
                          help="Places qu'il faudrait en plus pour que chaque commune atteigne la "
                          "référence, famille d'offre par famille d'offre, sur ses ménages "
                          "cibles." + (" Offre FICTIVE de démonstration." if fictional else ""))
        if st.button("Programme pour combler l'écart", key="carte_to_programme",
                     icon=":material/construction:",
                     help="Les opérations qui combleraient ces places manquantes, et leur coût"):
            from ui import navigation

            navigation.go("programme")


@st.cache_data(show_spinner=False, max_entries=64)
def _aligned(view_key: str, level: str, variable_id: str, values_key: tuple, _view: ViewGeometry,
             _variable, _values: pd.Series) -> pd.Series:
    """Commune values aligned on the view's features (aggregated for a national level)."""
    if level == "communes":
        return _values.reindex(_view.codes)
    aggregated, _share = variables.aggregate_values(_values, _variable, level)
    return aggregated.reindex(_view.codes)


def _values(view: ViewGeometry, variable, level: str, need_frame, bundle, model) -> pd.Series:
    values = variables.commune_values(variable, need_frame, bundle.frame if bundle else None, model)
    settings_key = need.current_settings(model) if model is not None else None
    key = (data.store_key(), str(settings_key) if variable.source == "need" else "",
           id(bundle) if variable.source == "gap" else 0)
    return _aligned(view.key, level, variable.id, key, view, variable, values)


def _national_values(variable, need_frame, bundle, model) -> pd.Series | None:
    """All the communes of France (the reference of « classes nationales »)."""
    if variable.kind != "numeric":
        return None
    return variables.commune_values(variable, need_frame, bundle.frame if bundle else None, model)


def _overlays(view: ViewGeometry, layers: list[str], national: bool) -> mapview.Overlays | None:
    if not layers:
        return None
    out = mapview.Overlays()
    codes = list(view.codes) if view.level == "communes" else data.communes_table()["code"].tolist()
    if mapview.LAYER_SITES in layers:
        registry = sites_mod.registry_sites()
        if registry is None:
            out.notes.append(sites_mod.unavailable_reason() or sites_mod.NOT_AVAILABLE)
        else:
            out.sites = sites_mod.map_points(registry, view.key, codes,
                                             state.value_of("map_publics", []))
            if registry.sites.empty:
                out.notes.append("Registre des membres vide : importez un fichier sur la page "
                                 "« Offre des membres ».")
    if mapview.LAYER_PUBLIC in layers:
        out.public, notes = mapview.public_points(codes)
        out.notes.extend(notes)
    if mapview.LAYER_QPV in layers:
        out.qpv = mapview.qpv_points(codes)
        if out.qpv is None:
            out.notes.append("Quartiers prioritaires absents du stock local.")
    if mapview.LAYER_PROGRAMMES in layers:
        out.programmes = mapview.programme_points(codes)
        if out.programmes is None:
            out.notes.append("Programmes de l'ANCT absents du stock local.")
    if mapview.LAYER_POLICIES in layers:
        from ui.policies import policy_points

        out.policies = policy_points(codes)
    if mapview.LAYER_DENSITY in layers:
        if view.level == "communes":
            out.density = mapview.density_classes()
            if out.density is None:
                out.notes.append("Grille de densité absente du stock local.")
        else:
            out.notes.append("Classes de densité : à l'échelle des communes seulement.")
    return out


def _on_click(code: str, view: ViewGeometry) -> None:
    if view.level == "departements":
        state.set_spec(f"dep:{code}")
    elif view.level == "epci":
        state.set_spec(f"epci:{code}")
    else:
        state.select_commune(code)
    st.rerun()


if __name__ == "__main__":
    render()
