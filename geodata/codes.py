"""Membership of commune (or any) codes, fast on pandas' Arrow strings.

pandas 3 stores text as Arrow strings, whose ``isin`` turns every wanted value into an Arrow
scalar in a Python loop: 0.34 s to test the 34,875 communes against all France, on every page
run of a national map. Hashing the codes in an object ``Index`` gives the same answer in
0.05 s.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

# Below this many codes, pandas' own isin is the faster (measured: equal at about 1,000 codes
# against 35,000 values; 0.003 s against 0.016 s for 100 codes).
HASH_FROM = 1000


def is_among(values: pd.Series | pd.Index | np.ndarray, codes: Iterable) -> np.ndarray:
    """``values.isin(codes)`` as a boolean array (missing values are never among the codes)."""
    if not isinstance(codes, (pd.Index, pd.Series, np.ndarray, list, tuple)):
        codes = list(codes)
    lookup = pd.Index(np.asarray(codes, dtype=object)).dropna().unique()
    if len(lookup) < HASH_FROM:
        # (a copy: pandas may hand back a read-only view; lookup holds no NaN)
        return np.array(pd.Series(values).isin(lookup), dtype=bool)
    return lookup.get_indexer(np.asarray(values, dtype=object)) >= 0
