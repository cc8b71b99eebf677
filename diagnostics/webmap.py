"""Interactive maps that work offline (app and HTML reports).

folium links Leaflet, jQuery and Bootstrap from CDNs: offline, a folium page is blank and
``st_folium`` silently never draws. Every map here is built with :func:`offline_map`, which replaces
those links on the map *instance* with Leaflet 1.9.4 inlined as data URIs (from the PyPI package
``django-js-lib-leaflet``, no Django needed). Plugins we use (MarkerCluster) are vendored under
``static/vendor``. No basemap by default: commune and département outlines are enough, and an
online basemap can be added when the network is there.

The choropleth is a styled ``folium.GeoJson`` with an HTML legend (a branca colour map would pull
d3 from a CDN).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import MacroElement, Template

import settings

LEAFLET_VERSION = "1.9.4"
VENDOR = settings.PROJECT_ROOT / "static" / "vendor"
MARKERCLUSTER_DIR = VENDOR / "leaflet.markercluster-1.5.3"

# Colour-blind-safe sequential palettes (ColorBrewer), light to dark.
PALETTES: dict[str, list[str]] = {
    "besoin": ["#fff5eb", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"],  # Oranges
    "offre": ["#f7fbff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"],  # Blues
    "neutre": ["#f7fcf5", "#c7e9c0", "#a1d99b", "#74c476", "#31a354", "#006d2c"],  # Greens
    "ecart": ["#2166ac", "#67a9cf", "#d1e5f0", "#fddbc7", "#ef8a62", "#b2182b"],  # RdBu, diverging
}
MISSING_COLOUR = "#d9d9d9"


@cache
def _leaflet_file(name: str) -> bytes:
    package = resources.files("js_lib_leaflet") / "static" / "js_lib_leaflet" / name
    return package.read_bytes()


def _data_uri(content: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"


@cache
def leaflet_assets() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(default_js, default_css) pointing to inlined local Leaflet files."""
    js = [("leaflet", _data_uri(_leaflet_file("leaflet.js"), "text/javascript"))]
    css = [("leaflet_css", _data_uri(_leaflet_file("leaflet.css"), "text/css"))]
    return js, css


@cache
def markercluster_assets() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    js = [(
        "markercluster",
        _data_uri((MARKERCLUSTER_DIR / "leaflet.markercluster.js").read_bytes(), "text/javascript"),
    )]
    css = [
        (name, _data_uri((MARKERCLUSTER_DIR / f"{name}.css").read_bytes(), "text/css"))
        for name in ("MarkerCluster", "MarkerCluster.Default")
    ]
    return js, css


def offline_map(
    bounds: Sequence[float] | None = None,
    basemap: bool = False,
    prefer_canvas: bool = True,
    **kwargs,
) -> folium.Map:
    """A folium map whose scripts are all local.

    Parameters
    ----------
    bounds
        ``(minx, miny, maxx, maxy)`` in WGS84 to fit the view.
    basemap
        Add the OpenStreetMap tiles (only useful when the network is there).
    prefer_canvas
        Draw vectors on a canvas: much faster than SVG for thousands of communes.
    """
    fmap = folium.Map(
        location=kwargs.pop("location", [46.6, 2.4]),
        zoom_start=kwargs.pop("zoom_start", 6),
        tiles="OpenStreetMap" if basemap else None,
        prefer_canvas=prefer_canvas,
        control_scale=True,
        **kwargs,
    )
    js, css = leaflet_assets()
    fmap.default_js = list(js)
    fmap.default_css = list(css)
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    return fmap


def class_colours(values: pd.Series, breaks: Sequence[float], palette: str) -> pd.Series:
    """Colour of each value given class upper bounds (missing values in grey)."""
    colours = PALETTES[palette]
    edges = np.asarray(breaks, dtype=float)
    numeric = pd.to_numeric(values, errors="coerce")
    idx = np.searchsorted(edges, numeric.to_numpy(dtype=float, na_value=np.nan), side="left")
    idx = np.clip(idx, 0, len(colours) - 1)
    if len(edges) < len(colours):
        # Spread fewer classes over the palette's range.
        positions = np.linspace(0, len(colours) - 1, len(edges)).round().astype(int)
        chosen = [colours[p] for p in positions]
        idx = np.clip(idx, 0, len(chosen) - 1)
        out = pd.Series([chosen[i] for i in idx], index=values.index)
    else:
        out = pd.Series([colours[i] for i in idx], index=values.index)
    return out.where(numeric.notna(), MISSING_COLOUR)


def choropleth_layer(
    frame: gpd.GeoDataFrame,
    value_column: str | None,
    colours: pd.Series | None,
    tooltip_fields: list[str],
    tooltip_aliases: list[str],
    name: str = "communes",
    weight: float = 0.4,
    line_colour: str = "#555555",
    fill_opacity: float = 0.8,
) -> folium.GeoJson:
    """A GeoJson layer whose fill colour comes from a precomputed ``colours`` column."""
    columns = list(dict.fromkeys([*tooltip_fields, *([value_column] if value_column else [])]))
    data = frame[[*columns, "geometry"]].copy()
    data["_fill"] = colours.values if colours is not None else "#ffffff"
    geojson = json.loads(data.to_json(drop_id=True))

    def style(feature):
        return {
            "fillColor": feature["properties"]["_fill"],
            "color": line_colour,
            "weight": weight,
            "fillOpacity": fill_opacity if colours is not None else 0.0,
        }

    return folium.GeoJson(
        geojson,
        name=name,
        style_function=style,
        highlight_function=lambda _f: {"weight": 2.5, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=tooltip_fields, aliases=tooltip_aliases, sticky=False),
        smooth_factor=0.5,
    )


def legend_html(
    title: str, labels: Sequence[str], colours: Sequence[str], note: str = "", missing: bool = True
) -> str:
    """An HTML legend block (no external script) placed bottom-right on the map."""
    rows = "".join(
        f'<div><span style="background:{c};width:18px;height:12px;display:inline-block;'
        f'border:1px solid #777;margin-right:6px"></span>{_escape(lbl)}</div>'
        for lbl, c in zip(labels, colours, strict=True)
    )
    if missing:
        rows += (
            f'<div><span style="background:{MISSING_COLOUR};width:18px;height:12px;'
            'display:inline-block;border:1px solid #777;margin-right:6px"></span>'
            "donnée absente ou secrète</div>"
        )
    foot = f'<div style="margin-top:4px;color:#444;font-size:11px">{_escape(note)}</div>' if note else ""
    return (
        '<div class="diag-legend" style="'
        "background:rgba(255,255,255,0.92);padding:8px 10px;border:1px solid #999;"
        f'border-radius:4px;font:13px sans-serif;max-width:280px"><b>{_escape(title)}</b>{rows}{foot}</div>'
    )


class _HtmlControl(MacroElement):
    """A Leaflet control holding static HTML (legend, title): part of the map script, so it
    shows inside ``st_folium`` as well as in a saved page."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create('div', 'diag-control');
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, html: str, position: str = "bottomright") -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.html = html
        self.position = position


def add_legend(fmap: folium.Map, html: str, position: str = "bottomright") -> None:
    """Attach an HTML legend to the map as a Leaflet control."""
    fmap.add_child(_HtmlControl(html, position))


def _escape(text: str) -> str:
    import html

    return html.escape(str(text))


def write_standalone_html(fmap: folium.Map, path: Path) -> Path:
    """Save a map as one self-contained HTML file (no external request)."""
    fmap.save(str(path))
    return path
