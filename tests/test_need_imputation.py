"""Imputation of a secret rate: published values kept, flags, intervals, seed, CV by size.

The data are synthetic (seeded): a rate that depends on income and département, published only
for the largest communes, as INSEE does for TP60.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.imputation import (
    MODEL_FULL,
    MODEL_REDUCED,
    NOT_IMPUTED,
    PUBLISHED,
    impute_rate,
    size_classes,
)


def synthetic(n: int = 1500, seed: int = 7):
    rng = np.random.default_rng(seed)
    codes = pd.Index([f"{i:05d}" for i in range(n)], name="code")
    households = pd.Series(np.exp(rng.uniform(3, 9, n)).round(), index=codes)
    income = rng.normal(22000, 3000, n)
    dep = rng.choice(["01", "02", "2A"], n)
    truth = 60 - 0.002 * income + np.where(dep == "2A", 4.0, 0.0) + rng.normal(0, 0.8, n)
    published = households >= households.quantile(0.7)
    target = pd.Series(np.where(published, truth.round(), np.nan), index=codes)
    features = pd.DataFrame(
        {
            "median_income": income,
            "unemployment_rate": rng.uniform(5, 15, n),
            "dep_code": pd.Categorical(dep),
        },
        index=codes,
    )
    # a few small communes whose income is secret, and one with nothing known
    features.iloc[:20, 0] = np.nan
    features.iloc[20, :2] = np.nan
    target.iloc[:21] = np.nan
    return target, features, households, pd.Series(truth, index=codes)


@pytest.fixture(scope="module")
def result():
    target, features, households, truth = synthetic()
    return target, truth, impute_rate(target, features, households, core=["median_income"], seed=3)


def test_published_values_are_never_overwritten(result):
    target, _, res = result
    known = target.notna()
    pd.testing.assert_series_equal(res.value[known], target[known].astype(float))
    assert (res.method[known] == PUBLISHED).all()
    assert not res.imputed[known].any()
    assert (res.low[known] == target[known]).all() and (res.high[known] == target[known]).all()


def test_gaps_are_filled_flagged_and_bounded(result):
    target, truth, res = result
    filled = res.imputed
    assert filled.sum() == target.isna().sum() - 1  # all but the commune with nothing known
    assert (res.method[:20] == MODEL_REDUCED).all()
    assert res.method.iat[20] == NOT_IMPUTED and np.isnan(res.value.iat[20])
    assert set(res.method[filled]) <= {MODEL_FULL, MODEL_REDUCED}
    assert ((res.low <= res.value) & (res.value <= res.high))[filled].all()
    assert res.value[filled].between(0, 100).all()
    # the model learnt the relation: far better than predicting the mean of the known values
    full = res.method == MODEL_FULL
    model_error = (res.value[full] - truth[full]).abs().mean()
    naive_error = (target.mean() - truth[full]).abs().mean()
    assert model_error < naive_error / 2


def test_cross_validation_is_reported_by_size_class(result):
    target, _, res = result
    cv = res.cv
    full = cv[cv["modèle"] == MODEL_FULL]
    assert list(full["classe_taille"]) == [0, 1, 2, 3, 4, "toutes"]
    assert full["communes"].iloc[:5].sum() == target.notna().sum()
    smallest = full.iloc[0]
    assert res.mae_small == pytest.approx(smallest["mae_pts"])
    assert smallest["taille_max"] <= full.iloc[1]["taille_min"]
    # the conformal margin is calibrated on the smallest class: ~90 % coverage there
    assert smallest["couverture_90"] >= 0.85
    assert MODEL_REDUCED in set(cv["modèle"])


def test_same_seed_same_result_and_seed_matters():
    target, features, households, _ = synthetic(n=600)
    a = impute_rate(target, features, households, core=["median_income"], seed=5)
    b = impute_rate(target, features, households, core=["median_income"], seed=5)
    pd.testing.assert_series_equal(a.value, b.value)
    pd.testing.assert_series_equal(a.high, b.high)
    # the seed draws the folds, hence the out-of-fold errors and the conformal margin
    c = impute_rate(target, features, households, core=["median_income"], seed=6)
    assert not a.high.equals(c.high)
    assert not a.cv["mae_pts"].equals(c.cv["mae_pts"])


def test_size_classes_are_balanced_quantiles():
    classes = size_classes(pd.Series([5, 1, 3, 2, 4, 6]), 3)
    assert list(classes) == [2, 0, 1, 0, 1, 2]


def test_too_few_published_values_is_a_french_error():
    target, features, households, _ = synthetic(n=600)
    target[:] = np.nan
    target.iloc[:10] = 12.0
    with pytest.raises(ValueError, match="Trop peu de valeurs publiées"):
        impute_rate(target, features, households)
