"""The gap model as the app uses it: need minus the offer within reach, commune by commune.

Computed for all France from the need model's volumes (default settings: the volume does not
depend on the weights) and the non-confidential sites of the operators' registry (a gap or a
raster shown to the public never rests on a confidential site: two communes' gaps could be
subtracted to reveal it); recomputed when the registry
changes or when the catchment sizes are changed on the « Méthode » page (about two seconds).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st
import yaml

from models import accessibility as acc
from models import results
from ui import data
from ui import sites as sites_mod

NOT_COMPUTED = "Le modèle d'écart n'est pas encore calculé"
CATCHMENT_KEY = "gap_catchment"
REFERENCE_KEY = "gap_reference"


@dataclass
class GapBundle:
    model: Any  # models.gap.GapModel
    frame: pd.DataFrame  # per commune
    meta: dict
    config: dict
    rejected: pd.DataFrame


def base_config() -> dict | None:
    """The accessibility settings (``models/access.yaml``), or None when unreadable."""
    try:
        return acc.load_config()
    except (acc.AccessibilityError, yaml.YAMLError):  # an unreadable settings file: the pages say why
        return None


def catchment_settings() -> dict[int, float] | None:
    """Catchment radius (metres) by density class as chosen on the « Méthode » page."""
    chosen = st.session_state.get(CATCHMENT_KEY)
    if chosen:
        return dict(chosen)
    config = base_config()
    if config is None:
        return None
    return {int(k): float(v) for k, v in config["catchment_m"]["by_density_7"].items()}


def set_catchment(values: dict[int, float] | None) -> None:
    st.session_state[CATCHMENT_KEY] = dict(values) if values else None


@st.cache_resource(show_spinner=False, max_entries=4)
def _compute(need_key: str, registry_key: str, catchment: tuple, _need_frame: pd.DataFrame,
             _sites: pd.DataFrame | None) -> GapBundle | str:
    config = copy.deepcopy(base_config())
    if config is None:
        return f"{NOT_COMPUTED} : paramètres d'accessibilité illisibles (models/access.yaml)."
    config["catchment_m"]["by_density_7"] = dict(catchment)
    try:
        model = results.gap_model(data.store(), _need_frame, _sites, config)
        frame = with_zones_blanches(model, model.frame())
    except results.ResultsUnavailable as exc:
        return f"{NOT_COMPUTED} : {exc}"
    except Exception as exc:  # unusable inputs: the pages say why
        return f"{NOT_COMPUTED} : {exc}"
    return GapBundle(model, frame, model.meta(), config, model.rejected_sites)


def with_zones_blanches(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """``zone_blanche_<family>`` columns (zone id, missing outside) on the target households,
    and ``_fictional`` (the offer holds FICTIONAL demo sites: figures say FICTIF)."""
    out = frame.copy()
    out["_fictional"] = bool(model.offer_fictional())
    reference = getattr(model, "reference", None)
    if reference is None:
        return out
    pairs = reference.neighbours()
    for family in reference.families:
        series, _ = reference.zones_blanches(family, pairs)
        out[f"zone_blanche_{family}"] = out["code"].map(series)
    return out


def reference_choice() -> tuple[str, tuple]:
    """The reference chosen on the « Méthode » page: (method, ((family, rate), …))."""
    chosen = st.session_state.get(REFERENCE_KEY)
    if chosen:
        return chosen
    from models import gap_reference as gr

    return gr.load_params()["default_method"], ()


def set_reference(method: str, values: dict[str, float] | None = None) -> None:
    st.session_state[REFERENCE_KEY] = (method, tuple(sorted((values or {}).items())))


def rescored(bundle: GapBundle, method: str, values: tuple) -> GapBundle:
    """The bundle with the reference columns re-scored for another reference (about 0.1 s;
    kept per reference on the shared bundle, which is never changed)."""
    from models import gap_reference as gr

    reference = bundle.model.reference
    if reference is None:
        return bundle
    key = (method, values)
    memo = bundle.__dict__.setdefault("_rescored", {})
    if key not in memo:
        choice = gr.Reference(method, dict(values))
        frame = reference.frame(choice)
        out = bundle.frame.copy()
        for column in frame.columns:
            if column not in ("code", "name", "dep_code"):
                out[column] = frame[column].to_numpy()
        _, notes = reference.references(choice)
        meta = {**bundle.meta, "reference_method": method,
                "reference_method_fr": gr.METHODS[method], "reference_notes": notes,
                "living_area_note_fr": gr.living_area_note_fr(reference.params)}
        memo[key] = GapBundle(bundle.model, out, meta, bundle.config, bundle.rejected)
    return memo[key]


def gap_bundle(need_model) -> GapBundle | None:
    """The gap for all France with the chosen reference, or None (see
    :func:`unavailable_reason`)."""
    found = _bundle(need_model)
    if not isinstance(found, GapBundle):
        return None
    method, values = reference_choice()
    if found.model.reference is None or (
        method == found.meta.get("reference_method") and not values):
        return found
    return rescored(found, method, values)


def _bundle(need_model) -> GapBundle | str:
    if need_model is None:
        return f"{NOT_COMPUTED} : il faut d'abord le modèle de besoin."
    catchment = catchment_settings()
    if catchment is None:
        return f"{NOT_COMPUTED} : module ou paramètres absents."
    registry = sites_mod.registry_sites()
    with st.spinner("Calcul de l'offre accessible et de l'écart…"):
        return _compute(
            need_model.fingerprint,
            registry.fingerprint if registry else "sans registre",
            tuple(sorted(catchment.items())),
            need_model.frame,
            registry.sites if registry else None,
        )


def unavailable_reason(need_model) -> str:
    found = _bundle(need_model)
    return found if isinstance(found, str) else ""
