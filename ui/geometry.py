"""Display outlines of a map view, served to the browser as cached static scripts.

A view is France by département, by EPCI or by commune (overseas départements in insets), or
the communes of a territory. Its outlines are written once as a small JavaScript file under
``static/generated/`` (Streamlit's static serving, ``/app/static/...``), named by a hash of its
content: the browser keeps it in its cache, the map's own script stays small, and re-colouring
the map never sends the outlines again. Without static serving, the outlines are inlined.

Clicks come back from the map as a point; :meth:`ViewGeometry.code_at` finds the feature under
it in the same outlines that were drawn.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
import streamlit as st

import settings
from diagnostics import webmap
from geodata import files, insets
from geodata.codes import is_among
from ui import data

STATIC_DIR = settings.PROJECT_ROOT / "static"
GENERATED = STATIC_DIR / "generated"
FINE_MAX_COMMUNES = 400  # above, the medium outlines
KEEP_GENERATED = 300

NATIONAL_LEVELS = {
    "departements": "Départements",
    "epci": "EPCI",
    "communes": "Communes",
}


@dataclass
class ViewGeometry:
    """Outlines of one map view, in drawing order (feature ``i`` is row ``i``)."""

    key: str  # unique per content
    level: str  # "departements", "epci" or "communes"
    frame: gpd.GeoDataFrame  # code, name, geometry (displayed: insets moved)
    text: str  # compact GeoJSON
    bounds: tuple[float, float, float, float]
    national: bool
    context: gpd.GeoDataFrame | None = None  # outlines around a territory (not interactive)
    context_text: str | None = None

    @property
    def as_picture(self) -> bool:
        """France by commune: the only view whose colours are drawn as a picture
        (:mod:`ui.commune_picture`); the others have a few thousand features at most."""
        return self.national and self.level == "communes"

    @property
    def codes(self) -> pd.Index:
        return pd.Index(self.frame["code"])

    def code_at(self, lon: float, lat: float) -> str | None:
        """Code of the feature under a clicked point (the nearest within 1 km otherwise)."""
        point = shapely.Point(lon, lat)
        hits = self.frame.sindex.query(point, predicate="intersects")
        if len(hits):
            return str(self.frame["code"].iat[int(hits[0])])
        near = self.frame.sindex.nearest(point, max_distance=0.01, return_all=False)
        if near.size:
            return str(self.frame["code"].iat[int(near[1][0])])
        return None


@st.cache_resource(show_spinner="Préparation des contours…", max_entries=48)
def national_view(level: str, store_key: str = "") -> ViewGeometry:
    """France by ``level`` (``departements``, ``epci``, ``communes``), overseas in insets."""
    if level not in NATIONAL_LEVELS:
        raise ValueError(f"Échelle inconnue : « {level} ».")
    layer = data.layer(f"{level}_grossier")
    frame = layer[["code", "name", "geometry"] + (["dep_code"] if "dep_code" in layer else [])].copy()
    if level == "departements":
        frame["dep_code"] = frame["code"]
    frame = insets.with_overseas_insets(frame, "dep_code").reset_index(drop=True)
    decimals = 3 if level == "communes" else 4
    text = webmap.compact_geojson(frame, decimals, {"name": "n", "code": "c"})
    boxes = insets.inset_frames(frame)
    context = boxes
    if level == "communes":
        # Communes are drawn without borders at this zoom: the départements' outlines, drawn
        # over them, make the map read (ui.mapview.base_map).
        deps = data.layer("departements_grossier")[["code", "geometry"]].copy()
        deps["dep_code"] = deps["code"]
        deps = insets.with_overseas_insets(deps, "dep_code")[["geometry"]]
        context = pd.concat([boxes[["geometry"]], deps], ignore_index=True) if len(boxes) else deps
        context = gpd.GeoDataFrame(context, geometry="geometry", crs=frame.crs)
    context_text = webmap.compact_geojson(context, 3, {}) if len(context) else None
    return ViewGeometry(
        key=_digest(text), level=level, frame=frame[["code", "name", "geometry"]], text=text,
        bounds=tuple(frame.total_bounds), national=True, context=context, context_text=context_text,
    )


@st.cache_resource(show_spinner="Préparation des contours…", max_entries=48)
def territory_view(codes: tuple[str, ...], store_key: str = "") -> ViewGeometry:
    """The communes ``codes`` (fine outlines up to 400 communes), with the départements around."""
    level = "communes_fin" if len(codes) <= FINE_MAX_COMMUNES else "communes_moyen"
    layer = data.layer(level)
    frame = layer[is_among(layer["code"], codes)][["code", "name", "geometry"]]
    frame = frame.reset_index(drop=True)
    text = webmap.compact_geojson(frame, 4, {"name": "n", "code": "c"})
    bounds = tuple(frame.total_bounds) if len(frame) else (-5.0, 41.0, 10.0, 51.5)
    deps = data.layer("departements_moyen")[["code", "name", "geometry"]]
    minx, miny, maxx, maxy = bounds
    pad_x, pad_y = (maxx - minx) * 0.3 + 0.1, (maxy - miny) * 0.3 + 0.1
    around = deps.cx[minx - pad_x: maxx + pad_x, miny - pad_y: maxy + pad_y].reset_index(drop=True)
    context_text = webmap.compact_geojson(around, 3, {"name": "n"}) if len(around) else None
    return ViewGeometry(
        key=_digest(text), level="communes", frame=frame, text=text, bounds=bounds,
        national=False, context=around, context_text=context_text,
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def static_serving() -> bool:
    try:
        return bool(st.get_option("server.enableStaticServing"))
    except Exception:  # outside a Streamlit server (tests, scripts)
        return False


def static_url(name: str) -> str:
    """Address of ``static/<name>`` as served by Streamlit (base path included)."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}" if base else ""
    return f"{prefix}/app/static/{name}"


@st.cache_resource(show_spinner=False, max_entries=256)
def script_file(name: str, _texts: dict[str, str]) -> str:
    """Write the outlines ``_texts`` (``{data key: text}``) as ``static/generated/<name>.js``;
    its address. ``name`` names the content (a hash of it), so the texts are not hashed again.
    """
    GENERATED.mkdir(parents=True, exist_ok=True)
    ignore = GENERATED / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Fichiers produits par l'application (contours en cache).\n*\n")
    file_name = f"{name}.js"
    target = GENERATED / file_name
    if not target.exists():
        _write_atomic(target, "".join(webmap.geojson_script(k, t) for k, t in _texts.items()))
        _prune()
    return static_url(f"generated/{file_name}")


def _write_atomic(path: Path, text: str) -> None:
    files.atomic_write_text(path, text)


def _prune() -> None:
    files = sorted(GENERATED.glob("*.js"), key=lambda p: p.stat().st_mtime)  # not vendor/
    for old in files[:-KEEP_GENERATED]:
        old.unlink(missing_ok=True)


def map_assets() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(default_js, default_css) of the app's maps: Leaflet and MarkerCluster inlined as data
    URIs (measured faster here than separate requests to the static files)."""
    js, css = webmap.leaflet_assets()
    cluster_js, cluster_css = webmap.markercluster_assets()
    return [*js, *cluster_js], [*css, *cluster_css]


def view_script(view: ViewGeometry) -> str:
    """Address of the static script holding the view's outlines (written once). A view drawn
    as a picture (France by commune) has its context outlines in a script of their own,
    :func:`context_script`, loaded with the map; its communes' script comes after the picture.
    """
    if view.as_picture:
        context_script(view)
        return script_file(f"view_{view.key}", {f"geo_{view.key}": view.text})
    texts = {f"ctx_{view.key}": view.context_text, f"geo_{view.key}": view.text}
    return script_file(f"view_{view.key}", {k: t for k, t in texts.items() if t})


def context_script(view: ViewGeometry) -> str | None:
    """Address of the static script of the view's context outlines alone (None without)."""
    if not view.context_text:
        return None
    return script_file(f"ctx_{view.key}", {f"ctx_{view.key}": view.context_text})


def view_layers(view: ViewGeometry, main: dict, context: dict,
                picture: dict | None = None) -> list[webmap.IndexedGeoJson]:
    """The view's layers (context outlines, then the interactive ones), reading their outlines
    from one cached static script when Streamlit serves static files, else inlined.

    ``picture`` (the ``picture`` option of :class:`~diagnostics.webmap.IndexedGeoJson`): the
    view's colours are shown as a picture (France by commune, :mod:`ui.commune_picture`); the
    context outlines (départements) are drawn over it at once, the communes' outlines are
    loaded once the picture is on the screen."""
    if picture is not None:
        return _picture_layers(view, main, context, picture)
    parts = [("context", f"ctx_{view.key}", view.context_text, context),
             ("main", f"geo_{view.key}", view.text, main)]
    parts = [p for p in parts if p[2]]
    if static_serving():
        url = view_script(view)
        return [webmap.IndexedGeoJson(key, data_url=url, data_key=data_key, **options)
                for key, data_key, _text, options in parts]
    return [webmap.IndexedGeoJson(key, data=text, data_key=data_key, **options)
            for key, data_key, text, options in parts]


def _picture_layers(view: ViewGeometry, main: dict, context: dict,
                    picture: dict) -> list[webmap.IndexedGeoJson]:
    layers = []
    static = static_serving()
    if view.context_text:
        source = ({"data_url": context_script(view)} if static else {"data": view.context_text})
        layers.append(webmap.IndexedGeoJson("context", data_key=f"ctx_{view.key}",
                                            pane="diagContext", **source, **context))
    source = {"data_url": view_script(view), "lazy": True} if static else {"data": view.text}
    layers.append(webmap.IndexedGeoJson("main", data_key=f"geo_{view.key}", picture=picture,
                                        **source, **main))
    return layers
