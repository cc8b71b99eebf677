"""Outlier treatment before normalisation (COINr ``Treat``, OECD/JRC handbook step 4).

A column is treated when its distribution is too skewed for a min–max or z-score to be
meaningful: ``|skewness| > skew_max`` **and** ``kurtosis > kurt_max`` (COINr's default rule,
2.0 and 3.5). Treatment is, in that order:

1. winsorisation: the most extreme values on the long tail are set to the next value inside,
   for the smallest number of points (at most ``winsor_max_share`` of the known values) that
   brings the column within the limits;
2. if winsorising that many points is not enough, a log transform of the original values
   (``log(x - min + 1)``, mirrored for a left tail), which keeps the order of the communes.

Parameters of each decision are returned so that the pipeline log can rebuild the result.
Binary and ordinal columns (few distinct values) are never treated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import kurtosis, skew


@dataclass
class Treatment:
    """What was done to one column."""

    method: str  # "aucun", "winsorisation", "log"
    skew_before: float
    kurt_before: float
    skew_after: float
    kurt_after: float
    winsorised: int = 0
    bounds: tuple[float, float] | None = None
    details: dict = field(default_factory=dict)

    def as_log(self) -> dict:
        return {
            "méthode": self.method,
            "asymétrie_avant": round(self.skew_before, 3),
            "aplatissement_avant": round(self.kurt_before, 3),
            "asymétrie_après": round(self.skew_after, 3),
            "aplatissement_après": round(self.kurt_after, 3),
            "points_winsorisés": self.winsorised,
            "bornes": None if self.bounds is None else [float(b) for b in self.bounds],
        }


def _shape(x: np.ndarray) -> tuple[float, float]:
    if x.size < 3 or np.ptp(x) == 0:
        return 0.0, 0.0
    return float(skew(x)), float(kurtosis(x))  # excess kurtosis, as COINr


def needs_treatment(s: float, k: float, skew_max: float, kurt_max: float) -> bool:
    return abs(s) > skew_max and k > kurt_max


def treat_column(
    values: np.ndarray,
    skew_max: float = 2.0,
    kurt_max: float = 3.5,
    winsor_max_share: float = 0.01,
    min_distinct: int = 10,
) -> tuple[np.ndarray, Treatment]:
    """Treat one column (NaN kept); see the module docstring."""
    x = np.asarray(values, dtype=float)
    known = x[~np.isnan(x)]
    s0, k0 = _shape(known)
    if np.unique(known).size < min_distinct or not needs_treatment(s0, k0, skew_max, kurt_max):
        return x.copy(), Treatment("aucun", s0, k0, s0, k0)

    right_tail = s0 > 0
    ordered = np.sort(known)
    if not right_tail:
        ordered = ordered[::-1]
    max_points = max(1, int(winsor_max_share * known.size))
    # Candidate numbers of winsorised points: a geometric ladder, then refined linearly.
    ladder = sorted({int(v) for v in np.unique(np.geomspace(1, max_points, num=24).round())})
    best = None
    previous = 0
    for count in ladder:
        limit = ordered[-count - 1]
        clipped = np.minimum(known, limit) if right_tail else np.maximum(known, limit)
        s, k = _shape(clipped)
        if not needs_treatment(s, k, skew_max, kurt_max):
            best = count
            for fine in range(previous + 1, count):  # smallest count that is enough
                lim = ordered[-fine - 1]
                c = np.minimum(known, lim) if right_tail else np.maximum(known, lim)
                if not needs_treatment(*_shape(c), skew_max, kurt_max):
                    best = fine
                    break
            break
        previous = count
    if best is not None:
        limit = ordered[-best - 1]
        out = np.minimum(x, limit) if right_tail else np.maximum(x, limit)
        s, k = _shape(out[~np.isnan(out)])
        bounds = (float(np.nanmin(out)), float(limit)) if right_tail else (
            float(limit), float(np.nanmax(out))
        )
        changed = int(np.sum((known > limit) if right_tail else (known < limit)))
        return out, Treatment("winsorisation", s0, k0, s, k, changed, bounds)

    # Mirrored for a left tail, so that the order of the communes is kept.
    out = np.log(x - np.nanmin(x) + 1.0) if right_tail else -np.log(np.nanmax(x) - x + 1.0)
    s, k = _shape(out[~np.isnan(out)])
    tail = "droite" if right_tail else "gauche"
    return out, Treatment("log", s0, k0, s, k, details={"queue": tail})


def treat(
    matrix: np.ndarray, skew_max: float = 2.0, kurt_max: float = 3.5,
    winsor_max_share: float = 0.01,
) -> tuple[np.ndarray, list[Treatment]]:
    """Treat every column of a ``(n, k)`` matrix; returns the treated copy and the decisions."""
    out = np.empty_like(np.asarray(matrix, dtype=float))
    decisions = []
    for j in range(out.shape[1]):
        out[:, j], decision = treat_column(matrix[:, j], skew_max, kurt_max, winsor_max_share)
        decisions.append(decision)
    return out, decisions
