"""Links that rebuild the whole view: every setting a page shows is in its address.

A view is the territory, the chosen commune, the map's indicator, classes, scale and layers,
the weighting of the need index and the map's zoom. :func:`restore` reads them from the address
once per session (a shared link opens on the same view); :func:`sync` writes them back after
every run, whatever the page (Streamlit empties the address when the menu changes page).

Address parameters (French, readable)::

    ?territoire=dep:59&commune=59350&indicateur=need:score&classes=quantiles&nb=5
    &echelle=departements&couches=sites,qpv&nationales=1&ponderation=équilibré
    &poids=poverty_rate:3,median_income:1&normalisation=minmax&agregation=arithmetic
    &zoom=50.63,3.06,11

« Copier le lien » (:func:`copy_link_button`) copies the address of the page as shown, with the
map's current centre and zoom read from the map itself.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping

import streamlit as st

from ui import classify, state

RESTORED_KEY = "_links_restored"
WEIGHTS_KEY = "_links_weights"
NOTICES_KEY = state.LINK_NOTICES_KEY  # French notices about parameters of the link set aside
# Bounds of a link's values (the widgets' own): classes on the map, a weight of the index.
CLASSES_RANGE = (3, 7)
MAX_WEIGHT = 100.0
ZOOM_KEY = "map_zoom"  # (lat, lon, zoom) asked by a link, or None
# Layer labels (ui.mapview.LAYERS) ↔ short names in the address.
LAYER_SLUGS = {
    "Sites des membres": "sites",
    "Quartiers prioritaires (QPV)": "qpv",
    "Communes PVD / ACV": "programmes",
    "Classes de densité": "densite",
}
METHOD_SLUGS = {label: key for label, key in classify.METHODS.items()}
# Kept settings (ui.state.kept) written in the address: state name → parameter.
KEPT = {
    "map_variable": "indicateur",
    "map_k": "nb",
    "map_level": "echelle",
}
PARAMETERS = ("territoire", "commune", "indicateur", "classes", "nb", "echelle", "couches",
              "nationales", "fond", "ponderation", "poids", "normalisation", "agregation", "zoom")


# -- reading a link ------------------------------------------------------------------------------
def parse_zoom(text: str | None) -> tuple[float, float, float] | None:
    """« 50.63,3.06,11 » → (lat, lon, zoom); None when unreadable or out of range."""
    if not text:
        return None
    try:
        lat, lon, zoom = (float(x) for x in text.split(","))
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 <= zoom <= 18):
        return None
    return lat, lon, (int(zoom) if zoom.is_integer() else zoom)


def parse_weights(text: str | None) -> tuple[tuple[str, float], ...] | None:
    """« poverty_rate:3,median_income:1 » → sorted (indicator, weight) pairs.

    None when unreadable: a weight that is not a finite number between 0 and
    :data:`MAX_WEIGHT` (« nan », « inf », « 1e308 »), or weights that are all zero.
    """
    if not text:
        return None
    pairs = []
    for part in text.split(","):
        name, _, value = part.partition(":")
        try:
            weight = float(value)
        except ValueError:
            return None
        if not name.strip() or not math.isfinite(weight) or not 0 <= weight <= MAX_WEIGHT:
            return None
        pairs.append((name.strip(), weight))
    if not any(weight > 0 for _, weight in pairs):
        return None
    return tuple(sorted(pairs))


def parse_classes(text: str | None) -> int | None:
    """« 5 » → 5 within :data:`CLASSES_RANGE`, else None."""
    if not text or not text.strip().isascii() or not text.strip().isdigit() \
            or len(text.strip()) > 3:
        return None
    value = int(text)
    low, high = CLASSES_RANGE
    return value if low <= value <= high else None


def notices() -> list[str]:
    """The French notices of the link's parameters set aside (shown once, then forgotten)."""
    return list(st.session_state.pop(NOTICES_KEY, []) or [])


def _notice(text: str) -> None:
    st.session_state.setdefault(NOTICES_KEY, []).append(text)


def settings_from(params: Mapping[str, str], rejected: list[str] | None = None) -> dict:
    """The session values a link asks for (only those it names, and readable).

    ``rejected`` receives a French notice for each value set aside (its default is kept).
    """
    rejected = [] if rejected is None else rejected
    out: dict = {}
    for name, param in KEPT.items():
        if not params.get(param):
            continue
        if name == "map_k":
            k = parse_classes(params[param])
            if k is None:
                low, high = CLASSES_RANGE
                rejected.append(f"« nb={params[param][:20]} » : nombre de classes entre {low} "
                                f"et {high} attendu ; valeur par défaut gardée.")
                continue
            out[name] = k
        else:
            out[name] = params[param][:200]
    method = params.get("classes")
    labels = {v: k for k, v in METHOD_SLUGS.items()}
    if method in labels:
        out["map_method"] = labels[method]
    if "couches" in params:
        slugs = {v: k for k, v in LAYER_SLUGS.items()}
        out["map_layers"] = [slugs[s] for s in params["couches"].split(",") if s in slugs]
    if params.get("nationales") in ("1", "0"):
        out["map_national_classes"] = params["nationales"] == "1"
    if params.get("fond") in ("1", "0"):
        out["map_basemap"] = params["fond"] == "1"
    zoom = parse_zoom(params.get("zoom"))
    if zoom:
        out[ZOOM_KEY] = zoom
    elif params.get("zoom"):
        rejected.append(f"« zoom={params['zoom'][:40]} » illisible (latitude,longitude,zoom "
                        "attendus) ; vue par défaut gardée.")
    return out


def restore() -> None:
    """Once per session: put the settings of the address into the session (before any page)."""
    if st.session_state.get(RESTORED_KEY):
        return
    st.session_state[RESTORED_KEY] = True
    params = {k: st.query_params.get(k) for k in PARAMETERS if st.query_params.get(k) is not None}
    rejected: list[str] = []
    for name, value in settings_from(params, rejected).items():
        st.session_state[name] = value
    for text in rejected:
        _notice(text)
    weights = {k: params[k] for k in ("ponderation", "poids", "normalisation", "agregation")
               if params.get(k)}
    if weights:
        st.session_state[WEIGHTS_KEY] = weights
    state.current_spec()  # the link's territory checked now: its notice is shown with the others


def weights_pending() -> bool:
    """A link asked for a weighting not applied yet (the need model must be loaded first)."""
    return bool(st.session_state.get(WEIGHTS_KEY))


def restore_weights(model) -> None:
    """Apply the weighting a link asks for (once the need model is loaded)."""
    asked = st.session_state.pop(WEIGHTS_KEY, None)
    if not asked or model is None:
        return
    from models.aggregate import AGGREGATIONS
    from models.normalise import METHODS as NORMALISATIONS
    from ui import need

    current = need.current_settings(model)
    weights: str | tuple | None = None
    if asked.get("ponderation") in model.presets:
        weights = asked["ponderation"]
    elif asked.get("ponderation"):
        _notice(f"« ponderation={asked['ponderation'][:40]} » inconnue ; pondération par "
                "défaut gardée.")
    if weights is None and asked.get("poids"):
        pairs = parse_weights(asked.get("poids"))
        kept = tuple((i, w) for i, w in pairs or () if i in model.aggregated)
        if kept and any(w > 0 for _, w in kept):
            weights = kept
        else:
            _notice(f"« poids={asked['poids'][:60]} » : des poids finis entre 0 et "
                    f"{MAX_WEIGHT:g}, non tous nuls, d'indicateurs connus sont attendus ; "
                    "pondération par défaut gardée.")
    normalisation = asked.get("normalisation") or current.normalisation
    if normalisation not in NORMALISATIONS:
        _notice(f"« normalisation={normalisation[:40]} » inconnue (attendu : "
                f"{', '.join(NORMALISATIONS)}) ; {current.normalisation} gardée.")
        normalisation = current.normalisation
    aggregation = asked.get("agregation") or current.aggregation
    if aggregation not in AGGREGATIONS:
        _notice(f"« agregation={aggregation[:40]} » inconnue (attendu : "
                f"{', '.join(AGGREGATIONS)}) ; {current.aggregation} gardée.")
        aggregation = current.aggregation
    if weights is None and normalisation == current.normalisation and aggregation == current.aggregation:
        return
    need.set_settings(need.NeedSettings(weights or current.weights, normalisation, aggregation))


# -- writing the address -------------------------------------------------------------------------
def view_params() -> dict[str, str]:
    """The address parameters of the view in the session (defaults left out)."""
    out: dict[str, str] = {}
    spec = state.current_spec()  # read from the address if no page asked for it yet
    if spec:
        out["territoire"] = spec
    commune = state.selected_commune()
    if commune:
        out["commune"] = commune
    for name, param in KEPT.items():
        value = state.remembered(name)
        if value not in (None, ""):
            out[param] = str(value)
    method = state.remembered("map_method")
    if method in METHOD_SLUGS:
        out["classes"] = METHOD_SLUGS[method]
    layers = state.remembered("map_layers")
    if layers is not None:
        out["couches"] = ",".join(LAYER_SLUGS[x] for x in layers if x in LAYER_SLUGS)
    if state.remembered("map_national_classes"):
        out["nationales"] = "1"
    if state.remembered("map_basemap"):
        out["fond"] = "1"
    settings = st.session_state.get("need_settings")
    if settings is not None:
        if isinstance(settings.weights, str):
            out["ponderation"] = settings.weights
        else:
            out["poids"] = ",".join(f"{i}:{w:g}" for i, w in settings.weights)
        default = type(settings)(settings.weights)
        if settings.normalisation != default.normalisation:
            out["normalisation"] = settings.normalisation
        if settings.aggregation != default.aggregation:
            out["agregation"] = settings.aggregation
    zoom = st.session_state.get(ZOOM_KEY)
    if zoom:
        out["zoom"] = ",".join(f"{v:g}" for v in zoom)
    return out


def sync() -> None:
    """Write the view into the address (only the parameters that changed)."""
    wanted = view_params()
    for key in PARAMETERS:
        value = wanted.get(key)
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != value:
            st.query_params[key] = value


# -- « Copier le lien » --------------------------------------------------------------------------
COPY_JS = """
<div style="font-family:sans-serif;font-size:14px">
<button id="copy" style="padding:6px 12px;border:1px solid #bbb;border-radius:6px;
  background:#fff;cursor:pointer;font-size:14px">{label}</button>
<span id="done" style="margin-left:8px;color:#2e7d32"></span>
<input id="link" readonly style="display:none;width:95%;margin-top:4px;font-size:12px">
</div>
<script>
function viewUrl() {
  const top = window.parent;
  const url = new URL(top.location.href);
  // The map's centre and zoom as the user left them (first map of the page).
  for (const f of top.document.querySelectorAll('iframe')) {
    try {
      const w = f.contentWindow;
      for (const k of Object.keys(w)) {
        if (k.startsWith('map_') && w.L && w[k] instanceof w.L.Map) {
          const c = w[k].getCenter();
          url.searchParams.set('zoom', c.lat.toFixed(4) + ',' + c.lng.toFixed(4) + ','
                               + w[k].getZoom());
          return url.toString();
        }
      }
    } catch (e) {}
  }
  return url.toString();
}
document.getElementById('copy').addEventListener('click', async () => {
  const text = viewUrl();
  const field = document.getElementById('link');
  field.value = text;
  document.body.dataset.link = text;
  let ok = false;
  try { await navigator.clipboard.writeText(text); ok = true; } catch (e) {
    field.style.display = 'block'; field.select();
    try { ok = document.execCommand('copy'); } catch (e2) {}
  }
  document.getElementById('done').textContent = ok ? {copied} : {manual};
  field.style.display = ok ? 'none' : 'block';
});
</script>
"""


def copy_link_button(container=None, label: str = "Copier le lien") -> None:
    """A button copying the address of this view (with the map's zoom) to the clipboard."""
    body = (COPY_JS.replace("{label}", html.escape(label))
            .replace("{copied}", json.dumps("Lien copié : collez-le dans un message."))
            .replace("{manual}", json.dumps("Copiez le lien ci-dessous.")))
    with container or st.container():
        st.iframe(body, height=70)
