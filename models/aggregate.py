"""Weighted aggregation of normalised indicators: arithmetic and geometric means.

Missing values are handled by the explicit rule "re-weighting over the available indicators":
a commune's aggregate is the weighted mean of the indicators it has, and the share of the total
weight it has is returned as its *coverage*, so that the pipeline can refuse to rank a commune
whose coverage is too low ("données insuffisantes"). Everything is a matrix product, so that
re-scoring all of France after a weight change costs a few milliseconds, and the Monte-Carlo can
score many weight vectors at once (``weights`` of shape ``(k, draws)``).
"""

from __future__ import annotations

import numpy as np

AGGREGATIONS: dict[str, str] = {
    "arithmetic": "moyenne arithmétique pondérée (compensatoire)",
    "geometric": "moyenne géométrique pondérée (peu compensatoire)",
}


def normalise_weights(weights: np.ndarray) -> np.ndarray:
    """Weights scaled to sum to 1 (per column when 2-D); negative weights are refused."""
    w = np.asarray(weights, dtype=float)
    if np.any(w < 0) or np.any(~np.isfinite(w)):
        raise ValueError("Les poids doivent être des nombres positifs ou nuls.")
    total = w.sum(axis=0)
    if np.any(total <= 0):
        raise ValueError("La somme des poids doit être strictement positive.")
    return w / total


def _masked(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    present = ~np.isnan(values)
    return np.where(present, values, 0.0), present.astype(float)


def arithmetic(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted arithmetic mean over the available indicators of each row.

    Parameters
    ----------
    values
        ``(n, k)`` normalised values (NaN = missing).
    weights
        ``(k,)`` or ``(k, draws)`` non-negative weights summing to 1.

    Returns
    -------
    (aggregate, coverage): ``(n,)`` or ``(n, draws)`` arrays; the aggregate is NaN where no
    weighted indicator is available; coverage is the share of the weight that was available.
    """
    filled, present = _masked(values)
    coverage = present @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        aggregate = (filled @ weights) / coverage
    return np.where(coverage > 0, aggregate, np.nan), coverage


def geometric(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted geometric mean ``exp(Σ wᵢ log xᵢ / Σ wᵢ)`` over the available indicators.

    Values must be strictly positive (see :func:`models.normalise.to_positive_scale`).
    """
    if np.nanmin(values) <= 0:
        raise ValueError("La moyenne géométrique demande des valeurs strictement positives.")
    aggregate, coverage = arithmetic(np.log(values), weights)
    return np.exp(aggregate), coverage


def aggregate(
    values: np.ndarray, weights: np.ndarray, method: str = "arithmetic"
) -> tuple[np.ndarray, np.ndarray]:
    """Dispatch to :func:`arithmetic` or :func:`geometric`."""
    if method == "arithmetic":
        return arithmetic(values, weights)
    if method == "geometric":
        return geometric(values, weights)
    raise ValueError(
        f"Agrégation inconnue : « {method} ». Choix possibles : {', '.join(AGGREGATIONS)}."
    )


def contributions(
    values: np.ndarray, weights: np.ndarray, method: str = "arithmetic"
) -> np.ndarray:
    """Each indicator's share of each row's aggregate, in the aggregate's unit.

    Arithmetic: ``wᵢ xᵢ / Σ_available w``, which sums to the aggregate. Geometric: the
    aggregate is split in proportion to ``wᵢ log xᵢ`` (its log-decomposition). Missing → NaN.
    """
    w = np.asarray(weights, dtype=float)
    present = ~np.isnan(values)
    available = present @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "arithmetic":
            return np.where(present, values * w / available[:, None], np.nan)
        if method == "geometric":
            logs = np.where(present, np.log(values) * w, 0.0)
            total = logs.sum(axis=1)
            agg = np.exp(total / available)
            share = logs / np.where(total != 0, total, np.nan)[:, None]
            return np.where(present, share * agg[:, None], np.nan)
    raise ValueError(f"Agrégation inconnue : « {method} ».")
