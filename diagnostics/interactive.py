"""The interactive map of the HTML report: one Leaflet map, every report map as a choice.

The commune outlines are sent once (one GeoJSON); each feature carries the colour and the
tooltip of every map, and a small control switches between them (restyling the same layer).
Leaflet is inlined by :func:`diagnostics.webmap.offline_map`: the page makes no external
request. Every text shown in a tooltip is HTML-escaped here (Leaflet tooltips are HTML), and
all data reach the script through Jinja's ``tojson`` (which escapes ``<``, ``>`` and ``&``), so
a site called ``<script>…</script>`` is displayed as text.
"""

from __future__ import annotations

import html
import json

import geopandas as gpd
import pandas as pd
import shapely
from branca.element import MacroElement, Template

from diagnostics import webmap
from diagnostics.document import Diagnostic, MapSpec

# Coordinates rounded to ~10 m: plenty for a commune map, and a much lighter page.
PRECISION_DEG = 0.0001


class _SwitchableChoropleth(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var data = {{ this.geojson|tojson }};
            var layers = {{ this.layers|tojson }};
            var points = {{ this.points|tojson }};
            var current = layers.length ? layers[0].key : null;
            function style(feature) {
                var colour = current ? feature.properties.c[current] : null;
                return {fillColor: colour || {{ this.missing|tojson }}, color: "#555555",
                        weight: 0.4, fillOpacity: 0.8};
            }
            var communes = L.geoJson(data, {
                style: style,
                onEachFeature: function (feature, layer) {
                    layer.bindTooltip(function () {
                        return (current && feature.properties.t[current]) || feature.properties.n;
                    }, {sticky: true});
                }
            }).addTo(map);
            // Estimated values: diagonal hatching over the colours, in a pane transparent to
            // the mouse (the communes below keep their tooltips).
            var tile = document.createElement("canvas");
            tile.width = 7; tile.height = 7;
            var t = tile.getContext("2d");
            t.strokeStyle = "rgba(0,0,0,0.45)"; t.lineWidth = 1.0;
            t.beginPath(); t.moveTo(0, 7); t.lineTo(7, 0); t.stroke();
            var hatch = t.createPattern(tile, "repeat");
            var pane = map.createPane("diagHatch");
            pane.style.zIndex = 450;
            pane.style.pointerEvents = "none";
            var renderer = L.canvas({padding: 0.5, pane: "diagHatch"});
            function hatchStyle(feature) {
                var on = !!(current && feature.properties.h && feature.properties.h[current]);
                return {renderer: renderer, fillColor: hatch, fill: on, fillOpacity: on ? 1.0 : 0.0,
                        stroke: false, weight: 0, interactive: false};
            }
            var hatched = L.geoJson(data, {renderer: renderer, pane: "diagHatch",
                                           interactive: false, style: hatchStyle}).addTo(map);
            var sites = L.featureGroup();
            points.forEach(function (p) {
                L.circleMarker([p.lat, p.lon], {radius: 5, color: "#000000", weight: 1,
                    fillColor: p.colour, fillOpacity: 0.9}).bindTooltip(p.label).addTo(sites);
            });
            if (points.length) { sites.addTo(map); }
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                this._div = L.DomUtil.create("div", "diag-legend-box");
                L.DomEvent.disableClickPropagation(this._div);
                return this._div;
            };
            legend.addTo(map);
            function showLegend() {
                var layer = layers.filter(function (l) { return l.key === current; })[0];
                legend._div.innerHTML = layer ? layer.legend : "";
            }
            var chooser = L.control({position: "topright"});
            chooser.onAdd = function () {
                var div = L.DomUtil.create("div", "diag-chooser");
                div.style.background = "rgba(255,255,255,0.92)";
                div.style.padding = "6px 8px";
                div.style.border = "1px solid #999";
                div.style.font = "13px sans-serif";
                layers.forEach(function (l, i) {
                    var label = document.createElement("label");
                    label.style.display = "block";
                    var input = document.createElement("input");
                    input.type = "radio";
                    input.name = "diag-layer";
                    input.value = l.key;
                    input.checked = i === 0;
                    input.addEventListener("change", function () {
                        current = l.key;
                        communes.setStyle(style);
                        hatched.setStyle(hatchStyle);
                        showLegend();
                    });
                    label.appendChild(input);
                    label.appendChild(document.createTextNode(" " + l.title));
                    div.appendChild(label);
                });
                if (points.length) {
                    var label = document.createElement("label");
                    label.style.display = "block";
                    var box = document.createElement("input");
                    box.type = "checkbox";
                    box.checked = true;
                    box.addEventListener("change", function () {
                        if (box.checked) { sites.addTo(map); } else { map.removeLayer(sites); }
                    });
                    label.appendChild(box);
                    label.appendChild(document.createTextNode(" " + {{ this.points_title|tojson }}));
                    div.appendChild(label);
                }
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            chooser.addTo(map);
            showLegend();
        })();
        {% endmacro %}
        """
    )

    def __init__(self, geojson: dict, layers: list[dict], points: list[dict], points_title: str) -> None:
        super().__init__()
        self._name = "SwitchableChoropleth"
        self.geojson = geojson
        self.layers = layers
        self.points = points
        self.points_title = points_title
        self.missing = webmap.MISSING_COLOUR


def _unique_maps(diag: Diagnostic) -> list[MapSpec]:
    seen: set[str] = set()
    out = []
    for spec in diag.maps():
        key = spec.key.removeprefix("synthese_")
        if key in seen:
            continue
        seen.add(key)
        out.append(spec)
    return out


def features(geo: gpd.GeoDataFrame, maps: list[MapSpec]) -> dict:
    """One GeoJSON FeatureCollection: per feature the name, and per map colour and tooltip."""
    geometry = shapely.set_precision(geo.geometry.values, PRECISION_DEG, mode="pointwise")
    frame = gpd.GeoDataFrame({"code": geo["code"].to_numpy()}, geometry=geometry, crs=geo.crs)
    names = dict(zip(geo["code"], geo["name"], strict=True))
    collection = json.loads(frame.to_json(drop_id=True))
    hatched = {spec.key.removeprefix("synthese_"): set(spec.hatched_codes()) for spec in maps}
    for feature in collection["features"]:
        code = feature["properties"]["code"]
        props = {"n": html.escape(f"{names.get(code, '')} ({code})"), "c": {}, "t": {}, "h": {}}
        for spec in maps:
            key = spec.key.removeprefix("synthese_")
            colour = spec.colours.get(code) if isinstance(spec.colours, pd.Series) else None
            if isinstance(colour, str):
                props["c"][key] = colour
            if spec.tooltip is not None and code in spec.tooltip.index:
                props["t"][key] = html.escape(str(spec.tooltip[code]))
            if code in hatched[key]:
                props["h"][key] = 1
        feature["properties"] = props
    return collection


def points_of(maps: list[MapSpec]) -> tuple[list[dict], str]:
    for spec in maps:
        if spec.points is not None and len(spec.points):
            frame = spec.points.dropna(subset=["lon", "lat"])
            return [
                {"lon": float(r["lon"]), "lat": float(r["lat"]), "colour": str(r.get("colour", "#333")),
                 "label": html.escape(str(r.get("label", "")))}
                for _, r in frame.iterrows()
            ], "Sites des adhérents (publics)"
    return [], ""


HATCH_SWATCH = ("display:inline-block;width:18px;height:12px;margin-right:6px;vertical-align:middle;"
                "border:1px solid #777;background:repeating-linear-gradient(135deg,#fff 0 3px,"
                "#555 3px 4px)")


def _with_hatch_line(legend: str, spec: MapSpec) -> str:
    """The legend with a line for the hatched (estimated) communes, before its source line."""
    codes = spec.hatched_codes()
    if not codes:
        return legend
    line = (f'<div><span style="{HATCH_SWATCH}"></span>'
            f"{html.escape(spec.hatched_label)} ({len(codes)} communes)</div>")
    cut = legend.rfind('<div style="margin-top:4px')
    cut = cut if cut > 0 else len(legend) - len("</div>")
    return legend[:cut] + line + legend[cut:]


def interactive_map_html(diag: Diagnostic) -> str:
    """A self-contained HTML page holding the report's interactive map."""
    maps = _unique_maps(diag)
    geo = diag.geo[diag.geo.geometry.notna()]
    fmap = webmap.offline_map(bounds=tuple(geo.total_bounds))
    layers = [
        {
            "key": spec.key.removeprefix("synthese_"),
            "title": spec.title,
            "legend": _with_hatch_line(webmap.legend_html(
                spec.legend_title, [label for label, _ in spec.legend], [c for _, c in spec.legend],
                note=spec.source, missing=bool(spec.missing_label),
            ), spec),
        }
        for spec in maps
    ]
    points, title = points_of(maps)
    fmap.add_child(_SwitchableChoropleth(features(geo, maps), layers, points, title))
    return fmap.get_root().render()
