"""Distance-decay functions (models/decay.py), values checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models import accessibility as acc
from models import decay

D0 = np.full(5, 30.0)
D = np.array([0.0, 10.0, 15.0, 30.0, 31.0])


def test_uniform_is_one_inside_zero_outside():
    assert decay.uniform(D, D0).tolist() == [1, 1, 1, 1, 0]


def test_step_relative_zones_luo_qi():
    w = decay.step(D, D0)  # zones of 10 / 20 / 30 on a 30 catchment: 1, 0.68, 0.22
    assert w.tolist() == [1.0, 1.0, 0.68, 0.22, 0.0]


def test_step_absolute_like_access_step_fn():
    w = decay.step(np.array([5.0, 10.0, 11.0, 25.0, 35.0]), np.full(5, 100.0),
                   breaks=[10, 20, 30], weights=[1, 0.68, 0.22], relative=False)
    assert w.tolist() == [1.0, 1.0, 0.68, 0.22, 0.0]


def test_gaussian_dai_normalised():
    w = decay.gaussian(D, D0)
    edge = math.exp(-0.5)
    expected_10 = (math.exp(-0.5 * (1 / 3) ** 2) - edge) / (1 - edge)
    assert w[0] == pytest.approx(1.0)
    assert w[1] == pytest.approx(expected_10)
    assert w[3] == pytest.approx(0.0, abs=1e-12)
    assert w[4] == 0.0
    assert np.all(np.diff(w[:4]) < 0)


def test_exponential_and_power():
    assert decay.exponential(D, D0, beta=3.0)[1] == pytest.approx(math.exp(-1.0))
    w = decay.power(np.array([0.0, 500.0, 2000.0, 4000.0]), np.full(4, 3000.0), beta=2.0,
                    min_distance_m=1000.0)
    assert w.tolist() == [1.0, 1.0, 0.25, 0.0]


def test_from_config_and_errors_in_french():
    function = decay.from_config({"method": "step", "step": {"breaks": [0.5, 1.0],
                                                             "weights": [1.0, 0.5]}})
    assert function(np.array([10.0, 20.0]), np.array([30.0, 30.0])).tolist() == [1.0, 0.5]
    with pytest.raises(decay.DecayError, match="inconnue"):
        decay.make_decay("cubique")
    with pytest.raises(decay.DecayError, match="autant de seuils"):
        decay.make_decay("step", breaks=[1, 2], weights=[1.0])
    with pytest.raises(decay.DecayError, match="Paramètres invalides"):
        decay.make_decay("gaussian", sigma=3)


def test_configured_decay_is_in_unit_interval():
    function = acc.decay_for("e2sfca")
    distance = np.linspace(0, 40_000, 81)
    weights = function(distance, np.full_like(distance, 20_000.0))
    assert ((weights >= 0) & (weights <= 1)).all()
    assert weights[distance > 20_000].max() == 0.0
    assert acc.decay_for("2sfca") is decay.uniform
