"""The operations saved on « Montage d'opération »: kept in the session (never written to the
registry), shown on « Scénarios » and carried into the territory report's download.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from models import operation_economics as oe

OPERATIONS_KEY = "saved_operations"
# Offer families of the registry and the gap model → the kind of operation that produces them.
KIND_OF_FAMILY = {
    "pension_de_famille": "pension_famille_neuf",
    "residence_sociale": "residence_sociale",
    "intermediation_locative": "iml_sous_location",
    "diffus": "moi_diffus",
}


@st.cache_resource(show_spinner=False, max_entries=4)
def _parameters(path: str, mtime: float) -> oe.Parameters:
    return oe.load_parameters(path)


def parameters() -> oe.Parameters:
    """The parameters file (re-read when it changes on disk)."""
    path = Path(oe.PARAMETERS_FILE)
    return _parameters(str(path), path.stat().st_mtime)


@st.cache_data(show_spinner=False, max_entries=256)
def _context(code: str, store_key: str) -> dict:
    from models.operation_context import local_context
    from ui import data

    return local_context(code, data.store()).to_dict()


def context(code: str) -> dict:
    """A commune's local data for an operation (cached per commune and store version)."""
    from ui import data

    return _context(code, data.store_key())


def site_economics(offer_type: str, places: float, code: str) -> dict | None:
    """Verdict of an added site with the default parameters of its kind (None: no model for
    this offer family, e.g. hébergement)."""
    kind = KIND_OF_FAMILY.get(offer_type)
    if kind is None:
        return None
    params = parameters()
    ctx = context(code)
    values = oe.inputs_for(kind, params, zone_apl=ctx["zone_apl"], acv_pvd=bool(ctx.get("acv")) or
                           bool(ctx.get("pvd")), overrides={"logements": float(places)})
    evaluation = oe.evaluate(kind, values, params)
    verdict = oe.verdict(evaluation)
    return {"kind": kind, "label": params.kinds[kind].label, "gap": verdict.gap, "result": verdict.result,
            "result_per_place": verdict.result_per_home, "balanced": verdict.balanced}


def saved() -> list[dict]:
    return list(st.session_state.get(OPERATIONS_KEY, []))


def add(operation: dict) -> None:
    st.session_state[OPERATIONS_KEY] = [*saved(), operation]


def remove(index: int) -> None:
    items = saved()
    if 0 <= index < len(items):
        items.pop(index)
    st.session_state[OPERATIONS_KEY] = items


def in_territory(codes: set[str]) -> list[dict]:
    """The saved operations located in a territory (the report carries those)."""
    return [op for op in saved() if op.get("code") in codes]
