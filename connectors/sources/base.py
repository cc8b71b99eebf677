"""What every source parser returns, and how its commune table is carried onto the COG."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from connectors.parsing import (
    LINE_COLUMN,
    Col,
    Rejects,
    keep_valid_codes,
    match_columns,
    report_duplicates,
    to_bool,
    to_number,
)


@dataclass
class Parsed:
    """The result of parsing one official file.

    Attributes
    ----------
    table
        The main table: keyed by ``code`` (commune or département code as published, before
        the COG carry) or, for point and outline layers, one row per feature.
    rejects
        Cells and rows set aside, with line, field, value and French reason.
    details
        Extra tables stored beside the main one as ``<source id>_<key>`` (e.g. the IRIS rows
        an aggregate per commune was computed from).
    columns
        ``{stored column: original variable name}``: provenance of each value.
    notes
        Facts found while parsing (edition year of the columns, row counts …), kept in the
        manifest.
    """

    table: pd.DataFrame
    rejects: Rejects
    details: dict[str, pd.DataFrame] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CarrySpec:
    """How to combine rows when several former communes now form one.

    ``counts`` are summed, ``rates`` re-weighted by the named weight column, ``first`` taken
    from the current commune's own row; ``flags`` (booleans) are true when any part is true.
    Columns listed nowhere become missing on merged communes.
    """

    counts: tuple[str, ...] = ()
    rates: tuple[tuple[str, str], ...] = ()
    first: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()

    def rate_map(self) -> dict[str, str]:
        return dict(self.rates)


def extract(
    frame: pd.DataFrame,
    spec: dict[str, Col],
    *,
    source: str,
    code: str = "code",
    code_kind: str = "commune",
    numbers: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
    rejects: Rejects | None = None,
) -> tuple[pd.DataFrame, Rejects, dict[str, str], dict[str, int]]:
    """Pick, rename and convert the wanted columns of a text table.

    Parameters
    ----------
    frame
        Text cells as read by :func:`connectors.parsing.read_csv_text` (with ``_line``).
    spec
        ``{target column: Col(pattern, label)}``; ``code`` must be one of the targets.
    numbers, flags
        Targets converted to floats / nullable booleans; the others stay text (``""`` →
        missing).

    Returns
    -------
    (table with the target columns, rejects, ``{target: original column}``,
    ``{target: edition year}`` for year-suffixed columns).
    """
    rejects = rejects if rejects is not None else Rejects(source)
    found, years = match_columns(list(frame.columns), spec, source)
    work = frame[[*found.values(), LINE_COLUMN]].copy()
    work.columns = [*found.keys(), LINE_COLUMN]
    work = keep_valid_codes(work, code, field_name=found[code], rejects=rejects, kind=code_kind)
    work = report_duplicates(work, code, field_name=found[code], rejects=rejects)
    lines = work[LINE_COLUMN]
    out = pd.DataFrame({code: work[code].astype(str)}, index=work.index)
    for target in found:
        if target == code:
            continue
        values = work[target]
        if target in numbers:
            out[target] = to_number(values, field_name=found[target], rejects=rejects, lines=lines)
        elif target in flags:
            out[target] = to_bool(values, field_name=found[target], rejects=rejects, lines=lines)
        else:
            text = values.fillna("").astype(str).str.strip()
            out[target] = text.mask(text == "")
    return out.reset_index(drop=True), rejects, found, years
