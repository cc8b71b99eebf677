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
    from models import household_aid
    from models.operation_context import local_context
    from ui import data

    ctx = local_context(code, data.store()).to_dict()
    zone = household_aid.zone_apl_of(code)  # the commune's own APL zone when OpenFisca-France lists it
    if zone is not None:
        ctx["zone_apl"], ctx["zone_apl_note"] = zone, household_aid.ZONE_SOURCE
    return ctx


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
    result = oe.run_operation(kind, code, places=float(places), params=params, context=ctx)
    verdict = result.verdict
    return {"kind": kind, "label": params.kinds[kind].label, "gap": verdict.gap, "result": verdict.result,
            "result_per_place": verdict.result / max(result.places, 1.0), "balanced": verdict.balanced,
            "owner_result": verdict.owner_result, "manager_result": verdict.manager_result,
            "manager_deficit": result.manager_deficit}


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
