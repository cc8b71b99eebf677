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

from ui import sites as sites_mod

NOT_COMPUTED = "Le modèle d'écart n'est pas encore calculé"
CATCHMENT_KEY = "gap_catchment"


@dataclass
class GapBundle:
    model: Any  # models.gap.GapModel
    frame: pd.DataFrame  # per commune
    meta: dict
    config: dict
    rejected: pd.DataFrame


def base_config() -> dict | None:
    try:
        from models import accessibility as acc

        return acc.load_config()
    except Exception:  # the gap model is optional
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
    try:
        from models import gap as gap_model
    except ImportError as exc:
        return f"{NOT_COMPUTED} : module absent ({exc})."
    config = copy.deepcopy(base_config())
    if config is None:
        return f"{NOT_COMPUTED} : paramètres d'accessibilité illisibles (models/access.yaml)."
    config["catchment_m"]["by_density_7"] = dict(catchment)
    sites = _sites if _sites is not None else pd.DataFrame(
        columns=["site_id", "commune_code", "offer_type", "capacity", "status"])
    try:
        inputs = gap_model.inputs_from_store(_need_frame, sites)
        model = gap_model.GapModel(inputs, config)
        frame = model.frame()
    except Exception as exc:  # unusable inputs: the pages say why
        return f"{NOT_COMPUTED} : {exc}"
    return GapBundle(model, frame, model.meta(), config, model.rejected_sites)


def gap_bundle(need_model) -> GapBundle | None:
    """The gap for all France, or None (see :func:`unavailable_reason`)."""
    found = _bundle(need_model)
    return found if isinstance(found, GapBundle) else None


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
