"""Choropleth classes (mapclassify) with French labels."""

from __future__ import annotations

from dataclasses import dataclass

import mapclassify
import numpy as np
import pandas as pd

from diagnostics.formatting import fr_number

METHODS = {
    "Quantiles": "quantiles",
    "Seuils naturels (Fisher-Jenks)": "fisher_jenks",
    "Intervalles égaux": "equal_interval",
}


@dataclass
class Classes:
    bins: list[float]  # upper bound of each class
    labels: list[str]
    counts: list[int]


def classify(values: pd.Series, method: str = "quantiles", k: int = 5, decimals: int = 1,
             unit: str = "") -> Classes:
    """Class bounds and French labels for the known values (missing values are left out)."""
    known = pd.to_numeric(values, errors="coerce").dropna().to_numpy(dtype=float)
    suffix = f"\u00a0{unit}" if unit else ""
    if known.size == 0:
        return Classes([], [], [])
    distinct = np.unique(known)
    if distinct.size <= k:
        labels = [f"{fr_number(v, decimals)}{suffix}" for v in distinct]
        counts = [int((known == v).sum()) for v in distinct]
        return Classes([float(v) for v in distinct], labels, counts)
    if method == "fisher_jenks":
        scheme = mapclassify.FisherJenksSampled(known, k=k, pct=min(1.0, 5000 / known.size), truncate=True) \
            if known.size > 5000 else mapclassify.FisherJenks(known, k=k)
    elif method == "equal_interval":
        scheme = mapclassify.EqualInterval(known, k=k)
    else:
        scheme = mapclassify.Quantiles(known, k=k)
    bins = [float(b) for b in scheme.bins]
    bins[-1] = max(bins[-1], float(known.max()))
    lower = [float(known.min()), *bins[:-1]]
    labels = [
        f"{fr_number(lo, decimals)} – {fr_number(hi, decimals)}{suffix}"
        for lo, hi in zip(lower, bins, strict=True)
    ]
    counts = np.bincount(np.searchsorted(bins, known, side="left").clip(0, len(bins) - 1),
                         minlength=len(bins)).tolist()
    return Classes(bins, labels, counts)
