"""Choropleth classes (mapclassify) with French labels, and the colours of each class.

Colours come from colour-blind-safe ColorBrewer palettes (``diagnostics.webmap.PALETTES``):
sequential for a quantity, diverging for the gap (blues for a surplus of offer, reds for an
unmet need), qualitative for categories. Missing values are never put in a class: they are
drawn grey and named « donnée absente ou secrète » in the legend.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import mapclassify
import numpy as np
import pandas as pd

from diagnostics import webmap
from diagnostics.formatting import fr_number

METHODS = {
    "Quantiles": "quantiles",
    "Seuils naturels (Fisher-Jenks)": "fisher_jenks",
    "Intervalles égaux": "equal_interval",
}
DIVERGING_NEGATIVE = ["#2166ac", "#67a9cf", "#d1e5f0"]  # dark to light blue (RdBu)
DIVERGING_POSITIVE = ["#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f"]  # light to dark red


@dataclass
class Classes:
    bins: list[float]  # upper bound of each class
    labels: list[str]
    counts: list[int]


@dataclass
class Styled:
    """Everything a map needs to colour one variable."""

    classes: np.ndarray  # palette index per value, -1 when missing
    palette: list[str]
    labels: list[str]  # legend labels, one per palette colour
    missing: bool  # some values are missing (grey in the legend)
    bins: list[float] = field(default_factory=list)  # upper bound of each class (numeric)


def _num(value: float, decimals: int) -> str:
    """French number with a true minus sign (« −3,5 »)."""
    return fr_number(value, decimals).replace("-", "\u2212")


def classify(values: pd.Series, method: str = "quantiles", k: int = 5, decimals: int = 1,
             unit: str = "") -> Classes:
    """Class bounds and French labels for the known values (missing values are left out)."""
    known = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    suffix = f"\u00a0{unit}" if unit else ""
    if known.size == 0 or k < 1:
        return Classes([], [], [])
    distinct = np.unique(known)
    if distinct.size <= k:
        labels = [f"{_num(v, decimals)}{suffix}" for v in distinct]
        counts = [int((known == v).sum()) for v in distinct]
        return Classes([float(v) for v in distinct], labels, counts)
    if method == "fisher_jenks":
        bins = fisher_jenks_bins(known, k)
    elif method == "equal_interval":
        bins = mapclassify.EqualInterval(known, k=k).bins
    else:
        bins = mapclassify.Quantiles(known, k=k).bins
    # Bounds rounded as they are shown: classes whose bounds would read the same (« 0 – 0 »,
    # « 0 / 0 – 0 / 0 » on a map of places mostly under one) are merged.
    bins = sorted({round(float(b), decimals) for b in bins})
    bins[-1] = max(bins[-1], float(known.max()))
    lower = [float(known.min()), *bins[:-1]]
    labels = [
        (f"{_num(hi, decimals)}{suffix}" if _num(lo, decimals) == _num(hi, decimals)
         else f"{_num(lo, decimals)} – {_num(hi, decimals)}{suffix}")
        for lo, hi in zip(lower, bins, strict=True)
    ]
    counts = np.bincount(np.searchsorted(bins, known, side="left").clip(0, len(bins) - 1),
                         minlength=len(bins)).tolist()
    return Classes(bins, labels, counts)


JENKS_SAMPLE = 3000


def fisher_jenks_bins(values: np.ndarray, k: int) -> list[float]:
    """Upper bounds of the ``k`` Fisher-Jenks classes (least squared deviations, exact on the
    sorted values, or on 3,000 evenly spaced order statistics above that size).

    Written with numpy (mapclassify's version needs numba, absent here, and takes minutes on
    5,000 values); the sample is deterministic, so the same data always gives the same classes
    (mapclassify's sampled variant draws at random: a shared link would change colours).
    """
    ordered = np.sort(np.asarray(values, dtype=float))
    if ordered.size > JENKS_SAMPLE:
        ordered = ordered[np.linspace(0, ordered.size - 1, JENKS_SAMPLE).round().astype(int)]
    key = (hashlib.sha1(ordered.tobytes()).hexdigest(), k)
    if key not in _JENKS_CACHE:
        if len(_JENKS_CACHE) > 64:
            _JENKS_CACHE.clear()
        _JENKS_CACHE[key] = _fisher_jenks(ordered, k)
    return list(_JENKS_CACHE[key])


_JENKS_CACHE: dict[tuple[str, int], list[float]] = {}


def _fisher_jenks(ordered: np.ndarray, k: int) -> list[float]:
    n = ordered.size
    k = min(k, n)
    s1 = np.concatenate([[0.0], np.cumsum(ordered)])
    s2 = np.concatenate([[0.0], np.cumsum(ordered**2)])
    # cost[j]: best squared deviations of ordered[:j + 1] in m classes; start[m][j]: first
    # index of the last class.
    cost = s2[1:] - s1[1:] ** 2 / np.arange(1, n + 1)
    starts = []
    for _m in range(1, k):
        new = np.full(n, np.inf)
        start = np.zeros(n, dtype=int)
        for j in range(1, n):
            i = np.arange(1, j + 1)  # first index of the last class
            count = j - i + 1
            ssd = (s2[j + 1] - s2[i]) - (s1[j + 1] - s1[i]) ** 2 / count
            total = cost[i - 1] + ssd
            best = int(np.argmin(total))
            new[j], start[j] = total[best], i[best]
        cost = new
        starts.append(start)
    bounds = [float(ordered[-1])]
    end = n - 1
    for start in reversed(starts):
        first = int(start[end])
        bounds.append(float(ordered[first - 1]))
        end = first - 1
    return sorted(set(bounds))


def numeric_style(values: pd.Series, palette: str, method: str = "quantiles", k: int = 5,
                  decimals: int = 1, reverse: bool = False) -> Styled:
    """Classes of a quantity; ``palette="ecart"`` is diverging around zero."""
    numeric = pd.to_numeric(values, errors="coerce")
    if palette == "ecart":
        return _diverging_style(numeric, method, k, decimals)
    scheme = classify(numeric, method, k, decimals)
    index = webmap.class_indices(numeric, scheme.bins) if scheme.bins else np.full(len(numeric), -1)
    colours = webmap.spread_palette(palette, max(len(scheme.bins), 1))[: len(scheme.bins)]
    if reverse:
        colours = colours[::-1]
    return Styled(index, colours, scheme.labels, bool(numeric.isna().any()), list(scheme.bins))


def _diverging_style(numeric: pd.Series, method: str, k: int, decimals: int) -> Styled:
    """Classes split at zero: up to two blue classes for a surplus of offer (≤ 0), the others
    red for an unmet need (> 0), the further from zero, the darker."""
    known = numeric.dropna()
    negative, positive = known[known <= 0], known[known > 0]
    n_negative = 0 if negative.empty else (1 if negative.nunique() == 1 or k <= 3 else 2)
    low = classify(negative, method, n_negative, decimals) if n_negative else Classes([], [], [])
    high = classify(positive, method, max(k - n_negative, 1), decimals) if len(positive) else \
        Classes([], [], [])
    bins = [*low.bins, *high.bins]
    index = webmap.class_indices(numeric, bins) if bins else np.full(len(numeric), -1)
    blues = DIVERGING_NEGATIVE[-len(low.bins):] if low.bins else []
    reds = webmap.spread_palette(DIVERGING_POSITIVE, len(high.bins)) if high.bins else []
    return Styled(index, [*blues, *reds], [*low.labels, *high.labels], bool(numeric.isna().any()),
                  bins)


def with_classes_of(values: pd.Series, reference: Styled) -> Styled:
    """``values`` coloured with the classes of ``reference`` (« classes nationales » : the
    classes of all France, so that two territories compare by colour)."""
    numeric = pd.to_numeric(values, errors="coerce")
    if not reference.bins:
        return Styled(np.full(len(numeric), -1), reference.palette, reference.labels,
                      bool(numeric.isna().any()), [])
    index = webmap.class_indices(numeric, reference.bins)
    return Styled(index, reference.palette, reference.labels, bool(numeric.isna().any()),
                  list(reference.bins))


def categorical_style(values: pd.Series, categories: tuple[tuple[str, str], ...]) -> Styled:
    """One colour per category present (in the variable's order); others missing."""
    present = set(values.dropna().astype(str))
    chosen = [(label, colour) for label, colour in categories if label in present]
    position = {label: i for i, (label, _c) in enumerate(chosen)}
    index = np.array([position.get(str(v), -1) if not pd.isna(v) else -1 for v in values], dtype=int)
    return Styled(index, [c for _l, c in chosen], [lbl for lbl, _c in chosen], bool((index < 0).any()))
