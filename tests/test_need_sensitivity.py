"""Monte-Carlo sensitivity of the ranking: ranks by hand, seed, intervals, robustness."""

from __future__ import annotations

import numpy as np
import pytest

from models import normalise as norm
from models.sensitivity import monte_carlo, rank_desc


def test_rank_desc_by_hand():
    np.testing.assert_array_equal(rank_desc(np.array([0.2, 0.9, 0.5])), [3, 1, 2])
    # per row when 2-D (one row per draw)
    np.testing.assert_array_equal(
        rank_desc(np.array([[1.0, 2.0], [2.0, 1.0]])), [[2, 1], [1, 2]]
    )


def stack(n: int = 400, k: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    raw = rng.lognormal(size=(n, k))
    raw[rng.random((n, k)) < 0.05] = np.nan
    direction = np.ones(k)
    national = np.nanmean(raw, axis=0)
    return {m: norm.normalise(raw, m, direction, national) for m in norm.METHODS}


def test_no_perturbation_gives_the_base_rank_exactly():
    data = stack()
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    res = monte_carlo(data, weights, "minmax", draws=20, weight_noise=0.0, methods=("minmax",))
    np.testing.assert_array_equal(res.rank_p05, res.base_rank)
    np.testing.assert_array_equal(res.rank_p95, res.base_rank)
    np.testing.assert_array_equal(res.rank_median, res.base_rank)


def test_intervals_contain_the_base_rank_and_seed_reproduces():
    data = stack()
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    a = monte_carlo(data, weights, "minmax", draws=300, weight_noise=0.5, seed=11)
    b = monte_carlo(data, weights, "minmax", draws=300, weight_noise=0.5, seed=11)
    np.testing.assert_array_equal(a.rank_p05, b.rank_p05)
    np.testing.assert_array_equal(a.rank_p95, b.rank_p95)
    assert (a.rank_p05 <= a.rank_median).all() and (a.rank_median <= a.rank_p95).all()
    # weights only perturbed around the base: every base rank lies in its 90 % interval
    c = monte_carlo(data, weights, "minmax", draws=300, weight_noise=0.3, methods=("minmax",))
    assert ((c.base_rank >= c.rank_p05) & (c.base_rank <= c.rank_p95)).all()
    # with the normalisation drawn as well, intervals widen
    assert np.median(a.rank_p95 - a.rank_p05) > np.median(c.rank_p95 - c.rank_p05)
    d = monte_carlo(data, weights, "minmax", draws=300, weight_noise=0.5, seed=12)
    assert not np.array_equal(a.rank_p95, d.rank_p95)


def test_top_decile_robustness():
    n = 100
    values = np.linspace(0, 100, n)[:, None].repeat(2, axis=1)
    values[:, 1] = values[::-1, 1]  # second indicator says the opposite
    values[95:, 1] = 100.0  # ... except for the five highest, high on both
    data = {"minmax": values}
    res = monte_carlo(data, np.array([0.5, 0.5]), "minmax", draws=200, weight_noise=0.5)
    cutoff = res.params["seuil_premier_décile"]
    assert cutoff == 10
    assert res.top_decile_robust[95:].all()  # high on every indicator
    assert res.top_decile_robust.sum() <= cutoff
    assert not res.top_decile_robust[:5].any()
    np.testing.assert_array_equal(res.top_decile_robust, res.rank_p95 <= cutoff)


def test_invalid_parameters_are_french_errors():
    data = stack(n=20)
    with pytest.raises(ValueError, match="Normalisations absentes"):
        monte_carlo({"minmax": data["minmax"]}, np.ones(4), "minmax", methods=("zscore",))
    with pytest.raises(ValueError, match="bruit"):
        monte_carlo(data, np.ones(4), "minmax", weight_noise=1.5)
