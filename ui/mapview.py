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
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import folium
import numpy as np
import pandas as pd
import streamlit as st
from branca.element import MacroElement, Template
from streamlit_folium import st_folium

import settings
from catalogues import datasets
from diagnostics import webmap
from geodata.codes import is_among
from ui import classify, data
from ui.commune_picture import picture_option, picture_url, tips_script
from ui.geometry import ViewGeometry, map_assets, view_layers
from ui.sites import FICTIONAL_LABEL
from ui.variables import Variable, format_series

LAYER_SITES = "Sites des membres"
LAYER_QPV = "Quartiers prioritaires (QPV)"
LAYER_PROGRAMMES = "Communes PVD / ACV"
LAYER_DENSITY = "Classes de densité"
LAYER_PUBLIC = "Établissements publics (FINESS)"
LAYER_POLICIES = "Territoires Logement d'abord"
LAYERS = (LAYER_SITES, LAYER_PUBLIC, LAYER_QPV, LAYER_PROGRAMMES, LAYER_POLICIES, LAYER_DENSITY)
POLICY_COLOUR = "#1b9e77"
# Public establishments: squares (the members' sites are dots); the asylum system apart.
PUBLIC_COLOURS = {
    "hebergement": "#66a61e",
    "residence_sociale": "#d95f02",
    "pension_de_famille": "#1b9e77",
    "asile": "#6a3d9a",
}
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
    public: pd.DataFrame | None = None  # FINESS establishments: lon, lat, name, family…
    qpv: pd.DataFrame | None = None  # code, qpv_count, qpv_names, rep_lon, rep_lat
    programmes: pd.DataFrame | None = None  # code, name, pvd, acv, rep_lon, rep_lat
    policies: pd.DataFrame | None = None  # code, name, rep_lon, rep_lat (Logement d'abord)
    density: pd.Series | None = None  # density class 1–7 by code
    notes: list[str] = field(default_factory=list)


# px kept free on the map's right for the legend: its 230 px of text, padding, border, margin.
LEGEND_WIDTH = 275
HATCH_CSS = ("background:repeating-linear-gradient(135deg,#555 0 1px,#fff 1px 5px);"
             "width:18px;height:12px;display:inline-block;border:1px solid #777;margin-right:6px")
ESTIMATED_LABEL = "valeur estimée (taux de pauvreté secret, modèle)"
ESTIMATED_LABEL_SHORT = "hachures : valeur estimée"


def styled_values(variable: Variable, values: pd.Series, method: str, k: int,
                  reference: pd.Series | None = None) -> classify.Styled:
    """Classes and colours of ``values``; with ``reference`` (all the communes of France), the
    classes are those of France (« classes nationales »), so territories compare by colour."""
    if variable.kind == "categorical":
        return classify.categorical_style(values, variable.categories)
    if reference is not None:
        national = classify.numeric_style(reference, variable.palette, method, k,
                                          variable.decimals, variable.reverse)
        return classify.with_classes_of(values, national)
    return classify.numeric_style(values, variable.palette, method, k, variable.decimals,
                                  variable.reverse)


def weighting_text(variable: Variable, settings_label: str | None) -> str:
    """« Pondération : préréglage « équilibré » » or « pondération personnalisée » for the
    variables that depend on the weights (need index, ranks, gap); empty otherwise."""
    if not settings_label or variable.source not in ("need",):
        return ""
    if settings_label.startswith("préréglage"):
        return f"Pondération : {settings_label}"
    return "Pondération personnalisée"


def legend(variable: Variable, styled: classify.Styled, level: str, method_label: str,
           extra: Sequence[str] = (), weighting: str = "", estimated: bool = False,
           national_classes: bool = False, font_px: int = 12, width_px: int = 230,
           compact: bool = False, horizontal: bool = False) -> str:
    """HTML legend: title with its unit (once), classes, estimated and missing values, source
    and vintage, the weighting of the index (the way communes add up and the classes are said
    under the map, :func:`map_note`)."""
    body = webmap.legend_html(variable.legend_title(), styled.labels, styled.palette,
                              note=variable.legend_source(), missing=styled.missing,
                              horizontal=horizontal)
    small = f'<div style="font-size:{max(font_px - 1, 10)}px">'
    reading = reading_lines(variable, level, method_label, national_classes)
    if compact and reading:  # the slide: one line, the legend must not hide the territory
        reading = [" ; ".join([reading[0], *(r[0].lower() + r[1:] for r in reading[1:])])]
    lines = [small + html.escape(text) + "</div>" for text in reading]
    if estimated:
        label = ESTIMATED_LABEL_SHORT if compact else ESTIMATED_LABEL
        lines.append(f'<div><span style="{HATCH_CSS}"></span>{html.escape(label)}</div>')
    if compact and weighting and len(lines) >= 1:  # the weighting on the hatching's line
        lines[-1] = lines[-1][:-len("</div>")] + " · " + html.escape(weighting) + "</div>"
        weighting = ""
    if weighting:
        lines.append(f'<div style="font-size:{max(font_px - 1, 10)}px">{html.escape(weighting)}</div>')
    lines.extend(extra)
    if lines:
        # Before the source line (the last block of the legend).
        cut = body.rfind('<div style="margin-top:4px')
        cut = cut if cut > 0 else len(body) - len("</div>")
        body = body[:cut] + "".join(lines) + body[cut:]
    body = body.replace("font:13px sans-serif", f"font:{font_px}px sans-serif")
    body = body.replace("font-size:11px", f"font-size:{max(font_px - 1, 10)}px")
    body = body.replace("width:18px;height:12px", f"width:{font_px + 6}px;height:{font_px}px")
    return body.replace("max-width:280px", f"max-width:{width_px}px")


LEVEL_NOUNS = {"communes": "communes", "departements": "départements", "epci": "EPCI",
               "regions": "régions"}


def reading_lines(variable: Variable, level: str, method_label: str,
                  national_classes: bool = False) -> list[str]:
    """How to read a numeric map, said in its legend: the direction of the colours, the scale of
    an index, and how the classes were cut (whose values, which method)."""
    if variable.kind != "numeric":
        return []
    lines = []
    if variable.palette != "ecart":  # a diverging palette says its two directions in its labels
        what = "besoin plus fort" if variable.source == "need" else (
            "valeur plus faible" if variable.reverse else "valeur plus forte")
        lines.append(f"Plus foncé = {what}")
    if variable.unit == "/100":
        lines.append("Échelle de 0 à 100 (indice relatif)")
    method = (method_label or "quantiles").lower()
    if national_classes:
        lines.append(f"Classes : {method} de toutes les communes de France")
    else:
        lines.append(f"Classes : {method} des {LEVEL_NOUNS.get(level, level)} de la carte")
    return lines


def map_note(variable: Variable, level: str, method_label: str) -> str:
    """The sentence under a map: full citation, aggregation, classes."""
    notes = [variable.citation.rstrip(".") + "."]
    aggregate = variable.aggregate_note(level)
    if aggregate:
        notes.append(aggregate)
    if variable.kind == "numeric":
        notes.append(f"Classes : {method_label.lower()}.")
    return " ".join(notes)


def base_map(view: ViewGeometry, height: int, basemap: bool = False,
             zoom: tuple[float, float, float] | None = None,
             legend_room: int = LEGEND_WIDTH, legend_below: int = 0) -> folium.Map:
    """The map's stable part: outlines (from the cached script), background, legend slot.

    ``basemap`` adds the OpenStreetMap tiles (only when the network is there: the map works
    without them). ``zoom`` (lat, lon, level), from a shared link or a commune search, replaces
    the view's bounds; otherwise the territory is fitted with ``legend_room`` pixels free on
    the right, so that the legend never hides it.
    """
    bounds = view.bounds  # all France: the mainland and the overseas insets
    # France: the legend goes beside the country or in a band under it, whichever leaves France
    # the larger zoom (decided in the browser, on the legend's own size).
    legend_fit = view.national and zoom is None and legend_room == LEGEND_WIDTH and not legend_below
    if zoom is not None:
        fmap = webmap.offline_map(basemap=basemap, location=[zoom[0], zoom[1]],
                                  zoom_start=zoom[2], zoom_snap=0.25, zoom_delta=0.5)
    else:
        padding = {"padding_top_left": (10, 10),
                   "padding_bottom_right": (legend_room, 10 + legend_below)}
        fmap = webmap.offline_map(bounds=bounds, basemap=basemap, zoom_snap=0.25, zoom_delta=0.5,
                                  fit_padding=padding)
    fmap.default_js, fmap.default_css = map_assets()
    # All France by commune: no commune border (35,000 borders make a dark mass at this zoom),
    # the départements drawn over the colours.
    weight = {"departements": 0.8, "epci": 0.5}.get(view.level, 0.0 if view.national else 0.4)
    context = {"weight": 1.0 if view.national else 1.2, "line_colour": "#777777", "interactive": False}
    picture = picture_option(view) if view.as_picture else None
    for layer in view_layers(view, {"weight": weight}, context, picture):
        layer.add_to(fmap)
    if not view.national and view.level == "communes":
        add_commune_names(fmap, view)
    webmap.add_legend_slot(fmap, "bottomright")
    if legend_fit:
        fmap.add_child(_LegendFit(bounds))
    return fmap


class _LegendFit(MacroElement):
    """Fit France to the map's frame with the legend beside it or in a band under it.

    A legend kept beside the map takes about 275 px of its width: in a 650 px frame (a laptop's
    1366 px window with the side panels) France then had 360 px. Once the legend is written (and
    each time it changes or the window is resized, until the user moves the map), the browser
    measures it both ways, beside (its own width) and as a band across the map's bottom (classes
    side by side, reading lines and source in full), and fits France with the layout that gives
    the larger zoom. A wide frame keeps the legend beside France, where France's height limits
    the zoom anyway.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>
        .diag-legend-band .leaflet-bottom.leaflet-right { left: 0; }
        .diag-legend-band .leaflet-bottom.leaflet-right .diag-control {
            width: calc(100% - 20px); }
        .diag-legend-band .diag-legend { max-width: none !important; }
        .diag-legend-band .diag-legend > b { display: block; }
        .diag-legend-band .diag-legend > div:not(:last-child) {
            display: inline-block; margin-right: 14px; }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function (map) {
            var bounds = L.latLngBounds({{ this.bounds|tojson }});
            var FIT_SNAP = 0.05;
            var box = map.getContainer();
            var moved = false, pending = null;
            ["mousedown", "wheel", "touchstart", "keydown", "dblclick"].forEach(function (name) {
                box.addEventListener(name, function () { moved = true; }, {passive: true});
            });
            function fit() {
                pending = null;
                if (moved) { return; }
                // The fit in finer steps than the buttons' (France fills the frame); the next
                // zoom by the user comes back to the map's steps. Never animated: a fit asked
                // during a zoom animation is dropped by Leaflet.
                var snap = map.options.zoomSnap;
                map.options.zoomSnap = FIT_SNAP;
                try { place(); } finally { map.options.zoomSnap = snap; }
            }
            function place() {
                var slot = box.querySelector(".diag-legend-slot");
                var legend = slot && slot.style.display !== "none" ? slot.firstElementChild : null;
                var left = box.querySelector(".leaflet-bottom.leaflet-left");
                box.classList.remove("diag-legend-band");
                if (left) { left.style.bottom = ""; }
                if (!legend) {
                    map.fitBounds(bounds, {padding: [10, 10], animate: false});
                    return;
                }
                var side = legend.offsetWidth + 20;
                var beside = map.getBoundsZoom(bounds, false, L.point(10 + side, 20));
                box.classList.add("diag-legend-band");
                // From the map's bottom to the band's top (the attribution lies under it).
                var top = box.getBoundingClientRect().bottom
                    - slot.parentNode.getBoundingClientRect().top;
                var band = Math.ceil(top) + 10;
                var under = map.getBoundsZoom(bounds, false, L.point(20, 10 + band));
                if (under > beside) {
                    if (left) { left.style.bottom = Math.ceil(top) + "px"; }  // the scale above
                    map.fitBounds(bounds, {paddingTopLeft: [10, 10], animate: false,
                                           paddingBottomRight: [10, band]});
                } else {
                    box.classList.remove("diag-legend-band");
                    map.fitBounds(bounds, {paddingTopLeft: [10, 10], animate: false,
                                           paddingBottomRight: [side, 10]});
                }
                // For the end-to-end tests: the layout chosen and the zooms compared.
                window.__diagLegendFit = {layout: under > beside ? "band" : "beside",
                                          beside: beside, under: under, zoom: map.getZoom()};
            }
            function later() {
                if (pending === null) { pending = setTimeout(fit, 0); }
            }
            var slot = box.querySelector(".diag-legend-slot");
            if (slot && window.MutationObserver) {
                new MutationObserver(later).observe(slot, {childList: true, attributes: true,
                                                           subtree: true});
            }
            window.addEventListener("resize", later);
            map.on("resize", later);
            // The component sizes its frame after the map's script has run, and the first fit
            // may come before it: fitted again shortly after.
            later();
            setTimeout(later, 300);
            setTimeout(later, 1000);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: Sequence[float]) -> None:
        super().__init__()
        self._name = "LegendFit"
        minx, miny, maxx, maxy = bounds
        self.bounds = [[miny, minx], [maxy, maxx]]


NAME_STYLE = ("font:600 11px/1.1 'DejaVu Sans',sans-serif;color:#111;white-space:nowrap;"
              "pointer-events:none;text-shadow:0 0 2px #fff,0 0 2px #fff,0 0 3px #fff,0 0 4px #fff;"
              "transform:translate(-50%,-100%)")


def commune_names(view: ViewGeometry) -> pd.DataFrame:
    """The territory's communes to name on its map (``code, name, rep_lon, rep_lat``): the most
    populous, spread over the map, as on the report's maps (:mod:`geodata.main_places`)."""
    from geodata.main_places import lonlat_to_km, spread_largest

    table = data.communes_table()
    table = table[table["code"].isin(set(view.codes))]
    if table.empty or "population" not in table.columns:
        return table.iloc[0:0]
    x, y = lonlat_to_km(table["rep_lon"], table["rep_lat"])
    minx, miny, maxx, maxy = view.bounds
    corner_x, _ = lonlat_to_km(pd.Series([minx, maxx]), pd.Series([(miny + maxy) / 2] * 2))
    spacing = abs(corner_x[1] - corner_x[0]) / 10
    frame = table.assign(x=x, y=y)[["code", "name", "population", "rep_lon", "rep_lat", "x", "y"]]
    return spread_largest(frame, spacing)[["code", "name", "rep_lon", "rep_lat"]]


def add_commune_names(fmap: folium.Map, view: ViewGeometry) -> None:
    """Names of the main communes, dark on a white halo; they let clicks through to the
    communes beneath (``pointer-events: none``, non-interactive markers)."""
    names = commune_names(view)
    if names.empty:
        return
    group = folium.FeatureGroup(name="Noms des communes", control=False)
    for row in names.itertuples():
        icon = folium.DivIcon(html=f'<div style="{NAME_STYLE}">{html.escape(str(row.name))}</div>',
                              icon_size=(0, 0), icon_anchor=(0, 0), class_name="diag-nom")
        folium.Marker([row.rep_lat, row.rep_lon], icon=icon, interactive=False,
                      keyboard=False).add_to(group)
    group.add_to(fmap)


class _FillHeight(MacroElement):
    """Resize the map's frame to the bottom of the browser window and fit the view again
    (the map component has a fixed height in pixels; a projector's screen does not)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var bounds = {{ this.bounds|tojson }};
            function fit() {
                try {
                    var frame = window.frameElement;
                    if (!frame) { return; }
                    var top = window.parent;
                    var h = Math.max(360, Math.floor(top.innerHeight
                        - frame.getBoundingClientRect().top - {{ this.bottom }}));
                    frame.style.setProperty("height", h + "px", "important");
                    map.getContainer().style.setProperty("height", h + "px", "important");
                    map.invalidateSize();
                    map.fitBounds(bounds, {paddingTopLeft: [10, 10],
                                           paddingBottomRight: [{{ this.room }},
                                                                10 + {{ this.below }}]});
                } catch (e) {}
            }
            setTimeout(fit, 30);
            setTimeout(fit, 700);
            try { window.parent.addEventListener("resize", fit); } catch (e) {}
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: Sequence[float], room: int, bottom: int, below: int = 0) -> None:
        super().__init__()
        self._name = "FillHeight"
        self.below = int(below)
        minx, miny, maxx, maxy = bounds
        self.bounds = [[miny, minx], [maxy, maxx]]
        self.room = int(room)
        self.bottom = int(bottom)


def fill_height(fmap: folium.Map, view: ViewGeometry, legend_room: int = LEGEND_WIDTH,
                legend_below: int = 0,
                bottom_px: int = 56) -> None:
    """Let the map take the height of the window, down to ``bottom_px`` from its bottom."""
    fmap.add_child(_FillHeight(view.bounds, legend_room, bottom_px, legend_below))


def styler(view: ViewGeometry, variable: Variable, values: pd.Series, styled: classify.Styled,
           legend_text: str, highlight: Sequence[str], overlays: Overlays | None,
           estimated: pd.Series | None = None) -> webmap.LayerStyler:
    """Colours (aligned on the view's features), tooltips, legend and overlays; communes whose
    value is estimated (``estimated``, boolean by code) are hatched."""
    classes = styled.classes.tolist()
    image = picture_url(view, classes, styled.palette) if view.as_picture else None
    # France by commune: the tooltips' 35,000 values in a static script, loaded after the map.
    tips_file = tips_script(view, variable, values) if image is not None else None
    tips = None if tips_file else format_series(values, variable)
    layer = webmap.LayerStyler(
        "main", classes, styled.palette, tips, variable.label, legend_text,
        highlight=list(highlight), image=image, tips_script=tips_file,
    )
    if image is not None and len(highlight):  # the chosen commune over the picture
        chosen = view.frame[is_among(view.frame["code"], list(highlight))]
        if len(chosen):
            webmap.Outlines(webmap.compact_geojson(chosen, 4)).add_to(layer)
    if overlays is not None:
        _add_overlays(layer, view, overlays)
    if estimated is not None and view.level == "communes" and not view.national:
        # Hatching reads on a territory's communes; on all France it would be a grey mass.
        flags = estimated.reindex(view.codes).fillna(False).astype(bool).to_numpy()
        if flags.any():
            webmap.IndexedOverlay(f"geo_{view.key}", [0 if f else None for f in flags],
                                  ["#444444"], opacity=1.0, hatch=True).add_to(layer)
    return layer


def estimated_mask(variable: Variable, need_frame: pd.DataFrame | None) -> pd.Series | None:
    """Communes whose value rests on an estimated poverty rate (need index, volumes, gap)."""
    if need_frame is None or variable.source not in ("need", "gap") or variable.kind != "numeric":
        return None
    if "imputed_poverty_rate" not in need_frame.columns:
        return None
    flags = need_frame.set_index("code")["imputed_poverty_rate"].fillna(False).astype(bool)
    return flags if flags.any() else None


def _add_overlays(layer: webmap.LayerStyler, view: ViewGeometry, overlays: Overlays) -> None:
    if overlays.density is not None:
        density = pd.to_numeric(overlays.density.reindex(view.codes), errors="coerce")
        classes = [None if pd.isna(v) else int(v) - 1 for v in density]
        # Coloured outlines only: the choropleth's colours stay as they are.
        webmap.IndexedOverlay(f"geo_{view.key}", classes, DENSITY_COLOURS, opacity=0.0,
                              weight=2.2).add_to(layer)
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
    if overlays.policies is not None and len(overlays.policies):
        group = folium.FeatureGroup(name=LAYER_POLICIES, control=False)
        for row in overlays.policies.itertuples():
            folium.CircleMarker(
                [row.rep_lat, row.rep_lon], radius=3, color=POLICY_COLOUR, weight=1, fill=True,
                fill_opacity=0.8,
                tooltip=f"{html.escape(str(row.name))} : territoire Logement d'abord",
            ).add_to(group)
        group.add_to(layer)
    if overlays.public is not None and len(overlays.public):
        _add_public(layer, overlays.public)
    if overlays.sites is not None and len(overlays.sites):
        layer.add_child(webmap.PointMarkers(_site_points(overlays.sites), (14, 14), CLUSTER))


# Members' sites and public establishments, each in its own cluster group.
CLUSTER = {"maxClusterRadius": 40, "showCoverageOnHover": False}


def _site_points(sites: pd.DataFrame) -> list[tuple[float, float, str, str]]:
    """A dot per public site (black ring: FICTIF), its name, kind, operator and capacity."""
    points = []
    for row in sites.itertuples():
        colour = FAMILY_COLOURS.get(getattr(row, "offer_family", None), "#444444")
        fictional = bool(getattr(row, "fictional", False))
        name = html.escape(str(getattr(row, "name", "") or "Site"))
        label = f"[{FICTIONAL_LABEL}] {name}" if fictional else name
        kind = html.escape(str(getattr(row, "offer_type_label", "") or ""))
        capacity = getattr(row, "capacity", np.nan)
        unit = getattr(row, "capacity_unit", "") or ""
        cap = "" if pd.isna(capacity) else f"<br>{int(capacity)} {html.escape(str(unit))}"
        operator = html.escape(str(getattr(row, "operator_name", "") or ""))
        icon = (f'<div style="width:12px;height:12px;border-radius:6px;background:{colour};'
                f'border:2px solid {"#000" if fictional else "#fff"}"></div>')
        points.append((row.lat, row.lon, icon, f"<b>{label}</b><br>{kind}<br>{operator}{cap}"))
    return points


def _add_public(layer: webmap.LayerStyler, public: pd.DataFrame) -> None:
    points = []
    for row in public.itertuples():
        colour = PUBLIC_COLOURS.get(getattr(row, "family", None), "#444444")
        name = html.escape(str(getattr(row, "name", "") or "Établissement"))
        kind = html.escape(str(getattr(row, "category_label", "") or ""))
        capacity = getattr(row, "capacity", np.nan)
        places = "capacité non publiée" if pd.isna(capacity) else f"{int(capacity)} places"
        icon = (f'<div style="width:10px;height:10px;background:{colour};'
                'border:1px solid #fff;outline:1px solid #333"></div>')
        points.append((row.lat, row.lon, icon, f"<b>{name}</b><br>{kind}<br>{places}<br>FINESS"))
    layer.add_child(webmap.PointMarkers(points, (12, 12), CLUSTER))


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
    if overlays.public is not None:
        from models.supply import PUBLIC_FAMILIES

        for family in [f for f in PUBLIC_COLOURS if f in set(overlays.public.get("family", []))]:
            lines.append(_square(PUBLIC_COLOURS[family], f"{PUBLIC_FAMILIES[family]} (FINESS)"))
    if overlays.qpv is not None:
        lines.append(_dot(QPV_COLOUR, "Commune avec quartier prioritaire 2024", ring=True))
    if overlays.programmes is not None:
        lines.append('<div><span style="background:#33a02c;color:#fff;font:bold 10px sans-serif;'
                     'padding:0 2px;border-radius:3px;margin-right:6px">PVD</span>Petites villes '
                     "de demain / Action cœur de ville</div>")
    if overlays.policies is not None:
        lines.append(_dot(POLICY_COLOUR, "Commune en territoire Logement d'abord (liste "
                          "compilée par le projet, incomplète)"))
    if overlays.density is not None:
        lines.append('<div style="font-size:11px">Densité (contour coloré) : du plus dense (brun) '
                     "au plus rural (vert-bleu), grille INSEE 2025</div>")
    for note in overlays.notes:
        lines.append(f'<div style="font-size:11px">{html.escape(note)}</div>')
    if not lines:
        return []
    # Folded by default: the map stays readable; one click shows the overlays' key.
    return ['<details style="margin-top:6px"><summary style="cursor:pointer"><b>Couches</b></summary>',
            *lines, "</details>"]


def _square(colour: str, label: str) -> str:
    return (f'<div><span style="display:inline-block;width:10px;height:10px;background:{colour};'
            f'outline:1px solid #333;margin-right:6px"></span>{html.escape(label)}</div>')


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
    let_the_map_draw_first()
    clicked = (out or {}).get("last_object_clicked")
    if not clicked:
        return None
    marker = (view.key, round(float(clicked["lat"]), 6), round(float(clicked["lng"]), 6))
    seen = st.session_state.get(f"_click_{key}")
    st.session_state[f"_click_{key}"] = marker
    if seen == marker:
        return None
    return view.code_at(float(clicked["lng"]), float(clicked["lat"]))


FIRST_MAP_SENT_KEY = "_first_map_sent"


def let_the_map_draw_first(pause_s: float | None = None) -> None:
    """On the first map of a visit, pause before the rest of the page is sent.

    Streamlit's browser side shows a batch of new elements only once the code of each new kind
    of element has loaded (selectboxes, sliders, buttons…: one small script each, fetched from
    the server that is running the page). On a visit's first page the map therefore waited for
    the sidebar's widgets: 0.6–1.4 s measured here. Sent alone, it is drawn while the script
    waits, and the controls follow. Later runs of the visit have that code already: no pause.
    """
    pause = settings.FIRST_MAP_PAUSE_S if pause_s is None else pause_s
    if pause <= 0 or st.session_state.get(FIRST_MAP_SENT_KEY):
        return
    st.session_state[FIRST_MAP_SENT_KEY] = True
    time.sleep(pause)


# -- overlays data ---------------------------------------------------------------------------------
def qpv_points(codes: Sequence[str]) -> pd.DataFrame | None:
    if not data.available(datasets.QPV_COMMUNES):
        return None
    counts = pd.to_numeric(data.column(datasets.QPV_COMMUNES, "qpv_count"), errors="coerce")
    names = data.column(datasets.QPV_COMMUNES, "qpv_names")
    communes = data.communes_table().set_index("code")
    wanted = communes.index.intersection(pd.Index(codes))
    frame = pd.DataFrame({"name": communes.loc[wanted, "name"],
                          "qpv_count": counts.reindex(wanted), "qpv_names": names.reindex(wanted),
                          "rep_lon": communes.loc[wanted, "rep_lon"],
                          "rep_lat": communes.loc[wanted, "rep_lat"]})
    frame = frame[(frame["qpv_count"] > 0) & frame["rep_lon"].notna()]
    return frame.rename_axis("code").reset_index()


def programme_points(codes: Sequence[str]) -> pd.DataFrame | None:
    if not data.available(datasets.ANCT_PROGRAMMES):
        return None
    communes = data.communes_table().set_index("code")
    wanted = communes.index.intersection(pd.Index(codes))
    pvd = data.column(datasets.ANCT_PROGRAMMES, "programme_pvd").reindex(wanted).fillna(False).astype(bool)
    acv = data.column(datasets.ANCT_PROGRAMMES, "programme_acv").reindex(wanted).fillna(False).astype(bool)
    frame = pd.DataFrame({"name": communes.loc[wanted, "name"], "pvd": pvd, "acv": acv,
                          "rep_lon": communes.loc[wanted, "rep_lon"],
                          "rep_lat": communes.loc[wanted, "rep_lat"]})
    frame = frame[(frame["pvd"] | frame["acv"]) & frame["rep_lon"].notna()]
    return frame.rename_axis("code").reset_index()


@st.cache_data(show_spinner=False, max_entries=4)
def _public_establishments(key: str):
    from models import supply

    return supply.public_establishments(data.store())


def public_points(codes: Sequence[str]) -> tuple[pd.DataFrame | None, list[str]]:
    """FINESS establishments of ``codes`` with coordinates, and notes (« non disponible »)."""
    offer = _public_establishments(data.store_key())
    if not offer.available:
        return None, offer.notes
    points = offer.points[is_among(offer.points["code"].astype(str), codes)]
    located = points[points["lon"].notna() & points["lat"].notna()]
    notes = list(offer.notes)
    if len(located) < len(points):
        notes.append(f"{len(points) - len(located)} établissement(s) FINESS sans coordonnées, "
                     "non dessiné(s).")
    return located.reset_index(drop=True), notes


def density_classes() -> pd.Series | None:
    if not data.available(datasets.DENSITY_GRID):
        return None
    return pd.to_numeric(data.column(datasets.DENSITY_GRID, "density_7"), errors="coerce")
