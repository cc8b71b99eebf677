"""Hand-computed cases for each normalisation, aggregation and the outlier treatment."""

from __future__ import annotations

import numpy as np
import pytest

from models import aggregate as agg
from models import normalise as norm
from models.treatment import treat_column

NAN = np.nan
X = np.array([[1.0, 10.0], [2.0, 30.0], [4.0, NAN], [5.0, 20.0]])


def test_minmax_by_hand_with_direction_and_missing():
    out = norm.minmax(X, direction=[1, -1])
    # column 1: (x - 1) / 4 * 100; column 2 reversed: (30 - x) / 20 * 100
    expected = np.array([[0.0, 100.0], [25.0, 0.0], [75.0, NAN], [100.0, 50.0]])
    np.testing.assert_allclose(out, expected)


def test_zscore_by_hand():
    out = norm.zscore(X[:, :1], direction=1)
    # mean 3, population sd sqrt(((4 + 1 + 1 + 4) / 4)) = sqrt(2.5)
    expected = (np.array([1.0, 2.0, 4.0, 5.0]) - 3.0) / np.sqrt(2.5)
    np.testing.assert_allclose(out[:, 0], expected)
    np.testing.assert_allclose(norm.zscore(X[:, :1], direction=-1)[:, 0], -expected)


def test_percentile_by_hand_with_ties_and_missing():
    values = np.array([[3.0], [1.0], [3.0], [NAN], [7.0]])
    out = norm.percentile(values, direction=1)
    # ranks among 4 known values: 1 -> 1, 3 -> 2.5 (tie), 7 -> 4 ; (r - 1) / 3 * 100
    np.testing.assert_allclose(out[:, 0], [50.0, 0.0, 50.0, NAN, 100.0])
    np.testing.assert_allclose(norm.percentile(values, direction=-1)[:, 0], [50.0, 100.0, 50.0, NAN, 0.0])


def test_distance_to_national_value_by_hand():
    out = norm.distance(X, reference=[2.0, 20.0], direction=[1, -1])
    # 100 * (x - ref) / ref, reversed for the second column
    expected = np.array([[-50.0, 50.0], [0.0, -50.0], [100.0, NAN], [150.0, 0.0]])
    np.testing.assert_allclose(out, expected)
    # a national value of 0: absolute difference
    np.testing.assert_allclose(norm.distance(np.array([[1.0], [3.0]]), [0.0], 1)[:, 0], [1.0, 3.0])


def test_constant_column_and_errors():
    constant = np.array([[2.0], [2.0], [NAN]])
    np.testing.assert_allclose(norm.minmax(constant)[:, 0], [50.0, 50.0, NAN])
    np.testing.assert_allclose(norm.zscore(constant)[:, 0], [0.0, 0.0, NAN])
    with pytest.raises(ValueError, match="Normalisation inconnue"):
        norm.normalise(X, "rang", 1)
    with pytest.raises(ValueError, match="valeurs nationales"):
        norm.normalise(X, "distance", 1)
    with pytest.raises(ValueError, match="sens"):
        norm.minmax(X, direction=[1, 0])


def test_positive_scale_for_geometric_mean():
    out = norm.to_positive_scale(np.array([[-2.0], [0.0], [2.0]]))
    np.testing.assert_allclose(out[:, 0], [1.0, 50.5, 100.0])


def test_arithmetic_aggregation_by_hand_with_reweighting():
    values = np.array([[40.0, 80.0, 20.0], [10.0, NAN, 70.0], [NAN, NAN, NAN]])
    weights = agg.normalise_weights(np.array([2.0, 1.0, 1.0]))  # 0.5, 0.25, 0.25
    aggregate, coverage = agg.arithmetic(values, weights)
    # row 1: 0.5*40 + 0.25*80 + 0.25*20 = 45 ; row 2: (0.5*10 + 0.25*70) / 0.75 = 30
    np.testing.assert_allclose(aggregate, [45.0, 30.0, NAN])
    np.testing.assert_allclose(coverage, [1.0, 0.75, 0.0])
    parts = agg.contributions(values, weights, "arithmetic")
    np.testing.assert_allclose(np.nansum(parts, axis=1)[:2], aggregate[:2])
    np.testing.assert_allclose(parts[1], [5.0 / 0.75, NAN, 17.5 / 0.75])


def test_geometric_aggregation_by_hand():
    values = np.array([[4.0, 16.0], [10.0, NAN]])
    weights = np.array([0.5, 0.5])
    aggregate, coverage = agg.geometric(values, weights)
    # sqrt(4 * 16) = 8 ; a single available value is its own mean
    np.testing.assert_allclose(aggregate, [8.0, 10.0])
    np.testing.assert_allclose(coverage, [1.0, 0.5])
    parts = agg.contributions(values, weights, "geometric")
    np.testing.assert_allclose(np.nansum(parts, axis=1), aggregate)
    # log-decomposition: log 4 / log 64 = 1/3 of 8
    np.testing.assert_allclose(parts[0], [8.0 / 3.0, 16.0 / 3.0])
    with pytest.raises(ValueError, match="strictement positives"):
        agg.geometric(np.array([[0.0, 1.0]]), weights)


def test_many_weight_vectors_at_once():
    values = np.array([[1.0, 3.0], [2.0, NAN]])
    weights = np.array([[0.5, 1.0], [0.5, 0.0]])  # two draws as columns
    aggregate, _ = agg.arithmetic(values, weights)
    np.testing.assert_allclose(aggregate, [[2.0, 1.0], [2.0, 2.0]])


def test_weights_validation():
    with pytest.raises(ValueError, match="positifs"):
        agg.normalise_weights(np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="strictement positive"):
        agg.normalise_weights(np.array([0.0, 0.0]))


def test_winsorisation_clips_only_the_tail():
    rng = np.random.default_rng(1)
    values = np.concatenate([rng.normal(50, 5, 995), [400, 500, 600, 700, 800]])
    values[3] = NAN
    out, decision = treat_column(values, winsor_max_share=0.01)
    assert decision.method == "winsorisation"
    assert decision.winsorised == 5
    assert np.isnan(out[3])
    limit = np.nanmax(values[:995])
    assert np.nanmax(out) == pytest.approx(limit)
    untouched = ~np.isnan(values) & (values <= limit)
    np.testing.assert_array_equal(out[untouched], values[untouched])


def test_log_when_winsorising_is_not_enough_and_order_is_kept():
    values = np.random.default_rng(2).lognormal(0, 2.0, 2000)
    out, decision = treat_column(values, winsor_max_share=0.001)
    assert decision.method == "log"
    assert abs(decision.skew_after) < abs(decision.skew_before)
    np.testing.assert_array_equal(np.argsort(out), np.argsort(values))


def test_binary_and_symmetric_columns_are_not_treated():
    binary = np.r_[np.zeros(990), np.ones(10)]
    assert treat_column(binary)[1].method == "aucun"
    symmetric = np.random.default_rng(3).normal(size=1000)
    out, decision = treat_column(symmetric)
    assert decision.method == "aucun"
    np.testing.assert_array_equal(out, symmetric)
