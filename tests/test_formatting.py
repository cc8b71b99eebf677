"""French number formats."""

from __future__ import annotations

import math

import pandas as pd

from diagnostics.formatting import fr_bytes, fr_number, fr_percent, fr_signed


def test_numbers():
    assert fr_number(1234.5, 1) == "1\u202f234,5"
    assert fr_number(1234567) == "1\u202f234\u202f567"
    assert fr_number(0.5, 2) == "0,50"
    assert fr_number(-1234.56, 1) == "-1\u202f234,6"


def test_missing_is_a_dash_not_zero():
    for value in (None, math.nan, pd.NA, float("nan")):
        assert fr_number(value) == "—"
        assert fr_percent(value) == "—"


def test_percent_and_signed():
    assert fr_percent(12.34) == "12,3\u00a0%"
    assert fr_percent(0.123, scale=100) == "12,3\u00a0%"
    assert fr_signed(2.5) == "+2,5"
    assert fr_signed(-1, unit="pts") == "\u22121,0\u00a0pts"


def test_figures_rounding_to_zero_carry_no_sign():
    # A scenario table once read « −0 » places missing (−0,26 rounded to a whole number).
    assert fr_signed(-0.26, 0) == "0" and fr_signed(0.4, 0) == "0" and fr_signed(0.0, 0) == "0"
    assert fr_signed(-0.04, 1, "pts") == "0,0\u00a0pts" and fr_signed(-0.05001, 1) == "\u22120,1"
    assert fr_signed(-0.6, 0) == "\u22121" and fr_signed(0.5001, 0) == "+1"
    assert fr_number(-0.2) == "0" and fr_number(-0.04, 1) == "0,0" and fr_number(-0.6) == "-1"


def test_file_sizes_in_french_units():
    assert fr_bytes(481) == "481\u00a0octets" and fr_bytes(1) == "1\u00a0octet"
    assert fr_bytes(1536) == "1,5\u00a0ko" and fr_bytes(20 * 1024) == "20\u00a0ko"
    assert fr_bytes(3_500_000) == "3,3\u00a0Mo" and fr_bytes(50 * 1024 * 1024) == "50\u00a0Mo"
