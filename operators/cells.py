"""Text cells that cannot hurt, on the way in and on the way out.

Out (every CSV or XLSX the project writes: registry exports, rejected-rows files, report
exports, the app's downloads): a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is a formula to a spreadsheet (« CSV injection »: ``=HYPERLINK(…)`` sends the
reader's data away, ``=cmd|…`` runs a program). :func:`safe_cell` prefixes such a cell with an
apostrophe, which spreadsheets show as text; numbers (``-12``, ``+3,5``) are left as they are.
Column names get the same treatment (the rejects file repeats an operator's own headers).

In (every text field of an imported row): :func:`clean_text` removes bidirectional controls
and zero-width characters (a name that reads « Foyer A » on screen but sorts, compares or
prints as something else), removes the apostrophe :func:`safe_cell` added (an internal export
imports again unchanged), and :data:`MAX_LENGTH` bounds each field.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
NEUTRAL_PREFIX = "'"
# Bidirectional embeddings, overrides and isolates; zero-width spaces and joiners; BOM; the
# soft hyphen and the invisible operators (U+2060–U+2064).
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad\u061c]")
DEFAULT_MAX_LENGTH = 300
# Longest text accepted per registry field (characters, after cleaning).
MAX_LENGTH: dict[str, int] = {
    "operator_name": 200,
    "name": 200,
    "address": 300,
    "commune_name": 150,
    "offer_type": 150,
    "public": 300,
    "source_id": 100,
    "coverage_epci": 300,
    "coverage_communes": 20_000,  # a service may cover a few thousand communes
    # Short codes and words (a note in the cell is tolerated, not a page of text).
    "network": 100,
    "operator_siren": 100,
    "postcode": 100,
    "commune_code": 100,
    "lon": 100,
    "lat": 100,
    "capacity": 100,
    "capacity_unit": 100,
    "opening_year": 100,
    "status": 100,
    "confidentiality": 100,
    "fictional": 100,
}


_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?")


def _is_number(text: str) -> bool:
    """A plain signed number (``-12,5``, ``+3``): shown as a number, never a formula."""
    return _NUMBER.fullmatch(text) is not None


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: formula prefixes neutralised, lists joined."""
    if isinstance(value, list | tuple | set):
        value = ", ".join(map(str, value))
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not (
        value[:1] in "+-" and _is_number(value)
    ):
        return NEUTRAL_PREFIX + value
    return value


def _textual(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are :func:`safe_cell`."""
    out = pd.DataFrame(frame).copy()
    for column in out.columns:
        if _textual(out[column]):
            out[column] = out[column].map(safe_cell)
    out.columns = [safe_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def clean_text(value: Any) -> str:
    """An imported text cell: invisible and bidirectional characters removed, the apostrophe
    of a neutralised formula removed, outer spaces stripped."""
    if value is None:
        return ""
    text = INVISIBLE.sub("", str(value))
    if text.startswith(NEUTRAL_PREFIX) and text[1:].startswith(FORMULA_PREFIXES):
        text = text[1:]
    return text.strip()


def too_long(field_name: str, text: str) -> str | None:
    """The French problem of a field longer than allowed, or None."""
    limit = MAX_LENGTH.get(field_name, DEFAULT_MAX_LENGTH)
    if len(text) > limit:
        return f"texte trop long ({len(text)} caractères, au plus {limit})"
    return None
