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
from folium.elements import JSCSSMixin

import settings
from diagnostics.palettes import MISSING_COLOUR, PALETTES, class_colours  # noqa: F401 (re-exported)

LEAFLET_VERSION = "1.9.4"
VENDOR = settings.PROJECT_ROOT / "static" / "vendor"
MARKERCLUSTER_DIR = VENDOR / "leaflet.markercluster-1.5.3"



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
    css.append(("markercluster_neutral", _data_uri(NEUTRAL_CLUSTER_CSS.encode(), "text/css")))
    return js, css


# The plugin's default bubbles are green, yellow and orange: green is also a family of the
# layers' legend (« Hébergement ») and the need palette is orange. Groups of sites are drawn in
# neutral white and dark grey instead, so that a colour on the map always means one thing.
NEUTRAL_CLUSTER_CSS = """
.marker-cluster-small, .marker-cluster-medium, .marker-cluster-large {
  background-color: rgba(255, 255, 255, 0.75); }
.marker-cluster-small div, .marker-cluster-medium div, .marker-cluster-large div {
  background-color: #ffffff; border: 2px solid #333333; color: #222222; font-weight: bold;
  box-sizing: border-box; }
.marker-cluster span { line-height: 26px; }
"""


def offline_map(
    bounds: Sequence[float] | None = None,
    basemap: bool = False,
    prefer_canvas: bool = True,
    fit_padding: dict | None = None,
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
    fit_padding
        Options of ``fit_bounds`` (``padding_bottom_right=(w, h)`` keeps room for a legend).
    """
    fmap = folium.Map(
        location=kwargs.pop("location", [46.6, 2.4]),
        zoom_start=kwargs.pop("zoom_start", 6),
        tiles="OpenStreetMap" if basemap else None,
        prefer_canvas=prefer_canvas,
        control_scale=False,  # Leaflet's default scale adds miles: a metric one below
        **kwargs,
    )
    fmap.add_child(_MetricScale())
    # Without a tile layer Leaflet has no maximum zoom, which plugins (MarkerCluster) need.
    fmap.options.setdefault("maxZoom", 18)
    js, css = leaflet_assets()
    fmap.default_js = list(js)
    fmap.default_css = list(css)
    if bounds is not None:
        minx, miny, maxx, maxy = bounds
        fmap.fit_bounds([[miny, minx], [maxy, maxx]], **(fit_padding or {}))
    return fmap


class _MetricScale(MacroElement):
    """Leaflet's scale bar in kilometres and metres only."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, metric: true}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


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
    title: str, labels: Sequence[str], colours: Sequence[str], note: str = "", missing: bool = True,
    horizontal: bool = False,
) -> str:
    """An HTML legend block (no external script) placed bottom-right on the map.

    ``horizontal``: the classes side by side under the title (a slide: the legend then sits
    under the territory instead of beside it, and leaves it the map's width)."""
    if horizontal:
        return _horizontal_legend(title, labels, colours, note, missing)
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


def _horizontal_legend(title: str, labels: Sequence[str], colours: Sequence[str], note: str,
                       missing: bool) -> str:
    cells = [(lbl, c) for lbl, c in zip(labels, colours, strict=True)]
    if missing:
        cells.append(("absente ou secrète", MISSING_COLOUR))
    strip = "".join(
        f'<div style="flex:1 1 0;min-width:0;text-align:center"><span style="background:{c};'
        'width:18px;height:12px;display:block;width:100%;border:1px solid #777"></span>'
        f'<span style="font-size:11px">{_escape(lbl)}</span></div>'
        for lbl, c in cells
    )
    foot = f'<div style="margin-top:4px;color:#444;font-size:11px">{_escape(note)}</div>' if note else ""
    return (
        '<div class="diag-legend" style="'
        "background:rgba(255,255,255,0.92);padding:6px 10px;border:1px solid #999;"
        f'border-radius:4px;font:13px sans-serif;max-width:280px"><b>{_escape(title)}</b>'
        f'<div style="display:flex;gap:3px;margin:2px 0">{strip}</div>{foot}</div>'
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


# -- indexed choropleths: thousands of communes, re-coloured without reloading the map --------
#
# ``choropleth_layer`` embeds one style per feature: fine for a département, slow for all
# France (34,875 communes). An :class:`IndexedGeoJson` embeds the outlines once, with rounded
# coordinates and an index ``i`` per feature, and draws them on a canvas; its colours, tooltip
# values and legend come from a :class:`LayerStyler` (class numbers per feature and a palette).
# In the app the styler is passed to ``st_folium(feature_group_to_add=...)``: a weight change
# sends only the new class numbers, and the map (outlines, view) stays as it is.

def compact_geojson(
    frame: gpd.GeoDataFrame,
    decimals: int = 4,
    properties: dict[str, str] | None = None,
) -> str:
    """A FeatureCollection as text, coordinates rounded, with an index property ``i``.

    Parameters
    ----------
    frame
        WGS84 outlines; row order gives the feature index ``i`` (0, 1, …).
    decimals
        Coordinate decimals: 4 (about 10 m) for a département, 3 (about 100 m) for the coarse
        national outlines.
    properties
        ``{column: short property name}`` copied into each feature (e.g. ``{"name": "n"}``).
    """
    import shapely

    geoms = shapely.transform(frame.geometry.values, lambda c: np.round(c, decimals))
    texts = shapely.to_geojson(geoms)
    props = properties or {}
    columns = {short: frame[column].tolist() for column, short in props.items()}
    parts = []
    for i, text in enumerate(texts):
        values = {"i": i, **{short: _json_value(col[i]) for short, col in columns.items()}}
        geometry = text if text is not None else "null"
        parts.append(
            f'{{"type":"Feature","properties":{json.dumps(values, ensure_ascii=False)},'
            f'"geometry":{geometry}}}'
        )
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def _json_value(value):
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


class IndexedGeoJson(JSCSSMixin, MacroElement):
    """Outlines drawn on a canvas, styled by a :class:`LayerStyler` (or plain outlines).

    Parameters
    ----------
    key
        Name of the layer for its stylers (``"communes"``).
    data
        Text of :func:`compact_geojson` (property ``n`` is the tooltip title when present), or
        None when ``data_url`` is given.
    data_url
        Address of a script written by :func:`geojson_script` that defines the same data: the
        browser caches it, and the map's own script stays small.
    data_key
        Name the script gives the data (default ``key``).
    weight, line_colour, fill_opacity
        Outline width and colour, fill opacity of styled features.
    interactive
        Tooltips, highlight and clicks (False for a background layer).
    lazy
        With ``picture``: load the script at ``data_url`` only when the map is zoomed beyond
        the picture's resolution (or an overlay needs the outlines).
    picture
        ``{"bounds": [[south, west], [north, east]], "width": px, "index_url": ...,
        "names_url": ..., "names_key": ...}``: the styler's colours are shown as a picture
        (``LayerStyler(image=...)``, :mod:`ui.commune_picture`); the tooltips read the
        commune's number in the picture at ``index_url`` and its name and code in the script
        at ``names_url``; the outlines, transparent, fill the communes once zoomed in.
    pane
        A map pane of its own for the outlines, above the others and transparent to the mouse
        (context outlines drawn over the communes).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var D = window.__diag = window.__diag || {layers: {}};
            var opts = {{ this.options|tojson }};
            D.data = D.data || {};
            D.pending = D.pending || {};
            var state = {classes: null, palette: [], tips: null, label: "", highlight: [],
                         image: null};
            var entry = {layer: null, state: state, style: style, picture: null,
                         vectorFill: !opts.picture};
            D.layers[opts.key] = entry;
            if (opts.pane && !map.getPane(opts.pane)) {
                // Outlines drawn over the map but transparent to the mouse (the communes
                // below keep their tooltips and clicks).
                var own = map.createPane(opts.pane);
                own.style.zIndex = 410;
                own.style.pointerEvents = "none";
            }
            var renderer = L.canvas({padding: 0.5, tolerance: 2,
                                     pane: opts.pane || "overlayPane"});
            function style(f) {
                var i = f.properties.i;
                var k = state.classes ? state.classes[i] : null;
                var fill = (k === null || k === undefined) ? null :
                    (k < 0 ? opts.missing : state.palette[k]);
                if (!entry.vectorFill) { fill = null; }  // the picture shows the colours
                var chosen = state.highlight.indexOf(f.properties.c) >= 0;
                return {
                    renderer: renderer,
                    fill: opts.interactive || fill !== null,
                    fillColor: fill || "#ffffff",
                    fillOpacity: fill === null ? 0.0 : opts.fill_opacity,
                    color: chosen ? "#000000" : opts.line_colour,
                    weight: chosen ? opts.weight + 2.5 : opts.weight,
                    interactive: opts.interactive
                };
            }
            function tipHtml(name, code, i) {
                var title = name ? (code ? name + " (" + code + ")" : name) : (code || "");
                var tip = state.tips ? state.tips[i] : null;
                var body = (tip !== null && tip !== undefined) ?
                    "<br>" + state.label + " : <b>" + tip + "</b>" : "";
                return "<b>" + title + "</b>" + body;
            }
            function restyle() {
                if (!entry.layer) { return; }
                entry.layer.eachLayer(function (l) {
                    l.setStyle(style(l.feature));
                    if (state.highlight.indexOf(l.feature.properties.c) >= 0) { l.bringToFront(); }
                });
            }
            function build(data) {
                D.data[opts.data_key] = data;
                var layer = L.geoJson(data, {
                    renderer: renderer,
                    pane: opts.pane || "overlayPane",
                    smoothFactor: opts.smooth,
                    interactive: opts.interactive,
                    style: style
                }).addTo(map);
                if (opts.interactive) {
                    layer.bindTooltip(function (l) {
                        var p = l.feature.properties;
                        return tipHtml(p.n, p.c, p.i);
                    }, {sticky: true, direction: "top", opacity: 0.95});
                    layer.on("mouseover", function (e) {
                        e.propagatedFrom.setStyle({weight: opts.weight + 2, color: "#000000"});
                    });
                    layer.on("mouseout", function (e) {
                        e.propagatedFrom.setStyle(style(e.propagatedFrom.feature));
                    });
                }
                entry.layer = layer;
                var waiting = D.pending[opts.data_key] || [];
                D.pending[opts.data_key] = [];
                for (var w = 0; w < waiting.length; w++) { waiting[w](data); }
                if (entry.picture) { fitFill(); }
                D.vectorsAt = Date.now();
            }
            // Colours, tooltips and highlight from the styler (LayerStyler), then ``done``
            // once they are on the screen.
            function loadTips() {
                var wanted = state.tipsScript;
                if (!wanted) { return; }
                var have = (window.__diag_data || {})[wanted[1]];
                if (have) { state.tips = have; return; }
                var script = document.createElement("script");
                script.src = wanted[0];
                script.onload = function () {
                    if (state.tipsScript === wanted) {
                        state.tips = (window.__diag_data || {})[wanted[1]];
                    }
                };
                document.head.appendChild(script);
            }
            entry.apply = function (shown) {
                var done = function () {
                    shown();
                    if (state.tipsScript) { setTimeout(loadTips, 0); }
                };
                restyle();
                var image = entry.picture && entry.picture._image;
                var same = image && entry.picture._map && entry.picture._url === state.image &&
                    image.complete && image.naturalWidth > 0;
                if (same) {  // the same colours (another chosen commune): nothing to load
                    if (window.requestAnimationFrame) { window.requestAnimationFrame(done); }
                    else { done(); }
                } else if (entry.picture && state.image) {
                    var ready = function () {
                        entry.picture.off("load", ready);
                        done();
                    };
                    entry.picture.on("load", ready);
                    if (!entry.picture._map) {
                        entry.picture.setUrl(state.image);
                        entry.picture.addTo(map);
                    } else { entry.picture.setUrl(state.image); }
                } else if (window.requestAnimationFrame) { window.requestAnimationFrame(done); }
                else { done(); }
            };
            // France by commune: a picture of the classes (ui/commune_picture.py). Its
            // tooltips read a second picture whose pixels hold the commune's number, loaded
            // once the map is shown; the outlines are loaded only when the map is zoomed
            // beyond the picture's resolution, and then fill the communes themselves.
            var hover = {pixels: null, names: null, width: 0, height: 0};
            function pictureWidth() {
                var b = opts.picture.bounds;
                return map.latLngToLayerPoint([b[1][0], b[1][1]]).x
                    - map.latLngToLayerPoint([b[0][0], b[0][1]]).x;
            }
            function loadOutlines() {
                if (entry.layer || entry.loading || !opts.lazy) { return; }
                entry.loading = true;
                var script = document.createElement("script");
                script.src = opts.lazy;
                script.onload = function () {
                    build((window.__diag_data || {})[opts.data_key]);
                };
                document.head.appendChild(script);
            }
            function fitFill() {
                var zoomed = pictureWidth() > opts.picture.width;
                if (zoomed && !entry.layer) { loadOutlines(); }
                var vectors = !!entry.layer && zoomed;
                if (vectors === entry.vectorFill) { return; }
                entry.vectorFill = vectors;
                entry.picture.setOpacity(vectors ? 0.0 : 1.0);
                restyle();
            }
            function loadHover() {
                var pic = opts.picture;
                if (!pic.index_url || !window.createImageBitmap) { return; }
                fetch(pic.index_url).then(function (r) { return r.blob(); })
                    .then(function (blob) {
                        return createImageBitmap(blob, {colorSpaceConversion: "none",
                                                        premultiplyAlpha: "none"});
                    })
                    .then(function (bitmap) {
                        var canvas = document.createElement("canvas");
                        canvas.width = bitmap.width;
                        canvas.height = bitmap.height;
                        var g = canvas.getContext("2d", {willReadFrequently: true});
                        g.drawImage(bitmap, 0, 0);
                        hover.width = bitmap.width;
                        hover.height = bitmap.height;
                        hover.pixels = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
                        D.hoverAt = Date.now();
                    });
                var script = document.createElement("script");
                script.src = pic.names_url;
                script.onload = function () {
                    hover.names = (window.__diag_data || {})[pic.names_key];
                };
                document.head.appendChild(script);
            }
            // The commune under a point of the map, read in the numbers' picture.
            function communeAt(latlng) {
                if (!hover.pixels || !hover.names) { return null; }
                var b = opts.picture.bounds, z = map.getZoom();
                var nw = map.project([b[1][0], b[0][1]], z), se = map.project([b[0][0], b[1][1]], z);
                var p = map.project(latlng, z);
                var x = Math.floor((p.x - nw.x) / (se.x - nw.x) * hover.width);
                var y = Math.floor((p.y - nw.y) / (se.y - nw.y) * hover.height);
                if (x < 0 || y < 0 || x >= hover.width || y >= hover.height) { return null; }
                var o = (y * hover.width + x) * 4, px = hover.pixels;
                var i = ((px[o] << 16) | (px[o + 1] << 8) | px[o + 2]) - 1;
                if (i < 0 || i >= hover.names.length) { return null; }
                return {i: i, n: hover.names[i][0], c: hover.names[i][1], x: x, y: y};
            }
            // The commune under the pointer outlined, as the vector maps do: its edge pixels,
            // found in the numbers' picture around the pointer, drawn as a small picture.
            var marked = {layer: null, i: -1};
            function outline(hit) {
                if (!hit) {
                    if (marked.layer) { map.removeLayer(marked.layer); }
                    marked.layer = null;
                    marked.i = -1;
                    return;
                }
                if (hit.i === marked.i) { return; }
                marked.i = hit.i;
                var w = hover.width, h = hover.height, px = hover.pixels, R = 200;
                var thick = Math.max(1, Math.round(w / Math.max(pictureWidth(), 1)));
                var x0 = Math.max(0, hit.x - R), y0 = Math.max(0, hit.y - R);
                var x1 = Math.min(w, hit.x + R + 1), y1 = Math.min(h, hit.y + R + 1);
                var cw = x1 - x0, ch = y1 - y0, want = hit.i + 1;
                var inside = new Uint8Array(cw * ch);
                for (var y = 0; y < ch; y++) {
                    for (var x = 0; x < cw; x++) {
                        var o = ((y0 + y) * w + x0 + x) * 4;
                        inside[y * cw + x] = ((px[o] << 16) | (px[o + 1] << 8) | px[o + 2]) === want;
                    }
                }
                var canvas = document.createElement("canvas");
                canvas.width = cw;
                canvas.height = ch;
                var g = canvas.getContext("2d");
                var image = g.createImageData(cw, ch);
                for (var yy = 0; yy < ch; yy++) {
                    for (var xx = 0; xx < cw; xx++) {
                        if (!inside[yy * cw + xx]) { continue; }
                        var edge = false;
                        for (var d = 1; d <= thick && !edge; d++) {
                            // (beyond the window's side: unknown, not an edge)
                            edge = (xx >= d && !inside[yy * cw + xx - d]) ||
                                (xx + d < cw && !inside[yy * cw + xx + d]) ||
                                (yy >= d && !inside[(yy - d) * cw + xx]) ||
                                (yy + d < ch && !inside[(yy + d) * cw + xx]);
                        }
                        if (edge) { image.data[(yy * cw + xx) * 4 + 3] = 255; }
                    }
                }
                g.putImageData(image, 0, 0);
                var b = opts.picture.bounds, z = map.getZoom();
                var nw = map.project([b[1][0], b[0][1]], z), se = map.project([b[0][0], b[1][1]], z);
                var sx = (se.x - nw.x) / w, sy = (se.y - nw.y) / h;
                var corners = [map.unproject([nw.x + x0 * sx, nw.y + y1 * sy], z),
                               map.unproject([nw.x + x1 * sx, nw.y + y0 * sy], z)];
                var url = canvas.toDataURL();
                if (marked.layer) {
                    marked.layer.setUrl(url);
                    marked.layer.setBounds(L.latLngBounds(corners));
                } else {
                    marked.layer = L.imageOverlay(url, corners, {
                        pane: "diagPicture", interactive: false, className: "diag-hover"
                    }).addTo(map);
                }
            }
            if (opts.picture) {
                if (!map.getPane("diagPicture")) {
                    var pane = map.createPane("diagPicture");
                    pane.style.zIndex = 350;
                    pane.style.pointerEvents = "none";
                }
                entry.picture = L.imageOverlay(
                    "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==",
                    opts.picture.bounds,
                    {pane: "diagPicture", interactive: false, className: "diag-picture"});
                map.on("zoomend", fitFill);
                D.loaders = D.loaders || {};
                D.loaders[opts.data_key] = loadOutlines;
                D.communeAt = communeAt;
                // streamlit-folium reports clicks on layers (« last_object_clicked »): a click
                // anywhere on the map is passed on by a layer of its own, and the server finds
                // the commune under it.
                var relay = L.layerGroup().addTo(map);
                map.on("click", function (e) {
                    relay.fire("click", {latlng: e.latlng, originalEvent: e.originalEvent});
                });
                var tooltip = L.tooltip({sticky: true, direction: "top", opacity: 0.95});
                var hide = function () {
                    if (tooltip._map) { map.closeTooltip(tooltip); }
                    outline(null);
                };
                map.on("mousemove", function (e) {
                    var hit = entry.layer ? null : communeAt(e.latlng);
                    outline(hit);
                    if (!hit) { hide(); return; }
                    tooltip.setContent(tipHtml(hit.n, hit.c, hit.i));
                    if (tooltip._map) { tooltip.setLatLng(e.latlng); }
                    else { map.openTooltip(tooltip, e.latlng); }
                });
                map.on("mouseout zoomstart movestart", hide);
                D.afterStyled = D.afterStyled || [];
                D.afterStyled.push(loadHover);
                D.afterStyled.push(fitFill);  // a shared link may open the map zoomed in
            }
            {% if this.data %}
            build({{ this.data }});
            {% else %}
            if (!opts.lazy) { build((window.__diag_data || {})[opts.data_key]); }
            {% endif %}
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        key: str,
        data: str | None = None,
        data_url: str | None = None,
        data_key: str | None = None,
        weight: float = 0.4,
        line_colour: str = "#555555",
        fill_opacity: float = 0.8,
        interactive: bool = True,
        smooth: float = 0.5,
        lazy: bool = False,
        picture: dict | None = None,
        pane: str | None = None,
    ) -> None:
        super().__init__()
        if (data is None) == (data_url is None):
            raise ValueError("IndexedGeoJson : donnez soit « data », soit « data_url ».")
        self._name = "IndexedGeoJson"
        self.data = data
        lazy = bool(lazy and data_url)
        self.default_js = ([(f"diag_data_{data_key or key}", data_url)]
                           if data_url and not lazy else [])
        self.options = {
            "key": key,
            "data_key": data_key or key,
            "weight": weight,
            "line_colour": line_colour,
            "fill_opacity": fill_opacity,
            "interactive": interactive,
            "smooth": smooth,
            "missing": MISSING_COLOUR,
            "lazy": data_url if lazy else None,
            "picture": picture,
            "pane": pane,
        }


def geojson_script(data_key: str, data: str) -> str:
    """A script defining ``window.__diag_data[data_key]`` (for :class:`IndexedGeoJson`)."""
    return (
        "window.__diag_data = window.__diag_data || {};\n"
        f"window.__diag_data[{json.dumps(data_key)}] = {data};\n"
    )


class LayerStyler(folium.FeatureGroup):
    """Colours, tooltip values and legend of an :class:`IndexedGeoJson`, plus overlays.

    A feature group (its children are overlays: sites, QPV…) whose script also re-styles the
    indexed layer ``key`` in place. ``classes[i]`` is the palette index of feature ``i``
    (-1: missing value, grey; None: not styled), ``tips[i]`` its formatted value; codes in
    ``highlight`` get a thick outline (the chosen commune). When the styling is done the page
    records ``window.__diag.styledAt`` (a time stamp, for the speed measurements). ``image``:
    address of the picture of the colours, for a layer drawn as a picture (``picture``);
    ``tips_script``: (address, data key) of a script holding ``tips``, loaded after the map is
    shown (``tips`` is then None).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.featureGroup({});
        (function () {
            var D = window.__diag;
            var e = D && D.layers[{{ this.key|tojson }}];
            var legend = {{ this.legend|tojson }};
            if (e) {
                e.state.classes = {{ this.classes|tojson }};
                e.state.palette = {{ this.palette|tojson }};
                e.state.tips = {{ this.tips|tojson }};
                e.state.label = {{ this.label|tojson }};
                e.state.highlight = {{ this.highlight|tojson }};
                e.state.image = {{ this.image|tojson }};
                e.state.tipsScript = {{ this.tips_script|tojson }};
                var drawn = function () {
                    D.styledAt = Date.now();
                    D.firstStyledAt = D.firstStyledAt || D.styledAt;
                    D.styledCount = (D.styledCount || 0) + 1;
                    var next = D.afterStyled || [];
                    D.afterStyled = [];
                    for (var n = 0; n < next.length; n++) { setTimeout(next[n], 0); }
                };
                e.apply(function () {
                    if (window.requestAnimationFrame) { window.requestAnimationFrame(drawn); }
                    else { drawn(); }
                });
            }
            var slots = document.querySelectorAll(".diag-legend-slot");
            for (var s = 0; s < slots.length; s++) {
                slots[s].innerHTML = legend;
                slots[s].style.display = legend ? "block" : "none";
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        key: str,
        classes: Sequence[int | None] | None,
        palette: Sequence[str],
        tips: Sequence[str | None] | None = None,
        label: str = "",
        legend: str = "",
        highlight: Sequence[str] = (),
        name: str = "style",
        image: str | None = None,
        tips_script: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(name=name, control=False)
        # Keep folium's element name: streamlit-folium adds the group to the map by the
        # variable name ``feature_group_<id>`` it expects.
        self._name = "FeatureGroup"
        self.key = key
        self.classes = None if classes is None else [None if c is None else int(c) for c in classes]
        self.palette = list(palette)
        self.tips = None if tips is None else list(tips)
        self.label = label
        self.legend = legend
        self.highlight = list(highlight)
        self.image = image
        self.tips_script = list(tips_script) if tips_script else None


class PointMarkers(MacroElement):
    """Many small markers (HTML icons with a tooltip), optionally clustered, in one script.

    One folium ``Marker`` with its ``DivIcon`` and ``Tooltip`` is three templates rendered in
    Python per point (0.25 s for a département's sites here, before its map could be sent);
    this element renders one template and the browser builds the markers in a loop.

    Parameters
    ----------
    points
        ``(lat, lon, icon_html, tooltip_html)`` per point; the HTML is the caller's (escaped).
    icon_size
        Width and height of the icon in px; anchored at its centre.
    cluster
        Options of ``L.markerClusterGroup`` (the MarkerCluster plugin must be on the map), or
        None for plain markers.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (group) {
            var points = {{ this.points|tojson }};
            var size = {{ this.icon_size|tojson }};
            var cluster = {{ this.cluster|tojson }};
            var target = cluster ? L.markerClusterGroup(cluster) : L.featureGroup();
            var markers = [];
            for (var i = 0; i < points.length; i++) {
                var p = points[i];
                var icon = L.divIcon({html: p[2], className: "empty", iconSize: size,
                                      iconAnchor: [size[0] / 2, size[1] / 2]});
                markers.push(L.marker([p[0], p[1]], {icon: icon})
                    .bindTooltip(p[3], {sticky: true}));
            }
            if (cluster) { target.addLayers(markers); }
            else { for (var j = 0; j < markers.length; j++) { target.addLayer(markers[j]); } }
            target.addTo(group);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, points: Sequence[tuple[float, float, str, str]],
                 icon_size: tuple[int, int], cluster: dict | None = None) -> None:
        super().__init__()
        self._name = "PointMarkers"
        self.points = [[round(float(lat), 6), round(float(lon), 6), icon, tip]
                       for lat, lon, icon, tip in points]
        self.icon_size = [int(icon_size[0]), int(icon_size[1])]
        self.cluster = cluster


class IndexedOverlay(MacroElement):
    """A second, non-interactive drawing of outlines already on the map (by ``data_key``),
    coloured by ``classes`` (palette index per feature, -1 or None: not drawn). Added to a
    :class:`LayerStyler`, it costs one small array, not the outlines again."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (group) {
            var D = window.__diag;
            var data = D && D.data && D.data[{{ this.data_key|tojson }}];
            var classes = {{ this.classes|tojson }};
            var palette = {{ this.palette|tojson }};
            var hatch = null;
            if ({{ this.hatch|tojson }}) {
                // Diagonal hatching (estimated values): a canvas pattern as the fill.
                var tile = document.createElement("canvas");
                tile.width = 7; tile.height = 7;
                var t = tile.getContext("2d");
                t.strokeStyle = "rgba(0,0,0,0.45)"; t.lineWidth = 1.0;
                t.beginPath(); t.moveTo(0, 7); t.lineTo(7, 0); t.stroke();
                hatch = t.createPattern(tile, "repeat");
            }
            function draw() {
                // Its own pane, transparent to the mouse: the communes below keep their
                // tooltips and clicks.
                var map = group._map;
                if (!map.getPane("diagOverlay")) {
                    var pane = map.createPane("diagOverlay");
                    pane.style.zIndex = 450;
                    pane.style.pointerEvents = "none";
                }
                var renderer = L.canvas({padding: 0.5, pane: "diagOverlay"});
                L.geoJson(data, {
                    renderer: renderer,
                    pane: "diagOverlay",
                    interactive: false,
                    filter: function (f) {
                        var k = classes[f.properties.i];
                        return k !== null && k !== undefined && k >= 0;
                    },
                    style: function (f) {
                        var colour = palette[classes[f.properties.i]];
                        return {renderer: renderer, fillColor: hatch || colour,
                                fill: {{ this.opacity }} > 0,
                                fillOpacity: hatch ? 1.0 : {{ this.opacity }}, color: colour,
                                weight: {{ this.weight }}, interactive: false};
                    }
                }).addTo(group);
            }
            function start() {
                if (group._map) { draw(); } else { group.once("add", draw); }
            }
            if (data) { start(); }
            else if (D && D.pending) {  // outlines not loaded yet: asked for, drawn when here
                var key = {{ this.data_key|tojson }};
                (D.pending[key] = D.pending[key] || []).push(function (d) { data = d; start(); });
                if (D.loaders && D.loaders[key]) { D.loaders[key](); }
            }
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, data_key: str, classes: Sequence[int | None], palette: Sequence[str],
                 opacity: float = 0.55, weight: float = 0.0, hatch: bool = False) -> None:
        super().__init__()
        self._name = "IndexedOverlay"
        self.hatch = bool(hatch)
        self.data_key = data_key
        self.classes = [None if c is None else int(c) for c in classes]
        self.palette = list(palette)
        self.opacity = float(opacity)
        self.weight = float(weight)


class Outlines(MacroElement):
    """A few outlines (GeoJSON text) drawn as thick lines over the map, not interactive: the
    chosen commune on a map whose colours are a picture."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (group) {
            function draw() {
                var map = group._map;
                var pane = map.getPane("diagContext") ? "diagContext" : "overlayPane";
                L.geoJson({{ this.data }}, {
                    pane: pane, interactive: false,
                    renderer: L.canvas({padding: 0.5, pane: pane}),
                    style: function () {
                        return {color: {{ this.colour|tojson }}, weight: {{ this.weight }},
                                fill: false, interactive: false};
                    }
                }).addTo(group);
            }
            if (group._map) { draw(); } else { group.once("add", draw); }
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, data: str, colour: str = "#000000", weight: float = 3.0) -> None:
        super().__init__()
        self._name = "Outlines"
        self.data = data
        self.colour = colour
        self.weight = float(weight)


def add_legend_slot(fmap: folium.Map, position: str = "bottomright") -> None:
    """An empty legend control that :class:`LayerStyler` fills (and empties)."""
    fmap.add_child(_HtmlControl('<div class="diag-legend-slot" style="display:none"></div>', position))


def class_indices(values: pd.Series, breaks: Sequence[float]) -> np.ndarray:
    """Class number of each value given class upper bounds (-1 for a missing value)."""
    numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    edges = np.asarray(breaks, dtype=float)
    idx = np.clip(np.searchsorted(edges, numeric, side="left"), 0, max(len(edges) - 1, 0))
    return np.where(np.isnan(numeric), -1, idx).astype(int)


def spread_palette(palette: str | Sequence[str], n: int) -> list[str]:
    """``n`` colours spread over a palette (all of it when ``n`` is its length)."""
    colours = PALETTES[palette] if isinstance(palette, str) else list(palette)
    if n == len(colours):
        return list(colours)
    if n > len(colours):
        return _interpolated(colours, n)
    positions = np.linspace(0, len(colours) - 1, n).round().astype(int)
    return [colours[p] for p in positions]


def _interpolated(colours: Sequence[str], n: int) -> list[str]:
    rgb = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in colours], dtype=float)
    positions = np.linspace(0, len(colours) - 1, n)
    out = []
    for p in positions:
        lo = int(np.floor(p))
        hi = min(lo + 1, len(colours) - 1)
        mix = rgb[lo] + (rgb[hi] - rgb[lo]) * (p - lo)
        out.append("#" + "".join(f"{round(v):02x}" for v in mix))
    return out
