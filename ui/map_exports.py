"""Exports of the map on screen: its table (CSV, French conventions) and its image (PNG).

The table holds the features in view (communes of the territory, or départements / EPCI of
the map of France) with the displayed indicator and its class, under a header naming the
indicator, its source and vintage, the territory, the weighting and the date. The image is a
static rendering (matplotlib, as in the reports: ``diagnostics.static_maps``) with the same
classes and colours, its legend beside the map, a metric scale bar and the source.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import geopandas as gpd
import numpy as np
import pandas as pd
import streamlit as st

from diagnostics.document import MapSpec
from diagnostics.exports import csv_bytes
from diagnostics.webmap import MISSING_COLOUR
from ui import classify
from ui.geometry import ViewGeometry
from ui.variables import COUNT_UNITS, Variable

LEVEL_LABELS = {"communes": "Commune", "departements": "Département", "epci": "EPCI"}


def slug(text: str) -> str:
    """« Nord (59) » → « nord_59 » (file names)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_") or "carte"


def map_table(view: ViewGeometry, variable: Variable, values: pd.Series,
              styled: classify.Styled, level: str) -> pd.DataFrame:
    """One row per feature of the map: code, name, value, class (French column names)."""
    codes = view.codes
    numeric = variable.kind == "numeric"
    shown = pd.Series(values.to_numpy(), index=codes)
    if numeric:
        shown = pd.to_numeric(shown, errors="coerce").round(variable.decimals)
        if variable.unit in COUNT_UNITS or variable.decimals == 0:
            shown = shown.round(0).astype("Int64")
    labels = list(styled.labels)
    classes = [labels[k] if 0 <= k < len(labels) else "donnée absente ou secrète"
               for k in np.asarray(styled.classes, dtype=int)]
    title = LEVEL_LABELS.get(level, "Unité")
    return pd.DataFrame({
        "Code": list(codes.astype(str)),
        title: view.frame["name"].reset_index(drop=True),
        variable.legend_title(): shown.reset_index(drop=True),
        "Classe sur la carte": classes,
    })


def header_lines(variable: Variable, territory_name: str, weighting: str) -> list[tuple[str, str]]:
    lines = [("Indicateur", variable.legend_title()),
             ("Source", variable.citation.rstrip(".")),
             ("Territoire", territory_name)]
    if weighting:
        lines.append(("Pondération", weighting))
    lines.append(("Date de l'export", dt.date.today().strftime("%d/%m/%Y")))
    return lines


def table_csv(table: pd.DataFrame, header: list[tuple[str, str]]) -> bytes:
    """The table under its header lines (``;``, decimal comma, UTF-8 with BOM)."""
    head = "".join(f"{name};{value}\r\n" for name, value in header) + "\r\n"
    body = csv_bytes(table).decode("utf-8-sig")
    return (head + body).encode("utf-8-sig")


def map_png(view: ViewGeometry, variable: Variable, styled: classify.Styled, title: str,
            note: str) -> bytes:
    """A static image of the map with its legend, scale bar and source."""
    from diagnostics.static_maps import map_base, render_map

    geo = gpd.GeoDataFrame(view.frame[["code", "geometry"]], geometry="geometry", crs="EPSG:4326")
    context = view.context if view.context is not None and not view.national else \
        gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    classes = np.asarray(styled.classes, dtype=int)
    colours = [styled.palette[k] if 0 <= k < len(styled.palette) else MISSING_COLOUR for k in classes]
    spec = MapSpec(
        key="carte", title=title, legend_title=variable.legend_title(),
        colours=pd.Series(colours, index=view.codes.astype(str)),
        legend=list(zip(styled.labels, styled.palette, strict=True)),
        source=note, missing_label="donnée absente ou secrète" if styled.missing else "",
    )
    base = map_base(geo, context[["geometry"]] if len(context) else context)
    return with_title_and_source(render_map(spec, base), title, note)


def with_title_and_source(png: bytes, title: str, note: str) -> bytes:
    """The map image with its title above and its source below (a file read on its own)."""
    import io
    import textwrap

    from matplotlib.figure import Figure
    from matplotlib.image import imread

    image = imread(io.BytesIO(png))
    height, width = image.shape[:2]
    dpi = 150
    note_lines = textwrap.wrap(f"{note} Exporté le {dt.date.today():%d/%m/%Y}.", 120)
    top, bottom = 60, 26 * len(note_lines) + 20
    fig = Figure(figsize=(width / dpi, (height + top + bottom) / dpi), dpi=dpi)
    total = height + top + bottom
    ax = fig.add_axes((0, bottom / total, 1, height / total))
    ax.imshow(image)
    ax.set_axis_off()
    fig.text(0.01, 1 - 12 / total, textwrap.shorten(title, 110), va="top", fontsize=11,
             fontweight="bold")
    fig.text(0.01, (bottom - 8) / total, "\n".join(note_lines), va="top", fontsize=7,
             color="#333333")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def map_exports(view: ViewGeometry, variable: Variable, values: pd.Series, styled: classify.Styled,
                legend_title: str, territory_name: str, weighting: str, level: str) -> None:
    """Download buttons: the map's table (CSV) and, on request, its image (PNG)."""
    table = map_table(view, variable, values, styled, level)
    stem = f"carte_{slug(territory_name)}_{slug(variable.label)[:40]}"
    cols = st.columns(2)
    cols[0].download_button(
        "Tableau de la carte (CSV)", table_csv(table, header_lines(variable, territory_name, weighting)),
        file_name=f"{stem}.csv", mime="text/csv", key="carte_csv", icon=":material/table:",
        help="Les unités de la carte avec la valeur affichée et sa classe ; en tête : indicateur, "
             "source et millésime, territoire, date. Séparateur « ; », virgule décimale.",
        width="stretch",
    )
    key = ("carte_png", view.key, variable.id, tuple(styled.labels),
           tuple(np.asarray(styled.classes).tolist()))
    ready = st.session_state.get("_carte_png")
    if ready is not None and ready[0] == key:
        cols[1].download_button("Image de la carte (PNG)", ready[1], file_name=f"{stem}.png",
                                mime="image/png", key="carte_png_dl", icon=":material/image:",
                                width="stretch")
    elif cols[1].button("Préparer l'image (PNG)", key="carte_png_make", icon=":material/image:",
                        width="stretch", help="Carte fixe avec sa légende, son échelle et sa source."):
        with st.spinner("Dessin de la carte…"):
            note = f"{variable.legend_source()} {weighting}".strip()
            png = map_png(view, variable, styled, f"{legend_title} — {territory_name}", note)
        st.session_state["_carte_png"] = (key, png)
        st.rerun()
