"""The opening every territory page with the gap shares: its title, and the territory and the
gap model, or the French reason the page cannot go on."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import gap as gap_mod
from ui import need, state
from ui.picker import territory_label


def open_with_gap(page: str, without_territory: str) -> tuple[Any, Any] | None:
    """Title the page « <page> — <territoire> »; return ``(territory, gap bundle)``, or None
    after saying in French what is missing (``without_territory``: the invitation to choose a
    territory)."""
    spec = state.current_spec()
    st.title(f"{page} — {territory_label(spec)}")
    territory = state.current_territory() if spec else None
    if territory is None:
        st.info("Choisissez un territoire (un département, un EPCI…) dans le panneau de gauche : "
                + without_territory)
        return None
    model = need.need_model()
    bundle = gap_mod.gap_bundle(model) if model else None
    if bundle is None:
        st.warning(gap_mod.unavailable_reason(model) if model else
                   (need.unavailable_reason() or need.NOT_COMPUTED))
        return None
    return territory, bundle
