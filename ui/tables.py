"""Tables shown in French format (« 1 234,5 », « oui / non », « — » when missing).

``st.dataframe`` formats numbers with the browser's locale or a printf pattern (decimal
point); a pandas ``Styler`` gives it French display values while the cells keep their numbers,
so sorting by a column title stays numeric.
"""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from diagnostics.formatting import MISSING, fr_number

MAX_STYLED_CELLS = 250_000  # pandas' default limit of styled cells is 262,144


def _number(decimals: int):
    return lambda v: MISSING if pd.isna(v) else fr_number(v, decimals)


def _yes_no(value) -> str:
    if pd.isna(value):
        return MISSING
    return "oui" if bool(value) else "non"


def french(frame: pd.DataFrame, decimals: dict[str, int] | None = None) -> Styler | pd.DataFrame:
    """A Styler showing ``frame`` in French format (the frame itself when too large to style).

    ``decimals`` gives the decimals of some columns; integer-valued columns get none, other
    numbers one.
    """
    if frame.size > MAX_STYLED_CELLS:
        return frame
    decimals = decimals or {}
    formatters = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series):
            formatters[column] = _yes_no
        elif pd.api.types.is_numeric_dtype(series):
            if column in decimals:
                digits = decimals[column]
            else:
                known = series.dropna()
                digits = 0 if len(known) == 0 or (known.astype(float) % 1 == 0).all() else 1
            formatters[column] = _number(digits)
    return frame.style.format(formatters, na_rep=MISSING)
