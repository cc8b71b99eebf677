"""Numbers, percentages and dates in French format (« 1 234,5 », « 12,3 % »).

The thousands separator is the narrow no-break space (U+202F) recommended by French typography;
it never breaks a number across lines in the app or in a PDF.
"""

from __future__ import annotations

import math
from numbers import Number

THOUSANDS = "\u202f"
MISSING = "—"


def _is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value) or (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):
        return str(value) in {"<NA>", "nan", "NaT"}


def fr_number(value, decimals: int = 0, missing: str = MISSING) -> str:
    """``1234.5 → "1 235"``; ``fr_number(1234.5, 1) → "1 234,5"``; missing → « — »."""
    if _is_missing(value):
        return missing
    if not isinstance(value, Number):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return str(value)
    text = f"{float(value):,.{decimals}f}"
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        text = text[1:]  # -0.2 → "0", not « -0 »
    return text.replace(",", THOUSANDS).replace(".", ",")


def fr_percent(value, decimals: int = 1, missing: str = MISSING, scale: float = 1.0) -> str:
    """``12.34 → "12,3 %"`` (``scale=100`` when the value is a share between 0 and 1)."""
    if _is_missing(value):
        return missing
    return f"{fr_number(float(value) * scale, decimals)}\u00a0%"


def fr_bytes(size: int) -> str:
    """A file size in French units (binary multiples, as the 50 Mo bound of the imports):
    ``481 → "481 octets"``, ``1536 → "1,5 ko"``, ``3_500_000 → "3,3 Mo"``; a decimal under ten
    only."""
    value, unit = float(size), "octets"
    for bigger in ("ko", "Mo", "Go"):
        if value < 1000:
            break
        value, unit = value / 1024, bigger
    if unit == "octets":
        return f"{fr_number(value, 0)}\u00a0{'octet' if value < 2 else 'octets'}"
    return f"{fr_number(value, 1 if value < 10 else 0)}\u00a0{unit}"


def fr_signed(value, decimals: int = 1, unit: str = "", missing: str = MISSING) -> str:
    """``2.5 → "+2,5"``, ``-1 → "−1,0"`` (true minus sign); no sign on a figure that rounds to
    zero (``-0.2 → "0"`` with no decimal, never « −0 » or « +0 »)."""
    if _is_missing(value):
        return missing
    text = fr_number(abs(value), decimals)
    if not any(ch in "123456789" for ch in text):
        value = 0
    sign = "+" if value > 0 else "\u2212" if value < 0 else ""
    suffix = f"\u00a0{unit}" if unit else ""
    return f"{sign}{text}{suffix}"
