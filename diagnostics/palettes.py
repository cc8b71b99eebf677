"""The maps' colour palettes and classes, shared by the static (PDF, DOCX) and interactive maps.

Kept apart from :mod:`diagnostics.webmap` so that the PDF report does not import folium.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

# Colour-blind-safe sequential palettes (ColorBrewer), light to dark.
PALETTES: dict[str, list[str]] = {
    "besoin": ["#fff5eb", "#fdd0a2", "#fdae6b", "#fd8d3c", "#e6550d", "#a63603"],  # Oranges
    "offre": ["#f7fbff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"],  # Blues
    "neutre": ["#f7fcf5", "#c7e9c0", "#a1d99b", "#74c476", "#31a354", "#006d2c"],  # Greens
    "ecart": ["#2166ac", "#67a9cf", "#d1e5f0", "#fddbc7", "#ef8a62", "#b2182b"],  # RdBu, diverging
}
MISSING_COLOUR = "#d9d9d9"


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
