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


def test_both_paths_agree_around_the_threshold():
    from geodata import codes as module

    values = pd.Series([f"{i:05d}" for i in range(3000)] + [None])
    for n in (module.HASH_FROM - 1, module.HASH_FROM, 2500):
        wanted = [f"{i:05d}" for i in range(0, 2 * n, 2)]
        np.testing.assert_array_equal(is_among(values, wanted), values.isin(wanted).to_numpy())


def test_the_answer_can_be_combined_in_place():
    """Callers write ``inside |= is_among(...)`` (a read-only pandas view once broke the map)."""
    values = pd.Series(["01001", "01002"])
    for codes in (["01001"], [f"{i:05d}" for i in range(2000)]):
        inside = is_among(values, codes)
        inside |= is_among(values, ["01002"])
        assert inside.tolist() == [True, True]
