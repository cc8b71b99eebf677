"""The report's quantile classes are mapclassify's, computed without importing it.

``diagnostics.classes`` no longer imports mapclassify (which pulls scikit-learn, scipy.stats
and matplotlib.pyplot into the report's command line); its bins must stay the same numbers.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from diagnostics.classes import quantile_bins, quantile_breaks


@pytest.mark.parametrize("n", [2, 3, 5, 7, 10, 37, 647, 4000])
@pytest.mark.parametrize("k", [3, 4, 5, 6, 7])
def test_quantile_bins_equal_mapclassify(n: int, k: int) -> None:
    mapclassify = pytest.importorskip("mapclassify")
    rng = np.random.default_rng(n * 10 + k)
    samples = [
        rng.normal(size=n),
        rng.integers(0, 5, size=n).astype(float),  # many ties: fewer classes than k
        rng.lognormal(size=n) * 1e3,
        np.round(rng.random(n), 2),
    ]
    for values in samples:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = mapclassify.Quantiles(values, k=k).bins
        ours = quantile_bins(values, k)
        assert ours.tolist() == theirs.tolist()


def test_quantile_breaks_end_at_the_maximum() -> None:
    import pandas as pd

    values = pd.Series([1.0, 2.0, None, 3.0, 4.0, 5.0, 6.0, 7.0, 100.0])
    breaks = quantile_breaks(values, 4)
    assert breaks[-1] == 100.0
    assert breaks == sorted(breaks)
    assert len(breaks) == 4


def test_report_command_line_does_not_import_mapclassify_nor_folium() -> None:
    code = ("import sys, diagnostics.__main__, diagnostics.classes; "
            "print(sorted(m for m in ('mapclassify', 'sklearn', 'matplotlib.pyplot', 'folium') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
