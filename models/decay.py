"""Distance-decay functions for floating catchment methods (2SFCA, E2SFCA).

Every function has the same vectorised signature ``weight(distance, catchment) -> weight``:
``distance`` and ``catchment`` are arrays (metres) of the same shape, and the weight is in
``[0, 1]`` inside the catchment (``distance <= catchment``) and exactly ``0`` outside it. Keeping
the catchment as an argument lets each demand location have its own catchment size (a rural
household travels farther than an urban one) and lets the decay be expressed on the *relative*
distance ``distance / catchment``, so that one shape serves every density class.

References
----------
Luo, W. & Wang, F. (2003). Measures of spatial accessibility to health care in a GIS environment.
Luo, W. & Qi, Y. (2009). An enhanced two-step floating catchment area (E2SFCA) method.
Dai, D. (2010). Black residential segregation, disparities in spatial access to health care
facilities (Gaussian 2SFCA).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

DecayFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


class DecayError(ValueError):
    """An invalid decay specification (French message)."""


def _inside(distance: np.ndarray, catchment: np.ndarray) -> np.ndarray:
    return np.asarray(distance, dtype=float) <= np.asarray(catchment, dtype=float)


def uniform(distance: np.ndarray, catchment: np.ndarray) -> np.ndarray:
    """Weight 1 inside the catchment: the classic 2SFCA of Luo & Wang (2003)."""
    return _inside(distance, catchment).astype(float)


def step(
    distance: np.ndarray,
    catchment: np.ndarray,
    breaks: Sequence[float] = (1 / 3, 2 / 3, 1.0),
    weights: Sequence[float] = (1.0, 0.68, 0.22),
    relative: bool = True,
) -> np.ndarray:
    """Zonal weights of the E2SFCA (Luo & Qi 2009).

    ``breaks`` are upper bounds (inclusive) of the zones, as fractions of the catchment when
    ``relative`` is true, in metres otherwise (like ``access.weights.step_fn``). Beyond the last
    break, or beyond the catchment, the weight is 0.
    """
    breaks_arr = np.asarray(breaks, dtype=float)
    weights_arr = np.asarray(weights, dtype=float)
    if breaks_arr.shape != weights_arr.shape or breaks_arr.size == 0:
        raise DecayError("Fonction en escalier : il faut autant de seuils que de poids.")
    if np.any(np.diff(breaks_arr) <= 0):
        raise DecayError("Fonction en escalier : les seuils doivent être strictement croissants.")
    if np.any(weights_arr < 0):
        raise DecayError("Fonction en escalier : les poids doivent être positifs ou nuls.")
    distance = np.asarray(distance, dtype=float)
    catchment = np.asarray(catchment, dtype=float)
    x = distance / catchment if relative else distance
    zone = np.searchsorted(breaks_arr, x, side="left")
    padded = np.append(weights_arr, 0.0)
    return np.where(_inside(distance, catchment), padded[zone], 0.0)


def gaussian(distance: np.ndarray, catchment: np.ndarray) -> np.ndarray:
    """Gaussian decay normalised on the catchment (Dai 2010): 1 at 0, 0 at the catchment edge.

    ``w = (exp(-½ (d/d0)²) - exp(-½)) / (1 - exp(-½))`` for ``d <= d0``.
    """
    distance = np.asarray(distance, dtype=float)
    catchment = np.asarray(catchment, dtype=float)
    edge = np.exp(-0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = (np.exp(-0.5 * (distance / catchment) ** 2) - edge) / (1.0 - edge)
    return np.where(_inside(distance, catchment), w, 0.0)


def exponential(distance: np.ndarray, catchment: np.ndarray, beta: float = 3.0) -> np.ndarray:
    """``exp(-beta · d/d0)`` inside the catchment."""
    distance = np.asarray(distance, dtype=float)
    catchment = np.asarray(catchment, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.exp(-beta * distance / catchment)
    return np.where(_inside(distance, catchment), w, 0.0)


def power(
    distance: np.ndarray, catchment: np.ndarray, beta: float = 1.5, min_distance_m: float = 1000.0
) -> np.ndarray:
    """Gravity decay ``(max(d, d_min) / d_min) ** -beta`` inside the catchment (1 up to d_min).

    The floor ``d_min`` avoids the infinite weight of a gravity model at distance 0.
    """
    if min_distance_m <= 0:
        raise DecayError("Décroissance gravitaire : la distance minimale doit être positive.")
    distance = np.asarray(distance, dtype=float)
    w = (np.maximum(distance, min_distance_m) / min_distance_m) ** (-beta)
    return np.where(_inside(distance, catchment), w, 0.0)


METHODS: dict[str, Callable[..., np.ndarray]] = {
    "uniform": uniform,
    "step": step,
    "gaussian": gaussian,
    "exponential": exponential,
    "power": power,
}

LABELS_FR: dict[str, str] = {
    "uniform": "aucune décroissance (2SFCA classique)",
    "step": "paliers (E2SFCA, Luo & Qi 2009)",
    "gaussian": "gaussienne (Dai 2010)",
    "exponential": "exponentielle",
    "power": "gravitaire (puissance)",
}


def make_decay(method: str, **parameters: Any) -> DecayFunction:
    """The decay function ``method`` with its parameters bound."""
    if method not in METHODS:
        known = ", ".join(sorted(METHODS))
        raise DecayError(f"Décroissance « {method} » inconnue (connues : {known}).")
    try:
        function = partial(METHODS[method], **parameters) if parameters else METHODS[method]
        function(np.array([0.0]), np.array([1.0]))  # validate the parameters now
    except TypeError as exc:
        raise DecayError(f"Paramètres invalides pour la décroissance « {method} » : {exc}") from exc
    return function


def from_config(config: Mapping[str, Any]) -> DecayFunction:
    """Build the decay from the ``decay`` block of ``models/access.yaml``.

    ``{"method": "gaussian"}`` or ``{"method": "step", "step": {"breaks": [...], ...}}``: the
    parameters of a method sit under a key of the same name.
    """
    method = str(config.get("method", "uniform"))
    parameters = dict(config.get(method) or {})
    return make_decay(method, **parameters)
