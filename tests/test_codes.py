"""geodata.codes.is_among: the same answer as pandas' isin, missing values excluded."""

import numpy as np
import pandas as pd

from geodata.codes import is_among


def test_same_as_isin_on_arrow_strings_and_objects():
    values = pd.Series(["01001", "2A004", None, "59350", "2a004", "01001"])
    for codes in ({"01001", "2A004"}, ["59350", None], pd.Index(["2a004"]), ()):
        expected = values.isin([c for c in codes if c is not None]).to_numpy()
        np.testing.assert_array_equal(is_among(values, codes), expected)
        np.testing.assert_array_equal(is_among(values.astype(object), codes), expected)


def test_a_missing_value_is_never_among_the_codes():
    assert not is_among(pd.Series([None, np.nan], dtype=object), [None, "01001"]).any()
