"""Map classes with French legends, shared by the static (PDF) and interactive (HTML) maps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from diagnostics.formatting import fr_number
from diagnostics.palettes import MISSING_COLOUR, PALETTES, class_colours

# Diverging gap palette split in its two halves: answered (blue) and unanswered (red) need.
SURPLUS_COLOURS = ["#2166ac", "#67a9cf", "#d1e5f0"]
DEFICIT_COLOURS = ["#fddbc7", "#ef8a62", "#b2182b"]


def _score_at_percentile(ordered: np.ndarray, per: float) -> float:
    """``scipy.stats.scoreatpercentile`` (« fraction » interpolation) on sorted values, same arithmetic."""
    idx = per / 100.0 * (ordered.size - 1)
    i = int(idx)
    if i == idx:
        return float(ordered[i])
    weights = np.array([(i + 1 - idx), (idx - i)], float)
    return float(np.add.reduce(ordered[i:i + 2] * weights) / weights.sum())


def quantile_bins(known: np.ndarray, k: int) -> np.ndarray:
    """The bins of ``mapclassify.Quantiles(known, k=k)``, computed the same way with numpy only.

    Importing mapclassify pulls scikit-learn, ``scipy.stats`` and ``matplotlib.pyplot`` (about
    1.2 s and 150 MB in the report's command line) for one percentile computation.
    """
    width = 100.0 / k
    percents = np.arange(width, 100 + width, width)
    if percents[-1] > 100.0:
        percents[-1] = 100.0
    ordered = np.sort(np.asarray(known, dtype=float))
    return np.unique(np.array([_score_at_percentile(ordered, p) for p in percents]))


def quantile_breaks(values: pd.Series, k: int = 5) -> list[float]:
    """Upper bounds of ``k`` quantile classes over the known values (fewer when few values)."""
    known = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    if known.size == 0:
        return []
    distinct = np.unique(known)
    if distinct.size <= k:
        return [float(v) for v in distinct]
    bins = [float(b) for b in quantile_bins(known, k)]
    bins = sorted(set(bins))
    bins[-1] = max(bins[-1], float(known.max()))
    return bins


def range_labels(values: pd.Series, breaks: Sequence[float], decimals: int = 1, unit: str = "") -> list[str]:
    """« 12,3 – 15,0 % » labels for the classes ending at ``breaks``."""
    known = pd.to_numeric(values, errors="coerce").dropna()
    if known.empty or not breaks:
        return []
    suffix = f"\u00a0{unit}" if unit else ""
    if len(breaks) == known.nunique() and len(breaks) <= 5 and np.allclose(
        sorted(known.unique()), breaks
    ):
        return [f"{fr_number(b, decimals)}{suffix}" for b in breaks]
    lower = [float(known.min()), *breaks[:-1]]
    return [f"{fr_number(lo, decimals)} – {fr_number(hi, decimals)}{suffix}"
            for lo, hi in zip(lower, breaks, strict=True)]


def palette_for(n: int, palette: str) -> list[str]:
    """``n`` colours spread over a palette (as :func:`webmap.class_colours` does)."""
    colours = PALETTES[palette]
    if n >= len(colours):
        return list(colours)
    positions = np.linspace(0, len(colours) - 1, n).round().astype(int)
    return [colours[p] for p in positions]


def numeric_classes(
    values: pd.Series, palette: str, k: int = 5, decimals: int = 1, unit: str = ""
) -> tuple[pd.Series, list[tuple[str, str]]]:
    """Colour per row and legend for quantile classes; missing values grey."""
    breaks = quantile_breaks(values, k)
    if not breaks:
        return pd.Series(MISSING_COLOUR, index=values.index), []
    colours = class_colours(values, breaks, palette)
    labels = range_labels(values, breaks, decimals, unit)
    return colours, list(zip(labels, palette_for(len(breaks), palette), strict=True))


def diverging_classes(
    values: pd.Series, decimals: int = 1, unit: str = ""
) -> tuple[pd.Series, list[tuple[str, str]]]:
    """Zero-centred classes: up to three blue classes at or below 0, three red ones above."""
    numeric = pd.to_numeric(values, errors="coerce")
    colours = pd.Series(MISSING_COLOUR, index=values.index, dtype=object)
    legend: list[tuple[str, str]] = []
    negative = numeric[numeric <= 0]
    positive = numeric[numeric > 0]
    suffix = f"\u00a0{unit}" if unit else ""
    if len(negative):
        breaks = quantile_breaks(negative, 3)
        palette = SURPLUS_COLOURS[-len(breaks):] if len(breaks) < 3 else SURPLUS_COLOURS
        idx = np.clip(np.searchsorted(breaks, negative.to_numpy(float), side="left"), 0, len(breaks) - 1)
        colours.loc[negative.index] = [palette[i] for i in idx]
        lower = [float(negative.min()), *breaks[:-1]]
        legend += [(f"{fr_number(lo, decimals)} – {fr_number(hi, decimals)}{suffix}", c)
                   for lo, hi, c in zip(lower, breaks, palette, strict=True)]
    if len(positive):
        breaks = quantile_breaks(positive, 3)
        palette = DEFICIT_COLOURS[: len(breaks)]
        idx = np.clip(np.searchsorted(breaks, positive.to_numpy(float), side="left"), 0, len(breaks) - 1)
        colours.loc[positive.index] = [palette[i] for i in idx]
        lower = [float(positive.min()), *breaks[:-1]]
        legend += [(f"{fr_number(lo, decimals)} – {fr_number(hi, decimals)}{suffix}", c)
                   for lo, hi, c in zip(lower, breaks, palette, strict=True)]
    return colours, legend


def categorical_classes(
    values: pd.Series, colours: Mapping[str, str], order: Sequence[str] | None = None
) -> tuple[pd.Series, list[tuple[str, str]]]:
    """Colour per category (unknown or missing categories grey); legend of present ones."""
    text = values.astype(object).where(values.notna(), None)
    out = text.map(lambda v: colours.get(v, MISSING_COLOUR) if v is not None else MISSING_COLOUR)
    present = [c for c in (order or list(colours)) if c in set(text.dropna())]
    return out.astype(object), [(c, colours[c]) for c in present if c in colours]


# Qualitative, colour-blind-safe (ColorBrewer Set2 / Dark2) for typologies.
QUALITATIVE = ["#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f", "#e5c494",
               "#b3b3b3", "#1b9e77", "#d95f02"]


def qualitative_colours(categories: Sequence[str]) -> dict[str, str]:
    return {c: QUALITATIVE[i % len(QUALITATIVE)] for i, c in enumerate(categories)}
