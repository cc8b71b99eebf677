"""Normalisations of an indicator matrix (OECD/JRC handbook, COINr ``Normalise``).

Every function takes a 2-D float array (communes × indicators, NaN = missing) and a direction
per indicator (+1: a higher value means more need, -1: less need) and returns an array of the
same shape where **a higher value always means more need**. Missing values stay missing: a
normalisation never fills a gap. Statistics (min, max, mean, ...) are computed per column over
the known values, on the whole set of rows given: the index is normalised on all of France and
filtered afterwards, so that a commune's value does not depend on the territory displayed.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import rankdata

METHODS: dict[str, str] = {
    "minmax": "min–max (0–100)",
    "zscore": "score z (écart à la moyenne en écarts-types)",
    "percentile": "rang centile (0–100)",
    "distance": "écart relatif à la valeur nationale (%)",
}
# Methods whose output already lies in [0, 100]: their arithmetic aggregate is a 0–100 score.
BOUNDED = frozenset({"minmax", "percentile"})


def _as_2d(values: np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return array[:, None] if array.ndim == 1 else array


def _directions(direction, k: int) -> np.ndarray:
    d = np.broadcast_to(np.asarray(direction, dtype=float), (k,)).copy()
    if not np.all(np.isin(d, (-1.0, 1.0))):
        raise ValueError("Le sens de chaque indicateur agrégé doit valoir +1 ou -1.")
    return d


def minmax(values: np.ndarray, direction=1, low: float = 0.0, high: float = 100.0) -> np.ndarray:
    """``(x - min) / (max - min)`` scaled to [low, high]; reversed when direction is -1.

    A constant column carries no information: it becomes the middle of the range.
    """
    x = _as_2d(values)
    d = _directions(direction, x.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanmin(x, axis=0)
        hi = np.nanmax(x, axis=0)
    span = hi - lo
    safe = np.where(span > 0, span, 1.0)
    unit = np.where(d > 0, (x - lo) / safe, (hi - x) / safe)
    unit = np.where(span > 0, unit, np.where(np.isnan(x), np.nan, 0.5))
    return low + (high - low) * unit


def zscore(values: np.ndarray, direction=1) -> np.ndarray:
    """``d × (x - mean) / sd`` (population standard deviation, ddof=0)."""
    x = _as_2d(values)
    d = _directions(direction, x.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(x, axis=0)
        sd = np.nanstd(x, axis=0)
    safe = np.where(sd > 0, sd, 1.0)
    z = d * (x - mean) / safe
    return np.where(sd > 0, z, np.where(np.isnan(x), np.nan, 0.0))


def percentile(values: np.ndarray, direction=1) -> np.ndarray:
    """Percentile rank ``100 × (r - 1) / (n - 1)``, ties at their average rank.

    ``r`` is the rank of ``d × x`` among the ``n`` known values of the column: the commune with
    the most need gets 100, the one with the least 0.
    """
    x = _as_2d(values)
    d = _directions(direction, x.shape[1])
    ranks = rankdata(d * x, axis=0, nan_policy="omit", method="average")
    n = np.sum(~np.isnan(x), axis=0)
    safe = np.where(n > 1, n - 1, 1)
    out = 100.0 * (ranks - 1.0) / safe
    return np.where(n > 1, out, np.where(np.isnan(x), np.nan, 50.0))


def distance(values: np.ndarray, reference, direction=1) -> np.ndarray:
    """Relative distance to the national value, in %: ``d × 100 × (x - ref) / |ref|``.

    Where the national value is 0 the relative distance is undefined: the absolute difference
    ``d × (x - ref)`` is used for that column instead.
    """
    x = _as_2d(values)
    d = _directions(direction, x.shape[1])
    ref = np.broadcast_to(np.asarray(reference, dtype=float), (x.shape[1],))
    scale = np.where(ref != 0, np.abs(ref) / 100.0, 1.0)
    return d * (x - ref) / scale


def normalise(
    values: np.ndarray, method: str, direction=1, reference=None
) -> np.ndarray:
    """Dispatch to one of :data:`METHODS`; ``reference`` (national values) for "distance"."""
    if method == "minmax":
        return minmax(values, direction)
    if method == "zscore":
        return zscore(values, direction)
    if method == "percentile":
        return percentile(values, direction)
    if method == "distance":
        if reference is None:
            raise ValueError("La normalisation « distance » demande les valeurs nationales.")
        return distance(values, reference, direction)
    raise ValueError(
        f"Normalisation inconnue : « {method} ». Choix possibles : {', '.join(METHODS)}."
    )


def to_positive_scale(normalised: np.ndarray) -> np.ndarray:
    """Min–max onto [1, 100] (direction already applied), for the geometric mean.

    The geometric mean needs strictly positive values (OECD/JRC handbook); a linear
    normalisation (min–max, z-score, distance) followed by this rescaling gives the same values
    as min–max on [1, 100], so with geometric aggregation only the percentile normalisation and
    the outlier treatment change the result.
    """
    return minmax(normalised, 1, low=1.0, high=100.0)
