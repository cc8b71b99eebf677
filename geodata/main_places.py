"""Which communes to name on a map: the most populous, spread over it.

A map shown at a meeting is read by its place names; naming every commune makes a grey mass,
naming the largest ones only piles the names of a conurbation on each other. The rule, shared
by the report's static maps and the app's maps: the most populous first, and a commune closer
than ``spacing`` to one already named is skipped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LABELLED_COMMUNES = 8  # names on a territory's map


def spread_largest(frame: pd.DataFrame, spacing: float,
                   count: int = LABELLED_COMMUNES) -> pd.DataFrame:
    """The rows of ``frame`` (``x``, ``y`` in one metric unit, ``population``, ``code``) to
    name, largest first, none closer than ``spacing`` to another. Rows without population or
    position are never named."""
    usable = frame[pd.to_numeric(frame["population"], errors="coerce").notna()
                   & frame["x"].notna() & frame["y"].notna()]
    ranked = usable.assign(_p=pd.to_numeric(usable["population"], errors="coerce")).sort_values(
        ["_p", "code"], ascending=[False, True])
    chosen: list[int] = []
    xs, ys = ranked["x"].to_numpy(float), ranked["y"].to_numpy(float)
    for i in range(len(ranked)):
        if any((xs[i] - xs[j]) ** 2 + (ys[i] - ys[j]) ** 2 < spacing ** 2 for j in chosen):
            continue
        chosen.append(i)
        if len(chosen) == count:
            break
    return ranked.iloc[chosen].drop(columns="_p")


def lonlat_to_km(lon: pd.Series, lat: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Kilometres on a plane tangent at the points' mean latitude: enough to compare the
    distances between communes of one territory."""
    lat0 = np.deg2rad(float(np.nanmean(lat))) if len(lat) else 0.0
    return (np.asarray(lon, float) * 111.32 * np.cos(lat0), np.asarray(lat, float) * 110.57)
