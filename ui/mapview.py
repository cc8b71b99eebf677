"""The choropleth map of the app: outlines once, colours and overlays as a light feature group.

The map's own script holds only the outlines' address (``ui.geometry``) and the background:
it changes when the territory or the scale changes. Colours, tooltip values, the legend, the
chosen commune and the overlays (members' sites, QPV, programmes, density classes) are a
:class:`~diagnostics.webmap.LayerStyler` passed to ``st_folium(feature_group_to_add=...)``:
changing the variable, the classes or the weights re-colours the map in place, with the view
kept as the user left it. The map only asks streamlit-folium for the last clicked object, so
panning and zooming never re-run the page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import folium
import numpy as np
import pandas as pd
import streamlit as st
from folium.plugins import MarkerCluster
from streamlit_folium import st_folium

from diagnostics import webmap
from ui import classify, data
from ui.geometry import ViewGeometry, map_assets, view_layers
from ui.sites import FICTIONAL_LABEL
from ui.variables import Variable, format_series

# Metropolitan France and the overseas insets, with room below and on the right for the legend.
FRANCE_BOUNDS = (-9.2, 34.5, 13.0, 51.3)
LAYER_SITES = "Sites des membres"
LAYER_QPV = "Quartiers prioritaires (QPV)"
LAYER_PROGRAMMES = "Communes PVD / ACV"
LAYER_DENSITY = "Classes de densité"
LAYERS = (LAYER_SITES, LAYER_QPV, LAYER_PROGRAMMES, LAYER_DENSITY)
FAMILY_COLOURS = {  # Dark2, colour-blind safe
    "pension_de_famille": "#1b9e77",
    "residence_sociale": "#d95f02",
    "intermediation_locative": "#7570b3",
    "diffus": "#e7298a",
    "hebergement": "#66a61e",
    "accompagnement": "#a6761d",
}
DENSITY_COLOURS = ["#543005", "#8c510a", "#bf812d", "#dfc27d", "#80cdc1", "#35978f", "#01665e"]
QPV_COLOUR = "#6a3d9a"


@dataclass
class Overlays:
    """What to draw over the choropleth, already filtered for the public."""

    sites: pd.DataFrame | None = None  # public points: lon, lat, name, offer_family…
    qpv: pd.DataFrame | None = None  # code, qpv_count, qpv_names, rep_lon, rep_lat
    programmes: pd.DataFrame | None = None  # code, name, pvd, acv, rep_lon, rep_lat
    density: pd.Series | None = None  # density class 1–7 by code
    notes: list[str] = field(default_factory=list)


def styled_values(variable: Variable, values: pd.Series, method: str, k: int) -> classify.Styled:
    if variable.kind == "categorical":
        return classify.categorical_style(values, variable.categories)
    return classify.numeric_style(values, variable.palette, method, k, variable.decimals,
                                  variable.reverse)


def legend(variable: Variable, styled: classify.Styled, level: str, method_label: str,
           extra: Sequence[str] = ()) -> str:
    """HTML legend: title with unit, classes, missing values, source and vintage (the way
    communes add up and the classes are said under the map, :func:`map_note`)."""
    body = webmap.legend_html(variable.legend_title(), styled.labels, styled.palette,
                              note=variable.legend_source(), missing=styled.missing)
    if extra:
        body = body[: -len("</div>")] + "".join(extra) + "</div>"
    return body.replace("max-width:280px", "max-width:230px;font-size:12px")


def map_note(variable: Variable, level: str, method_label: str) -> str:
    """The sentence under a map: full citation, aggregation, classes."""
    notes = [variable.citation.rstrip(".") + "."]
    aggregate = variable.aggregate_note(level)
    if aggregate:
        notes.append(aggregate)
    if variable.kind == "numeric":
        notes.append(f"Classes : {method_label.lower()}.")
    return " ".join(notes)


def base_map(view: ViewGeometry, height: int, basemap: bool = False) -> folium.Map:
    """The map's stable part: outlines (from the cached script), background, legend slot.

    ``basemap`` adds the OpenStreetMap tiles (only when the network is there: the map works
    without them).
    """
    bounds = FRANCE_BOUNDS if view.national else view.bounds
    fmap = webmap.offline_map(bounds=bounds, basemap=basemap, zoom_snap=0.25, zoom_delta=0.5)
    fmap.default_js, fmap.default_css = map_assets()
    weight = {"departements": 0.8, "epci": 0.5}.get(view.level, 0.15 if view.national else 0.4)
    context = {"weight": 1.0 if view.national else 1.2, "line_colour": "#777777", "interactive": False}
    for layer in view_layers(view, {"weight": weight}, context):
        layer.add_to(fmap)
    webmap.add_legend_slot(fmap, "bottomright")
    return fmap


def styler(view: ViewGeometry, variable: Variable, values: pd.Series, styled: classify.Styled,
           legend_text: str, highlight: Sequence[str], overlays: Overlays | None) -> webmap.LayerStyler:
    """Colours (aligned on the view's features), tooltips, legend and overlays."""
    tips = format_series(values, variable)
    layer = webmap.LayerStyler(
        "main", styled.classes.tolist(), styled.palette, tips, variable.label, legend_text,
        highlight=list(highlight),
    )
    if overlays is not None:
        _add_overlays(layer, view, overlays)
    return layer


def _add_overlays(layer: webmap.LayerStyler, view: ViewGeometry, overlays: Overlays) -> None:
    if overlays.density is not None:
        density = pd.to_numeric(overlays.density.reindex(view.codes), errors="coerce")
        classes = [None if pd.isna(v) else int(v) - 1 for v in density]
        webmap.IndexedOverlay(f"geo_{view.key}", classes, DENSITY_COLOURS, opacity=0.4).add_to(layer)
    if overlays.qpv is not None and len(overlays.qpv):
        group = folium.FeatureGroup(name=LAYER_QPV, control=False)
        for row in overlays.qpv.itertuples():
            names = str(row.qpv_names) if isinstance(row.qpv_names, str) else ""
            text = (f"<b>{html.escape(str(row.name))}</b><br>{int(row.qpv_count)} quartier(s) "
                    f"prioritaire(s) 2024<br>{html.escape(names[:300])}")
            folium.CircleMarker(
                [row.rep_lat, row.rep_lon], radius=5 + min(int(row.qpv_count), 8), color=QPV_COLOUR,
                weight=2, fill=True, fill_opacity=0.15, tooltip=text,
            ).add_to(group)
        group.add_to(layer)
    if overlays.programmes is not None and len(overlays.programmes):
        group = folium.FeatureGroup(name=LAYER_PROGRAMMES, control=False)
        for row in overlays.programmes.itertuples():
            tags = [t for t, on in (("PVD", row.pvd), ("ACV", row.acv)) if on]
            badge = "/".join(tags)
            icon = folium.DivIcon(
                html=(f'<div style="font:bold 10px sans-serif;color:#fff;background:#33a02c;'
                      f'border:1px solid #fff;border-radius:3px;padding:0 2px;'
                      f'white-space:nowrap">{badge}</div>'),
                icon_size=(30, 14), icon_anchor=(15, 7),
            )
            folium.Marker([row.rep_lat, row.rep_lon], icon=icon,
                          tooltip=f"{html.escape(str(row.name))} : {badge}").add_to(group)
        group.add_to(layer)
    if overlays.sites is not None and len(overlays.sites):
        cluster = MarkerCluster(name=LAYER_SITES, control=False,
                                options={"maxClusterRadius": 40, "showCoverageOnHover": False})
        cluster.default_js, cluster.default_css = [], []  # served locally with the map
        for row in overlays.sites.itertuples():
            colour = FAMILY_COLOURS.get(getattr(row, "offer_family", None), "#444444")
            fictional = bool(getattr(row, "fictional", False))
            name = html.escape(str(getattr(row, "name", "") or "Site"))
            label = f"[{FICTIONAL_LABEL}] {name}" if fictional else name
            kind = html.escape(str(getattr(row, "offer_type_label", "") or ""))
            capacity = getattr(row, "capacity", np.nan)
            unit = getattr(row, "capacity_unit", "") or ""
            cap = "" if pd.isna(capacity) else f"<br>{int(capacity)} {html.escape(str(unit))}"
            operator = html.escape(str(getattr(row, "operator_name", "") or ""))
            icon = folium.DivIcon(
                html=(f'<div style="width:12px;height:12px;border-radius:6px;background:{colour};'
                      f'border:2px solid {"#000" if fictional else "#fff"}"></div>'),
                icon_size=(14, 14), icon_anchor=(7, 7),
            )
            folium.Marker([row.lat, row.lon], icon=icon,
                          tooltip=f"<b>{label}</b><br>{kind}<br>{operator}{cap}").add_to(cluster)
        cluster.add_to(layer)


def overlay_legend(overlays: Overlays | None, families: dict[str, str]) -> list[str]:
    """Legend lines of the overlays shown."""
    if overlays is None:
        return []
    lines = []
    if overlays.sites is not None:
        present = [f for f in FAMILY_COLOURS if f in set(overlays.sites.get("offer_family", []))]
        for family in present:
            lines.append(_dot(FAMILY_COLOURS[family], families.get(family, family)))
        if overlays.sites.get("fictional", pd.Series(dtype=bool)).any():
            lines.append(f'<div style="font-size:11px">Contour noir : site {FICTIONAL_LABEL} '
                         "(données de démonstration)</div>")
        lines.append('<div style="font-size:11px">Sites confidentiels jamais affichés ni '
                     "comptés sur la carte.</div>")
    if overlays.qpv is not None:
        lines.append(_dot(QPV_COLOUR, "Commune avec quartier prioritaire 2024", ring=True))
    if overlays.programmes is not None:
        lines.append('<div><span style="background:#33a02c;color:#fff;font:bold 10px sans-serif;'
                     'padding:0 2px;border-radius:3px;margin-right:6px">PVD</span>Petites villes '
                     "de demain / Action cœur de ville</div>")
    if overlays.density is not None:
        lines.append('<div style="font-size:11px">Densité (voile) : du plus dense (brun) au plus '
                     "rural (vert-bleu), grille INSEE 2025</div>")
    for note in overlays.notes:
        lines.append(f'<div style="font-size:11px">{html.escape(note)}</div>')
    if not lines:
        return []
    # Folded by default: the map stays readable; one click shows the overlays' key.
    return ['<details style="margin-top:6px"><summary style="cursor:pointer"><b>Couches</b></summary>',
            *lines, "</details>"]


def _dot(colour: str, label: str, ring: bool = False) -> str:
    style = (f"border:2px solid {colour};background:transparent" if ring
             else f"background:{colour};border:1px solid #fff")
    return (f'<div><span style="display:inline-block;width:11px;height:11px;border-radius:6px;'
            f'{style};margin-right:6px"></span>{html.escape(label)}</div>')


def show(view: ViewGeometry, fmap: folium.Map, layer: webmap.LayerStyler, key: str,
         height: int = 600) -> str | None:
    """Draw the map; return the code of a newly clicked feature (None otherwise)."""
    out = st_folium(
        fmap, key=f"{key}_{view.key}", height=height, use_container_width=True,
        returned_objects=["last_object_clicked"], feature_group_to_add=layer,
    )
    clicked = (out or {}).get("last_object_clicked")
    if not clicked:
        return None
    marker = (view.key, round(float(clicked["lat"]), 6), round(float(clicked["lng"]), 6))
    seen = st.session_state.get(f"_click_{key}")
    st.session_state[f"_click_{key}"] = marker
    if seen == marker:
        return None
    return view.code_at(float(clicked["lng"]), float(clicked["lat"]))


# -- overlays data ---------------------------------------------------------------------------------
def qpv_points(codes: Sequence[str]) -> pd.DataFrame | None:
    if not data.available("qpv2024_communes"):
        return None
    counts = pd.to_numeric(data.column("qpv2024_communes", "qpv_count"), errors="coerce")
    names = data.column("qpv2024_communes", "qpv_names")
    communes = data.communes_table().set_index("code")
    wanted = communes.index.intersection(pd.Index(codes))
    frame = pd.DataFrame({"name": communes.loc[wanted, "name"],
                          "qpv_count": counts.reindex(wanted), "qpv_names": names.reindex(wanted),
                          "rep_lon": communes.loc[wanted, "rep_lon"],
                          "rep_lat": communes.loc[wanted, "rep_lat"]})
    frame = frame[(frame["qpv_count"] > 0) & frame["rep_lon"].notna()]
    return frame.rename_axis("code").reset_index()


def programme_points(codes: Sequence[str]) -> pd.DataFrame | None:
    if not data.available("anct_programmes"):
        return None
    communes = data.communes_table().set_index("code")
    wanted = communes.index.intersection(pd.Index(codes))
    pvd = data.column("anct_programmes", "programme_pvd").reindex(wanted).fillna(False).astype(bool)
    acv = data.column("anct_programmes", "programme_acv").reindex(wanted).fillna(False).astype(bool)
    frame = pd.DataFrame({"name": communes.loc[wanted, "name"], "pvd": pvd, "acv": acv,
                          "rep_lon": communes.loc[wanted, "rep_lon"],
                          "rep_lat": communes.loc[wanted, "rep_lat"]})
    frame = frame[(frame["pvd"] | frame["acv"]) & frame["rep_lon"].notna()]
    return frame.rename_axis("code").reset_index()


def density_classes() -> pd.Series | None:
    if not data.available("grille_densite_2025"):
        return None
    return pd.to_numeric(data.column("grille_densite_2025", "density_7"), errors="coerce")
