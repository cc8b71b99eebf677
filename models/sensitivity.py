"""Uncertainty and sensitivity analysis of the ranking by Monte-Carlo (COINr ``get_sensitivity``).

Each draw perturbs the method as a reasonable analyst might: every weight is multiplied by an
independent uniform factor in ``[1 - noise, 1 + noise]`` (then re-normalised), and the
normalisation is drawn at random among the allowed methods. The communes are ranked in every
draw (rank 1 = most need); the distribution of each commune's rank gives its median and its
90 % interval (5th–95th percentiles). A commune's top-decile status is *robust* when its whole
90 % interval lies in the top decile.

The draws are scored by chunks of matrix products (``(n, k) @ (k, chunk)``) and ranked with one
``argsort`` per chunk: 1,000 draws over the 34,875 communes stay within a few seconds and a
few hundred MB (ranks are kept as ``int32``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.aggregate import normalise_weights


@dataclass
class SensitivityResult:
    """Rank statistics per row of the ranked set (rank 1 = most need)."""

    base_rank: np.ndarray
    rank_median: np.ndarray
    rank_p05: np.ndarray
    rank_p95: np.ndarray
    top_decile_share: np.ndarray
    top_decile_robust: np.ndarray
    params: dict = field(default_factory=dict)


def rank_desc(scores: np.ndarray) -> np.ndarray:
    """Ranks along the last axis, 1 = highest score (ties broken by position)."""
    order = np.argsort(-scores, axis=-1, kind="stable")
    ranks = np.empty(scores.shape, dtype=np.int32)
    positions = np.broadcast_to(np.arange(1, scores.shape[-1] + 1, dtype=np.int32), scores.shape)
    np.put_along_axis(ranks, order, positions, axis=-1)
    return ranks


def _scores(values: np.ndarray, weights: np.ndarray, aggregation: str) -> np.ndarray:
    """Aggregates of every draw, shape ``(draws, n)``, for ranking only."""
    present = ~np.isnan(values)
    filled = np.where(present, np.log(values) if aggregation == "geometric" else values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((filled @ weights) / (present.astype(float) @ weights)).T


def monte_carlo(
    normalised: dict[str, np.ndarray],
    base_weights: np.ndarray,
    base_method: str,
    *,
    draws: int = 1000,
    weight_noise: float = 0.5,
    methods: tuple[str, ...] | None = None,
    aggregation: str = "arithmetic",
    seed: int = 0,
    chunk: int = 100,
) -> SensitivityResult:
    """Monte-Carlo ranks of the rows of the normalised matrices.

    Parameters
    ----------
    normalised
        ``{method: (n, k) array}``: the same rows (only the communes to rank, e.g. the scored
        communes of a territory; ranks are within these rows) normalised by each method allowed
        in the draws (for geometric aggregation, already on a positive scale).
    base_weights
        ``(k,)`` weights of the base configuration (zeros stay zero).
    base_method
        Normalisation of the base configuration (its ranks are ``base_rank``).
    methods
        Normalisations drawn from (uniformly); default all keys of ``normalised``.

    Returns
    -------
    :class:`SensitivityResult` with one entry per row.
    """
    methods = tuple(methods or normalised)
    missing = [m for m in (*methods, base_method) if m not in normalised]
    if missing:
        raise ValueError(f"Normalisations absentes pour l'analyse de sensibilité : {missing}.")
    if not 0 <= weight_noise < 1:
        raise ValueError("Le bruit sur les poids doit être compris entre 0 et 1 (exclu).")
    base = normalise_weights(np.asarray(base_weights, dtype=float))
    n = normalised[base_method].shape[0]
    rng = np.random.default_rng(seed)
    factors = rng.uniform(1 - weight_noise, 1 + weight_noise, size=(base.size, draws))
    weights = normalise_weights(base[:, None] * factors)
    chosen = rng.integers(0, len(methods), size=draws)

    ranks = np.empty((draws, n), dtype=np.int32)
    for m_index, method in enumerate(methods):
        columns = np.flatnonzero(chosen == m_index)
        for start in range(0, columns.size, chunk):
            part = columns[start : start + chunk]
            ranks[part] = rank_desc(_scores(normalised[method], weights[:, part], aggregation))

    base_rank = rank_desc(_scores(normalised[base_method], base[:, None], aggregation))[0]
    p05, median, p95 = np.percentile(ranks, [5, 50, 95], axis=0)
    cutoff = max(1, int(np.ceil(n / 10)))
    share = (ranks <= cutoff).mean(axis=0)
    params = {
        "tirages": draws,
        "bruit_poids": f"facteur uniforme dans [{1 - weight_noise:g} ; {1 + weight_noise:g}]",
        "normalisations_tirées": list(methods),
        "tirages_par_normalisation": {m: int((chosen == i).sum()) for i, m in enumerate(methods)},
        "agrégation": aggregation,
        "graine": seed,
        "communes_classées": n,
        "seuil_premier_décile": cutoff,
        "définition_robuste": "intervalle 90 % du rang entièrement dans le premier décile",
    }
    return SensitivityResult(
        base_rank=base_rank,
        rank_median=median,
        rank_p05=p05,
        rank_p95=p95,
        top_decile_share=share,
        top_decile_robust=p95 <= cutoff,
        params=params,
    )
